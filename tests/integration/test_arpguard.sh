#!/usr/bin/env bash
#
# ARP from a workload (issue 10): a workload speaks ARP only for its own
# address. felix's choice (docs/policy.md): strict rp_filter on the host end
# (the kernel validates an ARP request's sender address by its route: only
# the workload's own /32 routes back out of its host end), the permanent
# neighbour entry for the workload's own address (ARP never overrides it),
# and the kernel's arp_accept=0 (an unsolicited reply creates no entry).
#
#  - a forged reply "b's address is-at a's MAC" and "169.254.1.1 is-at a's
#    MAC", and a gratuitous request for b's address, change no neighbour
#    entry of the node (the capture: an arp-family counter on the node sees
#    them arrive on a's host end);
#  - a's ARP for its own address with another MAC leaves the node's entry
#    for a at a's MAC;
#  - 300 ARP requests for b's address (proxy ARP answers for an address
#    routed elsewhere) from forged sender addresses create
#    no neighbour entry on the node (neighbour-table exhaustion); the
#    control: with rp_filter=0 on a's host end (as felix left it before this
#    change; felix stopped) the same flood creates hundreds;
#  - a's own path still works (its gateway entry, traffic).
#
#   +--------------------------- pt-<id>-node --------------------------+
#   | felix; table arp pt_seen (the test's counters, input hook)         |
#   | ptlA (a's host end)        ptlB (b's host end)                     |
#   +---|-------------------------|--------------------------------------+
#       |veth                     |veth
#   +---|----------------------+ +-|-----------+
#   | a 10.65.0.10             | | b 10.65.0.11 |
#   | tests/tools/arp_send.py  | +--------------+
#   +--------------------------+
set -u
. "$(dirname "$0")/../lib.sh"
pt_init arp
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools nft python3
pt_etc_netns_trap
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
ARPSEND="$PT_ROOT/tests/tools/arp_send.py"
PY=$(command -v python3)
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16
wl_run "$CONF" a --ip 10.65.0.10
wl_run "$CONF" b --ip 10.65.0.11
[ -n "${WL_ADDR[a]:-}" ] && [ -n "${WL_ADDR[b]:-}" ] || { fail "setup" "workloads missing"; exit 1; }
IFA=$(wl_ifname a) IFB=$(wl_ifname b)
AMAC=$(ctl exec a -- ip -o link show eth0 | sed -n 's|.*link/ether \([0-9a-f:]*\) .*|\1|p')
HMAC=$(ip netns exec "$NODE" cat "/sys/class/net/$IFA/address")
arp_from_a() { ctl exec a -- "$PY" "$ARPSEND" eth0 "$@"; }

# the capture: ARP arriving on a's host end, by operation
ip netns exec "$NODE" nft -f - <<EOT || fail "arp counters in $NODE" "nft -f failed"
table arp pt_seen {
	chain in {
		type filter hook input priority -400; policy accept;
		iifname "$IFA" arp operation request counter
		iifname "$IFA" arp operation reply counter
	}
}
EOT
arp_seen() { # request|reply: ARP packets that arrived on a's host end
	ip netns exec "$NODE" nft list chain arp pt_seen in 2>/dev/null |
		sed -n "s/.*arp operation $1 counter packets \([0-9]*\) .*/\1/p"
}
# the node's neighbour table, on petrel's links (a's and b's host ends)
neighs() { ip -n "$NODE" -4 neigh show nud all 2>/dev/null | grep ' dev ptl' | sort; }
neigh_count_a() { ip -n "$NODE" -4 neigh show dev "$IFA" nud all 2>/dev/null | grep -c . ; }

check "rp_filter=1 on a's host end" test "$(ip netns exec "$NODE" cat "/proc/sys/net/ipv4/conf/$IFA/rp_filter")" = 1
check "the node has a permanent entry for a at a's MAC ($AMAC)" sh -c \
	"ip -n $NODE -4 neigh show dev $IFA | grep -q '^10.65.0.10 lladdr $AMAC PERMANENT'"
check "the node has a permanent entry for b on b's host end" sh -c \
	"ip -n $NODE -4 neigh show dev $IFB | grep -q '^10.65.0.11 lladdr .* PERMANENT'"
# a's own path works (its gateway 169.254.1.1 is a permanent entry in a,
# the host end's fixed MAC, made with the workload: a never needs to ARP)
check "a's gateway 169.254.1.1 is the host end's MAC ($HMAC), permanent" sh -c \
	"'$PETRELCTL' -c '$CONF' exec a -- ip neigh show 169.254.1.1 dev eth0 | grep -q '$HMAC PERMANENT'"
check "a reaches the far side through it" ctl exec a -- ping -c 1 -W 2 "$EXT_IP"

# --- forged replies and a gratuitous request for b's address ------------------
neighs >"$TMP/neigh.0"
r0=$(arp_seen reply) q0=$(arp_seen request)
expect_ok "a sends 'b's address is-at a's MAC' to the node (forged reply)" \
	arp_from_a reply 10.65.0.11 10.65.0.10 "" "$HMAC"
expect_ok "a sends '169.254.1.1 is-at a's MAC' to the node (forged reply)" \
	arp_from_a reply 169.254.1.1 10.65.0.10 "" "$HMAC"
expect_ok "a sends a gratuitous request for b's address" \
	arp_from_a request 10.65.0.11 10.65.0.11
expect_ok "a sends an ARP for its own address with another MAC" \
	arp_from_a request 10.65.0.10 169.254.1.1 02:00:00:00:66:66
check "the capture: the forged replies arrived on a's host end (reply counter $r0 -> $(arp_seen reply))" \
	wait_for 20 0.1 sh -c "[ \$(ip netns exec $NODE nft list chain arp pt_seen in | sed -n 's/.*operation reply counter packets \([0-9]*\) .*/\1/p') -ge $((r0 + 2)) ]"
check "the capture: the requests arrived (request counter $q0 -> $(arp_seen request))" \
	test "$(arp_seen request)" -ge $((q0 + 2))
sleep 0.5
neighs >"$TMP/neigh.1"
same_files "the forged ARP changed no neighbour entry of the node" "$TMP/neigh.0" "$TMP/neigh.1"
check "the node's entry for a is still a's MAC" sh -c \
	"ip -n $NODE -4 neigh show dev $IFA | grep -q '^10.65.0.10 lladdr $AMAC PERMANENT'"
check "b still reaches a (the node's entries are right)" ctl exec b -- ping -c 1 -W 2 10.65.0.10

# --- neighbour-table exhaustion ----------------------------------------------
n0=$(neigh_count_a) q0=$(arp_seen request)
expect_ok "a floods 300 ARP requests for b's address from forged senders 10.65.8.0.." \
	arp_from_a request 10.65.8.0/300 10.65.0.11
check "the capture: the flood arrived on a's host end (request counter $q0 -> $(arp_seen request))" \
	wait_for 20 0.1 sh -c "[ \$(ip netns exec $NODE nft list chain arp pt_seen in | sed -n 's/.*operation request counter packets \([0-9]*\) .*/\1/p') -ge $((q0 + 300)) ]"
sleep 0.5
check "the flood created no neighbour entry on a's host end ($n0 -> $(neigh_count_a))" test "$(neigh_count_a)" = "$n0"

# the control: the same flood with rp_filter as felix left it before
felix_stop TERM
check "control: rp_filter=0 on a's host end by hand (felix stopped)" \
	ip netns exec "$NODE" sysctl -qw "net.ipv4.conf.$IFA.rp_filter=0"
expect_ok "control: a floods the same 300 forged requests from 10.65.9.0.." \
	arp_from_a request 10.65.9.0/300 10.65.0.11
sleep 0.5
c=$(neigh_count_a)
check "control: without strict rp_filter the flood creates entries on the node ($n0 -> $c)" test "$c" -ge $((n0 + 100))
felix_start
felix_wait_ready || fail "felix answers status (restarted)" "no answer"
check "felix restarted puts rp_filter=1 back" wait_for 100 0.1 sh -c \
	"[ \"\$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFA/rp_filter)\" = 1 ]"
ip -n "$NODE" neigh flush dev "$IFA" nud stale nud reachable nud delay nud probe 2>/dev/null
n1=$(neigh_count_a)
expect_ok "a floods again from 10.65.10.0.." arp_from_a request 10.65.10.0/300 10.65.0.11
sleep 0.5
check "felix back: the flood creates no entry ($n1 -> $(neigh_count_a))" test "$(neigh_count_a)" = "$n1"

for w in a b; do expect_ok "rm $w" ctl rm "$w"; done
felix_stop TERM
check "felix exits 0" test "$FELIX_RC" = 0
pt_end
