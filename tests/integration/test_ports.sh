#!/usr/bin/env bash
#
# Published ports (`run -p`, `--expose` + `-P`, `petrelctl port`): web's
# -p 8080:80 answers a client outside the node, the node itself (its address
# and 127.0.0.1), another workload, and web itself through the node's
# address (hairpin); -p hostIP:hostPort:port only on that address; UDP;
# -p PORT and -P take free ports of hostPortRange (40000-40009 here); a
# second workload asking for a taken host port (or a full range, or an
# invalid -p) is refused and leaves nothing behind; a named network's
# member is reached by non-members only through its published port; a
# policy selecting a workload applies to its published ports too; rm takes
# the port away.
#
#   +----------------------------- pt-<id>-node -------------------------------+
#   | felix, table inet petrel (DNAT prerouting + output, hairpin masquerade)   |
#   | lo 127.0.0.1                                                              |
#   | up0 192.0.2.11/24 + 192.0.2.12/24 ----------veth---------+                |
#   +---|-----------|-----------|-----------|-----------|------|----------------+
#       |veth       |veth       |veth       |veth       |veth  |
#   +---|-----+ +---|-----+ +---|-----+ +---|-----+ +---|---+ +-|------ pt-<id>-ext ---+
#   | web     | | w2      | | w3      | | w4      | | d1    | | dn0 192.0.2.1/24     |
#   | -p 8080:| | -p 192. | | -p 80   | | --expose| | (no   | | route 10.65/16 via   |
#   |  80     | | 0.2.12: | | (a port | |  80,    | | ports)| |   192.0.2.11         |
#   | -p 5353:| | 9090:80 | | of the  | |  53/udp | |       | | the "client" outside |
#   |  53/udp | |         | | range)  | | -P      | |       | | the node             |
#   +---------+ +---------+ +---------+ +---------+ +-------+ +----------------------+
#   (each workload: TCP 80 and 8080, UDP 53 answer with its name)
#   later: src (-p 8181:81), bn (network blue, -p 8088:80; bm, a member, its
#   control), wp (a policy,
#   -p 8090:80 -p 8091:8080), e1..e8 (-p 80 until the range is full),
#   u1 (-p 8080:53/udp), web5 (-p 8080:80 once web is gone)
set -u
. "$(dirname "$0")/../lib.sh"
pt_init ports
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft jq
PT_CONF_EXTRA="hostPortRange: 40000-40009"
pt_etc_netns_trap
pt_node
ip -n "$NODE" addr add 192.0.2.12/24 dev up0
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
NODE_IP2=192.0.2.12
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16

wl_run "$CONF" web -p 8080:80 -p 5353:53/udp
wl_run "$CONF" w2 -p "$NODE_IP2:9090:80"
wl_run "$CONF" w3 -p 80
wl_run "$CONF" w4 --expose 80 --expose 53/udp -P
wl_run "$CONF" d1
for w in web w2 w3 w4 d1; do
	[ -n "${WL_ADDR[$w]:-}" ] || { fail "setup" "workload $w missing"; exit 1; }
	wl_serve "$w"
done
# A TCP server on web's 53 too: a TCP DNAT of the UDP-only 5353 would reach it.
bg "$PETRELCTL" -c "$CONF" exec web -- socat TCP-LISTEN:53,reuseaddr,fork "SYSTEM:echo web" 2>>"$TMP/servers.log"

# says [-k KEY] WHAT WANT CMD...: PASS when CMD prints WANT (bounded: 3
# tries); then a positive control for silent (KEY, default: the command).
says() {
	local key= what want got i
	[ "$1" = -k ] && { key=$2; shift 2; }
	what=$1 want=$2
	shift 2
	for i in 1 2 3; do
		got=$("$@")
		if [ "$got" = "$want" ]; then
			PT_CONTROL[${key:-cmd:$*}]=1
			pass "$what"
			return 0
		fi
		sleep 0.3
	done
	fail "$what" "said '$(printf '%s' "$got" | pt_oneline)', want '$want'"
	return 1
}
# silent [-k KEY] WHAT CMD...: PASS when CMD gets no answer at every try
# (deny_probe: refused unless says showed KEY, default the same command,
# answered before).
answers() { [ -n "$("$@")" ]; }
silent() {
	local k=()
	[ "$1" = -k ] && { k=(-k "$2"); shift 2; }
	local what=$1
	shift
	[ ${#k[@]} -gt 0 ] || k=(-k "cmd:$*")
	deny_probe "${k[@]}" "$what" 0 answers "$@"
}
wl_tcp() { # FROM ADDR PORT
	timeout 5 "$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 2 -u "TCP:$2:$3,connect-timeout=1" - 2>/dev/null
}
wl_udp() {
	echo probe | timeout 5 "$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 1 -t 1 - "UDP:$2:$3" 2>/dev/null
}

# --- -p 8080:80 from everywhere ------------------------------------------------------
says "client outside the node -> $NODE_IP:8080 (web's 80)" web ns_tcp "$EXT" "$NODE_IP" 8080
says "client outside -> $NODE_IP2:8080 (every node address)" web ns_tcp "$EXT" "$NODE_IP2" 8080
says "client outside -> UDP $NODE_IP:5353 (web's 53/udp)" web ns_udp "$EXT" "$NODE_IP" 5353
says -k web-tcp53 "control: web answers TCP 53 directly (d1 -> web:53)" web wl_tcp d1 "${WL_ADDR[web]}" 53
silent -k web-tcp53 "client outside -> TCP $NODE_IP:5353 (published for UDP only; web's TCP 53 answers)" ns_tcp "$EXT" "$NODE_IP" 5353
says "the node -> $NODE_IP:8080" web ns_tcp "$NODE" "$NODE_IP" 8080
says "the node -> 127.0.0.1:8080" web ns_tcp "$NODE" 127.0.0.1 8080
says "the node -> UDP 127.0.0.1:5353" web ns_udp "$NODE" 127.0.0.1 5353
says "another workload (d1) -> $NODE_IP:8080" web wl_tcp d1 "$NODE_IP" 8080
says "another workload (d1) -> UDP $NODE_IP:5353" web wl_udp d1 "$NODE_IP" 5353
says "hairpin: web -> $NODE_IP:8080 (itself)" web wl_tcp web "$NODE_IP" 8080
says "hairpin: web -> UDP $NODE_IP:5353 (itself)" web wl_udp web "$NODE_IP" 5353
says "the workload's own port still answers directly (d1 -> web:80)" web wl_tcp d1 "${WL_ADDR[web]}" 80
# DNAT keeps the client's own address (no SNAT from outside the node).
wl_run "$CONF" src -p 8181:81
# shellcheck disable=SC2016  # expanded by the shell socat runs
bg "$PETRELCTL" -c "$CONF" exec src -- socat TCP-LISTEN:81,reuseaddr,fork 'SYSTEM:echo $SOCAT_PEERADDR' 2>>"$TMP/servers.log"
says "client outside -> $NODE_IP:8181: src sees the client's address $EXT_IP" "$EXT_IP" ns_tcp "$EXT" "$NODE_IP" 8181
expect_ok "rm src" ctl rm src

# --- -p hostIP:hostPort:port -------------------------------------------------------------
says -k w2-9090 "client outside -> $NODE_IP2:9090 (w2's 80, bound to $NODE_IP2)" w2 ns_tcp "$EXT" "$NODE_IP2" 9090
silent -k w2-9090 "client outside -> $NODE_IP:9090 (not published there)" ns_tcp "$EXT" "$NODE_IP" 9090
says "the node -> $NODE_IP2:9090" w2 ns_tcp "$NODE" "$NODE_IP2" 9090
says "d1 -> $NODE_IP2:9090" w2 wl_tcp d1 "$NODE_IP2" 9090

# --- petrelctl port ------------------------------------------------------------------
expect_ok "port web" ctl port web
printf '%s\n' "$OUT" | sort >"$TMP/port.web"
printf '%s\n' "53/udp -> 0.0.0.0:5353" "80/tcp -> 0.0.0.0:8080" >"$TMP/port.want"
same_files "port web: Docker's format, one line per mapping" "$TMP/port.want" "$TMP/port.web"
expect_ok "port web 80" ctl port web 80
check "port web 80: only 0.0.0.0:8080 (said: $(printf '%s' "$OUT" | pt_oneline))" \
	sh -c "printf '%s\n' \"\$1\" | grep -q '0.0.0.0:8080' && ! printf '%s\n' \"\$1\" | grep -q 5353" _ "$OUT"
expect_ok "port web 53/udp" ctl port web 53/udp
check "port web 53/udp: 0.0.0.0:5353" sh -c "printf '%s\n' \"\$1\" | grep -q '0.0.0.0:5353'" _ "$OUT"
expect_ok "port w2" ctl port w2
check "port w2: 80/tcp -> $NODE_IP2:9090" test "$OUT" = "80/tcp -> $NODE_IP2:9090"
expect_ok "port web -o json" ctl -o json port web
check "port web -o json: {hostIP, hostPort, containerPort, protocol} each" \
	sh -c "printf '%s' \"\$1\" | jq -e 'length == 2 and (map(select(.hostPort == 8080 and .containerPort == 80 and .protocol == \"tcp\")) | length) == 1 and (map(select(.hostPort == 5353 and .containerPort == 53 and .protocol == \"udp\")) | length) == 1 and all(has(\"hostIP\"))'" _ "$OUT"
expect_ok "port d1 (no ports): nothing" ctl port d1
check "port d1 prints nothing" test -z "$OUT"

# --- -p 80 and -P: ports of hostPortRange (40000-40009) ---------------------------------
port_of() { # NAME PORT/PROTO: the host port
	ctl -o json port "$1" 2>/dev/null | jq -r --arg p "${2%/*}" --arg t "${2#*/}" \
		'.[] | select((.containerPort | tostring) == $p and .protocol == $t) | .hostPort'
}
P3=$(port_of w3 80/tcp)
P4T=$(port_of w4 80/tcp)
P4U=$(port_of w4 53/udp)
in_range() { [ -n "$1" ] && [ "$1" -ge 40000 ] && [ "$1" -le 40009 ]; }
check "-p 80: w3's host port $P3 in 40000-40009" in_range "$P3"
check "-P --expose 80: w4's host port $P4T in range" in_range "$P4T"
check "-P --expose 53/udp: w4's host port $P4U in range" in_range "$P4U"
check "w3 and w4 got distinct TCP host ports" test "$P3" != "$P4T"
says "client outside -> $NODE_IP:$P3 (w3's 80)" w3 ns_tcp "$EXT" "$NODE_IP" "${P3:-1}"
says "client outside -> $NODE_IP:$P4T (w4's 80)" w4 ns_tcp "$EXT" "$NODE_IP" "${P4T:-1}"
says "client outside -> UDP $NODE_IP:$P4U (w4's 53)" w4 ns_udp "$EXT" "$NODE_IP" "${P4U:-1}"
check "port w4: two lines" test "$(ctl port w4 | grep -c ' -> 0.0.0.0:4000[0-9]$')" = 2
has_key() { ds_keys | grep -qx "$1"; }
check "datastore: /petrel/hostports/node1/tcp-8080 reserved" has_key /petrel/hostports/node1/tcp-8080
check "datastore: /petrel/hostports/node1/udp-5353 reserved" has_key /petrel/hostports/node1/udp-5353

# --- a conflict: refused, nothing left behind ---------------------------------------------
refused() { # WHAT REGEX CMD...
	local what=$1
	PT_SNAP_NOREV=1 pt_snapshot "$TMP/before"
	ip netns exec "$NODE" nft list table inet petrel 2>&1 | sed 's/counter packets [0-9]* bytes [0-9]*/counter/' >>"$TMP/before"
	expect_err "$@"
	PT_SNAP_NOREV=1 pt_snapshot "$TMP/after"
	ip netns exec "$NODE" nft list table inet petrel 2>&1 | sed 's/counter packets [0-9]* bytes [0-9]*/counter/' >>"$TMP/after"
	same_files "$what: nothing left behind (datastore, netns, links, routes, nft)" "$TMP/before" "$TMP/after"
}
refused "run web2 -p 8080:81 (8080/tcp is web's)" "port tcp/8080 is already published by workload web" \
	ctl run --name web2 -p 8080:81
refused "run web3 -p $NODE_IP2:8080:80 (any hostIP conflicts)" "tcp/8080.*web" \
	ctl run --name web3 -p "$NODE_IP2:8080:80"
refused "run web4 -p 9090:80 (w2's $NODE_IP2:9090)" "tcp/9090.*w2" ctl run --name web4 -p 9090:80
refused "run web5 -p 5353:53/udp (web's UDP port)" "port udp/5353 is already published by workload web" \
	ctl run --name web5 -p 5353:53/udp
refused "run web6 -p 8181:80 -p 8181:81 (one host port twice)" "8181" ctl run --name web6 -p 8181:80 -p 8181:81
for spec in 0:80 70000:80 8080:0 abc 8080:80/sctp 10.0.0.300:8080:80; do
	refused "run -p $spec (invalid)" "${spec//./\\.}" ctl run --name bad -p "$spec"
done
expect_err "port of a missing workload" "ghost" ctl port ghost
expect_err "web2 does not exist (inspect web2: no such workload)" "(no|not found|no such|does not exist)[^\n]*web2|web2[^\n]*(not found|no such|does not exist)" ctl inspect web2
says "web's 8080 still answers after the refusals" web ns_tcp "$EXT" "$NODE_IP" 8080
wl_run "$CONF" u1 -p 8080:53/udp
wl_serve u1
says "8080/udp (another protocol) is free: u1 answers UDP 8080" u1 ns_udp "$EXT" "$NODE_IP" 8080
says "and 8080/tcp is still web's" web ns_tcp "$EXT" "$NODE_IP" 8080

# --- a published port of a named network's member; a policy on a published port ----------
# Non-members do not reach a member, except through its published port.
expect_ok "network create blue" ctl network create blue
wl_run "$CONF" bn --network blue -p 8088:80
wl_serve bn
wl_run "$CONF" bm --network blue
says "client outside -> $NODE_IP:8088 (bn, a member of blue)" bn ns_tcp "$EXT" "$NODE_IP" 8088
says "d1 (default network) -> $NODE_IP:8088: the published port reaches bn" bn wl_tcp d1 "$NODE_IP" 8088
says -k bn-80 "control: bm (a member of blue) -> bn:80 directly" bn wl_tcp bm "${WL_ADDR[bn]}" 80
silent -k bn-80 "d1 -> bn:80 directly: no (not a member of blue)" wl_tcp d1 "${WL_ADDR[bn]}" 80
says "hairpin: bn -> $NODE_IP:8088 (itself)" bn wl_tcp bn "$NODE_IP" 8088
# A policy selecting wp for ingress: only the outside client (its own
# address survives the DNAT) on port 80.
cat >"$TMP/pol.yaml" <<EOF
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: wp-in}
spec:
  selector: has(pol)
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {nets: [$EXT_IP/32]}
    destination: {ports: [80]}
EOF
wl_run "$CONF" wp --label pol=yes -p 8090:80 -p 8091:8080
wl_serve wp
# (the controls: the same probes answered before the policy)
says "before the policy: client outside -> $NODE_IP:8091 (wp's 8080)" wp ns_tcp "$EXT" "$NODE_IP" 8091
says "before the policy: d1 -> $NODE_IP:8090 (wp's 80)" wp wl_tcp d1 "$NODE_IP" 8090
expect_ok "policy apply wp-in (selects wp: TCP 80 from $EXT_IP only)" ctl policy apply -f "$TMP/pol.yaml"
# (sync, bounded: felix has the policy's chain)
has_chain() { ip netns exec "$NODE" nft list table inet petrel 2>/dev/null | grep -q "chain $1 "; }
wait_for 50 0.1 has_chain pi-wp-in
says "policy: client outside -> $NODE_IP:8090 (wp's 80) allowed" wp ns_tcp "$EXT" "$NODE_IP" 8090
silent "policy: client outside -> $NODE_IP:8091 (wp's 8080) dropped" ns_tcp "$EXT" "$NODE_IP" 8091
silent "policy: d1 -> $NODE_IP:8090 dropped (its source is not $EXT_IP)" wl_tcp d1 "$NODE_IP" 8090
expect_ok "policy rm wp-in" ctl policy rm wp-in
wait_for 50 0.1 eval '! has_chain pi-wp-in'
says "no policy: d1 -> $NODE_IP:8090 answered again" wp wl_tcp d1 "$NODE_IP" 8090
says "no policy: client outside -> $NODE_IP:8091 answered again" wp ns_tcp "$EXT" "$NODE_IP" 8091
expect_ok "rm bn bm wp" ctl rm bn bm wp
expect_ok "network rm blue" ctl network rm blue

# --- hostPortRange exhausted: refused, nothing left behind ---------------------------------
# w3 and w4 hold two of the ten TCP ports; eight more -p 80 fit.
n_ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	ctl run --name "e$i" -p 80 >"$TMP/e.out" 2>"$TMP/e.err" || break
	n_ok=$((n_ok + 1))
done
check "-p 80 until the range is used up: 8 more workloads got a port (got $n_ok)" test "$n_ok" = 8
refused "run with -p 80 when hostPortRange is used up" "port|range|free|exhaust" ctl run --name efull -p 80
ports_used() { ctl -o json port "$1" 2>/dev/null | jq -r '.[] | select(.protocol == "tcp") | .hostPort'; }
for ((i = 1; i <= n_ok; i++)); do ports_used "e$i"; done >"$TMP/e.ports"
ports_used w3 >>"$TMP/e.ports"
ports_used w4 >>"$TMP/e.ports"
check "the ten TCP ports are 40000..40009, each once" \
	sh -c "[ \"\$(sort -n '$TMP/e.ports' | tr '\n' ' ')\" = '40000 40001 40002 40003 40004 40005 40006 40007 40008 40009 ' ]"
for ((i = 1; i <= n_ok; i++)); do echo "e$i"; done | xargs "$PETRELCTL" -c "$CONF" rm >/dev/null 2>&1
check "the e* workloads removed" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -q '^e[0-9]'"

# --- rm takes the ports away --------------------------------------------------------
check "nft: a DNAT to web's address ${WL_ADDR[web]} . 80 (before rm web)" sh -c "ip netns exec $NODE nft list table inet petrel | grep -q '${WL_ADDR[web]} . 80'"
expect_ok "rm web" ctl rm web
silent "client outside -> $NODE_IP:8080 after rm web: no answer" ns_tcp "$EXT" "$NODE_IP" 8080
silent "the node -> 127.0.0.1:8080 after rm web: no answer" ns_tcp "$NODE" 127.0.0.1 8080
silent "client outside -> UDP $NODE_IP:5353 after rm web: no answer" ns_udp "$EXT" "$NODE_IP" 5353
no_key() { ! ds_keys | grep -qx "$1"; }
check "datastore: tcp-8080 reservation gone" no_key /petrel/hostports/node1/tcp-8080
check "nft: no DNAT to web's address left" sh -c "! ip netns exec $NODE nft list table inet petrel | grep -q '${WL_ADDR[web]} . 80'"
wl_run "$CONF" web5 -p 8080:80
wl_serve web5
says "8080 free again: web5 answers" web5 ns_tcp "$EXT" "$NODE_IP" 8080
expect_ok "rm w2 w3 w4 d1 u1 web5" ctl rm w2 w3 w4 d1 u1 web5
no_hostports() { ! ds_keys | grep -q /petrel/hostports/; }
check "no hostports key left" no_hostports

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
