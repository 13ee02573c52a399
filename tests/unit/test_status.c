/*
 * Unit tests of common/status.c, the client of felix's status socket.
 *
 * Each case that needs a server forks a fake one: the parent binds and
 * listens on <tmpdir>/felix.sock before the fork (so the client never races
 * the child's bind), the child accepts one connection, reads the request
 * line, hands the raw bytes back to the parent on a pipe, then acts out one
 * behaviour (answer, answer in pieces, stay silent, close, flood). The parent
 * checks status_call's result, the request bytes, and the child's exit
 * status, and reaps it. Every child has an alarm so that none outlives a
 * failed test; no assertion depends on timing, only on error codes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/status.h"

#define REQ_MAX 65536

enum srv_mode {
	SRV_REPLY,	/* write reply in one go, close */
	SRV_SPLIT,	/* write reply in small pieces with pauses, close */
	SRV_SILENT,	/* never answer; exit when the client hangs up */
	SRV_CLOSE,	/* close without a word */
	SRV_FLOOD,	/* a JSON reply of flood_len bytes, newline at the end */
};

struct srv {
	char dir[64];
	char path[128];
	int lfd;		/* parent's copy of the listening socket */
	int req_fd;		/* read end: the request bytes the child got */
	pid_t pid;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Child: reads up to and including the first newline (or EOF). */
static ssize_t child_read_request(int cfd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t n = read(cfd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	return (ssize_t)len;
}

static void child_flood(int cfd, size_t total)
{
	static const char head[] = "{\"x\":\"";
	static const char tail[] = "\"}\n";
	char chunk[4096];
	size_t body = total - (sizeof(head) - 1) - (sizeof(tail) - 1);

	memset(chunk, 'a', sizeof(chunk));
	if (write_all(cfd, head, sizeof(head) - 1) < 0)
		return;
	while (body > 0) {
		size_t n = body < sizeof(chunk) ? body : sizeof(chunk);

		/* The client gives up past its cap and closes: EPIPE here. */
		if (write_all(cfd, chunk, n) < 0)
			return;
		body -= n;
	}
	write_all(cfd, tail, sizeof(tail) - 1);
}

static void child_main(int lfd, int wfd, enum srv_mode mode,
		       const char *reply, size_t flood_len)
{
	char *req = malloc(REQ_MAX);
	ssize_t reqlen;
	int cfd;

	signal(SIGALRM, SIG_DFL);	/* the parent may have a handler */
	alarm(10);	/* a failed parent must not leave us behind */
	if (!req)
		_exit(2);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		_exit(3);
	close(lfd);
	reqlen = child_read_request(cfd, req, REQ_MAX);
	if (reqlen > 0 && write(wfd, req, (size_t)reqlen) != reqlen)
		_exit(4);
	close(wfd);
	free(req);
	switch (mode) {
	case SRV_REPLY:
		if (write_all(cfd, reply, strlen(reply)) < 0)
			_exit(5);
		break;
	case SRV_SPLIT:
		for (size_t off = 0, len = strlen(reply); off < len; off += 3) {
			size_t n = len - off < 3 ? len - off : 3;

			if (write_all(cfd, reply + off, n) < 0)
				_exit(5);
			sleep_ms(10);
		}
		break;
	case SRV_SILENT: {
		char c;
		ssize_t n;

		/* Wait for the client to hang up (it times out). */
		do
			n = read(cfd, &c, 1);
		while (n > 0 || (n < 0 && errno == EINTR));
		break;
	}
	case SRV_CLOSE:
		break;
	case SRV_FLOOD:
		child_flood(cfd, flood_len);
		break;
	}
	close(cfd);
	_exit(0);
}

/* The one fixture, static rather than on a test's stack: cmocka longjmps
 * out of a failed test, and the teardown must still find the child to kill,
 * the fds to close and the directory to remove. live points to it while it
 * holds anything. */
static struct srv fixture;
static struct srv *live;

static int srv_cleanup(struct srv *s)
{
	int st = 0;

	if (s->pid > 0) {
		while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
			;
		s->pid = -1;
	}
	if (s->req_fd >= 0)
		close(s->req_fd);
	if (s->lfd >= 0)
		close(s->lfd);
	s->req_fd = s->lfd = -1;
	unlink(s->path);
	rmdir(s->dir);
	live = NULL;
	return st;
}

static int teardown(void **state)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	if (live) {
		if (live->pid > 0)
			kill(live->pid, SIGKILL);
		srv_cleanup(live);
	}
	return 0;
}

/* A fresh temporary directory; s->path is the socket's name in it. */
static void srv_mkdir(struct srv *s)
{
	assert_null(live);
	strcpy(s->dir, "/tmp/petrel-test-status-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/felix.sock", s->dir);
	s->lfd = s->req_fd = -1;
	s->pid = -1;
	live = s;
}

static void srv_listen(struct srv *s, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	srv_mkdir(s);
	strcpy(sa.sun_path, s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, backlog), 0);
}

static void srv_start(struct srv *s, enum srv_mode mode, const char *reply,
		      size_t flood_len)
{
	int p[2];

	srv_listen(s, 8);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		close(p[0]);
		child_main(s->lfd, p[1], mode, reply, flood_len);
	}
	close(p[1]);
	s->req_fd = p[0];
}

/* Reaps the child (asserting it exited 0), closes everything, removes the
 * directory. Returns the request bytes the child received (malloc'd, NUL
 * terminated; the caller frees). */
static char *srv_stop(struct srv *s)
{
	char *req = NULL;
	size_t len = 0;
	int st;

	if (s->req_fd >= 0) {
		req = malloc(REQ_MAX + 1);
		assert_non_null(req);
		for (;;) {
			ssize_t n = read(s->req_fd, req + len, REQ_MAX - len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		req[len] = '\0';
		close(s->req_fd);
	}
	s->req_fd = -1;
	st = srv_cleanup(s);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(s->dir, F_OK), -1);	/* removed */
	return req;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Runs one call against a fresh fake server; returns status_call's result. */
static int call_with(enum srv_mode mode, const char *reply, size_t flood_len,
		     int timeout_ms, json_t **out, char **req_seen)
{
	struct srv *s = &fixture;
	json_t *req = json_pack("{s:s}", "op", "status");
	int fds, r;
	char *seen;

	assert_non_null(req);
	srv_start(s, mode, reply, flood_len);
	fds = count_fds();
	r = status_call(s->path, req, timeout_ms, out);
	/* status_call closes its socket whatever the outcome. */
	assert_int_equal(count_fds(), fds);
	json_decref(req);
	seen = srv_stop(s);
	if (req_seen)
		*req_seen = seen;
	else
		free(seen);
	return r;
}

static void test_round_trip(void **state)
{
	const char *sent = "{\"ok\":true,\"node\":\"node1\",\"pid\":123,"
			   "\"revision\":57,\"bgp\":{\"enabled\":true,"
			   "\"lastError\":null},\"list\":[1,\"two\",3.5]}\n";
	json_t *reply = NULL, *want, *req, *got;
	char *seen = NULL;
	size_t len;

	assert_int_equal(call_with(SRV_REPLY, sent, 0, 2000, &reply, &seen), 0);
	assert_non_null(reply);
	want = json_loads(sent, 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(reply, want));
	json_decref(want);
	json_decref(reply);

	/* The request is one JSON object and one newline, nothing else. */
	assert_non_null(seen);
	len = strlen(seen);
	assert_true(len >= 2);
	assert_int_equal(seen[len - 1], '\n');
	assert_null(memchr(seen, '\n', len - 1));
	got = json_loadb(seen, len - 1, 0, NULL);
	assert_non_null(got);
	req = json_pack("{s:s}", "op", "status");
	assert_true(json_equal(got, req));
	json_decref(req);
	json_decref(got);
	free(seen);
}

static void test_wait_request(void **state)
{
	/* A larger request with nested values survives the trip intact. */
	json_t *req = json_pack("{s:s,s:s,s:I,s:i,s:b}", "op", "wait",
				"endpoint", "web", "revision", (json_int_t)57,
				"timeoutMs", 10000, "gone", 1);
	json_t *reply = NULL, *got;
	struct srv *s = &fixture;
	char *seen;
	size_t len;

	assert_non_null(req);
	srv_start(s, SRV_REPLY, "{\"ok\":false,\"error\":\"gone\"}\n", 0);
	assert_int_equal(status_call(s->path, req, 2000, &reply), 0);
	seen = srv_stop(s);
	assert_non_null(reply);
	assert_false(json_is_true(json_object_get(reply, "ok")));
	assert_string_equal(json_string_value(json_object_get(reply, "error")),
			    "gone");
	len = strlen(seen);
	assert_true(len >= 2);
	assert_int_equal(seen[len - 1], '\n');
	got = json_loadb(seen, len - 1, 0, NULL);
	assert_non_null(got);
	assert_true(json_equal(got, req));
	json_decref(got);
	json_decref(reply);
	json_decref(req);
	free(seen);
}

static void test_no_socket(void **state)
{
	json_t *req = json_pack("{s:s}", "op", "status");
	json_t *reply = (json_t *)&reply;	/* must be reset to NULL */
	int fds = count_fds();
	struct srv *s = &fixture;

	srv_mkdir(s);
	assert_int_equal(status_call(s->path, req, 200, &reply), -ENOENT);
	assert_null(reply);
	assert_int_equal(count_fds(), fds);
	json_decref(req);
	srv_cleanup(s);
}

static void test_path_too_long(void **state)
{
	char path[200];
	json_t *req = json_pack("{s:s}", "op", "status");
	json_t *reply = NULL;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(status_call(path, req, 200, &reply), -ENAMETOOLONG);
	assert_null(reply);
	json_decref(req);
}

static void test_refused(void **state)
{
	/* A socket file left behind by a dead felix: bound, never listening. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *req = json_pack("{s:s}", "op", "status");
	json_t *reply = NULL;
	struct srv *s = &fixture;
	int fds;

	srv_mkdir(s);
	strcpy(sa.sun_path, s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s->lfd);
	s->lfd = -1;
	fds = count_fds();
	assert_int_equal(status_call(s->path, req, 200, &reply), -ECONNREFUSED);
	assert_null(reply);
	assert_int_equal(count_fds(), fds);
	json_decref(req);
	srv_cleanup(s);
}

static void test_silent_times_out(void **state)
{
	json_t *reply = NULL;
	char *seen = NULL;

	assert_int_equal(call_with(SRV_SILENT, NULL, 0, 200, &reply, &seen),
			 -ETIMEDOUT);
	assert_null(reply);
	/* The request did get through before the wait. */
	assert_non_null(strchr(seen, '\n'));
	free(seen);
}

static void test_backlog_full_times_out(void **state)
{
	/* A felix too busy to accept: backlog 0, the queue already holds a
	 * connection, so connect itself blocks, bounded by the timeout. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *req = json_pack("{s:s}", "op", "status");
	json_t *reply = NULL;
	struct srv *s = &fixture;
	int fillers[4], nfill = 0, fds, r;

	srv_listen(s, 0);
	strcpy(sa.sun_path, s->path);
	for (int i = 0; i < 4; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
				SOCK_NONBLOCK, 0);

		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			break;
		}
		fillers[nfill++] = fd;
	}
	assert_true(nfill >= 1 && nfill < 4);	/* the queue is full now */
	fds = count_fds();
	r = status_call(s->path, req, 200, &reply);
	assert_int_equal(r, -ETIMEDOUT);
	assert_null(reply);
	assert_int_equal(count_fds(), fds);
	for (int i = 0; i < nfill; i++)
		close(fillers[i]);
	free(srv_stop(s));
	json_decref(req);
}

static void test_closes_without_reply(void **state)
{
	json_t *reply = NULL;

	assert_int_equal(call_with(SRV_CLOSE, NULL, 0, 2000, &reply, NULL),
			 -EPROTO);
	assert_null(reply);
}

static void test_garbage(void **state)
{
	static const char *bad[] = {
		"hello\n",			/* not JSON */
		"[1,2,3]\n",			/* JSON, not an object */
		"\"ok\"\n",
		"{\"ok\":true} trailing\n",	/* more than one value */
		"{\"ok\":tr",			/* cut off, then closed */
		"\n",				/* an empty line */
		"{\"ok\":true}{\"ok\":true}\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *reply = NULL;

		print_message("garbage %zu\n", i);
		assert_int_equal(call_with(SRV_REPLY, bad[i], 0, 2000, &reply,
					   NULL), -EPROTO);
		assert_null(reply);
	}
}

static void test_split_reply(void **state)
{
	const char *sent = "{\"ok\":true,\"node\":\"node-with-a-long-name\","
			   "\"endpoints\":3,\"programmed\":3}\n";
	json_t *reply = NULL, *want;

	assert_int_equal(call_with(SRV_SPLIT, sent, 0, 5000, &reply, NULL), 0);
	want = json_loads(sent, 0, NULL);
	assert_non_null(want);
	assert_true(json_equal(reply, want));
	json_decref(want);
	json_decref(reply);
}

static void test_reply_sizes(void **state)
{
	json_t *reply = NULL;
	const char *x;

	/* Half a megabyte, and 4 MiB (`petrelctl nft` of a big table):
	 * accepted whole. */
	assert_int_equal(call_with(SRV_FLOOD, NULL, 512 * 1024, 10000, &reply,
				   NULL), 0);
	x = json_string_value(json_object_get(reply, "x"));
	assert_non_null(x);
	assert_int_equal(strlen(x), 512 * 1024 - 9);
	json_decref(reply);
	reply = NULL;
	assert_int_equal(call_with(SRV_FLOOD, NULL, 4 << 20, 20000, &reply,
				   NULL), 0);
	x = json_string_value(json_object_get(reply, "x"));
	assert_non_null(x);
	assert_int_equal(strlen(x), (4 << 20) - 9);
	json_decref(reply);

	/* Over the sanity bound (STATUS_REPLY_MAX, lowered here to 1 MiB so
	 * that the flood stays small): refused, and the client does not read
	 * it all. */
	assert_int_equal(status_reply_max, STATUS_REPLY_MAX);
	status_reply_max = 1u << 20;
	reply = NULL;
	assert_int_equal(call_with(SRV_FLOOD, NULL, 4 << 20, 10000, &reply,
				   NULL), -EPROTO);
	status_reply_max = STATUS_REPLY_MAX;
	assert_null(reply);
}

static volatile sig_atomic_t got_alarm;

static void on_alarm(int sig)
{
	got_alarm = 1;
}

static void test_signal_interrupts(void **state)
{
	/* Ctrl-C during a long wait: the call returns -EINTR, not a retry. */
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	json_t *reply = NULL;

	sigemptyset(&sa.sa_mask);	/* no SA_RESTART */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	got_alarm = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	assert_int_equal(call_with(SRV_SILENT, NULL, 0, 5000, &reply, NULL),
			 -EINTR);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(got_alarm);
	assert_null(reply);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_round_trip, teardown),
		cmocka_unit_test_teardown(test_wait_request, teardown),
		cmocka_unit_test_teardown(test_no_socket, teardown),
		cmocka_unit_test_teardown(test_path_too_long, teardown),
		cmocka_unit_test_teardown(test_refused, teardown),
		cmocka_unit_test_teardown(test_silent_times_out, teardown),
		cmocka_unit_test_teardown(test_backlog_full_times_out, teardown),
		cmocka_unit_test_teardown(test_closes_without_reply, teardown),
		cmocka_unit_test_teardown(test_garbage, teardown),
		cmocka_unit_test_teardown(test_split_reply, teardown),
		cmocka_unit_test_teardown(test_reply_sizes, teardown),
		cmocka_unit_test_teardown(test_signal_interrupts, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
