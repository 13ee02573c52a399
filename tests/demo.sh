#!/usr/bin/env bash
#
# `make demo`: two petrel nodes behind a top-of-rack router, each in its own
# network namespace with felix and BIRD, peering eBGP with the ToR (FRR);
# workloads in every mode on node 1, two routed ones on node 2. It shows the
# workloads, their addresses, each node's BGP status, the ToR's table, a
# cross-node TCP connection that keeps its source address, and who reaches
# whom; then a NetworkPolicy by label (across nodes), a named network with
# name resolution, and a port published on node 1 reached from the ToR;
# then tears it all down.
#
#   tests/demo.sh            run the demo (KEEP=1: leave it up afterwards)
#   tests/demo.sh --down     tear down demos left up with KEEP=1
#
#                   +------------ pt-demo-<id>-tor (AS 65000) -------------+
#                   | FRR zebra + bgpd, contrib/frr/tor.conf; ip_forward=1 |
#                   | t1 192.0.2.1/24                   t2 198.51.100.1/24 |
#                   +----|--------------------------------------|----------+
#                        | veth, eBGP                           | veth, eBGP
#   +--------------------|----- pt-demo-<id>-n1 --+  +----------|----- pt-demo-<id>-n2 --+
#   | up0 192.0.2.11/24, default via 192.0.2.1    |  | up0 198.51.100.12/24, default via  |
#   | node1, AS 64512: felix + BIRD               |  |   198.51.100.1                     |
#   | tools (host mode: runs here)                |  | node2, AS 64513: felix + BIRD      |
#   | ptl<web> WEB/32, ptl<db> DB/32 (proto 87)   |  | ptl<api> API/32, ptl<worker> ...   |
#   +----|-------------------|--------------------+  +----|---------------|---------------+
#        | veth              | veth                       | veth          | veth
#   +----|- w1-web -----+ +--|- w1-db --+ +- w1-vault -+ +-|- w2-api --+ +-|- w2-worker -+
#   | eth0 WEB/32       | | eth0 DB/32  | | lo only    | | eth0 API/32 | | eth0 WRK/32  |
#   | + sidecar         | +-------------+ | (none)     | +-------------+ +--------------+
#   |   (container:web) |                 +------------+
#   +-------------------+   (w1-web is pt-demo-<id>-w1-web, and so on)
#
#   The nodes share nothing but a 3-member etcd cluster: each member in a
#   namespace of its own (pt-demo-<id>-e1..e3, on the LAN pt-demo-<id>-etcd,
#   198.18.0.0/24, which each node reaches over an et0 of its own;
#   tests/lib_etcd.sh); each felix registers its Node (its petrel.yaml's
#   bgp and labels: nothing applied by hand); the keys shown with etcdctl.
#   One pool 10.65.0.0/16 (a /26 block per node), node-to-node mesh off:
#   each node learns the other's block from the ToR.
#   Per-node AS numbers: an eBGP speaker drops paths that hold its own AS
#   (docs/topologies.md).
#
# 192.0.2.0/24 and 198.51.100.0/24 are TEST-NET-1/2, 198.18.0.0/24 is
# RFC 2544's; every route points inside the demo's namespaces: no packet
# leaves them. No etcd of the machine is used or started.
#
# Exit status: non-zero when something that should work does not (or
# something that should not work does).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)

# demo_kill PID NAME: PID, if it still is NAME (its number may have been
# reused since the demo recorded it): TERM, a bounded wait, KILL.
demo_kill() {
	local pid=$1 name=$2 i
	[ -n "$pid" ] || return 0
	grep -q -- "$name" "/proc/$pid/cmdline" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		demo_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
}
# Dead includes a zombie: the demo that started it is gone, and whoever
# inherited it may reap it late.
demo_alive() {
	kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]
}

demo_down() {
	local env n=0 ns p
	for env in /tmp/pt-demo-*/demo.env; do
		[ -f "$env" ] || continue
		(
			# shellcheck disable=SC1090
			. "$env"
			# BIRD, felix, bgpd and zebra by the pids the demo recorded
			# (PROCS: "PID:NAME ...", in the order it started them: stopped
			# in reverse), then whatever else runs in the demo's
			# namespaces (its workloads' servers). FELIX_PID: a demo of
			# before BGP.
			local rev=()
			for p in ${PROCS:-}; do rev=("$p" "${rev[@]}"); done
			for p in "${rev[@]}"; do
				demo_kill "${p%%:*}" "${p#*:}"
			done
			demo_kill "${FELIX_PID:-}" petrel-felix
			for ns in $(ip netns list | awk '{ print $1 }' | grep "^pt-$ID-"); do
				for p in $(ip netns pids "$ns" 2>/dev/null); do
					kill -KILL "$p" 2>/dev/null
				done
				ip netns del "$ns"
			done
			rm -rf /etc/netns/pt-"$ID"-*	# felix's hosts files
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
# shellcheck source=tests/lib.sh
. "$HERE/lib.sh"
[ "${KEEP:-0}" = 1 ] && PT_KEEP=1
for b in "$PETRELCTL" "$FELIX"; do
	[ -x "$b" ] || { echo "demo: $b is not built (make)" >&2; exit 1; }
done
for t in socat bird birdc vtysh /usr/lib/frr/zebra /usr/lib/frr/bgpd etcd etcdctl; do
	command -v "$t" >/dev/null ||
		{ echo "demo: $t is missing (make deps: socat, bird2, frr, etcd-server, etcd-client)" >&2; exit 1; }
done
id frr >/dev/null 2>&1 || { echo "demo: no user frr (FRR's daemons drop to it; make deps)" >&2; exit 1; }
pt_init demo-
# shellcheck source=tests/lib_etcd.sh
. "$HERE/lib_etcd.sh"
T_START=$(date +%s%N)

TOR="pt-$ID-tor"
N1="pt-$ID-n1"
N2="pt-$ID-n2"
TOR_IP1=192.0.2.1 N1_IP=192.0.2.11
TOR_IP2=198.51.100.1 N2_IP=198.51.100.12
FRR_DIR="$TMP/frr"
POOL=10.65.0.0/16
C1="$TMP/n1/petrel.yaml"
C2="$TMP/n2/petrel.yaml"
CONF=$C1		# lib.sh's ctl and wl_ip: node 1
FELIX_LOG="$TMP/felix1.log"

bad=0
problem() {
	echo "  !! $*"
	bad=$((bad + 1))
}
step() { printf '%s\n' "$*"; }
heading() { printf '\n== %s ==\n' "$*"; }
show() { # PROMPT-AND-COMMAND CMD...: as a person would type it, then its output, indented
	printf '\n%s\n' "$1"
	shift
	"$@" 2>&1 | sed 's/^/  /'
}
ctl1() { "$PETRELCTL" -c "$C1" "$@"; }
ctl2() { "$PETRELCTL" -c "$C2" "$@"; }
tor_vtysh() { vtysh_in "$FRR_DIR" "$@"; }
procs=()
record() { # PID NAME: for --down after KEEP=1
	procs+=("$1:$2")
	sed -i '/^PROCS=/d' "$TMP/demo.env"
	echo "PROCS='${procs[*]}'" >>"$TMP/demo.env"
}
cat >"$TMP/demo.env" <<EOF
ID=$ID
TMP=$TMP
EOF

step "== petrel demo ($ID): two nodes behind a BGP top-of-rack router =="

# --- topology ----------------------------------------------------------------
mk_link() { # NODE_NS NODE_IP TOR_IF TOR_IP
	ip -n "$1" link add up0 type veth peer name "$3" netns "$TOR" &&
		ip -n "$1" addr add "$2/24" dev up0 &&
		ip -n "$1" link set up0 up &&
		ip -n "$TOR" addr add "$4/24" dev "$3" &&
		ip -n "$TOR" link set "$3" up &&
		ip -n "$1" route add default via "$4"
}
for ns in "$TOR" "$N1" "$N2"; do
	ip netns add "$ns" || { echo "demo: ip netns add $ns failed" >&2; exit 1; }
	ip -n "$ns" link set lo up
	# Every one of them routes (the nodes between uplink and workloads).
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
done
if ! mk_link "$N1" "$N1_IP" t1 "$TOR_IP1" || ! mk_link "$N2" "$N2_IP" t2 "$TOR_IP2"; then
	echo "demo: the veth links failed" >&2
	exit 1
fi

# --- the ToR: contrib/frr/tor.conf as it is, logging into its own dir ----------
sed '/^log syslog/d' "$PT_ROOT/contrib/frr/tor.conf" >"$TMP/tor.conf"
if ! frr_start "$TOR" "$FRR_DIR" "$TMP/tor.conf"; then
	echo "demo: FRR did not start in $TOR:" >&2
	tail -n 5 "$FRR_DIR"/*.out "$FRR_DIR"/*.log >&2 2>/dev/null
	exit 1
fi
for d in zebra bgpd; do
	record "$(cat "$FRR_DIR/$d.pid" 2>/dev/null)" "frr/$d"
done

# --- the datastore: a 3-member etcd cluster, each member in its own namespace ---
if ! etcd_cluster_start 3; then
	echo "demo: the etcd cluster did not start; its logs:" >&2
	tail -n 3 "$TMP"/etcd/m*.log >&2 2>/dev/null
	exit 1
fi
for i in 1 2 3; do
	record "${ETCD_PID[$i]}" etcd
done
if ! etcd_attach "$N1" || ! etcd_attach "$N2"; then
	echo "demo: the nodes' links to the etcd LAN failed" >&2
	exit 1
fi
etcd_keys() { etcdctl_pt get --prefix --keys-only /petrel/ | grep -v '^$'; }

# --- two nodes: nothing shared but etcd, a config each --------------------------
pt_node_conf 1 "$N1" "$N1_IP" 64512 "labels: {rack: a}"
pt_node_conf 2 "$N2" "$N2_IP" 64513 "labels: {rack: b}"
sed -i "s|^datastore: .*|datastore: etcd:$ETCD_ENDPOINTS|" "$C1" "$C2"
cat >"$TMP/bgp.yaml" <<EOF
apiVersion: petrel/v1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMesh: false}
---
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: tor-rack-a}
spec: {peerIP: $TOR_IP1, asNumber: 65000, nodeSelector: rack == "a", keepaliveTime: 3, holdTime: 9}
---
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: tor-rack-b}
spec: {peerIP: $TOR_IP2, asNumber: 65000, nodeSelector: rack == "b", keepaliveTime: 3, holdTime: 9}
EOF

step "tor:     $TOR  (AS 65000, FRR: t1 $TOR_IP1, t2 $TOR_IP2)"
step "node1:   $N1  (AS 64512, up0 $N1_IP, felix + BIRD)"
step "node2:   $N2  (AS 64513, up0 $N2_IP, felix + BIRD)"
step "etcd:    pt-$ID-e1..e3  ($ETCD_ENDPOINTS: all the nodes share)"
step ""
step "Below, \"node1\$ petrelctl ...\" is $PETRELCTL -c $C1 ..."
step "(petrelctl enters the node's namespace itself), node2 likewise with"
step "$C2; \"tor\$ vtysh ...\" is vtysh --vty_socket $FRR_DIR ...; \"etcd\$ etcdctl ...\""
step "is etcdctl --endpoints=$ETCD_ENDPOINTS ... (in the etcd LAN's namespace)."

heading "the cluster's resources (in etcd, shared by both nodes)"
show "etcd\$ etcdctl endpoint status -w table      # 3 members, one leader" \
	etcdctl_pt endpoint status -w table
show "node1\$ petrelctl pool create p1 --cidr $POOL" ctl1 pool create p1 --cidr "$POOL"
show "node1\$ petrelctl apply -f bgp.yaml      # mesh off, a BGPPeer per rack (the Nodes: each felix registers its own)" \
	ctl1 apply -f "$TMP/bgp.yaml"
show "node1\$ petrelctl get bgppeer" ctl1 get bgppeer

# --- felix on each node, then the workloads -------------------------------------
for n in 1 2; do
	bg "$FELIX" -c "$TMP/n$n/petrel.yaml" >>"$TMP/felix$n.log" 2>&1
	record "$BG_PID" petrel-felix
done
for n in 1 2; do
	if ! wait_for 150 0.1 "ctl$n" status; then
		echo "demo: felix of node$n did not answer; its log:" >&2
		tail -n 20 "$TMP/felix$n.log" >&2
		exit 1
	fi
done

run() { # N NAME ARGS...: one workload on node N
	local n=$1 name=$2 out
	shift 2
	if out=$("ctl$n" run --name "$name" "$@" 2>"$TMP/run.err"); then
		printf '  %-44s %s\n' "run --name $name $*" "${out:+-> $out}"
	else
		problem "node$n: run --name $name $*: $(pt_oneline <"$TMP/run.err")"
	fi
}
heading "workloads"
printf '\nnode1$ petrelctl run ...\n'
run 1 web
run 1 db
run 1 sidecar --network container:web
run 1 tools --network host
run 1 vault --network none
printf '\nnode2$ petrelctl run ...\n'
run 2 api
run 2 worker

# felix writes BIRD's config once it runs (bounded: 10 s); BIRD then starts
# in the node's namespace and reads it.
for n in 1 2; do
	if ! wait_for 100 0.1 test -s "$TMP/n$n/bird.conf"; then
		echo "demo: felix of node$n wrote no BIRD config; its log:" >&2
		tail -n 10 "$TMP/felix$n.log" >&2
		exit 1
	fi
	bird_start "pt-$ID-n$n" "$TMP/n$n/bird.conf" "$TMP/n$n/bird.ctl" "$TMP/bird$n.out"
	record "$BIRD_PID" bird
done

show "node1\$ petrelctl get node      # each felix registered its own: bgp and labels from its petrel.yaml" \
	ctl1 get node
show "etcd\$ etcdctl get --prefix --keys-only /petrel/      # everything the nodes share" etcd_keys
show "node1\$ petrelctl ls" ctl1 ls
show "node2\$ petrelctl ls" ctl2 ls
show "node1\$ petrelctl ipam show --show-blocks" ctl1 ipam show --show-blocks
show "node1\$ petrelctl status" ctl1 status
show "ip -n $N1 route show proto petrel      # felix's routes" \
	ip -n "$N1" route show proto 87
show "node1\$ petrelctl exec sidecar -- ip -4 -br addr      # container:web shares web's" \
	ctl1 exec sidecar -- ip -4 -br addr
show "node1\$ petrelctl exec vault -- ip -br link           # none: lo only" \
	ctl1 exec vault -- ip -br link

WEB=$(wl_ip web)
DBA=$(wl_ip db)
API=$(ctl2 ls 2>/dev/null | awk '$1 == "api" { print $3 }' | sed 's|/.*||')
WRK=$(ctl2 ls 2>/dev/null | awk '$1 == "worker" { print $3 }' | sed 's|/.*||')
if [ -z "$WEB" ] || [ -z "$DBA" ]; then problem "web or db has no address"; fi
if [ -z "$API" ] || [ -z "$WRK" ]; then problem "api or worker has no address"; fi

# --- BGP: sessions up, blocks at the ToR and in the other node ---------------------
blocks_of() { # NODE: its blocks, from ipam show --show-blocks (BLOCK POOL AFFINITY USED/SIZE)
	ctl1 ipam show --show-blocks 2>/dev/null |
		awk -v n="$1" '$1 ~ /^[0-9.]+\/[0-9]+$/ && $3 == n { print $1 }' | sort -u
}
B1=$(blocks_of node1)
B2=$(blocks_of node2)
printf '%s\n%s\n' "$B1" "$B2" | sort -u >"$TMP/want.prefixes"
bgp_converged() {
	frr_established "$FRR_DIR" "$N1_IP" && frr_established "$FRR_DIR" "$N2_IP" &&
		frr_prefixes "$FRR_DIR" >"$TMP/tor.prefixes" &&
		cmp -s "$TMP/want.prefixes" "$TMP/tor.prefixes" &&
		ip -n "$N1" route show "$B2" proto bird | grep -q "via $TOR_IP1" &&
		ip -n "$N2" route show "$B1" proto bird | grep -q "via $TOR_IP2"
}
# (About 6 s after FRR started: bgpd holds what it receives until its
# route-map delay timer, 5 s by default, first runs: FRRouting/frr#10756.
# "bgp route-map delay-timer 0" in the ToR's config takes that away.)
T0=$(date +%s%N)
if wait_for 200 0.1 bgp_converged; then
	T1=$(date +%s%N)
	heading "BGP (sessions up, both blocks in every table $(((T1 - T0) / 1000000)) ms after BIRD started)"
else
	heading "BGP"
	problem "after 20 s: sessions $(frr_peer_state "$FRR_DIR" "$N1_IP")/$(frr_peer_state "$FRR_DIR" "$N2_IP"), the ToR has $(frr_prefixes "$FRR_DIR" | pt_oneline), wants $(pt_oneline <"$TMP/want.prefixes")"
	echo "     ToR kernel: $(ip -n "$TOR" route show proto bgp | pt_oneline)"
	echo "     node1 kernel (bird): $(ip -n "$N1" route show proto bird | pt_oneline)"
	echo "     node2 kernel (bird): $(ip -n "$N2" route show proto bird | pt_oneline)"
	for n in 1 2; do
		echo "     node$n BIRD: $(birdc -s "$TMP/n$n/bird.ctl" show protocols 2>&1 |
			grep -E '^(Node|Global|Mesh|RR)_' | pt_oneline)"
	done
fi
show "node1\$ petrelctl node status" ctl1 node status
show "node2\$ petrelctl node status" ctl2 node status
show "tor\$ vtysh -c 'show bgp ipv4 unicast'      # a /26 block per node, nothing else" \
	tor_vtysh 'show bgp ipv4 unicast'
show "tor\$ vtysh -c 'show ip route bgp'" tor_vtysh 'show ip route bgp'
show "ip -n $N1 route show proto bird      # node2's block, learned from the ToR" \
	ip -n "$N1" route show proto bird
grep -q '/32$' "$TMP/tor.prefixes" 2>/dev/null && problem "the ToR learned a /32: $(pt_oneline <"$TMP/tor.prefixes")"

# --- TCP on node1: web's page from db and from the sidecar ------------------------
heading "TCP"
# (Servers' output goes nowhere: with KEEP=1 they outlive this script and
# must not hold our stdout open.)
bg "$PETRELCTL" -c "$C1" exec web -- socat TCP-LISTEN:80,reuseaddr,fork 'EXEC:/bin/echo hello from web' >/dev/null 2>&1
# api (node2) answers every connection with the address it came from.
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg "$PETRELCTL" -c "$C2" exec api -- socat TCP-LISTEN:7070,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR' >/dev/null 2>&1
tcp_get() { # N CLIENT ADDR PORT
	"$PETRELCTL" -c "$TMP/n$1/petrel.yaml" exec "$2" -- \
		socat -T 2 -u "TCP:$3:$4,connect-timeout=2" - 2>/dev/null
}
listening() { # N WORKLOAD PORT: its server is up (so one try is enough)
	[ -n "$("$PETRELCTL" -c "$TMP/n$1/petrel.yaml" exec "$2" -- ss -Hltn "sport = :$3" 2>/dev/null)" ]
}
wait_for 30 0.1 listening 1 web 80 || problem "web's server does not listen on :80"
wait_for 30 0.1 listening 2 api 7070 || problem "api's server does not listen on :7070"
got=$(tcp_get 1 db "$WEB" 80)
printf '\nnode1$ petrelctl exec db -- socat -u TCP:%s:80 -\n  %s\n' "$WEB" "${got:-(nothing)}"
[ "$got" = "hello from web" ] || problem "db could not fetch web's page over TCP"
got=$(tcp_get 1 sidecar 127.0.0.1 80)
printf 'node1$ petrelctl exec sidecar -- socat -u TCP:127.0.0.1:80 -\n  %s\n' "${got:-(nothing)}"
[ "$got" = "hello from web" ] || problem "sidecar could not reach web's server on 127.0.0.1"

# --- across the ToR: the server sees the client's own address --------------------
# shellcheck disable=SC2016  # shown as typed
printf '\nnode2$ petrelctl exec api -- socat TCP-LISTEN:7070,fork '"'"'SYSTEM:echo $SOCAT_PEERADDR'"'"'\n'
printf '  (api, %s on node2, answers each connection with the address it came from)\n\n' "${API:-?}"
printf '  %-16s %-10s %-14s %-14s %s\n' CLIENT NODE "ITS ADDRESS" "API SAW" NAT
cross() { # N CLIENT ITS-ADDRESS
	local saw
	saw=$(tcp_get "$1" "$2" "$API" 7070)
	if [ -n "$saw" ] && [ "$saw" = "$3" ]; then
		printf '  %-16s %-10s %-14s %-14s %s\n' "$2" "node$1" "$3" "$saw" "no (same address)"
	else
		printf '  %-16s %-10s %-14s %-14s %s\n' "$2" "node$1" "$3" "${saw:-(nothing)}" "!! not as expected"
		bad=$((bad + 1))
	fi
}
cross 1 web "$WEB"
cross 1 db "$DBA"
cross 1 sidecar "$WEB"
cross 2 worker "$WRK"

# --- the ping matrix: rows ping columns -------------------------------------------
cols=(web db sidecar node1 api worker node2 tor)
declare -A addr=([web]=$WEB [db]=$DBA [sidecar]=$WEB [node1]=$N1_IP
	[api]=$API [worker]=$WRK [node2]=$N2_IP [tor]=$TOR_IP1)
rows=(web db sidecar tools vault api worker tor)
declare -A desc=([web]="n1 routed" [db]="n1 routed" [sidecar]="n1 container:web"
	[tools]="n1 host" [vault]="n1 none" [api]="n2 routed" [worker]="n2 routed"
	[tor]="ToR")
declare -A on=([web]=1 [db]=1 [sidecar]=1 [tools]=1 [vault]=1 [api]=2 [worker]=2)
ping_from() { # ROW ADDR
	if [ "$1" = tor ]; then
		ip netns exec "$TOR" ping -n -c 1 -W 1 "$2" >/dev/null 2>&1
	else
		"$PETRELCTL" -c "$TMP/n${on[$1]}/petrel.yaml" exec "$1" -- \
			ping -n -c 1 -W 1 "$2" >/dev/null 2>&1
	fi
}
# none reaches nothing; a workload of the routed network (and its
# container: sidecar) does not reach its own node's addresses
# (endpointToHostAction: drop, the default: workloads are kept off the
# node's own services); all else reaches all.
expect_reach() { # ROW COLUMN
	[ "$1" != vault ] || return 1
	case "$1" in tools|tor) return 0 ;; esac
	[ "$2" != "node${on[$1]}" ]
}

heading "ping matrix"
printf '(row pings column; ✓ answered, ✗ no answer; "!" = not as expected;\n'
printf ' a workload does not reach its own node: endpointToHostAction drop)\n\n'
# A column is as wide as its name or address, plus a space (the table is
# wide enough as it is).
declare -A wid
for c in "${cols[@]}"; do
	w=${#c}
	[ ${#addr[$c]} -gt "$w" ] && w=${#addr[$c]}
	wid[$c]=$((w + 1))
done
L=27	# the rows' labels
printf "  %-${L}s" ""
for c in "${cols[@]}"; do printf "%-${wid[$c]}s" "$c"; done
printf "\n  %-${L}s" ""
for c in "${cols[@]}"; do printf "%-${wid[$c]}s" "${addr[$c]:-?}"; done
printf '\n'
for r in "${rows[@]}"; do
	printf "  %-${L}s" "$r (${desc[$r]})"
	for c in "${cols[@]}"; do
		if [ -z "${addr[$c]}" ]; then
			mark="?" ok=1
		elif ping_from "$r" "${addr[$c]}"; then
			mark="✓"
			expect_reach "$r" "$c" && ok=1 || ok=0
		else
			mark="✗"
			expect_reach "$r" "$c" && ok=0 || ok=1
		fi
		[ "$ok" = 1 ] || { mark="$mark!"; bad=$((bad + 1)); }
		# ✓ and ✗ are one column wide but three bytes: pad by hand.
		w=1
		[[ $mark == *! ]] && w=2
		printf '%s%*s' "$mark" $((wid[$c] - w)) ""
	done
	printf '\n'
done

# --- policy, a named network, a published port ------------------------------------
heading "policy, named networks, published ports (nftables, table inet petrel)"
reach() { # N CLIENT ADDR PORT: a TCP answer within 1 s (a blocked SYN is
	# dropped, not refused: the wait is the whole cost of a "blocked")
	[ -n "$("$PETRELCTL" -c "$TMP/n$1/petrel.yaml" exec "$2" -- \
		socat -T 1 -u "TCP:$3:$4,connect-timeout=1" - 2>/dev/null)" ]
}
verdict() { # WANT(yes|no) DESCRIPTION N CLIENT ADDR PORT
	local want=$1 what=$2 got=no
	shift 2
	reach "$@" && got=yes
	if [ "$got" = "$want" ]; then
		printf '  %-52s %s\n' "$what" "$([ "$got" = yes ] && echo "answered" || echo "blocked")"
	else
		printf '  %-52s %s  !! expected %s\n' "$what" "$got" "$want"
		bad=$((bad + 1))
	fi
}
cat >"$TMP/pay.yaml" <<EOP
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: pay-in}
spec:
  selector: role == "pay"
  order: 100
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: role == "shop"}
    destination: {ports: [80]}
EOP
show "node1\$ petrelctl run --name pay --label role=pay" ctl1 run --name pay --label role=pay
show "node2\$ petrelctl run --name checkout --label role=shop" ctl2 run --name checkout --label role=shop
show "node1\$ petrelctl run --name shop --label role=shop -p 8080:80" ctl1 run --name shop --label role=shop -p 8080:80
show "node1\$ petrelctl port shop" ctl1 port shop
printf '\nnode1$ cat pay.yaml\n'
sed 's/^/  /' "$TMP/pay.yaml"
show "node1\$ petrelctl apply -f pay.yaml" ctl1 apply -f "$TMP/pay.yaml"
show "node1\$ petrelctl network create backend --pool 10.66.0.0/24" ctl1 network create backend --pool 10.66.0.0/24
show "node1\$ petrelctl run --name ledger --network backend" ctl1 run --name ledger --network backend
show "node1\$ petrelctl run --name audit --network backend" ctl1 run --name audit --network backend
PAY=$(ctl1 ls 2>/dev/null | awk '$1 == "pay" { print $3 }' | sed 's|/.*||')
LEDGER=$(ctl1 ls 2>/dev/null | awk '$1 == "ledger" { print $3 }' | sed 's|/.*||')
for w in pay shop ledger; do
	bg "$PETRELCTL" -c "$C1" exec "$w" -- socat TCP-LISTEN:80,reuseaddr,fork "EXEC:/bin/echo hello from $w" >/dev/null 2>&1
done
for w in pay shop ledger; do
	wait_for 30 0.1 listening 1 "$w" 80 || problem "$w's server does not listen on :80"
done
show "node1\$ petrelctl nft pay      # what felix programmed for pay" ctl1 nft pay
printf '\n(TCP port 80 of each, or the published 8080 on node1)\n'
verdict yes "shop (n1, role=shop) -> pay:80" 1 shop "$PAY" 80
verdict yes "checkout (n2, role=shop) -> pay:80, across the ToR" 2 checkout "$PAY" 80
verdict no "web (n1, no label) -> pay:80" 1 web "$PAY" 80
verdict no "api (n2, no label) -> pay:80" 2 api "$PAY" 80
verdict yes "audit (network backend) -> ledger:80" 1 audit "$LEDGER" 80
verdict no "web (network default) -> ledger:80" 1 web "$LEDGER" 80
verdict yes "ledger (network backend) -> web:80" 1 ledger "$WEB" 80
verdict yes "api (n2) -> node1:8080 (published: shop)" 2 api "$N1_IP" 8080
got=$(ip netns exec "$TOR" socat -T 2 -u "TCP:$N1_IP:8080,connect-timeout=2" - 2>/dev/null)
printf '  %-52s %s\n' "the ToR -> node1:8080 (published: shop)" "${got:-(nothing)}"
[ "$got" = "hello from shop" ] || problem "the ToR could not reach shop through node1:8080"
got=$(ctl1 exec audit -- getent hosts ledger 2>/dev/null | awk '{ print $1 }')
printf '  %-52s %s\n' "audit: getent hosts ledger (its /etc/hosts)" "${got:-(nothing)}"
[ -n "$LEDGER" ] && [ "$got" = "$LEDGER" ] || problem "audit does not resolve ledger by name"

T_END=$(date +%s%N)
echo
if [ $bad -eq 0 ]; then
	echo "demo: everything behaved as expected ($(((T_END - T_START) / 1000000)) ms)"
else
	echo "demo: $bad thing(s) did not behave as expected (marked !! or !)"
	PT_FAILS=$bad
	PT_FAILED=("$bad thing(s) marked !! or ! above")
fi

if [ "$PT_KEEP" = 1 ]; then
	cat <<EOF

The demo is still up (KEEP=1). Try:
  $PETRELCTL -c $C1 node status --routes
  $PETRELCTL -c $C1 exec web -- ping -c 2 ${API:-API}
  vtysh --vty_socket $FRR_DIR -c 'show bgp summary'
  birdc -s $TMP/n2/bird.ctl show route
Tear it down with:
  tests/demo.sh --down
EOF
else
	echo "tearing down (KEEP=1 leaves it up)"
fi
[ $bad -eq 0 ]
