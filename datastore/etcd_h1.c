/*
 * etcd_h1: the built-in HTTP/1.1 client of the etcd backend's unary
 * requests to http:// members (see etcd_h1.h for what it speaks).
 *
 * The reply parser is a state machine fed any split of the bytes: lines
 * (status, headers, chunk sizes, trailers) are gathered in r->line, at
 * most ETCD_H1_LINE_MAX each; body bytes go straight to r->body, at most
 * r->max of them. Lines end in CRLF; a bare LF is taken too (RFC 9112
 * 2.2), a CR anywhere else is refused, as are NUL bytes, obsolete line
 * folding and a space before a header's colon (request smuggling's tools;
 * a member never sends them).
 *
 * The connection: non-blocking, every wait a poll() bounded by the
 * attempt's deadline. A kept connection is checked before use (readable
 * while idle means the member closed it); if it still breaks before the
 * first byte of the reply (EPIPE, ECONNRESET, EOF), the request is sent
 * once more on a new connection, as browsers and libcurl do. Anything
 * else that goes wrong closes the connection: the next request starts
 * afresh.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "datastore/etcd_h1.h"

#define CHUNK_DIGITS_MAX 15	/* < 2^60: no overflow, far above any cap */

void etcd_h1_resp_init(struct etcd_h1_resp *r, size_t max)
{
	memset(r, 0, offsetof(struct etcd_h1_resp, line));
	r->state = ETCD_H1_STATUS;
	r->clen = -1;
	r->max = max;
	r->llen = 0;
	memset(&r->body, 0, sizeof(r->body));
}

void etcd_h1_resp_clear(struct etcd_h1_resp *r)
{
	etcd_buf_free(&r->body);
	etcd_h1_resp_init(r, r->max);
}

int etcd_buf_add(struct etcd_buf *b, const char *p, size_t n, size_t max)
{
	if (n > max - b->len) {
		b->over = true;
		return -EMSGSIZE;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *nb;

		while (ncap < b->len + n + 1)
			ncap *= 2;
		nb = realloc(b->p, ncap);
		if (!nb)
			return -ENOMEM;
		b->p = nb;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

void etcd_buf_free(struct etcd_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool is_tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* "HTTP/1.D SSS[ reason]" */
static int status_line(struct etcd_h1_resp *r, const char *s, size_t n)
{
	int st;

	if (n < 12 || memcmp(s, "HTTP/1.", 7) || s[7] < '0' || s[7] > '9' ||
	    s[8] != ' ' || (n > 12 && s[12] != ' '))
		return -EPROTO;
	if (s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' ||
	    s[11] < '0' || s[11] > '9')
		return -EPROTO;
	st = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	r->status = st;
	r->minor = s[7] - '0';
	/* each reply (an interim one's too) has headers of its own */
	r->clen = -1;
	r->chunked = false;
	r->close = r->minor == 0;	/* HTTP/1.0: unless "keep-alive" */
	r->nhdr = 0;
	r->state = ETCD_H1_HEADER;
	return 0;
}

/* Does the comma-separated list v[0..n) hold token tok? */
static bool list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < n) {
		size_t b, e;

		while (i < n && (is_ows(v[i]) || v[i] == ','))
			i++;
		b = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > b && is_ows(v[e - 1]))
			e--;
		if (e - b == tl && !strncasecmp(v + b, tok, tl))
			return true;
	}
	return false;
}

static int header_line(struct etcd_h1_resp *r, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n), *v;
	size_t nl, vl, i;

	if (is_ows(s[0]))
		return -EPROTO;		/* obsolete line folding */
	if (++r->nhdr > ETCD_H1_HEADERS_MAX)
		return -EMSGSIZE;
	if (!colon || colon == s)
		return -EPROTO;
	nl = (size_t)(colon - s);
	for (i = 0; i < nl; i++)
		if (!is_tchar(s[i]))
			return -EPROTO;
	v = colon + 1;
	vl = n - nl - 1;
	while (vl && is_ows(*v)) {
		v++;
		vl--;
	}
	while (vl && is_ows(v[vl - 1]))
		vl--;
	if (nl == 14 && !strncasecmp(s, "content-length", nl)) {
		int64_t len = 0;

		if (!vl || vl > 18)
			return -EPROTO;
		for (i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -EPROTO;
			len = len * 10 + (v[i] - '0');
		}
		if (r->clen >= 0 && r->clen != len)
			return -EPROTO;
		r->clen = len;
	} else if (nl == 17 && !strncasecmp(s, "transfer-encoding", nl)) {
		/* we asked for no coding: only chunked may be there */
		if (vl != 7 || strncasecmp(v, "chunked", 7) || r->chunked)
			return -EPROTO;
		r->chunked = true;
	} else if (nl == 10 && !strncasecmp(s, "connection", nl)) {
		if (list_has(v, vl, "close"))
			r->close = true;
		else if (r->minor == 0 && list_has(v, vl, "keep-alive"))
			r->close = false;
	}
	return 0;
}

/* The empty line after the headers: what the body is. */
static int head_end(struct etcd_h1_resp *r)
{
	if (r->status < 200) {
		if (r->status == 101)
			return -EPROTO;	/* no upgrade was asked for */
		r->state = ETCD_H1_STATUS;	/* interim (100 Continue): skip it */
		return 0;
	}
	if (r->status == 204 || r->status == 304) {
		r->state = ETCD_H1_DONE;
		return 0;
	}
	if (r->chunked) {
		if (r->clen >= 0)
			r->close = true;	/* both: chunked wins (RFC 9112 6.3) */
		r->state = ETCD_H1_CHUNK_SIZE;
		return 0;
	}
	if (r->clen >= 0) {
		if ((uint64_t)r->clen > r->max)
			return -EMSGSIZE;	/* before a byte of it */
		r->left = (uint64_t)r->clen;
		r->state = r->left ? ETCD_H1_BODY : ETCD_H1_DONE;
		return 0;
	}
	r->to_eof = true;
	r->close = true;
	r->state = ETCD_H1_BODY;
	return 0;
}

/* "HEX[ ][;ext...]" */
static int chunk_size_line(struct etcd_h1_resp *r, const char *s, size_t n)
{
	uint64_t sz = 0;
	size_t i;

	for (i = 0; i < n && hex_digit(s[i]) >= 0; i++) {
		if (i == CHUNK_DIGITS_MAX)
			return -EPROTO;
		sz = sz << 4 | (uint64_t)hex_digit(s[i]);
	}
	if (i == 0)
		return -EPROTO;
	while (i < n && is_ows(s[i]))
		i++;
	if (i < n && s[i] != ';')
		return -EPROTO;
	if (sz == 0) {
		r->state = ETCD_H1_TRAILER;
		return 0;
	}
	if (sz > r->max - r->body.len)
		return -EMSGSIZE;
	r->left = sz;
	r->state = ETCD_H1_CHUNK_DATA;
	return 0;
}

static int line_done(struct etcd_h1_resp *r)
{
	const char *s = r->line;
	size_t n = r->llen;

	r->llen = 0;
	switch (r->state) {
	case ETCD_H1_STATUS:
		return status_line(r, s, n);
	case ETCD_H1_HEADER:
		return n ? header_line(r, s, n) : head_end(r);
	case ETCD_H1_CHUNK_SIZE:
		return chunk_size_line(r, s, n);
	case ETCD_H1_CHUNK_END:
		if (n)
			return -EPROTO;
		r->state = ETCD_H1_CHUNK_SIZE;
		return 0;
	case ETCD_H1_TRAILER:
		if (!n)
			r->state = ETCD_H1_DONE;
		else if (++r->nhdr > ETCD_H1_HEADERS_MAX)
			return -EMSGSIZE;
		return 0;
	default:
		return -EINVAL;
	}
}

/* One byte of a line; a complete line is handled. */
static int line_byte(struct etcd_h1_resp *r, char c)
{
	bool in_head = r->state == ETCD_H1_STATUS || r->state == ETCD_H1_HEADER ||
		       r->state == ETCD_H1_TRAILER;

	if (in_head && ++r->head > ETCD_H1_HEAD_MAX)
		return -EMSGSIZE;
	if (c == '\n') {
		if (r->llen && r->line[r->llen - 1] == '\r')
			r->llen--;
		return line_done(r);
	}
	if (c == '\0' || (r->llen && r->line[r->llen - 1] == '\r'))
		return -EPROTO;		/* a NUL, or a CR not before LF */
	if (r->llen == sizeof(r->line))
		return -EMSGSIZE;
	r->line[r->llen++] = c;
	return 0;
}

int etcd_h1_resp_feed(struct etcd_h1_resp *r, const char *p, size_t n,
		      size_t *used)
{
	size_t i = 0;
	int rc = 0;

	*used = 0;
	if (r->state == ETCD_H1_DONE || r->state == ETCD_H1_FAILED)
		return -EINVAL;
	while (i < n && r->state != ETCD_H1_DONE) {
		if (r->state == ETCD_H1_BODY || r->state == ETCD_H1_CHUNK_DATA) {
			size_t k = n - i;

			if (!r->to_eof && k > r->left)
				k = (size_t)r->left;
			rc = etcd_buf_add(&r->body, p + i, k, r->max);
			if (rc < 0)
				break;
			i += k;
			if (r->to_eof)
				continue;
			r->left -= k;
			if (!r->left)
				r->state = r->state == ETCD_H1_BODY ?
					   ETCD_H1_DONE : ETCD_H1_CHUNK_END;
			continue;
		}
		rc = line_byte(r, p[i++]);
		if (rc < 0)
			break;
	}
	*used = i;
	if (rc < 0) {
		r->state = ETCD_H1_FAILED;
		return rc;
	}
	return r->state == ETCD_H1_DONE;
}

int etcd_h1_resp_eof(struct etcd_h1_resp *r)
{
	if (r->state == ETCD_H1_DONE)
		return 1;
	if (r->state == ETCD_H1_BODY && r->to_eof) {
		r->state = ETCD_H1_DONE;
		return 1;
	}
	r->state = ETCD_H1_FAILED;
	return -EPROTO;
}

/* --- the connection ------------------------------------------------------ */

void etcd_h1_conn_close(struct etcd_h1_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for ev on fd until deadline: 1 ready, 0 timed out, -errno. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = ev };
		int64_t left = deadline - mono_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/* "http://HOST:PORT": host (brackets off) and port. */
static int ep_split(const char *ep, char *host, size_t hl, char *port,
		    size_t pl)
{
	const char *a = ep + 7, *hb = a, *he, *colon;

	if (strncmp(ep, "http://", 7))
		return -EINVAL;
	if (*a == '[') {
		hb = a + 1;
		he = strchr(hb, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		colon = he + 1;
	} else {
		colon = strrchr(a, ':');
		if (!colon)
			return -EINVAL;
		he = colon;
	}
	if (he == hb || (size_t)(he - hb) >= hl || strlen(colon + 1) >= pl ||
	    !colon[1])
		return -EINVAL;
	memcpy(host, hb, (size_t)(he - hb));
	host[he - hb] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static void sock_opts(int fd)
{
	int one = 1, idle = 10, intvl = 5;

	/* (best effort: a socket without them still works) */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
}

/* One address: a connected fd, or -errno (-ETIMEDOUT at the deadline). */
static int connect_addr(const struct addrinfo *ai, int64_t deadline)
{
	int fd, rc, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	sock_opts(fd);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		rc = -errno;
		goto bad;
	}
	rc = wait_fd(fd, POLLOUT, deadline);
	if (rc <= 0) {
		rc = rc ? rc : -ETIMEDOUT;
		goto bad;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (!soerr)
		return fd;
	rc = -soerr;
bad:
	close(fd);
	return rc;
}

/* c->fd connected to the member, trying each of its addresses. */
static int conn_open(struct etcd_h1_conn *c, const char *ep, int64_t deadline,
		     char *why, size_t whylen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL, *ai;
	char host[256], port[16];
	int rc = -EHOSTUNREACH, g;

	if (ep_split(ep, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(why, whylen, "not an http://HOST:PORT URL");
		return -EINVAL;
	}
	g = getaddrinfo(host, port, &hints, &res);
	if (g) {
		snprintf(why, whylen, "cannot resolve %s: %s", host,
			 g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		rc = connect_addr(ai, deadline);
		if (rc >= 0) {
			c->fd = rc;
			rc = 0;
			break;
		}
		if (rc == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (rc < 0)
		snprintf(why, whylen, "connect to %s port %s: %s", host, port,
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
	return rc;
}

/* Idle and readable: the member closed it (or sent what nobody asked for). */
static bool conn_stale(const struct etcd_h1_conn *c)
{
	struct pollfd pf = { .fd = c->fd, .events = POLLIN };

	return poll(&pf, 1, 0) != 0;
}

/* Sends iov[0..n) in full: 0, -ETIMEDOUT or -errno. Changes iov. */
static int send_all(int fd, struct iovec *iov, int n, int64_t deadline)
{
	while (n > 0) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t k = sendmsg(fd, &m, MSG_NOSIGNAL);

		if (k < 0) {
			int rc;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			rc = wait_fd(fd, POLLOUT, deadline);
			if (rc <= 0)
				return rc ? rc : -ETIMEDOUT;
			continue;
		}
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* The request's head, malloc'd (it may hold the token: wiped by the caller). */
static char *req_head(const struct etcd_h1_req *q, size_t blen, size_t *len)
{
	const char *fmt = "POST %s HTTP/1.1\r\nHost: %s\r\n"
			  "Content-Type: application/json\r\n"
			  "Grpc-Metadata-hasleader: true\r\n"
			  "%s%s%sContent-Length: %zu\r\n\r\n";
	const char *auth = q->token ? "Authorization: " : "";
	const char *tok = q->token ? q->token : "", *crlf = q->token ? "\r\n" : "";
	int n = snprintf(NULL, 0, fmt, q->path, q->ep + 7, auth, tok, crlf, blen);
	char *s;

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s)
		snprintf(s, (size_t)n + 1, fmt, q->path, q->ep + 7, auth, tok,
			 crlf, blen);
	*len = (size_t)n;
	return s;
}

enum once {
	ONCE_OK,		/* a whole reply */
	ONCE_STALE,		/* a kept connection broke before the reply */
	ONCE_FAIL,		/* *tr and why say what */
	ONCE_NOMEM,
};

/* The request on c->fd (kept: it carried a reply before), the reply into r. */
static enum once exchange(struct etcd_h1_conn *c, bool kept, const char *head,
			  size_t hlen, const char *body, int64_t deadline,
			  struct etcd_h1_resp *r, enum etcd_transport *tr,
			  bool *sent, char *why, size_t whylen)
{
	struct iovec iov[2] = {
		{ .iov_base = (char *)head, .iov_len = hlen },
		{ .iov_base = (char *)body, .iov_len = strlen(body) },
	};
	char buf[16384];
	size_t got = 0;
	int rc;

	*sent = false;
	rc = send_all(c->fd, iov, 2, deadline);
	if (rc < 0) {
		if (kept && (rc == -EPIPE || rc == -ECONNRESET))
			return ONCE_STALE;
		*tr = rc == -ETIMEDOUT ? ETCD_T_TIMEOUT : ETCD_T_BROKEN;
		snprintf(why, whylen, "sending the request: %s", rc == -ETIMEDOUT ?
			 "timed out" : strerror(-rc));
		return ONCE_FAIL;
	}
	*sent = true;
	for (;;) {
		ssize_t k = recv(c->fd, buf, sizeof(buf), 0);
		size_t used;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			rc = wait_fd(c->fd, POLLIN, deadline);
			if (rc > 0)
				continue;
			*tr = rc ? ETCD_T_BROKEN : ETCD_T_TIMEOUT;
			snprintf(why, whylen, "%s", rc ? strerror(-rc) :
				 got ? "the reply stalled: timed out" :
				 "no reply in time");
			return ONCE_FAIL;
		}
		if (k <= 0 && !got && kept &&
		    (k == 0 || errno == ECONNRESET || errno == EPIPE))
			return ONCE_STALE;
		if (k < 0) {
			*tr = ETCD_T_BROKEN;
			snprintf(why, whylen, "receiving the reply: %s",
				 strerror(errno));
			return ONCE_FAIL;
		}
		if (k == 0) {
			if (etcd_h1_resp_eof(r) == 1) {
				etcd_h1_conn_close(c);
				return ONCE_OK;
			}
			*tr = ETCD_T_BROKEN;
			snprintf(why, whylen, "the connection closed %s the reply",
				 got ? "in the middle of" : "before");
			return ONCE_FAIL;
		}
		got += (size_t)k;
		rc = etcd_h1_resp_feed(r, buf, (size_t)k, &used);
		if (rc == -ENOMEM)
			return ONCE_NOMEM;
		if (rc < 0) {
			*tr = ETCD_T_BROKEN;
			snprintf(why, whylen, "%s", rc == -EMSGSIZE ?
				 "reply too large" : "a reply that is not HTTP/1.1");
			return ONCE_FAIL;
		}
		if (rc == 1) {
			/* nothing was asked for beyond this reply */
			if (r->close || used < (size_t)k)
				etcd_h1_conn_close(c);
			return ONCE_OK;
		}
	}
}

int etcd_h1_post(struct etcd_h1_conn *c, const struct etcd_h1_req *q,
		 struct etcd_h1_resp *r, enum etcd_transport *tr, bool *resent,
		 char *why, size_t whylen)
{
	int64_t start = mono_ms(), deadline = start + q->attempt_ms;
	int64_t cdl = start + (q->connect_ms < q->attempt_ms ?
			       q->connect_ms : q->attempt_ms);
	size_t hlen;
	char *head = req_head(q, strlen(q->body), &hlen);
	bool retried = false, sent;
	enum once o;
	int rc = 0;

	*resent = false;
	*tr = ETCD_T_BROKEN;
	why[0] = '\0';
	if (!head)
		return -ENOMEM;
	if (c->fd >= 0 && conn_stale(c))
		etcd_h1_conn_close(c);
	for (;;) {
		bool kept = c->fd >= 0;

		if (!kept && conn_open(c, q->ep, cdl, why, whylen) < 0) {
			*tr = ETCD_T_CONNECT;
			break;
		}
		o = exchange(c, kept, head, hlen, q->body, deadline, r, tr, &sent,
			     why, whylen);
		if (o == ONCE_OK) {
			*tr = ETCD_T_OK;
			break;
		}
		etcd_h1_conn_close(c);
		if (o == ONCE_NOMEM) {
			rc = -ENOMEM;
			break;
		}
		if (o == ONCE_FAIL)
			break;
		/* stale: once more on a new connection, from a clean reply */
		if (retried) {
			*tr = ETCD_T_BROKEN;
			snprintf(why, whylen, "the connection broke before the reply");
			break;
		}
		retried = true;
		*resent = sent;
		etcd_h1_resp_clear(r);
		cdl = mono_ms() + q->connect_ms;
		if (cdl > deadline)
			cdl = deadline;
	}
	explicit_bzero(head, hlen);
	free(head);
	return rc;
}
