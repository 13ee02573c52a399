/*
 * labels: see labels.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/labels.h"

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1..63 of [A-Za-z0-9._-], beginning and ending alphanumeric. */
static bool label_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A DNS subdomain (RFC 1123): lower-case labels joined by dots, <= 253. */
static bool dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
				return false;
			start = i + 1;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return false;
	}
	return true;
}

bool labels_key_valid(const char *key)
{
	const char *slash;

	if (!key)
		return false;
	slash = strchr(key, '/');
	if (!slash)
		return label_name_ok(key, strlen(key));
	return dns_subdomain_ok(key, (size_t)(slash - key)) &&
	       label_name_ok(slash + 1, strlen(slash + 1));
}

bool labels_value_valid(const char *value)
{
	size_t n;

	if (!value)
		return false;
	n = strlen(value);
	return n == 0 || label_name_ok(value, n);
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
