#!/usr/bin/env bash
#
# 32 `petrelctl run` at once, then 32 `petrelctl rm` at once: every
# workload gets its own address and route, IPAM has no leak, and removal
# leaves nothing behind (no netns, no interface, no route, no allocation).
#
#   +----------------------- pt-<id>-node ------------------------+
#   | felix   up0 192.0.2.11/24 --veth-- pt-<id>-ext               |
#   | ptl<p1> ... ptl<p32>   32 x ADDR/32 proto 87, blackhole(s)   |
#   +-----|-----------|-------------------------------------------+
#         | veth      | veth
#   pt-<id>-w-p1 ... pt-<id>-w-p32   (eth0 ADDR/32 each)
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init par
pt_need_bins "$PETRELCTL" "$FELIX"
pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
N=32

pids=()
for ((i = 1; i <= N; i++)); do
	"$PETRELCTL" -c "$CONF" run --name "p$i" >"$TMP/run.$i.out" 2>"$TMP/run.$i.err" &
	pids+=($!)
	PT_PIDS+=($!)
done
bad=0 details=
for ((i = 1; i <= N; i++)); do
	# Bounded: run waits at most waitTimeout (10 s) for felix; 40 s is plenty.
	reap "${pids[i - 1]}" 400
	if [ "$REAP_RC" != 0 ]; then
		bad=$((bad + 1)) details="$details p$i:exit=$REAP_RC:'$(pt_oneline <"$TMP/run.$i.err")'"
	elif ! grep -Eq '^10\.65\.[0-9]+\.[0-9]+$' "$TMP/run.$i.out"; then
		bad=$((bad + 1)) details="$details p$i:printed'$(pt_oneline <"$TMP/run.$i.out")'"
	fi
	pt_san_said "run p$i" "$(cat "$TMP/run.$i.err")" && bad=$((bad + 1))
done
if [ $bad -eq 0 ]; then pass "32 parallel runs all print an address"; else fail "32 parallel runs" "$bad bad:$details"; fi

cat "$TMP"/run.*.out | sort >"$TMP/addrs"
check "32 distinct addresses" test "$(sort -u "$TMP/addrs" | grep -c .)" = $N
check "ls lists 32 workloads" test "$(ctl ls | grep -Ec '^p[0-9]+[[:space:]]')" = $N
check "32 workload netns" test "$(wl_netns | grep -c .)" = $N
check "32 ptl interfaces in the node" test "$(node_ptl_links | grep -c .)" = $N
missing=0
while read -r a; do
	has_node_route "$a" || missing=$((missing + 1))
done <"$TMP/addrs"
check "32 routes ADDR/32 proto 87 (missing: $missing)" test $missing = 0
check "felix: all programmed" felix_all_programmed
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check: no leak" sh -c "tr -d ' \n' <'$TMP/leaks' | grep -q '\"leaks\":\[\]'"
check "ping p1 -> p32" ctl exec p1 -- ping -c 1 -W 2 "$(cat "$TMP/run.$N.out")"

pids=()
for ((i = 1; i <= N; i++)); do
	"$PETRELCTL" -c "$CONF" rm "p$i" >"$TMP/rm.$i.out" 2>"$TMP/rm.$i.err" &
	pids+=($!)
	PT_PIDS+=($!)
done
bad=0 details=
for ((i = 1; i <= N; i++)); do
	reap "${pids[i - 1]}" 400
	if [ "$REAP_RC" != 0 ]; then
		bad=$((bad + 1)) details="$details p$i:exit=$REAP_RC:'$(pt_oneline <"$TMP/rm.$i.err")'"
	fi
	pt_san_said "rm p$i" "$(cat "$TMP/rm.$i.err")" && bad=$((bad + 1))
done
if [ $bad -eq 0 ]; then pass "32 parallel rm all exit 0"; else fail "32 parallel rm" "$bad bad:$details"; fi

check "ls is empty" test "$(ctl ls | grep -Ec '^p[0-9]+[[:space:]]')" = 0
check "no workload netns left" test -z "$(wl_netns)"
check "no ptl interface left (the namespace teardown takes them; bounded wait)" wait_for 100 0.05 sh -c "[ -z \"\$(ip -n $NODE -o link show | grep ': ptl')\" ]"
no_petrel_routes() { [ -z "$(node_petrel_routes)" ]; }
wait_for 50 0.1 no_petrel_routes
check "no petrel route left: $(node_petrel_routes | pt_oneline)" no_petrel_routes
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check: no leak after rm" sh -c "tr -d ' \n' <'$TMP/leaks' | grep -q '\"leaks\":\[\]'"
ds_keys | grep -E '^/petrel/(ipamblocks|ipamhandles|workloadendpoints)/' >"$TMP/keys"
check "no block, handle or endpoint left in the store: $(pt_oneline <"$TMP/keys")" test ! -s "$TMP/keys"
pt_end
