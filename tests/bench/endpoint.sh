#!/usr/bin/env bash
#
# The timing loop of benchmark 1 (endpoint set-up and tear-down), run by
# tests/bench/run.sh inside the bench node's network namespace (`nsenter
# --net`, no new mount namespace, so that the namespaces made here are seen
# by everyone), because the CNI plugin puts its host end in the namespace it
# runs in. Not meant to be run by hand: run.sh makes the node, starts felix,
# and removes every pt-<id>- namespace and the temp dir afterwards.
#
#   +------------------------------ pt-<id>-node ---------------------------------+
#   | felix    ptl<wa_i>, ptl<wn_i>  (petrelctl run, 10.65.0.0/16)                 |
#   |          veth<rnd>             (CNI ptp + host-local, 10.99.0.0/16)          |
#   |          ipbb<i>, ipbe<i>      (ip -batch, 10.97/10.98.0.0/16, proto static) |
#   +--|-----------|------------------|--------------|-----------------------------+
#      pt-<id>-w-wa<i>  pt-<id>-w-wn<i>  pt-<id>-c<i>  pt-<id>-b<i>, pt-<id>-e<i>
#
# Each round i makes one endpoint of each kind, one after the other (so
# that the CPU's changes of speed hit all kinds alike); then each round
# removes them. Every command is timed alone, from the shell, so each time
# includes one fork+exec -- the same for all. Times in microseconds, one a
# line, to $TMP/t.<series>; failures to $TMP/t.errors.
#
# Series:  run_wait run_nowait ptp_add ipb_add_ns ipb_add
#          rm_wait  rm_nowait  ptp_del ipb_del_ns ipb_del
set -u
export LC_ALL=C		# EPOCHREALTIME with a dot
: "${PETRELCTL:?}" "${CONF:?}" "${ID:?}" "${TMP:?}" "${N:?}"
CNI_DIR=/usr/lib/cni
T="$TMP/t"
mkdir -p "$TMP/hl" "$TMP/ipb"
rm -f "$T".*

cat >"$TMP/ptp.json" <<EOF
{"cniVersion":"1.0.0","name":"ptbench","type":"ptp","ipMasq":false,
 "ipam":{"type":"host-local","subnet":"10.99.0.0/16","dataDir":"$TMP/hl"}}
EOF

err() { echo "$*" >>"$T.errors"; }

# Bounded (2 s) untimed wait until felix has programmed every endpoint it
# holds and holds $1 of them (after a --no-wait run or rm).
settle() {
	local i s e p
	for ((i = 0; i < 200; i++)); do
		s=$("$PETRELCTL" -c "$CONF" -o json status 2>/dev/null | tr -d ' \n')
		e=x p=y
		[[ $s =~ \"endpoints\":([0-9]+) ]] && e=${BASH_REMATCH[1]}
		[[ $s =~ \"programmed\":([0-9]+) ]] && p=${BASH_REMATCH[1]}
		[ "$e" = "$1" ] && [ "$p" = "$1" ] && return 0
		sleep 0.01
	done
	err "settle: felix never reached $1 programmed endpoints: $s"
}

# The ip -batch files, written before any timing. Kind b makes its
# namespace inside the batch (ip -batch saves and restores its own), kind e
# finds it made.
for ((i = 1; i <= N; i++)); do
	hi=$((i / 256)) lo=$((i % 256))
	for k in b e; do
		if [ $k = b ]; then net=10.97; else net=10.98; fi
		mac=$(printf '02:00:00:%02x:%02x:%02x' "$([ $k = b ] && echo 11 || echo 22)" $hi $lo)
		{
			[ $k = b ] && echo "netns add pt-$ID-b$i"
			echo "link add ipb$k$i type veth peer name eth0 address $mac netns pt-$ID-$k$i"
			echo "link set ipb$k$i up"
			echo "route add $net.$hi.$lo/32 dev ipb$k$i scope link proto static"
			echo "neigh add $net.$hi.$lo lladdr $mac dev ipb$k$i nud permanent"
		} >"$TMP/ipb/host.$k$i"
		{
			echo "link set lo up"
			echo "addr add $net.$hi.$lo/32 dev eth0"
			echo "link set eth0 up"
			echo "route add 169.254.1.1 dev eth0 scope link"
			echo "route add default via 169.254.1.1 dev eth0"
		} >"$TMP/ipb/wl.$k$i"
	done
done

ptp() { # COMMAND i
	CNI_COMMAND=$1 CNI_CONTAINERID="ptbench$2" CNI_NETNS="/run/netns/pt-$ID-c$2" \
		CNI_IFNAME=eth0 CNI_PATH=$CNI_DIR "$CNI_DIR/ptp" <"$TMP/ptp.json" >/dev/null 2>>"$T.errors"
}

for ((i = 1; i <= N; i++)); do
	t0=${EPOCHREALTIME/./}
	"$PETRELCTL" -c "$CONF" run --name "wa$i" >/dev/null 2>>"$T.errors" || err "run wa$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.run_wait"

	t0=${EPOCHREALTIME/./}
	"$PETRELCTL" -c "$CONF" run --name "wn$i" --no-wait >/dev/null 2>>"$T.errors" || err "run wn$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.run_nowait"
	settle $((2 * i))

	ip netns add "pt-$ID-c$i" || err "netns add c$i failed"
	t0=${EPOCHREALTIME/./}
	ptp ADD "$i" || err "ptp ADD $i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.ptp_add"

	t0=${EPOCHREALTIME/./}
	{ ip -batch "$TMP/ipb/host.b$i" && ip -n "pt-$ID-b$i" -batch "$TMP/ipb/wl.b$i"; } ||
		err "ip -batch b$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.ipb_add_ns"

	ip netns add "pt-$ID-e$i" || err "netns add e$i failed"
	t0=${EPOCHREALTIME/./}
	{ ip -batch "$TMP/ipb/host.e$i" && ip -n "pt-$ID-e$i" -batch "$TMP/ipb/wl.e$i"; } ||
		err "ip -batch e$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.ipb_add"
done

for ((i = 1; i <= N; i++)); do
	t0=${EPOCHREALTIME/./}
	"$PETRELCTL" -c "$CONF" rm "wa$i" >/dev/null 2>>"$T.errors" || err "rm wa$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.rm_wait"

	t0=${EPOCHREALTIME/./}
	"$PETRELCTL" -c "$CONF" rm "wn$i" --no-wait >/dev/null 2>>"$T.errors" || err "rm wn$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.rm_nowait"
	settle $((2 * (N - i)))

	t0=${EPOCHREALTIME/./}
	ptp DEL "$i" || err "ptp DEL $i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.ptp_del"
	ip netns del "pt-$ID-c$i"

	# The namespace goes, and its veth (and the host route) with it.
	t0=${EPOCHREALTIME/./}
	ip netns del "pt-$ID-b$i" || err "netns del b$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.ipb_del_ns"

	# The veth deleted on its own (the route goes with it).
	t0=${EPOCHREALTIME/./}
	ip link del "ipbe$i" || err "link del e$i failed"
	t1=${EPOCHREALTIME/./}
	echo $((t1 - t0)) >>"$T.ipb_del"
	ip netns del "pt-$ID-e$i"
done
exit 0
