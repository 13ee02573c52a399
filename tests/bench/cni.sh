#!/usr/bin/env bash
#
# CNI ADD and DEL latency (issue 5): the `petrel` plugin beside the
# reference `ptp` + `host-local`, p50/p99 over N containers (N=200; env N),
# in the same run, then where petrel's time goes. Printed, never pass/fail.
#
#   tests/bench/cni.sh          (root; B=build by default; `make` first)
#
# Method. One node namespace with felix (tests/lib.sh pt_node). The loop
# runs inside the node's network namespace (nsenter --net, as
# tests/bench/run.sh does: ptp puts its host end in the namespace it runs
# in; petrel enters the node's namespace itself, from its config). Each
# container's namespace is made with `ip netns add` before its ADD and
# deleted after its DEL, outside the timed part, for both plugins alike.
# Round i makes three containers, in an order that rotates with i (so
# that the CPU's changes of speed hit all kinds alike): petrel ADD (it
# waits for felix to program the route, as it does by default), petrel
# ADD with "noWait": true, ptp ADD (which runs host-local); then round i
# deletes them, rotating again. Each command is timed alone from the shell
# (wall clock, one fork+exec each; ptp's includes host-local's).
#
# Where petrel's time goes (measured, not guessed): the floor of starting
# each program (VERSION, 30 runs), the noWait series (what waiting for
# felix costs), and K=20 more ADD/DEL pairs under `perf trace` (kernel
# tracepoints, no ptrace stops) of a few marker system calls: start-up
# (until uname, which follows the reading of the config file), fsync
# (fdatasync: datastore commits), netlink requests (sendto of rtnetlink
# messages: the kernel's work on links, addresses, routes), felix's
# confirmation (poll on its status socket), and the rest (user-space work:
# JSON, YAML, SQL, and the untraced calls). `strace -c -f` of one ADD and
# one DEL gives the system call counts.
#
#   +--------------------------- pt-<id>-node ----------------------------+
#   | felix   up0 192.0.2.11/24                                            |
#   | ptl<hex> (petrel, 10.65.0.0/16)   veth<rnd> (ptp, 10.99.0.0/16)      |
#   +---|-------------------------------|----------------------------------+
#   pt-<id>-a<i>, pt-<id>-n<i>      pt-<id>-p<i>      pt-<id>-t<k> (traced)
#
set -u
export LC_ALL=C		# EPOCHREALTIME with a dot

# ==========================================================================
# The loop (run as `cni.sh --loop`, inside the node's namespace)
# ==========================================================================
if [ "${1:-}" = --loop ]; then
	: "${PETREL:?}" "${ID:?}" "${TMP:?}" "${N:?}" "${K:?}"
	CNI_DIR=/usr/lib/cni
	T="$TMP/t"
	rm -f "$T".*
	err() { echo "$*" >>"$T.errors"; }
	# run KIND CMD i: one plugin run; petrel's output is checked (exit 0).
	run() {
		local conf cid ns plugin
		case $1 in
		a) plugin=$PETREL conf=$TMP/petrel.json cid=pa$3 ns=a$3 ;;
		n) plugin=$PETREL conf=$TMP/petrel-nowait.json cid=pn$3 ns=n$3 ;;
		p) plugin=$CNI_DIR/ptp conf=$TMP/ptp.json cid=pp$3 ns=p$3 ;;
		esac
		CNI_COMMAND=$2 CNI_CONTAINERID=$cid CNI_NETNS="/run/netns/pt-$ID-$ns" \
			CNI_IFNAME=eth0 CNI_PATH=$CNI_DIR "$plugin" <"$conf" >"$TMP/out" 2>>"$T.errors" ||
			err "$1 $2 $3: $(head -c 300 "$TMP/out")"
	}
	timed() { # SERIES KIND CMD i
		local t0 t1
		t0=${EPOCHREALTIME/./}
		run "$2" "$3" "$4"
		t1=${EPOCHREALTIME/./}
		echo $((t1 - t0)) >>"$T.$1"
	}
	kinds=(a n p)
	for ((i = 1; i <= N; i++)); do
		for k in a n p; do
			ip netns add "pt-$ID-$k$i" || err "netns add $k$i"
		done
		for ((j = 0; j < 3; j++)); do
			k=${kinds[(i + j) % 3]}
			timed "add_$k" "$k" ADD "$i"
		done
	done
	for ((i = 1; i <= N; i++)); do
		for ((j = 0; j < 3; j++)); do
			k=${kinds[(i + j) % 3]}
			timed "del_$k" "$k" DEL "$i"
		done
		for k in a n p; do
			ip netns del "pt-$ID-$k$i" || err "netns del $k$i"
		done
	done
	# The traced sample: marker system calls only (see the top).
	marks=execve,uname,bind,sendto,fdatasync,fsync,poll,exit_group
	for c in ADD DEL; do
		for ((i = 1; i <= K; i++)); do
			[ $c = ADD ] && { ip netns add "pt-$ID-t$i" || err "netns add t$i"; }
			CNI_COMMAND=$c CNI_CONTAINERID=pt$i CNI_NETNS="/run/netns/pt-$ID-t$i" CNI_IFNAME=eth0 \
				perf trace -o "$TMP/pt.$c.$i" -e "$marks" -- "$PETREL" <"$TMP/petrel.json" \
				>/dev/null 2>>"$T.errors" || err "traced $c $i"
			[ $c = DEL ] && ip netns del "pt-$ID-t$i"
		done
	done
	# System call counts of one more ADD and DEL.
	ip netns add "pt-$ID-tc" || err "netns add tc"
	for c in ADD DEL; do
		CNI_COMMAND=$c CNI_CONTAINERID=ptc CNI_NETNS="/run/netns/pt-$ID-tc" CNI_IFNAME=eth0 \
			strace -f -c -o "$TMP/st.count.$c" "$PETREL" <"$TMP/petrel.json" >/dev/null 2>>"$T.errors" ||
			err "counted $c"
	done
	ip netns del "pt-$ID-tc"
	exit 0
fi

# ==========================================================================
# Set-up, then the loop, then the figures
# ==========================================================================
HERE=$(cd "$(dirname "$0")" && pwd)
PT_QUIET=1
# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh"
N=${N:-200}
K=${K:-20}
pt_init bcni-
PETREL="$B/petrel"
pt_need_bins "$PETRELCTL" "$FELIX" "$PETREL"
cp "$PETREL" "$TMP/bin/" && PETREL="$TMP/bin/petrel"
for t in /usr/lib/cni/ptp /usr/lib/cni/host-local; do
	[ -x "$t" ] || { echo "bench: $t missing (make deps: containernetworking-plugins)" >&2; exit 1; }
done
for t in strace perf; do
	command -v $t >/dev/null || { echo "bench: $t missing" >&2; exit 1; }
done

# --- statistics (as in tests/bench/run.sh) ---
# pct FILE P: the P-th percentile (nearest rank) of the microseconds in FILE.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'
}
ms() { awk -v u="$1" 'BEGIN { if (u == "nan") print "-"; else printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0 || a == "nan" || b == "nan") print "-"; else printf "%.1fx", a / b }'; }
hr() { printf '%s\n' "------------------------------------------------------------------------------"; }

pt_node
felix_start
felix_wait_ready || { echo "bench: felix did not answer" >&2; tail -n 20 "$FELIX_LOG" >&2; exit 1; }
ctl pool create p1 --cidr 10.65.0.0/16 >/dev/null || { echo "bench: pool create failed" >&2; exit 1; }
mkdir -p "$TMP/hl"
printf '{"cniVersion":"1.0.0","name":"petrel","type":"petrel","petrelConfig":"%s"}\n' "$CONF" >"$TMP/petrel.json"
printf '{"cniVersion":"1.0.0","name":"petrel","type":"petrel","petrelConfig":"%s","noWait":true}\n' "$CONF" >"$TMP/petrel-nowait.json"
cat >"$TMP/ptp.json" <<EOF
{"cniVersion":"1.0.0","name":"ptbench","type":"ptp","ipMasq":false,
 "ipam":{"type":"host-local","subnet":"10.99.0.0/16","dataDir":"$TMP/hl"}}
EOF

echo "CNI ADD/DEL latency: petrel beside ptp + host-local, N=$N each ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r))"
hr

# What starting each program costs here, doing nothing (VERSION).
floor() { # SERIES CMD...: 30 runs
	local i t0 t1 s=$1
	shift
	for ((i = 0; i < 30; i++)); do
		t0=${EPOCHREALTIME/./}
		CNI_COMMAND=VERSION "$@" >/dev/null 2>&1 <"$TMP/petrel.json"
		t1=${EPOCHREALTIME/./}
		echo $((t1 - t0)) >>"$TMP/floor.$s"
	done
}
floor true /bin/true
floor petrel "$PETREL"
floor ptp /usr/lib/cni/ptp
floor hostlocal /usr/lib/cni/host-local

t_start=${EPOCHREALTIME/./}
# In the background, so that a signal to this script is handled at once.
PETREL="$PETREL" ID="$ID" TMP="$TMP" N="$N" K="$K" \
	nsenter --net="/run/netns/$NODE" bash "$HERE/cni.sh" --loop &
loop_pid=$!
PT_PIDS+=("$loop_pid")
wait "$loop_pid"
pt_forget "$loop_pid"
t_end=${EPOCHREALTIME/./}
if [ -s "$TMP/t.errors" ]; then
	echo "   (errors during the loop: $(wc -l <"$TMP/t.errors"), first 5:)"
	head -n 5 "$TMP/t.errors" | sed 's/^/     /'
fi

row() { # LABEL SERIES
	printf '   %-40s %8s %8s\n' "$1" "$(ms "$(pct "$TMP/t.$2" 50)")" "$(ms "$(pct "$TMP/t.$2" 99)")"
}
rrow() { # LABEL NUM DEN
	printf '   %-40s %8s %8s\n' "$1" "$(ratio "$(pct "$TMP/t.$2" 50)" "$(pct "$TMP/t.$3" 50)")" \
		"$(ratio "$(pct "$TMP/t.$2" 99)" "$(pct "$TMP/t.$3" 99)")"
}
printf '   %-40s %8s %8s\n' "(ms, namespace made/deleted untimed)" p50 p99
row "petrel ADD (waits for felix)" add_a
row "petrel ADD, noWait" add_n
row "ptp + host-local ADD" add_p
rrow "ratio ptp ADD / petrel ADD" add_p add_a
rrow "ratio ptp ADD / petrel ADD noWait" add_p add_n
echo
row "petrel DEL" del_a
row "petrel DEL (of the noWait ones)" del_n
row "ptp + host-local DEL" del_p
rrow "ratio ptp DEL / petrel DEL" del_p del_a
echo
target() { # WHAT NUM DEN
	local r
	r=$(awk -v a="$(pct "$TMP/t.$2" 50)" -v b="$(pct "$TMP/t.$3" 50)" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print 0 }')
	printf '   target %-38s %6sx  (goal >= 10x: %s)\n' "$1" "$r" \
		"$(awk -v r="$r" 'BEGIN { print (r >= 10) ? "met" : "not met" }')"
}
target "ADD p50, ptp / petrel" add_p add_a
target "DEL p50, ptp / petrel" del_p del_a
hr

# --- where petrel's time goes ---
echo "where petrel's time goes (p50 ms; K=$K traced runs each)"
printf '   %-44s %s\n' "starting a program, doing nothing:" \
	"/bin/true $(ms "$(pct "$TMP/floor.true" 50)"), petrel $(ms "$(pct "$TMP/floor.petrel" 50)"), ptp $(ms "$(pct "$TMP/floor.ptp" 50)"), host-local $(ms "$(pct "$TMP/floor.hostlocal" 50)")"
printf '   %-44s %s ms (ADD - ADD noWait, p50s)\n' "waiting for felix (untraced):" \
	"$(awk -v a="$(pct "$TMP/t.add_a" 50)" -v b="$(pct "$TMP/t.add_n" 50)" 'BEGIN { printf "%.2f", (a - b) / 1000 }')"
# phases FILE...: per `perf trace` output, one line of milliseconds: total
# (to exit_group), start-up (to uname: the config file is read right
# before), fsync, netlink requests (sendto without flags: rtnetlink;
# felix's request has flags), felix wait (poll), the rest.
phases() {
	awk '
	function flush() { if (en) printf "%.3f %.3f %.3f %.3f %.3f %.3f\n", en, un, fs, nl, wt, en - un - fs - nl - wt }
	FNR == 1 { flush(); en = un = fs = nl = wt = 0 }
	{
		d = 0
		if (match($0, /\( *[0-9.]+ ms\)/)) { x = substr($0, RSTART + 1); sub(/ ms.*/, "", x); d = x + 0 }
		if (!match($0, /\/[0-9]+ [a-z_0-9]+\(/)) next
		n = substr($0, RSTART, RLENGTH - 1); sub(/.* /, "", n)
		if (n == "uname" && !un) un = $1 + d
		else if (n == "fdatasync" || n == "fsync") fs += d
		else if (n == "sendto" && $0 !~ /flags:/) nl += d
		else if (n == "poll") wt += d
		else if (n == "exit_group") en = $1
	}
	END { flush() }' "$@"
}
# col FILE N: the p50 of column N (milliseconds, printed as such)
col() { awk -v c="$2" '{ printf "%d\n", $c * 1000 }' "$1" >"$TMP/col"; ms "$(pct "$TMP/col" 50)"; }
for c in ADD DEL; do
	phases "$TMP"/pt.$c.* >"$TMP/ph.$c" 2>/dev/null
	if [ ! -s "$TMP/ph.$c" ]; then
		echo "   petrel $c: no perf trace output (perf trace unavailable?)"
		continue
	fi
	printf '   %-44s total %s = start-up %s + fsync %s + netlink %s\n' \
		"petrel $c under perf trace ($(wc -l <"$TMP/ph.$c") runs):" "$(col "$TMP/ph.$c" 1)" \
		"$(col "$TMP/ph.$c" 2)" "$(col "$TMP/ph.$c" 3)" "$(col "$TMP/ph.$c" 4)"
	printf '   %-44s   + felix wait %s + the rest %s\n' "" "$(col "$TMP/ph.$c" 5)" "$(col "$TMP/ph.$c" 6)"
done
for c in ADD DEL; do
	f="$TMP/st.count.$c"
	[ -s "$f" ] || continue
	printf '   %-44s %s calls; most: %s\n' "system calls of one $c (strace -c):" \
		"$(awk '$NF == "total" { print $4 }' "$f")" \
		"$(awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $4, $NF }' "$f" |
			sort -rn | head -6 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
done
cat <<EOF

   notes: wall clock from the shell, each including one fork+exec (ptp's
   also host-local's). Container namespaces are made before ADD and deleted
   after DEL, untimed, for all kinds. Per-phase figures are medians of each
   phase on its own (they need not add up to the median total); a traced
   run's total starts at perf's fork, before the exec. The loop took $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') s.
EOF
felix_stop TERM
hr
