/*
 * ds: the backend-independent half of the datastore. It picks a backend by
 * the URL's scheme, checks what the interface promises about arguments (so
 * every backend refuses the same things the same way), and owns the helpers
 * every backend shares (error texts, freeing results, prefix ranges).
 *
 * create/update/delete are one-op transactions: a backend has one write path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/datastore.h"
#include "datastore/ds_impl.h"

static const struct ds_backend *const backends[] = {
	&ds_sqlite_backend,
	&ds_etcd_backend,
};

/* Why the last ds_open of this thread failed (ds_last_error(NULL)). */
static _Thread_local char open_err[DS_ERR_MAX];

void ds_set_open_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_err, sizeof(open_err), fmt, ap);
	va_end(ap);
}

int ds_open(const char *url, struct ds **out)
{
	const char *colon;
	size_t i, len;

	if (!url || !out)
		return -EINVAL;
	*out = NULL;
	open_err[0] = '\0';
	colon = strchr(url, ':');
	if (!colon)
		return -EINVAL;
	len = (size_t)(colon - url);
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const struct ds_backend *be = backends[i];

		if (strlen(be->scheme) == len && !strncmp(be->scheme, url, len))
			return be->open(colon + 1, out);
	}
	return -EINVAL;
}

void ds_close(struct ds *ds)
{
	if (ds) {
		ds_prefetch_drop(ds);
		ds->be->close(ds);
	}
}

const char *ds_open_strerror(int err)
{
	return open_err[0] ? open_err : ds_strerror(err);
}

const char *ds_last_error(struct ds *ds)
{
	if (!ds)
		return open_err[0] ? open_err : "no error";
	if (!ds->err[0])
		return "no error";
	return ds->err;
}

void ds_set_error(struct ds *ds, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ds->err, sizeof(ds->err), fmt, ap);
	va_end(ap);
}

int ds_prefix_end(const char *prefix, char **hi)
{
	size_t len = strlen(prefix);
	char *s;

	*hi = NULL;
	while (len > 0 && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (len == 0)
		return 0;
	s = malloc(len + 1);
	if (!s)
		return -ENOMEM;
	memcpy(s, prefix, len);
	s[len - 1] = (char)((unsigned char)s[len - 1] + 1);
	s[len] = '\0';
	*hi = s;
	return 0;
}

int ds_get(struct ds *ds, const char *key, struct ds_kv *out)
{
	int r;

	if (!ds || !key || !*key || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (ds_snap_get(ds, key, out, &r))
		return r;
	return ds->be->get(ds, key, out);
}

int ds_list(struct ds *ds, const char *prefix, struct ds_kv **out, size_t *n,
	    int64_t *rev)
{
	int64_t dummy;
	int r;

	if (!ds || !prefix || !out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (ds_snap_list(ds, prefix, out, n, rev ? rev : &dummy, &r))
		return r;
	return ds->be->list(ds, prefix, out, n, rev ? rev : &dummy);
}

static int op_check(const struct ds_op *op)
{
	if (!op->key || !op->key[0])
		return -EINVAL;
	switch (op->type) {
	case DS_OP_CREATE:
		return op->value ? 0 : -EINVAL;
	case DS_OP_UPDATE:
		return op->value && op->expect_rev > 0 ? 0 : -EINVAL;
	case DS_OP_DELETE:
		return op->expect_rev >= 0 ? 0 : -EINVAL;
	}
	return -EINVAL;
}

int ds_txn(struct ds *ds, const struct ds_op *ops, size_t n, int64_t *rev,
	   size_t *failed_op)
{
	size_t i, j, dummy_idx;
	int64_t dummy_rev;
	int r;

	if (!failed_op)
		failed_op = &dummy_idx;
	if (!rev)
		rev = &dummy_rev;
	*failed_op = 0;
	if (!ds || !ops || n == 0)
		return -EINVAL;
	if (n > DS_TXN_MAX)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		*failed_op = i;
		r = op_check(&ops[i]);
		if (r < 0) {
			ds_set_error(ds, "op %zu: invalid operation", i);
			return r;
		}
		/* n <= DS_TXN_MAX: quadratic is cheaper than sorting here */
		for (j = 0; j < i; j++) {
			if (!strcmp(ops[j].key, ops[i].key)) {
				ds_set_error(ds, "op %zu: key %s twice in one "
					     "transaction", i, ops[i].key);
				return -EINVAL;
			}
		}
	}
	*failed_op = 0;
	ds_prefetch_drop(ds);	/* a write: what was read ahead may be stale */
	return ds->be->txn(ds, ops, n, rev, failed_op);
}

int ds_create(struct ds *ds, const char *key, const char *value, int64_t *rev)
{
	struct ds_op op = {
		.type = DS_OP_CREATE, .key = key, .value = value,
	};

	return ds_txn(ds, &op, 1, rev, NULL);
}

int ds_update(struct ds *ds, const char *key, const char *value,
	      int64_t expect_rev, int64_t *rev)
{
	struct ds_op op = {
		.type = DS_OP_UPDATE, .key = key, .value = value,
		.expect_rev = expect_rev,
	};

	return ds_txn(ds, &op, 1, rev, NULL);
}

int ds_delete(struct ds *ds, const char *key, int64_t expect_rev)
{
	struct ds_op op = {
		.type = DS_OP_DELETE, .key = key, .expect_rev = expect_rev,
	};

	return ds_txn(ds, &op, 1, NULL, NULL);
}

int64_t ds_revision(struct ds *ds)
{
	if (!ds)
		return -EINVAL;
	return ds->be->revision(ds);
}

int ds_compact(struct ds *ds, int64_t rev)
{
	if (!ds || rev <= 0)
		return -EINVAL;
	ds_prefetch_drop(ds);
	return ds->be->compact(ds, rev);
}

void ds_kv_clear(struct ds_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void ds_kvs_free(struct ds_kv *kvs, size_t n)
{
	size_t i;

	if (!kvs)
		return;
	for (i = 0; i < n; i++)
		ds_kv_clear(&kvs[i]);
	free(kvs);
}

int ds_watch_new(struct ds *ds, const char *prefix, int64_t from,
		 struct ds_watch **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!ds || !prefix || from < 0)
		return -EINVAL;
	return ds->be->watch_new(ds, prefix, from, out);
}

int ds_watch_fd(const struct ds_watch *w)
{
	if (!w)
		return -EINVAL;
	return w->be->watch_fd(w);
}

int64_t ds_watch_rev(const struct ds_watch *w)
{
	if (!w)
		return -EINVAL;
	if (!w->be->watch_rev)
		return -ENOTSUP;
	return w->be->watch_rev(w);
}

int ds_watch_read(struct ds_watch *w, struct ds_event **evs, size_t *n)
{
	if (!w || !evs || !n)
		return -EINVAL;
	*evs = NULL;
	*n = 0;
	return w->be->watch_read(w, evs, n);
}

void ds_events_free(struct ds_event *evs, size_t n)
{
	size_t i;

	if (!evs)
		return;
	for (i = 0; i < n; i++) {
		free(evs[i].key);
		free(evs[i].value);
	}
	free(evs);
}

void ds_watch_free(struct ds_watch *w)
{
	if (w)
		w->be->watch_free(w);
}

const char *ds_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -EEXIST:
		return "key already exists";
	case -ENOENT:
		return "key not found";
	case -ECANCELED:
		return "revision changed (concurrent update)";
	case -ERANGE:
		return "revision compacted";
	case -EBUSY:
		return "datastore busy (timed out waiting for its lock)";
	case -E2BIG:
		return "too many operations in one transaction";
	case -EINVAL:
		return "invalid argument";
	case -EIO:
		return "datastore I/O error or corrupt database";
	case -ENOMEM:
		return "out of memory";
	case -ETIMEDOUT:
		return "datastore unreachable (no answer within the deadline)";
	case -EACCES:
		return "datastore refused access (TLS or authentication)";
	}
	return err < 0 ? strerror(-err) : "unknown error";
}
