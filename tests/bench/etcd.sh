#!/usr/bin/env bash
#
# Many machines (issue 11): petrel on etcd beside petrel on sqlite, in one
# run, on this machine. Printed, never pass/fail.
#
#   tests/bench/etcd.sh        (root; B=build by default; `make` first)
#   env: N (run/rm rounds, 100), A (allocations per client, 200),
#        K (watch-latency samples, 200), BIG (records for the resync, 10000),
#        ONLY=run (section 1 alone: a short before/after of run and rm)
#
#   1. `petrelctl run` (waits for felix) and `rm`: p50/p99 on etcd and on
#      sqlite, alternating round by round (the CPU's changes of speed hit
#      both alike). Goal: run on etcd within 1.5x of sqlite at p50.
#   1b. CNI ADD and DEL through the petrel plugin: p50/p99, etcd and sqlite.
#   2. Allocations per second through the petrel-ipam CNI plugin (one ADD =
#      one address assigned, recorded, and its handle), 1 and 8 clients at
#      once, each its own container IDs.
#   3. Watch latency: a workload record created by node ea (dsbench: the
#      commit's revision) until node eb's felix has applied that revision
#      (its status socket, asked in a loop). p50/p99; goal p50 < 10 ms.
#      The same between two nodes sharing one sqlite file.
#   4. felix's resync from the store at BIG endpoints (another node's:
#      listed, decoded, in its policy view; no kernel objects): its start
#      to ready, its lastResyncMs, its RSS; bytes and keys per endpoint.
#
# Topology (every address inside our namespaces; 198.18.0.0/15, RFC 2544):
#
#   pt-<id>-ea, -eb (felix on etcd)     pt-<id>-sa, -sb (felix on sqlite,
#        | et0 (etcd_attach)             one database file in $TMP)
#   pt-<id>-etcd (the LAN) -- pt-<id>-e{1,2,3}: a 3-member etcd cluster
#
set -u
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
PT_QUIET=1
. "$HERE/../lib.sh"
N=${N:-100}
A=${A:-200}
K=${K:-200}
BIG=${BIG:-10000}
pt_init bet	# pt-betXXXX-wea-: workloadNetnsPrefix is at most 16 characters
. "$HERE/../lib_etcd.sh"
DSBENCH="$B/bench/dsbench"
IPAMPLUG="$B/petrel-ipam"
CNIPLUG="$B/petrel"
pt_need_bins "$PETRELCTL" "$FELIX" "$DSBENCH" "$IPAMPLUG" "$CNIPLUG"
command -v "$ETCD_BIN" >/dev/null || { echo "bench: no etcd (make deps: etcd-server)" >&2; exit 1; }

hr() { printf '%s\n' "------------------------------------------------------------------------------"; }
# pct FILE P: the P-th percentile of the numbers in FILE (microseconds)
pct() { sort -n "$1" 2>/dev/null | awk -v p="$2" '{ a[NR] = $1 } END { if (NR) { i = int((NR - 1) * p / 100) + 1; print a[i] } else print 0 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
err() { echo "$*" >>"$TMP/errors"; }

etcd_cluster_start 3 || { echo "bench: the etcd cluster did not start" >&2; exit 1; }
URL_E="etcd:$ETCD_ENDPOINTS"
URL_S="sqlite:$TMP/petrel.db"

# node NAME URL IP: its namespace, its config, its felix (pid in PID_<NAME>).
node() {
	local n=$1 url=$2 ns="pt-$ID-$1"
	ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "bench: netns $ns" >&2; exit 1; }
	case $url in etcd:*) etcd_attach "$ns" || exit 1 ;; esac
	mkdir -p "$TMP/$n/run"
	cat >"$TMP/$n/petrel.yaml" <<EOF
node: $n
datastore: $url
runDir: $TMP/$n/run
netns: $ns
workloadNetnsPrefix: pt-$ID-w$n-
bgp:
  address: $3
bird:
  config: $TMP/$n/bird.conf
  socket: $TMP/$n/bird.ctl
EOF
	"$FELIX" -c "$TMP/$n/petrel.yaml" >>"$TMP/$n/felix.log" 2>&1 &
	PT_PIDS+=($!)
	printf -v "PID_$n" %s $!
}
# nctl NAME ARGS...: petrelctl of node NAME, inside its namespace (so that
# the etcd LAN is reachable whatever petrelctl enters itself).
nctl() {
	local n=$1
	shift
	nsenter --net="/run/netns/pt-$ID-$n" "$PETRELCTL" -c "$TMP/$n/petrel.yaml" "$@"
}
ready() { wait_for 300 0.1 nctl "$1" status; }

node ea "$URL_E" 192.0.2.11
node eb "$URL_E" 192.0.2.12
node sa "$URL_S" 192.0.2.21
node sb "$URL_S" 192.0.2.22
for n in ea eb sa sb; do
	ready "$n" || { echo "bench: felix of $n did not answer" >&2; tail -n 20 "$TMP/$n/felix.log" >&2; exit 1; }
done
nctl ea pool create p1 --cidr 10.65.0.0/16 >/dev/null &&
	nctl sa pool create p1 --cidr 10.65.0.0/16 >/dev/null ||
	{ echo "bench: pool create failed" >&2; exit 1; }

echo "petrel on etcd (3 members, one namespace each) beside petrel on sqlite ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(etcd --version 2>/dev/null | head -n1))"
hr

# --- 1. run / rm -----------------------------------------------------------
timed() { # SERIES CMD...
	local t0 t1
	t0=${EPOCHREALTIME/./}
	"${@:2}" >/dev/null 2>>"$TMP/errors" || err "$1: ${*:2}"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$TMP/t.$1"
}
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then order="ea sa"; else order="sa ea"; fi
	for n in $order; do timed "run_${n:0:1}" nctl "$n" run --name "w$i"; done
done
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then order="ea sa"; else order="sa ea"; fi
	for n in $order; do timed "rm_${n:0:1}" nctl "$n" rm "w$i"; done
done
row() { printf '   %-44s %8s %8s\n' "$1" "$(ms "$(pct "$TMP/t.$2" 50)")" "$(ms "$(pct "$TMP/t.$2" 99)")"; }
rrow() { printf '   %-44s %8s %8s\n' "$1" "$(ratio "$(pct "$TMP/t.$2" 50)" "$(pct "$TMP/t.$3" 50)")" \
	"$(ratio "$(pct "$TMP/t.$2" 99)" "$(pct "$TMP/t.$3" 99)")"; }
printf '   %-44s %8s %8s\n' "1. petrelctl, N=$N each (ms)" p50 p99
row "run (waits for felix), etcd" run_e
row "run (waits for felix), sqlite" run_s
rrow "ratio etcd / sqlite" run_e run_s
row "rm, etcd" rm_e
row "rm, sqlite" rm_s
rrow "ratio etcd / sqlite" rm_e rm_s
r=$(awk -v a="$(pct "$TMP/t.run_e" 50)" -v b="$(pct "$TMP/t.run_s" 50)" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print 99 }')
printf '   target %-36s %6sx  (goal <= 1.5x: %s)\n' "run p50, etcd / sqlite" "$r" \
	"$(awk -v r="$r" 'BEGIN { print (r <= 1.5) ? "met" : "not met" }')"
echo
if [ "${ONLY:-}" = run ]; then
	[ -s "$TMP/errors" ] && { echo "   (errors: $(wc -l <"$TMP/errors"))"; head -n 5 "$TMP/errors" | sed 's/^/     /'; }
	hr
	exit 0
fi

# --- 1b. CNI ADD / DEL ------------------------------------------------------
# The petrel CNI plugin (waits for felix), a namespace of its own per ADD
# (made and deleted untimed), alternating etcd and sqlite round by round.
for n in ea sa; do
	printf '{"cniVersion":"1.0.0","name":"petrel","type":"petrel","petrelConfig":"%s"}\n' \
		"$TMP/$n/petrel.yaml" >"$TMP/cni.$n.json"
done
cni() { # NODE CMD I
	CNI_COMMAND=$2 CNI_CONTAINERID="cn$1$3" CNI_NETNS="/run/netns/pt-$ID-c$1$3" CNI_IFNAME=eth0 \
		CNI_PATH=/usr/lib/cni nsenter --net="/run/netns/pt-$ID-$1" "$CNIPLUG" \
		<"$TMP/cni.$1.json" >"$TMP/cni.out" 2>>"$TMP/errors" ||
		err "cni $2 $1 $3: $(jq -r .msg "$TMP/cni.out" 2>/dev/null)"
}
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then order="ea sa"; else order="sa ea"; fi
	for n in $order; do
		ip netns add "pt-$ID-c$n$i" || err "netns add c$n$i"
		timed "cadd_${n:0:1}" cni "$n" ADD "$i"
	done
done
for ((i = 1; i <= N; i++)); do
	if ((i % 2)); then order="ea sa"; else order="sa ea"; fi
	for n in $order; do
		timed "cdel_${n:0:1}" cni "$n" DEL "$i"
		ip netns del "pt-$ID-c$n$i" || err "netns del c$n$i"
	done
done
printf '   %-44s %8s %8s\n' "1b. CNI (petrel plugin), N=$N each (ms)" p50 p99
row "ADD (waits for felix), etcd" cadd_e
row "ADD (waits for felix), sqlite" cadd_s
rrow "ratio etcd / sqlite" cadd_e cadd_s
row "DEL, etcd" cdel_e
row "DEL, sqlite" cdel_s
rrow "ratio etcd / sqlite" cdel_e cdel_s
echo

# --- 2. allocations per second ---------------------------------------------
printf '{"cniVersion":"1.0.0","name":"petrel","type":"ptp","ipam":{"type":"petrel-ipam","petrelConfig":"%s"}}\n' \
	"$TMP/ea/petrel.yaml" >"$TMP/ipam.e.json"
printf '{"cniVersion":"1.0.0","name":"petrel","type":"ptp","ipam":{"type":"petrel-ipam","petrelConfig":"%s"}}\n' \
	"$TMP/sa/petrel.yaml" >"$TMP/ipam.s.json"
alloc_client() { # KIND CLIENT COUNT
	local i
	for ((i = 1; i <= $3; i++)); do
		CNI_COMMAND=ADD CNI_CONTAINERID="al$1c$2n$i" CNI_NETNS=/run/netns/none CNI_IFNAME=eth0 \
			CNI_PATH=/usr/lib/cni nsenter --net="/run/netns/pt-$ID-${1}a" "$IPAMPLUG" \
			<"$TMP/ipam.$1.json" >"$TMP/ipam.$1.$2.out" 2>>"$TMP/errors" ||
			err "ipam ADD $1 c$2 $i: $(jq -r .msg "$TMP/ipam.$1.$2.out" 2>/dev/null)"
	done
}
alloc() { # KIND CLIENTS: prints allocations per second
	local t0 t1 c pids=()
	t0=${EPOCHREALTIME/./}
	for ((c = 1; c <= $2; c++)); do
		alloc_client "$1" "$2.$c" $((A / $2)) &
		pids+=($!)
	done
	wait "${pids[@]}"
	t1=${EPOCHREALTIME/./}
	awk -v n=$(( ($2) * (A / $2) )) -v us=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (us / 1e6) }'
}
printf '   %-44s %8s %8s\n' "2. allocations per second (A=$A)" etcd sqlite
for c in 1 8; do
	e=$(alloc e $c)
	s=$(alloc s $c)
	printf '   %-44s %8s %8s   (etcd/sqlite %s)\n' "$c client(s) at once" "$e" "$s" \
		"$(awk -v a="$e" -v b="$s" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
done
echo

# --- 3. watch latency ------------------------------------------------------
nctl ea run --name tmpl >/dev/null 2>>"$TMP/errors" || err "run tmpl ea"
nctl sa run --name tmpl >/dev/null 2>>"$TMP/errors" || err "run tmpl sa"
nsenter --net="/run/netns/pt-$ID-ea" "$DSBENCH" "$URL_E" lat ea tmpl "$TMP/eb/run/felix.sock" "$K" \
	>"$TMP/t.lat_e" 2>>"$TMP/errors" || err "dsbench lat etcd"
"$DSBENCH" "$URL_S" lat sa tmpl "$TMP/sb/run/felix.sock" "$K" \
	>"$TMP/t.lat_s" 2>>"$TMP/errors" || err "dsbench lat sqlite"
printf '   %-44s %8s %8s\n' "3. watch latency, K=$K (ms)" p50 p99
row "node ea's write -> node eb applied, etcd" lat_e
row "node sa's write -> node sb applied, sqlite" lat_s
r=$(ms "$(pct "$TMP/t.lat_e" 50)")
printf '   target %-36s %6s ms (goal < 10 ms: %s)\n' "etcd watch latency p50" "$r" \
	"$(awk -v r="$r" 'BEGIN { print (r < 10) ? "met" : "not met" }')"
echo

# --- 4. resync at BIG endpoints --------------------------------------------
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
db0=$(etcdctl_pt endpoint status -w json 2>/dev/null | jq '[.[].Status.dbSize] | max')
be=$(nsenter --net="/run/netns/pt-$ID-ea" "$DSBENCH" "$URL_E" bulk ea tmpl "$BIG" 2>>"$TMP/errors")
bs=$("$DSBENCH" "$URL_S" bulk sa tmpl "$BIG" 2>>"$TMP/errors")
db1=$(etcdctl_pt endpoint status -w json 2>/dev/null | jq '[.[].Status.dbSize] | max')
resync() { # NODE: restarts its felix; prints "start-to-ready-ms lastResyncMs rss-kB"
	local n=$1 pidv="PID_$1" t0 t1 p
	kill -TERM "${!pidv}" 2>/dev/null
	wait_for 100 0.1 pt_dead "${!pidv}"
	pt_forget "${!pidv}"
	t0=${EPOCHREALTIME/./}
	"$FELIX" -c "$TMP/$n/petrel.yaml" >>"$TMP/$n/felix.log" 2>&1 &
	p=$!
	PT_PIDS+=("$p")
	printf -v "PID_$n" %s "$p"
	wait_for 600 0.05 sh -c "nsenter --net=/run/netns/pt-$ID-$n '$PETRELCTL' -c '$TMP/$n/petrel.yaml' -o json status 2>/dev/null | jq -e '.endpoints >= 0' >/dev/null"
	t1=${EPOCHREALTIME/./}
	sleep 1
	echo "$(( (t1 - t0) / 1000 )) $(nctl "$n" -o json status 2>/dev/null | jq -r '.lastResyncMs') $(rss "$p")"
}
read -r re_ready re_sync re_rss < <(resync eb)
read -r rs_ready rs_sync rs_rss < <(resync sb)
printf '   %-44s %8s %8s\n' "4. felix resync, $BIG other node's endpoints" etcd sqlite
printf '   %-44s %8s %8s\n' "start to status answering (ms)" "$re_ready" "$rs_ready"
printf '   %-44s %8s %8s\n' "its resync, lastResyncMs" "$re_sync" "$rs_sync"
printf '   %-44s %8s %8s\n' "RSS (kB)" "$re_rss" "$rs_rss"
printf '   %-44s %s; %s\n' "written (keys, bytes of keys+values):" "etcd $be" "sqlite $bs"
[ -n "$db0" ] && [ -n "$db1" ] &&
	printf '   %-44s %s bytes per endpoint (bolt db growth, largest member)\n' "etcd's database:" \
		"$(awk -v a="$db0" -v b="$db1" -v n="$BIG" 'BEGIN { printf "%.0f", (b - a) / n }')"
printf '   target %-36s %6s ms (goal < 1000 ms: %s)\n' "resync from etcd at $BIG" "$re_sync" \
	"$(awk -v r="$re_sync" 'BEGIN { print (r + 0 < 1000) ? "met" : "not met" }')"
if [ -s "$TMP/errors" ]; then
	echo "   (errors: $(wc -l <"$TMP/errors"); what failed, and the messages, most frequent first:)"
	sed 's/[0-9][0-9]*/N/g' "$TMP/errors" | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/     /'
fi
hr
