/*
 * fuzz_etcd_reply: libFuzzer harness for what an etcd member sends the
 * etcd backend (datastore/etcd_json.c): a range, txn, read-only txn (of
 * ranges) or error reply, and the watch stream, fed to the framer in
 * chunks whose sizes come from the input itself, each whole message
 * parsed as a watch reply. A member is another machine: whatever it sends
 * must parse or fail cleanly.
 *
 * Invariants checked: a parsed reply's keys are non-empty C strings that
 * had the prefix (it is taken off), revisions are positive, a watch
 * message's events go up in revision; a message the framer returns starts
 * with { and ends where its brackets balance (matching kinds is the JSON
 * parser's job), no longer than what was fed; the same bytes parse the same
 * way twice; nothing leaks (ASan's leak check).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/etcd_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_kvs(const struct ds_kv *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!kvs[i].key[0] || !kvs[i].value)
			abort();
}

static void one_reply(const char *buf, size_t size, const char *prefix)
{
	struct ds_kv *kvs = NULL, *kvs2 = NULL;
	struct etcd_kstate st[3] = { 0 };
	struct etcd_wmsg m, m2;
	struct etcd_err e;
	size_t n = 0, n2 = 0, failed;
	int64_t rev = 0;
	bool more, ok;
	int r, r2;
	const struct ds_op ops[3] = {
		{ .type = DS_OP_CREATE, .key = "/a", .value = "x" },
		{ .type = DS_OP_UPDATE, .key = "/b", .value = "y", .expect_rev = 3 },
		{ .type = DS_OP_DELETE, .key = "/c" },
	};

	r = etcd_parse_range(buf, size, prefix, &kvs, &n, &rev, &more);
	r2 = etcd_parse_range(buf, size, prefix, &kvs2, &n2, &rev, &more);
	if (r != r2 || n != n2)
		abort();
	if (r == 0) {
		if (rev <= 0)
			abort();
		check_kvs(kvs, n);
		for (size_t i = 0; i < n; i++)
			if (strcmp(kvs[i].key, kvs2[i].key) || strcmp(kvs[i].value, kvs2[i].value))
				abort();
	}
	ds_kvs_free(kvs, n);
	ds_kvs_free(kvs2, n2);

	r = etcd_parse_txn(buf, size, &ok, &rev, st, 3);
	if (r == 0 && !ok) {
		r = etcd_txn_failure(ops, 3, st, &failed);
		if (r != -EAGAIN && failed >= 3)
			abort();
		(void)etcd_txn_landed(ops, 3, st, &rev);
		etcd_kstates_clear(st, 3);
	}
	{	/* a read-only txn of ranges (ds_prefetch) */
		struct ds_kv *rk[2] = { 0 };
		size_t rn[2] = { 0 };
		bool rm[2];

		if (etcd_parse_reads(buf, size, prefix, 2, rk, rn, rm, &rev) == 0) {
			if (rev <= 0)
				abort();
			check_kvs(rk[0], rn[0]);
			check_kvs(rk[1], rn[1]);
			ds_kvs_free(rk[0], rn[0]);
			ds_kvs_free(rk[1], rn[1]);
		}
	}
	etcd_parse_error(buf, size, &e);
	if (strlen(e.msg) >= sizeof(e.msg))
		abort();
	(void)etcd_parse_header(buf, size, &rev);

	r = etcd_parse_watch(buf, size, prefix, &m);
	r2 = etcd_parse_watch(buf, size, prefix, &m2);
	if (r != r2)
		abort();
	if (r == 0) {
		if (m.n != m2.n)
			abort();
		for (size_t i = 0; i < m.n; i++) {
			if (!m.evs[i].key[0] || m.evs[i].rev <= 0 ||
			    (i && m.evs[i].rev < m.evs[i - 1].rev) ||
			    (m.evs[i].type == DS_EV_PUT) != (m.evs[i].value != NULL))
				abort();
		}
		etcd_wmsg_clear(&m);
		etcd_wmsg_clear(&m2);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_stream st = { 0 };
	const char *buf = (const char *)data, *msg;
	size_t off = 0, len, fed = 0;
	unsigned step;
	int r = 0;

	if (size < 1 || size > 1 << 20)
		return 0;
	/* the first byte: the chunk size of the stream (1..256) */
	step = (unsigned)data[0] + 1;
	buf++;
	size--;
	one_reply(buf, size, "");
	one_reply(buf, size, "/t1");
	while (off < size && r >= 0) {
		size_t k = size - off < step ? size - off : step;

		r = etcd_stream_feed(&st, buf + off, k);
		off += k;
		fed += k;
		while (r >= 0 && (r = etcd_stream_next(&st, &msg, &len)) == 1) {
			if (len < 2 || len > fed || msg[0] != '{' ||
			    (msg[len - 1] != '}' && msg[len - 1] != ']'))
				abort();
			one_reply(msg, len, "");
		}
	}
	etcd_stream_free(&st);
	return 0;
}
