#!/usr/bin/env bash
#
# Route reflection, mesh off: node1 (routeReflectorClusterID 1.0.0.1) is the
# reflector, node2 and node3 its clients. Each client has one session (to
# node1), node1 has two; each client learns the other's block reflected by
# node1 with the next hop unchanged (the other client's own address), so
# traffic between clients goes straight across the segment; a block released
# on one client is withdrawn from the other through the reflector.
#
#   +---------------------- pt-<id>-fab ----------------------+
#   |                        br0 (bridge)                     |
#   |        f1                  f2                  f3       |
#   +--------|-------------------|-------------------|--------+
#            | veth              | veth              | veth
#   +--------|-------+  +--------|-------+  +--------|-------+
#   | up0            |  | up0            |  | up0            |
#   | 192.0.2.11/24  |  | 192.0.2.12/24  |  | 192.0.2.13/24  |
#   | pt-<id>-n1     |  | pt-<id>-n2     |  | pt-<id>-n3     |
#   | node1: RR      |  | node2: client  |  | node3: client  |
#   | cluster 1.0.0.1|  | b (pt-<id>-w2-)|  | c (pt-<id>-w3-)|
#   | felix + BIRD   |  | felix + BIRD   |  | felix + BIRD   |
#   +----------------+  +----------------+  +----------------+
#     sessions (iBGP, AS 64512): RR_ 11<->12, 11<->13; none 12<->13
#     one sqlite datastore file, one pool 10.65.0.0/16, nodeToNodeMesh: false
#
# 192.0.2.0/24 is TEST-NET-1 and every route points inside our namespaces:
# no packet leaves them.
# shellcheck disable=SC2317  # functions run through check and wait_for
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
pt_init bgpr	# pt-bgprXXXX-w1-: workloadNetnsPrefix is at most 16 characters
# shellcheck source=tests/lib_bgpnodes.sh
. "$(dirname "$0")/../lib_bgpnodes.sh"

for b in bird birdc; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "bgp-rr" "$b is not installed (needs bird2)"
		exit 0
	fi
done
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat jq
T_START=$(date +%s%N)
POOL=10.65.0.0/16
IP1=$(bn_ip 1) IP2=$(bn_ip 2) IP3=$(bn_ip 3)

# --- topology -----------------------------------------------------------------
bn_fabric 3
check "fabric: node2 reaches node1 and node3" \
	sh -c "ip netns exec $(bn_ns 2) ping -c 1 -W 2 $IP1 && ip netns exec $(bn_ns 2) ping -c 1 -W 2 $IP3"

# --- resources: mesh off, node1 a reflector -----------------------------------
for i in 1 2 3; do bn_conf "$i"; done
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
  bgp: {ipv4Address: $IP1, routeReflectorClusterID: 1.0.0.1}
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node2}
spec:
  bgp: {ipv4Address: $IP2}
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node3}
spec:
  bgp: {ipv4Address: $IP3}
EOF
expect_ok "pool create $POOL" bn_ctl 1 pool create p1 --cidr "$POOL"
expect_ok "apply BGPConfiguration (mesh off), Nodes (node1 reflector)" bn_ctl 1 apply -f "$TMP/bgp.yaml"

for i in 1 2 3; do bn_felix_start "$i"; done
# shellcheck disable=SC2034  # lib.sh: cleanup shows this log on failure
FELIX_LOG=$TMP/felix1.log
for i in 1 2 3; do
	if ! wait_for 150 0.1 bn_ctl "$i" status; then
		fail "felix of node$i answers status" "$(tail -n 3 "$TMP/felix$i.log" | pt_oneline)"
		exit 1
	fi
done
pass "three felixes answer status"

# Workloads on the clients only: what node2 learns of node3 can only come
# through the reflector.
expect_ok "run b on node2" bn_ctl 2 run --name b || exit 1
B_IP=$OUT
expect_ok "run c on node3" bn_ctl 3 run --name c || exit 1
C_IP=$OUT

for i in 1 2 3; do bn_bird_start "$i" || exit 1; done
pass "three felixes wrote their BIRD configs, three BIRDs answer on their control sockets"

# The configs say who reflects: node1 marks both sessions `rr client` with
# its cluster ID; the clients have one session each and no rr option.
check "node1's config: RR_192_0_2_12 and _13, both 'rr client', cluster id 1.0.0.1" \
	sh -c "c='$TMP/n1/bird.conf'
		test \"\$(grep -c '^protocol bgp ' \"\$c\")\" = 2 &&
		grep -q '^protocol bgp RR_192_0_2_12 ' \"\$c\" &&
		grep -q '^protocol bgp RR_192_0_2_13 ' \"\$c\" &&
		test \"\$(grep -c 'rr client;' \"\$c\")\" = 2 &&
		test \"\$(grep -c 'rr cluster id 1.0.0.1;' \"\$c\")\" = 2"
for i in 2 3; do
	check "node$i's config: one BGP protocol, RR_192_0_2_11, no rr option" \
		sh -c "c='$TMP/n$i/bird.conf'
			test \"\$(grep '^protocol bgp ' \"\$c\" | awk '{ print \$3 }')\" = RR_192_0_2_11 &&
			! grep -q 'rr client\|rr cluster' \"\$c\""
done

# --- sessions, as petrelctl node status reports them --------------------------
T0=$(date +%s%N)
if bn_wait 30 bn_sessions_up 1 "$IP2" "$IP3"; then
	pass "node1 (reflector): exactly 2 sessions Established ($IP2 $IP3)"
else
	fail "node1 (reflector): 2 sessions Established" "after 30 s: $(bn_peers 1 | pt_oneline); BIRD: $(bn_bird_protocols 1)"
fi
for i in 2 3; do
	if bn_wait 30 bn_sessions_up "$i" "$IP1"; then
		pass "node$i (client): exactly 1 session, to node1 ($IP1), Established"
	else
		fail "node$i (client): 1 session to node1 Established" "after 30 s: $(bn_peers "$i" | pt_oneline); BIRD: $(bn_bird_protocols "$i")"
	fi
done
T1=$(date +%s%N)
echo "# sessions Established in $(((T1 - T0) / 1000000)) ms"
# What node status prints for them (cli/cmd_node.c: from the RR_ prefix).
check "node status on node1: both peers of type 'route reflector'" \
	test "$(bn_status 1 | jq -r '[.peers[] | "\(.address)=\(.type)"] | sort | join(",")')" \
		= "$IP2=route reflector,$IP3=route reflector"
check "node status on node1 (table): two 'route reflector' rows" \
	test "$(bn_ctl 1 node status | grep -c 'route reflector')" = 2
check "node status on node2: its one peer $IP1, type 'route reflector'" \
	test "$(bn_status 2 | jq -r '[.peers[] | "\(.address)=\(.type)"] | join(",")')" \
		= "$IP1=route reflector"

# --- routes: reflected, next hop unchanged ---------------------------------------
BL2=$(bn_blocks node2)
BL3=$(bn_blocks node3)
check "node2 holds one block ($BL2)" test "$(echo "$BL2" | grep -c /26)" = 1
check "node3 holds one block ($BL3)" test "$(echo "$BL3" | grep -c /26)" = 1
check "node1 (no workload) holds no block" test -z "$(bn_blocks node1)"
check "node2 kernel: node3's block $BL3 via $IP3 (reflected, next hop kept) proto bird" \
	wait_for 100 0.1 bn_bird_route 2 "$BL3" "$IP3"
check "node3 kernel: node2's block $BL2 via $IP2 (reflected, next hop kept) proto bird" \
	wait_for 100 0.1 bn_bird_route 3 "$BL2" "$IP2"
check "node1 kernel: both client blocks, via their own addresses" \
	wait_for 100 0.1 sh -c "ip -n $(bn_ns 1) route show $BL2 proto bird | grep -q 'via $IP2 ' &&
		ip -n $(bn_ns 1) route show $BL3 proto bird | grep -q 'via $IP3 '"
# node2 learned it over its one session, from node1, and BIRD's attributes
# show the reflection: originator node3, cluster list 1.0.0.1.
check "node status --routes on node2: $BL3 learned from RR_192_0_2_11, via $IP3" \
	test "$(bn_ctl 2 -o json node status --routes | jq -r --arg p "$BL3" \
		'.routes.learned[] | select(.prefix == $p) | "\(.protocol) \(.via | tostring)"')" \
		= "RR_192_0_2_11 [\"$IP3\"]"
birdc -s "$TMP/n2/bird.ctl" show route "$BL3" all >"$TMP/n2.route" 2>&1
check "node2's BIRD: $BL3 has originator $IP3 and cluster list 1.0.0.1" \
	sh -c "grep -q 'BGP.originator_id: $IP3' '$TMP/n2.route' &&
		grep -q 'BGP.cluster_list: 1.0.0.1' '$TMP/n2.route'"

# --- traffic between the clients, straight across the segment --------------------
check "ping b ($B_IP, node2) -> c ($C_IP, node3)" wait_for 5 0.5 bn_ctl 2 exec b -- ping -c 1 -W 2 "$C_IP"
check "ping c -> b" bn_ctl 3 exec c -- ping -c 1 -W 2 "$B_IP"
check "node2 routes $C_IP straight to node3 ($IP3), not via the reflector" \
	sh -c "ip netns exec $(bn_ns 2) ip route get $C_IP | grep -q 'via $IP3 '"
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg "$PETRELCTL" -c "$(bn_cf 3)" exec c -- socat TCP-LISTEN:7070,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR'
peer_seen() {
	local out
	out=$(bn_ctl 2 exec b -- socat -T 3 -u "TCP:$C_IP:7070,connect-timeout=3" - 2>&1)
	echo "$out" >"$TMP/peer.seen"
	[ "$out" = "$B_IP" ]
}
if wait_for 10 0.2 peer_seen; then
	pass "TCP b -> c:7070: c sees b's own address $B_IP (no NAT)"
else
	fail "TCP b -> c:7070: c sees b's own address" "saw '$(pt_oneline <"$TMP/peer.seen")', want $B_IP"
fi

# --- withdrawal through the reflector ---------------------------------------------
# (A withdrawal only means something if the route was there.)
check "before: node2 kernel has $BL3 via $IP3" bn_bird_route 2 "$BL3" "$IP3"
expect_ok "rm c (node3's last workload)" bn_ctl 3 rm c
block_gone() { [ -z "$(bn_blocks node3)" ]; }
check "IPAM released node3's block $BL3" wait_for 50 0.1 block_gone
T0=$(date +%s%N)
if wait_for 300 0.1 bn_no_route 2 "$BL3"; then
	pass "node2 kernel: $BL3 withdrawn (through the reflector)"
else
	fail "node2 kernel: $BL3 withdrawn" "still: $(ip -n "$(bn_ns 2)" route show "$BL3" | pt_oneline)"
fi
T1=$(date +%s%N)
echo "# withdrawn in $(((T1 - T0) / 1000000)) ms"
check "node1 kernel: $BL3 withdrawn too" wait_for 100 0.1 bn_no_route 1 "$BL3"
check "node3 kernel: $BL2 still via $IP2" bn_bird_route 3 "$BL2" "$IP2"
check "sessions unchanged: node1 still has both clients" bn_sessions_up 1 "$IP2" "$IP3"

for i in 1 2 3; do
	v=BN_FELIX$i
	# shellcheck disable=SC2034  # lib.sh: felix_stop stops the one in FELIX_PID
	FELIX_PID=${!v}
	felix_stop TERM
	check "felix of node$i exits 0 on SIGTERM" test "$FELIX_RC" = 0
done
echo "# run time $((($(date +%s%N) - T_START) / 1000000)) ms"
pt_end
