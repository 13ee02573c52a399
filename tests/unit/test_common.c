/*
 * Unit tests of the small common pieces: IPv4 prefixes, SHA-1, the
 * interface-name hash, the error list.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/errs.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/sha1.h"

static void test_ip4_parse(void **state)
{
	uint32_t a;
	char buf[IP4_STRLEN];

	assert_int_equal(ip4_parse("10.65.0.1", &a), 0);
	assert_int_equal(a, 0x0a410001);
	assert_string_equal(ip4_fmt(a, buf), "10.65.0.1");
	assert_int_equal(ip4_parse("255.255.255.255", &a), 0);
	assert_int_equal(a, 0xffffffff);
	assert_int_equal(ip4_parse("0.0.0.0", &a), 0);
	assert_int_equal(a, 0);
	const char *bad[] = { "", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1",
			      "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
			      "1.2.3.-4", "1.2.3.4/24", "a.b.c.d", "1.2.3.1000" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ip4_parse(bad[i], &a), -EINVAL);
	assert_int_equal(ip4_parse(NULL, &a), -EINVAL);
}

static void test_ip4_net(void **state)
{
	struct ip4_net n, m;
	char buf[IP4_NETSTRLEN];

	assert_int_equal(ip4_net_parse("10.65.0.0/16", &n, false, false), 0);
	assert_int_equal(n.addr, 0x0a410000);
	assert_int_equal(n.len, 16);
	assert_string_equal(ip4_net_fmt(&n, buf), "10.65.0.0/16");
	assert_int_equal(ip4_net_size(&n), 65536);
	/* host bits */
	assert_int_equal(ip4_net_parse("10.65.0.1/16", &n, false, false), -EINVAL);
	assert_int_equal(ip4_net_parse("10.65.0.1/16", &n, false, true), 0);
	assert_int_equal(n.addr, 0x0a410001);
	/* bare */
	assert_int_equal(ip4_net_parse("10.65.0.1", &n, false, false), -EINVAL);
	assert_int_equal(ip4_net_parse("10.65.0.1", &n, true, false), 0);
	assert_int_equal(n.len, 32);
	const char *bad[] = { "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
			      "10.0.0.0/08", "10.0.0.0/8x", "/8", "10.0.0.0/8/8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ip4_net_parse(bad[i], &n, true, true), -EINVAL);
	assert_int_equal(ip4_net_parse("0.0.0.0/0", &n, false, false), 0);
	assert_int_equal(ip4_net_size(&n), (uint64_t)1 << 32);

	assert_int_equal(ip4_net_parse("10.65.0.64/26", &n, false, false), 0);
	assert_true(ip4_net_contains(&n, 0x0a410040));
	assert_true(ip4_net_contains(&n, 0x0a41007f));
	assert_false(ip4_net_contains(&n, 0x0a410080));
	assert_false(ip4_net_contains(&n, 0x0a41003f));
	assert_int_equal(ip4_net_parse("10.65.0.0/16", &m, false, false), 0);
	assert_true(ip4_net_within(&n, &m));
	assert_false(ip4_net_within(&m, &n));
	assert_true(ip4_net_overlaps(&n, &m));
	assert_true(ip4_net_overlaps(&m, &n));
	assert_int_equal(ip4_net_parse("10.66.0.0/16", &m, false, false), 0);
	assert_false(ip4_net_overlaps(&n, &m));
	assert_int_equal(ip4_mask(0), 0);
	assert_int_equal(ip4_mask(32), 0xffffffff);
	assert_int_equal(ip4_mask(26), 0xffffffc0);
}

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_vectors(void **state)
{
	/* FIPS 180 examples, plus lengths around the padding boundary. */
	static const struct { const char *in; const char *out; } v[] = {
		{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
		{ "The quick brown fox jumps over the lazy dog",
		  "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12" },
	};
	uint8_t h[20];
	char s[41];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sha1(v[i].in, strlen(v[i].in), h);
		hex(h, 20, s);
		assert_string_equal(s, v[i].out);
	}
	/* A million 'a': crosses many blocks. */
	static char mil[1000000];
	memset(mil, 'a', sizeof(mil));
	sha1(mil, sizeof(mil), h);
	hex(h, 20, s);
	assert_string_equal(s, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_ifname(void **state)
{
	char a[16], b[16], c[16];
	uint8_t h[20];
	char hx[41];

	ifname_for_workload("node1", "web", a);
	assert_int_equal(strlen(a), IFNAME_LEN);
	assert_memory_equal(a, IFNAME_PREFIX, strlen(IFNAME_PREFIX));
	/* The digits are SHA-1("node1/web")'s first ones. */
	sha1("node1/web", 9, h);
	hex(h, 20, hx);
	assert_memory_equal(a + strlen(IFNAME_PREFIX), hx, IFNAME_LEN - strlen(IFNAME_PREFIX));
	/* Stable, and different per node and per name. */
	ifname_for_workload("node1", "web", b);
	assert_string_equal(a, b);
	ifname_for_workload("node2", "web", c);
	assert_string_not_equal(a, c);
	ifname_for_workload("node1", "web2", c);
	assert_string_not_equal(a, c);
	assert_true(ifname_is_ours(a));
	assert_true(ifname_valid(a));
	assert_false(ifname_is_ours("eth0"));
	assert_false(ifname_is_ours("ptl123"));
	assert_false(ifname_is_ours("ptl0123456789aG"));
	assert_false(ifname_is_ours("cali0123456789a"));
	assert_true(ifname_valid("eth0"));
	assert_false(ifname_valid(""));
	assert_false(ifname_valid("a/b"));
	assert_false(ifname_valid("a b"));
	assert_false(ifname_valid("eth0:1"));
	assert_false(ifname_valid("0123456789abcdef"));
	assert_false(ifname_valid(".."));
}

static void test_errs(void **state)
{
	struct errs e = ERRS_INIT;

	errs_addpos(&e, "f.yaml", 3, 7, "spec.cidr: invalid CIDR \"%s\"", "x");
	errs_addpos(&e, "f.yaml", 0, 0, "empty");
	errs_add(&e, "plain %d", 1);
	assert_int_equal(e.n, 3);
	assert_string_equal(e.msg[0], "f.yaml:3:7: spec.cidr: invalid CIDR \"x\"");
	assert_string_equal(e.msg[1], "f.yaml: empty");
	assert_string_equal(e.msg[2], "plain 1");
	errs_clear(&e);
	assert_int_equal(e.n, 0);
	errs_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip4_parse),
		cmocka_unit_test(test_ip4_net),
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_ifname),
		cmocka_unit_test(test_errs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
