#!/usr/bin/env bash
# Nodes that come and go (issue 11), on one sqlite store: felix registers its
# own Node (nothing applied by hand) and its heartbeat; `node rm` removes a
# node gone for good (its workloads, its blocks, its Node), refused while its
# felix is alive, and the block it held goes to another node; `datastore
# migrate` copies the store into an empty one (refusing a non-empty one),
# and felix on the copy keeps the same routes and nftables table.
#
#   +---------------------- pt-<id>-fab ----------------------+
#   |                        br0 (bridge)                     |
#   +--------|-----------------------------|------------------+
#   +--------|--------------+     +--------|--------------+
#   | up0 192.0.2.11        |     | up0 192.0.2.12        |
#   | pt-<id>-n1: felix     |     | pt-<id>-n2: felix     |
#   |  a1, c1 (workloads)   |     |  b1, b2 (workloads)   |
#   +-----------------------+     +-----------------------+
#        one datastore: $DB (then the copy $TMP/copy.db)
#
# Pool 10.66.0.0/27 in blocks of /29 (four): node1 holds A (a1), node2 B (b1)
# and D (b2, --ip 10.66.0.25); c1 on node1 borrows an address of B. node rm
# node2 releases D, keeps B without affinity (c1 keeps its address), and D
# goes to node1 (a2 --ip 10.66.0.26).
set -u
. "$(dirname "$0")/../lib.sh"
pt_init nrm
# shellcheck source=tests/lib_bgpnodes.sh
. "$(dirname "$0")/../lib_bgpnodes.sh"
pt_need_bins "$PETRELCTL" "$FELIX" "$DSCTL"
pt_need_tools jq

bn_fabric 2
bn_conf 1
bn_conf 2
printf 'labels:\n  rack: r2\n  zone: "z-1"\n' >>"$(bn_cf 2)"
expect_ok "pool create 10.66.0.0/27, blocks of /29" \
	bn_ctl 1 pool create p1 --cidr 10.66.0.0/27 --block-size 29

felix_ready() { bn_ctl "$1" status >/dev/null 2>&1; }
bn_felix_start 1
bn_felix_start 2
check "felix of node1 and node2 answer" bn_wait 15 sh -c \
	"'$PETRELCTL' -c '$(bn_cf 1)' status && '$PETRELCTL' -c '$(bn_cf 2)' status"

# --- Nodes registered by felix ---------------------------------------------
node_json() { bn_ctl 1 -o json get node "$1" 2>/dev/null; }
check "node1's Node registered by felix: spec.bgp.ipv4Address 192.0.2.11, AS $BN_ASN" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json get node node1 | jq -e '.spec.bgp.ipv4Address == \"192.0.2.11\" and .spec.bgp.asNumber == $BN_ASN'"
check "node2's Node: its address and the labels of its petrel.yaml" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json get node node2 | jq -e '.spec.bgp.ipv4Address == \"192.0.2.12\" and .metadata.labels.rack == \"r2\" and .metadata.labels.zone == \"z-1\"'"
check "node2's heartbeat: its felix's pid, not stopped" \
	sh -c "'$DSCTL' 'sqlite:$DB' get /petrel/nodestatus/node2 | jq -e '.felix.pid == $BN_FELIX2 and .felix.stopped == false'"
check "status -o json: the datastore reachable" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 2)' -o json status | jq -e '.datastore.reachable == true and .datastore.listed == true'"
check "status: 'datastore: reachable'" sh -c "'$PETRELCTL' -c '$(bn_cf 2)' status | grep -q '^datastore: *reachable'"

# A Node applied by hand with other fields: felix (at its next start)
# updates what it owns and keeps the rest.
cat >"$TMP/n2node.yaml" <<EOF2
apiVersion: petrel/v1
kind: Node
metadata: {name: node2, labels: {rack: old, team: net}}
spec:
  bgp: {ipv4Address: 192.0.2.99, asNumber: 65001, routeReflectorClusterID: 1.2.3.4}
EOF2
expect_ok "apply node2's Node by hand (other address, AS, labels, a cluster ID)" \
	bn_ctl 1 apply -f "$TMP/n2node.yaml"

# --- workloads, then node rm refused while node2's felix is alive ----------
expect_ok "run a1 on node1" bn_ctl 1 run --name a1
expect_ok "run b1 on node2" bn_ctl 2 run --name b1
expect_ok "run b2 --ip 10.66.0.25 on node2 (it claims 10.66.0.24/29)" bn_ctl 2 run --name b2 --ip 10.66.0.25
BL2=10.66.0.24/29
BLB=$(bn_blocks node2 | grep -vx "$BL2")
BL1=$(bn_blocks node1)
check "node1 holds one block ($BL1), node2 two ($BLB and $BL2)" \
	sh -c "[ -n '$BL1' ] && [ -n '$BLB' ] && [ \$(printf '%s\n' '$BL1' | wc -l) = 1 ] && [ \$(printf '%s\n' '$BLB' | wc -l) = 1 ] && [ '$BL1' != '$BLB' ]"
C1_IP=$(echo "${BLB%/*}" | awk -F. '{ printf "%s.%s.%s.%d", $1, $2, $3, $4 + 3 }')
expect_ok "run c1 --ip $C1_IP on node1 (borrowed from node2's block $BLB)" \
	bn_ctl 1 run --name c1 --ip "$C1_IP"
check "c1's address is borrowed: $BLB still node2's" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' ipam show --show-blocks | awk '\$1 == \"$BLB\" && \$3 == \"node2\"' | grep -q ."

expect_err "node rm node2 while its felix runs: refused" \
	"node rm node2: refused: its felix is alive \(pid $BN_FELIX2" bn_ctl 1 node rm node2
check "refused: node2's workloads and Node are still there" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json get node node2 >/dev/null && '$DSCTL' 'sqlite:$DB' get /petrel/workloadendpoints/node2/b1 >/dev/null"
expect_err "node rm of a node that never was" "node rm nosuch: no such node" \
	bn_ctl 1 node rm nosuch
expect_err "node rm NAME missing: usage" "which node\?" bn_ctl 1 node rm

# felix restarted: the hand-applied Node is updated, not clobbered
kill -TERM "$BN_FELIX2" 2>/dev/null
check "felix of node2 stops on TERM" wait_for 100 0.1 pt_dead "$BN_FELIX2"
pt_forget "$BN_FELIX2"
check "its heartbeat says stopped" \
	sh -c "'$DSCTL' 'sqlite:$DB' get /petrel/nodestatus/node2 | jq -e '.felix.stopped == true'"
bn_felix_start 2
check "felix of node2 answers again" bn_wait 15 felix_ready 2
check "node2's Node after felix's start: address and AS from petrel.yaml, rack r2; team and the cluster ID kept" \
	bn_wait 5 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json get node node2 | jq -e '.spec.bgp.ipv4Address == \"192.0.2.12\" and .spec.bgp.asNumber == $BN_ASN and .spec.bgp.routeReflectorClusterID == \"1.2.3.4\" and .metadata.labels.rack == \"r2\" and .metadata.labels.team == \"net\"'"
check "felix of node2 knows its 2 workloads again" bn_wait 10 sh -c \
	"'$PETRELCTL' -c '$(bn_cf 2)' -o json status | jq -e '.endpoints == 2'"

# --- node2 gone for good -----------------------------------------------------
kill -TERM "$BN_FELIX2" 2>/dev/null
check "felix of node2 stopped" wait_for 100 0.1 pt_dead "$BN_FELIX2"
pt_forget "$BN_FELIX2"
# before: node1 cannot have an address of node2's block as its own block
expect_ok "node rm node2 -o json" bn_ctl 1 -o json node rm node2
RM=$OUT
check "node rm: its 2 workloads removed" sh -c "printf '%s' '$RM' | jq -e '(.workloads | sort) == [\"b1\",\"b2\"]'"
check "node rm: its block $BL2 released, $BLB kept without affinity (c1's address), its Node deleted" \
	sh -c "printf '%s' '$RM' | jq -e '.blocksReleased == [\"$BL2\"] and .blocksWithoutAffinity == [\"$BLB\"] and .nodeDeleted == true'"
check "c1 keeps its address $C1_IP: still allocated, in $BLB without affinity" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json inspect c1 | jq -e '.spec.ipNetworks[0] == \"$C1_IP/32\"' && '$DSCTL' 'sqlite:$DB' get /petrel/ipamblocks/$(echo "$BLB" | tr / -) | jq -e '.spec.affinity == null or .spec.affinity == \"\"'"
check "no record of node2 left (workloads, Node, heartbeat, block)" sh -c \
	"! '$DSCTL' 'sqlite:$DB' dump | cut -f1 | grep -E '^/petrel/(workloadendpoints/node2/|nodes/node2\$|nodestatus/node2\$)' && [ -z \"\$('$DSCTL' 'sqlite:$DB' dump | grep '\"affinity\":\"node2\"')\" ]"
check "ipam check: clean after node rm" sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json ipam check | jq -e '.leaks == []'"
# b2's block, freed, goes to node1 now: as its own block
expect_ok "run a2 --ip 10.66.0.26 on node1 (in b2's freed block)" \
	bn_ctl 1 run --name a2 --ip 10.66.0.26
check "node1 holds the freed block $BL2 now (claimed, not borrowed)" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' ipam show --show-blocks | awk '\$1 == \"$BL2\" && \$3 == \"node1\"' | grep -q ."

# --- datastore migrate ---------------------------------------------------
wait_prog() { bn_ctl 1 -o json status 2>/dev/null | jq -e '.endpoints == 3 and .programmed == 3'; }
check "felix of node1 has programmed a1, c1 and a2" bn_wait 10 wait_prog
petrel_state() { # node1's routes of petrel and its whole nft table, as felix
	# programmed it (its lines sorted: the order of chains in the text
	# follows felix's history, not the table)
	ip -n "$(bn_ns 1)" -4 route show table all proto 87 | sort
	bn_ctl 1 nft | sort
}
petrel_state >"$TMP/state.before" 2>&1
COPY="sqlite:$TMP/copy.db"
expect_ok "datastore migrate sqlite -> a new sqlite" \
	bn_ctl 1 datastore migrate --from "sqlite:$DB" --to "$COPY"
check "migrate: the keys copied are reported" sh -c "printf '%s' '$OUT' | grep -Eq '^copied [1-9][0-9]* keys .* in [1-9][0-9]* transactions'"
"$DSCTL" "sqlite:$DB" dump | cut -f1,3 | grep -v '^/petrel/nodestatus/' | sort >"$TMP/src.keys"
"$DSCTL" "$COPY" dump | cut -f1,3 | grep -v '^/petrel/nodestatus/' | sort >"$TMP/dst.keys"
same_files "migrate: the copy holds every key and document of the source" "$TMP/src.keys" "$TMP/dst.keys"
expect_err "migrate into a store that is not empty: refused" \
	"refused: --to sqlite:$TMP/copy.db is not empty" \
	bn_ctl 1 datastore migrate --from "sqlite:$DB" --to "$COPY"
expect_err "migrate without --to: usage" "both --from URL and --to URL" \
	bn_ctl 1 datastore migrate --from "sqlite:$DB"
kill -TERM "$BN_FELIX1" 2>/dev/null
check "felix of node1 stopped" wait_for 100 0.1 pt_dead "$BN_FELIX1"
pt_forget "$BN_FELIX1"
sed -i "s|^datastore: .*|datastore: $COPY|" "$(bn_cf 1)"
bn_felix_start 1
check "felix of node1 on the copy: its 3 workloads programmed" bn_wait 15 wait_prog
check "ipam check on the copy: clean" sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json ipam check | jq -e '.leaks == []'"
petrel_state >"$TMP/state.after" 2>&1
same_files "felix on the copy: the same routes and nftables table" "$TMP/state.before" "$TMP/state.after"
check "no change written by felix's restart on the copy (changes: 0)" \
	sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.changes == 0'"
pt_end
