#!/usr/bin/env bash
#
# felix puts back what is removed by hand and sweeps only its own leftovers:
# a workload's /32 route deleted, its neighbour entry deleted, proxy_arp set
# to 0 on its host end -- all come back; a stale route of petrel's protocol
# (87) is swept; foreign routes (other protocols) are left alone.
#
#   +------------------------- pt-<id>-node --------------------------+
#   | felix (resyncInterval 3)                                        |
#   | up0 192.0.2.11/24 --veth-- pt-<id>-ext                          |
#   | ptl<a> A/32 proto 87   ptl<b> B/32 proto 87                     |
#   | by hand: 10.65.250.7/32 dev up0 proto 87     (stale: swept)     |
#   |          blackhole 10.65.251.0/26 proto 87   (stale: swept)     |
#   |          10.65.252.7/32 dev up0 proto static (foreign: kept)    |
#   |          blackhole 10.65.253.0/26 proto boot (foreign: kept)    |
#   +----|-----------------------|------------------------------------+
#        | veth                  | veth
#   pt-<id>-w-a              pt-<id>-w-b
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init rep
pt_need_bins "$PETRELCTL" "$FELIX"
PT_CONF_EXTRA="resyncInterval: 3"
pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "run a" ctl run --name a
A=$OUT
expect_ok "run b" ctl run --name b
B_IP=$OUT
IFA=$(wl_ifname a)
check "a's host end known ($IFA)" test -n "$IFA"

# Bounded waits: 15 s, five resync intervals.
WAIT=150

proxy_arp() { ip netns exec "$NODE" cat "/proc/sys/net/ipv4/conf/$IFA/proxy_arp"; }
proxy_arp_is() { [ "$(proxy_arp)" = "$1" ]; }
neigh_permanent() { ip -n "$NODE" neigh show "$A" dev "$IFA" | grep -q PERMANENT; }
route_exists() { [ -n "$(ip -n "$NODE" -4 route show "$@")" ]; }
route_gone() { [ -z "$(ip -n "$NODE" -4 route show "$@")" ]; }

# Each break by hand is checked (break_by_hand: its exit status, and that
# it happened: seen right after, or felix counted the repair already)
# before "it comes back" is.
# 1. The workload's route.
check "route to a is there ($A/32 proto 87)" has_node_route "$A"
if break_by_hand "delete a's route by hand" "no_node_route $A" -- ip -n "$NODE" route del "$A/32"; then
	check "route to a deleted by hand comes back (proto 87)" wait_for $WAIT 0.1 has_node_route "$A"
	check "route to a back via $IFA" sh -c "ip -n $NODE -4 route show $A/32 | grep -q 'dev $IFA'"
fi

# 2. proxy_arp.
check "proxy_arp is 1 on $IFA" proxy_arp_is 1
if break_by_hand "set proxy_arp to 0 on $IFA by hand" "proxy_arp_is 0" -- \
	ip netns exec "$NODE" sh -c "echo 0 > /proc/sys/net/ipv4/conf/$IFA/proxy_arp"; then
	check "proxy_arp set to 0 by hand comes back to 1" wait_for $WAIT 0.1 proxy_arp_is 1
fi

# 3. The neighbour entry.
check "a's neighbour entry is permanent" neigh_permanent
if break_by_hand "delete a's neighbour entry by hand" "! neigh_permanent" -- \
	ip -n "$NODE" neigh del "$A" dev "$IFA"; then
	check "neighbour entry deleted by hand comes back" wait_for $WAIT 0.1 neigh_permanent
fi

check "ping b -> a after the repairs" ctl exec b -- ping -c 2 -i 0.2 -W 2 "$A"

# 4. Stale routes of ours are swept, foreign ones stay.
if break_by_hand "add a stale 10.65.250.7/32 proto 87 by hand" "route_exists 10.65.250.7/32 proto 87" -- \
	ip -n "$NODE" route add 10.65.250.7/32 dev up0 proto 87; then
	check "stale 10.65.250.7/32 proto 87 is swept" wait_for $WAIT 0.1 route_gone 10.65.250.7/32 proto 87
fi
if break_by_hand "add a stale blackhole 10.65.251.0/26 proto 87 by hand" "route_exists 10.65.251.0/26 proto 87" -- \
	ip -n "$NODE" route add blackhole 10.65.251.0/26 proto 87; then
	check "stale blackhole 10.65.251.0/26 proto 87 is swept" wait_for $WAIT 0.1 route_gone 10.65.251.0/26 proto 87
fi
check "add a foreign 10.65.252.7/32 proto static by hand" ip -n "$NODE" route add 10.65.252.7/32 dev up0 proto static
check "add a foreign blackhole 10.65.253.0/26 proto boot by hand" ip -n "$NODE" route add blackhole 10.65.253.0/26 proto boot
# felix had its chance to (wrongly) touch them: two full resyncs finished
# since (observed in its log; the second started after the routes were added).
check "felix ran two full resyncs since the foreign routes were added" felix_wait_resyncs 2
check "foreign 10.65.252.7/32 proto static left alone" route_exists 10.65.252.7/32 proto static
check "foreign blackhole 10.65.253.0/26 proto boot left alone" route_exists 10.65.253.0/26 proto boot
check "a's and b's routes untouched by the sweep" sh -c "ip -n $NODE -4 route show proto 87 | grep -q '^$A ' && ip -n $NODE -4 route show proto 87 | grep -q '^$B_IP '"

# 5. A foreign route for a workload's own address: felix must not delete it
#    (it is not ours); its own route stays too.
check "add a foreign route to a's address (metric 50) by hand" \
	ip -n "$NODE" route add "$A/32" dev up0 proto static metric 50
check "felix ran two full resyncs since" felix_wait_resyncs 2
check "foreign route to a's address (metric 50) left alone" route_exists "$A/32" proto static
check "petrel's route to a kept beside it" has_node_route "$A"
check "delete the foreign route to a's address" ip -n "$NODE" route del "$A/32" proto static metric 50

check "ping b -> a at the end" ctl exec b -- ping -c 2 -i 0.2 -W 2 "$A"

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
