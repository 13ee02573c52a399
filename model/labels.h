/*
 * labels: a resource's labels (metadata.labels), a sorted key=value set, and
 * Kubernetes' rules for their keys and values. Selectors over them:
 * model/selector.h.
 */
#ifndef PETREL_MODEL_LABELS_H
#define PETREL_MODEL_LABELS_H

#include <stdbool.h>
#include <stddef.h>

#define LABELS_MAX 256	/* per resource */

struct labels {
	size_t n;
	struct label { char *key, *value; } *v;	/* owned, sorted by key */
};

/* Kubernetes' label rules. Key: an optional DNS subdomain and '/', then 1..63
 * of [A-Za-z0-9._-] beginning and ending alphanumeric; value: the same, or "". */
bool labels_key_valid(const char *key);
bool labels_value_valid(const char *value);
/* The value of key, or NULL; borrowed from l. */
const char *labels_get(const struct labels *l, const char *key);
/* Adds or replaces key=value (both copied), keeping l sorted. 0, -EINVAL
 * (invalid key or value), -E2BIG (too many labels) or -ENOMEM. */
int labels_set(struct labels *l, const char *key, const char *value);
void labels_clear(struct labels *l);

#endif
