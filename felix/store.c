/*
 * store: felix's desired state, from the datastore.
 *
 * The store part (felix/part.h). Two kinds of records matter: this node's
 * WorkloadEndpoints (/petrel/workloadendpoints/<node>/<name>) and the IPAM
 * blocks whose affinity is this node (/petrel/ipamblocks/<name>). They are
 * listed at a relist, then feed.c hands over every later change, in
 * revision order (store_on_resource).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ifname.h"
#include "common/log.h"
#include "felix/felix.h"

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

bool store_ifname_claimed(struct felix *f, const char *ifname)
{
	struct hnode *h = htab_first(&f->eps_by_if, hash_str(ifname));

	for (; h; h = htab_next(h))
		if (!strcmp(container_of(h, struct fep, by_if)->ifname, ifname))
			return true;
	return false;
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
	    (ep->has_mac && memcmp(ep->mac, w->mac, 6)) ||
	    ep->has_ports != (w->mode == WEP_ROUTED && w->n_ports > 0))
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
		ep->has_ports = w->n_ports > 0;
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
	if (l) {	/* rm and CNI DEL leave its host end to the sweep */
		l->was_claimed = true;
		f->sweep_look = true;
	}
	if (ep->if_indexed)
		htab_del(&f->eps_by_if, &ep->by_if);
	htab_del(&f->eps, &ep->by_name);
	f->n_eps--;
	rec_ep_set_programmed(f, ep, false);
	rec_unqueue(&ep->q);
	free(ep->err);
	free(ep);
}

/* w NULL: the record is invalid (logged): keep what we had, a bad write
 * must not tear routes down. */
static void ep_put(struct felix *f, const char *name, const struct wep *w,
		   int64_t rev, bool quiet)
{
	struct fep *ep = store_ep_find(f, name), *nep;
	bool existed = ep != NULL;

	if (!w) {
		if (ep)
			ep->gen = f->store_gen;
		return;
	}
	if (ep && ep_same(ep, w)) {
		ep->rev = rev;
		ep->gen = f->store_gen;
		return;
	}
	nep = ep_new(w, name);
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

static void block_put(struct felix *f, const char *name,
		      const struct ipamblock *blk, bool quiet)
{
	struct fblock *b = block_find(f, name);
	struct ip4_net cidr;
	bool mine;

	if (!blk) {
		if (b)
			b->gen = f->store_gen;
		return;
	}
	/* an IPv6 block is not routed yet (docs/ipv6.md): never ours */
	mine = !blk->v6 && !strcmp(blk->affinity, f->cfg->node);
	cidr = blk->cidr;
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

/* ---------- input ---------- */

static void store_on_resource(struct felix *f, struct fres *r)
{
	struct resource *res;

	if (r->kind == RES_WEP) {
		if (strcmp(r->node, f->cfg->node) || r->rev <= f->list_rev_wep)
			return;		/* another node's, or the list had it */
		if (r->gone) {
			ep_gone(f, r->name, false);
			return;
		}
		res = fres_res(r);
		ep_put(f, r->name, res ? &res->u.wep : NULL, r->rev, false);
	} else if (r->kind == RES_IPAMBLOCK) {
		if (r->rev <= f->list_rev_block)
			return;
		if (r->gone) {
			block_gone(f, r->name, false);
			return;
		}
		res = fres_res(r);
		block_put(f, r->name, res ? &res->u.block : NULL, false);
	}
}

/* ---------- open, list ---------- */

static int store_open(struct felix *f)
{
	int r;

	r = res_prefix(RES_WEP, f->cfg->node, f->wep_prefix, sizeof(f->wep_prefix));
	if (r == 0)
		r = res_prefix(RES_IPAMBLOCK, NULL, f->block_prefix,
			       sizeof(f->block_prefix));
	if (r < 0)
		log_err("store: key prefix: %s", strerror(-r));
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

/* One prefix's list, applied (the list itself made before: a relist
 * changes nothing until every list it needs has come). */
static void list_apply(struct felix *f, enum res_kind kind, const char *prefix,
		       const struct ds_kv *kvs, size_t n)
{
	bool quiet = f->store_gen == 1;

	for (size_t i = 0; i < n; i++) {
		struct ds_event ev = { DS_EV_PUT, kvs[i].key, kvs[i].value,
				       kvs[i].mod_rev };
		struct fres fr = { .kind = kind, .rev = kvs[i].mod_rev, .ev = &ev };
		struct resource *res;

		fr.name = felix_key_name(kvs[i].key, prefix);
		if (!fr.name)
			continue;
		res = fres_res(&fr);
		/* At start every record is news: not one line each. */
		if (kind == RES_IPAMBLOCK)
			block_put(f, fr.name, res ? &res->u.block : NULL, quiet);
		else
			ep_put(f, fr.name, res ? &res->u.wep : NULL,
			       kvs[i].mod_rev, quiet);
		if (res)
			res_clear(res);
	}
}

static int store_relist(struct felix *f, int64_t *min_rev)
{
	struct sweep_store s = { f, false };
	struct ds_kv *kv_eps = NULL, *kv_blocks = NULL;
	size_t n_eps = 0, n_blocks = 0;
	int64_t r1 = 0, r2 = 0;
	int r;

	/* Both lists first: one that fails leaves everything as it was
	 * (the store is not reachable, it is not empty). */
	r = ds_list(f->ds, f->wep_prefix, &kv_eps, &n_eps, &r1);
	if (r == 0)
		r = ds_list(f->ds, f->block_prefix, &kv_blocks, &n_blocks, &r2);
	if (r < 0) {
		log_debug("store: listing: %s (%s)", ds_strerror(r),
			  ds_last_error(f->ds));
		ds_kvs_free(kv_eps, n_eps);
		return r;
	}
	f->store_gen++;
	list_apply(f, RES_WEP, f->wep_prefix, kv_eps, n_eps);
	list_apply(f, RES_IPAMBLOCK, f->block_prefix, kv_blocks, n_blocks);
	ds_kvs_free(kv_eps, n_eps);
	ds_kvs_free(kv_blocks, n_blocks);
	htab_walk(&f->eps, sweep_store_one, &s);
	s.blocks = true;
	htab_walk(&f->blocks, sweep_store_one, &s);
	f->list_rev_wep = r1;
	f->list_rev_block = r2;
	if (r1 < *min_rev)
		*min_rev = r1;
	if (r2 < *min_rev)
		*min_rev = r2;
	log_debug("store: listed revision %lld/%lld: %zu endpoints, %zu blocks",
		  (long long)f->list_rev_wep, (long long)f->list_rev_block,
		  f->n_eps, f->n_blocks);
	return 0;
}

struct addrs_walk {
	void (*fn)(const struct ip4_net *, void *);
	void *arg;
};

static void addrs_one(struct hnode *h, void *arg)
{
	struct addrs_walk *w = arg;
	struct fep *ep = container_of(h, struct fep, by_name);

	if (ep->mode != WEP_ROUTED)
		return;
	for (size_t i = 0; i < ep->n_nets; i++) {
		struct ip4_net n = { ep->nets[i].dst, ep->nets[i].len };

		w->fn(&n, w->arg);
	}
}

void store_routed_addrs_walk(struct felix *f,
			     void (*fn)(const struct ip4_net *net, void *arg),
			     void *arg)
{
	struct addrs_walk w = { fn, arg };

	htab_walk(&f->eps, addrs_one, &w);
}

/* Calls fn for each of this node's blocks (the BGP part's input). */
void store_blocks_walk(struct felix *f,
		       void (*fn)(const struct ip4_net *cidr, void *arg), void *arg)
{
	for (size_t i = 0; i < f->blocks.nb; i++)
		for (struct hnode *h = f->blocks.b[i]; h; h = h->next) {
			struct fblock *b = container_of(h, struct fblock, by_name);
			struct ip4_net n = { b->key.dst, b->key.len };

			fn(&n, arg);
		}
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

static void store_close(struct felix *f)
{
	dlist_init(&f->queue);	/* the tables' objects go in one sweep */
	store_free_all(f);
}

const struct fpart store_part = {
	.name = "store",
	.kinds = FRES_KIND(RES_WEP) | FRES_KIND(RES_IPAMBLOCK),
	.open = store_open,
	.close = store_close,
	.relist = store_relist,
	.on_resource = store_on_resource,
};
