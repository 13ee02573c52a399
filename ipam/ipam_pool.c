/*
 * ipam_pool: creating, deleting and listing pools, serialised by the pool
 * sentinel (see ipam.c for the invariants).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam_impl.h"

static int sentinel_read(struct ds *ds, int64_t *rev, long long *gen)
{
	struct ds_kv kv;
	int rc;

	memset(&kv, 0, sizeof(kv));
	*rev = 0;
	*gen = 0;
	rc = ds_get(ds, POOLS_SENTINEL, &kv);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	*rev = kv.mod_rev;
	if (sscanf(kv.value, "{\"generation\":%lld}", gen) != 1)
		*gen = 0;
	ds_kv_clear(&kv);
	return 0;
}

static void sentinel_op(struct ds_op *op, char *buf, size_t len, int64_t rev,
			long long gen)
{
	snprintf(buf, len, "{\"generation\":%lld}", gen + 1);
	*op = (struct ds_op){ rev ? DS_OP_UPDATE : DS_OP_CREATE,
			      POOLS_SENTINEL, buf, rev };
}

#define EADD(e, ...) do { if (e) errs_add((e), __VA_ARGS__); } while (0)

static int pool_validate6(const struct ippool *p, struct errs *e)
{
	struct ip6 m = ip6_masked(&p->cidr6.addr, p->cidr6.len);
	char cidr[IP6_NETSTRLEN];
	int bad = 0;

	ip6_net_fmt(&p->cidr6, cidr);
	if (p->cidr6.len > 128 || ip6_cmp(&m, &p->cidr6.addr)) {
		EADD(e, "spec.cidr: invalid CIDR %s (host bits set)", cidr);
		bad = 1;
	}
	/* its blocks' names would begin with '-' ("::/122" is "---122"), and
	 * workloads' addresses are global or ULA (2000::/3, fc00::/7) */
	if (!bad && p->cidr6.addr.b[0] == 0 && p->cidr6.addr.b[1] == 0) {
		EADD(e, "spec.cidr: %s is in ::/16, not an IPv6 pool's range", cidr);
		bad = 1;
	}
	if (p->block_size < IPPOOL_V6_BLOCK_MIN || p->block_size > 128) {
		EADD(e, "spec.blockSize: %d out of range %d..128 (IPv6)",
		     p->block_size, IPPOOL_V6_BLOCK_MIN);
		bad = 1;
	} else if (p->block_size < p->cidr6.len) {
		EADD(e, "spec.blockSize: %d shorter than the CIDR's /%u",
		     p->block_size, (unsigned)p->cidr6.len);
		bad = 1;
	}
	return bad;
}

int ipam_pool_validate(const struct ippool *p, struct errs *e)
{
	char cidr[IP4_NETSTRLEN];
	int bad = 0;

	if (!res_name_valid(p->name)) {
		EADD(e, "metadata.name: invalid name \"%s\"", p->name);
		bad = 1;
	}
	if (p->v6)
		return pool_validate6(p, e) || bad ? -EINVAL : 0;
	ip4_net_fmt(&p->cidr, cidr);
	if (p->cidr.len > 32 || (p->cidr.addr & ~ip4_mask(p->cidr.len))) {
		EADD(e, "spec.cidr: invalid CIDR %s (host bits set)", cidr);
		bad = 1;
	}
	if (p->block_size < 20 || p->block_size > 32) {
		EADD(e, "spec.blockSize: %d out of range 20..32",
		     p->block_size);
		bad = 1;
	} else if (p->block_size < p->cidr.len) {
		EADD(e, "spec.blockSize: %d shorter than the CIDR's /%u",
		     p->block_size, (unsigned)p->cidr.len);
		bad = 1;
	}
	return bad ? -EINVAL : 0;
}

/* The caller's operations added to a pool's transaction (see
 * ipam_pool_create_with): they follow the pool's own ones in ops. */
struct extra_ops {
	const struct ds_op *v;
	size_t n;
	size_t *failed;		/* may be NULL */
};

/* After a failed txn of nown ops of the pool's followed by x's: a failure in x is
 * the caller's (its index reported, no retry); 1 when it was one of x's. */
static int extra_failed(const struct extra_ops *x, size_t nown, size_t failed,
			int rc)
{
	if (rc == 0 || !x || failed < nown || failed >= nown + x->n)
		return 0;
	if (x->failed)
		*x->failed = failed - nown;
	return 1;
}

static int pool_create_once(struct ds *ds, const struct ippool *p,
			    const struct extra_ops *x, struct errs *e)
{
	char key[RES_KEY_MAX], sbuf[64];
	char mine[IP6_NETSTRLEN], other[IP6_NETSTRLEN];
	struct resource r;
	struct snap s;
	struct ds_op ops[DS_TXN_MAX];
	char *text = NULL;
	long long gen;
	int64_t srev;
	size_t i, failed = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = res_key(RES_IPPOOL, p->name, key, sizeof(key));
	if (rc < 0)
		goto out;
	/* Sentinel before the list: any create/delete committed after this
	 * read moves the sentinel, and our CAS on it fails. */
	rc = sentinel_read(ds, &srev, &gen);
	if (rc < 0)
		goto out;
	s.fam = SNAP_ALL;	/* a name is unique over both families */
	rc = ipam_snap_pools(ds, &s, 1, e);
	if (rc < 0)
		goto out;
	p->v6 ? ip6_net_fmt(&p->cidr6, mine) : ip4_net_fmt(&p->cidr, mine);
	for (i = 0; i < s.npools; i++) {
		const struct ippool *o = &s.pools[i].p;

		if (!strcmp(o->name, p->name)) {
			EADD(e, "ippool %s already exists", p->name);
			rc = -EEXIST;
			goto out;
		}
		if (o->v6 != p->v6)
			continue;
		if (p->v6 ? ip6_net_overlaps(&o->cidr6, &p->cidr6) :
		    ip4_net_overlaps(&o->cidr, &p->cidr)) {
			p->v6 ? ip6_net_fmt(&o->cidr6, other) : ip4_net_fmt(&o->cidr, other);
			EADD(e, "spec.cidr: %s overlaps ippool %s (%s)", mine,
			     o->name, other);
			rc = IPAM_EOVERLAP;
		}
	}
	if (rc < 0)
		goto out;
	memset(&r, 0, sizeof(r));
	r.kind = RES_IPPOOL;
	r.u.pool = *p;		/* shallow: only read */
	text = res_to_text(&r);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	ops[0] = (struct ds_op){ DS_OP_CREATE, key, text, 0 };
	sentinel_op(&ops[1], sbuf, sizeof(sbuf), srev, gen);
	for (i = 0; x && i < x->n; i++)
		ops[2 + i] = x->v[i];
	rc = ds_txn(ds, ops, 2 + (x ? x->n : 0), NULL, &failed);
	if (extra_failed(x, 2, failed, rc))
		goto out;
	if (rc == -EEXIST && failed == 0)
		EADD(e, "ippool %s already exists", p->name);
	else if (ipam_conflict(rc))
		rc = RETRY;
out:
	free(text);
	ipam_snap_clear(&s);
	return rc;
}

int ipam_pool_create(struct ds *ds, const struct ippool *p, struct errs *e)
{
	return ipam_pool_create_with(ds, p, NULL, 0, NULL, e);
}

int ipam_pool_create_with(struct ds *ds, const struct ippool *p,
			  const struct ds_op *extra, size_t n_extra,
			  size_t *failed_extra, struct errs *e)
{
	struct extra_ops x = { extra, n_extra, failed_extra };
	unsigned t;
	int rc;

	if (!ds || !p || n_extra > DS_TXN_MAX - 2 || (n_extra && !extra))
		return -EINVAL;
	if (failed_extra)
		*failed_extra = SIZE_MAX;
	rc = ipam_pool_validate(p, e);
	if (rc < 0)
		return rc;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			ipam_backoff(t);
		rc = pool_create_once(ds, p, &x, e);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

static int pool_delete_once(struct ds *ds, const char *name, int force,
			    const struct extra_ops *x)
{
	struct snap s;
	struct pent *p = NULL;
	struct ds_op *ops = NULL;
	char sbuf[64];
	long long gen;
	int64_t srev;
	size_t i, nops = 0, nempty = 0, failed = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = sentinel_read(ds, &srev, &gen);
	if (rc < 0)
		goto out;
	s.fam = SNAP_ALL;	/* either family's pool, by its name */
	rc = ipam_snap_pools(ds, &s, 0, NULL);
	if (rc < 0)
		goto out;
	for (i = 0; i < s.npools && !p; i++)
		if (!strcmp(s.pools[i].p.name, name))
			p = &s.pools[i];
	if (!p) {
		rc = -ENOENT;
		goto out;
	}
	if (p->p.v6 && !force && (rc = ipam6_pool_used(ds, &p->p.cidr6)) != 0) {
		rc = rc > 0 ? IPAM_EPOOLUSED : rc;
		goto out;
	}
	rc = ipam_snap_blocks(ds, &s, 0);
	if (rc < 0)
		goto out;
	ops = calloc(DS_TXN_MAX, sizeof(*ops));
	if (!ops) {
		rc = -ENOMEM;
		goto out;
	}
	ops[nops++] = (struct ds_op){ DS_OP_DELETE, p->kv->key, NULL,
				      p->kv->mod_rev };
	sentinel_op(&ops[nops++], sbuf, sizeof(sbuf), srev, gen);
	for (i = 0; i < s.nblocks; i++) {
		struct bent *b = &s.blocks[i];

		/* a v6 pool has none of these IPv4 ones (its own: above) */
		if (p->p.v6 || !ip4_net_within(&b->cidr, &p->p.cidr))
			continue;
		rc = ipam_bent_decode(b);
		if (rc < 0)
			goto out;
		if (ipamblock_used(&b->b)) {
			if (!force) {
				rc = IPAM_EPOOLUSED;
				goto out;
			}
			continue;
		}
		if (nops == DS_TXN_MAX - x->n) {
			nempty++;	/* left for a later pass */
			continue;
		}
		ops[nops++] = (struct ds_op){ DS_OP_DELETE, b->kv->key, NULL,
					      b->kv->mod_rev };
	}
	if (nempty) {
		/* More empty blocks than one txn takes: delete a batch
		 * (CAS each), keep the pool, and come back for the rest. */
		rc = ds_txn(ds, ops + 2, nops - 2, NULL, NULL);
		rc = rc < 0 && !ipam_conflict(rc) ? rc : RETRY;
		goto out;
	}
	for (i = 0; i < x->n; i++)
		ops[nops + i] = x->v[i];
	rc = ds_txn(ds, ops, nops + x->n, NULL, &failed);
	if (extra_failed(x, nops, failed, rc))
		goto out;
	if (ipam_conflict(rc))
		rc = RETRY;
out:
	free(ops);
	ipam_snap_clear(&s);
	return rc;
}

int ipam_pool_delete(struct ds *ds, const char *name, int force)
{
	struct extra_ops x = { NULL, 0, NULL };
	unsigned t;
	int rc;

	if (!ds || !name || !res_name_valid(name))
		return !ds || !name ? -EINVAL : -ENOENT;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			ipam_backoff(t);
		rc = pool_delete_once(ds, name, force, &x);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

int ipam_pool_delete_with(struct ds *ds, const char *name,
			  const struct ds_op *extra, size_t n_extra,
			  size_t *failed_extra)
{
	struct extra_ops x = { extra, n_extra, failed_extra };
	unsigned t;
	int rc;

	if (!ds || !name || n_extra > DS_TXN_MAX / 2 || (n_extra && !extra))
		return -EINVAL;
	if (failed_extra)
		*failed_extra = SIZE_MAX;
	if (!res_name_valid(name))
		return -ENOENT;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			ipam_backoff(t);
		rc = pool_delete_once(ds, name, 0, &x);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

int ipam_pools_list(struct ds *ds, struct ippool **out, size_t *n)
{
	struct snap s;
	struct ippool *v = NULL;
	size_t i;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = ipam_snap_pools(ds, &s, 1, NULL);
	if (rc < 0)
		goto out;
	if (s.npools) {
		v = calloc(s.npools, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < s.npools; i++)
		v[i] = s.pools[i].p;	/* moved */
	*out = v;
	*n = s.npools;
	s.npools = 0;
out:
	ipam_snap_clear(&s);
	return rc;
}
