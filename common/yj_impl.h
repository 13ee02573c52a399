/*
 * yj_impl: what yamljson.c (loading) and yaml_dump.c (dumping) share:
 * the loader's resolution of a plain scalar, which the dumper asks to tell
 * whether a string must be quoted to read back as itself. Private to them.
 */
#ifndef PETREL_YJ_IMPL_H
#define PETREL_YJ_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define TAG_FLOAT "tag:yaml.org,2002:float"

/* Whether s[0..n) is one of words (a NULL-terminated list). */
bool yj_word_in(const char *s, size_t n, const char *const *words);
/* The value a plain (unquoted, untagged) scalar reads as: an integer,
 * true/false, null, or a string. New reference, or NULL on ENOMEM. */
json_t *yj_resolve_plain(const char *s, size_t n);

#endif
