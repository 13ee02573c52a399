#!/usr/bin/env bash
#
# Named networks (`petrelctl network create`, like `docker network create`)
# on two nodes: blue (its own pool, --pool) and red (addresses from the
# pools no network names) are isolated from each other; members reach each
# other on one node and across nodes (TCP, UDP, ICMP) and the outside; a
# default-network workload cannot reach a member, the member reaches it; a
# workload on both networks reaches both; a policy selecting a member
# decides for it (Allow from a non-member; Pass back to the network
# rules); names resolve inside a network,
# also of members on the other node (`petrelctl exec A -- getent hosts B`,
# ping by name, `ip netns exec`), not across networks; network ls /
# inspect / rm (refused while members exist, changing nothing); bad names
# refused.
#
#            +------------- pt-<id>-tor (AS 65000): FRR ----------------+
#            | t1 192.0.2.1/24 (+ a who-am-I server :7070, "the outside") |
#            |                              t2 198.51.100.1/24          |
#            +-----|------------------------------------|---------------+
#                  | veth                               | veth
#   +--------------|---- pt-<id>-n1 ----+   +-----------|---- pt-<id>-n2 ----+
#   | up0 192.0.2.11, felix + BIRD      |   | up0 198.51.100.12, felix + BIRD |
#   +--|------|------|------|-----------+   +----|--------|--------|---------+
#      |      |      |      |                        |        |        |
#    +-|--+ +-|--+ +-|--+ +-|--+                   +-|--+   +-|--+   +-|--+
#    | b1 | | m  | | r1 | | d1 |                   | b2 |   | r2 |   | d2 |
#    |blue| |blue| |red | |dflt|                   |blue|   |red |   |dflt|
#    +----+ |+red| +----+ +----+                   +----+   +----+   +----+
#           +----+                                 later: b3 (blue), node2
#   pools: p1 10.65.0.0/17 (default, red), blue 10.65.200.0/24 (inside the
#   ToR's PETREL-POOLS 10.65.0.0/16, so the ToR takes blue's blocks too)
#   (each workload: TCP 80 and 8080, UDP 53 answer with its name)
set -u
. "$(dirname "$0")/../lib.sh"
pt_init nets
for b in bird /usr/lib/frr/zebra /usr/lib/frr/bgpd vtysh; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "networks" "$b is not installed (needs bird2 and frr)"
		exit 0
	fi
done
id frr >/dev/null 2>&1 || { skip "networks" "no user frr"; exit 0; }
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft jq getent
pt_etc_netns_trap
# (workloads reach the node here: endpointToHostAction accept, explicitly;
# its default is drop)
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_tor_nodes
NODE=$N1	# pt_snapshot looks at node1
FAR=$TOR_IP1
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg ip netns exec "$TOR" socat TCP-LISTEN:7070,reuseaddr,fork 'SYSTEM:echo far-$SOCAT_PEERADDR' 2>>"$TMP/servers.log"
expect_ok "pool create p1 10.65.0.0/17" ctl1 pool create p1 --cidr 10.65.0.0/17
pt_tor_felix
pass "two nodes with felix + BIRD behind the ToR"

# --- create ----------------------------------------------------------------------
expect_ok "network create blue --pool 10.65.200.0/24" ctl1 network create blue --pool 10.65.200.0/24
check "network create prints network/blue created" test "$OUT" = "network/blue created"
expect_ok "network create red (no pool)" ctl1 network create red
check "network create prints network/red created" test "$OUT" = "network/red created"
ctl1 get ippool blue >"$TMP/blue.pool" 2>&1
check "network create --pool made IPPool blue 10.65.200.0/24" grep -q '10.65.200.0/24' "$TMP/blue.pool"

refused() { # WHAT REGEX CMD...: exits non-zero, says REGEX, changes nothing
	local what=$1
	pt_snapshot "$TMP/before"
	expect_err "$@"
	pt_snapshot "$TMP/after"
	same_files "$what: changes nothing" "$TMP/before" "$TMP/after"
}
for n in default routed host none; do
	refused "network create $n (reserved)" "$n" ctl1 network create "$n"
done
refused "network create a:b (':')" "a:b|:" ctl1 network create a:b
refused "network create blue again" "blue.*(exist|already)|(exist|already).*blue" ctl1 network create blue
refused "network create with a pool overlapping p1" "p1|overlap" ctl1 network create green --pool 10.65.7.0/24
refused "network create a pool name taken (p1)" "p1" ctl1 network create p1 --pool 10.71.0.0/24
refused "run --network of a missing network" "nosuch" ctl1 run --name zz --network nosuch
refused "run --network host --network red (a name needs routed mode)" "host|routed|red" ctl1 run --name zz --network host --network red
refused "network create with an invalid --pool" "10\.65\.300|cidr|invalid" ctl1 network create green --pool 10.65.300.0/24
expect_ok "network create green --pool 10.65.201.0/24 --block-size 28" ctl1 network create green --pool 10.65.201.0/24 --block-size 28
check "pool green has blockSize 28" sh -c "'$PETRELCTL' -c '$C1' -o json get ippool green | jq -e '.spec.blockSize == 28'"
expect_ok "network rm green (no members)" ctl1 network rm green
expect_err "network rm green removed pool green (get ippool green: no such pool)" "(no|not found|no such|does not exist)[^\n]*green|green[^\n]*(not found|no such|does not exist)" ctl1 get ippool green

# --- members -----------------------------------------------------------------------
wl_run "$C1" b1 --network blue --label app=b1
wl_run "$C2" b2 --network blue
wl_run "$C1" r1 --network red
wl_run "$C2" r2 --network red
wl_run "$C1" d1
wl_run "$C2" d2
wl_run "$C1" m --network blue --network red
for w in b1 b2 r1 r2 d1 d2 m; do
	[ -n "${WL_ADDR[$w]:-}" ] || { fail "setup" "workload $w missing"; exit 1; }
	wl_serve "$w"
done
in_blue() { [[ $1 =~ ^10\.65\.200\.[0-9]+$ ]]; }
in_p1() { [[ $1 =~ ^10\.65\.([0-9]|[1-9][0-9]|1[01][0-9]|12[0-7])\.[0-9]+$ ]]; }
check "b1's address from blue's pool (${WL_ADDR[b1]})" in_blue "${WL_ADDR[b1]}"
check "b2's address from blue's pool (${WL_ADDR[b2]}, node2)" in_blue "${WL_ADDR[b2]}"
check "m's address from its first network's pool, blue (${WL_ADDR[m]})" in_blue "${WL_ADDR[m]}"
check "r1's address from p1 (red names no pool) (${WL_ADDR[r1]})" in_p1 "${WL_ADDR[r1]}"
check "d1's address from p1, not blue's (${WL_ADDR[d1]})" in_p1 "${WL_ADDR[d1]}"
check "d2's address from p1, not blue's (${WL_ADDR[d2]})" in_p1 "${WL_ADDR[d2]}"
ctl1 -o json inspect b1 >"$TMP/b1.json" 2>&1
check "b1's WorkloadEndpoint has networks [blue]" jq -e '.spec.networks == ["blue"]' "$TMP/b1.json"
ctl1 -o json inspect d1 >"$TMP/d1.json" 2>&1
check "d1's WorkloadEndpoint has no networks (default)" jq -e '(.spec.networks // []) == []' "$TMP/d1.json"
# Cross-node traffic needs BGP: bounded wait, 30 s.
if ! wait_for 60 0.5 pt_probe "$C1" b1 icmp "${WL_ADDR[d2]}"; then
	fail "cross-node route (b1 -> d2)" "no ping after 30 s: n1 routes $(ip -n "$N1" route show proto bird | pt_oneline)"
	exit 1
fi
pass "cross-node route up (b1 on node1 pings d2 on node2)"
wait_for 60 0.5 pt_probe "$C2" b2 icmp "${WL_ADDR[d1]}" ||
	fail "cross-node route (b2 -> d1)" "no ping after 30 s: n2 routes $(ip -n "$N2" route show proto bird | pt_oneline)"

# --- the matrix -----------------------------------------------------------------------
# (allows first: each denial's positive control is an allow of the same
# protocol, address and port, from a member; pt_qrun refuses a denial
# without one)
for e in allow deny; do
	while read -r x f p t port; do
		[ "$x" = "$e" ] || continue
		pt_q "$f->$t $p${port:+/$port}" "$x" 5 "$f" "$p" "$t" "$port"
	done <<'EOF'
allow m tcp r1 80
allow r1 icmp r2
allow b2 tcp b1 80
allow b1 udp b2 53
allow b2 icmp b1
allow b1 tcp m 80
allow b1 icmp m
allow b1 tcp b2 80
allow b2 udp b1 53
allow b1 icmp b2
allow b2 tcp m 8080
allow r1 tcp r2 8080
allow r2 icmp r1
allow r2 udp m 53
deny b1 tcp r1 80
deny b1 icmp r2
deny r1 tcp b1 80
deny r2 udp b2 53
deny r2 icmp b1
deny d1 tcp b1 80
deny d2 tcp b1 80
deny d1 udp b2 53
deny d2 icmp b2
deny d1 tcp r2 80
deny d2 tcp m 80
deny d1 icmp m
allow b1 tcp d1 80
allow b2 icmp d1
allow b1 udp d2 53
allow r2 tcp d1 80
allow m tcp b2 80
allow m tcp r2 80
allow m icmp r1
allow d1 tcp d2 80
EOF
	pt_qrun
done
# A policy selecting a member: only what its rules allow passes; Pass
# hands over to the network rules (members yes, others no).
cat >"$TMP/b1-in.yaml" <<EOF
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: b1-in}
spec:
  selector: app == "b1"
  types: [Ingress]
  ingress:
  - action: Allow
    source: {nets: [${WL_ADDR[d1]}/32]}
  - action: Pass
    protocol: TCP
EOF
expect_ok "policy apply b1-in (d1 allowed; TCP passed to the network rules)" ctl1 policy apply -f "$TMP/b1-in.yaml"
# (the denials' positive controls: the same probes allowed before the policy)
for e in allow deny; do
	while read -r x f p t port; do
		[ "$x" = "$e" ] || continue
		pt_q "policy b1-in: $f->$t $p${port:+/$port}" "$x" 5 "$f" "$p" "$t" "$port"
	done <<'EOF'
deny d2 tcp b1 80
deny b2 icmp b1
deny b2 udp b1 53
deny r1 tcp b1 80
allow d1 tcp b1 80
allow d1 icmp b1
allow b2 tcp b1 80
allow m tcp b1 8080
allow b1 tcp d2 80
EOF
	pt_qrun
done
expect_ok "policy rm b1-in" ctl1 policy rm b1-in
pt_q "policy b1-in removed: d1 -> b1 denied again (not a member)" deny 5 d1 tcp b1 80
pt_q "policy b1-in removed: b2 -> b1 icmp allowed again (member)" allow 5 b2 icmp b1
pt_qrun

# The outside: a server in the ToR's namespace.
far_ok() { # FROM: the far side answers and sees FROM's own address
	local out
	out=$(timeout 5 "$PETRELCTL" -c "${WL_CONF[$1]}" exec "$1" -- socat -T 2 -u "TCP:$FAR:7070,connect-timeout=1" - 2>/dev/null)
	echo "$out" >"$TMP/far.out"
	[ "$out" = "far-${WL_ADDR[$1]}" ]
}
check "b1 (blue, node1) reaches the outside: TCP to $FAR:7070" wait_for 10 0.3 far_ok b1
check "b2 (blue, node2) reaches the outside: TCP to $FAR:7070" wait_for 10 0.3 far_ok b2
check "r1 (red) reaches the outside: TCP to $FAR:7070" wait_for 10 0.3 far_ok r1
check "b2 (blue) pings the outside ($FAR)" ctl2 exec b2 -- ping -c 1 -W 2 "$FAR"
check "b1 (blue) pings its node ($N1_IP)" ctl1 exec b1 -- ping -c 1 -W 2 "$N1_IP"

# --- names -------------------------------------------------------------------------
wl_ns() { # NAME: its network namespace
	case "${WL_CONF[$1]}" in "$C2") echo "pt-$ID-w2-$1" ;; *) echo "pt-$ID-w1-$1" ;; esac
}
hosts_of() { echo "/etc/netns/$(wl_ns "$1")/hosts"; }
# The hosts file felix writes: /etc/netns/<netns>/hosts (bounded wait).
hosts_has() { # WORKLOAD NAME ADDR
	grep -Eq "^$3[[:space:]]+$2([[:space:]]|$)" "$(hosts_of "$1")" 2>/dev/null
}
check "b1's hosts file names b2 (node2, ${WL_ADDR[b2]})" wait_for 50 0.1 hosts_has b1 b2 "${WL_ADDR[b2]}"
check "b1's hosts file: 127.0.0.1 localhost" grep -Eq '^127\.0\.0\.1[[:space:]]+localhost' "$(hosts_of b1)"
check "b1's hosts file names itself" hosts_has b1 b1 "${WL_ADDR[b1]}"
check "b1's hosts file names m" hosts_has b1 m "${WL_ADDR[m]}"
check "b2's hosts file (node2's felix) names b1 and m" wait_for 50 0.1 sh -c \
	"grep -Eq '^${WL_ADDR[b1]}[[:space:]]+b1' '$(hosts_of b2)' && grep -Eq '^${WL_ADDR[m]}[[:space:]]+m' '$(hosts_of b2)'"
check "b1's hosts file does not name r1 (another network)" sh -c "! grep -qw r1 '$(hosts_of b1)'"
check "b1's hosts file does not name d1 (default)" sh -c "! grep -qw d1 '$(hosts_of b1)'"
check "m's hosts file names b2 and r2 (both networks, node2)" wait_for 50 0.1 sh -c \
	"grep -qw b2 '$(hosts_of m)' && grep -qw r2 '$(hosts_of m)'"
check "d1's hosts file (default network) names d1 itself" wait_for 50 0.1 hosts_has d1 d1 "${WL_ADDR[d1]}"
check "d1's hosts file (default network) names no one else" \
	sh -c "[ -f '$(hosts_of d1)' ] && ! grep -Eqw 'b1|b2|b3|r1|r2|m|d2' '$(hosts_of d1)'"
check "d2's hosts file (node2, default network) names d2 itself" wait_for 50 0.1 hosts_has d2 d2 "${WL_ADDR[d2]}"
getent_is() { # WORKLOAD NAME ADDR: petrelctl exec resolves NAME to ADDR
	"$PETRELCTL" -c "${WL_CONF[$1]}" exec "$1" -- getent hosts "$2" >"$TMP/getent.out" 2>&1
	awk '{ print $1 }' "$TMP/getent.out" | grep -qx "$3"
}
check "exec b1 -- getent hosts b2 = ${WL_ADDR[b2]} (the other node)" getent_is b1 b2 "${WL_ADDR[b2]}"
check "exec b2 -- getent hosts b1 = ${WL_ADDR[b1]} (node2)" getent_is b2 b1 "${WL_ADDR[b1]}"
check "exec r1 -- getent hosts r2 = ${WL_ADDR[r2]}" wait_for 20 0.1 getent_is r1 r2 "${WL_ADDR[r2]}"
check "exec m -- getent hosts r2 = ${WL_ADDR[r2]}" getent_is m r2 "${WL_ADDR[r2]}"
check "exec m -- getent hosts r1 = ${WL_ADDR[r1]} (the name exists, in red)" getent_is m r1 "${WL_ADDR[r1]}"
getent_exit() { "$PETRELCTL" -c "${WL_CONF[$1]}" exec "$1" -- getent hosts "$2" >/dev/null 2>&1; echo $?; }
check "exec b1 -- getent hosts r1: not found (another network; getent's exit 2, not another error)" \
	test "$(getent_exit b1 r1)" = 2
check "exec b1 -- cat /etc/hosts is b1's file" sh -c "'$PETRELCTL' -c '$C1' exec b1 -- cat /etc/hosts | grep -qw b2"
check "exec b1 -- ping -c 1 b2 (by name, across nodes)" ctl1 exec b1 -- ping -c 1 -W 2 b2
check "exec r2 -- socat TCP:r1:80 (by name) answers r1" \
	sh -c "[ \"\$('$PETRELCTL' -c '$C2' exec r2 -- socat -T 2 -u TCP:r1:80,connect-timeout=2 -)\" = r1 ]"
check "ip netns exec $(wl_ns b2) getent hosts b1 = ${WL_ADDR[b1]}" \
	sh -c "ip netns exec $(wl_ns b2) getent hosts b1 | awk '{ print \$1 }' | grep -qx ${WL_ADDR[b1]}"
check "ip netns exec $(wl_ns b2) ping -c 1 m (by name)" ip netns exec "$(wl_ns b2)" ping -c 1 -W 2 m
# A new member (node2) appears in the others' files, on both nodes.
wl_run "$C2" b3 --network blue
wl_serve b3
check "b3 (node2) appears in b1's hosts file (node1; bounded wait)" wait_for 50 0.1 hosts_has b1 b3 "${WL_ADDR[b3]}"
check "b3 appears in b2's hosts file (node2)" wait_for 50 0.1 hosts_has b2 b3 "${WL_ADDR[b3]}"
check "exec b3 -- getent hosts b1" getent_is b3 b1 "${WL_ADDR[b1]}"
pt_q "new member b3 (node2) reaches b2 (node2) at once" allow 0 b3 tcp b2 80
pt_q "new member b3 (node2) reaches b1 (node1)" allow 5 b3 tcp b1 80
pt_q "new member b3 is reached by b2 (node2): ping" allow 5 b2 icmp b3
pt_q "new member b3 is reached by b1 (node1): TCP 80" allow 5 b1 tcp b3 80
pt_qrun
pt_q "new member b3: d2 cannot reach it" deny 5 d2 icmp b3
pt_q "new member b3: d1 cannot reach it" deny 5 d1 tcp b3 80
pt_qrun

# --- ls / inspect ----------------------------------------------------------------------
expect_ok "network ls" ctl1 network ls
printf '%s\n' "$OUT" >"$TMP/ls"
check "network ls: header NAME POOL CIDR MEMBERS" sh -c "head -n1 '$TMP/ls' | grep -Eq '^NAME[[:space:]]+POOL[[:space:]]+CIDR[[:space:]]+MEMBERS'"
check "network ls: default first" sh -c "sed -n 2p '$TMP/ls' | grep -Eq '^default[[:space:]]'"
check "network ls: blue, pool blue, 10.65.200.0/24" grep -Eq '^blue[[:space:]]+blue[[:space:]]+10\.65\.200\.0/24' "$TMP/ls"
check "network ls: red" grep -Eq '^red[[:space:]]' "$TMP/ls"
expect_ok "network ls -o json" ctl1 -o json network ls
members_of() { # JSON NAME: its member count (members a number or a list)
	printf '%s' "$1" | jq -r --arg n "$2" '.[] | select(.name == $n) | .members | if type == "array" then length else . end'
}
check "network ls -o json: blue has 4 members (b1 b2 b3 m, both nodes)" test "$(members_of "$OUT" blue)" = 4
check "network ls -o json: red has 3 members (r1 r2 m)" test "$(members_of "$OUT" red)" = 3
check "network ls -o json: blue's cidr" test "$(printf '%s' "$OUT" | jq -r '.[] | select(.name == "blue") | .cidr')" = 10.65.200.0/24
check "network ls -o json: default first" test "$(printf '%s' "$OUT" | jq -r '.[0].name')" = default
expect_ok "network inspect blue" ctl2 network inspect blue
printf '%s' "$OUT" >"$TMP/blue.json"
check "inspect blue: name, pool, cidr" jq -e '.name == "blue" and .pool == "blue" and .cidr == "10.65.200.0/24"' "$TMP/blue.json"
check "inspect blue: members b1 b2 b3 m" test "$(jq -r '[.members[].name] | sort | join(" ")' "$TMP/blue.json")" = "b1 b2 b3 m"
check "inspect blue: b1 on node1 with its address" \
	jq -e --arg a "${WL_ADDR[b1]}" '.members[] | select(.name == "b1") | .node == "node1" and (.address | split("/")[0]) == $a' "$TMP/blue.json"
check "inspect blue: b2 on node2 with its address" \
	jq -e --arg a "${WL_ADDR[b2]}" '.members[] | select(.name == "b2") | .node == "node2" and (.address | split("/")[0]) == $a' "$TMP/blue.json"
expect_err "network inspect of a missing network" "nosuch" ctl1 network inspect nosuch

# --- rm ------------------------------------------------------------------------------
refused "network rm blue while it has members (names them)" "b1" ctl1 network rm blue
check "network rm blue's message names every member (b1 b2 b3 m)" \
	sh -c "printf '%s\n' \"\$1\" | grep -qw b2 && printf '%s\n' \"\$1\" | grep -qw b3 && printf '%s\n' \"\$1\" | grep -qw m" _ "$ERR$OUT"
refused "network rm red while it has members" "r1" ctl1 network rm red
expect_ok "rm b1 m (node1)" ctl1 rm b1 m
check "b1's /etc/netns directory removed" test ! -e "/etc/netns/$(wl_ns b1)"
check "b1 leaves b2's hosts file (bounded wait)" wait_for 50 0.1 sh -c "! grep -qw b1 '$(hosts_of b2)'"
refused "network rm blue while b2, b3 (node2) are members" "b2" ctl1 network rm blue
expect_ok "rm b2 b3 (node2)" ctl2 rm b2 b3
expect_ok "network rm blue (no member left)" ctl1 network rm blue
expect_err "network rm blue removed pool blue too (get ippool blue: no such pool)" "(no|not found|no such|does not exist)[^\n]*blue|blue[^\n]*(not found|no such|does not exist)" ctl1 get ippool blue
check "network ls: no blue" sh -c "! '$PETRELCTL' -c '$C1' network ls | grep -q '^blue'"
expect_ok "rm r1" ctl1 rm r1
expect_ok "rm r2" ctl2 rm r2
expect_ok "network rm red" ctl1 network rm red
check "network rm red kept pool p1" ctl1 get ippool p1
check "d1 still reaches the outside" wait_for 10 0.3 far_ok d1
pt_q "d1 reaches d2 (default network) at the end" allow 5 d1 tcp d2 80
pt_qrun
expect_err "network rm of a missing network" "red" ctl1 network rm red

for p in "$F1_PID" "$F2_PID"; do
	FELIX_PID=$p
	felix_stop TERM
	check "felix ($p) exits 0 on SIGTERM" test "$FELIX_RC" = 0
done
pt_end
