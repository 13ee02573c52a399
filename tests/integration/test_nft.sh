#!/usr/bin/env bash
#
# felix's nftables table `inet petrel`: natOutgoing on and off (the far
# side sees the node's address, or the workload's); anti-spoofing (a
# workload sending from an address not its own is dropped, its own address
# works); foreign tables made before felix starts stay byte-identical
# through felix's start, traffic and restarts; a rule deleted or a set
# element added by hand is put right by felix (bounded wait); a TCP stream
# survives felix's restart (SIGTERM, then kill -9); `petrelctl nft NAME`
# shows the workload's chains.
#
#   +------------------------------ pt-<id>-node ---------------------------------+
#   | felix: table inet petrel                                                     |
#   | foreign: table ip pt_foreign (forward chain, a counter rule),                 |
#   |          table inet filter (input chain, a counter rule)                      |
#   | pools: p1 10.65.0.0/16, nat1 10.66.0.0/24 natOutgoing                          |
#   | up0 192.0.2.11/24 -----------------------veth----------------------+          |
#   +----|--------------------|--------------------|---------------------|----------+
#        |veth                |veth                |veth                 |
#   +----|------------+ +-----|-----------+ +-------|--------+ +---------|------------+
#   | a 10.65.x.x     | | n 10.66.0.10    | | b 10.65.y.y    | | pt-<id>-ext           |
#   | forges 10.65.   | | (natOutgoing    | |                | | dn0 192.0.2.1/24      |
#   | 99.99 and b's   | |  pool)          | |                | | routes 10.65/16 and   |
#   | address         | |                 | |                | | 10.66.0.0/24 via node |
#   +-----------------+ +-----------------+ +----------------+ | servers: who-am-I     |
#                                                              | 7070, a counter 7171  |
#                                                              +-----------------------+
set -u
. "$(dirname "$0")/../lib.sh"
pt_init nft
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft jq
# A resync every 3 s: a change by hand that felix does not hear of is put
# right at the latest then.
PT_CONF_EXTRA="resyncInterval: 3"
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
ip -n "$EXT" route add 10.66.0.0/24 via "$NODE_IP"
# Who connects (the far side's view of the source), and every peer logged.
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg ip netns exec "$EXT" socat TCP-LISTEN:7070,reuseaddr,fork \
	"SYSTEM:echo \$SOCAT_PEERADDR; echo \$SOCAT_PEERADDR >>$TMP/peers.tcp"
# A counter: one line every 0.05 s over one connection.
bg ip netns exec "$EXT" socat TCP-LISTEN:7171,reuseaddr,fork \
	'SYSTEM:i=0; while [ $i -lt 100000 ]; do echo $i; i=$((i + 1)); sleep 0.05; done'
nftn() { ip netns exec "$NODE" nft "$@"; }

# --- foreign tables, before felix ------------------------------------------------------
nftn -f - <<'EOF'
table ip pt_foreign {
	chain pt_fwd {
		type filter hook forward priority 10; policy accept;
		ip saddr 203.0.113.7 counter drop
	}
	chain pt_mine {
		tcp dport 9 counter accept
	}
}
table inet filter {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 9 counter accept
	}
}
EOF
foreign() { nftn list table ip pt_foreign; nftn list table inet filter; }
foreign >"$TMP/foreign.0"
if ! grep -q 'ip saddr 203.0.113.7 counter' "$TMP/foreign.0" ||
	! grep -q 'tcp dport 9 counter' "$TMP/foreign.0"; then
	fail "foreign tables made (pt_foreign, inet filter)" "$(pt_oneline <"$TMP/foreign.0")"
	exit 1
fi
pass "foreign tables made (pt_foreign, inet filter)"

felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "pool create nat1 10.66.0.0/24 --nat-outgoing" ctl pool create nat1 --cidr 10.66.0.0/24 --nat-outgoing
check "table inet petrel exists" nftn list table inet petrel
wl_run "$CONF" a --ip 10.65.0.10
wl_run "$CONF" b --ip 10.65.0.11
wl_run "$CONF" n --ip 10.66.0.10
for w in a b n; do
	[ -n "${WL_ADDR[$w]:-}" ] || { fail "setup" "workload $w missing"; exit 1; }
	wl_serve "$w"
done
foreign >"$TMP/foreign.1"
same_files "foreign tables byte-identical after felix started and programmed 3 workloads" "$TMP/foreign.0" "$TMP/foreign.1"

far_sees() { # FROM [SOCAT-OPTS]: the address the far side sees
	timeout 5 "$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 2 -u "TCP:$EXT_IP:7070,connect-timeout=1${2:+,$2}" - 2>/dev/null
}
says() { # WHAT WANT CMD...: CMD prints WANT (3 tries)
	local what=$1 want=$2 got i
	shift 2
	for i in 1 2 3 4 5; do
		got=$("$@")
		[ "$got" = "$want" ] && { pass "$what"; return 0; }
		sleep 0.5
	done
	fail "$what" "said '$(printf '%s' "$got" | pt_oneline)', want '$want'"
	return 1
}

# --- natOutgoing -----------------------------------------------------------------------
says "natOutgoing on: the far side sees n as the node ($NODE_IP)" "$NODE_IP" far_sees n
says "natOutgoing off (p1): the far side sees a's own address" "${WL_ADDR[a]}" far_sees a
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg "$PETRELCTL" -c "$CONF" exec b -- socat TCP-LISTEN:81,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR'
wl_tcp() { timeout 5 "$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 2 -u "TCP:$2:$3,connect-timeout=1" - 2>/dev/null; }
says "n -> b (a pool destination): b sees n's own address" 10.66.0.10 wl_tcp n "${WL_ADDR[b]}" 81
pool_yaml() { # NAME CIDR NAT
	printf 'apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: %s}\nspec: {cidr: %s, natOutgoing: %s}\n' "$@" >"$TMP/pool.yaml"
}
pool_yaml nat1 10.66.0.0/24 false
expect_ok "apply nat1 natOutgoing: false" ctl apply -f "$TMP/pool.yaml"
says "natOutgoing turned off: the far side sees n's own address" 10.66.0.10 far_sees n
pool_yaml p1 10.65.0.0/16 true
expect_ok "apply p1 natOutgoing: true" ctl apply -f "$TMP/pool.yaml"
says "natOutgoing turned on for p1: the far side sees a as the node" "$NODE_IP" far_sees a
says "a -> b still not masqueraded (within the pool)" "${WL_ADDR[a]}" wl_tcp a "${WL_ADDR[b]}" 81
pool_yaml p1 10.65.0.0/16 false
expect_ok "apply p1 natOutgoing: false again" ctl apply -f "$TMP/pool.yaml"
says "p1 natOutgoing off again: a's own address" "${WL_ADDR[a]}" far_sees a
pool_yaml nat1 10.66.0.0/24 true
expect_ok "apply nat1 natOutgoing: true again" ctl apply -f "$TMP/pool.yaml"
says "nat1 natOutgoing on again: n as the node" "$NODE_IP" far_sees n

# --- anti-spoofing -----------------------------------------------------------------------
# What arrives is counted where it arrives: in the far side's namespace and
# in n's (both ours), by source address, before anything else there.
FORGED=10.65.99.99
seen_table() { # NS
	ip netns exec "$1" nft -f - <<EOT
table ip pt_seen {
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		ip saddr $FORGED counter
		ip saddr ${WL_ADDR[b]} counter
		ip saddr ${WL_ADDR[a]} counter
	}
}
EOT
}
seen() { # NS ADDR: packets from ADDR that arrived in NS
	ip netns exec "$1" nft list chain ip pt_seen pre 2>/dev/null |
		sed -n "s/.*ip saddr $2 counter packets \([0-9]*\) .*/\1/p"
}
NSN="${WPREFIX}n"
seen_table "$EXT" && seen_table "$NSN" || fail "counters in $EXT and $NSN" "nft -f failed"
expect_ok "a adds a second address $FORGED inside itself" ctl exec a -- ip addr add "$FORGED/32" dev eth0
expect_ok "a adds b's address ${WL_ADDR[b]} inside itself" ctl exec a -- ip addr add "${WL_ADDR[b]}/32" dev eth0
: >"$TMP/peers.tcp"
check "a's own address works (ping -I ${WL_ADDR[a]} $EXT_IP)" ctl exec a -- ping -c 1 -W 2 -I "${WL_ADDR[a]}" "$EXT_IP"
says "a's own address works (TCP bind=, the far side sees ${WL_ADDR[a]})" "${WL_ADDR[a]}" far_sees a "bind=${WL_ADDR[a]}"
check "a's own packets arrived at the far side (counter $(seen "$EXT" "${WL_ADDR[a]}"))" test "$(seen "$EXT" "${WL_ADDR[a]}")" -gt 0
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "$EXT_IP" >/dev/null 2>&1
ctl exec a -- socat -T 2 -u "TCP:$EXT_IP:7070,connect-timeout=1,bind=$FORGED" - >/dev/null 2>&1
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "${WL_ADDR[b]}" "$EXT_IP" >/dev/null 2>&1
ctl exec a -- socat -T 2 -u "TCP:$EXT_IP:7070,connect-timeout=1,bind=${WL_ADDR[b]}" - >/dev/null 2>&1
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "${WL_ADDR[n]}" >/dev/null 2>&1
ctl exec a -- socat -T 2 -u "TCP:${WL_ADDR[n]}:80,connect-timeout=1,bind=$FORGED" - >/dev/null 2>&1
check "forged source $FORGED (ping, TCP) never reached the far side" test "$(seen "$EXT" "$FORGED")" = 0
check "forged source ${WL_ADDR[b]} (b's address) never reached the far side" test "$(seen "$EXT" "${WL_ADDR[b]}")" = 0
check "forged source $FORGED never reached workload n" test "$(seen "$NSN" "$FORGED")" = 0
check "the far side's server never saw a forged peer" sh -c "! grep -Eqx '$FORGED|${WL_ADDR[b]}' '$TMP/peers.tcp'"
check "a's own address works after the forgeries (ping)" ctl exec a -- ping -c 1 -W 2 -I "${WL_ADDR[a]}" "$EXT_IP"
ctl exec a -- ip addr del "${WL_ADDR[b]}/32" dev eth0
ctl exec a -- ip addr del "$FORGED/32" dev eth0

# --- petrelctl nft ---------------------------------------------------------------------------
IFA=$(wl_ifname a)
expect_ok "petrelctl nft a" ctl nft a
printf '%s\n' "$OUT" >"$TMP/nft.a"
check "nft a: chain from-$IFA" grep -q "chain from-$IFA" "$TMP/nft.a"
check "nft a: chain to-$IFA" grep -q "chain to-$IFA" "$TMP/nft.a"
check "nft a: not b's chains" sh -c "! grep -q 'chain from-$(wl_ifname b)' '$TMP/nft.a'"
check "nft a: a's address among its elements" grep -q "${WL_ADDR[a]}" "$TMP/nft.a"
expect_ok "petrelctl nft (the whole table)" ctl nft
printf '%s\n' "$OUT" >"$TMP/nft.all"
check "nft: table inet petrel with a's and b's chains" sh -c "grep -q 'table inet petrel' '$TMP/nft.all' && grep -q 'chain from-$IFA' '$TMP/nft.all' && grep -q 'chain to-$(wl_ifname b)' '$TMP/nft.all'"
expect_ok "petrelctl -o json nft a" ctl -o json nft a
check "nft -o json: {ok: true, text}" sh -c "printf '%s' \"\$1\" | jq -e '.ok == true and (.text | contains(\"from-$IFA\"))'" _ "$OUT"
expect_err "petrelctl nft of a missing workload" "ghost" ctl nft ghost

# --- a change by hand is put right -------------------------------------------------------------
# The table as JSON, without handles and counter values, set elements
# sorted, objects sorted by kind and name (rules keep their order within
# their chain): what felix programs, not the order it did it in.
petrel_table() {
	nftn -j list table inet petrel 2>/dev/null | jq -S '
		[.nftables[] | select(has("metainfo") | not)
		 | walk(if type == "object" then del(.handle)
			| (if (.counter | type) == "object" then .counter = {} else . end)
			else . end)
		 | (if has("set") and .set.elem then .set.elem |= sort
		    elif has("map") and .map.elem then .map.elem |= sort
		    else . end)]
		| sort_by(keys[0], (.[keys[0]].name // .[keys[0]].chain // ""))'
}
petrel_table >"$TMP/petrel.0"
table_back() { petrel_table >"$TMP/petrel.now"; cmp -s "$TMP/petrel.0" "$TMP/petrel.now"; }
# put_right WHAT: bounded wait (10 s) for the table as it was; the time.
put_right() {
	local t0 t1
	t0=$(date +%s%N)
	if wait_for 100 0.1 table_back; then
		t1=$(date +%s%N)
		pass "$1: put right by felix in $(((t1 - t0) / 1000000)) ms"
	else
		fail "$1: put right by felix (10 s)" "still: $(diff "$TMP/petrel.0" "$TMP/petrel.now" | grep '^[<>]' | head -4 | pt_oneline)"
	fi
}
petrel_chains() {
	nftn list table inet petrel 2>/dev/null | awk '$1 == "chain" { print $2 }'
}
# Deletes the first rule of chain CHAIN by its handle.
del_first_rule() {
	local h
	h=$(nftn -a list chain inet petrel "$1" 2>/dev/null | grep -Ev '^[[:space:]]*(table|chain) ' |
		grep -m1 -o '# handle [0-9]*$' | awk '{ print $3 }')
	[ -n "$h" ] && nftn delete rule inet petrel "$1" handle "$h"
}
check "a rule of chain from-$IFA deleted by hand" del_first_rule "from-$IFA" &&
	put_right "deleted rule of from-$IFA"
RAW=$(petrel_chains | grep -m1 '^raw')
if [ -n "$RAW" ]; then
	check "a rule of chain $RAW (anti-spoofing) deleted by hand" del_first_rule "$RAW" &&
		put_right "deleted rule of $RAW"
else
	fail "a raw prerouting chain in table inet petrel" "none: $(petrel_chains | pt_oneline)"
fi
check "a forged wl_src element added by hand (dev of a . $FORGED)" \
	nftn add element inet petrel wl_src "{ \"$IFA\" . $FORGED }" &&
	put_right "added element to wl_src"
check "a's wl_src element deleted by hand" \
	nftn delete element inet petrel wl_src "{ \"$IFA\" . ${WL_ADDR[a]} }" &&
	put_right "deleted element of wl_src"
check "a chain flushed by hand (to-$IFA)" nftn flush chain inet petrel "to-$IFA" &&
	put_right "flushed to-$IFA"
check "the chain nat-pre deleted by hand (flushed, then deleted)" \
	sh -c "ip netns exec $NODE nft flush chain inet petrel nat-pre && ip netns exec $NODE nft delete chain inet petrel nat-pre" &&
	put_right "deleted chain nat-pre"
check "a reaches the far side after the repairs" ctl exec a -- ping -c 1 -W 2 "$EXT_IP"
check "b reaches a after the repairs" ctl exec b -- ping -c 1 -W 2 "${WL_ADDR[a]}"

# --- felix restarts under a running TCP stream --------------------------------------------------
bg sh -c "'$PETRELCTL' -c '$CONF' exec a -- socat -u TCP:$EXT_IP:7171,connect-timeout=2 - >'$TMP/stream'"
STREAM_PID=$BG_PID
lines() { wc -l <"$TMP/stream"; }
grows() { # N: the stream has more than N lines
	[ "$(lines)" -gt "$1" ]
}
check "the stream flows (a counter from the far side)" wait_for 50 0.1 grows 10
petrel_table >"$TMP/petrel.before-restart"
felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
n=$(lines)
check "the stream flows while felix is down" wait_for 30 0.1 grows $((n + 5))
felix_start
felix_wait_ready || fail "felix answers status after a restart" "no answer"
wait_for 50 0.1 felix_all_programmed
n=$(lines)
check "the stream flows after felix's restart" wait_for 30 0.1 grows $((n + 10))
alive() { ! pt_dead "$1"; }
check "the stream's client still runs" alive "$STREAM_PID"
petrel_table >"$TMP/petrel.after-restart"
same_files "table inet petrel the same after the restart" "$TMP/petrel.before-restart" "$TMP/petrel.after-restart"
foreign >"$TMP/foreign.2"
same_files "foreign tables byte-identical after felix's restart" "$TMP/foreign.0" "$TMP/foreign.2"
felix_stop KILL
check "felix killed with -9" test "$FELIX_RC" = 137
n=$(lines)
check "the stream flows with felix killed" wait_for 30 0.1 grows $((n + 5))
check "table inet petrel still there after kill -9" nftn list table inet petrel
felix_start
felix_wait_ready || fail "felix answers status after kill -9" "no answer"
wait_for 50 0.1 felix_all_programmed
n=$(lines)
check "the stream flows after felix's restart after kill -9" wait_for 30 0.1 grows $((n + 10))
n=$(lines)
head -n "$n" "$TMP/stream" >"$TMP/stream.got"
seq 0 $((n - 1)) >"$TMP/stream.want"
same_files "the stream lost and repeated nothing (0..$((n - 1)), one connection)" "$TMP/stream.want" "$TMP/stream.got"
petrel_table >"$TMP/petrel.after-kill"
same_files "table inet petrel the same after kill -9 and restart" "$TMP/petrel.before-restart" "$TMP/petrel.after-kill"
foreign >"$TMP/foreign.3"
same_files "foreign tables byte-identical after kill -9 and restart" "$TMP/foreign.0" "$TMP/foreign.3"
says "new connections after the restarts: a -> far side" "${WL_ADDR[a]}" far_sees a
says "new connections after the restarts: n masqueraded" "$NODE_IP" far_sees n
kill "$STREAM_PID" 2>/dev/null
reap "$STREAM_PID" 30

expect_ok "rm a b n" ctl rm a b n
foreign >"$TMP/foreign.4"
same_files "foreign tables byte-identical after the workloads left" "$TMP/foreign.0" "$TMP/foreign.4"
felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
foreign >"$TMP/foreign.5"
same_files "foreign tables byte-identical after felix stopped" "$TMP/foreign.0" "$TMP/foreign.5"
pt_end
