#!/usr/bin/env bash
#
# podman with petrel's CNI plugin: Debian's podman (CNI network backend,
# runc, cgroupfs), the test's own plugin and config directories (the shipped
# contrib/cni/petrel.conflist: petrel, then tuning), private container
# storage, and an image made here from busybox-static (no registry, no
# network). `podman run --network petrel` gives the container a routed /32
# that felix routes and `petrelctl ls` lists, reaching a `petrelctl run`
# workload both ways; `-p` lands in the WorkloadEndpoint's spec.ports, is
# reserved per node (a second container, or `petrelctl run -p`, asking for
# it is refused, and the plugin refuses a port the CLI holds) and, once
# felix publishes ports, is reachable from outside the node, from the node
# and from another workload; `podman rm -f` gives everything back.
#
#   +--------------------------------- pt-<id>-node -----------------------------+
#   | felix   up0 192.0.2.11/24 -------veth------- pt-<id>-ext (dn0 192.0.2.1/24)|
#   | podman (nsenter --net) -> $TMP/podman/cni/bin/petrel, tuning  ncat client  |
#   | ptl<web> 10.65.x.x/32 proto 87        ptl<c1> A/32 proto 87  DNAT :18080   |
#   +------|---------------------------------------|----------------------------+
#          | veth                                  | veth (made by petrel)
#   +------|------ pt-<id>-w-web -+   +------------|--- netns-<uuid> (podman's) -+
#   | eth0 10.65.x.x/32 (run)     |   | eth0 A/32, default via 169.254.1.1       |
#   +-----------------------------+   | busybox httpd :80                        |
#                                     +------------------------------------------+
#
# podman makes the container's namespace itself (/run/netns/netns-<uuid>):
# its name is podman's, not ours; `podman rm -f` (and this test's cleanup,
# `podman rm -af`) deletes it.
#
# Recipe for these machines (issue 5): runc (crun refuses the hybrid cgroup
# layout), cgroup_manager cgroupfs and events_logger file (no systemd),
# default_ulimits (the sandbox cannot raise limits), nsenter --net rather
# than `ip netns exec` (which remounts /sys: runc then finds no cgroups).
#
set -u
. "$(dirname "$0")/../lib.sh"
pt_init podman
PETREL="$B/petrel"
pt_need_bins "$PETRELCTL" "$FELIX" "$PETREL" "$DSCTL"
pt_need_tools jq nsenter ncat
for t in podman runc busybox; do
	if ! command -v "$t" >/dev/null 2>&1; then
		skip "podman" "$t is not installed (make deps)"
		exit 0
	fi
done
BUSYBOX=$(command -v busybox)

PD="$TMP/podman"
mkdir -p "$PD/cni/bin" "$PD/cni/net.d" "$PD/root" "$PD/run" "$PD/tmp" "$PD/cache"
cp "$PETREL" "$PD/cni/bin/petrel"

pt_node
felix_start
felix_wait_ready || { fail "felix answers status" "no answer"; exit 1; }
pass "felix answers status"

# The shipped conflist (petrel, then tuning), pointed at this node's config.
if [ -x /usr/lib/cni/tuning ]; then
	cp /usr/lib/cni/tuning "$PD/cni/bin/"
	jq --arg c "$CONF" '.plugins[0].petrelConfig = $c' "$PT_ROOT/contrib/cni/petrel.conflist"
else
	jq --arg c "$CONF" '.plugins[0].petrelConfig = $c | .plugins |= [.[0]]' \
		"$PT_ROOT/contrib/cni/petrel.conflist"
fi >"$PD/cni/net.d/petrel.conflist" || { fail "setup" "contrib/cni/petrel.conflist"; exit 1; }
cat >"$PD/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "private"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$PD/events.log"
tmp_dir = "$PD/tmp"

[network]
network_backend = "cni"
cni_plugin_dirs = ["$PD/cni/bin"]
network_config_dir = "$PD/cni/net.d"
EOF
cat >"$PD/storage.conf" <<EOF
[storage]
driver = "vfs"
runroot = "$PD/run"
graphroot = "$PD/root"
EOF

# pm ARGS...: podman with this test's configuration, in the node's namespace.
pm() {
	CONTAINERS_CONF="$PD/containers.conf" CONTAINERS_STORAGE_CONF="$PD/storage.conf" \
		XDG_CACHE_HOME="$PD/cache" timeout 60 \
		nsenter --net="/run/netns/$NODE" podman "$@"
}
# The containers this test made go before the namespaces do (their
# namespaces are podman's: `rm` deletes them); then the usual cleanup.
podman_cleanup() {
	[ "$PT_KEEP" = 1 ] && return 0
	[ -f "$PD/containers.conf" ] && pm rm -af -t 0 >/dev/null 2>&1
	return 0
}
podman_exit() {
	local rc=$?
	podman_cleanup
	(exit "$rc")
	pt_cleanup
}
trap podman_exit EXIT

# --- the image: busybox-static and its applet links, `podman import`ed ---
mkdir -p "$PD/rootfs/bin" "$PD/rootfs/etc" "$PD/rootfs/tmp" "$PD/rootfs/www"
cp "$BUSYBOX" "$PD/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$PD/rootfs/bin/$a"
done
echo "petrel-podman-ok" >"$PD/rootfs/www/index.html"
tar -C "$PD/rootfs" -cf "$PD/rootfs.tar" .
if ! pm import --change 'CMD ["/bin/sh"]' "$PD/rootfs.tar" localhost/pt-busybox:latest \
	>"$TMP/import.out" 2>&1; then
	skip "podman" "podman cannot import an image here: $(pt_oneline <"$TMP/import.out")"
	exit 0
fi
pass "podman import: localhost/pt-busybox from busybox-static"
IMG=localhost/pt-busybox:latest

# Can podman run a container at all here (no network)?
if ! pm run --rm --network none "$IMG" /bin/true >"$TMP/probe.out" 2>&1; then
	skip "podman" "podman cannot run a container here: $(pt_oneline <"$TMP/probe.out")"
	exit 0
fi
pass "podman run --network none (runc, cgroupfs)"

expect_ok "pool create" ctl pool create p1 --cidr 10.65.0.0/16
expect_ok "run web (the petrelctl workload to talk to)" ctl run --name web
WEB=$OUT

pm_ip() { # NAME: the container's address on eth0, from inside
	pm exec "$1" ip -4 -o addr show dev eth0 2>/dev/null |
		sed -n 's|.* inet \([0-9.]*\)/32 .*|\1|p'
}
ipam_clean() {
	ctl -o json ipam check 2>/dev/null | jq -e '.leaks == []'
}
hostport_keys() { # (1 when dsctl fails: no list is not an empty list)
	local o
	o=$("$DSCTL" "sqlite:$DB" list /petrel/hostports/) || return 1
	[ -z "$o" ] || printf '%s\n' "$o" | cut -f1
}
no_hostports() { local o; o=$(hostport_keys) && [ -z "$o" ]; }
HTTPD=(httpd -f -p 80 -h /www)
# HTTP_GET ADDR PORT: fetches the page and checks it, in whatever namespace
# it runs in (busybox-static's wget crashes in its name service code on the
# host: ncat it is).
HTTP_GET="$TMP/http_get.sh"
cat >"$HTTP_GET" <<'EOF'
printf 'GET / HTTP/1.0\r\n\r\n' | ncat -w 3 "$1" "$2" | grep -q petrel-podman-ok
EOF

# --- podman run --network petrel ---
expect_ok "podman run -d --network petrel (c1, httpd)" \
	pm run -d --name c1 --network petrel "$IMG" "${HTTPD[@]}"
A1=$(pm_ip c1)
check "c1: eth0 has a /32 ($A1) from the pool" sh -c "echo '$A1' | grep -Eq '^10\.65\.[0-9]+\.[0-9]+$'"
pm exec c1 ip -4 route show >"$TMP/c1.routes" 2>&1
check "c1: default via 169.254.1.1 dev eth0" grep -q '^default via 169.254.1.1 dev eth0' "$TMP/c1.routes"
check "c1: 169.254.1.1 dev eth0 scope link" grep -q '^169.254.1.1 dev eth0 scope link' "$TMP/c1.routes"
pm inspect c1 >"$TMP/c1.inspect" 2>&1
# shellcheck disable=SC2016 # $a is a jq variable
check "podman inspect: network petrel, $A1/32, gateway 169.254.1.1" \
	jq -e --arg a "$A1" '.[0].NetworkSettings.Networks.petrel | .IPAddress == $a and .IPPrefixLen == 32 and .Gateway == "169.254.1.1"' "$TMP/c1.inspect"
if [ -x "$PD/cni/bin/tuning" ]; then
	check "c1: tuning ran after petrel (chained): eth0 accept_redirects 0" \
		test "$(pm exec c1 cat /proc/sys/net/ipv4/conf/eth0/accept_redirects 2>&1)" = 0
else
	skip "c1: tuning ran after petrel (chained)" "no tuning plugin at $PD/cni/bin/tuning"
fi
SB1=$(jq -r '.[0].NetworkSettings.SandboxKey // empty' "$TMP/c1.inspect" 2>/dev/null)
check "c1's network namespace (podman's SandboxKey '$SB1') exists" sh -c "[ -n '$SB1' ] && [ -e '$SB1' ]"
HOSTIF1=$(wl_ifname c1)
check "node: felix's route $A1/32 proto 87 dev $HOSTIF1" \
	sh -c "ip -n $NODE -4 route show $A1/32 proto 87 | grep -q 'dev $HOSTIF1'"
ctl ls >"$TMP/ls" 2>&1
check "petrelctl ls shows c1 routed $A1/32 (the container's name)" \
	grep -Eq "^c1[[:space:]]+routed[[:space:]]+$A1/32[[:space:]]+ptl" "$TMP/ls"
check "ping c1 -> web $WEB" pm exec c1 ping -c 2 -i 0.2 -W 2 "$WEB"
check "ping web -> c1 $A1" ctl exec web -- ping -c 2 -i 0.2 -W 2 "$A1"
check "web -> c1 http://$A1/ (busybox httpd in the container)" \
	ctl exec web -- sh "$HTTP_GET" "$A1" 80
check "ipam check clean with c1" ipam_clean

# --- -p HOSTPORT:PORT: runtimeConfig.portMappings -> the WorkloadEndpoint's ports ---
expect_ok "podman run -d -p 18080:80 (c2)" \
	pm run -d --name c2 --network petrel -p 18080:80 -p 15353:53/udp "$IMG" "${HTTPD[@]}"
A2=$(pm_ip c2)
ctl -o json inspect c2 >"$TMP/c2.json" 2>&1
check "c2's WorkloadEndpoint: spec.ports has tcp 18080 -> 80 ($(jq -c '.spec.ports' "$TMP/c2.json" 2>/dev/null))" \
	jq -e '.spec.ports | any(.hostPort == 18080 and .containerPort == 80 and (.protocol // "tcp") == "tcp" and ((.hostIP // "0.0.0.0") == "0.0.0.0"))' "$TMP/c2.json"
check "c2's WorkloadEndpoint: spec.ports has udp 15353 -> 53" \
	jq -e '.spec.ports | any(.hostPort == 15353 and .containerPort == 53 and .protocol == "udp")' "$TMP/c2.json"
hostport_keys >"$TMP/hp"
check "host ports reserved: node1/tcp-18080 and node1/udp-15353 ($(pt_oneline <"$TMP/hp"))" \
	sh -c "grep -qx /petrel/hostports/node1/tcp-18080 '$TMP/hp' && grep -qx /petrel/hostports/node1/udp-15353 '$TMP/hp'"
ctl port c2 >"$TMP/port" 2>&1
check "petrelctl port c2: 80/tcp -> 0.0.0.0:18080 ($(pt_oneline <"$TMP/port"))" \
	grep -qx '80/tcp -> 0.0.0.0:18080' "$TMP/port"
# felix publishes a WorkloadEndpoint's ports with DNAT in table inet petrel.
check "felix published c2's ports (dnat in petrelctl nft)" sh -c "'$PETRELCTL' -c '$CONF' nft | grep -q dnat"
check "outside (pt-$ID-ext) -> $NODE_IP:18080 -> c2:80" \
	wait_for 20 0.1 ip netns exec "$EXT" sh "$HTTP_GET" "$NODE_IP" 18080
check "node -> 127.0.0.1:18080 -> c2:80" \
	ip netns exec "$NODE" sh "$HTTP_GET" 127.0.0.1 18080
check "workload web -> $NODE_IP:18080 -> c2:80" \
	ctl exec web -- sh "$HTTP_GET" "$NODE_IP" 18080

# A second container asking for the same host port: a CNI error naming the
# holder, and nothing left behind.
PT_SNAP_NOREV=1 pt_snapshot "$TMP/before"
expect_err "podman run -p 18080:80 again (c3): refused, port taken by c2" \
	'port tcp/18080 is already published by workload c2' \
	pm run -d --name c3 --network petrel -p 18080:80 "$IMG" "${HTTPD[@]}"
pm rm -f -t 0 c3 >/dev/null 2>&1
PT_SNAP_NOREV=1 pt_snapshot "$TMP/after"
# iproute2 may say this of a link while podman deletes a namespace: noise.
sed -i '/Peer netns reference is invalid/d' "$TMP/before" "$TMP/after"
same_files "c3 refused: nothing left behind (datastore, links, routes)" "$TMP/before" "$TMP/after"
check "c3 refused: ipam check clean" ipam_clean

# The CLI and the plugin share the reservations: each refuses the other's.
expect_err "petrelctl run -p 18080:80 while c2 holds it: refused" \
	'port tcp/18080 is already published by workload c2' ctl run --name pr1 -p 18080:80
expect_ok "petrelctl run --name pr2 -p 18081:80" ctl run --name pr2 -p 18081:80
expect_err "podman run -p 18081:80 while pr2 holds it: refused" \
	'port tcp/18081 is already published by workload pr2' \
	pm run -d --name c5 --network petrel -p 18081:80 "$IMG" "${HTTPD[@]}"
pm rm -f -t 0 c5 >/dev/null 2>&1
expect_ok "petrelctl rm pr2" ctl rm pr2

# --- podman rm -f: everything given back ---
expect_ok "podman rm -f c1 c2" pm rm -f -t 0 c1 c2
check "after rm: ipam check clean" ipam_clean
ctl ls >"$TMP/ls2" 2>&1
check "after rm: petrelctl ls shows neither c1 nor c2" sh -c "! grep -Eq '^c[12][[:space:]]' '$TMP/ls2'"
check "after rm: only web's address in use" \
	test "$(ctl -o json ipam show 2>/dev/null | jq '[.pools[].used] | add')" = 1
check "after rm: no host port reservation left" no_hostports
check "after rm: routes $A1, $A2 gone (bounded wait)" \
	wait_for 50 0.1 sh -c "[ -z \"\$(ip -n $NODE -4 route show proto 87 | grep -E '^($A1|$A2) ')\" ]"
podman_ends_gone() { [ "$(node_ptl_links | grep -vc "^$(wl_ifname web)$")" = 0 ]; }
check "after rm: host ends gone (the namespace's teardown or felix's sweep; bounded wait)" wait_for 100 0.05 podman_ends_gone
check "after rm: c1's network namespace (podman's SandboxKey '$SB1') gone" sh -c "[ -n '$SB1' ] && [ ! -e '$SB1' ]"

# The port is free again: a new container gets it.
expect_ok "podman run --ip 10.65.3.7 -p 18080:80 after c2 left (c4)" \
	pm run -d --name c4 --network petrel --ip 10.65.3.7 -p 18080:80 "$IMG" "${HTTPD[@]}"
check "c4: the address asked for (runtimeConfig.ips): 10.65.3.7" test "$(pm_ip c4)" = 10.65.3.7
check "outside -> $NODE_IP:18080 -> c4:80 (the port follows its new owner)" \
	wait_for 20 0.1 ip netns exec "$EXT" sh "$HTTP_GET" "$NODE_IP" 18080
expect_ok "podman rm -f c4" pm rm -f -t 0 c4
check "after rm c4: ipam check clean" ipam_clean
check "after rm c4: no host port reservation left (dsctl answers)" \
	sh -c "hp=\$('$DSCTL' 'sqlite:$DB' list /petrel/hostports/) && [ -z \"\$hp\" ]"

felix_stop TERM
check "felix exits 0 on SIGTERM" test "$FELIX_RC" = 0
pt_end
