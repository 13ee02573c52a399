/*
 * etcd_h1: a small HTTP/1.1 client for the etcd backend's unary requests
 * to plain http:// members (private to datastore/). https:// members and
 * the watch stream go through libcurl (etcd_http.c, etcd_watch.c); see
 * docs/datastore.md, "Two HTTP clients", for why there are two.
 *
 * What it speaks, and nothing more: one POST with a Content-Length body
 * on one keep-alive connection per member, no pipelining, no proxy, no
 * redirect, no Expect. The reply: a status line (HTTP/1.0 or 1.1),
 * headers (names case-insensitive; Content-Length, Transfer-Encoding:
 * chunked and Connection matter, the rest is skipped), then a body
 * delimited by Content-Length, by chunks (extensions and trailers
 * skipped), or by the connection's end. Interim 1xx replies (a stray
 * 100 Continue) are skipped; 101 is refused. Every size is capped:
 * a line at ETCD_H1_LINE_MAX, the head at ETCD_H1_HEAD_MAX, the body at
 * the caller's max.
 *
 * The parser (etcd_h1_resp_*) is pure, so that the unit tests and the
 * fuzzer reach every line; etcd_h1_post does the I/O.
 */
#ifndef PETREL_ETCD_H1_H
#define PETREL_ETCD_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore/etcd_json.h"

#define ETCD_H1_LINE_MAX 8192		/* one status, header or chunk-size line */
#define ETCD_H1_HEAD_MAX (64u << 10)	/* all lines of the head (+ trailers) */
#define ETCD_H1_HEADERS_MAX 100

/* A reply's body as it comes (either client's). */
struct etcd_buf {
	char *p;		/* owned, NUL-terminated once anything came */
	size_t len, cap;
	bool over;		/* more than the cap came */
};
/* Appends p[0..n): 0, -EMSGSIZE (and over) past max bytes, -ENOMEM. */
int etcd_buf_add(struct etcd_buf *b, const char *p, size_t n, size_t max);
void etcd_buf_free(struct etcd_buf *b);

enum etcd_h1_state {
	ETCD_H1_STATUS,		/* the status line */
	ETCD_H1_HEADER,		/* header lines, until the empty one */
	ETCD_H1_BODY,		/* Content-Length bytes, or until the end */
	ETCD_H1_CHUNK_SIZE,	/* "HEX[;ext]" */
	ETCD_H1_CHUNK_DATA,
	ETCD_H1_CHUNK_END,	/* the CRLF after a chunk's data */
	ETCD_H1_TRAILER,	/* trailer lines, until the empty one */
	ETCD_H1_DONE,
	ETCD_H1_FAILED,		/* an error was returned: feed no more */
};

struct etcd_h1_resp {
	enum etcd_h1_state state;
	int status;		/* of the final (non-1xx) reply */
	int minor;		/* HTTP/1.minor */
	int64_t clen;		/* Content-Length, -1 when none */
	bool chunked;
	bool close;		/* the connection ends with this reply */
	bool to_eof;		/* the body runs until the connection's end */
	uint64_t left;		/* of the body or of the current chunk */
	size_t head;		/* bytes of head and trailers so far */
	unsigned nhdr;
	size_t max;		/* the body's cap */
	char line[ETCD_H1_LINE_MAX];
	size_t llen;
	struct etcd_buf body;
};

/* An empty reply whose body may have at most max bytes. */
void etcd_h1_resp_init(struct etcd_h1_resp *r, size_t max);
void etcd_h1_resp_clear(struct etcd_h1_resp *r);
/* Feeds n bytes of the reply: 1 once it is complete (*used: the bytes it
 * took; more after them is not ours), 0 for more, -EPROTO on what is not
 * HTTP/1.x, -EMSGSIZE over a cap, -ENOMEM. After an error, or 1, feeding
 * again is -EINVAL. */
int etcd_h1_resp_feed(struct etcd_h1_resp *r, const char *p, size_t n,
		      size_t *used);
/* The connection ended: 1 if that completes the reply (a body delimited
 * by the end), else -EPROTO (truncated). */
int etcd_h1_resp_eof(struct etcd_h1_resp *r);

/* One keep-alive connection to one member. fd -1: none. */
struct etcd_h1_conn {
	int fd;
};
void etcd_h1_conn_close(struct etcd_h1_conn *c);

struct etcd_h1_req {
	const char *ep;		/* "http://HOST:PORT" (etcd_ep.h's check) */
	const char *path;	/* "/v3/kv/range" */
	const char *body;	/* JSON */
	const char *token;	/* etcd's auth token, or NULL */
	int64_t attempt_ms;	/* the whole attempt, reconnect included */
	int64_t connect_ms;	/* one connect's share of it */
};

/* POSTs q on c (connecting, or reconnecting once if a kept connection
 * turns out stale). The outcome in *tr: ETCD_T_OK with the reply in *r
 * (any status), else what failed, with why[] filled. *resent: the request
 * went out in full once before a stale connection broke (it may have
 * been seen). -ENOMEM only when memory ran out; else 0. */
int etcd_h1_post(struct etcd_h1_conn *c, const struct etcd_h1_req *q,
		 struct etcd_h1_resp *r, enum etcd_transport *tr, bool *resent,
		 char *why, size_t whylen);

#endif
