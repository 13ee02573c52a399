/*
 * test_netpolicy_closed: model/netpolicy_closed.c, the closed stand-in for
 * a stored NetworkPolicy that does not decode. What it takes from the raw
 * text (name, selector, types), what it ignores (every other member, bad
 * JSON), what it makes of what it cannot read (all(), both directions),
 * and that what it makes is a valid policy (its own encoding decodes).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/resource.h"

#define HEAD "{\"apiVersion\":\"petrel/v1\",\"kind\":\"NetworkPolicy\"," \
	     "\"metadata\":{\"name\":\"p1\",\"futureMeta\":true},"

/* The closed policy of text (name NULL: the document's), checked to be
 * the deny-everything policy it must be whatever the input. */
static int closed(const char *text, const char *name, struct netpolicy *np,
		  unsigned *flags)
{
	struct resource r;
	struct errs e = ERRS_INIT;
	json_t *j;
	int rc = netpolicy_closed_from_text(text, name, np, flags);

	if (rc < 0)
		return rc;
	assert_true(np->ingress || np->egress);
	assert_int_equal(np->n_ingress, np->ingress ? 1 : 0);
	assert_int_equal(np->n_egress, np->egress ? 1 : 0);
	if (np->ingress)
		assert_int_equal(np->in_rules[0].action, NP_DENY);
	if (np->egress)
		assert_int_equal(np->out_rules[0].action, NP_DENY);
	assert_true(np->has_order);
	assert_true(np->order < -1e15);
	/* a valid policy: it encodes and decodes back */
	j = netpolicy_to_json(np);
	assert_non_null(j);
	assert_int_equal(netpolicy_from_json(j, NULL, NULL, &r.u.netpolicy, &e), 0);
	assert_string_equal(r.u.netpolicy.name, np->name);
	assert_int_equal(r.u.netpolicy.n_ingress, np->n_ingress);
	assert_int_equal(r.u.netpolicy.n_egress, np->n_egress);
	netpolicy_clear(&r.u.netpolicy);
	json_decref(j);
	return 0;
}

/* An unknown field anywhere: the selector and types still read. */
static void test_unknown_fields(void **state)
{
	struct netpolicy np;
	unsigned fl = 99;

	(void)state;
	assert_int_equal(closed(HEAD "\"spec\":{\"selector\":\"role == 'db'\","
				"\"types\":[\"Ingress\"],\"newThing\":[1,2],"
				"\"ingress\":[{\"action\":\"Teleport\"}]}}",
				"p1", &np, &fl), 0);
	assert_int_equal(fl, 0);
	assert_string_equal(np.name, "p1");
	assert_string_equal(np.selector, "role == 'db'");
	assert_true(np.ingress);
	assert_false(np.egress);
	netpolicy_clear(&np);

	assert_int_equal(closed(HEAD "\"spec\":{\"selector\":\"has(x)\","
				"\"types\":[\"Egress\"]}}", NULL, &np, &fl), 0);
	assert_string_equal(np.name, "p1");	/* metadata.name */
	assert_false(np.ingress);
	assert_true(np.egress);
	netpolicy_clear(&np);
}

/* types it cannot read: both directions. */
static void test_types_unknown(void **state)
{
	static const char *const specs[] = {
		"\"spec\":{\"selector\":\"a == 'b'\"}}",
		"\"spec\":{\"selector\":\"a == 'b'\",\"types\":[]}}",
		"\"spec\":{\"selector\":\"a == 'b'\",\"types\":\"Ingress\"}}",
		"\"spec\":{\"selector\":\"a == 'b'\",\"types\":[\"Ingress\",\"Forward\"]}}",
		"\"spec\":{\"selector\":\"a == 'b'\",\"types\":[7]}}",
	};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct netpolicy np;
		unsigned fl;

		snprintf(text, sizeof(text), "%s%s", HEAD, specs[i]);
		assert_int_equal(closed(text, "p1", &np, &fl), 0);
		assert_true(np.ingress && np.egress);
		assert_string_equal(np.selector, "a == 'b'");
		assert_int_equal(fl, 0);
		netpolicy_clear(&np);
	}
}

/* A selector it cannot read selects every workload, and says so. */
static void test_selector_unreadable(void **state)
{
	static const struct {
		const char *text;
		unsigned flag;
	} c[] = {
		{ HEAD "\"spec\":{\"selector\":\"app == \",\"types\":[\"Ingress\"]}}", NP_CLOSED_ALL },
		{ HEAD "\"spec\":{\"selector\":42}}", NP_CLOSED_ALL },
		{ HEAD "\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}}}}", NP_CLOSED_ALL },
		{ HEAD "\"spec\":7}", NP_CLOSED_ALL },
		{ HEAD "\"spec\":{\"types\":[\"Ingress\"]}}", NP_CLOSED_NO_SELECTOR },
		{ "not json at all", NP_CLOSED_ALL | NP_CLOSED_NOT_JSON },
		{ HEAD "\"spec\":{\"selector\":\"a == 'b'\"", NP_CLOSED_ALL | NP_CLOSED_NOT_JSON },
		{ "[1,2]", NP_CLOSED_ALL | NP_CLOSED_NOT_JSON },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct netpolicy np;
		unsigned fl = 0;

		assert_int_equal(closed(c[i].text, "p1", &np, &fl), 0);
		assert_null(np.selector);	/* all() */
		assert_int_equal(fl, c[i].flag);
		netpolicy_clear(&np);
	}
	{
		struct netpolicy np;

		assert_int_equal(closed(NULL, "p1", &np, NULL), 0);
		assert_null(np.selector);
		netpolicy_clear(&np);
	}
}

/* A name: the caller's when given (the key's), else a valid metadata.name. */
static void test_name(void **state)
{
	struct netpolicy np;

	(void)state;
	assert_int_equal(closed(HEAD "\"spec\":{}}", "from-key", &np, NULL), 0);
	assert_string_equal(np.name, "from-key");
	netpolicy_clear(&np);
	assert_int_equal(netpolicy_closed_from_text("{}", NULL, &np, NULL), -EINVAL);
	assert_int_equal(netpolicy_closed_from_text(
				 "{\"metadata\":{\"name\":\"Bad Name\"}}", NULL, &np, NULL),
			 -EINVAL);
	assert_int_equal(netpolicy_closed_from_text("{}", "Bad Name", &np, NULL), -EINVAL);
	assert_int_equal(netpolicy_closed_from_text(HEAD "\"spec\":{}}", "", &np, NULL),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_types_unknown),
		cmocka_unit_test(test_selector_unreadable),
		cmocka_unit_test(test_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
