#!/usr/bin/env bash
#
# felix restarted under traffic: first stopped with SIGTERM, then killed
# with SIGKILL, each time started again while `a` pings `b` every 50 ms.
# Not one packet may be lost, and `ip monitor route` (started before the
# restart) must show no route removed or re-added: a restart changes
# nothing that is already right.
#
#   +------------------------ pt-<id>-node --------------------------+
#   | felix (stopped, started)     ip monitor route > mon.log        |
#   | up0 192.0.2.11/24 --veth-- pt-<id>-ext                         |
#   | ptl<a> A/32 proto 87          ptl<b> B/32 proto 87             |
#   +----|-------------------------------|---------------------------+
#        | veth                          | veth
#   pt-<id>-w-a: ping -i 0.05 B  ---->  pt-<id>-w-b
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init rst
pt_need_bins "$PETRELCTL" "$FELIX"
pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "run a" ctl run --name a
A=$OUT
expect_ok "run b" ctl run --name b
B_IP=$OUT
expect_ok "run c (none)" ctl run --name c --network none
check "ping a -> b before any restart" ctl exec a -- ping -c 1 -W 2 "$B_IP"

# A control: the monitor does see a route added and removed by hand.
ip -4 -n "$NODE" monitor route >"$TMP/mon.control.log" 2>&1 &
mon_pid=$!
PT_PIDS+=("$mon_pid")
sleep 0.5
ip -n "$NODE" route add 192.0.2.200/32 dev up0 proto static
ip -n "$NODE" route del 192.0.2.200/32 dev up0 proto static
sleep 0.5
{ kill "$mon_pid"; reap "$mon_pid" 20; } 2>/dev/null
check "control: ip monitor route sees a route added and deleted" \
	test "$(grep -c '192.0.2.200' "$TMP/mon.control.log")" = 2

# restart_under_ping HOW SIGNAL
restart_under_ping() {
	local how=$1 sig=$2 mon ping_pid mon_pid tx rx ping_rc
	mon="$TMP/mon.$how.log"
	# IPv4 only: the kernel adds IPv6 link-local routes on its own when
	# duplicate address detection ends on a new interface.
	ip -4 -n "$NODE" monitor route >"$mon" 2>&1 &
	mon_pid=$!
	PT_PIDS+=("$mon_pid")
	# 200 packets 50 ms apart: 10 s of traffic, the restart after 1 s.
	"$PETRELCTL" -c "$CONF" exec a -- ping -n -i 0.05 -c 200 -W 2 "$B_IP" \
		>"$TMP/ping.$how.log" 2>&1 &
	ping_pid=$!
	PT_PIDS+=("$ping_pid")
	sleep 1
	felix_stop "$sig"
	if [ "$sig" = TERM ]; then
		check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
	else
		check "felix was killed by SIGKILL" test "$FELIX_RC" = 137
	fi
	felix_start
	if felix_wait_ready && wait_for 100 0.1 felix_all_programmed; then
		pass "felix answers again after $how, all programmed"
	else
		fail "felix answers again after $how" "status: $(felix_status)"
	fi
	check "ping still running after felix came back ($how)" kill -0 "$ping_pid"
	reap "$ping_pid" 300
	ping_rc=$REAP_RC
	{ kill "$mon_pid"; reap "$mon_pid" 20; } 2>/dev/null
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping.$how.log")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping.$how.log")
	if [ "$ping_rc" = 0 ] && [ "${tx:-0}" = 200 ] && [ "${rx:-x}" = 200 ]; then
		pass "no packet lost across felix restart ($how): $rx/$tx"
	else
		fail "no packet lost across felix restart ($how)" \
			"ping exit $ping_rc, $rx received of $tx: $(tail -n 3 "$TMP/ping.$how.log" | pt_oneline)"
	fi
	if [ ! -s "$mon" ]; then
		pass "no route removed or added across felix restart ($how)"
	else
		fail "no route removed or added across felix restart ($how)" "$(head -n 5 "$mon" | pt_oneline)"
	fi
}

restart_under_ping sigterm TERM
restart_under_ping sigkill KILL

check "route to a still there, proto 87" has_node_route "$A"
check "route to b still there, proto 87" has_node_route "$B_IP"
check "ping a -> b after both restarts" ctl exec a -- ping -c 1 -W 2 "$B_IP"
check "ls still lists a, b, c" test "$(ctl ls | grep -Ec '^[abc][[:space:]]')" = 3
felix_stop TERM
check "felix exits 0 on SIGTERM (final)" test "$FELIX_RC" = 0
pt_end
