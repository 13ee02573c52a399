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
#include <unistd.h>

#include <cmocka.h>

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
		cmocka_unit_test(test_refusal_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
