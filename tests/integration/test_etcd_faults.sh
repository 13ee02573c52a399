#!/usr/bin/env bash
# etcd failing under two nodes (issue 11):
#  - all of etcd stopped: felix keeps routes and the nftables table exactly
#    as they are, says why (status, node status, the log once), `run` fails
#    within its deadline naming the endpoints and leaves nothing; etcd back:
#    felix says so once and catches up (a change made then reaches it);
#  - the leader killed during 200 concurrent allocations from two nodes
#    (petrel-ipam ADDs): every one succeeds, no address twice, ipam check
#    clean.
#
#   pt-<id>-n1 (felix, a1)      pt-<id>-n2 (felix, b1)
#        | et0 .101                   | et0 .102
#   +----+------- pt-<id>-etcd (ebr0) -+----------------------------+
#   pt-<id>-e1 etcd .11    pt-<id>-e2 etcd .12    pt-<id>-e3 etcd .13
set -u
. "$(dirname "$0")/../lib.sh"
pt_init etf
# shellcheck source=tests/lib_bgpnodes.sh
. "$(dirname "$0")/../lib_bgpnodes.sh"
# shellcheck source=tests/lib_etcd.sh
. "$(dirname "$0")/../lib_etcd.sh"

for b in "$ETCD_BIN" "$ETCDCTL_BIN" nft; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "etcd-faults" "$b is not installed (make deps)"
		exit 0
	fi
done
PETREL_IPAM="$B/petrel-ipam"
pt_need_bins "$PETRELCTL" "$FELIX" "$DSCTL" "$PETREL_IPAM"
pt_need_tools jq
bn_fabric 2
if ip netns exec "$(bn_ns 1)" "$DSCTL" "etcd:http://127.0.0.1:9?timeout=100" rev 2>&1 |
	grep -qiE "open .*(invalid argument|unknown)"; then
	skip "etcd-faults" "this build has no etcd backend"
	exit 0
fi
etcd_cluster_start 3 || exit 1
etcd_nodes_up 2 || exit 1
expect_ok "pool create 10.68.0.0/16" bn_ctl 1 pool create p1 --cidr 10.68.0.0/16
expect_ok "network create blue --pool 10.69.0.0/24" bn_ctl 1 network create blue --pool 10.69.0.0/24
expect_ok "run a1 --network blue on node1" bn_ctl 1 run --name a1 --network blue
expect_ok "run b1 --network blue on node2" bn_ctl 2 run --name b1 --network blue
B1=$(bn_ctl 2 -o json inspect b1 | jq -r '.spec.ipNetworks[0]' | sed 's|/.*||')
check "b1 (node2, $B1) in node1's table (bounded wait)" \
	bn_wait 15 sh -c "ip netns exec $(bn_ns 1) nft list table inet petrel | grep -qF '$B1'"
dsview() { bn_ctl 1 -o json status 2>/dev/null | jq -c .datastore; }
kstate() { # node1's kernel: petrel's routes and the whole table inet petrel
	ip -n "$(bn_ns 1)" -4 route show table all proto 87 | sort
	ip netns exec "$(bn_ns 1)" nft list table inet petrel
}
check "felix of node1 has programmed a1" bn_wait 10 sh -c \
	"'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.endpoints == 1 and .programmed == 1'"
kstate >"$TMP/k.before" 2>&1
check "node1's kernel: a1's route and the table are there" sh -c \
	"grep -q 'dev ptl' '$TMP/k.before' && grep -q 'table inet petrel' '$TMP/k.before'"

# --- all of etcd stopped ---------------------------------------------------------
for i in 1 2 3; do etcd_member_stop "$i"; done
check "etcd: no member answers" sh -c "! etcdctl_pt endpoint health >/dev/null 2>&1"
check "status -o json: the datastore unreachable (bounded wait: the next heartbeat)" \
	bn_wait 40 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.datastore.reachable == false and (.datastore.message | startswith(\"datastore unreachable since \"))'"
check "felix keeps trying: 2 retries or more (bounded wait)" \
	bn_wait 40 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.datastore.retries >= 2'"
check "status (text): 'datastore unreachable since T (...), retrying'" \
	bn_wait 20 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' status | grep -Eq '^datastore: +datastore unreachable since .*, retrying'"
check "node status says it too" \
	bn_wait 20 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' node status | grep -q '^felix: datastore unreachable since'"
check "felix's log: unreachable, once" test "$(grep -c 'unreachable (' "$TMP/felix1.log")" = 1
kstate >"$TMP/k.during" 2>&1
same_files "during the outage: node1's routes and nft table untouched" "$TMP/k.before" "$TMP/k.during"
T0=$(date +%s%N)
expect_err "run a2 during the outage: fails, naming the endpoints" \
	"198\.18\.0\.1[123]:2379" bn_ctl 1 run --name a2
T1=$(date +%s%N)
check "run failed within its deadline ($(((T1 - T0) / 1000000)) ms, at most 20 s)" \
	test $(((T1 - T0) / 1000000)) -le 20000
check "run left no namespace behind" sh -c "! ip netns list | grep -q 'pt-$ID-w1-a2'"

# --- etcd back -------------------------------------------------------------------
for i in 1 2 3; do etcd_spawn "$i"; done	# (one alone has no quorum: all, then wait)
check "etcd: the 3 members back, with a leader (bounded wait)" wait_for 150 0.2 etcd_all_ok
check "felix of node1: reachable again (bounded wait)" \
	bn_wait 40 sh -c "'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.datastore.reachable == true'"
check "felix's log: reachable again, once" test "$(grep -c 'reachable again' "$TMP/felix1.log")" = 1
check "nothing of the failed run a2 (record, address)" sh -c \
	"! '$PETRELCTL' -c '$(bn_cf 1)' inspect a2 >/dev/null 2>&1 && '$PETRELCTL' -c '$(bn_cf 1)' -o json ipam check | jq -e '.leaks == []'"
expect_ok "run b2 --network blue on node2 once etcd is back" bn_ctl 2 run --name b2 --network blue
B2=$(bn_ctl 2 -o json inspect b2 | jq -r '.spec.ipNetworks[0]' | sed 's|/.*||')
check "node1 caught up: b2 ($B2) in its table (bounded wait)" \
	bn_wait 15 sh -c "ip netns exec $(bn_ns 1) nft list table inet petrel | grep -qF '$B2'"
expect_ok "run a2 on node1 now" bn_ctl 1 run --name a2
kstate >"$TMP/k.after" 2>&1
check "the route of a1 still there after all of it" sh -c "grep -q \"\$(grep 'dev ptl' '$TMP/k.before' | head -1)\" '$TMP/k.after'"

# --- the leader killed during 200 concurrent allocations from two nodes ------------
ipam_add() { # NODE I: one petrel-ipam ADD on node NODE, its address on stdout
	local conf
	conf=$(printf '{"cniVersion":"1.0.0","name":"n","type":"ptp","ipam":{"type":"petrel-ipam","petrelConfig":"%s"}}' "$(bn_cf "$1")")
	ip netns exec "$(bn_ns "$1")" env CNI_COMMAND=ADD CNI_CONTAINERID="alloc$1x$2$ID" \
		CNI_NETNS="/run/netns/$(bn_ns "$1")" CNI_IFNAME=eth0 CNI_PATH=/nonexistent \
		"$PETREL_IPAM" <<<"$conf" >"$TMP/raw/$1.$2"
	echo "exit $?: $(head -c 300 "$TMP/raw/$1.$2")" >&2
	jq -r '.ips[0].address' "$TMP/raw/$1.$2"
}
LEADER=$(etcd_leader_index)
check "etcd has a leader (member $LEADER)" test -n "$LEADER"
mkdir -p "$TMP/alloc" "$TMP/raw"
ALLOC_PIDS=()
for n in 1 2; do
	for ((k = 0; k < 10; k++)); do
		( for ((j = k; j < 100; j += 10)); do
			ipam_add "$n" "$j" >"$TMP/alloc/$n.$j" 2>"$TMP/alloc/$n.$j.err"
		done ) &
		PT_PIDS+=("$!")
		ALLOC_PIDS+=("$!")
	done
done
sleep 1
etcd_member_stop "$LEADER" KILL
for p in "${ALLOC_PIDS[@]}"; do
	wait "$p"
	pt_forget "$p"
done
GOT=$(cat "$TMP"/alloc/*.[0-9]* 2>/dev/null | grep -cE '^10\.6[89]\.')
check "all 200 allocations succeeded ($GOT)" test "$GOT" = 200
if [ "$GOT" != 200 ]; then	# say which and why
	for f in "$TMP"/alloc/*.[0-9]*; do
		case $f in *.err) continue ;; esac
		grep -qE '^10\.6[89]\.' "$f" || echo "  # ${f##*/}: $(head -c 300 "$f.err")"
	done | head -5
fi
check "no address handed out twice" test "$(cat "$TMP"/alloc/*.[0-9]* | grep -E '^10\.6[89]\.' | sort | uniq -d | wc -l)" = 0
check "ipam check after the leader's death: clean" sh -c \
	"'$PETRELCTL' -c '$(bn_cf 1)' -o json ipam check | jq -e '.leaks == []'"
pt_end
