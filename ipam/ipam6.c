/*
 * ipam6: IPv6 assignment and release (docs/ipv6.md). The same records and
 * rules as IPv4's (ipam_assign.c): pools with an IPv6 CIDR cut into blocks
 * of blockSize (/116../128, at most 4096 addresses), a block claimed by a
 * node with a CAS create, the lowest free address of the node's own blocks
 * first, then a new block, then a borrowed address unless strictAffinity;
 * the block and the handle written in one transaction, every write a CAS,
 * a conflict retried (bounded) from a fresh read.
 *
 * Its own file rather than a family argument through ipam_assign.c: the
 * IPv4 allocator's scan (ipamblock_peek over uint32_t blocks) stays as it
 * is. IPv6 blocks are few (nothing routes them yet) and each is decoded
 * fully; the fast peek is the next slice's when the data path makes them
 * many. A handle's two families: IPv4's allocator writes the record first
 * (create), this one adds to it (update); release takes IPv6's first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipam/ipam_impl.h"

struct b6 {
	const struct ds_kv *kv;
	struct ipamblock b;	/* decoded, v6 */
};

struct snap6 {
	struct snap s;		/* its pools: IPv6's */
	struct ds_kv *bkv;
	size_t nbkv;
	struct b6 *blocks;	/* by address */
	size_t nblocks;
};

struct req6 {
	struct ds *ds;
	const char *node, *handle;
	char hkey[RES_KEY_MAX];
	const struct ip6 *want;
	const struct ipam_pool_sel *sel;
	struct ip6 *out;
	int *borrowed;
};

static void snap6_clear(struct snap6 *x)
{
	for (size_t i = 0; i < x->nblocks; i++)
		ipamblock_clear(&x->blocks[i].b);
	free(x->blocks);
	ds_kvs_free(x->bkv, x->nbkv);
	ipam_snap_clear(&x->s);
	memset(x, 0, sizeof(*x));
}

static int b6_cmp(const void *a, const void *b)
{
	return ip6_cmp(&((const struct b6 *)a)->b.cidr6.addr,
		       &((const struct b6 *)b)->b.cidr6.addr);
}

/* Every stored IPv6 block, decoded; an unreadable one is skipped (as the
 * IPv4 allocator skips what it cannot read), never allocated from. */
static int snap6_blocks(struct ds *ds, struct snap6 *x)
{
	char prefix[RES_KEY_MAX];
	size_t plen;
	int rc;

	rc = res_prefix(RES_IPAMBLOCK, NULL, prefix, sizeof(prefix));
	if (rc < 0)
		return rc;
	plen = strlen(prefix);
	rc = ds_list(ds, prefix, &x->bkv, &x->nbkv, NULL);
	if (rc < 0)
		return rc;
	if (x->nbkv && !(x->blocks = calloc(x->nbkv, sizeof(*x->blocks))))
		return -ENOMEM;
	for (size_t i = 0; i < x->nbkv; i++) {
		struct b6 *b = &x->blocks[x->nblocks];
		struct ip6_net c;
		struct resource r;

		if (ipamblock_name6_parse(x->bkv[i].key + plen, &c) < 0 ||
		    res_from_text(RES_IPAMBLOCK, x->bkv[i].value, x->bkv[i].mod_rev,
				  &r, NULL) < 0)
			continue;
		if (!r.u.block.v6 || ip6_cmp(&r.u.block.cidr6.addr, &c.addr) ||
		    r.u.block.cidr6.len != c.len) {
			res_clear(&r);
			continue;
		}
		b->kv = &x->bkv[i];
		b->b = r.u.block;
		x->nblocks++;
	}
	if (x->nblocks > 1)
		qsort(x->blocks, x->nblocks, sizeof(*x->blocks), b6_cmp);
	return 0;
}

static struct pent *pool6_at(struct snap6 *x, const struct ip6 *a)
{
	for (size_t i = 0; i < x->s.npools; i++)
		if (ip6_net_contains(&x->s.pools[i].p.cidr6, a))
			return &x->s.pools[i];
	return NULL;
}

static struct b6 *block6_at(struct snap6 *x, const struct ip6 *a)
{
	for (size_t i = 0; i < x->nblocks; i++)
		if (ip6_net_contains(&x->blocks[i].b.cidr6, a))
			return &x->blocks[i];
	return NULL;
}

static bool usable(const struct pent *p)
{
	return p && !p->p.disabled && p->allowed && p->selected;
}

/* The lowest block of pool p that no stored block overlaps. */
static int free_block6(const struct snap6 *x, const struct ippool *p,
		       struct ip6_net *out)
{
	struct ip6_net c = { p->cidr6.addr, (uint8_t)p->block_size };
	uint64_t step = (uint64_t)1 << (128 - p->block_size);

	for (;;) {		/* at most nblocks + 1 rounds */
		size_t i;

		if (!ip6_net_contains(&p->cidr6, &c.addr))
			return IPAM_ENOSPC;
		for (i = 0; i < x->nblocks; i++)
			if (ip6_net_overlaps(&x->blocks[i].b.cidr6, &c))
				break;
		if (i == x->nblocks) {
			*out = c;
			return 0;
		}
		if (ip6_add(&c.addr, step, &c.addr) < 0)
			return IPAM_ENOSPC;
	}
}

/* The handle's record: 0 (into h, kv), -ENOENT. */
static int handle_get(struct ds *ds, const char *hkey, struct ds_kv *kv,
		      struct ipamhandle *h)
{
	int rc = ds_get(ds, hkey, kv);

	if (rc < 0)
		return rc;
	rc = ipam_handle_decode(kv, h);
	if (rc < 0)
		ds_kv_clear(kv);
	return rc;
}

/* Writes slot of block b (claimed: b is new, created) to q's handle,
 * together with the handle's record (h, hkv: its current one, or none). */
static int commit6(struct ds *ds, const struct req6 *q, struct ipamblock *b,
		   const struct ds_kv *bkv, long slot, struct ipamhandle *h,
		   const struct ds_kv *hkv)
{
	char bkey[RES_KEY_MAX], name[IPAMBLOCK_NAMELEN];
	char *btext = NULL, *htext = NULL;
	struct ip6 a, *v;
	struct ds_op ops[2];
	int rc;

	if (ip6_add(&b->cidr6.addr, (uint64_t)slot, &a) < 0)
		return -ERANGE;
	if (!(b->handles[slot] = strdup(q->handle)))
		return -ENOMEM;
	v = realloc(h->addrs6, (h->n6 + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->addrs6 = v;
	h->addrs6[h->n6++] = a;
	if (!hkv) {
		snprintf(h->id, sizeof(h->id), "%s", q->handle);
		h->created = (int64_t)time(NULL);
	}
	ipamblock_name6(&b->cidr6, name);
	rc = res_key(RES_IPAMBLOCK, name, bkey, sizeof(bkey));
	if (rc < 0)
		goto out;
	btext = ipam_block_text(b);
	htext = ipam_handle_rec_text(h);
	if (!btext || !htext) {
		rc = -ENOMEM;
		goto out;
	}
	ops[0] = bkv ? (struct ds_op){ DS_OP_UPDATE, bkey, btext, bkv->mod_rev }
		     : (struct ds_op){ DS_OP_CREATE, bkey, btext, 0 };
	ops[1] = hkv ? (struct ds_op){ DS_OP_UPDATE, q->hkey, htext, hkv->mod_rev }
		     : (struct ds_op){ DS_OP_CREATE, q->hkey, htext, 0 };
	rc = ds_txn(ds, ops, 2, NULL, NULL);
	if (ipam_conflict(rc))
		rc = RETRY;
	else if (rc == 0)
		*q->out = a;
out:
	free(btext);
	free(htext);
	return rc;
}

static int claim6(struct ds *ds, const struct req6 *q, const struct pent *p,
		  const struct ip6_net *c, long slot, struct ipamhandle *h,
		  const struct ds_kv *hkv)
{
	struct ipamblock b;
	int rc = ipamblock_init6(&b, c);

	if (rc < 0)
		return rc;
	snprintf(b.affinity, sizeof(b.affinity), "%s", q->node);
	snprintf(b.pool, sizeof(b.pool), "%s", p->p.name);
	rc = commit6(ds, q, &b, NULL, slot, h, hkv);
	ipamblock_clear(&b);
	return rc;
}

static int assign6_want(struct ds *ds, struct snap6 *x, const struct req6 *q,
			struct ipamhandle *h, const struct ds_kv *hkv)
{
	struct pent *p = pool6_at(x, q->want);
	struct b6 *b;
	struct ip6_net c;
	uint64_t off;

	if (!p)
		return IPAM_ENOPOOL;
	if (!p->allowed)
		return IPAM_ENOTALLOWED;
	if (p->p.disabled)
		return IPAM_EDISABLED;
	b = block6_at(x, q->want);
	if (b) {
		if (ip6_net_offset(&b->b.cidr6, q->want, &off) < 0)
			return -ERANGE;
		if (b->b.handles[off])
			return IPAM_EINUSE;
		if (strcmp(b->b.affinity, q->node) && p->p.strict_affinity)
			return IPAM_EAFFINITY;
		if (q->borrowed)
			*q->borrowed = strcmp(b->b.affinity, q->node) != 0;
		return commit6(ds, q, &b->b, b->kv, (long)off, h, hkv);
	}
	c.len = (uint8_t)p->p.block_size;
	c.addr = ip6_masked(q->want, c.len);
	if (ip6_net_offset(&c, q->want, &off) < 0)
		return -ERANGE;
	for (size_t i = 0; i < x->nblocks; i++)
		if (ip6_net_overlaps(&x->blocks[i].b.cidr6, &c))
			return IPAM_EINUSE;	/* a block of another cut */
	return claim6(ds, q, p, &c, (long)off, h, hkv);
}

static int assign6_any(struct ds *ds, struct snap6 *x, const struct req6 *q,
		       struct ipamhandle *h, const struct ds_kv *hkv)
{
	struct ip6_net c;
	long slot;

	for (size_t i = 0; i < x->nblocks; i++) {	/* own blocks */
		struct b6 *b = &x->blocks[i];

		if (strcmp(b->b.affinity, q->node) ||
		    !usable(pool6_at(x, &b->b.cidr6.addr)) ||
		    (slot = ipam_block_free_slot(&b->b)) < 0)
			continue;
		return commit6(ds, q, &b->b, b->kv, slot, h, hkv);
	}
	for (size_t i = 0; i < x->s.npools; i++) {	/* a new block */
		const struct pent *p = &x->s.pools[i];

		if (usable(p) && free_block6(x, &p->p, &c) == 0)
			return claim6(ds, q, p, &c, 0, h, hkv);
	}
	for (size_t i = 0; i < x->nblocks; i++) {	/* borrowed */
		struct b6 *b = &x->blocks[i];
		struct pent *p = pool6_at(x, &b->b.cidr6.addr);

		if (!usable(p) || p->p.strict_affinity ||
		    (slot = ipam_block_free_slot(&b->b)) < 0)
			continue;
		if (q->borrowed)
			*q->borrowed = 1;
		return commit6(ds, q, &b->b, b->kv, slot, h, hkv);
	}
	return IPAM_ENOSPC;
}

static int assign6_once(struct ds *ds, const struct req6 *q)
{
	struct snap6 x;
	struct ipamhandle h;
	struct ds_kv hkv;
	bool have_h;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	memset(&hkv, 0, sizeof(hkv));
	rc = handle_get(ds, q->hkey, &hkv, &h);
	if (rc < 0 && rc != -ENOENT)
		goto out;
	have_h = rc == 0;
	if (have_h && h.n6) {		/* idempotent: what it holds */
		size_t i;

		for (i = 0; q->want && i < h.n6 && ip6_cmp(&h.addrs6[i], q->want); i++)
			;
		if (q->want && i == h.n6) {
			rc = -EEXIST;
			goto out;
		}
		*q->out = q->want ? *q->want : h.addrs6[0];
		rc = 0;
		goto out;
	}
	x.s.fam = SNAP_V6;
	rc = ipam_snap_pools(ds, &x.s, 0, NULL);
	if (rc < 0)
		goto out;
	rc = ipam_snap_mark(ds, &x.s, q->node, q->want != NULL, q->sel);
	if (rc < 0)
		goto out;
	rc = snap6_blocks(ds, &x);
	if (rc < 0)
		goto out;
	if (q->borrowed)
		*q->borrowed = 0;
	rc = q->want ? assign6_want(ds, &x, q, &h, have_h ? &hkv : NULL)
		     : assign6_any(ds, &x, q, &h, have_h ? &hkv : NULL);
out:
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	snap6_clear(&x);
	return rc;
}

static int assign6_try(void *arg)
{
	const struct req6 *q = arg;

	return assign6_once(q->ds, q);
}

int ipam_assign6(struct ds *ds, const char *node, const char *handle,
		 const struct ip6 *want, const struct ipam_pool_sel *sel,
		 struct ip6 *out, int *borrowed)
{
	struct req6 q = { ds, node, handle, "", want, sel, out, borrowed };
	int rc;

	if (!ds || !node || !res_name_valid(node) || !ipam_handle_valid(handle) ||
	    !out)
		return -EINVAL;
	rc = res_key(RES_IPAMHANDLE, handle, q.hkey, sizeof(q.hkey));
	return rc < 0 ? rc : ipam_retry(assign6_try, &q);
}

/* Frees the handle's IPv6 addresses in their blocks (a block left empty
 * deleted), and writes the record without them (deleted when it holds no
 * IPv4 one either): one transaction. */
static int release6_once(struct ds *ds, const char *hkey, const char *handle)
{
	struct snap6 x;
	struct ipamhandle h;
	struct ds_kv hkv;
	struct ds_op *ops = NULL;
	char **texts = NULL;
	bool *dirty = NULL;
	size_t nops = 0, i;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	memset(&hkv, 0, sizeof(hkv));
	rc = handle_get(ds, hkey, &hkv, &h);
	if (rc == -ENOENT || (rc == 0 && h.n6 == 0)) {
		rc = 0;		/* nothing held */
		goto out;
	}
	if (rc < 0)
		goto out;
	if (h.n6 + 1 > DS_TXN_MAX) {
		rc = -E2BIG;
		goto out;
	}
	rc = snap6_blocks(ds, &x);
	if (rc < 0)
		goto out;
	ops = calloc(h.n6 + 1, sizeof(*ops));
	texts = calloc(h.n6 + 1, sizeof(*texts));
	dirty = calloc(x.nblocks + 1, sizeof(*dirty));
	if (!ops || !texts || !dirty) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < h.n6; i++) {
		struct b6 *b = block6_at(&x, &h.addrs6[i]);
		uint64_t off;

		/* only what this handle holds (never another's address) */
		if (!b || ip6_net_offset(&b->b.cidr6, &h.addrs6[i], &off) < 0 ||
		    !b->b.handles[off] || strcmp(b->b.handles[off], handle))
			continue;
		free(b->b.handles[off]);
		b->b.handles[off] = NULL;
		dirty[b - x.blocks] = true;
	}
	h.n6 = 0;
	if (h.n == 0) {
		ops[nops++] = (struct ds_op){ DS_OP_DELETE, hkey, NULL, hkv.mod_rev };
	} else {
		if (!(texts[nops] = ipam_handle_rec_text(&h))) {
			rc = -ENOMEM;
			goto out;
		}
		ops[nops] = (struct ds_op){ DS_OP_UPDATE, hkey, texts[nops], hkv.mod_rev };
		nops++;
	}
	for (i = 0; i < x.nblocks; i++) {
		const struct b6 *b = &x.blocks[i];

		if (!dirty[i])
			continue;
		if (ipamblock_used(&b->b) == 0) {
			ops[nops++] = (struct ds_op){ DS_OP_DELETE, b->kv->key, NULL,
						      b->kv->mod_rev };
			continue;
		}
		if (!(texts[nops] = ipam_block_text(&b->b))) {
			rc = -ENOMEM;
			goto out;
		}
		ops[nops] = (struct ds_op){ DS_OP_UPDATE, b->kv->key, texts[nops],
					    b->kv->mod_rev };
		nops++;
	}
	rc = ds_txn(ds, ops, nops, NULL, NULL);
	if (ipam_conflict(rc))
		rc = RETRY;
out:
	if (texts)
		for (i = 0; i < nops; i++)
			free(texts[i]);
	free(texts);
	free(ops);
	free(dirty);
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	snap6_clear(&x);
	return rc;
}

static int release6_try(void *arg)
{
	const struct req6 *q = arg;

	return release6_once(q->ds, q->hkey, q->handle);
}

int ipam_release_handle6(struct ds *ds, const char *handle)
{
	struct req6 q = { .ds = ds, .handle = handle };
	int rc;

	if (!ds || !ipam_handle_valid(handle))
		return -EINVAL;
	rc = res_key(RES_IPAMHANDLE, handle, q.hkey, sizeof(q.hkey));
	return rc < 0 ? rc : ipam_retry(release6_try, &q);
}

int ipam6_pool_used(struct ds *ds, const struct ip6_net *c)
{
	struct snap6 x;
	int rc;

	memset(&x, 0, sizeof(x));
	rc = snap6_blocks(ds, &x);
	for (size_t i = 0; rc == 0 && i < x.nblocks; i++)
		if (ip6_net_within(&x.blocks[i].b.cidr6, c) &&
		    ipamblock_used(&x.blocks[i].b))
			rc = 1;
	snap6_clear(&x);
	return rc;
}

static int str_cmp6(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ipam_check6(struct ds *ds, struct ipam_leak6 **out, size_t *n)
{
	struct snap6 x;
	struct ipam_leak6 *v = NULL;
	char **hs = NULL;
	size_t nhs = 0, nv = 0, cap = 0;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&x, 0, sizeof(x));
	rc = snap6_blocks(ds, &x);
	if (rc == 0)
		rc = ipam_wep_handles(ds, &hs, &nhs);
	for (size_t i = 0; rc == 0 && i < x.nblocks; i++) {
		const struct ipamblock *b = &x.blocks[i].b;

		for (size_t j = 0; rc == 0 && j < ipamblock_size(b); j++) {
			const char *h = b->handles[j];
			struct ipam_leak6 *l;

			if (!h || (nhs && bsearch(&h, hs, nhs, sizeof(*hs), str_cmp6)))
				continue;
			if (nv == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *p = realloc(v, nc * sizeof(*v));

				if (!p) {
					rc = -ENOMEM;
					break;
				}
				v = p;
				cap = nc;
			}
			l = &v[nv++];
			memset(l, 0, sizeof(*l));
			ip6_add(&b->cidr6.addr, j, &l->addr);
			snprintf(l->handle, sizeof(l->handle), "%s", h);
			l->age = -1;
		}
	}
	/* ages: leaks are few, their handles read one by one */
	for (size_t i = 0; rc == 0 && i < nv; i++)
		v[i].age = ipam_handle_age(ds, v[i].handle, now);
	if (rc == 0) {
		*out = v;
		*n = nv;
		v = NULL;
	}
	free(v);
	for (size_t i = 0; i < nhs; i++)
		free(hs[i]);
	free(hs);
	snap6_clear(&x);
	return rc;
}

int ipam_usage6(struct ds *ds, struct ipam_usage6 **out, size_t *n)
{
	struct snap6 x;
	struct ipam_usage6 *v = NULL;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&x, 0, sizeof(x));
	x.s.fam = SNAP_V6;
	rc = ipam_snap_pools(ds, &x.s, 1, NULL);
	if (rc == 0)
		rc = snap6_blocks(ds, &x);
	if (rc == 0 && x.s.npools && !(v = calloc(x.s.npools, sizeof(*v))))
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < x.s.npools; i++) {
		const struct ippool *p = &x.s.pools[i].p;

		snprintf(v[i].pool, sizeof(v[i].pool), "%s", p->name);
		v[i].cidr = p->cidr6;
		v[i].size = ip6_net_size(&p->cidr6);
		for (size_t j = 0; j < x.nblocks; j++) {
			if (!ip6_net_within(&x.blocks[j].b.cidr6, &p->cidr6))
				continue;
			v[i].blocks++;
			v[i].used += ipamblock_used(&x.blocks[j].b);
		}
	}
	if (rc == 0) {
		*out = v;
		*n = x.s.npools;
		v = NULL;
	}
	free(v);
	snap6_clear(&x);
	return rc;
}

/* Frees one IPv6 address whatever its handle, and takes it from that
 * handle's record (deleted when it holds nothing else): one transaction. */
static int release_addr6_once(struct ds *ds, const struct ip6 *a)
{
	struct snap6 x;
	struct ipamhandle h;
	struct ds_kv hkv;
	char hkey[RES_KEY_MAX], *btext = NULL, *htext = NULL, *id;
	struct ds_op ops[2];
	size_t nops = 0, k = 0;
	struct b6 *b;
	uint64_t off;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&h, 0, sizeof(h));
	memset(&hkv, 0, sizeof(hkv));
	rc = snap6_blocks(ds, &x);
	if (rc < 0)
		goto out;
	b = block6_at(&x, a);
	if (!b || ip6_net_offset(&b->b.cidr6, a, &off) < 0 || !b->b.handles[off]) {
		rc = -ENOENT;
		goto out;
	}
	id = b->b.handles[off];
	b->b.handles[off] = NULL;
	if (ipamblock_used(&b->b) == 0) {
		ops[nops++] = (struct ds_op){ DS_OP_DELETE, b->kv->key, NULL, b->kv->mod_rev };
	} else if ((btext = ipam_block_text(&b->b))) {
		ops[nops++] = (struct ds_op){ DS_OP_UPDATE, b->kv->key, btext, b->kv->mod_rev };
	}
	/* a missing or unreadable record must not keep the address forever */
	if (nops && res_key(RES_IPAMHANDLE, id, hkey, sizeof(hkey)) == 0 &&
	    handle_get(ds, hkey, &hkv, &h) == 0) {
		for (size_t i = 0; i < h.n6; i++)
			if (ip6_cmp(&h.addrs6[i], a))
				h.addrs6[k++] = h.addrs6[i];
		if (k == 0 && h.n == 0) {
			ops[nops++] = (struct ds_op){ DS_OP_DELETE, hkey, NULL, hkv.mod_rev };
		} else if (k != h.n6) {
			h.n6 = k;
			if ((htext = ipam_handle_rec_text(&h)))
				ops[nops++] = (struct ds_op){ DS_OP_UPDATE, hkey, htext,
							      hkv.mod_rev };
			else
				nops = 0;
		}
	}
	free(id);
	rc = nops ? ds_txn(ds, ops, nops, NULL, NULL) : -ENOMEM;
	if (ipam_conflict(rc))
		rc = RETRY;
out:
	free(btext);
	free(htext);
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	snap6_clear(&x);
	return rc;
}

static int release_addr6_try(void *arg)
{
	const struct req6 *q = arg;

	return release_addr6_once(q->ds, q->want);
}

int ipam_release_addr6(struct ds *ds, const struct ip6 *a)
{
	struct req6 q = { .ds = ds, .want = a };

	if (!ds || !a)
		return -EINVAL;
	return ipam_retry(release_addr6_try, &q);
}
