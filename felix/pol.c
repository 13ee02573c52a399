/*
 * pol: felix's nftables table `inet petrel` (policy, networks, published
 * ports, natOutgoing, anti-spoofing), kept current incrementally.
 *
 * Inputs, from the store's one watch: every node's WorkloadEndpoints (for
 * the address sets of selectors and networks), NetworkPolicies, Networks,
 * IPPools. Kept compactly (struct pep: what the table needs of an
 * endpoint), so that 10,000 endpoints cost little.
 *
 *   want   the table as it should be, changed piece by piece by the
 *          compile.h builders as inputs change; every piece touched is
 *          named in `dirty`
 *   have   what the kernel has: a copy of want's pieces taken when their
 *          batch was acknowledged; NULL when not known (start, a failed
 *          batch, a change by someone else): then the kernel's table is
 *          read back and compared, and replaced whole in one transaction
 *          when it differs
 *
 * Endpoint chains are shared by the workloads with the same policies and
 * networks (compile.h: from-HASH/to-HASH): a new workload of a known kind
 * costs map elements only, and its batch no kernel re-validation of the
 * whole table (which every new rule with a verdict costs).
 *
 * An address set (s-HASH for a selector, n-NET for a network) has a
 * tracker that knows what it selects; an endpoint change is matched against
 * every tracker (one selector evaluation each), so adding a workload costs
 * O(sets + policies), not O(workloads).
 *
 * pol_ready() is false while want is not all in the kernel: `wait` answers
 * only after this (no gap between a workload's creation and its policy).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/hosts.h"
#include "common/log.h"
#include "felix/felix.h"
#include "felix/nft.h"
#include "felix/pol_int.h"
#include "policy/compile.h"

static const enum res_kind pk_kind[PK_N] = {
	RES_WEP, RES_NETPOLICY, RES_NETWORK, RES_IPPOOL, RES_HOSTEP,
};

/* ---------- small helpers ---------- */

/* A queued piece: in fpol.dirty_idx, by kind and name. */
struct piece {
	struct hnode h;
	struct nftk_piece x;
};


static uint32_t piece_hash(enum nftk_piece_kind kind, const char *name)
{
	return hash_u32(hash_str(name), kind);
}

/* Queues the chain or set `name` for the next batch; a piece queued again
 * is one entry (O(1) to tell). */
static void dirty_add(struct fpol *p, enum nftk_piece_kind kind, const char *name)
{
	uint32_t hash = piece_hash(kind, name);
	struct piece *x;

	for (struct hnode *h = htab_first(&p->dirty_idx, hash); h; h = htab_next(h)) {
		x = container_of(h, struct piece, h);
		if (x->x.kind == kind && !strcmp(x->x.name, name))
			return;
	}
	if (strlen(name) >= sizeof(x->x.name))
		goto oom;	/* not a name the IR holds */
	if (p->n_dirty == p->cap_dirty) {
		size_t c = p->cap_dirty ? p->cap_dirty * 2 : 64;
		struct nftk_piece **v = realloc(p->dirty, c * sizeof(*v));

		if (!v)
			goto oom;
		p->dirty = v;
		p->cap_dirty = c;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		goto oom;
	x->x.kind = (uint8_t)kind;
	strcpy(x->x.name, name);
	if (htab_add(&p->dirty_idx, &x->h, hash) < 0) {
		free(x);
		goto oom;
	}
	p->dirty[p->n_dirty++] = &x->x;
	return;
oom:
	/* cannot track the piece: compare the whole table instead */
	p->verify = true;
	p->verify_why = "out of memory";
}

static void dirty_chain(struct fpol *p, const char *name)
{
	dirty_add(p, NFTK_CHAIN, name);
}

static void dirty_set(struct fpol *p, const char *name)
{
	dirty_add(p, NFTK_SET, name);
}

void pol_dirty_chain(struct fpol *p, const char *name)
{
	dirty_chain(p, name);
}

void pol_dirty_set(struct fpol *p, const char *name)
{
	dirty_set(p, name);
}

void pol_dirty_clear(struct fpol *p)
{
	for (size_t i = 0; i < p->n_dirty; i++) {
		struct piece *x = container_of(p->dirty[i], struct piece, x);

		htab_del(&p->dirty_idx, &x->h);
		free(x);
	}
	p->n_dirty = 0;
}

static const char *key_name(const char *key, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (strncmp(key, prefix, pl) || !key[pl])
		return NULL;
	return key + pl;
}

static void pep_node(const struct pep *e, char *node)
{
	size_t n = (size_t)(e->name - e->key) - 1;

	memcpy(node, e->key, n);
	node[n] = '\0';
}

struct pep *pol_pep_find(struct fpol *p, const char *key)
{
	for (struct hnode *h = htab_first(&p->peps, hash_str(key)); h; h = htab_next(h)) {
		struct pep *e = (struct pep *)h;

		if (!strcmp(e->key, key))
			return e;
	}
	return NULL;
}

static void pep_free(struct pep *e)
{
	if (!e)
		return;
	labels_clear(&e->labels);
	free(e->networks);
	free(e->ports);
	free(e);
}

/* ---------- address sets ---------- */

static bool track_match(const struct ptrack *t, const struct pep *e)
{
	return compile_set_member(t->owner, &e->v);
}

static void set_elems(struct fpol *p, struct nir_set *s, const struct pep *e,
		      bool add)
{
	for (size_t i = 0; i < e->n_nets; i++) {
		struct nir_elem el;

		if (e->nets[i].len != 32)	/* as compile_sets_fill */
			continue;
		memset(&el, 0, sizeof(el));
		el.addr = e->nets[i].addr;
		if (add)
			nir_set_elem_put(s, &el);
		else
			nir_set_elem_del(s, &el);
	}
	dirty_set(p, s->name);
}

/* An endpoint appeared (add) or is about to go (!add): every set that
 * holds it changes. */
static void tracks_pep(struct fpol *p, const struct pep *e, bool add)
{
	for (size_t i = 0; i < p->n_tracks; i++) {
		struct nir_set *s;

		if (!track_match(&p->tracks[i], e))
			continue;
		s = nir_set_find(p->want, p->tracks[i].set);
		if (s)
			set_elems(p, s, e, add);
	}
}

static void track_fill(struct fpol *p, struct ptrack *t)
{
	struct nir_set *s = nir_set_find(p->want, t->set);

	if (!s)
		return;
	for (size_t b = 0; b < p->peps.nb; b++)
		for (struct hnode *h = p->peps.b[b]; h; h = h->next) {
			const struct pep *e = (const struct pep *)h;

			if (track_match(t, e))
				for (size_t i = 0; i < e->n_nets; i++) {
					struct nir_elem el;

					if (e->nets[i].len != 32)
						continue;
					memset(&el, 0, sizeof(el));
					el.addr = e->nets[i].addr;
					nir_set_elem_put(s, &el);
				}
		}
	dirty_set(p, s->name);
}

static void track_free(struct ptrack *t)
{
	nir_owner_unref(t->owner);
	t->owner = NULL;
}

/* After builders ran: a tracker for every new s-/n- set (filled at once),
 * none for a set that is gone. */
static void chain_gone(void *ctx, const char *name)
{
	dirty_chain(ctx, name);
}

void pol_tracks_sync(struct fpol *p)
{
	compile_chains_gc(p->want, chain_gone, p);
	compile_sets_gc(p->want);
	for (size_t i = 0; i < p->n_tracks;) {
		if (!nir_set_find(p->want, p->tracks[i].set)) {
			dirty_set(p, p->tracks[i].set);
			track_free(&p->tracks[i]);
			p->tracks[i] = p->tracks[--p->n_tracks];
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < p->want->n_sets; i++) {
		const struct nir_set *s = p->want->sets[i];
		struct ptrack t, *v;
		bool known = false;

		if (!s->owner)
			continue;	/* a fixed set: the endpoint builders fill it */
		for (size_t j = 0; j < p->n_tracks && !known; j++)
			known = !strcmp(p->tracks[j].set, s->name);
		if (known)
			continue;
		memset(&t, 0, sizeof(t));
		snprintf(t.set, sizeof(t.set), "%s", s->name);
		t.owner = nir_owner_ref(s->owner);
		v = realloc(p->tracks, (p->n_tracks + 1) * sizeof(*v));
		if (!v) {
			track_free(&t);
			continue;
		}
		p->tracks = v;
		p->tracks[p->n_tracks] = t;
		track_fill(p, &p->tracks[p->n_tracks]);
		p->n_tracks++;
	}
}

/* ---------- endpoint chains ---------- */

/* The local endpoint's chains and elements, from scratch; clear: it may
 * have some already (a policy change), else it has none. */
static void ep_build(struct fpol *p, const struct pep *e, bool clear)
{
	char name[NIR_NAME_MAX], to[NIR_NAME_MAX];

	if (!e->local || !pep_has_addr(e) || !e->ifname[0])
		return;
	if (clear)
		compile_ep_del(p->want, &e->v);
	/* the compiler selects and orders the policies, as for a whole table */
	if (compile_ep_add(p->want, &e->v, (const struct compile_policy *const *)p->pols,
			   p->n_pols) < 0) {
		p->verify = true;
		p->verify_why = "out of memory";
	}
	/* the shared chains it is dispatched to (new ones among them); in a
	 * relist the sets are unsorted and the whole table is compared anyway */
	if (!nir_set_find(p->want, COMPILE_MAP_FROM_WL)->bulk &&
	    compile_ep_chain_names(p->want, e->ifname, name, to) == 0) {
		dirty_chain(p, name);
		dirty_chain(p, to);
	}
	dirty_set(p, COMPILE_SET_WL_SRC);
	dirty_set(p, COMPILE_MAP_FROM_WL);
	dirty_set(p, COMPILE_MAP_TO_WL);
	dirty_set(p, COMPILE_MAP_PORTS);
	dirty_set(p, COMPILE_MAP_PORTS_IP);
}

static void ep_unbuild(struct fpol *p, const struct pep *e)
{
	if (!e->local || !e->ifname[0])
		return;
	compile_ep_del(p->want, &e->v);
	p->tracks_dirty = true;		/* its chains may be unused now */
	dirty_set(p, COMPILE_SET_WL_SRC);
	dirty_set(p, COMPILE_MAP_FROM_WL);
	dirty_set(p, COMPILE_MAP_TO_WL);
	dirty_set(p, COMPILE_MAP_PORTS);
	dirty_set(p, COMPILE_MAP_PORTS_IP);
}

/* ---------- store events ---------- */

static struct pep *pep_from(const char *key, const struct wep *w, bool local)
{
	struct pep *e = calloc(1, sizeof(*e));
	const char *slash;

	if (!e)
		return NULL;
	snprintf(e->key, sizeof(e->key), "%s", key);
	slash = strchr(e->key, '/');
	e->name = slash ? slash + 1 : e->key;
	e->local = local;
	e->mode = w->mode;
	memcpy(e->ifname, w->ifname, sizeof(e->ifname));
	/* a hosts file only for a named namespace (/run/netns/NAME: what
	 * `ip netns exec` and `petrelctl exec` bind /etc/netns/NAME/ for); an
	 * engine's namespace (/proc/PID/ns/net, podman's own) has its own
	 * /etc/hosts */
	if (local && (!strncmp(w->netns, "/run/netns/", 11) ||
		      !strncmp(w->netns, "/var/run/netns/", 15))) {
		const char *base = strrchr(w->netns, '/') + 1;

		if (base[0] && strlen(base) < sizeof(e->netns))
			snprintf(e->netns, sizeof(e->netns), "%s", base);
	}
	e->n_nets = w->n_nets;
	memcpy(e->nets, w->nets, sizeof(e->nets));
	for (size_t i = 0; i < w->labels.n; i++)
		if (labels_set(&e->labels, w->labels.v[i].key, w->labels.v[i].value) < 0)
			goto fail;
	if (w->n_networks) {
		e->networks = calloc(w->n_networks, RES_NAME_MAX);
		if (!e->networks)
			goto fail;
		memcpy(e->networks, w->networks, w->n_networks * RES_NAME_MAX);
		e->n_networks = w->n_networks;
	}
	if (w->n_ports) {
		e->ports = calloc(w->n_ports, sizeof(*e->ports));
		if (!e->ports)
			goto fail;
		memcpy(e->ports, w->ports, w->n_ports * sizeof(*e->ports));
		e->n_ports = w->n_ports;
	}
	pep_node(e, e->node);
	e->v = (struct compile_ep){
		.node = e->node, .name = e->name, .routed = e->mode == WEP_ROUTED,
		.ifname = e->ifname, .n_nets = e->n_nets, .nets = e->nets,
		.labels = &e->labels,
		.n_networks = e->n_networks,
		.networks = (const char (*)[RES_NAME_MAX])e->networks,
		.n_ports = e->n_ports, .ports = e->ports,
	};
	return e;
fail:
	pep_free(e);
	return NULL;
}

static void pep_remove(struct fpol *p, struct pep *e)
{
	tracks_pep(p, e, false);
	ep_unbuild(p, e);
	if (e->n_networks)
		p->tracks_dirty = true;	/* an n- set may be unused now */
	pol_hosts_mark(p, e);
	if (e->local && e->netns[0])
		hosts_remove_at(p->hosts_root, e->netns);
	htab_del(&p->peps, &e->h);
	p->n_peps--;
	pep_free(e);
}

static void wep_event(struct felix *f, const char *key, const char *text,
		      int64_t rev)
{
	struct fpol *p = f->pol;
	struct pep *old = pol_pep_find(p, key), *e;
	struct resource res;
	struct errs er = ERRS_INIT;

	if (old)
		pep_remove(p, old);
	if (!text)
		return;
	if (res_from_text(RES_WEP, text, rev, &res, &er) < 0) {
		log_warn("store: workload endpoint %s (revision %lld) is invalid, ignored: %s",
			 key, (long long)rev, er.n ? er.msg[0] : "?");
		errs_clear(&er);
		return;
	}
	e = pep_from(key, &res.u.wep, !strcmp(res.u.wep.node, f->cfg->node));
	res_clear(&res);
	if (!e) {
		p->verify = true;
		p->verify_why = "out of memory";
		return;
	}
	htab_add(&p->peps, &e->h, hash_str(e->key));
	p->n_peps++;
	tracks_pep(p, e, true);
	ep_build(p, e, false);	/* pep_remove cleared the old one */
	if (e->n_networks)
		p->tracks_dirty = true;	/* its chains may name a new n- set */
	pol_hosts_mark(p, e);
	if (e->local && e->netns[0]) {
		e->hosts_dirty = true;
		p->hosts_dirty = true;
	}
}

static struct ppol *pol_find(struct fpol *p, const char *name, size_t *idx)
{
	for (size_t i = 0; i < p->n_pols; i++)
		if (!strcmp(p->pols[i]->np->name, name)) {
			if (idx)
				*idx = i;
			return (struct ppol *)p->pols[i];
		}
	return NULL;
}

void ppol_free(struct ppol *pp)
{
	if (!pp)
		return;
	compile_policy_clear(&pp->cp);
	netpolicy_clear(&pp->np);
	free(pp);
}

/* A policy changed: its chains, and the chains of every local endpoint it
 * selected before or selects now. A version that does not decode changes
 * nothing while its last good one is in force, else a closed policy takes
 * its place (pol_fail.c). */
static void policy_event(struct felix *f, const char *name, const char *text,
			 int64_t rev)
{
	struct fpol *p = f->pol;
	size_t idx = 0;
	struct ppol *old = pol_find(p, name, &idx), *nw = NULL;
	struct errs er = ERRS_INIT;
	char cn[NIR_NAME_MAX];

	if (text) {
		if (pol_fail_decode(p, name, text, rev, old && !old->closed, &nw) < 0) {
			/* no new version: the old one, good or closed, stays */
			log_err("store: network policy %s (revision %lld): out of memory",
				name, (long long)rev);
			p->verify = true;
			p->verify_why = "out of memory";
			return;
		}
		if (!nw)
			return;		/* the last good version stays in force */
	} else {
		pol_fail_forget(p, name);
	}
	if (old) {
		compile_policy_del(p->want, name);
		if (nw)
			p->pols[idx] = &nw->cp;	/* in its place: no allocation */
		else
			p->pols[idx] = p->pols[--p->n_pols];
	} else if (nw) {
		struct compile_policy **v = realloc(p->pols, (p->n_pols + 1) * sizeof(*v));

		if (!v) {
			ppol_free(nw);
			nw = NULL;
			p->verify = true;
		} else {
			p->pols = v;
			p->pols[p->n_pols++] = &nw->cp;
		}
	}
	if (nw && compile_policy_chains(p->want, &nw->np, &er) < 0) {
		log_warn("nft: policy %s: %s", name, er.n ? er.msg[0] : "cannot compile");
		errs_clear(&er);
	}
	compile_name_policy(name, true, cn);
	dirty_chain(p, cn);
	compile_name_policy(name, false, cn);
	dirty_chain(p, cn);
	/* the endpoints it selected or selects: rebuilt */
	for (size_t b = 0; b < p->peps.nb; b++)
		for (struct hnode *h = p->peps.b[b]; h; h = h->next) {
			const struct pep *e = (const struct pep *)h;
			bool hit = false;

			if (!e->local || !pep_has_addr(e))
				continue;
			for (int in = 0; in < 2 && !hit; in++)
				hit = (old && compile_selects(&old->cp, &e->v, in)) ||
				      (nw && compile_selects(&nw->cp, &e->v, in));
			if (hit)
				ep_build(p, e, true);
		}
	ppol_free(old);
	pol_hep_rebuild(p);	/* it may select a host endpoint */
	p->tracks_dirty = true;
}

static void network_event(struct felix *f, const char *name, const char *text,
			  int64_t rev)
{
	struct fpol *p = f->pol;
	struct resource res;
	struct errs er = ERRS_INIT;

	for (size_t i = 0; i < p->n_nets; i++)
		if (!strcmp(p->nets[i].name, name)) {
			p->nets[i] = p->nets[--p->n_nets];
			break;
		}
	if (text) {
		struct network *v;

		if (res_from_text(RES_NETWORK, text, rev, &res, &er) < 0) {
			log_warn("store: network %s (revision %lld) is invalid, ignored: %s",
				 name, (long long)rev, er.n ? er.msg[0] : "?");
			errs_clear(&er);
			return;
		}
		v = realloc(p->nets, (p->n_nets + 1) * sizeof(*v));
		if (v) {
			p->nets = v;
			p->nets[p->n_nets++] = res.u.network;
		}
		res_clear(&res);
	}
	/* the table names networks only through members' chains: nothing to
	 * rebuild here; kept for `nft` and future use */
}

static void pool_rebuild(struct fpol *p)
{
	const struct ippool **v = calloc(p->n_pools + 1, sizeof(*v));

	if (!v) {
		p->verify = true;
		return;
	}
	for (size_t i = 0; i < p->n_pools; i++)
		v[i] = &p->pools[i];
	if (compile_nat_post(p->want, v, p->n_pools) < 0)
		p->verify = true;
	free(v);
	dirty_chain(p, "nat-post");
}

static void pool_event(struct felix *f, const char *name, const char *text,
		       int64_t rev)
{
	struct fpol *p = f->pol;
	struct resource res;
	struct errs er = ERRS_INIT;

	for (size_t i = 0; i < p->n_pools; i++)
		if (!strcmp(p->pools[i].name, name)) {
			ippool_clear(&p->pools[i]);
			p->pools[i] = p->pools[--p->n_pools];
			break;
		}
	if (text) {
		struct ippool *v;

		if (res_from_text(RES_IPPOOL, text, rev, &res, &er) < 0) {
			errs_clear(&er);
			pool_rebuild(p);
			return;
		}
		if (res.u.pool.v6) {	/* not routed yet (docs/ipv6.md) */
			res_clear(&res);
			pool_rebuild(p);
			return;
		}
		v = realloc(p->pools, (p->n_pools + 1) * sizeof(*v));
		if (v) {
			p->pools = v;
			p->pools[p->n_pools++] = res.u.pool;
			memset(&res.u.pool, 0, sizeof(res.u.pool));
		}
		res_clear(&res);
	}
	pool_rebuild(p);
}

static void doc_event(struct felix *f, int k, const char *name,
		      const char *text, int64_t rev)
{
	switch (k) {
	case PK_WEP:
		wep_event(f, name, text, rev);
		break;
	case PK_POLICY:
		policy_event(f, name, text, rev);
		break;
	case PK_NETWORK:
		network_event(f, name, text, rev);
		break;
	case PK_POOL:
		pool_event(f, name, text, rev);
		break;
	case PK_HEP:
		pol_hep_event(f, name, text, rev);
		break;
	}
}

void pol_store_event(struct felix *f, const struct ds_event *ev)
{
	struct fpol *p = f->pol;
	const char *name;

	if (!p)
		return;
	for (int k = 0; k < PK_N; k++) {
		name = key_name(ev->key, p->prefix[k]);
		if (!name)
			continue;
		if (ev->rev <= p->list_rev[k])
			return;
		doc_event(f, k, name, ev->type == DS_EV_PUT ? ev->value : NULL, ev->rev);
		return;
	}
}

/* ---------- list ---------- */

static void free_pep_node(struct hnode *h, void *arg)
{
	(void)arg;
	pep_free((struct pep *)h);
}

static void state_clear(struct fpol *p)
{
	htab_walk(&p->peps, free_pep_node, NULL);
	htab_clear(&p->peps);
	p->n_peps = 0;
	for (size_t i = 0; i < p->n_pols; i++)
		ppol_free((struct ppol *)p->pols[i]);
	p->n_pols = 0;
	p->n_nets = 0;
	for (size_t i = 0; i < p->n_pools; i++)
		ippool_clear(&p->pools[i]);
	p->n_pools = 0;
	for (size_t i = 0; i < p->n_tracks; i++)
		track_free(&p->tracks[i]);
	p->n_tracks = 0;
	pol_hep_clear(p);
}

/* config's port lists → compile's (the same two fields). */
static void ports_of(struct compile_host_allow *to,
		     const struct config_host_allow *from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		to[i] = (struct compile_host_allow){ from[i].proto, from[i].port };
}

static int want_reset(struct felix *f)
{
	struct fpol *p = f->pol;
	struct compile_host_allow allow[CONFIG_HOST_ALLOW_MAX];
	struct compile_host_allow fs_in[CONFIG_FAILSAFE_MAX];
	struct compile_host_allow fs_out[CONFIG_FAILSAFE_MAX];
	struct compile_config cfg = {
		.ep_to_host = f->cfg->ep_to_host == CONFIG_EP_TO_HOST_DROP ?
			      COMPILE_HOST_DROP : COMPILE_HOST_ACCEPT,
		.n_host_allow = f->cfg->n_host_allow,
		.host_allow = allow,
		.n_failsafe_in = f->cfg->n_failsafe_in,
		.failsafe_in = fs_in,
		.n_failsafe_out = f->cfg->n_failsafe_out,
		.failsafe_out = fs_out,
	};

	ports_of(allow, f->cfg->host_allow, f->cfg->n_host_allow);
	ports_of(fs_in, f->cfg->failsafe_in, f->cfg->n_failsafe_in);
	ports_of(fs_out, f->cfg->failsafe_out, f->cfg->n_failsafe_out);

	nir_table_free(p->want);
	p->want = nir_table_new();
	if (!p->want || compile_base(p->want, &cfg, NULL, 0) < 0)
		return -ENOMEM;
	return 0;
}

int pol_relist(struct felix *f, int64_t *min_rev)
{
	struct fpol *p = f->pol;
	struct ds_kv *kvs[PK_N] = { NULL };
	size_t n[PK_N] = { 0 };
	int64_t rev[PK_N] = { 0 };
	int r = 0;

	if (!p)
		return 0;
	/* Every list first: one that fails changes nothing (the table keeps
	 * what it has; the store is unreachable, not empty). */
	for (int k = 0; k < PK_N && r == 0; k++)
		r = ds_list(f->ds, p->prefix[k], &kvs[k], &n[k], &rev[k]);
	if (r < 0) {
		log_debug("store: nft: listing: %s (%s)", ds_strerror(r),
			  ds_last_error(f->ds));
		goto out;
	}
	pol_fail_relist_begin(p);
	state_clear(p);
	pol_dirty_clear(p);
	r = want_reset(f);
	if (r < 0)
		goto out;
	/* the sets fill unsorted, then are sorted once */
	for (size_t i = 0; i < p->want->n_sets; i++)
		p->want->sets[i]->bulk = true;
	/* pools and policies before endpoints: an endpoint's chains are
	 * built once, with everything that selects it known */
	static const int order[PK_N] = { PK_POOL, PK_NETWORK, PK_POLICY, PK_HEP, PK_WEP };
	for (int o = 0; o < PK_N; o++) {
		int k = order[o];

		p->list_rev[k] = 0;
		for (size_t i = 0; i < n[k]; i++) {
			const char *name = key_name(kvs[k][i].key, p->prefix[k]);

			if (name)
				doc_event(f, k, name, kvs[k][i].value, kvs[k][i].mod_rev);
		}
		p->list_rev[k] = rev[k];
		if (k == PK_POLICY)
			pol_fail_relist_end(p);
		if (rev[k] < *min_rev)
			*min_rev = rev[k];
	}
	for (size_t i = 0; i < p->want->n_sets; i++)
		if (nir_set_settle(p->want->sets[i]) < 0) {
			r = -ENOMEM;
			goto out;
		}
	pol_tracks_sync(p);
	p->tracks_dirty = false;
	/* the whole table is compared with the kernel's at the next sync */
	pol_dirty_clear(p);
	p->verify = true;
	p->verify_why = "start or relist";
	log_debug("store: nft: %zu endpoints, %zu policies, %zu networks, %zu pools, "
		  "%zu host endpoints", p->n_peps, p->n_pols, p->n_nets, p->n_pools,
		  p->n_heps);
out:
	for (int k = 0; k < PK_N; k++)
		ds_kvs_free(kvs[k], n[k]);
	return r;
}

/* ---------- open / close ---------- */

int pol_open(struct felix *f)
{
	struct fpol *p = calloc(1, sizeof(*p));
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	if (!p)
		return -ENOMEM;
	for (int k = 0; k < PK_N; k++) {
		size_t n;

		r = res_prefix(pk_kind[k], NULL, p->prefix[k], sizeof(p->prefix[k]));
		n = r == 0 ? strlen(p->prefix[k]) : 0;
		if (r == 0 && n && p->prefix[k][n - 1] != '/' && n + 2 <= sizeof(p->prefix[k]))
			memcpy(p->prefix[k] + n, "/", 2);
		if (r < 0) {
			free(p);
			return r;
		}
	}
	r = nftk_open(&p->k);
	if (r < 0) {
		log_err("nft: netlink: %s", strerror(-r));
		free(p);
		return r;
	}
	p->src.type = ES_NFT;
	ev.data.ptr = &p->src;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, nftk_mon_fd(p->k), &ev) < 0) {
		r = -errno;
		nftk_close(p->k);
		free(p);
		return r;
	}
	p->hosts_root = HOSTS_ROOT;
	f->pol = p;
	r = want_reset(f);
	if (r < 0)
		return r;
	p->verify = true;
	p->verify_why = "start";
	return 0;
}

void pol_close(struct felix *f)
{
	struct fpol *p = f->pol;

	if (!p)
		return;
	state_clear(p);
	pol_fail_free(p);
	htab_clear(&p->peps);
	free(p->pols);
	free(p->nets);
	free(p->pools);
	free(p->tracks);
	pol_hep_close(p);
	pol_dirty_clear(p);
	htab_clear(&p->dirty_idx);
	free(p->dirty);
	free(p->hosts_nets);
	nir_table_free(p->want);
	nir_table_free(p->have);
	nftk_close(p->k);
	free(p);
	f->pol = NULL;
}
