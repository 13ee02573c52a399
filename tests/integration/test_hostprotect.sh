#!/usr/bin/env bash
#
# Host protection (issue 10): a workload does not reach the node's own
# services by default (endpointToHostAction drop), only what the node's
# endpointToHostAllow lists; what workloads need from the node keeps
# working: the 169.254.1.1 gateway (proxy ARP) and forwarding, replies to
# the node's own connections, ICMP errors about them (related), their own
# published ports through the node's address; the node's services still
# answer from the ToR side. The failsafe ports (ssh 22, BGP 179 in; BGP 179
# out) answer while a host policy that denies all on up0 is in the table
# (a stand-in: rules added by hand while felix is stopped), and only those
# the config lists.
#
#   +------------------------- pt-<id>-node ----------------------------+
#   | felix (restarted with each config)                                 |
#   | sshd stand-in: TCP 2222 and 2223 on 192.0.2.11 (socat)            |
#   | failsafe stand-ins: TCP 22 and 179 on 192.0.2.11                   |
#   | up0 192.0.2.11/24 -------------veth-------------+                  |
#   +---|---------------------------------------------|------------------+
#       |veth                                         |
#   +---|------------------+                +---------|-------------+
#   | a 10.65.0.10         |                | pt-<id>-ext (the ToR) |
#   | -p 7474:74, UDP 9 shut|                | dn0 192.0.2.1/24      |
#   +----------------------+                | TCP 179, 8179 (socat) |
#                                           +-----------------------+
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

restart_with() { felix_restart_with "$@"; }
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

# --- failsafe ports (Calico's failsafeInboundHostPorts) -----------------------
# A host policy that denies everything on up0 (what a HostEndpoint policy
# without rules does) is stood in for by two rules appended by hand to
# felix's input and output chains, after the failsafe jumps, while felix is
# stopped (SIGSTOP: else it repairs its table at once). The failsafe ports
# (the default tcp:22, tcp:179 in; tcp:179 out) still answer; 2223 and the
# ToR's 8179 do not; with failsafeInboundHostPorts: [] 22 does not either.
standin_on() {
	kill -STOP "$FELIX_PID" &&
		ip netns exec "$NODE" nft -f - <<EOT
add rule inet petrel input iifname "up0" ct state established,related accept
add rule inet petrel input iifname "up0" drop comment "pt: host policy stand-in"
add rule inet petrel output oifname "up0" ct state established,related accept
add rule inet petrel output oifname "up0" drop comment "pt: host policy stand-in"
EOT
}
standin_seen() { ip netns exec "$NODE" nft list table inet petrel | grep -c 'host policy stand-in' | grep -qx 2; }
standin_off() {
	kill -CONT "$FELIX_PID"
	check "felix repairs its table: the stand-in is gone" wait_for 100 0.1 sh -c \
		"! ip netns exec $NODE nft list table inet petrel | grep -q 'host policy stand-in'"
}
node_tor() { [ "$(ns_tcp "$NODE" "$EXT_IP" "$1")" = "$2" ]; }
bg ip netns exec "$NODE" socat "TCP-LISTEN:22,bind=$NODE_IP,reuseaddr,fork" 'SYSTEM:echo node-22' 2>>"$TMP/servers.log"
bg ip netns exec "$NODE" socat "TCP-LISTEN:179,bind=$NODE_IP,reuseaddr,fork" 'SYSTEM:echo node-179' 2>>"$TMP/servers.log"
bg ip netns exec "$EXT" socat "TCP-LISTEN:179,bind=$EXT_IP,reuseaddr,fork" 'SYSTEM:echo tor-179' 2>>"$TMP/servers.log"
bg ip netns exec "$EXT" socat "TCP-LISTEN:8179,bind=$EXT_IP,reuseaddr,fork" 'SYSTEM:echo tor-8179' 2>>"$TMP/servers.log"
check "the stand-ins listen (node 22, 179; ToR 179, 8179)" wait_for 50 0.1 sh -c \
	"ip netns exec $NODE ss -Hltn | grep -q '$NODE_IP:22 ' && ip netns exec $NODE ss -Hltn | grep -q '$NODE_IP:179 ' &&
	 ip netns exec $EXT ss -Hltn | grep -q '$EXT_IP:179 ' && ip netns exec $EXT ss -Hltn | grep -q '$EXT_IP:8179 '"
restart_with ""
check "the table has the default failsafe ports (tcp 22 and 179 in, tcp 179 and udp 53 out)" sh -c \
	"ip netns exec $NODE nft list chain inet petrel failsafe-in | grep -q 'tcp dport 22 accept' &&
	 ip netns exec $NODE nft list chain inet petrel failsafe-in | grep -q 'tcp dport 179 accept' &&
	 ip netns exec $NODE nft list chain inet petrel failsafe-out | grep -q 'tcp dport 179 accept' &&
	 ip netns exec $NODE nft list chain inet petrel failsafe-out | grep -q 'udp dport 53 accept' &&
	 ip netns exec $NODE nft list chain inet petrel input | grep -q 'jump failsafe-in' &&
	 ip netns exec $NODE nft list chain inet petrel output | grep -q 'jump failsafe-out'"
allow_probe -k tor22 "no host policy: the ToR -> the node's ssh stand-in (22)" 5 tor_node 22 node-22
allow_probe -k tor179 "no host policy: the ToR -> the node's BGP stand-in (179)" 5 tor_node 179 node-179
allow_probe -k tor2223 "no host policy: the ToR -> the node's 2223" 5 tor_node 2223 node-other
allow_probe -k out179 "no host policy: the node -> the ToR's 179" 5 node_tor 179 tor-179
allow_probe -k out8179 "no host policy: the node -> the ToR's 8179" 5 node_tor 8179 tor-8179
if standin_on; then
	check "the host policy stand-in is in the kernel's table" standin_seen
	deny_probe -k tor2223 "host policy stand-in: the ToR -> the node's 2223" 3 tor_node 2223 node-other
	deny_probe -k out8179 "host policy stand-in: the node -> the ToR's 8179" 3 node_tor 8179 tor-8179
	allow_probe "host policy stand-in: failsafe tcp:22 from the ToR still answers" 5 tor_node 22 node-22
	allow_probe "host policy stand-in: failsafe tcp:179 from the ToR still answers" 5 tor_node 179 node-179
	allow_probe "host policy stand-in: failsafe out tcp:179, the node -> the ToR, still answers" 5 node_tor 179 tor-179
	standin_off
else
	fail "host policy stand-in" "kill -STOP or nft -f failed"
	kill -CONT "$FELIX_PID" 2>/dev/null
fi
restart_with $'failsafeInboundHostPorts: ["tcp:179"]\nfailsafeOutboundHostPorts: []'
check "failsafeInboundHostPorts [tcp:179]: the table has 179 in, not 22; nothing out" sh -c \
	"ip netns exec $NODE nft list chain inet petrel failsafe-in | grep -q 'tcp dport 179 accept' &&
	 ! ip netns exec $NODE nft list chain inet petrel failsafe-in | grep -q 'dport 22 ' &&
	 ! ip netns exec $NODE nft list chain inet petrel failsafe-out | grep -q 'dport'"
allow_probe -k tor22 "failsafe tcp:179 only, no host policy: the ToR -> the node's 22" 5 tor_node 22 node-22
allow_probe -k out179 "no failsafe out, no host policy: the node -> the ToR's 179" 5 node_tor 179 tor-179
if standin_on; then
	check "the host policy stand-in is in the kernel's table" standin_seen
	deny_probe -k tor22 "failsafe tcp:179 only, host policy stand-in: the ToR -> the node's 22" 3 tor_node 22 node-22
	deny_probe -k out179 "no failsafe out, host policy stand-in: the node -> the ToR's 179" 3 node_tor 179 tor-179
	allow_probe "failsafe tcp:179 only, host policy stand-in: the ToR -> the node's 179 still answers" 5 tor_node 179 node-179
	standin_off
else
	fail "host policy stand-in" "kill -STOP or nft -f failed"
	kill -CONT "$FELIX_PID" 2>/dev/null
fi
sed 's/"tcp:179"/"icmp"/' "$CONF" >"$TMP/bad/petrel.yaml"
expect_err "a failsafe entry that is not tcp/udp:PORT is refused at its line" \
	"petrel.yaml:[0-9]+:[0-9]+: failsafeInboundHostPorts: \"icmp\": expected tcp:PORT, udp:PORT \\(1..65535\\)" \
	"$PETRELCTL" -c "$TMP/bad/petrel.yaml" ls

expect_ok "rm a" ctl rm a
felix_stop TERM
check "felix exits 0" test "$FELIX_RC" = 0
pt_end
