/*
 * kernel: felix's picture of the kernel, and its writes to it.
 *
 * Two rtnetlink sockets (libnl-3 sockets and messages): one subscribed to
 * the link, IPv4 route, neighbour and IPv4 netconf groups (non-blocking, a
 * big receive buffer, read from the epoll loop), one for requests (dumps and
 * writes, answered at once by the kernel). Messages are parsed into felix's
 * own compact tables (struct klink/kroute/kneigh), never libnl caches: at
 * 10,000 endpoints a libnl object per route and neighbour would cost more
 * than the whole budget.
 *
 * What is kept: links whose name has petrel's prefix (with the sysctls the
 * link dump reports in IFLA_AF_SPEC and the neighbour-table dump's
 * proxy_delay), routes of table main with petrel's protocol, and IPv4
 * neighbour entries on petrel's links. Everything else is read and dropped.
 *
 * Writes are batched: each is one message with its own sequence number and
 * NLM_F_ACK, many in one send; the acknowledgements are read back at once
 * and each is mapped to its message, so a failure is logged with its object
 * and the kernel's own text (extended ack). The ACK of a write is the kernel
 * reporting the new state, so the tables are updated from it.
 *
 * Kernel facts this relies on (checked on 6.x): a link set down loses its
 * IPv4 routes without any RTM_DELROUTE, and its neighbour entries with
 * RTM_DELNEIGH; a link deleted loses both. proxy_delay and accept_ra changes
 * send no notification (the periodic resync reads them).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "common/ifname.h"
#include "common/log.h"
#include "felix/felix.h"

#ifndef KERN_EV_RCVBUF
#define KERN_EV_RCVBUF (32 << 20)	/* -D to test the lost-notification path */
#endif
#define KERN_REQ_RCVBUF (4 << 20)
#define KERN_REQ_TIMEOUT_S 5
#define KERN_DUMP_TRIES 5

static uint32_t kroute_hash(uint32_t dst, uint8_t len, uint32_t prio,
			    uint8_t tos)
{
	uint32_t v[3] = { dst, len | (uint32_t)tos << 8, prio };

	return hash_bytes(v, sizeof(v), 0x5bd1e995u);
}

/* ---------- the tables ---------- */

struct klink *kern_link_by_index(struct felix *f, int ifindex)
{
	struct hnode *h = htab_first(&f->links, hash_u32((uint32_t)ifindex, 0));

	for (; h; h = htab_next(h)) {
		struct klink *l = container_of(h, struct klink, by_index);

		if (l->ifindex == ifindex)
			return l;
	}
	return NULL;
}

struct klink *kern_link_by_name(struct felix *f, const char *name)
{
	struct hnode *h = htab_first(&f->links_by_name, hash_str(name));

	for (; h; h = htab_next(h)) {
		struct klink *l = container_of(h, struct klink, by_name);

		if (!strcmp(l->name, name))
			return l;
	}
	return NULL;
}

struct kroute *kern_route_find(struct felix *f, uint32_t dst, uint8_t len,
			       uint32_t prio, uint8_t tos)
{
	struct hnode *h = htab_first(&f->routes, kroute_hash(dst, len, prio, tos));

	for (; h; h = htab_next(h)) {
		struct kroute *r = container_of(h, struct kroute, by_key);

		if (r->dst == dst && r->len == len && r->prio == prio &&
		    r->tos == tos)
			return r;
	}
	return NULL;
}

struct kneigh *kern_neigh_find(struct felix *f, int ifindex, uint32_t addr)
{
	struct hnode *h = htab_first(&f->neighs, hash_u32((uint32_t)ifindex, addr));

	for (; h; h = htab_next(h)) {
		struct kneigh *n = container_of(h, struct kneigh, by_key);

		if (n->ifindex == ifindex && n->addr == addr)
			return n;
	}
	return NULL;
}

static void route_remove(struct felix *f, struct kroute *r)
{
	htab_del(&f->routes, &r->by_key);
	if (r->oif)
		htab_del(&f->routes_by_oif, &r->by_oif);
	rec_unqueue(&r->q);
	free(r);
}

static void neigh_remove(struct felix *f, struct kneigh *n)
{
	htab_del(&f->neighs, &n->by_key);
	htab_del(&f->neighs_by_if, &n->by_if);
	rec_unqueue(&n->q);
	free(n);
}

/* The kernel dropped the routes through ifindex (link down or gone): so do
 * we, and whoever wanted them is queued. */
static void routes_flush_oif(struct felix *f, int ifindex)
{
	struct hnode *h = htab_first(&f->routes_by_oif, hash_u32((uint32_t)ifindex, 0));

	while (h) {
		struct hnode *next = htab_next(h);
		struct kroute *r = container_of(h, struct kroute, by_oif);

		if (r->oif == ifindex) {
			uint32_t dst = r->dst;
			uint8_t len = r->len;

			route_remove(f, r);
			rec_queue_key(f, dst, len);
		}
		h = next;
	}
}

static void neighs_flush_if(struct felix *f, int ifindex)
{
	struct hnode *h = htab_first(&f->neighs_by_if, hash_u32((uint32_t)ifindex, 0));

	while (h) {
		struct hnode *next = htab_next(h);
		struct kneigh *n = container_of(h, struct kneigh, by_if);

		if (n->ifindex == ifindex)
			neigh_remove(f, n);
		h = next;
	}
}

static void link_remove(struct felix *f, struct klink *l)
{
	routes_flush_oif(f, l->ifindex);
	neighs_flush_if(f, l->ifindex);
	htab_del(&f->links, &l->by_index);
	htab_del(&f->links_by_name, &l->by_name);
	rec_queue_ifname(f, l->name);
	free(l);
}

static struct kroute *route_upsert(struct felix *f, uint32_t dst, uint8_t len,
				   uint32_t prio, uint8_t tos)
{
	struct kroute *r = kern_route_find(f, dst, len, prio, tos);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->dst = dst;
	r->len = len;
	r->prio = prio;
	r->tos = tos;
	r->q.kind = Q_ROUTE;
	dlist_init(&r->q.l);
	if (htab_add(&f->routes, &r->by_key, kroute_hash(dst, len, prio, tos)) < 0) {
		free(r);
		return NULL;
	}
	return r;
}

static void route_set_oif(struct felix *f, struct kroute *r, int oif)
{
	if (r->oif == oif)
		return;
	if (r->oif)
		htab_del(&f->routes_by_oif, &r->by_oif);
	r->oif = 0;
	if (oif && htab_add(&f->routes_by_oif, &r->by_oif,
			    hash_u32((uint32_t)oif, 0)) == 0)
		r->oif = oif;
}

static struct kneigh *neigh_upsert(struct felix *f, int ifindex, uint32_t addr)
{
	struct kneigh *n = kern_neigh_find(f, ifindex, addr);

	if (n)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->ifindex = ifindex;
	n->addr = addr;
	n->q.kind = Q_NEIGH;
	dlist_init(&n->q.l);
	if (htab_add(&f->neighs, &n->by_key, hash_u32((uint32_t)ifindex, addr)) < 0) {
		free(n);
		return NULL;
	}
	if (htab_add(&f->neighs_by_if, &n->by_if, hash_u32((uint32_t)ifindex, 0)) < 0) {
		htab_del(&f->neighs, &n->by_key);
		free(n);
		return NULL;
	}
	return n;
}

/* ---------- parsing ---------- */

static bool attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || nla_len(a) < 4)
		return false;
	memcpy(v, nla_data(a), 4);
	return true;
}

static int8_t clamp8(int32_t v)
{
	return v > 100 ? 100 : v < -1 ? -1 : (int8_t)v;
}

static void link_af_spec(struct klink *l, struct nlattr *spec)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, spec, rem) {
		struct nlattr *t[IFLA_INET6_MAX + 1];
		int32_t v;

		if (nla_type(a) == AF_INET) {
			if (nla_parse_nested(t, IFLA_INET_MAX, a, NULL) < 0 ||
			    !t[IFLA_INET_CONF])
				continue;
			/* An array of u32 indexed by IPV4_DEVCONF_* - 1. */
			if (nla_len(t[IFLA_INET_CONF]) >= 4 * IPV4_DEVCONF_PROXY_ARP) {
				const char *d = nla_data(t[IFLA_INET_CONF]);

				memcpy(&v, d + 4 * (IPV4_DEVCONF_PROXY_ARP - 1), 4);
				l->proxy_arp = clamp8(v);
				memcpy(&v, d + 4 * (IPV4_DEVCONF_FORWARDING - 1), 4);
				l->forwarding = clamp8(v);
				if (nla_len(t[IFLA_INET_CONF]) >= 4 * IPV4_DEVCONF_ROUTE_LOCALNET) {
					memcpy(&v, d + 4 * (IPV4_DEVCONF_ROUTE_LOCALNET - 1), 4);
					l->route_localnet = clamp8(v);
				}
			}
		} else if (nla_type(a) == AF_INET6) {
			if (nla_parse_nested(t, IFLA_INET6_MAX, a, NULL) < 0 ||
			    !t[IFLA_INET6_CONF])
				continue;
			/* An array of s32 indexed by DEVCONF_*. */
			if (nla_len(t[IFLA_INET6_CONF]) >= 4 * (DEVCONF_ACCEPT_RA + 1)) {
				const char *d = nla_data(t[IFLA_INET6_CONF]);

				memcpy(&v, d + 4 * DEVCONF_ACCEPT_RA, 4);
				l->accept_ra = clamp8(v);
			}
		}
	}
}

static void link_msg(struct felix *f, struct nlmsghdr *h)
{
	struct ifinfomsg *ifi = nlmsg_data(h);
	struct nlattr *tb[IFLA_MAX + 1];
	char name[FELIX_IFNAMSIZ] = "";
	struct klink *l;
	bool was_up;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) ||
	    nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return;
	if (tb[IFLA_IFNAME]) {
		size_t n = strnlen(nla_data(tb[IFLA_IFNAME]),
				   (size_t)nla_len(tb[IFLA_IFNAME]));

		if (n < sizeof(name)) {
			memcpy(name, nla_data(tb[IFLA_IFNAME]), n);
			name[n] = '\0';
		}
	}
	l = kern_link_by_index(f, ifi->ifi_index);
	if (h->nlmsg_type == RTM_DELLINK) {
		if (l)
			link_remove(f, l);
		return;
	}
	if (l && name[0] && strcmp(l->name, name)) {
		link_remove(f, l);	/* renamed: another link for us */
		l = NULL;
	}
	if (!l) {
		if (!name[0] || !ifname_is_ours(name))
			return;
		l = calloc(1, sizeof(*l));
		if (!l)
			return;
		l->ifindex = ifi->ifi_index;
		memcpy(l->name, name, sizeof(name));
		l->proxy_arp = l->forwarding = l->accept_ra = l->route_localnet = -1;
		l->proxy_delay = -1;
		if (htab_add(&f->links, &l->by_index, hash_u32((uint32_t)l->ifindex, 0)) < 0) {
			free(l);
			return;
		}
		if (htab_add(&f->links_by_name, &l->by_name, hash_str(l->name)) < 0) {
			htab_del(&f->links, &l->by_index);
			free(l);
			return;
		}
	}
	was_up = l->flags & IFF_UP;
	l->flags = ifi->ifi_flags;
	l->gen = f->kgen;
	if (tb[IFLA_AF_SPEC])
		link_af_spec(l, tb[IFLA_AF_SPEC]);
	if (was_up && !(l->flags & IFF_UP)) {
		routes_flush_oif(f, l->ifindex);
		neighs_flush_if(f, l->ifindex);
	}
	rec_queue_ifname(f, l->name);
}

static void route_msg(struct felix *f, struct nlmsghdr *h)
{
	struct rtmsg *rtm = nlmsg_data(h);
	struct nlattr *tb[RTA_MAX + 1];
	uint32_t table, dst = 0, prio = 0, oif = 0;
	struct kroute *r;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)) ||
	    rtm->rtm_family != AF_INET || rtm->rtm_dst_len > 32 ||
	    nlmsg_parse(h, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return;
	if (!attr_u32(tb[RTA_TABLE], &table))
		table = rtm->rtm_table;
	if (table != RT_TABLE_MAIN)
		return;
	if (attr_u32(tb[RTA_DST], &dst))
		dst = ntohl(dst);
	attr_u32(tb[RTA_PRIORITY], &prio);
	attr_u32(tb[RTA_OIF], &oif);

	if (rtm->rtm_protocol != f->cfg->route_protocol) {
		/* Not ours. Its removal may free a key we were denied; its
		 * replacing ours (ip route replace ... proto X) removed ours
		 * without a deletion notice. */
		if (prio || rtm->rtm_tos)
			return;
		if (h->nlmsg_type == RTM_DELROUTE) {
			struct rowner *o = store_owner_find(f, dst, rtm->rtm_dst_len);

			if (o && o->conflict) {
				o->conflict = false;
				rec_queue_key(f, dst, rtm->rtm_dst_len);
			}
		} else if (h->nlmsg_flags & NLM_F_REPLACE) {
			r = kern_route_find(f, dst, rtm->rtm_dst_len, 0, 0);
			if (r) {
				route_remove(f, r);
				rec_queue_key(f, dst, rtm->rtm_dst_len);
			}
		}
		return;
	}

	r = kern_route_find(f, dst, rtm->rtm_dst_len, prio, rtm->rtm_tos);
	if (h->nlmsg_type == RTM_DELROUTE) {
		if (r) {
			route_remove(f, r);
			rec_queue_key(f, dst, rtm->rtm_dst_len);
		}
		return;
	}
	r = route_upsert(f, dst, rtm->rtm_dst_len, prio, rtm->rtm_tos);
	if (!r)
		return;
	r->type = rtm->rtm_type;
	r->scope = rtm->rtm_scope;
	r->other_nh = tb[RTA_GATEWAY] || tb[RTA_MULTIPATH] || tb[RTA_VIA];
	route_set_oif(f, r, (int)oif);
	r->gen = f->kgen;
	/* No batch is ever in flight while notifications are read: a mark
	 * left by an unanswered write must not outlive it. */
	r->inflight = false;
	rec_queue(f, &r->q);
}

static void neigh_msg(struct felix *f, struct nlmsghdr *h)
{
	struct ndmsg *ndm = nlmsg_data(h);
	struct nlattr *tb[NDA_MAX + 1];
	struct klink *l;
	struct kneigh *n;
	uint32_t addr;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ndm)) ||
	    ndm->ndm_family != AF_INET || (ndm->ndm_flags & NTF_PROXY))
		return;
	l = kern_link_by_index(f, ndm->ndm_ifindex);
	if (!l || nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0 ||
	    !attr_u32(tb[NDA_DST], &addr))
		return;
	addr = ntohl(addr);
	n = kern_neigh_find(f, l->ifindex, addr);
	if (h->nlmsg_type == RTM_DELNEIGH) {
		if (n) {
			neigh_remove(f, n);
			rec_queue_ifname(f, l->name);
		}
		return;
	}
	n = neigh_upsert(f, l->ifindex, addr);
	if (!n)
		return;
	n->state = ndm->ndm_state;
	n->has_mac = tb[NDA_LLADDR] && nla_len(tb[NDA_LLADDR]) == 6;
	if (n->has_mac)
		memcpy(n->mac, nla_data(tb[NDA_LLADDR]), 6);
	n->gen = f->kgen;
	n->inflight = false;
	rec_queue(f, &n->q);
}

static void neightbl_msg(struct felix *f, struct nlmsghdr *h)
{
	struct ndtmsg *ndt = nlmsg_data(h);
	struct nlattr *tb[NDTA_MAX + 1], *p[NDTPA_MAX + 1];
	struct klink *l;
	uint32_t ifindex;
	uint64_t delay;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ndt)) ||
	    ndt->ndtm_family != AF_INET ||
	    nlmsg_parse(h, sizeof(*ndt), tb, NDTA_MAX, NULL) < 0 ||
	    !tb[NDTA_PARMS] ||
	    nla_parse_nested(p, NDTPA_MAX, tb[NDTA_PARMS], NULL) < 0 ||
	    !attr_u32(p[NDTPA_IFINDEX], &ifindex) ||
	    !p[NDTPA_PROXY_DELAY] || nla_len(p[NDTPA_PROXY_DELAY]) < 8)
		return;
	l = kern_link_by_index(f, (int)ifindex);
	if (!l)
		return;
	memcpy(&delay, nla_data(p[NDTPA_PROXY_DELAY]), 8);
	/* Kept in /proc's unit (USER_HZ, centiseconds), so that both sources
	 * read alike in the log; only zero matters. */
	delay = delay ? (delay + 9) / 10 : 0;
	l->proxy_delay = delay > INT32_MAX ? INT32_MAX : (int32_t)delay;
}

static void netconf_msg(struct felix *f, struct nlmsghdr *h)
{
	struct netconfmsg *ncm = nlmsg_data(h);
	struct nlattr *tb[NETCONFA_MAX + 1];
	uint32_t ifindex, v;
	struct klink *l;

	if (h->nlmsg_type != RTM_NEWNETCONF ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(*ncm)) ||
	    ncm->ncm_family != AF_INET ||
	    nlmsg_parse(h, sizeof(*ncm), tb, NETCONFA_MAX, NULL) < 0 ||
	    !attr_u32(tb[NETCONFA_IFINDEX], &ifindex))
		return;
	if ((int32_t)ifindex == NETCONFA_IFINDEX_ALL) {
		if (attr_u32(tb[NETCONFA_FORWARDING], &v))
			f->ip_forward = v ? 1 : 0;
		return;
	}
	l = kern_link_by_index(f, (int)ifindex);
	if (!l)
		return;
	if (attr_u32(tb[NETCONFA_FORWARDING], &v))
		l->forwarding = clamp8((int32_t)v);
	if (attr_u32(tb[NETCONFA_PROXY_NEIGH], &v))
		l->proxy_arp = clamp8((int32_t)v);
	rec_queue_ifname(f, l->name);
}

void kern_msg(struct felix *f, struct nlmsghdr *h)
{
	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		link_msg(f, h);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		route_msg(f, h);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		neigh_msg(f, h);
		break;
	case RTM_NEWNEIGHTBL:
		neightbl_msg(f, h);
		break;
	case RTM_NEWNETCONF:
	case RTM_DELNETCONF:
		netconf_msg(f, h);
		break;
	default:
		break;
	}
}

/* ---------- sockets ---------- */

static int sock_setup(struct nl_sock **out, int rcvbuf, bool events)
{
	struct nl_sock *sk = nl_socket_alloc();
	int fd, one = 1, r;

	if (!sk)
		return -ENOMEM;
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		log_err("netlink: connect: %s", nl_geterror(r));
		nl_socket_free(sk);
		return -EIO;
	}
	fd = nl_socket_get_fd(sk);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* FORCE passes net.core.rmem_max (we are root); else the plain one. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (events) {
		r = nl_socket_add_memberships(sk, RTNLGRP_LINK,
					      RTNLGRP_IPV4_ROUTE, RTNLGRP_NEIGH,
					      RTNLGRP_IPV4_NETCONF, 0);
		if (r == 0)
			r = nl_socket_set_nonblocking(sk);
		if (r < 0) {
			log_err("netlink: subscribe: %s", nl_geterror(r));
			nl_socket_free(sk);
			return -EIO;
		}
	} else {
		struct timeval tv = { KERN_REQ_TIMEOUT_S, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	*out = sk;
	return 0;
}

int kern_open(struct felix *f)
{
	int r;

	f->rbuf = malloc(FELIX_RBUF);
	f->batch = calloc(1, sizeof(*f->batch));
	if (!f->rbuf || !f->batch)
		return -ENOMEM;
	f->ip_forward = -1;
	/* Subscribe before the first dump, so that nothing between the dump
	 * and the subscription goes unseen. */
	r = sock_setup(&f->nl_ev, KERN_EV_RCVBUF, true);
	if (r == 0)
		r = sock_setup(&f->nl_req, KERN_REQ_RCVBUF, false);
	return r;
}

void kern_close(struct felix *f)
{
	nl_socket_free(f->nl_ev);
	nl_socket_free(f->nl_req);
	f->nl_ev = f->nl_req = NULL;
	free(f->rbuf);
	free(f->batch);
	f->rbuf = NULL;
	f->batch = NULL;
}

int kern_ev_fd(const struct felix *f)
{
	return nl_socket_get_fd(f->nl_ev);
}

static int sock_send(struct nl_sock *sk, const void *buf, size_t len)
{
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	ssize_t n;

	do
		n = sendto(nl_socket_get_fd(sk), buf, len, 0,
			   (struct sockaddr *)&k, sizeof(k));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

/* One datagram into f->rbuf: its length, or -errno. */
static ssize_t sock_recv(struct felix *f, struct nl_sock *sk, int flags)
{
	ssize_t n;

	do
		n = recv(nl_socket_get_fd(sk), f->rbuf, FELIX_RBUF,
			 flags | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n > FELIX_RBUF)
		return -EMSGSIZE;
	return n;
}

/* ---------- dumps ---------- */

static int dump_once(struct felix *f, int type, const void *hdr, size_t hdrlen,
		     bool ext_mask)
{
	struct nl_msg *m = nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_DUMP);
	uint32_t seq = ++f->seq;
	bool intr = false;
	int r;

	if (!m)
		return -ENOMEM;
	r = nlmsg_append(m, (void *)hdr, hdrlen, NLMSG_ALIGNTO);
	if (r == 0 && ext_mask)
		r = nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (r < 0) {
		nlmsg_free(m);
		return -ENOMEM;
	}
	nlmsg_hdr(m)->nlmsg_seq = seq;
	r = sock_send(f->nl_req, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
	nlmsg_free(m);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = sock_recv(f, f->nl_req, 0);
		struct nlmsghdr *h;
		int rem;

		if (n < 0)
			return n == -EAGAIN ? -ETIMEDOUT : (int)n;
		rem = (int)n;
		for (h = (struct nlmsghdr *)f->rbuf; nlmsg_ok(h, rem);
		     h = nlmsg_next(h, &rem)) {
			if (h->nlmsg_seq != seq)
				continue;	/* a late answer to an older request */
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			if (h->nlmsg_type == NLMSG_DONE)
				return intr ? -EINTR : 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = nlmsg_data(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error ? e->error : (intr ? -EINTR : 0);
			}
			kern_msg(f, h);
		}
	}
}

/* A dump, again while the kernel says it was interrupted by a change.
 * -EINTR after the last try: what it showed is kept, but not trusted to
 * tell what is gone (no sweep). */
static int dump(struct felix *f, const char *what, int type, const void *hdr,
		size_t hdrlen, bool ext_mask)
{
	int r = -EINTR;

	for (int i = 0; i < KERN_DUMP_TRIES && (r == -EINTR || r == -ENOBUFS); i++)
		r = dump_once(f, type, hdr, hdrlen, ext_mask);
	if (r == -EINTR)
		log_warn("netlink: dump of %s interrupted by changes %d times",
			 what, KERN_DUMP_TRIES);
	else if (r < 0)
		log_err("netlink: dump of %s failed: %s", what, strerror(-r));
	return r;
}

struct sweep_arg {
	struct felix *f;
	int kind;
};

static void sweep_one(struct hnode *h, void *arg)
{
	struct sweep_arg *a = arg;
	struct felix *f = a->f;

	if (a->kind == Q_EP) {		/* links */
		struct klink *l = container_of(h, struct klink, by_index);

		if (l->gen != f->kgen)
			link_remove(f, l);
	} else if (a->kind == Q_ROUTE) {
		struct kroute *r = container_of(h, struct kroute, by_key);

		if (r->gen != f->kgen) {
			uint32_t dst = r->dst;
			uint8_t len = r->len;

			route_remove(f, r);
			rec_queue_key(f, dst, len);
		}
	} else {
		struct kneigh *n = container_of(h, struct kneigh, by_key);

		if (n->gen != f->kgen) {
			struct klink *l = kern_link_by_index(f, n->ifindex);

			neigh_remove(f, n);
			if (l)
				rec_queue_ifname(f, l->name);
		}
	}
}

static void queue_conflicts(struct hnode *h, void *arg)
{
	struct rowner *o = container_of(h, struct rowner, h);

	if (o->conflict)
		rec_queue_key(arg, o->dst, o->len);
}

int kern_dump_routes(struct felix *f)
{
	struct rtmsg rtm = { .rtm_family = AF_INET };
	struct sweep_arg a = { f, Q_ROUTE };
	int r;

	f->kgen++;
	r = dump(f, "routes", RTM_GETROUTE, &rtm, sizeof(rtm), false);
	if (r < 0 && r != -EINTR)
		return r;
	if (r == 0)
		htab_walk(&f->routes, sweep_one, &a);
	f->need_route_dump = false;
	/* Those whose add met a route they did not know of decide now
	 * whether it is a foreign one. */
	htab_walk(&f->owners, queue_conflicts, f);
	return r;
}

int kern_dump_all(struct felix *f)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct ndtmsg ndt = { .ndtm_family = AF_INET };
	struct ndmsg ndm = { .ndm_family = AF_INET };
	struct sweep_arg a = { f, Q_EP };
	int r, ret = 0;

	f->kgen++;
	r = dump(f, "links", RTM_GETLINK, &ifi, sizeof(ifi), true);
	if (r < 0 && r != -EINTR)
		return r;
	if (r == 0)
		htab_walk(&f->links, sweep_one, &a);
	else
		ret = r;
	r = dump(f, "neighbour tables", RTM_GETNEIGHTBL, &ndt, sizeof(ndt), false);
	if (r < 0 && r != -EINTR)
		return r;
	if (r < 0)
		ret = r;
	r = kern_dump_routes(f);
	if (r < 0 && r != -EINTR)
		return r;
	if (r < 0)
		ret = r;
	f->kgen++;
	r = dump(f, "neighbours", RTM_GETNEIGH, &ndm, sizeof(ndm), false);
	if (r < 0 && r != -EINTR)
		return r;
	a.kind = Q_NEIGH;
	if (r == 0)
		htab_walk(&f->neighs, sweep_one, &a);
	else
		ret = r;
	return ret;
}

/* ---------- notifications ---------- */

void kern_events_read(struct felix *f)
{
	size_t msgs = 0;

	f->ev_more = false;
	while (msgs < FELIX_EVENT_MSGS) {
		ssize_t n = sock_recv(f, f->nl_ev, MSG_DONTWAIT);
		struct nlmsghdr *h;
		int rem;

		if (n == -EAGAIN)
			return;
		if (n == -ENOBUFS || n == -EMSGSIZE) {
			if (!f->need_kresync)
				log_warn("netlink: notifications lost (%s): full resync",
					 strerror((int)-n));
			f->need_kresync = true;
			continue;
		}
		if (n < 0) {
			log_err("netlink: reading notifications: %s",
				strerror((int)-n));
			f->need_kresync = true;
			return;
		}
		rem = (int)n;
		for (h = (struct nlmsghdr *)f->rbuf; nlmsg_ok(h, rem);
		     h = nlmsg_next(h, &rem)) {
			kern_msg(f, h);
			msgs++;
		}
	}
	f->ev_more = true;
}

/* ---------- writes ---------- */

static const char *mac_fmt(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* "10.65.0.5/32 dev ptl..." or "blackhole 10.65.0.0/26" */
static const char *route_fmt(const struct kop *op, char *buf, size_t len)
{
	struct ip4_net n = { op->dst, op->len };
	char a[IP4_NETSTRLEN];
	int k;

	ip4_net_fmt(&n, a);
	if (op->type_rt == RTN_UNICAST)
		k = snprintf(buf, len, "%s dev %s", a,
			     op->ifname[0] ? op->ifname : "?");
	else if (op->type_rt == RTN_BLACKHOLE)
		k = snprintf(buf, len, "blackhole %s", a);
	else
		k = snprintf(buf, len, "%s type %u", a, op->type_rt);
	if (op->prio && k > 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k, " metric %" PRIu32, op->prio);
	return buf;
}

static struct nl_msg *op_msg(struct felix *f, const struct kop *op)
{
	struct nl_msg *m = NULL;
	int r = 0;

	switch (op->type) {
	case KOP_LINK_UP: {
		struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
			.ifi_index = op->ifindex, .ifi_flags = IFF_UP,
			.ifi_change = IFF_UP };

		m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK);
		if (m)
			r = nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
		break;
	}
	case KOP_ROUTE_ADD:
	case KOP_ROUTE_REPLACE:
	case KOP_ROUTE_DEL: {
		struct rtmsg rtm = { .rtm_family = AF_INET,
			.rtm_dst_len = op->len, .rtm_tos = op->tos,
			.rtm_table = RT_TABLE_MAIN,
			.rtm_protocol = (uint8_t)f->cfg->route_protocol,
			.rtm_scope = op->scope, .rtm_type = op->type_rt };
		int flags = NLM_F_REQUEST | NLM_F_ACK;

		if (op->type == KOP_ROUTE_ADD)
			flags |= NLM_F_CREATE | NLM_F_EXCL;
		else if (op->type == KOP_ROUTE_REPLACE)
			flags |= NLM_F_CREATE | NLM_F_REPLACE;
		else
			rtm.rtm_scope = RT_SCOPE_NOWHERE;	/* any scope */
		m = nlmsg_alloc_simple(op->type == KOP_ROUTE_DEL ? RTM_DELROUTE
				       : RTM_NEWROUTE, flags);
		if (!m)
			break;
		r = nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO);
		if (r == 0)
			r = nla_put_u32(m, RTA_DST, htonl(op->dst));
		if (r == 0 && op->ifindex)
			r = nla_put_u32(m, RTA_OIF, (uint32_t)op->ifindex);
		if (r == 0 && op->prio)
			r = nla_put_u32(m, RTA_PRIORITY, op->prio);
		break;
	}
	case KOP_NEIGH_SET:
	case KOP_NEIGH_DEL: {
		struct ndmsg ndm = { .ndm_family = AF_INET,
			.ndm_ifindex = op->ifindex };
		int set = op->type == KOP_NEIGH_SET;

		if (set)
			ndm.ndm_state = NUD_PERMANENT;
		m = nlmsg_alloc_simple(set ? RTM_NEWNEIGH : RTM_DELNEIGH,
				       NLM_F_REQUEST | NLM_F_ACK |
				       (set ? NLM_F_CREATE | NLM_F_REPLACE : 0));
		if (!m)
			break;
		r = nlmsg_append(m, &ndm, sizeof(ndm), NLMSG_ALIGNTO);
		if (r == 0)
			r = nla_put_u32(m, NDA_DST, htonl(op->dst));
		if (r == 0 && set)
			r = nla_put(m, NDA_LLADDR, 6, op->mac);
		break;
	}
	}
	if (m && r < 0) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

int kern_write(struct felix *f, const struct kop *op)
{
	struct kbatch *b = f->batch;
	struct nl_msg *m = op_msg(f, op);
	struct nlmsghdr *h;
	size_t len;

	if (!m)
		return -ENOMEM;
	h = nlmsg_hdr(m);
	len = NLMSG_ALIGN(h->nlmsg_len);
	if (b->n == KBATCH_OPS || b->len + len > KBATCH_BUF)
		kern_flush(f);
	h->nlmsg_seq = ++f->seq;
	memcpy(b->buf + b->len, h, h->nlmsg_len);
	memset(b->buf + b->len + h->nlmsg_len, 0, len - h->nlmsg_len);
	b->len += len;
	b->ops[b->n] = *op;
	b->ops[b->n].seq = h->nlmsg_seq;
	b->n++;
	nlmsg_free(m);
	return 0;
}

/* The kernel's own text of an extended ack, or "". */
static void ack_text(struct nlmsghdr *h, char *buf, size_t len)
{
	struct nlmsgerr *e = nlmsg_data(h);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off;

	buf[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (NLMSG_LENGTH(off) >= h->nlmsg_len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)e + NLMSG_ALIGN(off)),
		      (int)(h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(off))),
		      NULL) < 0 || !tb[NLMSGERR_ATTR_MSG])
		return;
	/* %.*s stops at the NUL the attribute's length includes. */
	snprintf(buf, len, " (%.*s)", nla_len(tb[NLMSGERR_ATTR_MSG]),
		 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
}

static void owner_err(struct kop *op, const char *what, int err,
		      const char *ext)
{
	if (op->owner && op->owner->kind == Q_EP)
		rec_ep_set_err(container_of(op->owner, struct fep, q),
			       "%s: %s%s", what, strerror(-err), ext);
}

static void ack_one(struct felix *f, struct kop *op, int err, const char *ext)
{
	char d[96], mac[18], a[IP4_STRLEN];
	struct kroute *r;
	struct kneigh *n;
	struct klink *l;

	switch (op->type) {
	case KOP_LINK_UP:
		if (err) {
			log_err("link %s: set up failed: %s%s", op->ifname,
				strerror(-err), ext);
			owner_err(op, "link up", err, ext);
			break;
		}
		l = kern_link_by_index(f, op->ifindex);
		if (l)
			l->flags |= IFF_UP;
		log_info("link %s %s: set up", op->ifname, op->why);
		f->changes++;
		break;
	case KOP_ROUTE_ADD:
	case KOP_ROUTE_REPLACE:
		route_fmt(op, d, sizeof(d));
		if (err == -EEXIST && op->type == KOP_ROUTE_ADD) {
			/* Someone's route holds the key, or our picture is
			 * stale: no more tries until the routes were read
			 * again, which tells which (ep_eval, check_block). */
			log_debug("route %s: add: exists", d);
			if (op->rkey)
				op->rkey->conflict = true;
			owner_err(op, "route add", err, " (a route that is not petrel's holds it)");
			f->need_route_dump = true;
			break;
		}
		if (err) {
			log_err("route %s: %s failed: %s%s", d,
				op->type == KOP_ROUTE_ADD ? "add" : "replace",
				strerror(-err), ext);
			owner_err(op, "route", err, ext);
			break;
		}
		r = route_upsert(f, op->dst, op->len, op->prio, op->tos);
		if (r) {
			r->type = op->type_rt;
			r->scope = op->scope;
			r->other_nh = false;
			route_set_oif(f, r, op->ifindex);
			r->gen = f->kgen;
		}
		log_info("route %s %s: %s", d, op->why,
			 op->type == KOP_ROUTE_ADD ? "added" : "replaced");
		f->changes++;
		break;
	case KOP_ROUTE_DEL:
		route_fmt(op, d, sizeof(d));
		r = kern_route_find(f, op->dst, op->len, op->prio, op->tos);
		if (err && err != -ESRCH && err != -ENOENT) {
			log_err("route %s: delete failed: %s%s", d,
				strerror(-err), ext);
			if (r)
				r->inflight = false;
			break;
		}
		if (r)
			route_remove(f, r);
		if (!err) {
			log_info("route %s %s: deleted", d, op->why);
			f->changes++;
		}
		break;
	case KOP_NEIGH_SET:
		snprintf(d, sizeof(d), "%s dev %s lladdr %s",
			 ip4_fmt(op->dst, a), op->ifname, mac_fmt(op->mac, mac));
		if (err) {
			log_err("neighbour %s: set failed: %s%s", d,
				strerror(-err), ext);
			owner_err(op, "neighbour", err, ext);
			break;
		}
		n = neigh_upsert(f, op->ifindex, op->dst);
		if (n) {
			n->state = NUD_PERMANENT;
			n->has_mac = true;
			memcpy(n->mac, op->mac, 6);
			n->gen = f->kgen;
		}
		log_info("neighbour %s %s: set", d, op->why);
		f->changes++;
		break;
	case KOP_NEIGH_DEL:
		snprintf(d, sizeof(d), "%s dev %s", ip4_fmt(op->dst, a),
			 op->ifname);
		n = kern_neigh_find(f, op->ifindex, op->dst);
		if (err && err != -ENOENT) {
			log_err("neighbour %s: delete failed: %s%s", d,
				strerror(-err), ext);
			if (n)
				n->inflight = false;
			break;
		}
		if (n)
			neigh_remove(f, n);
		if (!err) {
			log_info("neighbour %s %s: deleted", d, op->why);
			f->changes++;
		}
		break;
	}
}

void kern_flush(struct felix *f)
{
	struct kbatch *b = f->batch;
	uint8_t done[KBATCH_OPS] = { 0 };
	size_t acked = 0, n = b->n;
	uint32_t first;
	int r;

	if (!n)
		return;
	first = b->ops[0].seq;
	r = sock_send(f->nl_req, b->buf, b->len);
	if (r < 0) {
		log_err("netlink: sending %zu writes: %s", n, strerror(-r));
		for (size_t i = 0; i < n; i++)
			ack_one(f, &b->ops[i], r, "");
		acked = n;
	}
	while (acked < n) {
		ssize_t k = sock_recv(f, f->nl_req, 0);
		struct nlmsghdr *h;
		int rem;

		if (k < 0) {
			log_err("netlink: %zu of %zu writes unanswered (%s): full resync",
				n - acked, n, strerror((int)-k));
			f->need_kresync = true;
			break;
		}
		rem = (int)k;
		for (h = (struct nlmsghdr *)f->rbuf; nlmsg_ok(h, rem);
		     h = nlmsg_next(h, &rem)) {
			struct nlmsgerr *e = nlmsg_data(h);
			uint32_t i = h->nlmsg_seq - first;
			char ext[160];

			if (h->nlmsg_type != NLMSG_ERROR || i >= n || done[i] ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				continue;
			ack_text(h, ext, sizeof(ext));
			done[i] = 1;
			acked++;
			ack_one(f, &b->ops[i], e->error, ext);
		}
	}
	/* Every owner is checked again: its state is now what the kernel
	 * acknowledged (or it failed, and the check says why). */
	for (size_t i = 0; i < n; i++) {
		struct qnode *q = b->ops[i].owner;

		if (!q)
			continue;
		if (q->kind == Q_EP)
			container_of(q, struct fep, q)->inflight = false;
		else if (q->kind == Q_BLOCK)
			container_of(q, struct fblock, q)->inflight = false;
		rec_queue(f, q);
	}
	b->n = 0;
	b->len = 0;
}

/* ---------- teardown ---------- */

static void free_link(struct hnode *h, void *arg)
{
	(void)arg;
	free(container_of(h, struct klink, by_index));
}

static void free_route(struct hnode *h, void *arg)
{
	(void)arg;
	free(container_of(h, struct kroute, by_key));
}

static void free_neigh(struct hnode *h, void *arg)
{
	(void)arg;
	free(container_of(h, struct kneigh, by_key));
}

void kern_free_all(struct felix *f)
{
	htab_walk(&f->links, free_link, NULL);
	htab_walk(&f->routes, free_route, NULL);
	htab_walk(&f->neighs, free_neigh, NULL);
	htab_clear(&f->links);
	htab_clear(&f->links_by_name);
	htab_clear(&f->routes);
	htab_clear(&f->routes_by_oif);
	htab_clear(&f->neighs);
	htab_clear(&f->neighs_by_if);
}
