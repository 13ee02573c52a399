/*
 * test_yaml: common/yamljson.c. Scalar typing, positions, every refusal
 * (anchors, aliases, tags, non-scalar and duplicate keys, depth and node
 * caps), syntax errors at libyaml's mark, and the dump: exact text for a
 * few trees and load(dump(x)) == x for hand-picked and generated trees.
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

#include "common/yamljson.h"

struct loaded {
	struct ydoc *d;
	size_t n;
	struct errs e;
	int r;
};

static void load(struct loaded *l, const char *text)
{
	memset(l, 0, sizeof(*l));
	l->r = yaml_load("t.yaml", text, strlen(text), &l->d, &l->n, &l->e);
}

static void unload(struct loaded *l)
{
	ydocs_free(l->d, l->n);
	errs_clear(&l->e);
}

/* True when some message of e contains sub. */
static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

static void print_errs(const struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		print_message("  err: %s\n", e->msg[i]);
}

static void test_scalars(void **state)
{
	struct loaded l;
	json_t *r;

	(void)state;
	load(&l, "i: 42\nn: -7\np: +5\nbig: 9223372036854775807\n"
		 "over: 9223372036854775808\nt: true\nf: False\nz: null\ntil: ~\n"
		 "empty:\ns: hello\nq: \"42\"\nsq: 'true'\nfl: 1.5\nyes: yes\n"
		 "hex: 0x10\nlead: 012\n");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.n, 1);
	r = l.d[0].root;
	assert_true(json_is_integer(json_object_get(r, "i")));
	assert_int_equal(json_integer_value(json_object_get(r, "i")), 42);
	assert_int_equal(json_integer_value(json_object_get(r, "n")), -7);
	assert_int_equal(json_integer_value(json_object_get(r, "p")), 5);
	assert_true(json_integer_value(json_object_get(r, "big")) == INT64_MAX);
	assert_string_equal(json_string_value(json_object_get(r, "over")),
			    "9223372036854775808");
	assert_true(json_is_true(json_object_get(r, "t")));
	assert_true(json_is_false(json_object_get(r, "f")));
	assert_true(json_is_null(json_object_get(r, "z")));
	assert_true(json_is_null(json_object_get(r, "til")));
	assert_true(json_is_null(json_object_get(r, "empty")));
	assert_string_equal(json_string_value(json_object_get(r, "s")), "hello");
	assert_string_equal(json_string_value(json_object_get(r, "q")), "42");
	assert_string_equal(json_string_value(json_object_get(r, "sq")), "true");
	assert_string_equal(json_string_value(json_object_get(r, "fl")), "1.5");
	assert_string_equal(json_string_value(json_object_get(r, "yes")), "yes");
	assert_string_equal(json_string_value(json_object_get(r, "hex")), "0x10");
	assert_int_equal(json_integer_value(json_object_get(r, "lead")), 12);
	unload(&l);
}

static void test_tags(void **state)
{
	struct loaded l;
	json_t *r;

	(void)state;
	load(&l, "a: !!str 12\nb: !!int \"12\"\nc: !!float 2.5\nd: !!bool true\n"
		 "e: !!null ''\nf: ! 7\ng: !!map {x: 1}\nh: !!seq [1]\n");
	assert_int_equal(l.r, 0);
	r = l.d[0].root;
	assert_string_equal(json_string_value(json_object_get(r, "a")), "12");
	assert_int_equal(json_integer_value(json_object_get(r, "b")), 12);
	assert_true(json_is_real(json_object_get(r, "c")));
	assert_true(json_real_value(json_object_get(r, "c")) == 2.5);
	assert_true(json_is_true(json_object_get(r, "d")));
	assert_true(json_is_null(json_object_get(r, "e")));
	assert_string_equal(json_string_value(json_object_get(r, "f")), "7");
	assert_true(json_is_object(json_object_get(r, "g")));
	assert_true(json_is_array(json_object_get(r, "h")));
	unload(&l);

	load(&l, "a: !foo x\nb: !!int abc\nc: !!binary aGk=\nd: !!float nan\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	assert_null(l.d);
	assert_int_equal(l.e.n, 4);
	assert_true(has_err(&l.e, "t.yaml:1:4: unsupported tag \"!foo\""));
	assert_true(has_err(&l.e, "t.yaml:2:4: !!int"));
	assert_true(has_err(&l.e, "t.yaml:3:4: unsupported tag"));
	assert_true(has_err(&l.e, "t.yaml:4:4: !!float"));
	unload(&l);
}

static void test_positions(void **state)
{
	struct loaded l;
	const json_t *r, *spec, *list;
	int line, col;

	(void)state;
	load(&l, "# a comment\n"
		 "apiVersion: petrel/v1\n"	/* 2 */
		 "spec:\n"			/* 3 */
		 "  cidr:   10.0.0.0/24\n"	/* 4 */
		 "  flag: true\n"		/* 5 */
		 "  list:\n"			/* 6 */
		 "    - a\n"			/* 7 */
		 "    - {x: 1, y: null}\n"	/* 8 */
		 "  flow: [1, 2,   3]\n");	/* 9 */
	assert_int_equal(l.r, 0);
	r = l.d[0].root;
	assert_int_equal(l.d[0].line, 2);
	assert_int_equal(l.d[0].col, 1);
	assert_int_equal(ydoc_pos_key(&l.d[0], r, "apiVersion", &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 13);
	assert_int_equal(ydoc_pos_keyname(&l.d[0], r, "apiVersion", &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 1);
	spec = json_object_get(r, "spec");
	assert_int_equal(ydoc_pos_key(&l.d[0], r, "spec", &line, &col), 0);
	assert_int_equal(line, 4);	/* a block mapping starts at its first key */
	assert_int_equal(col, 3);
	assert_int_equal(ydoc_pos_key(&l.d[0], spec, "cidr", &line, &col), 0);
	assert_int_equal(line, 4);
	assert_int_equal(col, 11);
	assert_int_equal(ydoc_pos_keyname(&l.d[0], spec, "flag", &line, &col), 0);
	assert_int_equal(line, 5);
	assert_int_equal(col, 3);
	/* true is a jansson singleton: looked up by container and key */
	assert_int_equal(ydoc_pos_key(&l.d[0], spec, "flag", &line, &col), 0);
	assert_int_equal(line, 5);
	assert_int_equal(col, 9);
	list = json_object_get(spec, "list");
	assert_int_equal(ydoc_pos_index(&l.d[0], list, 1, &line, &col), 0);
	assert_int_equal(line, 8);
	assert_int_equal(col, 7);
	assert_int_equal(ydoc_pos_key(&l.d[0], json_array_get(list, 1), "y", &line, &col), 0);
	assert_int_equal(line, 8);
	assert_int_equal(col, 17);
	assert_int_equal(ydoc_pos_index(&l.d[0], json_object_get(spec, "flow"), 2,
					&line, &col), 0);
	assert_int_equal(line, 9);
	assert_int_equal(col, 18);
	/* misses */
	assert_int_equal(ydoc_pos_key(&l.d[0], spec, "nope", &line, &col), -ENOENT);
	assert_int_equal(line, 0);
	assert_int_equal(col, 0);
	assert_int_equal(ydoc_pos_index(&l.d[0], list, 2, &line, &col), -ENOENT);
	assert_int_equal(ydoc_pos_key(&l.d[0], list, "cidr", &line, &col), -ENOENT);
	assert_int_equal(ydoc_pos_key(NULL, spec, "cidr", &line, &col), -ENOENT);
	assert_int_equal(line, 0);
	assert_int_equal(ydoc_pos_index(NULL, list, 0, &line, &col), -ENOENT);
	unload(&l);
}

static void test_multi_doc(void **state)
{
	struct loaded l;
	int line, col;

	(void)state;
	load(&l, "---\n---\na: 1\n---\n# only a comment\n...\n---\n- x\n- y\n---\nnull\n");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.d[0].line, 3);
	assert_int_equal(l.d[1].line, 8);
	assert_true(json_is_array(l.d[1].root));
	/* each document has its own table */
	assert_int_equal(ydoc_pos_index(&l.d[1], l.d[1].root, 1, &line, &col), 0);
	assert_int_equal(line, 9);
	assert_int_equal(ydoc_pos_key(&l.d[1], l.d[0].root, "a", &line, &col), -ENOENT);
	unload(&l);

	load(&l, "");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.n, 0);
	unload(&l);

	load(&l, "# nothing\n");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.n, 0);
	unload(&l);
}

static void test_duplicate_key(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.e.n, 1);
	assert_string_equal(l.e.msg[0], "t.yaml:5:3: duplicate key \"c\"");
	unload(&l);
}

static void test_syntax_error(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "a: 1\nb: 2\n  c: 3\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	assert_null(l.d);
	assert_int_equal(l.e.n, 1);
	print_errs(&l.e);
	assert_string_equal(l.e.msg[0],
			    "t.yaml:3:4: mapping values are not allowed in this context");
	unload(&l);

	load(&l, "a: [1, 2\nb: 3\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.e.n, 1);
	assert_non_null(strstr(l.e.msg[0], "t.yaml:2:2: did not find expected ',' or ']'"));
	unload(&l);

	load(&l, "a: \"unterminated\n");
	assert_int_equal(l.r, -EINVAL);
	assert_true(has_err(&l.e, "t.yaml:2:1: found unexpected end of stream"));
	unload(&l);

	/* invalid UTF-8: only a byte offset from libyaml, turned into line:col */
	load(&l, "a: ok\nb: \"x\xff\"\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.e.n, 1);
	assert_non_null(strstr(l.e.msg[0], "t.yaml:2:6: invalid"));
	unload(&l);
}

static void test_refusals_all_reported(void **state)
{
	struct loaded l;

	(void)state;
	load(&l, "a: &anc 1\n"
		 "b: *anc\n"
		 "? [x]\n"
		 ": 2\n"
		 "c: 3\n"
		 "c: 4\n"
		 "? {k: v}\n"
		 ": 5\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	print_errs(&l.e);
	assert_int_equal(l.e.n, 5);
	assert_string_equal(l.e.msg[0], "t.yaml:1:4: anchors (&anc) are not supported");
	assert_string_equal(l.e.msg[1], "t.yaml:2:4: aliases (*anc) are not supported");
	assert_string_equal(l.e.msg[2], "t.yaml:3:3: a key must be a string, not a sequence");
	assert_string_equal(l.e.msg[3], "t.yaml:6:1: duplicate key \"c\"");
	assert_string_equal(l.e.msg[4], "t.yaml:7:3: a key must be a string, not a mapping");
	unload(&l);

	/* an error in one document fails the whole stream */
	load(&l, "a: 1\n---\nb: *x\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	unload(&l);

	/* a NUL escaped into a key */
	load(&l, "\"a\\0b\": 1\n");
	assert_int_equal(l.r, -EINVAL);
	assert_true(has_err(&l.e, "t.yaml:1:1: a key must not contain a NUL"));
	unload(&l);
}

static char *nested(int depth)
{
	char *s = malloc((size_t)depth * 2 + 2);

	for (int i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth + i] = ']';
	}
	s[2 * depth] = '\n';
	s[2 * depth + 1] = '\0';
	return s;
}

static void test_depth_cap(void **state)
{
	struct loaded l;
	char *s;

	(void)state;
	s = nested(64);
	load(&l, s);
	assert_int_equal(l.r, 0);
	assert_int_equal(l.n, 1);
	unload(&l);
	free(s);

	s = nested(65);
	load(&l, s);
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	assert_true(has_err(&l.e, "t.yaml:1:65: nested deeper than 64 levels"));
	unload(&l);
	free(s);

	s = nested(100000);	/* no stack trouble either */
	load(&l, s);
	assert_int_equal(l.r, -EINVAL);
	unload(&l);
	free(s);
}

static char *flow_list(size_t items)
{
	char *s = malloc(items * 2 + 4), *p = s;

	*p++ = '[';
	for (size_t i = 0; i < items; i++) {
		*p++ = '1';
		*p++ = ',';
	}
	p[-1] = ']';
	*p++ = '\n';
	*p = '\0';
	return s;
}

static void test_node_cap(void **state)
{
	struct loaded l;
	char *s;

	(void)state;
	s = flow_list(99999);	/* + the list itself = 100,000 nodes */
	load(&l, s);
	assert_int_equal(l.r, 0);
	assert_int_equal(json_array_size(l.d[0].root), 99999);
	unload(&l);
	free(s);

	s = flow_list(100000);
	load(&l, s);
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.n, 0);
	assert_true(has_err(&l.e, "more than 100000 nodes"));
	unload(&l);
	free(s);
}

static void test_not_nul_terminated(void **state)
{
	const char text[] = "a: 1\nb: 2";
	char *buf = malloc(sizeof(text) - 1 + 16);
	struct ydoc *d;
	struct errs e = ERRS_INIT;
	size_t n;

	(void)state;
	memcpy(buf, text, sizeof(text) - 1);
	memcpy(buf + sizeof(text) - 1, "\n: : [[[ {{{ xx", 16);
	assert_int_equal(yaml_load("t", buf, sizeof(text) - 1, &d, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(json_integer_value(json_object_get(d[0].root, "b")), 2);
	assert_int_equal(json_object_size(d[0].root), 2);
	ydocs_free(d, n);
	free(buf);
	ydocs_free(NULL, 0);
}

/* load(dump(v)) must equal v. */
static void assert_round_trip(const json_t *v)
{
	struct loaded l;
	char *y = yaml_dump(v), *y2;

	assert_non_null(y);
	load(&l, y);
	if (l.r != 0 || l.n != 1 || !json_equal(l.d[0].root, (json_t *)v)) {
		char *j = json_dumps(v, JSON_ENCODE_ANY);

		print_message("tree: %s\ndump:\n%s\n", j, y);
		print_errs(&l.e);
		free(j);
		fail();
	}
	/* and the dump of what was read back is the same text */
	y2 = yaml_dump(l.d[0].root);
	assert_string_equal(y, y2);
	free(y2);
	unload(&l);
	free(y);
}

static void test_dump_text(void **state)
{
	json_t *v;
	char *y;

	(void)state;
	v = json_pack("{s:s, s:{s:s, s:i, s:b, s:n, s:[s, s], s:{}, s:[]}}",
		      "apiVersion", "petrel/v1", "spec", "cidr", "10.0.0.0/24",
		      "blockSize", 26, "nat", 1, "sel", "list", "123", "a b",
		      "empty", "none");
	y = yaml_dump(v);
	assert_string_equal(y, "apiVersion: petrel/v1\n"
			       "spec:\n"
			       "  cidr: 10.0.0.0/24\n"
			       "  blockSize: 26\n"
			       "  nat: true\n"
			       "  sel: null\n"
			       "  list:\n"
			       "  - \"123\"\n"
			       "  - a b\n"
			       "  empty: {}\n"
			       "  none: []\n");
	free(y);
	json_decref(v);

	/* strings that read as something else are quoted */
	v = json_pack("[s,s,s,s,s,s,s,s,s]", "true", "null", "", " lead", "trail ",
		      "~", "yes", "1.5", "0x1f");
	y = yaml_dump(v);
	assert_string_equal(y, "- \"true\"\n- \"null\"\n- \"\"\n- \" lead\"\n- \"trail \"\n"
			       "- \"~\"\n- \"yes\"\n- \"1.5\"\n- \"0x1f\"\n");
	free(y);
	json_decref(v);
}

static void test_round_trip_cases(void **state)
{
	static const char *strings[] = {
		"", " ", "true", "False", "NULL", "~", "-", "- x", "? x", ": x", "a: b",
		"#x", "x #y", "@x", "`x", "!x", "&x", "*x", "|", ">", "%x", "'", "\"",
		"123", "-5", "+5", "007", "1e3", "1.5", ".5", "0x1f", "0o7", "12:30",
		"1_000", ".inf", "-.Inf", ".nan", "yes", "No", "on", "OFF", "y", "n",
		"<<", "=", "multi\nline", "trailing\n", "\n", "tab\there", "cr\rlf",
		"nul\0byte", "unicode é ✓ 😀", "\xc2\x85next line", "\xe2\x80\xa8ls",
		"[x]", "{x}", "x,y", "---", "...", "--- x", "a\\b", "long "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	size_t nstr = sizeof(strings) / sizeof(strings[0]);
	json_t *obj = json_object(), *arr = json_array(), *v;

	(void)state;
	for (size_t i = 0; i < nstr; i++) {
		size_t n = strlen(strings[i]);

		if (i == 50)	/* "nul\0byte": keep its NUL */
			n = 8;
		v = json_stringn(strings[i], n);
		assert_non_null(v);
		json_array_append_new(arr, json_incref(v));
		/* keys cannot hold a NUL: that is refused on load */
		if (!memchr(strings[i], '\0', n))
			json_object_set_new(obj, strings[i], json_incref(v));
		json_decref(v);
	}
	json_array_append_new(arr, json_integer(INT64_MIN));
	json_array_append_new(arr, json_integer(INT64_MAX));
	json_array_append_new(arr, json_integer(0));
	json_array_append_new(arr, json_real(1.5));
	json_array_append_new(arr, json_real(-0.1));
	json_array_append_new(arr, json_real(1e300));
	json_array_append_new(arr, json_real(3.0));
	json_array_append_new(arr, json_true());
	json_array_append_new(arr, json_false());
	json_array_append_new(arr, json_null());
	json_array_append_new(arr, json_object());
	json_array_append_new(arr, json_array());
	json_array_append_new(arr, json_pack("[[[]], {s:{}}]", "a"));
	assert_round_trip(arr);
	assert_round_trip(obj);
	json_object_set_new(obj, "nested", arr);
	assert_round_trip(obj);
	json_decref(obj);

	v = json_string("top-level scalar");
	assert_round_trip(v);
	json_decref(v);
	v = json_integer(7);
	assert_round_trip(v);
	json_decref(v);
}

/* A small deterministic generator of trees: strings from an alphabet heavy
 * in YAML's special characters. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static json_t *gen_string(void)
{
	static const char *atoms[] = {
		"a", "Z", "0", "9", " ", "-", ":", "#", "?", "'", "\"", "\\", "\n", "\t",
		"[", "]", "{", "}", ",", "&", "*", "!", "|", ">", "%", "@", "`", ".",
		"true", "null", "~", "yes", "1", "1.5", "é", "✓", "\r", "+",
	};
	char buf[128] = "";
	size_t n = rnd(8);

	for (size_t i = 0; i < n; i++)
		strcat(buf, atoms[rnd(sizeof(atoms) / sizeof(atoms[0]))]);
	return json_string(buf);
}

static json_t *gen(int depth)
{
	uint32_t t = rnd(depth > 3 ? 6 : 8);

	switch (t) {
	case 0: return json_integer((json_int_t)rnd(2000000) - 1000000);
	case 1: return rnd(2) ? json_true() : json_false();
	case 2: return json_null();
	case 3: return json_real((double)rnd(100000) / 64.0);
	case 4:
	case 5: return gen_string();
	case 6: {
		json_t *a = json_array();

		for (uint32_t i = rnd(4); i > 0; i--)
			json_array_append_new(a, gen(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object(), *k;

		for (uint32_t i = rnd(5); i > 0; i--) {
			k = gen_string();
			json_object_set_new(o, json_string_value(k), gen(depth + 1));
			json_decref(k);
		}
		return o;
	}
	}
}

static void test_round_trip_generated(void **state)
{
	(void)state;
	for (int i = 0; i < 2000; i++) {
		json_t *v = gen(0);

		if (!json_is_null(v))
			assert_round_trip(v);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_multi_doc),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_refusals_all_reported),
		cmocka_unit_test(test_depth_cap),
		cmocka_unit_test(test_node_cap),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_dump_text),
		cmocka_unit_test(test_round_trip_cases),
		cmocka_unit_test(test_round_trip_generated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
