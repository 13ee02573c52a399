/*
 * etcd_watch: ds_watch on etcd. One streaming POST /v3/watch per watch
 * (start_revision = the last revision seen + 1, progress_notify on), driven
 * by curl's multi interface, never by a thread or a blocking call.
 *
 * The watch's fd is an epoll fd of its own holding curl's sockets
 * (CURLMOPT_SOCKETFUNCTION adds, changes and removes them), a timerfd for
 * curl's timeout (CURLMOPT_TIMERFUNCTION) and a timerfd for the reconnect
 * backoff: the owner's epoll sees one fd, readable when any of them is.
 * ds_watch_read does what is due without waiting (epoll_wait with timeout
 * 0, curl_multi_socket_action per ready fd) and hands over what the
 * stream brought.
 *
 * The stream is one JSON object per message, chunks split anywhere
 * (etcd_stream reassembles). Invariants:
 *   - w->last is the newest revision whose every event has been queued:
 *     raised after a whole message (etcd never splits one revision's
 *     events across messages), or by a progress notification (which etcd
 *     sends only to a watcher that has caught up: nothing at or below its
 *     header revision is still to come);
 *   - an event at or below w->last is dropped (a resumed stream repeats
 *     none), and a stream resumes from w->last + 1 (it loses none);
 *   - a broken stream (closed, refused, an error message, canceled, "no
 *     leader": the request carries "hasleader") reconnects to the next
 *     member: at once the first time, then after 50 ms doubling to 1 s;
 *   - compacted (compact_revision set) is for good: every read from then
 *     on returns -ERANGE (the owner lists again and watches anew).
 * With user/password auth, a stream refused for its token authenticates
 * again before the next attempt: the one blocking request of a watch
 * (bounded by the store's request deadline).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "datastore/ds_etcd_int.h"

#define EPOLL_BATCH 16
#define PASS_MAX 64		/* epoll_wait rounds per read: bounded work */
#define ERRBODY_MAX 512

struct etcd_watch {
	struct ds_watch base;
	struct ds_etcd *e;	/* borrowed */
	struct etcd_range q;	/* the etcd key range (lo/hi below) */
	char *lo, *hi;
	int64_t last;
	int epfd, ctfd, rtfd;
	CURLM *m;
	CURL *h;		/* the stream; NULL between attempts */
	struct curl_slist *hdrs;
	char *body;
	struct etcd_stream st;
	struct ds_event *qev;	/* queued for the next read */
	size_t qn, qcap;
	int err;		/* for good: -ERANGE, -ENOMEM */
	size_t ep;
	unsigned fails;		/* attempts in a row without a message */
	bool stop;		/* the write callback wants the stream ended */
	bool need_auth;
	char errbody[ERRBODY_MAX];
	size_t errlen;
	char why[DS_ERR_MAX];
	char curl_err[CURL_ERROR_SIZE];
};

static void timer_arm(int fd, long ms)
{
	struct itimerspec it = { { 0, 0 }, { 0, 0 } };

	if (ms == 0)
		it.it_value.tv_nsec = 1;
	else if (ms > 0) {
		it.it_value.tv_sec = ms / 1000;
		it.it_value.tv_nsec = (ms % 1000) * 1000000;
	}
	timerfd_settime(fd, 0, &it, NULL);
}

static void timer_drain(int fd)
{
	uint64_t x;

	while (read(fd, &x, sizeof(x)) < 0 && errno == EINTR)
		;
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		   void *socketp)
{
	struct etcd_watch *w = userp;
	struct epoll_event ev = { .data.fd = s };

	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct etcd_watch *w = userp;

	timer_arm(w->ctfd, timeout_ms);
	return 0;
}

static int queue_push(struct etcd_watch *w, struct ds_event *ev)
{
	if (w->qn == w->qcap) {
		size_t ncap = w->qcap ? w->qcap * 2 : 16;
		struct ds_event *nq = realloc(w->qev, ncap * sizeof(*nq));

		if (!nq)
			return -ENOMEM;
		w->qev = nq;
		w->qcap = ncap;
	}
	w->qev[w->qn++] = *ev;
	memset(ev, 0, sizeof(*ev));
	return 0;
}

/* One whole message of the stream. false: end the stream (w->why says why). */
static bool on_message(struct etcd_watch *w, const char *msg, size_t len)
{
	struct etcd_wmsg m;
	int64_t top = w->last;
	size_t i;

	if (etcd_parse_watch(msg, len, w->e->o.prefix, &m) < 0) {
		snprintf(w->why, sizeof(w->why), "a stream message that does not parse");
		return false;
	}
	if (m.is_error) {
		snprintf(w->why, sizeof(w->why), "%s", m.reason);
		goto end;
	}
	if (m.compact_rev > 0) {
		w->err = -ERANGE;
		ds_set_error(&w->e->base, "watch from revision %lld: compacted "
			     "up to %lld", (long long)w->last,
			     (long long)m.compact_rev - 1);
		goto end;
	}
	if (m.canceled) {
		snprintf(w->why, sizeof(w->why), "canceled%s%s",
			 m.reason[0] ? ": " : "", m.reason);
		goto end;
	}
	w->fails = 0;
	for (i = 0; i < m.n; i++) {
		if (m.evs[i].rev <= w->last)
			continue;	/* seen before the stream resumed */
		if (m.evs[i].rev > top)
			top = m.evs[i].rev;
		if (queue_push(w, &m.evs[i]) < 0) {
			w->err = -ENOMEM;
			goto end;
		}
	}
	if (m.n == 0 && !m.created && m.header_rev > top)
		top = m.header_rev;	/* a progress notification */
	w->last = top;
	etcd_wmsg_clear(&m);
	return true;
end:
	etcd_wmsg_clear(&m);
	return false;
}

static size_t write_cb(char *p, size_t sz, size_t nm, void *ud)
{
	struct etcd_watch *w = ud;
	size_t n = sz * nm;
	const char *msg;
	long http = 0;
	size_t len;
	int r;

	if (w->stop)
		return 0;
	etcd_c.easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200) {
		/* an error reply: keep its start for the message */
		size_t k = n < ERRBODY_MAX - 1 - w->errlen ? n : ERRBODY_MAX - 1 - w->errlen;

		memcpy(w->errbody + w->errlen, p, k);
		w->errlen += k;
		w->errbody[w->errlen] = '\0';
		return n;
	}
	r = etcd_stream_feed(&w->st, p, n);
	while (r == 0 && (r = etcd_stream_next(&w->st, &msg, &len)) == 1) {
		if (!on_message(w, msg, len)) {
			w->stop = true;
			return 0;
		}
		r = 0;
	}
	if (r < 0) {
		snprintf(w->why, sizeof(w->why), "the stream: %s", strerror(-r));
		w->stop = true;
		return 0;
	}
	return n;
}

static void stream_drop(struct etcd_watch *w)
{
	if (w->h) {
		etcd_c.multi_remove_handle(w->m, w->h);
		etcd_c.easy_cleanup(w->h);
		w->h = NULL;
	}
	if (w->hdrs)
		etcd_c.slist_free_all(w->hdrs);
	w->hdrs = NULL;
	free(w->body);
	w->body = NULL;
	etcd_stream_reset(&w->st);
	w->errlen = 0;
	w->errbody[0] = '\0';
	w->stop = false;
}

static int stream_start(struct etcd_watch *w)
{
	struct ds_etcd *e = w->e;
	char url[512];

	if (w->need_auth && e->o.user) {
		free(e->token);
		e->token = NULL;
		if (etcd_auth(e) < 0)
			return -EAGAIN;	/* the next attempt, after the backoff */
		w->need_auth = false;
	}
	w->h = etcd_c.easy_init();
	w->body = etcd_req_watch(&w->q, w->last + 1);
	w->hdrs = etcd_headers(e);
	if (!w->h || !w->body || !w->hdrs) {
		stream_drop(w);
		return -ENOMEM;
	}
	w->why[0] = '\0';
	w->curl_err[0] = '\0';
	etcd_setup_handle(e, w->h, w->curl_err);
	snprintf(url, sizeof(url), "%s/v3/watch", e->o.eps[w->ep]);
	etcd_c.easy_setopt(w->h, CURLOPT_URL, url);
	etcd_c.easy_setopt(w->h, CURLOPT_HTTPHEADER, w->hdrs);
	etcd_c.easy_setopt(w->h, CURLOPT_POSTFIELDS, w->body);
	etcd_c.easy_setopt(w->h, CURLOPT_POSTFIELDSIZE, (long)strlen(w->body));
	etcd_c.easy_setopt(w->h, CURLOPT_WRITEFUNCTION, write_cb);
	etcd_c.easy_setopt(w->h, CURLOPT_WRITEDATA, w);
	etcd_c.easy_setopt(w->h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	if (etcd_c.multi_add_handle(w->m, w->h) != CURLM_OK) {
		stream_drop(w);
		return -ENOMEM;
	}
	return 0;
}

/* The stream ended (rc): note why, and plan the next attempt. */
static void stream_ended(struct etcd_watch *w, CURLcode rc)
{
	struct ds_etcd *e = w->e;
	long http = 0;
	char what[DS_ERR_MAX];

	if (w->h)
		etcd_c.easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &http);
	if (w->err) {
		stream_drop(w);
		timer_arm(w->rtfd, 0);	/* the owner comes to read the error */
		return;
	}
	if (http && http != 200) {
		struct etcd_err ee;

		etcd_parse_error(w->errbody, w->errlen, &ee);
		snprintf(what, sizeof(what), "HTTP %ld%s%s", http,
			 ee.msg[0] ? ": " : "", ee.msg);
		if (ee.code == 16)
			w->need_auth = true;
	} else if (w->why[0]) {
		snprintf(what, sizeof(what), "%s", w->why);
	} else if (rc == CURLE_OK) {
		snprintf(what, sizeof(what), "the stream ended");
	} else {
		etcd_curl_errtext(e, rc, w->curl_err, what, sizeof(what));
	}
	ds_set_error(&e->base, "etcd: watch %s: %s: %s (resuming from "
		     "revision %lld on the next member)", w->lo,
		     e->o.eps[w->ep], what, (long long)w->last + 1);
	stream_drop(w);
	w->ep = (w->ep + 1) % e->o.n;
	w->fails++;
	/* the next member at once; a whole round failing backs off */
	if (w->fails <= 1)
		timer_arm(w->rtfd, 0);
	else {
		long ms = ETCD_BACKOFF_MIN_MS << (w->fails < 7 ? w->fails - 2 : 5);

		timer_arm(w->rtfd, ms > ETCD_BACKOFF_MAX_MS ? ETCD_BACKOFF_MAX_MS : ms);
	}
}

static void reap_done(struct etcd_watch *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = etcd_c.multi_info_read(w->m, &left))) {
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == w->h)
			stream_ended(w, msg->data.result);
	}
}

static void watch_drive(struct etcd_watch *w)
{
	struct epoll_event evs[EPOLL_BATCH];
	int i, n, pass, running;

	for (pass = 0; pass < PASS_MAX; pass++) {
		n = epoll_wait(w->epfd, evs, EPOLL_BATCH, 0);
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd, mask = 0;

			if (fd == w->ctfd) {
				timer_drain(fd);
				etcd_c.multi_socket_action(w->m, CURL_SOCKET_TIMEOUT,
							   0, &running);
			} else if (fd == w->rtfd) {
				timer_drain(fd);
				if (w->err) {
					timer_arm(w->rtfd, 0);
					return;
				}
				if (!w->h && stream_start(w) < 0)
					stream_ended(w, CURLE_OUT_OF_MEMORY);
			} else {
				if (evs[i].events & EPOLLIN)
					mask |= CURL_CSELECT_IN;
				if (evs[i].events & EPOLLOUT)
					mask |= CURL_CSELECT_OUT;
				if (evs[i].events & (EPOLLERR | EPOLLHUP))
					mask |= CURL_CSELECT_ERR;
				etcd_c.multi_socket_action(w->m, fd, mask, &running);
			}
			reap_done(w);
			if (w->err)
				return;
		}
	}
}

int etcd_watch_read(struct ds_watch *dw, struct ds_event **evs, size_t *n)
{
	struct etcd_watch *w = (struct etcd_watch *)dw;

	if (!w->err)
		watch_drive(w);
	if (w->err) {
		ds_events_free(w->qev, w->qn);
		w->qev = NULL;
		w->qn = w->qcap = 0;
		timer_arm(w->rtfd, 0);	/* stays readable: the error stays */
		return w->err;
	}
	*evs = w->qev;
	*n = w->qn;
	w->qev = NULL;
	w->qn = w->qcap = 0;
	return 0;
}

int etcd_watch_fd(const struct ds_watch *dw)
{
	return ((const struct etcd_watch *)dw)->epfd;
}

/* w->last is raised only after whole messages and by progress
 * notifications: nothing at or below it is still on its way. */
int64_t etcd_watch_rev(const struct ds_watch *dw)
{
	return ((const struct etcd_watch *)dw)->last;
}

void etcd_watch_free(struct ds_watch *dw)
{
	struct etcd_watch *w = (struct etcd_watch *)dw;

	stream_drop(w);
	if (w->m)
		etcd_c.multi_cleanup(w->m);
	etcd_stream_free(&w->st);
	ds_events_free(w->qev, w->qn);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->ctfd >= 0)
		close(w->ctfd);
	if (w->rtfd >= 0)
		close(w->rtfd);
	free(w->lo);
	free(w->hi);
	free(w);
}

int etcd_watch_new(struct ds *ds, const char *prefix, int64_t from,
		   struct ds_watch **out)
{
	struct ds_etcd *e = (struct ds_etcd *)ds;
	struct epoll_event ev = { .events = EPOLLIN };
	struct etcd_watch *w;
	size_t pl = strlen(e->o.prefix), kl = strlen(prefix);
	char err[DS_ERR_MAX];
	int r;

	/* the stream is libcurl's, http:// or not (ds_etcd_int.h) */
	r = etcd_curl_load(err, sizeof(err));
	if (r < 0) {
		ds_set_error(ds, "etcd: %s", err);
		return r;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->base.be = &ds_etcd_backend;
	w->e = e;
	w->last = from;
	w->ep = e->good;
	w->epfd = w->ctfd = w->rtfd = -1;
	w->lo = malloc(pl + kl + 1);
	if (!w->lo) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(w->lo, e->o.prefix, pl);
	memcpy(w->lo + pl, prefix, kl + 1);
	r = ds_prefix_end(w->lo, &w->hi);
	if (r < 0)
		goto out;
	w->q.key = w->lo;
	w->q.klen = pl + kl ? pl + kl : 1;	/* every key: from "\0" on */
	if (w->hi) {
		w->q.end = w->hi;
		w->q.elen = strlen(w->hi);
	} else {
		w->q.end_all = true;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->ctfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->rtfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->ctfd < 0 || w->rtfd < 0) {
		r = -errno;
		goto out;
	}
	ev.data.fd = w->ctfd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ctfd, &ev) < 0) {
		r = -errno;
		goto out;
	}
	ev.data.fd = w->rtfd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->rtfd, &ev) < 0) {
		r = -errno;
		goto out;
	}
	w->m = etcd_c.multi_init();
	if (!w->m) {
		r = -ENOMEM;
		goto out;
	}
	etcd_c.multi_setopt(w->m, CURLMOPT_SOCKETFUNCTION, sock_cb);
	etcd_c.multi_setopt(w->m, CURLMOPT_SOCKETDATA, w);
	etcd_c.multi_setopt(w->m, CURLMOPT_TIMERFUNCTION, timer_cb);
	etcd_c.multi_setopt(w->m, CURLMOPT_TIMERDATA, w);
	if (e->o.user && !e->token) {
		r = etcd_auth(e);
		if (r < 0)
			goto out;
	}
	r = stream_start(w);
	if (r < 0)
		goto out;
	*out = &w->base;
	return 0;
out:
	etcd_watch_free(&w->base);
	return r;
}
