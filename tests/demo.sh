#!/usr/bin/env bash
#
# `make demo`: one petrel node in its own network namespace, felix running,
# an "outside" namespace behind its uplink, and workloads in every mode; it
# shows the workloads, their addresses, petrel's routes and who reaches
# whom, then tears it all down.
#
#   tests/demo.sh            run the demo (KEEP=1: leave it up afterwards)
#   tests/demo.sh --down     tear down demos left up with KEEP=1
#
#   +---------- pt-demo-<id>-out ----------+
#   | dn0 192.0.2.1/24                     |   "outside": a route to the
#   | 10.65.0.0/16 via 192.0.2.11          |   pool via the node (what BGP
#   +-----------------|--------------------+   would tell it)
#                     | veth
#   +-----------------|----------- pt-demo-<id>-node --------------------+
#   | up0 192.0.2.11/24    felix    tools (host mode: runs here)         |
#   | ptl<web> WEB/32 proto 87           ptl<db> DB/32 proto 87          |
#   +------|---------------------------------|---------------------------+
#          | veth                            | veth
#   +------|----- pt-demo-<id>-w-web ---+  +-|---- pt-demo-<id>-w-db --+  +- pt-demo-<id>-w-vault -+
#   | eth0 WEB/32                       |  | eth0 DB/32                |  | lo only (none)        |
#   | sidecar (container:web) lives here|  +---------------------------+  +-----------------------+
#   +-----------------------------------+
#
# Exit status: non-zero when something that should work does not (or
# something that should not work does).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

demo_down() {
	local env n=0 ns p
	for env in /tmp/pt-demo-*/demo.env; do
		[ -f "$env" ] || continue
		(
			# shellcheck disable=SC1090
			. "$env"
			if [ -n "${FELIX_PID:-}" ] &&
				grep -q petrel-felix "/proc/$FELIX_PID/cmdline" 2>/dev/null; then
				kill -TERM "$FELIX_PID" 2>/dev/null
				for ((i = 0; i < 30; i++)); do
					kill -0 "$FELIX_PID" 2>/dev/null || break
					sleep 0.1
				done
				kill -KILL "$FELIX_PID" 2>/dev/null
			fi
			for ns in $(ip netns list | awk '{ print $1 }' | grep "^pt-$ID-"); do
				for p in $(ip netns pids "$ns" 2>/dev/null); do
					kill -KILL "$p" 2>/dev/null
				done
				ip netns del "$ns"
			done
			rm -rf "$TMP"
			echo "demo pt-$ID: torn down"
		)
		n=$((n + 1))
	done
	[ $n -gt 0 ] || echo "no demo is up"
}

if [ "${1:-}" = "--down" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "demo: needs root" >&2; exit 1; }
	demo_down
	exit 0
fi
if [ $# -gt 0 ]; then
	echo "usage: tests/demo.sh [--down]   (KEEP=1 leaves the demo up)" >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (it makes network namespaces)" >&2
	exit 1
fi

PT_QUIET=1
. "$HERE/lib.sh"
[ "${KEEP:-0}" = 1 ] && PT_KEEP=1
pt_init demo-
EXT="pt-$ID-out"
for b in "$PETRELCTL" "$FELIX"; do
	[ -x "$b" ] || { echo "demo: $b is not built (make)" >&2; exit 1; }
done
command -v socat >/dev/null || { echo "demo: socat is missing (make deps)" >&2; exit 1; }

bad=0
problem() {
	echo "  !! $*"
	bad=$((bad + 1))
}
step() { printf '%s\n' "$*"; }
show() { # a command as a person would type it, then its output, indented
	printf '\n$ %s\n' "$1"
	shift
	"$@" 2>&1 | sed 's/^/  /'
}

step "== petrel demo ($ID): one node, five workloads, four modes =="
pt_node
# The node routes between its uplink and its workloads, as any router does;
# the outside learns the pool's route (BGP's job, given by hand here).
ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
cat >"$TMP/demo.env" <<EOF
ID=$ID
TMP=$TMP
EOF
step "node:    $NODE  (up0 $NODE_IP, felix)"
step "outside: $EXT  (dn0 $EXT_IP)"

felix_start
echo "FELIX_PID=$FELIX_PID" >>"$TMP/demo.env"
if ! felix_wait_ready; then
	echo "demo: felix did not answer; its log:" >&2
	tail -n 20 "$FELIX_LOG" >&2
	exit 1
fi

PC="petrelctl -c $CONF"
run() { # NAME ARGS...: one workload; the address it printed in ADDR_<NAME>
	local name=$1 out
	shift
	if out=$(ctl run --name "$name" "$@" 2>"$TMP/run.err"); then
		printf '  %-44s %s\n' "run --name $name $*" "${out:+-> $out}"
	else
		problem "run --name $name $*: $(pt_oneline <"$TMP/run.err")"
	fi
}
show "$PC pool create p1 --cidr 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16
printf '\n$ %s run ...\n' "$PC"
run web
run db
run sidecar --network container:web
run tools --network host
run vault --network none

show "$PC ls" ctl ls
show "$PC ipam show" ctl ipam show
show "$PC status" ctl status
show "ip -n $NODE route show proto petrel      # felix's routes" \
	ip -n "$NODE" route show proto 87
show "$PC exec sidecar -- ip -4 -br addr      # container:web shares web's" \
	ctl exec sidecar -- ip -4 -br addr
show "$PC exec vault -- ip -br link           # none: lo only" \
	ctl exec vault -- ip -br link

WEB=$(wl_ip web)
DBA=$(wl_ip db)
[ -n "$WEB" ] && [ -n "$DBA" ] || problem "web or db has no address"

# A TCP service in web, fetched from db by address and from the sidecar
# over web's own loopback. (Its output goes nowhere: with KEEP=1 it outlives
# this script and must not hold our stdout open.)
bg "$PETRELCTL" -c "$CONF" exec web -- socat TCP-LISTEN:80,reuseaddr,fork 'EXEC:/bin/echo hello from web' >/dev/null 2>&1
tcp_get() { "$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 2 -u "TCP:$2:80,connect-timeout=2" - 2>/dev/null; }
got=
for ((i = 0; i < 30; i++)); do
	got=$(tcp_get db "$WEB") && [ -n "$got" ] && break
	sleep 0.1
done
printf '\n$ %s exec db -- socat -u TCP:%s:80 -\n  %s\n' "$PC" "$WEB" "${got:-(nothing)}"
[ "$got" = "hello from web" ] || problem "db could not fetch web's page over TCP"
got=$(tcp_get sidecar 127.0.0.1)
printf '$ %s exec sidecar -- socat -u TCP:127.0.0.1:80 -\n  %s\n' "$PC" "${got:-(nothing)}"
[ "$got" = "hello from web" ] || problem "sidecar could not reach web's server on 127.0.0.1"

# The ping matrix. Rows ping columns; "expect" says what should happen.
cols=(web db sidecar node outside)
declare -A addr=([web]=$WEB [db]=$DBA [sidecar]=$WEB [node]=$NODE_IP [outside]=$EXT_IP)
rows=(web db sidecar tools vault outside)
declare -A desc=([web]=routed [db]=routed [sidecar]=container:web [tools]=host
	[vault]=none [outside]=uplink [node]=192.0.2.11)
ping_from() { # ROW ADDR
	if [ "$1" = outside ]; then
		ip netns exec "$EXT" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1
	else
		"$PETRELCTL" -c "$CONF" exec "$1" -- ping -n -c 1 -W 1 "$2" >/dev/null 2>&1
	fi
}
expect_reach() { [ "$1" != vault ]; }	# none reaches nothing; all else all

printf '\nping matrix (row pings column; ✓ answered, ✗ no answer; "!" = not as expected)\n\n'
printf '  %-25s' ""
for c in "${cols[@]}"; do printf '%-11s' "$c"; done
printf '\n  %-25s' ""
for c in "${cols[@]}"; do printf '%-11s' "${addr[$c]:-?}"; done
printf '\n'
for r in "${rows[@]}"; do
	printf '  %-25s' "$r (${desc[$r]})"
	for c in "${cols[@]}"; do
		if [ -z "${addr[$c]}" ]; then
			mark="?" ok=1
		elif ping_from "$r" "${addr[$c]}"; then
			mark="✓"
			expect_reach "$r" && ok=1 || ok=0
		else
			mark="✗"
			expect_reach "$r" && ok=0 || ok=1
		fi
		[ $ok = 1 ] || { mark="$mark!"; bad=$((bad + 1)); }
		# ✓ and ✗ are one column wide but three bytes: pad by hand.
		w=1
		[[ $mark == *! ]] && w=2
		printf '%s%*s' "$mark" $((11 - w)) ""
	done
	printf '\n'
done

echo
if [ $bad -eq 0 ]; then
	echo "demo: everything behaved as expected"
else
	echo "demo: $bad thing(s) did not behave as expected (marked !! or !)"
	PT_FAILS=$bad
fi

if [ "$PT_KEEP" = 1 ]; then
	cat <<EOF

The demo is still up (KEEP=1). Try:
  $B/petrelctl -c $CONF ls
  $B/petrelctl -c $CONF exec web -- ping -c 2 $DBA
  ip -n $NODE route show proto 87
Tear it down with:
  tests/demo.sh --down
EOF
else
	echo "tearing down (KEEP=1 leaves it up)"
fi
[ $bad -eq 0 ]
