#!/usr/bin/env bash
#
# tests/bench/bgp_converge.sh: section 3 of `make bench` (run by
# tests/bench/run.sh; alone: B=build tests/bench/bgp_converge.sh). Printed,
# never pass/fail.
#
#   a. convergence: a workload made on node 1 in a block nobody advertises
#      yet -> reachable from a workload on node 2 through the FRR ToR.
#      TRIALS times (default 20; env TRIALS), p50/p99. Each trial asks for
#      `run --ip 10.65.<100+i>.1`, an address in a /26 no node holds: node 1
#      claims the block, felix writes BIRD's config and reloads it, BIRD
#      sends the ToR an UPDATE, bgpd hands the route to zebra, zebra puts it
#      in the ToR's kernel. Timed from just before `petrelctl run` starts to
#      the first echo reply that node 2's workload receives: one ping
#      process started before, probing every 5 ms (-i 0.005), bounded
#      (timeout 10); its reply's own timestamp (-D) ends the interval.
#      Split in three, for where the time goes: felix's write of BIRD's
#      config, the UPDATE's arrival at the ToR's bgpd, the ToR's kernel route.
#   b. UPDATEs the ToR receives from node 1 for WORKLOADS more workloads
#      (default 50; env WORKLOADS) inside blocks it already advertises
#      (FRR's `show bgp neighbors json`: messageStats.updatesRecv, before
#      and 3 s after).
#
# Topology: tests/integration/test_bgp_tor.sh's (contrib/frr/tor.conf on
# the ToR, one node on each of its listen ranges, eBGP, mesh off, one pool
# 10.65.0.0/16 of /26 blocks). Every namespace is pt-<id>-...; every route
# points inside them (TEST-NET-1/2 and 10.65/16): no packet leaves them.
# Every wait is bounded; lib.sh's cleanup removes everything on any exit.
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PT_QUIET=1
. "$HERE/../lib.sh"
TRIALS=${TRIALS:-20}
WORKLOADS=${WORKLOADS:-50}
pt_init bgcv	# pt-bgcvXXXX-w1-: workloadNetnsPrefix is at most 16 characters

say() { echo "   $*"; }
die() { say "not measured: $*"; exit 0; }	# printed, never a failure of the bench

for b in bird birdc /usr/lib/frr/zebra /usr/lib/frr/bgpd vtysh; do
	command -v "$b" >/dev/null 2>&1 || die "$b is not installed (needs bird2 and frr)"
done
id frr >/dev/null 2>&1 || die "no user frr (FRR's daemons drop to it)"
[ -x "$PETRELCTL" ] && [ -x "$FELIX" ] || die "$PETRELCTL or $FELIX is not built"
pt_copy_bins

TOR="pt-$ID-tor"
N1="pt-$ID-n1"
N2="pt-$ID-n2"
TOR_IP1=192.0.2.1 N1_IP=192.0.2.11
TOR_IP2=198.51.100.1 N2_IP=198.51.100.12
FRR_DIR="$TMP/frr"

# --- statistics (as run.sh's) -----------------------------------------------
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "nan") print "-"; else printf "%.1f", u / 1000 }'; }

# --- topology ---------------------------------------------------------------
mk_link() { # NODE_NS NODE_IP TOR_IF TOR_IP
	ip -n "$1" link add up0 type veth peer name "$3" netns "$TOR" &&
		ip -n "$1" addr add "$2/24" dev up0 &&
		ip -n "$1" link set up0 up &&
		ip -n "$TOR" addr add "$4/24" dev "$3" &&
		ip -n "$TOR" link set "$3" up &&
		ip -n "$1" route add default via "$4"
}
for ns in "$TOR" "$N1" "$N2"; do
	ip netns add "$ns" || die "ip netns add $ns"
	ip -n "$ns" link set lo up
done
mk_link "$N1" "$N1_IP" t1 "$TOR_IP1" && mk_link "$N2" "$N2_IP" t2 "$TOR_IP2" &&
	ip netns exec "$TOR" sysctl -qw net.ipv4.ip_forward=1 || die "links"

sed '/^log syslog/d' "$PT_ROOT/contrib/frr/tor.conf" >"$TMP/tor.conf"
frr_start "$TOR" "$FRR_DIR" "$TMP/tor.conf" ||
	die "FRR does not start: $(cat "$FRR_DIR"/*.out "$FRR_DIR"/*.log 2>/dev/null | tail -3 | pt_oneline)"

pt_node_conf 1 "$N1" "$N1_IP" 64512 "logLevel: warning"
pt_node_conf 2 "$N2" "$N2_IP" 64513 "logLevel: warning"
C1="$TMP/n1/petrel.yaml"
C2="$TMP/n2/petrel.yaml"
ctl1() { "$PETRELCTL" -c "$C1" "$@"; }
ctl2() { "$PETRELCTL" -c "$C2" "$@"; }
cat >"$TMP/bgp.yaml" <<EOF
apiVersion: petrel/v1
kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: 64512, nodeToNodeMesh: false}
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node1}
spec:
  bgp: {ipv4Address: $N1_IP, asNumber: 64512}
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node2}
spec:
  bgp: {ipv4Address: $N2_IP, asNumber: 64513}
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
EOF
ctl1 pool create p1 --cidr 10.65.0.0/16 >/dev/null 2>"$TMP/err" || die "pool create: $(pt_oneline <"$TMP/err")"
ctl1 apply -f "$TMP/bgp.yaml" >/dev/null 2>"$TMP/err" || die "apply: $(pt_oneline <"$TMP/err")"

F1_LOG="$TMP/felix1.log" F2_LOG="$TMP/felix2.log"
bg "$FELIX" -c "$C1" >>"$F1_LOG" 2>&1
bg "$FELIX" -c "$C2" >>"$F2_LOG" 2>&1
wait_for 150 0.1 ctl1 status && wait_for 150 0.1 ctl2 status ||
	die "felix does not answer: $(tail -n 3 "$F1_LOG" "$F2_LOG" | pt_oneline)"
A_IP=$(ctl1 run --name a 2>"$TMP/err") || die "run a: $(pt_oneline <"$TMP/err")"
B_IP=$(ctl2 run --name b 2>"$TMP/err") || die "run b: $(pt_oneline <"$TMP/err")"
for n in 1 2; do
	wait_for 100 0.1 test -s "$TMP/n$n/bird.conf" || die "felix $n wrote no BIRD config in 10 s"
done
bird_start "$N1" "$TMP/n1/bird.conf" "$TMP/n1/bird.ctl" "$TMP/bird1.out"
bird_start "$N2" "$TMP/n2/bird.conf" "$TMP/n2/bird.ctl" "$TMP/bird2.out"
for ip in "$N1_IP" "$N2_IP"; do
	wait_for 300 0.1 frr_established "$FRR_DIR" "$ip" ||
		die "ToR: session to $ip not Established in 30 s ($(frr_peer_state "$FRR_DIR" "$ip"))"
done
WB="pt-$ID-w2-b"	# node 2's workload's namespace: the probes start there
wait_for 100 0.1 ip netns exec "$WB" ping -c 1 -W 1 "$A_IP" ||
	die "b ($B_IP, node 2) does not reach a ($A_IP, node 1) through the ToR"

# bgpd logs each UPDATE it receives, to the microsecond: when BIRD's UPDATE
# arrived splits BIRD's part from FRR's.
vtysh_in "$FRR_DIR" 'configure terminal' 'log timestamp precision 6' \
	"log file $FRR_DIR/us.log debugging" 'end' \
	'debug bgp updates in' >/dev/null 2>&1

# updates_recv IP: messageStats.updatesRecv of the ToR's neighbour IP.
updates_recv() {
	vtysh_in "$FRR_DIR" "show bgp neighbors $1 json" 2>/dev/null | tr -d ' \n' |
		sed -n 's/.*"messageStats":{[^}]*"updatesRecv":\([0-9]*\).*/\1/p'
}
# tor_prefixes_from IP: how many prefixes the ToR has from neighbour IP.
tor_prefixes_from() {
	vtysh_in "$FRR_DIR" "show bgp ipv4 unicast neighbors $1 routes json" 2>/dev/null |
		tr -d ' \n' | grep -o '"[0-9.]*/[0-9]*":\[' | sort -u | wc -l
}
blocks_of_node1() {
	ctl1 ipam show --show-blocks 2>/dev/null |
		awk '$1 ~ /^[0-9.]+\/[0-9]+$/ && $3 == "node1" { print $1 }' | sort -u
}

# first_reply: copies the first line of ping's that is a reply, and ends.
first_reply() {
	local l
	while read -r l; do
		case "$l" in *' bytes from '*) printf '%s\n' "$l"; return 0 ;; esac
	done
	return 1
}

# --- a. convergence -----------------------------------------------------------
: >"$TMP/t.conv"
: >"$TMP/t.run"
: >"$TMP/t.tor"
: >"$TMP/t.conf"
: >"$TMP/t.upd"
fails=0
for ((i = 1; i <= TRIALS; i++)); do
	addr="10.65.$((100 + i)).1"
	# The ToR must not know the block yet (no node holds it).
	if ip -n "$TOR" route show "10.65.$((100 + i)).0/26" | grep -q .; then
		say "trial $i: the ToR already routes 10.65.$((100 + i)).0/26: skipped"
		fails=$((fails + 1))
		continue
	fi
	# With -c or -w, ping stops at its first error (the ToR's "Destination
	# Net Unreachable" while it has no route): neither; its output is read
	# until the first reply (ping then dies of SIGPIPE at its next line,
	# 5 ms later) and timeout bounds it.
	{ ip netns exec "$WB" timeout 10 ping -D -n -i 0.005 "$addr" 2>&1 | first_reply >"$TMP/ping.$i"; } &
	ping_pid=$!
	PT_PIDS+=("$ping_pid")
	# The ToR's kernel route, seen from here (ip monitor, for the split).
	ip -n "$TOR" -ts monitor route >"$TMP/mon.$i" 2>&1 &
	mon_pid=$!
	PT_PIDS+=("$mon_pid")
	sleep 0.05	# both running before the clock starts
	t0=${EPOCHREALTIME/./}
	ctl1 run --name "c$i" --ip "$addr" >/dev/null 2>"$TMP/err"
	rc=$?
	t1=${EPOCHREALTIME/./}
	reap "$ping_pid" 120 || kill "$ping_pid" 2>/dev/null
	kill "$mon_pid" 2>/dev/null
	reap "$mon_pid" 30
	if [ "$rc" != 0 ]; then
		say "trial $i: run --ip $addr failed: $(pt_oneline <"$TMP/err")"
		fails=$((fails + 1))
		continue
	fi
	echo $((t1 - t0)) >>"$TMP/t.run"
	# "[1700000000.123456] 64 bytes from 10.65.101.1: icmp_seq=..."
	tr=$(sed -n 's/^\[\([0-9]*\)\.\([0-9]*\)\] [0-9]* bytes from .*/\1\2/p' "$TMP/ping.$i" | head -n 1)
	if [ -z "$tr" ]; then
		say "trial $i: $addr not reachable from b within 10 s"
		fails=$((fails + 1))
		continue
	fi
	echo $((tr - t0)) >>"$TMP/t.conv"
	# felix's rename of BIRD's config (nothing else writes it meanwhile).
	tc=$(stat -c %.6Y "$TMP/n1/bird.conf" 2>/dev/null | tr -d .)
	[ -n "$tc" ] && [ "$tc" -gt "$t0" ] && echo $((tc - t0)) >>"$TMP/t.conf"
	# "2026/11/22 20:11:14.703906 BGP: [..] 192.0.2.11(..) rcvd 10.65.101.0/26 ..."
	tm=$(grep -m1 " rcvd 10\.65\.$((100 + i))\.0/26 " "$FRR_DIR/us.log" 2>/dev/null | cut -d' ' -f1,2)
	if [ -n "$tm" ]; then
		tk=$(date -d "$tm" +%s%N 2>/dev/null) && echo $((tk / 1000 - t0)) >>"$TMP/t.upd"
	fi
	# ip -ts: "[2026-11-22T20:10:11.123456] 10.65.101.0/26 via 192.0.2.11 ..."
	tm=$(grep -m1 "^\[.*\] 10\.65\.$((100 + i))\.0/26 " "$TMP/mon.$i" |
		sed -n 's/^\[\([^]]*\)\].*/\1/p')
	if [ -n "$tm" ]; then
		tk=$(date -d "$tm" +%s%N 2>/dev/null) && echo $((tk / 1000 - t0)) >>"$TMP/t.tor"
	fi
	sleep 0.2
done

n_ok=$(wc -l <"$TMP/t.conv")
C50=$(pct "$TMP/t.conv" 50)
C99=$(pct "$TMP/t.conv" 99)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan") print "-"; else printf "%.2f", a / 1000 / b }'; }
printf '   %-56s %9s %9s %7s\n' "figure ($n_ok of $TRIALS trials)" "petrel" "target" "ratio"
printf '   %-56s %9s %9s %7s\n' "new block -> reachable through the ToR, p50" "$(ms "$C50") ms" "< 150 ms" "$(ratio "$C50" 150)"
printf '   %-56s %9s %9s %7s\n' "new block -> reachable through the ToR, p99" "$(ms "$C99") ms" "< 500 ms" "$(ratio "$C99" 500)"
printf '   %-56s %9s\n' "  of which petrelctl run --ip itself, p50 / p99" \
	"$(ms "$(pct "$TMP/t.run" 50)") / $(ms "$(pct "$TMP/t.run" 99)") ms"
if [ -s "$TMP/t.conf" ]; then
	printf '   %-56s %9s\n' "  felix wrote BIRD's config, p50 / p99" \
		"$(ms "$(pct "$TMP/t.conf" 50)") / $(ms "$(pct "$TMP/t.conf" 99)") ms"
fi
if [ -s "$TMP/t.upd" ]; then
	printf '   %-56s %9s\n' "  the ToR's bgpd received the UPDATE, p50 / p99" \
		"$(ms "$(pct "$TMP/t.upd" 50)") / $(ms "$(pct "$TMP/t.upd" 99)") ms"
fi
if [ -s "$TMP/t.tor" ]; then
	printf '   %-56s %9s\n' "  the route in the ToR's kernel, p50 / p99" \
		"$(ms "$(pct "$TMP/t.tor" 50)") / $(ms "$(pct "$TMP/t.tor" 99)") ms"
fi
printf '   %-56s %s\n' "  every trial (ms)" "$(awk '{ printf "%.0f ", $1 / 1000 }' "$TMP/t.conv")"
[ "$fails" = 0 ] || say "($fails trial(s) not measured, see above)"

# --- b. UPDATEs for workloads inside advertised blocks -----------------------
blocks_before=$(blocks_of_node1 | wc -l)
pfx_before=$(tor_prefixes_from "$N1_IP")
u0=$(updates_recv "$N1_IP")
made=0
for ((i = 1; i <= WORKLOADS; i++)); do
	ctl1 run --name "d$i" >/dev/null 2>"$TMP/err" && made=$((made + 1))
done
sleep 3	# what BIRD would send, sent by now (it sends at once; FRR holds ~50 ms)
u1=$(updates_recv "$N1_IP")
blocks_after=$(blocks_of_node1 | wc -l)
pfx_after=$(tor_prefixes_from "$N1_IP")
upd=-
[ -n "$u0" ] && [ -n "$u1" ] && upd=$((u1 - u0))
printf '   %-56s %9s %9s\n' "UPDATEs at the ToR, $made workloads in advertised blocks" "$upd" "0"
say "  (node 1's blocks $blocks_before -> $blocks_after, the ToR's prefixes from node 1 $pfx_before -> $pfx_after,"
say "  its updatesRecv from node 1 ${u0:-?} -> ${u1:-?}, read 3 s after the last run)"
cat <<EOF

   notes: the ToR is FRR $(vtysh_in "$FRR_DIR" 'show version' 2>/dev/null | sed -n 's/^FRRouting \([^ ]*\).*/\1/p' | head -n 1) with contrib/frr/tor.conf, the nodes run BIRD
   $(bird --version 2>&1 | sed -n 's/^BIRD version //p'). Convergence: wall clock, from just before \`petrelctl run --ip\` to
   the first echo reply received by node 2's workload (ping's own timestamp;
   probes every 5 ms, so up to ~5 ms of probing is included). The "  " rows
   split it, each from the same start: felix's last write of node 1's BIRD
   config (the file's mtime), the ToR's bgpd receiving the prefix (its debug
   log, turned on for this), the route in the ToR's kernel (ip -ts monitor).
   A ratio is petrel's value over the target (below 1: target met).
EOF
