/*
 * ipam_block: the snapshot of pools and blocks that an operation reads once
 * and computes its transaction from, block lookup by address, and the
 * search for a free block to claim (see ipam.c for the invariants).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam_impl.h"

void ipam_snap_clear(struct snap *s)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		ippool_clear(&s->pools[i].p);
	for (i = 0; i < s->nblocks; i++)
		if (s->blocks[i].state == 1)
			ipamblock_clear(&s->blocks[i].b);
	free(s->pools);
	free(s->blocks);
	ds_kvs_free(s->pkv, s->npkv);
	ds_kvs_free(s->bkv, s->nbkv);
	memset(s, 0, sizeof(*s));
}

/* strict: an undecodable pool is an error (-EINVAL, named in e), else it
 * is skipped (an allocator keeps working with the pools it can read). */
int ipam_snap_pools(struct ds *ds, struct snap *s, int strict,
		      struct errs *e)
{
	char prefix[RES_KEY_MAX];
	size_t i;
	int rc;

	rc = res_prefix(RES_IPPOOL, NULL, prefix, sizeof(prefix));
	if (rc < 0)
		return rc;
	rc = ds_list(ds, prefix, &s->pkv, &s->npkv, NULL);
	if (rc < 0)
		return rc;
	if (s->npkv) {
		s->pools = calloc(s->npkv, sizeof(*s->pools));
		if (!s->pools)
			return -ENOMEM;
	}
	for (i = 0; i < s->npkv; i++) {
		struct resource r;
		struct errs pe = ERRS_INIT;

		memset(&r, 0, sizeof(r));
		rc = res_from_text(RES_IPPOOL, s->pkv[i].value,
				   s->pkv[i].mod_rev, &r, &pe);
		errs_clear(&pe);
		if (rc == 0 && s->fam != SNAP_ALL &&
		    r.u.pool.v6 != (s->fam == SNAP_V6)) {
			res_clear(&r);
			continue;	/* the other family's */
		}
		/* Written by anyone: its geometry is checked before use. */
		if (rc == 0 && ipam_pool_validate(&r.u.pool, NULL) < 0) {
			res_clear(&r);
			rc = -EINVAL;
		}
		if (rc < 0) {
			if (!strict)
				continue;
			if (e)
				errs_add(e, "%s: stored IPPool cannot be read",
					 s->pkv[i].key);
			return rc;
		}
		s->pools[s->npools].p = r.u.pool;
		s->pools[s->npools].kv = &s->pkv[i];
		s->npools++;
	}
	return 0;
}

static int bent_cmp(const void *a, const void *b)
{
	const struct bent *x = a, *y = b;

	if (x->cidr.addr != y->cidr.addr)
		return x->cidr.addr < y->cidr.addr ? -1 : 1;
	return (int)x->cidr.len - (int)y->cidr.len;
}

/* Lists every block; decodes none (see ipam_bent_decode). A key that names no
 * block is an error when strict, else skipped. */
int ipam_snap_blocks(struct ds *ds, struct snap *s, int strict)
{
	char prefix[RES_KEY_MAX];
	size_t i, plen;
	int rc;

	rc = res_prefix(RES_IPAMBLOCK, NULL, prefix, sizeof(prefix));
	if (rc < 0)
		return rc;
	plen = strlen(prefix);
	rc = ds_list(ds, prefix, &s->bkv, &s->nbkv, NULL);
	if (rc < 0)
		return rc;
	s->have_blocks = 1;
	if (s->nbkv) {
		s->blocks = calloc(s->nbkv, sizeof(*s->blocks));
		if (!s->blocks)
			return -ENOMEM;
	}
	for (i = 0; i < s->nbkv; i++) {
		struct bent *b = &s->blocks[s->nblocks];

		if (ipam_block_name_parse(s->bkv[i].key + plen, &b->cidr) < 0) {
			struct ip6_net c6;

			/* the other family's block: not an error */
			if (ipamblock_name6_parse(s->bkv[i].key + plen, &c6) == 0)
				continue;
			if (strict)
				return -EINVAL;
			continue;
		}
		b->kv = &s->bkv[i];
		s->nblocks++;
	}
	/* Keys sort as text ("10.0.0.128-26" < "10.0.0.64-26"). */
	if (s->nblocks > 1)
		qsort(s->blocks, s->nblocks, sizeof(*s->blocks), bent_cmp);
	return 0;
}

int ipam_bent_decode(struct bent *b)
{
	int rc;

	if (b->state)
		return b->state < 0 ? b->state : 0;
	rc = ipam_block_decode(b->kv, &b->cidr, &b->b);
	b->state = rc < 0 ? rc : 1;
	return rc;
}

/* Fills b->aff and b->used, cheaply when it can (ipamblock_peek). */
int ipam_bent_peek(struct bent *b)
{
	int rc;

	if (b->peeked)
		return 0;
	if (b->state == 1 ||
	    ipamblock_peek(b->kv->value, b->aff, sizeof(b->aff), &b->used) < 0) {
		rc = ipam_bent_decode(b);
		if (rc < 0)
			return rc;
		snprintf(b->aff, sizeof(b->aff), "%s", b->b.affinity);
		b->used = ipamblock_used(&b->b);
	}
	b->peeked = 1;
	return 0;
}

struct pent *ipam_snap_pool_at(struct snap *s, uint32_t a)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (ip4_net_contains(&s->pools[i].p.cidr, a))
			return &s->pools[i];
	return NULL;
}

struct pent *ipam_snap_pool_of(struct snap *s, const struct ip4_net *c)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (ip4_net_within(c, &s->pools[i].p.cidr))
			return &s->pools[i];
	return NULL;
}

struct bent *ipam_snap_block_at(struct snap *s, uint32_t a)
{
	size_t lo = 0, hi = s->nblocks;

	/* The last block starting at or below a is the only one that can
	 * hold it, blocks being disjoint. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->blocks[mid].cidr.addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && ip4_net_contains(&s->blocks[lo - 1].cidr, a))
		return &s->blocks[lo - 1];
	return NULL;
}

int ipam_snap_overlaps(const struct snap *s, const struct ip4_net *c)
{
	size_t i;

	for (i = 0; i < s->nblocks; i++)
		if (ip4_net_overlaps(&s->blocks[i].cidr, c))
			return 1;
	return 0;
}

/* The lowest block of pool p that no stored block overlaps. */
int ipam_pool_free_block(const struct snap *s, const struct ippool *p,
			   struct ip4_net *out)
{
	uint64_t step = (uint64_t)1 << (32 - p->block_size);
	uint64_t a = p->cidr.addr, end = ipam_net_end(&p->cidr);
	size_t i = 0;

	while (a < end) {
		struct ip4_net c = { (uint32_t)a, (uint8_t)p->block_size };
		uint64_t next = a + step;
		size_t j;
		int hit = 0;

		while (i < s->nblocks && ipam_net_end(&s->blocks[i].cidr) <= a)
			i++;
		for (j = i; j < s->nblocks && s->blocks[j].cidr.addr < a + step;
		     j++) {
			if (!ip4_net_overlaps(&c, &s->blocks[j].cidr))
				continue;
			hit = 1;
			/* Skip past it in whole steps (it may be larger). */
			while (next < ipam_net_end(&s->blocks[j].cidr))
				next += step;
		}
		if (!hit) {
			*out = c;
			return 0;
		}
		a = next;
	}
	return IPAM_ENOSPC;
}
