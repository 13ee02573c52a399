/*
 * test_etcd_json: the etcd backend's pure parts: the gateway's JSON codec
 * (base64, requests, every reply and error shape), the watch stream framer
 * (chunks split at every byte), the URL options and the failover order.
 * No etcd here: tests/integration/test_etcd_ds.sh runs the real thing.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "datastore/etcd_ep.h"
#include "datastore/etcd_json.h"

/* base64 of a C string, for building replies */
static char *b(const char *s)
{
	char *r = etcd_b64_enc(s, strlen(s));

	assert_non_null(r);
	return r;
}

static void test_b64(void **state)
{
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char raw[64];
	size_t i, n;
	char *s, *d;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		s = etcd_b64_enc(v[i].plain, strlen(v[i].plain));
		assert_string_equal(s, v[i].enc);
		assert_int_equal(etcd_b64_dec(s, strlen(s), &d, &n), 0);
		assert_int_equal(n, strlen(v[i].plain));
		assert_string_equal(d, v[i].plain);
		free(s);
		free(d);
	}
	/* every length, every byte value (a NUL too) round trips */
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 37 + 255);
	for (i = 0; i <= sizeof(raw); i++) {
		s = etcd_b64_enc(raw, i);
		assert_int_equal(etcd_b64_dec(s, strlen(s), &d, &n), 0);
		assert_int_equal(n, i);
		assert_memory_equal(d, raw, i);
		free(s);
		free(d);
	}
	/* refused: not a multiple of 4, a bad character, '=' inside, pad bits set */
	assert_int_equal(etcd_b64_dec("Zm9", 3, &d, &n), -EINVAL);
	assert_int_equal(etcd_b64_dec("Zm9*", 4, &d, &n), -EINVAL);
	assert_int_equal(etcd_b64_dec("Zg==Zm9v", 8, &d, &n), -EINVAL);
	assert_int_equal(etcd_b64_dec("Zh==", 4, &d, &n), -EINVAL);
	assert_int_equal(etcd_b64_dec("Zm9=", 4, &d, &n), -EINVAL);
}

/* The decoded base64 field of obj. */
static char *field(const json_t *obj, const char *name)
{
	const json_t *j = json_object_get(obj, name);
	char *d;
	size_t n;

	assert_true(json_is_string(j));
	assert_int_equal(etcd_b64_dec(json_string_value(j), json_string_length(j),
				      &d, &n), 0);
	return d;
}

static void test_requests(void **state)
{
	struct etcd_range q = { .key = "/p/", .klen = 3, .end = "/p0", .elen = 3,
				.limit = 1000, .revision = 7 };
	json_t *j, *c;
	char *s, *k;

	s = etcd_req_range(&q);
	j = json_loads(s, 0, NULL);
	k = field(j, "key");
	assert_string_equal(k, "/p/");
	free(k);
	k = field(j, "range_end");
	assert_string_equal(k, "/p0");
	free(k);
	assert_string_equal(json_string_value(json_object_get(j, "limit")), "1000");
	assert_string_equal(json_string_value(json_object_get(j, "revision")), "7");
	assert_null(json_object_get(j, "count_only"));
	json_decref(j);
	free(s);

	/* every key from "\0" on: range_end "\0" (base64 "AA==") */
	q = (struct etcd_range){ .key = "", .klen = 1, .end_all = true, .count_only = true };
	s = etcd_req_range(&q);
	j = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "key")), "AA==");
	assert_string_equal(json_string_value(json_object_get(j, "range_end")), "AA==");
	assert_true(json_is_true(json_object_get(j, "count_only")));
	json_decref(j);
	free(s);

	q = (struct etcd_range){ .key = "/a/", .klen = 3, .end = "/a0", .elen = 3 };
	s = etcd_req_watch(&q, 42);
	j = json_loads(s, 0, NULL);
	c = json_object_get(j, "create_request");
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "start_revision")), "42");
	assert_true(json_is_true(json_object_get(c, "progress_notify")));
	k = field(c, "key");
	assert_string_equal(k, "/a/");
	free(k);
	json_decref(j);
	free(s);

	s = etcd_req_compact(9);
	assert_string_equal(s, "{\"revision\":\"9\"}");
	free(s);
	s = etcd_req_auth("u", "p\"w");
	j = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "password")), "p\"w");
	json_decref(j);
	free(s);
}

static void test_txn_request(void **state)
{
	const struct ds_op ops[] = {
		{ .type = DS_OP_CREATE, .key = "/k/a", .value = "{\"a\":1}" },
		{ .type = DS_OP_UPDATE, .key = "/k/b", .value = "B", .expect_rev = 5 },
		{ .type = DS_OP_DELETE, .key = "/k/c" },
		{ .type = DS_OP_DELETE, .key = "/k/d", .expect_rev = 8 },
	};
	static const char *const target[] = { "VERSION", "MOD", "VERSION", "MOD" };
	static const char *const result[] = { "EQUAL", "EQUAL", "GREATER", "EQUAL" };
	static const char *const fld[] = { "version", "mod_revision", "version", "mod_revision" };
	static const char *const val[] = { "0", "5", "0", "8" };
	char *s = etcd_req_txn(ops, 4, "/t1"), *k;
	json_t *j = json_loads(s, 0, NULL), *cmp, *succ, *fail;
	size_t i;

	cmp = json_object_get(j, "compare");
	succ = json_object_get(j, "success");
	fail = json_object_get(j, "failure");
	assert_int_equal(json_array_size(cmp), 4);
	assert_int_equal(json_array_size(succ), 4);
	assert_int_equal(json_array_size(fail), 4);
	for (i = 0; i < 4; i++) {
		json_t *c = json_array_get(cmp, i), *sr, *fr;
		char want[32];

		snprintf(want, sizeof(want), "/t1%s", ops[i].key);
		k = field(c, "key");
		assert_string_equal(k, want);
		free(k);
		assert_string_equal(json_string_value(json_object_get(c, "target")), target[i]);
		assert_string_equal(json_string_value(json_object_get(c, "result")), result[i]);
		assert_string_equal(json_string_value(json_object_get(c, fld[i])), val[i]);
		sr = json_object_get(json_array_get(succ, i), ops[i].type == DS_OP_DELETE ?
				     "request_delete_range" : "request_put");
		assert_non_null(sr);
		k = field(sr, "key");
		assert_string_equal(k, want);
		free(k);
		if (ops[i].type != DS_OP_DELETE) {
			k = field(sr, "value");
			assert_string_equal(k, ops[i].value);
			free(k);
		}
		fr = json_object_get(json_array_get(fail, i), "request_range");
		k = field(fr, "key");
		assert_string_equal(k, want);
		free(k);
	}
	json_decref(j);
	free(s);
}

/* A read-only txn of ranges (ds_prefetch): the request, and its reply as
 * etcd 3.4's gateway sends it. */
static void test_reads(void **state)
{
	const struct etcd_range q[2] = {
		{ .key = "/a/", .klen = 3, .end = "/a0", .elen = 3, .limit = 1000 },
		{ .key = "/k", .klen = 2 },
	};
	char *ka = b("/t1/a/1"), *kk = b("/t1/k"), *v = b("x"), *req;
	char body[1024];
	struct ds_kv *kvs[2];
	size_t nkv[2];
	bool more[2];
	int64_t rev;

	req = etcd_req_reads(q, 2);
	assert_non_null(req);
	assert_string_equal(req, "{\"success\":[{\"request_range\":{\"key\":\"L2Ev\","
			    "\"range_end\":\"L2Ew\",\"limit\":\"1000\"}},"
			    "{\"request_range\":{\"key\":\"L2s=\"}}]}");
	free(req);
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"3\"},\"succeeded\":true,"
		 "\"responses\":[{\"response_range\":{\"header\":{\"revision\":\"3\"},"
		 "\"kvs\":[{\"key\":\"%s\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
		 "\"value\":\"%s\"}],\"more\":true,\"count\":\"2\"}},"
		 "{\"response_range\":{\"header\":{\"revision\":\"3\"}}}]}", ka, v);
	assert_int_equal(etcd_parse_reads(body, strlen(body), "/t1", 2, kvs, nkv, more,
					  &rev), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(nkv[0], 1);
	assert_string_equal(kvs[0][0].key, "/a/1");
	assert_string_equal(kvs[0][0].value, "x");
	assert_true(more[0]);
	assert_int_equal(nkv[1], 0);
	assert_false(more[1]);
	ds_kvs_free(kvs[0], nkv[0]);
	ds_kvs_free(kvs[1], nkv[1]);
	/* not as many responses as ranges; not succeeded; a bad second one
	 * (what the first parsed is freed: the leak check would say) */
	assert_int_equal(etcd_parse_reads(body, strlen(body), "/t1", 3, kvs, nkv, more,
					  &rev), -EIO);
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"3\"},"
		 "\"responses\":[{\"response_range\":{}},{\"response_range\":{}}]}");
	assert_int_equal(etcd_parse_reads(body, strlen(body), "", 2, kvs, nkv, more,
					  &rev), -EIO);
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"3\"},\"succeeded\":true,"
		 "\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"%s\","
		 "\"mod_revision\":\"2\",\"create_revision\":\"2\"}]}},{}]}", kk);
	assert_int_equal(etcd_parse_reads(body, strlen(body), "/t1", 2, kvs, nkv, more,
					  &rev), -EIO);
	free(ka);
	free(kk);
	free(v);
}

static void test_range_reply(void **state)
{
	char *ka = b("/t1/x/a"), *kb = b("/t1/x/b"), *va = b("{\"v\":1}"), *other = b("/t2/x/a");
	char body[1024];
	struct ds_kv *kvs;
	size_t n;
	int64_t rev;
	bool more;

	snprintf(body, sizeof(body), "{\"header\":{\"cluster_id\":\"1\",\"revision\":\"12\"},"
		 "\"kvs\":[{\"key\":\"%s\",\"create_revision\":\"3\",\"mod_revision\":\"9\","
		 "\"version\":\"2\",\"value\":\"%s\"},{\"key\":\"%s\",\"create_revision\":4,"
		 "\"mod_revision\":4}],\"more\":true,\"count\":\"5\"}", ka, va, kb);
	assert_int_equal(etcd_parse_range(body, strlen(body), "/t1", &kvs, &n, &rev, &more), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rev, 12);
	assert_true(more);
	assert_string_equal(kvs[0].key, "/x/a");
	assert_string_equal(kvs[0].value, "{\"v\":1}");
	assert_int_equal(kvs[0].mod_rev, 9);
	assert_int_equal(kvs[0].create_rev, 3);
	assert_string_equal(kvs[1].key, "/x/b");
	assert_string_equal(kvs[1].value, "");	/* proto3: an empty value is left out */
	ds_kvs_free(kvs, n);

	/* empty: no "kvs", no "more" */
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"3\"}}");
	assert_int_equal(etcd_parse_range(body, strlen(body), "", &kvs, &n, &rev, &more), 0);
	assert_int_equal(n, 0);
	assert_null(kvs);
	assert_false(more);
	assert_int_equal(rev, 3);

	/* refused whole: no header, a key of another prefix, bad base64,
	 * a revision that is not a number, not JSON */
	static const char *const bad[] = {
		"{\"kvs\":[]}",
		"{\"header\":{\"revision\":\"x7\"}}",
		"{\"header\":{\"revision\":\"3\"},\"kvs\":{}}",
		"{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"!!!!\"}]}",
		"not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(etcd_parse_range(bad[i], strlen(bad[i]), "", &kvs, &n,
						  &rev, &more), -EIO);
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"%s\","
		 "\"mod_revision\":\"2\"}]}", other);
	assert_int_equal(etcd_parse_range(body, strlen(body), "/t1", &kvs, &n, &rev, &more), -EIO);
	assert_int_equal(etcd_parse_header(body, strlen(body), &rev), 0);
	assert_int_equal(rev, 3);
	assert_int_equal(etcd_parse_header("{}", 2, &rev), -EIO);
	free(ka);
	free(kb);
	free(va);
	free(other);
}

static void test_txn_reply(void **state)
{
	const struct ds_op ops[] = {
		{ .type = DS_OP_UPDATE, .key = "/a", .value = "A2", .expect_rev = 5 },
		{ .type = DS_OP_CREATE, .key = "/b", .value = "B" },
		{ .type = DS_OP_DELETE, .key = "/c" },
	};
	char *ka = b("/a"), *va = b("A1"), *kb = b("/b"), *vb = b("B");
	struct etcd_kstate st[3] = { 0 };
	char body[2048];
	int64_t rev;
	size_t failed = 99;
	bool ok;

	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"8\"},\"succeeded\":true,"
		 "\"responses\":[{\"response_put\":{}}]}");
	assert_int_equal(etcd_parse_txn(body, strlen(body), &ok, &rev, st, 3), 0);
	assert_true(ok);
	assert_int_equal(rev, 8);

	/* failed: /a at mod 6 (not 5), /b exists, /c missing */
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"9\"},\"responses\":["
		 "{\"response_range\":{\"header\":{},\"kvs\":[{\"key\":\"%s\",\"mod_revision\":\"6\","
		 "\"value\":\"%s\"}],\"count\":\"1\"}},"
		 "{\"response_range\":{\"kvs\":[{\"key\":\"%s\",\"mod_revision\":\"7\",\"value\":\"%s\"}]}},"
		 "{\"response_range\":{\"header\":{}}}]}", ka, va, kb, vb);
	assert_int_equal(etcd_parse_txn(body, strlen(body), &ok, &rev, st, 3), 0);
	assert_false(ok);
	assert_true(st[0].exists);
	assert_int_equal(st[0].mod_rev, 6);
	assert_true(st[1].exists);
	assert_false(st[2].exists);
	/* the first op that fails, in order */
	assert_int_equal(etcd_txn_failure(ops, 3, st, &failed), -ECANCELED);
	assert_int_equal(failed, 0);
	assert_int_equal(etcd_txn_failure(ops + 1, 2, st + 1, &failed), -EEXIST);
	assert_int_equal(failed, 0);
	assert_int_equal(etcd_txn_failure(ops + 2, 1, st + 2, &failed), -ENOENT);
	assert_false(etcd_txn_landed(ops, 3, st, &rev));
	/* what a retry finds when the first attempt landed: ours, one revision */
	free(st[0].value);
	st[0].value = strdup("A2");
	st[0].mod_rev = 7;
	assert_true(etcd_txn_landed(ops, 3, st, &rev));
	assert_int_equal(rev, 7);
	st[0].mod_rev = 8;	/* two revisions: not one txn of ours */
	assert_false(etcd_txn_landed(ops, 3, st, &rev));
	st[0].mod_rev = 7;
	st[2].exists = true;	/* the deleted key is back */
	assert_false(etcd_txn_landed(ops, 3, st, &rev));
	st[2].exists = false;
	/* every compare holds: the txn should not have failed */
	assert_int_equal(etcd_txn_failure(ops + 1, 1, st + 2, &failed), -EAGAIN);
	etcd_kstates_clear(st, 3);

	/* refused: a response count that is not the op count, two kvs for one key */
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"9\"},\"responses\":[]}");
	assert_int_equal(etcd_parse_txn(body, strlen(body), &ok, &rev, st, 3), -EIO);
	snprintf(body, sizeof(body), "{\"header\":{\"revision\":\"9\"},\"responses\":["
		 "{\"response_range\":{\"kvs\":[{\"key\":\"%s\"},{\"key\":\"%s\"}]}}]}", ka, kb);
	assert_int_equal(etcd_parse_txn(body, strlen(body), &ok, &rev, st, 1), -EIO);
	free(ka);
	free(va);
	free(kb);
	free(vb);
}

static void test_errors(void **state)
{
	static const struct {
		const char *body;
		long http;
		enum etcd_verdict v;
		int err;
		const char *msg;
	} c[] = {
		{ "{\"error\":\"etcdserver: leader changed\",\"code\":14,"
		  "\"message\":\"etcdserver: leader changed\"}", 503, ETCD_V_NEXT_AMBIG, 0,
		  "etcdserver: leader changed" },
		{ "{\"error\":\"etcdserver: no leader\",\"code\":14,\"message\":\"etcdserver: no leader\"}",
		  503, ETCD_V_NEXT_AMBIG, 0, "etcdserver: no leader" },
		{ "{\"code\":8,\"message\":\"etcdserver: too many requests\"}", 429,
		  ETCD_V_NEXT_AMBIG, 0, "etcdserver: too many requests" },
		{ "{\"code\":4,\"message\":\"etcdserver: request timed out\"}", 504,
		  ETCD_V_NEXT_AMBIG, 0, "etcdserver: request timed out" },
		{ "{\"code\":11,\"message\":\"etcdserver: mvcc: required revision has been compacted\"}",
		  400, ETCD_V_FAIL, -ERANGE, NULL },
		{ "{\"code\":11,\"message\":\"etcdserver: mvcc: required revision is a future revision\"}",
		  400, ETCD_V_FAIL, -EINVAL, NULL },
		{ "{\"code\":3,\"message\":\"etcdserver: too many operations in txn request\"}",
		  400, ETCD_V_FAIL, -E2BIG, NULL },
		{ "{\"code\":3,\"message\":\"etcdserver: duplicate key given in txn request\"}",
		  400, ETCD_V_FAIL, -EINVAL, NULL },
		{ "{\"code\":16,\"message\":\"etcdserver: invalid auth token\"}", 401,
		  ETCD_V_AUTH, -EACCES, NULL },
		{ "{\"code\":7,\"message\":\"etcdserver: permission denied\"}", 403,
		  ETCD_V_FAIL, -EACCES, NULL },
		{ "<html>502 Bad Gateway</html>\nmore", 502, ETCD_V_NEXT_AMBIG, 0,
		  "<html>502 Bad Gateway</html>" },
		{ "404 page not found\n", 404, ETCD_V_FAIL, -EIO, "404 page not found" },
		/* the stream's shape */
		{ "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\"}}",
		  503, ETCD_V_NEXT_AMBIG, 0, "etcdserver: no leader" },
	};
	struct etcd_err e;
	size_t i;
	int err;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		etcd_parse_error(c[i].body, strlen(c[i].body), &e);
		assert_int_equal(etcd_classify(ETCD_T_OK, c[i].http, &e, &err), c[i].v);
		assert_int_equal(err, c[i].err);
		if (c[i].msg)
			assert_string_equal(e.msg, c[i].msg);
	}
	memset(&e, 0, sizeof(e));
	assert_int_equal(etcd_classify(ETCD_T_OK, 200, &e, &err), ETCD_V_OK);
	assert_int_equal(etcd_classify(ETCD_T_CONNECT, 0, &e, &err), ETCD_V_NEXT);
	assert_int_equal(etcd_classify(ETCD_T_TIMEOUT, 0, &e, &err), ETCD_V_NEXT_AMBIG);
	assert_int_equal(etcd_classify(ETCD_T_BROKEN, 0, &e, &err), ETCD_V_NEXT_AMBIG);
	assert_int_equal(etcd_classify(ETCD_T_TLS, 0, &e, &err), ETCD_V_NEXT_PERM);
	assert_int_equal(err, -EACCES);
	/* control characters of a plain-text body are not copied */
	etcd_parse_error("a\033b", 3, &e);
	assert_string_equal(e.msg, "a?b");
	etcd_parse_error(NULL, 0, &e);
	assert_string_equal(e.msg, "");
}

/* A stream of four messages: created, events (a brace and a quote inside
 * a string), a progress notification, compacted. */
static char *stream_text(void)
{
	char *k1 = b("/t1/w/a"), *v1 = b("{\"x\":\"}\\\"{\"}"), *k2 = b("/t1/w/b");
	char *s;

	assert_true(asprintf(&s,
		"{\"result\":{\"header\":{\"revision\":\"5\"},\"created\":true}}\n"
		"{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":["
		"{\"kv\":{\"key\":\"%s\",\"mod_revision\":\"6\",\"value\":\"%s\"}},"
		"{\"type\":\"DELETE\",\"kv\":{\"key\":\"%s\",\"mod_revision\":\"7\"}}]}}\r\n"
		"  {\"result\":{\"header\":{\"revision\":\"11\"}}}"
		"{\"result\":{\"header\":{\"revision\":\"12\"},\"compact_revision\":\"9\","
		"\"canceled\":true,\"cancel_reason\":\"mvcc: required revision has been compacted\"}}\n",
		k1, v1, k2) > 0);
	free(k1);
	free(v1);
	free(k2);
	return s;
}

static void check_msgs(char **msgs, size_t n)
{
	struct etcd_wmsg m;

	assert_int_equal(n, 4);
	assert_int_equal(etcd_parse_watch(msgs[0], strlen(msgs[0]), "/t1", &m), 0);
	assert_true(m.created);
	assert_int_equal(m.n, 0);
	etcd_wmsg_clear(&m);
	assert_int_equal(etcd_parse_watch(msgs[1], strlen(msgs[1]), "/t1", &m), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.evs[0].type, DS_EV_PUT);
	assert_string_equal(m.evs[0].key, "/w/a");
	assert_string_equal(m.evs[0].value, "{\"x\":\"}\\\"{\"}");
	assert_int_equal(m.evs[0].rev, 6);
	assert_int_equal(m.evs[1].type, DS_EV_DELETE);
	assert_null(m.evs[1].value);
	assert_int_equal(m.evs[1].rev, 7);
	etcd_wmsg_clear(&m);
	/* progress notify: a header, nothing else */
	assert_int_equal(etcd_parse_watch(msgs[2], strlen(msgs[2]), "/t1", &m), 0);
	assert_false(m.created);
	assert_false(m.canceled);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.header_rev, 11);
	etcd_wmsg_clear(&m);
	assert_int_equal(etcd_parse_watch(msgs[3], strlen(msgs[3]), "/t1", &m), 0);
	assert_true(m.canceled);
	assert_int_equal(m.compact_rev, 9);
	assert_string_equal(m.reason, "mvcc: required revision has been compacted");
	etcd_wmsg_clear(&m);
}

/* Feeds text in chunks at cut points a and c; collects the messages. */
static size_t frame(const char *text, size_t a, size_t c, char **msgs, size_t max)
{
	struct etcd_stream st = { 0 };
	size_t len = strlen(text), cuts[4] = { 0, a, c, len }, i, n = 0;
	const char *m;
	size_t ml;
	int r;

	for (i = 0; i < 3; i++) {
		if (cuts[i + 1] < cuts[i])
			continue;
		assert_int_equal(etcd_stream_feed(&st, text + cuts[i], cuts[i + 1] - cuts[i]), 0);
		while ((r = etcd_stream_next(&st, &m, &ml)) == 1) {
			assert_true(n < max);
			msgs[n++] = strndup(m, ml);
		}
		assert_int_equal(r, 0);
	}
	etcd_stream_free(&st);
	return n;
}

static void test_stream_every_split(void **state)
{
	char *text = stream_text(), *msgs[8];
	size_t len = strlen(text), a, c, n, i;

	/* one cut at every byte, and two cuts at every pair a step apart */
	for (a = 0; a <= len; a++) {
		for (c = a; c <= len; c += (a % 7 == 0 ? 1 : 41)) {
			n = frame(text, a, c, msgs, 8);
			check_msgs(msgs, n);
			for (i = 0; i < n; i++)
				free(msgs[i]);
		}
	}
	free(text);
}

static void test_stream_broken(void **state)
{
	struct etcd_stream st = { 0 };
	struct etcd_wmsg m;
	const char *msg;
	size_t len;

	/* a stream cut mid-message: nothing comes out; reset drops the rest */
	assert_int_equal(etcd_stream_feed(&st, "{\"result\":{\"hea", 15), 0);
	assert_int_equal(etcd_stream_next(&st, &msg, &len), 0);
	etcd_stream_reset(&st);
	assert_int_equal(etcd_stream_feed(&st, "{}", 2), 0);
	assert_int_equal(etcd_stream_next(&st, &msg, &len), 1);
	assert_int_equal(len, 2);
	/* junk between messages: the stream is broken for good */
	assert_int_equal(etcd_stream_feed(&st, "x{}", 3), 0);
	assert_int_equal(etcd_stream_next(&st, &msg, &len), -EPROTO);
	assert_int_equal(etcd_stream_feed(&st, "{}", 2), -EPROTO);
	etcd_stream_free(&st);

	/* an error message in the stream; a message that is no watch reply */
	msg = "{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}";
	assert_int_equal(etcd_parse_watch(msg, strlen(msg), "", &m), 0);
	assert_true(m.is_error);
	assert_string_equal(m.reason, "etcdserver: no leader");
	etcd_wmsg_clear(&m);
	msg = "{\"result\":{\"header\":{\"revision\":\"3\"},\"events\":[{\"type\":\"BOGUS\"}]}}";
	assert_int_equal(etcd_parse_watch(msg, strlen(msg), "", &m), -EIO);
	msg = "{\"result\":{\"header\":{\"revision\":\"3\"},\"events\":[{\"kv\":{\"key\":\"YQ==\"}}]}}";
	assert_int_equal(etcd_parse_watch(msg, strlen(msg), "", &m), -EIO);	/* no revision */
	msg = "[1]";
	assert_int_equal(etcd_parse_watch(msg, strlen(msg), "", &m), -EIO);
	/* revisions going down within a message */
	msg = "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":["
	      "{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"8\"}},"
	      "{\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"7\"}}]}}";
	assert_int_equal(etcd_parse_watch(msg, strlen(msg), "", &m), -EIO);
}

static void test_opts(void **state)
{
	struct etcd_opts o;
	char err[256];

	assert_int_equal(etcd_opts_parse("http://198.18.0.11:2379,https://[fd00::1]:2379"
					 "?ca=/a%2Cb/ca.pem&prefix=/team1&timeout=1500",
					 &o, err, sizeof(err)), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.eps[0], "http://198.18.0.11:2379");
	assert_string_equal(o.eps[1], "https://[fd00::1]:2379");
	assert_string_equal(o.ca, "/a,b/ca.pem");
	assert_string_equal(o.prefix, "/team1");
	assert_int_equal(o.timeout_ms, 1500);
	assert_null(o.user);
	etcd_opts_clear(&o);
	assert_int_equal(etcd_opts_parse("http://a:1", &o, err, sizeof(err)), 0);
	assert_string_equal(o.prefix, "");
	assert_int_equal(o.timeout_ms, ETCD_TIMEOUT_MS);
	etcd_opts_clear(&o);

	static const struct { const char *url, *msg; } bad[] = {
		{ "", "no endpoint" },
		{ "ftp://a:1", "expected http://HOST:PORT" },
		{ "http://a", "expected http://HOST:PORT" },
		{ "http://a:1/v3", "expected http://HOST:PORT" },
		{ "http://u@a:1", "expected http://HOST:PORT" },
		{ "http://a:1,", "an empty endpoint" },
		{ "http://a:1?bogus=1", "unknown option \"bogus\"" },
		{ "http://a:1?ca", "expected NAME=VALUE" },
		{ "http://a:1?ca=", "option ca: empty" },
		{ "http://a:1?ca=/x%2", "bad %-escape" },
		{ "http://a:1?ca=/x%00", "bad %-escape" },
		{ "http://a:1?ca=/x&ca=/y", "given twice" },
		{ "http://a:1?timeout=5", "milliseconds" },
		{ "http://a:1?prefix=team", "leading slash" },
		{ "http://a:1?prefix=/team/", "leading slash" },
		{ "http://a:1?cert=/c", "cert and key go together" },
		{ "http://a:1?user=u", "user and password_file go together" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(etcd_opts_parse(bad[i].url, &o, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].url, err, bad[i].msg);
	}
}

static void test_failover_order(void **state)
{
	struct etcd_try t;
	int64_t nap, now = 1000;

	/* starts at the last good member, goes round, backs off per round */
	etcd_try_begin(&t, 3, 1, now, 5000);
	assert_int_equal(t.cur, 1);
	assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	assert_int_equal(t.cur, 2);
	assert_int_equal(nap, 0);
	assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	assert_int_equal(t.cur, 0);
	assert_int_equal(nap, 0);
	assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);	/* round over */
	assert_int_equal(t.cur, 1);
	assert_int_equal(nap, 50);
	for (int i = 0; i < 2; i++)
		assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	assert_int_equal(nap, 100);
	for (int round = 0; round < 6; round++) {
		for (int i = 0; i < 2; i++)
			assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
		assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	}
	assert_int_equal(nap, ETCD_BACKOFF_MAX_MS);	/* capped */
	/* the deadline: no time left for an attempt after the nap */
	assert_int_equal(etcd_try_next(&t, false, now + 4995, &nap), -ETIMEDOUT);
	assert_int_equal(etcd_try_attempt_ms(&t, now + 4000, 2000), 1000);
	assert_int_equal(etcd_try_attempt_ms(&t, now, 2000), 2000);
	assert_int_equal(etcd_try_attempt_ms(&t, now + 9000, 2000), 1);

	/* every member refused for good (TLS): no second round */
	etcd_try_begin(&t, 2, 0, now, 5000);
	assert_int_equal(etcd_try_next(&t, true, now, &nap), 0);
	assert_int_equal(etcd_try_next(&t, true, now, &nap), -EACCES);
	/* one for good, one down: rounds go on */
	etcd_try_begin(&t, 2, 0, now, 5000);
	assert_int_equal(etcd_try_next(&t, true, now, &nap), 0);
	assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	assert_int_equal(nap, 50);
	/* one member: each failure is a round */
	etcd_try_begin(&t, 1, 0, now, 200);
	assert_int_equal(etcd_try_next(&t, false, now, &nap), 0);
	assert_int_equal(t.cur, 0);
	assert_int_equal(nap, 50);
	assert_int_equal(etcd_try_next(&t, false, now + 150, &nap), -ETIMEDOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_txn_request),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_range_reply),
		cmocka_unit_test(test_txn_reply),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stream_every_split),
		cmocka_unit_test(test_stream_broken),
		cmocka_unit_test(test_opts),
		cmocka_unit_test(test_failover_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
