/*
 * test_etcd_h1: the etcd backend's built-in HTTP/1.1 client. The reply
 * parser on every shape a member (or something pretending to be one) may
 * send, each fed whole, byte by byte and split at every offset; then
 * etcd_h1_post against a scripted server on 127.0.0.1 (a child process):
 * keep-alive reuse, a stale kept connection resent once, a refused
 * connect, a member that never answers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "datastore/etcd_h1.h"

#define MAX 4096

/* Feeds s in pieces of at most step bytes (0: whole); the last result. */
static int feed_split(struct etcd_h1_resp *r, const char *s, size_t n,
		      size_t step, size_t *total)
{
	size_t off = 0, used;
	int rc = 0;

	*total = 0;
	while (off < n) {
		size_t k = step && n - off > step ? step : n - off;

		rc = etcd_h1_resp_feed(r, s + off, k, &used);
		*total += used;
		if (rc != 0)
			return rc;
		off += k;
	}
	return rc;
}

static int feed_str(struct etcd_h1_resp *r, const char *s)
{
	size_t used;

	return etcd_h1_resp_feed(r, s, strlen(s), &used);
}

/* s parses to status st and body, the same at every split. */
static void expect_reply(const char *s, int st, const char *body, bool close)
{
	size_t n = strlen(s), step, total;
	struct etcd_h1_resp r;

	for (step = 0; step <= n; step++) {
		etcd_h1_resp_init(&r, MAX);
		assert_int_equal(feed_split(&r, s, n, step, &total), 1);
		assert_int_equal(total, n);
		assert_int_equal(r.status, st);
		assert_int_equal(r.body.len, strlen(body));
		if (r.body.len)
			assert_memory_equal(r.body.p, body, r.body.len);
		assert_int_equal(r.close, close);
		etcd_h1_resp_clear(&r);
	}
	/* split in two at every offset */
	for (step = 1; step < n; step++) {
		size_t used, used2;
		int rc;

		etcd_h1_resp_init(&r, MAX);
		rc = etcd_h1_resp_feed(&r, s, step, &used);
		assert_int_equal(rc, 0);
		assert_int_equal(etcd_h1_resp_feed(&r, s + step, n - step, &used2), 1);
		assert_int_equal(used + used2, n);
		assert_int_equal(r.status, st);
		etcd_h1_resp_clear(&r);
	}
}

/* s fails with err, however it is split. */
static void expect_error(const char *s, int err)
{
	size_t n = strlen(s), step, total;
	struct etcd_h1_resp r;

	for (step = 0; step <= n; step += 1 + n / 64) {
		etcd_h1_resp_init(&r, MAX);
		assert_int_equal(feed_split(&r, s, n, step, &total), err);
		/* and nothing more is taken after an error */
		assert_int_equal(etcd_h1_resp_feed(&r, "x", 1, &total), -EINVAL);
		etcd_h1_resp_clear(&r);
	}
}

static void test_status_line(void **state)
{
	static const char nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";
	struct etcd_h1_resp r;
	size_t used;

	expect_reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, "{}", false);
	expect_reply("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 404, "", false);
	/* no reason phrase; bare LF line ends */
	expect_reply("HTTP/1.1 503\nContent-Length: 1\n\nx", 503, "x", false);
	/* HTTP/1.0: closes unless keep-alive */
	expect_reply("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", true);
	expect_reply("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
		     200, "x", false);
	expect_error("HTTP/2 200 OK\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 20 OK\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 2000 OK\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 600 What\r\n\r\n", -EPROTO);
	expect_error("http/1.1 200 OK\r\n\r\n", -EPROTO);
	expect_error("\r\nHTTP/1.1 200 OK\r\n\r\n", -EPROTO);
	expect_error("SSH-2.0-OpenSSH_9.2\r\n", -EPROTO);
	/* a CR not before LF, a NUL */
	expect_error("HTTP/1.1 200 O\rK\r\n\r\n", -EPROTO);
	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(etcd_h1_resp_feed(&r, nul, sizeof(nul) - 1, &used), -EPROTO);
	etcd_h1_resp_clear(&r);
}

static void test_headers(void **state)
{
	/* names in any case; values' spaces trimmed */
	expect_reply("HTTP/1.1 200 OK\r\ncontent-LENGTH:   3  \r\nX-Other: y\r\n\r\nabc",
		     200, "abc", false);
	expect_reply("HTTP/1.1 200 OK\r\nCONNECTION: keep-alive, CLOSE\r\n"
		     "Content-Length: 1\r\n\r\nz", 200, "z", true);
	/* the same Content-Length twice is one */
	expect_reply("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz",
		     200, "z", false);
	/* an empty value is a value */
	expect_reply("HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n", 200, "", false);
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nz", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456789\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nz", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\n: value\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n", -EPROTO);
}

static void test_chunked(void **state)
{
	expect_reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 200, "hello world", false);
	/* any case, extensions, spaces before them, trailers, hex in any case */
	expect_reply("HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n"
		     "5;name=val\r\nhello\r\nA ; x=\"y\"\r\n0123456789\r\n"
		     "0;last\r\nGrpc-Trailer: 1\r\nOther: 2\r\n\r\n",
		     200, "hello0123456789", false);
	expect_reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "a\r\n0123456789\r\n0\r\n\r\n", 200, "0123456789", false);
	/* chunked and a Content-Length: chunks win, the connection ends */
	expect_reply("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "1\r\nx\r\n0\r\n\r\n", 200, "x", true);
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "g\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     ";ext\r\n", -EPROTO);
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "5 x\r\n", -EPROTO);
	/* the data longer than its size said */
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "2\r\nabc\r\n0\r\n\r\n", -EPROTO);
	/* a size that would overflow */
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		     "10000000000000000\r\n", -EPROTO);
}

static void test_truncated(void **state)
{
	static const char *const cut[] = {
		"",
		"HTTP/1.1 200 OK\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
		"HTTP/1.1 100 Continue\r\n\r\n",
	};
	struct etcd_h1_resp r;
	size_t i, used;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		etcd_h1_resp_init(&r, MAX);
		assert_int_equal(etcd_h1_resp_feed(&r, cut[i], strlen(cut[i]), &used), 0);
		assert_int_equal(etcd_h1_resp_eof(&r), -EPROTO);
		etcd_h1_resp_clear(&r);
	}
	/* neither length nor chunks: the body ends with the connection */
	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(feed_str(&r, "HTTP/1.1 200 OK\r\n\r\n{\"a\":1}"), 0);
	assert_int_equal(etcd_h1_resp_eof(&r), 1);
	assert_string_equal(r.body.p, "{\"a\":1}");
	assert_true(r.close);
	etcd_h1_resp_clear(&r);
}

static void test_oversize(void **state)
{
	char big[ETCD_H1_LINE_MAX + 64], *head;
	struct etcd_h1_resp r;
	size_t used, i;
	int n;

	/* a Content-Length over the cap fails at once, before the body */
	n = snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
		     MAX + 1);
	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(etcd_h1_resp_feed(&r, big, (size_t)n, &used), -EMSGSIZE);
	etcd_h1_resp_clear(&r);
	/* exactly the cap is fine */
	etcd_h1_resp_init(&r, 3);
	assert_int_equal(feed_str(&r, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"), 1);
	etcd_h1_resp_clear(&r);
	/* chunks adding up to more than the cap */
	etcd_h1_resp_init(&r, 3);
	assert_int_equal(feed_str(&r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
				  "\r\n2\r\nab\r\n2\r\n"), -EMSGSIZE);
	etcd_h1_resp_clear(&r);
	/* a body to the connection's end, past the cap */
	etcd_h1_resp_init(&r, 3);
	assert_int_equal(feed_str(&r, "HTTP/1.1 200 OK\r\n\r\nabcd"), -EMSGSIZE);
	etcd_h1_resp_clear(&r);
	/* one line too long */
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(etcd_h1_resp_feed(&r, big, sizeof(big), &used), -EMSGSIZE);
	etcd_h1_resp_clear(&r);
	/* too many headers */
	head = malloc(64 + 8 * (ETCD_H1_HEADERS_MAX + 1));
	assert_non_null(head);
	n = sprintf(head, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i <= ETCD_H1_HEADERS_MAX; i++)
		n += sprintf(head + n, "A: b\r\n");
	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(etcd_h1_resp_feed(&r, head, (size_t)n, &used), -EMSGSIZE);
	etcd_h1_resp_clear(&r);
	free(head);
	/* a head longer than ETCD_H1_HEAD_MAX, through interim replies */
	etcd_h1_resp_init(&r, MAX);
	for (i = 0; i < ETCD_H1_HEAD_MAX / 24 + 1; i++) {
		n = etcd_h1_resp_feed(&r, "HTTP/1.1 100 Continue\r\n\r\n", 25, &used);
		if (n)
			break;
	}
	assert_int_equal(n, -EMSGSIZE);
	etcd_h1_resp_clear(&r);
}

static void test_interim(void **state)
{
	struct etcd_h1_resp r;
	size_t used;
	const char *s;

	/* 100 Continue (never asked for) and 103 are skipped */
	expect_reply("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
		     "Content-Length: 2\r\n\r\nok", 200, "ok", false);
	expect_reply("HTTP/1.1 100 Continue\r\nContent-Length: 9\r\n\r\n"
		     "HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false);
	/* an interim reply's headers do not carry over */
	expect_reply("HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false);
	/* an upgrade nobody asked for */
	expect_error("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", -EPROTO);
	/* 204 and 304 have no body; what follows is not this reply's */
	s = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/";
	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(etcd_h1_resp_feed(&r, s, strlen(s), &used), 1);
	assert_int_equal(used, strlen(s) - 5);
	assert_int_equal(r.body.len, 0);
	assert_int_equal(etcd_h1_resp_feed(&r, "x", 1, &used), -EINVAL);
	etcd_h1_resp_clear(&r);
}

/* --- etcd_h1_post against a scripted server ------------------------------ */

enum script {
	S_KEEP,		/* one connection, every request answered on it */
	S_STALE,	/* the first answered, the second read and dropped */
	S_SILENT,	/* reads, never answers */
};

/* Reads one request (head and Content-Length body): 1, or 0 at the end. */
static int read_request(int fd)
{
	char buf[8192];
	size_t n = 0;
	char *end, *cl;

	for (;;) {
		ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);

		if (k <= 0)
			return 0;
		n += (size_t)k;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(buf, "Content-Length: ");
		if (!cl || strstr(buf, "Host: 127.0.0.1:") == NULL)
			return 0;
		if (n >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
			return 1;
	}
}

static void answer(int fd, int i)
{
	char body[64], out[256];
	int bl = snprintf(body, sizeof(body), "{\"n\":%d}", i);
	int n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
			 "\r\n%s", bl, body);

	if (write(fd, out, (size_t)n) != n)
		_exit(3);
}

static void serve(int ls, enum script sc)
{
	int fd, i = 0;

	while ((fd = accept(ls, NULL, NULL)) >= 0) {
		while (read_request(fd)) {
			i++;
			if (sc == S_SILENT) {
				pause();
			} else if (sc == S_STALE && i == 2) {
				break;	/* read, and dropped */
			}
			answer(fd, i);
		}
		close(fd);
	}
	_exit(0);
}

static pid_t server(enum script sc, char *ep, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
	snprintf(ep, len, "http://127.0.0.1:%u", ntohs(a.sin_port));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		serve(ls, sc);
	close(ls);
	return pid;
}

static void server_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* One POST: the transport outcome; *n the reply's "n" (-1 without one). */
static enum etcd_transport post(struct etcd_h1_conn *c, const char *ep,
				int64_t ms, int *n, bool *resent)
{
	const struct etcd_h1_req q = {
		.ep = ep, .path = "/v3/kv/range", .body = "{\"key\":\"AA==\"}",
		.token = "tok", .attempt_ms = ms, .connect_ms = ms,
	};
	struct etcd_h1_resp r;
	enum etcd_transport tr;
	char why[256];

	etcd_h1_resp_init(&r, MAX);
	assert_int_equal(etcd_h1_post(c, &q, &r, &tr, resent, why, sizeof(why)), 0);
	*n = -1;
	if (tr == ETCD_T_OK) {
		assert_int_equal(r.status, 200);
		assert_int_equal(sscanf(r.body.p, "{\"n\":%d}", n), 1);
	} else {
		assert_true(why[0]);
	}
	etcd_h1_resp_clear(&r);
	return tr;
}

static void test_post_keepalive(void **state)
{
	struct etcd_h1_conn c = { .fd = -1 };
	char ep[64];
	pid_t pid = server(S_KEEP, ep, sizeof(ep));
	bool resent;
	int n, fd;

	assert_int_equal(post(&c, ep, 2000, &n, &resent), ETCD_T_OK);
	assert_int_equal(n, 1);
	fd = c.fd;
	assert_true(fd >= 0);
	/* the same connection: the server counts on, on one accept */
	assert_int_equal(post(&c, ep, 2000, &n, &resent), ETCD_T_OK);
	assert_int_equal(n, 2);
	assert_int_equal(c.fd, fd);
	assert_false(resent);
	etcd_h1_conn_close(&c);
	server_stop(pid);
}

static void test_post_stale(void **state)
{
	struct etcd_h1_conn c = { .fd = -1 };
	char ep[64];
	pid_t pid = server(S_STALE, ep, sizeof(ep));
	bool resent;
	int n;

	assert_int_equal(post(&c, ep, 2000, &n, &resent), ETCD_T_OK);
	assert_int_equal(n, 1);
	/* request 2 is read and the connection dropped without a byte: sent
	 * again on a new connection, where it is number 3 */
	assert_int_equal(post(&c, ep, 2000, &n, &resent), ETCD_T_OK);
	assert_int_equal(n, 3);
	assert_true(resent);
	etcd_h1_conn_close(&c);
	server_stop(pid);
}

static void test_post_refused_silent(void **state)
{
	struct etcd_h1_conn c = { .fd = -1 };
	char ep[64];
	pid_t pid = server(S_KEEP, ep, sizeof(ep));
	bool resent;
	int n;

	/* nobody listening any more */
	server_stop(pid);
	assert_int_equal(post(&c, ep, 500, &n, &resent), ETCD_T_CONNECT);
	assert_int_equal(c.fd, -1);
	/* a member that reads and never answers: the deadline, not more */
	pid = server(S_SILENT, ep, sizeof(ep));
	assert_int_equal(post(&c, ep, 200, &n, &resent), ETCD_T_TIMEOUT);
	assert_int_equal(c.fd, -1);
	server_stop(pid);
	/* not an http:// URL */
	assert_int_equal(post(&c, "https://127.0.0.1:1", 200, &n, &resent),
			 ETCD_T_CONNECT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_line),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_interim),
		cmocka_unit_test(test_post_keepalive),
		cmocka_unit_test(test_post_stale),
		cmocka_unit_test(test_post_refused_silent),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
