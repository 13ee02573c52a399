#!/usr/bin/env bash
#
# The nft text policy/nftir.c renders is nft's own: every world of
# tests/unit/pol_scenarios.h, compiled and printed by build/tools/nftdump,
# is the golden file, passes `nft -c -f`, and loads for real (`nft -f`)
# into a namespace of its own. Then one world's table carries traffic
# (ingress_allow: web accepts tcp/80 from role=frontend only):
#
#   +---------------------------- pt-<id>-node ----------------------------+
#   | table inet petrel (nftdump ingress_allow), ip_forward=1                |
#   | ptlweb: routes 10.0.0.10/32,        ptlfe: route 10.0.0.20/32         |
#   |         10.0.0.99/32 (a spoofer's)                                      |
#   +-----|------------------------------------------|-----------------------+
#         | veth                                     | veth
#   +-----|---- pt-<id>-w-web -----+      +---------|---- pt-<id>-w-fe ---+
#   | eth0 10.0.0.10/32, .99/32     |      | eth0 10.0.0.20/32              |
#   | socat tcp/80, tcp/81 "ok"     |      | socat tcp/80 "ok"              |
#   +-------------------------------+      +--------------------------------+
#
# Both workloads: `default via 169.254.1.1`, a permanent neighbour entry for
# it (the host end's MAC); the node has one for each workload.
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init nftir
pt_need_tools nft socat ping
NFTDUMP="$B/tools/nftdump"
GOLDEN="$PT_ROOT/tests/unit/golden/nft"
if [ ! -x "$NFTDUMP" ]; then
	fail "prerequisites" "$NFTDUMP is not built"
	exit 1
fi

NS="pt-$ID-nft"
ip netns add "$NS" || { fail "setup" "ip netns add $NS"; exit 1; }

# --- every world: golden, nft -c, nft -f
# (one world per golden file, and one golden file per world: fewer worlds
# than golden files is a failure, not fewer checks)
"$NFTDUMP" -l >"$TMP/worlds" 2>"$TMP/worlds.err" || fail "nftdump -l" "$(pt_oneline <"$TMP/worlds.err")"
sort -o "$TMP/worlds" "$TMP/worlds"
(cd "$GOLDEN" && ls -- *.nft) | sed 's/\.nft$//' | sort >"$TMP/goldens"
check_n=$(wc -l <"$TMP/worlds")
if [ "$check_n" -gt 0 ] && cmp -s "$TMP/worlds" "$TMP/goldens"; then
	pass "nftdump -l lists one world per golden file ($check_n)"
else
	fail "nftdump -l lists one world per golden file" \
		"worlds vs golden files: $(diff "$TMP/worlds" "$TMP/goldens" | grep '^[<>]' | pt_oneline)"
fi
for s in $(cat "$TMP/worlds"); do
	if ! "$NFTDUMP" "$s" >"$TMP/$s.nft" 2>"$TMP/$s.err"; then
		fail "$s: nftdump" "$(pt_oneline <"$TMP/$s.err")"
		continue
	fi
	if cmp -s "$TMP/$s.nft" "$GOLDEN/$s.nft"; then
		pass "$s: nftdump prints the golden file"
	else
		fail "$s: nftdump prints the golden file" \
			"$(diff "$GOLDEN/$s.nft" "$TMP/$s.nft" | head -5 | pt_oneline)"
	fi
	if ip netns exec "$NS" nft -c -f "$TMP/$s.nft" 2>"$TMP/$s.err"; then
		pass "$s: nft -c accepts it"
	else
		fail "$s: nft -c accepts it" "$(head -5 "$TMP/$s.err" | pt_oneline)"
	fi
	if ip netns exec "$NS" nft -f "$TMP/$s.nft" 2>"$TMP/$s.err" &&
		ip netns exec "$NS" nft list table inet petrel >"$TMP/$s.list" &&
		ip netns exec "$NS" nft delete table inet petrel; then
		pass "$s: the kernel takes it"
	else
		fail "$s: the kernel takes it" "$(head -5 "$TMP/$s.err" | pt_oneline)"
	fi
done

# --- traffic through ingress_allow
pt_node
ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1
ip netns exec "$NODE" sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec "$NODE" sysctl -qw net.ipv4.conf.default.rp_filter=0

# workload NAME ADDR...: namespace pt-<id>-w-NAME, host end ptlNAME.
workload() {
	local ns="pt-$ID-w-$1" host="ptl$1" a hmac wmac
	shift
	ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip -n "$ns" link add eth0 type veth peer name "$host" netns "$NODE" &&
		ip -n "$ns" link set eth0 up && ip -n "$NODE" link set "$host" up ||
		return 1
	hmac=$(ip -n "$NODE" -o link show "$host" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	wmac=$(ip -n "$ns" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	for a in "$@"; do
		ip -n "$ns" addr add "$a/32" dev eth0 || return 1
		ip -n "$NODE" route add "$a/32" dev "$host" || return 1
		ip -n "$NODE" neigh add "$a" lladdr "$wmac" dev "$host" nud permanent || return 1
	done
	ip -n "$ns" route add 169.254.1.1 dev eth0 scope link &&
		ip -n "$ns" route add default via 169.254.1.1 dev eth0 &&
		ip -n "$ns" neigh add 169.254.1.1 lladdr "$hmac" dev eth0 nud permanent
}

# listen NAME PORT: socat answering "ok" on tcp/PORT in workload NAME.
listen() {
	bg ip netns exec "pt-$ID-w-$1" socat TCP-LISTEN:"$2",reuseaddr,fork SYSTEM:"echo ok"
}

# tcp_ok FROM ADDR PORT: a connection from workload FROM gets "ok".
tcp_ok() {
	[ "$(ip netns exec "pt-$ID-w-$1" timeout 5 socat -T2 - \
		TCP:"$2":"$3",connect-timeout=2 </dev/null 2>/dev/null)" = ok ]
}

ping_ok() {
	local from=$1
	shift
	ip netns exec "pt-$ID-w-$from" ping -c1 -W1 "$@" >/dev/null 2>&1
}

if ! workload web 10.0.0.10 10.0.0.99 || ! workload fe 10.0.0.20 || ! workload new 10.0.0.30; then
	fail "setup" "workload namespaces"
	exit 1
fi
listen web 80
listen web 81
listen web 443
listen fe 80
# before any table: everything flows (the checks below are not vacuous)
if wait_for 30 0.1 tcp_ok fe 10.0.0.10 81 && ping_ok fe 10.0.0.10 &&
	ping_ok web -I 10.0.0.99 10.0.0.20 && ping_ok new 10.0.0.20; then
	pass "without a table, every path works"
else
	fail "without a table, every path works" "setup broken"
	exit 1
fi

if ip netns exec "$NODE" nft -f "$TMP/ingress_allow.nft" 2>"$TMP/load.err"; then
	pass "ingress_allow loaded in the node"
else
	fail "ingress_allow loaded in the node" "$(pt_oneline <"$TMP/load.err")"
	exit 1
fi

# check WHAT yes|no CMD...: CMD should succeed (yes) or fail (no).
check() {
	local what=$1 want=$2 got=no
	shift 2
	"$@" && got=yes
	if [ "$got" = "$want" ]; then
		pass "$what"
	elif [ "$got" = yes ]; then
		fail "$what" "went through"
	else
		fail "$what" "blocked"
	fi
}
check "frontend -> web tcp/80: allowed by policy" yes tcp_ok fe 10.0.0.10 80
check "frontend -> web tcp/81: dropped (selected, no rule)" no tcp_ok fe 10.0.0.10 81
check "frontend -> web ping: dropped" no ping_ok fe 10.0.0.10
check "web -> frontend ping: allowed (unselected, default)" yes ping_ok web 10.0.0.20
check "web -> frontend tcp/80: allowed" yes tcp_ok web 10.0.0.20 80
# web's second address is in no set: anti-spoofing drops it at raw-pre
check "spoofed source (10.0.0.99 from ptlweb): dropped" no \
	ping_ok web -I 10.0.0.99 10.0.0.20

# fail-closed: an interface the table does not know carries nothing (its
# ping went through before the table: the baseline above)
check "unprogrammed interface: dropped" no ping_ok new 10.0.0.20

# --- published ports: the `ports` world (web is 10.0.0.10 on ptlweb there
# too: 8080 -> 80 on every address, 192.0.2.11:8443 -> 443)
ext_ok() {
	[ "$(ip netns exec "$EXT" timeout 5 socat -T2 - \
		TCP:"$1":"$2",connect-timeout=2 </dev/null 2>/dev/null)" = ok ]
}
node_ok() {
	[ "$(ip netns exec "$NODE" timeout 5 socat -T2 - \
		TCP:"$1":"$2",connect-timeout=2 </dev/null 2>/dev/null)" = ok ]
}
if ip netns exec "$NODE" nft delete table inet petrel &&
	ip netns exec "$NODE" nft -f "$TMP/ports.nft" 2>"$TMP/load.err"; then
	pass "ports loaded in the node"
else
	fail "ports loaded in the node" "$(pt_oneline <"$TMP/load.err")"
	exit 1
fi
check "outside -> node:8080 reaches web:80" yes ext_ok "$NODE_IP" 8080
check "outside -> node:8443 (hostIP) reaches web:443" yes ext_ok "$NODE_IP" 8443
# 8081 is not published: it reaches the node's own listener there (the
# path works), not web (a DNAT of it would answer "ok")
bg ip netns exec "$NODE" socat TCP-LISTEN:8081,reuseaddr,fork SYSTEM:"echo node"
ext_says() { ip netns exec "$EXT" timeout 5 socat -T2 - TCP:"$1":"$2",connect-timeout=2 </dev/null 2>/dev/null; }
ext_node_8081() { [ "$(ext_says "$NODE_IP" 8081)" = node ]; }
check "outside -> node:8081 (not published): the node's own listener answers, not web" yes wait_for 30 0.1 ext_node_8081
check "the node itself -> its address:8080" yes node_ok "$NODE_IP" 8080
check "web -> node:8080, back to itself (hairpin)" yes tcp_ok web "$NODE_IP" 8080
ip netns exec "$NODE" sysctl -qw net.ipv4.conf.all.route_localnet=1
check "the node itself -> 127.0.0.1:8080" yes node_ok 127.0.0.1 8080

# --- natOutgoing: the `natout` world (a = 10.0.0.1 on ptla, pool p1
# natOutgoing); the outside has no route to 10.0.0.0/16, so only a
# masqueraded ping gets its answer
if ! workload a 10.0.0.1; then
	fail "setup" "workload a"
elif ip netns exec "$NODE" nft delete table inet petrel &&
	ip netns exec "$NODE" nft -f "$TMP/natout.nft" 2>"$TMP/load.err"; then
	pass "natout loaded in the node"
	check "a -> outside: masqueraded, answered" yes ping_ok a 192.0.2.1
else
	fail "natout loaded in the node" "$(pt_oneline <"$TMP/load.err")"
fi

pt_end
