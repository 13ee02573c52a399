/*
 * ds_etcd: the etcd v3 backend, "etcd:URL[,URL...][?options]" (options and
 * failover: etcd_ep.h; requests: etcd_http.c; the watch: etcd_watch.c).
 *
 * Mapping of the interface onto etcd:
 *   - the store's revision is etcd's (header.revision); a document's
 *     mod_rev/create_rev are its mod_revision/create_revision;
 *   - every write is one etcd txn whose compares are the CAS of each op
 *     (create: version == 0; update/delete: mod_revision == expect_rev, or
 *     version > 0 for a delete of any revision). Its failure branch reads
 *     every op's key, so a failed txn says in its own reply, at its own
 *     revision, which op failed and why (no second, racy read);
 *   - list is a range [prefix, ds_prefix_end(prefix)) read in pages of
 *     LIST_PAGE keys, every page at the first page's revision, so the list
 *     is one snapshot however long it is; a page compacted away meanwhile
 *     restarts the list (a few times);
 *   - read_many (ds_prefetch) is one txn without compares whose success
 *     branch is the ranges: one round trip, one revision;
 *   - compact(rev) forgets revisions <= rev: etcd's compaction at rev + 1
 *     (at rev when rev is the newest: etcd keeps that one; a watch from
 *     rev - 1 then still gets it, which is no harm).
 *
 * A write retried after an attempt that may have landed (a timeout, a
 * broken connection, "leader changed": etcd_call's *maybe) cannot simply
 * be trusted or repeated: the retry's compares fail against our own first
 * attempt (a create finds the key, an update a new mod_revision). So when
 * a retried txn fails, and the failure branch shows exactly our writes in
 * place (every put's value ours, all at one revision; every deleted key
 * gone), the txn counts as done at that revision. What this cannot tell
 * apart: another writer that wrote byte-identical values meanwhile. For
 * petrel's documents that is the same outcome (the same document).
 *
 * A key prefix (prefix=/team1) goes in front of every key sent and comes
 * off every key received; "" (the default) leaves keys as petrel names them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/secretfile.h"
#include "datastore/ds_etcd_int.h"

#define LIST_PAGE 1000
#define LIST_TRIES 3
#define PASSWORD_MAX 1024

static const char *const verb[] = {
	[DS_OP_CREATE] = "create", [DS_OP_UPDATE] = "update",
	[DS_OP_DELETE] = "delete",
};

/* prefix + key, malloc'd; *len its length. */
static char *ekey(const struct ds_etcd *e, const char *key, size_t *len)
{
	size_t pl = strlen(e->o.prefix), kl = strlen(key);
	char *s = malloc(pl + kl + 2);	/* +1: room for a list's "\0" step */

	if (!s)
		return NULL;
	memcpy(s, e->o.prefix, pl);
	memcpy(s + pl, key, kl + 1);
	*len = pl + kl;
	return s;
}

static int et_get(struct ds *ds, const char *key, struct ds_kv *out)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;
	struct etcd_range q = { 0 };
	struct etcd_buf reply;
	struct ds_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev;
	bool more;
	char *k, *body;
	int r;

	k = ekey(e, key, &q.klen);
	if (!k)
		return -ENOMEM;
	q.key = k;
	body = etcd_req_range(&q);
	free(k);
	if (!body)
		return -ENOMEM;
	r = etcd_call(e, "/v3/kv/range", body, false, &reply, NULL);
	free(body);
	if (r < 0)
		return r;
	r = etcd_parse_range(reply.p, reply.len, e->o.prefix, &kvs, &n, &rev,
			     &more);
	etcd_buf_free(&reply);
	if (r < 0) {
		ds_set_error(ds, "etcd: get %s: a reply that does not parse", key);
		return r;
	}
	if (n == 0)
		return -ENOENT;
	if (n != 1 || strcmp(kvs[0].key, key)) {
		ds_kvs_free(kvs, n);
		ds_set_error(ds, "etcd: get %s: a reply for another key", key);
		return -EIO;
	}
	*out = kvs[0];
	free(kvs);
	return 0;
}

/* Appends src[0..n) to *dst (*dn entries, *cap room); takes src's contents. */
static int kvs_append(struct ds_kv **dst, size_t *dn, size_t *cap,
		      struct ds_kv *src, size_t n)
{
	if (n == 0)
		return 0;	/* (an empty page: src and *dst may be NULL) */
	if (*dn + n > *cap) {
		size_t ncap = *cap ? *cap : 64;
		struct ds_kv *nk;

		while (ncap < *dn + n)
			ncap *= 2;
		nk = realloc(*dst, ncap * sizeof(**dst));
		if (!nk)
			return -ENOMEM;
		*dst = nk;
		*cap = ncap;
	}
	memcpy(*dst + *dn, src, n * sizeof(*src));
	*dn += n;
	return 0;
}

/* One list, every page at the first page's revision. -ERANGE: compacted. */
static int list_once(struct ds_etcd *e, const char *prefix, struct ds_kv **out,
		     size_t *cnt, int64_t *rev)
{
	struct etcd_range q = { .limit = LIST_PAGE };
	struct ds_kv *all = NULL;
	size_t n = 0, cap = 0;
	char *lo, *hi = NULL, *next = NULL;
	int r;

	lo = ekey(e, prefix, &q.klen);
	if (!lo)
		return -ENOMEM;
	r = ds_prefix_end(lo, &hi);
	if (r < 0)
		goto out;
	if (!lo[0]) {
		/* every key: etcd has no empty key, "\0" is the first */
		q.klen = 1;
	}
	q.key = lo;
	if (hi) {
		q.end = hi;
		q.elen = strlen(hi);
	} else {
		q.end_all = true;
	}
	for (;;) {
		struct etcd_buf reply;
		struct ds_kv *page = NULL;
		size_t pn = 0;
		int64_t prev;
		bool more;
		char *body = etcd_req_range(&q);

		if (!body) {
			r = -ENOMEM;
			goto out;
		}
		r = etcd_call(e, "/v3/kv/range", body, false, &reply, NULL);
		free(body);
		if (r < 0)
			goto out;
		r = etcd_parse_range(reply.p, reply.len, e->o.prefix, &page, &pn,
				     &prev, &more);
		etcd_buf_free(&reply);
		if (r < 0) {
			ds_set_error(&e->base, "etcd: list %s: a reply that does "
				     "not parse", prefix);
			goto out;
		}
		if (!q.revision)
			q.revision = prev;
		r = kvs_append(&all, &n, &cap, page, pn);
		if (r < 0) {
			ds_kvs_free(page, pn);
			goto out;
		}
		free(page);
		if (!more || pn == 0)
			break;
		/* the next page starts right after the last key: key + "\0" */
		free(next);
		next = ekey(e, all[n - 1].key, &q.klen);
		if (!next) {
			r = -ENOMEM;
			goto out;
		}
		q.klen++;	/* the NUL is part of the key */
		q.key = next;
	}
	*out = all;
	*cnt = n;
	*rev = q.revision;
	all = NULL;
	n = 0;
out:
	ds_kvs_free(all, n);
	free(lo);
	free(hi);
	free(next);
	return r;
}

static int et_list(struct ds *ds, const char *prefix, struct ds_kv **out,
		   size_t *n, int64_t *rev)
{
	int i, r = -ERANGE;

	for (i = 0; i < LIST_TRIES && r == -ERANGE; i++)
		r = list_once((struct ds_etcd *)ds, prefix, out, n, rev);
	return r;
}

/* ds_prefetch: one read-only txn of n ranges (a prefix: its first page). */
static int et_read_many(struct ds *ds, const char *const *keys, size_t n,
			struct ds_kv **kvs, size_t *nkv, bool *full, int64_t *rev)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;
	struct etcd_range q[DS_PREFETCH_MAX] = { { 0 } };
	char *lo[DS_PREFETCH_MAX] = { 0 }, *hi[DS_PREFETCH_MAX] = { 0 };
	bool more[DS_PREFETCH_MAX];
	struct etcd_buf reply;
	char *body = NULL;
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		size_t kl = strlen(keys[i]);

		lo[i] = ekey(e, keys[i], &q[i].klen);
		if (!lo[i]) {
			r = -ENOMEM;
			break;
		}
		q[i].key = lo[i];
		if (keys[i][kl - 1] != '/')
			continue;
		/* a prefix ends in '/': it has an upper bound */
		r = ds_prefix_end(lo[i], &hi[i]);
		q[i].end = hi[i];
		q[i].elen = hi[i] ? strlen(hi[i]) : 0;
		q[i].end_all = !hi[i];
		q[i].limit = LIST_PAGE;
	}
	body = r == 0 ? etcd_req_reads(q, n) : NULL;
	if (!body) {
		r = r ? r : -ENOMEM;
		goto out;
	}
	r = etcd_call(e, "/v3/kv/txn", body, false, &reply, NULL);
	if (r < 0)
		goto out;
	r = etcd_parse_reads(reply.p, reply.len, e->o.prefix, n, kvs, nkv, more,
			     rev);
	etcd_buf_free(&reply);
	if (r < 0) {
		ds_set_error(ds, "etcd: read-ahead: a reply that does not parse");
		goto out;
	}
	for (i = 0; i < n; i++)
		full[i] = !more[i];
out:
	for (i = 0; i < n; i++) {
		free(lo[i]);
		free(hi[i]);
	}
	free(body);
	return r;
}

static int et_txn(struct ds *ds, const struct ds_op *ops, size_t n,
		  int64_t *rev, size_t *failed_op)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;
	struct etcd_kstate *st;
	struct etcd_buf reply;
	int64_t at, landed;
	bool ok = false, maybe = false;
	char *body;
	int r;

	st = calloc(n, sizeof(*st));
	body = st ? etcd_req_txn(ops, n, e->o.prefix) : NULL;
	if (!body) {
		free(st);
		return -ENOMEM;
	}
	r = etcd_call(e, "/v3/kv/txn", body, true, &reply, &maybe);
	free(body);
	if (r < 0)
		goto out;
	r = etcd_parse_txn(reply.p, reply.len, &ok, &at, st, n);
	etcd_buf_free(&reply);
	if (r < 0) {
		ds_set_error(ds, "etcd: txn: a reply that does not parse");
		goto out;
	}
	if (ok) {
		*rev = at;
		goto out;
	}
	if (maybe && etcd_txn_landed(ops, n, st, &landed)) {
		/* our first attempt landed (see the top of this file) */
		*rev = landed ? landed : at;
		goto out;
	}
	r = etcd_txn_failure(ops, n, st, failed_op);
	if (r == -EAGAIN) {
		ds_set_error(ds, "etcd: txn refused, yet every compare holds "
			     "at revision %lld", (long long)at);
		r = -EIO;
	} else {
		ds_set_error(ds, "%s %s: %s", verb[ops[*failed_op].type],
			     ops[*failed_op].key, ds_strerror(r));
	}
out:
	etcd_kstates_clear(st, n);
	free(st);
	return r;
}

static int64_t et_revision(struct ds *ds)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;
	struct etcd_range q = { .key = "", .klen = 1, .count_only = true };
	struct etcd_buf reply;
	int64_t rev = 0;
	char *body = etcd_req_range(&q);
	int r;

	if (!body)
		return -ENOMEM;
	r = etcd_call(e, "/v3/kv/range", body, false, &reply, NULL);
	free(body);
	if (r < 0)
		return r;
	r = etcd_parse_header(reply.p, reply.len, &rev);
	etcd_buf_free(&reply);
	if (r < 0) {
		ds_set_error(ds, "etcd: a reply without a revision");
		return r;
	}
	return rev;
}

static int et_compact(struct ds *ds, int64_t rev)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;
	struct etcd_buf reply;
	int64_t cur = et_revision(ds);
	char *body;
	int r;

	if (cur < 0)
		return (int)cur;
	if (rev > cur) {
		ds_set_error(ds, "compact %lld: a future revision (now %lld)",
			     (long long)rev, (long long)cur);
		return -EINVAL;
	}
	body = etcd_req_compact(rev < cur ? rev + 1 : rev);
	if (!body)
		return -ENOMEM;
	r = etcd_call(e, "/v3/kv/compaction", body, true, &reply, NULL);
	free(body);
	if (r == 0)
		etcd_buf_free(&reply);
	/* compacted further already: nothing to do */
	return r == -ERANGE ? 0 : r;
}

static void et_close(struct ds *ds)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;

	size_t i;

	if (e->h)
		etcd_c.easy_cleanup(e->h);
	for (i = 0; i < ETCD_EP_MAX; i++)
		etcd_h1_conn_close(&e->h1[i]);
	if (e->password) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	if (e->token) {
		explicit_bzero(e->token, strlen(e->token));
		free(e->token);
	}
	etcd_opts_clear(&e->o);
	free(e);
}

/* The files the options name: there, readable; the secret ones root's, 0600. */
static int files_check(struct ds_etcd *e)
{
	const char *plain[] = { e->o.ca, e->o.cert };
	char err[DS_ERR_MAX];
	size_t i;
	int r;

	for (i = 0; i < 2; i++) {
		if (plain[i] && access(plain[i], R_OK) < 0) {
			r = -errno;
			ds_set_open_error("etcd: %s file %s: %s",
					  i ? "cert" : "ca", plain[i], strerror(-r));
			return r;
		}
	}
	if (e->o.key) {
		r = secret_file_check(e->o.key, err, sizeof(err));
		if (r < 0) {
			ds_set_open_error("etcd: key file %s", err);
			return r;
		}
	}
	if (e->o.password_file) {
		r = secret_file_read(e->o.password_file, PASSWORD_MAX,
				     &e->password, err, sizeof(err));
		if (r < 0) {
			ds_set_open_error("etcd: password_file %s", err);
			return r;
		}
	}
	return 0;
}

static int et_open(const char *where, struct ds **out)
{
	char err[DS_ERR_MAX];
	struct ds_etcd *e;
	bool tls = false;
	size_t i;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->base.be = &ds_etcd_backend;
	for (i = 0; i < ETCD_EP_MAX; i++)
		e->h1[i].fd = -1;
	r = etcd_opts_parse(where, &e->o, err, sizeof(err));
	if (r < 0) {
		ds_set_open_error("etcd: %s", err);
		free(e);
		return r;
	}
	r = files_check(e);
	if (r < 0)
		goto out;
	/* libcurl only for https:// members (ds_etcd_int.h); the watch
	 * loads it when it starts */
	for (i = 0; i < e->o.n; i++)
		tls |= strncmp(e->o.eps[i], "http://", 7) != 0;
	if (tls) {
		r = etcd_curl_load(err, sizeof(err));
		if (r < 0) {
			ds_set_open_error("etcd: %s", err);
			goto out;
		}
		e->h = etcd_c.easy_init();
		if (!e->h) {
			r = -ENOMEM;
			goto out;
		}
		etcd_setup_handle(e, e->h, e->curl_err);
	}
	*out = &e->base;
	return 0;
out:
	et_close(&e->base);
	return r;
}

const struct ds_backend ds_etcd_backend = {
	.scheme = "etcd",
	.open = et_open,
	.close = et_close,
	.get = et_get,
	.list = et_list,
	.txn = et_txn,
	.read_many = et_read_many,
	.revision = et_revision,
	.compact = et_compact,
	.watch_new = etcd_watch_new,
	.watch_fd = etcd_watch_fd,
	.watch_read = etcd_watch_read,
	.watch_rev = etcd_watch_rev,
	.watch_free = etcd_watch_free,
};
