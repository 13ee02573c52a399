#!/usr/bin/env bash
#
# HostEndpoint (issue 10, Calico's semantics): NetworkPolicy selecting the
# node's own interface by its labels. With a HostEndpoint on up0 and no
# policy, the node takes nothing from the ToR and sends nothing to it but
# the failsafe ports (ssh 22, BGP 179); forwarded traffic (the ToR to a
# workload, a published port) is not its business. A policy opens the node
# to the ToR and to workloads (a workload's TCP to the node's address,
# dropped by endpointToHostAction's default, is allowed by it). An
# applyOnForward policy judges forwarded traffic after DNAT; a preDNAT one
# before it (in nat-pre, on the port the client asked for).
#
#   +------------------------- pt-<id>-node ----------------------------+
#   | felix; HostEndpoint node1-up0 (up0, 192.0.2.11, role=node)         |
#   | listeners on 192.0.2.11: 2222 (sshd stand-in), 8080, 22, 179      |
#   | up0 192.0.2.11/24 -------------veth-------------+                  |
#   +---|---------------------------------------------|------------------+
#       |veth                                         |
#   +---|------------------+                +---------|-------------+
#   | a 10.65.0.10         |                | pt-<id>-ext (the ToR) |
#   | TCP 74, -p 7474:74   |                | dn0 192.0.2.1/24      |
#   +----------------------+                | TCP 8179, 179 (socat) |
#                                           +-----------------------+
set -u
. "$(dirname "$0")/../lib.sh"
pt_init hep
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft ping
pt_etc_netns_trap
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_node
ip -n "$EXT" route add 10.65.0.0/16 via "$NODE_IP"
A=10.65.0.10
serve() { # NS ADDR PORT REPLY
	bg ip netns exec "$1" socat "TCP-LISTEN:$3,bind=$2,reuseaddr,fork" "SYSTEM:echo $4" 2>>"$TMP/servers.log"
}
serve "$NODE" "$NODE_IP" 2222 node-ssh
serve "$NODE" "$NODE_IP" 8080 node-8080
serve "$NODE" "$NODE_IP" 22 node-22
serve "$NODE" "$NODE_IP" 179 node-179
serve "$EXT" "$EXT_IP" 8179 tor-8179
serve "$EXT" "$EXT_IP" 179 tor-179
check "the listeners are up (node 2222 8080 22 179, ToR 8179 179)" wait_for 50 0.1 sh -c \
	"for p in 2222 8080 22 179; do ip netns exec $NODE ss -Hltn | grep -q \"$NODE_IP:\$p \" || exit 1; done;
	 for p in 8179 179; do ip netns exec $EXT ss -Hltn | grep -q \"$EXT_IP:\$p \" || exit 1; done"

tor_node() { [ "$(ns_tcp "$EXT" "$NODE_IP" "$1")" = "$2" ]; }
node_tor() { [ "$(ns_tcp "$NODE" "$EXT_IP" "$1")" = "$2" ]; }
tor_a() { [ "$(ns_tcp "$EXT" "$A" 74)" = a-74 ]; }
tor_ping() { ip netns exec "$EXT" ping -c 1 -W 1 "$NODE_IP"; }
wl_node() { [ "$(timeout 5 "$PETRELCTL" -c "$CONF" exec a -- socat -T 2 -u "TCP:$NODE_IP:$1,connect-timeout=1" - 2>/dev/null)" = "$2" ]; }
# yaml NAME TEXT: the document in $TMP/NAME.yaml
yaml() { printf '%s\n' "$2" >"$TMP/$1.yaml"; }
in_table() { ip netns exec "$NODE" nft list table inet petrel | grep -q -- "$1"; }

felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
expect_ok "pool create p1 10.65.0.0/16" ctl pool create p1 --cidr 10.65.0.0/16
wl_run "$CONF" a --ip "$A" -p 7474:74
[ -n "${WL_ADDR[a]:-}" ] || { fail "setup" "workload a missing"; exit 1; }
bg "$PETRELCTL" -c "$CONF" exec a -- socat TCP-LISTEN:74,reuseaddr,fork 'SYSTEM:echo a-74' 2>>"$TMP/servers.log"
wait_for 50 0.1 sh -c "'$PETRELCTL' -c '$CONF' exec a -- ss -Hltn | grep -q ':74 '"

# --- positive controls: no host endpoint --------------------------------------
allow_probe -k a2222 "endpointToHostAction accept: a -> the node's 2222" 5 wl_node 2222 node-ssh
allow_probe -k a8080 "endpointToHostAction accept: a -> the node's 8080" 5 wl_node 8080 node-8080
felix_restart_with ""
deny_probe -k a2222 "default endpointToHostAction drop: a -> the node's 2222" 3 wl_node 2222 node-ssh
allow_probe -k t2222 "no host endpoint: the ToR -> the node's 2222" 5 tor_node 2222 node-ssh
allow_probe -k t8080 "no host endpoint: the ToR -> the node's 8080" 5 tor_node 8080 node-8080
allow_probe -k tping "no host endpoint: the ToR pings the node" 5 tor_ping
allow_probe -k o8179 "no host endpoint: the node -> the ToR's 8179" 5 node_tor 8179 tor-8179
allow_probe -k ta "no host endpoint: the ToR -> a:74 (forwarded)" 5 tor_a
allow_probe -k t7474 "no host endpoint: the ToR -> the node's 7474 (published: a's 74)" 5 tor_node 7474 a-74

# --- a HostEndpoint without policy: Calico's default deny, failsafe ports ------
yaml hep "apiVersion: petrel/v1
kind: HostEndpoint
metadata:
  name: node1-up0
  labels: {role: node}
spec:
  node: node1
  interfaceName: up0
  expectedIPs: [$NODE_IP]"
expect_ok "apply HostEndpoint node1-up0" ctl apply -f "$TMP/hep.yaml"
check "get hostendpoint lists it (node1, up0, $NODE_IP)" sh -c \
	"'$PETRELCTL' -c '$CONF' get hep | grep -Eq '^node1-up0 +node1 +up0 +$NODE_IP'"
check "the table dispatches up0 to its chains" wait_for 50 0.1 sh -c \
	"ip netns exec $NODE nft list map inet petrel from_hep | grep -q '\"up0\" : goto hi-node1-up0' &&
	 ip netns exec $NODE nft list map inet petrel to_hep | grep -q '\"up0\" : goto ho-node1-up0'"
deny_probe -k t2222 "host endpoint, no policy: the ToR -> the node's 2222" 3 tor_node 2222 node-ssh
deny_probe -k t8080 "host endpoint, no policy: the ToR -> the node's 8080" 3 tor_node 8080 node-8080
deny_probe -k tping "host endpoint, no policy: the ToR pings the node" 3 tor_ping
deny_probe -k o8179 "host endpoint, no policy: the node -> the ToR's 8179" 3 node_tor 8179 tor-8179
allow_probe "host endpoint, no policy: failsafe tcp:22 from the ToR answers" 5 tor_node 22 node-22
allow_probe "host endpoint, no policy: failsafe tcp:179 from the ToR answers" 5 tor_node 179 node-179
allow_probe "host endpoint, no policy: failsafe out tcp:179, the node -> the ToR, answers" 5 node_tor 179 tor-179
allow_probe "host endpoint, no policy: forwarding is not its business (the ToR -> a:74)" 5 tor_a
allow_probe "host endpoint, no policy: the published port still answers (the ToR -> 7474)" 5 tor_node 7474 a-74
deny_probe -k a2222 "host endpoint, no policy: a -> the node's 2222 (endpointToHostAction drop)" 3 wl_node 2222 node-ssh

# --- a policy selecting it: ssh from the ToR and the workloads, all out -------
yaml pol "apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: host-ssh}
spec:
  selector: role == 'node'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {nets: [$EXT_IP/32, 10.65.0.0/16]}
    destination: {ports: [2222]}
  egress:
  - action: Allow"
expect_ok "apply NetworkPolicy host-ssh" ctl apply -f "$TMP/pol.yaml"
allow_probe "host-ssh: the ToR -> the node's 2222" 5 tor_node 2222 node-ssh
allow_probe "host-ssh: a -> the node's 2222 (the host endpoint's policy, over endpointToHostAction drop)" 5 wl_node 2222 node-ssh
allow_probe "host-ssh: the node -> the ToR's 8179 (egress allowed)" 5 node_tor 8179 tor-8179
deny_probe -k t8080 "host-ssh: the ToR -> the node's 8080 still dropped" 3 tor_node 8080 node-8080
deny_probe -k a8080 "host-ssh: a -> the node's 8080 still dropped" 3 wl_node 8080 node-8080
deny_probe -k tping "host-ssh: the ToR's ping still dropped" 3 tor_ping
check "the table: hi-node1-up0 jumps to the policy; hw-node1-up0 for $NODE_IP" sh -c \
	"ip netns exec $NODE nft list chain inet petrel hi-node1-up0 | grep -q 'jump pi-host-ssh' &&
	 ip netns exec $NODE nft list chain inet petrel hep-wl | grep -q 'ip daddr $NODE_IP jump hw-node1-up0'"

# --- applyOnForward: forwarded traffic, judged after DNAT ----------------------
yaml fwd "apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: host-fwd}
spec:
  selector: role == 'node'
  applyOnForward: true
  ingress:
  - action: Allow
    protocol: ICMP"
expect_ok "apply NetworkPolicy host-fwd (applyOnForward, ICMP only)" ctl apply -f "$TMP/fwd.yaml"
deny_probe -k ta "applyOnForward ICMP only: the ToR -> a:74 dropped" 3 tor_a
deny_probe -k t7474 "applyOnForward ICMP only: the ToR -> 7474 (a:74 after DNAT) dropped" 3 tor_node 7474 a-74
allow_probe "applyOnForward ICMP only: the ToR pings a" 5 ip netns exec "$EXT" ping -c 1 -W 1 "$A"
allow_probe "applyOnForward applies to the node too: the ToR pings the node" 5 tor_ping
allow_probe "applyOnForward ICMP only: the ToR -> the node's 2222 (host-ssh) still answers" 5 tor_node 2222 node-ssh
expect_ok "delete NetworkPolicy host-fwd" ctl delete networkpolicy host-fwd
allow_probe "host-fwd gone: the ToR -> a:74 again" 5 tor_a

# --- preDNAT: before DNAT, on the port asked for -----------------------------
predna() { # PORTS: a preDNAT policy denying tcp PORTS, allowing the rest
	yaml pre "apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: host-pre}
spec:
  selector: role == 'node'
  preDNAT: true
  applyOnForward: true
  ingress:
  - action: Deny
    protocol: TCP
    destination: {ports: [$1]}
  - action: Allow"
	expect_ok "apply NetworkPolicy host-pre (preDNAT, deny tcp $1)" ctl apply -f "$TMP/pre.yaml"
}
predna 74
deny_probe -k ta "preDNAT deny 74: the ToR -> a:74 dropped" 3 tor_a
allow_probe -k t7474 "preDNAT deny 74: the ToR -> 7474 answers (DNAT to 74 comes after)" 5 tor_node 7474 a-74
predna 7474
deny_probe -k t7474 "preDNAT deny 7474: the ToR -> 7474 dropped" 3 tor_node 7474 a-74
allow_probe "preDNAT deny 7474: the ToR -> a:74 answers" 5 tor_a
allow_probe "preDNAT deny 7474: the ToR -> the node's 2222 (allowed pre-DNAT, then host-ssh)" 5 tor_node 2222 node-ssh
check "the table: nat-pre jumps hep-pre first, hp-node1-up0 the failsafe ports, then the policy" sh -c \
	"ip netns exec $NODE nft list chain inet petrel nat-pre | grep -A1 'type nat' | tail -1 | grep -q 'jump hep-pre' &&
	 ip netns exec $NODE nft list chain inet petrel hp-node1-up0 | grep -A1 'hp-node1-up0 {' | tail -1 | grep -q 'jump failsafe-in' &&
	 ip netns exec $NODE nft list chain inet petrel hp-node1-up0 | grep -q 'jump pi-host-pre'"
predna "22, 179, 2222"
deny_probe -k t2222 "preDNAT deny 22, 179, 2222: the ToR -> the node's 2222 dropped" 3 tor_node 2222 node-ssh
allow_probe "preDNAT deny 22, 179, 2222: failsafe tcp:22 from the ToR still answers" 5 tor_node 22 node-22
allow_probe "preDNAT deny 22, 179, 2222: failsafe tcp:179 from the ToR still answers" 5 tor_node 179 node-179
check "a preDNAT policy is in no workload's chains" sh -c \
	"! ip netns exec $NODE nft list table inet petrel | grep -E 'chain (to|from)-' -A8 | grep -q pi-host-pre"

# --- felix restarted: the host endpoint's chains from the store again --------
felix_restart_with ""
check "felix restarted: hi-node1-up0 and hp-node1-up0 are in the table again" wait_for 50 0.1 sh -c \
	"ip netns exec $NODE nft list map inet petrel from_hep | grep -q '\"up0\" : goto hi-node1-up0' &&
	 ip netns exec $NODE nft list chain inet petrel hep-pre | grep -q 'jump hp-node1-up0'"
deny_probe -k t8080 "felix restarted: the ToR -> the node's 8080 still dropped" 3 tor_node 8080 node-8080
allow_probe "felix restarted: failsafe tcp:22 from the ToR answers" 5 tor_node 22 node-22

# --- errors at file:line:col, nothing written ---------------------------------
yaml bad "apiVersion: petrel/v1
kind: HostEndpoint
metadata: {name: bad}
spec:
  node: node1
  interfaceName: ptl0123
  expectedIPs: [192.0.2.300]"
expect_err "a HostEndpoint on a workload's interface is refused at its line" \
	"bad.yaml:6:[0-9]+: spec.interfaceName: \"ptl0123\": ptl\\* interfaces are workloads'" \
	ctl apply -f "$TMP/bad.yaml"
expect_err "a bad expectedIPs entry is refused at its line" \
	"bad.yaml:7:[0-9]+: spec.expectedIPs\\[0\\]: invalid address \"192.0.2.300\"" \
	ctl apply -f "$TMP/bad.yaml"
yaml badpre "apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: badpre}
spec:
  preDNAT: true
  ingress: [{action: Allow}]"
expect_err "preDNAT without applyOnForward is refused at its line" \
	"badpre.yaml:5:[0-9]+: spec.preDNAT: needs applyOnForward: true" ctl apply -f "$TMP/badpre.yaml"
check "nothing of them was written" sh -c \
	"! '$PETRELCTL' -c '$CONF' get hep bad >/dev/null 2>&1 && ! '$PETRELCTL' -c '$CONF' get np badpre >/dev/null 2>&1"

# --- the host endpoint deleted: the node open again ---------------------------
expect_ok "delete HostEndpoint node1-up0" ctl delete hostendpoint node1-up0
allow_probe "host endpoint gone: the ToR -> the node's 8080" 5 tor_node 8080 node-8080
check "the table has no host endpoint chain left" wait_for 50 0.1 sh -c \
	"! ip netns exec $NODE nft list table inet petrel | grep -Eq 'chain h[iowp]-|chain hf[io]-|: goto hi-'"
expect_ok "rm a" ctl rm a
felix_stop TERM
check "felix exits 0" test "$FELIX_RC" = 0
pt_end
