#!/usr/bin/env bash
#
# The CNI plugins, invoked directly as a container engine would (CNI_*
# variables, network config on stdin, result or error JSON on stdout):
# VERSION, ADD (address, routes, the workload felix programs, traffic to a
# `petrelctl run` workload and to the node), CHECK, DEL (idempotent; with
# the namespace kept: what it leaves carries nothing and felix sweeps it, a
# workload taking the address at once is undisturbed; DEL then ADD of one
# container in the same and in a new namespace; namespaces deleted after
# DEL leave no ptl* link),
# portMappings (spec.ports, the host port reservation, a conflict), error
# cases that must leave nothing behind, 50 ADDs then 50 DELs in parallel,
# GC (CNI 1.1.0: three containers, two listed valid, the third removed as
# DEL would; another network's container and `petrelctl run` workloads
# untouched; bad GC configs change nothing), petrel-ipam alone and under
# the reference ptp plugin (two containers sharing the node's gateway), an
# exhausted pool.
#
#   +------------------------------- pt-<id>-node ------------------------------+
#   | felix   up0 192.0.2.11/24 ----veth---- pt-<id>-ext (dn0 192.0.2.1/24)     |
#   | ptl<web> 10.65.x.x/32 proto 87        ptl<cni-…> A/32 proto 87            |
#   | (ptp section: veth<…> with G/32, route A'/32, made by /usr/lib/cni/ptp)  |
#   +------|--------------------------------------|-----------------------------+
#          | veth                                 | veth (made by build/petrel)
#   +------|------ pt-<id>-w-web -+   +-----------|-------- pt-<id>-c1 ---------+
#   | eth0 10.65.x.x/32 (run)     |   | eth0 A/32, default via 169.254.1.1      |
#   +-----------------------------+   +-----------------------------------------+
#   pt-<id>-d1          DEL with the namespace kept: the stale host end
#                       carries nothing (UDP to the node's :5599), then swept
#   pt-<id>-d2, n1      DEL, then n1 takes d2's address at once: undisturbed
#   pt-<id>-again, again2  DEL then ADD of one container: same namespace,
#                       then a new one; pt-<id>-z1: namespace deleted after DEL
#   pt-<id>-gone        removed before its DEL
#   pt-<id>-c2          error cases: must stay with lo only
#   pt-<id>-pm1, pm2    runtimeConfig.portMappings (one host port, two askers)
#   pt-<id>-p1 … p50    the parallel ADD/DEL
#   pt-<id>-g1 … g3     GC: g1, g2 listed valid, g3 not (network "petrel")
#   pt-<id>-go          GC: a container of network "other"
#   pt-<id>-pc1, pc2    ptp + petrel-ipam (ptp's veth<…> host ends, G/32 on each)
#   pt-<id>-x1 … x5     the tiny pool (10.66.0.0/30, 4 addresses) and one more
#
# The container namespaces are the engine's (this test's): the plugin only
# puts a veth end into them, and DEL leaves them in place.
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init cni
PETREL="$B/petrel"
PETREL_IPAM="$B/petrel-ipam"
pt_need_bins "$PETRELCTL" "$FELIX" "$PETREL" "$DSCTL"
pt_need_tools jq
# Private copies, like pt_copy_bins does for the others; CNI_PATH names
# this directory so that ptp finds petrel-ipam there.
cp "$PETREL" "$TMP/bin/" && PETREL="$TMP/bin/petrel"
HAVE_IPAM=0
if [ -x "$PETREL_IPAM" ]; then
	cp "$PETREL_IPAM" "$TMP/bin/" && PETREL_IPAM="$TMP/bin/petrel-ipam" && HAVE_IPAM=1
fi
CNI_BIN_PATH="$TMP/bin:/usr/lib/cni"

# (c1 pings its node: endpointToHostAction accept, explicitly; its default
# is drop, test_hostprotect)
PT_CONF_EXTRA="endpointToHostAction: accept"
pt_node
felix_up
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "run web (the petrelctl workload to ping)" ctl run --name web
WEB=$OUT

NETCONF=$(printf '{"cniVersion":"1.0.0","name":"petrel","type":"petrel","petrelConfig":"%s"}' "$CONF")

# cni CMD CONTAINERID NETNS [IFNAME]: the plugin with the CNI environment;
# the network config on stdin. "-" for CONTAINERID leaves CNI_CONTAINERID
# unset.
cni() {
	local cmd=$1 cid=$2 netns=$3 ifn=${4:-eth0} vars=()
	[ "$cid" = - ] || vars=(CNI_CONTAINERID="$cid")
	env -u CNI_CONTAINERID CNI_COMMAND="$cmd" CNI_NETNS="$netns" \
		CNI_IFNAME="$ifn" CNI_PATH="$CNI_BIN_PATH" "${vars[@]}" "$PETREL"
}
# A realistic container ID (64 hex) for a tag; distinct in its first 12.
cid_of() {
	printf '%s-%s' "$ID" "$1" | sha256sum | cut -c1-64
}
wl_of() { # the workload name the plugin derives from a container ID
	echo "cni-$(echo "$1" | cut -c1-12)"
}
mkns() {
	ip netns add "pt-$ID-$1" && ip -n "pt-$ID-$1" link set lo up
}
ipam_used() {
	ctl -o json ipam show 2>/dev/null | jq '[.pools[].used] | add'
}
ipam_clean() {
	ctl -o json ipam check 2>/dev/null | jq -e '.leaks == []'
}
wl_rec() { # TAG: the record of that container's workload (JSON, with revision)
	"$DSCTL" "sqlite:$DB" dump 2>/dev/null | grep "/$(wl_of "$(cid_of "$1")")	"
}
ifidx() { ip -n "$NODE" -o link show "$1" 2>/dev/null | cut -d: -f1; }
# is_err_json CODE-TEST FILE: an error object whose code passes the jq test.
is_err_json() {
	jq -e "(.code | type == \"number\") and (.code | $1) and (.msg | type == \"string\")" "$2"
}

# --- VERSION ---
expect_ok "VERSION" cni VERSION "" "" </dev/null
printf '%s' "$OUT" >"$TMP/version.json"
check "VERSION: supportedVersions contains 1.0.0" \
	jq -e '.supportedVersions | index("1.0.0") != null' "$TMP/version.json"

# --- ADD ---
C1="pt-$ID-c1"
mkns c1 || { fail "setup" "ip netns add $C1"; exit 1; }
CID1=$(cid_of c1)
WL1=$(wl_of "$CID1")
USED0=$(ipam_used)
expect_ok "ADD" cni ADD "$CID1" "/run/netns/$C1" <<<"$NETCONF"
printf '%s' "$OUT" >"$TMP/add1.json"
check "ADD: result has one ip A.B.C.D/32" \
	jq -e '(.ips | length) == 1 and (.ips[0].address | test("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/32$"))' "$TMP/add1.json"
check "ADD: cniVersion 1.0.0" jq -e '.cniVersion == "1.0.0"' "$TMP/add1.json"
check "ADD: gateway 169.254.1.1" jq -e '.ips[0].gateway == "169.254.1.1"' "$TMP/add1.json"
# shellcheck disable=SC2016 # $ns is a jq variable
check "ADD: the ip's interface is in sandbox /run/netns/$C1" \
	jq -e --arg ns "/run/netns/$C1" '.interfaces[.ips[0].interface].sandbox == $ns and .interfaces[.ips[0].interface].name == "eth0"' "$TMP/add1.json"
check "ADD: default route via 169.254.1.1 in the result" \
	jq -e '.routes | any(.dst == "0.0.0.0/0" and .gw == "169.254.1.1")' "$TMP/add1.json"
A1=$(jq -r '.ips[0].address' "$TMP/add1.json" 2>/dev/null | sed 's|/.*||')
HOSTIF1=$(jq -r '.interfaces[] | select(has("sandbox") | not) | .name' "$TMP/add1.json" 2>/dev/null | head -1)
check "ADD: host interface ptl + 12 hex ($HOSTIF1)" sh -c "echo '$HOSTIF1' | grep -Eq '^ptl[0-9a-f]{12}$'"
check "ADD: nothing on stderr" test -z "$ERR"
ip -n "$C1" -o -4 addr show dev eth0 >"$TMP/c1.addr" 2>&1
check "c1: eth0 has $A1/32" grep -q "inet $A1/32" "$TMP/c1.addr"
ip -n "$C1" -4 route show >"$TMP/c1.routes" 2>&1
check "c1: default via 169.254.1.1 dev eth0" grep -q '^default via 169.254.1.1 dev eth0' "$TMP/c1.routes"
# ADD waited for felix (no noWait): the route is there now.
check "node: route $A1/32 dev $HOSTIF1 proto 87" \
	sh -c "ip -n $NODE -4 route show $A1/32 proto 87 | grep -q 'dev $HOSTIF1'"
ctl ls >"$TMP/ls" 2>&1
check "ls shows $WL1 routed with $A1" grep -Eq "^${WL1}[[:space:]]+routed[[:space:]]+$A1/32[[:space:]]+$HOSTIF1" "$TMP/ls"
check "ipam show: used +1 ($USED0 -> $(ipam_used))" test "$(ipam_used)" = $((USED0 + 1))
check "ipam check: clean after ADD" ipam_clean
check "ping c1 -> web $WEB" ip netns exec "$C1" ping -c 2 -i 0.2 -W 2 "$WEB"
check "ping web -> c1 $A1" ctl exec web -- ping -c 2 -i 0.2 -W 2 "$A1"
check "ping c1 -> node $NODE_IP" ip netns exec "$C1" ping -c 2 -i 0.2 -W 2 "$NODE_IP"
check "ping node -> c1 $A1" ip netns exec "$NODE" ping -c 2 -i 0.2 -W 2 "$A1"

# --- CHECK ---
expect_ok "CHECK after ADD" cni CHECK "$CID1" "/run/netns/$C1" <<<"$NETCONF"
check "CHECK after ADD: empty stdout" test -z "$OUT"

# --- DEL ---
# Positive controls of DEL's "no record left" greps: the same greps find it now.
check "before DEL: its record is listed (ls)" sh -c "'$PETRELCTL' -c '$CONF' ls | grep -q '^$WL1 '"
check "before DEL: its record is in the datastore (dsctl)" sh -c "'$DSCTL' 'sqlite:$DB' dump | grep -q '$CID1'"
expect_ok "DEL" cni DEL "$CID1" "/run/netns/$C1" <<<"$NETCONF"
check "DEL: empty stdout" test -z "$OUT"
check "DEL: address released (ipam show used back to $USED0)" test "$(ipam_used)" = "$USED0"
check "DEL: ipam check clean" ipam_clean
check "DEL: route $A1/32 gone (bounded wait)" wait_for 50 0.1 no_node_route "$A1"
# DEL leaves the veth (deleting one costs the RCU grace period): the
# engine's namespace teardown takes it, or felix, FELIX_SWEEP_GONE_MS after
# the record went (c1's namespace stays here: felix's sweep it is).
check "DEL: host end $HOSTIF1 gone (felix's sweep; bounded wait)" wait_for 100 0.05 sh -c "! ip -n $NODE link show '$HOSTIF1' >/dev/null 2>&1"
check "DEL: c1 has no eth0 left" sh -c "! ip -n $C1 link show eth0 >/dev/null 2>&1"
check "DEL: no record left (ls)" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -q '^$WL1 '"
check "DEL: no record left (datastore; dsctl answers)" sh -c "d=\$('$DSCTL' 'sqlite:$DB' dump) && ! printf '%s\n' \"\$d\" | grep -q '$CID1'"
expect_ok "DEL again" cni DEL "$CID1" "/run/netns/$C1" <<<"$NETCONF"
expect_ok "DEL of an unknown container ID" cni DEL "$(cid_of nobody)" "/run/netns/$C1" <<<"$NETCONF"
check "DEL of an unknown container ID: empty stdout" test -z "$OUT"

# --- DEL with the engine's namespace alive: the record and the address go
# at once, felix's "gone" (route, nftables state) before DEL returns, and
# no interface is deleted in DEL's path (a veth's delete costs the RCU
# grace period). The stale host end carries nothing (anti-spoofing);
# felix's sweep deletes it. felix is stopped (SIGSTOP) while the probes run,
# so that its sweep cannot take the host end before them.
D1="pt-$ID-d1"
mkns d1 || { fail "setup" "ip netns add $D1"; exit 1; }
CIDD=$(cid_of d1)
USEDD=$(ipam_used)
expect_ok "ADD in $D1" cni ADD "$CIDD" "/run/netns/$D1" <<<"$NETCONF"
AD=$(printf '%s' "$OUT" | jq -r '.ips[0].address' 2>/dev/null | sed 's|/.*||')
HOSTD=$(printf '%s' "$OUT" | jq -r '.interfaces[] | select(has("sandbox") | not) | .name' 2>/dev/null | head -1)
IDXD=$(ifidx "$HOSTD")
# One-way probe: UDP datagrams from d1 to a listener on the node (replies
# need the route that DEL removes; a datagram does not).
bg ip netns exec "$NODE" socat -u UDP-RECV:5599,bind="$NODE_IP" OPEN:"$TMP/d1.recv",creat,append
check "setup: the node's UDP listener on $NODE_IP:5599" \
	wait_for 50 0.1 sh -c "ip netns exec $NODE ss -Huln | grep -q '$NODE_IP:5599 '"
d1_send() { printf '%s\n' "$1" | ip netns exec "$D1" socat -u - "UDP:$NODE_IP:5599"; }
d1_send before
check "before DEL: a datagram from $D1 ($AD) reaches the node (the probe is honest)" \
	wait_for 30 0.1 grep -qx before "$TMP/d1.recv"
check "before DEL: wl_src holds $HOSTD . $AD" \
	sh -c "ip netns exec $NODE nft list set inet petrel wl_src | grep -q '\"$HOSTD\" . $AD'"
expect_ok "DEL in $D1 (its namespace kept)" cni DEL "$CIDD" "/run/netns/$D1" <<<"$NETCONF"
kill -STOP "$FELIX_PID"
check "DEL: its record is gone at once" test -z "$(wl_rec d1)"
check "DEL: its address is released at once (used back to $USEDD)" test "$(ipam_used)" = "$USEDD"
check "DEL: felix removed the route $AD/32 before DEL returned" no_node_route "$AD"
check "DEL: felix removed $HOSTD's wl_src element before DEL returned" \
	sh -c "s=\$(ip netns exec $NODE nft list set inet petrel wl_src) && ! printf '%s' \"\$s\" | grep -q '\"$HOSTD\"'"
check "DEL: deleted no interface (host end $HOSTD still #$IDXD, $D1's eth0 still there)" \
	sh -c "[ '$(ifidx "$HOSTD")' = '$IDXD' ] && ip -n $D1 link show eth0 >/dev/null 2>&1"
RX0=$(ip netns exec "$NODE" cat "/sys/class/net/$HOSTD/statistics/rx_packets" 2>/dev/null)
for i in 1 2 3; do d1_send after; done
RX1=$(ip netns exec "$NODE" cat "/sys/class/net/$HOSTD/statistics/rx_packets" 2>/dev/null)
check "after DEL: d1's datagrams do reach the stale host end (rx_packets $RX0 -> $RX1)" \
	test "${RX1:-0}" -ge $((${RX0:-0} + 3))
sleep 0.5
check "after DEL: none is delivered (anti-spoofing drops them)" sh -c "! grep -qx after '$TMP/d1.recv'"
kill -CONT "$FELIX_PID"
check "after DEL: felix's sweep deletes the host end $HOSTD (bounded wait)" \
	wait_for 100 0.05 sh -c "! ip -n $NODE link show '$HOSTD' >/dev/null 2>&1"
check "after the sweep: $D1 has no eth0 left" sh -c "! ip -n $D1 link show eth0 >/dev/null 2>&1"

# --- A new workload that takes the address at once is not disturbed by the
# stale host end still holding it inside its namespace: its own /32 route
# to its own host end; what the stale one sends is dropped (anti-spoofing:
# wl_src pairs the address with the new host end only). felix is stopped
# right after the new ADD (well within FELIX_SWEEP_GONE_MS of the DEL).
D2="pt-$ID-d2"
mkns d2 || { fail "setup" "ip netns add $D2"; exit 1; }
mkns n1 || { fail "setup" "ip netns add pt-$ID-n1"; exit 1; }
expect_ok "ADD in $D2" cni ADD "$(cid_of d2)" "/run/netns/$D2" <<<"$NETCONF"
AD2=$(printf '%s' "$OUT" | jq -r '.ips[0].address' 2>/dev/null | sed 's|/.*||')
HOSTD2=$(printf '%s' "$OUT" | jq -r '.interfaces[] | select(has("sandbox") | not) | .name' 2>/dev/null | head -1)
expect_ok "DEL in $D2 (its namespace kept)" cni DEL "$(cid_of d2)" "/run/netns/$D2" <<<"$NETCONF"
expect_ok "ADD in pt-$ID-n1 taking $AD2 at once" cni ADD "$(cid_of n1)" "/run/netns/pt-$ID-n1" \
	<<<"$(printf '%s' "$NETCONF" | jq -c --arg a "$AD2" '. + {runtimeConfig: {ips: [$a]}}')"
kill -STOP "$FELIX_PID"
HOSTN1=$(printf '%s' "$OUT" | jq -r '.interfaces[] | select(has("sandbox") | not) | .name' 2>/dev/null | head -1)
check "n1 has $AD2; $D2's stale eth0 still has it too" \
	sh -c "ip -n pt-$ID-n1 -o addr show eth0 | grep -qF ' $AD2/32 ' && ip -n $D2 -o addr show eth0 | grep -qF ' $AD2/32 '"
check "node: $AD2/32 is routed to n1's host end $HOSTN1 only" \
	sh -c "[ \"\$(ip -n $NODE -4 route show $AD2/32 proto 87)\" = '$AD2 dev $HOSTN1 scope link ' ]"
printf 'fresh\n' | ip netns exec "pt-$ID-n1" socat -u - "UDP:$NODE_IP:5599"
check "n1's datagram reaches the node" wait_for 30 0.1 grep -qx fresh "$TMP/d1.recv"
RX0=$(ip netns exec "$NODE" cat "/sys/class/net/$HOSTD2/statistics/rx_packets" 2>/dev/null)
for i in 1 2 3; do printf 'stale\n' | ip netns exec "$D2" socat -u - "UDP:$NODE_IP:5599"; done
RX1=$(ip netns exec "$NODE" cat "/sys/class/net/$HOSTD2/statistics/rx_packets" 2>/dev/null)
check "the stale $HOSTD2 receives $D2's datagrams (rx_packets $RX0 -> $RX1)" \
	test "${RX1:-0}" -ge $((${RX0:-0} + 3))
sleep 0.5
check "none of them is delivered (source $AD2 is n1's, not $HOSTD2's)" sh -c "! grep -qx stale '$TMP/d1.recv'"
check "ping node -> n1 $AD2 still works" ip netns exec "$NODE" ping -c 2 -i 0.2 -W 2 "$AD2"
kill -CONT "$FELIX_PID"
check "felix's sweep deletes $HOSTD2 (bounded wait), n1's host end stays" \
	wait_for 100 0.05 sh -c "! ip -n $NODE link show '$HOSTD2' >/dev/null 2>&1 && ip -n $NODE link show '$HOSTN1' >/dev/null"
expect_ok "DEL in pt-$ID-n1" cni DEL "$(cid_of n1)" "/run/netns/pt-$ID-n1" <<<"$NETCONF"

# --- DEL then ADD of the same container at once (an engine's restart).
# In the same namespace (kept): the ADD finds its names held by the pair DEL
# left, proves it debris (no record; the host end's and the workload end's
# indexes match) and deletes it. In a new namespace (the old one kept, or
# still being torn down): the ADD renames the old host end out of the way;
# felix's sweep deletes it. Neither waits for the sweep: felix is stopped
# (SIGSTOP) during the ADDs (noWait), so that no sweep can help.
NOWAIT=$(printf '%s' "$NETCONF" | jq -c '. + {noWait: true}')
mkns again || { fail "setup" "ip netns add pt-$ID-again"; exit 1; }
mkns again2 || { fail "setup" "ip netns add pt-$ID-again2"; exit 1; }
CIDA=$(cid_of again)
expect_ok "ADD in pt-$ID-again" cni ADD "$CIDA" "/run/netns/pt-$ID-again" <<<"$NETCONF"
HOSTA=$(printf '%s' "$OUT" | jq -r '.interfaces[] | select(has("sandbox") | not) | .name' 2>/dev/null | head -1)
IDXA=$(ifidx "$HOSTA")
expect_ok "DEL in pt-$ID-again" cni DEL "$CIDA" "/run/netns/pt-$ID-again" <<<"$NETCONF"
kill -STOP "$FELIX_PID"
check "after DEL: its veth is still there (left to the sweep)" sh -c "ip -n pt-$ID-again link show eth0 >/dev/null 2>&1"
expect_ok "ADD again at once, same namespace, felix stopped (the leftover pair deleted)" \
	cni ADD "$CIDA" "/run/netns/pt-$ID-again" <<<"$NOWAIT"
AA=$(printf '%s' "$OUT" | jq -r '.ips[0].address' 2>/dev/null)
IDXA2=$(ifidx "$HOSTA")
check "ADD again: pt-$ID-again's eth0 has $AA" sh -c "ip -n pt-$ID-again -o addr show eth0 | grep -qF ' $AA '"
check "ADD again: $HOSTA is a new link (#$IDXA -> #$IDXA2), #$IDXA gone" \
	sh -c "[ -n '$IDXA2' ] && [ '$IDXA2' != '$IDXA' ] && ! ip -n $NODE link show | grep -q '^$IDXA:'"
kill -CONT "$FELIX_PID"
check "felix programs pt-$ID-again's route ${AA%/*}/32 dev $HOSTA (bounded wait)" \
	wait_for 50 0.1 sh -c "ip -n $NODE -4 route show ${AA%/*}/32 proto 87 | grep -q 'dev $HOSTA'"
sleep 1.2	# a sweep pass sees the host end claimed (then the shorter wait)
kill -STOP "$FELIX_PID"
expect_ok "DEL in pt-$ID-again, felix stopped (noWait)" cni DEL "$CIDA" "/run/netns/pt-$ID-again" <<<"$NOWAIT"
IDXA3=$(ifidx "$HOSTA")
expect_ok "ADD again at once in a new namespace pt-$ID-again2 (the old host end renamed)" \
	cni ADD "$CIDA" "/run/netns/pt-$ID-again2" <<<"$NOWAIT"
AA2=$(printf '%s' "$OUT" | jq -r '.ips[0].address' 2>/dev/null | sed 's|/.*||')
MOVED=$(ip -n "$NODE" -o link show 2>/dev/null | awk -F': ' -v i="$IDXA3" '$1 == i { print $2 }' | sed 's/@.*//')
check "ADD in pt-$ID-again2: the old host end #$IDXA3 renamed ($MOVED), not deleted" \
	sh -c "echo '$MOVED' | grep -Eq '^ptl[0-9a-f]{12}$' && [ '$MOVED' != '$HOSTA' ]"
check "ADD in pt-$ID-again2: $HOSTA is its new link" \
	sh -c "i=\$(ip -n pt-$ID-again2 -o link show eth0 | sed -n 's/.*@if\([0-9]*\):.*/\1/p'); [ \"\$i\" = '$(ifidx "$HOSTA")' ] && [ \"\$i\" != '$IDXA3' ]"
kill -CONT "$FELIX_PID"
check "felix programs pt-$ID-again2's route $AA2/32 dev $HOSTA (bounded wait)" \
	wait_for 50 0.1 sh -c "ip -n $NODE -4 route show $AA2/32 proto 87 | grep -q 'dev $HOSTA'"
check "ping node -> pt-$ID-again2 $AA2" ip netns exec "$NODE" ping -c 2 -i 0.2 -W 2 "$AA2"
check "felix's sweep deletes the renamed host end $MOVED (bounded wait)" \
	wait_for 250 0.05 sh -c "! ip -n $NODE link show '$MOVED' >/dev/null 2>&1"
check "pt-$ID-again has no eth0 left" sh -c "! ip -n pt-$ID-again link show eth0 >/dev/null 2>&1"
check "pt-$ID-again2 keeps its eth0 and route" \
	sh -c "ip -n pt-$ID-again2 link show eth0 >/dev/null && ip -n $NODE -4 route show $AA2/32 proto 87 | grep -q 'dev $HOSTA'"
expect_ok "DEL in pt-$ID-again2 (end)" cni DEL "$CIDA" "/run/netns/pt-$ID-again2" <<<"$NETCONF"

# --- DEL, then the engine deletes its namespace: its teardown takes the
# veth, nothing is left on the node (web's host end is the only ptl*).
WEBIF=$(wl_ifname web)
ip netns del "pt-$ID-again"
ip netns del "pt-$ID-again2"
mkns z1 || { fail "setup" "ip netns add pt-$ID-z1"; exit 1; }
expect_ok "ADD in pt-$ID-z1" cni ADD "$(cid_of z1)" "/run/netns/pt-$ID-z1" <<<"$NETCONF"
expect_ok "DEL in pt-$ID-z1" cni DEL "$(cid_of z1)" "/run/netns/pt-$ID-z1" <<<"$NETCONF"
ip netns del "pt-$ID-z1"
only_web_left() { [ "$(node_ptl_links | tr '\n' ' ')" = "$WEBIF " ]; }
check "namespaces deleted after DEL: no ptl* link but web's ($WEBIF) left (bounded wait)" \
	wait_for 100 0.05 only_web_left
check "no route of petrel's to a deleted workload ($AD, $AA2)" \
	sh -c "! ip -n $NODE -4 route show proto 87 | grep -Eq '^($AD|$AA2) '"

# --- DEL after the engine already removed the namespace ---
mkns gone || { fail "setup" "ip netns add pt-$ID-gone"; exit 1; }
CIDG=$(cid_of gone)
expect_ok "ADD in pt-$ID-gone" cni ADD "$CIDG" "/run/netns/pt-$ID-gone" <<<"$NETCONF"
AG=$(printf '%s' "$OUT" | jq -r '.ips[0].address' 2>/dev/null | sed 's|/.*||')
check "before DEL with the netns gone: its record is listed (ls)" sh -c "'$PETRELCTL' -c '$CONF' ls | grep -q '^$(wl_of "$CIDG") '"
ip netns del "pt-$ID-gone"
expect_ok "DEL with the netns already gone" cni DEL "$CIDG" "/run/netns/pt-$ID-gone" <<<"$NETCONF"
check "DEL with the netns gone: empty stdout" test -z "$OUT"
check "DEL with the netns gone: used back to $USED0" test "$(ipam_used)" = "$USED0"
check "DEL with the netns gone: ipam check clean" ipam_clean
check "DEL with the netns gone: no record left" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -q '^$(wl_of "$CIDG") '"
check "DEL with the netns gone: route $AG/32 gone (bounded wait)" wait_for 50 0.1 no_node_route "$AG"

# --- CHECK with the host end deleted by hand ---
expect_ok "ADD (again, for CHECK)" cni ADD "$CID1" "/run/netns/$C1" <<<"$NETCONF"
printf '%s' "$OUT" >"$TMP/add1b.json"
HOSTIF1=$(jq -r '.interfaces[] | select(has("sandbox") | not) | .name' "$TMP/add1b.json" 2>/dev/null | head -1)
check "delete host end $HOSTIF1 by hand" ip -n "$NODE" link del "$HOSTIF1"
expect_err "CHECK after the host end was deleted" '"code"' cni CHECK "$CID1" "/run/netns/$C1" <<<"$NETCONF"
printf '%s' "$OUT" >"$TMP/check.json"
check "CHECK: error JSON with code 3 or 5 ($(pt_oneline <"$TMP/check.json"))" is_err_json '. == 3 or . == 5' "$TMP/check.json"
expect_ok "DEL with the host end already gone" cni DEL "$CID1" "/run/netns/$C1" <<<"$NETCONF"
check "ipam check clean, used back to $USED0" sh -c "[ '$(ipam_used)' = '$USED0' ]"
check "ipam check clean" ipam_clean

# --- error cases: exit 1, an error JSON, nothing left behind ---
C2="pt-$ID-c2"
mkns c2 || { fail "setup" "ip netns add $C2"; exit 1; }
snap() {
	PT_SNAP_NOREV=1 pt_snapshot "$1"
	{
		echo "## c2 links"
		ip -n "$C2" -o link show | awk -F': ' '{ print $2 }'
		echo "## c2 addresses"
		ip -n "$C2" -4 -o addr show
	} >>"$1" 2>&1
	# iproute2 says this of a link while a deleted namespace is still being
	# torn down by the kernel (asynchronously): noise, not a change.
	sed -i '/Peer netns reference is invalid/d' "$1"
}
# Every host end on the node is claimed by a record: what a DEL left to
# felix's sweep is gone (it would vanish between two snapshots).
swept() {
	local dump l
	dump=$("$DSCTL" "sqlite:$DB" dump 2>/dev/null) || return 1
	for l in $(ip -n "$NODE" -o link show | grep -o 'ptl[0-9a-f]*' | sort -u); do
		grep -q "\"interfaceName\":\"$l\"" <<<"$dump" || return 1
	done
}
# (before the first snapshot only: a wait after the ADD could let the sweep
# hide a host end the failed ADD left)
snap_settled() {
	wait_for 300 0.05 swept || echo "  # (host ends left to the sweep still there: $(ip -n "$NODE" -o link show | grep -o 'ptl[0-9a-f]*' | tr '\n' ' '))"
	snap "$1"
}
# add_err WHAT CODE-TEST CID NETNS CONFIG
add_err() {
	local what=$1 test=$2 cid=$3 netns=$4 conf=$5 rc
	snap_settled "$TMP/before"
	cni ADD "$cid" "$netns" >"$TMP/err.out" 2>"$TMP/err.err" <<<"$conf"
	rc=$?
	pt_san_said "$what" "$(cat "$TMP/err.err")"
	check "$what: exit 1 (got $rc)" test "$rc" = 1
	check "$what: error JSON, code $test ($(pt_oneline <"$TMP/err.out"))" is_err_json "$test" "$TMP/err.out"
	snap "$TMP/after"
	same_files "$what: nothing left behind" "$TMP/before" "$TMP/after"
	check "$what: ipam check clean" ipam_clean
}
CIDE=$(cid_of err)
add_err "ADD with a missing netns" '. == 3 or . == 5' "$CIDE" /run/netns/does-not-exist "$NETCONF"
snap_settled "$TMP/before2"
expect_ok "DEL after the failed ADD" cni DEL "$CIDE" /run/netns/does-not-exist <<<"$NETCONF"
snap "$TMP/after2"
same_files "DEL after the failed ADD: no change" "$TMP/before2" "$TMP/after2"
check "DEL after the failed ADD: ipam check clean" ipam_clean
add_err "ADD with bad JSON" '. == 6' "$CIDE" "/run/netns/$C2" '{"cniVersion":"1.0.0","name":'
add_err "ADD with cniVersion 9.9.9" '. == 1' "$CIDE" "/run/netns/$C2" \
	"$(printf '%s' "$NETCONF" | sed 's/"1\.0\.0"/"9.9.9"/')"
add_err "ADD without CNI_CONTAINERID" '. == 4' - "/run/netns/$C2" "$NETCONF"

# --- runtimeConfig.portMappings: the WorkloadEndpoint's ports, reserved ---
# (podman's form; felix's publishing is test_podman's.)
pmconf() { # HOSTPORT: NETCONF with one tcp mapping HOSTPORT -> 80
	printf '%s' "$NETCONF" | jq -c --argjson h "$1" \
		'.runtimeConfig = {portMappings: [{hostPort: $h, containerPort: 80, protocol: "tcp", hostIP: ""}]}'
}
hostport_keys() {
	"$DSCTL" "sqlite:$DB" list /petrel/hostports/ 2>/dev/null | cut -f1
}
mkns pm1
mkns pm2
CIDM1=$(cid_of pm1)
CIDM2=$(cid_of pm2)
expect_ok "ADD with portMappings 28080:80" cni ADD "$CIDM1" "/run/netns/pt-$ID-pm1" <<<"$(pmconf 28080)"
ctl -o json inspect "$(wl_of "$CIDM1")" >"$TMP/pm1.json" 2>&1
check "portMappings: spec.ports [28080 -> 80 tcp] ($(jq -c .spec.ports "$TMP/pm1.json" 2>/dev/null))" \
	jq -e '.spec.ports == [{"hostPort":28080,"containerPort":80,"protocol":"tcp"}]' "$TMP/pm1.json"
check "portMappings: reservation node1/tcp-28080" test "$(hostport_keys)" = /petrel/hostports/node1/tcp-28080
C2="pt-$ID-pm2"
add_err "ADD asking for 28080 again" '. == 103' "$CIDM2" "/run/netns/$C2" "$(pmconf 28080)"
check "ADD asking for 28080 again: names the holder ($(pt_oneline <"$TMP/err.out"))" \
	grep -q "port tcp/28080 is already published by workload $(wl_of "$CIDM1")" "$TMP/err.out"
add_err "ADD with portMappings protocol sctp" '. == 7' "$CIDM2" "/run/netns/$C2" \
	"$(pmconf 28081 | sed 's/"tcp"/"sctp"/')"
expect_ok "DEL of the port's holder" cni DEL "$CIDM1" "/run/netns/pt-$ID-pm1" <<<"$(pmconf 28080)"
check "DEL: reservation gone" test -z "$(hostport_keys)"
expect_ok "ADD 28080 once its holder left" cni ADD "$CIDM2" "/run/netns/$C2" <<<"$(pmconf 28080)"
expect_ok "DEL it" cni DEL "$CIDM2" "/run/netns/$C2" <<<"$(pmconf 28080)"
check "portMappings: no reservation left" sh -c "[ -z \"\$('$DSCTL' 'sqlite:$DB' list /petrel/hostports/)\" ]"
check "portMappings: ipam check clean" ipam_clean
C2="pt-$ID-c2"

# --- 50 ADDs in parallel, then 50 DELs ---
N=50
for ((i = 1; i <= N; i++)); do
	mkns "p$i" || { fail "setup" "ip netns add pt-$ID-p$i"; exit 1; }
done
USEDP=$(ipam_used)
par() { # CMD: N invocations at once; failures counted in PAR_BAD
	local cmd=$1 i pids=()
	for ((i = 1; i <= N; i++)); do
		cni "$cmd" "$(cid_of "p$i")" "/run/netns/pt-$ID-p$i" \
			<<<"$NETCONF" >"$TMP/par.$i.out" 2>"$TMP/par.$i.err" &
		pids+=($!)
		PT_PIDS+=($!)
	done
	PAR_BAD=0 PAR_DETAILS=
	for ((i = 1; i <= N; i++)); do
		# Bounded: an ADD waits at most waitTimeout (10 s) for felix.
		reap "${pids[i - 1]}" 600
		if [ "$REAP_RC" != 0 ]; then
			PAR_BAD=$((PAR_BAD + 1))
			PAR_DETAILS="$PAR_DETAILS p$i:exit=$REAP_RC:'$(pt_oneline <"$TMP/par.$i.out")'"
		fi
		pt_san_said "$cmd p$i" "$(cat "$TMP/par.$i.err")" && PAR_BAD=$((PAR_BAD + 1))
	done
}
par ADD
check "50 ADDs in parallel: all exit 0" sh -c "[ $PAR_BAD = 0 ] || { echo '$PAR_DETAILS'; exit 1; }"
for ((i = 1; i <= N; i++)); do
	jq -r '.ips[0].address' "$TMP/par.$i.out" 2>/dev/null
done | sed 's|/.*||' | grep -E '^[0-9.]+$' | sort -u >"$TMP/par.addrs"
check "50 distinct addresses ($(wc -l <"$TMP/par.addrs"))" test "$(wc -l <"$TMP/par.addrs")" = $N
check "ipam show: used +50" test "$(ipam_used)" = $((USEDP + N))
missing=0
while read -r a; do has_node_route "$a" || missing=$((missing + 1)); done <"$TMP/par.addrs"
check "50 routes proto 87 ($missing missing)" test "$missing" = 0
check "ls shows 50 cni- workloads" test "$(ctl ls 2>/dev/null | grep -c '^cni-')" = $N
par DEL
check "50 DELs in parallel: all exit 0" sh -c "[ $PAR_BAD = 0 ] || { echo '$PAR_DETAILS'; exit 1; }"
check "after 50 DELs: ipam check clean" ipam_clean
check "after 50 DELs: used back to $USEDP" test "$(ipam_used)" = "$USEDP"
no_cni_ptl() {
	# Only web's host end may stay.
	[ "$(node_ptl_links | grep -vc "^$(wl_ifname web)$")" = 0 ]
}
check "after 50 DELs: no CNI ptl interface left (bounded wait)" wait_for 100 0.05 no_cni_ptl
check "after 50 DELs: no record left" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -q '^cni-'"
left=0
while read -r a; do has_node_route "$a" && left=$((left + 1)); done <"$TMP/par.addrs"
check "after 50 DELs: no route left ($left)" test "$left" = 0

# --- GC (CNI 1.1.0): attachments the runtime no longer lists ---
# g1, g2, g3 on network "petrel" (g3 publishes a port), go on network
# "other" (the same plugin and store), web and lab made by petrelctl run
# (lab labelled as if the plugin had made it): GC listing g1 and g2 removes
# g3 only, as its DEL would.
gcconf() { # VALID-JSON [NETWORK [VERSION]]: a GC config for NETWORK
	printf '%s' "$NETCONF" | jq -c --argjson v "$1" --arg n "${2:-petrel}" --arg ver "${3:-1.1.0}" \
		'.cniVersion = $ver | .name = $n | .["cni.dev/valid-attachments"] = $v'
}
att() { # TAG...: the valid-attachments list of these containers' eth0
	local t
	for t in "$@"; do printf '{"containerID":"%s","ifname":"eth0"}\n' "$(cid_of "$t")"; done | jq -sc .
}
for g in g1 g2 g3 go; do
	mkns "$g" || { fail "setup" "ip netns add pt-$ID-$g"; exit 1; }
done
USEDG=$(ipam_used)
expect_ok "GC setup: ADD g1" cni ADD "$(cid_of g1)" "/run/netns/pt-$ID-g1" <<<"$NETCONF"
G1=$(printf '%s' "$OUT" | jq -r '.ips[0].address' | sed 's|/.*||')
expect_ok "GC setup: ADD g2" cni ADD "$(cid_of g2)" "/run/netns/pt-$ID-g2" <<<"$NETCONF"
G2=$(printf '%s' "$OUT" | jq -r '.ips[0].address' | sed 's|/.*||')
expect_ok "GC setup: ADD g3 (publishing 28090)" cni ADD "$(cid_of g3)" "/run/netns/pt-$ID-g3" <<<"$(pmconf 28090)"
G3=$(printf '%s' "$OUT" | jq -r '.ips[0].address' | sed 's|/.*||')
G3IF=$(printf '%s' "$OUT" | jq -r '.interfaces[] | select(has("sandbox") | not) | .name' | head -1)
OTHERCONF=$(printf '%s' "$NETCONF" | jq -c '.name = "other"')
expect_ok "GC setup: ADD go on network \"other\"" cni ADD "$(cid_of go)" "/run/netns/pt-$ID-go" <<<"$OTHERCONF"
expect_ok "GC setup: run lab --label petrel.dev/cni-network=petrel" \
	ctl run --name lab --label petrel.dev/cni-network=petrel
ctl -o json inspect "$(wl_of "$(cid_of g1)")" >"$TMP/g1.json" 2>&1
# shellcheck disable=SC2016 # jq's own syntax
check "ADD labels the record petrel.dev/cni-network=petrel ($(jq -c '.metadata.labels // .labels' "$TMP/g1.json" 2>/dev/null))" \
	jq -e '(.metadata.labels // .labels)["petrel.dev/cni-network"] == "petrel"' "$TMP/g1.json"
check "GC setup: used +5 (g1 g2 g3 go lab)" test "$(ipam_used)" = $((USEDG + 5))
for g in g1 g2 go; do
	wl_rec "$g" >"$TMP/rec.$g.before"
	ifidx "$(wl_ifname "$(wl_of "$(cid_of "$g")")")" >"$TMP/if.$g.before"
done
wl_rec_lab() { "$DSCTL" "sqlite:$DB" dump 2>/dev/null | grep '/lab	'; }
wl_rec_lab >"$TMP/rec.lab.before"

# gc_err WHAT CODE-TEST CONFIG: GC fails, and nothing at all changes.
gc_err() {
	local rc
	pt_snapshot "$TMP/gc.before"
	cni GC - "" <<<"$3" >"$TMP/err.out" 2>"$TMP/err.err"
	rc=$?
	pt_san_said "$1" "$(cat "$TMP/err.err")"
	check "$1: exit 1 (got $rc)" test "$rc" = 1
	check "$1: error JSON, code $2 ($(pt_oneline <"$TMP/err.out"))" is_err_json "$2" "$TMP/err.out"
	pt_snapshot "$TMP/gc.after"
	same_files "$1: nothing changed (datastore with revisions, links, routes)" \
		"$TMP/gc.before" "$TMP/gc.after"
}
gc_err "GC with an attachment without ifname" '. == 7' \
	"$(gcconf "[{\"containerID\":\"$(cid_of g1)\"}]")"
check "GC with an attachment without ifname: the message names the field" \
	grep -q 'valid-attachments\[0\]\.ifname: required' "$TMP/err.out"
gc_err "GC with valid-attachments not a list" '. == 7' "$(gcconf '"all"')"
gc_err "GC without cni.dev/valid-attachments" '. == 7' \
	"$(printf '%s' "$NETCONF" | jq -c '.cniVersion = "1.1.0"')"
gc_err "GC with cniVersion 1.0.0" '. == 1' "$(gcconf "$(att g1 g2)" petrel 1.0.0)"
gc_err "GC with bad JSON" '. == 6' '{"cniVersion":"1.1.0","cni.dev/valid-attachments":['

expect_ok "GC listing g1 and g2" cni GC - "" <<<"$(gcconf "$(att g1 g2)")"
check "GC: empty stdout" test -z "$OUT"
check "GC: g3's record gone" test -z "$(wl_rec g3)"
check "GC: g3's host end $G3IF gone (felix's sweep; bounded wait)" wait_for 100 0.05 sh -c "! ip -n $NODE link show '$G3IF' >/dev/null 2>&1"
check "GC: g3 has no eth0 left" sh -c "! ip -n pt-$ID-g3 link show eth0 >/dev/null 2>&1"
check "GC: g3's route $G3/32 gone (bounded wait)" wait_for 50 0.1 no_node_route "$G3"
check "GC: g3's port reservation gone" test -z "$(hostport_keys)"
check "GC: g3's address released (used +4)" test "$(ipam_used)" = $((USEDG + 4))
check "GC: ipam check clean" ipam_clean
for g in g1 g2 go; do
	wl_rec "$g" >"$TMP/rec.$g.after"
	check "GC: $g's record was there" test -s "$TMP/rec.$g.before"
	same_files "GC: $g's record untouched (same revision)" "$TMP/rec.$g.before" "$TMP/rec.$g.after"
	check "GC: $g's host end untouched (same ifindex)" \
		test "$(ifidx "$(wl_ifname "$(wl_of "$(cid_of "$g")")")")" = "$(cat "$TMP/if.$g.before")"
done
wl_rec_lab >"$TMP/rec.lab.after"
check "GC: lab's record was there" test -s "$TMP/rec.lab.before"
same_files "GC: lab (petrelctl run, the same label) untouched" "$TMP/rec.lab.before" "$TMP/rec.lab.after"
check "GC: web untouched" sh -c "'$PETRELCTL' -c '$CONF' ls | grep -q '^web '"
check "GC: ping g1 -> g2 $G2" ip netns exec "pt-$ID-g1" ping -c 2 -i 0.2 -W 2 "$G2"
check "GC: ping g2 -> web $WEB" ip netns exec "pt-$ID-g2" ping -c 2 -i 0.2 -W 2 "$WEB"
check "GC: ping web -> g1 $G1" ctl exec web -- ping -c 2 -i 0.2 -W 2 "$G1"
pt_snapshot "$TMP/gc2.before"
expect_ok "GC again (nothing stale)" cni GC - "" <<<"$(gcconf "$(att g1 g2)")"
pt_snapshot "$TMP/gc2.after"
same_files "GC again: nothing changed" "$TMP/gc2.before" "$TMP/gc2.after"
expect_ok "DEL g3 after GC" cni DEL "$(cid_of g3)" "/run/netns/pt-$ID-g3" <<<"$NETCONF"
expect_ok "GC of network \"other\" with an empty list" cni GC - "" <<<"$(gcconf '[]' other)"
check "GC of \"other\": go gone, g1 g2 kept" \
	sh -c "[ -z \"\$('$DSCTL' 'sqlite:$DB' dump | grep '/$(wl_of "$(cid_of go)")	')\" ] && \
		'$PETRELCTL' -c '$CONF' ls | grep -q '^$(wl_of "$(cid_of g1)") ' && \
		'$PETRELCTL' -c '$CONF' ls | grep -q '^$(wl_of "$(cid_of g2)") '"
for g in g1 g2; do
	expect_ok "DEL $g" cni DEL "$(cid_of "$g")" "/run/netns/pt-$ID-$g" <<<"$NETCONF"
done
expect_ok "rm lab" ctl rm lab
check "GC section: used back to $USEDG" test "$(ipam_used)" = "$USEDG"
check "GC section: ipam check clean" ipam_clean

# --- petrel-ipam: directly, then under the reference ptp plugin ---
# ptp makes its host end and routes in the namespace it runs in: the node's
# (ip netns exec), never the machine's. petrel-ipam answers A/<pool prefix>
# with the node's gateway in the pool (G, held while one of its addresses
# is; cni/ipamgw.h): ptp puts G/32 on its host end and routes the pool and
# the default through it.
gw_record() { # the node's gateway record for pool p1 ("" when none)
	"$DSCTL" "sqlite:$DB" get /petrel/ipamgateways/node1/p1 2>/dev/null
}
if [ "$HAVE_IPAM" = 1 ]; then
	mkns pc1
	mkns pc2
	PTPCONF=$(printf '{"cniVersion":"1.0.0","name":"ptp-petrel","type":"ptp","ipam":{"type":"petrel-ipam","petrelConfig":"%s"}}' "$CONF")
	cni_env() { # CMD PLUGIN [TAG]: in the node namespace, PTPCONF on stdin
		local tag=${3:-pc1}
		ip netns exec "$NODE" env CNI_COMMAND="$1" CNI_CONTAINERID="$(cid_of "$tag")" \
			CNI_NETNS="/run/netns/pt-$ID-$tag" CNI_IFNAME=eth0 CNI_PATH="$CNI_BIN_PATH" \
			"$2" <<<"$PTPCONF"
	}
	USEDT=$(ipam_used)
	expect_ok "petrel-ipam: ADD (direct)" cni_env ADD "$PETREL_IPAM"
	printf '%s' "$OUT" >"$TMP/ipam.json"
	AI=$(jq -r '.ips[0].address' "$TMP/ipam.json" 2>/dev/null)
	GI=$(jq -r '.ips[0].gateway' "$TMP/ipam.json" 2>/dev/null)
	check "petrel-ipam: address $AI from the pool, with the pool's prefix /16" \
		sh -c "echo '$AI' | grep -Eq '^10\.65\.[0-9]+\.[0-9]+/16$'"
	check "petrel-ipam: gateway $GI in the pool, not the address" \
		sh -c "echo '$GI' | grep -Eq '^10\.65\.[0-9]+\.[0-9]+$' && [ '$GI' != '${AI%/*}' ]"
	# shellcheck disable=SC2016 # $g is a jq variable
	check "petrel-ipam: default route via $GI" \
		jq -e --arg g "$GI" '.routes == [{"dst":"0.0.0.0/0","gw":$g}]' "$TMP/ipam.json"
	check "petrel-ipam: ipam show used +2 (the address and the node's gateway)" \
		test "$(ipam_used)" = $((USEDT + 2))
	check "petrel-ipam: gateway record names $GI" \
		sh -c "'$DSCTL' 'sqlite:$DB' get /petrel/ipamgateways/node1/p1 | grep -q '\"$GI\"'"
	expect_ok "petrel-ipam: ADD again (same answer)" cni_env ADD "$PETREL_IPAM"
	check "petrel-ipam: ADD again: same address and gateway" \
		test "$(printf '%s' "$OUT" | jq -r '.ips[0].address + " " + .ips[0].gateway')" = "$AI $GI"
	expect_ok "petrel-ipam: DEL (direct)" cni_env DEL "$PETREL_IPAM"
	check "petrel-ipam: DEL released it and the gateway (used back to $USEDT)" test "$(ipam_used)" = "$USEDT"
	check "petrel-ipam: no gateway record left" test -z "$(gw_record)"
	expect_ok "petrel-ipam: DEL again" cni_env DEL "$PETREL_IPAM"
	check "petrel-ipam: ipam check clean" ipam_clean
fi
if [ "$HAVE_IPAM" = 1 ] && [ -x /usr/lib/cni/ptp ]; then
	PC1="pt-$ID-pc1"
	expect_ok "ptp + petrel-ipam: ADD pc1" cni_env ADD /usr/lib/cni/ptp pc1
	printf '%s' "$OUT" >"$TMP/ptp.json"
	AP=$(jq -r '.ips[0].address' "$TMP/ptp.json" 2>/dev/null | sed 's|/.*||')
	GP=$(jq -r '.ips[0].gateway' "$TMP/ptp.json" 2>/dev/null)
	check "ptp + petrel-ipam: address $AP from the pool 10.65.0.0/16" \
		sh -c "echo '$AP' | grep -Eq '^10\.65\.[0-9]+\.[0-9]+$'"
	check "ptp + petrel-ipam: pc1's eth0 has $AP/16" \
		sh -c "ip -n $PC1 -o -4 addr show dev eth0 | grep -q 'inet $AP/16'"
	ip -n "$PC1" -4 route show >"$TMP/pc1.routes" 2>&1
	check "ptp + petrel-ipam: pc1: default via $GP, $GP dev eth0, the pool via $GP ($(pt_oneline <"$TMP/pc1.routes"))" \
		sh -c "grep -q '^default via $GP dev eth0' '$TMP/pc1.routes' && grep -q '^$GP dev eth0 scope link' '$TMP/pc1.routes' && grep -q '^10.65.0.0/16 via $GP dev eth0' '$TMP/pc1.routes'"
	check "ptp + petrel-ipam: ping pc1 -> web $WEB" ip netns exec "$PC1" ping -c 2 -i 0.2 -W 2 "$WEB"
	check "ptp + petrel-ipam: ping web -> pc1 $AP" ctl exec web -- ping -c 2 -i 0.2 -W 2 "$AP"
	check "ptp + petrel-ipam: ping pc1 -> node $NODE_IP" ip netns exec "$PC1" ping -c 2 -i 0.2 -W 2 "$NODE_IP"
	expect_ok "ptp + petrel-ipam: ADD pc2" cni_env ADD /usr/lib/cni/ptp pc2
	check "ptp + petrel-ipam: pc2 shares the gateway $GP" \
		test "$(printf '%s' "$OUT" | jq -r '.ips[0].gateway')" = "$GP"
	A2=$(printf '%s' "$OUT" | jq -r '.ips[0].address' | sed 's|/.*||')
	check "ptp + petrel-ipam: ping pc1 -> pc2 $A2" ip netns exec "$PC1" ping -c 2 -i 0.2 -W 2 "$A2"
	check "ptp + petrel-ipam: ipam show used +3 (two and the gateway)" test "$(ipam_used)" = $((USEDT + 3))
	expect_ok "ptp + petrel-ipam: DEL pc1" cni_env DEL /usr/lib/cni/ptp pc1
	check "ptp + petrel-ipam: the gateway stays for pc2 (used +2)" test "$(ipam_used)" = $((USEDT + 2))
	check "ptp + petrel-ipam: pc2 still reaches web" ip netns exec "pt-$ID-pc2" ping -c 1 -W 2 "$WEB"
	expect_ok "ptp + petrel-ipam: DEL pc2" cni_env DEL /usr/lib/cni/ptp pc2
	check "ptp + petrel-ipam: DEL released both and the gateway (used back to $USEDT)" test "$(ipam_used)" = "$USEDT"
	check "ptp + petrel-ipam: no gateway record left" test -z "$(gw_record)"
	check "ptp + petrel-ipam: ipam check clean" ipam_clean
elif [ "$HAVE_IPAM" = 1 ]; then
	skip "petrel-ipam with ptp" "/usr/lib/cni/ptp is not installed"
else
	skip "petrel-ipam with ptp" "build/petrel-ipam not built"
fi

# --- an exhausted pool: only a /30 (4 addresses) left ---
expect_ok "rm web" ctl rm web
expect_ok "pool rm p1 (empty now)" ctl pool rm p1
expect_ok "pool create tiny 10.66.0.0/30" ctl pool create tiny --cidr 10.66.0.0/30 --block-size 30
for i in 1 2 3 4; do
	mkns "x$i"
	expect_ok "tiny pool: ADD x$i" cni ADD "$(cid_of "x$i")" "/run/netns/pt-$ID-x$i" <<<"$NETCONF"
done
check "tiny pool: full (ipam show used 4)" test "$(ipam_used)" = 4
mkns x5
C2="pt-$ID-x5"
add_err "ADD with the pool exhausted" '. >= 100 or . == 11' "$(cid_of x5)" "/run/netns/$C2" "$NETCONF"
expect_ok "DEL after the exhausted ADD" cni DEL "$(cid_of x5)" "/run/netns/$C2" <<<"$NETCONF"
for i in 1 2 3 4; do
	cni DEL "$(cid_of "x$i")" "/run/netns/pt-$ID-x$i" <<<"$NETCONF" >/dev/null 2>"$TMP/x.err" ||
		fail "tiny pool: DEL x$i" "$(pt_oneline <"$TMP/x.err")"
done
check "tiny pool: empty again (used 0)" test "$(ipam_used)" = 0
check "tiny pool: ipam check clean" ipam_clean
check "no ptl interface left (bounded wait)" wait_for 100 0.05 sh -c "[ -z \"\$(ip -n $NODE -o link show | grep ': ptl')\" ]"
check "no petrel route left (bounded wait)" wait_for 50 0.1 sh -c "[ -z \"\$(ip -n $NODE route show table all proto 87 | grep -v blackhole)\" ]"

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
