/*
 * yaml_dump: jansson trees to YAML text (see yamljson.h).
 *
 * libyaml's emitter in block style. A string that the loader would read
 * back as something else is double-quoted; a real (which the loader never
 * makes from a plain scalar) is written with an explicit !!float tag, which
 * the loader honours, so load(dump(x)) equals x for every tree whose root is
 * not null (a null root reads back as an empty document).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/yamljson.h"
#include "common/yj_impl.h"
struct outbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static int out_write(void *data, unsigned char *buf, size_t size)
{
	struct outbuf *o = data;

	if (o->len + size + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 256;
		char *s;

		while (cap < o->len + size + 1)
			cap *= 2;
		s = realloc(o->s, cap);
		if (!s) {
			o->oom = true;
			return 0;
		}
		o->s = s;
		o->cap = cap;
	}
	memcpy(o->s + o->len, buf, size);
	o->len += size;
	o->s[o->len] = '\0';
	return 1;
}

static size_t span(const char *s, size_t n, size_t i, const char *set)
{
	while (i < n && s[i] && strchr(set, s[i]))
		i++;
	return i;
}

/* A number in any spelling YAML 1.1 or 1.2 readers know: 1_000, 0x1f,
 * 0o17, 0b101, 1.5, .5, 1e3, 1.5e-3, 12:30:00 (sexagesimal). */
static bool looks_number(const char *s, size_t n)
{
	static const char dig[] = "0123456789_";
	size_t i = 0, j;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i == n)
		return false;
	if (n - i > 2 && s[i] == '0' && strchr("xXoObB", s[i + 1]))
		return span(s, n, i + 2, "0123456789abcdefABCDEF_") == n;
	j = span(s, n, i, dig);
	if (j > i && j < n && s[j] == ':') {	/* sexagesimal */
		while (j < n && s[j] == ':')
			j = span(s, n, j + 1, "0123456789");
		if (j < n && s[j] == '.')
			j = span(s, n, j + 1, dig);
		return j == n;
	}
	if (j < n && s[j] == '.') {
		size_t k = span(s, n, j + 1, dig);

		if (j == i && k == j + 1)
			return false;		/* "." alone, or ".x" */
		j = k;
	} else if (j == i) {
		return false;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		size_t k = j + 1;

		if (k < n && (s[k] == '-' || s[k] == '+'))
			k++;
		j = span(s, n, k, "0123456789");
		if (j == k)
			return false;
	}
	return j == n;
}

/* Words and shapes other YAML readers (YAML 1.1) take for booleans, numbers
 * or nulls: quoted too, so that our output means the same to them. */
static bool looks_special(const char *s, size_t n)
{
	static const char *const yaml11[] = {
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF", ".inf", ".Inf", ".INF",
		"-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF",
		".nan", ".NaN", ".NAN", "<<", "=", NULL
	};
	json_t *v;
	bool other;

	if (n == 0 || s[0] == ' ' || s[n - 1] == ' ' || yj_word_in(s, n, yaml11))
		return true;
	v = yj_resolve_plain(s, n);
	other = !json_is_string(v);
	json_decref(v);
	return other || looks_number(s, n);
}

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
	return yaml_emitter_emit(em, ev) ? 0 : -ENOMEM;
}

enum sc_kind {
	SC_STRING,		/* a string the emitter may write plain */
	SC_QUOTED,		/* a string that must be quoted */
	SC_TYPED,		/* an int, bool or null: plain, no tag */
	SC_FLOAT,		/* a real: plain with !!float */
};

static int emit_scalar(yaml_emitter_t *em, const char *s, size_t n,
		       enum sc_kind k)
{
	yaml_event_t ev;
	int ok;

	if (n > INT_MAX)
		return -EOVERFLOW;
	ok = yaml_scalar_event_initialize(&ev, NULL,
			(yaml_char_t *)(k == SC_FLOAT ? TAG_FLOAT : NULL),
			(yaml_char_t *)s, (int)n,
			k == SC_STRING || k == SC_TYPED,	/* plain_implicit */
			k == SC_STRING || k == SC_QUOTED,	/* quoted_implicit */
			k == SC_QUOTED ? YAML_DOUBLE_QUOTED_SCALAR_STYLE :
			k == SC_STRING ? YAML_ANY_SCALAR_STYLE :
					 YAML_PLAIN_SCALAR_STYLE);
	if (!ok)
		return -ENOMEM;
	return emit(em, &ev);
}

static int emit_value(yaml_emitter_t *em, const json_t *v)
{
	char num[64];
	yaml_event_t ev;
	int r;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;

		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 YAML_BLOCK_MAPPING_STYLE))
			return -ENOMEM;
		r = emit(em, &ev);
		if (r < 0)
			return r;
		json_object_foreach((json_t *)v, key, val) {
			size_t kl = strlen(key);

			r = emit_scalar(em, key, kl, looks_special(key, kl) ? SC_QUOTED : SC_STRING);
			if (r < 0)
				return r;
			r = emit_value(em, val);
			if (r < 0)
				return r;
		}
		if (!yaml_mapping_end_event_initialize(&ev))
			return -ENOMEM;
		return emit(em, &ev);
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *val;

		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  YAML_BLOCK_SEQUENCE_STYLE))
			return -ENOMEM;
		r = emit(em, &ev);
		if (r < 0)
			return r;
		json_array_foreach(v, i, val) {
			r = emit_value(em, val);
			if (r < 0)
				return r;
		}
		if (!yaml_sequence_end_event_initialize(&ev))
			return -ENOMEM;
		return emit(em, &ev);
	}
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		/* a NUL or other control character needs double quotes' escapes */
		bool q = looks_special(s, n);

		for (size_t i = 0; !q && i < n; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				q = true;
		return emit_scalar(em, s, n, q ? SC_QUOTED : SC_STRING);
	}
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(em, num, strlen(num), SC_TYPED);
	case JSON_REAL:
		/* the shortest text that reads back as the same double
		 * (0.1, not 0.10000000000000001) */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(num, sizeof(num), "%.*g", prec, json_real_value(v));
			if (strtod(num, NULL) == json_real_value(v))
				break;
		}
		return emit_scalar(em, num, strlen(num), SC_FLOAT);
	case JSON_TRUE:
		return emit_scalar(em, "true", 4, SC_TYPED);
	case JSON_FALSE:
		return emit_scalar(em, "false", 5, SC_TYPED);
	case JSON_NULL:
	default:
		return emit_scalar(em, "null", 4, SC_TYPED);
	}
}

const char *yaml_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "a mapping";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

char *yaml_dump(const json_t *v)
{
	struct outbuf o = { 0 };
	yaml_emitter_t em;
	yaml_event_t ev;
	int r = -ENOMEM;

	if (!yaml_emitter_initialize(&em))
		return NULL;
	yaml_emitter_set_output(&em, out_write, &o);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_emitter_set_indent(&em, 2);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || emit(&em, &ev) < 0)
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    emit(&em, &ev) < 0)
		goto out;
	if (emit_value(&em, v ? v : json_null()) < 0)
		goto out;
	if (!yaml_document_end_event_initialize(&ev, 1) || emit(&em, &ev) < 0)
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) || emit(&em, &ev) < 0)
		goto out;
	if (!yaml_emitter_flush(&em))
		goto out;
	r = o.oom ? -ENOMEM : 0;
out:
	yaml_emitter_delete(&em);
	if (r < 0 || !o.s) {
		free(o.s);
		return r < 0 ? NULL : strdup("");
	}
	return o.s;
}
