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
};

#define ERRS_INIT { NULL, 0 }

/* Appends a formatted message (copied). Out of memory drops the message. */
void errs_add(struct errs *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, prefixed "file:line:col: " (line/col 1-based; 0 = unknown, omitted). */
void errs_addpos(struct errs *e, const char *file, int line, int col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void errs_clear(struct errs *e);

#endif
