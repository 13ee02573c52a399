/*
 * test_ipam: ipam/ipam.c against a real sqlite store in a fresh temporary
 * folder per test. Covers allocation order, block claims, borrowing, strict
 * affinity, exhaustion (nothing written), release, requested addresses,
 * idempotence, pool overlap and deletion, leak detection, concurrent
 * allocators in 8 processes, the pool restriction of named networks and
 * nodeSelector. After every test that allocates, the store is
 * checked for consistency: each block slot's handle lists that address and
 * each handle's address sits in its block under that handle.
 *
 * PETREL_IPAM_BENCH_N (default 500) sets the size of the assign/release
 * rate measurement, which is printed, never asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ifname.h"
#include "common/ip4.h"
#include "datastore/datastore.h"
#include "model/resource.h"
#include "ipam/ipam.h"

#include "ipam_fixture.h"

static uint32_t A(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(ip4_parse(s, &a), 0);
	return a;
}

static const char *S(uint32_t a)
{
	static char buf[4][IP4_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return ip4_fmt(a, buf[i]);
}

static void pool_fill(struct ippool *p, const char *name, const char *cidr,
		      int bs)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	assert_int_equal(ip4_net_parse(cidr, &p->cidr, false, false), 0);
	p->block_size = bs;
}

static void mkpool(struct ds *ds, const char *name, const char *cidr, int bs,
		   bool disabled, bool strict)
{
	struct ippool p;
	struct errs e = ERRS_INIT;

	pool_fill(&p, name, cidr, bs);
	p.disabled = disabled;
	p.strict_affinity = strict;
	assert_int_equal(ipam_pool_create(ds, &p, &e), 0);
	assert_int_equal(e.n, 0);
	errs_clear(&e);
}

/* Assign that must succeed; returns the address. */
static uint32_t take(struct ds *ds, const char *node, const char *h,
		     int *borrowed)
{
	uint32_t a = 0;
	int b = -1, rc;

	rc = ipam_assign(ds, node, h, 0, &a, &b);
	if (rc)
		fail_msg("assign %s %s: %s", node, h, ipam_strerror(rc));
	assert_true(b == 0 || b == 1);
	if (borrowed)
		*borrowed = b;
	return a;
}

static int64_t rev(struct ds *ds)
{
	int64_t r = ds_revision(ds);

	assert_true(r >= 0);
	return r;
}

/* Every allocation agrees between blocks and handles; returns their count.
 * Plain return codes (no cmocka) so that it runs in children too. */
static long store_check(struct ds *ds, char *why, size_t whylen)
{
	char prefix[RES_KEY_MAX];
	struct ipamblock *b = NULL;
	struct ds_kv *kv = NULL;
	size_t nb = 0, nkv = 0, i, j;
	long count = 0, hcount = 0;
	uint64_t k;

	why[0] = '\0';
	if (ipam_blocks_list(ds, NULL, &b, &nb) < 0) {
		snprintf(why, whylen, "blocks list failed");
		return -1;
	}
	res_prefix(RES_IPAMHANDLE, NULL, prefix, sizeof(prefix));
	if (ds_list(ds, prefix, &kv, &nkv, NULL) < 0) {
		snprintf(why, whylen, "handles list failed");
		ipam_blocks_free(b, nb);
		return -1;
	}
	for (i = 0; i < nb && !why[0]; i++) {
		if (ipamblock_used(&b[i]) == 0)
			snprintf(why, whylen, "empty block left in the store");
		for (k = 0; k < ip4_net_size(&b[i].cidr) && !why[0]; k++) {
			char key[RES_KEY_MAX];
			struct ds_kv h;
			struct resource r;
			struct errs e = ERRS_INIT;
			uint32_t a = b[i].cidr.addr + (uint32_t)k;
			int found = 0;

			if (!b[i].handles[k])
				continue;
			count++;
			memset(&h, 0, sizeof(h));
			memset(&r, 0, sizeof(r));
			res_key(RES_IPAMHANDLE, b[i].handles[k], key,
				sizeof(key));
			if (ds_get(ds, key, &h) < 0 ||
			    res_from_text(RES_IPAMHANDLE, h.value, h.mod_rev,
					  &r, &e) < 0) {
				snprintf(why, whylen, "%s: handle %s missing",
					 S(a), b[i].handles[k]);
			} else {
				for (j = 0; j < r.u.handle.n; j++)
					found |= r.u.handle.addrs[j] == a;
				if (!found)
					snprintf(why, whylen,
						 "%s: handle %s lacks it", S(a),
						 b[i].handles[k]);
				res_clear(&r);
			}
			errs_clear(&e);
			ds_kv_clear(&h);
		}
	}
	for (i = 0; i < nkv && !why[0]; i++) {
		struct resource r;
		struct errs e = ERRS_INIT;

		memset(&r, 0, sizeof(r));
		if (res_from_text(RES_IPAMHANDLE, kv[i].value, kv[i].mod_rev,
				  &r, &e) < 0) {
			snprintf(why, whylen, "%s undecodable", kv[i].key);
			errs_clear(&e);
			break;
		}
		for (j = 0; j < r.u.handle.n && !why[0]; j++) {
			uint32_t a = r.u.handle.addrs[j];
			size_t x;
			int ok = 0;

			hcount++;
			for (x = 0; x < nb; x++)
				if (ip4_net_contains(&b[x].cidr, a))
					ok = b[x].handles[a - b[x].cidr.addr] &&
					     !strcmp(b[x].handles[a - b[x].cidr.addr],
						     r.u.handle.id);
			if (!ok)
				snprintf(why, whylen,
					 "handle %s: %s not in its block",
					 r.u.handle.id, S(a));
		}
		res_clear(&r);
		errs_clear(&e);
	}
	if (!why[0] && hcount != count)
		snprintf(why, whylen, "%ld in blocks, %ld in handles", count,
			 hcount);
	ds_kvs_free(kv, nkv);
	ipam_blocks_free(b, nb);
	return why[0] ? -1 : count;
}

static void consistent(struct ds *ds, long expect)
{
	char why[256];
	long n = store_check(ds, why, sizeof(why));

	if (n < 0)
		fail_msg("store inconsistent: %s", why);
	assert_int_equal(n, expect);
}

static size_t node_blocks(struct ds *ds, const char *node)
{
	struct ipamblock *b = NULL;
	size_t n = 0;

	assert_int_equal(ipam_blocks_list(ds, node, &b, &n), 0);
	ipam_blocks_free(b, n);
	return n;
}

/* ---- tests ---- */

static void test_alloc_order(void **state)
{
	struct fx *f = *state;
	struct ipamblock *b = NULL;
	size_t n = 0;
	int borrowed;

	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	assert_int_equal(take(f->ds, "node-a", "h0", &borrowed), A("10.0.0.0"));
	assert_int_equal(borrowed, 0);
	assert_int_equal(take(f->ds, "node-a", "h1", NULL), A("10.0.0.1"));
	assert_int_equal(take(f->ds, "node-a", "h2", NULL), A("10.0.0.2"));
	/* The lowest free address is reused first. */
	assert_int_equal(ipam_release_handle(f->ds, "h1"), 0);
	assert_int_equal(take(f->ds, "node-a", "h3", NULL), A("10.0.0.1"));
	/* One block, of the pool's block size, with this node's affinity. */
	assert_int_equal(ipam_blocks_list(f->ds, "node-a", &b, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].cidr.addr, A("10.0.0.0"));
	assert_int_equal(b[0].cidr.len, 26);
	assert_string_equal(b[0].affinity, "node-a");
	assert_string_equal(b[0].pool, "p1");
	assert_int_equal(ipamblock_used(&b[0]), 3);
	assert_string_equal(b[0].handles[1], "h3");
	ipam_blocks_free(b, n);
	/* Another node claims the next block. */
	assert_int_equal(take(f->ds, "node-b", "hb", NULL), A("10.0.0.64"));
	assert_int_equal(node_blocks(f->ds, "node-b"), 1);
	assert_int_equal(node_blocks(f->ds, NULL), 2);
	consistent(f->ds, 4);
}

static void test_full_block_claims_new(void **state)
{
	struct fx *f = *state;
	char h[16];
	int i;

	mkpool(f->ds, "p1", "10.0.0.0/24", 30, false, false);
	for (i = 0; i < 4; i++) {
		snprintf(h, sizeof(h), "h%d", i);
		assert_int_equal(take(f->ds, "node-a", h, NULL),
				 A("10.0.0.0") + (uint32_t)i);
	}
	assert_int_equal(node_blocks(f->ds, "node-a"), 1);
	assert_int_equal(take(f->ds, "node-a", "h4", NULL), A("10.0.0.4"));
	assert_int_equal(node_blocks(f->ds, "node-a"), 2);
	/* Freed space in the first block is used before the second's. */
	assert_int_equal(ipam_release_handle(f->ds, "h2"), 0);
	assert_int_equal(take(f->ds, "node-a", "h5", NULL), A("10.0.0.2"));
	consistent(f->ds, 5);
}

static void test_borrow(void **state)
{
	struct fx *f = *state;
	struct ipamblock *b = NULL;
	size_t n = 0;
	int borrowed;

	mkpool(f->ds, "p1", "10.0.0.0/29", 30, false, false);
	assert_int_equal(take(f->ds, "node-a", "a0", NULL), A("10.0.0.0"));
	assert_int_equal(take(f->ds, "node-b", "b0", NULL), A("10.0.0.4"));
	assert_int_equal(take(f->ds, "node-b", "b1", NULL), A("10.0.0.5"));
	assert_int_equal(take(f->ds, "node-b", "b2", NULL), A("10.0.0.6"));
	assert_int_equal(take(f->ds, "node-b", "b3", &borrowed),
			 A("10.0.0.7"));
	assert_int_equal(borrowed, 0);
	/* No free block left: node-b borrows from node-a's block. */
	assert_int_equal(take(f->ds, "node-b", "b4", &borrowed),
			 A("10.0.0.1"));
	assert_int_equal(borrowed, 1);
	/* The block stays node-a's. */
	assert_int_equal(ipam_blocks_list(f->ds, "node-a", &b, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(b[0].handles[1], "b4");
	ipam_blocks_free(b, n);
	/* An idempotent retry reports the borrow again. */
	borrowed = 0;
	assert_int_equal(take(f->ds, "node-b", "b4", &borrowed),
			 A("10.0.0.1"));
	assert_int_equal(borrowed, 1);
	consistent(f->ds, 6);
}

static void test_strict_affinity(void **state)
{
	struct fx *f = *state;
	uint32_t a = 0;
	int64_t r;

	mkpool(f->ds, "p1", "10.0.0.0/29", 30, false, true);
	assert_int_equal(take(f->ds, "node-a", "a0", NULL), A("10.0.0.0"));
	assert_int_equal(take(f->ds, "node-b", "b0", NULL), A("10.0.0.4"));
	assert_int_equal(take(f->ds, "node-b", "b1", NULL), A("10.0.0.5"));
	assert_int_equal(take(f->ds, "node-b", "b2", NULL), A("10.0.0.6"));
	assert_int_equal(take(f->ds, "node-b", "b3", NULL), A("10.0.0.7"));
	r = rev(f->ds);
	assert_int_equal(ipam_assign(f->ds, "node-b", "b4", 0, &a, NULL),
			 IPAM_ENOSPC);
	/* Asking for an address in node-a's block is refused as well. */
	assert_int_equal(ipam_assign(f->ds, "node-b", "b4", A("10.0.0.1"), &a,
				     NULL), IPAM_EAFFINITY);
	assert_int_equal(rev(f->ds), r);
	/* node-a itself still has room. */
	assert_int_equal(take(f->ds, "node-a", "a1", NULL), A("10.0.0.1"));
	consistent(f->ds, 6);
}

static void test_exhaustion(void **state)
{
	struct fx *f = *state;
	uint32_t seen[8], a = 0;
	char h[16];
	int64_t r;
	int i, j;

	mkpool(f->ds, "small", "10.0.0.0/29", 30, false, false);
	for (i = 0; i < 8; i++) {
		snprintf(h, sizeof(h), "h%d", i);
		seen[i] = take(f->ds, "node-a", h, NULL);
		assert_true(seen[i] >= A("10.0.0.0") && seen[i] <= A("10.0.0.7"));
		for (j = 0; j < i; j++)
			assert_int_not_equal(seen[i], seen[j]);
	}
	r = rev(f->ds);
	assert_int_equal(ipam_assign(f->ds, "node-a", "h8", 0, &a, NULL),
			 IPAM_ENOSPC);
	assert_int_equal(ipam_assign(f->ds, "node-b", "h8", 0, &a, NULL),
			 IPAM_ENOSPC);
	assert_int_equal(rev(f->ds), r);
	/* A handle that holds an address still gets it back. */
	assert_int_equal(take(f->ds, "node-a", "h3", NULL), seen[3]);
	assert_int_equal(rev(f->ds), r);
	consistent(f->ds, 8);
}

static void test_no_pool(void **state)
{
	struct fx *f = *state;
	uint32_t a = 0;

	assert_int_equal(ipam_assign(f->ds, "node-a", "h0", 0, &a, NULL),
			 IPAM_ENOSPC);
	mkpool(f->ds, "off", "10.9.0.0/24", 26, true, false);
	assert_int_equal(ipam_assign(f->ds, "node-a", "h0", 0, &a, NULL),
			 IPAM_ENOSPC);
	/* Invalid arguments. */
	assert_int_equal(ipam_assign(f->ds, "Node A", "h0", 0, &a, NULL),
			 -EINVAL);
	assert_int_equal(ipam_assign(f->ds, "node-a", "", 0, &a, NULL),
			 -EINVAL);
	assert_int_equal(ipam_assign(f->ds, "node-a", "a/b", 0, &a, NULL),
			 -EINVAL);
	assert_int_equal(ipam_assign(f->ds, "node-a", "a\"b", 0, &a, NULL),
			 -EINVAL);
	assert_int_equal(ipam_release_handle(f->ds, "a b"), -EINVAL);
	/* Only what the codec can read back: [A-Za-z0-9._-]. */
	assert_int_equal(ipam_assign(f->ds, "node-a", "a:b", 0, &a, NULL),
			 -EINVAL);
	consistent(f->ds, 0);
}

static void test_strerror(void **state)
{
	int c;

	(void)state;
	for (c = IPAM_ENOSPC; c >= IPAM_ENOTALLOWED; c--) {
		const char *m = ipam_strerror(c);

		assert_non_null(m);
		assert_null(strstr(m, "nknown"));
		assert_string_not_equal(m, ipam_strerror(c == IPAM_ENOSPC ?
							 IPAM_ENOTALLOWED : c + 1));
	}
	assert_non_null(strstr(ipam_strerror(-ECANCELED), "concurrent"));
}

static void test_release(void **state)
{
	struct fx *f = *state;
	char key[RES_KEY_MAX];
	struct ds_kv kv;
	uint32_t a, b;
	int64_t r;

	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	a = take(f->ds, "node-a", "h0", NULL);
	b = take(f->ds, "node-a", "h1", NULL);
	assert_int_equal(ipam_release_handle(f->ds, "h0"), 0);
	r = rev(f->ds);
	/* Idempotent: releasing again, or a handle never seen, writes nothing. */
	assert_int_equal(ipam_release_handle(f->ds, "h0"), 0);
	assert_int_equal(ipam_release_handle(f->ds, "never"), 0);
	assert_int_equal(ipam_release_addr(f->ds, a), -ENOENT);
	assert_int_equal(ipam_release_addr(f->ds, A("10.0.0.200")), -ENOENT);
	assert_int_equal(ipam_release_addr(f->ds, A("192.168.0.1")), -ENOENT);
	assert_int_equal(rev(f->ds), r);
	consistent(f->ds, 1);
	/* Release by address takes the handle record with it... */
	assert_int_equal(ipam_release_addr(f->ds, b), 0);
	res_key(RES_IPAMHANDLE, "h1", key, sizeof(key));
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(ds_get(f->ds, key, &kv), -ENOENT);
	/* ...and the empty block is gone. */
	assert_int_equal(node_blocks(f->ds, NULL), 0);
	consistent(f->ds, 0);
}

static void test_empty_block_deleted(void **state)
{
	struct fx *f = *state;
	char key[RES_KEY_MAX];
	struct ds_kv kv;

	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	assert_int_equal(take(f->ds, "node-a", "h0", NULL), A("10.0.0.0"));
	assert_int_equal(take(f->ds, "node-a", "h1", NULL), A("10.0.0.1"));
	res_key(RES_IPAMBLOCK, "10.0.0.0-26", key, sizeof(key));
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(ds_get(f->ds, key, &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(ipam_release_handle(f->ds, "h0"), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), 0);	/* still holds h1 */
	ds_kv_clear(&kv);
	assert_int_equal(ipam_release_handle(f->ds, "h1"), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), -ENOENT);
	assert_int_equal(node_blocks(f->ds, NULL), 0);
	/* The block can be claimed again, by anyone. */
	assert_int_equal(take(f->ds, "node-b", "h2", NULL), A("10.0.0.0"));
	assert_int_equal(node_blocks(f->ds, "node-b"), 1);
	consistent(f->ds, 1);
}

static void test_requested(void **state)
{
	struct fx *f = *state;
	uint32_t a = 0;
	int borrowed = -1;
	int64_t r;

	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	mkpool(f->ds, "off", "10.9.0.0/24", 26, true, false);
	/* Free, in an unclaimed block: claimed for this node. */
	assert_int_equal(ipam_assign(f->ds, "node-a", "h0", A("10.0.0.77"), &a,
				     &borrowed), 0);
	assert_int_equal(a, A("10.0.0.77"));
	assert_int_equal(borrowed, 0);
	assert_int_equal(node_blocks(f->ds, "node-a"), 1);
	/* The next automatic one comes from that block, lowest first. */
	assert_int_equal(take(f->ds, "node-a", "h1", NULL), A("10.0.0.64"));
	r = rev(f->ds);
	assert_int_equal(ipam_assign(f->ds, "node-a", "h2", A("10.0.0.77"), &a,
				     NULL), IPAM_EINUSE);
	assert_int_equal(ipam_assign(f->ds, "node-a", "h2", A("192.168.1.1"),
				     &a, NULL), IPAM_ENOPOOL);
	assert_int_equal(ipam_assign(f->ds, "node-a", "h2", A("10.9.0.5"), &a,
				     NULL), IPAM_EDISABLED);
	assert_int_equal(rev(f->ds), r);
	/* In another node's block: allocated there, borrowed. */
	assert_int_equal(ipam_assign(f->ds, "node-b", "h3", A("10.0.0.70"), &a,
				     &borrowed), 0);
	assert_int_equal(a, A("10.0.0.70"));
	assert_int_equal(borrowed, 1);
	assert_int_equal(node_blocks(f->ds, "node-b"), 0);
	/* Every address of a block is usable: no network/broadcast. */
	assert_int_equal(ipam_assign(f->ds, "node-a", "h4", A("10.0.0.255"), &a,
				     NULL), 0);
	assert_int_equal(ipam_assign(f->ds, "node-a", "h5", A("10.0.0.128"), &a,
				     NULL), 0);
	assert_int_equal(node_blocks(f->ds, "node-a"), 3);
	consistent(f->ds, 5);
}

static void test_idempotent(void **state)
{
	struct fx *f = *state;
	uint32_t a, b = 0;
	int64_t r;

	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	a = take(f->ds, "node-a", "c1.eth0", NULL);
	r = rev(f->ds);
	assert_int_equal(take(f->ds, "node-a", "c1.eth0", NULL), a);
	assert_int_equal(rev(f->ds), r);
	assert_int_equal(ipam_assign(f->ds, "node-a", "c1.eth0", a, &b, NULL),
			 0);
	assert_int_equal(b, a);
	/* Holding another address than the one asked for. */
	assert_int_equal(ipam_assign(f->ds, "node-a", "c1.eth0", a + 5, &b,
				     NULL), -EEXIST);
	assert_int_equal(rev(f->ds), r);
	consistent(f->ds, 1);
}

static void overlap_case(struct ds *ds, const char *c1, const char *c2)
{
	struct ippool p;
	struct errs e = ERRS_INIT;
	char *m;

	mkpool(ds, "first", c1, 26, false, false);
	pool_fill(&p, "second", c2, 26);
	assert_int_equal(ipam_pool_create(ds, &p, &e), IPAM_EOVERLAP);
	assert_int_equal(e.n, 1);
	m = e.msg[0];
	assert_non_null(strstr(m, "first"));
	assert_non_null(strstr(m, c1));
	errs_clear(&e);
	assert_int_equal(ipam_pool_delete(ds, "first", 0), 0);
	/* Once the other is gone, it fits. */
	assert_int_equal(ipam_pool_create(ds, &p, &e), 0);
	assert_int_equal(ipam_pool_delete(ds, "second", 0), 0);
}

static void test_overlap(void **state)
{
	struct fx *f = *state;
	struct ippool p, *v = NULL;
	struct errs e = ERRS_INIT;
	size_t n = 0;

	overlap_case(f->ds, "10.0.0.0/16", "10.0.1.0/24");	/* contained */
	overlap_case(f->ds, "10.0.1.0/24", "10.0.0.0/16");	/* containing */
	overlap_case(f->ds, "10.0.0.0/24", "10.0.0.0/24");	/* equal */
	/* Neighbours do not overlap; a third pool overlapping both names both. */
	mkpool(f->ds, "a", "10.0.0.0/24", 26, false, false);
	mkpool(f->ds, "b", "10.0.1.0/24", 26, false, false);
	pool_fill(&p, "c", "10.0.0.0/23", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), IPAM_EOVERLAP);
	assert_int_equal(e.n, 2);
	errs_clear(&e);
	/* Name taken. */
	pool_fill(&p, "a", "10.5.0.0/24", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EEXIST);
	errs_clear(&e);
	/* Invalid: block bigger than the pool, block size out of range. */
	pool_fill(&p, "d", "10.6.0.0/28", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EINVAL);
	assert_true(e.n >= 1);
	errs_clear(&e);
	pool_fill(&p, "d", "10.6.0.0/16", 19);
	assert_int_equal(ipam_pool_create(f->ds, &p, NULL), -EINVAL);
	assert_int_equal(ipam_pools_list(f->ds, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "a");
	assert_string_equal(v[1].name, "b");
	assert_int_equal(v[1].cidr.addr, A("10.0.1.0"));
	ippool_clear(&v[0]);
	ippool_clear(&v[1]);
	free(v);
}

/* Two processes race to create overlapping pools, many rounds: never both. */
static void test_overlap_race(void **state)
{
	struct fx *f = *state;
	int round;

	for (round = 0; round < 10; round++) {
		pid_t pid[2];
		struct ippool *v = NULL;
		size_t n = 0, i;
		int k, st;

		ds_close(f->ds);	/* not shared across fork */
		f->ds = NULL;
		for (k = 0; k < 2; k++) {
			pid[k] = fork();
			assert_true(pid[k] >= 0);
			if (pid[k] == 0) {
				struct ds *ds = NULL;
				struct ippool p;
				int rc;

				memset(&p, 0, sizeof(p));
				snprintf(p.name, sizeof(p.name), "r%d-%d", round, k);
				p.cidr.addr = (10u << 24) | ((uint32_t)round << 16) |
					      (k ? 1u << 8 : 0);
				p.cidr.len = (uint8_t)(k ? 24 : 16);
				p.block_size = 26;
				if (ds_open(f->url, &ds) < 0)
					_exit(3);
				rc = ipam_pool_create(ds, &p, NULL);
				ds_close(ds);
				_exit(rc == 0 ? 0 : rc == IPAM_EOVERLAP ? 1 : 2);
			}
		}
		for (k = 0; k < 2; k++) {
			assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
			assert_true(WIFEXITED(st));
			assert_true(WEXITSTATUS(st) <= 1);
		}
		assert_int_equal(ds_open(f->url, &f->ds), 0);
		assert_int_equal(ipam_pools_list(f->ds, &v, &n), 0);
		assert_int_equal(n, (size_t)round + 1);
		for (i = 0; i < n; i++)
			ippool_clear(&v[i]);
		free(v);
	}
}

static void test_pool_delete(void **state)
{
	struct fx *f = *state;
	struct ippool *v = NULL;
	size_t n = 9;
	uint32_t a;

	assert_int_equal(ipam_pool_delete(f->ds, "nope", 0), -ENOENT);
	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	a = take(f->ds, "node-a", "h0", NULL);
	assert_int_equal(ipam_pool_delete(f->ds, "p1", 0), IPAM_EPOOLUSED);
	assert_int_equal(ipam_release_handle(f->ds, "h0"), 0);
	assert_int_equal(ipam_pool_delete(f->ds, "p1", 0), 0);
	assert_int_equal(ipam_pools_list(f->ds, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	/* force: the pool goes, its allocations stay (and stay releasable). */
	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	assert_int_equal(take(f->ds, "node-a", "h1", NULL), a);
	assert_int_equal(ipam_pool_delete(f->ds, "p1", 1), 0);
	assert_int_equal(node_blocks(f->ds, NULL), 1);
	/* A new pool covering the old block, cut differently, never hands
	 * out the address still held. */
	mkpool(f->ds, "p2", "10.0.0.0/24", 28, false, false);
	assert_int_equal(take(f->ds, "node-a", "h2", NULL), A("10.0.0.1"));
	assert_int_equal(take(f->ds, "node-b", "h3", NULL), A("10.0.0.64"));
	assert_int_equal(ipam_release_handle(f->ds, "h1"), 0);
	assert_int_equal(ipam_release_handle(f->ds, "h2"), 0);
	consistent(f->ds, 1);
	assert_int_equal(node_blocks(f->ds, NULL), 1);
}

static void put_wep(struct ds *ds, const char *name, const char *cid,
		    const char *wl_if, uint32_t addr)
{
	struct resource r;
	char key[RES_KEY_MAX], full[2 * RES_NAME_MAX];
	char *text;

	memset(&r, 0, sizeof(r));
	r.kind = RES_WEP;
	snprintf(r.u.wep.node, sizeof(r.u.wep.node), "node-a");
	snprintf(r.u.wep.name, sizeof(r.u.wep.name), "%s", name);
	r.u.wep.mode = WEP_ROUTED;
	snprintf(r.u.wep.netns, sizeof(r.u.wep.netns), "/run/netns/%s", name);
	ifname_for_workload("node-a", name, r.u.wep.ifname);
	snprintf(r.u.wep.wl_ifname, sizeof(r.u.wep.wl_ifname), "%s", wl_if);
	r.u.wep.n_nets = 1;
	r.u.wep.nets[0].addr = addr;
	r.u.wep.nets[0].len = 32;
	memcpy(r.u.wep.mac, "\xee\xee\xee\xee\xee\x01", 6);
	r.u.wep.has_mac = true;
	snprintf(r.u.wep.container_id, sizeof(r.u.wep.container_id), "%s", cid);
	snprintf(full, sizeof(full), "node-a/%s", name);
	assert_int_equal(res_key(RES_WEP, full, key, sizeof(key)), 0);
	text = res_to_text(&r);
	assert_non_null(text);
	assert_int_equal(ds_create(ds, key, text, NULL), 0);
	free(text);
}

static void test_check_leaks(void **state)
{
	struct fx *f = *state;
	struct ipam_leak *l = NULL;
	char h[IPAMHANDLE_ID_MAX];
	size_t n = 9;
	uint32_t a1, a2, a3;

	mkpool(f->ds, "p1", "10.0.0.0/24", 26, false, false);
	assert_int_equal(ipam_check(f->ds, &l, &n), 0);
	assert_int_equal(n, 0);
	free(l);
	assert_int_equal(ipam_handle_id("c1", "eth0", h, sizeof(h)), 0);
	assert_string_equal(h, "c1.eth0");
	a1 = take(f->ds, "node-a", h, NULL);
	a2 = take(f->ds, "node-a", "c2.eth0", NULL);	/* no workload: leak */
	assert_int_equal(ipam_handle_id("c3", "", h, sizeof(h)), 0);
	assert_string_equal(h, "c3.eth0");
	a3 = take(f->ds, "node-a", h, NULL);
	put_wep(f->ds, "w1", "c1", "eth0", a1);
	put_wep(f->ds, "w3", "c3", "", a3);
	assert_int_equal(ipam_check(f->ds, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].addr, a2);
	assert_string_equal(l[0].handle, "c2.eth0");
	assert_true(l[0].age >= 0 && l[0].age < 3600);
	/* Release what check found; then none is left. */
	assert_int_equal(ipam_release_addr(f->ds, l[0].addr), 0);
	free(l);
	assert_int_equal(ipam_check(f->ds, &l, &n), 0);
	assert_int_equal(n, 0);
	free(l);
	consistent(f->ds, 2);
	assert_int_equal(ipam_handle_id("c", "eth0", h, 4), -ENAMETOOLONG);

	/* petrel-ipam's containers (no WorkloadEndpoint) and their gateway are
	 * held through a gateway record: not leaks; the others still are */
	take(f->ds, "node-a", "gw-p1.eth0", NULL);
	take(f->ds, "node-a", "p1.eth0", NULL);
	take(f->ds, "node-a", "p2.eth0", NULL);
	take(f->ds, "node-a", "lost.eth0", NULL);
	assert_int_equal(ds_create(f->ds, "/petrel/ipamgateways/node-a/p1",
				   "{\"address\":\"10.0.0.9\",\"handle\":\"gw-p1.eth0\","
				   "\"users\":[\"p1.eth0\",\"p2.eth0\"]}", NULL), 0);
	assert_int_equal(ipam_check(f->ds, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].handle, "lost.eth0");
	free(l);
}

static void test_usage(void **state)
{
	struct fx *f = *state;
	struct ipam_usage *u = NULL;
	size_t n = 0;

	mkpool(f->ds, "b-pool", "10.1.0.0/16", 26, false, false);
	mkpool(f->ds, "a-pool", "10.0.0.0/24", 26, false, false);
	/* a-pool (first by name) serves first. */
	assert_int_equal(take(f->ds, "node-a", "h0", NULL), A("10.0.0.0"));
	assert_int_equal(take(f->ds, "node-a", "h1", NULL), A("10.0.0.1"));
	assert_int_equal(take(f->ds, "node-b", "h2", NULL), A("10.0.0.64"));
	assert_int_equal(ipam_assign(f->ds, "node-b", "h3", A("10.1.2.3"),
				     &(uint32_t){0}, NULL), 0);
	assert_int_equal(ipam_usage(f->ds, &u, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].pool, "a-pool");
	assert_int_equal(u[0].size, 256);
	assert_int_equal(u[0].used, 3);
	assert_int_equal(u[0].blocks, 2);
	assert_string_equal(u[1].pool, "b-pool");
	assert_int_equal(u[1].cidr.addr, A("10.1.0.0"));
	assert_int_equal(u[1].size, 65536);
	assert_int_equal(u[1].used, 1);
	assert_int_equal(u[1].blocks, 1);
	free(u);
	consistent(f->ds, 4);
}

#define NPROC 8
#define PER_PROC 25

/* Phase 1: PER_PROC assigns "p<k>-<i>". Phase 2: releases each of them,
 * each release followed by an assign of "q<k>-<i>", so that releases and
 * assigns race in and across blocks. Children report by exit status only. */
static int child_run(const char *url, int k, int phase, int gate)
{
	struct ds *ds = NULL;
	const char *node = k < NPROC / 2 ? "node-a" : "node-b";
	char h[32], c;
	uint32_t a;
	int i, rc = 0;

	if (read(gate, &c, 1) < 0)	/* all start together (EOF) */
		return 4;
	if (ds_open(url, &ds) < 0)
		return 3;
	for (i = 0; i < PER_PROC && rc == 0; i++) {
		if (phase == 2) {
			snprintf(h, sizeof(h), "p%d-%d", k, i);
			rc = ipam_release_handle(ds, h);
			if (rc)
				break;
		}
		snprintf(h, sizeof(h), "%c%d-%d", phase == 1 ? 'p' : 'q', k, i);
		rc = ipam_assign(ds, node, h, 0, &a, NULL);
	}
	ds_close(ds);
	if (rc)
		fprintf(stderr, "child %d: %s\n", k, ipam_strerror(rc));
	return rc ? 1 : 0;
}

/* The parent's connection is closed across fork (a sqlite connection must
 * not be shared with a child, and a child must not close it either). */
static void reopen_after(struct fx *f)
{
	assert_int_equal(ds_open(f->url, &f->ds), 0);
}

static void close_before(struct fx *f)
{
	ds_close(f->ds);
	f->ds = NULL;
}

static void run_children(struct fx *f, int phase)
{
	const char *url = f->url;
	pid_t pid[NPROC];
	int gate[2], k, st;

	close_before(f);
	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	for (k = 0; k < NPROC; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			close(gate[1]);
			_exit(child_run(url, k, phase, gate[0]));
		}
	}
	close(gate[0]);
	close(gate[1]);		/* go */
	for (k = 0; k < NPROC; k++) {
		assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	reopen_after(f);
}

/* Every allocation is one of prefix's handles, each exactly once, in a
 * block of its process's node (200 < 256: nobody needs to borrow). */
static void check_owners(struct ds *ds, char prefix)
{
	struct ipamblock *b = NULL;
	size_t nb = 0, i;
	uint8_t seen[NPROC * PER_PROC];
	long total = 0;
	uint64_t j;

	memset(seen, 0, sizeof(seen));
	assert_int_equal(ipam_blocks_list(ds, NULL, &b, &nb), 0);
	for (i = 0; i < nb; i++) {
		for (j = 0; j < ip4_net_size(&b[i].cidr); j++) {
			char c = 0;
			int pk, pi;

			if (!b[i].handles[j])
				continue;
			total++;
			assert_int_equal(sscanf(b[i].handles[j], "%c%d-%d", &c,
						&pk, &pi), 3);
			assert_int_equal(c, prefix);
			assert_true(pk >= 0 && pk < NPROC && pi >= 0 &&
				    pi < PER_PROC);
			assert_int_equal(seen[pk * PER_PROC + pi], 0);
			seen[pk * PER_PROC + pi] = 1;
			assert_string_equal(b[i].affinity,
					    pk < NPROC / 2 ? "node-a" : "node-b");
		}
	}
	assert_int_equal(total, NPROC * PER_PROC);
	ipam_blocks_free(b, nb);
}

static void test_concurrent(void **state)
{
	struct fx *f = *state;

	/* 256 addresses in blocks of 16: node-a and node-b both claim
	 * several blocks, and processes contend inside each block. */
	mkpool(f->ds, "p1", "10.2.0.0/24", 28, false, false);
	run_children(f, 1);
	check_owners(f->ds, 'p');
	consistent(f->ds, NPROC * PER_PROC);
	run_children(f, 2);
	check_owners(f->ds, 'q');
	consistent(f->ds, NPROC * PER_PROC);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Printed, never asserted (timing is not a test result). */
static void test_rate(void **state)
{
	struct fx *f = *state;
	const char *env = getenv("PETREL_IPAM_BENCH_N");
	int n = env ? atoi(env) : 500, i;
	double t0, t1, t2;
	char h[32];

	if (n <= 0 || n > 60000)
		n = 500;
	mkpool(f->ds, "bench", "10.64.0.0/16", 26, false, false);
	/* Some other node's blocks in the store, as in a shared store. */
	for (i = 0; i < 64; i++) {
		snprintf(h, sizeof(h), "other%d", i);
		take(f->ds, "node-z", h, NULL);
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(h, sizeof(h), "c%d.eth0", i);
		take(f->ds, "node-a", h, NULL);
	}
	t1 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(h, sizeof(h), "c%d.eth0", i);
		assert_int_equal(ipam_release_handle(f->ds, h), 0);
	}
	t2 = now_s();
	printf("ipam rate (sqlite, %d): assign %.0f/s (%.0f us), release "
	       "%.0f/s (%.0f us), assign+release pairs %.0f/s\n", n,
	       n / (t1 - t0), (t1 - t0) * 1e6 / n, n / (t2 - t1),
	       (t2 - t1) * 1e6 / n, n / (t2 - t0));
	consistent(f->ds, 64);
}

/* ---- pool restriction (named networks) and nodeSelector ---- */

static void mknetwork(struct ds *ds, const char *name, const char *pool)
{
	char key[RES_KEY_MAX], text[256];

	assert_int_equal(res_key(RES_NETWORK, name, key, sizeof(key)), 0);
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Network\",\"metadata\":"
		 "{\"name\":\"%s\"},\"spec\":{\"pool\":\"%s\"}}", name, pool);
	assert_int_equal(ds_create(ds, key, text, NULL), 0);
}

static int take_in(struct ds *ds, const char *node, const char *h,
		   uint32_t want, const struct ipam_pool_sel *sel, uint32_t *a)
{
	*a = 0;
	return ipam_assign_in(ds, node, h, want, sel, a, NULL);
}

static void test_pool_sel(void **state)
{
	struct fx *f = *state;
	struct ipam_pool_sel only_blue = { .pool = "blue" };
	struct ipam_pool_sel unnamed = { .unnamed_only = true };
	struct ipam_pool_sel only_gone = { .pool = "gone" };
	uint32_t a;

	/* "blue" sorts before "default": without a restriction it would
	 * serve first. */
	mkpool(f->ds, "blue", "10.1.0.0/24", 26, false, false);
	mkpool(f->ds, "default", "10.0.0.0/24", 26, false, false);
	mknetwork(f->ds, "blue", "blue");
	mknetwork(f->ds, "plain", "");
	assert_int_equal(take_in(f->ds, "n1", "h1", 0, &unnamed, &a), 0);
	assert_int_equal(a, A("10.0.0.0"));
	assert_int_equal(take_in(f->ds, "n1", "h2", 0, &only_blue, &a), 0);
	assert_int_equal(a, A("10.1.0.0"));
	/* The old entry point: every pool, the lowest block of ours first. */
	assert_int_equal(take_in(f->ds, "n1", "h3", 0, NULL, &a), 0);
	assert_int_equal(a, A("10.0.0.1"));
	/* Requested addresses outside the allowed pools. */
	assert_int_equal(take_in(f->ds, "n1", "h4", A("10.1.0.9"), &unnamed, &a),
			 IPAM_ENOTALLOWED);
	assert_int_equal(take_in(f->ds, "n1", "h4", A("10.0.0.9"), &only_blue, &a),
			 IPAM_ENOTALLOWED);
	assert_int_equal(take_in(f->ds, "n1", "h4", A("10.1.0.9"), &only_blue, &a), 0);
	assert_int_equal(a, A("10.1.0.9"));
	/* A pool that does not exist serves nothing, and nothing is written. */
	assert_int_equal(take_in(f->ds, "n1", "h5", 0, &only_gone, &a), IPAM_ENOSPC);
	consistent(f->ds, 4);
	/* The named pool exhausted: no spill into the others. */
	{
		struct ipam_pool_sel tiny = { .pool = "tiny" };
		char h[16];

		mkpool(f->ds, "tiny", "10.2.0.0/30", 30, false, false);
		for (int i = 0; i < 4; i++) {
			snprintf(h, sizeof(h), "t%d", i);
			assert_int_equal(take_in(f->ds, "n1", h, 0, &tiny, &a), 0);
		}
		assert_int_equal(take_in(f->ds, "n1", "t4", 0, &tiny, &a), IPAM_ENOSPC);
		/* An idempotent retry still gets its address back. */
		assert_int_equal(take_in(f->ds, "n1", "t0", 0, &tiny, &a), 0);
		assert_int_equal(a, A("10.2.0.0"));
	}
	consistent(f->ds, 8);
}

static void mkpool_sel(struct ds *ds, const char *name, const char *cidr,
		       const char *sel)
{
	struct ippool p;
	struct errs e = ERRS_INIT;

	pool_fill(&p, name, cidr, 28);
	p.node_selector = strdup(sel);
	assert_non_null(p.node_selector);
	assert_int_equal(ipam_pool_create(ds, &p, &e), 0);
	errs_clear(&e);
	ippool_clear(&p);
}

static void mknode(struct ds *ds, const char *name, const char *k, const char *v)
{
	struct resource r;
	char key[RES_KEY_MAX], *text;

	memset(&r, 0, sizeof(r));
	r.kind = RES_NODE;
	snprintf(r.u.node.name, sizeof(r.u.node.name), "%s", name);
	assert_int_equal(labels_set(&r.u.node.labels, k, v), 0);
	text = res_to_text(&r);
	assert_non_null(text);
	assert_int_equal(res_key(RES_NODE, name, key, sizeof(key)), 0);
	assert_int_equal(ds_create(ds, key, text, NULL), 0);
	free(text);
	res_clear(&r);
}

static void test_node_selector(void **state)
{
	struct fx *f = *state;
	uint32_t a;

	mkpool_sel(f->ds, "a-rack1", "10.1.0.0/24", "rack == \"r1\" && !has(edge)");
	mkpool_sel(f->ds, "b-rack2", "10.2.0.0/24", "rack in {\"r2\", \"r3\"}");
	mkpool_sel(f->ds, "c-bad", "10.3.0.0/24", "rack ==");	/* selects nobody */
	mkpool_sel(f->ds, "d-all", "10.4.0.0/24", " all()");
	mknode(f->ds, "n1", "rack", "r1");
	mknode(f->ds, "n2", "rack", "r3");
	assert_int_equal(take_in(f->ds, "n1", "h1", 0, NULL, &a), 0);
	assert_int_equal(a, A("10.1.0.0"));
	assert_int_equal(take_in(f->ds, "n2", "h2", 0, NULL, &a), 0);
	assert_int_equal(a, A("10.2.0.0"));
	/* No Node document: no labels, only all() pools. */
	assert_int_equal(take_in(f->ds, "n3", "h3", 0, NULL, &a), 0);
	assert_int_equal(a, A("10.4.0.0"));
	/* A requested address ignores the selector (borrowing: see below). */
	assert_int_equal(take_in(f->ds, "n3", "h4", A("10.1.0.5"), NULL, &a), 0);
	assert_int_equal(a, A("10.1.0.5"));
	assert_int_equal(take_in(f->ds, "n3", "h5", A("10.3.0.5"), NULL, &a), 0);
	consistent(f->ds, 5);
}

static void test_node_selector_borrow(void **state)
{
	struct fx *f = *state;
	struct ipam_pool_sel only = { .pool = "r1" };
	uint32_t a;
	char h[16];

	/* One block of 16 in a /28 pool for rack r1; n1 fills it. */
	mkpool_sel(f->ds, "r1", "10.1.0.0/28", "rack == \"r1\"");
	mknode(f->ds, "n1", "rack", "r1");
	assert_int_equal(take_in(f->ds, "n1", "h0", 0, &only, &a), 0);
	/* n2 (no labels) may not borrow from it, even when asked for its pool. */
	assert_int_equal(take_in(f->ds, "n2", "x", 0, &only, &a), IPAM_ENOSPC);
	assert_int_equal(take_in(f->ds, "n2", "x", 0, NULL, &a), IPAM_ENOSPC);
	for (int i = 1; i < 16; i++) {
		snprintf(h, sizeof(h), "h%d", i);
		assert_int_equal(take_in(f->ds, "n1", h, 0, NULL, &a), 0);
	}
	assert_int_equal(take_in(f->ds, "n1", "h16", 0, NULL, &a), IPAM_ENOSPC);
	consistent(f->ds, 16);
}

static void test_pool_with_extra(void **state)
{
	struct fx *f = *state;
	struct ippool p;
	struct errs e = ERRS_INIT;
	struct ds_kv kv;
	struct ds_op op;
	size_t failed = 0;
	uint32_t a;

	/* Created together. */
	pool_fill(&p, "blue", "10.9.0.0/24", 26);
	op = (struct ds_op){ DS_OP_CREATE, "/petrel/networks/blue", "{}", 0 };
	assert_int_equal(ipam_pool_create_with(f->ds, &p, &op, 1, &failed, &e), 0);
	assert_int_equal(failed, SIZE_MAX);
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(ds_get(f->ds, "/petrel/networks/blue", &kv), 0);
	ds_kv_clear(&kv);
	/* The extra op fails: nothing is written, its index is reported. */
	pool_fill(&p, "red", "10.8.0.0/24", 26);
	assert_int_equal(ipam_pool_create_with(f->ds, &p, &op, 1, &failed, &e), -EEXIST);
	assert_int_equal(failed, 0);
	assert_int_equal(ipam_pool_delete(f->ds, "red", 0), -ENOENT);
	errs_clear(&e);
	/* Delete refused while used; the extra op is then not applied. */
	assert_int_equal(ipam_assign(f->ds, "n1", "h1", 0, &a, NULL), 0);
	op = (struct ds_op){ DS_OP_DELETE, "/petrel/networks/blue", NULL, 0 };
	assert_int_equal(ipam_pool_delete_with(f->ds, "blue", &op, 1, &failed),
			 IPAM_EPOOLUSED);
	assert_int_equal(ipam_release_handle(f->ds, "h1"), 0);
	assert_int_equal(ipam_pool_delete_with(f->ds, "blue", &op, 1, &failed), 0);
	assert_int_equal(ds_get(f->ds, "/petrel/networks/blue", &kv), -ENOENT);
	/* Its failure: the pool stays. */
	mkpool(f->ds, "green", "10.7.0.0/24", 26, false, false);
	assert_int_equal(ipam_pool_delete_with(f->ds, "green", &op, 1, &failed), -ENOENT);
	assert_int_equal(failed, 0);
	assert_int_equal(ipam_pool_delete(f->ds, "green", 0), 0);
	consistent(f->ds, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_alloc_order),
		T(test_full_block_claims_new),
		T(test_borrow),
		T(test_strict_affinity),
		T(test_exhaustion),
		T(test_no_pool),
		cmocka_unit_test(test_strerror),
		T(test_release),
		T(test_empty_block_deleted),
		T(test_requested),
		T(test_idempotent),
		T(test_overlap),
		T(test_overlap_race),
		T(test_pool_delete),
		T(test_check_leaks),
		T(test_usage),
		T(test_concurrent),
		T(test_rate),
		T(test_pool_sel),
		T(test_node_selector),
		T(test_node_selector_borrow),
		T(test_pool_with_extra),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
