#!/usr/bin/env bash
#
# felix's nftables table `inet petrel`: natOutgoing on and off (the far
# side sees the node's address, or the workload's); anti-spoofing (a
# workload sending from an address not its own is dropped, its own address
# works); foreign tables made before felix starts stay byte-identical
# through felix's start, traffic and restarts; a rule deleted or a set
# element added by hand is put right by felix (bounded wait; also what was
# changed while felix was down); three TCP streams (a workload's egress
# through its policy chains, a masqueraded one, one through a published
# port) survive felix's restart (SIGTERM, then kill -9), losing nothing;
# `petrelctl nft NAME` shows the workload's chains; endpointToHostAction
# drop keeps workloads off the node itself.
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
#   | a 10.65.0.10    | | n 10.66.0.10    | | b 10.65.0.11   | | pt-<id>-ext           |
#   | forges 10.65.   | | (natOutgoing    | | -p 7272:72     | | dn0 192.0.2.1/24      |
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
# (The default resyncInterval, 30 s: a change by hand must be put right
# well before it, as soon as felix hears of it.)
pt_etc_netns_trap
# (endpointToHostAction accept, explicitly: its default is drop; the last
# part turns it to drop and back)
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
ip -n "$EXT" route add 10.66.0.0/24 via "$NODE_IP"
# Who connects (the far side's view of the source), and every peer logged.
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg ip netns exec "$EXT" socat TCP-LISTEN:7070,reuseaddr,fork \
	"SYSTEM:echo \$SOCAT_PEERADDR; echo \$SOCAT_PEERADDR >>$TMP/peers.tcp" 2>>"$TMP/servers.log"
# A counter: one line every 0.05 s over one connection.
# shellcheck disable=SC2016  # expanded by the shell socat runs
# (It ends when its connection does: a write error ends the loop.)
COUNTER='i=0; while [ $i -lt 100000 ]; do echo $i || exit 0; i=$((i + 1)); sleep 0.05; done'
bg ip netns exec "$EXT" socat TCP-LISTEN:7171,reuseaddr,fork "SYSTEM:$COUNTER" 2>>"$TMP/servers.log"
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
# A policy that selects a and allows everything: a gets chains of its own
# (from-IF, to-IF; a workload no policy selects shares from-open/to-open).
cat >"$TMP/a-pol.yaml" <<'EOF'
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: a-all}
spec:
  selector: app == "a"
  types: [Ingress, Egress]
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
EOF
expect_ok "policy apply a-all (selects a, allows everything)" ctl policy apply -f "$TMP/a-pol.yaml"
wl_run "$CONF" a --ip 10.65.0.10 --label app=a
wl_run "$CONF" b --ip 10.65.0.11 -p 7272:72
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
check "the far side's server logs its peers (a's own ${WL_ADDR[a]})" grep -qx "${WL_ADDR[a]}" "$TMP/peers.tcp"
# The control: without the anti-spoofing rule (felix stopped, the rule
# deleted by hand) a forged source does get through, to both places.
antispoof_rule() { # "CHAIN HANDLE" of the anti-spoofing rule
	nftn -a list table inet petrel 2>/dev/null |
		awk '$1 == "chain" { c = $2 } /comment "anti-spoofing"/ { print c, $NF; exit }'
}
felix_stop TERM
check "felix stopped for the control (exit 0)" test "$FELIX_RC" = 0
# rp_filter off in the node for the control: felix keeps rp_filter=1 (strict)
# on every host end, the kernel's own anti-spoofing under the rule
# (test_failclosed_kernel.sh); here the rule alone is shown to work.
check "rp_filter off in the node for the control (all, default, a's host end)" ip netns exec "$NODE" sysctl -qw \
	net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "net.ipv4.conf.$(wl_ifname a).rp_filter=0"
read -r AS_CHAIN AS_HANDLE <<<"$(antispoof_rule)"
check "control: the anti-spoofing rule ($AS_CHAIN, handle $AS_HANDLE) deleted by hand" \
	nftn delete rule inet petrel "${AS_CHAIN:-none}" handle "${AS_HANDLE:-0}"
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "$EXT_IP" >/dev/null 2>&1
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "${WL_ADDR[n]}" >/dev/null 2>&1
check "control: without the rule a forged $FORGED reaches the far side (counter $(seen "$EXT" "$FORGED"))" \
	test "$(seen "$EXT" "$FORGED")" -gt 0
check "control: without the rule a forged $FORGED reaches workload n (counter $(seen "$NSN" "$FORGED"))" \
	test "$(seen "$NSN" "$FORGED")" -gt 0
SEEN_EXT=$(seen "$EXT" "$FORGED") SEEN_N=$(seen "$NSN" "$FORGED")
felix_start
felix_wait_ready || fail "felix answers status (after the control)" "no answer"
check "felix restarted puts the anti-spoofing rule back" wait_for 100 0.1 sh -c "[ -n \"\$(ip netns exec $NODE nft list table inet petrel | grep 'anti-spoofing')\" ]"
check "felix restarted: all programmed" wait_for 100 0.1 felix_all_programmed
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "$EXT_IP" >/dev/null 2>&1
ctl exec a -- socat -T 2 -u "TCP:$EXT_IP:7070,connect-timeout=1,bind=$FORGED" - >/dev/null 2>&1
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "${WL_ADDR[b]}" "$EXT_IP" >/dev/null 2>&1
ctl exec a -- socat -T 2 -u "TCP:$EXT_IP:7070,connect-timeout=1,bind=${WL_ADDR[b]}" - >/dev/null 2>&1
ctl exec a -- ping -c 3 -i 0.2 -W 1 -I "$FORGED" "${WL_ADDR[n]}" >/dev/null 2>&1
ctl exec a -- socat -T 2 -u "TCP:${WL_ADDR[n]}:80,connect-timeout=1,bind=$FORGED" - >/dev/null 2>&1
check "forged source $FORGED (ping, TCP) never reached the far side with the rule (counter stays $SEEN_EXT)" test "$(seen "$EXT" "$FORGED")" = "$SEEN_EXT"
check "forged source ${WL_ADDR[b]} (b's address) never reached the far side" test "$(seen "$EXT" "${WL_ADDR[b]}")" = 0
check "forged source $FORGED never reached workload n with the rule (counter stays $SEEN_N)" test "$(seen "$NSN" "$FORGED")" = "$SEEN_N"
check "the far side's server never saw a forged peer" sh -c "! grep -Eqx '$FORGED|${WL_ADDR[b]}' '$TMP/peers.tcp'"
check "a's own address works after the forgeries (ping)" ctl exec a -- ping -c 1 -W 2 -I "${WL_ADDR[a]}" "$EXT_IP"
ctl exec a -- ip addr del "${WL_ADDR[b]}/32" dev eth0
ctl exec a -- ip addr del "$FORGED/32" dev eth0

# --- the node's 127.0.0.1 is not the workloads' -------------------------------------------------
# felix sets route_localnet=1 on workload interfaces (for ports published
# on 127.0.0.1): then the kernel no longer drops a packet from a workload to
# 127.0.0.0/8 as a martian, and only the table can keep a workload off the
# node's loopback-only services (CVE-2020-8558 in Kubernetes). The workload
# "evil" routes 127.0.0.1 to its gateway (root in its own namespace may).
bg ip netns exec "$NODE" socat -u UDP-RECV:5300,bind=127.0.0.1 "OPEN:$TMP/lo-udp.got,creat,append" 2>>"$TMP/servers.log"
bg ip netns exec "$NODE" socat TCP-LISTEN:9999,bind=127.0.0.1,reuseaddr,fork 'SYSTEM:echo node-localhost-only' 2>>"$TMP/servers.log"
wl_run "$CONF" evil --ip 10.65.0.12
ip netns exec "$NODE" cat "/proc/sys/net/ipv4/conf/$(wl_ifname evil)/route_localnet" >"$TMP/evil.rl" 2>&1
check "the node's 127.0.0.1:9999 (TCP) listens" wait_for 50 0.1 sh -c "ip netns exec $NODE ss -Hltn | grep -q '127.0.0.1:9999 '"
node_lo_tcp() { [ "$(ns_tcp "$NODE" 127.0.0.1 9999)" = node-localhost-only ]; }
allow_probe -k lo9999 "the node's own 127.0.0.1:9999 (TCP) answers from the node" 5 node_lo_tcp
check "the node's own 127.0.0.1:5300 (UDP) works from the node" sh -c \
	"echo from-the-node | ip netns exec $NODE socat -u - UDP:127.0.0.1:5300 && sleep 0.3 && grep -q from-the-node '$TMP/lo-udp.got'"
expect_ok "evil routes 127.0.0.1 to its gateway (its own namespace)" ctl exec evil -- sh -c \
	"sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 &&
	 ip route del local 127.0.0.0/8 dev lo table local &&
	 ip route del local 127.0.0.1 dev lo table local &&
	 ip route add 127.0.0.1/32 via 169.254.1.1 dev eth0"
ctl exec evil -- sh -c 'echo from-evil | socat -u - UDP:127.0.0.1:5300; echo from-evil | socat -u - UDP:127.0.0.1:5300' >/dev/null 2>&1
sleep 0.3
if grep -q from-evil "$TMP/lo-udp.got"; then
	fail "a workload's UDP to 127.0.0.1:5300 never reaches the node's loopback-only service" \
		"the service received: $(pt_oneline <"$TMP/lo-udp.got"); route_localnet on evil's host end was $(cat "$TMP/evil.rl" 2>/dev/null)"
else
	pass "a workload's UDP to 127.0.0.1:5300 never reaches the node's loopback-only service"
fi
# evil_lo_tcp: true when evil's TCP to 127.0.0.1:9999 reached the node's
# socket (an answer, or a connection from evil in the node's socket table)
evil_lo_tcp() {
	ctl exec evil -- socat -T 2 -u TCP:127.0.0.1:9999,connect-timeout=1 - >"$TMP/lo-tcp.got" 2>/dev/null
	ip netns exec "$NODE" ss -Htan 2>/dev/null | grep '127.0.0.1:9999 *10.65.0.12:' >"$TMP/lo-tcp.ss"
	[ -s "$TMP/lo-tcp.ss" ] || grep -q node-localhost-only "$TMP/lo-tcp.got"
}
deny_probe -k lo9999 "a workload's TCP SYN to 127.0.0.1:9999 never reaches the node's socket" 0 evil_lo_tcp
# Workloads are IPv4 only: IPv6 from them (link-local) reaches nothing.
IFE=$(wl_ifname evil)
LL=$(ip -n "$NODE" -6 -o addr show dev "$IFE" scope link 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1 | head -n1)
EVIL_LL=$(ctl exec evil -- ip -6 -o addr show dev eth0 scope link 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1 | head -n1)
if [ -n "$LL" ] && [ -n "$EVIL_LL" ]; then
	# the control: evil's IPv6 works (its own link-local address answers);
	# the probe is sent and unanswered (not a local error)
	check "evil's IPv6 works: ping -6 its own $EVIL_LL" ctl exec evil -- ping -6 -c 1 -W 1 "$EVIL_LL%eth0"
	expect_err "IPv6 from a workload dropped: ping -6 the host end's $LL is sent, never answered" \
		"[1-9][0-9]* packets transmitted, 0 received" ctl exec evil -- ping -6 -c 2 -i 0.3 -W 1 "$LL%eth0"
else
	skip "IPv6 from a workload dropped" "no IPv6 link-local address on $IFE ('$LL') or evil's eth0 ('$EVIL_LL'): IPv6 off here?"
fi
expect_ok "rm evil" ctl rm evil

# --- petrelctl nft ---------------------------------------------------------------------------
IFA=$(wl_ifname a)
# a's chains: shared by the workloads that the same policies select, named
# by a hash of their rules (docs/policy.md); the maps say which
vmap_target() { nftn list map inet petrel "$1" 2>/dev/null | grep -o "\"$IFA\" : goto [a-z0-9-]*" | awk '{ print $4 }'; }
FROMA=$(vmap_target from_wl)
TOA=$(vmap_target to_wl)
check "a is dispatched to chains of its own kind ($FROMA, $TOA)" \
	sh -c "case '$FROMA' in from-????????????) ;; *) exit 1 ;; esac; case '$TOA' in to-????????????) ;; *) exit 1 ;; esac"
expect_ok "petrelctl nft a" ctl nft a
printf '%s\n' "$OUT" >"$TMP/nft.a"
check "nft a: chain $FROMA" grep -q "chain $FROMA" "$TMP/nft.a"
check "nft a: chain $TOA" grep -q "chain $TOA" "$TMP/nft.a"
check "nft a: the policy chains it jumps to (pi-a-all, pe-a-all)" sh -c "grep -q 'chain pi-a-all' '$TMP/nft.a' && grep -q 'chain pe-a-all' '$TMP/nft.a'"
check "nft a: nothing of b" sh -c "! grep -q '$(wl_ifname b)' '$TMP/nft.a' && ! grep -q '${WL_ADDR[b]}' '$TMP/nft.a'"
check "nft a: a's address among its elements" grep -q "${WL_ADDR[a]}" "$TMP/nft.a"
expect_ok "petrelctl nft (the whole table)" ctl nft
printf '%s\n' "$OUT" >"$TMP/nft.all"
check "nft: table inet petrel with a's chains and b's elements" sh -c "grep -q 'table inet petrel' '$TMP/nft.all' && grep -q 'chain $FROMA' '$TMP/nft.all' && grep -q '\"$(wl_ifname b)\"' '$TMP/nft.all'"
kchains() { nftn list table inet petrel | grep -o 'chain [^ ]*' | sort; }
check "nft: what felix says has the kernel's chains" sh -c "[ \"\$(grep -o 'chain [^ ]*' '$TMP/nft.all' | sort)\" = \"\$1\" ]" _ "$(kchains)"
expect_ok "petrelctl -o json nft a" ctl -o json nft a
check "nft -o json: {ok: true, text}" sh -c "printf '%s' \"\$1\" | jq -e '.ok == true and (.text | contains(\"$FROMA\"))'" _ "$OUT"
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
check "a rule of chain $FROMA deleted by hand" del_first_rule "$FROMA" &&
	put_right "deleted rule of $FROMA"
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
check "a chain flushed by hand ($TOA)" nftn flush chain inet petrel "$TOA" &&
	put_right "flushed $TOA"
check "the chain nat-pre deleted by hand (flushed, then deleted)" \
	sh -c "ip netns exec $NODE nft flush chain inet petrel nat-pre && ip netns exec $NODE nft delete chain inet petrel nat-pre" &&
	put_right "deleted chain nat-pre"
check "a reaches the far side after the repairs" ctl exec a -- ping -c 1 -W 2 "$EXT_IP"
check "b reaches a after the repairs" ctl exec b -- ping -c 1 -W 2 "${WL_ADDR[a]}"

# --- felix restarts under running TCP streams -------------------------------------------------
# Three connections, each a counter (a line every 0.05 s): a from the far
# side (a's policy chains), n from the far side (masqueraded), and the far
# side from b through the published port $NODE_IP:7272 (DNAT).
bg "$PETRELCTL" -c "$CONF" exec b -- socat TCP-LISTEN:72,reuseaddr,fork "SYSTEM:$COUNTER" 2>>"$TMP/servers.log"
wait_for 50 0.1 sh -c "'$PETRELCTL' -c '$CONF' exec b -- ss -Hltn | grep -q ':72 '"
# (Each client is the process bg started: petrelctl exec and ip netns exec
# exec socat. Killing it ends the connection, and the server's loop.)
bg "$PETRELCTL" -c "$CONF" exec a -- socat -u "TCP:$EXT_IP:7171,connect-timeout=2" - >"$TMP/stream.a"
SA_PID=$BG_PID
bg "$PETRELCTL" -c "$CONF" exec n -- socat -u "TCP:$EXT_IP:7171,connect-timeout=2" - >"$TMP/stream.n"
SN_PID=$BG_PID
bg ip netns exec "$EXT" socat -u "TCP:$NODE_IP:7272,connect-timeout=2" - >"$TMP/stream.b"
SB_PID=$BG_PID
STREAMS="a n b"
lines() { if [ -f "$TMP/stream.$1" ]; then wc -l <"$TMP/stream.$1"; else echo 0; fi; }
# all_grow: every stream grew by 5 lines or more since mark_streams.
mark_streams() {
	local s
	for s in $STREAMS; do printf -v "MARK_$s" '%s' "$(lines "$s")"; done
}
all_grow() {
	local s m
	for s in $STREAMS; do
		m="MARK_$s"
		[ "$(lines "$s")" -ge $((${!m} + 5)) ] || return 1
	done
}
streams_state() { local s; for s in $STREAMS; do printf '%s:%s ' "$s" "$(lines "$s")"; done; }
marks_state() { local s m; for s in $STREAMS; do m="MARK_$s"; printf '%s:%s ' "$s" "${!m}"; done; }
flows() { # WHAT
	if wait_for 50 0.1 all_grow; then
		pass "$1: all three streams flow ($(streams_state))"
	else
		fail "$1: all three streams flow" "lines $(streams_state), marks $(marks_state) (5 more each wanted)"
	fi
}
mark_streams
flows "before any restart"
petrel_table >"$TMP/petrel.before-restart"
felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
mark_streams
flows "felix stopped"
expect_err "petrelctl nft while felix is down: a clear error" "felix" ctl nft a
check "while felix is down: a rule of $FROMA deleted by hand" del_first_rule "$FROMA"
check "while felix is down: an element added to wl_src by hand" \
	nftn add element inet petrel wl_src "{ \"$IFA\" . $FORGED }"
felix_start
felix_wait_ready || fail "felix answers status after a restart" "no answer"
wait_for 50 0.1 felix_all_programmed
mark_streams
flows "felix restarted"
petrel_table >"$TMP/petrel.after-restart"
same_files "table inet petrel the same after the restart (what was changed while felix was down put right)" "$TMP/petrel.before-restart" "$TMP/petrel.after-restart"
foreign >"$TMP/foreign.2"
same_files "foreign tables byte-identical after felix's restart" "$TMP/foreign.0" "$TMP/foreign.2"
felix_stop KILL
check "felix killed with -9" test "$FELIX_RC" = 137
mark_streams
flows "felix killed"
check "table inet petrel still there after kill -9" nftn list table inet petrel
felix_start
felix_wait_ready || fail "felix answers status after kill -9" "no answer"
wait_for 50 0.1 felix_all_programmed
mark_streams
flows "felix restarted after kill -9"
alive() { ! pt_dead "$1"; }
for s in a n b; do
	p="S${s^^}_PID"
	check "stream $s: its client still runs (one connection throughout)" alive "${!p}"
	n=$(lines "$s")
	head -n "$n" "$TMP/stream.$s" >"$TMP/stream.got"
	seq 0 $((n - 1)) >"$TMP/stream.want"
	same_files "stream $s lost and repeated nothing (0..$((n - 1)))" "$TMP/stream.want" "$TMP/stream.got"
done
petrel_table >"$TMP/petrel.after-kill"
same_files "table inet petrel the same after kill -9 and restart" "$TMP/petrel.before-restart" "$TMP/petrel.after-kill"
foreign >"$TMP/foreign.3"
same_files "foreign tables byte-identical after kill -9 and restart" "$TMP/foreign.0" "$TMP/foreign.3"
says "new connections after the restarts: a -> far side" "${WL_ADDR[a]}" far_sees a
says "new connections after the restarts: n masqueraded" "$NODE_IP" far_sees n
says "new connections after the restarts: far side -> $NODE_IP:7272 (b)" 0 \
	sh -c "ip netns exec $EXT socat -T 2 -u TCP:$NODE_IP:7272,connect-timeout=1 - 2>/dev/null | head -n1"
for p in "$SA_PID" "$SN_PID" "$SB_PID"; do
	kill "$p" 2>/dev/null
	reap "$p" 30
done

# --- endpointToHostAction: drop (felix restarted with it) ---------------------------------------
# (the controls of the drops below: the same pings answered before)
allow_probe "endpointToHostAction accept: a pings the node ($NODE_IP)" 5 ctl exec a -- ping -c 1 -W 1 "$NODE_IP"
allow_probe "endpointToHostAction accept: b pings the node" 5 ctl exec b -- ping -c 1 -W 1 "$NODE_IP"
felix_stop TERM
sed -i 's/^endpointToHostAction: accept$/endpointToHostAction: drop/' "$CONF"
felix_start
felix_wait_ready || fail "felix answers status (endpointToHostAction: drop)" "no answer"
wait_for 50 0.1 felix_all_programmed
deny_probe "endpointToHostAction drop: a cannot ping the node ($NODE_IP)" 5 ctl exec a -- ping -c 1 -W 1 "$NODE_IP"
deny_probe "endpointToHostAction drop: b cannot ping the node" 3 ctl exec b -- ping -c 1 -W 1 "$NODE_IP"
check "endpointToHostAction drop: a still reaches the far side" ctl exec a -- ping -c 1 -W 2 "$EXT_IP"
check "endpointToHostAction drop: the node still pings a (replies are established)" \
	ip netns exec "$NODE" ping -c 1 -W 2 "${WL_ADDR[a]}"
says "endpointToHostAction drop: b -> $NODE_IP:7272 (its own published port) still works" 0 \
	sh -c "'$PETRELCTL' -c '$CONF' exec b -- socat -T 2 -u TCP:$NODE_IP:7272,connect-timeout=1 - 2>/dev/null | head -n1"
foreign >"$TMP/foreign.6"
same_files "foreign tables byte-identical after a restart with another config" "$TMP/foreign.0" "$TMP/foreign.6"
felix_stop TERM
sed -i 's/^endpointToHostAction: drop$/endpointToHostAction: accept/' "$CONF"
felix_start
felix_wait_ready || fail "felix answers status (endpointToHostAction back to accept)" "no answer"
wait_for 50 0.1 felix_all_programmed
check "endpointToHostAction accept again: a pings the node" \
	wait_for 10 0.3 ctl exec a -- ping -c 1 -W 1 "$NODE_IP"

expect_ok "rm a b n" ctl rm a b n
foreign >"$TMP/foreign.4"
same_files "foreign tables byte-identical after the workloads left" "$TMP/foreign.0" "$TMP/foreign.4"
felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
foreign >"$TMP/foreign.5"
same_files "foreign tables byte-identical after felix stopped" "$TMP/foreign.0" "$TMP/foreign.5"
pt_end
