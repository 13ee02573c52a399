#!/usr/bin/env bash
#
# BGP operations on one node behind a real top-of-rack router (FRR, eBGP):
# what an operator does to a running node must not disturb its session.
#
#   - a change that only adds a block reloads BIRD, the session stays up
#     (BIRD's "since" and FRR's established epoch unchanged);
#   - an unchanged config (felix's full resync on SIGHUP, a workload in a
#     block already advertised) reloads nothing and leaves bird.conf alone;
#   - petrelctl's BGP verbs: bgp peer add (password from a file, never
#     printed, bird.conf 0600) / ls / rm, bgp config set / show round trip;
#   - a bad BGPPeer (bad address, AS 0, the node's own address) is refused at
#     file:line:col, exit 1, with the running config untouched;
#   - BIRD killed (-9): the workloads' routes (proto 87) stay, node status
#     says "not running" (exit 0); BIRD restarted with the same command:
#     felix configures it again by itself, the ToR gets the blocks back.
#
#          +--------------- pt-<id>-tor (AS 65000) ----------------+
#          | FRR zebra + bgpd (contrib/frr/tor.conf, listen range) |
#          | t1 192.0.2.1/24                                       |
#          +----|--------------------------------------------------+
#               | veth
#          +----|--------------------------------------------------+
#          | up0 192.0.2.11/24, default via 192.0.2.1              |
#          | pt-<id>-n1 (node1, AS 64512): felix + BIRD            |
#          | ptl... -> pt-<id>-w1-a, -a2 (block 1), -b (block 2)   |
#          +-------------------------------------------------------+
#               one sqlite datastore, pool 10.65.0.0/16 (/26 blocks), mesh off
#
# 192.0.2.0/24 is TEST-NET-1 and every route points inside our namespaces:
# no packet leaves them (the extra peer 192.0.2.50 of the CLI checks is an
# address on the veth's subnet that nobody holds).
# shellcheck disable=SC2317  # functions run through check and wait_for
set -u
. "$(dirname "$0")/../lib.sh"
pt_init bgpo	# pt-bgpoXXXX-w1-: workloadNetnsPrefix is at most 16 characters

for b in bird birdc /usr/lib/frr/zebra /usr/lib/frr/bgpd vtysh; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "bgp-ops" "$b is not installed (needs bird2 and frr)"
		exit 0
	fi
done
if ! id frr >/dev/null 2>&1; then
	skip "bgp-ops" "no user frr (FRR's daemons drop to it)"
	exit 0
fi
pt_need_bins "$PETRELCTL" "$FELIX"

TOR="pt-$ID-tor"
N1="pt-$ID-n1"
TOR_IP=192.0.2.1 N1_IP=192.0.2.11
EXTRA_IP=192.0.2.50
FRR_DIR="$TMP/frr"
POOL=10.65.0.0/16
C1="$TMP/n1/petrel.yaml"
BCONF="$TMP/n1/bird.conf"
BSOCK="$TMP/n1/bird.ctl"
F1_LOG="$TMP/felix1.log"
BIRD_LOG="$TMP/bird1.out"
PROTO="Node_192_0_2_1"		# docs/bgp.md: protocols are named by address
EXTRA_PROTO="Node_192_0_2_50"
SECRET="pt-secret-$ID-x9"
ctl1() { "$PETRELCTL" -c "$C1" "$@"; }

# --- topology ---------------------------------------------------------------
for ns in "$TOR" "$N1"; do
	ip netns add "$ns" || { fail "setup" "ip netns add $ns"; exit 1; }
	ip -n "$ns" link set lo up
done
if ! { ip -n "$N1" link add up0 type veth peer name t1 netns "$TOR" &&
	ip -n "$N1" addr add "$N1_IP/24" dev up0 &&
	ip -n "$N1" link set up0 up &&
	ip -n "$TOR" addr add "$TOR_IP/24" dev t1 &&
	ip -n "$TOR" link set t1 up &&
	ip -n "$N1" route add default via "$TOR_IP"; }; then
	fail "setup" "veth"
	exit 1
fi
check "veth n1 <-> tor" ip netns exec "$N1" ping -c 1 -W 2 "$TOR_IP"

# --- the ToR ----------------------------------------------------------------
sed '/^log syslog/d' "$PT_ROOT/contrib/frr/tor.conf" >"$TMP/tor.conf"
if ! frr_start "$TOR" "$FRR_DIR" "$TMP/tor.conf"; then
	fail "FRR starts in $TOR" "$(cat "$FRR_DIR"/*.out "$FRR_DIR"/*.log 2>/dev/null | tail -5 | pt_oneline)"
	exit 1
fi
pass "FRR (zebra + bgpd) runs in $TOR"

# --- the node ---------------------------------------------------------------
# logLevel debug: felix then says "bird config unchanged" (debug) each time
# it rendered the config and found nothing to do; the no-reload checks wait
# for that line, so that they do not pass merely because felix was slow.
mkdir -p "$TMP/n1/run"
cat >"$C1" <<EOF
node: node1
datastore: sqlite:$DB
runDir: $TMP/n1/run
netns: $N1
workloadNetnsPrefix: pt-$ID-w1-
logLevel: debug
bgp:
  address: $N1_IP
  asNumber: 64512
bird:
  config: $BCONF
  socket: $BSOCK
EOF
cat >"$TMP/bgp.yaml" <<EOF
apiVersion: petrel/v1
kind: BGPConfiguration
metadata: {name: default}
spec:
  asNumber: 64512
  nodeToNodeMesh: false
---
apiVersion: petrel/v1
kind: Node
metadata: {name: node1}
spec:
  bgp: {ipv4Address: $N1_IP, asNumber: 64512}
---
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: tor}
spec:
  node: node1
  peerIP: $TOR_IP
  asNumber: 65000
  keepaliveTime: 3
  holdTime: 9
EOF
expect_ok "pool create $POOL" ctl1 pool create p1 --cidr "$POOL" --block-size 26
expect_ok "apply BGPConfiguration (mesh off), Node, BGPPeer" ctl1 apply -f "$TMP/bgp.yaml"

bg "$FELIX" -c "$C1" >>"$F1_LOG" 2>&1
F1_PID=$BG_PID
FELIX_PID=$F1_PID
# shellcheck disable=SC2034  # lib.sh: cleanup shows this log on failure
FELIX_LOG=$F1_LOG
if ! wait_for 150 0.1 ctl1 status; then
	fail "felix answers status" "$(tail -n 3 "$F1_LOG" | pt_oneline)"
	exit 1
fi
pass "felix answers status"
expect_ok "run a on node1" ctl1 run --name a
A_IP=$OUT
if ! wait_for 100 0.1 test -s "$BCONF"; then
	fail "felix writes its BIRD config" "no $BCONF after 10 s: $(tail -n 3 "$F1_LOG" | pt_oneline)"
	exit 1
fi
pass "felix writes its BIRD config"

bird_start "$N1" "$BCONF" "$BSOCK" "$BIRD_LOG" && pass "BIRD starts (it answers on its socket)"

# --- helpers --------------------------------------------------------------------
# FRR's view of the session, from `show bgp summary json` (one line):
# the field KEY of peer N1_IP's object.
frr_peer_field() { # KEY
	frr_bgp_summary "$FRR_DIR" | sed -n "s/.*\"$N1_IP\":{[^}]*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}
# bgpd's log (frr defaults datacenter: log-neighbor-changes) says "Up" once
# per established session: the count does not depend on clocks (FRR's
# established epoch is computed at each query from two clocks and moves
# by a second now and then).
frr_ups() { grep -c "ADJCHANGE: neighbor $N1_IP(.* Up\$" "$FRR_DIR/bgpd.log"; }
tor_up() { frr_established "$FRR_DIR" "$N1_IP"; }
tor_down() { ! tor_up; }
# BIRD's view, from node status -o json: the "since" and state of PROTO.
node_status_json() { ctl1 node status -o json 2>/dev/null | tr -d '\n' | sed 's/  */ /g'; }
bird_field() { # PROTO KEY (name address type state since info)
	node_status_json | sed -n "s/.*\"name\": \"$1\"[^}]*\"$2\": \"\([^\"]*\)\".*/\1/p"
}
bird_since() { bird_field "$1" since; }
# BIRD's protocol state is "up", its info the BGP state.
bird_established() { [ "$(bird_field "$1" info)" = Established ]; }
bird_protos() { birdc -s "$BSOCK" show protocols 2>&1; }
bird_has_proto() { bird_protos | grep -q "^$1 "; }
bird_lacks_proto() { bird_protos | grep -q '^BIRD ' && ! bird_protos | grep -q "^$1 "; }
# The BGP protocols' NAME PROTO TABLE STATE SINCE, for before/after compares.
bird_bgp_rows() { bird_protos | awk '$2 == "BGP" { print $1, $4, $5, $6 }'; }
reloads() { grep -c 'reloaded' "$F1_LOG"; }
unchanged_syncs() { grep -c 'bird config unchanged$' "$F1_LOG"; }
file_id() { stat -c '%i %y %s %a' "$1"; }
more_than() { # N CMD...: CMD's number is above N
	local n=$1
	shift
	[ "$("$@")" -gt "$n" ]
}
blocks_of_node1() {
	ctl1 ipam show --show-blocks 2>/dev/null |
		awk '$1 ~ /^[0-9.]+\/[0-9]+$/ && $3 == "node1" { print $1 }' | sort -u
}
tor_has_want() {
	frr_prefixes "$FRR_DIR" >"$TMP/tor.prefixes" || return 1
	cmp -s "$TMP/want.prefixes" "$TMP/tor.prefixes"
}

# --- the session ------------------------------------------------------------
if wait_for 300 0.1 tor_up; then
	pass "ToR: session to $N1_IP Established"
else
	fail "ToR: session to $N1_IP Established" "state '$(frr_peer_field state)' after 30 s; BIRD: $(bird_protos | pt_oneline)"
	exit 1
fi
check "node status: BIRD's $PROTO is Established" wait_for 50 0.1 bird_established "$PROTO"
blocks_of_node1 >"$TMP/want.prefixes"
check "node1 holds one block ($(pt_oneline <"$TMP/want.prefixes"))" \
	test "$(grep -c /26 "$TMP/want.prefixes")" = 1
B1=$(head -n1 "$TMP/want.prefixes")
check "ToR learned node1's block $B1" wait_for 100 0.1 tor_has_want
SINCE0=$(bird_since "$PROTO")
UPS0=$(frr_ups)
CONN0=$(frr_peer_field connectionsEstablished)
check "the session's since ('$SINCE0'), FRR's connection count ('$CONN0') and 'Up' log lines ($UPS0) are known" \
	sh -c "[ -n '$SINCE0' ] && [ -n '$CONN0' ] && [ '$UPS0' = 1 ]"

# --- (4) an unchanged config reloads nothing ------------------------------------
# Felix has settled when its last sync found nothing to do: then a SIGHUP
# (full resync: the store listed again, the kernel dumped) renders the same
# config; a workload in block B1, already advertised, changes no line either.
R0=$(reloads)
ID0=$(file_id "$BCONF")
U0=$(unchanged_syncs)
kill -HUP "$F1_PID"
check "felix logs the SIGHUP resync" wait_for 50 0.1 grep -q 'SIGHUP: full resync' "$F1_LOG"
check "felix rendered BIRD's config again after SIGHUP (debug: 'bird config unchanged')" \
	wait_for 100 0.1 more_than "$U0" unchanged_syncs
check "SIGHUP: no reload (no new 'reloaded' line: $R0 before, $(reloads) now)" test "$(reloads)" = "$R0"
check "SIGHUP: bird.conf not rewritten (inode, mtime, size, mode)" test "$(file_id "$BCONF")" = "$ID0"

U0=$(unchanged_syncs)
expect_ok "run a2 (in block $B1, already advertised)" ctl1 run --name a2
A2_IP=$OUT
check "a2's address $A2_IP is in $B1 (same /26 as a, $A_IP)" \
	test "${A2_IP%.*}.$((${A2_IP##*.} / 64 * 64))/26" = "$B1"
check "felix rendered BIRD's config again after a2 (debug: 'bird config unchanged')" \
	wait_for 100 0.1 more_than "$U0" unchanged_syncs
check "a2: no reload (no new 'reloaded' line)" test "$(reloads)" = "$R0"
check "a2: bird.conf not rewritten (inode, mtime, size, mode)" test "$(file_id "$BCONF")" = "$ID0"

# --- (4) a new block: BIRD reloads, the session stays ---------------------------
# b's address is in another /26 of the pool: node1 claims that block.
B2_IP=10.65.1.10
expect_ok "run b --ip $B2_IP (another block of the pool)" ctl1 run --name b --ip "$B2_IP"
blocks_of_node1 >"$TMP/want.prefixes"
check "node1 holds two blocks now ($(pt_oneline <"$TMP/want.prefixes"))" \
	test "$(grep -c /26 "$TMP/want.prefixes")" = 2
check "felix wrote the new config and reloaded BIRD" \
	wait_for 100 0.1 more_than "$R0" reloads
check "the new config has the block 10.65.1.0/26 (blackhole)" \
	grep -q '10\.65\.1\.0/26 blackhole' "$BCONF"
if wait_for 100 0.1 tor_has_want; then
	pass "ToR learned the new block: $(pt_oneline <"$TMP/tor.prefixes")"
else
	fail "ToR learned the new block" "want $(pt_oneline <"$TMP/want.prefixes"), has $(pt_oneline <"$TMP/tor.prefixes")"
fi
check "BIRD: $PROTO's since unchanged ('$SINCE0' -> '$(bird_since "$PROTO")')" \
	test "$(bird_since "$PROTO")" = "$SINCE0"
check "BIRD: $PROTO still Established" bird_established "$PROTO"
check "ToR: session still Established" tor_up
check "ToR: bgpd logged no new 'Up' for the session ($UPS0 -> $(frr_ups))" test "$(frr_ups)" = "$UPS0"
check "ToR: no new connection (connectionsEstablished $CONN0 -> $(frr_peer_field connectionsEstablished))" \
	test "$(frr_peer_field connectionsEstablished)" = "$CONN0"
# (the pattern's positive control: it counts the Down bgpd logs when the
# session is taken down below)
frr_downs() { grep -ci 'ADJCHANGE.*down' "$FRR_DIR/bgpd.log"; }
check "ToR: bgpd logged no session going down ($(frr_downs) Down lines)" test "$(frr_downs)" = 0

# --- petrelctl's BGP verbs --------------------------------------------------------
MODE0=$(stat -c %a "$BCONF")
printf '%s\n' "$SECRET" >"$TMP/pw"
chmod 0600 "$TMP/pw"
expect_ok "bgp peer add extra --password-file (peer $EXTRA_IP)" \
	ctl1 bgp peer add extra --peer-ip "$EXTRA_IP" --as 65010 --node node1 --password-file "$TMP/pw"
check "the password is not in bgp peer add's output" sh -c "! grep -qF -- '$SECRET' '$TMP/cmd.out' '$TMP/cmd.err'"
expect_err "bgp peer add extra again: exists, exit 1" 'exist' \
	ctl1 bgp peer add extra --peer-ip 192.0.2.51 --as 65010 --node node1
expect_ok "bgp peer ls" ctl1 bgp peer ls
check "bgp peer ls shows extra ($EXTRA_IP, AS 65010)" \
	sh -c "grep -Eq '^extra +$EXTRA_IP +65010 ' '$TMP/cmd.out' && grep -Eq '^tor +$TOR_IP +65000 ' '$TMP/cmd.out'"
expect_ok "get bgppeer extra -o yaml" ctl1 get bgppeer extra -o yaml
check "get -o yaml: password shown as \"***\"" grep -Eq "password: ['\"]\\*\\*\\*['\"]" "$TMP/cmd.out"
check "get -o yaml: the secret is absent" sh -c "! grep -qF -- '$SECRET' '$TMP/cmd.out' '$TMP/cmd.err'"
expect_ok "get bgppeer -o json" ctl1 get bgppeer -o json
check "get -o json: the secret is absent" sh -c "! grep -qF -- '$SECRET' '$TMP/cmd.out' '$TMP/cmd.err'"
expect_ok "get bgppeer -o wide" ctl1 get bgppeer -o wide
check "get -o wide: the secret is absent" sh -c "! grep -qF -- '$SECRET' '$TMP/cmd.out' '$TMP/cmd.err'"
check "felix wrote the peer into bird.conf (protocol $EXTRA_PROTO)" \
	wait_for 100 0.1 grep -q "^protocol bgp $EXTRA_PROTO" "$BCONF"
check "bird.conf holds the peer's password now" grep -qF -- "$SECRET" "$BCONF"
check "bird.conf holds a password now, so it is mode 0600 (was $MODE0, now $(stat -c %a "$BCONF"))" \
	test "$(stat -c %a "$BCONF")" = 600
check "BIRD runs $EXTRA_PROTO (bounded wait)" wait_for 100 0.1 bird_has_proto "$EXTRA_PROTO"
check "felix's log does not hold the secret" sh -c "! grep -qF -- '$SECRET' '$F1_LOG'"
check "adding a peer left the ToR session alone (since '$(bird_since "$PROTO")')" \
	test "$(bird_since "$PROTO")" = "$SINCE0"
expect_ok "bgp peer rm extra" ctl1 bgp peer rm extra
expect_ok "bgp peer ls after rm" ctl1 bgp peer ls
check "bgp peer ls: extra gone, tor still there" \
	sh -c "! grep -q '^extra ' '$TMP/cmd.out' && grep -q '^tor ' '$TMP/cmd.out'"
expect_err "bgp peer rm extra again: exit 1" 'no bgppeer extra|not found|does not exist' ctl1 bgp peer rm extra
check "BIRD no longer runs $EXTRA_PROTO (bounded wait)" wait_for 100 0.1 bird_lacks_proto "$EXTRA_PROTO"
check "bird.conf no longer has $EXTRA_PROTO" sh -c "! grep -q '$EXTRA_PROTO' '$BCONF'"
check "bird.conf no longer has the secret" sh -c "! grep -qF -- '$SECRET' '$BCONF'"

# bgp config: the node has its own AS (config and Node), so the cluster
# default's AS does not touch its session.
expect_ok "bgp config" ctl1 bgp config
check "bgp config shows default 64512, mesh off" grep -Eq '^default +64512 +off ' "$TMP/cmd.out"
R0=$(reloads)
expect_ok "bgp config set --as 64600 --communities 65000:100" ctl1 bgp config set --as 64600 --communities 65000:100
check "bgp config set says configured" grep -q 'bgpconfiguration/default configured' "$TMP/cmd.out"
expect_ok "bgp config (after set)" ctl1 bgp config
check "bgp config shows 64600, mesh still off, community 65000:100" grep -Eq '^default +64600 +off +65000:100 ' "$TMP/cmd.out"
expect_ok "get bgpconfiguration default -o json" ctl1 get bgpconfiguration default -o json
check "get -o json: asNumber 64600, nodeToNodeMesh false, communities [65000:100]" \
	sh -c "tr -d ' \n' <'$TMP/cmd.out' | grep -q '\"asNumber\":64600' &&
		tr -d ' \n' <'$TMP/cmd.out' | grep -q '\"nodeToNodeMesh\":false' &&
		tr -d ' \n' <'$TMP/cmd.out' | grep -q '\"communities\":\[\"65000:100\"\]'"
check "felix reloaded BIRD with the community" wait_for 100 0.1 more_than "$R0" reloads
tor_has_community() {
	vtysh_in "$FRR_DIR" "show bgp ipv4 unicast $B1 json" 2>/dev/null | tr -d ' \n' |
		grep -q '"community":{"string":"65000:100"'
}
check "ToR: $B1 carries community 65000:100 (bounded wait)" wait_for 100 0.1 tor_has_community
check "the session stayed up through the change (since '$(bird_since "$PROTO")', bgpd's 'Up' lines $(frr_ups))" \
	sh -c "[ '$(bird_since "$PROTO")' = '$SINCE0' ] && [ '$(frr_ups)' = '$UPS0' ]"
expect_ok "bgp config set --as 64600 again" ctl1 bgp config set --as 64600
check "bgp config set of the same value says unchanged" grep -q 'bgpconfiguration/default unchanged' "$TMP/cmd.out"
expect_ok "bgp config set --as 64512 --communities '' (back)" ctl1 bgp config set --as 64512 --communities ""
expect_ok "bgp config (back)" ctl1 bgp config
check "bgp config shows 64512, no community again" grep -Eq '^default +64512 +off +- ' "$TMP/cmd.out"
tor_lacks_community() { vtysh_in "$FRR_DIR" "show bgp ipv4 unicast $B1 json" 2>/dev/null | grep -q '"paths"' && ! tor_has_community; }
check "ToR: $B1 without the community again (bounded wait)" wait_for 100 0.1 tor_lacks_community
expect_err "bgp config set --as 0: refused" 'AS number 1\.\.4294967295|range' ctl1 bgp config set --as 0
check "ToR: session still Established after the CLI changes" tor_up
check "...and never restarted (since '$(bird_since "$PROTO")', bgpd's 'Up' lines $(frr_ups))" \
	sh -c "[ '$(bird_since "$PROTO")' = '$SINCE0' ] && [ '$(frr_ups)' = '$UPS0' ]"

# --- (6) bad peers: refused, nothing changes --------------------------------------
# Let felix finish with the CLI changes first (bird.conf stable across one
# debug sync), then snapshot.
U0=$(unchanged_syncs)
kill -HUP "$F1_PID"
check "felix settled after the CLI changes" wait_for 100 0.1 more_than "$U0" unchanged_syncs
cp "$BCONF" "$TMP/bird.conf.before"
bird_bgp_rows >"$TMP/protos.before"
ctl1 get bgppeer -o yaml >"$TMP/peers.before" 2>&1
bad_peer() { # FILE PEERIP ASN
	cat >"$1" <<EOF
apiVersion: petrel/v1
kind: BGPPeer
metadata: {name: bad}
spec:
  node: node1
  peerIP: $2
  asNumber: $3
EOF
}
# expect_rc1 WHAT REGEX FILE: apply -f FILE exits exactly 1 and says REGEX.
expect_rc1() {
	local rc
	if expect_err "$1" "$2" ctl1 apply -f "$3"; then
		ctl1 apply -f "$3" >/dev/null 2>&1
		rc=$?
		check "$1: exit status 1 (got $rc)" test "$rc" = 1
	fi
}
bad_peer "$TMP/bad-addr.yaml" 192.0.2.300 65000
expect_rc1 "apply peerIP 192.0.2.300: refused at file:6:col" \
	"bad-addr\\.yaml:6:[0-9]+: spec\\.peerIP: .*invalid.*192\\.0\\.2\\.300" "$TMP/bad-addr.yaml"
bad_peer "$TMP/bad-as.yaml" 192.0.2.60 0
expect_rc1 "apply asNumber 0: refused at file:7:col" \
	"bad-as\\.yaml:7:[0-9]+: spec\\.asNumber: .*range" "$TMP/bad-as.yaml"
bad_peer "$TMP/bad-own.yaml" "$N1_IP" 65000
expect_rc1 "apply peerIP = the node's own address: refused at file:6:col" \
	"bad-own\\.yaml:6:[0-9]+: spec\\.peerIP: .*own" "$TMP/bad-own.yaml"
# A good document beside a bad one: nothing of the stream is written.
{ printf 'apiVersion: petrel/v1\nkind: BGPPeer\nmetadata: {name: good}\nspec: {node: node1, peerIP: 192.0.2.61, asNumber: 65011}\n---\n'
	cat "$TMP/bad-as.yaml"; } >"$TMP/bad-mixed.yaml"
expect_rc1 "apply a good peer with a bad one: refused" "bad-mixed\\.yaml:12:[0-9]+: spec\\.asNumber" "$TMP/bad-mixed.yaml"
ctl1 get bgppeer -o yaml >"$TMP/peers.after" 2>&1
same_files "the datastore's BGPPeers unchanged (no 'bad', no 'good')" "$TMP/peers.before" "$TMP/peers.after"
# Had felix been handed anything, it would sync within its debounce (1 s):
# a SIGHUP sync is the marker that it has looked at the store since.
U0=$(unchanged_syncs)
kill -HUP "$F1_PID"
check "felix synced after the refused applies" wait_for 100 0.1 more_than "$U0" unchanged_syncs
same_files "bird.conf byte for byte unchanged" "$TMP/bird.conf.before" "$BCONF"
bird_bgp_rows >"$TMP/protos.after"
same_files "BIRD's BGP protocols unchanged (name, state, since)" "$TMP/protos.before" "$TMP/protos.after"

# --- (5) BIRD killed and restarted ------------------------------------------------
node_petrel_routes_n1() { ip -n "$N1" -4 route show table all proto 87 2>/dev/null; }
node_petrel_routes_n1 >"$TMP/routes87.before"
check "the node has petrel routes (proto 87) for a, a2, b" \
	sh -c "grep -q '^$A_IP ' '$TMP/routes87.before' && grep -q '^$A2_IP ' '$TMP/routes87.before' &&
		grep -q '^$B2_IP ' '$TMP/routes87.before'"
R0=$(reloads)
RS0=$(grep -c 'BIRD restarted' "$F1_LOG")
# (stderr muted: bash reports a child killed by a signal there)
kill_bird() { kill -KILL "$BIRD_PID" && reap "$BIRD_PID"; } 2>/dev/null
kill_bird
check "BIRD killed (-9)" test "$REAP_RC" != hung
rm -f "$BSOCK"	# a killed BIRD leaves its socket file
check "ToR: the session left Established" wait_for 150 0.1 tor_down
check "ToR: bgpd's log says Down (the 'no session going down' check's pattern matches it)" \
	wait_for 50 0.1 sh -c "[ \$(grep -ci 'ADJCHANGE.*down' '$FRR_DIR/bgpd.log') -gt 0 ]"
# Felix probes every 5 s: wait for its status to say BIRD is gone (its
# "bgp" object), then look at the node's routes.
felix_sees_bird_down() {
	ctl1 -o json status 2>/dev/null | tr -d ' \n' | grep -q '"birdRunning":false'
}
check "felix's status: birdRunning false (its probe, every 5 s)" wait_for 80 0.1 felix_sees_bird_down
expect_ok "node status with BIRD down: exit 0" ctl1 node status
check "node status says BIRD is not running" grep -q '^BIRD: not running' "$TMP/cmd.out"
check "node status says felix is running" grep -q '^felix: running' "$TMP/cmd.out"
expect_ok "node status -o json with BIRD down: exit 0" ctl1 node status -o json
check "node status -o json: bird running false" sh -c "tr -d ' \n' <'$TMP/cmd.out' | grep -q '\"bird\":{\"running\":false'"
node_petrel_routes_n1 >"$TMP/routes87.down"
same_files "BIRD down: the node's proto 87 routes unchanged" "$TMP/routes87.before" "$TMP/routes87.down"
check "BIRD down: a still reaches a2 (felix's routes at work)" ctl1 exec a -- ping -c 1 -W 2 "$A2_IP"

bird_start "$N1" "$BCONF" "$BSOCK" "$BIRD_LOG" && pass "BIRD restarted with the same command (it answers on its socket)"
felix_reconfigured() {
	[ "$(grep -c 'BIRD restarted' "$F1_LOG")" -gt "$RS0" ] || [ "$(reloads)" -gt "$R0" ]
}
if wait_for 150 0.1 felix_reconfigured; then
	pass "felix noticed the new BIRD: $(grep -E 'BIRD restarted|reloaded' "$F1_LOG" | tail -n1 | cut -c1-140)"
else
	fail "felix noticed the new BIRD" "no 'BIRD restarted' nor new 'reloaded' in 15 s: $(tail -n 3 "$F1_LOG" | pt_oneline)"
fi
if wait_for 300 0.1 tor_up; then
	pass "ToR: session Established again"
else
	fail "ToR: session Established again" "state '$(frr_peer_field state)' after 30 s; BIRD: $(bird_protos | pt_oneline)"
fi
check "ToR: a new session (bgpd logged a second 'Up', bounded wait)" wait_for 50 0.1 more_than "$UPS0" frr_ups
# pfxRcd counts what the new session delivered (stale routes a graceful
# restart kept would not satisfy it before End-of-RIB).
check "ToR: the new session delivered node1's 2 blocks (pfxRcd)" \
	wait_for 100 0.1 sh -c "[ \"\$(vtysh --vty_socket '$FRR_DIR' -c 'show bgp ipv4 unicast summary json' | tr -d ' \n' |
		sed -n 's/.*\"$N1_IP\":{[^}]*\"pfxRcd\":\([0-9]*\).*/\1/p')\" = 2 ]"
if wait_for 100 0.1 tor_has_want; then
	pass "ToR has node1's blocks again: $(pt_oneline <"$TMP/tor.prefixes")"
else
	fail "ToR has node1's blocks again" "want $(pt_oneline <"$TMP/want.prefixes"), has $(pt_oneline <"$TMP/tor.prefixes")"
fi
check "ToR: no route marked stale" sh -c "! vtysh --vty_socket '$FRR_DIR' -c 'show bgp ipv4 unicast json' | grep -q '\"stale\":true'"
check "node status: $PROTO Established again" wait_for 50 0.1 bird_established "$PROTO"
node_petrel_routes_n1 >"$TMP/routes87.after"
same_files "BIRD back: the node's proto 87 routes unchanged" "$TMP/routes87.before" "$TMP/routes87.after"

# --- the end --------------------------------------------------------------------
for w in b a2 a; do
	expect_ok "rm $w" ctl1 rm "$w"
done
tor_empty() { frr_prefixes "$FRR_DIR" >"$TMP/tor.prefixes" && [ ! -s "$TMP/tor.prefixes" ]; }
check "ToR: table empty once the workloads are gone (bounded wait)" wait_for 100 0.1 tor_empty
felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
check "felix's log never held the secret" sh -c "! grep -qF -- '$SECRET' '$F1_LOG'"
pt_end
