/*
 * fuzz_felix_statsrv: libFuzzer harness for felix's status request handler
 * (felix/statsrv.c): a client of the status socket sends anything, and
 * felix, driven by hand as its loop drives it (epoll_wait with no timeout,
 * the event handlers, then the part's sync), must answer it or drop it and
 * never crash, leak or answer out of protocol. The felix is the unit tests'
 * (tests/unit/felix_fake.h) on a real unix socket in a temporary runDir,
 * with one routed endpoint "a" in its store at revision 5.
 *
 * The input: its first byte's low bit says whether the client shuts its
 * sending side after the bytes (EOF without a newline); the rest is sent.
 *
 * Invariants checked: whatever felix sends is at most one line, ended by a
 * newline, and that line is one JSON object (so valid UTF-8) with a
 * boolean "ok", and an "error" string when "ok" is false; a client felix
 * no longer holds has its connection closed; closing the part frees every
 * client (ASan's leak check).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "tests/unit/felix_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char run_dir[64];

static void run_dir_rm(void)
{
	rmdir(run_dir);
}

static void turn(struct felix *f)
{
	struct epoll_event ev[16];
	int n = epoll_wait(f->epfd, ev, 16, 0);

	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == &f->src_listen)
			statsrv_accept(f);
		else
			statsrv_client_event(f, ev[i].data.ptr, ev[i].events);
	}
	statsrv_part.sync(f);
}

static void check_reply(const char *buf, size_t len, int closed)
{
	const char *nl = memchr(buf, '\n', len);
	json_t *j, *ok;

	if (!len)
		return;
	if (!nl || (size_t)(nl - buf) + 1 != len) {
		if (!nl && !closed)
			return;		/* the rest is still on its way */
		fprintf(stderr, "reply is not one line: %.*s\n", (int)len, buf);
		abort();
	}
	j = json_loadb(buf, len - 1, 0, NULL);
	ok = json_object_get(j, "ok");
	if (!json_is_object(j) || !json_is_boolean(ok) ||
	    (json_is_false(ok) && !json_is_string(json_object_get(j, "error")))) {
		fprintf(stderr, "reply out of protocol: %.*s\n", (int)len, buf);
		abort();
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char doc[1024], reply[16384];
	size_t got = 0, off = 0;
	int fd, closed = 0;
	struct felix *f;

	if (size < 1 || size > 16384)
		return 0;
	if (!run_dir[0]) {
		log_init("fuzz", LOG_LVL_ERR, 0);
		snprintf(run_dir, sizeof(run_dir), "/tmp/pt-fuzz-stsrv-XXXXXX");
		if (!mkdtemp(run_dir))
			abort();
		atexit(run_dir_rm);
	}
	f = fake_felix("n1");
	snprintf(fake_cfg.run_dir, sizeof(fake_cfg.run_dir), "%s", run_dir);
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0 || statsrv_part.open(f) < 0)
		abort();
	fake_event(f, true, "/petrel/workloadendpoints/n1/a",
		   fake_wep(doc, sizeof(doc), "n1", "a", "ptla", "10.0.0.5/32"), 5);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	memcpy(sa.sun_path, f->sock_path, strlen(f->sock_path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	turn(f);
	data++;
	size--;
	for (int i = 0; i < 64 && !closed; i++) {
		ssize_t k;

		if (off < size) {
			k = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (k > 0)
				off += (size_t)k;
			if (off == size && (data[-1] & 1))
				shutdown(fd, SHUT_WR);
		}
		turn(f);
		while (got < sizeof(reply) &&
		       (k = recv(fd, reply + got, sizeof(reply) - got, 0)) > 0)
			got += (size_t)k;
		if (k == 0)
			closed = 1;
		else if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			closed = 1;	/* reset: felix dropped it */
		if (got == sizeof(reply))
			break;	/* a reply bigger than any this felix makes */
	}
	check_reply(reply, got, closed);
	if (closed && f->n_clients)
		abort();	/* felix closed it, yet still holds it */
	close(fd);
	statsrv_part.close(f);
	close(f->epfd);
	fake_felix_free(f);
	return 0;
}
