#!/usr/bin/env bash
#
# The kernel fails closed below table inet petrel (issue 10): with the table
# missing (never written, deleted by hand while felix is down, or taken by
# someone else), a workload cannot spoof a source and cannot reach the
# node's 127.0.0.1, and a workload felix has not yet guarded carries
# nothing at all.
#
#  1. first start with the table failing (table inet petrel held by another
#     netlink socket with `flags owner`: felix's replace gets EPERM): a
#     workload made meanwhile gets no route, its host end rp_filter=1, and
#     nothing it sends reaches the far side; once the table can be written,
#     its route comes and its traffic flows (the positive control, after);
#  2. felix running: the table deleted or flushed by hand is put back; while
#     it cannot be (held again) route_localnet is off on the host end of a
#     workload that publishes a port, and on again once the table is back;
#  3. felix killed, the table deleted by hand: a's forged sources (another
#     address of the pool, b's address) reach neither the far side nor b,
#     and a's packets to 127.0.0.1 reach none of the node's loopback-only
#     sockets, while a's honest packets do arrive; the control: with the
#     sysctls felix had before this change (rp_filter=0, route_localnet=1 on
#     a's host end) the same forgeries do arrive;
#  4. felix restarted puts the table and the sysctls back.
#
#   +------------------------- pt-<id>-node ----------------------------+
#   | felix (killed, restarted); table inet petrel (held, deleted...)    |
#   | 127.0.0.1: UDP 5300, TCP 9999 (loopback-only services)             |
#   | up0 192.0.2.11/24 -------------veth-------------+                  |
#   +---|----------------|----------------|-----------|------------------+
#       |veth            |veth            |veth       |
#   +---|----------+ +---|----------+ +---|--------+  +-----------------------+
#   | a 10.65.0.10 | | b 10.65.0.11 | | c 10.65.0.12| | pt-<id>-ext           |
#   | forges       | | counts what  | | -p 7373:73  | | dn0 192.0.2.1/24      |
#   | 10.65.99.99, | | arrives by   | | (route_     | | counts what arrives   |
#   | b's address; | | source       | |  localnet)  | | by source (nft)       |
#   | 127.0.0.1    | +--------------+ +-------------+ +-----------------------+
#   +--------------+     d 10.65.0.13: made while the table fails
set -u
. "$(dirname "$0")/../lib.sh"
pt_init fck
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft
pt_etc_netns_trap
PT_CONF_EXTRA="waitTimeout: 3"
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
nftn() { ip netns exec "$NODE" nft "$@"; }
FORGED=10.65.99.99

# --- the table held by someone else (nft -i keeps its netlink socket) -------
# (the fifo's writer is a sleep of its own: no child of this shell holds it
# open, so killing the sleep ends nft, which releases the table)
HOLD_PID= HOLD_W=
hold_table() {
	rm -f "$TMP/hold.fifo"
	mkfifo "$TMP/hold.fifo" || return 1
	ip netns exec "$NODE" nft -i <"$TMP/hold.fifo" >"$TMP/hold.out" 2>&1 &
	HOLD_PID=$!
	PT_PIDS+=("$HOLD_PID")
	sleep 600 >"$TMP/hold.fifo" &
	HOLD_W=$!
	PT_PIDS+=("$HOLD_W")
	echo "${1:+$1; }add table inet petrel { flags owner; }" >"$TMP/hold.fifo"
	wait_for 50 0.1 sh -c "ip netns exec $NODE nft list table inet petrel | grep -q 'flags owner'"
}
release_table() {
	kill "$HOLD_W" && reap "$HOLD_W" 50 && reap "$HOLD_PID" 50
}
rl_of() { ip netns exec "$NODE" cat "/proc/sys/net/ipv4/conf/$1/route_localnet" 2>/dev/null; }
rp_of() { ip netns exec "$NODE" cat "/proc/sys/net/ipv4/conf/$1/rp_filter" 2>/dev/null; }

# Counters where packets arrive, by source, before anything else there.
seen_table() { # NS ADDR...
	local ns=$1 a rules=
	shift
	for a in "$@"; do rules+="ip saddr $a counter"$'\n'; done
	ip netns exec "$ns" nft -f - <<EOT
table ip pt_seen {
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		$rules
	}
}
EOT
}
seen() { # NS ADDR: packets from ADDR that arrived in NS
	ip netns exec "$1" nft list chain ip pt_seen pre 2>/dev/null |
		sed -n "s/.*ip saddr $2 counter packets \([0-9]*\) .*/\1/p"
}

# --- 1. first start with the table failing ----------------------------------
check "table inet petrel held by another socket (flags owner) before felix starts" hold_table
felix_start
felix_wait_ready || { fail "felix answers status" "$(tail -n 3 "$FELIX_LOG" | pt_oneline)"; exit 1; }
check "felix cannot write its table (EPERM, logged)" wait_for 100 0.1 \
	grep -q 'nft: replacing table inet petrel.*Operation not permitted' "$FELIX_LOG"
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16
expect_err "run d while the table fails: felix does not call it programmed" \
	"route 10\.65\.0\.13/32 dev ptl[0-9a-f]+ missing \(table inet petrel is not in the kernel yet\)" \
	ctl run --name d --ip 10.65.0.13
expect_ok "run d --no-wait while the table fails" ctl run --name d --ip 10.65.0.13 --no-wait
IFD=$(wl_ifname d)
check "d's host end exists ($IFD)" ip -n "$NODE" link show "$IFD"
check "d's host end gets rp_filter=1 (strict) while the table fails" wait_for 50 0.1 sh -c "[ \"\$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFD/rp_filter)\" = 1 ]"
check "d's host end has route_localnet=0" test "$(rl_of "$IFD")" = 0
# felix had its chance: another failed try after d's record and link
n0=$(grep -c 'nft: replacing table inet petrel' "$FELIX_LOG")
check "felix tried its table again since" wait_for 50 0.1 sh -c "[ \$(grep -c 'nft: replac' '$FELIX_LOG') -gt $n0 ] || grep -q 'nft: .*retrying' '$FELIX_LOG'"
felix_wait_resyncs 1 >/dev/null 2>&1
check "d has no route on the node while the table fails" no_node_route 10.65.0.13
seen_table "$EXT" 10.65.0.13 10.65.0.10 "$FORGED" 10.65.0.11 || fail "counters in $EXT" "nft -f failed"
ctl exec d -- ping -c 3 -i 0.2 -W 1 "$EXT_IP" >/dev/null 2>&1
ctl exec d -- socat -T 1 -u "UDP:$EXT_IP:9,sourceport=4000" - </dev/null >/dev/null 2>&1
check "nothing of d reached the far side while the table fails (counter $(seen "$EXT" 10.65.0.13))" \
	test "$(seen "$EXT" 10.65.0.13)" = 0
rx_d() { ip netns exec "$NODE" cat "/sys/class/net/$IFD/statistics/rx_packets"; }
check "d's packets did arrive on its host end (rx_packets $(rx_d))" test "$(rx_d)" -gt 0
check "the table released: felix writes it" release_table
check "felix's table is in the kernel" wait_for 100 0.1 sh -c "ip netns exec $NODE nft list table inet petrel | grep -q anti-spoofing"
check "d's route comes once the table is in" wait_for 100 0.1 has_node_route 10.65.0.13
allow_probe "d reaches the far side once guarded (positive control, after)" 5 \
	ctl exec d -- ping -c 1 -W 1 "$EXT_IP"
check "d's packets now arrive at the far side (counter $(seen "$EXT" 10.65.0.13))" \
	test "$(seen "$EXT" 10.65.0.13)" -gt 0
expect_ok "rm d" ctl rm d

# --- workloads ---------------------------------------------------------------
wl_run "$CONF" a --ip 10.65.0.10
wl_run "$CONF" b --ip 10.65.0.11
wl_run "$CONF" c --ip 10.65.0.12 -p 7373:73
for w in a b c; do
	[ -n "${WL_ADDR[$w]:-}" ] || { fail "setup" "workload $w missing"; exit 1; }
done
IFA=$(wl_ifname a) IFB=$(wl_ifname b) IFC=$(wl_ifname c)
NSC="${WPREFIX}c"
check "rp_filter=1 on every host end (a, b, c)" sh -c \
	"[ \"$(rp_of "$IFA")$(rp_of "$IFB")$(rp_of "$IFC")\" = 111 ]"
check "route_localnet=0 on a's host end (no published port)" test "$(rl_of "$IFA")" = 0
check "route_localnet=1 on c's host end (publishes 7373, the table guards it)" test "$(rl_of "$IFC")" = 1
seen_table "$NSC" "$FORGED" 10.65.0.10 10.65.0.11 || fail "counters in $NSC" "nft -f failed"

# --- 2. felix running: the table deleted, flushed, held -----------------------
replaces() { felix_status | json_num fullReplaces; }
r0=$(replaces)
check "table inet petrel deleted by hand while felix runs" nftn delete table inet petrel
check "felix puts the deleted table back (full replaces $r0 -> $(replaces))" wait_for 100 0.1 sh -c \
	"ip netns exec $NODE nft list table inet petrel | grep -q anti-spoofing && [ \$($PETRELCTL -c $CONF -o json status | tr -d ' \n' | sed -n 's/.*\"fullReplaces\":\([0-9]*\).*/\1/p') -gt $r0 ]"
r0=$(replaces)
check "table inet petrel flushed by hand while felix runs" nftn flush table inet petrel
check "felix puts the flushed rules back (full replaces $r0 -> $(replaces))" wait_for 100 0.1 sh -c \
	"ip netns exec $NODE nft list table inet petrel | grep -q anti-spoofing && [ \$($PETRELCTL -c $CONF -o json status | tr -d ' \n' | sed -n 's/.*\"fullReplaces\":\([0-9]*\).*/\1/p') -gt $r0 ]"
# deleted and taken by another socket in one transaction: felix cannot put
# it back
check "table deleted and held by another socket (one transaction)" hold_table "delete table inet petrel"
check "felix sees its table gone: route_localnet off on c's host end" \
	wait_for 100 0.1 sh -c "[ \"\$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFC/route_localnet)\" = 0 ]"
check "felix logs the table's loss" grep -q 'table inet petrel is not known to be in the kernel' "$FELIX_LOG"
check "the table released: felix writes it again" release_table
check "felix's table back" wait_for 100 0.1 sh -c "ip netns exec $NODE nft list table inet petrel | grep -q anti-spoofing"
check "route_localnet on again on c's host end" \
	wait_for 100 0.1 sh -c "[ \"\$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFC/route_localnet)\" = 1 ]"
check "felix: all programmed again" wait_for 100 0.1 felix_all_programmed

# --- 3. felix killed, the table deleted by hand -------------------------------
# the node's loopback-only services, and a ready to forge
bg ip netns exec "$NODE" socat -u UDP-RECV:5300,bind=127.0.0.1 "OPEN:$TMP/lo-udp.got,creat,append" 2>>"$TMP/servers.log"
bg ip netns exec "$NODE" socat TCP-LISTEN:9999,bind=127.0.0.1,reuseaddr,fork 'SYSTEM:echo node-localhost-only' 2>>"$TMP/servers.log"
check "the node's 127.0.0.1:9999 (TCP) listens" wait_for 50 0.1 sh -c "ip netns exec $NODE ss -Hltn | grep -q '127.0.0.1:9999 '"
check "the node's own 127.0.0.1:5300 (UDP) works from the node" sh -c \
	"echo from-the-node | ip netns exec $NODE socat -u - UDP:127.0.0.1:5300 && sleep 0.3 && grep -q from-the-node '$TMP/lo-udp.got'"
expect_ok "a adds $FORGED and b's address inside itself" ctl exec a -- sh -c \
	"ip addr add $FORGED/32 dev eth0 && ip addr add 10.65.0.11/32 dev eth0"
expect_ok "a routes 127.0.0.1 to its gateway (its own namespace)" ctl exec a -- sh -c \
	"sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 &&
	 ip route del local 127.0.0.0/8 dev lo table local &&
	 ip route del local 127.0.0.1 dev lo table local &&
	 ip route add 127.0.0.1/32 via 169.254.1.1 dev eth0"
felix_stop KILL
check "felix killed (kill -9)" test "$FELIX_RC" = 137
check "table inet petrel deleted by hand while felix is down" nftn delete table inet petrel
check "no table inet petrel left" sh -c "! ip netns exec $NODE nft list table inet petrel"

# the attack: every forgery, then the honest packets
forge() {
	ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "$EXT_IP"
	ctl exec a -- ping -c 3 -i 0.2 -W 1 -I 10.65.0.11 "$EXT_IP"
	ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" 10.65.0.12
	ctl exec a -- socat -T 1 -u "TCP:$EXT_IP:7070,connect-timeout=1,bind=$FORGED" -
	ctl exec a -- sh -c 'echo from-a | socat -u - UDP:127.0.0.1:5300; echo from-a | socat -u - UDP:127.0.0.1:5300'
	ctl exec a -- socat -T 1 -u TCP:127.0.0.1:9999,connect-timeout=1 - >"$TMP/lo-tcp.got"
} >/dev/null 2>&1
lo_reached() { # what reached the node's loopback-only services from a
	grep -q from-a "$TMP/lo-udp.got" || grep -q node-localhost-only "$TMP/lo-tcp.got" ||
		ip netns exec "$NODE" ss -Htn state syn-recv state established | grep -q '127.0.0.1:9999 *10.65.0.10:'
}
x0=$(seen "$EXT" "$FORGED") xb0=$(seen "$EXT" 10.65.0.11) n0=$(seen "$NSC" "$FORGED")
forge
check "table gone, felix down: a's forged $FORGED never reached the far side (counter ${x0} -> $(seen "$EXT" "$FORGED"))" \
	test "$(seen "$EXT" "$FORGED")" = "$x0"
check "table gone, felix down: a's forged b-address never reached the far side (counter ${xb0} -> $(seen "$EXT" 10.65.0.11))" \
	test "$(seen "$EXT" 10.65.0.11)" = "$xb0"
check "table gone, felix down: a's forged $FORGED never reached c (counter ${n0} -> $(seen "$NSC" "$FORGED"))" \
	test "$(seen "$NSC" "$FORGED")" = "$n0"
if lo_reached; then
	fail "table gone, felix down: a's packets to 127.0.0.1 reach no loopback-only socket of the node" \
		"reached: $(pt_oneline <"$TMP/lo-udp.got") $(pt_oneline <"$TMP/lo-tcp.got")"
else
	pass "table gone, felix down: a's packets to 127.0.0.1 reach no loopback-only socket of the node"
fi
h0=$(seen "$EXT" 10.65.0.10)
check "a's honest packets do arrive at the far side (ping -I 10.65.0.10)" \
	ctl exec a -- ping -c 1 -W 2 -I 10.65.0.10 "$EXT_IP"
check "a's honest packets counted at the far side (${h0} -> $(seen "$EXT" 10.65.0.10))" \
	test "$(seen "$EXT" 10.65.0.10)" -gt "$h0"
check "a's honest packets arrive at c (ping -I 10.65.0.10 c)" \
	ctl exec a -- ping -c 1 -W 2 -I 10.65.0.10 10.65.0.12

# the control: the same attack with the sysctls as felix set them before
# this change (rp_filter=0, route_localnet=1): it succeeds
check "control: a's host end as before (rp_filter=0, route_localnet=1, by hand)" \
	ip netns exec "$NODE" sysctl -qw "net.ipv4.conf.$IFA.rp_filter=0" "net.ipv4.conf.$IFA.route_localnet=1"
forge
check "control: without rp_filter a forged $FORGED reaches the far side (counter $(seen "$EXT" "$FORGED"))" \
	test "$(seen "$EXT" "$FORGED")" -gt "$x0"
check "control: without rp_filter a forged $FORGED reaches c (counter $(seen "$NSC" "$FORGED"))" \
	test "$(seen "$NSC" "$FORGED")" -gt "$n0"
check "control: with route_localnet=1 a's packets reach the node's 127.0.0.1 sockets" lo_reached
x1=$(seen "$EXT" "$FORGED") n1=$(seen "$NSC" "$FORGED")
: >"$TMP/lo-udp.got"
: >"$TMP/lo-tcp.got"

# --- 4. felix restarted -------------------------------------------------------
felix_start
felix_wait_ready || fail "felix answers status (restarted)" "no answer"
check "felix restarted: table back" wait_for 100 0.1 sh -c "ip netns exec $NODE nft list table inet petrel | grep -q anti-spoofing"
check "felix restarted: all programmed" wait_for 100 0.1 felix_all_programmed
check "felix restarted: rp_filter=1, route_localnet=0 on a's host end again" sh -c \
	"[ \"$(rp_of "$IFA")$(rl_of "$IFA")\" = 10 ] || { sleep 1; [ \"\$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFA/rp_filter)\$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFA/route_localnet)\" = 10 ]; }"
forge
check "felix back: no forged $FORGED reaches the far side (counter stays $x1)" test "$(seen "$EXT" "$FORGED")" = "$x1"
check "felix back: no forged $FORGED reaches c (counter stays $n1)" test "$(seen "$NSC" "$FORGED")" = "$n1"
if lo_reached; then
	fail "felix back: a's packets to 127.0.0.1 reach no loopback-only socket" "$(pt_oneline <"$TMP/lo-udp.got")"
else
	pass "felix back: a's packets to 127.0.0.1 reach no loopback-only socket"
fi
check "felix back: a's honest packets arrive" ctl exec a -- ping -c 1 -W 2 -I 10.65.0.10 "$EXT_IP"
for w in a b c; do expect_ok "rm $w" ctl rm "$w"; done
felix_stop TERM
check "felix exits 0" test "$FELIX_RC" = 0
pt_end
