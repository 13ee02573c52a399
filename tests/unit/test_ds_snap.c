/*
 * test_ds_snap: ds_prefetch's snapshot (datastore/ds_snap.c) over a fake
 * backend that counts what reaches it: what was read ahead answers
 * ds_get and ds_list (a key, a prefix, a narrower prefix, a key missing
 * under a prefix read whole) without the store; what was not, or not
 * whole, goes to the store; a write drops the snapshot; a failed or
 * unsupported read-ahead keeps nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "datastore/ds_impl.h"

static const struct ds_kv store[] = {
	{ "/p/a/1", "one", 5, 2 }, { "/p/a/2", "two", 6, 3 },
	{ "/p/b/1", "bee", 7, 7 }, { "/p/k", "kay", 4, 4 },
};
#define NSTORE (sizeof(store) / sizeof(store[0]))

static int n_get, n_list, n_read, read_fail;
static bool truncate_prefixes;

static int dup_kv(struct ds_kv *d, const struct ds_kv *s)
{
	d->key = strdup(s->key);
	d->value = strdup(s->value);
	d->mod_rev = s->mod_rev;
	d->create_rev = s->create_rev;
	return d->key && d->value ? 0 : -ENOMEM;
}

static int fk_get(struct ds *ds, const char *key, struct ds_kv *out)
{
	n_get++;
	for (size_t i = 0; i < NSTORE; i++)
		if (!strcmp(store[i].key, key))
			return dup_kv(out, &store[i]);
	return -ENOENT;
}

static int fk_list(struct ds *ds, const char *prefix, struct ds_kv **out,
		   size_t *n, int64_t *rev)
{
	n_list++;
	*out = calloc(NSTORE, sizeof(**out));
	for (size_t i = 0; i < NSTORE; i++)
		if (!strncmp(store[i].key, prefix, strlen(prefix)))
			dup_kv(&(*out)[(*n)++], &store[i]);
	*rev = 9;
	return 0;
}

static int fk_read_many(struct ds *ds, const char *const *keys, size_t n,
			struct ds_kv **kvs, size_t *nkv, bool *full, int64_t *rev)
{
	n_read++;
	if (read_fail)
		return read_fail;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(keys[i]);
		int64_t r;

		full[i] = true;
		kvs[i] = NULL;
		nkv[i] = 0;
		if (keys[i][l - 1] == '/') {
			fk_list(ds, keys[i], &kvs[i], &nkv[i], &r);
			n_list--;
			full[i] = !truncate_prefixes;
		} else {
			kvs[i] = calloc(1, sizeof(**kvs));
			if (fk_get(ds, keys[i], kvs[i]) == 0)
				nkv[i] = 1;
			n_get--;
		}
	}
	*rev = 8;
	return 0;
}

static int fk_txn(struct ds *ds, const struct ds_op *ops, size_t n,
		  int64_t *rev, size_t *failed_op)
{
	*rev = 10;
	return 0;
}

static void fk_close(struct ds *ds)
{
}

static struct ds_backend fake = {
	.scheme = "fake", .close = fk_close, .get = fk_get, .list = fk_list,
	.txn = fk_txn, .read_many = fk_read_many,
};

static int setup(void **state)
{
	struct ds *ds = calloc(1, sizeof(*ds));

	ds->be = &fake;
	fake.read_many = fk_read_many;
	n_get = n_list = n_read = read_fail = 0;
	truncate_prefixes = false;
	*state = ds;
	return 0;
}

static int teardown(void **state)
{
	ds_prefetch_drop(*state);
	free(*state);
	return 0;
}

static const char *const keys[] = { "/p/a/", "/p/k", "/p/none" };

static void test_answers(void **state)
{
	struct ds *ds = *state;
	struct ds_kv kv, *kvs;
	size_t n;
	int64_t rev;

	assert_int_equal(ds_prefetch(ds, keys, 3), 0);
	assert_int_equal(n_read, 1);
	/* a key read, a key under a prefix read, a key missing there */
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	assert_string_equal(kv.value, "kay");
	assert_int_equal(kv.mod_rev, 4);
	ds_kv_clear(&kv);
	assert_int_equal(ds_get(ds, "/p/a/2", &kv), 0);
	assert_string_equal(kv.value, "two");
	assert_int_equal(kv.create_rev, 3);
	ds_kv_clear(&kv);
	assert_int_equal(ds_get(ds, "/p/a/3", &kv), -ENOENT);
	assert_int_equal(ds_get(ds, "/p/none", &kv), -ENOENT);
	/* the prefix, and a narrower one, at the snapshot's revision */
	assert_int_equal(ds_list(ds, "/p/a/", &kvs, &n, &rev), 0);
	assert_int_equal(n, 2);
	assert_string_equal(kvs[0].key, "/p/a/1");
	assert_string_equal(kvs[1].key, "/p/a/2");
	assert_int_equal(rev, 8);
	ds_kvs_free(kvs, n);
	assert_int_equal(ds_list(ds, "/p/a/2", &kvs, &n, &rev), 0);
	assert_int_equal(n, 1);
	ds_kvs_free(kvs, n);
	assert_int_equal(ds_list(ds, "/p/a/9", &kvs, &n, &rev), 0);
	assert_int_equal(n, 0);
	assert_null(kvs);
	/* none of it reached the store */
	assert_int_equal(n_get + n_list, 0);
	/* what was not read ahead does: a key, a wider prefix, a list of a
	 * key read on its own (not a prefix) */
	assert_int_equal(ds_get(ds, "/p/b/1", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 1);
	assert_int_equal(ds_list(ds, "/p/", &kvs, &n, &rev), 0);
	assert_int_equal(n, 4);
	assert_int_equal(rev, 9);
	ds_kvs_free(kvs, n);
	assert_int_equal(ds_list(ds, "/p/k", &kvs, &n, &rev), 0);
	ds_kvs_free(kvs, n);
	assert_int_equal(n_list, 2);
}

static void test_write_drops(void **state)
{
	struct ds *ds = *state;
	struct ds_kv kv;

	assert_int_equal(ds_prefetch(ds, keys, 3), 0);
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 0);
	assert_int_equal(ds_create(ds, "/p/new", "x", NULL), 0);
	/* after the write: the store again */
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 1);
	/* and after an explicit drop */
	assert_int_equal(ds_prefetch(ds, keys, 3), 0);
	ds_prefetch_drop(ds);
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 2);
}

static void test_not_whole(void **state)
{
	struct ds *ds = *state;
	struct ds_kv *kvs;
	struct ds_kv kv;
	size_t n;
	int64_t rev;

	/* a prefix with more than one reply held: not used, the key is */
	truncate_prefixes = true;
	assert_int_equal(ds_prefetch(ds, keys, 3), 0);
	assert_int_equal(ds_list(ds, "/p/a/", &kvs, &n, &rev), 0);
	ds_kvs_free(kvs, n);
	assert_int_equal(n_list, 1);
	assert_int_equal(ds_get(ds, "/p/a/1", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 1);
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 1);
}

static void test_failed_or_none(void **state)
{
	struct ds *ds = *state;
	const char *many[DS_PREFETCH_MAX + 1];
	const char *bad[] = { "/p/k", "" };
	struct ds_kv kv;

	for (size_t i = 0; i <= DS_PREFETCH_MAX; i++)
		many[i] = "/p/k";
	assert_int_equal(ds_prefetch(ds, many, DS_PREFETCH_MAX + 1), -EINVAL);
	assert_int_equal(ds_prefetch(ds, bad, 2), -EINVAL);
	assert_int_equal(n_read, 0);
	/* the store failed: nothing kept, reads go to it */
	read_fail = -ETIMEDOUT;
	assert_int_equal(ds_prefetch(ds, keys, 3), -ETIMEDOUT);
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 1);
	/* a backend without it (sqlite): 0, nothing kept */
	fake.read_many = NULL;
	assert_int_equal(ds_prefetch(ds, keys, 3), 0);
	assert_int_equal(ds_get(ds, "/p/k", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(n_get, 2);
	assert_int_equal(n_read, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_or_none, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
