/* errs: see errs.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/errs.h"

static void errs_push(struct errs *e, char *m)
{
	char **v;

	if (!m) {
		e->lost++;
		return;
	}
	v = realloc(e->msg, (e->n + 1) * sizeof(*v));
	if (!v) {
		free(m);
		e->lost++;
		return;
	}
	e->msg = v;
	e->msg[e->n++] = m;
}

void errs_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	errs_push(e, m);
}

void errs_addpos(struct errs *e, const char *file, int line, int col,
		 const char *fmt, ...)
{
	va_list ap;
	char *body = NULL, *m = NULL;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	va_end(ap);
	if (!body) {
		e->lost++;
		return;
	}
	if (line > 0 && col > 0)
		r = asprintf(&m, "%s:%d:%d: %s", file ? file : "-", line, col, body);
	else if (line > 0)
		r = asprintf(&m, "%s:%d: %s", file ? file : "-", line, body);
	else if (file)
		r = asprintf(&m, "%s: %s", file, body);
	else
		r = asprintf(&m, "%s", body);
	free(body);
	errs_push(e, r < 0 ? NULL : m);
}

void errs_clear(struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = 0;
	e->lost = 0;
}
