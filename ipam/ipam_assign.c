/*
 * ipam_assign: assigning an address (ipam_assign, ipam_assign_in: the
 * node's own blocks first, then a new block claimed, then borrowing) and
 * releasing one or a handle's (see ipam.c for the invariants).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam_impl.h"
#include "model/selector.h"

struct assign_req {
	const char *node, *handle;
	char hkey[RES_KEY_MAX];
	uint32_t want;
	const struct ipam_pool_sel *sel;	/* may be NULL */
	uint32_t *out;
	int *borrowed;
	struct ipam_txn *defer;	/* prepare only: the ops go here */
};

/* A selector that is all() whatever the labels: no need to read the Node. */
static bool selector_trivial(const char *sel)
{
	const char *p = sel;

	if (!sel)
		return true;
	p += strspn(p, " \t");
	return !*p || !strcmp(p, "all()");
}

/* The labels of node (none when it has no Node document). */
static int node_labels(struct ds *ds, const char *node, struct resource *r)
{
	char key[RES_KEY_MAX];
	struct errs e = ERRS_INIT;
	struct ds_kv kv;
	int rc;

	memset(&kv, 0, sizeof(kv));
	rc = res_key(RES_NODE, node, key, sizeof(key));
	if (rc < 0)
		return rc;
	rc = ds_get(ds, key, &kv);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	rc = res_from_text(RES_NODE, kv.value, kv.mod_rev, r, &e);
	errs_clear(&e);
	ds_kv_clear(&kv);
	/* A Node that cannot be read has no labels we could trust. */
	return rc == -ENOMEM ? rc : 0;
}

/* Adds to names[] the spec.pool of every stored Network. Read as plain
 * JSON rather than through the Network decoder: a document that does not
 * decode still says which pool is its network's, and handing that pool's
 * addresses to outsiders would be the worse mistake. */
static int network_pools(struct ds *ds, char ***names, size_t *n)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kv = NULL;
	size_t nkv = 0, i;
	int rc;

	*names = NULL;
	*n = 0;
	rc = res_prefix(RES_NETWORK, NULL, prefix, sizeof(prefix));
	if (rc < 0)
		return rc;
	rc = ds_list(ds, prefix, &kv, &nkv, NULL);
	if (rc < 0)
		return rc;
	if (nkv) {
		*names = calloc(nkv, sizeof(**names));
		if (!*names) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nkv; i++) {
		json_t *j = json_loads(kv[i].value, 0, NULL);
		const char *pool = json_string_value(
			json_object_get(json_object_get(j, "spec"), "pool"));

		if (pool && *pool) {
			(*names)[*n] = strdup(pool);
			if (!(*names)[*n]) {
				json_decref(j);
				rc = -ENOMEM;
				goto out;
			}
			(*n)++;
		}
		json_decref(j);
	}
out:
	ds_kvs_free(kv, nkv);
	return rc;
}

/* Sets allowed and selected of every pool of the snapshot for q. */
static int snap_pools_mark(struct ds *ds, struct snap *s,
			   const struct assign_req *q)
{
	static const struct labels no_labels;
	const struct ipam_pool_sel *sel = q->sel;
	struct resource node;
	char **named = NULL;
	size_t nnamed = 0, i, k;
	bool have_node = false;
	int rc = 0;

	memset(&node, 0, sizeof(node));
	if (sel && !sel->pool && sel->unnamed_only) {
		rc = network_pools(ds, &named, &nnamed);
		if (rc < 0)
			goto out;
	}
	for (i = 0; i < s->npools; i++) {
		struct pent *p = &s->pools[i];

		p->allowed = true;
		if (sel && sel->pool)
			p->allowed = !strcmp(p->p.name, sel->pool);
		for (k = 0; k < nnamed && p->allowed; k++)
			if (!strcmp(named[k], p->p.name))
				p->allowed = false;
		p->selected = true;
		if (q->want || selector_trivial(p->p.node_selector))
			continue;
		if (!have_node) {
			rc = node_labels(ds, q->node, &node);
			if (rc < 0)
				goto out;
			have_node = true;
		}
		p->selected = selector_match_text(p->p.node_selector,
						  node.kind == RES_NODE ?
						  &node.u.node.labels : &no_labels) == 1;
	}
out:
	if (have_node && node.kind == RES_NODE)
		res_clear(&node);
	for (k = 0; k < nnamed; k++)
		free(named[k]);
	free(named);
	return rc;
}

int ipam_snap_mark(struct ds *ds, struct snap *s, const char *node,
		   bool want, const struct ipam_pool_sel *sel)
{
	struct assign_req q = { .node = node, .want = want, .sel = sel };

	return snap_pools_mark(ds, s, &q);
}

static bool pent_usable(const struct pent *p)
{
	return !p->p.disabled && p->allowed && p->selected;
}

/* The handle's record exists: report what it holds. 0 (outputs set),
 * -ENOENT (no such handle), RETRY, -EEXIST (holds another than want). */
static int handle_held(struct ds *ds, struct snap *s,
		       const struct assign_req *q)
{
	struct ds_kv kv;
	struct ipamhandle h;
	struct bent *b;
	uint32_t a;
	size_t i;
	int rc;

	memset(&kv, 0, sizeof(kv));
	memset(&h, 0, sizeof(h));
	rc = ds_get(ds, q->hkey, &kv);
	if (rc < 0)
		goto out;
	rc = ipam_handle_decode(&kv, &h);
	if (rc < 0)
		goto out;
	if (h.n == 0 && h.n6) {
		/* IPv6 only: IPv4 is added to it by the dual-stack slice
		 * (docs/ipv6.md); never cleared as empty */
		rc = -EEXIST;
		goto out;
	}
	if (h.n == 0) {
		/* Never written so; clear it (CAS) and start over. */
		rc = ds_delete(ds, q->hkey, kv.mod_rev);
		rc = rc < 0 && !ipam_conflict(rc) ? rc : RETRY;
		goto out;
	}
	a = h.addrs[0];
	if (q->want) {
		for (i = 0; i < h.n && h.addrs[i] != q->want; i++)
			;
		if (i == h.n) {
			rc = -EEXIST;
			goto out;
		}
		a = q->want;
	}
	*q->out = a;
	if (q->borrowed) {
		b = ipam_snap_block_at(s, a);
		*q->borrowed = b && ipam_bent_decode(b) == 0 &&
			       strcmp(b->b.affinity, q->node) != 0;
	}
	rc = 0;
out:
	ipamhandle_clear(&h);
	ds_kv_clear(&kv);
	return rc;
}

/* ---- ipam_txn: ops for the caller's transaction ---- */

static char *txn_str(struct ipam_txn *t, const char *v)
{
	char **p;

	if (!v)
		return NULL;
	p = realloc(t->strs, (t->nstrs + 1) * sizeof(*p));
	if (!p)
		return NULL;
	t->strs = p;
	p[t->nstrs] = strdup(v);
	return p[t->nstrs] ? p[t->nstrs++] : NULL;
}

/* Replaces t's ops by copies of ops[0..n) (keys and values owned by t). */
static int txn_take(struct ipam_txn *t, const struct ds_op *ops, size_t n)
{
	struct ds_op *o = n ? calloc(n, sizeof(*o)) : NULL;

	if (n && !o)
		return -ENOMEM;
	free(t->ops);
	t->ops = o;
	t->n = 0;
	for (size_t i = 0; i < n; i++) {
		o[i] = ops[i];
		o[i].key = txn_str(t, ops[i].key);
		o[i].value = ops[i].value ? txn_str(t, ops[i].value) : NULL;
		if (!o[i].key || (ops[i].value && !o[i].value))
			return -ENOMEM;
	}
	t->n = n;
	return 0;
}

void ipam_txn_clear(struct ipam_txn *t)
{
	for (size_t i = 0; i < t->nstrs; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->ops);
	memset(t, 0, sizeof(*t));
}

/* ops[0] is always the handle's create. */
static int alloc_txn(struct ds *ds, struct snap *s, const struct assign_req *q,
		     const struct ds_op *ops, size_t n, uint32_t addr,
		     int borrowed)
{
	size_t failed = 0;
	int rc;

	if (q->defer) {
		rc = txn_take(q->defer, ops, n);
		if (rc == 0) {
			q->defer->addr = addr;
			*q->out = addr;
			if (q->borrowed)
				*q->borrowed = borrowed;
		}
		return rc;
	}
	rc = ds_txn(ds, ops, n, NULL, &failed);
	if (rc == 0) {
		*q->out = addr;
		if (q->borrowed)
			*q->borrowed = borrowed;
		return 0;
	}
	if (rc == -EEXIST && failed == 0) {
		rc = handle_held(ds, s, q);
		return rc == -ENOENT ? RETRY : rc;
	}
	return ipam_conflict(rc) ? RETRY : rc;
}

static int commit_existing(struct ds *ds, struct snap *s,
			   const struct assign_req *q, struct bent *b,
			   long slot, int borrowed)
{
	uint32_t addr = b->cidr.addr + (uint32_t)slot;
	char *btext, *htext;
	struct ds_op ops[2];
	int rc;

	b->b.handles[slot] = (char *)q->handle;	/* lent for the encoding */
	btext = ipam_block_text(&b->b);
	b->b.handles[slot] = NULL;
	htext = ipam_handle_text(q->handle, &addr, 1, (int64_t)time(NULL));
	if (!btext || !htext) {
		rc = -ENOMEM;
		goto out;
	}
	ops[0] = (struct ds_op){ DS_OP_CREATE, q->hkey, htext, 0 };
	ops[1] = (struct ds_op){ DS_OP_UPDATE, b->kv->key, btext,
				 b->kv->mod_rev };
	rc = alloc_txn(ds, s, q, ops, 2, addr, borrowed);
out:
	free(btext);
	free(htext);
	return rc;
}

static int commit_claim(struct ds *ds, struct snap *s,
			const struct assign_req *q, const struct pent *p,
			const struct ip4_net *c, long slot)
{
	uint32_t addr = c->addr + (uint32_t)slot;
	char bkey[RES_KEY_MAX];
	char *btext = NULL, *htext = NULL;
	struct ipamblock b;
	struct ds_op ops[3];
	int rc;

	memset(&b, 0, sizeof(b));
	rc = ipam_block_key(c, bkey, sizeof(bkey));
	if (rc < 0)
		goto out;
	rc = ipamblock_init(&b, c);
	if (rc < 0)
		goto out;
	snprintf(b.affinity, sizeof(b.affinity), "%s", q->node);
	snprintf(b.pool, sizeof(b.pool), "%s", p->p.name);
	b.handles[slot] = (char *)q->handle;	/* lent for the encoding */
	btext = ipam_block_text(&b);
	b.handles[slot] = NULL;
	htext = ipam_handle_text(q->handle, &addr, 1, (int64_t)time(NULL));
	if (!btext || !htext) {
		rc = -ENOMEM;
		goto out;
	}
	ops[0] = (struct ds_op){ DS_OP_CREATE, q->hkey, htext, 0 };
	ops[1] = (struct ds_op){ DS_OP_CREATE, bkey, btext, 0 };
	/* Unchanged, but CAS: the pool still exists as we read it. */
	ops[2] = (struct ds_op){ DS_OP_UPDATE, p->kv->key, p->kv->value,
				 p->kv->mod_rev };
	rc = alloc_txn(ds, s, q, ops, 3, addr, 0);
out:
	ipamblock_clear(&b);
	free(btext);
	free(htext);
	return rc;
}

static int assign_any(struct ds *ds, struct snap *s, const struct assign_req *q)
{
	struct ip4_net c;
	size_t i;
	long slot;

	/* 1. This node's blocks, lowest address first. */
	for (i = 0; i < s->nblocks; i++) {
		struct bent *b = &s->blocks[i];
		struct pent *p = ipam_snap_pool_of(s, &b->cidr);

		if (!p || !pent_usable(p))
			continue;
		/* Decode only a block of ours that has room. */
		if (ipam_bent_peek(b) < 0 || strcmp(b->aff, q->node) ||
		    b->used >= ip4_net_size(&b->cidr))
			continue;
		if (ipam_bent_decode(b) < 0 || strcmp(b->b.affinity, q->node))
			continue;
		slot = ipam_block_free_slot(&b->b);
		if (slot >= 0)
			return commit_existing(ds, s, q, b, slot, 0);
	}
	/* 2. A new block: the lowest free one of the first pool having one. */
	for (i = 0; i < s->npools; i++) {
		struct pent *p = &s->pools[i];

		if (pent_usable(p) && ipam_pool_free_block(s, &p->p, &c) == 0)
			return commit_claim(ds, s, q, p, &c, 0);
	}
	/* 3. Borrow one address from another node's block. */
	for (i = 0; i < s->nblocks; i++) {
		struct bent *b = &s->blocks[i];
		struct pent *p = ipam_snap_pool_of(s, &b->cidr);

		if (!p || !pent_usable(p) || p->p.strict_affinity)
			continue;
		if (ipam_bent_peek(b) < 0 || !strcmp(b->aff, q->node) ||
		    b->used >= ip4_net_size(&b->cidr))
			continue;
		if (ipam_bent_decode(b) < 0 || !strcmp(b->b.affinity, q->node))
			continue;
		slot = ipam_block_free_slot(&b->b);
		if (slot >= 0)
			return commit_existing(ds, s, q, b, slot, 1);
	}
	return IPAM_ENOSPC;
}

static int assign_want(struct ds *ds, struct snap *s,
		       const struct assign_req *q)
{
	struct pent *p = ipam_snap_pool_at(s, q->want);
	struct bent *b;
	struct ip4_net c;
	int rc, borrowed;
	long slot;

	if (!p)
		return IPAM_ENOPOOL;
	if (p->p.disabled)
		return IPAM_EDISABLED;
	if (!p->allowed)
		return IPAM_ENOTALLOWED;
	b = ipam_snap_block_at(s, q->want);
	if (b) {
		rc = ipam_bent_decode(b);
		if (rc < 0)
			return rc;
		slot = (long)(q->want - b->cidr.addr);
		if (b->b.handles[slot])
			return IPAM_EINUSE;
		borrowed = strcmp(b->b.affinity, q->node) != 0;
		if (borrowed && p->p.strict_affinity)
			return IPAM_EAFFINITY;
		return commit_existing(ds, s, q, b, slot, borrowed);
	}
	c.len = (uint8_t)p->p.block_size;
	c.addr = q->want & ip4_mask(c.len);
	/* Only a block of another size (a former pool's) can be there. */
	if (ipam_snap_overlaps(s, &c))
		return IPAM_EINUSE;
	return commit_claim(ds, s, q, p, &c, (long)(q->want - c.addr));
}

static int assign_once(struct ds *ds, const struct assign_req *q)
{
	struct snap s;
	int rc, held;

	memset(&s, 0, sizeof(s));
	rc = ipam_snap_pools(ds, &s, 0, NULL);
	if (rc < 0)
		goto out;
	rc = ipam_snap_blocks(ds, &s, 0);
	if (rc < 0)
		goto out;
	rc = snap_pools_mark(ds, &s, q);
	if (rc < 0)
		goto out;
	rc = q->want ? assign_want(ds, &s, q) : assign_any(ds, &s, q);
	if (rc <= IPAM_ENOSPC && rc >= IPAM_ENOTALLOWED) {
		/* Before failing: an idempotent retry gets what it holds. */
		held = handle_held(ds, &s, q);
		if (held != -ENOENT)
			rc = held;
	}
out:
	ipam_snap_clear(&s);
	return rc;
}

int ipam_assign(struct ds *ds, const char *node, const char *handle,
		uint32_t want, uint32_t *out, int *borrowed)
{
	return ipam_assign_in(ds, node, handle, want, NULL, out, borrowed);
}

int ipam_assign_in(struct ds *ds, const char *node, const char *handle,
		   uint32_t want, const struct ipam_pool_sel *sel, uint32_t *out,
		   int *borrowed)
{
	struct assign_req q;
	unsigned t;
	int rc;

	if (!ds || !node || !res_name_valid(node) || !ipam_handle_valid(handle) ||
	    !out)
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	q.node = node;
	q.handle = handle;
	q.want = want;
	q.sel = sel;
	q.out = out;
	q.borrowed = borrowed;
	rc = res_key(RES_IPAMHANDLE, handle, q.hkey, sizeof(q.hkey));
	if (rc < 0)
		return rc;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			ipam_backoff(t);
		rc = assign_once(ds, &q);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

int ipam_assign_prepare(struct ds *ds, const char *node, const char *handle,
			uint32_t want, const struct ipam_pool_sel *sel,
			struct ipam_txn *t)
{
	struct assign_req q;
	bool check = t->check_held;
	uint32_t out = 0;
	unsigned tries;
	int rc;

	ipam_txn_clear(t);
	if (!ds || !node || !res_name_valid(node) || !ipam_handle_valid(handle))
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	q.node = node;
	q.handle = handle;
	q.want = want;
	q.sel = sel;
	q.out = &out;
	q.defer = t;
	rc = res_key(RES_IPAMHANDLE, handle, q.hkey, sizeof(q.hkey));
	if (rc < 0)
		return rc;
	for (tries = 0; tries < IPAM_TRIES; tries++) {
		if (tries)
			ipam_backoff(tries);
		if (check) {
			/* The handle's create failed last time: what does it
			 * hold? (an engine's retry of the same container) */
			struct snap none;

			memset(&none, 0, sizeof(none));
			rc = handle_held(ds, &none, &q);
			if (rc == 0) {
				t->held = true;
				t->addr = out;
				return 0;
			}
			if (rc == RETRY)
				continue;
			if (rc != -ENOENT)
				return rc;
			check = false;
		}
		rc = assign_once(ds, &q);
		if (rc == 0 && !t->n) {
			/* assign_once found the handle holding it */
			t->held = true;
			t->addr = out;
		}
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

bool ipam_txn_retry(struct ipam_txn *t, int r, size_t i)
{
	if (i >= t->n || !ipam_conflict(r))
		return false;
	/* An assignment's op 0 is the handle's create: taken means held. */
	if (i == 0 && r == -EEXIST && t->ops[0].type == DS_OP_CREATE)
		t->check_held = true;
	return true;
}

/* ---- release ---- */

/* A block fetched on its own (owned), for release. */
struct fblock {
	struct ds_kv kv;
	struct ip4_net cidr;
	struct ipamblock b;
	int dirty;
};

static void fblock_clear(struct fblock *f)
{
	ds_kv_clear(&f->kv);
	ipamblock_clear(&f->b);
	memset(f, 0, sizeof(*f));
}

static int fblock_get(struct ds *ds, const struct ip4_net *c,
		      struct fblock *f)
{
	char key[RES_KEY_MAX];
	int rc;

	memset(f, 0, sizeof(*f));
	rc = ipam_block_key(c, key, sizeof(key));
	if (rc < 0)
		return rc;
	rc = ds_get(ds, key, &f->kv);
	if (rc < 0)
		return rc;
	f->cidr = *c;
	rc = ipam_block_decode(&f->kv, c, &f->b);
	if (rc < 0)
		ds_kv_clear(&f->kv);
	return rc;
}

/* The stored block holding addr: found by its pool's block size (one get),
 * else by the keys of all blocks (a pool deleted or re-cut since). */
static int fblock_find(struct ds *ds, struct snap *s, uint32_t addr,
		       struct fblock *f)
{
	struct pent *p = ipam_snap_pool_at(s, addr);
	struct bent *b;
	int rc;

	if (p) {
		struct ip4_net c;

		c.len = (uint8_t)p->p.block_size;
		c.addr = addr & ip4_mask(c.len);
		rc = fblock_get(ds, &c, f);
		if (rc != -ENOENT)
			return rc;
	}
	if (!s->have_blocks) {
		rc = ipam_snap_blocks(ds, s, 0);
		if (rc < 0)
			return rc;
	}
	b = ipam_snap_block_at(s, addr);
	if (!b)
		return -ENOENT;
	return fblock_get(ds, &b->cidr, f);
}

/* A txn op writing back a changed block: its delete when it became empty. */
static int fblock_op(struct fblock *f, struct ds_op *op, char **text)
{
	*text = NULL;
	if (ipamblock_used(&f->b) == 0) {
		*op = (struct ds_op){ DS_OP_DELETE, f->kv.key, NULL,
				      f->kv.mod_rev };
		return 0;
	}
	*text = ipam_block_text(&f->b);
	if (!*text)
		return -ENOMEM;
	*op = (struct ds_op){ DS_OP_UPDATE, f->kv.key, *text, f->kv.mod_rev };
	return 0;
}

static int release_handle_once(struct ds *ds, const char *hkey,
			       const char *handle, struct ipam_txn *defer)
{
	struct ds_kv hkv;
	struct ipamhandle h;
	struct snap s;
	struct fblock *fb = NULL;
	struct ds_op *ops = NULL;
	char **texts = NULL;
	size_t i, j, nfb = 0, nops = 0;
	int rc;

	memset(&hkv, 0, sizeof(hkv));
	memset(&h, 0, sizeof(h));
	memset(&s, 0, sizeof(s));
	rc = ds_get(ds, hkey, &hkv);
	if (rc == -ENOENT) {
		rc = 0;		/* nothing held: released already */
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = ipam_handle_decode(&hkv, &h);
	if (rc < 0)
		goto out;
	if (h.n6) {
		rc = RELEASE6;	/* its IPv6 addresses first (ipam6.c) */
		goto out;
	}
	if (h.n + 1 > DS_TXN_MAX) {
		rc = -E2BIG;
		goto out;
	}
	rc = ipam_snap_pools(ds, &s, 0, NULL);
	if (rc < 0)
		goto out;
	fb = calloc(h.n + 1, sizeof(*fb));
	ops = calloc(h.n + 1, sizeof(*ops));
	texts = calloc(h.n + 1, sizeof(*texts));
	if (!fb || !ops || !texts) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < h.n; i++) {
		uint32_t a = h.addrs[i];
		struct fblock *f = NULL;
		uint32_t slot;

		for (j = 0; j < nfb && !f; j++)
			if (ip4_net_contains(&fb[j].cidr, a))
				f = &fb[j];
		if (!f) {
			rc = fblock_find(ds, &s, a, &fb[nfb]);
			if (rc == -ENOENT)
				continue;	/* not in any block: nothing to free */
			if (rc < 0)
				goto out;
			f = &fb[nfb++];
		}
		slot = a - f->cidr.addr;
		/* Only what this handle holds (never another's address). */
		if (f->b.handles[slot] && !strcmp(f->b.handles[slot], handle)) {
			free(f->b.handles[slot]);
			f->b.handles[slot] = NULL;
			f->dirty = 1;
		}
	}
	ops[nops++] = (struct ds_op){ DS_OP_DELETE, hkey, NULL, hkv.mod_rev };
	for (j = 0; j < nfb; j++) {
		if (!fb[j].dirty)
			continue;
		rc = fblock_op(&fb[j], &ops[nops], &texts[nops]);
		if (rc < 0)
			goto out;
		nops++;
	}
	rc = defer ? txn_take(defer, ops, nops) : ds_txn(ds, ops, nops, NULL, NULL);
	if (ipam_conflict(rc))
		rc = RETRY;
out:
	if (texts)
		for (i = 0; i < nops; i++)
			free(texts[i]);
	free(texts);
	free(ops);
	if (fb)
		for (j = 0; j < nfb; j++)
			fblock_clear(&fb[j]);
	free(fb);
	ipam_snap_clear(&s);
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	return rc;
}

int ipam_release_handle(struct ds *ds, const char *handle)
{
	char hkey[RES_KEY_MAX];
	unsigned t;
	int rc;

	if (!ds || !ipam_handle_valid(handle))
		return -EINVAL;
	rc = res_key(RES_IPAMHANDLE, handle, hkey, sizeof(hkey));
	if (rc < 0)
		return rc;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			ipam_backoff(t);
		rc = release_handle_once(ds, hkey, handle, NULL);
		if (rc == RELEASE6)
			rc = ipam_release_handle6(ds, handle);
		else if (rc != RETRY)
			return rc;
		if (rc < 0)
			return rc;
	}
	return IPAM_ECONFLICT;
}

int ipam_release_prepare(struct ds *ds, const char *handle, struct ipam_txn *t)
{
	char hkey[RES_KEY_MAX];
	int rc;

	ipam_txn_clear(t);
	if (!ds || !ipam_handle_valid(handle))
		return -EINVAL;
	rc = res_key(RES_IPAMHANDLE, handle, hkey, sizeof(hkey));
	if (rc < 0)
		return rc;
	rc = release_handle_once(ds, hkey, handle, t);
	if (rc == RELEASE6) {	/* committed on its own, then IPv4's */
		rc = ipam_release_handle6(ds, handle);
		if (rc == 0)
			rc = release_handle_once(ds, hkey, handle, t);
	}
	return rc == RETRY || rc == RELEASE6 ? IPAM_ECONFLICT : rc;
}

static int release_addr_once(struct ds *ds, uint32_t addr)
{
	struct snap s;
	struct fblock f;
	struct ds_kv hkv;
	struct ipamhandle h;
	char hkey[RES_KEY_MAX];
	char *btext = NULL, *htext = NULL, *id = NULL;
	struct ds_op ops[2];
	size_t nops = 0, i, k;
	uint32_t slot;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	memset(&hkv, 0, sizeof(hkv));
	memset(&h, 0, sizeof(h));
	rc = ipam_snap_pools(ds, &s, 0, NULL);
	if (rc < 0)
		goto out;
	rc = fblock_find(ds, &s, addr, &f);
	if (rc < 0)
		goto out;
	slot = addr - f.cidr.addr;
	if (!f.b.handles[slot]) {
		rc = -ENOENT;
		goto out;
	}
	id = f.b.handles[slot];
	f.b.handles[slot] = NULL;
	rc = fblock_op(&f, &ops[nops], &btext);
	if (rc < 0)
		goto out;
	nops++;
	/* The handle loses this address too; a missing or unreadable handle
	 * record must not keep the address allocated forever. */
	if (res_key(RES_IPAMHANDLE, id, hkey, sizeof(hkey)) == 0 &&
	    ds_get(ds, hkey, &hkv) == 0 && ipam_handle_decode(&hkv, &h) == 0) {
		for (i = k = 0; i < h.n; i++)
			if (h.addrs[i] != addr)
				h.addrs[k++] = h.addrs[i];
		if (k == 0 && h.n6 == 0) {
			ops[nops++] = (struct ds_op){ DS_OP_DELETE, hkey, NULL,
						      hkv.mod_rev };
		} else if (k != h.n) {
			h.n = k;	/* its IPv6 addresses kept */
			htext = ipam_handle_rec_text(&h);
			if (!htext) {
				rc = -ENOMEM;
				goto out;
			}
			ops[nops++] = (struct ds_op){ DS_OP_UPDATE, hkey, htext,
						      hkv.mod_rev };
		}
	}
	rc = ds_txn(ds, ops, nops, NULL, NULL);
	if (ipam_conflict(rc))
		rc = RETRY;
out:
	free(id);
	free(btext);
	free(htext);
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	fblock_clear(&f);
	ipam_snap_clear(&s);
	return rc;
}

int ipam_release_addr(struct ds *ds, uint32_t addr)
{
	unsigned t;
	int rc;

	if (!ds)
		return -EINVAL;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			ipam_backoff(t);
		rc = release_addr_once(ds, addr);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}
