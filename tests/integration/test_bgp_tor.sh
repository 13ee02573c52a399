#!/usr/bin/env bash
#
# Two petrel nodes behind a real top-of-rack router (FRR, eBGP): each node's
# felix writes its BIRD config, BIRD peers with the ToR, the ToR learns
# exactly the nodes' blocks (one /26 each; no /32, no connected subnet), a
# workload on node 1 reaches a workload on node 2 through the ToR without
# NAT, and a block released by IPAM is withdrawn at the ToR.
#
#                   +------------ pt-<id>-tor (AS 65000) -------------+
#                   | FRR (contrib/frr/tor.conf)      ip_forward=1    |
#                   | t1 192.0.2.1/24              t2 198.51.100.1/24 |
#                   +----|-------------------------------|------------+
#                        | veth                          | veth
#   +--------------------|----------+        +------------|------------------+
#   | pt-<id>-n1 (node1, AS 64512)  |        | pt-<id>-n2 (node2, AS 64513)  |
#   | up0 192.0.2.11/24             |        | up0 198.51.100.12/24          |
#   | default via 192.0.2.1         |        | default via 198.51.100.1      |
#   | felix + BIRD                  |        | felix + BIRD                  |
#   | ptl... -> pt-<id>-w1-a (a)    |        | ptl... -> pt-<id>-w2-b (b)    |
#   +-------------------------------+        +-------------------------------+
#        one sqlite datastore file, one pool 10.65.0.0/16, mesh off
#
# Per-node AS numbers: an eBGP speaker drops routes whose AS path holds its
# own AS, so two nodes sharing an AS would not learn each other's blocks
# through the ToR (docs/bgp.md, "Things to know").
#
# 192.0.2.0/24 and 198.51.100.0/24 are TEST-NET-1/2 and every route points
# inside our namespaces: no packet leaves them.
set -u
. "$(dirname "$0")/../lib.sh"
pt_init bgpt	# pt-bgptXXXX-w1-: workloadNetnsPrefix is at most 16 characters

for b in bird /usr/lib/frr/zebra /usr/lib/frr/bgpd vtysh; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "bgp-tor" "$b is not installed (needs bird2 and frr)"
		exit 0
	fi
done
if ! id frr >/dev/null 2>&1; then
	skip "bgp-tor" "no user frr (FRR's daemons drop to it)"
	exit 0
fi
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat

TOR="pt-$ID-tor"
N1="pt-$ID-n1"
N2="pt-$ID-n2"
TOR_IP1=192.0.2.1 N1_IP=192.0.2.11
TOR_IP2=198.51.100.1 N2_IP=198.51.100.12
FRR_DIR="$TMP/frr"
POOL=10.65.0.0/16

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
	ip netns add "$ns" || { fail "setup" "ip netns add $ns"; exit 1; }
	ip -n "$ns" link set lo up
done
if ! mk_link "$N1" "$N1_IP" t1 "$TOR_IP1" || ! mk_link "$N2" "$N2_IP" t2 "$TOR_IP2" ||
	! ip netns exec "$TOR" sysctl -qw net.ipv4.ip_forward=1; then
	fail "setup" "links"
	exit 1
fi
check "veth n1 <-> tor" ip netns exec "$N1" ping -c 1 -W 2 "$TOR_IP1"
check "veth n2 <-> tor" ip netns exec "$N2" ping -c 1 -W 2 "$TOR_IP2"

# --- the ToR ----------------------------------------------------------------
# The operator's example, contrib/frr/tor.conf, as it is (its router ID,
# AS 65000, listen ranges and pool are this topology's) but for its log
# line: the daemons log into $FRR_DIR, not to the machine's syslog.
sed '/^log syslog/d' "$PT_ROOT/contrib/frr/tor.conf" >"$TMP/tor.conf"
if ! frr_start "$TOR" "$FRR_DIR" "$TMP/tor.conf"; then
	fail "FRR starts in $TOR" "$(cat "$FRR_DIR"/*.out "$FRR_DIR"/*.log 2>/dev/null | tail -5 | pt_oneline)"
	exit 1
fi
pass "FRR (zebra + bgpd) runs in $TOR with contrib/frr/tor.conf"
vtysh_in "$FRR_DIR" 'show running-config' >"$TMP/tor.running" 2>&1
check "the ToR took the whole config (listen ranges, route-maps)" \
	sh -c "grep -q 'bgp listen range 198.51.100.0/24 peer-group PETREL' '$TMP/tor.running' &&
		grep -q 'neighbor PETREL route-map PETREL-OUT out' '$TMP/tor.running' &&
		grep -q 'match ip address prefix-list PETREL-POOLS' '$TMP/tor.running'"
# bgpd logs a line it does not know ("No such command on config line N")
# and goes on without it.
check "bgpd took every line of the config (its log says it started, no unknown command)" \
	sh -c "grep -q 'bgpd .* starting' '$FRR_DIR/bgpd.log' &&
		! grep -Ei 'no such command|unknown command|error' '$FRR_DIR/bgpd.log'"

# --- the nodes: one datastore, two configs ------------------------------------
pt_node_conf 1 "$N1" "$N1_IP" 64512
pt_node_conf 2 "$N2" "$N2_IP" 64513
C1="$TMP/n1/petrel.yaml"
C2="$TMP/n2/petrel.yaml"
ctl1() { "$PETRELCTL" -c "$C1" "$@"; }
ctl2() { "$PETRELCTL" -c "$C2" "$@"; }

cat >"$TMP/bgp.yaml" <<EOF
apiVersion: petrel/v1
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64512
  nodeToNodeMesh: false
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
spec:
  node: node1
  peerIP: $TOR_IP1
  asNumber: 65000
  keepaliveTime: 3
  holdTime: 9
---
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: tor-node2}
spec:
  node: node2
  peerIP: $TOR_IP2
  asNumber: 65000
  keepaliveTime: 3
  holdTime: 9
EOF
expect_ok "pool create $POOL" ctl1 pool create p1 --cidr "$POOL"
expect_ok "apply BGPConfiguration (mesh off), Nodes, BGPPeers" ctl1 apply -f "$TMP/bgp.yaml"

F1_LOG="$TMP/felix1.log" F2_LOG="$TMP/felix2.log"
bg "$FELIX" -c "$C1" >>"$F1_LOG" 2>&1
F1_PID=$BG_PID
bg "$FELIX" -c "$C2" >>"$F2_LOG" 2>&1
F2_PID=$BG_PID
# shellcheck disable=SC2034  # lib.sh: cleanup shows this log on failure
FELIX_LOG=$F1_LOG
if ! wait_for 150 0.1 ctl1 status || ! wait_for 150 0.1 ctl2 status; then
	fail "both felixes answer status" "$(tail -n 3 "$F1_LOG" "$F2_LOG" | pt_oneline)"
	exit 1
fi
pass "both felixes answer status"

# Workloads first, so that each node holds a block when BIRD starts.
expect_ok "run a on node1" ctl1 run --name a
A_IP=$OUT
expect_ok "run b on node2" ctl2 run --name b
B_IP=$OUT

# felix writes BIRD's config (bounded wait: 10 s); then BIRD starts.
for n in 1 2; do
	if ! wait_for 100 0.1 test -s "$TMP/n$n/bird.conf"; then
		fail "felix of node$n writes its BIRD config" "no $TMP/n$n/bird.conf after 10 s: $(tail -n 3 "$TMP/felix$n.log" | pt_oneline)"
		exit 1
	fi
done
pass "both felixes write their BIRD configs"
bird_start "$N1" "$TMP/n1/bird.conf" "$TMP/n1/bird.ctl" "$TMP/bird1.out" || exit 1
bird_start "$N2" "$TMP/n2/bird.conf" "$TMP/n2/bird.ctl" "$TMP/bird2.out" || exit 1

# --- sessions ---------------------------------------------------------------
# BIRD's view, for failure details: its BGP protocols and their states.
bird_protocols() { # N
	birdc -s "$TMP/n$1/bird.ctl" show protocols 2>&1 | grep -E '^(Node|Global|Mesh|RR)_' | pt_oneline
}
T0=$(date +%s%N)
for ip in "$N1_IP" "$N2_IP"; do
	if wait_for 300 0.1 frr_established "$FRR_DIR" "$ip"; then
		pass "ToR: session to $ip Established"
	else
		fail "ToR: session to $ip Established" "state '$(frr_peer_state "$FRR_DIR" "$ip")' after 30 s; BIRDs: $(bird_protocols 1; bird_protocols 2; tail -n 3 "$TMP"/bird*.out | pt_oneline)"
	fi
done
T1=$(date +%s%N)
echo "# sessions Established in $(((T1 - T0) / 1000000)) ms"

# --- what the ToR learned -----------------------------------------------------
# The blocks: node1's and node2's /26 (from ipam show --show-blocks).
# Columns: BLOCK POOL AFFINITY USED/SIZE.
blocks_of() { # NODE
	ctl1 ipam show --show-blocks 2>/dev/null |
		awk -v n="$1" '$1 ~ /^[0-9.]+\/[0-9]+$/ && $3 == n { print $1 }' | sort -u
}
B1=$(blocks_of node1)
B2=$(blocks_of node2)
check "node1 holds one block ($B1)" test "$(echo "$B1" | grep -c /26)" = 1
check "node2 holds one block ($B2)" test "$(echo "$B2" | grep -c /26)" = 1
printf '%s\n%s\n' "$B1" "$B2" | sort -u >"$TMP/want.prefixes"
has_want_prefixes() {
	frr_prefixes "$FRR_DIR" >"$TMP/tor.prefixes" || return 1
	cmp -s "$TMP/want.prefixes" "$TMP/tor.prefixes"
}
if wait_for 100 0.1 has_want_prefixes; then
	pass "ToR learned exactly the blocks: $(pt_oneline <"$TMP/tor.prefixes")"
else
	fail "ToR learned exactly the blocks" "want $(pt_oneline <"$TMP/want.prefixes"), has $(pt_oneline <"$TMP/tor.prefixes")"
fi
check "ToR: no /32 learned" sh -c "! grep -q '/32$' '$TMP/tor.prefixes'"
check "ToR: no connected subnet of a node (192.0.2.0/24, 198.51.100.0/24)" \
	sh -c "! grep -Eq '^(192\.0\.2\.|198\.51\.100\.)' '$TMP/tor.prefixes'"
check "ToR: nothing outside the pool" sh -c "! grep -v '^10\.65\.' '$TMP/tor.prefixes'"
# The ToR's own kernel has the routes (zebra installed them).
check "ToR kernel: $B1 via $N1_IP" wait_for 150 0.1 sh -c "ip -n $TOR route show $B1 | grep -q 'via $N1_IP'"
check "ToR kernel: $B2 via $N2_IP" wait_for 150 0.1 sh -c "ip -n $TOR route show $B2 | grep -q 'via $N2_IP'"
# Each node's BIRD learned the other's block from the ToR and put it in the
# node's kernel (node1 is AS 64512, the path 65000 64513 does not hold it).
bird_route() { # NS BLOCK VIA
	ip -n "$1" route show "$2" 2>/dev/null | grep -q "via $3 .*proto bird"
}
check "node1 kernel: $B2 via $TOR_IP1 proto bird" wait_for 50 0.1 bird_route "$N1" "$B2" "$TOR_IP1"
check "node2 kernel: $B1 via $TOR_IP2 proto bird" wait_for 50 0.1 bird_route "$N2" "$B1" "$TOR_IP2"

# --- traffic through the ToR, no NAT -------------------------------------------
check "ping a ($A_IP, node1) -> b ($B_IP, node2)" wait_for 5 0.5 ctl1 exec a -- ping -c 1 -W 2 "$B_IP"
check "ping b -> a" ctl2 exec b -- ping -c 1 -W 2 "$A_IP"
check "node1 routes $B_IP via the ToR" \
	sh -c "ip netns exec $N1 ip route get $B_IP | grep -q 'via $TOR_IP1'"
# socat on b prints the address of whoever connects.
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg "$PETRELCTL" -c "$C2" exec b -- socat TCP-LISTEN:7070,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR'
peer_seen() {
	local out
	out=$("$PETRELCTL" -c "$C1" exec a -- socat -T 3 -u "TCP:$B_IP:7070,connect-timeout=3" - 2>&1)
	echo "$out" >"$TMP/peer.seen"
	[ "$out" = "$A_IP" ]
}
if wait_for 10 0.2 peer_seen; then
	pass "TCP a -> b:7070: b sees a's own address $A_IP (no NAT)"
else
	fail "TCP a -> b:7070: b sees a's own address" "saw '$(pt_oneline <"$TMP/peer.seen")', want $A_IP"
fi

# --- withdrawal: b removed, node2's block released, the ToR forgets it ---------
expect_ok "rm b (node2's last workload)" ctl2 rm b
block_gone() { [ -z "$(blocks_of node2)" ]; }
check "IPAM released node2's block $B2" wait_for 50 0.1 block_gone
withdrawn() {
	frr_prefixes "$FRR_DIR" >"$TMP/tor.prefixes" || return 1
	! grep -qx "$B2" "$TMP/tor.prefixes"
}
T0=$(date +%s%N)
if wait_for 300 0.1 withdrawn; then
	T1=$(date +%s%N)
	pass "ToR: $B2 withdrawn"
	echo "# withdrawn in $(((T1 - T0) / 1000000)) ms"
else
	fail "ToR: $B2 withdrawn" "still there after 30 s: $(pt_oneline <"$TMP/tor.prefixes"); bird2.conf statics: $(grep 'blackhole' "$TMP/n2/bird.conf" | pt_oneline)"
fi
check "ToR: $B1 still there" grep -qx "$B1" "$TMP/tor.prefixes"
check "ToR: session to $N2_IP still Established" frr_established "$FRR_DIR" "$N2_IP"
check "ToR kernel: no route to $B2 left" wait_for 150 0.1 sh -c "[ -z \"\$(ip -n $TOR route show $B2)\" ]"
check "node1 kernel: no route to $B2 left (bounded wait)" \
	wait_for 50 0.1 sh -c "[ -z \"\$(ip -n $N1 route show $B2)\" ]"

expect_ok "rm a" ctl1 rm a
tor_empty() {
	frr_prefixes "$FRR_DIR" >"$TMP/tor.prefixes" && [ ! -s "$TMP/tor.prefixes" ]
}
check "ToR: table empty once the last workload is gone (bounded wait)" wait_for 100 0.1 tor_empty
for p in "$F1_PID" "$F2_PID"; do
	FELIX_PID=$p	# felix_stop stops the one in FELIX_PID
	felix_stop TERM
	check "felix ($p) exits 0 on SIGTERM" test "$FELIX_RC" = 0
done
pt_end
