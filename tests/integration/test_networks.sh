#!/usr/bin/env bash
#
# Named networks (`petrelctl network create`, like `docker network create`):
# blue (its own pool, --pool) and red (addresses from the pools no network
# names) are isolated from each other; members reach each other (TCP, UDP,
# ICMP) and the outside; a default-network workload cannot reach a member,
# the member reaches it; a workload on both networks reaches both; names
# resolve inside a network (`petrelctl exec A -- getent hosts B`, ping by
# name, `ip netns exec`), not across; network ls / inspect / rm (refused
# while members exist, changing nothing); bad names refused.
#
#   +------------------------------ pt-<id>-node --------------------------------+
#   | felix, table inet petrel       up0 192.0.2.11/24 ---veth--- pt-<id>-ext     |
#   | pools: p1 10.65.0.0/16 (default + red), blue 10.70.0.0/24  (dn0 192.0.2.1,  |
#   |                                                routes 10.65/16, 10.70/24   |
#   |                                                via 192.0.2.11; a server)   |
#   +---|--------|---------|---------|----------|---------|-----------------------+
#       |veth    |veth     |veth     |veth      |veth     |veth
#   +---|--+ +---|--+ +----|---+ +---|--+  +----|--+  +---|---+
#   | b1   | | b2   | | m      | | r1   |  | r2    |  | d1    |
#   | blue | | blue | | blue + | | red  |  | red   |  |default|
#   | 10.70| | 10.70| | red    | | 10.65|  | 10.65 |  | 10.65 |
#   +------+ +------+ +--------+ +------+  +-------+  +-------+
#   (each: TCP 80 and 8080, UDP 53 answer with the workload's name)
set -u
. "$(dirname "$0")/../lib.sh"
pt_init nets
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft jq getent
pt_etc_netns_trap
pt_node
# The far side routes the workloads' addresses back to the node (no NAT).
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
ip -n "$EXT" route add 10.70.0.0/24 via "$NODE_IP"
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg ip netns exec "$EXT" socat TCP-LISTEN:7070,reuseaddr,fork 'SYSTEM:echo far-$SOCAT_PEERADDR'
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }

expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16

# --- create ----------------------------------------------------------------------
expect_ok "network create blue --pool 10.70.0.0/24" ctl network create blue --pool 10.70.0.0/24
check "network create prints network/blue created" test "$OUT" = "network/blue created"
expect_ok "network create red (no pool)" ctl network create red
check "network create prints network/red created" test "$OUT" = "network/red created"
ctl get ippool blue >"$TMP/blue.pool" 2>&1
check "network create --pool made IPPool blue 10.70.0.0/24" grep -q '10.70.0.0/24' "$TMP/blue.pool"

refused() { # WHAT REGEX CMD...: exits non-zero, says REGEX, changes nothing
	local what=$1
	pt_snapshot "$TMP/before"
	expect_err "$@"
	pt_snapshot "$TMP/after"
	same_files "$what: changes nothing" "$TMP/before" "$TMP/after"
}
for n in default routed host none; do
	refused "network create $n (reserved)" "$n" ctl network create "$n"
done
refused "network create a:b (':')" "a:b|:" ctl network create a:b
refused "network create blue again" "blue.*(exist|already)|(exist|already).*blue" ctl network create blue
refused "network create with a pool overlapping p1" "p1|overlap" ctl network create green --pool 10.65.7.0/24
refused "network create a pool name taken (p1)" "p1" ctl network create p1 --pool 10.71.0.0/24
refused "run --network of a missing network" "nosuch" ctl run --name zz --network nosuch

# --- members -----------------------------------------------------------------------
wl_run "$CONF" b1 --network blue
wl_run "$CONF" b2 --network blue
wl_run "$CONF" r1 --network red
wl_run "$CONF" r2 --network red
wl_run "$CONF" d1
wl_run "$CONF" m --network blue --network red
for w in b1 b2 r1 r2 d1 m; do
	[ -n "${WL_ADDR[$w]:-}" ] || { fail "setup" "workload $w missing"; exit 1; }
	wl_serve "$w"
done
in_blue() { [[ $1 =~ ^10\.70\.0\.[0-9]+$ ]]; }
in_p1() { [[ $1 =~ ^10\.65\.[0-9]+\.[0-9]+$ ]]; }
check "b1's address from blue's pool (${WL_ADDR[b1]})" in_blue "${WL_ADDR[b1]}"
check "b2's address from blue's pool (${WL_ADDR[b2]})" in_blue "${WL_ADDR[b2]}"
check "m's address from its first network's pool, blue (${WL_ADDR[m]})" in_blue "${WL_ADDR[m]}"
check "r1's address from p1 (red names no pool) (${WL_ADDR[r1]})" in_p1 "${WL_ADDR[r1]}"
check "d1's address from p1 (${WL_ADDR[d1]})" in_p1 "${WL_ADDR[d1]}"
ctl -o json inspect b1 >"$TMP/b1.json" 2>&1
check "b1's WorkloadEndpoint has networks [blue]" \
	sh -c "jq -e '.spec.networks == [\"blue\"]' '$TMP/b1.json' || grep -A2 networks '$TMP/b1.json' | grep -q blue"

# --- the matrix -----------------------------------------------------------------------
for e in deny allow; do
	while read -r x f p t port; do
		[ "$x" = "$e" ] || continue
		pt_q "$f->$t $p${port:+/$port}" "$x" 5 "$f" "$p" "$t" "$port"
	done <<'EOF'
allow b1 tcp b2 80
allow b2 udp b1 53
allow b1 icmp b2
allow r1 tcp r2 8080
allow r2 icmp r1
deny b1 tcp r1 80
deny b1 icmp r1
deny r1 tcp b1 80
deny r2 udp b2 53
deny r1 icmp b2
deny d1 tcp b1 80
deny d1 udp b1 53
deny d1 icmp b1
deny d1 tcp r1 80
allow b1 tcp d1 80
allow b1 icmp d1
allow r1 udp d1 53
allow m tcp b1 80
allow m tcp r1 80
allow b1 tcp m 8080
allow r2 tcp m 80
allow r1 udp m 53
deny d1 tcp m 80
EOF
	pt_qrun
done
# The outside: a server in the uplink namespace, and the node itself.
far_ok() { # FROM: the far side answers and sees FROM's own address
	local out
	out=$(timeout 5 "$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 2 -u "TCP:$EXT_IP:7070,connect-timeout=1" - 2>/dev/null)
	echo "$out" >"$TMP/far.out"
	[ "$out" = "far-${WL_ADDR[$1]}" ]
}
check "b1 (blue) reaches the outside: TCP to $EXT_IP:7070" wait_for 10 0.3 far_ok b1
check "r1 (red) reaches the outside: TCP to $EXT_IP:7070" wait_for 10 0.3 far_ok r1
check "b2 (blue) pings the outside ($EXT_IP)" ctl exec b2 -- ping -c 1 -W 2 "$EXT_IP"
check "b1 (blue) pings the node ($NODE_IP)" ctl exec b1 -- ping -c 1 -W 2 "$NODE_IP"

# --- names -------------------------------------------------------------------------
# The hosts file felix writes: /etc/netns/<netns>/hosts (bounded wait).
hosts_has() { # WORKLOAD NAME ADDR
	grep -Eq "^$3[[:space:]]+$2([[:space:]]|$)" "/etc/netns/$WPREFIX$1/hosts" 2>/dev/null
}
check "b1's hosts file names b2 (${WL_ADDR[b2]})" wait_for 50 0.1 hosts_has b1 b2 "${WL_ADDR[b2]}"
check "b1's hosts file: 127.0.0.1 localhost" grep -Eq '^127\.0\.0\.1[[:space:]]+localhost' "/etc/netns/${WPREFIX}b1/hosts"
check "b1's hosts file names itself" hosts_has b1 b1 "${WL_ADDR[b1]}"
check "b1's hosts file names m" hosts_has b1 m "${WL_ADDR[m]}"
check "b1's hosts file does not name r1 (another network)" sh -c "! grep -qw r1 /etc/netns/${WPREFIX}b1/hosts"
check "b1's hosts file does not name d1 (default)" sh -c "! grep -qw d1 /etc/netns/${WPREFIX}b1/hosts"
check "m's hosts file names b1 and r1 (both networks)" wait_for 50 0.1 sh -c \
	"grep -qw b1 /etc/netns/${WPREFIX}m/hosts && grep -qw r1 /etc/netns/${WPREFIX}m/hosts"
getent_is() { # WORKLOAD NAME ADDR: petrelctl exec resolves NAME to ADDR
	ctl exec "$1" -- getent hosts "$2" >"$TMP/getent.out" 2>&1
	awk '{ print $1 }' "$TMP/getent.out" | grep -qx "$3"
}
check "exec b1 -- getent hosts b2 = ${WL_ADDR[b2]}" getent_is b1 b2 "${WL_ADDR[b2]}"
check "exec r1 -- getent hosts r2 = ${WL_ADDR[r2]}" wait_for 20 0.1 getent_is r1 r2 "${WL_ADDR[r2]}"
check "exec m -- getent hosts r1 = ${WL_ADDR[r1]}" getent_is m r1 "${WL_ADDR[r1]}"
check "exec b1 -- getent hosts r1: not found (another network)" sh -c "! '$PETRELCTL' -c '$CONF' exec b1 -- getent hosts r1"
check "exec b1 -- cat /etc/hosts is b1's file" sh -c "'$PETRELCTL' -c '$CONF' exec b1 -- cat /etc/hosts | grep -qw b2"
check "exec b1 -- ping -c 1 b2 (by name)" ctl exec b1 -- ping -c 1 -W 2 b2
check "exec r1 -- socat TCP:r2:80 (by name) answers r2" \
	sh -c "[ \"\$('$PETRELCTL' -c '$CONF' exec r1 -- socat -T 2 -u TCP:r2:80,connect-timeout=2 -)\" = r2 ]"
check "ip netns exec ${WPREFIX}b2 getent hosts b1 = ${WL_ADDR[b1]}" \
	sh -c "ip netns exec ${WPREFIX}b2 getent hosts b1 | awk '{ print \$1 }' | grep -qx ${WL_ADDR[b1]}"
check "ip netns exec ${WPREFIX}b2 ping -c 1 m (by name)" ip netns exec "${WPREFIX}b2" ping -c 1 -W 2 m
# A new member appears in the others' files.
wl_run "$CONF" b3 --network blue
check "b3 appears in b1's hosts file (bounded wait)" wait_for 50 0.1 hosts_has b1 b3 "${WL_ADDR[b3]}"
check "exec b3 -- getent hosts b1" getent_is b3 b1 "${WL_ADDR[b1]}"
pt_q "new member b3 reaches b1 at once" allow 0 b3 tcp b1 80
pt_q "new member b3: d1 cannot reach it" deny 5 d1 icmp b3
pt_qrun

# --- ls / inspect ----------------------------------------------------------------------
expect_ok "network ls" ctl network ls
printf '%s\n' "$OUT" >"$TMP/ls"
check "network ls: header NAME POOL CIDR MEMBERS" sh -c "head -n1 '$TMP/ls' | grep -Eq '^NAME[[:space:]]+POOL[[:space:]]+CIDR[[:space:]]+MEMBERS'"
check "network ls: default first" sh -c "sed -n 2p '$TMP/ls' | grep -Eq '^default[[:space:]]'"
check "network ls: blue, pool blue, 10.70.0.0/24" grep -Eq '^blue[[:space:]]+blue[[:space:]]+10\.70\.0\.0/24' "$TMP/ls"
check "network ls: red" grep -Eq '^red[[:space:]]' "$TMP/ls"
expect_ok "network ls -o json" ctl -o json network ls
members_of() { # JSON NAME: its member count (members a number or a list)
	printf '%s' "$1" | jq -r --arg n "$2" '.[] | select(.name == $n) | .members | if type == "array" then length else . end'
}
check "network ls -o json: blue has 4 members (b1 b2 b3 m)" test "$(members_of "$OUT" blue)" = 4
check "network ls -o json: red has 3 members (r1 r2 m)" test "$(members_of "$OUT" red)" = 3
check "network ls -o json: blue's cidr" test "$(printf '%s' "$OUT" | jq -r '.[] | select(.name == "blue") | .cidr')" = 10.70.0.0/24
check "network ls -o json: default first" test "$(printf '%s' "$OUT" | jq -r '.[0].name')" = default
expect_ok "network inspect blue" ctl network inspect blue
printf '%s' "$OUT" >"$TMP/blue.json"
check "inspect blue: name, pool, cidr" jq -e '.name == "blue" and .pool == "blue" and .cidr == "10.70.0.0/24"' "$TMP/blue.json"
check "inspect blue: members b1 b2 b3 m" test "$(jq -r '[.members[].name] | sort | join(" ")' "$TMP/blue.json")" = "b1 b2 b3 m"
check "inspect blue: b1's node and address" \
	jq -e --arg a "${WL_ADDR[b1]}" '.members[] | select(.name == "b1") | .node == "node1" and (.address | split("/")[0]) == $a' "$TMP/blue.json"
expect_err "network inspect of a missing network" "nosuch" ctl network inspect nosuch

# --- rm ------------------------------------------------------------------------------
refused "network rm blue while it has members (names them)" "b1" ctl network rm blue
check "network rm blue's message names every member" sh -c "printf '%s\n' \"\$1\" | grep -q b2 && printf '%s\n' \"\$1\" | grep -qw m" _ "$ERR$OUT"
refused "network rm red while it has members" "r1" ctl network rm red
expect_ok "rm b1 b2 b3 m" ctl rm b1 b2 b3 m
check "b1's /etc/netns directory removed" test ! -e "/etc/netns/${WPREFIX}b1"
expect_ok "network rm blue (no member left)" ctl network rm blue
check "network rm blue removed pool blue too" sh -c "! '$PETRELCTL' -c '$CONF' get ippool blue"
check "network ls: no blue" sh -c "! '$PETRELCTL' -c '$CONF' network ls | grep -q '^blue'"
expect_ok "rm r1 r2" ctl rm r1 r2
expect_ok "network rm red" ctl network rm red
check "network rm red kept pool p1" ctl get ippool p1
check "d1 still reaches the outside" wait_for 10 0.3 far_ok d1
expect_err "network rm of a missing network" "red" ctl network rm red

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
