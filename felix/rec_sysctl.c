/*
 * rec_sysctl: the /proc/sys side of the reconcile pass (reconcile.c): the
 * host end's sysctls an endpoint wants (reconcile.c's header says why
 * each, and why rp_filter and route_localnet fail closed), and the node's
 * ip_forward. Values come from what netlink reported (ktable.c); /proc is
 * read only when netlink did not say, and written only when they differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "felix/felix.h"

int rec_proc_read(const char *path, int *v)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		r = -errno;
	else if (n == 0)
		r = -EIO;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	*v = (int)strtol(buf, NULL, 10);
	return 0;
}

int rec_proc_write(const char *path, int v)
{
	char buf[16];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n, r = 0;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", v);
	if (write(fd, buf, (size_t)n) != n)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* ---------- the endpoint's sysctls ---------- */

enum { SC_PROXY_ARP, SC_FORWARDING, SC_PROXY_DELAY, SC_ACCEPT_RA,
       SC_RP_FILTER, SC_ROUTE_LOCALNET, SC_N };
_Static_assert(SC_N == REC_SYSCTLS, "REC_SYSCTLS counts the sysctls");

static const struct {
	const char *fmt;	/* /proc/sys path with %s for the interface */
	const char *name;	/* sysctl name with %s */
	int want;
	bool v6;
} sysctls[SC_N] = {
	[SC_PROXY_ARP] = { "/proc/sys/net/ipv4/conf/%s/proxy_arp",
			   "net.ipv4.conf.%s.proxy_arp", 1, false },
	[SC_FORWARDING] = { "/proc/sys/net/ipv4/conf/%s/forwarding",
			    "net.ipv4.conf.%s.forwarding", 1, false },
	[SC_PROXY_DELAY] = { "/proc/sys/net/ipv4/neigh/%s/proxy_delay",
			     "net.ipv4.neigh.%s.proxy_delay", 0, false },
	[SC_ACCEPT_RA] = { "/proc/sys/net/ipv6/conf/%s/accept_ra",
			   "net.ipv6.conf.%s.accept_ra", 0, true },
	/* strict: the workload's own /32 is the only source that routes back
	 * out of its host end (the kernel's anti-spoofing, under the table's) */
	[SC_RP_FILTER] = { "/proc/sys/net/ipv4/conf/%s/rp_filter",
			   "net.ipv4.conf.%s.rp_filter", 1, false },
	/* a port published on 127.0.0.1 is DNATed to the workload: the
	 * kernel routes a 127/8 source out of this link only with this (the
	 * anti-spoofing set still drops any such source coming in); its want
	 * is sc_want's */
	[SC_ROUTE_LOCALNET] = { "/proc/sys/net/ipv4/conf/%s/route_localnet",
				"net.ipv4.conf.%s.route_localnet", 1, false },
};

/* The value the endpoint wants, or -1: leave it as it is (route_localnet
 * before felix knows whether its table is in the kernel: a restart finding
 * its table in place changes nothing). */
static int sc_want(struct felix *f, const struct fep *ep, int which)
{
	if (which != SC_ROUTE_LOCALNET)
		return sysctls[which].want;
	switch (pol_guard(f)) {
	case POL_GUARD_YES:
		return ep->has_ports ? 1 : 0;
	case POL_GUARD_NO:
		return 0;
	default:
		return -1;
	}
}

static int sc_get(const struct klink *l, int which)
{
	switch (which) {
	case SC_PROXY_ARP: return l->proxy_arp;
	case SC_FORWARDING: return l->forwarding;
	case SC_PROXY_DELAY: return l->proxy_delay;
	case SC_ROUTE_LOCALNET: return l->route_localnet;
	case SC_RP_FILTER: return l->rp_filter;
	default: return l->accept_ra;
	}
}

static void sc_put(struct klink *l, int which, int v)
{
	switch (which) {
	case SC_PROXY_ARP: l->proxy_arp = (int8_t)v; break;
	case SC_FORWARDING: l->forwarding = (int8_t)v; break;
	case SC_PROXY_DELAY: l->proxy_delay = v; break;
	case SC_ROUTE_LOCALNET: l->route_localnet = (int8_t)v; break;
	case SC_RP_FILTER: l->rp_filter = (int8_t)v; break;
	default: l->accept_ra = (int8_t)v; break;
	}
}

/* True when the sysctl holds its wanted value (after writing it, when
 * apply). */
static bool sc_check(struct felix *f, struct fep *ep, struct klink *l,
		     int which, bool apply, char *why, size_t wl)
{
	char path[96], name[80];
	int v = sc_get(l, which), r, want = sc_want(f, ep, which);

	if (want < 0 || v == want)
		return true;
	/* accept_ra unknown: the link dump carried no IPv6 conf, IPv6 is off
	 * for it; nothing to do. */
	if (sysctls[which].v6 && v < 0)
		return true;
	snprintf(path, sizeof(path), sysctls[which].fmt, l->name);
	snprintf(name, sizeof(name), sysctls[which].name, l->name);
	if (v < 0) {
		/* Netlink did not tell (a link that appeared since the last
		 * neighbour-table dump): read it, it is one small file. */
		if (f->kio->proc_read(path, &v) == 0) {
			sc_put(l, which, v);
			if (v == want)
				return true;
		}
	}
	rec_why_set(why, wl, "%s is %d, not %d", name, v, want);
	if (!apply || !f->writes_left)
		return false;
	f->writes_left--;
	r = f->kio->proc_write(path, want);
	if (r == -ENOENT && sysctls[which].v6) {
		sc_put(l, which, -1);	/* IPv6 went away: quietly nothing */
		return true;
	}
	if (r < 0) {
		log_err("sysctl %s: writing %d failed: %s", name,
			want, strerror(-r));
		rec_ep_set_err(ep, "sysctl %s: %s", name, strerror(-r));
		return false;
	}
	if (v < 0)
		log_info("sysctl %s unknown: set %d", name, want);
	else
		log_info("sysctl %s was %d: set %d", name, v, want);
	sc_put(l, which, want);
	f->changes++;
	return true;
}

bool rec_ep_sysctls(struct felix *f, struct fep *ep, struct klink *l,
		    bool apply, char *why, size_t wl, bool *rp_ok)
{
	bool ok = true;

	*rp_ok = true;
	for (int i = 0; i < SC_N; i++)
		if (!sc_check(f, ep, l, i, apply, why, wl)) {
			ok = false;
			if (i == SC_RP_FILTER)
				*rp_ok = false;
		}
	return ok;
}

/* ---------- the global sysctl ---------- */

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

#define RP_FILTER_ALL "/proc/sys/net/ipv4/conf/all/rp_filter"

void rec_check_ip_forward(struct felix *f)
{
	static bool loose_said;
	int v;

	if (f->kio->proc_read(IP_FORWARD, &v) == 0)
		f->ip_forward = v ? 1 : 0;
	/* The kernel uses the larger of all's and the interface's rp_filter:
	 * all=2 (loose) makes the host ends' strict check loose (a forged
	 * source passes when any route leads back to it). The node's global
	 * setting is its owner's: said, once per felix. */
	if (!loose_said && f->kio->proc_read(RP_FILTER_ALL, &v) == 0 && v == 2) {
		loose_said = true;
		log_err("sysctl net.ipv4.conf.all.rp_filter is 2 (loose): the kernel's strict source check of workload interfaces is loose too; set it to 0 or 1");
	}
}

void rec_fix_ip_forward(struct felix *f)
{
	int r;

	if (f->ip_forward != 0)
		return;
	r = f->kio->proc_write(IP_FORWARD, 1);
	if (r < 0) {
		log_err("sysctl net.ipv4.ip_forward: writing 1 failed: %s",
			strerror(-r));
		f->ip_forward = -1;	/* again at the next resync */
		return;
	}
	log_info("sysctl net.ipv4.ip_forward was 0: set 1");
	f->ip_forward = 1;
	f->changes++;
}
