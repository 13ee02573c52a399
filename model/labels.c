/*
 * labels: see labels.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dnsname.h"
#include "model/labels.h"

bool labels_key_valid(const char *key)
{
	return dnsname_label_key_valid(key);
}

bool labels_value_valid(const char *value)
{
	return dnsname_label_value_valid(value);
}

void labels_clear(struct labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *labels_get(const struct labels *l, const char *key)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, l->v[mid].key);

		if (c == 0)
			return l->v[mid].value;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int labels_set(struct labels *l, const char *key, const char *value)
{
	size_t lo = 0, hi = l->n;
	struct label *v;
	char *k, *val;

	if (!labels_key_valid(key) || !labels_value_valid(value))
		return -EINVAL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, l->v[mid].key);

		if (c == 0) {
			val = strdup(value);
			if (!val)
				return -ENOMEM;
			free(l->v[mid].value);
			l->v[mid].value = val;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (l->n >= LABELS_MAX)
		return -E2BIG;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	k = strdup(key);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	memmove(&v[lo + 1], &v[lo], (l->n - lo) * sizeof(*v));
	v[lo].key = k;
	v[lo].value = val;
	l->n++;
	return 0;
}
