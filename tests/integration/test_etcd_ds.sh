#!/usr/bin/env bash
#
# The etcd datastore backend against a real 3-member etcd cluster: the same
# contract the sqlite backend passes (tests/tools/dscontract, run on both),
# a key prefix, a watch across killed members (none missed, none twice),
# compaction (-ERANGE), the leader killed during concurrent CAS creates from
# three processes (every key won exactly once), TLS (a wrong CA: an error
# naming the file) and the config's etcd: keys.
#
#   +---------------------------- pt-<id>-etcd ---------------------------+
#   |  ebr0 198.18.0.1/24: dsctl, dscontract, etcdctl run here            |
#   +-----|------------------|------------------|-------------------------+
#   +-----|------+  +--------|-----+  +---------|----+
#   | .11 etcd m1|  | .12 etcd m2  |  | .13 etcd m3  |   pt-<id>-e1..e3
#   +------------+  +--------------+  +--------------+
#
# 198.18.0.0/15 is reserved for benchmarking (RFC 2544): nothing leaves our
# namespaces.
# shellcheck disable=SC2317  # functions run through check and wait_for
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
pt_init etcdds
# shellcheck source=tests/lib_etcd.sh
. "$(dirname "$0")/../lib_etcd.sh"

pt_need_bins "$PETRELCTL"
DSCONTRACT="$B/tools/dscontract"
if [ ! -x "$DSCONTRACT" ]; then
	fail "prerequisites" "$DSCONTRACT is not built"
	exit 1
fi
cp "$DSCONTRACT" "$TMP/bin/" && DSCONTRACT="$TMP/bin/dscontract"

etcd_cluster_start 3 || exit 1
pass "3-member etcd cluster up, leader m$(etcd_leader_index)"
URL="etcd:$ETCD_ENDPOINTS"
e_dsctl() { etcd_exec "$DSCTL" "$@"; }

# relay CONTEXT CMD...: CMD's PASS/FAIL lines, prefixed; a FAIL when CMD fails
# without saying why in one.
relay() {
	local ctx=$1 line rc
	shift
	"$@" >"$TMP/relay.out" 2>"$TMP/relay.err"
	rc=$?
	while IFS= read -r line; do
		case "$line" in
		"PASS: "*) pass "$ctx: ${line#PASS: }" ;;
		"FAIL: "*) fail "$ctx: ${line#FAIL: }" "" ;;
		esac
	done <"$TMP/relay.out"
	if [ $rc -ne 0 ] && ! grep -q '^FAIL: ' "$TMP/relay.out"; then
		fail "$ctx" "exit $rc: $(pt_oneline <"$TMP/relay.err")"
	fi
}

# --- the contract, on sqlite (the reference) and on etcd -------------------
relay "contract on sqlite" "$DSCONTRACT" "sqlite:$TMP/contract.db" /petrel/ct/
relay "contract on etcd" etcd_exec "$DSCONTRACT" "$URL" /petrel/ct/
relay "contract on etcd, prefix /team1" etcd_exec "$DSCONTRACT" "$URL?prefix=/team1" /petrel/ct/
check "prefix: the keys are under /team1/ in etcd" \
	sh -c "[ \$(ip netns exec $ETCD_LAN env ETCDCTL_API=3 etcdctl --endpoints=$ETCD_ENDPOINTS get --prefix /team1/petrel/ct/l/ --keys-only | grep -c .) -eq 2500 ]"
check "prefix: a dsctl with the prefix sees them as /petrel/..." \
	sh -c "ip netns exec $ETCD_LAN $DSCTL '$URL?prefix=/team1' get /petrel/ct/l/00042"
expect_err "prefix: without it they are not there" "key not found" \
	e_dsctl "$URL" get /petrel/ct/l/99999

# --- libcurl only where it is needed (docs/datastore.md, "Two HTTP clients") ----
# (LD_DEBUG=files: ld.so names every library it opens, dlopen()ed ones too)
curl_opened() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -q 'file=libcurl\.so'; }
ok_without_curl() {
	local log
	log=$(LD_DEBUG=files "$@" 2>&1 >/dev/null) && ! grep -q 'file=libcurl\.so' <<<"$log"
}
check "libcurl: a watch on http:// loads it (the stream is libcurl's)" \
	curl_opened e_dsctl "$URL" watch /petrel/none/ "$(e_dsctl "$URL" rev)" 1 1
put_get_without_curl() {
	ok_without_curl e_dsctl "$URL" put /petrel/nocurl x &&
		ok_without_curl e_dsctl "$URL" get /petrel/nocurl
}
check "libcurl: put and get on http:// run without it" put_get_without_curl

# --- a watch across killed members -------------------------------------------
# (the watch starts on member 1: the first endpoint)
REV=$(e_dsctl "$URL" rev)
etcd_exec "$DSCTL" "$URL" watch /petrel/w/ "$REV" 60 40 >"$TMP/watch.out" 2>"$TMP/watch.err" &
WPID=$!
PT_PIDS+=("$WPID")
wl_watching() { etcd_exec ss -Htn state established dst "$1" 2>/dev/null | grep -q ':2379'; }
check "watch: connected to member 1" wait_for 50 0.1 wl_watching "$(etcd_member_ip 1)"
put_range() { # FROM TO
	local i
	for ((i = $1; i < $2; i++)); do
		e_dsctl "$URL" put "/petrel/w/k$(printf %03d "$i")" "{\"i\":$i}" >/dev/null || return 1
	done
}
check "watch: 20 puts" put_range 0 20
etcd_member_stop 1 KILL
check "watch: 20 puts with member 1 killed" put_range 20 40
check "watch: resumed on member 2" wait_for 50 0.1 wl_watching "$(etcd_member_ip 2)"
etcd_member_start 1
etcd_member_stop 2 KILL
check "watch: 20 puts with member 2 killed" put_range 40 60
reap "$WPID" 400
check "watch: dsctl got its 60 changes" test "$REAP_RC" = 0
check "watch: 60 puts, each key once (none missed, none twice)" \
	sh -c "[ \$(grep -c '^put ' '$TMP/watch.out') -eq 60 ] && [ \$(awk '{ print \$3 }' '$TMP/watch.out' | sort -u | wc -l) -eq 60 ]"
check "watch: in revision order" sh -c "awk '{ print \$2 }' '$TMP/watch.out' | sort -n -c"
etcd_member_start 2

# --- compaction ---------------------------------------------------------------
CUR=$(e_dsctl "$URL" rev)
check "compact to the current revision - 1" e_dsctl "$URL" compact $((CUR - 1))
expect_err "a watch from before the compaction" "revision compacted" \
	e_dsctl "$URL" watch /petrel/w/ "$REV" 1 5
expect_err "compact a future revision" "invalid argument|future revision" \
	e_dsctl "$URL" compact $((CUR + 100))

# --- the leader killed during concurrent CAS creates --------------------------
for p in 1 2 3; do
	etcd_exec "$DSCONTRACT" "$URL" /petrel/race/ race 150 "p$p" >"$TMP/race$p.out" 2>&1 &
	RPID[p]=$!
	PT_PIDS+=("${RPID[p]}")
done
wait_for 100 0.05 sh -c "[ \$(cat $TMP/race*.out | grep -c .) -ge 60 ]"
L=$(etcd_leader_index)
etcd_member_stop "$L" KILL
pass "leader m$L killed after $(cat "$TMP"/race*.out | grep -c .) of 450 creates"
for p in 1 2 3; do
	reap "${RPID[p]}" 600
	check "racer $p finished" test "$REAP_RC" = 0
done
check "race: no create failed but with -EEXIST" \
	sh -c "! grep -h '^error' $TMP/race*.out | grep ."
check "race: every key won exactly once" \
	sh -c "[ \$(cat $TMP/race*.out | awk '\$1 == \"won\"' | wc -l) -eq 150 ] && [ \$(cat $TMP/race*.out | awk '\$1 == \"won\" { print \$2 }' | sort -u | wc -l) -eq 150 ]"
race_values_ok() { # each key's value names the racer that won it
	local p k v
	for p in 1 2 3; do
		for k in $(awk '$1 == "won" { print $2 }' "$TMP/race$p.out"); do
			v=$(e_dsctl "$URL" get "$k") || return 1
			[ "$v" = "p$p" ] || return 1
		done
	done
}
check "race: every key holds its winner's value" race_values_ok
etcd_member_start "$L"

# --- the config's etcd: keys ----------------------------------------------------
printf 'pw\n' >"$TMP/pw"
chmod 0644 "$TMP/pw"
cat >"$TMP/bad.yaml" <<EOF
node: node1
datastore: $URL
runDir: $TMP/run
etcd:
  user: petrel
  passwordFile: $TMP/pw
EOF
expect_err "config: a password file others can read" "passwordFile: .*/pw: mode 0644, must be 0600" \
	"$PETRELCTL" -c "$TMP/bad.yaml" get ippool
chmod 0600 "$TMP/pw"
cat >"$TMP/good.yaml" <<EOF
node: node1
datastore: $URL
runDir: $TMP/run
etcd:
  prefix: /team2
  timeout: 3
EOF
mkdir -p "$TMP/run"
check "config: petrelctl on etcd (prefix /team2) applies a pool" \
	etcd_exec "$PETRELCTL" -c "$TMP/good.yaml" pool create p1 --cidr 10.70.0.0/16
check "libcurl: petrelctl on http:// etcd runs without it" \
	ok_without_curl etcd_exec "$PETRELCTL" -c "$TMP/good.yaml" get ippool
check "config: the pool is under /team2/ in etcd" \
	sh -c "ip netns exec $ETCD_LAN env ETCDCTL_API=3 etcdctl --endpoints=$ETCD_ENDPOINTS get --prefix /team2/ --keys-only | grep -q ."

# --- all of etcd down: a clear error within the deadline ------------------------
etcd_cluster_stop
ETCD_ENDPOINTS=http://198.18.0.11:2379,http://198.18.0.12:2379
etcd_lan
expect_err "every member down: the endpoints tried and the last error" \
	"unreachable.*tried http://198.18.0.11:2379, http://198.18.0.12:2379" \
	etcd_exec "$DSCTL" "etcd:$ETCD_ENDPOINTS?timeout=4000" get /petrel/x
ip netns del "$ETCD_LAN"

# --- TLS: the right CA works, a wrong one is named ------------------------------
if ! command -v openssl >/dev/null 2>&1; then
	skip "etcd TLS" "openssl is not installed: no throwaway CA to test with"
	pt_end
fi
ETCD_TLS=1
etcd_cluster_start 3 || exit 1
T=$ETCD_TLS_DIR
TURL="etcd:$ETCD_ENDPOINTS?ca=$T/ca.pem&cert=$T/client.pem&key=$T/client-key.pem"
check "TLS: put with the cluster's CA and a client certificate" \
	e_dsctl "$TURL" put /petrel/tls "{}"
mkdir -p "$TMP/other"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=another CA" \
	-keyout "$TMP/other/ca-key.pem" -out "$TMP/other/ca.pem" >/dev/null 2>&1
expect_err "TLS: a wrong CA, the error names the file" "certificate.*CA file $TMP/other/ca.pem" \
	e_dsctl "etcd:$ETCD_ENDPOINTS?ca=$TMP/other/ca.pem&cert=$T/client.pem&key=$T/client-key.pem" \
	put /petrel/tls2 "{}"
expect_err "TLS: nothing was written with the wrong CA" "key not found" \
	e_dsctl "$TURL" get /petrel/tls2
chmod 0640 "$T/client-key.pem"
expect_err "TLS: a key file others can read" "client-key.pem: mode 0640, must be 0600" \
	e_dsctl "$TURL" get /petrel/tls
pt_end
