/*
 * store: felix's desired state, from the datastore.
 *
 * Two kinds of records matter: this node's WorkloadEndpoints
 * (/petrel/workloadendpoints/<node>/<name>) and the IPAM blocks whose
 * affinity is this node (/petrel/ipamblocks/<name>). They are listed once,
 * then one watch on /petrel/ brings every later change, in revision order.
 * applied_rev is the newest store revision whose change has been applied
 * here (what a "wait" compares against).
 *
 * A relist (start, SIGHUP, a watch that fell behind compaction) is a
 * mark-and-sweep: records seen get the new generation, those left with an
 * older one are removed. An update that does not change what felix programs
 * (only labels, say) changes nothing else.
 *
 * Route keys: each endpoint address and each block is a struct rowner in
 * felix.owners; the first owner of a key holds it, a second one (two
 * endpoints claiming one address) waits, logged, until the first leaves.
 *
 * A removed routed endpoint leaves a tomb until its routes and neighbour
 * entries are gone, so that "wait gone" can tell.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/ifname.h"
#include "common/log.h"
#include "felix/felix.h"
#include "model/keys.h"

#define STORE_WATCH_PREFIX KEYS_ROOT

/* ---------- lookups ---------- */

struct fep *store_ep_find(struct felix *f, const char *name)
{
	struct hnode *h = htab_first(&f->eps, hash_str(name));

	for (; h; h = htab_next(h)) {
		struct fep *ep = container_of(h, struct fep, by_name);

		if (!strcmp(ep->name, name))
			return ep;
	}
	return NULL;
}

struct fep *store_ep_by_ifname(struct felix *f, const char *ifname)
{
	struct hnode *h = htab_first(&f->eps_by_if, hash_str(ifname));

	for (; h; h = htab_next(h)) {
		struct fep *ep = container_of(h, struct fep, by_if);

		if (!strcmp(ep->ifname, ifname))
			return ep;
	}
	return NULL;
}

static struct fblock *block_find(struct felix *f, const char *name)
{
	struct hnode *h = htab_first(&f->blocks, hash_str(name));

	for (; h; h = htab_next(h)) {
		struct fblock *b = container_of(h, struct fblock, by_name);

		if (!strcmp(b->name, name))
			return b;
	}
	return NULL;
}

struct rowner *store_owner_find(struct felix *f, uint32_t dst, uint8_t len)
{
	struct hnode *h = htab_first(&f->owners, hash_u32(dst, len));

	for (; h; h = htab_next(h)) {
		struct rowner *o = container_of(h, struct rowner, h);

		if (o->dst == dst && o->len == len && !o->dup)
			return o;
	}
	return NULL;
}

struct ftomb *store_tomb_find(struct felix *f, const char *name)
{
	for (struct dlist *p = f->tombs.next; p != &f->tombs; p = p->next) {
		struct ftomb *t = container_of(p, struct ftomb, l);

		if (!strcmp(t->name, name))
			return t;
	}
	return NULL;
}

void store_tomb_free(struct felix *f, struct ftomb *t)
{
	dlist_del(&t->l);
	f->n_tombs--;
	free(t);
}

/* ---------- route keys ---------- */

static const char *owner_name(const struct rowner *o)
{
	return o->is_block ? ((const struct fblock *)o->owner)->name
			   : ((const struct fep *)o->owner)->name;
}

static void owner_add(struct felix *f, struct rowner *o)
{
	struct rowner *holder = store_owner_find(f, o->dst, o->len);

	o->dup = holder != NULL;
	o->conflict = false;
	if (o->dup) {
		struct ip4_net n = { o->dst, o->len };
		char a[IP4_NETSTRLEN];

		log_warn("%s %s wants %s, which %s %s holds: it waits",
			 o->is_block ? "block" : "endpoint", owner_name(o),
			 ip4_net_fmt(&n, a), holder->is_block ? "block" : "endpoint",
			 owner_name(holder));
	}
	if (htab_add(&f->owners, &o->h, hash_u32(o->dst, o->len)) < 0)
		o->dup = true;	/* not indexed: never holds the key */
}

static void owner_del(struct felix *f, struct rowner *o)
{
	struct kroute *r;
	struct hnode *h;

	htab_del(&f->owners, &o->h);
	if (!o->dup) {
		/* The next one waiting for the key takes it. */
		for (h = htab_first(&f->owners, hash_u32(o->dst, o->len)); h;
		     h = htab_next(h)) {
			struct rowner *w = container_of(h, struct rowner, h);

			if (w->dst == o->dst && w->len == o->len) {
				w->dup = false;
				rec_queue_key(f, w->dst, w->len);
				break;
			}
		}
	}
	/* Its route, if any, may now be stale. */
	r = kern_route_find(f, o->dst, o->len, 0, 0);
	if (r)
		rec_queue(f, &r->q);
}

/* ---------- endpoints ---------- */

static bool ep_same(const struct fep *ep, const struct wep *w)
{
	size_t n = w->mode == WEP_ROUTED ? w->n_nets : 0;

	if (ep->mode != w->mode || ep->n_nets != n ||
	    strcmp(ep->ifname, w->mode == WEP_ROUTED ? w->ifname : "") ||
	    ep->has_mac != (w->mode == WEP_ROUTED && w->has_mac) ||
	    (ep->has_mac && memcmp(ep->mac, w->mac, 6)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (ep->nets[i].dst != w->nets[i].addr ||
		    ep->nets[i].len != w->nets[i].len)
			return false;
	return true;
}

static struct fep *ep_new(const struct wep *w, const char *name)
{
	size_t n = w->mode == WEP_ROUTED ? w->n_nets : 0;
	struct fep *ep;

	if (n > WEP_MAX_NETS)
		n = WEP_MAX_NETS;
	ep = calloc(1, sizeof(*ep) + n * sizeof(ep->nets[0]));
	if (!ep)
		return NULL;
	snprintf(ep->name, sizeof(ep->name), "%s", name);
	ep->mode = w->mode;
	ep->q.kind = Q_EP;
	dlist_init(&ep->q.l);
	if (w->mode == WEP_ROUTED) {
		snprintf(ep->ifname, sizeof(ep->ifname), "%s", w->ifname);
		ep->has_mac = w->has_mac;
		memcpy(ep->mac, w->mac, 6);
	}
	ep->n_nets = n;
	for (size_t i = 0; i < n; i++) {
		ep->nets[i].dst = w->nets[i].addr;
		ep->nets[i].len = w->nets[i].len;
		ep->nets[i].owner = ep;
	}
	return ep;
}

/* Takes ep; false when it could not be kept (then freed). */
static bool ep_insert(struct felix *f, struct fep *ep)
{
	struct ftomb *t = store_tomb_find(f, ep->name);

	if (t)
		store_tomb_free(f, t);
	if (htab_add(&f->eps, &ep->by_name, hash_str(ep->name)) < 0) {
		log_err("endpoint %s: out of memory, not kept", ep->name);
		free(ep);
		return false;
	}
	f->n_eps++;
	if (ep->mode == WEP_ROUTED && ifname_is_ours(ep->ifname) &&
	    htab_add(&f->eps_by_if, &ep->by_if, hash_str(ep->ifname)) == 0)
		ep->if_indexed = true;
	else if (ep->mode == WEP_ROUTED)
		log_warn("endpoint %s: interface name \"%s\" is not petrel's: not programmed",
			 ep->name, ep->ifname);
	for (size_t i = 0; i < ep->n_nets; i++)
		owner_add(f, &ep->nets[i]);
	if (ep->mode != WEP_ROUTED)
		rec_ep_set_programmed(f, ep, true);	/* nothing to program */
	else
		bgp_mark_dirty(f);	/* it may be a borrowed address */
	rec_queue(f, &ep->q);
	return true;
}

static void tomb_add(struct felix *f, const struct fep *ep)
{
	struct ftomb *t = calloc(1, sizeof(*t));

	if (!t)
		return;
	memcpy(t->name, ep->name, sizeof(t->name));
	memcpy(t->ifname, ep->ifname, sizeof(t->ifname));
	t->n_nets = ep->n_nets;
	for (size_t i = 0; i < ep->n_nets; i++) {
		t->nets[i].addr = ep->nets[i].dst;
		t->nets[i].len = ep->nets[i].len;
	}
	dlist_add_tail(&f->tombs, &t->l);
	if (++f->n_tombs > FELIX_MAX_TOMBS)
		store_tomb_free(f, container_of(f->tombs.next, struct ftomb, l));
}

static void ep_remove(struct felix *f, struct fep *ep, bool tomb)
{
	struct klink *l = ep->if_indexed ? kern_link_by_name(f, ep->ifname) : NULL;

	for (size_t i = 0; i < ep->n_nets; i++) {
		owner_del(f, &ep->nets[i]);
		if (l && ep->nets[i].len == 32) {
			struct kneigh *n = kern_neigh_find(f, l->ifindex,
							   ep->nets[i].dst);

			if (n)
				rec_queue(f, &n->q);
		}
	}
	if (tomb && ep->mode == WEP_ROUTED && ep->n_nets)
		tomb_add(f, ep);
	if (ep->mode == WEP_ROUTED)
		bgp_mark_dirty(f);
	if (ep->if_indexed)
		htab_del(&f->eps_by_if, &ep->by_if);
	htab_del(&f->eps, &ep->by_name);
	f->n_eps--;
	rec_ep_set_programmed(f, ep, false);
	rec_unqueue(&ep->q);
	free(ep->err);
	free(ep);
}

static void ep_put(struct felix *f, const char *name, const char *text,
		   int64_t rev, bool quiet)
{
	struct resource res;
	struct errs e = ERRS_INIT;
	struct fep *ep = store_ep_find(f, name), *nep;
	const struct wep *w;
	bool existed = ep != NULL;
	int r;

	r = res_from_text(RES_WEP, text, rev, &res, &e);
	if (r < 0) {
		/* Keep what we had: a bad write must not tear routes down. */
		log_warn("store: endpoint %s (revision %lld) is invalid, ignored: %s",
			 name, (long long)rev, e.n ? e.msg[0] : strerror(-r));
		errs_clear(&e);
		if (ep)
			ep->gen = f->store_gen;
		return;
	}
	w = &res.u.wep;
	if (ep && ep_same(ep, w)) {
		ep->rev = rev;
		ep->gen = f->store_gen;
		res_clear(&res);
		return;
	}
	nep = ep_new(w, name);
	res_clear(&res);
	if (!nep) {
		log_err("endpoint %s: out of memory, not kept", name);
		return;
	}
	nep->rev = rev;
	nep->gen = f->store_gen;
	if (ep)
		ep_remove(f, ep, false);
	if (ep_insert(f, nep) && !quiet) {
		char a[IP4_NETSTRLEN] = "-";

		if (nep->n_nets) {
			struct ip4_net n = { nep->nets[0].dst, nep->nets[0].len };

			ip4_net_fmt(&n, a);
		}
		log_info("store: endpoint %s %s (%s %s%s%s)", name,
			 existed ? "changed" : "added", wep_mode_name(nep->mode), a,
			 nep->ifname[0] ? " dev " : "", nep->ifname);
	}
}

static void ep_gone(struct felix *f, const char *name, bool quiet)
{
	struct fep *ep = store_ep_find(f, name);

	if (!ep)
		return;
	if (!quiet)
		log_info("store: endpoint %s removed", name);
	ep_remove(f, ep, true);
}

/* ---------- blocks ---------- */

static void block_remove(struct felix *f, struct fblock *b)
{
	bgp_mark_dirty(f);
	owner_del(f, &b->key);
	htab_del(&f->blocks, &b->by_name);
	f->n_blocks--;
	rec_unqueue(&b->q);
	free(b);
}

static void block_put(struct felix *f, const char *name, const char *text,
		      int64_t rev, bool quiet)
{
	struct resource res;
	struct errs e = ERRS_INIT;
	struct fblock *b = block_find(f, name);
	struct ip4_net cidr;
	bool mine;
	int r;

	r = res_from_text(RES_IPAMBLOCK, text, rev, &res, &e);
	if (r < 0) {
		log_warn("store: block %s (revision %lld) is invalid, ignored: %s",
			 name, (long long)rev, e.n ? e.msg[0] : strerror(-r));
		errs_clear(&e);
		if (b)
			b->gen = f->store_gen;
		return;
	}
	mine = !strcmp(res.u.block.affinity, f->cfg->node);
	cidr = res.u.block.cidr;
	res_clear(&res);
	if (b && mine && b->key.dst == cidr.addr && b->key.len == cidr.len) {
		b->gen = f->store_gen;
		return;
	}
	if (b) {
		if (!quiet)
			log_info("store: block %s %s", name,
				 mine ? "changed" : "no longer this node's");
		block_remove(f, b);
	}
	if (!mine)
		return;
	b = calloc(1, sizeof(*b));
	if (!b) {
		log_err("block %s: out of memory, not kept", name);
		return;
	}
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->gen = f->store_gen;
	b->q.kind = Q_BLOCK;
	dlist_init(&b->q.l);
	b->key.dst = cidr.addr;
	b->key.len = cidr.len;
	b->key.is_block = true;
	b->key.owner = b;
	if (htab_add(&f->blocks, &b->by_name, hash_str(b->name)) < 0) {
		log_err("block %s: out of memory, not kept", name);
		free(b);
		return;
	}
	f->n_blocks++;
	bgp_mark_dirty(f);
	owner_add(f, &b->key);
	rec_queue(f, &b->q);
	if (!quiet)
		log_info("store: block %s added", name);
}

static void block_gone(struct felix *f, const char *name, bool quiet)
{
	struct fblock *b = block_find(f, name);

	if (!b)
		return;
	if (!quiet)
		log_info("store: block %s removed", name);
	block_remove(f, b);
}

/* ---------- keys ---------- */

/* The last part of key after prefix, when it is a plausible name. */
static const char *key_name(const char *key, const char *prefix)
{
	size_t pl = strlen(prefix);
	const char *name;

	if (strncmp(key, prefix, pl))
		return NULL;
	name = key + pl;
	if (!name[0] || strchr(name, '/') || strlen(name) >= RES_NAME_MAX)
		return NULL;
	return name;
}

static void apply_event(struct felix *f, const struct ds_event *ev)
{
	const char *name;

	pol_store_event(f, ev);		/* every node's endpoints, policies... */
	if ((name = key_name(ev->key, f->wep_prefix))) {
		if (ev->rev <= f->list_rev_wep)
			return;		/* the list already had it */
		if (ev->type == DS_EV_PUT && ev->value)
			ep_put(f, name, ev->value, ev->rev, false);
		else
			ep_gone(f, name, false);
	} else if ((name = key_name(ev->key, f->block_prefix))) {
		if (ev->rev <= f->list_rev_block)
			return;
		if (ev->type == DS_EV_PUT && ev->value)
			block_put(f, name, ev->value, ev->rev, false);
		else
			block_gone(f, name, false);
	} else {
		bgp_store_event(f, ev);
	}
}

/* ---------- open, list, watch ---------- */

static int prefix_of(enum res_kind k, const char *node, char *buf, size_t len)
{
	int r = res_prefix(k, node, buf, len);
	size_t n;

	if (r < 0)
		return r;
	n = strlen(buf);
	if (n == 0 || buf[n - 1] != '/') {
		if (n + 2 > len)
			return -ENAMETOOLONG;
		buf[n] = '/';
		buf[n + 1] = '\0';
	}
	return 0;
}

int store_open(struct felix *f)
{
	int r;

	r = prefix_of(RES_WEP, f->cfg->node, f->wep_prefix, sizeof(f->wep_prefix));
	if (r == 0)
		r = prefix_of(RES_IPAMBLOCK, NULL, f->block_prefix,
			      sizeof(f->block_prefix));
	if (r < 0) {
		log_err("store: key prefix: %s", strerror(-r));
		return r;
	}
	r = ds_open(f->cfg->datastore, &f->ds);
	if (r < 0)
		log_err("store: opening %s: %s", f->cfg->datastore,
			ds_strerror(r));
	return r;
}

struct sweep_store {
	struct felix *f;
	bool blocks;
};

static void sweep_store_one(struct hnode *h, void *arg)
{
	struct sweep_store *s = arg;

	if (s->blocks) {
		struct fblock *b = container_of(h, struct fblock, by_name);

		if (b->gen != s->f->store_gen) {
			log_info("store: block %s removed", b->name);
			block_remove(s->f, b);
		}
	} else {
		struct fep *ep = container_of(h, struct fep, by_name);

		if (ep->gen != s->f->store_gen) {
			log_info("store: endpoint %s removed", ep->name);
			ep_remove(s->f, ep, true);
		}
	}
}

static int list_prefix(struct felix *f, const char *prefix, bool blocks,
		       int64_t *rev)
{
	struct ds_kv *kvs = NULL;
	bool quiet = f->store_gen == 1;
	size_t n = 0;
	int r;

	r = ds_list(f->ds, prefix, &kvs, &n, rev);
	if (r < 0) {
		log_err("store: listing %s: %s (%s)", prefix, ds_strerror(r),
			ds_last_error(f->ds));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = key_name(kvs[i].key, prefix);

		if (!name)
			continue;
		/* At start every record is news: not one line each. */
		if (blocks)
			block_put(f, name, kvs[i].value, kvs[i].mod_rev, quiet);
		else
			ep_put(f, name, kvs[i].value, kvs[i].mod_rev, quiet);
	}
	ds_kvs_free(kvs, n);
	return 0;
}

int store_relist(struct felix *f)
{
	struct sweep_store s = { f, false };
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t r1 = 0, r2 = 0;
	int r;

	ds_watch_free(f->watch);
	f->watch = NULL;
	f->watch_more = false;
	f->store_gen++;
	r = list_prefix(f, f->wep_prefix, false, &r1);
	if (r == 0)
		r = list_prefix(f, f->block_prefix, true, &r2);
	if (r < 0)
		return r;
	htab_walk(&f->eps, sweep_store_one, &s);
	s.blocks = true;
	htab_walk(&f->blocks, sweep_store_one, &s);
	f->list_rev_wep = r1;
	f->list_rev_block = r2;
	/* The watch starts at the oldest list; what a newer one already
	 * had is skipped by revision (apply_event, bgp_store_event). */
	if (r1 > r2)
		r1 = r2;
	if (f->bgp) {
		r = bgp_relist(f, &r1);
		if (r < 0)
			return r;
	}
	if (f->pol) {
		r = pol_relist(f, &r1);
		if (r < 0)
			return r;
	}
	if (r1 > f->applied_rev)
		f->applied_rev = r1;
	r = ds_watch_new(f->ds, STORE_WATCH_PREFIX, r1, &f->watch);
	if (r < 0) {
		log_err("store: watch: %s (%s)", ds_strerror(r),
			ds_last_error(f->ds));
		return r;
	}
	ev.data.ptr = &f->src_watch;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, ds_watch_fd(f->watch), &ev) < 0) {
		r = -errno;
		log_err("store: epoll: %s", strerror(-r));
		ds_watch_free(f->watch);
		f->watch = NULL;
		return r;
	}
	f->watch_more = true;	/* it may already hold news */
	/* The list's documents were many, big and short-lived: give their
	 * memory back rather than carry it. */
	malloc_trim(0);
	log_debug("store: listed revision %lld/%lld: %zu endpoints, %zu blocks",
		  (long long)f->list_rev_wep, (long long)f->list_rev_block,
		  f->n_eps, f->n_blocks);
	return 0;
}

int store_watch_read(struct felix *f, bool want_rev)
{
	struct ds_event *evs = NULL;
	int64_t before = 0;
	size_t n = 0;
	int r;

	if (!f->watch)
		return -ENOTCONN;
	/* Read the store's revision before the watch: when the watch then
	 * has nothing new, everything up to it has been applied. Only when
	 * someone waits for a revision, it costs a query. */
	if (want_rev)
		before = ds_revision(f->ds);
	r = ds_watch_read(f->watch, &evs, &n);
	if (r == -ERANGE) {
		log_warn("store: the watch fell behind the store's compaction: listing again");
		return r;
	}
	if (r < 0) {
		log_err("store: watch: %s (%s): listing again", ds_strerror(r),
			ds_last_error(f->ds));
		return r;
	}
	for (size_t i = 0; i < n; i++) {
		apply_event(f, &evs[i]);
		if (evs[i].rev > f->applied_rev)
			f->applied_rev = evs[i].rev;
	}
	ds_events_free(evs, n);
	f->watch_more = n > 0;
	if (!n && before > f->applied_rev)
		f->applied_rev = before;
	return 0;
}

/* ---------- teardown ---------- */

static void free_ep(struct hnode *h, void *arg)
{
	struct fep *ep = container_of(h, struct fep, by_name);

	(void)arg;
	free(ep->err);
	free(ep);
}

static void free_block(struct hnode *h, void *arg)
{
	(void)arg;
	free(container_of(h, struct fblock, by_name));
}

void store_free_all(struct felix *f)
{
	htab_walk(&f->eps, free_ep, NULL);
	htab_walk(&f->blocks, free_block, NULL);
	while (!dlist_empty(&f->tombs))
		store_tomb_free(f, container_of(f->tombs.next, struct ftomb, l));
	htab_clear(&f->eps);
	htab_clear(&f->eps_by_if);
	htab_clear(&f->blocks);
	htab_clear(&f->owners);
}

void store_close(struct felix *f)
{
	ds_watch_free(f->watch);
	f->watch = NULL;
	ds_close(f->ds);
	f->ds = NULL;
}
