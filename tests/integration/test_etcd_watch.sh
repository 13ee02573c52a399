#!/usr/bin/env bash
# felix's watch on etcd under faults (issue 11):
#  - the member felix watches through is restarted while another node
#    creates 50 workloads: felix's watch goes on through another member, from
#    its revision, and misses none (all 50 in node1's table, no relist);
#  - an idle watch's revision follows the store's by etcd's progress
#    notifications (every second here: --experimental-watch-progress-notify-
#    interval) while only keys outside felix's prefix change;
#  - etcd compacted past felix's revision while felix is cut off from it:
#    felix's watch comes back to a forgotten revision, felix lists again and
#    converges (what was added is there, what was removed is gone).
#
#   pt-<id>-n1 (felix, a1)      pt-<id>-n2 (felix, w*)
#        | et0 .101                   | et0 .102
#   +----+------- pt-<id>-etcd (ebr0) -+----------------------------+
#   pt-<id>-e1 etcd .11    pt-<id>-e2 etcd .12    pt-<id>-e3 etcd .13
set -u
. "$(dirname "$0")/../lib.sh"
pt_init etw
# shellcheck source=tests/lib_bgpnodes.sh
. "$(dirname "$0")/../lib_bgpnodes.sh"
# shellcheck source=tests/lib_etcd.sh
. "$(dirname "$0")/../lib_etcd.sh"

for b in "$ETCD_BIN" "$ETCDCTL_BIN" nft ss; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "etcd-watch" "$b is not installed (make deps)"
		exit 0
	fi
done
pt_need_bins "$PETRELCTL" "$FELIX" "$DSCTL"
pt_need_tools jq
bn_fabric 2
if ip netns exec "$(bn_ns 1)" "$DSCTL" "etcd:http://127.0.0.1:9?timeout=100" rev 2>&1 |
	grep -qiE "open .*(invalid argument|unknown)"; then
	skip "etcd-watch" "this build has no etcd backend"
	exit 0
fi
ETCD_EXTRA=(--experimental-watch-progress-notify-interval 1s)
etcd_cluster_start 3 || exit 1
etcd_nodes_up 2 || exit 1
expect_ok "pool create 10.71.0.0/16" bn_ctl 1 pool create p1 --cidr 10.71.0.0/16
expect_ok "network create blue --pool 10.72.0.0/24" bn_ctl 1 network create blue --pool 10.72.0.0/24
expect_ok "run a1 --network blue on node1" bn_ctl 1 run --name a1 --network blue

table1() { ip netns exec "$(bn_ns 1)" nft list table inet petrel; }
addr_of() { bn_ctl 2 -o json inspect "$1" | jq -r '.spec.ipNetworks[0]' | sed 's|/.*||'; }
# The members felix of node1 holds connections to (index 1..3), one per line.
felix1_members() {
	ip netns exec "$(bn_ns 1)" ss -Htnp state established "( dport = :2379 )" |
		grep "pid=$BN_FELIX1," | awk '{ print $4 }' | sed 's|:2379$||' |
		sed -n 's|^198\.18\.0\.1\([1-9]\)$|\1|p' | sort -u
}
# every address in $1 (a file, one per line) in node1's table
all_in_table1() {
	local t
	t=$(table1) || return 1
	while read -r a; do
		grep -qwF "$a" <<<"$t" || return 1
	done <"$1"
}
none_in_table1() {
	local t
	t=$(table1) || return 1
	while read -r a; do
		! grep -qwF "$a" <<<"$t" || return 1
	done <"$1"
}
relists() { grep -c 'listing again' "$TMP/felix1.log"; }
has_members() { [ -n "$(felix1_members)" ]; }
no_members() { [ -z "$(felix1_members)" ]; }
has_leader() { etcdctl_pt endpoint status 2>/dev/null | grep -q ', true, '; }
relisted_since() { [ "$(relists)" -gt "$1" ]; }

# --- an idle watch follows the store's revision ------------------------------------
felix1_rev() { bn_ctl 1 -o json status 2>/dev/null | jq -r .revision; }
etcd_rev() { etcdctl_pt endpoint status -w json 2>/dev/null | jq -r '[.[].Status.header.revision] | max'; }
rev_reached() { [ "$(felix1_rev)" -ge "$1" ] 2>/dev/null; }
for ((k = 1; k <= 5; k++)); do etcdctl_pt put "/other/k$k" "v$k" >/dev/null; done
ER=$(etcd_rev)
check "etcd's revision $ER is past felix's $(felix1_rev) (writes outside /petrel/)" \
	test "$ER" -gt "$(felix1_rev)"
check "felix of node1's revision reaches $ER by progress notifications (bounded wait)" \
	bn_wait 15 rev_reached "$ER"

# --- the watched member restarted while node2 creates 50 workloads --------------
check "felix of node1 holds a connection to etcd (ss)" bn_wait 10 has_members
M=$(felix1_members | head -1)
check "felix of node1 talks to one member ($(felix1_members | tr '\n' ' '))" \
	test "$(felix1_members | wc -l)" = 1
R0=$(relists)
etcd_member_stop "$M" KILL
check "member $M stopped, the other two have a leader" bn_wait 20 has_leader
: >"$TMP/w.addrs"
failed=0
for ((k = 1; k <= 50; k++)); do
	if bn_ctl 2 run --name "w$k" --network blue >"$TMP/w.out" 2>&1; then
		addr_of "w$k" >>"$TMP/w.addrs"
	else
		failed=$((failed + 1))
		[ "$failed" = 1 ] && cp "$TMP/w.out" "$TMP/w.first-failure"
	fi
	[ "$k" = 10 ] && etcd_member_start "$M"	# back while the rest come
done
check "50 runs on node2 succeeded ($failed failed: $(head -c 200 "$TMP/w.first-failure" 2>/dev/null))" \
	test "$failed" = 0
check "50 addresses" test "$(sort -u "$TMP/w.addrs" | grep -c .)" = 50
check "node1's table has all 50 of node2's workloads (bounded wait)" \
	bn_wait 30 all_in_table1 "$TMP/w.addrs"
check "felix of node1 did not list again: its watch resumed from its revision" \
	test "$(relists)" = "$R0"
check "felix of node1: the datastore reachable all along" sh -c \
	"'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.datastore.reachable == true'"

# --- compacted past felix's revision while felix is cut off -----------------------
# Cut first, so that nothing of what follows reaches felix's socket; then the
# changes, the compaction, and felix's connections destroyed: when the cut
# ends, its watch comes back from a revision etcd has forgotten.
ip netns exec "$(bn_ns 1)" nft -f - <<'EOF'
table inet pt_cut {
	chain out {
		type filter hook output priority -300; policy accept;
		tcp dport 2379 drop
	}
	chain in {
		type filter hook input priority -300; policy accept;
		tcp sport 2379 drop
	}
}
EOF
check "node1 cut off from etcd" sh -c \
	"! ip netns exec $(bn_ns 1) '$DSCTL' 'etcd:$ETCD_ENDPOINTS?timeout=500' rev >/dev/null 2>&1"
head -n 20 "$TMP/w.addrs" >"$TMP/gone.addrs"
failed=0
for ((k = 1; k <= 20; k++)); do
	bn_ctl 2 rm "w$k" >/dev/null 2>&1 || failed=$((failed + 1))
done
check "20 workloads removed on node2 ($failed failed)" test "$failed" = 0
: >"$TMP/new.addrs"
for ((k = 1; k <= 5; k++)); do
	bn_ctl 2 run --name "x$k" --network blue >/dev/null 2>&1 && addr_of "x$k" >>"$TMP/new.addrs"
done
check "5 new workloads on node2" test "$(grep -c . "$TMP/new.addrs")" = 5
# (IPAM hands freed addresses out again: those the new ones took are not gone)
grep -vxFf "$TMP/new.addrs" "$TMP/gone.addrs" >"$TMP/gone.only"
check "15 or more of the removed addresses not taken again ($(grep -c . "$TMP/gone.only"))" \
	test "$(grep -c . "$TMP/gone.only")" -ge 15
REV=$(etcdctl_pt endpoint status -w json 2>/dev/null | jq -r '[.[].Status.header.revision] | max')
expect_ok "etcd compacted at revision $REV" etcdctl_pt compaction "$REV"
ip netns exec "$(bn_ns 1)" ss -K -tn "( dport = :2379 )" >/dev/null 2>&1
check "felix of node1's connections destroyed while cut off" no_members
check "while cut off: node1 still has the 20 removed ones (it cannot know)" \
	all_in_table1 "$TMP/gone.addrs"
R1=$(relists)
ip netns exec "$(bn_ns 1)" nft delete table inet pt_cut
check "felix of node1 lists again: its revision was compacted (bounded wait)" \
	bn_wait 40 relisted_since "$R1"
check "node1 converges: the 5 new ones in its table (bounded wait)" \
	bn_wait 30 all_in_table1 "$TMP/new.addrs"
check "node1 converges: the 20 removed ones gone from its table (bounded wait)" \
	bn_wait 30 none_in_table1 "$TMP/gone.only"
check "node1 still has the 30 others" all_in_table1 <(tail -n 30 "$TMP/w.addrs")
check "felix of node1: the datastore reachable" sh -c \
	"'$PETRELCTL' -c '$(bn_cf 1)' -o json status | jq -e '.datastore.reachable == true'"
check "a1's route on node1 untouched through all of it" \
	sh -c "ip -n $(bn_ns 1) -4 route show proto 87 | grep -q 'dev ptl'"
pt_end
