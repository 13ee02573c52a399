/*
 * kwrite: felix's writes to the kernel, batched: each is one message with its
 * own sequence number and NLM_F_ACK, many in one send; the acknowledgements
 * are read back at once and each is mapped to its message (a failure is
 * logged with its object and the kernel's extended-ack text); the ACK of a
 * write is the kernel reporting the new state, so the tables are updated
 * from it.
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
#include "common/nlerr.h"
#include "felix/felix.h"
#include "felix/ktable.h"

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
	case KOP_LINK_DEL: {
		struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC,
			.ifi_index = op->ifindex };

		m = nlmsg_alloc_simple(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK);
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

void kern_ack_text(const struct nlmsghdr *h, char *buf, size_t len)
{
	const struct nlmsgerr *e = nlmsg_data(h);
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
		      (struct nlattr *)((const char *)e + NLMSG_ALIGN(off)),
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
	case KOP_LINK_DEL:
		l = kern_link_by_index(f, op->ifindex);
		if (l && strcmp(l->name, op->ifname))
			l = NULL;	/* another link by now */
		if (err && err != -ENODEV) {
			log_err("link %s: delete failed: %s%s", op->ifname,
				strerror(-err), ext);
			if (l)
				l->del_inflight = false;
			break;
		}
		if (l)
			kt_link_remove(f, l);
		if (!err) {
			log_info("link %s %s: deleted", op->ifname, op->why);
			f->changes++;
		}
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
		r = kt_route_upsert(f, op->dst, op->len, op->prio, op->tos);
		if (r) {
			r->type = op->type_rt;
			r->scope = op->scope;
			r->other_nh = false;
			kt_route_set_oif(f, r, op->ifindex);
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
			kt_route_remove(f, r);
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
		n = kt_neigh_upsert(f, op->ifindex, op->dst);
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
			kt_neigh_remove(f, n);
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
	r = kern_sock_send(f->nl_req, b->buf, b->len);
	if (r < 0) {
		log_err("netlink: sending %zu writes: %s", n, strerror(-r));
		for (size_t i = 0; i < n; i++)
			ack_one(f, &b->ops[i], r, "");
		acked = n;
	}
	while (acked < n) {
		ssize_t k = kern_sock_recv(f, f->nl_req, 0);
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
			kern_ack_text(h, ext, sizeof(ext));
			done[i] = 1;
			acked++;
			ack_one(f, &b->ops[i], nl_error(e->error), ext);
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

