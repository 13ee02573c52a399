/*
 * birdctl: a client of BIRD 2's control socket (see bgpconf.h for the line
 * protocol). What petrel needs of it: `configure "PATH"`, `show protocols`,
 * `show route`.
 *
 * Invariants:
 *   - the reply parser is a pure function over a buffer, with every length
 *     and count bounded (it reads what another process wrote: fuzzed by
 *     tests/fuzz/fuzz_birdctl.c);
 *   - every wait on the socket has a deadline; nothing blocks forever on a
 *     BIRD that hangs;
 *   - a command never carries a newline (it would be a second command) or a
 *     '"' inside a quoted argument (BIRD's strings have no escapes).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bgpconf/bgpconf.h"

#define ERR(e, ...) do { if (e) errs_add(e, __VA_ARGS__); } while (0)
#define CMD_MAX 4000		/* BIRD's receive buffer is 4096 */

/* ------------------------------------------------------------ the parser */

static bool is_digit4(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int code4(const char *s)
{
	return (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
}

/* A line that ends a reply: "DDDD text" or a bare "DDDD". */
static bool line_final(const char *s, size_t n)
{
	return n >= 4 && is_digit4(s) && (n == 4 || s[4] == ' ');
}

void birdctl_reply_clear(struct birdctl_reply *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->lines[i].text);
	free(r->lines);
	memset(r, 0, sizeof(*r));
}

static int reply_add(struct birdctl_reply *r, size_t *cap, int code,
		     const char *text, size_t len)
{
	char *t;

	if (r->n >= BIRDCTL_LINES_MAX)
		return -E2BIG;
	if (r->n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct birdctl_line *v = realloc(r->lines, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->lines = v;
		*cap = c;
	}
	if (!(t = malloc(len + 1)))
		return -ENOMEM;
	memcpy(t, text, len);
	t[len] = '\0';
	r->lines[r->n].code = code;
	r->lines[r->n].text = t;
	r->n++;
	return 0;
}

long birdctl_reply_parse(const char *buf, size_t len, struct birdctl_reply *out)
{
	struct birdctl_reply r = { 0 };
	size_t pos = 0, cap = 0;
	int prev = -1;		/* code of the open (continued) reply line */
	long rc = 0;

	while (pos < len) {
		size_t room = len - pos, ll;
		const char *line = buf + pos, *nl, *text;
		bool final;
		int code;

		nl = memchr(line, '\n', room < BIRDCTL_LINE_MAX + 1 ? room : BIRDCTL_LINE_MAX + 1);
		if (!nl) {
			rc = room > BIRDCTL_LINE_MAX ? -E2BIG : 0;
			goto out;
		}
		ll = (size_t)(nl - line);
		pos += ll + 1;
		if (pos > BIRDCTL_REPLY_MAX) {
			rc = -E2BIG;
			goto out;
		}
		if (memchr(line, '\0', ll)) {
			rc = -EBADMSG;
			goto out;
		}
		if (ll > 0 && line[0] == '+')
			continue;	/* a spontaneous message (log echo), not the reply */
		if (ll > 0 && line[0] == ' ') {
			if (prev < 0) {
				rc = -EBADMSG;
				goto out;
			}
			code = prev;
			text = line + 1;
			final = false;
		} else if (ll >= 5 && is_digit4(line) && (line[4] == '-' || line[4] == ' ')) {
			code = code4(line);
			text = line + 5;
			final = line[4] == ' ';
		} else if (ll == 4 && is_digit4(line)) {
			code = code4(line);
			text = line + 4;
			final = true;
		} else {
			rc = -EBADMSG;
			goto out;
		}
		if ((rc = reply_add(&r, &cap, code, text, ll - (size_t)(text - line))) < 0)
			goto out;
		if (final) {
			r.code = code;
			*out = r;
			return (long)pos;
		}
		prev = code;
	}
out:
	birdctl_reply_clear(&r);
	return rc;
}

char *birdctl_reply_text(const struct birdctl_reply *r)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < r->n; i++)
		len += strlen(r->lines[i].text) + 2;
	if (!(s = malloc(len)))
		return NULL;
	p = s;
	*p = '\0';
	for (size_t i = 0; i < r->n; i++) {
		size_t l = strlen(r->lines[i].text);

		if (!l)
			continue;
		if (p != s) {
			*p++ = ';';
			*p++ = ' ';
		}
		memcpy(p, r->lines[i].text, l + 1);
		p += l;
	}
	return s;
}

/* ------------------------------------------------------------ connection */

struct birdctl {
	int fd;
	int timeout_ms;
	char *buf;		/* received, not yet consumed */
	size_t len, cap;
	char greeting[128];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for ev on c->fd until deadline: 0, -ETIMEDOUT or -errno. */
static int wait_fd(struct birdctl *c, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { c->fd, ev, 0 };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
	}
}

/* Reads until the buffer holds a whole reply, then parses it. Lines are
 * looked at once each (scan), so a long reply costs linear time. */
static int read_reply(struct birdctl *c, struct birdctl_reply *out)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	size_t scan = 0;
	int rc;

	for (;;) {
		const char *nl;
		ssize_t n;

		while (c->len > scan && (nl = memchr(c->buf + scan, '\n', c->len - scan))) {
			size_t ll = (size_t)(nl - (c->buf + scan));

			if (line_final(c->buf + scan, ll)) {
				long used = birdctl_reply_parse(c->buf, c->len, out);

				if (used < 0)
					return (int)used;
				if (used == 0)
					return -EBADMSG;
				memmove(c->buf, c->buf + used, c->len - (size_t)used);
				c->len -= (size_t)used;
				return 0;
			}
			scan += ll + 1;
		}
		if (c->len - scan > BIRDCTL_LINE_MAX || c->len > BIRDCTL_REPLY_MAX)
			return -E2BIG;
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *b;

			if (cap > BIRDCTL_REPLY_MAX + BIRDCTL_LINE_MAX + 2)
				cap = BIRDCTL_REPLY_MAX + BIRDCTL_LINE_MAX + 2;
			if (cap <= c->len)
				return -E2BIG;
			if (!(b = realloc(c->buf, cap)))
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		if ((rc = wait_fd(c, POLLIN, deadline)) < 0)
			return rc;
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		c->len += (size_t)n;
	}
}

int birdctl_open(const char *sock, int timeout_ms, struct birdctl **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct birdctl_reply r = { 0 };
	struct birdctl *c;
	struct timeval tv;
	int rc;

	*out = NULL;
	if (!sock || !sock[0])
		return -EINVAL;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : BIRDCTL_TIMEOUT_MS;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		goto out_free;
	}
	/* bounds a connect that waits on a full listen backlog */
	tv.tv_sec = c->timeout_ms / 1000;
	tv.tv_usec = (c->timeout_ms % 1000) * 1000;
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		goto out_free;
	}
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto out_free;
	}
	if ((rc = read_reply(c, &r)) < 0)
		goto out_free;
	if (r.code != 1) {
		birdctl_reply_clear(&r);
		rc = -EBADMSG;
		goto out_free;
	}
	snprintf(c->greeting, sizeof(c->greeting), "%s", r.lines[r.n - 1].text);
	birdctl_reply_clear(&r);
	*out = c;
	return 0;
out_free:
	birdctl_close(c);
	return rc;
}

const char *birdctl_greeting(const struct birdctl *c)
{
	return c->greeting;
}

int birdctl_cmd(struct birdctl *c, const char *cmd, struct birdctl_reply *out)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	size_t len = cmd ? strlen(cmd) : 0, off = 0;
	char *line;
	int rc = 0;

	if (!len || len > CMD_MAX || strchr(cmd, '\n') || strchr(cmd, '\r'))
		return -EINVAL;
	if (!(line = malloc(len + 2)))
		return -ENOMEM;
	memcpy(line, cmd, len);
	line[len++] = '\n';
	line[len] = '\0';
	while (off < len) {
		ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((rc = wait_fd(c, POLLOUT, deadline)) < 0)
				goto out;
			continue;
		}
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	rc = read_reply(c, out);
out:
	free(line);
	return rc;
}

void birdctl_close(struct birdctl *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* One command on a fresh connection; a BIRD error reply → -EREMOTEIO. */
static int run_cmd(const char *sock, const char *cmd, struct birdctl_reply *r,
		   struct errs *e)
{
	struct birdctl *c;
	int rc;

	rc = birdctl_open(sock, 0, &c);
	if (rc < 0) {
		ERR(e, "bird: %s: %s", sock, strerror(-rc));
		return rc;
	}
	rc = birdctl_cmd(c, cmd, r);
	birdctl_close(c);
	if (rc < 0) {
		ERR(e, "bird: %s: %s", sock, strerror(-rc));
		return rc;
	}
	if (r->code >= 8000) {
		ERR(e, "bird: %s", r->lines[r->n - 1].text);
		birdctl_reply_clear(r);
		return -EREMOTEIO;
	}
	return 0;
}

int birdctl_configure(const char *sock, const char *path, struct errs *e)
{
	struct birdctl_reply r = { 0 };
	char cmd[CMD_MAX + 1];
	int rc;

	if (!path || !path[0] || strlen(path) > CMD_MAX - 16)
		return -EINVAL;
	for (const char *p = path; *p; p++) {
		if (*p == '"' || (unsigned char)*p < 0x20 || *p == 0x7f) {
			ERR(e, "bird: cannot name %s in a command (quote or control character)",
			    path);
			return -EINVAL;
		}
	}
	snprintf(cmd, sizeof(cmd), "configure \"%s\"", path);
	if ((rc = run_cmd(sock, cmd, &r, e)) < 0)
		return rc;
	switch (r.code) {
	case 6:		/* reconfiguration ignored, shutting down */
		ERR(e, "bird: %s", r.lines[r.n - 1].text);
		rc = -ESHUTDOWN;
		break;
	default:
		/* 0003 done, 0004 in progress, 0005 queued, 0018/0019 ...: taken */
		rc = r.code < 1000 ? 0 : -EBADMSG;
		break;
	}
	birdctl_reply_clear(&r);
	return rc;
}

/* ------------------------------------------------------ show protocols */

/* Next space-separated token of *p into dst (len); false when none or too long. */
static bool token(const char **p, char *dst, size_t len)
{
	const char *s = *p, *t;
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	for (t = s; *t && *t != ' ' && *t != '\t'; t++)
		;
	n = (size_t)(t - s);
	if (n == 0 || n >= len)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*p = t;
	return true;
}

static bool all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

static int proto_line(const char *text, struct birdctl_proto *p)
{
	const char *s = text, *save;
	char more[32];
	size_t n;

	memset(p, 0, sizeof(*p));
	if (!token(&s, p->name, sizeof(p->name)) || !token(&s, p->proto, sizeof(p->proto)) ||
	    !token(&s, p->table, sizeof(p->table)) || !token(&s, p->state, sizeof(p->state)) ||
	    !token(&s, p->since, sizeof(p->since)))
		return -EBADMSG;
	/* "iso long" prints a date and a time: two tokens */
	save = s;
	if (all_of(p->since, "0123456789-") && token(&s, more, sizeof(more)) &&
	    all_of(more, "0123456789:.") && strlen(p->since) + 1 + strlen(more) < sizeof(p->since)) {
		strcat(p->since, " ");
		strcat(p->since, more);
	} else {
		s = save;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	snprintf(p->info, sizeof(p->info), "%s", s);
	n = strlen(p->info);
	while (n && (p->info[n - 1] == ' ' || p->info[n - 1] == '\t'))
		p->info[--n] = '\0';
	return 0;
}

int birdctl_protocols_parse(const struct birdctl_reply *r,
			    struct birdctl_proto **out, size_t *n)
{
	struct birdctl_proto *v = NULL;
	size_t k = 0, cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < r->n; i++)
		cnt += r->lines[i].code == 1002;
	if (cnt && !(v = calloc(cnt, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		if (r->lines[i].code != 1002)
			continue;
		if ((rc = proto_line(r->lines[i].text, &v[k])) < 0) {
			free(v);
			return rc;
		}
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

int birdctl_protocols(const char *sock, struct birdctl_proto **out, size_t *n,
		      struct errs *e)
{
	struct birdctl_reply r = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = run_cmd(sock, "show protocols", &r, e)) < 0)
		return rc;
	rc = birdctl_protocols_parse(&r, out, n);
	if (rc < 0)
		ERR(e, "bird: cannot read the reply to show protocols: %s", strerror(-rc));
	birdctl_reply_clear(&r);
	return rc;
}

/* ---------------------------------------------------------- show route */

/* "\tvia 10.0.0.2 on eth0 ..." or "\tdev eth0 ...". */
static int route_nexthop(const char *text, struct birdctl_route *rt)
{
	const char *s = text;
	char w[32];

	if (rt->n_via >= BIRDCTL_NEXTHOPS_MAX)
		return 0;	/* more paths than we keep: the first ones stand */
	if (!token(&s, w, sizeof(w)))
		return -EBADMSG;
	if (!strcmp(w, "via")) {
		if (!token(&s, w, sizeof(w)) || ip4_parse(w, &rt->via[rt->n_via]) < 0)
			return 0;	/* not IPv4: not ours to read */
		if (!token(&s, w, sizeof(w)) || strcmp(w, "on") ||
		    !token(&s, rt->dev[rt->n_via], sizeof(rt->dev[0])))
			return -EBADMSG;
	} else if (!strcmp(w, "dev")) {
		rt->via[rt->n_via] = 0;
		if (!token(&s, rt->dev[rt->n_via], sizeof(rt->dev[0])))
			return -EBADMSG;
	} else {
		return 0;
	}
	rt->n_via++;
	return 0;
}

/* "10.0.0.0/26          blackhole [petrel_static 10:00:00.000] * (200)";
 * the prefix is left out (spaces) for a second route of the same prefix. */
static int route_line(const char *text, const struct ip4_net *prev, bool have_prev,
		      struct birdctl_route *rt, bool *skip)
{
	const char *s = text, *close;
	char w[64];

	memset(rt, 0, sizeof(*rt));
	*skip = false;
	if (text[0] != ' ') {
		if (!token(&s, w, sizeof(w)))
			return -EBADMSG;
		if (ip4_net_parse(w, &rt->net, false, false) < 0) {
			*skip = true;	/* another family or kind of net */
			return 0;
		}
	} else if (have_prev) {
		rt->net = *prev;
	} else {
		return -EBADMSG;
	}
	if (!token(&s, rt->type, sizeof(rt->type)))
		return -EBADMSG;
	while (*s == ' ')
		s++;
	if (*s != '[')
		return -EBADMSG;
	s++;
	if (!token(&s, rt->proto, sizeof(rt->proto)) || !(close = strchr(s, ']')))
		return -EBADMSG;
	s = close + 1;
	rt->primary = s[0] == ' ' && (s[1] == '*' || s[1] == '!');
	return 0;
}

struct rlist {
	struct birdctl_route *v;
	size_t n, cap;
};

int birdctl_routes_parse(const struct birdctl_reply *r,
			 struct birdctl_route **out, size_t *n)
{
	struct rlist l = { 0 };
	bool skipping = false, have_prev = false;
	struct ip4_net prev = { 0, 0 };
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < r->n; i++) {
		const char *t = r->lines[i].text;
		struct birdctl_route rt;
		bool skip;

		if (r->lines[i].code != 1007 || !t[0])
			continue;
		if (!strncmp(t, "Table ", 6)) {
			skipping = false;
			have_prev = false;
			continue;
		}
		if (t[0] == '\t') {
			if (skipping)
				continue;
			if (!l.n) {
				rc = -EBADMSG;
				goto out;
			}
			if ((rc = route_nexthop(t, &l.v[l.n - 1])) < 0)
				goto out;
			continue;
		}
		if (t[0] == ' ' && skipping)
			continue;	/* another route of a skipped prefix */
		if ((rc = route_line(t, &prev, have_prev, &rt, &skip)) < 0)
			goto out;
		skipping = skip;
		if (skip) {
			have_prev = false;
			continue;
		}
		if (l.n == l.cap) {
			size_t cap = l.cap ? l.cap * 2 : 32;
			struct birdctl_route *v = realloc(l.v, cap * sizeof(*v));

			if (!v) {
				rc = -ENOMEM;
				goto out;
			}
			l.v = v;
			l.cap = cap;
		}
		l.v[l.n++] = rt;
		prev = rt.net;
		have_prev = true;
	}
	*out = l.v;
	*n = l.n;
	return 0;
out:
	free(l.v);
	return rc;
}

int birdctl_routes(const char *sock, struct birdctl_route **out, size_t *n,
		   struct errs *e)
{
	struct birdctl_reply r = { 0 };
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = run_cmd(sock, "show route", &r, e)) < 0)
		return rc;
	rc = birdctl_routes_parse(&r, out, n);
	if (rc < 0)
		ERR(e, "bird: cannot read the reply to show route: %s", strerror(-rc));
	birdctl_reply_clear(&r);
	return rc;
}
