/*
 * ipam: address management on top of the datastore (contract: ipam.h).
 *
 * All state lives in the store: IPPool, IPAMBlock and IPAMHandle documents.
 * Each operation reads what it needs (a snapshot), computes ONE transaction,
 * and commits it with compare-and-swap on every record it read and changes.
 * On a conflict (-ECANCELED, -EEXIST, -ENOENT from the txn) it drops the
 * snapshot, waits a short random time and starts over, at most IPAM_TRIES
 * times (then IPAM_ECONFLICT).
 *
 * Invariants every transaction keeps:
 * - an address is allocated iff its block's slot names a handle, and that
 *   handle's record lists the address: block and handle change in one txn;
 * - a block exists only while it holds an address (created with its first
 *   allocation, deleted with its last);
 * - blocks never overlap: a block is claimed only where no stored block
 *   overlaps it, in a txn that also CASes its pool's record (rewritten
 *   unchanged), so claims in one pool are serialised against each other and
 *   against the pool's deletion or change (a claim never lands in a pool
 *   deleted or disabled meanwhile);
 * - pools never overlap: creation and deletion CAS one sentinel key
 *   (POOLS_SENTINEL) read before the pool list, so of two concurrent
 *   creators of overlapping pools only one commits.
 * A block belongs to the pool whose CIDR contains it (its `pool` field is
 * informational): blocks left behind by a force-deleted pool are adopted by
 * a new pool that covers them, and are never handed out twice.
 *
 * Every address of a block is usable: workloads get routed /32s, there is no
 * network or broadcast address to reserve.
 *
 * Automatic assignment takes only from pools whose nodeSelector selects
 * the node's labels (model/selector.h; read from the Node document once per
 * attempt, and only when some pool has a selector other than all()), and
 * from those the caller's struct ipam_pool_sel allows (named networks).
 *
 * Cost of a typical assign: one list of the pools, one list of the blocks
 * (each block's affinity and use read by a cheap scan, ipamblock_peek; only the
 * block allocated from is decoded), one txn. The handle is created optimistically in that txn;
 * only when it already exists (an idempotent retry) is it read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam.h"
#include "model/keys.h"
#include "model/selector.h"

#define IPAM_TRIES 100
/* Its revision orders pool creations and deletions; its value (a counter)
 * only makes each write visible to a human reading the store. */
#define POOLS_SENTINEL KEYS_POOLS_SENTINEL
#define RETRY 1			/* internal: re-read and try again */

const char *ipam_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case IPAM_ENOSPC:
		return "no free address in any enabled pool";
	case IPAM_EINUSE:
		return "address already allocated";
	case IPAM_ENOPOOL:
		return "address is in no IP pool";
	case IPAM_EOVERLAP:
		return "IP pool overlaps an existing pool";
	case IPAM_ECONFLICT:
		return "too many concurrent updates, gave up";
	case IPAM_EPOOLUSED:
		return "IP pool still has allocated addresses";
	case IPAM_EDISABLED:
		return "address is in a disabled IP pool";
	case IPAM_ENOTALLOWED:
		return "address not in a pool this workload may use";
	case IPAM_EAFFINITY:
		return "address is in another node's block and its pool has strictAffinity";
	default:
		return ds_strerror(err);
	}
}

int ipam_handle_id(const char *container_id, const char *wl_ifname, char *buf,
		   size_t len)
{
	int r;

	if (!wl_ifname || !*wl_ifname)
		wl_ifname = "eth0";
	r = snprintf(buf, len, "%s.%s", container_id ? container_id : "",
		     wl_ifname);
	if (r < 0 || (size_t)r >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Handles become key segments and JSON strings; the codec accepts
 * [A-Za-z0-9._-] only (a handle it refused would make its block unreadable). */
static int handle_valid(const char *h)
{
	size_t n = 0;

	if (!h || !*h)
		return 0;
	for (; h[n]; n++)
		if (!((h[n] >= 'a' && h[n] <= 'z') ||
		      (h[n] >= 'A' && h[n] <= 'Z') ||
		      (h[n] >= '0' && h[n] <= '9') || strchr("._-", h[n])))
			return 0;
	return n < IPAMHANDLE_ID_MAX;
}

static int conflict(int rc)
{
	return rc == -ECANCELED || rc == -EEXIST || rc == -ENOENT;
}

/* Random wait before retry `attempt` (1..), growing to ~3 ms, so that
 * processes that collided do not collide again in lock step. */
static void backoff(unsigned attempt)
{
	static uint64_t seed;
	static pid_t seed_pid;
	struct timespec ts;
	unsigned cap;
	uint64_t us;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!seed || seed_pid != getpid()) {	/* reseed after fork */
		seed_pid = getpid();
		seed = ((uint64_t)seed_pid << 32) ^ (uint64_t)ts.tv_nsec ^
		       0x9e3779b97f4a7c15ull;
	}
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	cap = 100u << (attempt < 5 ? attempt : 5);
	us = seed % cap;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(us * 1000);
	nanosleep(&ts, NULL);
}

/* ---- encoding ---- */

static char *block_text(const struct ipamblock *b)
{
	struct resource r;

	memset(&r, 0, sizeof(r));
	r.kind = RES_IPAMBLOCK;
	r.u.block = *b;		/* shallow: res_to_text only reads it */
	return res_to_text(&r);
}

static char *handle_text(const char *id, const uint32_t *addrs, size_t n,
			 int64_t created)
{
	struct resource r;

	memset(&r, 0, sizeof(r));
	r.kind = RES_IPAMHANDLE;
	snprintf(r.u.handle.id, sizeof(r.u.handle.id), "%s", id);
	r.u.handle.n = n;
	r.u.handle.addrs = (uint32_t *)addrs;	/* only read */
	r.u.handle.created = created;
	return res_to_text(&r);
}

static int handle_decode(const struct ds_kv *kv, struct ipamhandle *out)
{
	struct resource r;
	struct errs e = ERRS_INIT;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = res_from_text(RES_IPAMHANDLE, kv->value, kv->mod_rev, &r, &e);
	errs_clear(&e);
	if (rc < 0)
		return rc;
	*out = r.u.handle;
	return 0;
}

static int block_decode(const struct ds_kv *kv, const struct ip4_net *cidr,
			struct ipamblock *out)
{
	struct resource r;
	struct errs e = ERRS_INIT;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = res_from_text(RES_IPAMBLOCK, kv->value, kv->mod_rev, &r, &e);
	errs_clear(&e);
	if (rc < 0)
		return rc;
	/* The key names the block: a record saying otherwise is not trusted. */
	if (r.u.block.cidr.addr != cidr->addr ||
	    r.u.block.cidr.len != cidr->len || !r.u.block.handles) {
		res_clear(&r);
		return -EINVAL;
	}
	*out = r.u.block;
	return 0;
}

static int block_key(const struct ip4_net *c, char *buf, size_t len)
{
	char name[IP4_NETSTRLEN];

	ipamblock_name(c, name);
	return res_key(RES_IPAMBLOCK, name, buf, len);
}

/* "10.0.0.64-26" → 10.0.0.64/26 (strict: the name ipamblock_name gives). */
static int block_name_parse(const char *name, struct ip4_net *out)
{
	char buf[IP4_NETSTRLEN + 1];
	char *dash;
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, name, n + 1);
	dash = strrchr(buf, '-');
	if (!dash)
		return -EINVAL;
	*dash = '/';
	return ip4_net_parse(buf, out, false, false);
}

static uint64_t net_end(const struct ip4_net *c)	/* one past the last */
{
	return (uint64_t)c->addr + ip4_net_size(c);
}

static long block_free_slot(const struct ipamblock *b)
{
	uint64_t i, n = ip4_net_size(&b->cidr);

	for (i = 0; i < n; i++)
		if (!b->handles[i])
			return (long)i;
	return -1;
}

static int pool_validate(const struct ippool *p, struct errs *e);

/* ---- a snapshot of pools and blocks ---- */

struct pent {
	struct ippool p;
	const struct ds_kv *kv;	/* its stored record, for CAS */
	bool allowed;		/* by the caller's ipam_pool_sel (assign) */
	bool selected;		/* its nodeSelector selects the node (assign) */
};

struct bent {
	struct ip4_net cidr;	/* from its key */
	const struct ds_kv *kv;
	int state;		/* 0: not decoded, 1: decoded into b, <0: error */
	struct ipamblock b;
	int peeked;		/* aff and used are known (bent_peek) */
	char aff[RES_NAME_MAX];
	uint64_t used;
};

struct snap {
	struct ds_kv *pkv, *bkv;
	size_t npkv, nbkv;
	int have_blocks;
	struct pent *pools;	/* by name */
	size_t npools;
	struct bent *blocks;	/* by address */
	size_t nblocks;
};

static void snap_clear(struct snap *s)
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
static int snap_pools(struct ds *ds, struct snap *s, int strict,
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
		/* Written by anyone: its geometry is checked before use. */
		if (rc == 0 && pool_validate(&r.u.pool, NULL) < 0) {
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

/* Lists every block; decodes none (see bent_decode). A key that names no
 * block is an error when strict, else skipped. */
static int snap_blocks(struct ds *ds, struct snap *s, int strict)
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

		if (block_name_parse(s->bkv[i].key + plen, &b->cidr) < 0) {
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

static int bent_decode(struct bent *b)
{
	int rc;

	if (b->state)
		return b->state < 0 ? b->state : 0;
	rc = block_decode(b->kv, &b->cidr, &b->b);
	b->state = rc < 0 ? rc : 1;
	return rc;
}

/* Fills b->aff and b->used, cheaply when it can (ipamblock_peek). */
static int bent_peek(struct bent *b)
{
	int rc;

	if (b->peeked)
		return 0;
	if (b->state == 1 ||
	    ipamblock_peek(b->kv->value, b->aff, sizeof(b->aff), &b->used) < 0) {
		rc = bent_decode(b);
		if (rc < 0)
			return rc;
		snprintf(b->aff, sizeof(b->aff), "%s", b->b.affinity);
		b->used = ipamblock_used(&b->b);
	}
	b->peeked = 1;
	return 0;
}

static struct pent *snap_pool_at(struct snap *s, uint32_t a)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (ip4_net_contains(&s->pools[i].p.cidr, a))
			return &s->pools[i];
	return NULL;
}

static struct pent *snap_pool_of(struct snap *s, const struct ip4_net *c)
{
	size_t i;

	for (i = 0; i < s->npools; i++)
		if (ip4_net_within(c, &s->pools[i].p.cidr))
			return &s->pools[i];
	return NULL;
}

static struct bent *snap_block_at(struct snap *s, uint32_t a)
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

static int snap_overlaps(const struct snap *s, const struct ip4_net *c)
{
	size_t i;

	for (i = 0; i < s->nblocks; i++)
		if (ip4_net_overlaps(&s->blocks[i].cidr, c))
			return 1;
	return 0;
}

/* The lowest block of pool p that no stored block overlaps. */
static int pool_free_block(const struct snap *s, const struct ippool *p,
			   struct ip4_net *out)
{
	uint64_t step = (uint64_t)1 << (32 - p->block_size);
	uint64_t a = p->cidr.addr, end = net_end(&p->cidr);
	size_t i = 0;

	while (a < end) {
		struct ip4_net c = { (uint32_t)a, (uint8_t)p->block_size };
		uint64_t next = a + step;
		size_t j;
		int hit = 0;

		while (i < s->nblocks && net_end(&s->blocks[i].cidr) <= a)
			i++;
		for (j = i; j < s->nblocks && s->blocks[j].cidr.addr < a + step;
		     j++) {
			if (!ip4_net_overlaps(&c, &s->blocks[j].cidr))
				continue;
			hit = 1;
			/* Skip past it in whole steps (it may be larger). */
			while (next < net_end(&s->blocks[j].cidr))
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

/* ---- assign ---- */

struct assign_req {
	const char *node, *handle;
	char hkey[RES_KEY_MAX];
	uint32_t want;
	const struct ipam_pool_sel *sel;	/* may be NULL */
	uint32_t *out;
	int *borrowed;
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
	rc = handle_decode(&kv, &h);
	if (rc < 0)
		goto out;
	if (h.n == 0) {
		/* Never written so; clear it (CAS) and start over. */
		rc = ds_delete(ds, q->hkey, kv.mod_rev);
		rc = rc < 0 && !conflict(rc) ? rc : RETRY;
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
		b = snap_block_at(s, a);
		*q->borrowed = b && bent_decode(b) == 0 &&
			       strcmp(b->b.affinity, q->node) != 0;
	}
	rc = 0;
out:
	ipamhandle_clear(&h);
	ds_kv_clear(&kv);
	return rc;
}

/* ops[0] is always the handle's create. */
static int alloc_txn(struct ds *ds, struct snap *s, const struct assign_req *q,
		     const struct ds_op *ops, size_t n, uint32_t addr,
		     int borrowed)
{
	size_t failed = 0;
	int rc;

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
	return conflict(rc) ? RETRY : rc;
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
	btext = block_text(&b->b);
	b->b.handles[slot] = NULL;
	htext = handle_text(q->handle, &addr, 1, (int64_t)time(NULL));
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
	rc = block_key(c, bkey, sizeof(bkey));
	if (rc < 0)
		goto out;
	rc = ipamblock_init(&b, c);
	if (rc < 0)
		goto out;
	snprintf(b.affinity, sizeof(b.affinity), "%s", q->node);
	snprintf(b.pool, sizeof(b.pool), "%s", p->p.name);
	b.handles[slot] = (char *)q->handle;	/* lent for the encoding */
	btext = block_text(&b);
	b.handles[slot] = NULL;
	htext = handle_text(q->handle, &addr, 1, (int64_t)time(NULL));
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
		struct pent *p = snap_pool_of(s, &b->cidr);

		if (!p || !pent_usable(p))
			continue;
		/* Decode only a block of ours that has room. */
		if (bent_peek(b) < 0 || strcmp(b->aff, q->node) ||
		    b->used >= ip4_net_size(&b->cidr))
			continue;
		if (bent_decode(b) < 0 || strcmp(b->b.affinity, q->node))
			continue;
		slot = block_free_slot(&b->b);
		if (slot >= 0)
			return commit_existing(ds, s, q, b, slot, 0);
	}
	/* 2. A new block: the lowest free one of the first pool having one. */
	for (i = 0; i < s->npools; i++) {
		struct pent *p = &s->pools[i];

		if (pent_usable(p) && pool_free_block(s, &p->p, &c) == 0)
			return commit_claim(ds, s, q, p, &c, 0);
	}
	/* 3. Borrow one address from another node's block. */
	for (i = 0; i < s->nblocks; i++) {
		struct bent *b = &s->blocks[i];
		struct pent *p = snap_pool_of(s, &b->cidr);

		if (!p || !pent_usable(p) || p->p.strict_affinity)
			continue;
		if (bent_peek(b) < 0 || !strcmp(b->aff, q->node) ||
		    b->used >= ip4_net_size(&b->cidr))
			continue;
		if (bent_decode(b) < 0 || !strcmp(b->b.affinity, q->node))
			continue;
		slot = block_free_slot(&b->b);
		if (slot >= 0)
			return commit_existing(ds, s, q, b, slot, 1);
	}
	return IPAM_ENOSPC;
}

static int assign_want(struct ds *ds, struct snap *s,
		       const struct assign_req *q)
{
	struct pent *p = snap_pool_at(s, q->want);
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
	b = snap_block_at(s, q->want);
	if (b) {
		rc = bent_decode(b);
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
	if (snap_overlaps(s, &c))
		return IPAM_EINUSE;
	return commit_claim(ds, s, q, p, &c, (long)(q->want - c.addr));
}

static int assign_once(struct ds *ds, const struct assign_req *q)
{
	struct snap s;
	int rc, held;

	memset(&s, 0, sizeof(s));
	rc = snap_pools(ds, &s, 0, NULL);
	if (rc < 0)
		goto out;
	rc = snap_blocks(ds, &s, 0);
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
	snap_clear(&s);
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

	if (!ds || !node || !res_name_valid(node) || !handle_valid(handle) ||
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
			backoff(t);
		rc = assign_once(ds, &q);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
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
	rc = block_key(c, key, sizeof(key));
	if (rc < 0)
		return rc;
	rc = ds_get(ds, key, &f->kv);
	if (rc < 0)
		return rc;
	f->cidr = *c;
	rc = block_decode(&f->kv, c, &f->b);
	if (rc < 0)
		ds_kv_clear(&f->kv);
	return rc;
}

/* The stored block holding addr: found by its pool's block size (one get),
 * else by the keys of all blocks (a pool deleted or re-cut since). */
static int fblock_find(struct ds *ds, struct snap *s, uint32_t addr,
		       struct fblock *f)
{
	struct pent *p = snap_pool_at(s, addr);
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
		rc = snap_blocks(ds, s, 0);
		if (rc < 0)
			return rc;
	}
	b = snap_block_at(s, addr);
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
	*text = block_text(&f->b);
	if (!*text)
		return -ENOMEM;
	*op = (struct ds_op){ DS_OP_UPDATE, f->kv.key, *text, f->kv.mod_rev };
	return 0;
}

static int release_handle_once(struct ds *ds, const char *hkey,
			       const char *handle)
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
	rc = handle_decode(&hkv, &h);
	if (rc < 0)
		goto out;
	if (h.n + 1 > DS_TXN_MAX) {
		rc = -E2BIG;
		goto out;
	}
	rc = snap_pools(ds, &s, 0, NULL);
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
	rc = ds_txn(ds, ops, nops, NULL, NULL);
	if (conflict(rc))
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
	snap_clear(&s);
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	return rc;
}

int ipam_release_handle(struct ds *ds, const char *handle)
{
	char hkey[RES_KEY_MAX];
	unsigned t;
	int rc;

	if (!ds || !handle_valid(handle))
		return -EINVAL;
	rc = res_key(RES_IPAMHANDLE, handle, hkey, sizeof(hkey));
	if (rc < 0)
		return rc;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			backoff(t);
		rc = release_handle_once(ds, hkey, handle);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
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
	rc = snap_pools(ds, &s, 0, NULL);
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
	    ds_get(ds, hkey, &hkv) == 0 && handle_decode(&hkv, &h) == 0) {
		for (i = k = 0; i < h.n; i++)
			if (h.addrs[i] != addr)
				h.addrs[k++] = h.addrs[i];
		if (k == 0) {
			ops[nops++] = (struct ds_op){ DS_OP_DELETE, hkey, NULL,
						      hkv.mod_rev };
		} else if (k != h.n) {
			htext = handle_text(h.id, h.addrs, k, h.created);
			if (!htext) {
				rc = -ENOMEM;
				goto out;
			}
			ops[nops++] = (struct ds_op){ DS_OP_UPDATE, hkey, htext,
						      hkv.mod_rev };
		}
	}
	rc = ds_txn(ds, ops, nops, NULL, NULL);
	if (conflict(rc))
		rc = RETRY;
out:
	free(id);
	free(btext);
	free(htext);
	ipamhandle_clear(&h);
	ds_kv_clear(&hkv);
	fblock_clear(&f);
	snap_clear(&s);
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
			backoff(t);
		rc = release_addr_once(ds, addr);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

/* ---- pools ---- */

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

static int pool_validate(const struct ippool *p, struct errs *e)
{
	char cidr[IP4_NETSTRLEN];
	int bad = 0;

	if (!res_name_valid(p->name)) {
		EADD(e, "metadata.name: invalid name \"%s\"", p->name);
		bad = 1;
	}
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
	char mine[IP4_NETSTRLEN], other[IP4_NETSTRLEN];
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
	rc = snap_pools(ds, &s, 1, e);
	if (rc < 0)
		goto out;
	ip4_net_fmt(&p->cidr, mine);
	for (i = 0; i < s.npools; i++) {
		const struct ippool *o = &s.pools[i].p;

		if (!strcmp(o->name, p->name)) {
			EADD(e, "ippool %s already exists", p->name);
			rc = -EEXIST;
			goto out;
		}
		if (ip4_net_overlaps(&o->cidr, &p->cidr)) {
			ip4_net_fmt(&o->cidr, other);
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
	else if (conflict(rc))
		rc = RETRY;
out:
	free(text);
	snap_clear(&s);
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
	rc = pool_validate(p, e);
	if (rc < 0)
		return rc;
	for (t = 0; t < IPAM_TRIES; t++) {
		if (t)
			backoff(t);
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
	rc = snap_pools(ds, &s, 0, NULL);
	if (rc < 0)
		goto out;
	for (i = 0; i < s.npools && !p; i++)
		if (!strcmp(s.pools[i].p.name, name))
			p = &s.pools[i];
	if (!p) {
		rc = -ENOENT;
		goto out;
	}
	rc = snap_blocks(ds, &s, 0);
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

		if (!ip4_net_within(&b->cidr, &p->p.cidr))
			continue;
		rc = bent_decode(b);
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
		rc = rc < 0 && !conflict(rc) ? rc : RETRY;
		goto out;
	}
	for (i = 0; i < x->n; i++)
		ops[nops + i] = x->v[i];
	rc = ds_txn(ds, ops, nops + x->n, NULL, &failed);
	if (extra_failed(x, nops, failed, rc))
		goto out;
	if (conflict(rc))
		rc = RETRY;
out:
	free(ops);
	snap_clear(&s);
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
			backoff(t);
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
			backoff(t);
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
	rc = snap_pools(ds, &s, 1, NULL);
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
	snap_clear(&s);
	return rc;
}

/* ---- reading ---- */

void ipam_blocks_free(struct ipamblock *b, size_t n)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < n; i++)
		ipamblock_clear(&b[i]);
	free(b);
}

int ipam_blocks_list(struct ds *ds, const char *node, struct ipamblock **out,
		     size_t *n)
{
	struct snap s;
	struct ipamblock *v = NULL;
	size_t i, k = 0;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = snap_blocks(ds, &s, 1);
	if (rc < 0)
		goto out;
	if (s.nblocks) {
		v = calloc(s.nblocks, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < s.nblocks; i++) {
		struct bent *b = &s.blocks[i];

		if (node) {
			rc = bent_peek(b);
			if (rc < 0)
				goto out;
			if (strcmp(b->aff, node))
				continue;
		}
		rc = bent_decode(b);
		if (rc < 0)
			goto out;
		if (node && strcmp(b->b.affinity, node))
			continue;
		v[k++] = b->b;		/* moved */
		b->state = 0;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	ipam_blocks_free(v, k);
	snap_clear(&s);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strs_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The handles of every WorkloadEndpoint, sorted. An unreadable WEP is an
 * error: guessing would report its address as a leak, and releasing that
 * would give a live workload's address to another. */
/* Appends a copy of h to *v (k entries). */
static int strs_push(char ***v, size_t *k, const char *h)
{
	char **nv = realloc(*v, (*k + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*k] = strdup(h)))
		return -ENOMEM;
	(*k)++;
	return 0;
}

/* The handles that the CNI IPAM plugin (petrel-ipam, for main plugins such
 * as ptp) holds without a WorkloadEndpoint: each gateway record of
 * /petrel/ipamgateways/<node>/<pool> names its own handle and its users'
 * (cni/ipamgw.h). They are not leaks. */
#define IPAM_GW_PREFIX KEYS_IPAMGATEWAYS

static int gw_handles(struct ds *ds, char ***v, size_t *k)
{
	struct ds_kv *kv = NULL;
	size_t nkv = 0;
	int rc;

	rc = ds_list(ds, IPAM_GW_PREFIX, &kv, &nkv, NULL);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nkv && rc == 0; i++) {
		json_t *j = json_loads(kv[i].value, 0, NULL);
		json_t *u = j ? json_object_get(j, "users") : NULL, *x;
		const char *h = j ? json_string_value(json_object_get(j, "handle")) : NULL;
		size_t idx;

		if (h)
			rc = strs_push(v, k, h);
		json_array_foreach(u, idx, x)
			if (rc == 0 && json_is_string(x))
				rc = strs_push(v, k, json_string_value(x));
		json_decref(j);
	}
	ds_kvs_free(kv, nkv);
	return rc;
}

static int wep_handles(struct ds *ds, char ***out, size_t *n)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kv = NULL;
	char **v = NULL;
	size_t nkv = 0, i, k = 0;
	int rc;

	rc = res_prefix(RES_WEP, NULL, prefix, sizeof(prefix));
	if (rc < 0)
		return rc;
	rc = ds_list(ds, prefix, &kv, &nkv, NULL);
	if (rc < 0)
		return rc;
	if (nkv) {
		v = calloc(nkv, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nkv; i++) {
		struct resource r;
		struct errs e = ERRS_INIT;
		char id[IPAMHANDLE_ID_MAX];

		memset(&r, 0, sizeof(r));
		rc = res_from_text(RES_WEP, kv[i].value, kv[i].mod_rev, &r, &e);
		errs_clear(&e);
		if (rc < 0)
			goto out;
		rc = ipam_handle_id(r.u.wep.container_id, r.u.wep.wl_ifname, id,
				    sizeof(id));
		res_clear(&r);
		if (rc < 0)
			continue;	/* cannot name any stored handle */
		v[k] = strdup(id);
		if (!v[k]) {
			rc = -ENOMEM;
			goto out;
		}
		k++;
	}
	rc = gw_handles(ds, &v, &k);
	if (rc < 0)
		goto out;
	if (k)
		qsort(v, k, sizeof(*v), str_cmp);
	*out = v;
	*n = k;
	v = NULL;
	rc = 0;
out:
	strs_free(v, k);
	ds_kvs_free(kv, nkv);
	return rc;
}

int ipam_check(struct ds *ds, struct ipam_leak **out, size_t *n)
{
	struct snap s;
	struct ipam_leak *v = NULL;
	char **hs = NULL;
	size_t nhs = 0, nv = 0, cap = 0, i;
	int64_t now = (int64_t)time(NULL);
	uint64_t j;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = snap_blocks(ds, &s, 1);
	if (rc < 0)
		goto out;
	rc = wep_handles(ds, &hs, &nhs);
	if (rc < 0)
		goto out;
	for (i = 0; i < s.nblocks; i++) {
		struct bent *b = &s.blocks[i];

		rc = bent_decode(b);
		if (rc < 0)
			goto out;
		for (j = 0; j < ip4_net_size(&b->cidr); j++) {
			const char *h = b->b.handles[j];
			struct ipam_leak *l;

			if (!h || (nhs && bsearch(&h, hs, nhs, sizeof(*hs),
						  str_cmp)))
				continue;
			if (nv == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *p = realloc(v, nc * sizeof(*v));

				if (!p) {
					rc = -ENOMEM;
					goto out;
				}
				v = p;
				cap = nc;
			}
			l = &v[nv++];
			memset(l, 0, sizeof(*l));
			l->addr = b->cidr.addr + (uint32_t)j;
			snprintf(l->handle, sizeof(l->handle), "%s", h);
			l->age = -1;
		}
	}
	/* Ages: leaks are few, so read their handles one by one. */
	for (i = 0; i < nv; i++) {
		char key[RES_KEY_MAX];
		struct ds_kv kv;
		struct ipamhandle h;

		memset(&kv, 0, sizeof(kv));
		memset(&h, 0, sizeof(h));
		if (res_key(RES_IPAMHANDLE, v[i].handle, key, sizeof(key)) ||
		    ds_get(ds, key, &kv))
			continue;
		if (handle_decode(&kv, &h) == 0 && h.created > 0)
			v[i].age = now > h.created ? now - h.created : 0;
		ipamhandle_clear(&h);
		ds_kv_clear(&kv);
	}
	*out = v;
	*n = nv;
	v = NULL;
	rc = 0;
out:
	free(v);
	strs_free(hs, nhs);
	snap_clear(&s);
	return rc;
}

int ipam_usage(struct ds *ds, struct ipam_usage **out, size_t *n)
{
	struct snap s;
	struct ipam_usage *v = NULL;
	size_t i, j;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = snap_pools(ds, &s, 1, NULL);
	if (rc < 0)
		goto out;
	rc = snap_blocks(ds, &s, 1);
	if (rc < 0)
		goto out;
	if (s.npools) {
		v = calloc(s.npools, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < s.npools; i++) {
		const struct ippool *p = &s.pools[i].p;

		snprintf(v[i].pool, sizeof(v[i].pool), "%s", p->name);
		v[i].cidr = p->cidr;
		v[i].size = ip4_net_size(&p->cidr);
		for (j = 0; j < s.nblocks; j++) {
			struct bent *b = &s.blocks[j];

			if (!ip4_net_within(&b->cidr, &p->cidr))
				continue;
			rc = bent_decode(b);
			if (rc < 0)
				goto out;
			v[i].blocks++;
			v[i].used += ipamblock_used(&b->b);
		}
	}
	*out = v;
	*n = s.npools;
	v = NULL;
out:
	free(v);
	snap_clear(&s);
	return rc;
}
