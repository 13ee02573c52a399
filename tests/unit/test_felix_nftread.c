/*
 * felix's readers of what nf_tables answers (felix/nft.c): the length of
 * the whole messages of a datagram (libmnl 1.0.4 lets a length of 2^31 or
 * more pass as negative: such a message and what follows it are not
 * messages), a batch's acknowledgements (the first error, named, -EPROTO
 * for an error field that is no errno), and nl_error itself
 * (common/nlerr.h). Found by tests/fuzz/fuzz_felix_nft.c.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <linux/netlink.h>

#include "common/nlerr.h"
#include "felix/nft.h"
#include "felix/nft_int.h"

/* An NLMSG_ERROR for seq with error, at buf; its length. */
static size_t put_err(char *buf, uint32_t seq, int error)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct nlmsgerr *e = NLMSG_DATA(h);

	memset(h, 0, NLMSG_LENGTH(sizeof(*e)));
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_seq = seq;
	e->error = error;
	return h->nlmsg_len;
}

static void test_nl_error(void **state)
{
	(void)state;
	assert_int_equal(nl_error(0), 0);
	assert_int_equal(nl_error(-EEXIST), -EEXIST);
	assert_int_equal(nl_error(-4095), -4095);
	assert_int_equal(nl_error(-4096), -EPROTO);
	assert_int_equal(nl_error(INT_MIN), -EPROTO);
	assert_int_equal(nl_error(5), -EPROTO);
}

static void test_msgs_len(void **state)
{
	char buf[256] __attribute__((aligned(4)));
	size_t a, b;

	(void)state;
	a = put_err(buf, 1, 0);
	b = put_err(buf + a, 2, 0);
	assert_int_equal(nftk_msgs_len(buf, a + b), a + b);
	/* a partial message at the end is not one */
	assert_int_equal(nftk_msgs_len(buf, a + b - 1), a);
	/* a length past 2^31: mnl_nlmsg_ok (1.0.4) would take it */
	((struct nlmsghdr *)(buf + a))->nlmsg_len = 0x80000010u;
	assert_int_equal(nftk_msgs_len(buf, a + b), a);
	assert_int_equal(nftk_msgs_len(buf, 3), 0);
}

static void test_acks(void **state)
{
	char buf[256] __attribute__((aligned(4))), err[128];
	struct bmsg m = { .seq = 2, .what = "rule in", .name = "raw-pre" };
	struct batch b = { .msgs = &m, .n = 1 };
	int first = 0;
	size_t n;

	(void)state;
	/* the control: an error of the batch is named, the last answered */
	n = put_err(buf, 2, -EEXIST);
	assert_true(nftk_acks_parse(&b, 2, buf, n, &first, err, sizeof(err)));
	assert_int_equal(first, -EEXIST);
	assert_non_null(strstr(err, "rule in raw-pre: File exists"));

	/* an error field that is no errno is -EPROTO (strerror(-INT_MIN)
	 * was undefined), and a short ack is not read */
	first = 0;
	n = put_err(buf, 2, INT_MIN);
	assert_true(nftk_acks_parse(&b, 2, buf, n, &first, err, sizeof(err)));
	assert_int_equal(first, -EPROTO);
	first = 0;
	((struct nlmsghdr *)buf)->nlmsg_len = NLMSG_LENGTH(2);
	assert_false(nftk_acks_parse(&b, 2, buf, n, &first, err, sizeof(err)));
	assert_int_equal(first, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nl_error),
		cmocka_unit_test(test_msgs_len),
		cmocka_unit_test(test_acks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
