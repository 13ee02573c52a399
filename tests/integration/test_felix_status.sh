#!/usr/bin/env bash
#
# felix's status server answers a reply of any size whole: `petrelctl nft`
# without a name on a table of well over the socket's buffer (~200 KB; the
# reply used to be one non-blocking send, cut short), read by a client that
# reads slowly; and a status client that keeps writing without end does not
# keep felix's loop from answering others (reads are bounded per turn).
#
#   +------------------------ pt-<id>-node ----------------------------+
#   | felix; table inet petrel with two policies of 256 rules of 64     |
#   | source nets each, both selecting workload a                       |
#   | up0 192.0.2.11/24 --veth-- pt-<id>-ext                            |
#   +-------------------------------------------------------------------+
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init fst
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat
pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
# The control: the whole table while it is small arrives.
expect_ok "petrelctl nft (a small table)" ctl nft

# big_pol NAME OCTET: 256 ingress rules of 64 /32 source nets each.
big_pol() {
	local name=$1 o=$2 r n nets
	{
		printf 'apiVersion: petrel/v1\nkind: NetworkPolicy\nmetadata: {name: %s}\n' "$name"
		printf 'spec:\n  selector: all()\n  ingress:\n'
		for ((r = 0; r < 256; r++)); do
			nets=
			for ((n = 0; n < 64; n++)); do
				nets+="${nets:+, }10.$o.$r.$((n * 3 + 1))/32"
			done
			printf '  - action: Allow\n    source: {nets: [%s]}\n' "$nets"
		done
	} >"$TMP/$name.yaml"
	expect_ok "policy apply $name (256 rules x 64 nets)" ctl policy apply -f "$TMP/$name.yaml"
}
big_pol big1 101
big_pol big2 102
expect_ok "run a (selected by both)" ctl run --name a

has_big() {
	ip netns exec "$NODE" nft list table inet petrel 2>/dev/null | grep -q '10\.102\.255\.'
}
wait_for 300 0.1 has_big || fail "felix programmed both policies" "no 10.102.255.x in the table"
KBYTES=$(( $(ip netns exec "$NODE" nft list table inet petrel | wc -c) / 1024 ))
echo "# the kernel's table: ${KBYTES} KB of nft text"

# The whole table: a reply far over the socket's buffer.
if expect_ok "petrelctl nft (the whole table, one reply)" ctl nft; then
	BYTES=$(printf '%s\n' "$OUT" | wc -c)
	echo "# petrelctl nft: $BYTES bytes"
	check "the reply is over 200 KB ($BYTES bytes)" test "$BYTES" -gt 204800
	check "the reply is whole: it has the last policy's last rule" \
		grep -q '10\.102\.255\.190' <<<"$OUT"
fi

# A slow reader: the raw reply through a pipe that is read in small
# gulps with pauses still arrives whole (one JSON line, ending in "}").
SOCK="$TMP/run/felix.sock"
{ printf '{"op":"nft"}\n'; sleep 30; } | socat -b 4096 - "UNIX-CONNECT:$SOCK" 2>/dev/null |
	{ while IFS= read -r -n 65536 chunk || [ -n "$chunk" ]; do printf '%s' "$chunk"; sleep 0.01; done; } \
	>"$TMP/slow.json" &
slow_pid=$!
PT_PIDS+=("$slow_pid")
wait_for 300 0.1 grep -q '"}$' "$TMP/slow.json"
check "a slow reader gets the whole reply ($(wc -c <"$TMP/slow.json") bytes, ok:true)" \
	sh -c "tail -c 2 '$TMP/slow.json' | grep -q '}' && head -c 12 '$TMP/slow.json' | grep -q '\"ok\":true'"
{ kill "$slow_pid"; reap "$slow_pid" 20; } 2>/dev/null

# A waiting client that then writes without end must not stop felix
# answering others (its bytes are read and dropped, a bounded number per
# loop turn, and after one request's worth felix drops the client): status
# answers, timed, while it floods, and the flooder is cut off.
bg sh -c "{ printf '{\"op\":\"wait\",\"endpoint\":\"a\",\"revision\":999999999,\"timeoutMs\":60000}\\n'; exec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; } | socat -b 65536 -u - UNIX-CONNECT:$SOCK" 2>/dev/null
flood_pid=$BG_PID
sleep 1
t0=$(date +%s%N)
expect_ok "status answers while a waiting client floods the socket" ctl status
echo "# status took $(( ($(date +%s%N) - t0) / 1000000 )) ms during the flood"
expect_ok "run b answers (routes and waits) while the flood goes on" ctl run --name b
check "felix dropped the flooding client (its socat ended)" wait_for 100 0.1 pt_dead "$flood_pid"
{ kill "$flood_pid"; reap "$flood_pid" 20; } 2>/dev/null
pt_end
