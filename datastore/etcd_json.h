/*
 * etcd_json: the codec of etcd v3's JSON gateway (private to datastore/).
 * Pure functions: no sockets, no clock, nothing logged, so that the unit
 * tests and the fuzzer reach every line.
 *
 * What the gateway speaks (etcd 3.4, /v3/...): proto3 JSON. Keys and values
 * are base64; int64 fields come as strings ("revision":"7"), and a field at
 * its zero value is left out altogether (no "succeeded" on a failed txn, no
 * "kvs" on an empty range, no "type" on a PUT event, no "value" when empty).
 * An error reply is {"error": TEXT, "code": GRPC_CODE, "message": TEXT}.
 * The watch stream is one JSON object per message, {"result": {...}} or
 * {"error": {...}}, split into chunks anywhere (etcd_stream reassembles).
 *
 * Keys in requests are etcd keys (the store's key prefix already on); the
 * parsers take the prefix off a reply's keys ("" = no prefix).
 */
#ifndef PETREL_ETCD_JSON_H
#define PETREL_ETCD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore/datastore.h"

/* Largest reply or stream message accepted (etcd's own request limit is
 * 1.5 MiB; a range page of ours is far below this). */
#define ETCD_MSG_MAX (64u << 20)

/* base64 (RFC 4648, padded). enc: malloc'd text or NULL. dec: a malloc'd
 * copy NUL-terminated after *n bytes; -EINVAL for bad input, -ENOMEM. */
char *etcd_b64_enc(const void *p, size_t n);
int etcd_b64_dec(const char *s, size_t slen, char **out, size_t *n);

/* A key range: key (klen bytes); end NULL = just key, end_all = every key
 * from key on (range_end "\0"), else end (elen bytes). */
struct etcd_range {
	const char *key;
	size_t klen;
	const char *end;
	size_t elen;
	bool end_all;
	int64_t limit;		/* 0: none */
	int64_t revision;	/* 0: now */
	bool count_only;
};

/* Request bodies: malloc'd JSON text, NULL when out of memory. */
char *etcd_req_range(const struct etcd_range *r);
/* A read-only txn: the n ranges q[i], all at one revision (no compares). */
char *etcd_req_reads(const struct etcd_range *q, size_t n);
char *etcd_req_compact(int64_t rev);
char *etcd_req_watch(const struct etcd_range *r, int64_t start_rev);
char *etcd_req_auth(const char *user, const char *password);
/* One etcd txn for ops (keys as given plus prefix): every op's compare
 * (create: version == 0; update: mod_revision == expect_rev; delete:
 * mod_revision == expect_rev, or version > 0 when expect_rev is 0), its put
 * or delete on success, and on failure a range of every op's key, so the
 * reply itself says which op failed and why. */
char *etcd_req_txn(const struct ds_op *ops, size_t n, const char *prefix);

/* A reply's error: code (gRPC status code, 0 = none), its message. */
struct etcd_err {
	int code;
	char msg[160];
};
/* Parses an error body (any shape: JSON of the gateway, or plain text). */
void etcd_parse_error(const char *body, size_t len, struct etcd_err *e);

/* What to do about one attempt's outcome (etcd_classify). */
enum etcd_transport {
	ETCD_T_OK,		/* an HTTP reply came */
	ETCD_T_CONNECT,		/* no connection: the request was not sent */
	ETCD_T_TIMEOUT,		/* sent (perhaps), no reply in time */
	ETCD_T_BROKEN,		/* the connection broke mid-way */
	ETCD_T_TLS,		/* a certificate or key problem */
};
enum etcd_verdict {
	ETCD_V_OK,
	ETCD_V_NEXT,		/* this member failed, nothing applied: next */
	ETCD_V_NEXT_AMBIG,	/* failed; a write may have been applied: next */
	ETCD_V_NEXT_PERM,	/* failed for good here (TLS): next, no new round */
	ETCD_V_AUTH,		/* token refused: authenticate again, retry */
	ETCD_V_FAIL,		/* an answer: *err is the request's result */
};
enum etcd_verdict etcd_classify(enum etcd_transport t, long http,
				const struct etcd_err *e, int *err);

/* The header revision of a reply (any kind). -EIO when missing. */
int etcd_parse_header(const char *body, size_t len, int64_t *rev);
/* A range reply: its kvs (keys with the store's prefix taken off;
 * caller ds_kvs_free()s), the header revision, "more". */
int etcd_parse_range(const char *body, size_t len, const char *prefix,
		     struct ds_kv **kvs, size_t *n, int64_t *rev, bool *more);
/* etcd_req_reads' reply: range i's kvs[i] (nkv[i]) and more[i], *rev.
 * -EIO unless it has exactly n responses. */
int etcd_parse_reads(const char *body, size_t len, const char *prefix,
		     size_t n, struct ds_kv **kvs, size_t *nkv, bool *more,
		     int64_t *rev);

/* A txn reply. On success *ok and *rev. When it failed, st[i] is op i's
 * key as the failure branch read it (n must be the txn's op count). */
struct etcd_kstate {
	bool exists;
	int64_t mod_rev;
	char *value;		/* owned */
};
int etcd_parse_txn(const char *body, size_t len, bool *ok, int64_t *rev,
		   struct etcd_kstate *st, size_t n);
void etcd_kstates_clear(struct etcd_kstate *st, size_t n);
/* Which op of a failed txn failed and why: -EEXIST/-ENOENT/-ECANCELED and
 * *failed; -EAGAIN when every compare holds in st (changed in between). */
int etcd_txn_failure(const struct ds_op *ops, size_t n,
		     const struct etcd_kstate *st, size_t *failed);
/* True when st shows ops applied (every put's value is ours, all at one
 * revision, every deleted key gone): a retried write whose first attempt
 * had landed. *rev: that revision (0 when the txn only deletes). */
bool etcd_txn_landed(const struct ds_op *ops, size_t n,
		     const struct etcd_kstate *st, int64_t *rev);

/* One watch stream message. */
struct etcd_wmsg {
	bool created, canceled, is_error;
	int64_t header_rev, compact_rev;
	char reason[160];
	struct ds_event *evs;	/* owned; rev = the kv's mod_revision */
	size_t n;
};
int etcd_parse_watch(const char *msg, size_t len, const char *prefix,
		     struct etcd_wmsg *m);
void etcd_wmsg_clear(struct etcd_wmsg *m);

/* The stream framer: bytes in, whole top-level JSON objects out. */
struct etcd_stream {
	char *buf;
	size_t len, cap;
	size_t scan;		/* bytes of buf already scanned */
	size_t start;		/* where the object being scanned began */
	int depth;
	bool in_str, esc, bad;
};
/* Appends bytes; -EMSGSIZE beyond ETCD_MSG_MAX, -EPROTO on a byte that
 * cannot be between objects, -ENOMEM. */
int etcd_stream_feed(struct etcd_stream *s, const char *p, size_t n);
/* The next whole object: 1 and *msg, *len (valid until the next call), or 0. */
int etcd_stream_next(struct etcd_stream *s, const char **msg, size_t *len);
void etcd_stream_reset(struct etcd_stream *s);	/* drops a partial object */
void etcd_stream_free(struct etcd_stream *s);

#endif
