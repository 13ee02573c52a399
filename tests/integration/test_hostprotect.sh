#!/usr/bin/env bash
#
# Host protection (issue 10): a workload does not reach the node's own
# services by default (endpointToHostAction drop), only what the node's
# endpointToHostAllow lists; what workloads need from the node keeps
# working: the 169.254.1.1 gateway (proxy ARP) and forwarding, replies to
# the node's own connections, ICMP errors about them (related), their own
# published ports through the node's address; the node's services still
# answer from the ToR side.
#
#   +------------------------- pt-<id>-node ----------------------------+
#   | felix (restarted with each config)                                 |
#   | sshd stand-in: TCP 2222 and 2223 on 192.0.2.11 (socat)            |
#   | up0 192.0.2.11/24 -------------veth-------------+                  |
#   +---|---------------------------------------------|------------------+
#       |veth                                         |
#   +---|------------------+                +---------|-------------+
#   | a 10.65.0.10         |                | pt-<id>-ext (the ToR) |
#   | -p 7474:74, UDP 9 shut|                | dn0 192.0.2.1/24      |
#   +----------------------+                +-----------------------+
set -u
. "$(dirname "$0")/../lib.sh"
pt_init hpr
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft
pt_etc_netns_trap
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
bg ip netns exec "$NODE" socat "TCP-LISTEN:2222,bind=$NODE_IP,reuseaddr,fork" 'SYSTEM:echo node-ssh' 2>>"$TMP/servers.log"
bg ip netns exec "$NODE" socat "TCP-LISTEN:2223,bind=$NODE_IP,reuseaddr,fork" 'SYSTEM:echo node-other' 2>>"$TMP/servers.log"
check "the node's stand-ins listen (2222, 2223)" wait_for 50 0.1 sh -c \
	"ip netns exec $NODE ss -Hltn | grep -q '$NODE_IP:2222 ' && ip netns exec $NODE ss -Hltn | grep -q '$NODE_IP:2223 '"

# restart_with LINES: felix restarted with the config's extra lines
restart_with() {
	felix_stop TERM
	PT_CONF_EXTRA=$1
	pt_conf_write "$CONF"
	felix_start
	felix_wait_ready || fail "felix answers status ($1)" "$(tail -n 3 "$FELIX_LOG" | pt_oneline)"
	wait_for 100 0.1 felix_all_programmed
}
wl_node() { [ "$(timeout 5 "$PETRELCTL" -c "$CONF" exec a -- socat -T 2 -u "TCP:$NODE_IP:$1,connect-timeout=1" - 2>/dev/null)" = "$2" ]; }
tor_node() { [ "$(ns_tcp "$EXT" "$NODE_IP" "$1")" = "$2" ]; }

felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16
wl_run "$CONF" a --ip 10.65.0.10 -p 7474:74
[ -n "${WL_ADDR[a]:-}" ] || { fail "setup" "workload a missing"; exit 1; }
bg "$PETRELCTL" -c "$CONF" exec a -- socat TCP-LISTEN:74,reuseaddr,fork 'SYSTEM:echo a-74' 2>>"$TMP/servers.log"
wait_for 50 0.1 sh -c "'$PETRELCTL' -c '$CONF' exec a -- ss -Hltn | grep -q ':74 '"

# --- the positive controls: endpointToHostAction accept ----------------------
allow_probe -k t2222 "accept: a -> the node's $NODE_IP:2222" 5 wl_node 2222 node-ssh
allow_probe -k t2223 "accept: a -> the node's $NODE_IP:2223" 5 wl_node 2223 node-other
allow_probe -k icmp "accept: a pings the node" 5 ctl exec a -- ping -c 1 -W 1 "$NODE_IP"

# --- the default: drop --------------------------------------------------------
restart_with ""
check "no endpointToHostAction in the config" sh -c "! grep -q endpointToHost '$CONF'"
deny_probe -k t2222 "default (drop): a -> the node's $NODE_IP:2222" 3 wl_node 2222 node-ssh
deny_probe -k t2223 "default (drop): a -> the node's $NODE_IP:2223" 3 wl_node 2223 node-other
deny_probe -k icmp "default (drop): a pings the node" 3 ctl exec a -- ping -c 1 -W 1 "$NODE_IP"
check "default (drop): the ToR still reaches the node's 2222" tor_node 2222 node-ssh
check "default (drop): a still reaches the far side (the 169.254.1.1 gateway, forwarding)" \
	ctl exec a -- ping -c 1 -W 2 "$EXT_IP"
check "default (drop): the node's own connection to a works (replies established)" \
	sh -c "[ \"\$(timeout 5 ip netns exec $NODE socat -T 2 -u TCP:${WL_ADDR[a]}:74,connect-timeout=1 - 2>/dev/null)\" = a-74 ]"
# a's ICMP port unreachable about the node's datagram (related) reaches the
# node: its socket is refused at once, not left waiting
check "default (drop): a's ICMP error about the node's UDP reaches the node (connection refused)" sh -c \
	"echo x | timeout 5 ip netns exec $NODE socat -T 3 - UDP:${WL_ADDR[a]}:9 2>&1 | grep -qi 'refused'"
check "default (drop): a's own published port through the node's address (DNAT) works" \
	sh -c "[ \"\$(timeout 5 '$PETRELCTL' -c '$CONF' exec a -- socat -T 2 -u TCP:$NODE_IP:7474,connect-timeout=1 - 2>/dev/null)\" = a-74 ]"
check "the table says it: the workload-to-host rule drops" sh -c \
	"ip netns exec $NODE nft list chain inet petrel input | grep -q 'drop comment \"workload to host\"'"

# --- endpointToHostAllow --------------------------------------------------------
restart_with $'endpointToHostAllow: ["tcp:2222", "icmp"]'
allow_probe "endpointToHostAllow tcp:2222: a -> the node's 2222" 5 wl_node 2222 node-ssh
allow_probe "endpointToHostAllow icmp: a pings the node" 5 ctl exec a -- ping -c 1 -W 1 "$NODE_IP"
deny_probe -k t2223 "endpointToHostAllow without 2223: a -> the node's 2223 still dropped" 3 wl_node 2223 node-other
mkdir -p "$TMP/bad"
sed 's/"tcp:2222"/"tcp:70000"/' "$CONF" >"$TMP/bad/petrel.yaml"
expect_err "a bad endpointToHostAllow entry is refused at its line" \
	"petrel.yaml:[0-9]+:[0-9]+: endpointToHostAllow: \"tcp:70000\": expected tcp:PORT, udp:PORT" \
	"$PETRELCTL" -c "$TMP/bad/petrel.yaml" ls

expect_ok "rm a" ctl rm a
felix_stop TERM
check "felix exits 0" test "$FELIX_RC" = 0
pt_end
