#!/usr/bin/env bash
#
# NetworkPolicy, an allow/deny matrix with real traffic (TCP with socat,
# UDP, ICMP) between workloads on one node and across two nodes: policies
# by label selector (==, in, ||, has), by CIDR (nets / notNets), by port
# (TCP and UDP, ranges, notPorts), notSelector, by ICMP type, with order (a
# lower-order Deny beats a later Allow), Pass, Log, and Ingress vs Egress,
# enforced on both nodes; no policy = everything allowed; a removed policy
# allows again; a new workload matching a rule's selector is allowed /
# blocked as soon as `run` returns (selector sets kept current, for the
# other node's workloads too); policy get; invalid policies refused with
# their file and line, nothing written.
#
# Each matrix runs its probes in parallel: the denials first (each retried
# until it holds, 5 s at most: they show that felix applied the change),
# then the allowed ones.
#
#                   +------------ pt-<id>-tor (AS 65000) -------------+
#                   | FRR (contrib/frr/tor.conf)      ip_forward=1    |
#                   | t1 192.0.2.1/24              t2 198.51.100.1/24 |
#                   +----|-------------------------------|------------+
#                        | veth                          | veth
#   +--------------------|----------+        +------------|------------------+
#   | pt-<id>-n1 (node1, AS 64512)  |        | pt-<id>-n2 (node2, AS 64513)  |
#   | up0 192.0.2.11/24             |        | up0 198.51.100.12/24          |
#   | felix + BIRD, table inet petrel|       | felix + BIRD                  |
#   +--|---------|---------|--------+        +------|-------------|----------+
#      |veth     |veth     |veth                    |veth         |veth
#   +--|---+ +---|---+ +---|---+               +----|---+    +----|---+
#   | web  | | c1    | | x1    |               | c2     |    | x2     |
#   | role | | role= | | role= |               | role=  |    | role=  |
#   | =web | | client| | other |               | client |    | other  |
#   +------+ +-------+ +-------+               +--------+    +--------+
#   (each: TCP 80 and 8080, UDP 53 answer with the workload's name)
#   later: c3, bad1 on node1, c4, bad2 on node2
#
#   one sqlite datastore, one pool 10.65.0.0/16, mesh off: node-to-node
#   traffic goes through the ToR (routes from BGP), without NAT.
set -u
. "$(dirname "$0")/../lib.sh"
pt_init pol
for b in bird /usr/lib/frr/zebra /usr/lib/frr/bgpd vtysh; do
	if ! command -v "$b" >/dev/null 2>&1; then
		skip "policy" "$b is not installed (needs bird2 and frr)"
		exit 0
	fi
done
id frr >/dev/null 2>&1 || { skip "policy" "no user frr"; exit 0; }
pt_need_bins "$PETRELCTL" "$FELIX"
pt_need_tools socat nft

pt_etc_netns_trap
pt_tor_nodes
expect_ok "pool create p1 10.65.0.0/16" ctl1 pool create p1 --cidr 10.65.0.0/16
pt_tor_felix
pass "two nodes with felix + BIRD behind the ToR"

wl_run "$C1" web --label role=web
wl_run "$C1" c1 --label role=client
wl_run "$C1" x1 --label role=other
wl_run "$C2" c2 --label role=client
wl_run "$C2" x2 --label role=other
for w in web c1 x1 c2 x2; do
	[ -n "${WL_ADDR[$w]:-}" ] || { fail "setup" "workload $w missing"; exit 1; }
	wl_serve "$w"
done
# Cross-node traffic needs BGP (the ToR's route-map delay, sessions):
# bounded wait, 30 s.
if ! wait_for 60 0.5 pt_probe "$C2" c2 icmp "${WL_ADDR[web]}"; then
	fail "cross-node route (c2 -> web)" "no ping after 30 s: n2 routes $(ip -n "$N2" route show proto bird | pt_oneline)"
	exit 1
fi
pass "cross-node route up (c2 on node2 pings web on node1)"

# --- helpers ------------------------------------------------------------------
# apply_pol NAME: the NetworkPolicy's spec on stdin, applied on node1 (one
# datastore for both nodes).
apply_pol() { pt_apply_pol ctl1 "$1"; }
rm_pol() {
	expect_ok "policy rm $1" ctl1 policy rm "$1"
}
# Sync point (silent, bounded): felix of both nodes has (or no longer has)
# the chains of policy NAME (compile.h: pi-NAME / pe-NAME). The probes
# decide the verdict; this only keeps an "allow" probe from passing on the
# state before the change.
nft_chains() {
	ip netns exec "$1" nft list table inet petrel 2>/dev/null | awk '$1 == "chain" { print $2 }'
}
has_pol() { # NAME
	nft_chains "$N1" | grep -Eqx "p[ie]-$1" && nft_chains "$N2" | grep -Eqx "p[ie]-$1"
}
no_pol() {
	! nft_chains "$N1" | grep -Eqx "p[ie]-$1" && ! nft_chains "$N2" | grep -Eqx "p[ie]-$1"
}
sync_pol() { # +NAME (present) / -NAME (gone)...
	local p
	for p in "$@"; do
		case "$p" in
		+*) wait_for 50 0.1 has_pol "${p#+}" ;;
		-*) wait_for 50 0.1 no_pol "${p#-}" ;;
		esac
	done
	sleep 0.2
}
# matrix WHAT: pt_matrix (lib.sh). Each denial's positive control is an
# earlier matrix's allow of the same protocol, address and port
# (ALL_ALLOWED, before any policy).
matrix() { pt_matrix "$@"; }
ALL_ALLOWED="allow c1 tcp web 80
allow c1 tcp web 8080
allow c1 udp web 53
allow c1 icmp web
allow x1 tcp web 80
allow x1 udp web 53
allow c2 tcp web 80
allow c2 udp web 53
allow x2 tcp web 8080
allow x2 icmp web
allow web tcp c1 80
allow web tcp x2 8080
allow c1 tcp x1 80
allow x2 tcp c2 80
allow c2 tcp x2 80
allow c2 udp x1 53"

# --- no policy: everything allowed ----------------------------------------------
matrix "no policy" <<<"$ALL_ALLOWED"

# --- label selector + TCP port: web admits TCP 80 from clients -----------------------
apply_pol web-in <<'EOF'
  selector: role == "web"
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: role == "client"}
    destination: {ports: [80]}
EOF
sync_pol +web-in
matrix "selector+TCP port" <<'EOF'
deny x1 tcp web 80
deny x2 tcp web 80
deny c1 tcp web 8080
deny c2 tcp web 8080
deny c1 udp web 53
deny c1 icmp web
deny c2 icmp web
allow c1 tcp web 80
allow c2 tcp web 80
allow web tcp c1 80
allow web tcp x2 8080
allow web icmp x1
allow x1 tcp c1 80
allow x2 tcp c1 8080
EOF

# --- + UDP 53 and a port range (the same policy updated) ----------------------------
apply_pol web-in <<'EOF'
  selector: role == "web"
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: role == "client"}
    destination: {ports: [80, "8000:8090"]}
  - action: Allow
    protocol: UDP
    source: {selector: role == "client"}
    destination: {ports: [53]}
EOF
matrix "UDP port + port range" <<'EOF'
deny x1 udp web 53
deny x2 udp web 53
deny x1 tcp web 8080
deny c1 icmp web
allow c1 udp web 53
allow c2 udp web 53
allow c1 tcp web 8080
allow c2 tcp web 8080
EOF

# --- ICMP type: echo request (8) allowed; then only type 13 (timestamp) ------------
apply_pol web-in <<'EOF'
  selector: role == "web"
  ingress:
  - action: Allow
    protocol: ICMP
    icmp: {type: 8, code: 0}
EOF
matrix "ICMP type 8" <<'EOF'
deny x1 tcp web 80
deny c1 udp web 53
allow x1 icmp web
allow x2 icmp web
allow c1 icmp web
EOF
apply_pol web-in <<'EOF'
  selector: role == "web"
  ingress:
  - action: Allow
    protocol: ICMP
    icmp: {type: 13}
EOF
matrix "ICMP type 13 only" <<'EOF'
deny x1 icmp web
deny c2 icmp web
EOF

# --- CIDR: nets and notNets -------------------------------------------------------
apply_pol web-in <<EOF
  selector: role == "web"
  ingress:
  - action: Allow
    source: {nets: [${WL_ADDR[c1]}/32, ${WL_ADDR[x2]}/32]}
EOF
matrix "nets" <<'EOF'
deny c2 tcp web 80
deny x1 tcp web 80
deny x1 icmp web
allow c1 tcp web 80
allow c1 udp web 53
allow x2 tcp web 8080
allow x2 icmp web
EOF
apply_pol web-in <<EOF
  selector: role == "web"
  ingress:
  - action: Allow
    source: {nets: [10.65.0.0/16], notNets: [${WL_ADDR[c1]}/32, ${WL_ADDR[x2]}/32]}
EOF
matrix "notNets" <<'EOF'
deny c1 tcp web 80
deny x2 tcp web 8080
deny c1 icmp web
allow c2 tcp web 80
allow x1 tcp web 80
allow x1 udp web 53
EOF
# --- notSelector, notPorts, Log (goes on to the next rule) ------------------------------
apply_pol web-in <<'EOF'
  selector: role == "web"
  ingress:
  - action: Log
  - action: Allow
    protocol: TCP
    source: {notSelector: role == "other"}
    destination: {notPorts: [8080]}
EOF
matrix "notSelector + notPorts + Log" <<'EOF'
deny x1 tcp web 80
deny x2 tcp web 80
deny c1 tcp web 8080
deny c2 tcp web 8080
deny c1 icmp web
allow c1 tcp web 80
allow c2 tcp web 80
EOF
rm_pol web-in
sync_pol -web-in
matrix "policy removed: allowed again" <<<"$ALL_ALLOWED"

# --- ingress on node2 too, selectors with `in`, `||`, has() ------------------------------
apply_pol other-in <<'EOF'
  selector: role in {"other", "nobody"}
  types: [Ingress]
  ingress:
  - action: Allow
    source: {selector: role == "web" || has(admin)}
EOF
sync_pol +other-in
matrix "ingress of x1 and x2 (role in {other}) from web only" <<'EOF'
deny c2 tcp x2 80
deny c1 tcp x2 8080
deny c1 icmp x1
deny c2 udp x1 53
deny x1 tcp x2 80
allow web tcp x2 80
allow web udp x2 53
allow web icmp x1
allow x2 tcp c2 80
allow x2 tcp web 8080
EOF
rm_pol other-in

# --- order: a lower-order Deny beats a later Allow -----------------------------------
apply_pol deny-other <<'EOF'
  selector: role == "web"
  order: 10
  ingress:
  - action: Deny
    source: {selector: role == "other"}
EOF
apply_pol allow-all <<'EOF'
  selector: role == "web"
  order: 100
  ingress:
  - action: Allow
EOF
sync_pol +deny-other +allow-all -other-in
matrix "order 10 Deny before order 100 Allow" <<'EOF'
deny x1 tcp web 80
deny x2 tcp web 80
deny x1 icmp web
allow c1 tcp web 80
allow c2 tcp web 8080
allow c2 udp web 53
EOF
apply_pol deny-other <<'EOF'
  selector: role == "web"
  order: 200
  ingress:
  - action: Deny
    source: {selector: role == "other"}
EOF
matrix "order 200 Deny after order 100 Allow" <<'EOF'
allow x1 tcp web 80
allow x2 tcp web 80
allow c1 tcp web 80
EOF
rm_pol deny-other
rm_pol allow-all

# --- Pass: skips the later policies, the network rules decide (default: allow) ------
apply_pol pass-other <<'EOF'
  selector: role == "web"
  order: 10
  ingress:
  - action: Pass
    source: {selector: role == "other"}
EOF
apply_pol deny-all <<'EOF'
  selector: role == "web"
  order: 20
  ingress:
  - action: Deny
EOF
sync_pol +pass-other +deny-all -deny-other -allow-all
matrix "Pass" <<'EOF'
deny c1 tcp web 80
deny c2 tcp web 80
deny c1 icmp web
allow x1 tcp web 80
allow x2 tcp web 8080
allow x1 icmp web
EOF
rm_pol pass-other
rm_pol deny-all

# --- Egress: clients may only send TCP 80, and only to web ------------------------------
apply_pol client-out <<'EOF'
  selector: role == "client"
  types: [Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination: {selector: role == "web", ports: [80]}
EOF
sync_pol +client-out -pass-other -deny-all
matrix "Egress" <<'EOF'
deny c1 tcp web 8080
deny c1 udp web 53
deny c1 icmp web
deny c1 tcp x1 80
deny c2 tcp web 8080
deny c2 tcp x2 80
allow c1 tcp web 80
allow c2 tcp web 80
allow web tcp c1 80
allow x1 tcp c1 8080
allow x2 udp c2 53
allow x1 tcp web 8080
EOF
rm_pol client-out
sync_pol -client-out
matrix "all policies removed: allowed again" <<<"$ALL_ALLOWED"

# --- sets kept current: new workloads ------------------------------------------------
# web admits TCP 80 from clients, but nothing from bad == "yes" (order 10).
apply_pol deny-bad <<'EOF'
  selector: role == "web"
  order: 10
  ingress:
  - action: Deny
    source: {selector: bad == "yes"}
EOF
apply_pol web-in <<'EOF'
  selector: role == "web"
  order: 20
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: role == "client"}
    destination: {ports: [80]}
EOF
sync_pol +deny-bad +web-in
matrix "before the new workloads" <<'EOF'
deny x1 tcp web 80
allow c1 tcp web 80
EOF
# The same node: at once (one try, the first SYN) when run returns.
wl_run "$C1" c3 --label role=client
pt_q "new client c3 on node1, at once" allow 0 c3 tcp web 80
pt_qrun
wl_run "$C1" bad1 --label role=client --label bad=yes
pt_q "new bad1 (role=client, bad=yes) on node1, at once" deny 0 bad1 tcp web 80
pt_qrun
# The other node: node1's felix learns of them through the datastore (run
# on node2 waits for node2's felix only): at once, else within 5 s.
wl_run "$C2" c4 --label role=client
pt_q "new client c4 on node2 (at once)" allow 0 c4 tcp web 80
pt_qrun
wl_run "$C2" bad2 --label role=client --label bad=yes
pt_q "new bad2 (role=client, bad=yes) on node2 (at once)" deny 0 bad2 tcp web 80
pt_qrun
# A workload removed leaves the sets: bad1's address, reused by a client,
# is not denied.
expect_ok "rm bad1" ctl1 rm bad1
wl_run "$C1" c5 --label role=client
pt_q "new client c5 on node1 (after bad1 left), at once" allow 0 c5 tcp web 80
pt_qrun

# --- policy get / rm ------------------------------------------------------------
expect_ok "policy get" ctl1 policy get
check "policy get lists deny-bad and web-in" sh -c "printf '%s\n' \"\$1\" | grep -q deny-bad && printf '%s\n' \"\$1\" | grep -q web-in" _ "$OUT"
expect_ok "policy get web-in" ctl1 -o json policy get web-in
check "policy get web-in -o json: kind NetworkPolicy, its selector and order" \
	sh -c "printf '%s' \"\$1\" | jq -e '.kind == \"NetworkPolicy\" and .metadata.name == \"web-in\" and .spec.order == 20 and (.spec.selector | test(\"role\"))'" _ "$OUT"
expect_ok "get networkpolicy (the generic verb)" ctl2 get networkpolicy
check "get networkpolicy lists deny-bad" sh -c "printf '%s\n' \"\$1\" | grep -q deny-bad" _ "$OUT"
# Invalid policies: refused with the file and line, nothing written.
bad_pol() { # WHAT REGEX: the YAML on stdin
	cat >"$TMP/bad.yaml"
	ds_dump_norev >"$TMP/ds.before"
	expect_err "$1" "$2" ctl1 policy apply -f "$TMP/bad.yaml"
	ds_dump_norev >"$TMP/ds.after"
	same_files "$1: nothing written" "$TMP/ds.before" "$TMP/ds.after"
}
bad_pol "policy apply: a selector that does not parse" 'bad\.yaml:[0-9]+.*selector' <<'EOF'
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: broken}
spec:
  selector: role ==
  ingress: [{action: Allow}]
EOF
bad_pol "policy apply: ports without a protocol" 'bad\.yaml:[0-9]+.*(port|protocol)' <<'EOF'
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: broken}
spec:
  selector: all()
  ingress:
  - action: Allow
    destination: {ports: [80]}
EOF
bad_pol "policy apply: an unknown action" 'bad\.yaml:[0-9]+.*(action|Maybe)' <<'EOF'
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: broken}
spec:
  selector: all()
  ingress:
  - action: Maybe
EOF
bad_pol "policy apply: an invalid CIDR in nets" 'bad\.yaml:[0-9]+.*(net|cidr|10\.0\.0\.300)' <<'EOF'
apiVersion: petrel/v1
kind: NetworkPolicy
metadata: {name: broken}
spec:
  selector: all()
  ingress:
  - action: Allow
    source: {nets: [10.0.0.300/8]}
EOF
rm_pol deny-bad
rm_pol web-in
expect_err "policy rm of a missing policy" "web-in" ctl1 policy rm web-in
sync_pol -deny-bad -web-in
matrix "every policy removed" <<'EOF'
allow x1 tcp web 8080
allow bad2 tcp web 80
allow x2 icmp web
EOF

for p in "$F1_PID" "$F2_PID"; do
	FELIX_PID=$p
	felix_stop TERM
	check "felix ($p) exits 0 on SIGTERM" test "$FELIX_RC" = 0
done
pt_end
