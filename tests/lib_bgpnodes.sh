# shellcheck shell=bash
#
# tests/lib_bgpnodes.sh: several petrel nodes (felix + BIRD each) on one
# shared layer-2 segment, for the BGP mesh and route-reflector tests.
# Sourced after tests/lib.sh and pt_init, never run.
#
#   bn_fabric N             namespaces pt-<id>-fab (bridge br0) and
#                           pt-<id>-n1..nN, node i at 192.0.2.1i/24 on up0
#   bn_conf I               node i's petrel.yaml (AS $BN_ASN) in $TMP/nI/
#   bn_ctl I VERB ARGS...   petrelctl -c <node i's config> VERB ARGS...
#   bn_felix_start I        felix of node i (log $TMP/felixI.log)
#   bn_bird_start I         waits (bounded) for node i's BIRD config, then
#                           starts BIRD in its namespace (log $TMP/birdI.out)
#                           and waits until it answers on its socket (else 1)
#   bn_status I             `node status -o json` of node i, on one line
#   bn_peers I              its BGP peers: "ADDRESS TYPE STATE INFO" per line
#   bn_sessions_up I ADDR.. true when node i has exactly these peers, each
#                           Established
#   bn_wait SECS CMD...     CMD until it succeeds, at most SECS seconds
#   bn_blocks NODE          the blocks IPAM gives NODE (a /26 per line)
#   bn_bird_route I BLOCK VIA   node i's kernel routes BLOCK via VIA, proto bird
#   bn_no_route I BLOCK     node i's kernel has no route to BLOCK at all
#
# Topology (192.0.2.0/24 is TEST-NET-1: nothing leaves our namespaces):
#
#   +---------------------- pt-<id>-fab ----------------------+
#   |                        br0 (bridge)                     |
#   |        f1                  f2                  f3       |
#   +--------|-------------------|-------------------|--------+
#            | veth              | veth              | veth
#   +--------|-------+  +--------|-------+  +--------|-------+
#   | up0 .11        |  | up0 .12        |  | up0 .13        |
#   | pt-<id>-n1     |  | pt-<id>-n2     |  | pt-<id>-n3     |
#   | felix + BIRD   |  | felix + BIRD   |  | felix + BIRD   |
#   +----------------+  +----------------+  +----------------+
#
# Invariant: node i's namespace, config, logs, BIRD socket all follow from i
# alone, so every helper takes just the node's number.

BN_ASN=${BN_ASN:-64512}
FAB="pt-$ID-fab"

bn_ns() { echo "pt-$ID-n$1"; }
bn_ip() { echo "192.0.2.1$1"; }
bn_cf() { echo "$TMP/n$1/petrel.yaml"; }

bn_link() { # I: node i's up0, its other end f<i> on the bridge
	local ns
	ns=$(bn_ns "$1")
	ip -n "$ns" link add up0 type veth peer name "f$1" netns "$FAB" &&
		ip -n "$ns" addr add "$(bn_ip "$1")/24" dev up0 &&
		ip -n "$ns" link set up0 up &&
		ip -n "$FAB" link set "f$1" master br0 &&
		ip -n "$FAB" link set "f$1" up
}

bn_fabric() {
	local n=$1 i ns
	ip netns add "$FAB" || { fail "setup" "ip netns add $FAB"; exit 1; }
	ip -n "$FAB" link set lo up
	if ! ip -n "$FAB" link add br0 type bridge || ! ip -n "$FAB" link set br0 up; then
		fail "setup" "bridge in $FAB"
		exit 1
	fi
	for ((i = 1; i <= n; i++)); do
		ns=$(bn_ns "$i")
		ip netns add "$ns" || { fail "setup" "ip netns add $ns"; exit 1; }
		ip -n "$ns" link set lo up
		if ! bn_link "$i"; then
			fail "setup" "veth of node$i"
			exit 1
		fi
	done
}

bn_conf() {
	local i=$1
	mkdir -p "$TMP/n$i/run"
	cat >"$(bn_cf "$i")" <<EOF
node: node$i
datastore: sqlite:$DB
runDir: $TMP/n$i/run
netns: $(bn_ns "$i")
workloadNetnsPrefix: pt-$ID-w$i-
bgp:
  address: $(bn_ip "$i")
  asNumber: $BN_ASN
bird:
  config: $TMP/n$i/bird.conf
  socket: $TMP/n$i/bird.ctl
EOF
}

bn_ctl() {
	local i=$1
	shift
	"$PETRELCTL" -c "$(bn_cf "$i")" "$@"
}

bn_felix_start() {
	bg "$FELIX" -c "$(bn_cf "$1")" >>"$TMP/felix$1.log" 2>&1
	printf -v "BN_FELIX$1" '%s' "$BG_PID"
}

bn_bird_start() {
	local i=$1
	if ! wait_for 100 0.1 test -s "$TMP/n$i/bird.conf"; then
		fail "felix of node$i writes its BIRD config" \
			"no $TMP/n$i/bird.conf after 10 s: $(tail -n 3 "$TMP/felix$i.log" | pt_oneline)"
		return 1
	fi
	bird_start "$(bn_ns "$i")" "$TMP/n$i/bird.conf" "$TMP/n$i/bird.ctl" "$TMP/bird$i.out" || return 1
	printf -v "BN_BIRD$i" '%s' "$BIRD_PID"
}

bn_status() {
	bn_ctl "$1" -o json node status 2>/dev/null | jq -c .
}

bn_peers() {
	bn_status "$1" | jq -r '.peers[] | "\(.address) \(.type) \(.state) \(.info)"' | sort
}

# The session's own state is BIRD's "info" column ("Established"); the
# protocol state ("up") alone would not tell Established from a session
# that BIRD has started but not yet opened.
bn_sessions_up() {
	local i=$1 st got want
	shift
	st=$(bn_status "$i") || return 1
	got=$(printf '%s' "$st" | jq -r '.peers[] | select(.info == "Established") | .address' | sort)
	want=$(printf '%s\n' "$@" | sort)
	[ "$(printf '%s' "$st" | jq '.peers | length')" = $# ] && [ "$got" = "$want" ]
}

# bn_wait SECS CMD...: runs CMD every 0.1 s until it succeeds or SECS have
# passed (wait_for counts tries, and a try of petrelctl + jq is not free: a
# failing run would take far longer than its nominal bound).
bn_wait() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
}

# Columns of `ipam show --show-blocks`: BLOCK POOL AFFINITY USED/SIZE.
bn_blocks() {
	bn_ctl 1 ipam show --show-blocks 2>/dev/null |
		awk -v n="$1" '$1 ~ /^[0-9.]+\/[0-9]+$/ && $3 == n { print $1 }' | sort -u
}

bn_bird_route() {
	ip -n "$(bn_ns "$1")" route show "$2" proto bird 2>/dev/null | grep -q "via $3 "
}

bn_no_route() {
	[ -z "$(ip -n "$(bn_ns "$1")" route show "$2" 2>/dev/null)" ]
}

# For failure details: BIRD's BGP protocols of node i, on one line.
bn_bird_protocols() {
	birdc -s "$TMP/n$1/bird.ctl" show protocols 2>&1 | grep -E '^(Node|Global|Mesh|RR)_' | pt_oneline
}
