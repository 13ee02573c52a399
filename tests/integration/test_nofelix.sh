#!/usr/bin/env bash
#
# `petrelctl run` with felix stopped fails with a clear error and leaves
# nothing behind; `run --no-wait` succeeds, and felix started afterwards
# programs it. `rm --no-wait` with felix stopped, then felix started: it
# sweeps what is no longer wanted.
#
#   +------------------ pt-<id>-node -------------------+
#   | (felix not running, then started)                 |
#   | up0 192.0.2.11/24 --veth-- pt-<id>-ext             |
#   | ptl<late> LATE/32 proto 87 (once felix runs)       |
#   +----|-----------------------------------------------+
#        | veth
#   pt-<id>-w-late
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init nof
pt_need_bins "$PETRELCTL" "$FELIX"
# (workloads reach the node here: endpointToHostAction accept, explicitly;
# its default is drop)
PT_CONF_EXTRA="waitTimeout: 3
endpointToHostAction: accept"
pt_node
expect_ok "pool create (felix not running)" ctl pool create p1 --cidr 10.65.0.0/16
expect_err "status without felix: exit 1" "felix|not running|connect" ctl status
check "status without felix exits exactly 1" sh -c "'$PETRELCTL' -c '$CONF' status >/dev/null 2>&1; [ \$? = 1 ]"

# The failed run writes and then undoes: compare keys and values, not revisions.
PT_SNAP_NOREV=1 pt_snapshot "$TMP/before"
expect_err "run without felix fails naming felix" "felix" ctl run --name early
PT_SNAP_NOREV=1 pt_snapshot "$TMP/after"
same_files "run without felix leaves nothing behind" "$TMP/before" "$TMP/after"
check "no workload netns after the failed run" test -z "$(wl_netns)"
check "no ptl interface after the failed run" test -z "$(node_ptl_links)"
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check: no leak after the failed run" sh -c "tr -d ' \n' <'$TMP/leaks' | grep -q '\"leaks\":\[\]'"

expect_ok "run --no-wait without felix" ctl run --name late --no-wait
LATE=$OUT
check "run --no-wait printed an address ($LATE)" sh -c "echo '$LATE' | grep -Eq '^10\\.65\\.[0-9]+\\.[0-9]+$'"
check "its netns exists" test -e "/run/netns/${WPREFIX}late"
# (no route yet: its positive control, the same probe finding the route
# once felix runs, follows)
LATE_ROUTE0=$(node_route "$LATE")

felix_start
felix_wait_ready || fail "felix answers status" "no answer"
check "felix started afterwards programs the route" wait_for 100 0.1 has_node_route "$LATE"
check "there was no route for it before felix ran (the same probe finds it now)" \
	sh -c "[ -z '$LATE_ROUTE0' ] && [ -n \"\$(ip -n $NODE -4 route show $LATE/32 proto 87)\" ]"
check "felix: all programmed" wait_for 100 0.1 felix_all_programmed
check "ping late -> node" ctl exec late -- ping -c 2 -i 0.2 -W 2 "$NODE_IP"

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
check "felix's routes stay while it is stopped" has_node_route "$LATE"
expect_ok "rm --no-wait without felix" ctl rm late --no-wait
check "the workload's netns is gone" test ! -e "/run/netns/${WPREFIX}late"
felix_start
felix_wait_ready || fail "felix answers status (2)" "no answer"
no_petrel_routes() { [ -z "$(node_petrel_routes)" ]; }
check "felix started after rm sweeps every petrel route" wait_for 100 0.1 no_petrel_routes
ctl -o json ipam check >"$TMP/leaks" 2>&1
check "ipam check: no leak at the end" sh -c "tr -d ' \n' <'$TMP/leaks' | grep -q '\"leaks\":\[\]'"
pt_end
