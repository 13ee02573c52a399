#!/usr/bin/env bash
# Two nodes that share nothing but a 3-member etcd cluster (issue 11): each
# its own namespace, runDir, config and BIRD; no sqlite file anywhere. felix
# registers each Node (nothing applied by hand) and the BGP mesh follows;
# the blocks the two nodes claim never overlap; a workload added on node 2
# is in node 1's nftables sets and its members' hosts files, and reachable
# over the mesh's routes; `node rm` of a stopped node drops it from the mesh;
# borrowing across nodes (the borrowed /32 advertised by its node), a port
# published on node 2 reached from node 1; `datastore migrate` sqlite ->
# etcd (a key prefix of its own) and back.
#
#   +---------------------- pt-<id>-fab (br0) ----------------------+
#   +---------|----------------------------------------|------------+
#   +---------|-------------+                +---------|-------------+
#   | up0 192.0.2.11        |                | up0 192.0.2.12        |
#   | pt-<id>-n1            |                | pt-<id>-n2            |
#   | felix + BIRD, a1      |                | felix + BIRD, b1      |
#   | et0 198.18.0.101      |                | et0 198.18.0.102      |
#   +---------|-------------+                +---------|-------------+
#   +---------|----------- pt-<id>-etcd (ebr0) --------|-------------+
#   +------|--------------------|--------------------|---------------+
#   | pt-<id>-e1 etcd .11 | pt-<id>-e2 etcd .12 | pt-<id>-e3 etcd .13 |
set -u
. "$(dirname "$0")/../lib.sh"
pt_init etn
# shellcheck source=tests/lib_bgpnodes.sh
. "$(dirname "$0")/../lib_bgpnodes.sh"
# shellcheck source=tests/lib_etcd.sh
. "$(dirname "$0")/../lib_etcd.sh"

for b in bird birdc "$ETCD_BIN" "$ETCDCTL_BIN"; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "etcd-nodes" "$b is not installed (make deps)"
		exit 0
	fi
done
pt_need_bins "$PETRELCTL" "$FELIX" "$DSCTL"
pt_need_tools jq
IP1=$(bn_ip 1) IP2=$(bn_ip 2)

bn_fabric 2
# (asked inside node1's namespace: its own loopback, nothing leaves it)
if ip netns exec "$(bn_ns 1)" "$DSCTL" "etcd:http://127.0.0.1:9?timeout=100" rev 2>&1 |
	grep -qiE "open .*(invalid argument|unknown)"; then
	skip "etcd-nodes" "this build has no etcd backend"
	exit 0
fi
etcd_cluster_start 3 || exit 1
pass "etcd: 3 members, each in its own namespace ($ETCD_ENDPOINTS)"
etcd_attach "$(bn_ns 1)" && etcd_attach "$(bn_ns 2)" || { fail "setup" "etcd_attach"; exit 1; }
for i in 1 2; do
	bn_conf "$i"
	sed -i "s|^datastore: .*|datastore: etcd:$ETCD_ENDPOINTS|" "$(bn_cf "$i")"
	printf 'labels:\n  rack: r%s\n' "$i" >>"$(bn_cf "$i")"
done
check "the two configs share no file: runDirs and BIRD files differ" \
	sh -c "! grep -h -E '^(runDir|  config|  socket):' '$(bn_cf 1)' | grep -Fxf - '$(bn_cf 2)'"
in_n1() { ip netns exec "$(bn_ns 1)" "$@"; }
ds1() { in_n1 "$DSCTL" "etcd:$ETCD_ENDPOINTS" "$@"; }

bn_felix_start 1
bn_felix_start 2
check "felix of node1 and node2 answer" bn_wait 20 sh -c \
	"'$PETRELCTL' -c '$(bn_cf 1)' status && '$PETRELCTL' -c '$(bn_cf 2)' status"
check "status: felix on etcd, the datastore reachable" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.datastore.reachable == true and (.datastore.url | startswith(\"etcd:\"))'"

# --- Nodes by felix, the mesh from them ---------------------------------------
check "etcdctl: both Nodes registered by felix (nothing applied)" \
	sh -c "[ \"\$(ip netns exec pt-$ID-etcd env ETCDCTL_API=3 '$ETCDCTL_BIN' --endpoints='$ETCD_ENDPOINTS' get --prefix --keys-only /petrel/nodes/ | grep -c .)\" = 2 ]"
check "Node node2: its address and label from its petrel.yaml" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json get node node2 | jq -e '.spec.bgp.ipv4Address == \"$IP2\" and .metadata.labels.rack == \"r2\"'"
bn_bird_start 1 || exit 1
bn_bird_start 2 || exit 1
check "mesh: node1 -- node2 Established (from the registered Nodes)" \
	bn_wait 30 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json node status | jq -e '[.peers[] | select(.address == \"$IP2\" and .info == \"Established\")] | length == 1'"

# --- workloads on both nodes -------------------------------------------------------
expect_ok "network create blue --pool 10.67.0.0/24" bn_ctl 1 network create blue --pool 10.67.0.0/24
expect_ok "run a1 --network blue on node1" bn_ctl 1 run --name a1 --network blue
expect_ok "run b1 --network blue on node2" bn_ctl 2 run --name b1 --network blue
A1=$(bn_ctl 1 -o json inspect a1 | jq -r '.spec.ipNetworks[0]' | sed 's|/.*||')
B1=$(bn_ctl 2 -o json inspect b1 | jq -r '.spec.ipNetworks[0]' | sed 's|/.*||')
BL1=$(bn_blocks node1) BL2=$(bn_blocks node2)
check "each node its own block ($BL1, $BL2), and they do not overlap" \
	sh -c "[ -n '$BL1' ] && [ -n '$BL2' ] && [ '$BL1' != '$BL2' ] && [ \$(printf '%s\n%s\n' '$BL1' '$BL2' | wc -l) = 2 ]"
check "node1 has node2's block $BL2 via $IP2 (BIRD)" bn_wait 30 bn_bird_route 1 "$BL2" "$IP2"
check "b1 (node2) in node1's nftables table (bounded wait)" \
	bn_wait 10 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' nft | grep -qF '$B1'"
check "b1 in a1's hosts file (node1, bounded wait)" \
	bn_wait 10 grep -Eq "^$B1[[:space:]]+b1([[:space:]]|\$)" "/etc/netns/pt-$ID-w1-a1/hosts"
check "a1 (node1) pings b1 (node2) over the mesh" bn_ctl 1 exec a1 -- ping -c 1 -W 2 "$B1"
check "ipam check on etcd: clean" sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json ipam check | jq -e '.leaks == []'"
check "no sqlite file anywhere in the test's files" sh -c "[ -z \"\$(find '$TMP' -name '*.db' -o -name '*.db-wal' | head -1)\" ]"

# --- borrowing across nodes, and a published port, on etcd --------------------------
C2=$(echo "${BL1%/*}" | awk -F. '{ printf "%s.%s.%s.%d", $1, $2, $3, $4 + 5 }')
expect_ok "run c2 --ip $C2 on node2 (borrowed from node1's block $BL1)" \
	bn_ctl 2 run --name c2 --network blue --ip "$C2"
check "c2's address is borrowed: $BL1 still node1's, node2 holds no new block" \
	test "$(bn_blocks node1):$(bn_blocks node2)" = "$BL1:$BL2"
check "node1 has the borrowed /32 $C2 via $IP2 (node2's BIRD advertises it)" \
	bn_wait 30 bn_bird_route 1 "$C2" "$IP2"
check "a1 (node1) pings c2 (node2, borrowed address)" bn_ctl 1 exec a1 -- ping -c 1 -W 2 "$C2"
expect_ok "run p1 -p 8080:80 on node2" bn_ctl 2 run --name p1 --network blue -p 8080:80
P1=$(bn_ctl 2 -o json inspect p1 | jq -r '.spec.ipNetworks[0]' | sed 's|/.*||')
bg "$PETRELCTL" -c "$(bn_cf 2)" exec p1 -- socat TCP-LISTEN:80,reuseaddr,fork "SYSTEM:echo p1" \
	2>>"$TMP/servers.log"
p1_answers() { [ "$(ns_tcp "$(bn_ns 1)" "$1" "$2")" = p1 ]; }
p1_silent() { ! p1_answers "$@"; }
a1_gets_p1() { [ "$(timeout 5 "$PETRELCTL" -c "$(bn_cf 1)" exec a1 -- \
	socat -T 2 -u "TCP:$P1:80,connect-timeout=1" - 2>/dev/null)" = p1 ]; }
check "a1 (node1, network blue) -> p1's own address $P1:80 over the mesh (the server answers)" \
	bn_wait 10 a1_gets_p1
check "node1 (not in blue) -> node2's $IP2:8080: the published port reaches p1's 80" \
	bn_wait 10 p1_answers "$IP2" 8080
check "node1 -> node2's $IP2:8081: nothing published there" p1_silent "$IP2" 8081
expect_ok "rm c2 p1 on node2" bn_ctl 2 rm c2 p1

# --- node rm --------------------------------------------------------------------------
expect_err "node rm node2 while its felix runs: refused" "refused: its felix is alive" \
	bn_ctl 1 node rm node2
kill -TERM "$BN_FELIX2" 2>/dev/null
check "felix of node2 stopped" wait_for 100 0.1 pt_dead "$BN_FELIX2"
pt_forget "$BN_FELIX2"
expect_ok "node rm node2" bn_ctl 1 -o json node rm node2
check "node rm: b1 and the block $BL2 gone, the Node deleted" \
	sh -c "printf '%s' '$OUT' | jq -e '.workloads == [\"b1\"] and .blocksReleased == [\"$BL2\"] and .nodeDeleted == true'"
check "node1's BIRD drops the mesh peer node2 (bounded wait)" \
	bn_wait 30 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json node status | jq -e '[.peers[] | select(.address == \"$IP2\")] | length == 0'"
check "b1 leaves a1's hosts file" bn_wait 10 sh -c "! grep -qw b1 /etc/netns/pt-$ID-w1-a1/hosts"
check "ipam check after node rm: clean" sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json ipam check | jq -e '.leaks == []'"

# --- datastore migrate: sqlite -> etcd (prefix /mig) -> sqlite ---------------------
SRC="sqlite:$TMP/src.db"
MIG="etcd:$ETCD_ENDPOINTS?prefix=/mig"
cat >"$TMP/src.yaml" <<EOF2
datastore: $SRC
node: node9
runDir: $TMP/n9
EOF2
expect_ok "a sqlite store with a pool and a workload's address" \
	sh -c "'$PETRELCTL' -c '$TMP/src.yaml' pool create p9 --cidr 10.99.0.0/24 && '$PETRELCTL' -c '$TMP/src.yaml' network create green --pool 10.98.0.0/24"
expect_ok "migrate sqlite -> etcd (prefix /mig)" in_n1 "$PETRELCTL" datastore migrate --from "$SRC" --to "$MIG"
"$DSCTL" "$SRC" dump | cut -f1,3 | sort >"$TMP/src.keys"
in_n1 "$DSCTL" "$MIG" dump | cut -f1,3 | sort >"$TMP/mig.keys"
check "the source had something to copy" test -s "$TMP/src.keys"
same_files "etcd under /mig holds the sqlite store's keys and documents" "$TMP/src.keys" "$TMP/mig.keys"
check "etcdctl: the copy under /mig/petrel/" \
	sh -c "ip netns exec pt-$ID-etcd env ETCDCTL_API=3 '$ETCDCTL_BIN' --endpoints='$ETCD_ENDPOINTS' get --prefix --keys-only /mig/petrel/ippools/ | grep -q p9"
expect_err "migrate into the (now non-empty) etcd prefix: refused" "is not empty" \
	in_n1 "$PETRELCTL" datastore migrate --from "$SRC" --to "$MIG"
expect_ok "migrate etcd (prefix /mig) -> a new sqlite" \
	in_n1 "$PETRELCTL" datastore migrate --from "$MIG" --to "sqlite:$TMP/back.db"
"$DSCTL" "sqlite:$TMP/back.db" dump | cut -f1,3 | sort >"$TMP/back.keys"
same_files "and back: the same keys and documents" "$TMP/src.keys" "$TMP/back.keys"
pt_end
