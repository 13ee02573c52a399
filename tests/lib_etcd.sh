# shellcheck shell=bash
#
# tests/lib_etcd.sh: an etcd v3 cluster of the test's own, each member in a
# namespace of its own. Sourced after tests/lib.sh and pt_init, never run.
#
#   etcd_cluster_start N    N members (1..9), static initial cluster; returns
#                           once every member answers and the cluster has a
#                           leader (bounded: 30 s), else a FAIL and 1.
#                           Sets ETCD_ENDPOINTS (http[s]://IP:2379,...) and
#                           ETCD_N. ETCD_TLS=1 before it: https for clients
#                           and peers, certificates from etcd_tls_make.
#   etcd_attach NS          a veth from namespace NS to the etcd LAN (et0,
#                           198.18.0.1xx/24): NS reaches ETCD_ENDPOINTS
#   etcd_cluster_stop       every member killed, their namespaces, the LAN
#                           and the data gone (etcd_attach-ed links too): a
#                           new etcd_cluster_start may follow
#   etcd_member_stop I [SIG]   stops member I (default TERM; KILL for a crash)
#                           and reaps it
#   etcd_member_start I     starts member I again on its data dir; returns
#                           once it answers (bounded: 20 s)
#   etcd_member_freeze I / etcd_member_thaw I
#                           SIGSTOP / SIGCONT: its sockets stay open and
#                           accept, nothing answers (a member that times out)
#   etcd_leader_index       the leader's member index (1..N), "" when none
#   etcd_member_ip I / etcd_member_url I
#   etcdctl_pt ARGS...      etcdctl (API 3) on ETCD_ENDPOINTS, run in the
#                           LAN's namespace (TLS flags added when ETCD_TLS=1)
#   etcd_exec CMD...        CMD in the LAN's namespace (reaches every member)
#   etcd_tls_make DIR       a throwaway CA (ca.pem), a server certificate for
#                           every member address (server.pem, server-key.pem)
#                           and a client certificate (client.pem,
#                           client-key.pem), with openssl; 1 when it fails
#
# Topology (198.18.0.0/15 is reserved for benchmarking, RFC 2544: never
# routed; every address lives inside our namespaces):
#
#   +---------------------------- pt-<id>-etcd ----------------------------+
#   |  ebr0 (bridge) 198.18.0.1/24: etcdctl_pt, etcd_exec                  |
#   |     m1        m2        m3     ...     a1          a2                 |
#   +-----|---------|---------|---------------|-----------|----------------+
#         | veth    |         |               | veth      |  (etcd_attach)
#   +-----|-----+ +-|-------+ +-|-------+   +-|--------+ +-|--------+
#   | et0 .11   | | et0 .12 | | et0 .13 |   | et0 .101 | | et0 .102 |
#   | pt-<id>-e1| | ...-e2  | | ...-e3  |   | NS       | | NS       |
#   | etcd m1   | | etcd m2 | | etcd m3 |   | (a node) | | (a node) |
#   +-----------+ +---------+ +---------+   +----------+ +----------+
#
# Each member listens only on its own address (clients 2379, peers 2380) and
# keeps its data in $TMP/etcd/mI (its log: $TMP/etcd/mI.log). Nothing of the
# machine's own etcd (its service, /var/lib/etcd, 127.0.0.1:2379) is used.
#
# Cleanup: every member is started through lib.sh's bg (PT_PIDS), and an EXIT
# trap of this file (chained before the one in place, pt_cleanup) kills every
# member and removes the data dirs, even on failure.

ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-/usr/bin/etcdctl}
ETCD_LAN="pt-$ID-etcd"
ETCD_DIR="$TMP/etcd"
ETCD_N=0
ETCD_ENDPOINTS=
ETCD_TLS=${ETCD_TLS:-0}
ETCD_TLS_DIR="$ETCD_DIR/tls"
ETCD_ATTACHED=0
declare -a ETCD_PID=()

etcd_member_ip() { echo "198.18.0.$((10 + $1))"; }
etcd_scheme() { [ "$ETCD_TLS" = 1 ] && echo https || echo http; }
etcd_member_url() { echo "$(etcd_scheme)://$(etcd_member_ip "$1"):2379"; }
etcd_member_ns() { echo "pt-$ID-e$1"; }

etcd_exec() {
	ip netns exec "$ETCD_LAN" "$@"
}

etcdctl_pt() {
	local tls=()
	[ "$ETCD_TLS" = 1 ] && tls=(--cacert "$ETCD_TLS_DIR/ca.pem"
		--cert "$ETCD_TLS_DIR/client.pem" --key "$ETCD_TLS_DIR/client-key.pem")
	ip netns exec "$ETCD_LAN" env ETCDCTL_API=3 "$ETCDCTL_BIN" \
		--endpoints="$ETCD_ENDPOINTS" --dial-timeout=2s --command-timeout=5s \
		"${tls[@]}" "$@"
}

# The EXIT trap: our members first, then the trap that was in place.
ETCD_PREV_TRAP=
# (A second etcd_cluster_start finds etcd_cleanup in place and keeps the
# trap it chained the first time: before, it forgot pt_cleanup, and a test
# that restarted its cluster left its namespaces behind.)
etcd_trap() {
	local cur
	cur=$(trap -p EXIT)
	set --
	[ -n "$cur" ] && eval "set -- $cur"
	[ "${3:-}" = etcd_cleanup ] && return 0
	ETCD_PREV_TRAP=${3:-}
	trap etcd_cleanup EXIT
}
etcd_cleanup() {
	local rc=$? i p
	if [ "${PT_KEEP:-0}" != 1 ]; then
		for i in "${!ETCD_PID[@]}"; do
			p=${ETCD_PID[$i]}
			[ -n "$p" ] || continue
			kill -KILL "$p" 2>/dev/null
			wait "$p" 2>/dev/null
		done
		[ -n "${ETCD_DIR:-}" ] && [ -d "$ETCD_DIR" ] && rm -rf -- "$ETCD_DIR"
	fi
	if [ -n "$ETCD_PREV_TRAP" ]; then
		(exit $rc)
		eval "$ETCD_PREV_TRAP"
	fi
	exit $rc
}

etcd_lan() {
	ip netns add "$ETCD_LAN" || { fail "setup" "ip netns add $ETCD_LAN"; return 1; }
	ip -n "$ETCD_LAN" link set lo up &&
		ip -n "$ETCD_LAN" link add ebr0 type bridge &&
		ip -n "$ETCD_LAN" addr add 198.18.0.1/24 dev ebr0 &&
		ip -n "$ETCD_LAN" link set ebr0 up ||
		{ fail "setup" "bridge in $ETCD_LAN"; return 1; }
}

# etcd_plug NS LANIF ADDR: a veth et0 (in NS, ADDR/24) <-> LANIF on ebr0.
etcd_plug() {
	ip -n "$1" link add et0 type veth peer name "$2" netns "$ETCD_LAN" &&
		ip -n "$1" addr add "$3/24" dev et0 &&
		ip -n "$1" link set et0 up &&
		ip -n "$ETCD_LAN" link set "$2" master ebr0 &&
		ip -n "$ETCD_LAN" link set "$2" up
}

etcd_attach() {
	ETCD_ATTACHED=$((ETCD_ATTACHED + 1))
	if ! etcd_plug "$1" "a$ETCD_ATTACHED" "198.18.0.$((100 + ETCD_ATTACHED))"; then
		fail "setup" "attach $1 to the etcd LAN"
		return 1
	fi
}

# etcd_spawn I: member I in its namespace (recorded in PT_PIDS and ETCD_PID).
# ETCD_EXTRA: more arguments for every member (a test's own settings)
ETCD_EXTRA=()
etcd_spawn() {
	local i=$1 ip s peers=() j tls=()
	ip=$(etcd_member_ip "$i")
	s=$(etcd_scheme)
	for ((j = 1; j <= ETCD_N; j++)); do
		peers+=("m$j=$s://$(etcd_member_ip "$j"):2380")
	done
	if [ "$ETCD_TLS" = 1 ]; then
		tls=(--cert-file "$ETCD_TLS_DIR/server.pem" --key-file "$ETCD_TLS_DIR/server-key.pem"
			--client-cert-auth --trusted-ca-file "$ETCD_TLS_DIR/ca.pem"
			--peer-cert-file "$ETCD_TLS_DIR/server.pem" --peer-key-file "$ETCD_TLS_DIR/server-key.pem"
			--peer-client-cert-auth --peer-trusted-ca-file "$ETCD_TLS_DIR/ca.pem")
	fi
	bg ip netns exec "$(etcd_member_ns "$i")" "$ETCD_BIN" --name "m$i" \
		--data-dir "$ETCD_DIR/m$i" \
		--listen-client-urls "$s://$ip:2379" --advertise-client-urls "$s://$ip:2379" \
		--listen-peer-urls "$s://$ip:2380" --initial-advertise-peer-urls "$s://$ip:2380" \
		--initial-cluster "$(IFS=,; echo "${peers[*]}")" \
		--initial-cluster-token "pt-$ID" --initial-cluster-state new \
		--heartbeat-interval 100 --election-timeout 1000 \
		--logger zap --log-outputs stderr "${tls[@]}" "${ETCD_EXTRA[@]}" \
		>>"$ETCD_DIR/m$i.log" 2>&1
	ETCD_PID[$i]=$BG_PID
}

# etcd_member_ok I: member I answers (its own health: raft has a leader).
etcd_member_ok() {
	local save=$ETCD_ENDPOINTS rc
	ETCD_ENDPOINTS=$(etcd_member_url "$1")
	etcdctl_pt endpoint health >/dev/null 2>&1
	rc=$?
	ETCD_ENDPOINTS=$save
	return $rc
}
etcd_all_ok() {
	local i
	for ((i = 1; i <= ETCD_N; i++)); do
		etcd_member_ok "$i" || return 1
	done
	[ -n "$(etcd_leader_index)" ]
}

etcd_cluster_start() {
	local n=$1 i eps=()
	if [ ! -x "$ETCD_BIN" ] || [ ! -x "$ETCDCTL_BIN" ]; then
		fail "setup" "$ETCD_BIN or $ETCDCTL_BIN missing (make deps: etcd-server etcd-client)"
		return 1
	fi
	if [ "$n" -lt 1 ] || [ "$n" -gt 9 ]; then
		fail "setup" "etcd_cluster_start: 1..9 members, not $n"
		return 1
	fi
	ETCD_N=$n
	mkdir -p "$ETCD_DIR" && chmod 0700 "$ETCD_DIR"
	etcd_trap
	etcd_lan || return 1
	if [ "$ETCD_TLS" = 1 ] && [ ! -s "$ETCD_TLS_DIR/server.pem" ]; then
		etcd_tls_make "$ETCD_TLS_DIR" || { fail "setup" "etcd TLS certificates"; return 1; }
	fi
	for ((i = 1; i <= n; i++)); do
		ip netns add "$(etcd_member_ns "$i")" || { fail "setup" "ip netns add $(etcd_member_ns "$i")"; return 1; }
		ip -n "$(etcd_member_ns "$i")" link set lo up
		etcd_plug "$(etcd_member_ns "$i")" "m$i" "$(etcd_member_ip "$i")" ||
			{ fail "setup" "veth of etcd member $i"; return 1; }
		eps+=("$(etcd_member_url "$i")")
	done
	ETCD_ENDPOINTS=$(IFS=,; echo "${eps[*]}")
	for ((i = 1; i <= n; i++)); do
		etcd_spawn "$i"
	done
	if ! wait_for 150 0.2 etcd_all_ok; then
		fail "setup: etcd cluster of $n answers with a leader" \
			"$(tail -n 2 "$ETCD_DIR"/m*.log 2>/dev/null | pt_oneline)"
		return 1
	fi
}

# etcd_nodes_up N: bgpnodes 1..N (bn_fabric's) attached to the cluster's LAN,
# their petrel.yaml on etcd only, their felix started and answering.
etcd_nodes_up() {
	local n=$1 i cf=()
	for ((i = 1; i <= n; i++)); do
		etcd_attach "$(bn_ns "$i")" || { fail "setup" "etcd_attach node$i"; return 1; }
		bn_conf "$i"
		sed -i "s|^datastore: .*|datastore: etcd:$ETCD_ENDPOINTS|" "$(bn_cf "$i")"
	done
	for ((i = 1; i <= n; i++)); do
		bn_felix_start "$i"
		cf+=("'$PETRELCTL' -c '$(bn_cf "$i")' status")
	done
	check "felix of nodes 1..$n answer" bn_wait 20 sh -c "$(printf '%s && ' "${cf[@]}")true"
}

etcd_cluster_stop() {
	local i
	for ((i = 1; i <= ETCD_N; i++)); do
		etcd_member_stop "$i" KILL
		ip netns del "$(etcd_member_ns "$i")" 2>/dev/null
	done
	ip netns del "$ETCD_LAN" 2>/dev/null
	rm -rf -- "${ETCD_DIR:?}"/m*
	ETCD_N=0 ETCD_ENDPOINTS= ETCD_ATTACHED=0
}

etcd_leader_index() {
	local line url i
	# "URL, ID, VERSION, DB SIZE, IS LEADER, ..." per member
	while IFS= read -r line; do
		url=${line%%,*}
		# IS LEADER is the fifth field
		[ "$(printf '%s\n' "$line" | awk -F', ' '{ print $5 }')" = true ] || continue
		for ((i = 1; i <= ETCD_N; i++)); do
			[ "$url" = "$(etcd_member_url "$i")" ] && { echo "$i"; return 0; }
		done
	done < <(etcdctl_pt endpoint status 2>/dev/null)
	return 0
}

# (stderr muted: bash reports a child killed by a signal there)
etcd_member_stop() {
	etcd_member_stop_ "$@" 2>/dev/null
}
etcd_member_stop_() {
	local i=$1 sig=${2:-TERM} p
	p=${ETCD_PID[$i]:-}
	[ -n "$p" ] || return 0
	kill -s "$sig" "$p" 2>/dev/null
	kill -CONT "$p" 2>/dev/null
	if ! reap "$p" 100; then
		kill -KILL "$p" 2>/dev/null
		reap "$p" 50
	fi
	ETCD_PID[$i]=
}

etcd_member_start() {
	local i=$1
	[ -z "${ETCD_PID[$i]:-}" ] || return 0
	etcd_spawn "$i"
	if ! wait_for 100 0.2 etcd_member_ok "$i"; then
		fail "etcd member $i starts again" "$(tail -n 2 "$ETCD_DIR/m$i.log" | pt_oneline)"
		return 1
	fi
}

etcd_member_freeze() { kill -STOP "${ETCD_PID[$1]}"; }
etcd_member_thaw() { kill -CONT "${ETCD_PID[$1]}"; }

etcd_tls_make() {
	local d=$1 i sans="IP:198.18.0.1"
	command -v openssl >/dev/null 2>&1 || return 1
	mkdir -p "$d" && chmod 0700 "$d"
	for ((i = 1; i <= 9; i++)); do sans="$sans,IP:$(etcd_member_ip "$i")"; done
	{
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pt-$ID test CA" \
			-keyout "$d/ca-key.pem" -out "$d/ca.pem" &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=pt-$ID etcd" \
			-keyout "$d/server-key.pem" -out "$d/server.csr" &&
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" >"$d/server.ext" &&
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
			-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" &&
		openssl req -newkey rsa:2048 -nodes -subj "/CN=petrel" \
			-keyout "$d/client-key.pem" -out "$d/client.csr" &&
		printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext" &&
		openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
			-CAcreateserial -days 2 -extfile "$d/client.ext" -out "$d/client.pem"
	} >"$d/openssl.log" 2>&1 || return 1
	chmod 0600 "$d"/*-key.pem
}
