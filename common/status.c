/*
 * status: the client of felix's status socket; see status.h.
 *
 * One connection per call: connect, write the request line, read one reply
 * line (of any size up to STATUS_REPLY_MAX, 64 MiB), close. Every wait is bounded by one deadline for the whole
 * call; connect is bounded too (a unix stream connect blocks while the
 * listener's backlog is full, for at most SO_SNDTIMEO). A signal interrupts
 * the wait: -EINTR, so that a caller can undo its work on Ctrl-C.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"

size_t status_reply_max = STATUS_REPLY_MAX;

static int64_t status_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until the deadline: 0, -ETIMEDOUT, -EINTR. */
static int status_poll(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	left = deadline - status_now_ms();
	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, left > 1000000000 ? 1000000000 : (int)left);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return 0;
}

static int status_connect(const char *sock_path, int timeout_ms, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv;
	int fd, r;

	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

int status_call(const char *sock_path, json_t *req, int timeout_ms,
		json_t **reply)
{
	int64_t deadline = status_now_ms() + (timeout_ms > 0 ? timeout_ms : 1);
	char *out = NULL, *in = NULL;
	size_t outlen, off = 0, inlen = 0, incap = 0;
	int fd = -1, r;

	*reply = NULL;
	out = json_dumps(req, JSON_COMPACT);
	if (!out)
		return -ENOMEM;
	outlen = strlen(out);
	out[outlen++] = '\n';	/* replaces the NUL; length is tracked */
	r = status_connect(sock_path, timeout_ms > 0 ? timeout_ms : 1, &fd);
	if (r < 0)
		goto out;
	while (off < outlen) {
		ssize_t n = send(fd, out + off, outlen - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN) {
				r = status_poll(fd, POLLOUT, deadline);
				if (r < 0)
					goto out;
				continue;
			}
			r = errno == EPIPE || errno == ECONNRESET ? -ECONNREFUSED : -errno;
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (inlen + 4096 + 1 > incap) {
			size_t cap = incap ? incap * 2 : 8192;
			char *p;

			if (cap > status_reply_max + 4096 + 1) {
				r = -EPROTO;
				goto out;
			}
			p = realloc(in, cap);
			if (!p) {
				r = -ENOMEM;
				goto out;
			}
			in = p;
			incap = cap;
		}
		n = recv(fd, in + inlen, incap - inlen - 1, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN) {
				r = status_poll(fd, POLLIN, deadline);
				if (r < 0)
					goto out;
				continue;
			}
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		inlen += (size_t)n;
		in[inlen] = '\0';
		if (memchr(in + inlen - (size_t)n, '\n', (size_t)n))
			break;
		if (inlen > status_reply_max) {
			r = -EPROTO;
			goto out;
		}
	}
	if (!in || inlen == 0) {
		/* Closed without a word (felix going away): no reply. */
		r = -EPROTO;
		goto out;
	}
	r = status_reply_parse(in, inlen, reply);
out:
	if (fd >= 0)
		close(fd);
	free(out);
	free(in);
	return r;
}

int status_reply_parse(const char *buf, size_t len, json_t **reply)
{
	const char *nl = memchr(buf, '\n', len);
	json_t *j = json_loadb(buf, nl ? (size_t)(nl - buf) : len, 0, NULL);

	if (!j || !json_is_object(j)) {
		json_decref(j);
		return -EPROTO;
	}
	*reply = j;
	return 0;
}

int status_reply_result(const json_t *reply, char *why, size_t why_len)
{
	const char *e;

	if (why && why_len)
		why[0] = '\0';
	if (json_is_true(json_object_get(reply, "ok")))
		return 0;
	e = json_string_value(json_object_get(reply, "error"));
	if (why && why_len)
		snprintf(why, why_len, "%s", e ? e : "failed");
	return -EREMOTEIO;
}

int status_wait(const char *sock_path, const char *name, int64_t rev,
		bool gone, int timeout_ms, char *why, size_t why_len)
{
	json_t *req, *reply = NULL;
	int r;

	if (why && why_len)
		why[0] = '\0';
	req = json_pack("{s:s, s:s, s:I, s:i, s:b}", "op", "wait", "endpoint",
			name, "revision", (json_int_t)rev, "timeoutMs", timeout_ms,
			"gone", gone);
	if (!req)
		return -ENOMEM;
	r = status_call(sock_path, req, timeout_ms + 1000, &reply);
	json_decref(req);
	if (r < 0)
		return r;
	r = status_reply_result(reply, why, why_len);
	json_decref(reply);
	return r;
}
