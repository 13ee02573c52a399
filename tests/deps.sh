#!/usr/bin/env bash
# `make deps`: installs every Debian package petrel needs to build, test and
# run the demo, and only those missing. Idempotent: with all present it
# changes nothing.
set -eu
pkgs=(
	build-essential pkg-config clang
	libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev libyaml-dev
	libsqlite3-dev libjansson-dev libcurl4-openssl-dev libcmocka-dev
	iproute2 iputils-ping procps psmisc socat ncat iperf3 nftables jq
	bird2 frr containernetworking-plugins valgrind
	# test_podman.sh: podman with its CNI backend, runc (crun refuses the
	# hybrid cgroup layout of these machines), a busybox image made locally.
	podman runc busybox-static
	# etcd: the many-node datastore; tests and the demo start their own
	# members inside their namespaces (the package's service is never started).
	etcd-server etcd-client
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Daemons among these packages (etcd, frr, bird) are started by petrel's
# tests inside their own namespaces, never as the machine's services: a
# policy-rc.d that refuses every start holds for the install (only when the
# machine has none of its own), and is removed after it.
guard=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	guard=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\n# petrel deps.sh: no service starts during this install\nexit 101\n' >"$guard"
	chmod 755 "$guard"
	trap 'rm -f "$guard"' EXIT
fi
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
