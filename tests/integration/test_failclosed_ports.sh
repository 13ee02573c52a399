#!/usr/bin/env bash
#
# Published ports fail closed (issue 10): a workload cannot publish what is
# not its own. Refused at request time, each with its message and nothing
# left behind: a hostIP that is another workload's address (or any address
# not the node's), the BGP port 179, a port a listener on the node uses
# (the "sshd" stand-in on 2222, and udp 5353 on 127.0.0.1); allowHostPorts
# lets 2222 through when the node's config says so. A record written by
# hand with another workload's address as hostIP captures nothing: the
# rule itself checks `fib daddr type local` (the victim still answers).
# 127.0.0.1 publishing serves the node's own clients; a datagram for
# 127.0.0.1 arriving from the network is not DNATed (shown reaching the
# workload when the guard is deleted by hand with felix stopped, then not
# once felix has put its table back). Positive control throughout: a
# legitimate -p 8080:80 answers.
#
#   +----------------------------- pt-<id>-node ------------------------------+
#   | felix, table inet petrel; "sshd": socat on 192.0.2.11:2222               |
#   | lo 127.0.0.1 (socat udp 127.0.0.1:5353)                                   |
#   | up0 192.0.2.11/24 -------------------------------veth---------+           |
#   +---|-----------------|------------------------------------------|----------+
#       |veth             |veth                                      |
#   +---|---------+ +-----|------------------------+  +--------------|----------+
#   | v1 (victim) | | atk: -p 8080:80,             |  | pt-<id>-ext             |
#   | TCP 80, 8080| |  -p 127.0.0.1:9091:80,       |  | dn0 192.0.2.1/24        |
#   | answers "v1"| |  -p 127.0.0.1:9053:5300/udp  |  | route 10.65/16 via node |
#   +-------------+ | (5300/udp logs what it gets) |  | 127.0.0.1 via the node  |
#                   +------------------------------+  | (local routes removed,  |
#                                                     |  route_localnet=1)      |
#                                                     +-------------------------+
set -u
. "$(dirname "$0")/../lib.sh"
pt_init fcport
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft jq
pt_etc_netns_trap
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16

# The node's own services: an "sshd" on its address, a resolver on lo.
bg ip netns exec "$NODE" socat TCP-LISTEN:2222,bind="$NODE_IP",reuseaddr,fork "SYSTEM:echo sshd" 2>>"$TMP/servers.log"
bg ip netns exec "$NODE" socat UDP-RECVFROM:5353,bind=127.0.0.1,fork "SYSTEM:read x; echo resolver" 2>>"$TMP/servers.log"
node_listens() {
	local s
	s=$(ip netns exec "$NODE" ss -Hlntu 2>/dev/null)
	printf '%s\n' "$s" | grep -q "tcp .*$NODE_IP:2222 " && printf '%s\n' "$s" | grep -q 'udp .*127.0.0.1:5353 '
}
wait_for 50 0.1 node_listens || fail "the node's listeners" "$(ip netns exec "$NODE" ss -Hlntu | pt_oneline)"

wl_run "$CONF" v1
wl_serve v1
VICTIM=${WL_ADDR[v1]:-}
[ -n "$VICTIM" ] || { fail "setup" "v1 has no address"; exit 1; }

# refused WHAT REGEX CMD...: CMD fails saying REGEX; the datastore, the
# namespaces, links, routes and the nft table are as before.
refused() {
	local what=$1
	PT_SNAP_NOREV=1 pt_snapshot "$TMP/before"
	ip netns exec "$NODE" nft list table inet petrel 2>&1 | sed 's/counter packets [0-9]* bytes [0-9]*/counter/' >>"$TMP/before"
	expect_err "$@"
	PT_SNAP_NOREV=1 pt_snapshot "$TMP/after"
	ip netns exec "$NODE" nft list table inet petrel 2>&1 | sed 's/counter packets [0-9]* bytes [0-9]*/counter/' >>"$TMP/after"
	same_files "$what: nothing left behind (datastore, netns, links, addresses, nft)" "$TMP/before" "$TMP/after"
}

# --- refused at request time ------------------------------------------------------
refused "run atk -p $VICTIM:80:80 (another workload's address)" \
	"hostIP $VICTIM of port tcp/80 is not an address of node node1" \
	ctl run --name atk -p "$VICTIM:80:80"
refused "run atk -p 198.51.100.7:80:80 (nobody's address)" \
	"hostIP 198.51.100.7 of port tcp/80 is not an address of node node1" \
	ctl run --name atk -p 198.51.100.7:80:80
refused "run atk -p 179:179 (the BGP port)" \
	"port tcp/179 is the BGP port of the node: not published unless allowHostPorts" \
	ctl run --name atk -p 179:179
refused "run atk -p $NODE_IP:179:80 (the BGP port, on the node's address)" \
	"port tcp/179 is the BGP port" ctl run --name atk -p "$NODE_IP:179:80"
refused "run atk -p 2222:80 (the node's sshd stand-in listens on 2222)" \
	"port tcp/2222 is in use on the node \\(a listener on $NODE_IP:2222\\)" \
	ctl run --name atk -p 2222:80
refused "run atk -p 5353:53/udp (the node's resolver on 127.0.0.1:5353)" \
	"port udp/5353 is in use on the node \\(a listener on 127.0.0.1:5353\\)" \
	ctl run --name atk -p 5353:53/udp
refused "run atk -p 8080:80 -p 2222:80 (one bad port refuses the whole run)" \
	"port tcp/2222 is in use" ctl run --name atk -p 8080:80 -p 2222:80
says_sshd() { [ "$(ns_tcp "$EXT" "$NODE_IP" 2222)" = sshd ]; }
allow_probe "the node's sshd stand-in still answers the network" 5 says_sshd

# --- allowHostPorts --------------------------------------------------------------
cp "$CONF" "$TMP/allow.yaml"
echo "allowHostPorts: [2222]" >>"$TMP/allow.yaml"
wl_run "$TMP/allow.yaml" al1 -p 2222:80
expect_ok "rm al1" ctl rm al1

# --- the positive control, and 127.0.0.1 for the node's clients -------------------
wl_run "$CONF" atk -p 8080:80 -p 127.0.0.1:9091:80 -p 127.0.0.1:9053:5300/udp
wl_serve atk
bg "$PETRELCTL" -c "$CONF" exec atk -- socat -u UDP-RECV:5300 "OPEN:$TMP/lo.got,creat,append" 2>>"$TMP/servers.log"
says_web() { [ "$(ns_tcp "$1" "$2" "$3")" = "$4" ]; }
allow_probe "client outside -> $NODE_IP:8080 (atk's legitimate -p 8080:80)" 10 says_web "$EXT" "$NODE_IP" 8080 atk
allow_probe "the node's own client -> 127.0.0.1:9091 (atk's -p 127.0.0.1:9091:80)" 10 says_web "$NODE" 127.0.0.1 9091 atk
allow_probe "client outside -> the victim $VICTIM:80 directly" 10 says_web "$EXT" "$VICTIM" 80 v1

# --- the rule checks the address itself: a hand-written record ---------------------
KEY=/petrel/workloadendpoints/node1/atk
"$DSCTL" "sqlite:$DB" get "$KEY" >"$TMP/atk.json"
jq -c --arg ip "$VICTIM" '.spec.ports += [{"hostIP": $ip, "hostPort": 80, "containerPort": 8080, "protocol": "tcp"}]' \
	"$TMP/atk.json" >"$TMP/atk2.json"
check "a record written by hand: atk publishes $VICTIM:80 (the victim's address)" \
	"$DSCTL" "sqlite:$DB" put "$KEY" - <"$TMP/atk2.json"
elem_there() { ip netns exec "$NODE" nft list map inet petrel ports_ip | grep -q "$VICTIM . tcp . 80 : ${WL_ADDR[atk]} . 8080"; }
check "felix programmed the element $VICTIM . tcp . 80 (so the rule is what stops it)" wait_for 100 0.1 elem_there
for i in 1 2 3 4 5; do
	check "client outside -> $VICTIM:80 reaches the victim, not atk (try $i)" says_web "$EXT" "$VICTIM" 80 v1
done
check "the node itself -> $VICTIM:80 reaches the victim too (nat-out)" says_web "$NODE" "$VICTIM" 80 v1
"$DSCTL" "sqlite:$DB" put "$KEY" - <"$TMP/atk.json" >/dev/null

# --- 127.0.0.1 from the network is not DNATed ---------------------------------------
# ext routes 127.0.0.1 to the node (an attacker on the node's link can).
ip netns exec "$EXT" sysctl -qw net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.dn0.route_localnet=1
ip -n "$EXT" route del 127.0.0.0/8 dev lo table local 2>/dev/null
ip -n "$EXT" route del local 127.0.0.1 dev lo table local 2>/dev/null
ip -n "$EXT" route add 127.0.0.1/32 via "$NODE_IP" dev dn0
# lo_from_net: one datagram from ext to 127.0.0.1:9053; did atk's 5300 get it?
N=0
lo_from_net() {
	N=$((N + 1))
	echo "probe-$N" | timeout 3 ip netns exec "$EXT" socat -u - UDP:127.0.0.1:9053 2>/dev/null
	wait_for 8 0.1 grep -qx "probe-$N" "$TMP/lo.got"
}
lo_from_node() { # the same datagram from the node's own client
	N=$((N + 1))
	echo "probe-$N" | timeout 3 ip netns exec "$NODE" socat -u - UDP:127.0.0.1:9053 2>/dev/null
	wait_for 20 0.1 grep -qx "probe-$N" "$TMP/lo.got"
}
allow_probe "the node's own client -> UDP 127.0.0.1:9053 reaches atk's 5300" 10 lo_from_node
# The attack, shown working without the guard: felix stopped, the rule
# deleted by hand.
felix_stop TERM
H=$(ip netns exec "$NODE" nft -a list chain inet petrel nat-pre | sed -n 's/.*loopback is published to the node only.*# handle \([0-9]*\)/\1/p')
check "the guard rule is in nat-pre (handle ${H:-none})" test -n "$H"
ip netns exec "$NODE" nft delete rule inet petrel nat-pre handle "${H:-0}"
allow_probe -k lo-net "without the guard (deleted by hand): ext -> UDP 127.0.0.1:9053 is DNATed to atk" 10 lo_from_net
felix_start
felix_wait_ready || fail "felix answers status again" "no answer"
guard_back() { ip netns exec "$NODE" nft list chain inet petrel nat-pre | grep -q 'loopback is published to the node only'; }
check "felix puts the guard back" wait_for 100 0.1 guard_back
deny_probe -k lo-net "with felix's table: ext -> UDP 127.0.0.1:9053 from the network is not DNATed" 3 lo_from_net
allow_probe "the node's own client still reaches 127.0.0.1:9053" 10 lo_from_node
allow_probe "and the legitimate -p 8080:80 still answers" 10 says_web "$EXT" "$NODE_IP" 8080 atk

expect_ok "rm atk v1" ctl rm atk v1
felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
