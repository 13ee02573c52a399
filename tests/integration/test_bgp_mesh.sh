#!/usr/bin/env bash
#
# Three petrel nodes in one AS with the node-to-node mesh (BGPConfiguration
# default: mesh on), no router: each node's BIRD has an iBGP session to each
# other node, each node's kernel routes the others' blocks straight to their
# addresses, workloads on different nodes reach each other without NAT, and a
# block IPAM releases is withdrawn from the other nodes.
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
#   | node1 AS 64512 |  | node2 AS 64512 |  | node3 AS 64512 |
#   | felix + BIRD   |  | felix + BIRD   |  | felix + BIRD   |
#   | a (pt-<id>-w1-)|  | b (pt-<id>-w2-)|  | c (pt-<id>-w3-)|
#   +----------------+  +----------------+  +----------------+
#       Mesh_*: 11<->12, 11<->13, 12<->13 (the lower address passive)
#       one sqlite datastore file, one pool 10.65.0.0/16
#
# 192.0.2.0/24 is TEST-NET-1 and every route points inside our namespaces:
# no packet leaves them.
# shellcheck disable=SC2317  # functions run through check and wait_for
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
pt_init bgpm	# pt-bgpmXXXX-w1-: workloadNetnsPrefix is at most 16 characters
# shellcheck source=tests/lib_bgpnodes.sh
. "$(dirname "$0")/../lib_bgpnodes.sh"

for b in bird birdc; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "bgp-mesh" "$b is not installed (needs bird2)"
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
check "fabric: node1 reaches node2 and node3" \
	sh -c "ip netns exec $(bn_ns 1) ping -c 1 -W 2 $IP2 && ip netns exec $(bn_ns 1) ping -c 1 -W 2 $IP3"

# --- resources: mesh on (explicitly, as the default), three Nodes -------------
for i in 1 2 3; do bn_conf "$i"; done
cat >"$TMP/bgp.yaml" <<EOF
apiVersion: petrel/v1
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64512
  nodeToNodeMesh: true
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node1}
spec:
  bgp: {ipv4Address: $IP1}
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
expect_ok "apply BGPConfiguration (mesh on), Nodes node1..3" bn_ctl 1 apply -f "$TMP/bgp.yaml"

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

# Workloads first, so that each node holds a block when its BIRD starts.
for w in 1:a 2:b 3:c; do
	expect_ok "run ${w#*:} on node${w%:*}" bn_ctl "${w%:*}" run --name "${w#*:}" || exit 1
	printf -v "IP_${w#*:}" '%s' "$OUT"
done
# shellcheck disable=SC2154  # IP_a, IP_b, IP_c: set by printf -v above
A_IP=$IP_a B_IP=$IP_b C_IP=$IP_c

for i in 1 2 3; do bn_bird_start "$i" || exit 1; done
pass "three felixes wrote their BIRD configs, three BIRDs answer on their control sockets"

# Each pair has exactly one passive side, the lower address (docs/bgp.md):
# awk prints "PEER passive|active" per Mesh_ protocol of a config.
mesh_sides() { # I
	awk '/^protocol bgp Mesh_/ { p = $3; s = "active" }
	     p && /passive on;/ { s = "passive" }
	     p && /^}/ { print p, s; p = "" }' "$TMP/n$1/bird.conf"
}
check "node1's config: Mesh_192_0_2_12 and _13 passive (node1 has the lower address)" \
	test "$(mesh_sides 1 | pt_oneline)" = "Mesh_192_0_2_12 passive Mesh_192_0_2_13 passive"
check "node2's config: to node1 active, to node3 passive" \
	test "$(mesh_sides 2 | pt_oneline)" = "Mesh_192_0_2_11 active Mesh_192_0_2_13 passive"
check "node3's config: both active" \
	test "$(mesh_sides 3 | pt_oneline)" = "Mesh_192_0_2_11 active Mesh_192_0_2_12 active"

# --- sessions, as petrelctl node status reports them --------------------------
T0=$(date +%s%N)
for i in 1 2 3; do
	others=()
	for j in 1 2 3; do [ "$j" = "$i" ] || others+=("$(bn_ip "$j")"); done
	if bn_wait 30 bn_sessions_up "$i" "${others[@]}"; then
		pass "node$i: node status shows exactly its 2 mesh sessions Established (${others[*]})"
	else
		fail "node$i: 2 mesh sessions Established" "after 30 s: $(bn_peers "$i" | pt_oneline); BIRD: $(bn_bird_protocols "$i"); $(tail -n 3 "$TMP/bird$i.out" | pt_oneline)"
	fi
done
T1=$(date +%s%N)
echo "# mesh sessions Established in $(((T1 - T0) / 1000000)) ms"
check "node status calls them 'node-to-node mesh'" \
	test "$(bn_status 1 | jq -r '[.peers[].type] | unique | join(",")')" = "node-to-node mesh"
check "node status: felix and BIRD running on node2" \
	test "$(bn_status 2 | jq -r '"\(.felix.running) \(.bird.running)"')" = "true true"

# --- routes ---------------------------------------------------------------------
for i in 1 2 3; do
	printf -v "BL$i" '%s' "$(bn_blocks "node$i")"
done
# shellcheck disable=SC2153  # BL1..3: set by printf -v above
for i in 1 2 3; do
	v=BL$i
	check "node$i holds one block (${!v})" test "$(echo "${!v}" | grep -c /26)" = 1
done
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" = "$j" ] && continue
		v=BL$j
		check "node$i kernel: node$j's block ${!v} via $(bn_ip "$j") proto bird" \
			wait_for 100 0.1 bn_bird_route "$i" "${!v}" "$(bn_ip "$j")"
	done
done
# A node's own block never comes back to it from BIRD (felix owns it).
check "node1 kernel: no proto bird route to its own block $BL1" \
	test -z "$(ip -n "$(bn_ns 1)" route show "$BL1" proto bird)"
check "node1 kernel: only the 2 other blocks are proto bird" \
	test "$(ip -n "$(bn_ns 1)" route show proto bird | wc -l)" = 2

# --- traffic, no NAT ------------------------------------------------------------
check "ping a ($A_IP, node1) -> b ($B_IP, node2)" wait_for 5 0.5 bn_ctl 1 exec a -- ping -c 1 -W 2 "$B_IP"
check "ping a ($A_IP, node1) -> c ($C_IP, node3)" wait_for 5 0.5 bn_ctl 1 exec a -- ping -c 1 -W 2 "$C_IP"
check "node1 routes $C_IP straight to node3 ($IP3)" \
	sh -c "ip netns exec $(bn_ns 1) ip route get $C_IP | grep -q 'via $IP3 '"
# socat on c prints the address of whoever connects.
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg "$PETRELCTL" -c "$(bn_cf 3)" exec c -- socat TCP-LISTEN:7070,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR'
peer_seen() {
	local out
	out=$(bn_ctl 1 exec a -- socat -T 3 -u "TCP:$C_IP:7070,connect-timeout=3" - 2>&1)
	echo "$out" >"$TMP/peer.seen"
	[ "$out" = "$A_IP" ]
}
if wait_for 10 0.2 peer_seen; then
	pass "TCP a -> c:7070: c sees a's own address $A_IP (no NAT)"
else
	fail "TCP a -> c:7070: c sees a's own address" "saw '$(pt_oneline <"$TMP/peer.seen")', want $A_IP"
fi

# --- withdrawal: c removed, node3's block released, nodes 1 and 2 forget it -----
# (A withdrawal only means something if the routes were there.)
check "before: nodes 1 and 2 have $BL3 via $IP3" \
	sh -c "ip -n $(bn_ns 1) route show $BL3 proto bird | grep -q 'via $IP3 ' &&
		ip -n $(bn_ns 2) route show $BL3 proto bird | grep -q 'via $IP3 '"
expect_ok "rm c (node3's last workload)" bn_ctl 3 rm c
block_gone() { [ -z "$(bn_blocks node3)" ]; }
check "IPAM released node3's block $BL3" wait_for 50 0.1 block_gone
T0=$(date +%s%N)
for i in 1 2; do
	if wait_for 300 0.1 bn_no_route "$i" "$BL3"; then
		pass "node$i kernel: $BL3 withdrawn"
	else
		fail "node$i kernel: $BL3 withdrawn" "still: $(ip -n "$(bn_ns "$i")" route show "$BL3" | pt_oneline)"
	fi
done
T1=$(date +%s%N)
echo "# withdrawn from both in $(((T1 - T0) / 1000000)) ms"
check "node1 kernel: $BL2 still via $IP2" bn_bird_route 1 "$BL2" "$IP2"
check "node2 kernel: $BL1 still via $IP1" bn_bird_route 2 "$BL1" "$IP1"
check "node3's sessions stay Established without a block" bn_sessions_up 3 "$IP1" "$IP2"
check "ping a -> b still works" bn_ctl 1 exec a -- ping -c 1 -W 2 "$B_IP"

for i in 1 2 3; do
	v=BN_FELIX$i
	# shellcheck disable=SC2034  # lib.sh: felix_stop stops the one in FELIX_PID
	FELIX_PID=${!v}
	felix_stop TERM
	check "felix of node$i exits 0 on SIGTERM" test "$FELIX_RC" = 0
done
echo "# run time $((($(date +%s%N) - T_START) / 1000000)) ms"
pt_end
