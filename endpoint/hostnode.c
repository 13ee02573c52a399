/*
 * hostnode: what a published port may not take from the node (the contract
 * is in endpoint.h, "the node's own").
 *
 * Job: read the node's IPv4 addresses and its listening sockets (the
 * network namespace this process is in: petrelctl and the CNI plugin enter
 * the node's `netns:` first), and judge each published port against them:
 * a host IP must be one of the node's addresses (127.0.0.0/8 included: it
 * is published for the node's own clients only, see policy/compile.c); a
 * port a listener of the node uses, and the BGP port, are refused unless
 * the node's config lists them in allowHostPorts.
 *
 * Invariants: nothing here writes; a failure names the port, the address
 * and the node, and is found before any reservation or address is taken.
 * The nft rule checks the address again (fib daddr type local), so a record
 * written by hand captures nothing either.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/ip4.h"
#include "endpoint/endpoint.h"
#include "endpoint/ep_priv.h"
#include "common/hex.h"

#define LISTENERS_MAX 65536	/* bounds what /proc can make us hold */

void endpoint_node_clear(struct endpoint_node *n)
{
	if (!n)
		return;
	free(n->addrs);
	free(n->ls);
	memset(n, 0, sizeof(*n));
}

static int node_addr_add(struct endpoint_node *n, uint32_t addr, unsigned plen,
			 bool loopback)
{
	struct endpoint_addr *v;

	if (n->n_addrs % 16 == 0) {
		v = realloc(n->addrs, (n->n_addrs + 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		n->addrs = v;
	}
	n->addrs[n->n_addrs++] = (struct endpoint_addr){ addr, (uint8_t)plen, loopback };
	return 0;
}

static int node_listener_add(struct endpoint_node *n, uint8_t proto, uint16_t port,
			     uint32_t addr)
{
	struct endpoint_listener *v;

	if (n->n_ls >= LISTENERS_MAX)
		return -E2BIG;
	if (n->n_ls % 64 == 0) {
		v = realloc(n->ls, (n->n_ls + 64) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		n->ls = v;
	}
	n->ls[n->n_ls++] = (struct endpoint_listener){ proto, port, addr };
	return 0;
}

static unsigned mask_len(uint32_t m)
{
	unsigned l = 0;

	while (l < 32 && (m & (0x80000000u >> l)))
		l++;
	return l;
}

static int node_addrs_read(struct endpoint_node *n)
{
	struct ifaddrs *ifa, *i;
	int r = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i && r == 0; i = i->ifa_next) {
		const struct sockaddr_in *a = (const void *)i->ifa_addr;
		const struct sockaddr_in *m = (const void *)i->ifa_netmask;

		if (!a || a->sin_family != AF_INET)
			continue;
		r = node_addr_add(n, ntohl(a->sin_addr.s_addr),
				  m ? mask_len(ntohl(m->sin_addr.s_addr)) : 32,
				  i->ifa_flags & IFF_LOOPBACK);
	}
	freeifaddrs(ifa);
	return r;
}

/* One hex digit's value, or -1. */
/* n hex digits of s into *v; the number of digits read (n), or -1. */
static int hexn(const char *s, int n, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		int h = hex_digit(s[i]);

		if (h < 0)
			return -1;
		*v = *v << 4 | (uint32_t)h;
	}
	return n;
}

int endpoint_node_parse_proc(struct endpoint_node *n, uint8_t proto, bool v6,
			     const char *text)
{
	const char *line = text;
	int r = 0;

	/* the first line is the header */
	line = strchr(line, '\n');
	while (line && r == 0) {
		const char *p = line + 1, *end = strchr(p, '\n');
		uint32_t w[4] = { 0 }, port, st, addr = 0;
		bool ok = true;
		int k;

		line = end;
		while (*p == ' ')
			p++;
		/* "sl:" */
		while (*p && *p != ':' && *p != '\n')
			p++;
		if (*p != ':')
			continue;
		p++;
		while (*p == ' ')
			p++;
		for (k = 0; k < (v6 ? 4 : 1) && ok; k++) {
			uint32_t raw;

			ok = hexn(p, 8, &raw) == 8;
			p += 8;
			/* the kernel prints each 32-bit word of the address
			 * as it lies in memory (127.0.0.1 is 0100007F on a
			 * little-endian machine) */
			w[k] = ntohl(raw);
		}
		if (!ok || *p != ':' || hexn(p + 1, 4, &port) != 4)
			continue;
		p += 5;
		while (*p == ' ')
			p++;
		/* rem_address, then st */
		while (*p && *p != ' ' && *p != '\n')
			p++;
		while (*p == ' ')
			p++;
		if (hexn(p, 2, &st) != 2)
			continue;
		/* TCP: LISTEN (0A); UDP: unconnected (07), the ones that
		 * receive what any client sends */
		if (st != (proto == IPPROTO_TCP ? 0x0a : 0x07))
			continue;
		if (!v6) {
			addr = w[0];
		} else if (!w[0] && !w[1] && !w[2] && !w[3]) {
			addr = 0;	/* [::]: IPv4 too, unless v6only */
		} else if (!w[0] && !w[1] && w[2] == 0xffff) {
			addr = w[3];	/* ::ffff:a.b.c.d */
		} else {
			continue;	/* an IPv6 address: no IPv4 port of ours */
		}
		if (port)
			r = node_listener_add(n, proto, (uint16_t)port, addr);
	}
	return r == -E2BIG ? 0 : r;
}

/* The whole of a /proc file (they do not stat with a size). */
static char *read_all(const char *path, int *err)
{
	FILE *f = fopen(path, "re");
	size_t len = 0, cap = 0;
	char *buf = NULL;

	*err = 0;
	if (!f) {
		*err = -errno;
		return NULL;
	}
	for (;;) {
		size_t got;

		if (cap - len < 4097) {
			char *b;

			if (cap > (64u << 20)) {
				*err = -E2BIG;
				break;
			}
			b = realloc(buf, cap ? cap * 2 : 16384);
			if (!b) {
				*err = -ENOMEM;
				break;
			}
			buf = b;
			cap = cap ? cap * 2 : 16384;
		}
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f) && !*err)
		*err = -EIO;
	fclose(f);
	if (*err) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	return buf;
}

int endpoint_node_probe(struct endpoint_node *n, struct endpoint_err *e)
{
	static const struct { const char *file; uint8_t proto; bool v6; } f[] = {
		{ "tcp", IPPROTO_TCP, false }, { "tcp6", IPPROTO_TCP, true },
		{ "udp", IPPROTO_UDP, false }, { "udp6", IPPROTO_UDP, true },
	};
	int r;

	memset(n, 0, sizeof(*n));
	if ((r = node_addrs_read(n)) < 0) {
		endpoint_node_clear(n);
		return ep_fail(e, EP_PORT, r, "reading the node's addresses: %s",
			       strerror(-r));
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char path[64], *text;

		/* thread-self: the namespace this thread is in now */
		snprintf(path, sizeof(path), "/proc/thread-self/net/%s", f[i].file);
		text = read_all(path, &r);
		if (!text && r == -ENOENT && f[i].v6)
			continue;	/* no IPv6 on this kernel */
		if (text)
			r = endpoint_node_parse_proc(n, f[i].proto, f[i].v6, text);
		free(text);
		if (r < 0) {
			endpoint_node_clear(n);
			return ep_fail(e, EP_PORT, r, "reading the node's listeners (%s): %s",
				       path, strerror(-r));
		}
	}
	n->probed = true;
	return 0;
}

bool endpoint_node_has_addr(const struct endpoint_node *n, uint32_t addr)
{
	for (size_t i = 0; i < n->n_addrs; i++) {
		const struct endpoint_addr *a = &n->addrs[i];
		uint32_t m = a->plen ? 0xffffffffu << (32 - a->plen) : 0;

		if (a->addr == addr)
			return true;
		/* a loopback interface's prefix is local as a whole (the
		 * kernel's local route 127.0.0.0/8) */
		if (a->loopback && a->plen >= 8 && (a->addr & m) == (addr & m))
			return true;
	}
	return false;
}

static bool port_allowed(const uint16_t *allow, size_t n_allow, uint16_t port)
{
	for (size_t i = 0; i < n_allow; i++)
		if (allow[i] == port)
			return true;
	return false;
}

/* A listener of n that traffic to host_ip:port/proto would have reached
 * (host_ip 0: every address of the node); NULL when none. */
static const struct endpoint_listener *listener_of(const struct endpoint_node *n,
						    uint8_t proto, uint16_t port,
						    uint32_t host_ip)
{
	for (size_t i = 0; i < n->n_ls; i++) {
		const struct endpoint_listener *l = &n->ls[i];

		if (l->proto == proto && l->port == port &&
		    (!host_ip || !l->addr || l->addr == host_ip))
			return l;
	}
	return NULL;
}

int endpoint_port_forbidden(const struct endpoint_node *n, const uint16_t *allow,
			    size_t n_allow, const struct wep_port *p, char *why,
			    size_t len)
{
	const char *proto = p->proto == IPPROTO_UDP ? "udp" : "tcp";
	const struct endpoint_listener *l;
	char ab[INET_ADDRSTRLEN];

	if (port_allowed(allow, n_allow, p->host_port))
		return 0;
	if (p->host_port == ENDPOINT_BGP_PORT) {
		snprintf(why, len, "port %s/%u is the BGP port of the node: not published "
			 "unless allowHostPorts in the node's config lists it", proto,
			 (unsigned)p->host_port);
		return -EACCES;
	}
	l = listener_of(n, p->proto, p->host_port, p->host_ip);
	if (l) {
		ip4_fmt(l->addr, ab);
		snprintf(why, len, "port %s/%u is in use on the node (a listener on "
			 "%s:%u): not published unless allowHostPorts in the node's "
			 "config lists it", proto, (unsigned)p->host_port,
			 l->addr ? ab : "every address", (unsigned)p->host_port);
		return -EADDRINUSE;
	}
	return 0;
}

int endpoint_ports_judge(const struct wep *w, const struct endpoint_node *n,
			 const uint16_t *allow, size_t n_allow, const bool *pick,
			 bool ports, struct endpoint_err *e)
{
	for (size_t i = 0; i < w->n_ports && i < WEP_MAX_PORTS; i++) {
		const struct wep_port *p = &w->ports[i];
		char why[256], ab[INET_ADDRSTRLEN];
		int r;

		if (!ports && p->host_ip && !endpoint_node_has_addr(n, p->host_ip)) {
			ip4_fmt(p->host_ip, ab);
			e->port = *p;
			return ep_fail(e, EP_PORT, -EADDRNOTAVAIL, "hostIP %s of port %s/%u "
				       "is not an address of node %s: a published port "
				       "only takes the node's own addresses", ab,
				       p->proto == IPPROTO_UDP ? "udp" : "tcp",
				       (unsigned)p->host_port, w->node);
		}
		if (!ports || (pick && pick[i]))
			continue;	/* ports_pick skips what is forbidden */
		r = endpoint_port_forbidden(n, allow, n_allow, p, why, sizeof(why));
		if (r < 0) {
			e->port = *p;
			return ep_fail(e, EP_PORT, r, "node %s: %s", w->node, why);
		}
	}
	return 0;
}
