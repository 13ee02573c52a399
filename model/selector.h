/*
 * selector: Calico's label-selector language, parsed once into a tree and
 * evaluated against a label set.
 *
 *   all()                      everything
 *   has(k)        !has(k)      the label exists / does not
 *   k == "v"      k != "v"     (a missing label is != every value)
 *   k in {"a","b"}  k not in {"a","b"}
 *   k contains "s"  k starts with "s"  k ends with "s"
 *   !E    E && E    E || E    ( E )
 *
 * Strings in double or single quotes (no escapes); keys as Kubernetes label
 * keys (labels_key_valid). `&&` binds tighter than `||`; `!` tightest. An
 * empty or all-blank selector is all(). Input is bounded: SELECTOR_MAX bytes,
 * nesting SELECTOR_DEPTH_MAX.
 *
 * Ownership: selector_parse returns a tree the caller frees with
 * selector_free (NULL is a no-op); a failed parse leaks nothing. The library
 * never prints.
 */
#ifndef PETREL_SELECTOR_H
#define PETREL_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "model/labels.h"

#define SELECTOR_MAX 4096
#define SELECTOR_DEPTH_MAX 64

struct selector;

struct selector_err {
	int pos;		/* 0-based byte offset of the offending token */
	char msg[160];		/* "expected ')' after ...", no position in it */
};

/* 0, or -EINVAL with *err filled (pos and msg), or -ENOMEM. */
int selector_parse(const char *text, struct selector **out,
		   struct selector_err *err);
bool selector_match(const struct selector *s, const struct labels *l);
void selector_free(struct selector *s);
/* Canonical text: one spelling per tree (double quotes, single spaces,
 * minimal parentheses, `in` sets sorted and unique). Parsing it gives the same
 * tree. Two selectors with the same canonical text select the same labels.
 * Returns a malloc'd string, or NULL (ENOMEM). */
char *selector_canon(const struct selector *s);
/* True when the selector is all() (also for "" and "all()"). */
bool selector_is_all(const struct selector *s);

/* Convenience: parse text and match l; 1 match, 0 no match, -EINVAL bad
 * selector (NULL or "" = all()). */
int selector_match_text(const char *text, const struct labels *l);

#endif
