/*
 * test_selector: model/selector.c. Good input and its canonical text, bad
 * input with the exact position and message, matching tables (missing
 * labels included), canonical round trips, and the depth and size limits.
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

#include "model/selector.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Good input → its canonical text. */
static const struct { const char *in, *canon; } good[] = {
	{ "all()", "all()" },
	{ "  all( )  ", "all()" },
	{ "has(a)", "has(a)" },
	{ "has( example.com/role )", "has(example.com/role)" },
	{ "!has(a)", "!has(a)" },
	{ "a == \"b\"", "a == \"b\"" },
	{ "a=='b'", "a == \"b\"" },
	{ "a\t!=\n'b'", "a != \"b\"" },
	{ "a == \"\"", "a == \"\"" },
	{ "a in {\"y\", 'x', \"y\"}", "a in {\"x\", \"y\"}" },
	{ "a in{}", "a in {}" },
	{ "a not   in {'b'}", "a not in {\"b\"}" },
	{ "a contains 'x.y'", "a contains \"x.y\"" },
	{ "a contains \"\"", "a contains \"\"" },
	{ "a starts  with \"-x\"", "a starts with \"-x\"" },
	{ "a ends with \"_\"", "a ends with \"_\"" },
	{ "a == 'b' && c == 'd' || e == 'f'", "a == \"b\" && c == \"d\" || e == \"f\"" },
	{ "a == 'b' && (c == 'd' || e == 'f')", "a == \"b\" && (c == \"d\" || e == \"f\")" },
	{ "(a == 'b' && c == 'd') || e == 'f'", "a == \"b\" && c == \"d\" || e == \"f\"" },
	{ "((((has(a)))))", "has(a)" },
	{ "has(a) || (has(b) || has(c))", "has(a) || has(b) || has(c)" },
	{ "has(a) && (has(b) && has(c)) && has(d)", "has(a) && has(b) && has(c) && has(d)" },
	{ "!(a == 'b')", "a != \"b\"" },
	{ "!(a != 'b')", "a == \"b\"" },
	{ "!(a in {'b'})", "a not in {\"b\"}" },
	{ "!(a not in {})", "a in {}" },
	{ "!!has(a)", "has(a)" },
	{ "!!!has(a)", "!has(a)" },
	{ "! ! ( ! has(a) )", "!has(a)" },
	{ "!(has(a) && has(b))", "!(has(a) && has(b))" },
	{ "!(has(a) || has(b)) && has(c)", "!(has(a) || has(b)) && has(c)" },
	{ "!a contains 'x'", "!a contains \"x\"" },
	{ "!all()", "!all()" },
	{ "in == 'x' && all == 'y' && has in {'z'} && not not in {}",
	  "in == \"x\" && all == \"y\" && has in {\"z\"} && not not in {}" },
	{ "", "all()" },
	{ " \t\r\n", "all()" },
};

static void test_good_canon(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(good); i++) {
		struct selector_err err;
		struct selector *s = NULL;
		char *c;
		int rc = selector_parse(good[i].in, &s, &err);

		if (rc)
			print_message("'%s': %d: %s\n", good[i].in, err.pos, err.msg);
		assert_int_equal(rc, 0);
		c = selector_canon(s);
		assert_non_null(c);
		assert_string_equal(c, good[i].canon);
		free(c);
		selector_free(s);
	}
}

/* Bad input → the offending byte and the message. */
static const struct { const char *in; int pos; const char *msg; } bad[] = {
	{ "a ==", 4, "expected a string after '=='" },
	{ "a == b", 5, "expected a string after '=='" },
	{ "a != ", 5, "expected a string after '!='" },
	{ "a == \"b", 5, "unclosed string" },
	{ "a == 'b\"", 5, "unclosed string" },
	{ "a == \"b c\"", 7, "' ' cannot be in a label value (letters, digits, '.', '_', '-')" },
	{ "a == \"b/c\"", 7, "'/' cannot be in a label value (letters, digits, '.', '_', '-')" },
	{ "a contains \"\x01\"", 12, "byte 0x01 cannot be in a label value (letters, digits, '.', '_', '-')" },
	{ "a == \"-b\"", 5, "invalid label value '-b'" },
	{ "a in {'b', '-c'}", 11, "invalid label value '-c'" },
	{ "(a == 'b'", 0, "unclosed '('" },
	{ "has(a) && (has(b) || (has(c))", 10, "unclosed '('" },
	{ "(a == 'b' c", 10, "expected '&&', '||' or ')'" },
	{ "hass(a)", 0, "unknown function 'hass'" },
	{ "  Has (a)", 2, "unknown function 'Has'" },
	{ "all(a)", 4, "expected ')' after 'all(' (all() takes no arguments)" },
	{ "has()", 4, "expected a label key after 'has('" },
	{ "has(a", 5, "expected ')' after the key in has()" },
	{ "has(a b)", 6, "expected ')' after the key in has()" },
	{ "has(-a)", 4, "invalid label key '-a'" },
	{ "-a == 'b'", 0, "invalid label key '-a'" },
	{ "a/b/c == 'x'", 0, "invalid label key 'a/b/c'" },
	{ "a = 'b'", 2, "expected '==', not '='" },
	{ "a 'b'", 2, "expected an operator after the key (==, !=, in, not in, contains, starts with, ends with)" },
	{ "a", 1, "expected an operator after the key (==, !=, in, not in, contains, starts with, ends with)" },
	{ "a equals 'b'", 2, "expected an operator after the key (==, !=, in, not in, contains, starts with, ends with)" },
	{ "a not 'b'", 6, "expected 'in' after 'not'" },
	{ "a starts 'b'", 9, "expected 'with' after 'starts'" },
	{ "a ends by 'b'", 7, "expected 'with' after 'ends'" },
	{ "a in 'b'", 5, "expected '{' after 'in'" },
	{ "a not in ('b')", 9, "expected '{' after 'not in'" },
	{ "a in {'b' 'c'}", 10, "expected ',' or '}' in a set" },
	{ "a in {'b',}", 10, "expected a string after ','" },
	{ "a in {,}", 6, "expected a string after '{'" },
	{ "a in {'b'", 5, "unclosed '{'" },
	{ "has(a) &&", 9, "expected an expression after '&&'" },
	{ "has(a) || && has(b)", 10, "expected an expression after '||'" },
	{ "&& has(a)", 0, "expected an expression" },
	{ "!", 1, "expected an expression after '!'" },
	{ "()", 1, "expected an expression after '('" },
	{ "!= 'a'", 0, "expected an expression" },
	{ "has(a))", 6, "unmatched ')'" },
	{ "has(a) has(b)", 7, "expected '&&', '||' or the end" },
	{ "has(a) & has(b)", 7, "expected '&&', '||' or the end" },
	{ "has(a) | has(b)", 7, "expected '&&', '||' or the end" },
	{ "a == 'b' ;", 9, "expected '&&', '||' or the end" },
	{ "\"a\" == 'b'", 0, "expected an expression" },
	{ "a == 'abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd'", 5,
	  "string longer than 63 characters" },
	{ "a\xc3\xa9 == 'b'", 1, "expected an operator after the key (==, !=, in, not in, contains, starts with, ends with)" },
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad); i++) {
		struct selector_err err;
		struct selector *s = (struct selector *)&err;	/* must be reset */
		int rc = selector_parse(bad[i].in, &s, &err);

		if (rc != -EINVAL || err.pos != bad[i].pos || strcmp(err.msg, bad[i].msg))
			print_message("'%s': rc %d pos %d: %s\n", bad[i].in, rc, err.pos, err.msg);
		assert_int_equal(rc, -EINVAL);
		assert_null(s);
		assert_int_equal(err.pos, bad[i].pos);
		assert_string_equal(err.msg, bad[i].msg);
		assert_int_equal(selector_match_text(bad[i].in, NULL), -EINVAL);
	}
}

/* A NULL err is allowed: the caller only wants to know whether it parses. */
static void test_bad_without_err(void **state)
{
	struct selector *s = NULL;

	(void)state;
	assert_int_equal(selector_parse("a ==", &s, NULL), -EINVAL);
	assert_null(s);
	assert_int_equal(selector_parse("has(a)", &s, NULL), 0);
	selector_free(s);
}

static void set_labels(struct labels *l, const char *const *kv)
{
	for (; kv[0]; kv += 2)
		assert_int_equal(labels_set(l, kv[0], kv[1]), 0);
}

/* Labels: role=db, tier=back-end, example.com/zone=eu-1, empty="". */
static const struct { const char *sel; bool want; } matches[] = {
	{ "all()", true },
	{ "", true },
	{ "!all()", false },
	{ "has(role)", true },
	{ "has(empty)", true },
	{ "has(missing)", false },
	{ "!has(missing)", true },
	{ "has(example.com/zone)", true },
	{ "has(zone)", false },
	{ "role == 'db'", true },
	{ "role == 'DB'", false },
	{ "role != 'db'", false },
	{ "role != 'web'", true },
	{ "missing == 'x'", false },
	{ "missing != 'x'", true },	/* Calico: a missing label is != every value */
	{ "empty == ''", true },
	{ "missing == ''", false },
	{ "missing != ''", true },
	{ "role in {'web', 'db'}", true },
	{ "role in {'web'}", false },
	{ "role in {}", false },
	{ "missing in {'x'}", false },
	{ "role not in {'web', 'db'}", false },
	{ "role not in {'web'}", true },
	{ "missing not in {'x'}", true },
	{ "missing not in {}", true },
	{ "tier contains 'k-e'", true },
	{ "tier contains ''", true },
	{ "tier contains 'front'", false },
	{ "missing contains ''", false },
	{ "!missing contains 'x'", true },
	{ "tier starts with 'back'", true },
	{ "tier starts with 'end'", false },
	{ "tier starts with 'back-end-x'", false },
	{ "missing starts with ''", false },
	{ "tier ends with '-end'", true },
	{ "tier ends with 'back'", false },
	{ "tier ends with 'xback-end'", false },
	{ "example.com/zone ends with '1'", true },
	{ "role == 'db' && tier == 'back-end'", true },
	{ "role == 'db' && tier == 'front-end'", false },
	{ "role == 'web' || tier == 'back-end'", true },
	{ "role == 'web' || tier == 'front-end'", false },
	{ "role == 'web' && tier == 'x' || has(role)", true },	/* && binds tighter */
	{ "role == 'web' && (tier == 'x' || has(role))", false },
	{ "has(role) || has(x) && has(y)", true },
	{ "(has(role) || has(x)) && has(y)", false },
	{ "!has(role) || !has(tier)", false },
	{ "!(has(role) && has(missing))", true },
	{ "!!role == 'db'", true },
};

static void test_match(void **state)
{
	static const char *const kv[] = {
		"role", "db", "tier", "back-end", "example.com/zone", "eu-1",
		"empty", "", NULL,
	};
	struct labels l = { 0 };

	(void)state;
	set_labels(&l, kv);
	for (size_t i = 0; i < N(matches); i++) {
		struct selector *s;

		assert_int_equal(selector_parse(matches[i].sel, &s, NULL), 0);
		if (selector_match(s, &l) != matches[i].want)
			print_message("'%s': want %d\n", matches[i].sel, matches[i].want);
		assert_int_equal(selector_match(s, &l), matches[i].want);
		assert_int_equal(selector_match_text(matches[i].sel, &l), matches[i].want);
		selector_free(s);
	}
	labels_clear(&l);
}

/* No labels at all (an empty set, or NULL): only negative forms match. */
static void test_match_no_labels(void **state)
{
	static const struct { const char *sel; bool want; } t[] = {
		{ "all()", true }, { "has(a)", false }, { "!has(a)", true },
		{ "a == 'b'", false }, { "a != 'b'", true }, { "a in {'b'}", false },
		{ "a not in {'b'}", true }, { "a contains ''", false },
		{ "a starts with ''", false }, { "a ends with ''", false },
		{ "!a ends with ''", true },
	};
	struct labels empty = { 0 };

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		assert_int_equal(selector_match_text(t[i].sel, NULL), t[i].want);
		assert_int_equal(selector_match_text(t[i].sel, &empty), t[i].want);
	}
}

/* canon(parse(canon(x))) == canon(x), and both select the same labels. */
static void test_round_trip(void **state)
{
	static const char *const kv[] = { "a", "b", "c", "d", "x", "x-y", NULL };
	struct labels l = { 0 };

	(void)state;
	set_labels(&l, kv);
	for (size_t i = 0; i < N(good) + N(matches); i++) {
		const char *in = i < N(good) ? good[i].in : matches[i - N(good)].sel;
		struct selector *s1, *s2;
		char *c1, *c2;

		assert_int_equal(selector_parse(in, &s1, NULL), 0);
		assert_non_null(c1 = selector_canon(s1));
		assert_int_equal(selector_parse(c1, &s2, NULL), 0);
		assert_non_null(c2 = selector_canon(s2));
		assert_string_equal(c1, c2);
		assert_int_equal(selector_match(s1, &l), selector_match(s2, &l));
		assert_int_equal(selector_match(s1, NULL), selector_match(s2, NULL));
		free(c1);
		free(c2);
		selector_free(s1);
		selector_free(s2);
	}
	labels_clear(&l);
}

static void test_is_all(void **state)
{
	static const struct { const char *sel; bool all; } t[] = {
		{ "", true }, { "  ", true }, { "all()", true }, { "(all( ))", true },
		{ "!!all()", true }, { "!all()", false }, { "has(a)", false },
		{ "all() || has(a)", false },
	};

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		struct selector *s;

		assert_int_equal(selector_parse(t[i].sel, &s, NULL), 0);
		assert_int_equal(selector_is_all(s), t[i].all);
		selector_free(s);
	}
	assert_true(selector_is_all(NULL));
	assert_true(selector_match(NULL, NULL));
	selector_free(NULL);
}

static void test_match_text(void **state)
{
	struct labels l = { 0 };

	(void)state;
	assert_int_equal(labels_set(&l, "k", "v"), 0);
	assert_int_equal(selector_match_text(NULL, &l), 1);
	assert_int_equal(selector_match_text("", &l), 1);
	assert_int_equal(selector_match_text("k == 'v'", &l), 1);
	assert_int_equal(selector_match_text("k == 'w'", &l), 0);
	assert_int_equal(selector_match_text("k = 'v'", &l), -EINVAL);
	labels_clear(&l);
}

/* n '(' then has(a) then n ')'. */
static char *nested(int n)
{
	char *s = malloc((size_t)n * 2 + 8);

	assert_non_null(s);
	memset(s, '(', (size_t)n);
	memcpy(s + n, "has(a)", 6);
	memset(s + n + 6, ')', (size_t)n);
	s[2 * n + 6] = '\0';
	return s;
}

static void test_depth(void **state)
{
	struct selector_err err;
	struct selector *s;
	char *t = nested(SELECTOR_DEPTH_MAX), *c;

	(void)state;
	assert_int_equal(selector_parse(t, &s, &err), 0);
	assert_non_null(c = selector_canon(s));
	assert_string_equal(c, "has(a)");
	free(c);
	selector_free(s);
	free(t);

	t = nested(SELECTOR_DEPTH_MAX + 1);
	assert_int_equal(selector_parse(t, &s, &err), -EINVAL);
	assert_int_equal(err.pos, SELECTOR_DEPTH_MAX);
	assert_string_equal(err.msg, "parentheses nested deeper than 64");
	free(t);

	/* far deeper than the limit: refused at the limit, the stack unharmed */
	t = nested(2000);
	assert_int_equal(selector_parse(t, &s, &err), -EINVAL);
	assert_int_equal(err.pos, SELECTOR_DEPTH_MAX);
	free(t);

	/* 64 levels alternating && and ||, with ! at each: a deep tree */
	{
		char buf[SELECTOR_MAX + 1] = "";
		size_t n = 0;

		for (int i = 0; i < SELECTOR_DEPTH_MAX; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "!(has(a) %s ",
					      i % 2 ? "&&" : "||");
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "has(b)");
		for (int i = 0; i < SELECTOR_DEPTH_MAX; i++)
			buf[n++] = ')';
		buf[n] = '\0';
		assert_int_equal(selector_parse(buf, &s, &err), 0);
		assert_non_null(c = selector_canon(s));
		assert_string_equal(c, buf);	/* already canonical */
		free(c);
		selector_free(s);
	}

	/* '!' costs no nesting */
	t = malloc(SELECTOR_MAX + 1);
	assert_non_null(t);
	memset(t, '!', SELECTOR_MAX - 6);
	memcpy(t + SELECTOR_MAX - 6, "has(a)", 7);
	assert_int_equal(selector_parse(t, &s, &err), 0);
	assert_non_null(c = selector_canon(s));
	assert_string_equal(c, "has(a)");	/* an even number of '!' */
	free(c);
	selector_free(s);
	free(t);
}

static void test_size(void **state)
{
	struct selector_err err;
	struct selector *s;
	char *t = malloc(SELECTOR_MAX + 2);
	size_t n = 0;

	(void)state;
	assert_non_null(t);
	/* exactly SELECTOR_MAX bytes: accepted */
	memset(t, ' ', SELECTOR_MAX);
	memcpy(t, "has(a)", 6);
	t[SELECTOR_MAX] = '\0';
	assert_int_equal(selector_parse(t, &s, &err), 0);
	selector_free(s);
	/* one more: refused, at the first byte past the limit */
	t[SELECTOR_MAX] = ' ';
	t[SELECTOR_MAX + 1] = '\0';
	assert_int_equal(selector_parse(t, &s, &err), -EINVAL);
	assert_null(s);
	assert_int_equal(err.pos, SELECTOR_MAX);
	assert_string_equal(err.msg, "selector longer than 4096 bytes");

	/* short enough, but its canonical text would not be: refused, so that
	 * every canonical text parses */
	n = (size_t)snprintf(t, SELECTOR_MAX + 2, "a==''");
	while (n + 7 <= SELECTOR_MAX)
		n += (size_t)snprintf(t + n, SELECTOR_MAX + 2 - n, "&&a==''");
	assert_int_equal(selector_parse(t, &s, &err), -EINVAL);
	assert_int_equal(err.pos, 0);
	assert_non_null(strstr(err.msg, "selector too long: its canonical form has"));
	free(t);
}

/* Many terms and a large set: sorted, unique, matched by bsearch. */
static void test_big_set(void **state)
{
	static const char want[] = "k in {\"v0\", \"v1\", \"v10\", \"v100\", ";
	char buf[SELECTOR_MAX + 1];
	struct labels l = { 0 };
	struct selector *s;
	size_t n;
	char *c;

	(void)state;
	n = (size_t)snprintf(buf, sizeof(buf), "k in {");
	for (int i = 299; i >= 0; i--)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "'v%d',", i % 150);
	buf[n - 1] = '}';
	assert_int_equal(selector_parse(buf, &s, NULL), 0);
	assert_non_null(c = selector_canon(s));
	assert_int_equal(strncmp(c, want, strlen(want)), 0);
	free(c);
	for (int i = 0; i < 150; i++) {
		char v[16];

		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(labels_set(&l, "k", v), 0);
		assert_true(selector_match(s, &l));
	}
	assert_int_equal(labels_set(&l, "k", "v150"), 0);
	assert_false(selector_match(s, &l));
	selector_free(s);
	labels_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_canon),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_without_err),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_no_labels),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_is_all),
		cmocka_unit_test(test_match_text),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_big_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
