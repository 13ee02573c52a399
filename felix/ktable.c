/*
 * ktable: felix's picture of the kernel (the actual state): its tables of
 * petrel's links, routes and neighbour entries, and the parsing of the
 * kernel's messages (a dump's or a notification's, kern_msg) into them.
 * See kernel.c for what is kept and the kernel facts this relies on.
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
#include "felix/ktable.h"

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

void kt_route_remove(struct felix *f, struct kroute *r)
{
	htab_del(&f->routes, &r->by_key);
	if (r->oif)
		htab_del(&f->routes_by_oif, &r->by_oif);
	rec_unqueue(&r->q);
	free(r);
}

void kt_neigh_remove(struct felix *f, struct kneigh *n)
{
	htab_del(&f->neighs, &n->by_key);
	htab_del(&f->neighs_by_if, &n->by_if);
	rec_unqueue(&n->q);
	free(n);
}

/* The kernel dropped the routes through ifindex (link down or gone): so do
 * we, and whoever wanted them is queued. */
static void kt_routes_flush_oif(struct felix *f, int ifindex)
{
	struct hnode *h = htab_first(&f->routes_by_oif, hash_u32((uint32_t)ifindex, 0));

	while (h) {
		struct hnode *next = htab_next(h);
		struct kroute *r = container_of(h, struct kroute, by_oif);

		if (r->oif == ifindex) {
			uint32_t dst = r->dst;
			uint8_t len = r->len;

			kt_route_remove(f, r);
			rec_queue_key(f, dst, len);
		}
		h = next;
	}
}

static void kt_neighs_flush_if(struct felix *f, int ifindex)
{
	struct hnode *h = htab_first(&f->neighs_by_if, hash_u32((uint32_t)ifindex, 0));

	while (h) {
		struct hnode *next = htab_next(h);
		struct kneigh *n = container_of(h, struct kneigh, by_if);

		if (n->ifindex == ifindex)
			kt_neigh_remove(f, n);
		h = next;
	}
}

void kt_link_remove(struct felix *f, struct klink *l)
{
	kt_routes_flush_oif(f, l->ifindex);
	kt_neighs_flush_if(f, l->ifindex);
	htab_del(&f->links, &l->by_index);
	htab_del(&f->links_by_name, &l->by_name);
	rec_queue_ifname(f, l->name);
	free(l);
}

struct kroute *kt_route_upsert(struct felix *f, uint32_t dst, uint8_t len,
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

void kt_route_set_oif(struct felix *f, struct kroute *r, int oif)
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

struct kneigh *kt_neigh_upsert(struct felix *f, int ifindex, uint32_t addr)
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
				if (nla_len(t[IFLA_INET_CONF]) >= 4 * IPV4_DEVCONF_RP_FILTER) {
					memcpy(&v, d + 4 * (IPV4_DEVCONF_RP_FILTER - 1), 4);
					l->rp_filter = clamp8(v);
				}
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

/* A name is one link's at any instant: a link under name at another index
 * (than the one taking it, new or renamed) is gone (its RTM_DELLINK lost,
 * the dump newer than the tables), or the table would hold two links of
 * one name and by-name lookups pick either. */
static void kt_link_drop_name(struct felix *f, const char *name)
{
	struct klink *old;

	while ((old = kern_link_by_name(f, name)))
		kt_link_remove(f, old);
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
			kt_link_remove(f, l);
		return;
	}
	/* Renamed (a create moves a removed endpoint's host end out of the
	 * way, endpoint/create.c): the same link under its new name. Its
	 * routes and neighbours stay in the kernel, so they stay here (were
	 * they flushed from this view, the route still on the link would look
	 * foreign to the endpoint taking the old name), and so do the sysctl
	 * values (the device's) and whether an endpoint claimed it (the
	 * sweep's shorter wait). Renamed to a name not ours: no longer ours. */
	if (l && name[0] && strcmp(l->name, name)) {
		if (!ifname_is_ours(name)) {
			kt_link_remove(f, l);
			return;
		}
		rec_queue_ifname(f, l->name);
		htab_del(&f->links_by_name, &l->by_name);
		kt_link_drop_name(f, name);
		memcpy(l->name, name, sizeof(name));
		if (htab_add(&f->links_by_name, &l->by_name, hash_str(l->name)) < 0) {
			kt_routes_flush_oif(f, l->ifindex);
			kt_neighs_flush_if(f, l->ifindex);
			htab_del(&f->links, &l->by_index);
			free(l);
			return;
		}
	}
	if (!l) {
		if (!name[0] || !ifname_is_ours(name))
			return;
		kt_link_drop_name(f, name);
		l = calloc(1, sizeof(*l));
		if (!l)
			return;
		l->ifindex = ifi->ifi_index;
		memcpy(l->name, name, sizeof(name));
		l->proxy_arp = l->forwarding = l->accept_ra = l->route_localnet = -1;
		l->rp_filter = -1;
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
		kt_routes_flush_oif(f, l->ifindex);
		kt_neighs_flush_if(f, l->ifindex);
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
				kt_route_remove(f, r);
				rec_queue_key(f, dst, rtm->rtm_dst_len);
			}
		}
		return;
	}

	r = kern_route_find(f, dst, rtm->rtm_dst_len, prio, rtm->rtm_tos);
	if (h->nlmsg_type == RTM_DELROUTE) {
		if (r) {
			kt_route_remove(f, r);
			rec_queue_key(f, dst, rtm->rtm_dst_len);
		}
		return;
	}
	r = kt_route_upsert(f, dst, rtm->rtm_dst_len, prio, rtm->rtm_tos);
	if (!r)
		return;
	r->type = rtm->rtm_type;
	r->scope = rtm->rtm_scope;
	r->other_nh = tb[RTA_GATEWAY] || tb[RTA_MULTIPATH] || tb[RTA_VIA];
	kt_route_set_oif(f, r, (int)oif);
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
			kt_neigh_remove(f, n);
			rec_queue_ifname(f, l->name);
		}
		return;
	}
	n = kt_neigh_upsert(f, l->ifindex, addr);
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
	if (attr_u32(tb[NETCONFA_RP_FILTER], &v))
		l->rp_filter = clamp8((int32_t)v);
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

