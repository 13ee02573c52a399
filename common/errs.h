/*
 * errs: a list of error messages, so that a parser reports every error it
 * finds, not only the first. Messages read "file:line:col: field: text" where
 * a position is known, else "field: text".
 */
#ifndef PETREL_ERRS_H
#define PETREL_ERRS_H

#include <stddef.h>

struct errs {
	char **msg;
	size_t n;
	/* Messages lost for want of memory: each is an error all the same, so
	 * a caller that judges validity by a count uses errs_count(), never n. */
	size_t lost;
};

#define ERRS_INIT { NULL, 0, 0 }

/* Every error reported, kept or lost: the count to judge validity by. */
static inline size_t errs_count(const struct errs *e)
{
	return e->n + e->lost;
}

/* Appends a formatted message (copied). Out of memory drops the message's
 * text but counts it in lost. */
void errs_add(struct errs *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, prefixed "file:line:col: " (line/col 1-based; 0 = unknown, omitted). */
void errs_addpos(struct errs *e, const char *file, int line, int col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void errs_clear(struct errs *e);

#endif
