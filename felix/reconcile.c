/*
 * reconcile: compare desired with actual, send only the difference.
 *
 * Every object whose check could have a new result sits in one queue (a set:
 * an object is in it at most once). A pass takes objects off the queue, at
 * most FELIX_PASS_CHECKS of them and while fewer than FELIX_PASS_WRITES
 * writes were made, and checks each:
 *   endpoint  its link up, the link's sysctls (proxy_arp=1, forwarding=1,
 *             neigh proxy_delay=0, IPv6 accept_ra=0, rp_filter=1,
 *             route_localnet: below), a route per address (ADDR/LEN dev IF
 *             scope link proto P), a permanent neighbour entry per /32
 *             with the workload's MAC;
 *   block     blackhole CIDR proto P;
 *   route     (actual, ours) wanted by someone as it is? else deleted;
 *   neighbour (actual, permanent, on our link) wanted? else deleted.
 * Netlink writes are batched by kernel.c and sent at the end of the pass;
 * their owners come back into the queue with what the kernel acknowledged,
 * and the next pass finds them right (programmed) or says why not.
 *
 * The sysctls (rec_sysctl.c) are read from what netlink reported (link dump, netconf
 * notifications, neighbour-table dump); /proc is read only when netlink did
 * not say, and written only when the value differs. The sweep of host ends
 * no endpoint claims is in sweep.c.
 *
 * Fail closed below the table (docs/policy.md): the kernel itself keeps a
 * workload in its place when table inet petrel is missing (never written,
 * flushed or deleted while felix was down):
 *  - rp_filter=1 (strict) on the host end, written before its route: with
 *    one /32 route per workload, a source that is not the workload's own
 *    address fails the kernel's reverse-path check (also for ARP: the
 *    kernel validates an ARP request's sender address the same way, so a
 *    workload cannot make the node learn or answer for another address);
 *  - the route is added only while the table is in the kernel (pol_guard
 *    YES): before, the host end routes nothing to or from the workload
 *    (strict rp_filter drops every packet from a link without a route);
 *  - route_localnet=1 only on the host ends of workloads that publish
 *    ports (the 127.0.0.1 DNAT needs it) and only while the table, whose
 *    raw-pre chain drops 127/8 from workloads, is in the kernel; else 0,
 *    so the kernel drops a workload's packet to 127/8 as a martian.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include <net/if.h>

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "common/log.h"
#include "felix/felix.h"

/* ---------- the queue ---------- */

void rec_queue(struct felix *f, struct qnode *q)
{
	if (!dlist_linked(&q->l))
		dlist_add_tail(&f->queue, &q->l);
}

void rec_unqueue(struct qnode *q)
{
	dlist_del(&q->l);
}

static void queue_ep_node(struct hnode *h, void *arg)
{
	rec_queue(arg, &container_of(h, struct fep, by_name)->q);
}

static void queue_block_node(struct hnode *h, void *arg)
{
	rec_queue(arg, &container_of(h, struct fblock, by_name)->q);
}

static void queue_route_node(struct hnode *h, void *arg)
{
	rec_queue(arg, &container_of(h, struct kroute, by_key)->q);
}

static void queue_neigh_node(struct hnode *h, void *arg)
{
	rec_queue(arg, &container_of(h, struct kneigh, by_key)->q);
}

void rec_queue_all(struct felix *f)
{
	htab_walk(&f->eps, queue_ep_node, f);
	htab_walk(&f->blocks, queue_block_node, f);
	htab_walk(&f->routes, queue_route_node, f);
	htab_walk(&f->neighs, queue_neigh_node, f);
}

void rec_queue_eps(struct felix *f)
{
	htab_walk(&f->eps, queue_ep_node, f);
}

void rec_queue_ifname(struct felix *f, const char *ifname)
{
	struct hnode *h = htab_first(&f->eps_by_if, hash_str(ifname));

	for (; h; h = htab_next(h)) {
		struct fep *ep = container_of(h, struct fep, by_if);

		if (!strcmp(ep->ifname, ifname))
			rec_queue(f, &ep->q);
	}
}

static struct qnode *owner_q(struct rowner *o)
{
	return o->is_block ? &((struct fblock *)o->owner)->q
			   : &((struct fep *)o->owner)->q;
}

void rec_queue_key(struct felix *f, uint32_t dst, uint8_t len)
{
	struct hnode *h = htab_first(&f->owners, hash_u32(dst, len));

	for (; h; h = htab_next(h)) {
		struct rowner *o = container_of(h, struct rowner, h);

		if (o->dst == dst && o->len == len)
			rec_queue(f, owner_q(o));
	}
}

/* ---------- small helpers ---------- */

void rec_ep_set_programmed(struct felix *f, struct fep *ep, bool v)
{
	if (ep->programmed == v)
		return;
	ep->programmed = v;
	if (v) {
		f->n_programmed++;
		free(ep->err);
		ep->err = NULL;
		log_debug("endpoint %s: programmed", ep->name);
	} else {
		f->n_programmed--;
	}
}

void rec_ep_set_err(struct fep *ep, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(ep->err);
	ep->err = m;
}

void rec_why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* ---------- checks ---------- */

static bool route_is_eps(const struct kroute *r, const struct klink *l)
{
	return r->type == RTN_UNICAST && r->oif == l->ifindex &&
	       r->scope == RT_SCOPE_LINK && !r->other_nh;
}

static bool route_is_blocks(const struct kroute *r)
{
	return r->type == RTN_BLACKHOLE && !r->other_nh;
}

/* An add of ours met an existing route that, now that the routes were read
 * again, is not ours: say so once; it stays untouched until it goes away
 * (its deletion clears the mark) or the next full resync. */
static void conflict_note(struct felix *f, struct rowner *o, const char *a)
{
	if (f->need_route_dump || o->conflict_logged)
		return;
	o->conflict_logged = true;
	log_warn("route %s for %s %s: a route that is not petrel's holds it: left alone",
		 a, o->is_block ? "block" : "endpoint",
		 o->is_block ? ((struct fblock *)o->owner)->name
			     : ((struct fep *)o->owner)->name);
}

void rec_emit(struct felix *f, struct kop *op)
{
	int r = f->kio->write(f, op);

	if (r < 0) {
		log_err("netlink: building a write: %s", strerror(-r));
		return;
	}
	f->emitted++;
	if (f->writes_left)
		f->writes_left--;
}

/*
 * The endpoint's state against what it wants. Returns true when everything
 * is in place. apply: send what differs. why (may be NULL): the first unmet
 * condition.
 */
static bool ep_eval(struct felix *f, struct fep *ep, bool apply, char *why,
		    size_t wl)
{
	struct klink *l;
	bool ok = true, guarded = true, rp_ok;
	char a[IP4_NETSTRLEN];

	if (ep->mode != WEP_ROUTED)
		return true;
	if (!ep->if_indexed) {
		rec_why_set(why, wl, "interface name \"%s\" is not petrel's", ep->ifname);
		return false;
	}
	l = kern_link_by_name(f, ep->ifname);
	if (!l) {
		rec_why_set(why, wl, "interface %s does not exist", ep->ifname);
		return false;
	}
	if (!(l->flags & IFF_UP)) {
		struct kop op = { .type = KOP_LINK_UP, .why = "down",
				  .ifindex = l->ifindex, .owner = &ep->q };

		memcpy(op.ifname, l->name, sizeof(op.ifname));
		rec_why_set(why, wl, "interface %s is down", l->name);
		ok = false;
		if (apply)
			rec_emit(f, &op);
	}
	if (!rec_ep_sysctls(f, ep, l, apply, why, wl, &rp_ok))
		ok = false;
	if (!rp_ok)
		guarded = false;
	/* No route before strict rp_filter and the table are in place (the
	 * header: fail closed below the table); a route already there stays
	 * (a restart or a table being put back flaps nothing). */
	if (pol_guard(f) != POL_GUARD_YES)
		guarded = false;
	for (size_t i = 0; i < ep->n_nets; i++) {
		struct rowner *o = &ep->nets[i];
		struct ip4_net n = { o->dst, o->len };
		struct kroute *r;
		struct kop op = { .ifindex = l->ifindex, .dst = o->dst,
				  .len = o->len, .type_rt = RTN_UNICAST,
				  .scope = RT_SCOPE_LINK, .owner = &ep->q,
				  .rkey = o };

		ip4_net_fmt(&n, a);
		if (o->dup) {
			rec_why_set(why, wl, "%s is held by another endpoint", a);
			ok = false;
			continue;
		}
		r = kern_route_find(f, o->dst, o->len, 0, 0);
		if (r && route_is_eps(r, l)) {
			o->conflict = o->conflict_logged = false;
			continue;
		}
		ok = false;
		if (o->conflict) {
			conflict_note(f, o, a);
			rec_why_set(why, wl, "a route that is not petrel's holds %s", a);
			continue;
		}
		rec_why_set(why, wl, "route %s dev %s %s%s", a, l->name,
			r ? "differs" : "missing",
			pol_guard(f) != POL_GUARD_YES ?
			" (table inet petrel is not in the kernel yet)" : "");
		if (!apply || !guarded)
			continue;
		memcpy(op.ifname, l->name, sizeof(op.ifname));
		op.type = r ? KOP_ROUTE_REPLACE : KOP_ROUTE_ADD;
		op.why = r ? "differed" : "missing";
		rec_emit(f, &op);
	}
	for (size_t i = 0; ep->has_mac && i < ep->n_nets; i++) {
		struct rowner *o = &ep->nets[i];
		struct kneigh *n;
		struct kop op = { .type = KOP_NEIGH_SET, .ifindex = l->ifindex,
				  .dst = o->dst, .owner = &ep->q };

		if (o->len != 32 || o->dup)
			continue;
		n = kern_neigh_find(f, l->ifindex, o->dst);
		if (n && (n->state & NUD_PERMANENT) && n->has_mac &&
		    !memcmp(n->mac, ep->mac, 6))
			continue;
		ok = false;
		rec_why_set(why, wl, "neighbour %s dev %s %s", ip4_fmt(o->dst, a),
			l->name, n ? "differs" : "missing");
		if (!apply)
			continue;
		memcpy(op.ifname, l->name, sizeof(op.ifname));
		memcpy(op.mac, ep->mac, 6);
		op.why = n ? "differed" : "missing";
		rec_emit(f, &op);
	}
	return ok;
}

static void check_ep(struct felix *f, struct fep *ep)
{
	uint64_t before = f->emitted;
	bool ok;

	if (ep->inflight)
		return;		/* comes back when its writes are answered */
	ok = ep_eval(f, ep, true, NULL, 0);
	if (f->emitted != before)
		ep->inflight = true;
	rec_ep_set_programmed(f, ep, ok);
}

static void check_block(struct felix *f, struct fblock *b)
{
	struct rowner *o = &b->key;
	struct kroute *r;
	struct kop op = { .dst = o->dst, .len = o->len,
			  .type_rt = RTN_BLACKHOLE, .scope = RT_SCOPE_UNIVERSE,
			  .owner = &b->q, .rkey = o };

	if (b->inflight)
		return;
	b->programmed = false;
	if (o->dup)
		return;
	r = kern_route_find(f, o->dst, o->len, 0, 0);
	if (r && route_is_blocks(r)) {
		o->conflict = o->conflict_logged = false;
		b->programmed = true;
		return;
	}
	if (o->conflict) {
		char a[IP4_NETSTRLEN];
		struct ip4_net n = { o->dst, o->len };

		conflict_note(f, o, ip4_net_fmt(&n, a));
		return;
	}
	op.type = r ? KOP_ROUTE_REPLACE : KOP_ROUTE_ADD;
	op.why = r ? "differed" : "missing";
	b->inflight = true;
	rec_emit(f, &op);
}

static void ifname_of(struct felix *f, int ifindex, char *buf)
{
	struct klink *l = kern_link_by_index(f, ifindex);

	char name[IF_NAMESIZE];

	if (l)
		memcpy(buf, l->name, FELIX_IFNAMSIZ);
	else if (if_indextoname((unsigned int)ifindex, name))
		snprintf(buf, FELIX_IFNAMSIZ, "%s", name);	/* not ours */
	else
		snprintf(buf, FELIX_IFNAMSIZ, "if%d", ifindex);
}

/* Whether the route is one a desired object wants as it is; when it wants
 * the key but not this way, the owner is queued to fix it. */
static bool route_wanted(struct felix *f, struct kroute *r)
{
	struct rowner *o;
	struct klink *l;
	struct fep *ep;

	if (r->prio || r->tos)
		return false;
	o = store_owner_find(f, r->dst, r->len);
	if (!o)
		return false;
	if (o->is_block) {
		if (!route_is_blocks(r))
			rec_queue(f, owner_q(o));
		return true;
	}
	ep = o->owner;
	l = ep->mode == WEP_ROUTED && ep->if_indexed
		? kern_link_by_name(f, ep->ifname) : NULL;
	if (!l)
		return false;	/* it points where the endpoint is not */
	if (!route_is_eps(r, l))
		rec_queue(f, owner_q(o));
	return true;
}

static void check_route(struct felix *f, struct kroute *r)
{
	struct kop op = { .type = KOP_ROUTE_DEL, .why = "not wanted",
			  .ifindex = r->oif, .dst = r->dst, .len = r->len,
			  .tos = r->tos, .type_rt = r->type, .prio = r->prio };

	if (r->inflight || route_wanted(f, r))
		return;
	if (r->oif)
		ifname_of(f, r->oif, op.ifname);
	r->inflight = true;
	rec_emit(f, &op);
}

/* The endpoint on link l that wants a permanent entry for addr, or NULL. */
static struct fep *neigh_owner(struct felix *f, struct klink *l, uint32_t addr)
{
	struct hnode *h = htab_first(&f->eps_by_if, hash_str(l->name));

	for (; h; h = htab_next(h)) {
		struct fep *ep = container_of(h, struct fep, by_if);

		if (strcmp(ep->ifname, l->name) || ep->mode != WEP_ROUTED ||
		    !ep->has_mac)
			continue;
		for (size_t i = 0; i < ep->n_nets; i++)
			if (ep->nets[i].len == 32 && ep->nets[i].dst == addr &&
			    !ep->nets[i].dup)
				return ep;
	}
	return NULL;
}

static void check_neigh(struct felix *f, struct kneigh *n)
{
	struct klink *l;
	struct fep *ep;
	struct kop op = { .type = KOP_NEIGH_DEL, .why = "not wanted",
			  .ifindex = n->ifindex, .dst = n->addr };

	if (n->inflight || !(n->state & NUD_PERMANENT))
		return;
	l = kern_link_by_index(f, n->ifindex);
	if (!l)
		return;
	ep = neigh_owner(f, l, n->addr);
	if (ep) {
		if (!n->has_mac || memcmp(n->mac, ep->mac, 6))
			rec_queue(f, &ep->q);
		return;
	}
	memcpy(op.ifname, l->name, sizeof(op.ifname));
	n->inflight = true;
	rec_emit(f, &op);
}

void rec_ep_why(struct felix *f, struct fep *ep, char *buf, size_t len)
{
	buf[0] = '\0';
	if (ep_eval(f, ep, false, buf, len) && !buf[0] && dlist_linked(&ep->q.l))
		snprintf(buf, len, "not checked yet");
	if (!buf[0] && ep->err)
		snprintf(buf, len, "%s", ep->err);
}

bool rec_tomb_clear(struct felix *f, struct ftomb *t)
{
	struct klink *l = kern_link_by_name(f, t->ifname);

	for (size_t i = 0; i < t->n_nets; i++) {
		struct kroute *r = kern_route_find(f, t->nets[i].addr,
						   t->nets[i].len, 0, 0);
		struct kneigh *n;

		if (r && !store_owner_find(f, r->dst, r->len))
			return false;
		if (!l || t->nets[i].len != 32)
			continue;
		n = kern_neigh_find(f, l->ifindex, t->nets[i].addr);
		if (n && (n->state & NUD_PERMANENT) &&
		    !neigh_owner(f, l, n->addr))
			return false;
	}
	return true;
}

static void tombs_gc(struct felix *f)
{
	struct dlist *p = f->tombs.next;

	while (p != &f->tombs) {
		struct ftomb *t = container_of(p, struct ftomb, l);

		p = p->next;
		if (rec_tomb_clear(f, t))
			store_tomb_free(f, t);
	}
}

/* ---------- passes and resyncs ---------- */

int rec_resync(struct felix *f, bool relist, const char *why)
{
	struct hnode *h;
	uint64_t t;
	int r;

	bool kresync_was = f->need_kresync;

	f->kresync_why = why;
	if (!f->resync_active) {
		f->resync_active = true;
		f->resync_t0 = felix_now_ns();
		f->resync_changes0 = f->changes;
	}
	f->need_kresync = false;
	t = felix_now_ns();
	f->resync_store_ms = -1;
	if (relist) {
		f->need_relist = false;
		r = feed_relist(f);
		if (r < 0) {
			/* Tried again with backoff (dshealth.c); the parts
			 * keep what they had. The kernel's dump is not lost:
			 * it runs on its own in the meantime. */
			f->need_relist = true;
			f->need_kresync = kresync_was || !f->store_known;
			return r;
		}
		f->resync_store_ms = (int64_t)((felix_now_ns() - t) / 1000000);
		t = felix_now_ns();
	}
	/* Give the keys that met a foreign route another try. */
	for (size_t i = 0; i < f->owners.nb; i++)
		for (h = f->owners.b[i]; h; h = h->next) {
			struct rowner *o = container_of(h, struct rowner, h);

			o->conflict = o->conflict_logged = false;
		}
	r = f->kio->dump_all(f);
	f->kresync_at = 0;
	if (r < 0) {
		/* Until the next try the notifications keep the picture as
		 * good as they can. */
		log_warn("resync (%s): kernel dump incomplete, again in %d ms",
			 why, FELIX_RETRY_MS);
		f->kresync_at = felix_now_ns() + FELIX_RETRY_MS * 1000000ull;
	}
	rec_check_ip_forward(f);
	f->resync_kernel_ms = (int64_t)((felix_now_ns() - t) / 1000000);
	rec_queue_all(f);
	f->resyncs++;
	log_debug("resync (%s): dumped; %zu links, %zu routes, %zu neighbours of petrel's",
		  why, f->links.n, f->routes.n, f->neighs.n);
	return r;
}

void rec_kernel_input(struct felix *f, bool nl_ready)
{
	int r;

	if (f->kresync_at && felix_now_ns() >= f->kresync_at) {
		f->kresync_at = 0;
		f->need_kresync = true;
		f->kresync_why = "retry";
	}
	/* The kernel's news first, so that the pass compares against the
	 * freshest picture. */
	if (nl_ready || f->ev_more)
		kern_events_read(f);
	if (f->need_relist && dsh_due(f)) {
		rec_resync(f, true, "store");
	} else if (f->need_kresync) {
		rec_resync(f, false, f->kresync_why ? f->kresync_why : "netlink");
	} else if (f->need_route_dump) {
		r = f->kio->dump_routes(f);
		if (r == 0) {
			log_debug("routes dumped again");
		} else if (!f->kresync_at) {
			/* Interrupted or failed: what is gone is not known;
			 * a full dump tells, a little later. */
			log_warn("routes: dump again %s, a full dump in %d ms",
				 r == -EINTR ? "interrupted" : "failed",
				 FELIX_RETRY_MS);
			f->kresync_at = felix_now_ns() + FELIX_RETRY_MS * 1000000ull;
		}
	}
	f->need_route_dump = false;
}

void rec_pass(struct felix *f)
{
	size_t checks = 0;

	f->writes_left = FELIX_PASS_WRITES;
	if (pol_guard(f) != f->guard_seen) {
		f->guard_seen = pol_guard(f);
		rec_queue_eps(f);
	}
	rec_fix_ip_forward(f);
	rec_sweep(f);
	/* The most writes one check makes: link up, the sysctls, a route
	 * and a neighbour entry per address. */
	while (!dlist_empty(&f->queue) && checks < FELIX_PASS_CHECKS &&
	       f->writes_left >= 1 + REC_SYSCTLS + 2 * WEP_MAX_NETS) {
		struct qnode *q = container_of(f->queue.next, struct qnode, l);

		dlist_del(&q->l);
		checks++;
		switch (q->kind) {
		case Q_EP:
			check_ep(f, container_of(q, struct fep, q));
			break;
		case Q_BLOCK:
			check_block(f, container_of(q, struct fblock, q));
			break;
		case Q_ROUTE:
			check_route(f, container_of(q, struct kroute, q));
			break;
		case Q_NEIGH:
			check_neigh(f, container_of(q, struct kneigh, q));
			break;
		}
	}
	f->kio->flush(f);
	if (f->n_tombs)
		tombs_gc(f);
	if (f->resync_active && dlist_empty(&f->queue)) {
		uint64_t ms = (felix_now_ns() - f->resync_t0) / 1000000;

		f->resync_active = false;
		f->last_resync_ms = (int64_t)ms;
		char store[32] = "";

		if (f->resync_store_ms >= 0)
			snprintf(store, sizeof(store), "store %lld ms, ",
				 (long long)f->resync_store_ms);
		log_info("resync (%s): %llu changes, %zu endpoints (%zu programmed), %zu blocks, %llu ms (%skernel dump %lld ms)",
			 f->kresync_why ? f->kresync_why : "-",
			 (unsigned long long)(f->changes - f->resync_changes0),
			 f->n_eps, f->n_programmed, f->n_blocks,
			 (unsigned long long)ms, store,
			 (long long)f->resync_kernel_ms);
	}
}

/* ---------- the kernel part ---------- */

const struct kio kern_io = {
	.write = kern_write,
	.flush = kern_flush,
	.proc_read = rec_proc_read,
	.proc_write = rec_proc_write,
	.dump_all = kern_dump_all,
	.dump_routes = kern_dump_routes,
};

static int kpart_open(struct felix *f)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r = kern_open(f);

	if (r < 0)
		return r;
	f->src_netlink.type = ES_NETLINK;
	ev.data.ptr = &f->src_netlink;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, kern_ev_fd(f), &ev) < 0) {
		r = -errno;
		log_err("setup: %s", strerror(-r));
		return r;
	}
	return 0;
}

static void kpart_close(struct felix *f)
{
	dlist_init(&f->queue);	/* the tables' objects go in one sweep */
	kern_free_all(f);
	kern_close(f);
}

static int kpart_timeout_ms(struct felix *f)
{
	int t;

	if (!dlist_empty(&f->queue) || f->ev_more || f->need_kresync ||
	    f->need_route_dump || pol_guard(f) != f->guard_seen)
		return 0;
	t = felix_ms_until(f->kresync_at);
	if (f->n_unclaimed || f->sweep_look) {	/* the sweep's next look */
		int s = felix_ms_until(f->sweep_at ? f->sweep_at : 1);

		if (t < 0 || s < t)
			t = s;
	}
	return t;
}

const struct fpart kern_part = {
	.name = "kernel",
	.open = kpart_open,
	.close = kpart_close,
	.sync = rec_pass,
	.timeout_ms = kpart_timeout_ms,
};
