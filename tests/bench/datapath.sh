#!/usr/bin/env bash
#
# Data-path cost, measured as DESIGN.md section 10 says: one client
# (build/bench/abpath) alternates single transactions between exactly two
# paths, A B B A ..., the client and both echo servers pinned to one CPU,
# and the ratio of the mean transaction times B/A is printed; modes rr
# (64-byte request/response), crr (new connection + request + close) and
# bulk (1 MiB); RUNS runs (3) of SECS seconds (3) per mode. Every session
# starts with an A/A control (two identical routed petrel paths) that must
# land within +-0.5 % in every mode; a session whose control does not is
# repeated (at most SESSIONS times, 3).
#
# Each path is a client namespace -> a node -> a server namespace. The four
# nodes are four independent petrel installs (own datastore, own felix),
# identical but for what is compared, so that the workloads of every node
# have the same names, addresses and host interface names:
#
#   node 1  routed, felix, 10 policy rules (the server's policy + 9 others)
#   node 2  the same as node 1 (the A/A control)
#   node 3  the same with 1,000 rules (the server's policy + 999 others)
#   node 4  routed, no firewall: felix made the workloads and was stopped,
#           its table deleted (the same routes, nothing else)
#   node 5  as node 4, plus a reference table of ours: conntrack alone
#           (ct state established,related accept in forward)
#   node 6  as node 5, plus a flowtable on the path's host ends
#           (what a flowtable for established flows would give; skipped
#           where the kernel has no nf_flow_table)
#   node 7  as node 1, felix stopped, its table without the nat-* chains
#   node 8  as node 1, felix stopped, its table without raw-pre
#           (nodes 7 and 8: BREAKDOWN=1, the default: where the cost goes)
#   bridge  a Docker-style bridge: br0 172.17.0.1/16 in the host namespace,
#           the two ends' veths in it, the host as their gateway
#
#   +------ pt-<id>-nN (N = 1..8) ---------+    +----- pt-<id>-br ------+
#   | felix (1-3); up0 192.0.2.11/24       |    | br0 172.17.0.1/16     |
#   | ptl<c> ---- route /32 ---- ptl<s>    |    |  vc          vs       |
#   | ptl<d0..d99> (idle workloads)        |    +--|------------|-------+
#   +---|--------------------------|-------+       |            |
#   pt-<id>-Nc eth0           pt-<id>-Ns eth0    pt-<id>-bc   pt-<id>-bs
#   (client: role=client)     (server: app=srv,  172.17.0.2   172.17.0.3
#                              abpath server)
#
# Comparisons (B/A; target):
#   A/A        node 1 vs node 2                 within +-0.5 % (the gate)
#   rules      node 1 (10) vs node 3 (1,000)    within +-0.5 %: rule count free
#   table      node 4 (none) vs node 1          <= 1.02: petrel's table
#   bridge     node 1 vs bridge                 > 1: petrel faster
#   (for reference: node 4 vs bridge, petrel's routing alone; node 4 vs
#   node 5, conntrack; node 4 vs node 6, conntrack + flowtable)
# The rule and table comparisons need felix's nftables table and
# NetworkPolicy support: without them they are skipped, said so.
#
# The policies: the server is selected by one policy (srv: allow TCP 5001
# from role == "client"); the others (p<j>) select idle workloads d<j%100>
# and allow one port from app == a<(j+1)%100>: they are in the table, in
# their own chains, and the path's packets never pass them (dispatch by
# verdict map): "rule count must be free". 100 idle workloads on every
# node, so that nodes differ only by their rules.
#
# Env: RUNS (3), SECS (3), SESSIONS (3), MODES ("rr crr bulk"), CPU (the
# last one), IDLE (100 idle workloads a node), BREAKDOWN (1), B (build dir).
# Printed, never pass/fail.
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PT_QUIET=1
. "$HERE/../lib.sh"
RUNS=${RUNS:-3}
SECS=${SECS:-3}
SESSIONS=${SESSIONS:-3}
MODES=${MODES:-rr crr bulk}
CPU=${CPU:-$(($(nproc) - 1))}
IDLE=${IDLE:-100}
BREAKDOWN=${BREAKDOWN:-1}
PORT=5001
pt_init bench-
# felix writes /etc/netns/<workload netns>/hosts: the namespaces go at the
# end without `petrelctl rm`, so their files go here.
bench_cleanup() {
	local rc=$?
	[ -n "${ID:-}" ] && rm -rf /etc/netns/pt-"$ID"-*
	(exit $rc)
	pt_cleanup
}
trap bench_cleanup EXIT
pt_need_bins "$PETRELCTL" "$FELIX" "$B/bench/abpath"
cp "$B/bench/abpath" "$TMP/bin/" && ABPATH="$TMP/bin/abpath"
HAVE_NFT=0
command -v nft >/dev/null 2>&1 && HAVE_NFT=1

declare -A FPID		# node -> felix pid
declare -A CNS SNS SIP	# path -> client netns, server netns, server address

# die MESSAGE: says why, with the end of each felix log.
die() {
	local f
	echo "$1" >&2
	for f in "$TMP"/felix-n*.log; do
		[ -s "$f" ] && { echo "--- $(basename "$f"):" >&2; tail -n 5 "$f" >&2; }
	done
}

nconf() { echo "$TMP/n$1/petrel.yaml"; }
nctl() {
	local n=$1
	shift
	"$PETRELCTL" -c "$(nconf "$n")" "$@"
}

# node_make N: namespace pt-<id>-nN with an uplink address (a real node has
# one: without it the kernel searches every interface for a source at each
# route insertion), its config; felix started, a pool.
node_make() {
	local n=$1 ns="pt-$ID-n$1"
	ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip -n "$ns" link add up0 type veth peer name up1 &&
		ip -n "$ns" addr add 192.0.2.11/24 dev up0 &&
		ip -n "$ns" link set up1 up && ip -n "$ns" link set up0 up ||
		{ die "bench: node $n: namespace set-up failed"; return 1; }
	mkdir -p "$TMP/n$n/run"
	# The same node name everywhere: the same host interface names.
	cat >"$(nconf "$n")" <<EOF
node: node1
datastore: sqlite:$TMP/n$n/petrel.db
runDir: $TMP/n$n/run
netns: $ns
workloadNetnsPrefix: pt-$ID-$n
logLevel: warning
bgp:
  address: 192.0.2.11
EOF
	felix_up "$n" || return 1
	nctl "$n" pool create p1 --cidr 10.65.0.0/16 >/dev/null ||
		{ die "bench: node $n: pool create failed"; return 1; }
}

felix_up() {
	"$FELIX" -c "$(nconf "$1")" >>"$TMP/felix-n$1.log" 2>&1 &
	FPID[$1]=$!
	PT_PIDS+=("$!")
	wait_for 150 0.1 nctl "$1" status ||
		{ die "bench: node $1: felix does not answer"; return 1; }
}

felix_down() {
	local p=${FPID[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null
	reap "$p" 100 || { kill -KILL "$p" 2>/dev/null; reap "$p" 10; }
	FPID[$1]=
}

node_all_programmed() {
	local s e p
	s=$(nctl "$1" -o json status 2>/dev/null | tr -d ' \n')
	e=$(printf '%s' "$s" | json_num endpoints)
	p=$(printf '%s' "$s" | json_num programmed)
	[ -n "$e" ] && [ "$e" = "$p" ]
}

# node_workloads N: client c, server s, IDLE idle workloads d<i>.
node_workloads() {
	local n=$1 i ip
	nctl "$n" run --name c --label role=client --label app=cli >/dev/null ||
		{ die "bench: node $n: run c failed"; return 1; }
	ip=$(nctl "$n" run --name s --label app=srv) ||
		{ die "bench: node $n: run s failed"; return 1; }
	for ((i = 0; i < IDLE; i++)); do
		nctl "$n" run --name "d$i" --label "app=a$((i % 100))" \
			--label role=client --no-wait >/dev/null ||
			{ die "bench: node $n: run d$i failed"; return 1; }
	done
	wait_for 300 0.1 node_all_programmed "$n" ||
		{ die "bench: node $n: felix did not program every workload"; return 1; }
	CNS[n$n]="pt-$ID-${n}c"
	SNS[n$n]="pt-$ID-${n}s"
	SIP[n$n]=$ip
}

# policies COUNT: the server's policy and COUNT-1 others (module comment).
policies() {
	local j
	cat <<EOF
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: srv}
spec:
  selector: app == "srv"
  order: 10
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: role == "client"}
    destination: {ports: [$PORT]}
EOF
	for ((j = 0; j < $1 - 1; j++)); do
		cat <<EOF
---
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: p$j}
spec:
  selector: app == "a$((j % 100))"
  order: 100
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: app == "a$(((j + 1) % 100))"}
    destination: {ports: [$((10000 + j))]}
EOF
	done
}

# node_policies N COUNT: 0 when applied and felix is done with them.
node_policies() {
	policies "$2" >"$TMP/pol-$2.yaml"
	nctl "$1" apply -f "$TMP/pol-$2.yaml" >"$TMP/apply.out" 2>&1 || return 1
	wait_for 300 0.1 node_all_programmed "$1"
}

# node_has_table N: felix's table is in node N.
node_has_table() {
	[ "$HAVE_NFT" = 1 ] && ip netns exec "pt-$ID-n$1" nft list table inet petrel >/dev/null 2>&1
}
# node_rules N: how many rules the table of node N holds.
node_rules() {
	ip netns exec "pt-$ID-n$1" nft -a list table inet petrel 2>/dev/null | grep -c '# handle' || true
}

bridge_make() {
	local br="pt-$ID-br" side addr
	ip netns add "$br" && ip -n "$br" link set lo up &&
		ip -n "$br" link add br0 type bridge &&
		ip -n "$br" addr add 172.17.0.1/16 dev br0 &&
		ip -n "$br" link set br0 up ||
		{ die "bench: bridge set-up failed"; return 1; }
	for side in c s; do
		[ $side = c ] && addr=172.17.0.2 || addr=172.17.0.3
		ip netns add "pt-$ID-b$side" && ip -n "pt-$ID-b$side" link set lo up &&
			ip -n "pt-$ID-b$side" link add eth0 type veth peer name "v$side" netns "$br" &&
			ip -n "$br" link set "v$side" master br0 &&
			ip -n "$br" link set "v$side" up &&
			ip -n "pt-$ID-b$side" addr add "$addr/16" dev eth0 &&
			ip -n "pt-$ID-b$side" link set eth0 up &&
			ip -n "pt-$ID-b$side" route add default via 172.17.0.1 ||
			{ die "bench: bridge: $side set-up failed"; return 1; }
	done
	ip netns exec "$br" sysctl -qw net.ipv4.ip_forward=1
	CNS[br]="pt-$ID-bc"
	SNS[br]="pt-$ID-bs"
	SIP[br]=172.17.0.3
}

# ref_table N KIND: node N without felix and without its table, then a
# table of our own for reference (inet ptbench): KIND ct: established and
# related accepted in forward, nothing else (what conntrack alone costs);
# ft: the same plus a flowtable on the path's two host ends, established
# flows added to it (forwarded at ingress from then on).
ref_table() {
	local n=$1 ns="pt-$ID-n$1" ifc ifs
	felix_down "$n"
	if node_has_table "$n"; then
		ip netns exec "$ns" nft delete table inet petrel || return 1
	fi
	ifc=$(nctl "$n" ls 2>/dev/null | awk '$1 == "c" { print $4 }')
	ifs=$(nctl "$n" ls 2>/dev/null | awk '$1 == "s" { print $4 }')
	{
		echo "table inet ptbench {"
		[ "$2" = ft ] && echo "	flowtable ft { hook ingress priority 0; devices = { $ifc, $ifs }; }"
		echo "	chain fw {"
		echo "		type filter hook forward priority 0; policy accept;"
		[ "$2" = ft ] && echo "		ct state established flow add @ft"
		echo "		ct state established,related accept"
		echo "	}"
		echo "}"
	} >"$TMP/ref-$n.nft"
	ip netns exec "$ns" nft -f "$TMP/ref-$n.nft" 2>"$TMP/ref.err" && return 0
	if [ "$2" = ft ] && grep -q 'No such file' "$TMP/ref.err"; then
		echo "   (no flowtable reference: this kernel has no nf_flow_table)"
	else
		echo "   (reference table $2: $(pt_oneline <"$TMP/ref.err"))"
	fi
	return 1
}

# part_table N CHAIN...: node N's felix stopped, its table left in place
# but for the base chains named (what those chains cost on the path).
part_table() {
	local n=$1 c
	shift
	felix_down "$n"
	for c in "$@"; do
		ip netns exec "pt-$ID-n$n" nft delete chain inet petrel "$c" 2>"$TMP/part.err" ||
			{ echo "   (breakdown: deleting $c: $(pt_oneline <"$TMP/part.err"))"; return 1; }
	done
}

# server_start PATH: abpath's echo server in the path's server namespace.
server_start() {
	local out="$TMP/srv-$1.out"
	"$ABPATH" server -C "$CPU" "${SNS[$1]}" "$PORT" >"$out" 2>&1 &
	PT_PIDS+=("$!")
	wait_for 50 0.1 grep -q '^ready' "$out" ||
		{ echo "bench: server $1: $(pt_oneline <"$out")" >&2; return 1; }
}

# field KEY LINE: the value of KEY=VALUE in one of abpath's lines.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# measure A B MODE: RUNS runs. R_MEAN: the mean of the runs' ratios of the
# clean means (R_RUNS: each), R_RAW: the same of the plain means; A_US and
# B_US: the runs' clean means averaged; R_DIST: the disturbed transactions
# (both paths), in % of all. 1 on failure.
measure() {
	local a=$1 b=$2 mode=$3 i line
	: >"$TMP/runs"
	for ((i = 0; i < RUNS; i++)); do
		line=$(timeout $((SECS + 30)) "$ABPATH" client -C "$CPU" -m "$mode" -t "$SECS" \
			"${CNS[$a]}" "${SIP[$a]}:$PORT" "${CNS[$b]}" "${SIP[$b]}:$PORT" 2>"$TMP/client.err") ||
			{ echo "   abpath client failed: $(pt_oneline <"$TMP/client.err")"; return 1; }
		echo "$line" >>"$TMP/runs"
		echo "$a $b $line" >>"$TMP/all-runs"
	done
	R_RUNS=$(avg clean_ratio "%.4f" list)
	R_MEAN=$(avg clean_ratio "%.4f")
	R_RAW=$(avg ratio "%.4f")
	A_US=$(avg a_clean_us "%.1f")
	B_US=$(avg b_clean_us "%.1f")
	R_DIST=$(tr ' ' '\n' <"$TMP/runs" | awk -F= '
		$1 == "a_n" || $1 == "b_n" { n += $2 }
		$1 == "a_disturbed" || $1 == "b_disturbed" { d += $2 }
		END { printf "%.2f", n ? 100 * d / n : 0 }')
}

# avg KEY FORMAT [list]: the mean of KEY over the runs in $TMP/runs (list:
# each value instead, space-separated).
avg() {
	tr ' ' '\n' <"$TMP/runs" | awk -F= -v k="$1" -v f="$2" -v l="${3:-}" '
		$1 == k { v[n++] = $2; s += $2 }
		END {
			if (l != "") { for (i = 0; i < n; i++) printf "%s%.4f", i ? " " : "", v[i]; print ""; exit }
			printf f "\n", n ? s / n : 0 }'
}

# verdict KIND RATIO: "met"/"not met" against the comparison's target.
verdict() {
	awk -v k="$1" -v r="$2" 'BEGIN {
		if (k == "within") ok = (r >= 0.995 && r <= 1.005)
		else if (k == "le2") ok = (r <= 1.02)
		else if (k == "gt1") ok = (r > 1)
		else { print ""; exit }
		print ok ? "met" : "not met" }'
}

RUNSW=$((RUNS * 7 + 1))	# the width of the runs column
row_head() {
	printf '   %-36s %-4s %8s %8s %7s %7s %6s  %-*s %s\n' "B/A, mean transaction time" mode \
		"A (us)" "B (us)" "B/A" "(plain)" "dist.%" "$RUNSW" "runs (B/A)" "target"
}

# compare TITLE A B TARGET_KIND TARGET_TEXT: one row a mode. Sets CMP_OK=0
# when a mode misses the target.
compare() {
	local title=$1 a=$2 b=$3 kind=$4 text=$5 mode v
	CMP_OK=1
	for mode in $MODES; do
		measure "$a" "$b" "$mode" || { CMP_OK=0; return 1; }
		v=$(verdict "$kind" "$R_MEAN")
		[ "$v" = "not met" ] && CMP_OK=0
		printf '   %-36s %-4s %8s %8s %7s %7s %6s  %-*s %s\n' "$title" "$mode" "$A_US" "$B_US" \
			"$R_MEAN" "$R_RAW" "$R_DIST" "$RUNSW" "$R_RUNS" "$text${v:+: $v}"
		title=""
	done
}

echo "5. data path: one client alternating transactions between two paths (DESIGN.md 10);"
echo "   $RUNS runs of $SECS s per mode, client and servers on CPU $CPU (in progress...)"

NODES="1 2 3 4"
[ "$HAVE_NFT" = 1 ] && NODES="$NODES 5 6"
[ "$HAVE_NFT" = 1 ] && [ "$BREAKDOWN" = 1 ] && NODES="$NODES 7 8"
for n in $NODES; do
	node_make "$n" && node_workloads "$n" || exit 1
done
bridge_make || exit 1

# Rules: 10 on nodes 1, 2 and 4, 1,000 on node 3. Without NetworkPolicy
# support (petrelctl apply refuses the kind), the rules row is skipped.
POLICY=1
for n in 1 2 4 $([ "$BREAKDOWN" = 1 ] && echo 7 8); do
	node_policies "$n" 10 || { POLICY=0; break; }
done
[ "$POLICY" = 1 ] && { node_policies 3 1000 || POLICY=0; }
[ "$POLICY" = 1 ] || POLICY_WHY=$(pt_oneline <"$TMP/apply.out")

# Node 4: no firewall. Its routes stay (the kernel's), felix and its table go.
felix_down 4
if node_has_table 4; then
	ip netns exec "pt-$ID-n4" nft delete table inet petrel ||
		{ die "bench: node 4: nft delete table failed"; exit 1; }
fi
TABLE=0
node_has_table 1 && TABLE=1
REF_CT=0 REF_FT=0
if [ "$HAVE_NFT" = 1 ]; then
	ref_table 5 ct && REF_CT=1
	ref_table 6 ft && REF_FT=1
fi

PART=0
if [ "$BREAKDOWN" = 1 ] && [ "$HAVE_NFT" = 1 ] && [ "$TABLE" = 1 ]; then
	part_table 7 nat-pre nat-out nat-post && part_table 8 raw-pre && PART=1
fi

for p in n1 n2 n3 n4 br $([ "$REF_CT" = 1 ] && echo n5) $([ "$REF_FT" = 1 ] && echo n6) \
	$([ "$PART" = 1 ] && echo n7 n8); do
	server_start "$p" || exit 1
done

if [ "$TABLE" = 1 ]; then
	printf '   nft rules in table inet petrel: node 1 %s, node 2 %s, node 3 %s; node 4: %s\n' \
		"$(node_rules 1)" "$(node_rules 2)" "$(node_rules 3)" \
		"$(node_has_table 4 && echo "a table!" || echo "no table, no felix")"
else
	echo "   felix programmed no nftables table (node 1)"
fi
[ "$POLICY" = 1 ] || echo "   (policies not applied: ${POLICY_WHY:-?})"

for ((session = 1; session <= SESSIONS; session++)); do
	echo
	echo "   session $session"
	row_head
	compare "A/A: node 1 vs node 2 (identical)" n1 n2 within "+-0.5 %"
	if [ "$CMP_OK" = 1 ]; then
		echo "   A/A control within +-0.5 % in every mode: yes"
	else
		echo "   A/A control within +-0.5 % in every mode: no$([ $session -lt "$SESSIONS" ] && echo ", session repeated")"
		[ $session -lt "$SESSIONS" ] && continue
		echo "   (no session passed its control: the figures below carry that much noise)"
	fi
	if [ "$POLICY" = 1 ] && [ "$TABLE" = 1 ]; then
		compare "rules: 10 (A) vs 1,000 (B)" n1 n3 within "no diff. beyond 0.5 %"
		compare "table: none (A) vs petrel's (B)" n4 n1 le2 "<= 1.02"
	else
		echo "   rules, table: skipped (felix's nftables table: $([ "$TABLE" = 1 ] && echo yes || echo no), policies: $([ "$POLICY" = 1 ] && echo yes || echo no))"
	fi
	compare "bridge: petrel (A) vs bridge (B)" n1 br gt1 "> 1 (petrel faster)"
	compare "  petrel without table (A) vs bridge" n4 br none ""
	[ "$REF_CT" = 1 ] && compare "  conntrack only: none (A) vs ct (B)" n4 n5 none ""
	[ "$REF_FT" = 1 ] && compare "  none (A) vs ct + flowtable (B)" n4 n6 none ""
	if [ "$PART" = 1 ]; then
		compare "  none (A) vs petrel's minus nat-*" n4 n7 none ""
		compare "  none (A) vs petrel's minus raw-pre" n4 n8 none ""
	fi
	break
done
cat <<EOF

   notes: abpath (tests/bench/abpath.c) alternates single transactions A B B
   A ... for $SECS s after 0.3 s of warm-up, at nice -20; B/A is the ratio
   of the mean transaction times (the mean of $RUNS runs' ratios; "runs"
   lists each), leaving out the disturbed transactions: those longer than
   10x the median (another task had the CPU: a time slice, ms, where a
   transaction takes tens of us), "dist.%" of them; "(plain)" is the same
   with every transaction.
   rr: 64-byte request and response on one connection; crr: connect, the
   same, close (RST); bulk: a 1 MiB request, 64-byte response. Nodes 1, 2
   and 4 were given 10 policy rules, node 3 1,000 (one policy selects the
   server, the others the $IDLE idle workloads of each node); node 4's felix
   was stopped and its table deleted after it made the workloads; node 5 is
   node 4 plus a one-rule table of ours that turns conntrack on (ct state
   established,related accept in forward), the part of petrel's cost that
   any stateful firewall pays; nodes 7 and 8 are node 1 with felix stopped
   and base chains of its table deleted (nat-pre, nat-out and nat-post;
   raw-pre). The bridge is Docker's shape without Docker's iptables rules
   (no br_netfilter here).
EOF
