/*
 * yamljson: YAML documents in and out, through jansson's json_t tree.
 *
 * Loading turns each YAML document of a stream into a json_t (mapping →
 * object, sequence → array; a plain scalar that reads as an integer, true/false
 * or null becomes that JSON type, everything else, and every quoted scalar, a
 * string) and records where each mapping value and sequence item stood, so a
 * validator can report "file:line:col". Anchors/aliases and non-string keys are
 * refused; duplicate keys are an error. Depth and sizes are capped.
 *
 * jansson shares singletons (true, false, null), so positions are looked up by
 * (container, key) or (container, index), never by a value's pointer.
 */
#ifndef PETREL_YAMLJSON_H
#define PETREL_YAMLJSON_H

#include <jansson.h>
#include <stddef.h>

#include "common/errs.h"

struct ypos;			/* opaque position table */

struct ydoc {
	json_t *root;		/* owned */
	struct ypos *pos;	/* owned */
	int line, col;		/* where the document starts (1-based) */
};

/* Parses buf (len bytes; need not be NUL-terminated). file: the name used in
 * messages. On success *docs and *n hold the documents (empty documents skipped).
 * On a syntax error: -EINVAL with "file:line:col: message" in e, nothing
 * returned. Free with ydocs_free(). */
int yaml_load(const char *file, const char *buf, size_t len,
	      struct ydoc **docs, size_t *n, struct errs *e);
void ydocs_free(struct ydoc *docs, size_t n);

/* Position of container[key] / container[index]; 0 when found, else -ENOENT
 * and *line = *col = 0. doc may be NULL (no positions: JSON from a store). */
int ydoc_pos_key(const struct ydoc *doc, const json_t *container,
		 const char *key, int *line, int *col);
int ydoc_pos_index(const struct ydoc *doc, const json_t *container,
		   size_t index, int *line, int *col);
/* Position of the key itself of container[key] (for "unknown field" and
 * "duplicate key" messages); 0, or -ENOENT as above. */
int ydoc_pos_keyname(const struct ydoc *doc, const json_t *container,
		     const char *key, int *line, int *col);

/* What a value is, in a user's words ("a mapping", "a list", "a string",
 * "an integer", "a number", "a boolean", "null"), for messages. */
const char *yaml_type_name(const json_t *j);

/* Emits v as one YAML document (block style, keys in the object's order,
 * strings quoted when they would otherwise read as another type) appended
 * to a malloc'd string. Returns NULL on out of memory. */
char *yaml_dump(const json_t *v);

#endif
