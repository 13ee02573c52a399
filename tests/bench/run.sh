#!/usr/bin/env bash
#
# `make bench`: petrel's benchmarks, each beside its peer in the same run,
# printed (never pass/fail). DESIGN.md section 10.
#
#   1. endpoint set-up and tear-down, N routed workloads (N=200; env N):
#      p50/p99 of `petrelctl run`/`rm` (waiting for felix, and --no-wait)
#      beside the CNI reference plugins ptp + host-local and beside the same
#      kernel work done with `ip -batch`, with and without the namespace's
#      creation (see tests/bench/endpoint.sh for the loop).
#   2. 10,000 routed endpoints on one node (env BIG): felix's time to program
#      them from scratch, its resync time after a restart, its RSS.
#   3. BGP convergence (bgp_converge.sh); 4. the BIRD config writer.
#   5. data-path cost, A/B alternating transactions (datapath.sh);
#   6. policy at scale, 1,000 policies over 1,000 workloads (policy_scale.sh);
#   7. CNI ADD/DEL beside ptp + host-local (cni.sh);
#   8. etcd beside sqlite: run/rm, allocations/s, watch latency, resync (etcd.sh).
#
# Topology (all pt-bench-<id>-...; nothing leaves them):
#
#   benchmark 1                                benchmark 2
#   +------------ pt-<id>-node -------------+  +---------- pt-<id>-big ----------+
#   | felix; host ends of all four kinds    |  | felix; 10,000 ptl<hex> host ends |
#   +--|------------------------------------+  +--|-------------------------------+
#      | one veth per endpoint                    | 10,000 veths
#   pt-<id>-w-*, -c*, -b*, -e* (one each)      pt-<id>-bigw (all workload ends)
#
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PT_QUIET=1
. "$HERE/../lib.sh"
N=${N:-200}
BIG=${BIG:-10000}
pt_init bench-
pt_need_bins "$PETRELCTL" "$FELIX" "$B/bench/netns_cost"
[ -x /usr/lib/cni/ptp ] && [ -x /usr/lib/cni/host-local ] || {
	echo "bench: /usr/lib/cni/ptp or host-local missing (make deps: containernetworking-plugins)" >&2
	exit 1
}

# --- statistics ----------------------------------------------------------
# pct FILE P: the P-th percentile (nearest rank) of the microseconds in FILE.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "nan") print "-"; else printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0 || a == "nan" || b == "nan") print "-"; else printf "%.1fx", a / b }'; }

hr() { printf '%s\n' "------------------------------------------------------------------------------"; }

echo "petrel benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), binaries $B)"
hr

# ==========================================================================
# 1. Endpoint set-up and tear-down
# ==========================================================================
pt_node
felix_start
felix_wait_ready || { echo "bench: felix did not answer" >&2; tail -n 20 "$FELIX_LOG" >&2; exit 1; }
ctl pool create p1 --cidr 10.65.0.0/16 >/dev/null || { echo "bench: pool create failed" >&2; exit 1; }

echo "1. endpoint set-up and tear-down: N=$N of each kind, interleaved (in progress...)"
"$B/bench/netns_cost" "pt-$ID-nc" "$N" >"$TMP/nscost" 2>"$TMP/nscost.err" ||
	{ echo "bench: netns_cost: $(cat "$TMP/nscost.err")" >&2; exit 1; }
sed -n 's/^create //p' "$TMP/nscost" | tr ' ' '\n' >"$TMP/t.ns_add"
sed -n 's/^delete //p' "$TMP/nscost" | tr ' ' '\n' >"$TMP/t.ns_del"
NS_ADD=$(pct "$TMP/t.ns_add" 50)
NS_DEL=$(pct "$TMP/t.ns_del" 50)

# What starting each program costs here (fork + exec + its start-up + exit),
# doing nothing: every time below includes it once per program run.
floor() { # SERIES CMD...: 30 runs
	local i t0 t1 s=$1
	shift
	for ((i = 0; i < 30; i++)); do
		t0=${EPOCHREALTIME/./}
		"$@" >/dev/null 2>&1 </dev/null
		t1=${EPOCHREALTIME/./}
		echo $((t1 - t0)) >>"$TMP/floor.$s"
	done
}
floor f_true /bin/true
floor f_petrelctl "$PETRELCTL" --help
floor f_ip ip -batch /dev/null
CNI_COMMAND=VERSION floor f_ptp /usr/lib/cni/ptp
CNI_COMMAND=VERSION floor f_hostlocal /usr/lib/cni/host-local

t_start=${EPOCHREALTIME/./}
# In the background, so that a signal to this script is handled at once
# (cleanup then kills the loop too).
PETRELCTL="$PETRELCTL" CONF="$CONF" ID="$ID" TMP="$TMP" N="$N" \
	nsenter --net="/run/netns/$NODE" bash "$HERE/endpoint.sh" &
loop_pid=$!
PT_PIDS+=("$loop_pid")
wait "$loop_pid"
pt_forget "$loop_pid"
t_end=${EPOCHREALTIME/./}
if [ -s "$TMP/t.errors" ]; then
	echo "   (errors during the loop, first 5:)"
	head -n 5 "$TMP/t.errors" | sed 's/^/     /'
fi

# shift SERIES DELTA_US OUT: every time of SERIES plus DELTA (may be negative).
shift_series() { awk -v d="$2" '{ print $1 + d }' "$TMP/t.$1" >"$TMP/t.$3"; }
# "with the namespace" and "without", for each kind (see the notes below).
shift_series run_wait "-$NS_ADD" run_wait_nons
shift_series run_nowait "-$NS_ADD" run_nowait_nons
shift_series ptp_add "$NS_ADD" ptp_add_ns
shift_series rm_wait "-$NS_DEL" rm_wait_nons
shift_series rm_nowait "-$NS_DEL" rm_nowait_nons
shift_series ptp_del "$NS_DEL" ptp_del_ns

row() { # LABEL SERIES_WITH SERIES_WITHOUT
	printf '   %-34s %8s %8s   %8s %8s\n' "$1" \
		"$(ms "$(pct "$TMP/t.$2" 50)")" "$(ms "$(pct "$TMP/t.$2" 99)")" \
		"$(ms "$(pct "$TMP/t.$3" 50)")" "$(ms "$(pct "$TMP/t.$3" 99)")"
}
rrow() { # LABEL NUM_WITH DEN_WITH NUM_WITHOUT DEN_WITHOUT
	printf '   %-34s %8s %8s   %8s %8s\n' "$1" \
		"$(ratio "$(pct "$TMP/t.$2" 50)" "$(pct "$TMP/t.$3" 50)")" \
		"$(ratio "$(pct "$TMP/t.$2" 99)" "$(pct "$TMP/t.$3" 99)")" \
		"$(ratio "$(pct "$TMP/t.$4" 50)" "$(pct "$TMP/t.$5" 50)")" \
		"$(ratio "$(pct "$TMP/t.$4" 99)" "$(pct "$TMP/t.$5" 99)")"
}
head2() {
	printf '   %-34s %17s   %17s\n' "$1 (ms)" "with its netns" "without"
	printf '   %-34s %8s %8s   %8s %8s\n' "" p50 p99 p50 p99
}

echo
head2 "set-up"
row "petrelctl run (waits for felix)" run_wait run_wait_nons
row "petrelctl run --no-wait" run_nowait run_nowait_nons
row "CNI ptp + host-local ADD" ptp_add_ns ptp_add
row "ip -batch (same kernel work)" ipb_add_ns ipb_add
rrow "ratio ptp ADD / run" ptp_add_ns run_wait ptp_add run_wait_nons
rrow "ratio ptp ADD / run --no-wait" ptp_add_ns run_nowait ptp_add run_nowait_nons
rrow "ratio run / ip -batch" run_wait ipb_add_ns run_wait_nons ipb_add
echo
head2 "tear-down"
row "petrelctl rm (waits for felix)" rm_wait rm_wait_nons
row "petrelctl rm --no-wait" rm_nowait rm_nowait_nons
row "CNI ptp + host-local DEL" ptp_del_ns ptp_del
row "ip (netns del / link del)" ipb_del_ns ipb_del
rrow "ratio ptp DEL / rm" ptp_del_ns rm_wait ptp_del rm_wait_nons
rrow "ratio ptp DEL / rm --no-wait" ptp_del_ns rm_nowait ptp_del rm_nowait_nons
rrow "ratio rm / ip" rm_wait ipb_del_ns rm_wait_nons ipb_del
echo
printf '   %-44s %s\n' "starting a program, doing nothing (p50 ms):" \
	"/bin/true $(ms "$(pct "$TMP/floor.f_true" 50)"), petrelctl --help $(ms "$(pct "$TMP/floor.f_petrelctl" 50)"), ip $(ms "$(pct "$TMP/floor.f_ip" 50)"),"
printf '   %-44s %s\n' "" "ptp $(ms "$(pct "$TMP/floor.f_ptp" 50)"), host-local $(ms "$(pct "$TMP/floor.f_hostlocal" 50)") (ptp ADD/DEL run both)"
# The same ratios with each program's start-up taken out (p50s).
net() { # NUM NUM_FLOORS... / DEN DEN_FLOOR
	awk -v a="$1" -v fa="$2" -v b="$3" -v fb="$4" 'BEGIN {
		if (b - fb <= 0) print "-"; else printf "%.1fx", (a - fa) / (b - fb) }'
}
F_PC=$(pct "$TMP/floor.f_petrelctl" 50)
F_CNI=$(awk -v a="$(pct "$TMP/floor.f_ptp" 50)" -v b="$(pct "$TMP/floor.f_hostlocal" 50)" 'BEGIN { print a + b }')
printf '   %-44s set-up %s, tear-down %s (ptp DEL / rm), %s (/ rm --no-wait)\n' \
	"ratios without program start-up (p50):" \
	"$(net "$(pct "$TMP/t.ptp_add_ns" 50)" "$F_CNI" "$(pct "$TMP/t.run_wait" 50)" "$F_PC")" \
	"$(net "$(pct "$TMP/t.ptp_del_ns" 50)" "$F_CNI" "$(pct "$TMP/t.rm_wait" 50)" "$F_PC")" \
	"$(net "$(pct "$TMP/t.ptp_del_ns" 50)" "$F_CNI" "$(pct "$TMP/t.rm_nowait" 50)" "$F_PC")"
echo
target() { # WHAT NUM DEN GOAL
	local r
	r=$(awk -v a="$(pct "$TMP/t.$2" 50)" -v b="$(pct "$TMP/t.$3" 50)" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print 0 }')
	printf '   target %-44s %6sx  (goal >= %sx: %s)\n' "$1" "$r" "$4" \
		"$(awk -v r="$r" -v g="$4" 'BEGIN { print (r >= g) ? "met" : "not met" }')"
}
target "set-up, p50, ptp ADD / petrelctl run" ptp_add_ns run_wait 10
target "tear-down, p50, ptp DEL / petrelctl rm" ptp_del_ns rm_wait 5
cat <<EOF

   notes: times are wall-clock from the shell, each including one fork+exec
   (ip -batch: two, host side and workload side). "with its netns": petrelctl
   makes and deletes the workload's namespace itself; the CNI plugin's caller
   does, so its times here have the in-process cost of that added (p50,
   measured apart with build/bench/netns_cost the way petrelctl does it:
   create $(ms "$NS_ADD") ms, delete $(ms "$NS_DEL") ms); ip -batch does "netns add" in
   its batch / "ip netns del" (its veth and route go along). "without": that
   same cost subtracted from petrelctl's times; ip -batch given a namespace
   made beforehand / deleting its veth with "ip link del" (which waits for an
   RCU grace period, about 20 ms here, that deleting the namespace does not).
   ip -batch does not set the sysctls felix sets (proxy_arp etc.).
   The loop took $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') s for $((N * 5)) endpoints.
EOF
felix_stop TERM
hr

# ==========================================================================
# 2. 10,000 endpoints on one node
# ==========================================================================
if [ ! -x "$B/bench/wepgen" ]; then
	echo "2. $BIG endpoints: skipped ($B/bench/wepgen is not built)"
	hr
	exit 0
fi
echo "2. $BIG routed endpoints on one node (in progress...)"
NODE="pt-$ID-big"
WLNS="pt-$ID-bigw"
DB="$TMP/big.db"
CONF="$TMP/big.yaml"
FELIX_LOG="$TMP/felix-big.log"
ip netns add "$NODE" && ip netns add "$WLNS" && ip -n "$NODE" link set lo up ||
	{ echo "bench: netns add failed" >&2; exit 1; }
# A real node has an address of its own (its uplink's); without one the
# kernel searches every interface for a source at each route insertion.
ip -n "$NODE" link add up0 type veth peer name up1 && ip -n "$NODE" addr add 192.0.2.11/24 dev up0 &&
	ip -n "$NODE" link set up1 up && ip -n "$NODE" link set up0 up || { echo "bench: node address failed" >&2; exit 1; }
mkdir -p "$TMP/run-big"
PT_CONF_EXTRA="logLevel: warning" pt_conf_write "$CONF"
sed -i "s|^runDir: .*|runDir: $TMP/run-big|; s|^node: .*|node: big1|" "$CONF"
ctl pool create big --cidr 10.128.0.0/16 >/dev/null || { echo "bench: pool create failed" >&2; exit 1; }

t0=${EPOCHREALTIME/./}
"$B/bench/wepgen" "sqlite:$DB" big1 "$BIG" "$WLNS" 10.128.0.0 >"$TMP/big.batch" 2>"$TMP/wepgen.err" ||
	{ echo "bench: wepgen: $(cat "$TMP/wepgen.err")" >&2; exit 1; }
t1=${EPOCHREALTIME/./}
ip -n "$NODE" -batch "$TMP/big.batch" >/dev/null 2>"$TMP/batch.err" ||
	{ echo "bench: ip -batch: $(head -n 3 "$TMP/batch.err")" >&2; exit 1; }
t2=${EPOCHREALTIME/./}
printf '   set-up: %d records written in %.1f s, %d veth pairs made in %.1f s\n' \
	"$BIG" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e6 }')" \
	"$BIG" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print (b - a) / 1e6 }')"

# all_programmed_big: felix answers with BIG endpoints, all programmed.
all_programmed_big() {
	local s
	s=$(felix_status)
	[ "$(printf '%s' "$s" | json_num endpoints)" = "$BIG" ] &&
		[ "$(printf '%s' "$s" | json_num programmed)" = "$BIG" ]
}
# time_to_programmed MAXSECONDS: starts felix; TTP = seconds from its start
# to all programmed ("never" if not within MAXSECONDS). Not in a $(...):
# felix_start must record felix's pid in this shell.
time_to_programmed() {
	local t0 t1 i
	t0=${EPOCHREALTIME/./}
	felix_start
	for ((i = 0; i < $1 * 50; i++)); do
		all_programmed_big && break
		sleep 0.02
	done
	t1=${EPOCHREALTIME/./}
	if all_programmed_big; then
		TTP=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')
	else
		TTP=never
	fi
}
rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$FELIX_PID/status" 2>/dev/null; }
# felix's own figure once its resync has ended (its queue can still hold a
# few checks when the last endpoint counts as programmed): bounded, 5 s
last_resync() {
	local v i
	for ((i = 0; i < 50; i++)); do
		v=$(felix_status | json_num lastResyncMs)
		[ -n "$v" ] && [ "$v" != -1 ] && break
		sleep 0.1
	done
	printf '%s' "$v"
}
routes() { ip -n "$NODE" -4 route show proto 87 | grep -c ' dev ptl'; }

time_to_programmed 120
first=$TTP
rss1=$(rss_mb)
n_routes=$(routes)
last1=$(last_resync)
felix_stop TERM
time_to_programmed 60
resync=$TTP
rss2=$(rss_mb)
last2=$(last_resync)
sleep 2
rss3=$(rss_mb)
felix_stop TERM

printf '   felix programs %d new endpoints (start -> all programmed):  %s s  (%d routes made; its lastResyncMs %s)\n' \
	"$BIG" "$first" "$n_routes" "${last1:--}"
printf '\n   %-44s %10s %10s %8s\n' "figure" "petrel" "target" "ratio"
printf '   %-44s %10s %10s %8s\n' "resync after restart (start -> all programmed)" "$resync s" "< 1 s" \
	"$(awk -v a="$resync" 'BEGIN { if (a == "never") print "-"; else printf "%.2f", a / 1 }')"
printf '   %-44s %10s %10s %8s\n' "  felix's own lastResyncMs" "${last2:--} ms" "< 1000 ms" \
	"$(awk -v a="${last2:-0}" 'BEGIN { printf "%.2f", a / 1000 }')"
printf '   %-44s %10s %10s %8s\n' "felix VmRSS after the resync (+2 s)" "${rss3:--} MB" "< 16 MB" \
	"$(awk -v a="${rss3:-0}" 'BEGIN { printf "%.2f", a / 16 }')"
printf '   %-44s %10s\n' "  (VmRSS right after first programming)" "${rss1:--} MB"
printf '   %-44s %10s\n' "  (VmRSS right after the resync)" "${rss2:--} MB"
cat <<EOF

   notes: the workload ends share one namespace (w0..w$((BIG - 1)) in $WLNS); the
   records were written straight into the store (build/bench/wepgen), so only
   felix's work is measured. "start -> all programmed" polls petrelctl status
   every 20 ms (so it includes up to ~25 ms of polling). A ratio is petrel's
   value over the target (below 1: target met).
EOF
hr

# ==========================================================================
# 3. BGP convergence through a top-of-rack router (FRR)
# ==========================================================================
# tests/bench/bgp_converge.sh: its own namespaces (pt-bgcv<id>-...), two
# nodes and an FRR ToR as in tests/integration/test_bgp_tor.sh; env TRIALS
# (20) and WORKLOADS (50). It prints its figures, or why it measured none.
echo "3. BGP through an FRR ToR: a new block -> reachable (${TRIALS:-20} trials), UPDATEs for"
echo "   ${WORKLOADS:-50} workloads in advertised blocks (in progress...)"
B="$B" bash "$HERE/bgp_converge.sh" &
bgp_pid=$!
PT_PIDS+=("$bgp_pid")
wait "$bgp_pid"
pt_forget "$bgp_pid"
hr

# ==========================================================================
# 4. bgpconf: BIRD's config for 1,000 peers and 10,000 blocks
# ==========================================================================
# build/bench/bgpconf_gen times bgpconf_render() (felix's renderer) on
# inputs built in memory, three shapes; then `bird -p` checks each output
# (what bgpconf_write does before putting a config in place).
if [ ! -x "$B/bench/bgpconf_gen" ]; then
	echo "4. bgpconf: skipped ($B/bench/bgpconf_gen is not built)"
	hr
	exit 0
fi
echo "4. bgpconf: BIRD config generation, 1,000 peers and 10,000 blocks (median of 11 renders)"
mkdir -p "$TMP/bgpconf"
if ! "$B/bench/bgpconf_gen" -n 1000 -b 10000 -r 11 -o "$TMP/bgpconf" >"$TMP/bgpconf.out" 2>"$TMP/bgpconf.err"; then
	echo "   bgpconf_gen failed: $(pt_oneline <"$TMP/bgpconf.err")"
	hr
	exit 0
fi
# field KEY LINE: the value of KEY=VALUE in a line of bgpconf_gen's.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
printf '\n   %-44s %10s %10s %8s\n' "figure" "petrel" "target" "ratio"
while read -r line; do
	shape=${line%% *}
	med=$(field median_us "$line")
	case "$shape" in
	peers) what="1,000 global BGPPeers (mesh off)" ;;
	mesh) what="1,001 Nodes, node-to-node mesh" ;;
	rr) what="1,001 Nodes, this one route reflector" ;;
	*) what=$shape ;;
	esac
	printf '   %-44s %10s %10s %8s\n' "render: $what" \
		"$(awk -v u="$med" 'BEGIN { printf "%.1f ms", u / 1000 }')" "< 50 ms" \
		"$(awk -v u="$med" 'BEGIN { printf "%.2f", u / 1000 / 50 }')"
	printf '     (%s sessions, %s blocks, %s bytes; min %s ms, max %s ms)\n' "$(field peers "$line")" \
		"$(field blocks "$line")" "$(field bytes "$line")" "$(ms "$(field min_us "$line")")" \
		"$(ms "$(field max_us "$line")")"
done <"$TMP/bgpconf.out"
if command -v bird >/dev/null 2>&1; then
	echo
	for f in "$TMP"/bgpconf/*.conf; do
		s=$(basename "$f" .conf)
		: >"$TMP/birdp.$s"
		ok=yes
		for ((i = 0; i < 5; i++)); do
			t0=${EPOCHREALTIME/./}
			bird -p -c "$f" >/dev/null 2>"$TMP/birdp.err" || ok="no: $(pt_oneline <"$TMP/birdp.err")"
			t1=${EPOCHREALTIME/./}
			echo $((t1 - t0)) >>"$TMP/birdp.$s"
		done
		printf '   %-44s %10s   (accepted: %s)\n' "bird -p on the $s config (p50 of 5)" \
			"$(ms "$(pct "$TMP/birdp.$s" 50)") ms" "$ok"
	done
fi
cat <<EOF

   notes: render = bgpconf_render() alone, in one process, on an input
   built in memory (build/bench/bgpconf_gen): no datastore read, no file
   written, no BIRD. "bird -p" (BIRD parsing the same text, which
   bgpconf_write runs before putting a new config in place) is apart, with
   its process start-up. A ratio is petrel's value over the target.
EOF
hr

# ==========================================================================
# 5. Data-path cost: A/B alternating transactions (DESIGN.md section 10)
# ==========================================================================
# tests/bench/datapath.sh: its own namespaces (pt-bench-<id>-...), up to eight
# petrel nodes and a Docker-style bridge, build/bench/abpath as the client
# and the echo servers; env RUNS (3), SECS (3), SESSIONS (3), MODES. It
# prints its figures, and whether its A/A control held.
B="$B" bash "$HERE/datapath.sh" &
dp_pid=$!
PT_PIDS+=("$dp_pid")
wait "$dp_pid"
pt_forget "$dp_pid"
hr

# ==========================================================================
# 6. Policy at scale: 1,000 NetworkPolicies over 1,000 workloads
# ==========================================================================
# tests/bench/policy_scale.sh: its own namespaces, one node; env NWL, NPOL
# (1000 each), ADDS (50), RESTARTS (5).
B="$B" bash "$HERE/policy_scale.sh" &
ps_pid=$!
PT_PIDS+=("$ps_pid")
wait "$ps_pid"
pt_forget "$ps_pid"
hr

# ==========================================================================
# 7. CNI ADD and DEL latency: petrel beside ptp + host-local (issue 5)
# ==========================================================================
# tests/bench/cni.sh: its own node namespace and felix; env N (200). It
# prints p50/p99 of each plugin's ADD and DEL, their ratios, and where
# petrel's time goes (perf trace, strace -c when installed).
B="$B" bash "$HERE/cni.sh" &
cni_pid=$!
PT_PIDS+=("$cni_pid")
wait "$cni_pid"
pt_forget "$cni_pid"
hr

# ==========================================================================
# 8. Many machines: petrel on etcd beside petrel on sqlite (issue 11)
# ==========================================================================
# tests/bench/etcd.sh: a 3-member etcd cluster and four nodes in their own
# namespaces; env N (100), A (200), K (200), BIG (10000). run/rm p50/p99,
# allocations per second with 1 and 8 clients, watch latency node to node,
# felix's resync at BIG endpoints with its RSS and etcd's bytes per endpoint.
B="$B" bash "$HERE/etcd.sh" &
etcd_pid=$!
PT_PIDS+=("$etcd_pid")
wait "$etcd_pid"
pt_forget "$etcd_pid"
hr
