#!/usr/bin/env bash
#
# A wedged BIRD never delays a route or a wait reply: BIRD is stopped
# (SIGSTOP: its control socket still accepts, it never answers), then
# workloads are started; each `petrelctl run` must succeed and its route
# appear. felix's every exchange with BIRD (`bird -p`, configure, the
# status probe) runs in a helper process, not in its loop. The times of
# the runs are printed (never pass/fail): before, a probe or a configure
# of the stopped BIRD held felix's loop for 1 to 10 s.
#
#   +--------------------------- pt-<id>-node ---------------------------+
#   | felix (bgp.address 192.0.2.11) + BIRD (felix's config, stopped)    |
#   | up0 192.0.2.11/24 --veth-- pt-<id>-ext                             |
#   | ptl... -> pt-<id>-w-a, -b1..-b4                                    |
#   +--------------------------------------------------------------------+
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init fbd
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools bird birdc
BCONF="$TMP/bird.conf"
BSOCK="$TMP/bird.ctl"
BIRD_LOG="$TMP/bird.out"
PT_CONF_EXTRA="bird:
  config: $BCONF
  socket: $BSOCK"
pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
has_route() { ip -n "$NODE" route show "$1/32" | grep -q 'dev ptl'; }
# run_timed NAME LABEL: petrelctl run, its time printed; its route checked.
run_timed() {
	local t0 ms ip
	t0=$(date +%s%N)
	if expect_ok "run $1 ($2)" ctl run --name "$1"; then
		ms=$(ms_since "$t0")
		ip=$OUT
		echo "# petrelctl run $1 ($2): $ms ms"
		check "route of $1 ($ip) in the node's table ($2)" has_route "$ip"
	fi
}

run_timed a "BIRD not started"
if ! wait_for 100 0.1 test -s "$BCONF"; then
	fail "felix writes its BIRD config" "no $BCONF: $(tail -n 3 "$FELIX_LOG" | pt_oneline)"
	exit 1
fi
bird_start "$NODE" "$BCONF" "$BSOCK" "$BIRD_LOG"
check "BIRD starts (its socket appears)" wait_for 100 0.1 test -S "$BSOCK"
birdc_ok() { ip netns exec "$NODE" birdc -s "$BSOCK" show status | grep -q 'Daemon is up'; }
check "the control: BIRD answers birdc" wait_for 50 0.1 birdc_ok
felix_bird_running() { felix_status | grep -q "\"birdRunning\":true"; }
check "felix sees BIRD running" wait_for 150 0.1 felix_bird_running
run_timed b0 "BIRD running"

kill -STOP "$BIRD_PID"
check "BIRD is stopped (birdc gets no answer)" sh -c "! timeout 2 ip netns exec '$NODE' birdc -s '$BSOCK' show status >/dev/null 2>&1"
# Long enough for felix's probe (every 5 s) to meet the stopped BIRD and
# for the retry of a configure that follows.
sleep 7
for i in 1 2 3 4; do
	run_timed "b$i" "BIRD stopped"
	sleep 1
done
t0=$(date +%s%N)
expect_ok "status answers (BIRD stopped)" ctl status
echo "# petrelctl status (BIRD stopped): $(ms_since "$t0") ms"
felix_bird_down() { felix_status | grep -q '"birdRunning":false'; }
check "felix tells BIRD is not answering" wait_for 100 0.1 felix_bird_down
kill -CONT "$BIRD_PID"
check "BIRD answers again after SIGCONT" wait_for 50 0.1 birdc_ok
check "felix sees BIRD running again" wait_for 150 0.1 felix_bird_running
pt_end
