/*
 * dscontract: the datastore interface's contract, run against any URL, so
 * that every backend is held to the same promises (datastore/datastore.h).
 *
 *   dscontract URL ROOT              every check below; keys under ROOT
 *                                    (e.g. /petrel/ct-1234/), which must be
 *                                    empty. Prints "PASS: ..." / "FAIL: ..."
 *                                    per check; exit 1 when any failed.
 *   dscontract URL ROOT race N ID    creates ROOT/k0..k(N-1) (value ID) as
 *                                    one of several racing processes;
 *                                    prints "won KEY" per key this process
 *                                    created, "lost KEY" per -EEXIST, and
 *                                    "error KEY: why" per other failure
 *
 * The checks: create/get/update/delete and their CAS errors; a txn all or
 * nothing, with the failing op's index; the txn limits; list of a prefix
 * (2,500 keys: more than one etcd page) sorted, at one revision, nothing
 * outside the prefix; the revision only grows; watch from a revision
 * (history, then news, in order, none twice); compaction (-ERANGE for a
 * watch from before it, -EINVAL for a future revision).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datastore/datastore.h"

#define LIST_N 2500
#define WAIT_MS 10000

static int fails;
static const char *root;

static void check(bool ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "PASS: " : "FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!ok)
		fails++;
}

static char *k(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *k(const char *fmt, ...)
{
	static char bufs[8][256];
	static int next;
	char *b = bufs[next++ % 8];
	int o = snprintf(b, 256, "%s", root);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + o, (size_t)(256 - o), fmt, ap);
	va_end(ap);
	return b;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void crud(struct ds *ds)
{
	struct ds_kv kv;
	int64_t r1 = 0, r2 = 0, r0 = ds_revision(ds);
	int r;

	r = ds_create(ds, k("a"), "{\"v\":1}", &r1);
	check(r == 0 && r1 > r0, "create: a new revision (%lld > %lld, %s)", (long long)r1,
	      (long long)r0, ds_strerror(r));
	r = ds_get(ds, k("a"), &kv);
	check(r == 0 && !strcmp(kv.value, "{\"v\":1}") && kv.mod_rev == r1 &&
	      kv.create_rev == r1 && !strcmp(kv.key, k("a")),
	      "get: the value, mod_rev = create_rev = the create's revision");
	ds_kv_clear(&kv);
	check(ds_create(ds, k("a"), "x", NULL) == -EEXIST, "create of an existing key: -EEXIST");
	check(ds_update(ds, k("a"), "x", r1 + 100, NULL) == -ECANCELED,
	      "update with another revision: -ECANCELED");
	r = ds_update(ds, k("a"), "{\"v\":2}", r1, &r2);
	check(r == 0 && r2 > r1, "update with its revision: a newer revision");
	r = ds_get(ds, k("a"), &kv);
	check(r == 0 && !strcmp(kv.value, "{\"v\":2}") && kv.mod_rev == r2 && kv.create_rev == r1,
	      "get after update: new value and mod_rev, the same create_rev");
	ds_kv_clear(&kv);
	check(ds_update(ds, k("missing"), "x", 1, NULL) == -ENOENT, "update of a missing key: -ENOENT");
	check(ds_delete(ds, k("missing"), 0) == -ENOENT, "delete of a missing key: -ENOENT");
	check(ds_delete(ds, k("a"), r1) == -ECANCELED, "delete with an old revision: -ECANCELED");
	check(ds_delete(ds, k("a"), r2) == 0, "delete with its revision");
	check(ds_get(ds, k("a"), &kv) == -ENOENT, "get after delete: -ENOENT");
	check(ds_create(ds, k("a"), "again", NULL) == 0 && ds_delete(ds, k("a"), 0) == 0,
	      "create again after delete, delete of any revision");
	check(ds_revision(ds) > r2, "the revision only grows");
}

static void txn(struct ds *ds)
{
	struct ds_op ops[DS_TXN_MAX + 1];
	struct ds_kv kv;
	int64_t rev = 0, ra = 0;
	size_t failed = 99, i;
	int r;

	ds_create(ds, k("t/x"), "X", &ra);
	memset(ops, 0, sizeof(ops));
	ops[0] = (struct ds_op){ .type = DS_OP_CREATE, .key = k("t/a"), .value = "A" };
	ops[1] = (struct ds_op){ .type = DS_OP_CREATE, .key = k("t/b"), .value = "B" };
	ops[2] = (struct ds_op){ .type = DS_OP_UPDATE, .key = k("t/x"), .value = "X2",
				 .expect_rev = ra };
	r = ds_txn(ds, ops, 3, &rev, &failed);
	check(r == 0 && rev > ra, "txn of 3 ops (%s)", ds_strerror(r));
	r = ds_get(ds, k("t/b"), &kv);
	check(r == 0 && kv.mod_rev == rev, "a txn's ops share its one revision");
	ds_kv_clear(&kv);

	/* fails at op 2 (the key exists): nothing of ops 0 and 1 */
	ops[0] = (struct ds_op){ .type = DS_OP_CREATE, .key = k("t/c"), .value = "C" };
	ops[1] = (struct ds_op){ .type = DS_OP_UPDATE, .key = k("t/x"), .value = "X3",
				 .expect_rev = rev };
	ops[2] = (struct ds_op){ .type = DS_OP_CREATE, .key = k("t/a"), .value = "A2" };
	r = ds_txn(ds, ops, 3, NULL, &failed);
	check(r == -EEXIST && failed == 2, "txn failing at op 2: -EEXIST, index 2 (%s, %zu)",
	      ds_strerror(r), failed);
	check(ds_get(ds, k("t/c"), &kv) == -ENOENT, "a failed txn created nothing");
	r = ds_get(ds, k("t/x"), &kv);
	check(r == 0 && !strcmp(kv.value, "X2"), "a failed txn updated nothing");
	ds_kv_clear(&kv);
	ops[2] = (struct ds_op){ .type = DS_OP_UPDATE, .key = k("t/a"), .value = "A2",
				 .expect_rev = rev + 50 };
	r = ds_txn(ds, ops, 3, NULL, &failed);
	check(r == -ECANCELED && failed == 2, "txn failing at op 2: -ECANCELED, index 2");
	ops[0] = (struct ds_op){ .type = DS_OP_DELETE, .key = k("t/none") };
	r = ds_txn(ds, ops, 3, NULL, &failed);
	check(r == -ENOENT && failed == 0, "txn failing at op 0: -ENOENT, index 0");

	for (i = 0; i <= DS_TXN_MAX; i++) {
		static char keys[DS_TXN_MAX + 1][64];

		snprintf(keys[i], sizeof(keys[i]), "%sbig/%zu", root, i);
		ops[i] = (struct ds_op){ .type = DS_OP_CREATE, .key = keys[i], .value = "v" };
	}
	check(ds_txn(ds, ops, DS_TXN_MAX + 1, NULL, NULL) == -E2BIG, "txn of 129 ops: -E2BIG");
	r = ds_txn(ds, ops, DS_TXN_MAX, NULL, NULL);
	check(r == 0, "txn of 128 ops (%s: %s)", ds_strerror(r), ds_last_error(ds));
	ops[1].key = ops[0].key;
	check(ds_txn(ds, ops, 2, NULL, NULL) == -EINVAL, "a key twice in a txn: -EINVAL");
}

static void list(struct ds *ds)
{
	struct ds_op ops[100];
	static char keys[100][64];
	struct ds_kv *kvs = NULL;
	size_t n = 0, i, j;
	int64_t rev = 0, cur;
	bool sorted = true, inside = true;
	int r = 0;

	for (i = 0; i < LIST_N && r == 0; i += 100) {
		for (j = 0; j < 100; j++) {
			snprintf(keys[j], sizeof(keys[j]), "%sl/%05zu", root, i + j);
			ops[j] = (struct ds_op){ .type = DS_OP_CREATE, .key = keys[j],
						 .value = "{\"list\":true}" };
		}
		r = ds_txn(ds, ops, 100, NULL, NULL);
	}
	check(r == 0, "%d keys created", LIST_N);
	ds_create(ds, k("l"), "sibling", NULL);	/* "ROOT/l" is not under "ROOT/l/" */
	ds_create(ds, k("l0"), "sibling", NULL);
	r = ds_list(ds, k("l/"), &kvs, &n, &rev);
	cur = ds_revision(ds);
	for (i = 0; i < n; i++) {
		if (i && strcmp(kvs[i - 1].key, kvs[i].key) >= 0)
			sorted = false;
		if (strncmp(kvs[i].key, k("l/"), strlen(k("l/"))))
			inside = false;
	}
	check(r == 0 && n == LIST_N, "list: all %d keys (got %zu)", LIST_N, n);
	check(sorted && inside, "list: sorted by key, none outside the prefix");
	check(rev == cur, "list: *rev is the store's revision (%lld, %lld)", (long long)rev,
	      (long long)cur);
	ds_kvs_free(kvs, n);
	r = ds_list(ds, k("nothing-here/"), &kvs, &n, &rev);
	check(r == 0 && n == 0 && rev == cur, "list of an empty prefix: none, at the revision");
	ds_kvs_free(kvs, n);
}

/* Reads w until want events came (or ms passed); -ERANGE etc. returned. */
static int collect_for(struct ds_watch *w, struct ds_event **all, size_t *an,
		       size_t want, int64_t ms)
{
	int64_t end = now_ms() + ms;

	while (*an < want && now_ms() < end) {
		struct pollfd p = { .fd = ds_watch_fd(w), .events = POLLIN };
		struct ds_event *evs;
		size_t n;
		int r;

		poll(&p, 1, 200);
		r = ds_watch_read(w, &evs, &n);
		if (r < 0)
			return r;
		if (n) {
			*all = realloc(*all, (*an + n) * sizeof(**all));
			memcpy(*all + *an, evs, n * sizeof(*evs));
			*an += n;
			free(evs);
		}
	}
	return 0;
}

static int collect(struct ds_watch *w, struct ds_event **all, size_t *an, size_t want)
{
	return collect_for(w, all, an, want, WAIT_MS);
}

static void watch(struct ds *ds)
{
	struct ds_watch *w = NULL;
	struct ds_event *all = NULL;
	size_t an = 0;
	int64_t r0 = ds_revision(ds), r1 = 0, r2 = 0;
	int r;

	ds_create(ds, k("w/a"), "A", &r1);
	r = ds_watch_new(ds, k("w/"), r0, &w);
	check(r == 0, "watch from a revision before a change");
	ds_create(ds, k("other"), "not watched", NULL);
	ds_update(ds, k("w/a"), "A2", r1, &r2);
	ds_delete(ds, k("w/a"), 0);
	r = collect(w, &all, &an, 3);
	check(r == 0 && an == 3, "watch: the change before it started and the two after (%zu)", an);
	if (an == 3) {
		check(all[0].type == DS_EV_PUT && all[0].rev == r1 && !strcmp(all[0].key, k("w/a")) &&
		      !strcmp(all[0].value, "A"), "watch: put A at its revision");
		check(all[1].type == DS_EV_PUT && all[1].rev == r2 && !strcmp(all[1].value, "A2"),
		      "watch: put A2 at its revision");
		check(all[2].type == DS_EV_DELETE && all[2].rev > r2 && !all[2].value,
		      "watch: the delete, after");
	}
	ds_events_free(all, an);
	all = NULL;
	an = 0;
	r = collect_for(w, &all, &an, 1, 1000);
	check(r == 0 && an == 0, "watch: nothing more, nothing twice (%zu)", an);
	ds_events_free(all, an);
	ds_watch_free(w);
}

static void compact(struct ds *ds)
{
	struct ds_watch *w = NULL;
	struct ds_event *all = NULL;
	size_t an = 0;
	int64_t r0 = ds_revision(ds), cur;
	int r;

	ds_create(ds, k("c/1"), "1", NULL);
	ds_create(ds, k("c/2"), "2", NULL);
	cur = ds_revision(ds);
	check(ds_compact(ds, cur + 10) == -EINVAL, "compact a future revision: -EINVAL");
	r = ds_compact(ds, cur - 1);
	check(r == 0, "compact (%s)", ds_strerror(r));
	check(ds_compact(ds, r0) == 0, "compact an older revision again: nothing to do");
	r = ds_watch_new(ds, k("c/"), r0, &w);
	if (r == 0)
		r = collect(w, &all, &an, 3);
	check(r == -ERANGE, "watch from before the compaction: -ERANGE (%s)", ds_strerror(r));
	ds_events_free(all, an);
	ds_watch_free(w);
	w = NULL;
	all = NULL;
	an = 0;
	r = ds_watch_new(ds, k("c/"), cur - 1, &w);
	if (r == 0)
		r = collect(w, &all, &an, 1);
	check(r == 0 && an == 1 && all[0].rev == cur, "watch from the compacted revision: "
	      "the change after it (%s, %zu)", ds_strerror(r), an);
	ds_events_free(all, an);
	ds_watch_free(w);
}

static int race(struct ds *ds, int n, const char *id)
{
	int i, r;

	for (i = 0; i < n; i++) {
		r = ds_create(ds, k("k%d", i), id, NULL);
		if (r == 0)
			printf("won %s\n", k("k%d", i));
		else if (r == -EEXIST)
			printf("lost %s\n", k("k%d", i));
		else
			printf("error %s: %s (%s)\n", k("k%d", i), ds_strerror(r),
			       ds_last_error(ds));
		fflush(stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct ds *ds = NULL;
	struct ds_kv *kvs;
	size_t n;
	int r;

	if (argc != 3 && !(argc == 6 && !strcmp(argv[3], "race"))) {
		fprintf(stderr, "usage: dscontract URL ROOT [race N ID]\n");
		return 2;
	}
	root = argv[2];
	r = ds_open(argv[1], &ds);
	if (r < 0) {
		fprintf(stderr, "dscontract: open %s: %s (%s)\n", argv[1], ds_strerror(r),
			ds_last_error(NULL));
		return 1;
	}
	if (argc == 6) {
		r = race(ds, atoi(argv[4]), argv[5]);
		ds_close(ds);
		return r ? 1 : 0;
	}
	r = ds_list(ds, root, &kvs, &n, NULL);
	ds_kvs_free(kvs, n);
	if (r < 0 || n) {
		fprintf(stderr, "dscontract: %s must be empty (%s, %zu keys)\n", root,
			ds_strerror(r), n);
		ds_close(ds);
		return 1;
	}
	crud(ds);
	txn(ds);
	list(ds);
	watch(ds);
	compact(ds);
	ds_close(ds);
	return fails ? 1 : 0;
}
