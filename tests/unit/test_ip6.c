/*
 * Unit tests of common/ip6: strict parsing, RFC 5952 canonical text,
 * prefix arithmetic (the block math IPAM does at /116 and /128), checked
 * against the C library's inet_pton/inet_ntop where both have an answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/ip6.h"

static void roundtrip(const char *in, const char *canon)
{
	struct ip6 a, b;
	unsigned char ref[16];
	char buf[IP6_STRLEN];

	if (ip6_parse(in, &a) != 0)
		fail_msg("\"%s\" refused", in);
	assert_int_equal(inet_pton(AF_INET6, in, ref), 1);
	assert_memory_equal(a.b, ref, 16);
	assert_string_equal(ip6_fmt(&a, buf), canon);
	assert_int_equal(ip6_parse(buf, &b), 0);
	assert_int_equal(ip6_cmp(&a, &b), 0);
}

static void test_ip6_parse_fmt(void **state)
{
	/* RFC 5952 section 4: one canonical text per address */
	roundtrip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	roundtrip("2001:0db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	roundtrip("2001:DB8::1", "2001:db8::1");
	roundtrip("2001:db8::0:1", "2001:db8::1");
	roundtrip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* 4.2.2: no :: for one group */
	roundtrip("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");	/* 4.2.3: the longest run */
	roundtrip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"); /* the first of equal runs */
	roundtrip("::", "::");
	roundtrip("::1", "::1");
	roundtrip("1::", "1::");
	roundtrip("0:0:0:0:0:0:0:0", "::");
	roundtrip("fd00:10::", "fd00:10::");
	roundtrip("fe80::ecee:eeff:feee:eeee", "fe80::ecee:eeff:feee:eeee");
	roundtrip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	roundtrip("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0");
	roundtrip("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8");
	roundtrip("1:0:0:2:0:0:0:3", "1:0:0:2::3");

	const char *bad[] = { "", ":", ":::", "1", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
			      "1::2::3", "1:::2", ":1::2", "1::2:", "12345::", "g::",
			      "::ffff:1.2.3.4", "fe80::1%eth0", " ::1", "::1 ",
			      "1:2:3:4::5:6:7:8", "::/64", "1.2.3.4", "-1::" };
	struct ip6 a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ip6_parse(bad[i], &a) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(ip6_parse(NULL, &a), -EINVAL);
}

static void test_ip6_net(void **state)
{
	struct ip6_net n, m;
	char buf[IP6_NETSTRLEN];

	assert_int_equal(ip6_net_parse("fd00:10::/48", &n, false, false), 0);
	assert_int_equal(n.len, 48);
	assert_string_equal(ip6_net_fmt(&n, buf), "fd00:10::/48");
	assert_int_equal(ip6_net_size(&n), UINT64_MAX);	/* saturated */
	assert_int_equal(ip6_net_parse("fd00:10::1/48", &n, false, false), -EINVAL);
	assert_int_equal(ip6_net_parse("fd00:10::1/48", &n, false, true), 0);
	assert_string_equal(ip6_net_fmt(&n, buf), "fd00:10::1/48");
	assert_int_equal(ip6_net_parse("fd00::1", &n, false, false), -EINVAL);
	assert_int_equal(ip6_net_parse("fd00::1", &n, true, false), 0);
	assert_int_equal(n.len, 128);
	assert_int_equal(ip6_net_parse("::/0", &n, false, false), 0);
	assert_int_equal(n.len, 0);
	const char *bad[] = { "fd00::/129", "fd00::/", "fd00::/-1", "fd00::/048",
			      "fd00::/48x", "/48", "fd00::/48/48", "fd00::/1000" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ip6_net_parse(bad[i], &n, true, true) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i]);

	/* /116 and /128: the largest and the smallest IPAM block */
	assert_int_equal(ip6_net_parse("fd00:10::1000/116", &n, false, false), 0);
	assert_int_equal(ip6_net_size(&n), 4096);
	assert_int_equal(ip6_net_parse("fd00:10::1fff/128", &m, false, false), 0);
	assert_int_equal(ip6_net_size(&m), 1);
	assert_true(ip6_net_within(&m, &n));
	assert_false(ip6_net_within(&n, &m));
	assert_true(ip6_net_overlaps(&n, &m));
	assert_true(ip6_net_contains(&n, &m.addr));
	assert_int_equal(ip6_net_parse("fd00:10::2000/128", &m, false, false), 0);
	assert_false(ip6_net_contains(&n, &m.addr));
	assert_false(ip6_net_overlaps(&n, &m));
	assert_int_equal(ip6_net_parse("fd00:10::1000/122", &m, false, false), 0);
	assert_int_equal(ip6_net_size(&m), 64);
	assert_true(ip6_net_within(&m, &n));
	/* a host bit at every position is cleared by its mask */
	for (unsigned len = 0; len <= 128; len++) {
		struct ip6 all, k;

		memset(all.b, 0xff, 16);
		k = ip6_masked(&all, (uint8_t)len);
		for (unsigned bit = 0; bit < 128; bit++)
			assert_int_equal(!!(k.b[bit / 8] & (0x80 >> (bit % 8))), bit < len);
	}
}

static void test_ip6_offsets(void **state)
{
	struct ip6_net n;
	struct ip6 a, b;
	uint64_t off;
	char buf[IP6_STRLEN];

	assert_int_equal(ip6_net_parse("fd00:10::ffc0/122", &n, false, false), 0);
	assert_int_equal(ip6_add(&n.addr, 63, &a), 0);
	assert_string_equal(ip6_fmt(&a, buf), "fd00:10::ffff");
	assert_int_equal(ip6_net_offset(&n, &a, &off), 0);
	assert_int_equal(off, 63);
	assert_int_equal(ip6_add(&n.addr, 64, &a), 0);
	assert_string_equal(ip6_fmt(&a, buf), "fd00:10::1:0");
	assert_int_equal(ip6_net_offset(&n, &a, &off), -ERANGE);
	/* a carry into the upper 64 bits */
	assert_int_equal(ip6_parse("fd00:10:0:0:ffff:ffff:ffff:ffff", &a), 0);
	assert_int_equal(ip6_add(&a, 1, &b), 0);
	assert_string_equal(ip6_fmt(&b, buf), "fd00:10:0:1::");
	assert_true(ip6_cmp(&a, &b) < 0);
	memset(a.b, 0xff, 16);
	assert_int_equal(ip6_add(&a, 1, &b), -ERANGE);
	assert_int_equal(ip6_add(&a, 0, &b), 0);
	/* an offset beyond 64 bits in a short prefix */
	assert_int_equal(ip6_net_parse("fd00::/48", &n, false, false), 0);
	assert_int_equal(ip6_parse("fd00:0:0:1::", &a), 0);
	assert_int_equal(ip6_net_offset(&n, &a, &off), -ERANGE);
	assert_int_equal(ip6_parse("fd00::5", &a), 0);
	assert_int_equal(ip6_net_offset(&n, &a, &off), 0);
	assert_int_equal(off, 5);
	assert_true(ip6_is_zero(&(struct ip6){ { 0 } }));
	assert_false(ip6_is_zero(&a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip6_parse_fmt),
		cmocka_unit_test(test_ip6_net),
		cmocka_unit_test(test_ip6_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
