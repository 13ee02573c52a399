# shellcheck shell=bash
#
# tests/lib.sh: shared helpers of the integration tests, the demo and the
# benchmarks. Sourced, never run.
#
#   . "$(dirname "$0")/../lib.sh"
#   pt_init TAG                 unique ID, temp dir $TMP, trap cleanup EXIT
#   pt_node                     node namespace $NODE + uplink namespace $EXT,
#                               a config file $CONF (extra YAML: $PT_CONF_EXTRA)
#   felix_start / felix_wait_ready / felix_stop [SIGNAL]
#   felix_restart_with LINES    felix again with PT_CONF_EXTRA=LINES
#   ctl VERB ARGS...            build/petrelctl -c $CONF VERB ARGS...
#   pass WHAT / fail WHAT DETAILS / skip WHAT REASON
#   pt_end                      prints the tally, exits 1 if any FAIL
#
# Topology pt_node makes (192.0.2.0/24 is TEST-NET-1: never routed anywhere):
#
#   +------------- pt-<id>-node --------------+        +---- pt-<id>-ext ----+
#   | lo                                      |  veth  |                     |
#   | up0 192.0.2.11/24 ======================|========|== dn0 192.0.2.1/24  |
#   | ptl<hex> ... (workloads' host ends)     |        |                     |
#   | felix (enters this namespace itself)    |        +---------------------+
#   +-----------------------------------------+
#
# THE RULE (tests/README.md): every check can fail.
#   - A negative check (denied, dropped, refused, never reaches) first shows
#     the same probe succeeding: pt_q ... deny and deny_probe FAIL loudly
#     unless an allow of the same probe passed earlier in the test (pt_q:
#     the same PROTO/ADDRESS/PORT; deny_probe: the same command, or the
#     same -k KEY given to allow_probe). Every try of a deny window after
#     the change took effect must be denied (not just two in a row).
#   - An expected error is matched by its message: expect_err WHAT REGEX
#     CMD... (a REGEX that matches anything is refused). Never `! cmd`.
#   - A hand-made break is checked (its exit status, and that it happened)
#     before "it comes back" is: break_by_hand WHAT PROOF -- CMD...
#   - No fixed sleep for "felix had its chance": wait on something
#     observed (felix_wait_resyncs N, wait_for on a state).
#   - A daemon counts as started when it answers (bird_start waits for
#     BIRD's control socket), not when it was spawned.
#   - dsctl is required: ds_dump/ds_keys fail loudly, they never guess.
#
# Invariants: every namespace is named pt-<id>-..., every process a test
# starts in the background is recorded in PT_PIDS, and cleanup (on any exit)
# kills them, kills whatever still runs inside our namespaces, deletes the
# namespaces and the temp dir. Every wait is bounded (wait_for MAX SLEEP).

PT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
case "$B" in /*) ;; *) B="$PT_ROOT/$B" ;; esac
PETRELCTL="$B/petrelctl"
FELIX="$B/petrel-felix"
DSCTL="$B/tools/dsctl"

PT_PASSES=0
PT_FAILS=0
PT_SKIPS=0
PT_PIDS=()
PT_KEEP=${PT_KEEP:-0}		# 1: cleanup leaves everything up (demo KEEP=1)
PT_QUIET=${PT_QUIET:-0}		# 1: pass() prints nothing (demo, bench)
FELIX_PID=
NODE_IP=192.0.2.11
EXT_IP=192.0.2.1

pass() {
	PT_PASSES=$((PT_PASSES + 1))
	[ "$PT_QUIET" = 1 ] || echo "PASS: $1"
}
PT_FAILED=()
fail() {
	PT_FAILS=$((PT_FAILS + 1))
	PT_FAILED+=("$1 (${2:-})")
	echo "FAIL: $1 (${2:-})"
}
skip() {
	PT_SKIPS=$((PT_SKIPS + 1))
	echo "SKIP: $1: ${2:-}"
}

# One line of a file or text, for failure details: newlines folded.
pt_oneline() {
	tr '\n' ' ' | sed 's/  */ /g; s/ $//' | cut -c1-300
}

# wait_for MAX SLEEP CMD...: runs CMD until it succeeds, at most MAX times,
# SLEEP seconds apart. 0 when it succeeded.
wait_for() {
	local max=$1 nap=$2 i
	shift 2
	for ((i = 0; i < max; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep "$nap"
	done
	return 1
}

pt_need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "$1" "needs root (network namespaces)"
		exit 0
	fi
}

# pt_init TAG: TAG (at most 6 characters of [a-z-]) names the test in its
# namespaces: pt-<TAG><4 hex>-...
pt_init() {
	local tag=$1 i rnd
	pt_need_root "$tag"
	for ((i = 0; i < 20; i++)); do
		rnd=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
		ID="$tag$rnd"
		ls /run/netns/pt-"$ID"-* >/dev/null 2>&1 || break
	done
	TMP=$(mktemp -d "/tmp/pt-$ID.XXXXXX")
	NODE="pt-$ID-node"
	EXT="pt-$ID-ext"
	WPREFIX="pt-$ID-w-"
	DB="$TMP/petrel.db"
	CONF="$TMP/petrel.yaml"
	FELIX_LOG="$TMP/felix.log"
	trap pt_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

# Are the binaries there? A missing one is a failure, not a skip: `make
# check` builds them first.
pt_need_bins() {
	local b ok=0
	for b in "$@"; do
		if [ ! -x "$b" ]; then
			fail "prerequisites" "$b is not built"
			ok=1
		fi
	done
	[ $ok -eq 0 ] || exit 1
	pt_copy_bins
}

# The test runs private copies of the binaries, so that a rebuild meanwhile
# (another `make` replacing build/petrelctl) cannot pull one from under it.
pt_copy_bins() {
	local v
	mkdir -p "$TMP/bin"
	# dsctl is no option: without it every "changes nothing" comparison
	# of the datastore would compare two empty dumps.
	for v in PETRELCTL FELIX DSCTL; do
		if [ ! -x "${!v}" ]; then
			[ "$v" = DSCTL ] || continue
			fail "prerequisites" "${!v} is not built (the datastore checks need it)"
			exit 1
		fi
		cp "${!v}" "$TMP/bin/" && printf -v "$v" '%s' "$TMP/bin/$(basename "${!v}")" ||
			{ fail "prerequisites" "cannot copy ${!v}"; exit 1; }
	done
}

pt_need_tools() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			skip "$ID" "$t is not installed (make deps)"
			exit 0
		fi
	done
}

# pt_conf_write FILE: the node's config.
pt_conf_write() {
	cat >"$1" <<EOF
node: node1
datastore: sqlite:$DB
runDir: $TMP/run
netns: $NODE
workloadNetnsPrefix: $WPREFIX
bgp:
  address: $NODE_IP
${PT_CONF_EXTRA:-}
EOF
}

pt_node() {
	ip netns add "$NODE" || { fail "setup" "ip netns add $NODE"; exit 1; }
	ip netns add "$EXT" || { fail "setup" "ip netns add $EXT"; exit 1; }
	ip -n "$NODE" link set lo up
	ip -n "$EXT" link set lo up
	ip -n "$NODE" link add up0 type veth peer name dn0 netns "$EXT" &&
		ip -n "$NODE" addr add "$NODE_IP/24" dev up0 &&
		ip -n "$NODE" link set up0 up &&
		ip -n "$EXT" addr add "$EXT_IP/24" dev dn0 &&
		ip -n "$EXT" link set dn0 up ||
		{ fail "setup" "uplink veth"; exit 1; }
	mkdir -p "$TMP/run"
	pt_conf_write "$CONF"
}

ctl() {
	"$PETRELCTL" -c "$CONF" "$@"
}

felix_start() {
	"$FELIX" -c "$CONF" >>"$FELIX_LOG" 2>&1 &
	FELIX_PID=$!
	PT_PIDS+=("$FELIX_PID")
}

# Ready when `petrelctl status` answers (bounded: 15 s; ASan is slow).
felix_wait_ready() {
	wait_for 150 0.1 ctl status
}

# felix_up: felix started on the node and answering, or the test ends.
felix_up() {
	felix_start
	felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
	pass "felix answers status"
}

# felix_stop [SIGNAL]: signals felix and reaps it (bounded). Its exit status
# goes to FELIX_RC (128+n when killed by signal n).
# (stderr muted throughout: bash reports a child killed by a signal there.)
felix_stop() {
	felix_stop_ "$@" 2>/dev/null
}
felix_stop_() {
	local sig=${1:-TERM}
	FELIX_RC=
	[ -n "$FELIX_PID" ] || return 0
	kill -s "$sig" "$FELIX_PID" 2>/dev/null
	if wait_for 100 0.1 pt_dead "$FELIX_PID"; then
		wait "$FELIX_PID" 2>/dev/null
		FELIX_RC=$?
	else
		kill -KILL "$FELIX_PID" 2>/dev/null
		wait "$FELIX_PID" 2>/dev/null
		FELIX_RC=timeout
	fi
	pt_forget "$FELIX_PID"
	FELIX_PID=
}

# felix_restart_with LINES: felix restarted with the config's extra lines
# (PT_CONF_EXTRA), once it has programmed every endpoint.
felix_restart_with() {
	felix_stop TERM
	PT_CONF_EXTRA=$1
	pt_conf_write "$CONF"
	felix_start
	felix_wait_ready || fail "felix answers status ($1)" "$(tail -n 3 "$FELIX_LOG" | pt_oneline)"
	wait_for 100 0.1 felix_all_programmed
}

pt_dead() {
	! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]
}

# felix's status as JSON on one line ("" when it does not answer).
felix_status() {
	ctl -o json status 2>/dev/null | tr -d ' \n'
}
# json_num KEY: a number field of the JSON on stdin.
json_num() {
	sed -n "s/.*\"$1\":\([0-9-]*\).*/\1/p"
}
# True when felix answers and has programmed every endpoint it knows of.
felix_all_programmed() {
	local s e p
	s=$(felix_status)
	e=$(printf '%s' "$s" | json_num endpoints)
	p=$(printf '%s' "$s" | json_num programmed)
	[ -n "$e" ] && [ -n "$p" ] && [ "$e" = "$p" ]
}

# Workload helpers -------------------------------------------------------

# wl_ip NAME: the workload's address, from `petrelctl ls`.
wl_ip() {
	ctl ls 2>/dev/null | awk -v n="$1" '$1 == n { print $3 }' | sed 's|/.*||'
}
wl_ifname() {
	ctl ls 2>/dev/null | awk -v n="$1" '$1 == n { print $4 }'
}

# node_route ADDR: the node's petrel route to ADDR/32 (empty if none).
node_route() {
	ip -n "$NODE" -4 route show "$1/32" proto 87 2>/dev/null
}
has_node_route() {
	[ -n "$(node_route "$1")" ]
}
no_node_route() {
	[ -z "$(node_route "$1")" ]
}
# Every route of petrel's protocol in the node.
node_petrel_routes() {
	ip -n "$NODE" -4 route show table all proto 87 2>/dev/null
}
node_ptl_links() {
	ip -n "$NODE" -o link show 2>/dev/null | awk -F': ' '{ print $2 }' |
		sed 's/@.*//' | grep '^ptl' || true
}
our_netns() {
	ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^pt-$ID-" | sort || true
}
wl_netns() {
	ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$WPREFIX" | sort || true
}

# The datastore: every key, its revision and value (dsctl dump: KEY<TAB>
# MOD_REV<TAB>VALUE per line). dsctl only: its errors go to stderr, never
# into the dump, and its exit status is the function's.
ds_dump() {
	"$DSCTL" "sqlite:$DB" dump
}
# The same without felix's heartbeats (/petrel/nodestatus/: felix writes
# them every 10 s, so no command's "changes nothing" may count them).
ds_dump_stable() {
	local out rc
	out=$("$DSCTL" "sqlite:$DB" dump)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | grep -v '^/petrel/nodestatus/'
	return $rc
}
# ... and without revisions: for a command that writes and then undoes.
ds_dump_norev() {
	local out rc
	out=$(ds_dump_stable)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | cut -f1,3
	return $rc
}
ds_keys() {
	local out rc
	out=$("$DSCTL" "sqlite:$DB" dump)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | cut -f1
	return $rc
}

# pt_snapshot FILE: everything a failed command must leave as it was.
# PT_SNAP_NOREV=1: the datastore without revisions.
pt_snapshot() {
	local dump=ds_dump_stable
	[ "${PT_SNAP_NOREV:-0}" = 1 ] && dump=ds_dump_norev
	if ! $dump >"$1.ds" 2>"$1.dserr"; then
		fail "snapshot of the datastore" "dsctl failed: $(pt_oneline <"$1.dserr")"
	fi
	{
		echo "## datastore"
		cat "$1.ds"
		echo "## netns"
		our_netns
		echo "## node links"
		ip -n "$NODE" -o link show | awk -F': ' '{ print $2 }'
		echo "## node addresses"
		ip -n "$NODE" -4 -o addr show | awk '{ print $2, $3, $4 }'
		echo "## node routes"
		ip -n "$NODE" -4 route show table all
		echo "## node neighbours"
		ip -n "$NODE" -4 neigh show nud permanent
	} 2>&1 | grep -v 'Peer netns reference is invalid' >"$1"
	# (iproute2 prints that while the kernel still tears down a namespace
	# another test deleted: noise, not a change)
	rm -f "$1.ds" "$1.dserr"
}

# expect_ok WHAT CMD...: PASS when CMD exits 0. Its stdout in $OUT, stderr in $ERR.
expect_ok() {
	local what=$1 rc
	shift
	"$@" >"$TMP/cmd.out" 2>"$TMP/cmd.err"
	rc=$?
	OUT=$(cat "$TMP/cmd.out")
	ERR=$(cat "$TMP/cmd.err")
	pt_san_said "$what" "$ERR" && return 1
	if [ $rc -eq 0 ]; then
		pass "$what"
	else
		fail "$what" "exit $rc: $(printf '%s' "$ERR$OUT" | pt_oneline)"
	fi
	return $rc
}

# expect_err WHAT REGEX CMD...: PASS when CMD exits non-zero and says
# something matching REGEX (extended, case-insensitive) on stderr or stdout.
# REGEX is the expected message: one that matches an empty line (".", "",
# "x*") would pass on any error and is refused.
expect_err() {
	local what=$1 re=${2-} rc
	if [ $# -lt 3 ] || [ -z "$re" ] || printf '\n' | grep -Eiq -- "$re" 2>/dev/null; then
		fail "$what" "test bug: expect_err needs the expected message (a REGEX that matches only it), got /$re/"
		return 1
	fi
	shift 2
	"$@" >"$TMP/cmd.out" 2>"$TMP/cmd.err"
	rc=$?
	OUT=$(cat "$TMP/cmd.out")
	ERR=$(cat "$TMP/cmd.err")
	pt_san_said "$what" "$ERR" && return 1
	if [ $rc -eq 0 ]; then
		fail "$what" "exit 0, expected an error; said: $(printf '%s' "$OUT$ERR" | pt_oneline)"
		return 1
	fi
	if ! printf '%s\n%s\n' "$ERR" "$OUT" | grep -Eiq -- "$re"; then
		fail "$what" "exit $rc but the message does not match /$re/: $(printf '%s' "$ERR$OUT" | pt_oneline)"
		return 1
	fi
	pass "$what: $(printf '%s\n' "$ERR" "$OUT" | grep -Ei -m1 -- "$re" | cut -c1-140)"
	return 0
}

# check WHAT CMD...: PASS when CMD succeeds (its output is not shown).
check() {
	local what=$1
	shift
	if "$@" >"$TMP/check.out" 2>&1; then
		pt_san_said "$what" "$(cat "$TMP/check.out")" && return 1
		pass "$what"
		return 0
	fi
	fail "$what" "$(pt_oneline <"$TMP/check.out")"
	return 1
}

# same_files WHAT A B: PASS when A and B are identical, else the diff.
same_files() {
	if cmp -s "$2" "$3"; then
		pass "$1"
		return 0
	fi
	fail "$1" "changed: $(diff "$2" "$3" | grep '^[<>]' | head -6 | pt_oneline)"
	return 1
}

# pt_forget PID: a reaped child leaves PT_PIDS (its number may be reused by
# a process that is not ours: cleanup must never signal that).
pt_forget() {
	local p keep=()
	for p in "${PT_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PT_PIDS=("${keep[@]}")
}

# bg CMD...: runs CMD in the background, recorded for cleanup; pid in BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	PT_PIDS+=("$BG_PID")
}

# reap PID [MAX]: waits (bounded: MAX tenths of a second, default 100) for a
# background child; its exit status in REAP_RC. 1 when it did not end.
reap() {
	local pid=$1 max=${2:-100}
	REAP_RC=hung
	wait_for "$max" 0.1 pt_dead "$pid" || return 1
	wait "$pid" 2>/dev/null
	REAP_RC=$?
	pt_forget "$pid"
	return 0
}

# A sanitizer report in a command's stderr fails the check it belongs to
# (an expected error exit must not hide one).
pt_san_said() {
	if printf '%s' "$2" | grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:'; then
		fail "$1" "sanitizer: $(printf '%s' "$2" | grep -E -m1 -A2 'ERROR: |runtime error:' | pt_oneline)"
		return 0
	fi
	return 1
}

pt_sanitizer_check() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			fail "sanitizers ($(basename "$f"))" \
				"$(grep -E -m1 -A3 'ERROR: |runtime error:' "$f" | pt_oneline)"
		fi
	done
}

pt_cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	[ "$PT_KEEP" = 1 ] && exit $rc
	pt_kill_all 2>/dev/null
	# the hosts files felix wrote for our workloads (`rm` removes them; a
	# test that ends with its workloads up leaves them) - after felix is
	# gone, so that it writes no more
	local d
	for d in /etc/netns/pt-"${ID:-none}"-*; do
		[ -d "$d" ] && rm -rf -- "$d"
	done
	if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
		pt_sanitizer_check "$TMP"/*.log
		if [ "$PT_FAILS" -gt 0 ] && [ -f "${FELIX_LOG:-}" ]; then
			echo "--- felix log (last 15 lines) ---"
			tail -n 15 "$FELIX_LOG"
		fi
		rm -rf "$TMP"
	fi
	# A recap last, where tests/run.sh's tail shows it (not "FAIL: ": the
	# runner counts those lines).
	if [ "$PT_FAILS" -gt 0 ]; then
		echo "--- $PT_FAILS failure(s) in $(basename "$0") ---"
		printf '  x %s\n' "${PT_FAILED[@]}"
	fi
	[ "$PT_FAILS" -gt 0 ] && [ $rc -eq 0 ] && rc=1
	exit $rc
}

# Every process we started, then whatever runs in our namespaces (we started
# it too), then the namespaces themselves.
pt_kill_all() {
	local p ns i
	for p in "${PT_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PT_PIDS[@]}"; do
		for ((i = 0; i < 30; i++)); do
			pt_dead "$p" && break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Whatever still runs inside our namespaces was started by this test.
	for ns in $(our_netns); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in $(our_netns); do
		ip netns del "$ns" 2>/dev/null
	done
}

pt_end() {
	echo "# $PT_PASSES passed, $PT_FAILS failed, $PT_SKIPS skipped"
	[ "$PT_FAILS" -eq 0 ] && exit 0
	exit 1
}

# BGP helpers (FRR as a top-of-rack router, BIRD beside felix) -------------
#
#   frr_start NS DIR CONF [ZCONF]  zebra + bgpd in namespace NS, bgpd with
#                           CONF, zebra with ZCONF (default: none; zebra
#                           would log every bgp line of CONF as unknown);
#                           DIR: their sockets, pid files, logs (made here,
#                           owned by user frr)
#   vtysh_in DIR CMD...     vtysh --vty_socket DIR -c CMD ...
#   frr_bgp_summary DIR     `show bgp summary json`, on one line
#   frr_established DIR IP  true when the session to IP is Established
#   frr_prefixes DIR        the IPv4 unicast prefixes bgpd has, one a line
#   bird_start NS CONF SOCK LOG   BIRD in the foreground in NS (recorded in
#                           PT_PIDS); pid in BIRD_PID
#
# FRR's daemons drop to user frr: DIR is theirs and every parent directory
# must be searchable by others (pt's $TMP is 0700: frr_start makes it 0711,
# searchable, not listable). Started in the foreground (no -d), so that
# PT_PIDS holds them and cleanup stops them like any other child.

frr_start() {
	local ns=$1 dir=$2 conf=$3 zconf=${4:-/dev/null} d
	chmod 0711 "$TMP"
	mkdir -p "$dir"
	cp "$conf" "$dir/bgpd.conf"
	cat "$zconf" >"$dir/zebra.conf"
	chown -R frr:frr "$dir"
	chmod 0755 "$dir"
	for d in zebra bgpd; do
		bg ip netns exec "$ns" "/usr/lib/frr/$d" -P 0 -f "$dir/$d.conf" \
			-i "$dir/$d.pid" -z "$dir/zserv.api" --vty_socket "$dir" \
			--log "file:$dir/$d.log" >>"$dir/$d.out" 2>&1
		# bgpd connects to zebra's socket: wait for it (bounded, 5 s).
		if [ "$d" = zebra ] && ! wait_for 50 0.1 test -S "$dir/zserv.api"; then
			return 1
		fi
	done
	wait_for 50 0.1 vtysh_in "$dir" 'show bgp summary json'
}

vtysh_in() {
	local dir=$1 args=() c
	shift
	for c in "$@"; do args+=(-c "$c"); done
	vtysh --vty_socket "$dir" "${args[@]}"
}

frr_bgp_summary() {
	vtysh_in "$1" 'show bgp ipv4 unicast summary json' 2>/dev/null | tr -d ' \n'
}

# frr_peer_state DIR IP: the session's state ("Established", "Active", ...).
frr_peer_state() {
	frr_bgp_summary "$1" | sed -n "s/.*\"$2\":{[^}]*\"state\":\"\([A-Za-z]*\)\".*/\1/p"
}
frr_established() {
	[ "$(frr_peer_state "$1" "$2")" = Established ]
}

# (Fails when bgpd does not answer: an empty table must not look like one.)
frr_prefixes() {
	local j
	j=$(vtysh_in "$1" 'show bgp ipv4 unicast json' 2>/dev/null | tr -d ' \n')
	case "$j" in *'"routerId"'*) ;; *) return 1 ;; esac
	printf '%s\n' "$j" | grep -o '"[0-9.]*/[0-9]*":\[' | sed 's/"//g; s/:\[$//' | sort -u
}

# (bird_start returns when BIRD answers on its control socket: a FAIL and 1
# when it does not within 10 s; spawned is not started.)
bird_start() {
	local ns=$1 conf=$2 sock=$3 log=$4
	bg ip netns exec "$ns" bird -f -c "$conf" -s "$sock" >>"$log" 2>&1
	BIRD_PID=$BG_PID
	if ! wait_for 100 0.1 bird_answers "$sock"; then
		fail "BIRD in $ns answers on its control socket" \
			"$(birdc -s "$sock" show status 2>&1 | pt_oneline); log: $(tail -n 3 "$log" 2>/dev/null | pt_oneline)"
		return 1
	fi
}
# bird_answers SOCK: BIRD says "Daemon is up" on its control socket.
bird_answers() {
	birdc -s "$1" show status 2>/dev/null | grep -q 'Daemon is up'
}

# pt_node_conf N NS IP ASN [EXTRA]: the config of node N of a multi-node test,
# $TMP/nN/petrel.yaml: the shared datastore $DB, its own runDir and BIRD
# files, workload namespaces pt-$ID-wN-, BGP address IP and AS ASN; EXTRA is
# one more line of YAML (e.g. "logLevel: warning").
pt_node_conf() {
	mkdir -p "$TMP/n$1/run"
	cat >"$TMP/n$1/petrel.yaml" <<EOF
node: node$1
datastore: sqlite:$DB
runDir: $TMP/n$1/run
netns: $2
workloadNetnsPrefix: pt-$ID-w$1-
${5:-}
bgp:
  address: $3
  asNumber: $4
bird:
  config: $TMP/n$1/bird.conf
  socket: $TMP/n$1/bird.ctl
EOF
}

# --- issue 4 helpers ---------------------------------------------------------
# (policy, named networks, published ports, nftables: tests/integration/
# test_policy.sh, test_networks.sh, test_ports.sh, test_nft.sh)
#
#   pt_tor_nodes             two nodes behind an FRR ToR, as test_bgp_tor.sh:
#                            $TOR $N1 $N2, configs $C1 $C2, ctl1/ctl2, BGP
#                            resources applied; pt_tor_felix then starts
#                            felix + BIRD on both (F1_PID F2_PID)
#   wl_run CONF NAME ARGS... `run --name NAME ARGS` on CONF's node (a PASS or
#                            FAIL); remembers WL_CONF[NAME], WL_ADDR[NAME]
#   wl_serve NAME            servers in NAME answering "NAME": TCP 80 and
#                            8080, UDP 53 (bounded wait until they listen)
#   pt_probe CONF FROM PROTO ADDR PORT WANT
#                            one attempt from workload FROM: tcp / udp (the
#                            reply must be WANT), icmp (an echo reply)
#   pt_q WHAT EXPECT SECS FROM PROTO TO [PORT]
#                            queues a probe: EXPECT allow|deny (pt_hold:
#                            an allow retried until it holds or SECS passed;
#                            a deny must take effect within SECS and then
#                            hold at every try); TO a workload name
#                            (WL_ADDR) or an address
#   pt_qrun                  runs the queued probes in parallel; a PASS or
#                            FAIL each. A deny whose PROTO/ADDRESS/PORT no
#                            allow passed for (before, or in the same
#                            batch) is a FAIL: no positive control
#   allow_probe / deny_probe [-k KEY] WHAT SECS CMD...
#                            the same rule for any probe command
#   break_by_hand WHAT BROKEN-CMD -- CMD...
#                            a hand-made break, checked to have happened
#   felix_wait_resyncs N     felix finished N more resyncs (observed)
#   pt_etc_netns_trap        cleanup also removes /etc/netns/pt-<id>-*
#   ns_tcp NS ADDR PORT / ns_udp NS ADDR PORT
#                            what a server answers a client in namespace NS
#
# Probes are bounded: a TCP connect gives up after 1 s (no SYN
# retransmission: "at once" means the first packet), a UDP reply is awaited
# 1 s, a ping 1 s; each petrelctl exec is killed after 5 s.

declare -A WL_CONF WL_ADDR
PT_Q=()

pt_tor_nodes() {
	TOR="pt-$ID-tor" N1="pt-$ID-n1" N2="pt-$ID-n2"
	TOR_IP1=192.0.2.1 N1_IP=192.0.2.11
	TOR_IP2=198.51.100.1 N2_IP=198.51.100.12
	FRR_DIR="$TMP/frr"
	C1="$TMP/n1/petrel.yaml" C2="$TMP/n2/petrel.yaml"
	local ns
	for ns in "$TOR" "$N1" "$N2"; do
		ip netns add "$ns" || { fail "setup" "ip netns add $ns"; exit 1; }
		ip -n "$ns" link set lo up
	done
	if ! pt_tor_link "$N1" "$N1_IP" t1 "$TOR_IP1" ||
		! pt_tor_link "$N2" "$N2_IP" t2 "$TOR_IP2" ||
		! ip netns exec "$TOR" sysctl -qw net.ipv4.ip_forward=1; then
		fail "setup" "links to the ToR"
		exit 1
	fi
	sed '/^log syslog/d' "$PT_ROOT/contrib/frr/tor.conf" >"$TMP/tor.conf"
	if ! frr_start "$TOR" "$FRR_DIR" "$TMP/tor.conf"; then
		fail "setup: FRR in $TOR" "$(cat "$FRR_DIR"/*.out "$FRR_DIR"/*.log 2>/dev/null | tail -5 | pt_oneline)"
		exit 1
	fi
	pt_node_conf 1 "$N1" "$N1_IP" 64512 "${PT_CONF_EXTRA:-}"
	pt_node_conf 2 "$N2" "$N2_IP" 64513 "${PT_CONF_EXTRA:-}"
	CONF=$C1
	cat >"$TMP/bgp.yaml" <<EOT
apiVersion: petrel/v1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMesh: false}
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node1}
spec: {bgp: {ipv4Address: $N1_IP, asNumber: 64512}}
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node2}
spec: {bgp: {ipv4Address: $N2_IP, asNumber: 64513}}
---
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: tor-node1}
spec: {node: node1, peerIP: $TOR_IP1, asNumber: 65000, keepaliveTime: 3, holdTime: 9}
---
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: tor-node2}
spec: {node: node2, peerIP: $TOR_IP2, asNumber: 65000, keepaliveTime: 3, holdTime: 9}
EOT
	if ! ctl1 apply -f "$TMP/bgp.yaml" >"$TMP/apply.out" 2>&1; then
		fail "setup: apply the BGP resources" "$(pt_oneline <"$TMP/apply.out")"
		exit 1
	fi
}
pt_tor_link() { # NODE_NS NODE_IP TOR_IF TOR_IP
	ip -n "$1" link add up0 type veth peer name "$3" netns "$TOR" &&
		ip -n "$1" addr add "$2/24" dev up0 &&
		ip -n "$1" link set up0 up &&
		ip -n "$TOR" addr add "$4/24" dev "$3" &&
		ip -n "$TOR" link set "$3" up &&
		ip -n "$1" route add default via "$4"
}
ctl1() { "$PETRELCTL" -c "$C1" "$@"; }
ctl2() { "$PETRELCTL" -c "$C2" "$@"; }

# felix on both nodes, then BIRD once felix wrote its config; returns once
# both felixes answer status and both BIRDs their control sockets.
pt_tor_felix() {
	local n
	bg "$FELIX" -c "$C1" >>"$TMP/felix1.log" 2>&1
	F1_PID=$BG_PID
	bg "$FELIX" -c "$C2" >>"$TMP/felix2.log" 2>&1
	F2_PID=$BG_PID
	FELIX_LOG="$TMP/felix1.log"
	if ! wait_for 150 0.1 ctl1 status || ! wait_for 150 0.1 ctl2 status; then
		fail "both felixes answer status" "$(tail -n 3 "$TMP/felix1.log" "$TMP/felix2.log" | pt_oneline)"
		exit 1
	fi
	for n in 1 2; do
		if ! wait_for 100 0.1 test -s "$TMP/n$n/bird.conf"; then
			fail "felix of node$n writes its BIRD config" "$(tail -n 3 "$TMP/felix$n.log" | pt_oneline)"
			exit 1
		fi
		bird_start "pt-$ID-n$n" "$TMP/n$n/bird.conf" "$TMP/n$n/bird.ctl" "$TMP/bird$n.out" || exit 1
	done
}

wl_run() {
	local conf=$1 name=$2 node
	shift 2
	node=$(sed -n 's/^node: *//p' "$conf")
	if expect_ok "run $name on $node${*:+ ($*)}" "$PETRELCTL" -c "$conf" run --name "$name" "$@"; then
		WL_CONF[$name]=$conf
		WL_ADDR[$name]=$(printf '%s\n' "$OUT" | tail -n1)
		return 0
	fi
	return 1
}

wl_serve() {
	local n=$1 c=${WL_CONF[$1]}
	# (UDP: the reply after reading the datagram, else socat's child may
	# die of EPIPE writing it to a shell already gone, before it replies.)
	bg "$PETRELCTL" -c "$c" exec "$n" -- socat TCP-LISTEN:80,reuseaddr,fork \
		"SYSTEM:echo $n" 2>>"$TMP/servers.log"
	bg "$PETRELCTL" -c "$c" exec "$n" -- socat TCP-LISTEN:8080,reuseaddr,fork \
		"SYSTEM:echo $n" 2>>"$TMP/servers.log"
	bg "$PETRELCTL" -c "$c" exec "$n" -- socat UDP-RECVFROM:53,fork \
		"SYSTEM:read x; echo $n" 2>>"$TMP/servers.log"
	wait_for 50 0.1 wl_listening "$n" ||
		fail "servers of $n listen" "$("$PETRELCTL" -c "$c" exec "$n" -- ss -Hlntu 2>&1 | pt_oneline)"
}
wl_listening() {
	local s
	s=$("$PETRELCTL" -c "${WL_CONF[$1]}" exec "$1" -- ss -Hlntu 2>/dev/null)
	printf '%s\n' "$s" | grep -q 'tcp .*:80 ' &&
		printf '%s\n' "$s" | grep -q 'tcp .*:8080 ' &&
		printf '%s\n' "$s" | grep -q 'udp .*:53 '
}

pt_probe() {
	local conf=$1 from=$2 proto=$3 addr=$4 port=${5:-} want=${6:-} out
	case "$proto" in
	tcp)
		out=$(timeout 5 "$PETRELCTL" -c "$conf" exec "$from" -- \
			socat -T 2 -u "TCP:$addr:$port,connect-timeout=1" - 2>/dev/null) ;;
	udp)
		out=$(echo probe | timeout 5 "$PETRELCTL" -c "$conf" exec "$from" -- \
			socat -T 1 -t 1 - "UDP:$addr:$port" 2>/dev/null) ;;
	icmp)
		timeout 5 "$PETRELCTL" -c "$conf" exec "$from" -- ping -n -c 1 -W 1 "$addr" >/dev/null 2>&1
		return ;;
	*) return 2 ;;
	esac
	[ "$out" = "$want" ]
}

# pt_hold EXPECT SECS CMD...: the core of every reachability check.
#   allow: CMD succeeds at some try within SECS (one try when SECS is 0);
#          prints the milliseconds it took.
#   deny:  first the change takes effect: two tries in a row fail (within
#          SECS; at the first two tries when SECS is 0); from then on EVERY
#          try until SECS is over, and at least PT_DENY_HOLD (3) of them,
#          must fail too: one answer is a leak. Prints the milliseconds to
#          the first denial, or "leak ..." when a try was answered.
# 0 when the expectation held.
PT_DENY_HOLD=${PT_DENY_HOLD:-3}
pt_hold() {
	local expect=$1 secs=$2 t0 end rc run=0 held=0 ms
	shift 2
	t0=$(date +%s%N)
	end=$((SECONDS + secs))
	while :; do
		"$@" >/dev/null 2>&1
		rc=$?
		if [ "$expect" = allow ]; then
			if [ $rc -eq 0 ]; then
				echo "$((($(date +%s%N) - t0) / 1000000))"
				return 0
			fi
			[ "$SECONDS" -ge "$end" ] && return 1
		elif [ -z "${ms:-}" ]; then
			# converging: two denials in a row
			if [ $rc -ne 0 ]; then run=$((run + 1)); else run=0; fi
			[ $run -ge 2 ] && ms=$((($(date +%s%N) - t0) / 1000000))
			if [ -z "${ms:-}" ]; then
				if [ "$secs" -eq 0 ]; then
					[ $run -eq 0 ] && return 1
				elif [ "$SECONDS" -ge "$end" ]; then
					return 1
				fi
			fi
		else
			# holding: every try denied
			if [ $rc -eq 0 ]; then
				echo "leak: answered at try $((held + 1)) after the denial took effect ($ms ms)"
				return 1
			fi
			held=$((held + 1))
			if [ $held -ge "$PT_DENY_HOLD" ] && [ "$SECONDS" -ge "$end" ]; then
				echo "$ms"
				return 0
			fi
		fi
		sleep 0.2
	done
}

# pt_probe_until EXPECT SECS PROBE-ARGS...: pt_hold on one pt_probe.
pt_probe_until() {
	local expect=$1 secs=$2
	shift 2
	pt_hold "$expect" "$secs" pt_probe "$@"
}

# Positive controls: the keys of the probes shown allowed in this test.
declare -A PT_CONTROL
# pt_control_ok KEY: an allow of KEY passed earlier in this test.
pt_control_ok() { [ -n "${PT_CONTROL[$1]:-}" ]; }

# allow_probe [-k KEY] WHAT SECS CMD...: PASS when CMD succeeds within SECS
# (pt_hold allow). Records the positive control KEY (default: the command
# line) for a later deny_probe.
allow_probe() {
	local key= what secs out
	[ "${1:-}" = -k ] && { key=$2; shift 2; }
	what=$1 secs=$2
	shift 2
	[ -n "$key" ] || key="cmd:$*"
	if out=$(pt_hold allow "$secs" "$@"); then
		PT_CONTROL[$key]=1
		pass "$what: allowed ($out ms)"
		return 0
	fi
	fail "$what: allowed" "no success in ${secs}s: $*"
	return 1
}

# deny_probe [-k KEY] WHAT SECS CMD...: PASS when CMD fails at every try of
# the deny window (pt_hold deny). Refuses (a FAIL, CMD not run) unless
# allow_probe with the same KEY (default: the same command line) passed
# earlier in this test: a denial without its positive control proves nothing.
deny_probe() {
	local key= what secs out
	[ "${1:-}" = -k ] && { key=$2; shift 2; }
	what=$1 secs=$2
	shift 2
	[ -n "$key" ] || key="cmd:$*"
	if ! pt_control_ok "$key"; then
		fail "$what: denied" "test bug: no positive control (allow_probe ${key#cmd:} never passed before)"
		return 1
	fi
	if out=$(pt_hold deny "$secs" "$@"); then
		pass "$what: denied ($out ms to take effect, then every try)"
		return 0
	fi
	fail "$what: denied" "${out:-never denied in ${secs}s}: $*"
	return 1
}

# break_by_hand WHAT BROKEN-CMD -- CMD...: a hand-made break of what felix
# keeps. CMD must exit 0, and the break must be seen: BROKEN-CMD holds right
# after it, or felix already counted a change since (it repaired at once).
# A PASS or FAIL; 1 when the break did not happen (then "it comes back"
# proves nothing: skip it).
break_by_hand() {
	local what=$1 broken=$2 c0 c1 rc
	shift 2
	[ "${1:-}" = -- ] && shift
	c0=$(felix_status | json_num changes)
	"$@" >"$TMP/break.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$what" "the break by hand failed: exit $rc: $(pt_oneline <"$TMP/break.out")"
		return 1
	fi
	if eval "$broken" >/dev/null 2>&1; then
		pass "$what: done (exit 0, and seen: $broken)"
		return 0
	fi
	c1=$(felix_status | json_num changes)
	if [ -n "$c0" ] && [ -n "$c1" ] && [ "$c1" -gt "$c0" ]; then
		pass "$what: done (exit 0; felix repaired it at once: changes $c0 -> $c1)"
		return 0
	fi
	fail "$what" "exit 0 but not seen: $broken is false and felix changed nothing ($c0 -> $c1)"
	return 1
}

# felix_resyncs: how many resyncs felix finished (its log's "resync (" lines).
felix_resyncs() {
	grep -c 'resync (' "${FELIX_LOG:-/dev/null}" 2>/dev/null || true
}
# felix_wait_resyncs N [MAX]: waits (bounded: MAX tenths of a second, default
# 200) until felix finished N more resyncs than now; the second of two
# started after this call, so felix has seen the state of now.
felix_wait_resyncs() {
	local want max=${2:-200}
	want=$(($(felix_resyncs) + $1))
	wait_for "$max" 0.1 sh -c "[ \$(grep -c 'resync (' '$FELIX_LOG') -ge $want ]"
}

pt_q() {
	local what=$1 expect=$2 secs=$3 from=$4 proto=$5 to=$6 port=${7:-} addr want
	addr=${WL_ADDR[$to]:-$to}
	want=$to
	PT_Q+=("$what|$expect|$secs|${WL_CONF[$from]:-$CONF}|$from|$proto|$addr|$port|$want")
}

pt_qrun() {
	local i f what expect e secs conf from proto addr port want pids=() ms key
	local -A batch_allow=() skipped=()
	for i in "${!PT_Q[@]}"; do
		IFS='|' read -r what expect secs conf from proto addr port want <<<"${PT_Q[$i]}"
		[ "$expect" = allow ] && batch_allow["$proto|$addr|$port"]=1
	done
	for i in "${!PT_Q[@]}"; do
		IFS='|' read -r what expect secs conf from proto addr port want <<<"${PT_Q[$i]}"
		key="$proto|$addr|$port"
		# a deny needs its positive control: the same probe (protocol,
		# address, port) allowed before, or in this batch
		if [ "$expect" = deny ] && ! pt_control_ok "$key" && [ -z "${batch_allow[$key]:-}" ]; then
			skipped[$i]=1
			pids+=("")
			continue
		fi
		pt_probe_until "$expect" "$secs" "$conf" "$from" "$proto" "$addr" "$port" "$want" \
			>"$TMP/q.$i" 2>/dev/null &
		pids+=($!)
		PT_PIDS+=($!)
	done
	for i in "${!PT_Q[@]}"; do
		[ -n "${pids[$i]}" ] || continue
		IFS='|' read -r what expect secs _ <<<"${PT_Q[$i]}"
		reap "${pids[$i]}" $(((secs + 25) * 10)) || kill -KILL "${pids[$i]}" 2>/dev/null
	done
	# the allows first: they are the controls of this batch's denials
	for expect in allow deny; do
		for i in "${!PT_Q[@]}"; do
			IFS='|' read -r what e secs conf from proto addr port want <<<"${PT_Q[$i]}"
			[ "$e" = "$expect" ] || continue
			key="$proto|$addr|$port"
			f="$TMP/q.$i"
			ms=$(cat "$f" 2>/dev/null)
			if [ -n "${skipped[$i]:-}" ]; then
				fail "$what: deny" "test bug: no positive control: nothing allowed $proto${port:+/$port} to $addr before"
			elif [ "$expect" = allow ] && [ -n "$ms" ]; then
				PT_CONTROL[$key]=1
				pass "$what: allow ($from -> $addr $proto${port:+/$port}, $ms ms)"
			elif [ "$expect" = allow ]; then
				fail "$what: allow" "$from -> $addr $proto${port:+/$port}: no answer (tried ${secs}s)"
			elif [[ $ms =~ ^[0-9]+$ ]] && pt_control_ok "$key"; then
				pass "$what: deny ($from -> $addr $proto${port:+/$port}, $ms ms, then every try)"
			elif [[ $ms =~ ^[0-9]+$ ]]; then
				fail "$what: deny" "its positive control (the allow of $proto${port:+/$port} to $addr in this batch) failed"
			else
				fail "$what: deny" "$from -> $addr $proto${port:+/$port}: ${ms:-answered (tried ${secs}s)}"
			fi
		done
	done
	PT_Q=()
}

# pt_matrix WHAT: lines "allow|deny FROM PROTO TO [PORT]" on stdin (FROM,
# TO: workloads of wl_run), probed in parallel: the denials first (each
# must take effect within 5 s and then hold at every try: they show that
# felix applied the change), then the allowed ones (5 s bound each). Each
# denial's positive control is an earlier allow of the same protocol,
# address and port (pt_qrun refuses a denial without one).
pt_matrix() {
	local what=$1 e f p t port l x
	local -a lines
	mapfile -t lines
	for e in deny allow; do
		for l in "${lines[@]}"; do
			read -r x f p t port <<<"$l"
			[ "$x" = "$e" ] || continue
			pt_q "$what: $f->$t $p${port:+/$port}" "$x" 5 "$f" "$p" "$t" "$port"
		done
		pt_qrun
	done
}

# pt_apply_pol CTL NAME: a NetworkPolicy NAME, its spec on stdin (indented
# two spaces), applied with CTL (ctl, ctl1: a node's petrelctl).
pt_apply_pol() {
	local c=$1 name=$2
	{
		printf 'apiVersion: petrel/v1\nkind: NetworkPolicy\nmetadata: {name: %s}\nspec:\n' "$name"
		cat
	} >"$TMP/pol-$name.yaml"
	expect_ok "policy apply $name" "$c" policy apply -f "$TMP/pol-$name.yaml"
}

# pt_etc_netns_trap: the test's cleanup also removes /etc/netns/pt-<id>-*
# (the hosts files felix writes for our workloads; `rm` removes them, a
# failed test might not get there).
pt_etc_netns_trap() {
	trap pt_etc_netns_cleanup EXIT
}
pt_etc_netns_cleanup() {
	local rc=$? d
	for d in /etc/netns/pt-"$ID"-*; do
		[ -d "$d" ] && rm -rf -- "$d"
	done
	(exit $rc)
	pt_cleanup
}

# ns_tcp NS ADDR PORT [SOCAT-OPTS]: what a TCP server at ADDR:PORT says to
# a client in namespace NS (1 s to connect, 2 s in all).
ns_tcp() {
	timeout 5 ip netns exec "$1" socat -T 2 -u "TCP:$2:$3,connect-timeout=1${4:+,$4}" - 2>/dev/null
}
# ns_udp NS ADDR PORT: the reply to one datagram (1 s).
ns_udp() {
	echo probe | timeout 5 ip netns exec "$1" socat -T 1 -t 1 - "UDP:$2:$3" 2>/dev/null
}
