/*
 * statsrv: felix's status socket, <runDir>/felix.sock (unix stream, 0600).
 * The protocol is in common/status.h: one JSON request line, one JSON reply
 * line, then felix closes.
 *
 * Every client is non-blocking and lives in the epoll loop; nothing here
 * blocks. A client has STATSRV_READ_MS to send its request. A reply of any
 * size arrives whole: what the socket does not take at once stays in the
 * client's output buffer and goes out as EPOLLOUT says there is room (at
 * most STATSRV_WRITE_BURST bytes per client per loop turn); a client that
 * does not read it within STATSRV_WRITE_MS is dropped. Reading is bounded
 * too (STATSRV_READ_BURST recv calls per turn), and a client whose request
 * is in sends at most one more request's worth (STATSRV_REQ_MAX bytes,
 * read and dropped) before it is dropped itself, so that a client that
 * keeps writing cannot keep the loop busy. A "wait" is kept
 * with its deadline and evaluated after every reconcile pass
 * (statsrv_eval), so it is answered in the turn its condition starts to
 * hold. A waiter that hangs up is dropped. At most STATSRV_MAX_CLIENTS at
 * once; one more is told so and closed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "felix/felix.h"

#define STATSRV_MAX_CLIENTS 512
#define STATSRV_REQ_MAX 4096
#define STATSRV_READ_MS 10000
#define STATSRV_WAIT_MAX_MS 600000
#define STATSRV_ACCEPT_BURST 64
#define STATSRV_READ_BURST 16		/* recv calls per client per turn */
#define STATSRV_WRITE_BURST (1u << 20)	/* bytes per client per turn */
#define STATSRV_WRITE_MS 10000		/* to read a whole reply */

struct sclient {
	struct esrc src;	/* ES_CLIENT; first */
	struct dlist l;		/* felix.clients */
	int fd;
	bool waiting;
	bool polled;		/* in the epoll set */
	bool eof;		/* the client shut its sending side */
	bool replying;		/* out holds the rest of the reply */
	size_t extra;		/* bytes sent after the request (dropped) */
	char *out;		/* the reply line (owned) */
	size_t out_len, out_off;
	uint64_t deadline;	/* ns: request read, or the wait's end */
	uint64_t t0;
	int64_t rev;
	bool gone;
	char ep[RES_NAME_MAX];
	size_t len;
	char buf[STATSRV_REQ_MAX];
};

static int statsrv_open(struct felix *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	mode_t old;
	int fd, r;

	dlist_init(&f->clients);
	f->listen_fd = -1;
	config_status_socket(f->cfg, f->sock_path, sizeof(f->sock_path));
	if (strlen(f->sock_path) >= sizeof(sa.sun_path)) {
		log_err("status socket %s: path too long", f->sock_path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, f->sock_path, strlen(f->sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_err("status socket: %s", strerror(-r));
		return r;
	}
	/* We hold the pid file's lock: a socket file left here is a dead
	 * felix's. */
	unlink(f->sock_path);
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r == 0)
		r = chmod(f->sock_path, 0600);
	if (r == 0)
		r = listen(fd, 128);
	if (r < 0) {
		r = -errno;
		log_err("status socket %s: %s", f->sock_path, strerror(-r));
		close(fd);
		return r;
	}
	f->src_listen.type = ES_LISTEN;
	ev.data.ptr = &f->src_listen;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		log_err("status socket: epoll: %s", strerror(-r));
		close(fd);
		unlink(f->sock_path);
		return r;
	}
	f->listen_fd = fd;
	return 0;
}

static void client_free(struct felix *f, struct sclient *c)
{
	dlist_del(&c->l);
	f->n_clients--;
	/* Out of the epoll set first: close alone does not take it out
	 * while a copy of the fd lives (a BIRD helper just forked). */
	if (c->polled)
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Sends what the socket takes of the reply (at most STATSRV_WRITE_BURST
 * bytes); closes when all of it went, or the client is gone; otherwise
 * waits for EPOLLOUT. */
static void client_flush(struct felix *f, struct sclient *c)
{
	size_t sent = 0;

	while (c->out_off < c->out_len && sent < STATSRV_WRITE_BURST) {
		size_t n = c->out_len - c->out_off;
		ssize_t k;

		if (n > STATSRV_WRITE_BURST - sent)
			n = STATSRV_WRITE_BURST - sent;
		k = send(c->fd, c->out + c->out_off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("status: reply lost: %s", strerror(errno));
			client_free(f, c);
			return;
		}
		c->out_off += (size_t)k;
		sent += (size_t)k;
	}
	if (c->out_off == c->out_len) {
		client_free(f, c);
		return;
	}
	if (!c->polled) {
		struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			log_debug("status: reply lost: epoll: %s", strerror(errno));
			client_free(f, c);
			return;
		}
		c->polled = true;
	}
}

/* Sends the reply (takes it), then closes: at once when the socket takes
 * it all, else as the client reads it. */
static void client_reply(struct felix *f, struct sclient *c, json_t *reply)
{
	char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	json_decref(reply);
	if (!s) {
		client_free(f, c);
		return;
	}
	c->out_len = strlen(s) + 1;
	s[c->out_len - 1] = '\n';	/* json_dumps' NUL becomes the line's end */
	c->out = s;
	c->out_off = 0;
	c->replying = true;
	c->waiting = false;
	c->deadline = felix_now_ns() + (uint64_t)STATSRV_WRITE_MS * 1000000;
	/* from now on only room to write matters */
	if (c->polled && epoll_ctl(f->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
		client_free(f, c);
		return;
	}
	client_flush(f, c);
}

static void client_error(struct felix *f, struct sclient *c, const char *fmt,
			 ...) __attribute__((format(printf, 3, 4)));
static void client_error(struct felix *f, struct sclient *c, const char *fmt,
			 ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	client_reply(f, c, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

void statsrv_accept(struct felix *f)
{
	for (int i = 0; i < STATSRV_ACCEPT_BURST; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		int fd = accept4(f->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct sclient *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("status: accept: %s", strerror(errno));
			return;
		}
		if (f->n_clients >= STATSRV_MAX_CLIENTS) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"felix is busy: too many status clients\"}\n";

			if (send(fd, busy, sizeof(busy) - 1,
				 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				log_debug("status: reply lost: %s", strerror(errno));
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->src.type = ES_CLIENT;
		c->fd = fd;
		c->t0 = felix_now_ns();
		c->deadline = c->t0 + (uint64_t)STATSRV_READ_MS * 1000000;
		dlist_add_tail(&f->clients, &c->l);
		f->n_clients++;
		ev.data.ptr = c;
		if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			client_free(f, c);
			continue;
		}
		c->polled = true;
	}
}

static json_t *status_reply(struct felix *f)
{
	json_t *o = json_pack("{s:b,s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "ok", 1, "node", f->cfg->node,
			 "pid", (json_int_t)getpid(),
			 "version", PETREL_VERSION,
			 "revision", (json_int_t)f->applied_rev,
			 "endpoints", (json_int_t)f->n_eps,
			 "programmed", (json_int_t)f->n_programmed,
			 "blocks", (json_int_t)f->n_blocks,
			 "lastResyncMs", (json_int_t)f->last_resync_ms,
			 "changes", (json_int_t)f->changes);

	/* each part's own object under its name ("bgp", "nft") */
	for (size_t i = 0; o && i < felix_n_parts; i++) {
		const struct fpart *p = felix_parts[i];
		json_t *v = p->status_json ? p->status_json(f) : NULL;

		if (v)
			json_object_set_new(o, p->name, v);
	}
	return o;
}

/* {"op":"nft","endpoint":NAME?}: what felix programmed, as nft text. */
static void nft_reply(struct felix *f, struct sclient *c, json_t *req)
{
	json_t *v = json_object_get(req, "endpoint");
	char err[256] = "";
	char *text;

	if (v && (!json_is_string(v) || !res_name_valid(json_string_value(v)))) {
		client_error(f, c, "nft: \"endpoint\" must be an endpoint name");
		return;
	}
	text = pol_nft_text(f, v ? json_string_value(v) : NULL, err, sizeof(err));
	if (!text) {
		client_error(f, c, "%s", err);
		return;
	}
	client_reply(f, c, json_pack("{s:b,s:s}", "ok", 1, "text", text));
	free(text);
}

/* The length of s's longest prefix of at most max bytes that ends at a
 * character's boundary (s is valid UTF-8: jansson checked it). */
static int utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return (int)n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

static void client_request(struct felix *f, struct sclient *c)
{
	json_error_t jerr;
	json_t *req, *v;
	const char *op;
	json_int_t timeout_ms = (json_int_t)f->cfg->wait_timeout * 1000;

	req = json_loadb(c->buf, c->len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!req || !json_is_object(req)) {
		json_decref(req);
		client_error(f, c, "request is not one JSON object%s%s",
			     req ? "" : ": ", req ? "" : jerr.text);
		return;
	}
	op = json_string_value(json_object_get(req, "op"));
	if (!op) {
		json_decref(req);
		client_error(f, c, "request has no \"op\"");
		return;
	}
	if (!strcmp(op, "status")) {
		json_decref(req);
		client_reply(f, c, status_reply(f));
		return;
	}
	if (!strcmp(op, "nft")) {
		nft_reply(f, c, req);
		json_decref(req);
		return;
	}
	if (strcmp(op, "wait")) {
		/* at most 64 bytes of it, cut before a character, never
		 * inside one: the reply must stay valid UTF-8 to be sent */
		client_error(f, c, "unknown op \"%.*s\"", utf8_cut(op, 64), op);
		json_decref(req);
		return;
	}
	v = json_object_get(req, "endpoint");
	if (!json_is_string(v) || !res_name_valid(json_string_value(v))) {
		json_decref(req);
		client_error(f, c, "wait: \"endpoint\" must be an endpoint name");
		return;
	}
	snprintf(c->ep, sizeof(c->ep), "%s", json_string_value(v));
	v = json_object_get(req, "revision");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		json_decref(req);
		client_error(f, c, "wait: \"revision\" must be an integer >= 0");
		return;
	}
	c->rev = v ? json_integer_value(v) : 0;
	v = json_object_get(req, "timeoutMs");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		json_decref(req);
		client_error(f, c, "wait: \"timeoutMs\" must be an integer >= 0");
		return;
	}
	if (v)
		timeout_ms = json_integer_value(v);
	if (timeout_ms > STATSRV_WAIT_MAX_MS)
		timeout_ms = STATSRV_WAIT_MAX_MS;
	v = json_object_get(req, "gone");
	c->gone = json_is_true(v);
	json_decref(req);
	c->waiting = true;
	c->t0 = felix_now_ns();
	c->deadline = c->t0 + (uint64_t)timeout_ms * 1000000;
	log_debug("status: wait for endpoint %s%s at revision %lld",
		  c->ep, c->gone ? " gone" : "", (long long)c->rev);
}

void statsrv_client_event(struct felix *f, struct sclient *c, uint32_t ev)
{
	if (ev & (EPOLLHUP | EPOLLERR)) {
		client_free(f, c);	/* gone: nobody to answer */
		return;
	}
	if (c->replying) {
		if (ev & EPOLLOUT)
			client_flush(f, c);
		return;
	}
	/* Bounded: level-triggered, the rest comes at the next turn. */
	for (int i = 0; i < STATSRV_READ_BURST; i++) {
		char tmp[512];
		ssize_t n;

		if (c->waiting)
			n = recv(c->fd, tmp, sizeof(tmp), 0);	/* ignored */
		else
			n = recv(c->fd, c->buf + c->len,
				 sizeof(c->buf) - c->len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			client_free(f, c);
			return;
		}
		if (n == 0) {
			/* Half-closed: it may still read our reply. */
			c->eof = true;
			epoll_ctl(f->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->polled = false;
			if (!c->waiting) {
				if (c->len)
					client_request(f, c);
				else
					client_free(f, c);
			}
			return;
		}
		if (c->waiting) {
			c->extra += (size_t)n;
			if (c->extra > STATSRV_REQ_MAX) {
				log_debug("status: client dropped: %zu bytes sent after its "
					  "request, not reading", c->extra);
				client_free(f, c);
				return;
			}
			continue;
		}
		c->len += (size_t)n;
		if (memchr(c->buf, '\n', c->len)) {
			char *nl = memchr(c->buf, '\n', c->len);

			/* what came after the request line counts as sent after it */
			c->extra = c->len - (size_t)(nl + 1 - c->buf);
			client_request(f, c);
			return;
		}
		if (c->len == sizeof(c->buf)) {
			client_error(f, c, "request longer than %d bytes",
				     STATSRV_REQ_MAX);
			return;
		}
	}
}

/* 1: answer ok; 0: keep waiting; -1: answer the error in msg. */
static int wait_check(struct felix *f, struct sclient *c, char *msg,
		      size_t len)
{
	struct fep *ep;
	struct ftomb *t;

	if (f->applied_rev < c->rev)
		return 0;
	ep = store_ep_find(f, c->ep);
	if (c->gone) {
		if (ep)
			return 0;
		t = store_tomb_find(f, c->ep);
		if (!t)
			return 1;
		if (!rec_tomb_clear(f, t))
			return 0;
		store_tomb_free(f, t);
		return 1;
	}
	if (!ep) {
		snprintf(msg, len, "endpoint %s of node %s is not in the store (at revision %lld)",
			 c->ep, f->cfg->node, (long long)f->applied_rev);
		return -1;
	}
	if (ep->mode != WEP_ROUTED)
		return 1;
	if (!ep->if_indexed) {
		snprintf(msg, len, "endpoint %s: interface name \"%s\" is not petrel's",
			 ep->name, ep->ifname);
		return -1;
	}
	if (ep->programmed && !dlist_linked(&ep->q.l) && !ep->inflight &&
	    pol_ready(f))
		return 1;
	return 0;
}

static void wait_timeout(struct felix *f, struct sclient *c)
{
	char why[256] = "";
	struct fep *ep;
	uint64_t ms = (felix_now_ns() - c->t0) / 1000000;

	if (f->applied_rev < c->rev) {
		dsh_describe(f, why, sizeof(why));
		client_error(f, c, "timed out after %llu ms: felix has applied revision %lld, not yet %lld%s%s",
			     (unsigned long long)ms, (long long)f->applied_rev,
			     (long long)c->rev, why[0] ? ": " : "", why);
		return;
	}
	ep = store_ep_find(f, c->ep);
	if (c->gone) {
		client_error(f, c, "timed out after %llu ms: endpoint %s %s",
			     (unsigned long long)ms, c->ep,
			     ep ? "is still in the store"
				: "still has routes or neighbour entries");
		return;
	}
	if (ep)
		rec_ep_why(f, ep, why, sizeof(why));
	if (!why[0] && !pol_ready(f))
		snprintf(why, sizeof(why), "its nftables rules are not in the kernel yet "
			 "(petrelctl status -o json: nft.lastError)");
	client_error(f, c, "timed out after %llu ms: endpoint %s not programmed%s%s",
		     (unsigned long long)ms, c->ep, why[0] ? ": " : "", why);
}

static void statsrv_eval(struct felix *f)
{
	uint64_t now = felix_now_ns();
	struct dlist *p = f->clients.next;

	while (p != &f->clients) {
		struct sclient *c = container_of(p, struct sclient, l);
		char msg[384];
		int r;

		p = p->next;
		if (c->replying) {
			if (now >= c->deadline) {
				log_debug("status: reply not read in %d ms: %zu of %zu bytes sent",
					  STATSRV_WRITE_MS, c->out_off, c->out_len);
				client_free(f, c);
			}
			continue;
		}
		if (!c->waiting) {
			if (now >= c->deadline)
				client_free(f, c);	/* never sent a request */
			continue;
		}
		r = wait_check(f, c, msg, sizeof(msg));
		if (r > 0) {
			log_debug("status: endpoint %s%s: answered after %llu ms",
				  c->ep, c->gone ? " gone" : "",
				  (unsigned long long)((now - c->t0) / 1000000));
			client_reply(f, c, json_pack("{s:b}", "ok", 1));
		} else if (r < 0) {
			client_error(f, c, "%s", msg);
		} else if (now >= c->deadline) {
			wait_timeout(f, c);
		}
	}
}

static int statsrv_timeout_ms(struct felix *f)
{
	uint64_t now = felix_now_ns(), next = UINT64_MAX;

	for (struct dlist *p = f->clients.next; p != &f->clients; p = p->next) {
		struct sclient *c = container_of(p, struct sclient, l);

		if (c->deadline < next)
			next = c->deadline;
	}
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	/* Round up, so that the wakeup is not a hair early. */
	next = (next - now + 999999) / 1000000;
	return next > 60000 ? 60000 : (int)next;
}

bool statsrv_busy(struct felix *f)
{
	return !dlist_empty(&f->clients);
}

bool statsrv_wants_rev(struct felix *f)
{
	for (struct dlist *p = f->clients.next; p != &f->clients; p = p->next) {
		struct sclient *c = container_of(p, struct sclient, l);

		if (c->waiting && c->rev > f->applied_rev)
			return true;
	}
	return false;
}

static void statsrv_close(struct felix *f)
{
	if (f->clients.next)
		while (!dlist_empty(&f->clients))
			client_free(f, container_of(f->clients.next,
						    struct sclient, l));
	if (f->listen_fd >= 0) {
		close(f->listen_fd);
		unlink(f->sock_path);
		f->listen_fd = -1;
	}
}

const struct fpart statsrv_part = {
	.name = "status",
	.before_store = true,
	.open = statsrv_open,
	.close = statsrv_close,
	.sync = statsrv_eval,
	.timeout_ms = statsrv_timeout_ms,
};
