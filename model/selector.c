/*
 * selector: Calico's label-selector language (contract: selector.h).
 *
 * A recursive-descent parser straight over the text (no token list):
 *
 *   or      := and ( "||" and )*
 *   and     := unary ( "&&" unary )*
 *   unary   := "!"* primary
 *   primary := "(" or ")" | "all" "(" ")" | "has" "(" KEY ")"
 *            | KEY op
 *   op      := ("==" | "!=" | "contains" | "starts" "with" | "ends" "with") STRING
 *            | ("in" | "not" "in") "{" [ STRING ("," STRING)* ] "}"
 *
 * A word is a key, a function or an operator by where it stands, so labels
 * may be named "in" or "all". Blanks (space, tab, CR, LF) separate tokens.
 *
 * The tree is kept normalised, so that one tree has one spelling and the
 * canonical text parses back to the same tree:
 * - `&&` and `||` nodes are n-ary and never hold a child of their own kind
 *   (a || (b || c) is one OR of three);
 * - `!` is folded into its operand where the language has the opposite
 *   (!(k == "v") is k != "v", !(k in S) is k not in S, !!E is E), so a NOT
 *   node holds only all(), has(), contains, starts/ends with, && or ||;
 * - `in` sets are sorted and unique.
 *
 * Strings hold only what a label value may hold ([A-Za-z0-9._-], at most 63
 * characters): anything else could never match, and is more likely a typo
 * than a wish. `==`, `!=` and `in` need whole valid label values.
 *
 * Bounds: the text at most SELECTOR_MAX bytes, at most SELECTOR_DEPTH_MAX
 * nested parentheses (checked before recursing: `!` is counted in a loop,
 * not by recursion), and the canonical text at most SELECTOR_MAX bytes too
 * (it can be up to ~1.6 times longer than a terse input: `a==""&&` grows to
 * `a == "" && `), so that whatever parses, its canonical text parses too.
 * The tree's depth is at most about three nodes per parenthesis, so
 * matching, printing and freeing recurse a bounded depth.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/selector.h"

#define VALUE_MAX 63		/* a label value's length limit */
#define KEY_MAX 317		/* a label key: 253 (prefix) + '/' + 63 */

enum sel_op {
	SEL_ALL, SEL_HAS, SEL_EQ, SEL_NE, SEL_IN, SEL_NOTIN,
	SEL_CONTAINS, SEL_STARTS, SEL_ENDS, SEL_NOT, SEL_AND, SEL_OR,
};

struct selector {
	enum sel_op op;
	char *key;		/* SEL_HAS .. SEL_ENDS */
	size_t n_vals;		/* EQ .. ENDS: 1; IN, NOTIN: 0 or more */
	char **vals;
	size_t n_kids;		/* NOT: 1; AND, OR: 2 or more */
	struct selector **kids;
};

struct parser {
	const char *s;
	size_t len, pos;
	int depth;		/* parentheses open around pos */
	int rc;			/* 0, or the first error (then err is filled) */
	struct selector_err *err;
};

/* ------------------------------------------------------------- the tree */

void selector_free(struct selector *s)
{
	if (!s)
		return;
	free(s->key);
	for (size_t i = 0; i < s->n_vals; i++)
		free(s->vals[i]);
	free(s->vals);
	for (size_t i = 0; i < s->n_kids; i++)
		selector_free(s->kids[i]);
	free(s->kids);
	free(s);
}

static struct selector *node_new(enum sel_op op)
{
	struct selector *s = calloc(1, sizeof(*s));

	if (s)
		s->op = op;
	return s;
}

/* Appends kid (taken) to s's children; -ENOMEM leaves kid to the caller. */
static int kid_add(struct selector *s, struct selector *kid)
{
	struct selector **k = realloc(s->kids, (s->n_kids + 1) * sizeof(*k));

	if (!k)
		return -ENOMEM;
	s->kids = k;
	s->kids[s->n_kids++] = kid;
	return 0;
}

/* Appends v (taken) to s's values; -ENOMEM leaves v to the caller. */
static int val_add(struct selector *s, char *v)
{
	char **n = realloc(s->vals, (s->n_vals + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->vals = n;
	s->vals[s->n_vals++] = v;
	return 0;
}

/* !s, folded where the language has the opposite (see the top comment).
 * Takes s; NULL on ENOMEM (s freed). */
static struct selector *node_negate(struct selector *s)
{
	struct selector *n;

	switch (s->op) {
	case SEL_EQ: s->op = SEL_NE; return s;
	case SEL_NE: s->op = SEL_EQ; return s;
	case SEL_IN: s->op = SEL_NOTIN; return s;
	case SEL_NOTIN: s->op = SEL_IN; return s;
	case SEL_NOT:
		n = s->kids[0];
		s->n_kids = 0;
		selector_free(s);
		return n;
	default:
		break;
	}
	n = node_new(SEL_NOT);
	if (!n || kid_add(n, s) < 0) {
		selector_free(n);
		selector_free(s);
		return NULL;
	}
	return n;
}

/* Adds kid (taken) to the AND/OR node s, splicing in kid's own children
 * when it is of s's kind. */
static int join_add(struct selector *s, struct selector *kid)
{
	int rc = 0;

	if (kid->op != s->op)
		return kid_add(s, kid);
	for (size_t i = 0; i < kid->n_kids && rc == 0; i++) {
		rc = kid_add(s, kid->kids[i]);
		if (rc == 0)
			kid->kids[i] = NULL;
	}
	selector_free(kid);	/* frees only children not moved */
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_sort_unique(struct selector *s)
{
	size_t w = 0;

	if (s->n_vals == 0)
		return;
	qsort(s->vals, s->n_vals, sizeof(*s->vals), str_cmp);
	for (size_t i = 1; i < s->n_vals; i++) {
		if (!strcmp(s->vals[i], s->vals[w]))
			free(s->vals[i]);
		else
			s->vals[++w] = s->vals[i];
	}
	s->n_vals = w + 1;
}

/* ---------------------------------------------------------------- lexing */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A label value's characters; the keys' too, with '/'. */
static bool is_value_char(char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '-';
}

static bool is_word_char(char c)
{
	return is_value_char(c) || c == '/';
}

static char peek(struct parser *p)
{
	while (p->pos < p->len && is_blank(p->s[p->pos]))
		p->pos++;
	return p->pos < p->len ? p->s[p->pos] : '\0';
}

static bool peek2(struct parser *p, const char *two)
{
	return peek(p) == two[0] && p->pos + 1 < p->len && p->s[p->pos + 1] == two[1];
}

/* Length of the word at pos (after blanks), 0 when none. */
static size_t word_len(struct parser *p)
{
	size_t n = 0;

	peek(p);
	while (p->pos + n < p->len && is_word_char(p->s[p->pos + n]))
		n++;
	return n;
}

/* Consumes the word at pos when it is w. */
static bool take_word(struct parser *p, const char *w)
{
	size_t n = word_len(p);

	if (n != strlen(w) || memcmp(p->s + p->pos, w, n))
		return false;
	p->pos += n;
	return true;
}

/* Records the first error only: later ones follow from it. */
__attribute__((format(printf, 3, 4)))
static void fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->rc)
		return;
	p->rc = -EINVAL;
	p->err->pos = (int)pos;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
}

static void fail_nomem(struct parser *p)
{
	if (p->rc)
		return;
	p->rc = -ENOMEM;
	p->err->pos = (int)p->pos;
	snprintf(p->err->msg, sizeof(p->err->msg), "out of memory");
}

/* ---------------------------------------------------------------- parsing */

static struct selector *parse_or(struct parser *p, const char *after);

/* A quoted string after `after` ("'=='"), its characters checked; returns
 * it malloc'd, or NULL (error recorded). *at: where it began. */
static char *parse_string(struct parser *p, const char *after, size_t *at)
{
	const char *end;
	char q = peek(p), *v;
	size_t n;

	*at = p->pos;
	if (q != '"' && q != '\'') {
		fail(p, p->pos, "expected a string after %s", after);
		return NULL;
	}
	end = memchr(p->s + p->pos + 1, q, p->len - p->pos - 1);
	if (!end) {
		fail(p, p->pos, "unclosed string");
		return NULL;
	}
	n = (size_t)(end - (p->s + p->pos + 1));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p->s[p->pos + 1 + i];

		if (is_value_char((char)c))
			continue;
		if (c >= ' ' && c < 0x7f)
			fail(p, p->pos + 1 + i, "'%c' cannot be in a label value "
			     "(letters, digits, '.', '_', '-')", c);
		else
			fail(p, p->pos + 1 + i, "byte 0x%02x cannot be in a label value "
			     "(letters, digits, '.', '_', '-')", c);
		return NULL;
	}
	if (n > VALUE_MAX) {
		fail(p, p->pos, "string longer than %d characters", VALUE_MAX);
		return NULL;
	}
	if (!(v = strndup(p->s + p->pos + 1, n))) {
		fail_nomem(p);
		return NULL;
	}
	p->pos += n + 2;
	return v;
}

/* A string that must be a whole label value (==, !=, in). */
static char *parse_value(struct parser *p, const char *after)
{
	size_t at;
	char *v = parse_string(p, after, &at);

	if (v && !labels_value_valid(v)) {
		fail(p, at, "invalid label value '%s'", v);
		free(v);
		return NULL;
	}
	return v;
}

/* The label key at pos (n > 0 bytes); malloc'd, or NULL (error recorded). */
static char *parse_key(struct parser *p, size_t n)
{
	char buf[KEY_MAX + 1], *k;

	if (n > KEY_MAX) {
		fail(p, p->pos, "label key longer than %d characters", KEY_MAX);
		return NULL;
	}
	memcpy(buf, p->s + p->pos, n);
	buf[n] = '\0';
	if (!labels_key_valid(buf)) {
		fail(p, p->pos, "invalid label key '%.60s'", buf);
		return NULL;
	}
	if (!(k = strdup(buf))) {
		fail_nomem(p);
		return NULL;
	}
	p->pos += n;
	return k;
}

/* { "a", "b" } into s (IN or NOTIN), after `after`. */
static int parse_set(struct parser *p, struct selector *s, const char *after)
{
	size_t brace;
	char *v;

	if (peek(p) != '{') {
		fail(p, p->pos, "expected '{' after %s", after);
		return p->rc;
	}
	brace = p->pos++;
	if (peek(p) == '}') {
		p->pos++;
		return 0;
	}
	for (after = "'{'";; after = "','") {
		if (!(v = parse_value(p, after)))
			return p->rc;
		if (val_add(s, v) < 0) {
			free(v);
			fail_nomem(p);
			return p->rc;
		}
		if (peek(p) == ',') {
			p->pos++;
		} else if (peek(p) == '}') {
			p->pos++;
			break;
		} else {
			if (p->pos >= p->len)
				fail(p, brace, "unclosed '{'");
			else
				fail(p, p->pos, "expected ',' or '}' in a set");
			return p->rc;
		}
	}
	set_sort_unique(s);
	return 0;
}

/* The operator and operand after a key; s->key is set. */
static int parse_op(struct parser *p, struct selector *s)
{
	bool starts;
	size_t at;
	char *v;

	if (peek2(p, "==") || peek2(p, "!=")) {
		s->op = p->s[p->pos] == '=' ? SEL_EQ : SEL_NE;
		p->pos += 2;
		v = parse_value(p, s->op == SEL_EQ ? "'=='" : "'!='");
	} else if (take_word(p, "in")) {
		s->op = SEL_IN;
		return parse_set(p, s, "'in'");
	} else if (take_word(p, "not")) {
		s->op = SEL_NOTIN;
		if (!take_word(p, "in")) {
			fail(p, p->pos, "expected 'in' after 'not'");
			return p->rc;
		}
		return parse_set(p, s, "'not in'");
	} else if (take_word(p, "contains")) {
		s->op = SEL_CONTAINS;
		v = parse_string(p, "'contains'", &at);
	} else if ((starts = take_word(p, "starts")) || take_word(p, "ends")) {
		s->op = starts ? SEL_STARTS : SEL_ENDS;
		if (!take_word(p, "with")) {
			fail(p, p->pos, "expected 'with' after '%s'",
			     s->op == SEL_STARTS ? "starts" : "ends");
			return p->rc;
		}
		v = parse_string(p, s->op == SEL_STARTS ? "'starts with'" : "'ends with'", &at);
	} else {
		if (peek(p) == '=')
			fail(p, p->pos, "expected '==', not '='");
		else
			fail(p, p->pos, "expected an operator after the key (==, !=, in, "
			     "not in, contains, starts with, ends with)");
		return p->rc;
	}
	if (!v)
		return p->rc;
	if (val_add(s, v) < 0) {
		free(v);
		fail_nomem(p);
	}
	return p->rc;
}

/* all() or has(KEY): the name (n bytes) is at pos, '(' after it. */
static struct selector *parse_func(struct parser *p, size_t n)
{
	struct selector *s;
	size_t name = p->pos;
	enum sel_op op;

	if (n == 3 && !memcmp(p->s + name, "all", 3)) {
		op = SEL_ALL;
	} else if (n == 3 && !memcmp(p->s + name, "has", 3)) {
		op = SEL_HAS;
	} else {
		fail(p, name, "unknown function '%.*s'", (int)(n > 40 ? 40 : n), p->s + name);
		return NULL;
	}
	p->pos += n;
	peek(p);
	p->pos++;	/* the '(' */
	if (!(s = node_new(op))) {
		fail_nomem(p);
		return NULL;
	}
	if (op == SEL_HAS) {
		if (!(n = word_len(p))) {
			fail(p, p->pos, "expected a label key after 'has('");
			goto err;
		}
		if (!(s->key = parse_key(p, n)))
			goto err;
	}
	if (peek(p) != ')') {
		fail(p, p->pos, op == SEL_HAS ? "expected ')' after the key in has()"
		     : "expected ')' after 'all(' (all() takes no arguments)");
		goto err;
	}
	p->pos++;
	return s;
err:
	selector_free(s);
	return NULL;
}

/* ( E ) */
static struct selector *parse_group(struct parser *p)
{
	struct selector *s;
	size_t open = p->pos;

	/* before recursing, so that the stack stays bounded */
	if (p->depth >= SELECTOR_DEPTH_MAX) {
		fail(p, open, "parentheses nested deeper than %d", SELECTOR_DEPTH_MAX);
		return NULL;
	}
	p->pos++;
	p->depth++;
	s = parse_or(p, "'('");
	p->depth--;
	if (!s)
		return NULL;
	if (peek(p) == ')') {
		p->pos++;
		return s;
	}
	if (p->pos >= p->len)
		fail(p, open, "unclosed '('");
	else
		fail(p, p->pos, "expected '&&', '||' or ')'");
	selector_free(s);
	return NULL;
}

static struct selector *parse_primary(struct parser *p, const char *after)
{
	struct selector *s;
	size_t n, save;
	char c = peek(p);

	if (c == '(')
		return parse_group(p);
	if (!(n = word_len(p))) {
		if (after)
			fail(p, p->pos, "expected an expression after %s", after);
		else
			fail(p, p->pos, "expected an expression");
		return NULL;
	}
	save = p->pos;
	p->pos += n;
	c = peek(p);
	p->pos = save;
	if (c == '(')
		return parse_func(p, n);
	if (!(s = node_new(SEL_EQ))) {
		fail_nomem(p);
		return NULL;
	}
	if (!(s->key = parse_key(p, n)) || parse_op(p, s) < 0) {
		selector_free(s);
		return NULL;
	}
	return s;
}

static struct selector *parse_unary(struct parser *p, const char *after)
{
	struct selector *s;
	bool neg = false;

	/* a loop, not recursion: "!!!!..." costs no stack */
	while (peek(p) == '!' && !peek2(p, "!=")) {
		neg = !neg;
		p->pos++;
		after = "'!'";
	}
	s = parse_primary(p, after);
	if (s && neg && !(s = node_negate(s)))
		fail_nomem(p);
	return s;
}

/* One level of `a OP b OP c`: OR over ANDs, AND over unaries. */
static struct selector *parse_join(struct parser *p, enum sel_op op, const char *after)
{
	const char *tok = op == SEL_OR ? "||" : "&&";
	const char *next = op == SEL_OR ? "'||'" : "'&&'";
	struct selector *first, *kid, *s;

	first = op == SEL_OR ? parse_join(p, SEL_AND, after) : parse_unary(p, after);
	if (!first || !peek2(p, tok))
		return first;
	if (!(s = node_new(op)) || join_add(s, first) < 0) {
		selector_free(s);
		selector_free(first);
		fail_nomem(p);
		return NULL;
	}
	while (peek2(p, tok)) {
		p->pos += 2;
		kid = op == SEL_OR ? parse_join(p, SEL_AND, next) : parse_unary(p, next);
		if (!kid)
			goto err;
		if (join_add(s, kid) < 0) {
			fail_nomem(p);
			goto err;
		}
	}
	return s;
err:
	selector_free(s);
	return NULL;
}

static struct selector *parse_or(struct parser *p, const char *after)
{
	return parse_join(p, SEL_OR, after);
}

/* ---------------------------------------------------------- canonical text */

struct sbuf {
	char *p;
	size_t len, cap;
	bool nomem;
};

static void put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->nomem)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(np = realloc(b->p, cap))) {
			b->nomem = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static void put_quoted(struct sbuf *b, const char *s)
{
	put(b, "\"");
	put(b, s);	/* no quotes inside: strings hold label-value characters */
	put(b, "\"");
}

static void canon_write(struct sbuf *b, const struct selector *s);

/* A child of `parent`, in parentheses only where the grammar needs them. */
static void canon_kid(struct sbuf *b, enum sel_op parent, const struct selector *kid)
{
	bool paren = (kid->op == SEL_OR && parent != SEL_OR) ||
		     (kid->op == SEL_AND && parent == SEL_NOT);

	if (paren)
		put(b, "(");
	canon_write(b, kid);
	if (paren)
		put(b, ")");
}

static void canon_write(struct sbuf *b, const struct selector *s)
{
	static const char *const ops[] = {
		[SEL_EQ] = " == ", [SEL_NE] = " != ", [SEL_IN] = " in {",
		[SEL_NOTIN] = " not in {", [SEL_CONTAINS] = " contains ",
		[SEL_STARTS] = " starts with ", [SEL_ENDS] = " ends with ",
	};

	switch (s->op) {
	case SEL_ALL:
		put(b, "all()");
		break;
	case SEL_HAS:
		put(b, "has(");
		put(b, s->key);
		put(b, ")");
		break;
	case SEL_IN:
	case SEL_NOTIN:
		put(b, s->key);
		put(b, ops[s->op]);
		for (size_t i = 0; i < s->n_vals; i++) {
			if (i)
				put(b, ", ");
			put_quoted(b, s->vals[i]);
		}
		put(b, "}");
		break;
	case SEL_EQ: case SEL_NE: case SEL_CONTAINS: case SEL_STARTS: case SEL_ENDS:
		put(b, s->key);
		put(b, ops[s->op]);
		put_quoted(b, s->vals[0]);
		break;
	case SEL_NOT:
		put(b, "!");
		canon_kid(b, s->op, s->kids[0]);
		break;
	case SEL_AND:
	case SEL_OR:
		for (size_t i = 0; i < s->n_kids; i++) {
			if (i)
				put(b, s->op == SEL_AND ? " && " : " || ");
			canon_kid(b, s->op, s->kids[i]);
		}
		break;
	}
}

char *selector_canon(const struct selector *s)
{
	struct sbuf b = { 0 };

	if (!s) {
		put(&b, "all()");
	} else {
		put(&b, "");	/* "" for nothing else: a tree always prints */
		canon_write(&b, s);
	}
	if (b.nomem) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ------------------------------------------------------------- public API */

int selector_parse(const char *text, struct selector **out,
		   struct selector_err *err)
{
	struct selector_err dummy;
	struct parser p = { .s = text ? text : "", .err = err ? err : &dummy };
	struct selector *s = NULL;
	char *canon;

	*out = NULL;
	p.err->pos = 0;
	p.err->msg[0] = '\0';
	p.len = strnlen(p.s, SELECTOR_MAX + 1);
	if (p.len > SELECTOR_MAX) {
		fail(&p, SELECTOR_MAX, "selector longer than %d bytes", SELECTOR_MAX);
		return p.rc;
	}
	if (peek(&p) == '\0') {
		s = node_new(SEL_ALL);
		if (!s)
			fail_nomem(&p);
		goto out;
	}
	if (!(s = parse_or(&p, NULL)))
		goto out;
	if (peek(&p) == ')')
		fail(&p, p.pos, "unmatched ')'");
	else if (p.pos < p.len)
		fail(&p, p.pos, "expected '&&', '||' or the end");
	if (p.rc)
		goto out;
	/* the canonical text must parse too (see the top comment) */
	if (!(canon = selector_canon(s))) {
		fail_nomem(&p);
	} else {
		if (strlen(canon) > SELECTOR_MAX)
			fail(&p, 0, "selector too long: its canonical form has %zu bytes "
			     "(at most %d)", strlen(canon), SELECTOR_MAX);
		free(canon);
	}
out:
	if (p.rc) {
		selector_free(s);
		return p.rc;
	}
	*out = s;
	return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && !memcmp(s + n - m, suf, m);
}

bool selector_match(const struct selector *s, const struct labels *l)
{
	const char *v = NULL;

	if (!s)
		return true;	/* no selector: all() */
	if (s->key && l)
		v = labels_get(l, s->key);
	switch (s->op) {
	case SEL_ALL: return true;
	case SEL_HAS: return v != NULL;
	case SEL_EQ: return v && !strcmp(v, s->vals[0]);
	case SEL_NE: return !v || strcmp(v, s->vals[0]);	/* Calico: absent != any */
	case SEL_IN:
	case SEL_NOTIN: {
		bool in = v && s->n_vals &&
			  bsearch(&v, s->vals, s->n_vals, sizeof(*s->vals), str_cmp);

		return s->op == SEL_IN ? in : !in;
	}
	case SEL_CONTAINS: return v && strstr(v, s->vals[0]);
	case SEL_STARTS: return v && !strncmp(v, s->vals[0], strlen(s->vals[0]));
	case SEL_ENDS: return v && has_suffix(v, s->vals[0]);
	case SEL_NOT: return !selector_match(s->kids[0], l);
	case SEL_AND:
		for (size_t i = 0; i < s->n_kids; i++)
			if (!selector_match(s->kids[i], l))
				return false;
		return true;
	case SEL_OR:
		for (size_t i = 0; i < s->n_kids; i++)
			if (selector_match(s->kids[i], l))
				return true;
		return false;
	}
	return false;
}

bool selector_is_all(const struct selector *s)
{
	return !s || s->op == SEL_ALL;
}

int selector_match_text(const char *text, const struct labels *l)
{
	struct selector *s;
	int rc;

	if (!text)
		return 1;
	rc = selector_parse(text, &s, NULL);
	if (rc < 0)
		return rc;
	rc = selector_match(s, l);
	selector_free(s);
	return rc;
}
