#!/usr/bin/env bash
#
# Workloads in every mode on one node with felix running: routed workloads
# reach each other and the node (ping, TCP), `none` has only lo, a
# `container:` workload shares its target's address and ports, a `host`
# workload sees the node's interfaces.
#
#   +------------------------------- pt-<id>-node -------------------------------+
#   |  felix   up0 192.0.2.11/24 ----veth---- pt-<id>-ext (dn0 192.0.2.1/24)      |
#   |  tools (host mode: runs here)                                              |
#   |  ptl<web> 10.65.x.x/32 proto 87      ptl<db> 10.65.y.y/32 proto 87          |
#   +-------|-------------------------------------|------------------------------+
#           | veth                                | veth
#   +-------|--------- pt-<id>-w-web --+   +------|---- pt-<id>-w-db -+   +- pt-<id>-w-vault -+
#   | eth0 10.65.x.x/32                |   | eth0 10.65.y.y/32        |   | lo only (none)    |
#   | sidecar (container:web) joins it |   +--------------------------+   +-------------------+
#   +----------------------------------+
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init modes
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat
# (workloads reach the node here: endpointToHostAction accept, explicitly;
# its default is drop)
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_node
felix_start
if ! felix_wait_ready; then
	fail "felix answers status" "no answer"
	exit 1
fi
pass "felix answers status"

expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16

expect_ok "run web (routed)" ctl run --name web
WEB=$OUT
expect_ok "run db (routed, default mode)" ctl run --name db
DB_IP=$OUT
expect_ok "run sidecar (container:web)" ctl run --name sidecar --network container:web
expect_ok "run tools (host)" ctl run --name tools --network host
expect_ok "run vault (none)" ctl run --name vault --network none

is_ip() { [[ $1 =~ ^10\.65\.[0-9]+\.[0-9]+$ ]]; }
check "run prints the routed address ($WEB, $DB_IP)" is_ip "$WEB"
is_ip "$DB_IP" || fail "db address" "'$DB_IP'"
check "routed workloads have distinct addresses" test "$WEB" != "$DB_IP"

# ls: every workload with its mode.
ctl ls >"$TMP/ls" 2>&1
for w in web:routed db:routed sidecar:container tools:host vault:none; do
	n=${w%%:*} m=${w#*:}
	check "ls shows $n as $m" grep -Eq "^${n}[[:space:]]+${m}" "$TMP/ls"
done
check "ls shows web's address" grep -Eq "^web[[:space:]].*$WEB" "$TMP/ls"

# --- routed: the workload side ---
ctl exec web -- ip -o -4 addr show dev eth0 >"$TMP/web.addr" 2>&1
check "web: eth0 has $WEB/32" grep -q "inet $WEB/32" "$TMP/web.addr"
ctl exec web -- ip -4 route show >"$TMP/web.routes" 2>&1
check "web: default via 169.254.1.1" grep -q '^default via 169.254.1.1 dev eth0' "$TMP/web.routes"
check "web: 169.254.1.1 dev eth0 scope link" grep -q '^169.254.1.1 dev eth0 scope link' "$TMP/web.routes"
check "web: lo is up" sh -c "'$PETRELCTL' -c '$CONF' exec web -- ip -o link show lo | grep -q 'UP'"
check "web: netns is named ${WPREFIX}web" test -e "/run/netns/${WPREFIX}web"

# --- routed: the host side, programmed by felix (run waited for it) ---
IFW=$(wl_ifname web)
check "web: host end named ptl + 12 hex ($IFW)" sh -c "echo '$IFW' | grep -Eq '^ptl[0-9a-f]{12}$'"
check "web: host end exists in the node, up" sh -c "ip -n $NODE -o link show '$IFW' | grep -q 'state UP'"
check "web: host end MAC ee:ee:ee:ee:ee:ee" sh -c "ip -n $NODE -o link show '$IFW' | grep -q 'link/ether ee:ee:ee:ee:ee:ee'"
check "web: route $WEB/32 dev $IFW proto 87" sh -c "ip -n $NODE -4 route show $WEB/32 proto 87 | grep -q 'dev $IFW'"
check "web: proxy_arp=1 on $IFW" sh -c "[ \$(ip netns exec $NODE cat /proc/sys/net/ipv4/conf/$IFW/proxy_arp) = 1 ]"
check "web: permanent neighbour entry" sh -c "ip -n $NODE neigh show $WEB dev '$IFW' | grep -q PERMANENT"
check "db: route $DB_IP/32 proto 87" has_node_route "$DB_IP"

# --- routed traffic ---
check "ping web -> db" ctl exec web -- ping -c 2 -i 0.2 -W 2 "$DB_IP"
check "ping db -> web" ctl exec db -- ping -c 2 -i 0.2 -W 2 "$WEB"
check "ping web -> node $NODE_IP" ctl exec web -- ping -c 2 -i 0.2 -W 2 "$NODE_IP"
check "ping node (tools, host mode) -> db" ctl exec tools -- ping -c 2 -i 0.2 -W 2 "$DB_IP"

bg "$PETRELCTL" -c "$CONF" exec db -- socat TCP-LISTEN:8080,reuseaddr,fork 'EXEC:/bin/echo hello-from-db'
bg "$PETRELCTL" -c "$CONF" exec tools -- socat "TCP-LISTEN:8081,bind=$NODE_IP,reuseaddr,fork" 'EXEC:/bin/echo hello-from-node'
bg "$PETRELCTL" -c "$CONF" exec web -- socat TCP-LISTEN:9090,bind=127.0.0.1,reuseaddr,fork 'EXEC:/bin/echo hello-from-web-lo'
tcp_get() { # FROM ADDR PORT WANT
	local out
	out=$("$PETRELCTL" -c "$CONF" exec "$1" -- socat -T 3 -u "TCP:$2:$3,connect-timeout=3" - 2>&1)
	[ "$out" = "$4" ]
}
check "TCP web -> db:8080" wait_for 30 0.1 tcp_get web "$DB_IP" 8080 hello-from-db
check "TCP web -> node $NODE_IP:8081" wait_for 30 0.1 tcp_get web "$NODE_IP" 8081 hello-from-node

# --- container:web ---
ctl exec sidecar -- ip -o -4 addr show | awk '{ print $2, $4 }' >"$TMP/sc.addr" 2>&1
ctl exec web -- ip -o -4 addr show | awk '{ print $2, $4 }' >"$TMP/web.addr2" 2>&1
same_files "sidecar has the same addresses as web" "$TMP/web.addr2" "$TMP/sc.addr"
check "sidecar's addresses include $WEB" grep -q "$WEB/32" "$TMP/sc.addr"
check "TCP sidecar -> 127.0.0.1:9090 (a server in web)" wait_for 30 0.1 tcp_get sidecar 127.0.0.1 9090 hello-from-web-lo
check "ping sidecar -> db (through web's eth0)" ctl exec sidecar -- ping -c 1 -W 2 "$DB_IP"

# --- none ---
ctl exec vault -- ip -o link show >"$TMP/vault.links" 2>&1
check "vault (none): only lo" sh -c "awk -F': ' '{ print \$2 }' '$TMP/vault.links' | tr -d '\n' | grep -qx lo"
check "vault (none): lo is up" grep -q 'lo: <LOOPBACK,UP' "$TMP/vault.links"
ctl exec vault -- ip -o -4 addr show >"$TMP/vault.addr" 2>&1
check "vault (none): no address but 127.0.0.1" sh -c "! grep -v 'inet 127.0.0.1/8' '$TMP/vault.addr' | grep -q inet"
check "control: web answers a ping (from tools, host)" ctl exec tools -- ping -c 1 -W 2 "$WEB"
expect_err "vault (none): cannot reach web (no route at all)" "unreachable" ctl exec vault -- ping -c 1 -W 1 "$WEB"

# --- host ---
check "tools (host): sees the uplink up0" ctl exec tools -- ip -o link show up0
check "tools (host): has the node's address" sh -c "'$PETRELCTL' -c '$CONF' exec tools -- ip -o -4 addr show up0 | grep -q 'inet $NODE_IP/24'"
check "tools (host): sees web's host end" ctl exec tools -- ip -o link show "$IFW"
count_wl_routes() { ip -n "$NODE" -4 route show proto 87 | grep -Ec '^[0-9.]+ dev ptl'; }
check "only the routed workloads have routes (2)" test "$(count_wl_routes)" = 2

# --- inspect ---
ctl inspect web >"$TMP/inspect" 2>&1
check "inspect web: a WorkloadEndpoint naming its address" \
	sh -c "grep -q WorkloadEndpoint '$TMP/inspect' && grep -q '$WEB' '$TMP/inspect'"

# --- rm everything ---
expect_ok "rm sidecar tools vault" ctl rm sidecar tools vault
expect_ok "rm web db" ctl rm web db
check "ls is empty" sh -c "[ -z \"\$('$PETRELCTL' -c '$CONF' ls | grep -Ev '^NAME')\" ]"
check "no workload netns left" sh -c "[ -z \"\$(ip netns list | grep '^$WPREFIX')\" ]"
check "no ptl interface left (the namespace teardown takes it; bounded wait)" wait_for 100 0.05 sh -c "[ -z \"\$(ip -n $NODE -o link show | grep ': ptl')\" ]"
check "no petrel route left (bounded wait)" wait_for 50 0.1 sh -c "[ -z \"\$(ip -n $NODE route show table all proto 87)\" ]"

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
