/*
 * ds_snap: ds_prefetch's snapshot (see datastore.h): what one read-ahead
 * brought, answering ds_get and ds_list until the next write.
 *
 * Invariants: an entry answers only what it holds whole (a key read, or
 * every key under a prefix: full); a prefix's keys are sorted, so a list
 * inside it is a run of them; the snapshot belongs to its ds and goes at
 * the next ds_txn, ds_compact, ds_prefetch or ds_close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/ds_impl.h"

struct ds_snap {
	size_t n;
	int64_t rev;
	char *keys[DS_PREFETCH_MAX];
	struct ds_kv *kvs[DS_PREFETCH_MAX];
	size_t nkv[DS_PREFETCH_MAX];
	bool full[DS_PREFETCH_MAX];
};

static bool is_prefix(const char *k)
{
	size_t l = strlen(k);

	return l && k[l - 1] == '/';
}

void ds_prefetch_drop(struct ds *ds)
{
	struct ds_snap *s = ds ? ds->snap : NULL;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->keys[i]);
		ds_kvs_free(s->kvs[i], s->nkv[i]);
	}
	free(s);
	ds->snap = NULL;
}

int ds_prefetch(struct ds *ds, const char *const *keys, size_t n)
{
	struct ds_snap *s;
	size_t i;
	int r;

	if (!ds || (n && !keys) || n > DS_PREFETCH_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!keys[i] || !keys[i][0])
			return -EINVAL;
	ds_prefetch_drop(ds);
	if (!n || !ds->be->read_many)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		s->keys[i] = strdup(keys[i]);
		if (!s->keys[i]) {
			r = -ENOMEM;
			goto bad;
		}
	}
	r = ds->be->read_many(ds, keys, n, s->kvs, s->nkv, s->full, &s->rev);
	if (r < 0)
		goto bad;
	s->n = n;
	ds->snap = s;
	return 0;
bad:
	for (i = 0; i < n; i++)
		free(s->keys[i]);
	free(s);
	return r;
}

/* The entry holding key whole (a list: every key under it), or -1. */
static int snap_find(const struct ds_snap *s, const char *key, bool list)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!s->full[i])
			continue;
		if (is_prefix(s->keys[i])) {
			if (!strncmp(key, s->keys[i], strlen(s->keys[i])))
				return (int)i;
		} else if (!list && !strcmp(key, s->keys[i])) {
			return (int)i;
		}
	}
	return -1;
}

static int kv_copy(struct ds_kv *d, const struct ds_kv *s)
{
	d->key = strdup(s->key);
	d->value = strdup(s->value);
	d->mod_rev = s->mod_rev;
	d->create_rev = s->create_rev;
	if (d->key && d->value)
		return 0;
	ds_kv_clear(d);
	return -ENOMEM;
}

int ds_snap_get(struct ds *ds, const char *key, struct ds_kv *out, int *r)
{
	const struct ds_snap *s = ds->snap;
	int e = s ? snap_find(s, key, false) : -1;
	size_t i;

	if (e < 0)
		return 0;
	*r = -ENOENT;
	for (i = 0; i < s->nkv[e]; i++) {
		if (!strcmp(s->kvs[e][i].key, key)) {
			*r = kv_copy(out, &s->kvs[e][i]);
			break;
		}
	}
	return 1;
}

int ds_snap_list(struct ds *ds, const char *prefix, struct ds_kv **out,
		 size_t *n, int64_t *rev, int *r)
{
	const struct ds_snap *s = ds->snap;
	int e = s ? snap_find(s, prefix, true) : -1;
	size_t pl = strlen(prefix), i, cnt = 0;
	struct ds_kv *kvs;

	if (e < 0)
		return 0;
	*rev = s->rev;
	for (i = 0; i < s->nkv[e]; i++)
		cnt += !strncmp(s->kvs[e][i].key, prefix, pl);
	*r = 0;
	if (!cnt)
		return 1;
	kvs = calloc(cnt, sizeof(*kvs));
	if (!kvs) {
		*r = -ENOMEM;
		return 1;
	}
	for (i = 0; i < s->nkv[e] && *n < cnt; i++) {
		if (strncmp(s->kvs[e][i].key, prefix, pl))
			continue;
		*r = kv_copy(&kvs[*n], &s->kvs[e][i]);
		if (*r < 0) {
			ds_kvs_free(kvs, *n);
			*n = 0;
			return 1;
		}
		(*n)++;
	}
	*out = kvs;
	return 1;
}
