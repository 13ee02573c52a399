#!/usr/bin/env bash
#
# felix sweeps a host end that no record claims: a veth with petrel's
# prefix whose workload record is gone (or never was) is deleted once it
# has been unclaimed for the grace period (10 s, as felix saw it); never
# sooner (a workload being set up has its veth before its record), never a
# claimed one (the positive control: workload a's host end stays), never a
# link without petrel's prefix.
#
#   +------------------------ pt-<id>-node ----------------------------+
#   | felix; ptl<a> (claimed by a), ptl0000deadbeef (no record),      |
#   | ptx0000deadbeef (not petrel's prefix)                             |
#   +------|------------------------|-------------------|---------------+
#          | veth                   | veth              | veth
#     pt-<id>-w-a             pt-<id>-deb          pt-<id>-deb
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init fsw
pt_need_bins "$PETRELCTL" "$FELIX"
pt_node
DEB="pt-$ID-deb"
ip netns add "$DEB" || { fail "setup" "ip netns add $DEB"; exit 1; }
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "run a" ctl run --name a
A_IF=$(ip -n "$NODE" -o link show | awk -F': ' '$2 ~ /^ptl/ { sub(/@.*/, "", $2); print $2 }' | head -n1)
check "a's host end exists ($A_IF)" test -n "$A_IF"

link_exists() { ip -n "$NODE" link show "$1" >/dev/null 2>&1; }
# Debris: a veth with petrel's prefix that no record claims; and one
# without the prefix.
ip -n "$NODE" link add ptl0000deadbeef type veth peer name eth0 netns "$DEB" &&
	ip -n "$NODE" link set ptl0000deadbeef up ||
	{ fail "setup" "debris veth"; exit 1; }
ip -n "$NODE" link add ptx0000deadbeef type veth peer name eth1 netns "$DEB" ||
	{ fail "setup" "foreign veth"; exit 1; }
t0=$(date +%s)
sleep 4
check "an unclaimed host end is kept within the grace period (4 s)" link_exists ptl0000deadbeef
if wait_for 200 0.1 sh -c "! ip -n '$NODE' link show ptl0000deadbeef >/dev/null 2>&1"; then
	pass "an unclaimed host end is deleted after the grace period ($(( $(date +%s) - t0 )) s)"
else
	fail "an unclaimed host end is deleted after the grace period" "still there after $(( $(date +%s) - t0 )) s"
fi
check "felix says why it deleted it" grep -q 'link ptl0000deadbeef claimed by no endpoint of this node: deleted' "$FELIX_LOG"
check "the control: a's host end, claimed, stays" link_exists "$A_IF"
check "a link without petrel's prefix stays" link_exists ptx0000deadbeef
expect_ok "a still reachable from the node (status programmed)" ctl status
pt_end
