/*
 * yamljson: YAML streams to jansson trees and back (see yamljson.h).
 *
 * Loading walks libyaml's *event* stream (never its recursive document
 * loader) with a recursive descent whose depth is capped at YJ_MAX_DEPTH, and
 * counts every node against YJ_MAX_NODES, so hostile input is bounded in
 * stack and memory. Scalars are resolved by a small subset of the YAML 1.2
 * core schema: plain decimal integers that fit in int64, true/false, null
 * (~, empty); anything else, and every quoted scalar, is a string. Errors that
 * leave the stream readable (an anchor, an alias, an unknown tag, a non-scalar
 * or duplicate key) are all collected and the load goes on, so the user sees
 * every one; a syntax error, the depth cap or the node cap stop the load.
 * A failed load returns nothing at all.
 *
 * Positions live beside the tree, in a hash table keyed by (container
 * pointer, key) or (container pointer, index): jansson shares its true,
 * false and null singletons, so a value's own pointer cannot identify it.
 * Each entry holds the value's mark and, for mappings, its key's mark.
 *
 * Dumping is in yaml_dump.c; the scalar resolution both share is in
 * yj_impl.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/yamljson.h"
#include "common/yj_impl.h"

#define YJ_MAX_DEPTH 64
#define YJ_MAX_NODES 100000

#define TAG_STR   "tag:yaml.org,2002:str"
#define TAG_INT   "tag:yaml.org,2002:int"
#define TAG_BOOL  "tag:yaml.org,2002:bool"
#define TAG_NULL  "tag:yaml.org,2002:null"
#define TAG_MAP   "tag:yaml.org,2002:map"
#define TAG_SEQ   "tag:yaml.org,2002:seq"

/* ---------------------------------------------------------------- positions */

struct yent {
	const json_t *c;	/* the container */
	size_t key;		/* 1 + offset of the key in keys[]; 0 = index entry */
	size_t idx;
	int vline, vcol;	/* the value */
	int kline, kcol;	/* its key (mappings) */
	size_t next;		/* 1-based next entry of the bucket chain; 0 = end */
};

struct ypos {
	struct yent *v;
	size_t n, cap;
	char *keys;
	size_t klen, kcap;
	size_t *bucket;		/* 1-based entry indices; nbucket a power of two */
	size_t nbucket;
};

static uint64_t ypos_hash(const json_t *c, const char *key, size_t idx)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)c;

	h *= 1099511628211ull;
	if (key) {
		for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
			h ^= *p;
			h *= 1099511628211ull;
		}
	} else {
		h ^= (uint64_t)idx + 0x9e3779b97f4a7c15ull;
		h *= 1099511628211ull;
	}
	return h ^ (h >> 29);
}

static void ypos_free(struct ypos *p)
{
	if (!p)
		return;
	free(p->v);
	free(p->keys);
	free(p->bucket);
	free(p);
}

static int ypos_add(struct ypos *p, const json_t *c, const char *key, size_t idx,
		    int vline, int vcol, int kline, int kcol)
{
	struct yent *en;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct yent *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	en = &p->v[p->n];
	memset(en, 0, sizeof(*en));
	if (key) {
		size_t kl = strlen(key) + 1;

		if (p->klen + kl > p->kcap) {
			size_t cap = p->kcap ? p->kcap : 256;
			char *k;

			while (cap < p->klen + kl)
				cap *= 2;
			k = realloc(p->keys, cap);
			if (!k)
				return -ENOMEM;
			p->keys = k;
			p->kcap = cap;
		}
		memcpy(p->keys + p->klen, key, kl);
		en->key = p->klen + 1;
		p->klen += kl;
	}
	en->c = c;
	en->idx = idx;
	en->vline = vline;
	en->vcol = vcol;
	en->kline = kline;
	en->kcol = kcol;
	p->n++;
	return 0;
}

/* Builds the hash index once the document is complete. */
static int ypos_index(struct ypos *p)
{
	size_t nb = 16;

	while (nb < p->n * 2)
		nb *= 2;
	p->bucket = calloc(nb, sizeof(*p->bucket));
	if (!p->bucket)
		return -ENOMEM;
	p->nbucket = nb;
	for (size_t i = 0; i < p->n; i++) {
		struct yent *en = &p->v[i];
		size_t b = ypos_hash(en->c, en->key ? p->keys + en->key - 1 : NULL,
				     en->idx) & (nb - 1);

		en->next = p->bucket[b];
		p->bucket[b] = i + 1;
	}
	return 0;
}

static const struct yent *ypos_find(const struct ypos *p, const json_t *c,
				    const char *key, size_t idx)
{
	size_t i;

	if (!p || !p->nbucket || !c)
		return NULL;
	i = p->bucket[ypos_hash(c, key, idx) & (p->nbucket - 1)];
	while (i) {
		const struct yent *en = &p->v[i - 1];

		if (en->c == c) {
			if (key && en->key && !strcmp(p->keys + en->key - 1, key))
				return en;
			if (!key && !en->key && en->idx == idx)
				return en;
		}
		i = en->next;
	}
	return NULL;
}

int ydoc_pos_key(const struct ydoc *doc, const json_t *container,
		 const char *key, int *line, int *col)
{
	const struct yent *en = key && doc ? ypos_find(doc->pos, container, key, 0) : NULL;

	*line = en ? en->vline : 0;
	*col = en ? en->vcol : 0;
	return en ? 0 : -ENOENT;
}

int ydoc_pos_keyname(const struct ydoc *doc, const json_t *container,
		     const char *key, int *line, int *col)
{
	const struct yent *en = key && doc ? ypos_find(doc->pos, container, key, 0) : NULL;

	*line = en ? en->kline : 0;
	*col = en ? en->kcol : 0;
	return en ? 0 : -ENOENT;
}

int ydoc_pos_index(const struct ydoc *doc, const json_t *container,
		   size_t index, int *line, int *col)
{
	const struct yent *en = doc ? ypos_find(doc->pos, container, NULL, index) : NULL;

	*line = en ? en->vline : 0;
	*col = en ? en->vcol : 0;
	return en ? 0 : -ENOENT;
}

/* ------------------------------------------------------------------ loading */

struct loader {
	yaml_parser_t p;
	const char *file;
	const char *buf;
	size_t len;
	struct errs *e;
	size_t nerr;		/* errors reported (errs may drop some on ENOMEM) */
	size_t nodes;
	struct ypos *pos;	/* of the document being read */
};

#define MARK_LINE(m) ((int)((m).line < INT_MAX ? (m).line + 1 : INT_MAX))
#define MARK_COL(m)  ((int)((m).column < INT_MAX ? (m).column + 1 : INT_MAX))

__attribute__((format(printf, 4, 5)))
static void lerr(struct loader *L, int line, int col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->nerr++;
	if (L->e)
		errs_addpos(L->e, L->file ? L->file : "-", line, col, "%s", msg);
}

/* Reader errors carry only a byte offset: turn it into line:col. */
static void offset_pos(const struct loader *L, size_t off, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < off && i < L->len; i++) {
		if (L->buf[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)L->buf[i] & 0xc0) != 0x80) {
			c++;
		}
		if (l == INT_MAX || c == INT_MAX)
			break;
	}
	*line = l;
	*col = c;
}

/* The next event; on failure reports libyaml's problem and returns < 0. */
static int next_event(struct loader *L, yaml_event_t *ev)
{
	const yaml_parser_t *p = &L->p;
	int line, col;

	if (yaml_parser_parse(&L->p, ev))
		return 0;
	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		offset_pos(L, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			lerr(L, line, col, "%s (#%X)", p->problem ? p->problem : "invalid input",
			     (unsigned)p->problem_value);
		else
			lerr(L, line, col, "%s", p->problem ? p->problem : "invalid input");
		return -EINVAL;
	}
	line = MARK_LINE(p->problem_mark);
	col = MARK_COL(p->problem_mark);
	if (p->context)
		lerr(L, line, col, "%s (%s at %d:%d)",
		     p->problem ? p->problem : "syntax error", p->context,
		     MARK_LINE(p->context_mark), MARK_COL(p->context_mark));
	else
		lerr(L, line, col, "%s", p->problem ? p->problem : "syntax error");
	return -EINVAL;
}

static bool is_int(const char *s, size_t n, json_int_t *out)
{
	size_t i = 0;
	long long v;
	char *end;

	if (n && (s[0] == '-' || s[0] == '+'))
		i++;
	if (i == n || n > 24)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || (size_t)(end - s) != n)
		return false;
	*out = v;
	return true;
}

bool yj_word_in(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (strlen(*words) == n && !memcmp(s, *words, n))
			return true;
	return false;
}

static const char *const true_words[] = { "true", "True", "TRUE", NULL };
static const char *const false_words[] = { "false", "False", "FALSE", NULL };
static const char *const null_words[] = { "null", "Null", "NULL", "~", NULL };

/* What a plain scalar reads as. */
json_t *yj_resolve_plain(const char *s, size_t n)
{
	json_int_t i;

	if (n == 0 || yj_word_in(s, n, null_words))
		return json_null();
	if (yj_word_in(s, n, true_words))
		return json_true();
	if (yj_word_in(s, n, false_words))
		return json_false();
	if (is_int(s, n, &i))
		return json_integer(i);
	return json_stringn(s, n);
}

static bool tag_is(const yaml_char_t *tag, const char *name)
{
	return tag && !strcmp((const char *)tag, name);
}

/* The value of a scalar event, honouring the standard tags. */
static json_t *scalar_value(struct loader *L, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const yaml_char_t *tag = ev->data.scalar.tag;
	int line = MARK_LINE(ev->start_mark), col = MARK_COL(ev->start_mark);
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	json_int_t iv;

	if (!tag || (tag[0] == '!' && tag[1] == '\0'))
		return plain && !tag ? yj_resolve_plain(s, n) : json_stringn(s, n);
	if (tag_is(tag, TAG_STR))
		return json_stringn(s, n);
	if (tag_is(tag, TAG_INT)) {
		if (is_int(s, n, &iv))
			return json_integer(iv);
		lerr(L, line, col, "!!int: \"%.*s\" is not a 64-bit decimal integer",
		     (int)(n > 64 ? 64 : n), s);
		return json_null();
	}
	if (tag_is(tag, TAG_BOOL)) {
		if (yj_word_in(s, n, true_words))
			return json_true();
		if (yj_word_in(s, n, false_words))
			return json_false();
		lerr(L, line, col, "!!bool: \"%.*s\" is not true or false",
		     (int)(n > 64 ? 64 : n), s);
		return json_null();
	}
	if (tag_is(tag, TAG_NULL)) {
		if (n == 0 || yj_word_in(s, n, null_words))
			return json_null();
		lerr(L, line, col, "!!null: \"%.*s\" is not null", (int)(n > 64 ? 64 : n), s);
		return json_null();
	}
	if (tag_is(tag, TAG_FLOAT)) {
		char tmp[64];
		char *end;
		double d;

		if (n > 0 && n < sizeof(tmp) && !memchr(s, '\0', n)) {
			memcpy(tmp, s, n);
			tmp[n] = '\0';
			d = strtod(tmp, &end);
			if (*end == '\0' && isfinite(d) && (tmp[0] == '-' || tmp[0] == '+' ||
					   tmp[0] == '.' || (tmp[0] >= '0' && tmp[0] <= '9')))
				return json_real(d);
		}
		lerr(L, line, col, "!!float: \"%.*s\" is not a finite number",
		     (int)(n > 64 ? 64 : n), s);
		return json_null();
	}
	lerr(L, line, col, "unsupported tag \"%.64s\"", (const char *)tag);
	return json_null();
}

static int parse_node(struct loader *L, yaml_event_t *ev, int depth, json_t **out);

static int count_node(struct loader *L, const yaml_event_t *ev)
{
	if (++L->nodes > YJ_MAX_NODES) {
		lerr(L, MARK_LINE(ev->start_mark), MARK_COL(ev->start_mark),
		     "more than %d nodes", YJ_MAX_NODES);
		return -EINVAL;
	}
	return 0;
}

static void check_anchor(struct loader *L, const yaml_event_t *ev,
			 const yaml_char_t *anchor)
{
	if (anchor)
		lerr(L, MARK_LINE(ev->start_mark), MARK_COL(ev->start_mark),
		     "anchors (&%.64s) are not supported", (const char *)anchor);
}

static int parse_mapping(struct loader *L, json_t *obj, int depth)
{
	yaml_event_t kev, vev;
	json_t *val = NULL;
	char *key = NULL;
	int r = 0;

	for (;;) {
		int kline, kcol, vline, vcol;

		r = next_event(L, &kev);
		if (r < 0)
			goto out;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		kline = MARK_LINE(kev.start_mark);
		kcol = MARK_COL(kev.start_mark);
		if (kev.type == YAML_SCALAR_EVENT) {
			const yaml_char_t *tag = kev.data.scalar.tag;

			r = count_node(L, &kev);
			if (r < 0) {
				yaml_event_delete(&kev);
				goto out;
			}
			check_anchor(L, &kev, kev.data.scalar.anchor);
			if (tag && !tag_is(tag, TAG_STR) && strcmp((const char *)tag, "!"))
				lerr(L, kline, kcol, "a key must be a string (tag \"%.64s\")",
				     (const char *)tag);
			if (memchr(kev.data.scalar.value, '\0', kev.data.scalar.length))
				lerr(L, kline, kcol, "a key must not contain a NUL character");
			else if (!(key = strndup((const char *)kev.data.scalar.value,
						 kev.data.scalar.length))) {
				yaml_event_delete(&kev);
				r = -ENOMEM;
				goto out;
			}
			yaml_event_delete(&kev);
		} else {
			json_t *junk = NULL;

			lerr(L, kline, kcol, "a key must be a string, not a %s",
			     kev.type == YAML_MAPPING_START_EVENT ? "mapping" :
			     kev.type == YAML_SEQUENCE_START_EVENT ? "sequence" : "alias");
			r = parse_node(L, &kev, depth + 1, &junk);
			json_decref(junk);
			if (r < 0)
				goto out;
		}
		r = next_event(L, &vev);
		if (r < 0)
			goto out;
		vline = MARK_LINE(vev.start_mark);
		vcol = MARK_COL(vev.start_mark);
		r = parse_node(L, &vev, depth + 1, &val);
		if (r < 0)
			goto out;
		if (key && json_object_get(obj, key)) {
			lerr(L, kline, kcol, "duplicate key \"%.64s\"", key);
		} else if (key) {
			if (json_object_set_new(obj, key, val) < 0) {
				val = NULL;
				lerr(L, kline, kcol, "invalid key");
			} else {
				val = NULL;
				r = ypos_add(L->pos, obj, key, 0, vline, vcol, kline, kcol);
				if (r < 0)
					goto out;
			}
		}
		json_decref(val);
		val = NULL;
		free(key);
		key = NULL;
	}
out:
	json_decref(val);
	free(key);
	return r;
}

static int parse_sequence(struct loader *L, json_t *arr, int depth)
{
	yaml_event_t iev;
	json_t *val = NULL;
	int r;

	for (;;) {
		int line, col;

		r = next_event(L, &iev);
		if (r < 0)
			return r;
		if (iev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&iev);
			return 0;
		}
		line = MARK_LINE(iev.start_mark);
		col = MARK_COL(iev.start_mark);
		r = parse_node(L, &iev, depth + 1, &val);
		if (r < 0)
			return r;
		if (json_array_append_new(arr, val) < 0)
			return -ENOMEM;
		r = ypos_add(L->pos, arr, NULL, json_array_size(arr) - 1, line, col, 0, 0);
		if (r < 0)
			return r;
	}
}

/* Reads the node that ev starts (ev is consumed). On return *out is a value
 * (json null after a reported error) or NULL with r < 0 (stop). */
static int parse_node(struct loader *L, yaml_event_t *ev, int depth, json_t **out)
{
	int line = MARK_LINE(ev->start_mark), col = MARK_COL(ev->start_mark);
	json_t *v = NULL;
	int r = 0;

	*out = NULL;
	r = count_node(L, ev);
	if (r < 0)
		goto out;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		check_anchor(L, ev, ev->data.scalar.anchor);
		v = scalar_value(L, ev);
		if (!v) {
			/* json_stringn refuses invalid UTF-8 (libyaml should not
			 * let it through) or we ran out of memory */
			lerr(L, line, col, "invalid string");
			v = json_null();
		}
		break;
	case YAML_ALIAS_EVENT:
		lerr(L, line, col, "aliases (*%.64s) are not supported",
		     (const char *)ev->data.alias.anchor);
		v = json_null();
		break;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		bool map = ev->type == YAML_MAPPING_START_EVENT;
		const yaml_char_t *tag = map ? ev->data.mapping_start.tag :
					       ev->data.sequence_start.tag;

		if (depth > YJ_MAX_DEPTH) {
			lerr(L, line, col, "nested deeper than %d levels", YJ_MAX_DEPTH);
			r = -EINVAL;
			goto out;
		}
		check_anchor(L, ev, map ? ev->data.mapping_start.anchor :
					  ev->data.sequence_start.anchor);
		if (tag && strcmp((const char *)tag, "!") &&
		    !tag_is(tag, map ? TAG_MAP : TAG_SEQ))
			lerr(L, line, col, "unsupported tag \"%.64s\"", (const char *)tag);
		v = map ? json_object() : json_array();
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		yaml_event_delete(ev);
		r = map ? parse_mapping(L, v, depth) : parse_sequence(L, v, depth);
		if (r < 0) {
			json_decref(v);
			v = NULL;
		}
		*out = v;
		return r;
	}
	default:
		lerr(L, line, col, "unexpected YAML event %d", (int)ev->type);
		r = -EINVAL;
		goto out;
	}
out:
	yaml_event_delete(ev);
	*out = v;
	return r;
}

void ydocs_free(struct ydoc *docs, size_t n)
{
	if (!docs)
		return;
	for (size_t i = 0; i < n; i++) {
		json_decref(docs[i].root);
		ypos_free(docs[i].pos);
	}
	free(docs);
}

static int expect_event(struct loader *L, yaml_event_type_t type)
{
	yaml_event_t ev;
	int r = next_event(L, &ev);

	if (r < 0)
		return r;
	if (ev.type != type) {
		lerr(L, MARK_LINE(ev.start_mark), MARK_COL(ev.start_mark),
		     "unexpected YAML event %d", (int)ev.type);
		r = -EINVAL;
	}
	yaml_event_delete(&ev);
	return r;
}

int yaml_load(const char *file, const char *buf, size_t len,
	      struct ydoc **docs, size_t *n, struct errs *e)
{
	struct loader L = { .file = file, .buf = buf, .len = len, .e = e };
	struct ydoc *v = NULL, *nv;
	size_t nv_n = 0;
	json_t *root = NULL;
	yaml_event_t ev;
	int r;

	*docs = NULL;
	*n = 0;
	if (!yaml_parser_initialize(&L.p))
		return -ENOMEM;
	yaml_parser_set_input_string(&L.p, (const unsigned char *)(buf ? buf : ""),
				     buf ? len : 0);
	r = expect_event(&L, YAML_STREAM_START_EVENT);
	if (r < 0)
		goto out;
	for (;;) {
		int line, col;

		r = next_event(&L, &ev);
		if (r < 0)
			goto out;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_DOCUMENT_START_EVENT) {
			lerr(&L, MARK_LINE(ev.start_mark), MARK_COL(ev.start_mark),
			     "unexpected YAML event %d", (int)ev.type);
			yaml_event_delete(&ev);
			r = -EINVAL;
			goto out;
		}
		yaml_event_delete(&ev);
		r = next_event(&L, &ev);
		if (r < 0)
			goto out;
		line = MARK_LINE(ev.start_mark);
		col = MARK_COL(ev.start_mark);
		L.pos = calloc(1, sizeof(*L.pos));
		if (!L.pos) {
			yaml_event_delete(&ev);
			r = -ENOMEM;
			goto out;
		}
		r = parse_node(&L, &ev, 1, &root);
		if (r < 0)
			goto out;
		r = expect_event(&L, YAML_DOCUMENT_END_EVENT);
		if (r < 0)
			goto out;
		if (json_is_null(root) || L.nerr) {
			/* an empty document, or one we will throw away anyway */
			json_decref(root);
			root = NULL;
			ypos_free(L.pos);
			L.pos = NULL;
			continue;
		}
		r = ypos_index(L.pos);
		if (r < 0)
			goto out;
		nv = realloc(v, (nv_n + 1) * sizeof(*v));
		if (!nv) {
			r = -ENOMEM;
			goto out;
		}
		v = nv;
		v[nv_n].root = root;
		v[nv_n].pos = L.pos;
		v[nv_n].line = line;
		v[nv_n].col = col;
		nv_n++;
		root = NULL;
		L.pos = NULL;
	}
	if (L.nerr)
		r = -EINVAL;
out:
	json_decref(root);
	ypos_free(L.pos);
	yaml_parser_delete(&L.p);
	if (r < 0) {
		ydocs_free(v, nv_n);
		return r;
	}
	*docs = v;
	*n = nv_n;
	return 0;
}
