/*
 * test_felix_statsrv: felix's status server (felix/statsrv.c) on a real
 * unix socket in a temporary runDir, its loop driven by hand (epoll_wait
 * with no timeout, then the event handlers, as felix's loop does):
 *
 *   - a client whose request is in and that keeps writing without reading
 *     is dropped once it has sent one request's worth more (the control:
 *     a waiting client that sends nothing more is kept);
 *   - an unknown op is cut at a character boundary in the error reply, so
 *     that a multi-byte op still gets its reply (valid UTF-8).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "felix_fake.h"

struct fx {
	struct felix *f;
	char dir[64];
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	strcpy(x->dir, "/tmp/pt-stsrv-XXXXXX");
	if (!mkdtemp(x->dir))
		return -1;
	x->f = fake_felix("n1");
	snprintf(fake_cfg.run_dir, sizeof(fake_cfg.run_dir), "%s", x->dir);
	x->f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->f->epfd < 0 || statsrv_part.open(x->f) < 0)
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	statsrv_part.close(x->f);
	close(x->f->epfd);
	fake_felix_free(x->f);
	rmdir(x->dir);
	free(x);
	return 0;
}

static int client_connect(struct felix *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(f->sock_path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->sock_path, strlen(f->sock_path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* One turn of felix's loop for the status server: what epoll reports,
 * handled. Returns the number of events. */
static int turn(struct felix *f)
{
	struct epoll_event ev[16];
	int n = epoll_wait(f->epfd, ev, 16, 0);

	for (int i = 0; i < n; i++) {
		struct esrc *src = ev[i].data.ptr;

		if (src == &f->src_listen)
			statsrv_accept(f);
		else
			statsrv_client_event(f, ev[i].data.ptr, ev[i].events);
	}
	return n;
}

static void send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Everything felix sends until it closes (bounded by a timeout). */
static size_t read_reply(int fd, char *buf, size_t len)
{
	struct timeval tv = { .tv_sec = 5 };
	size_t off = 0;
	ssize_t k;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (off + 1 < len && (k = recv(fd, buf + off, len - off - 1, 0)) > 0)
		off += (size_t)k;
	buf[off] = '\0';
	return off;
}

static const char wait_req[] =
	"{\"op\":\"wait\",\"endpoint\":\"a\",\"revision\":999999,\"timeoutMs\":60000}\n";

static void test_flooding_waiter_dropped(void **state)
{
	struct fx *x = *state;
	struct felix *f = x->f;
	int quiet = client_connect(f), loud = client_connect(f);
	char junk[1024];
	size_t sent = 0;

	memset(junk, 'a', sizeof(junk));
	for (int i = 0; i < 4; i++)
		turn(f);
	assert_int_equal(f->n_clients, 2);
	send_all(quiet, wait_req);
	send_all(loud, wait_req);
	for (int i = 0; i < 4; i++)
		turn(f);
	assert_int_equal(f->n_clients, 2);	/* both wait */

	/* loud keeps writing: 64 KB, in turns with felix's loop */
	fcntl(loud, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 64; i++) {
		ssize_t k = send(loud, junk, sizeof(junk), MSG_NOSIGNAL);

		if (k > 0)
			sent += (size_t)k;
		turn(f);
	}
	for (int i = 0; i < 8; i++)
		turn(f);
	assert_true(sent > 4096);
	assert_int_equal(f->n_clients, 1);	/* loud dropped, quiet kept */
	char buf[64];
	fcntl(loud, F_SETFL, 0);
	/* felix closed on it: EOF (or a reset: it left bytes unread) */
	assert_true(recv(loud, buf, sizeof(buf), 0) <= 0);
	close(loud);
	close(quiet);
	for (int i = 0; i < 4; i++)
		turn(f);
	assert_int_equal(f->n_clients, 0);	/* the waiter that hung up */
}

/* req: an op of the given text; returns felix's reply parsed (or NULL). */
static json_t *ask_op(struct felix *f, const char *op, char *raw, size_t len)
{
	json_t *req = json_pack("{s:s}", "op", op);
	char *s = json_dumps(req, JSON_COMPACT);
	int fd = client_connect(f);
	json_t *reply;

	assert_non_null(s);
	send_all(fd, s);
	send_all(fd, "\n");
	free(s);
	json_decref(req);
	for (int i = 0; i < 4; i++)
		turn(f);
	read_reply(fd, raw, len);
	close(fd);
	reply = json_loads(raw, 0, NULL);
	return reply;
}

static void test_unknown_op_utf8(void **state)
{
	struct fx *x = *state;
	char op[256], raw[1024];
	json_t *r;
	const char *err;

	/* the control: a long ASCII op, cut to 64 bytes */
	memset(op, 'x', 100);
	op[100] = '\0';
	r = ask_op(x->f, op, raw, sizeof(raw));
	assert_non_null(r);
	err = json_string_value(json_object_get(r, "error"));
	assert_non_null(err);
	assert_int_equal(strlen(err), strlen("unknown op \"\"") + 64);
	json_decref(r);

	/* "x" then 50 two-byte characters: byte 64 falls inside one */
	strcpy(op, "x");
	for (int i = 0; i < 50; i++)
		strcat(op, "\xc3\xa9");	/* é */
	r = ask_op(x->f, op, raw, sizeof(raw));
	assert_non_null(r);
	err = json_string_value(json_object_get(r, "error"));
	assert_non_null(err);
	assert_non_null(strstr(err, "unknown op \"x\xc3\xa9"));
	/* 1 + 31 whole characters = 63 bytes */
	assert_int_equal(strlen(err), strlen("unknown op \"\"") + 63);
	json_decref(r);
	assert_int_equal(x->f->n_clients, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flooding_waiter_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_op_utf8, setup, teardown),
	};

	log_init("test", LOG_LVL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
