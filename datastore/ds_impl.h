/*
 * ds_impl: how a datastore backend plugs in (private to datastore/).
 *
 * One struct ds_backend of function pointers per backend. A backend's handle
 * embeds struct ds as its first member, its watch embeds struct ds_watch the
 * same way, so ds.c dispatches through ds->be / w->be and casts back.
 *
 * ds.c checks the arguments the interface promises (NULL pointers, empty
 * keys, an update without expect_rev, duplicate keys or too many ops in one
 * transaction) before it calls a backend, so backends may assume them valid.
 * create, update and delete reach the backend as a one-op txn.
 */
#ifndef PETREL_DS_IMPL_H
#define PETREL_DS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore/datastore.h"

#define DS_ERR_MAX 256

struct ds_backend {
	const char *scheme;	/* "sqlite": matches the URL up to its ':' */
	/* where: the URL after "scheme:". On success *out->be is set. */
	int (*open)(const char *where, struct ds **out);
	void (*close)(struct ds *ds);
	int (*get)(struct ds *ds, const char *key, struct ds_kv *out);
	int (*list)(struct ds *ds, const char *prefix, struct ds_kv **out,
		    size_t *n, int64_t *rev);
	int (*txn)(struct ds *ds, const struct ds_op *ops, size_t n,
		   int64_t *rev, size_t *failed_op);
	/* Optional (ds_prefetch): keys[i], a key or a prefix ending in '/',
	 * all at one revision *rev: kvs[i] (nkv[i] of them, sorted); full[i]
	 * false when a prefix had more than one reply holds (then unused). */
	int (*read_many)(struct ds *ds, const char *const *keys, size_t n,
			 struct ds_kv **kvs, size_t *nkv, bool *full,
			 int64_t *rev);
	int64_t (*revision)(struct ds *ds);
	int (*compact)(struct ds *ds, int64_t rev);
	int (*watch_new)(struct ds *ds, const char *prefix, int64_t from,
			 struct ds_watch **out);
	int (*watch_fd)(const struct ds_watch *w);
	int (*watch_read)(struct ds_watch *w, struct ds_event **evs,
			  size_t *n);
	void (*watch_free)(struct ds_watch *w);
	/* Optional: the newest revision through which every event has been
	 * handed over by watch_read. NULL when the backend's watch reads the
	 * store at once (sqlite): then what the store's revision was before
	 * an empty read has been handed over. */
	int64_t (*watch_rev)(const struct ds_watch *w);
};

struct ds_snap;

struct ds {
	const struct ds_backend *be;
	char err[DS_ERR_MAX];	/* ds_last_error(); "" when none */
	struct ds_snap *snap;	/* ds_prefetch()'s, NULL when none (ds_snap.c) */
};

struct ds_watch {
	const struct ds_backend *be;
};

/* ds_snap.c: answers from the snapshot. 1 when it holds the answer (0 or
 * -ENOENT/-ENOMEM in *r), 0 when the store must be asked. */
int ds_snap_get(struct ds *ds, const char *key, struct ds_kv *out, int *r);
int ds_snap_list(struct ds *ds, const char *prefix, struct ds_kv **out,
		 size_t *n, int64_t *rev, int *r);

extern const struct ds_backend ds_sqlite_backend;
extern const struct ds_backend ds_etcd_backend;

/* Records the text ds_last_error() returns (formatted, truncated). */
void ds_set_error(struct ds *ds, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Why an open failed: what ds_last_error(NULL) returns after it (per
 * thread, until the next ds_open). */
void ds_set_open_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/*
 * Key range of a prefix: every key k with lo <= k < hi (bytewise), where
 * lo = prefix and hi = the prefix with its last byte below 0xff incremented
 * and the rest cut off. Returns 0 and *hi (malloc'd; NULL when no upper bound
 * exists: an empty or all-0xff prefix), or -ENOMEM.
 */
int ds_prefix_end(const char *prefix, char **hi);

#endif
