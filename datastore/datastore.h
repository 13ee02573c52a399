/*
 * datastore: petrel's one interface to its state, whatever holds it.
 *
 * A flat key space of documents (JSON text), each with the revision of its
 * last change. The store's revision is a single monotonic counter: every
 * successful write (and every transaction) takes the next one. Every write is
 * a compare-and-swap, so two writers can never both win:
 *   create   fails with -EEXIST when the key exists;
 *   update   fails with -ENOENT when it does not, -ECANCELED when its
 *            mod_rev differs from the expected one;
 *   delete   the same (expect_rev 0 = whatever revision it has).
 * ds_txn applies several such operations all or nothing.
 *
 * watch: every change with a revision greater than `from`, in order, to keys
 * under a prefix. Its fd is pollable (readable when there may be news); the
 * owner calls ds_watch_read, which never blocks. When the store has forgotten
 * revisions the watcher still needed (compaction), ds_watch_read returns
 * -ERANGE: list again, then watch from the list's revision.
 *
 * Backends: "sqlite:PATH" (embedded, one node, many processes) and
 * "etcd:URL[,URL...]" (etcd v3, many nodes). Nothing here logs.
 * Errors beyond the CAS ones: -ETIMEDOUT (etcd: no member answered within
 * the request's deadline), -EACCES (etcd: TLS or authentication refused).
 *
 * Keys (see model/res.h for the builders):
 *   /petrel/<kind-plural>/<name>, WorkloadEndpoints /petrel/workloadendpoints/<node>/<name>
 */
#ifndef PETREL_DATASTORE_H
#define PETREL_DATASTORE_H

#include <stddef.h>
#include <stdint.h>

struct ds;
struct ds_watch;

struct ds_kv {
	char *key;		/* owned */
	char *value;		/* owned, NUL-terminated document text */
	int64_t mod_rev;	/* revision of the last change */
	int64_t create_rev;	/* revision that created it */
};

enum ds_op_type { DS_OP_CREATE, DS_OP_UPDATE, DS_OP_DELETE };

struct ds_op {
	enum ds_op_type type;
	const char *key;	/* borrowed */
	const char *value;	/* borrowed; create and update only */
	int64_t expect_rev;	/* update: required; delete: 0 = any */
};

enum ds_event_type { DS_EV_PUT, DS_EV_DELETE };

struct ds_event {
	enum ds_event_type type;
	char *key;		/* owned */
	char *value;		/* owned; NULL for a delete */
	int64_t rev;		/* the revision of this change */
};

/* url: "sqlite:/path/to/db" (the file and its folder are created), or
 * "etcd:http(s)://HOST:PORT[,...][?ca=F&cert=F&key=F&user=U&password_file=F
 * &prefix=/P&timeout=MS]" (datastore/etcd_ep.h; opening connects nowhere).
 * Returns 0 and *out, or -errno (-EINVAL for an unknown scheme); then
 * ds_last_error(NULL) says why. */
int ds_open(const char *url, struct ds **out);
void ds_close(struct ds *ds);			/* NULL ok */
/* Text for the last backend-specific failure (e.g. sqlite's message; etcd:
 * the endpoints tried and the last error); never NULL. ds NULL: why this
 * thread's last ds_open failed. */
const char *ds_last_error(struct ds *ds);
/* Why this thread's last ds_open failed with err: the backend's own text
 * when it gave one (a file refused, an etcd key file), else ds_strerror. */
const char *ds_open_strerror(int err);

/* -ENOENT when missing. out is filled (caller ds_kv_clear()s it). */
int ds_get(struct ds *ds, const char *key, struct ds_kv *out);
/* All keys starting with prefix, sorted by key; *rev = the store's revision
 * the list is consistent with. Caller frees with ds_kvs_free(). */
int ds_list(struct ds *ds, const char *prefix, struct ds_kv **out, size_t *n,
	    int64_t *rev);
/* Reads ahead: each of keys[0..n) (a key, or a prefix when it ends in '/';
 * n <= DS_PREFETCH_MAX) at one revision, in one round trip where the
 * backend can (etcd: one read-only txn; sqlite reads locally, and keeps
 * nothing). Until the next write through ds (any ds_txn, ds_compact) or
 * ds_prefetch_drop(), ds_get and ds_list of a key or prefix inside what
 * was read are answered from that snapshot. For a caller about to read
 * several records and then write with compare-and-swap: a snapshot taken
 * a moment before is as safe as each read then (the CAS judges), and the
 * write drops it, so a retry reads afresh. 0, or -errno (nothing kept:
 * reads go to the store). keys are copied. */
int ds_prefetch(struct ds *ds, const char *const *keys, size_t n);
#define DS_PREFETCH_MAX 8
void ds_prefetch_drop(struct ds *ds);			/* NULL ok */
int ds_create(struct ds *ds, const char *key, const char *value, int64_t *rev);
int ds_update(struct ds *ds, const char *key, const char *value,
	      int64_t expect_rev, int64_t *rev);
int ds_delete(struct ds *ds, const char *key, int64_t expect_rev);
/* All or nothing. On failure returns the failing op's error and, when
 * failed_op is not NULL, its index. *rev (may be NULL) gets the new revision. */
int ds_txn(struct ds *ds, const struct ds_op *ops, size_t n, int64_t *rev,
	   size_t *failed_op);
/* The store's current revision (0 for an empty store), or -errno. */
int64_t ds_revision(struct ds *ds);

/* At most this many ops in one ds_txn (-E2BIG beyond): etcd's default limit,
 * so that what works on one backend works on the other. A key may appear at
 * most once in a transaction (-EINVAL otherwise), as in etcd. */
#define DS_TXN_MAX 128

/* Forgets the change log up to and including rev (0 < rev <= the store's
 * revision, else -EINVAL; an older rev than already compacted is a no-op).
 * Watchers still needing a forgotten revision get -ERANGE. The sqlite backend
 * also compacts by itself, keeping the newest DS_SQLITE_KEEP_REVS revisions. */
int ds_compact(struct ds *ds, int64_t rev);
#define DS_SQLITE_KEEP_REVS 100000

void ds_kv_clear(struct ds_kv *kv);
void ds_kvs_free(struct ds_kv *kvs, size_t n);

/* A watch borrows ds (and its connection): free it before ds_close(). Its fd
 * is already readable when there are changes after `from` at creation. */
int ds_watch_new(struct ds *ds, const char *prefix, int64_t from,
		 struct ds_watch **out);
int ds_watch_fd(const struct ds_watch *w);
/* The newest revision through which the watch has handed over every event
 * (0: none yet), or -ENOTSUP when its backend reads the store at once: then
 * a read that returns nothing has handed over everything up to the store's
 * revision before it (ds_revision). An asynchronous watch (etcd's stream)
 * may still be carrying a change the store has already counted. */
int64_t ds_watch_rev(const struct ds_watch *w);
/* Appends the news (possibly none) to a new array; never blocks. -ERANGE: compacted. */
int ds_watch_read(struct ds_watch *w, struct ds_event **evs, size_t *n);
void ds_events_free(struct ds_event *evs, size_t n);
void ds_watch_free(struct ds_watch *w);		/* NULL ok */

/* Text for a datastore error code, e.g. -ECANCELED → "revision changed (concurrent update)". */
const char *ds_strerror(int err);

/* Backends plug in through datastore/ds_impl.h (private to datastore/). */

#endif
