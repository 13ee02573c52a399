#!/usr/bin/env bash
#
# Removing a workload that others join (container:): refused without
# --force, and nothing changes; with --force the target and its joiners are
# gone. Removing only a joiner leaves its target working.
#
#   +---------------- pt-<id>-node -----------------+
#   | felix   up0 192.0.2.11/24 --veth-- pt-<id>-ext |
#   | ptl<web> WEB/32 proto 87                       |
#   +----|-------------------------------------------+
#        | veth
#   pt-<id>-w-web: eth0 WEB/32, joined by side1 and side2 (container:web)
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init rmf
pt_need_bins "$PETRELCTL" "$FELIX"
# (workloads reach the node here: endpointToHostAction accept, explicitly;
# its default is drop)
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "run web" ctl run --name web
WEB=$OUT
expect_ok "run side1 (container:web)" ctl run --name side1 --network container:web
expect_ok "run side2 (container:web)" ctl run --name side2 --network container:web
expect_err "container: of a container: workload is refused" "side1|container" \
	ctl run --name side3 --network container:side1
expect_ok "run h (host)" ctl run --name h --network host
expect_err "container: of a host workload is refused" "host|h\\b" \
	ctl run --name side4 --network container:h

pt_snapshot "$TMP/before"
expect_err "rm web (joined) without --force is refused, naming a joiner" "side1|side2|--force|force" ctl rm web
pt_snapshot "$TMP/after"
same_files "refused rm changes nothing" "$TMP/before" "$TMP/after"
check "web still reachable" ctl exec side1 -- ping -c 1 -W 2 "$NODE_IP"

check "side2 in ls (before its rm)" sh -c "'$PETRELCTL' -c '$CONF' ls | grep -q '^side2[[:space:]]'"
expect_ok "rm side2 alone" ctl rm side2
check "side2 gone from ls" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -q '^side2[[:space:]]'"
check "web's netns still there" test -e "/run/netns/${WPREFIX}web"
check "web's route still there" has_node_route "$WEB"
check "ping side1 (in web's netns) -> node" ctl exec side1 -- ping -c 1 -W 2 "$NODE_IP"

check "web and side1 in ls (before rm --force)" sh -c "'$PETRELCTL' -c '$CONF' ls | grep -Eq '^web[[:space:]]' && '$PETRELCTL' -c '$CONF' ls | grep -Eq '^side1[[:space:]]'"
expect_ok "rm web --force" ctl rm web --force
check "web and side1 gone from ls" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -Eq '^(web|side1)[[:space:]]'"
check "h (host) untouched" sh -c "'$PETRELCTL' -c '$CONF' ls | grep -q '^h[[:space:]]'"
check "no workload netns left" test -z "$(wl_netns)"
check "no ptl interface left (the namespace teardown takes it; bounded wait)" wait_for 100 0.05 sh -c "[ -z \"\$(ip -n $NODE -o link show | grep ': ptl')\" ]"
check "no route to web left" wait_for 50 0.1 no_node_route "$WEB"
expect_err "inspect side1 after --force: missing" "side1" ctl inspect side1
ds_keys | grep -E '^/petrel/(ipamhandles|workloadendpoints/node1/(web|side1))' >"$TMP/keys"
check "no handle or web/side1 endpoint left in the store: $(pt_oneline <"$TMP/keys")" test ! -s "$TMP/keys"
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check: no leak" sh -c "tr -d ' \n' <'$TMP/leaks' | grep -q '\"leaks\":\[\]'"

# A leak: a workload whose record vanished (as when a run is killed between
# its allocation and its record). Young leaks are kept by --leaked (the run
# may still be in progress), released with --min-age 0.
expect_ok "run leaky" ctl run --name leaky
LEAKY=$(wl_ip leaky)
check "drop leaky's record behind petrel's back" "$DSCTL" "sqlite:$DB" del /petrel/workloadendpoints/node1/leaky
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check reports $LEAKY as a leak" grep -q "\"$LEAKY\"" "$TMP/leaks"
expect_ok "ipam release --leaked keeps a young leak" ctl ipam release --leaked
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "the young leak is still allocated" grep -q "\"$LEAKY\"" "$TMP/leaks"
expect_err "--min-age takes seconds" "min-age" ctl ipam release --leaked --min-age soon
expect_ok "ipam release --leaked --min-age 0 frees it" ctl ipam release --leaked --min-age 0
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check: no leak after the release" sh -c "tr -d ' \n' <'$TMP/leaks' | grep -q '\"leaks\":\[\]'"
expect_ok "rm --force leaky (no record: its namespace)" ctl rm --force leaky
expect_ok "rm h" ctl rm h
pt_end
