/*
 * kernel: felix's netlink I/O: its sockets, the dumps and the notifications
 * (parsed into the tables by ktable.c); the writes are kwrite.c's.
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
#include "common/nlerr.h"
#include "felix/felix.h"
#include "felix/ktable.h"

#ifndef KERN_EV_RCVBUF
#define KERN_EV_RCVBUF (32 << 20)	/* -D to test the lost-notification path */
#endif
#define KERN_REQ_RCVBUF (4 << 20)
#define KERN_REQ_TIMEOUT_S 5
#define KERN_DUMP_TRIES 5

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

int kern_sock_send(struct nl_sock *sk, const void *buf, size_t len)
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
ssize_t kern_sock_recv(struct felix *f, struct nl_sock *sk, int flags)
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
	r = kern_sock_send(f->nl_req, nlmsg_hdr(m), nlmsg_hdr(m)->nlmsg_len);
	nlmsg_free(m);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = kern_sock_recv(f, f->nl_req, 0);
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
				return e->error ? nl_error(e->error) : (intr ? -EINTR : 0);
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
			kt_link_remove(f, l);
	} else if (a->kind == Q_ROUTE) {
		struct kroute *r = container_of(h, struct kroute, by_key);

		if (r->gen != f->kgen) {
			uint32_t dst = r->dst;
			uint8_t len = r->len;

			kt_route_remove(f, r);
			rec_queue_key(f, dst, len);
		}
	} else {
		struct kneigh *n = container_of(h, struct kneigh, by_key);

		if (n->gen != f->kgen) {
			struct klink *l = kern_link_by_index(f, n->ifindex);

			kt_neigh_remove(f, n);
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
		ssize_t n = kern_sock_recv(f, f->nl_ev, MSG_DONTWAIT);
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

