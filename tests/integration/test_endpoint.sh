#!/usr/bin/env bash
#
# endpoint/'s defects, each seen failing before its fix: a host end is
# deleted only once proven the endpoint's own, and names are unique.
#   1. an interface that holds the name a run would once have used for its
#      host end (ptl + SHA-1 of node/name) is somebody's: run leaves it;
#   2. the loser of a race for a name (its namespace taken by the winner,
#      who has not recorded yet) fails without deleting the winner's host
#      end; six runs of one name at once: one wins, its host end and route
#      stay;
#   3. rm of a record that names another workload's live host end (written
#      by hand, in a namespace that is not the host end's peer's) deletes
#      the record, not the interface;
#   4. two CNI containers whose IDs share their first 12 characters (no pod
#      name): both get their own name and host end, the first keeps its
#      own;
#   5. felix killed and restarted while run / CNI ADD waits for it: they
#      ask again and succeed, instead of undoing a good workload;
#   6. rm / CNI DEL delete the record and release its address in ONE
#      datastore transaction (a kill between two could leave a record
#      holding an address IPAM hands out again), and run / CNI ADD assign
#      the address in the record's own transaction: one revision each.
# Cases 1-3 run without felix (--no-wait), so that no agent touches the
# interfaces made by hand.
#
#   +----------------------------- pt-<id>-node ----------------------------+
#   | up0 192.0.2.11/24 --veth-- pt-<id>-ext                                 |
#   | ptl<old x> (dummy, case 1)  ptl<old y> (veth, case 2)  ptl<web> ...    |
#   +-------------------------------|-------------------|--------------------+
#                                   | veth              | veth
#             pt-<id>-w-y (the race's "winner")   pt-<id>-w-web   pt-<id>-forge (lo only)
#   pt-<id>-c1, pt-<id>-c2   the CNI containers of case 4; pt-<id>-c3 case 5
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init endp
PETREL="$B/petrel"
pt_need_bins "$PETRELCTL" "$FELIX" "$PETREL" "$DSCTL"
pt_need_tools jq
cp "$PETREL" "$TMP/bin/" && PETREL="$TMP/bin/petrel"
pt_node
expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16

# The host end name petrelctl once derived from node/name alone.
old_ifname() {
	printf 'ptl%s' "$(printf 'node1/%s' "$1" | sha1sum | cut -c1-12)"
}
ifindex() { # the node's interface NAME's index, "" when none
	ip -n "$NODE" -o link show "$1" 2>/dev/null | cut -d: -f1
}

# --- 1. an interface of the name is not debris ---
X_OLD=$(old_ifname x)
ip -n "$NODE" link add "$X_OLD" type veth peer name xold0 || { fail "setup" "veth $X_OLD"; exit 1; }
X_IDX=$(ifindex "$X_OLD")
expect_ok "run x while the node has an interface $X_OLD" ctl run --name x --no-wait
check "run x: $X_OLD (not run x's) is still there, same index $X_IDX" \
	test "$(ifindex "$X_OLD")" = "$X_IDX"
X_IF=$(wl_ifname x)
check "run x: its host end $X_IF is its own, not $X_OLD" \
	sh -c "[ -n '$X_IF' ] && [ '$X_IF' != '$X_OLD' ] && ip -n $NODE link show '$X_IF' >/dev/null"
expect_ok "rm x" ctl rm x --no-wait
check "rm x: $X_OLD still there" test "$(ifindex "$X_OLD")" = "$X_IDX"

# --- 2. the loser of a race leaves the winner's host end ---
# The winner's state between its namespace and its record: the namespace
# <prefix>y, a veth in it whose host end is in the node.
Y_OLD=$(old_ifname y)
ip netns add "${WPREFIX}y" &&
	ip -n "$NODE" link add "$Y_OLD" type veth peer name eth0 netns "${WPREFIX}y" ||
	{ fail "setup" "the winner's namespace and veth"; exit 1; }
Y_IDX=$(ifindex "$Y_OLD")
expect_err "run y while another run holds its namespace: refused" \
	"network namespace .*${WPREFIX}y already exists" ctl run --name y --no-wait
check "the loser left the winner's host end $Y_OLD (index $Y_IDX)" \
	test "$(ifindex "$Y_OLD")" = "$Y_IDX"
check "the loser left the winner's namespace" test -e "/run/netns/${WPREFIX}y"
ip netns del "${WPREFIX}y"

# --- 3. rm deletes only a host end proven the record's ---
expect_ok "run web" ctl run --name web --no-wait
WEB_IF=$(wl_ifname web)
WEB_IDX=$(ifindex "$WEB_IF")
FORGE="pt-$ID-forge"
ip netns add "$FORGE" || { fail "setup" "ip netns add $FORGE"; exit 1; }
# web's own document, renamed, in a namespace that is not its peer's
FORGED=$("$DSCTL" "sqlite:$DB" get /petrel/workloadendpoints/node1/web |
	jq -c --arg ns "/run/netns/$FORGE" \
		'.metadata.name = "forged" | .spec.netns = $ns | .spec.containerID = "forged1"')
check "a record naming web's host end written by hand" \
	"$DSCTL" "sqlite:$DB" put /petrel/workloadendpoints/node1/forged "$FORGED"
if ctl ls 2>/dev/null | grep -q '^forged '; then
	expect_ok "rm forged" ctl rm forged --no-wait
	check "rm forged: the record is gone" sh -c "! '$PETRELCTL' -c '$CONF' ls | grep -q '^forged '"
	check "rm forged: web's host end $WEB_IF is still there (index $WEB_IDX)" \
		test "$(ifindex "$WEB_IF")" = "$WEB_IDX"
else
	fail "the forged record decodes" "$(ctl ls 2>&1 | pt_oneline)"
fi

# --- felix from here on ---
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
pass "felix answers status"

# two at once of one name: one winner, whose host end and route stay
pids=()
for i in 1 2 3 4 5 6; do
	"$PETRELCTL" -c "$CONF" run --name dup >"$TMP/dup.$i.out" 2>"$TMP/dup.$i.err" &
	pids+=($!)
	PT_PIDS+=($!)
done
won=0
for i in 1 2 3 4 5 6; do
	reap "${pids[i - 1]}" 400
	[ "$REAP_RC" = 0 ] && won=$((won + 1))
done
check "six runs of dup at once: one wins ($won)" test "$won" = 1
DUP_IF=$(wl_ifname dup)
DUP_IP=$(wl_ip dup)
check "dup: the winner's host end $DUP_IF is there" ip -n "$NODE" link show "$DUP_IF"
check "dup: the winner's route to $DUP_IP is there" has_node_route "$DUP_IP"
check "dup: its namespace is there" test -e "/run/netns/${WPREFIX}dup"
expect_ok "rm dup" ctl rm dup

# --- 4. CNI: two container IDs with the same first 12 characters ---
NETCONF=$(printf '{"cniVersion":"1.0.0","name":"petrel","type":"petrel","petrelConfig":"%s"}' "$CONF")
cni() { # CMD CONTAINERID NETNS
	CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="$3" CNI_IFNAME=eth0 \
		CNI_PATH="$TMP/bin" "$PETREL" <<<"$NETCONF"
}
host_if_of() { jq -r '.interfaces[] | select(has("sandbox") | not) | .name' "$1" 2>/dev/null | head -1; }
for c in c1 c2 c3; do
	ip netns add "pt-$ID-$c" && ip -n "pt-$ID-$c" link set lo up ||
		{ fail "setup" "ip netns add pt-$ID-$c"; exit 1; }
done
CID1=abcdef012345aaaa$ID
CID2=abcdef012345bbbb$ID
expect_ok "ADD c1" cni ADD "$CID1" "/run/netns/pt-$ID-c1"
printf '%s' "$OUT" >"$TMP/c1.json"
C1_IF=$(host_if_of "$TMP/c1.json")
C1_IDX=$(ifindex "$C1_IF")
C1_IP=$(jq -r '.ips[0].address' "$TMP/c1.json" | sed 's|/.*||')
expect_ok "ADD c2 (its ID starts as c1's)" cni ADD "$CID2" "/run/netns/pt-$ID-c2"
printf '%s' "$OUT" >"$TMP/c2.json"
C2_IF=$(host_if_of "$TMP/c2.json")
check "c1 keeps its host end $C1_IF (index $C1_IDX)" test "$(ifindex "$C1_IF")" = "$C1_IDX"
check "c1 keeps its eth0" ip -n "pt-$ID-c1" link show eth0
check "c1 keeps its route to $C1_IP" wait_for 50 0.1 has_node_route "$C1_IP"
check "c2 has a host end of its own ($C2_IF)" \
	sh -c "[ -n '$C2_IF' ] && [ '$C2_IF' != '$C1_IF' ] && ip -n $NODE link show '$C2_IF' >/dev/null"
check "two cni- workloads of distinct names" test "$(ctl ls 2>/dev/null | grep -c '^cni-')" = 2
expect_ok "DEL c2" cni DEL "$CID2" "/run/netns/pt-$ID-c2"
check "DEL c2: c1's host end stays" test "$(ifindex "$C1_IF")" = "$C1_IDX"
expect_ok "DEL c1" cni DEL "$CID1" "/run/netns/pt-$ID-c1"

# --- 5. felix restarts while run / ADD waits ---
# felix stopped (SIGSTOP): the request waits in its socket's backlog; once
# the record is in the store, felix is killed and started again.
record_there() { "$DSCTL" "sqlite:$DB" get "/petrel/workloadendpoints/node1/$1" >/dev/null 2>&1; }
restart_felix_during() { # NAME CMD...: CMD in the background, felix restarted under it
	local name=$1
	shift
	kill -STOP "$FELIX_PID"
	bg "$@"
	local pid=$BG_PID
	wait_for 100 0.05 record_there "$name" || fail "$name: recorded while felix is stopped" "no record"
	sleep 0.3
	felix_stop KILL
	felix_start
	reap "$pid" 300
}
restart_felix_during r1 sh -c "'$PETRELCTL' -c '$CONF' run --name r1 >'$TMP/r1.out' 2>'$TMP/r1.err'"
check "run r1 across a felix restart: exit 0 ($(pt_oneline <"$TMP/r1.err"))" test "$REAP_RC" = 0
R1_IP=$(wl_ip r1)
check "run r1: recorded, route to $R1_IP" sh -c "[ -n '$R1_IP' ] && ip -n $NODE -4 route show '$R1_IP/32' proto 87 | grep -q ."
felix_wait_ready || fail "felix answers status again" "no answer"
restart_felix_during cni-abcdef01234c bash -c "CNI_COMMAND=ADD CNI_CONTAINERID=abcdef01234c$ID CNI_NETNS=/run/netns/pt-$ID-c3 CNI_IFNAME=eth0 '$PETREL' <<<'$NETCONF' >'$TMP/c3.out'"
check "CNI ADD c3 across a felix restart: exit 0 ($(pt_oneline <"$TMP/c3.out"))" test "$REAP_RC" = 0
check "c3: eth0 has its address" sh -c "ip -n pt-$ID-c3 -4 -o addr show dev eth0 | grep -q inet"

# --- 6. one transaction per endpoint ---
# changes_since REV: "TYPE REV KEY" of every change after REV (the watch
# prints what there is, then gives up waiting for more after a second),
# but felix's heartbeat (/petrel/nodestatus/, every 10 s: not the
# endpoint's change).
changes_since() {
	"$DSCTL" "sqlite:$DB" watch /petrel/ "$1" 100000 1 2>/dev/null |
		awk '$3 !~ /^\/petrel\/nodestatus\// { print $1, $2, $3 }'
}
# one_rev WHAT REV KEYRE...: every change since REV is at one revision, and
# each KEYRE matches one of them.
one_rev() {
	local what=$1 rev=$2 re
	shift 2
	changes_since "$rev" >"$TMP/changes"
	check "$what: one revision ($(cut -d' ' -f2 "$TMP/changes" | sort -u | tr '\n' ' '))" \
		test "$(cut -d' ' -f2 "$TMP/changes" | sort -u | wc -l)" = 1
	for re in "$@"; do
		check "$what: $re in it" grep -Eq "$re" "$TMP/changes"
	done
}
R1_CID=$("$DSCTL" "sqlite:$DB" get /petrel/workloadendpoints/node1/r1 | jq -r .spec.containerID)
REV=$("$DSCTL" "sqlite:$DB" rev)
expect_ok "rm r1" ctl rm r1
one_rev "rm r1" "$REV" "^delete [0-9]+ /petrel/workloadendpoints/node1/r1\$" \
	"^delete [0-9]+ /petrel/ipamhandles/$R1_CID.eth0\$" "^(put|delete) [0-9]+ /petrel/ipamblocks/"
REV=$("$DSCTL" "sqlite:$DB" rev)
expect_ok "DEL c3" cni DEL "abcdef01234c$ID" "/run/netns/pt-$ID-c3"
one_rev "DEL c3" "$REV" "^delete [0-9]+ /petrel/workloadendpoints/node1/cni-abcdef01234c\$" \
	"^delete [0-9]+ /petrel/ipamhandles/abcdef01234c$ID.eth0\$"
REV=$("$DSCTL" "sqlite:$DB" rev)
expect_ok "run r2" ctl run --name r2
R2_CID=$("$DSCTL" "sqlite:$DB" get /petrel/workloadendpoints/node1/r2 | jq -r .spec.containerID)
one_rev "run r2" "$REV" "^put [0-9]+ /petrel/workloadendpoints/node1/r2\$" \
	"^put [0-9]+ /petrel/ipamhandles/$R2_CID.eth0\$" "^put [0-9]+ /petrel/ipamblocks/"
REV=$("$DSCTL" "sqlite:$DB" rev)
expect_ok "CNI ADD c3 again" cni ADD "abcdef01234c$ID" "/run/netns/pt-$ID-c3"
one_rev "CNI ADD c3" "$REV" "^put [0-9]+ /petrel/workloadendpoints/node1/cni-abcdef01234c\$" \
	"^put [0-9]+ /petrel/ipamhandles/abcdef01234c$ID.eth0\$"
expect_ok "DEL c3" cni DEL "abcdef01234c$ID" "/run/netns/pt-$ID-c3"
expect_ok "rm r2" ctl rm r2
expect_ok "rm web" ctl rm web

pt_end
