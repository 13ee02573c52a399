#!/usr/bin/env bash
#
# Policy at scale on one node: 1,000 NetworkPolicies over 1,000 workloads.
# Prints felix's full-table nftables transaction time (target < 300 ms) and
# the time to add one workload with all of that in place (target < 2 ms:
# `petrelctl run` with the 1,000 + 1,000 loaded minus the same on an empty
# table, p50/p99 over ADDS runs; and felix's own time per nft batch).
#
# The workloads (realistic labels): w<i> has app=a<i%100>, tier=
# frontend|backend|db (i%3), 10.128.<i/250>.<i%250+1> (tests/bench/polwep.c). Policy p<j> selects
# app == "a<j%100>" (tier == ... for every third), allows TCP port
# 8000+j%50 from app == "a<(7j+3)%100>"; every fourth one also allows its
# workloads out to tier == "db" on 5432 (types [Ingress, Egress]).
# The 1,000 workloads are written straight into the store by
# build/bench/polwep (as wepgen does for benchmark 2; not through IPAM),
# with real veth pairs made by `ip -batch` (workload ends all in one
# namespace); the policies with `petrelctl apply`; the timed workloads are
# made by `petrelctl run`, as a user would.
#
#   +------------------- pt-<id>-node --------------------+
#   | felix (logLevel debug: its nft times); up0 ---------|--- pt-<id>-ext
#   | ptl<hash of w0> ... ptl<hash of w999>               |
#   | ptl<y0..y49> (timed runs, one by one)               |
#   +---|-------------------------------------------------+
#       | 1,000 veths                 | one veth each
#   pt-<id>-wl (w0..w999)          pt-<id>-w-y<k>
#
#   pt-<id>-e: a second node, its own felix and store, nothing on it but the
#   timed workloads x<k> (pt-<id>-e-x<k>), made alternately with the y<k>.
#
# Env: NWL (1000 workloads), NPOL (1000 policies), ADDS (50 timed runs),
# RESTARTS (5).
# Printed, never pass/fail.
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PT_QUIET=1
. "$HERE/../lib.sh"
NWL=${NWL:-1000}
NPOL=${NPOL:-1000}
ADDS=${ADDS:-50}
RESTARTS=${RESTARTS:-5}
pt_init bench-
# felix writes /etc/netns/<workload netns>/hosts; those of the workloads
# not removed with petrelctl rm (the applied ones) go here.
bench_cleanup() {
	local rc=$?
	[ -n "${ID:-}" ] && rm -rf /etc/netns/pt-"$ID"-*
	(exit $rc)
	pt_cleanup
}
trap bench_cleanup EXIT
pt_need_bins "$PETRELCTL" "$FELIX" "$B/bench/polwep"
cp "$B/bench/polwep" "$TMP/bin/" && POLWEP="$TMP/bin/polwep"
HAVE_NFT=0
command -v nft >/dev/null 2>&1 && HAVE_NFT=1
WLNS="pt-$ID-wl"

pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "nan" || u == "") print "-"; else printf "%.2f ms", u / 1000 }'; }
die() {
	echo "bench: $1" >&2
	tail -n 5 "$FELIX_LOG" 2>/dev/null | sed 's/^/   felix: /' >&2
	tail -n 5 "${ELOG:-/dev/null}" 2>/dev/null | sed 's/^/   felix (empty node): /' >&2
	exit 1
}
loglines() { wc -l <"${1:-$FELIX_LOG}"; }
# log_since LINE [LOG]: felix's log after line LINE.
log_since() { tail -n +"$(($1 + 1))" "${2:-$FELIX_LOG}"; }
# The milliseconds of felix's nft lines (of one kind) in the log on stdin.
full_ms() { sed -n 's/.*nft: full table written in \([0-9.]*\) ms.*/\1/p'; }
batch_ms() { sed -n 's/.*nft: batch of .* in \([0-9.]*\) ms.*/\1/p'; }
kernel_ms() { sed -n 's/.*nft: batch of .* ms (kernel \([0-9.]*\) ms).*/\1/p'; }
resync_ms() { sed -n 's/.*resync (start): .* \([0-9]*\) ms (store.*/\1/p'; }
batch_msgs() { sed -n 's/.*nft: batch of \([0-9]*\) messages for \([0-9]*\) pieces.*/\1 \2/p'; }
us_of_ms() { awk '{ printf "%d\n", $1 * 1000 }'; }

tier() { case $(($1 % 3)) in 0) echo frontend ;; 1) echo backend ;; *) echo db ;; esac; }

gen_policies() {
	local j sel
	for ((j = 0; j < NPOL; j++)); do
		sel="app == \"a$((j % 100))\""
		[ $((j % 3)) = 0 ] && sel="$sel && tier == \"$(tier $((j / 3)))\""
		cat <<EOF
---
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: p$j}
spec:
  selector: '$sel'
  order: $((100 + j % 10))
EOF
		if [ $((j % 4)) = 0 ]; then
			echo "  types: [Ingress, Egress]"
		else
			echo "  types: [Ingress]"
		fi
		cat <<EOF
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == "a$(((7 * j + 3) % 100))"}
    destination: {ports: [$((8000 + j % 50))]}
EOF
		[ $((j % 4)) = 0 ] && cat <<EOF
  egress:
  - action: Allow
    protocol: TCP
    destination: {selector: tier == "db", ports: [5432]}
EOF
	done
}

# ectl: petrelctl on the empty node.
ectl() { "$PETRELCTL" -c "$ECONF" "$@"; }

# run_one CTL NAME K FILE: `petrelctl run` (waiting for felix) of NAME,
# labelled like w<K>; its microseconds appended to FILE.
run_one() {
	local t0 t1
	t0=${EPOCHREALTIME/./}
	"$1" run --name "$2" --label "app=a$(($3 % 100))" --label "tier=$(tier "$3")" \
		>/dev/null 2>>"$TMP/run.err" || die "run $2 ($1): $(tail -n 1 "$TMP/run.err")"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$4"
}

# timed_runs: ADDS workloads added on each node, alternately (empty node,
# loaded node, ...: a CPU speed phase favours neither); then felix's nft
# batch times meanwhile, from each log; then the workloads removed.
timed_runs() {
	local k le ll
	: >"$TMP/t.empty"
	: >"$TMP/t.loaded"
	le=$(loglines "$ELOG")
	ll=$(loglines "$FELIX_LOG")
	for ((k = 0; k < ADDS; k++)); do
		run_one ectl "x$k" "$k" "$TMP/t.empty"
		run_one ctl "y$k" "$k" "$TMP/t.loaded"
	done
	log_since "$le" "$ELOG" | batch_ms | us_of_ms >"$TMP/b.empty"
	log_since "$ll" "$FELIX_LOG" | batch_ms | us_of_ms >"$TMP/b.loaded"
	log_since "$le" "$ELOG" | kernel_ms | us_of_ms >"$TMP/k.empty"
	log_since "$ll" "$FELIX_LOG" | kernel_ms | us_of_ms >"$TMP/k.loaded"
	log_since "$le" "$ELOG" | batch_msgs >"$TMP/m.empty"
	log_since "$ll" "$FELIX_LOG" | batch_msgs >"$TMP/m.loaded"
	for ((k = 0; k < ADDS; k++)); do
		ectl rm "x$k" >/dev/null 2>&1 || die "rm x$k"
		ctl rm "y$k" >/dev/null 2>&1 || die "rm y$k"
	done
}

# The empty node: its own namespace, store, felix; the same config
# otherwise.
enode_make() {
	ip netns add "pt-$ID-e" && ip -n "pt-$ID-e" link set lo up &&
		ip -n "pt-$ID-e" link add up0 type veth peer name up1 &&
		ip -n "pt-$ID-e" addr add 192.0.2.11/24 dev up0 &&
		ip -n "pt-$ID-e" link set up1 up && ip -n "pt-$ID-e" link set up0 up ||
		die "empty node set-up failed"
	mkdir -p "$TMP/e/run"
	sed "s|^datastore: .*|datastore: sqlite:$TMP/e/petrel.db|; s|^runDir: .*|runDir: $TMP/e/run|;
	     s|^netns: .*|netns: pt-$ID-e|; s|^workloadNetnsPrefix: .*|workloadNetnsPrefix: pt-$ID-e-|" \
		"$CONF" >"$ECONF"
	"$FELIX" -c "$ECONF" >>"$ELOG" 2>&1 &
	PT_PIDS+=("$!")
	wait_for 150 0.1 ectl status || die "the empty node's felix does not answer"
	ectl pool create p1 --cidr 10.65.0.0/16 >/dev/null || die "pool create failed (empty node)"
}

# restart_timed KEEP_TABLE: felix stopped, the table deleted unless
# KEEP_TABLE, felix started; appends the seconds from its start to all
# programmed to $TMP/ttp.
restart_timed() {
	local t0 t1
	felix_stop TERM
	if [ "$1" = 0 ] && [ "$HAVE_NFT" = 1 ]; then
		ip netns exec "$NODE" nft delete table inet petrel 2>/dev/null
	fi
	t0=${EPOCHREALTIME/./}
	felix_start
	wait_for 1500 0.02 all_programmed || die "felix did not program everything after a restart"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$TMP/ttp.$1"
}
# nft_synced COUNT: felix's table holds COUNT policies and is in sync with
# what it wants (its status, "nft").
nft_synced() {
	local s
	s=$(felix_status | grep -o '"nft":{[^}]*}')
	[ "$(printf '%s' "$s" | json_num policies)" = "$1" ] &&
		printf '%s' "$s" | grep -q '"inSync":true'
}
all_programmed() {
	local s
	s=$(felix_status)
	[ "$(printf '%s' "$s" | json_num endpoints)" = "$WANT" ] &&
		[ "$(printf '%s' "$s" | json_num programmed)" = "$WANT" ]
}

echo "6. policy at scale: $NPOL NetworkPolicies over $NWL workloads on one node (in progress...)"
pt_node
PT_CONF_EXTRA="logLevel: debug" pt_conf_write "$CONF"
felix_start
felix_wait_ready || die "felix does not answer"
ctl pool create p1 --cidr 10.65.0.0/16 >/dev/null || die "pool create failed"
ECONF="$TMP/e/petrel.yaml"
ELOG="$TMP/felix-e.log"
enode_make

# --- 1,000 workloads, 1,000 policies --------------------------------------
ip netns add "$WLNS" || die "netns add $WLNS"
gen_policies >"$TMP/pols.yaml"
t0=${EPOCHREALTIME/./}
"$POLWEP" "sqlite:$DB" node1 "$NWL" "$WLNS" >"$TMP/veths.batch" 2>"$TMP/polwep.err" ||
	die "polwep: $(pt_oneline <"$TMP/polwep.err")"
t1=${EPOCHREALTIME/./}
ip -n "$NODE" -batch "$TMP/veths.batch" >/dev/null 2>"$TMP/batch.err" ||
	die "ip -batch: $(head -n 3 "$TMP/batch.err" | pt_oneline)"
t2=${EPOCHREALTIME/./}
WANT=$NWL
wait_for 1500 0.02 all_programmed || die "felix did not program the $NWL workloads"
t3=${EPOCHREALTIME/./}
l0=$(loglines)
POL_OK=1
ctl apply -f "$TMP/pols.yaml" >/dev/null 2>"$TMP/apply.err" || POL_OK=0
t4=${EPOCHREALTIME/./}
if felix_status | grep -q '"nft":{'; then
	wait_for 1500 0.02 nft_synced "$NPOL" || die "felix did not program the policies"
fi
wait_for 1500 0.02 all_programmed || die "felix did not program after the policies"
t5=${EPOCHREALTIME/./}
pol_batches=$(log_since "$l0" | batch_ms | wc -l)
pol_full=$(log_since "$l0" | full_ms | tr '\n' ' ')
if [ "$HAVE_NFT" = 1 ] && ip netns exec "$NODE" nft list table inet petrel >"$TMP/table.nft" 2>/dev/null; then
	n_rules=$(ip netns exec "$NODE" nft -a list table inet petrel 2>/dev/null | grep -c '# handle')
	n_chains=$(grep -c '^	chain ' "$TMP/table.nft")
	n_sets=$(grep -Ec '^	(set|map) ' "$TMP/table.nft")
fi

# --- felix restarts: the whole table in one transaction -------------------
l0=$(loglines)
for ((i = 0; i < RESTARTS; i++)); do
	restart_timed 0
done
log_since "$l0" | full_ms | us_of_ms >"$TMP/full"
log_since "$l0" | resync_ms | us_of_ms >"$TMP/resync"
for ((i = 0; i < RESTARTS; i++)); do
	restart_timed 1
done
RSS=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$FELIX_PID/status" 2>/dev/null)

# --- one more workload, with all that in place ----------------------------
timed_runs
felix_stop TERM

# --- the printout ---------------------------------------------------------
sec() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
printf '   set-up: %d WorkloadEndpoints written in %s s, their veth pairs made in %s s, all programmed %s s later;\n' \
	"$NWL" "$(sec "$t0" "$t1")" "$(sec "$t1" "$t2")" "$(sec "$t2" "$t3")"
if [ "$POL_OK" = 1 ]; then
	printf '   %d policies applied in %s s, programmed %s s later (%s nft batches%s)\n' "$NPOL" \
		"$(sec "$t3" "$t4")" "$(sec "$t4" "$t5")" "$pol_batches" "${pol_full:+, full-table writes of $pol_full ms}"
else
	echo "   policies NOT applied: $(head -n 2 "$TMP/apply.err" | pt_oneline)"
fi
[ -n "${n_rules:-}" ] && echo "   the table: $n_rules rules, $n_chains chains, $n_sets sets and maps"
printf '\n   %-56s %10s %10s %9s %6s\n' "figure" "p50" "p99" "target" "ratio"
row() { # LABEL P50_US P99_US TARGET_MS
	printf '   %-56s %10s %10s %9s %6s\n' "$1" "$(ms "$2")" "$(ms "$3")" "${4:+< $4 ms}" \
		"$(awk -v u="$2" -v t="${4:-}" 'BEGIN { if (t == "" || u == "nan" || u == "") print ""; else printf "%.2f", u / 1000 / t }')"
}
row "full-table transaction (felix's, $RESTARTS starts, no table)" "$(pct "$TMP/full" 50)" "$(pct "$TMP/full" 99)" 300
row "  felix start -> all programmed, table absent" "$(pct "$TMP/ttp.0" 50)" "$(pct "$TMP/ttp.0" 99)"
row "    of which felix's resync (start) before it (its log)" "$(pct "$TMP/resync" 50)" "$(pct "$TMP/resync" 99)"
row "  felix start -> all programmed, table present" "$(pct "$TMP/ttp.1" 50)" "$(pct "$TMP/ttp.1" 99)"
E50=$(pct "$TMP/t.empty" 50) E99=$(pct "$TMP/t.empty" 99)
L50=$(pct "$TMP/t.loaded" 50) L99=$(pct "$TMP/t.loaded" 99)
row "petrelctl run, empty node ($ADDS runs)" "$E50" "$E99"
row "petrelctl run, $NWL workloads + $NPOL policies ($ADDS runs)" "$L50" "$L99"
row "  difference: one workload added, with all that" "$((L50 - E50))" "$((L99 - E99))" 2
row "felix's nft batch per workload, empty node" "$(pct "$TMP/b.empty" 50)" "$(pct "$TMP/b.empty" 99)"
row "felix's nft batch per workload, all in place" "$(pct "$TMP/b.loaded" 50)" "$(pct "$TMP/b.loaded" 99)" 2
if [ -s "$TMP/k.loaded" ]; then
	row "  the kernel's part of it, empty node (felix's log)" "$(pct "$TMP/k.empty" 50)" "$(pct "$TMP/k.empty" 99)"
	row "  the kernel's part of it, all in place" "$(pct "$TMP/k.loaded" 50)" "$(pct "$TMP/k.loaded" 99)"
fi
# msgs FILE: "N batches, p50 M netlink messages for K pieces".
msgs() {
	[ -s "$1" ] || { echo "no batches"; return; }
	cut -d' ' -f1 "$1" >"$1.m"
	cut -d' ' -f2 "$1" >"$1.k"
	printf '%d batches, p50 %s netlink messages for %s pieces' "$(wc -l <"$1")" \
		"$(pct "$1.m" 50)" "$(pct "$1.k" 50)"
}
printf '   felix'"'"'s batches while the timed workloads were added:\n     empty node: %s\n     loaded node: %s\n' \
	"$(msgs "$TMP/m.empty")" "$(msgs "$TMP/m.loaded")"
printf '   felix VmRSS with all of it: %s MB\n' "${RSS:--}"
[ -s "$TMP/full" ] || echo "   (felix logged no \"nft: full table written\" line: no full-table time)"
[ -s "$TMP/b.loaded" ] || echo "   (felix logged no \"nft: batch\" line at debug level: no per-batch time)"
cat <<EOF

   notes: full-table transaction: what felix logs for the one netlink batch
   that deletes and re-creates table inet petrel at its start (the table
   was deleted before each start, as on a fresh boot; with the table
   present felix compares and writes nothing). "start -> all programmed"
   polls petrelctl status every 20 ms; felix's resync (start) is its own
   log line (store read, kernel dump, reconcile) before the table write.
   petrelctl run: wall clock from the shell, including felix's work on the
   new workload (run waits for it), alternately on a second node with
   nothing on it (its own felix and store) and on the loaded one; the
   difference of the p50s (p99s) is what the loaded table costs one more
   workload. felix's batch: its own time per incremental netlink batch
   (its debug log) while the $ADDS workloads were added on each node: each
   a new workload's chains, set elements and map entries. A ratio is the
   figure over the target.
EOF
