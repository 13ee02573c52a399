/*
 * The error list when memory runs out: a message that cannot be stored is
 * still an error (errs.lost), so a parser that judges its input by the
 * count of errors refuses it all the same. Out of memory is simulated by
 * this file's own vasprintf(), which the library's errs.o links against
 * (the executable's definition comes before libc's) and which fails while
 * fail_vasprintf is set.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "cni/cni.h"
#include "common/errs.h"

static int fail_vasprintf;

int vasprintf(char **out, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	*out = NULL;
	if (fail_vasprintf) {
		errno = ENOMEM;
		return -1;
	}
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || !(*out = malloc((size_t)n + 1)))
		return -1;
	return vsnprintf(*out, (size_t)n + 1, fmt, ap);
}

static void test_errs_lost_counts(void **state)
{
	struct errs e = ERRS_INIT;

	errs_add(&e, "kept %d", 1);
	assert_int_equal(e.n, 1);
	assert_int_equal(errs_count(&e), 1);
	fail_vasprintf = 1;
	errs_add(&e, "lost %d", 2);
	errs_addpos(&e, "f.yaml", 3, 4, "lost %d", 3);
	fail_vasprintf = 0;
	assert_int_equal(e.n, 1);
	assert_string_equal(e.msg[0], "kept 1");
	assert_int_equal(e.lost, 2);
	assert_int_equal(errs_count(&e), 3);
	errs_clear(&e);
	assert_int_equal(errs_count(&e), 0);
}

/* cni_ports_parse judges its list by the count of errors: a bad mapping
 * whose message is lost must still be refused. The control: the same
 * mapping is refused with its message when memory is there, and a good
 * one is taken. */
static void test_errs_lost_refuses_bad_ports(void **state)
{
	json_t *bad = json_loads("[{\"hostPort\": 0, \"containerPort\": 80}]", 0, NULL);
	json_t *good = json_loads("[{\"hostPort\": 8080, \"containerPort\": 80}]", 0, NULL);
	struct wep_port ports[WEP_MAX_PORTS];
	struct errs e = ERRS_INIT;
	size_t n = 0;

	assert_non_null(bad);
	assert_non_null(good);
	assert_int_equal(cni_ports_parse(good, ports, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(errs_count(&e), 0);

	n = 0;
	assert_int_equal(cni_ports_parse(bad, ports, &n, &e), -CNI_ECONFIG);
	assert_true(e.n >= 1);
	assert_non_null(strstr(e.msg[0], "hostPort"));
	errs_clear(&e);

	fail_vasprintf = 1;
	assert_int_equal(cni_ports_parse(bad, ports, &n, &e), -CNI_ECONFIG);
	fail_vasprintf = 0;
	assert_int_equal(n, 0);
	assert_int_equal(e.n, 0);
	assert_true(e.lost >= 1);
	errs_clear(&e);
	json_decref(bad);
	json_decref(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errs_lost_counts),
		cmocka_unit_test(test_errs_lost_refuses_bad_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
