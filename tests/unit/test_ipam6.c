/*
 * test_ipam6: the first slice of IPv6 (issue 12, docs/ipv6.md) in the
 * model and IPAM: an IPPool with an IPv6 CIDR decodes with IPv6's block
 * sizes and errors at file:line:col; ipam_pool_create stores it with the
 * overlap check of its own family and a name unique over both; every IPv4
 * consumer (ipam_pools_list, ipam_assign, ipam_usage) is unchanged by it;
 * the user-facing edges' one line of refusal. Against a real sqlite store
 * in a fresh temporary folder per test, as test_ipam.c.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ifname.h"
#include "common/ip4.h"
#include "common/ip6.h"
#include "common/yamljson.h"
#include "datastore/datastore.h"
#include "ipam/ipam.h"
#include "model/resource.h"

#include "ipam_fixture.h"

/* Decodes one YAML document (file "t.yaml"); rc, errors joined into msg. */
static int decode(const char *text, struct resource *r, char *msg, size_t len)
{
	struct errs e = ERRS_INIT;
	struct ydoc *d = NULL;
	size_t n = 0, off = 0;
	int rc;

	rc = yaml_load("t.yaml", text, strlen(text), &d, &n, &e);
	if (rc == 0) {
		assert_int_equal(n, 1);
		rc = res_from_json(d[0].root, &d[0], "t.yaml", r, &e);
	}
	msg[0] = '\0';
	for (size_t i = 0; i < e.n && off < len; i++)
		off += (size_t)snprintf(msg + off, len - off, "%s\n", e.msg[i]);
	errs_clear(&e);
	ydocs_free(d, n);
	return rc;
}

#define POOL_DOC(spec) "apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p6}\n" \
	"spec: " spec "\n"

static void expect_pool_error(const char *text, const char *want)
{
	struct resource r;
	char msg[1024];

	if (decode(text, &r, msg, sizeof(msg)) != -EINVAL || !strstr(msg, want))
		fail_msg("document:\n%s\nwanted an error containing: %s\ngot: %s",
			 text, want, msg);
}

static void test_pool_model(void **state)
{
	struct resource r;
	char msg[1024], *text;

	/* the v6 default block size is 122 (64 addresses, as v4's /26) */
	assert_int_equal(decode(POOL_DOC("{cidr: fd00:10::/48}"), &r, msg, sizeof(msg)), 0);
	assert_true(r.u.pool.v6);
	assert_int_equal(r.u.pool.block_size, 122);
	assert_int_equal(r.u.pool.cidr6.len, 48);
	assert_int_equal(r.u.pool.cidr.len, 0);
	text = res_to_text(&r);
	assert_string_equal(text, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPPool\","
			    "\"metadata\":{\"name\":\"p6\"},\"spec\":{\"cidr\":\"fd00:10::/48\","
			    "\"blockSize\":122,\"natOutgoing\":false,\"disabled\":false,"
			    "\"strictAffinity\":false}}");
	res_clear(&r);
	/* the stored text decodes to the same */
	assert_int_equal(res_from_text(RES_IPPOOL, text, 1, &r, NULL), 0);
	assert_true(r.u.pool.v6);
	assert_int_equal(r.u.pool.block_size, 122);
	res_clear(&r);
	free(text);
	/* canonical text (RFC 5952) whatever the input's spelling */
	assert_int_equal(decode(POOL_DOC("{cidr: \"FD00:0010:0:0::/64\", blockSize: 116}"),
				&r, msg, sizeof(msg)), 0);
	text = res_to_text(&r);
	assert_non_null(strstr(text, "\"cidr\":\"fd00:10::/64\",\"blockSize\":116"));
	free(text);
	res_clear(&r);
	/* a pool smaller than the default block is one block */
	assert_int_equal(decode(POOL_DOC("{cidr: \"fd00::100/124\"}"), &r, msg, sizeof(msg)), 0);
	assert_int_equal(r.u.pool.block_size, 124);
	res_clear(&r);
	assert_int_equal(decode(POOL_DOC("{cidr: \"fd00::/120\", blockSize: 128}"),
				&r, msg, sizeof(msg)), 0);
	res_clear(&r);
	/* v4 keeps its default and range */
	assert_int_equal(decode(POOL_DOC("{cidr: 10.9.0.0/16}"), &r, msg, sizeof(msg)), 0);
	assert_false(r.u.pool.v6);
	assert_int_equal(r.u.pool.block_size, 26);
	res_clear(&r);
	expect_pool_error(POOL_DOC("{cidr: 10.9.0.0/16, blockSize: 122}"),
			  "t.yaml:4:38: spec.blockSize: 122 is out of range (20..32)");

	expect_pool_error(POOL_DOC("{cidr: \"fd00:10::/48\", blockSize: 115}"),
			  "t.yaml:4:41: spec.blockSize: 115 is out of range (116..128)");
	expect_pool_error(POOL_DOC("{cidr: \"fd00:10::/48\", blockSize: 26}"),
			  "spec.blockSize: 26 is out of range (116..128)");
	expect_pool_error(POOL_DOC("{cidr: \"fd00:10::/48\", blockSize: 129}"),
			  "spec.blockSize: 129 is out of range (116..128)");
	expect_pool_error(POOL_DOC("{cidr: \"fd00::/124\", blockSize: 120}"),
			  "spec.blockSize: 120 is shorter than the pool's prefix length 124");
	expect_pool_error(POOL_DOC("{cidr: \"fd00:10::1/48\"}"),
			  "t.yaml:4:14: spec.cidr: host bits must be zero in CIDR "
			  "\"fd00:10::1/48\" (did you mean fd00:10::/48?)");
	expect_pool_error(POOL_DOC("{cidr: \"fd00::1::/48\"}"),
			  "spec.cidr: invalid CIDR \"fd00::1::/48\"");
	expect_pool_error(POOL_DOC("{cidr: \"fd00::/129\"}"),
			  "spec.cidr: invalid CIDR \"fd00::/129\"");
	expect_pool_error(POOL_DOC("{cidr: \"fd00::\"}"), "spec.cidr: invalid CIDR \"fd00::\"");
}

static void pool6(struct ippool *p, const char *name, const char *cidr, int bs)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->v6 = true;
	assert_int_equal(ip6_net_parse(cidr, &p->cidr6, false, false), 0);
	p->block_size = bs;
}

static void pool4(struct ippool *p, const char *name, const char *cidr, int bs)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	assert_int_equal(ip4_net_parse(cidr, &p->cidr, false, false), 0);
	p->block_size = bs;
}

static bool has(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

static void test_pool_create(void **state)
{
	struct fx *f = *state;
	struct errs e = ERRS_INIT;
	struct ippool p, *v;
	size_t n;

	pool6(&p, "v6a", "fd00:10::/48", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	pool4(&p, "v4a", "10.70.0.0/16", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	assert_int_equal(e.n, 0);
	/* overlap within the family, named */
	pool6(&p, "v6b", "fd00:10:0:5::/64", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), IPAM_EOVERLAP);
	assert_true(has(&e, "spec.cidr: fd00:10:0:5::/64 overlaps ippool v6a (fd00:10::/48)"));
	errs_clear(&e);
	pool6(&p, "v6b", "fd00::/8", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), IPAM_EOVERLAP);
	errs_clear(&e);
	/* next to it: fine; a v4 pool overlaps no v6 one (nor 0.0.0.0/0 a v6) */
	pool6(&p, "v6b", "fd00:11::/48", 128);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	pool4(&p, "v4all", "0.0.0.0/0", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), IPAM_EOVERLAP);
	assert_true(has(&e, "overlaps ippool v4a (10.70.0.0/16)"));
	assert_false(has(&e, "v6a"));
	errs_clear(&e);
	/* a name is one pool, whatever its family */
	pool4(&p, "v6a", "10.80.0.0/16", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EEXIST);
	errs_clear(&e);
	pool6(&p, "v4a", "fd00:12::/48", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EEXIST);
	errs_clear(&e);
	/* the library validates its input too */
	pool6(&p, "v6c", "fd00:13::/48", 115);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EINVAL);
	assert_true(has(&e, "spec.blockSize: 115 out of range 116..128 (IPv6)"));
	errs_clear(&e);
	pool6(&p, "v6c", "fd00::/124", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EINVAL);
	assert_true(has(&e, "spec.blockSize: 122 shorter than the CIDR's /124"));
	errs_clear(&e);
	pool6(&p, "v6c", "::/112", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EINVAL);
	assert_true(has(&e, "spec.cidr: ::/112 is in ::/16, not an IPv6 pool's range"));
	errs_clear(&e);
	pool6(&p, "v6c", "fd00:13::/48", 122);
	p.cidr6.addr.b[15] = 1;
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), -EINVAL);
	assert_true(has(&e, "host bits set"));
	errs_clear(&e);

	/* IPv4's consumers see IPv4's pools only */
	assert_int_equal(ipam_pools_list(f->ds, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "v4a");
	ippool_clear(&v[0]);
	free(v);

	/* deleted by name like any pool */
	assert_int_equal(ipam_pool_delete(f->ds, "v6b", 0), 0);
	assert_int_equal(ipam_pool_delete(f->ds, "v6b", 0), -ENOENT);
	pool6(&p, "v6b", "fd00:11::/48", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	assert_int_equal(e.n, 0);
}

/* An IPv4 workload's address never comes from (nor is refused for) a v6
 * pool: the v4 allocator does not see it, and its usage lists none. */
static void test_v4_unaffected(void **state)
{
	struct fx *f = *state;
	struct errs e = ERRS_INIT;
	struct ipam_usage *u;
	struct ippool p;
	uint32_t a;
	size_t n;

	pool6(&p, "v6a", "fd00:10::/48", 122);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	/* only a v6 pool: the v4 allocator has none */
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a, NULL), IPAM_ENOSPC);
	pool4(&p, "v4a", "10.70.0.0/24", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a, NULL), 0);
	assert_int_equal(a, 0x0a460000);
	assert_int_equal(ipam_usage(f->ds, &u, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(u[0].pool, "v4a");
	assert_int_equal(u[0].used, 1);
	free(u);
	assert_int_equal(ipam_release_handle(f->ds, "c1.eth0"), 0);
	/* a pool named by the assignment that is v6: not an IPv4 pool */
	struct ipam_pool_sel sel = { .pool = "v6a" };
	assert_int_not_equal(ipam_assign_in(f->ds, "n1", "c2.eth0", 0, &sel, &a, NULL), 0);
}

/* IPv6 blocks in the model: /116 (4096 addresses, as v4's /20) to /128,
 * Calico's names, the same allocations map; the fast peek (the allocator's
 * scan) agrees with the full decoder on them. */
static void block_round(const char *cidr, size_t size, const char *name,
			size_t nheld)
{
	struct ipamblock b, *d;
	struct resource r = { .kind = RES_IPAMBLOCK }, back;
	struct ip6_net c, c2;
	char nb[IPAMBLOCK_NAMELEN], aff[RES_NAME_MAX], key[RES_KEY_MAX];
	uint64_t used = 0;
	char *text;

	assert_int_equal(ip6_net_parse(cidr, &c, false, false), 0);
	assert_int_equal(ipamblock_init6(&b, &c), 0);
	assert_true(b.v6);
	assert_int_equal(ipamblock_size(&b), size);
	ipamblock_name6(&c, nb);
	assert_string_equal(nb, name);
	assert_int_equal(ipamblock_name6_parse(nb, &c2), 0);
	assert_int_equal(ip6_cmp(&c.addr, &c2.addr), 0);
	assert_int_equal(c.len, c2.len);
	snprintf(b.affinity, sizeof(b.affinity), "node-a");
	snprintf(b.pool, sizeof(b.pool), "p6");
	for (size_t i = 0; i < nheld; i++) {	/* first, last, spread */
		size_t slot = i == 0 ? 0 : i == 1 ? size - 1 : (i * 37) % size;
		char h[32];

		snprintf(h, sizeof(h), "c%zu.eth0", i);
		if (!b.handles[slot])
			assert_non_null(b.handles[slot] = strdup(h));
	}
	r.u.block = b;
	text = res_to_text(&r);
	assert_non_null(text);
	assert_int_equal(res_from_text(RES_IPAMBLOCK, text, 1, &back, NULL), 0);
	d = &back.u.block;
	assert_true(d->v6);
	assert_int_equal(ip6_cmp(&d->cidr6.addr, &c.addr), 0);
	assert_int_equal(ipamblock_size(d), size);
	assert_int_equal(ipamblock_used(d), ipamblock_used(&b));
	for (size_t i = 0; i < size; i++)
		assert_true(!d->handles[i] == !b.handles[i]);
	assert_int_equal(ipamblock_peek(text, aff, sizeof(aff), &used), 0);
	assert_string_equal(aff, "node-a");
	assert_int_equal(used, ipamblock_used(&b));
	assert_int_equal(res_key(RES_IPAMBLOCK, nb, key, sizeof(key)), 0);
	res_clear(&back);
	ipamblock_clear(&b);
	free(text);
}

static void test_block_model(void **state)
{
	struct resource r;
	struct ip6_net c;
	char msg[1024];

	block_round("fd00:10::1000/116", 4096, "fd00-10--1000-116", 300);
	block_round("fd00:10::40/122", 64, "fd00-10--40-122", 64);	/* full */
	block_round("fd00:10::7/128", 1, "fd00-10--7-128", 1);
	block_round("fd00:10:0:1:2:3:4:8/125", 8, "fd00-10-0-1-2-3-4-8-125", 3);
	/* a name is the canonical one only */
	const char *bad[] = { "fd00-10--40", "fd00-10--40-115", "fd00-10--41-122",
			      "fd00-0010--40-122", "fd00:10::40-122", "10.0.0.0-26",
			      "fd00-10--40-0122", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ipamblock_name6_parse(bad[i], &c) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMBlock\n"
				"metadata: {name: fd00-10--40-122}\n"
				"spec: {cidr: \"fd00:10::40/122\", allocations: {\"63\": c.eth0}}\n",
				&r, msg, sizeof(msg)), 0);
	assert_int_equal(ipamblock_used(&r.u.block), 1);
	assert_string_equal(r.u.block.handles[63], "c.eth0");
	res_clear(&r);
	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMBlock\n"
				"metadata: {name: fd00-10--40-122}\n"
				"spec: {cidr: \"fd00:10::40/122\", allocations: {\"64\": c.eth0}}\n",
				&r, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "t.yaml:4:47: spec.allocations.64: invalid ordinal \"64\" (0..63)"));
	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMBlock\n"
				"metadata: {name: fd00-10--100-115}\n"
				"spec: {cidr: \"fd00:10::/115\"}\n", &r, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "spec.cidr: an IPv6 block is /116 to /128, not /115"));
	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMBlock\n"
				"metadata: {name: fd00-10--80-122}\n"
				"spec: {cidr: \"fd00:10::40/122\"}\n", &r, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "\"fd00-10--80-122\" does not match spec.cidr "
			       "(expected \"fd00-10--40-122\")"));
}

/* A stored IPv6 block is invisible to IPv4's listings and checks (not an
 * unreadable key), so that the library can land before its allocator. */
static void test_block_v4_unaffected(void **state)
{
	struct fx *f = *state;
	struct errs e = ERRS_INIT;
	struct resource r = { .kind = RES_IPAMBLOCK };
	struct ipamblock *bl;
	struct ipam_leak *lk;
	struct ippool p;
	struct ip6_net c;
	char key[RES_KEY_MAX], nb[IPAMBLOCK_NAMELEN], *text;
	uint32_t a;
	size_t n;

	pool4(&p, "v4a", "10.70.0.0/24", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a, NULL), 0);
	assert_int_equal(ip6_net_parse("fd00:10::40/122", &c, false, false), 0);
	assert_int_equal(ipamblock_init6(&r.u.block, &c), 0);
	snprintf(r.u.block.affinity, sizeof(r.u.block.affinity), "n1");
	assert_non_null(r.u.block.handles[1] = strdup("c9.eth0"));
	ipamblock_name6(&c, nb);
	assert_int_equal(res_key(RES_IPAMBLOCK, nb, key, sizeof(key)), 0);
	text = res_to_text(&r);
	assert_int_equal(ds_create(f->ds, key, text, NULL), 0);
	free(text);
	res_clear(&r);

	assert_int_equal(ipam_blocks_list(f->ds, NULL, &bl, &n), 0);
	assert_int_equal(n, 1);
	assert_false(bl[0].v6);
	assert_int_equal(bl[0].cidr.addr, 0x0a460000);
	ipam_blocks_free(bl, n);
	/* no leak reported for the v4 handle, the check not failed by v6 */
	assert_int_equal(ipam_check(f->ds, &lk, &n), 0);
	assert_int_equal(n, 1);		/* c1.eth0: no WorkloadEndpoint */
	assert_int_equal(lk[0].addr, 0x0a460000);
	free(lk);
	assert_int_equal(ipam_release_handle(f->ds, "c1.eth0"), 0);
	assert_int_equal(ipam_assign(f->ds, "n1", "c2.eth0", 0, &a, NULL), 0);
	assert_int_equal(a, 0x0a460000);
}

/* A handle holds addresses of both families (one of each for a
 * dual-stack workload); IPv4's readers see its IPv4 ones as before. */
static void test_handle_both(void **state)
{
	struct resource r;
	char msg[1024], *text;

	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMHandle\n"
				"metadata: {name: c1.eth0}\n"
				"spec: {addresses: [\"FD00:10::0040\", 10.70.0.5], created: 7}\n",
				&r, msg, sizeof(msg)), 0);
	assert_int_equal(r.u.handle.n, 1);
	assert_int_equal(r.u.handle.addrs[0], 0x0a460005);
	assert_int_equal(r.u.handle.n6, 1);
	text = res_to_text(&r);
	/* v4 first, then v6 in canonical text */
	assert_non_null(strstr(text, "\"addresses\":[\"10.70.0.5\",\"fd00:10::40\"]"));
	res_clear(&r);
	assert_int_equal(res_from_text(RES_IPAMHANDLE, text, 1, &r, NULL), 0);
	assert_int_equal(r.u.handle.n, 1);
	assert_int_equal(r.u.handle.n6, 1);
	res_clear(&r);
	free(text);
	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMHandle\n"
				"metadata: {name: c1.eth0}\n"
				"spec: {addresses: [\"fd00::1\", \"fd00:0::1\"]}\n",
				&r, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "spec.addresses[1]: duplicate address \"fd00:0::1\""));
	assert_int_equal(decode("apiVersion: petrel/v1\nkind: IPAMHandle\n"
				"metadata: {name: c1.eth0}\n"
				"spec: {addresses: [\"fd00::1::2\"]}\n", &r, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "spec.addresses[0]: invalid IP address \"fd00::1::2\""));
}

/* The IPv4 allocator, given a handle that holds an IPv6 address only,
 * neither clears it as empty nor adds to it (that is the dual-stack slice):
 * -EEXIST, the record untouched. */
static void test_handle_v6_only(void **state)
{
	struct fx *f = *state;
	struct errs e = ERRS_INIT;
	struct ippool p;
	struct ds_kv kv = { 0 }, kv2 = { 0 };
	char key[RES_KEY_MAX];
	uint32_t a;

	pool4(&p, "v4a", "10.70.0.0/24", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	assert_int_equal(res_key(RES_IPAMHANDLE, "c1.eth0", key, sizeof(key)), 0);
	assert_int_equal(ds_create(f->ds, key, "{\"apiVersion\":\"petrel/v1\",\"kind\":"
				   "\"IPAMHandle\",\"metadata\":{\"name\":\"c1.eth0\"},"
				   "\"spec\":{\"addresses\":[\"fd00:10::40\"],\"created\":1}}",
				   NULL), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), 0);
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a, NULL), -EEXIST);
	assert_int_equal(ds_get(f->ds, key, &kv2), 0);
	assert_int_equal(kv.mod_rev, kv2.mod_rev);
	ds_kv_clear(&kv);
	ds_kv_clear(&kv2);
	/* another handle is served as before */
	assert_int_equal(ipam_assign(f->ds, "n1", "c2.eth0", 0, &a, NULL), 0);
}

/* ---- the IPv6 allocator (ipam6.c) ---- */

static struct ip6 A6(const char *s)
{
	struct ip6 a;

	assert_int_equal(ip6_parse(s, &a), 0);
	return a;
}

static const char *S6(const struct ip6 *a)
{
	static char buf[4][IP6_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return ip6_fmt(a, buf[i]);
}

static void mkpool6(struct ds *ds, const char *name, const char *cidr, int bs,
		    bool strict)
{
	struct errs e = ERRS_INIT;
	struct ippool p;

	pool6(&p, name, cidr, bs);
	p.strict_affinity = strict;
	assert_int_equal(ipam_pool_create(ds, &p, &e), 0);
}

/* The IPv6 blocks in the store (node NULL: all), and every block slot's
 * handle lists that address and every handle's v6 address is in its
 * block under that handle. */
static size_t blocks6(struct ds *ds, const char *node)
{
	struct ds_kv *kv = NULL, *hkv = NULL;
	char prefix[RES_KEY_MAX], hpre[RES_KEY_MAX];
	size_t n = 0, nh = 0, count = 0, held = 0, listed = 0;

	assert_int_equal(res_prefix(RES_IPAMBLOCK, NULL, prefix, sizeof(prefix)), 0);
	assert_int_equal(res_prefix(RES_IPAMHANDLE, NULL, hpre, sizeof(hpre)), 0);
	assert_int_equal(ds_list(ds, prefix, &kv, &n, NULL), 0);
	assert_int_equal(ds_list(ds, hpre, &hkv, &nh, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		struct resource r;

		assert_int_equal(res_from_text(RES_IPAMBLOCK, kv[i].value, 1, &r, NULL), 0);
		if (!r.u.block.v6) {
			res_clear(&r);
			continue;
		}
		if (!node || !strcmp(r.u.block.affinity, node))
			count++;
		for (size_t k = 0; k < ipamblock_size(&r.u.block); k++) {
			struct ip6 a;
			bool found = false;

			if (!r.u.block.handles[k])
				continue;
			held++;
			assert_int_equal(ip6_add(&r.u.block.cidr6.addr, k, &a), 0);
			for (size_t j = 0; j < nh && !found; j++) {
				struct resource h;

				assert_int_equal(res_from_text(RES_IPAMHANDLE, hkv[j].value, 1,
							       &h, NULL), 0);
				if (!strcmp(h.u.handle.id, r.u.block.handles[k]))
					for (size_t m = 0; m < h.u.handle.n6; m++)
						found |= !ip6_cmp(&h.u.handle.addrs6[m], &a);
				res_clear(&h);
			}
			if (!found)
				fail_msg("%s held by %s, not in its handle", S6(&a),
					 r.u.block.handles[k]);
		}
		res_clear(&r);
	}
	for (size_t j = 0; j < nh; j++) {
		struct resource h;

		assert_int_equal(res_from_text(RES_IPAMHANDLE, hkv[j].value, 1, &h, NULL), 0);
		listed += h.u.handle.n6;
		res_clear(&h);
	}
	assert_int_equal(listed, held);
	ds_kvs_free(kv, n);
	ds_kvs_free(hkv, nh);
	return count;
}

static struct ip6 take6(struct ds *ds, const char *node, const char *h, int *borrowed)
{
	struct ip6 a;
	int rc = ipam_assign6(ds, node, h, NULL, NULL, &a, borrowed);

	if (rc)
		fail_msg("assign6 %s/%s: %d (%s)", node, h, rc, ipam_strerror(rc));
	return a;
}

static void test_assign6_full(void **state)
{
	struct fx *f = *state;
	struct ip6 a, w, base;
	char h[16];
	int borrowed = 9;

	mkpool6(f->ds, "p6", "fd00:10::/124", 124, false);
	for (int i = 0; i < 16; i++) {
		snprintf(h, sizeof(h), "h%d", i);
		a = take6(f->ds, "n1", h, &borrowed);
		base = A6("fd00:10::");
		assert_int_equal(ip6_add(&base, (uint64_t)i, &w), 0);
		assert_int_equal(ip6_cmp(&a, &w), 0);
		assert_int_equal(borrowed, 0);
	}
	assert_int_equal(ipam_assign6(f->ds, "n1", "h16", NULL, NULL, &a, NULL), IPAM_ENOSPC);
	/* idempotent: a handle gets what it holds */
	a = take6(f->ds, "n1", "h3", NULL);
	assert_string_equal(S6(&a), "fd00:10::3");
	w = A6("fd00:10::4");
	assert_int_equal(ipam_assign6(f->ds, "n1", "h3", &w, NULL, &a, NULL), -EEXIST);
	assert_int_equal(ipam_assign6(f->ds, "n1", "h99", &w, NULL, &a, NULL), IPAM_EINUSE);
	w = A6("fd00:11::1");
	assert_int_equal(ipam_assign6(f->ds, "n1", "h99", &w, NULL, &a, NULL), IPAM_ENOPOOL);
	assert_int_equal(blocks6(f->ds, "n1"), 1);
	/* release: the address comes back, the lowest first */
	assert_int_equal(ipam_release_handle6(f->ds, "h5"), 0);
	assert_int_equal(ipam_release_handle6(f->ds, "h5"), 0);
	assert_int_equal(ipam_release_handle(f->ds, "h7"), 0);	/* either call */
	a = take6(f->ds, "n1", "h20", NULL);
	assert_string_equal(S6(&a), "fd00:10::5");
	w = A6("fd00:10::7");
	assert_int_equal(ipam_assign6(f->ds, "n1", "h21", &w, NULL, &a, NULL), 0);
	assert_string_equal(S6(&a), "fd00:10::7");
	assert_int_equal(blocks6(f->ds, NULL), 1);
	/* one address, whatever its handle: the handle loses it too */
	w = A6("fd00:10::9");
	assert_int_equal(ipam_release_addr6(f->ds, &w), 0);
	assert_int_equal(ipam_release_addr6(f->ds, &w), -ENOENT);
	w = A6("fd00:99::9");
	assert_int_equal(ipam_release_addr6(f->ds, &w), -ENOENT);
	assert_int_equal(blocks6(f->ds, NULL), 1);	/* h9's record gone */
	a = take6(f->ds, "n1", "h9", NULL);
	assert_string_equal(S6(&a), "fd00:10::9");
	/* a pool in use is not deleted */
	assert_int_equal(ipam_pool_delete(f->ds, "p6", 0), IPAM_EPOOLUSED);
}

/* /128 blocks: one address each, a block per workload, gone when freed. */
static void test_assign6_128(void **state)
{
	struct fx *f = *state;
	struct ip6 a;

	mkpool6(f->ds, "p6", "fd00:20::/126", 128, false);
	a = take6(f->ds, "n1", "h0", NULL);
	assert_string_equal(S6(&a), "fd00:20::");
	a = take6(f->ds, "n1", "h1", NULL);
	assert_string_equal(S6(&a), "fd00:20::1");
	a = take6(f->ds, "n2", "h2", NULL);
	assert_string_equal(S6(&a), "fd00:20::2");
	a = take6(f->ds, "n1", "h3", NULL);
	assert_string_equal(S6(&a), "fd00:20::3");
	assert_int_equal(blocks6(f->ds, "n1"), 3);
	assert_int_equal(blocks6(f->ds, "n2"), 1);
	assert_int_equal(ipam_assign6(f->ds, "n1", "h4", NULL, NULL, &a, NULL), IPAM_ENOSPC);
	assert_int_equal(ipam_release_handle6(f->ds, "h2"), 0);
	assert_int_equal(blocks6(f->ds, NULL), 3);	/* empty: deleted */
	a = take6(f->ds, "n1", "h4", NULL);
	assert_string_equal(S6(&a), "fd00:20::2");
	assert_int_equal(blocks6(f->ds, "n1"), 4);
}

/* Borrowing across nodes, and strictAffinity forbidding it. */
static void test_borrow6(void **state)
{
	struct fx *f = *state;
	struct ip6 a, w;
	int borrowed = 0;

	mkpool6(f->ds, "loose", "fd00:30::/124", 124, false);
	a = take6(f->ds, "n1", "h1", &borrowed);
	assert_string_equal(S6(&a), "fd00:30::");
	assert_int_equal(borrowed, 0);
	a = take6(f->ds, "n2", "h2", &borrowed);	/* the pool's one block is n1's */
	assert_string_equal(S6(&a), "fd00:30::1");
	assert_int_equal(borrowed, 1);
	assert_int_equal(blocks6(f->ds, "n1"), 1);
	assert_int_equal(blocks6(f->ds, "n2"), 0);
	/* the idempotent answer is the same */
	a = take6(f->ds, "n2", "h2", NULL);
	assert_string_equal(S6(&a), "fd00:30::1");

	mkpool6(f->ds, "strict", "fd00:31::/124", 124, true);
	struct ipam_pool_sel sel = { .pool = "strict" };
	assert_int_equal(ipam_assign6(f->ds, "n1", "h3", NULL, &sel, &a, &borrowed), 0);
	assert_string_equal(S6(&a), "fd00:31::");
	assert_int_equal(ipam_assign6(f->ds, "n2", "h4", NULL, &sel, &a, NULL), IPAM_ENOSPC);
	w = A6("fd00:31::9");
	assert_int_equal(ipam_assign6(f->ds, "n2", "h4", &w, &sel, &a, NULL), IPAM_EAFFINITY);
	/* only the pool asked for */
	w = A6("fd00:30::9");
	assert_int_equal(ipam_assign6(f->ds, "n2", "h4", &w, &sel, &a, NULL), IPAM_ENOTALLOWED);
	assert_int_equal(ipam_release_handle(f->ds, "h2"), 0);
	blocks6(f->ds, NULL);
}

/* One handle, both families: IPv4's allocator creates it, IPv6's adds to
 * it; each gets its own back; release takes both, in either API. */
static void test_dual_handle(void **state)
{
	struct fx *f = *state;
	struct errs e = ERRS_INIT;
	struct ippool p;
	struct ds_kv kv = { 0 };
	struct resource r;
	char key[RES_KEY_MAX];
	struct ip6 a6;
	uint32_t a4;

	pool4(&p, "v4", "10.70.0.0/24", 26);
	assert_int_equal(ipam_pool_create(f->ds, &p, &e), 0);
	mkpool6(f->ds, "v6", "fd00:10::/120", 122, false);
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a4, NULL), 0);
	a6 = take6(f->ds, "n1", "c1.eth0", NULL);
	assert_string_equal(S6(&a6), "fd00:10::");
	assert_int_equal(res_key(RES_IPAMHANDLE, "c1.eth0", key, sizeof(key)), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), 0);
	assert_non_null(strstr(kv.value, "\"addresses\":[\"10.70.0.0\",\"fd00:10::\"]"));
	ds_kv_clear(&kv);
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a4, NULL), 0);
	assert_int_equal(a4, 0x0a460000);
	a6 = take6(f->ds, "n1", "c1.eth0", NULL);
	assert_string_equal(S6(&a6), "fd00:10::");
	/* and IPv6's keeps the IPv4 one */
	assert_int_equal(ipam_release_addr6(f->ds, &a6), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), 0);
	assert_non_null(strstr(kv.value, "\"addresses\":[\"10.70.0.0\"]"));
	ds_kv_clear(&kv);
	a6 = take6(f->ds, "n1", "c1.eth0", NULL);
	assert_string_equal(S6(&a6), "fd00:10::");
	/* IPv4's release of one address keeps the IPv6 one */
	assert_int_equal(ipam_release_addr(f->ds, a4), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), 0);
	assert_int_equal(res_from_text(RES_IPAMHANDLE, kv.value, 1, &r, NULL), 0);
	assert_int_equal(r.u.handle.n, 0);
	assert_int_equal(r.u.handle.n6, 1);
	res_clear(&r);
	ds_kv_clear(&kv);
	/* the v4 allocator leaves a v6-only handle alone */
	assert_int_equal(ipam_assign(f->ds, "n1", "c1.eth0", 0, &a4, NULL), -EEXIST);
	assert_int_equal(ipam_release_handle(f->ds, "c1.eth0"), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), -ENOENT);
	assert_int_equal(blocks6(f->ds, NULL), 0);

	/* both again, released through the IPv4 call: both freed */
	assert_int_equal(ipam_assign(f->ds, "n1", "c2.eth0", 0, &a4, NULL), 0);
	a6 = take6(f->ds, "n1", "c2.eth0", NULL);
	assert_int_equal(ipam_release_handle(f->ds, "c2.eth0"), 0);
	assert_int_equal(res_key(RES_IPAMHANDLE, "c2.eth0", key, sizeof(key)), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), -ENOENT);
	assert_int_equal(blocks6(f->ds, NULL), 0);
	assert_int_equal(ipam_assign(f->ds, "n1", "c3.eth0", 0, &a4, NULL), 0);
	assert_int_equal(a4, 0x0a460000);	/* v4 freed too */
	/* IPv6's release of a dual handle keeps its IPv4 */
	a6 = take6(f->ds, "n1", "c3.eth0", NULL);
	assert_int_equal(ipam_release_handle6(f->ds, "c3.eth0"), 0);
	assert_int_equal(res_key(RES_IPAMHANDLE, "c3.eth0", key, sizeof(key)), 0);
	assert_int_equal(ds_get(f->ds, key, &kv), 0);
	assert_non_null(strstr(kv.value, "\"addresses\":[\"10.70.0.0\"]"));
	ds_kv_clear(&kv);
	assert_int_equal(ipam_pool_delete(f->ds, "v6", 0), 0);
}

/* Allocators in 6 processes at once, two nodes: no address twice, every
 * record consistent after. */
static void test_concurrent6(void **state)
{
	struct fx *f = *state;
	enum { PROCS = 6, EACH = 8 };
	pid_t pid[PROCS];
	struct ds_kv *kv = NULL;
	char hpre[RES_KEY_MAX];
	size_t n = 0;

	mkpool6(f->ds, "p6", "fd00:40::/120", 124, false);
	ds_close(f->ds);	/* not shared across fork */
	f->ds = NULL;
	for (int k = 0; k < PROCS; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			struct ds *ds;
			int bad = 0;

			if (ds_open(f->url, &ds) < 0)
				_exit(2);
			for (int i = 0; i < EACH; i++) {
				char h[32];
				struct ip6 a;

				snprintf(h, sizeof(h), "p%d-%d", k, i);
				bad |= ipam_assign6(ds, k % 2 ? "n1" : "n2", h, NULL, NULL,
						    &a, NULL) != 0;
			}
			ds_close(ds);
			_exit(bad);
		}
	}
	for (int k = 0; k < PROCS; k++) {
		int st;

		assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	assert_int_equal(ds_open(f->url, &f->ds), 0);
	assert_int_equal(res_prefix(RES_IPAMHANDLE, NULL, hpre, sizeof(hpre)), 0);
	assert_int_equal(ds_list(f->ds, hpre, &kv, &n, NULL), 0);
	assert_int_equal(n, PROCS * EACH);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			struct resource a, b;

			assert_int_equal(res_from_text(RES_IPAMHANDLE, kv[i].value, 1, &a, NULL), 0);
			assert_int_equal(res_from_text(RES_IPAMHANDLE, kv[j].value, 1, &b, NULL), 0);
			assert_int_equal(a.u.handle.n6, 1);
			assert_int_not_equal(ip6_cmp(&a.u.handle.addrs6[0], &b.u.handle.addrs6[0]), 0);
			res_clear(&a);
			res_clear(&b);
		}
	ds_kvs_free(kv, n);
	/* 48 addresses of /124 blocks (16 each): at least 3 blocks */
	assert_true(blocks6(f->ds, NULL) >= 3);
}

/* Leaks and usage of IPv6: a handle of no WorkloadEndpoint is a leak. */
static void test_check_usage6(void **state)
{
	struct fx *f = *state;
	struct ipam_leak6 *l = NULL;
	struct ipam_usage6 *u = NULL;
	struct resource r;
	char key[RES_KEY_MAX], *text;
	struct ip6 a;
	size_t n = 9;

	mkpool6(f->ds, "p6", "fd00:10::/120", 122, false);
	mkpool6(f->ds, "wide", "fd00:20::/48", 122, false);
	assert_int_equal(ipam_check6(f->ds, &l, &n), 0);
	assert_int_equal(n, 0);
	free(l);
	a = take6(f->ds, "node-a", "c1.eth0", NULL);
	a = take6(f->ds, "node-a", "c2.eth0", NULL);
	assert_string_equal(S6(&a), "fd00:10::1");
	memset(&r, 0, sizeof(r));
	r.kind = RES_WEP;
	snprintf(r.u.wep.node, sizeof(r.u.wep.node), "node-a");
	snprintf(r.u.wep.name, sizeof(r.u.wep.name), "w1");
	r.u.wep.mode = WEP_ROUTED;
	snprintf(r.u.wep.netns, sizeof(r.u.wep.netns), "/run/netns/w1");
	ifname_for_workload("node-a", "w1", r.u.wep.ifname);
	snprintf(r.u.wep.wl_ifname, sizeof(r.u.wep.wl_ifname), "eth0");
	r.u.wep.n_nets = 1;
	r.u.wep.nets[0].addr = 0x0a460001;
	r.u.wep.nets[0].len = 32;
	memcpy(r.u.wep.mac, "\xee\xee\xee\xee\xee\x01", 6);
	r.u.wep.has_mac = true;
	snprintf(r.u.wep.container_id, sizeof(r.u.wep.container_id), "c1");
	assert_int_equal(res_key(RES_WEP, "node-a/w1", key, sizeof(key)), 0);
	assert_non_null(text = res_to_text(&r));
	assert_int_equal(ds_create(f->ds, key, text, NULL), 0);
	free(text);
	assert_int_equal(ipam_check6(f->ds, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].handle, "c2.eth0");
	assert_string_equal(S6(&l[0].addr), "fd00:10::1");
	assert_true(l[0].age >= 0);
	free(l);
	assert_int_equal(ipam_usage6(f->ds, &u, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(u[0].pool, "p6");
	assert_int_equal(u[0].size, 256);
	assert_int_equal(u[0].used, 2);
	assert_int_equal(u[0].blocks, 1);
	assert_string_equal(u[1].pool, "wide");
	assert_int_equal(u[1].size, UINT64_MAX);
	assert_int_equal(u[1].used, 0);
	free(u);
	/* released: no leak left */
	assert_int_equal(ipam_release_handle(f->ds, "c2.eth0"), 0);
	assert_int_equal(ipam_check6(f->ds, &l, &n), 0);
	assert_int_equal(n, 0);
	free(l);
}

static void test_refusal_line(void **state)
{
	char buf[256];

	ippool_v6_refusal("p6", buf, sizeof(buf));
	assert_non_null(strstr(buf, "IPv6 pools are not routed yet: p6 is IPv6"));
	assert_null(strchr(buf, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_model),
		cmocka_unit_test_setup_teardown(test_pool_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v4_unaffected, setup, teardown),
		cmocka_unit_test(test_block_model),
		cmocka_unit_test_setup_teardown(test_block_v4_unaffected, setup, teardown),
		cmocka_unit_test(test_handle_both),
		cmocka_unit_test_setup_teardown(test_handle_v6_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign6_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assign6_128, setup, teardown),
		cmocka_unit_test_setup_teardown(test_borrow6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dual_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_usage6, setup, teardown),
		cmocka_unit_test(test_refusal_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
