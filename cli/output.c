/*
 * output: how petrelctl prints. Tables are aligned columns with a header
 * line in capitals, two spaces apart, an empty cell printed as "-" (so that
 * `awk '{print $N}'` always finds column N); json is indented; yaml goes
 * through yaml_dump, a list as a "---"-separated stream.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/log.h"
#include "common/yamljson.h"

struct table {
	size_t ncols, nrows;
	char **cells;		/* (nrows + 1) * ncols, row 0 the header */
	size_t *width;
	bool oom;
};

struct table *table_new(size_t ncols, const char *const *headers)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = ncols;
	t->width = calloc(ncols, sizeof(*t->width));
	if (!t->width) {
		free(t);
		return NULL;
	}
	t->nrows = 0;
	table_add(t, headers);
	return t;
}

void table_add(struct table *t, const char *const *cells)
{
	char **v;

	if (!t || t->oom)
		return;
	v = realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*v));
	if (!v) {
		t->oom = true;
		return;
	}
	t->cells = v;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = cells[i] && *cells[i] ? cells[i] : "-";
		char *d = strdup(s);
		size_t w = strlen(s);

		if (!d)
			t->oom = true;
		v[t->nrows * t->ncols + i] = d;
		if (w > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
}

void table_print(struct table *t, FILE *f)
{
	if (!t)
		return;
	if (t->oom) {
		log_err("out of memory printing a table");
		return;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *s = t->cells[r * t->ncols + i];

			if (i + 1 == t->ncols)
				fprintf(f, "%s\n", s);
			else
				fprintf(f, "%-*s  ", (int)t->width[i], s);
		}
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}

static void out_json(const json_t *doc)
{
	/* reals are NetworkPolicy orders, kept to 15 digits (model/netpolicy.c) */
	if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		       JSON_REAL_PRECISION(15)) < 0)
		log_err("out of memory printing JSON");
	fputc('\n', stdout);
}

static void out_yaml(const json_t *doc)
{
	char *s = yaml_dump(doc);

	if (!s) {
		log_err("out of memory printing YAML");
		return;
	}
	fputs(s, stdout);
	free(s);
}

void out_doc(enum out_fmt fmt, const json_t *doc)
{
	if (fmt == OUT_YAML)
		out_yaml(doc);
	else
		out_json(doc);
}

void out_list(enum out_fmt fmt, const json_t *items)
{
	size_t i;
	json_t *it;

	if (fmt == OUT_YAML) {
		json_array_foreach(items, i, it) {
			fputs("---\n", stdout);
			out_yaml(it);
		}
		return;
	}
	json_t *list = json_pack("{s:s, s:O}", "kind", "List", "items",
				 (json_t *)items);

	if (!list) {
		log_err("out of memory printing JSON");
		return;
	}
	out_json(list);
	json_decref(list);
}

const char *out_kind_lower(enum res_kind k)
{
	static char buf[RES_KIND_COUNT][32];
	const char *n = res_kind_name(k);
	size_t i;

	if ((int)k < 0 || k >= RES_KIND_COUNT || !n)
		return "unknown";
	for (i = 0; n[i] && i + 1 < sizeof(buf[k]); i++)
		buf[k][i] = (char)tolower((unsigned char)n[i]);
	buf[k][i] = '\0';
	return buf[k];
}

void out_labels(const struct labels *l, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", i ? "," : "",
					l->v[i].key, l->v[i].value);
}

void out_age(int64_t secs, char *buf, size_t len)
{
	if (secs < 0)
		snprintf(buf, len, "?");
	else if (secs < 120)
		snprintf(buf, len, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(buf, len, "%lldm", (long long)(secs / 60));
	else if (secs < 2 * 86400)
		snprintf(buf, len, "%lldh", (long long)(secs / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(secs / 86400));
}
