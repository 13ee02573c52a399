/*
 * abpath: the A/B data-path client of DESIGN.md section 10, and its echo
 * server. The virtual CPUs here change speed in phases of 0.1-1 s by 20-30 %,
 * so two paths measured one after the other cannot be told apart; instead
 * one client alternates single transactions between exactly two paths, A,
 * B, A, B ..., and reports the ratio of the mean transaction times. The
 * client and both servers are pinned to one CPU: a transaction's time is
 * all the work of both ends and of the path in between, on that CPU.
 *
 *   abpath server [-C CPU] NETNS PORT
 *   abpath client [-C CPU] [-m rr|crr|bulk] [-t SECONDS] [-w SECONDS]
 *                 NETNS_A ADDR_A:PORT NETNS_B ADDR_B:PORT
 *
 * server: enters NETNS for good, listens on 0.0.0.0:PORT (TCP), prints
 * "ready" and echoes until SIGTERM/SIGINT.
 * client: for each path it enters the path's namespace, opens its socket
 * and comes back (a socket belongs to the namespace it was made in). Modes:
 *   rr    a 64-byte request, a 64-byte response, on one connection per path;
 *   crr   connect + the same request/response + close, each transaction on
 *         a new connection (its socket made beforehand, outside the timing;
 *         closed with an RST (SO_LINGER 0) so that neither side keeps
 *         TIME_WAIT entries and the port range never runs out);
 *   bulk  a 1 MiB request, a 64-byte response, on one connection per path.
 * After a warm-up (-w, default 0.3 s, not counted) it alternates for -t
 * seconds (default 3), A B B A A B ..., and prints one line:
 *   mode=rr seconds=3.00 a_n=N a_mean_us=X a_p50_us=X b_n=N b_mean_us=X
 *   b_p50_us=X ratio=B/A a_disturbed=N b_disturbed=N a_clean_us=X
 *   b_clean_us=X clean_ratio=B/A
 * (clean: without the transactions longer than 10 x the median, see
 * client_print). The client and the servers run at nice -20.
 *
 * Protocol: a request starts with two 32-bit big-endian numbers, its own
 * length (header included) and the length of the response wanted; the
 * server answers with that many zero bytes. The client never sends a
 * request before the previous response is in, so the server never holds
 * more than one request per connection.
 *
 * Namespaces must be named pt-... (tests make only pt- namespaces).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/netns.h"

#define SMALL 64			/* rr and crr request/response bytes */
#define BULK (1024 * 1024)		/* bulk request bytes */
#define HDR 8
#define REQ_MAX (64u * 1024 * 1024)
#define RESP_MAX (16u * 1024 * 1024)
#define CONN_MAX 1024			/* server: open connections at most */
#define SAMPLES_MAX 4000000		/* client: per path, for the p50 */
#define IOBUF (256 * 1024)

static unsigned char iobuf[IOBUF];	/* server: what it reads and sends (any bytes) */

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* On one CPU, at nice -20: on a shared machine another task that lands on
 * that CPU then gets ~1 % of it instead of half (a failure to renice is
 * not one: the disturbed transactions are counted apart anyway). */
static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	setpriority(PRIO_PROCESS, 0, -20);
	return 0;
}

static int set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ?
		-errno : 0;
}

static int check_ns_name(const char *ns)
{
	if (strncmp(ns, "pt-", 3) != 0 || strchr(ns, '/')) {
		fprintf(stderr, "abpath: %s: namespaces must be named pt-...\n", ns);
		return -EINVAL;
	}
	return 0;
}

/* ---- server ---------------------------------------------------------- */

struct conn {
	int fd;
	uint32_t got;		/* bytes of the current request read */
	uint32_t req_len;	/* known once got >= HDR */
	uint32_t to_send;	/* response bytes still to write */
	unsigned char hdr[HDR];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Writes what it can of the response. 0 (done or would block) or -errno. */
static int conn_send(int ep, struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	ssize_t n;

	while (c->to_send > 0) {
		n = write(c->fd, iobuf, c->to_send < IOBUF ? c->to_send : IOBUF);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		c->to_send -= (uint32_t)n;
	}
	ev.events = c->to_send > 0 ? EPOLLOUT : EPOLLIN;
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0 ? -errno : 0;
}

/* Takes n bytes of the current request. 1: it is complete, 0: not yet,
 * -EPROTO: bytes beyond it or a bad header. */
static int conn_take(struct conn *c, const unsigned char *p, size_t n)
{
	uint32_t v[2];
	size_t k;

	if (c->got < HDR) {
		k = n < HDR - c->got ? n : HDR - c->got;
		memcpy(c->hdr + c->got, p, k);
		if (c->got + k == HDR) {
			memcpy(v, c->hdr, sizeof(v));
			c->req_len = ntohl(v[0]);
			c->to_send = ntohl(v[1]);
			if (c->req_len < HDR || c->req_len > REQ_MAX ||
			    c->to_send > RESP_MAX)
				return -EPROTO;
		}
	}
	/* (c->req_len is known once the header is complete.) */
	if (c->got + n >= HDR && c->got + n > c->req_len)
		return -EPROTO;
	c->got += (uint32_t)n;
	if (c->got < HDR || c->got < c->req_len)
		return 0;
	c->got = 0;
	return 1;
}

/* Readable: reads what is there; a complete request is answered. */
static int conn_readable(int ep, struct conn *c)
{
	ssize_t n;
	int r;

	for (;;) {
		n = read(c->fd, iobuf, sizeof(iobuf));
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;	/* 0: peer closed */
		r = conn_take(c, iobuf, (size_t)n);
		if (r < 0)
			return r;
		if (r == 1)
			return conn_send(ep, c);
	}
}

static void server_accept(int ep, int lfd, int *n_conns)
{
	struct epoll_event ev;
	struct conn *c;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		c = *n_conns < CONN_MAX ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		set_nodelay(fd);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		(*n_conns)++;
	}
}

static int server_listen(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sin.sin_port = htons((uint16_t)port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 1024) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static int server_loop(int ep, int lfd)
{
	struct epoll_event evs[64];
	int i, n, n_conns = 0;

	while (!stop) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int r;

			if (!c) {
				server_accept(ep, lfd, &n_conns);
				continue;
			}
			r = (evs[i].events & EPOLLOUT) ? conn_send(ep, c) :
				conn_readable(ep, c);
			if (r < 0 || (evs[i].events & (EPOLLERR | EPOLLHUP) &&
				      !(evs[i].events & EPOLLIN))) {
				conn_close(ep, c);
				n_conns--;
			}
		}
	}
	return 0;
}

static int server_main(int cpu, const char *ns, int port)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int ep = -1, lfd = -1, r;
	const char *what = "";

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if ((r = check_ns_name(ns)) < 0)
		return 2;
	if ((r = pin_cpu(cpu)) < 0) {
		what = "sched_setaffinity";
		goto out;
	}
	if ((r = netns_enter(ns)) < 0) {
		what = "setns";
		goto out;
	}
	if ((lfd = r = server_listen(port)) < 0) {
		what = "listen";
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		r = -errno;
		what = "epoll";
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	r = server_loop(ep, lfd);
	what = "epoll_wait";
out:
	if (r < 0)
		fprintf(stderr, "abpath server %s: %s: %s\n", ns, what, strerror(-r));
	if (lfd >= 0)
		close(lfd);
	if (ep >= 0)
		close(ep);
	return r < 0 ? 1 : 0;
}

/* ---- client ---------------------------------------------------------- */

enum mode { M_RR, M_CRR, M_BULK };

struct path {
	const char *ns;
	struct sockaddr_in to;
	int nsfd;
	int fd;			/* rr, bulk: the connection; crr: the next socket */
	double sum;		/* microseconds, counted transactions */
	long n;
	float *samples;		/* the first SAMPLES_MAX, for the p50 */
};

struct client {
	enum mode mode;
	uint32_t req_len, resp_len;
	unsigned char *req;	/* the request: header, then zeros */
	struct path p[2];
};

/* In the path's namespace: a new TCP socket (connected when arg says so). */
struct sock_arg {
	struct path *p;
	bool connect;
};

static int sock_in_ns(void *arg)
{
	struct sock_arg *a = arg;
	int fd, r;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	set_nodelay(fd);
	if (a->connect && connect(fd, (struct sockaddr *)&a->p->to,
				  sizeof(a->p->to)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	a->p->fd = fd;
	return 0;
}

static int path_socket(struct path *p, bool connect)
{
	struct sock_arg a = { .p = p, .connect = connect };

	return netns_run(p->nsfd, sock_in_ns, &a);
}

static int send_req(const struct client *cl, int fd)
{
	uint32_t done = 0;
	ssize_t n;

	while (done < cl->req_len) {
		n = write(fd, cl->req + done, cl->req_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint32_t)n;
	}
	return 0;
}

static int read_resp(int fd, uint32_t len)
{
	unsigned char buf[4096];
	uint32_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf, len - got < sizeof(buf) ? len - got : sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		got += (uint32_t)n;
	}
	return 0;
}

/* crr: connect, request, response, close with an RST. */
static int txn_crr(const struct client *cl, struct path *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int r;

	if (connect(p->fd, (struct sockaddr *)&p->to, sizeof(p->to)) < 0)
		r = -errno;
	else if ((r = send_req(cl, p->fd)) == 0)
		r = read_resp(p->fd, cl->resp_len);
	setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->fd);
	p->fd = -1;
	return r;
}

/* One transaction on path p, timed; counted when count. */
static int txn(struct client *cl, struct path *p, bool count)
{
	double t0, dt;
	int r;

	if (cl->mode == M_CRR && (r = path_socket(p, false)) < 0)
		return r;
	t0 = now_us();
	if (cl->mode == M_CRR)
		r = txn_crr(cl, p);
	else if ((r = send_req(cl, p->fd)) == 0)
		r = read_resp(p->fd, cl->resp_len);
	dt = now_us() - t0;
	if (r < 0 || !count)
		return r;
	if (p->n < SAMPLES_MAX)
		p->samples[p->n] = (float)dt;
	p->sum += dt;
	p->n++;
	return 0;
}

/* Alternates A, B, B, A, ... for secs seconds (each pair in the order the
 * last one ended, so that a CPU speeding up or slowing down within a pair
 * favours neither path). 0 or -errno (which path in *which). */
static int alternate(struct client *cl, double secs, bool count, int *which)
{
	double end = now_us() + secs * 1e6;
	int i, r, first = 0;

	while (now_us() < end) {
		for (i = 0; i < 2; i++) {
			*which = first ^ i;
			if ((r = txn(cl, &cl->p[*which], count)) < 0)
				return r;
		}
		first ^= 1;
	}
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

static long n_stored(const struct path *p)
{
	return p->n < SAMPLES_MAX ? p->n : SAMPLES_MAX;
}

/* Sorts the samples; their median. */
static double p50(struct path *p)
{
	long n = n_stored(p);

	if (n == 0)
		return 0;
	qsort(p->samples, (size_t)n, sizeof(float), cmp_float);
	return p->samples[n / 2];
}

/* The q-th quantile of the samples (sorted already). */
static double quantile(const struct path *p, double q)
{
	long n = n_stored(p), i = (long)(q * (double)n);

	if (n == 0)
		return 0;
	return p->samples[i < n ? i : n - 1];
}

/* The mean of the samples up to thr (sorted already), their count in *kept. */
static double mean_below(const struct path *p, double thr, long *kept)
{
	double sum = 0;
	long i, n = n_stored(p);

	for (i = 0; i < n && p->samples[i] <= thr; i++)
		sum += p->samples[i];
	*kept = i;
	return i ? sum / (double)i : 0;
}

static int parse_target(const char *s, struct sockaddr_in *to)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &to->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static int client_setup(struct client *cl)
{
	uint32_t v[2];

	cl->req_len = cl->mode == M_BULK ? BULK : SMALL;
	cl->resp_len = SMALL;
	cl->req = calloc(1, cl->req_len);
	if (!cl->req)
		return -ENOMEM;
	v[0] = htonl(cl->req_len);
	v[1] = htonl(cl->resp_len);
	memcpy(cl->req, v, HDR);
	return 0;
}

static int client_open(struct client *cl, const char **what, int *which)
{
	int i, r;

	for (i = 0; i < 2; i++) {
		struct path *p = &cl->p[i];

		*which = i;
		p->samples = malloc(SAMPLES_MAX * sizeof(float));
		if (!p->samples) {
			*what = "malloc";
			return -ENOMEM;
		}
		if ((p->nsfd = r = netns_open(p->ns)) < 0) {
			*what = "open namespace";
			return r;
		}
		if (cl->mode != M_CRR && (r = path_socket(p, true)) < 0) {
			*what = "connect";
			return r;
		}
	}
	return 0;
}

/*
 * Besides the plain means, the means without the disturbed transactions:
 * those longer than DISTURBED x the median (the same bound for both paths).
 * On a machine shared with other work, a transaction during which another
 * task took the CPU lasts a time slice (ms) instead of tens of us; a few of
 * those decide the plain means.
 */
#define DISTURBED 10

static void client_print(struct client *cl, double secs)
{
	static const char *names[] = { "rr", "crr", "bulk" };
	double a = cl->p[0].n ? cl->p[0].sum / (double)cl->p[0].n : 0;
	double b = cl->p[1].n ? cl->p[1].sum / (double)cl->p[1].n : 0;
	double pa = p50(&cl->p[0]), pb = p50(&cl->p[1]);
	double thr = DISTURBED * (pa + pb) / 2, ca, cb;
	long ka, kb;

	ca = mean_below(&cl->p[0], thr, &ka);
	cb = mean_below(&cl->p[1], thr, &kb);
	printf("mode=%s seconds=%.2f a_n=%ld a_mean_us=%.3f a_p50_us=%.3f "
	       "b_n=%ld b_mean_us=%.3f b_p50_us=%.3f ratio=%.5f "
	       "a_disturbed=%ld b_disturbed=%ld a_clean_us=%.3f b_clean_us=%.3f "
	       "clean_ratio=%.5f a_p99_us=%.3f b_p99_us=%.3f a_p999_us=%.3f "
	       "b_p999_us=%.3f\n",
	       names[cl->mode], secs, cl->p[0].n, a, pa, cl->p[1].n, b, pb,
	       a > 0 ? b / a : 0, n_stored(&cl->p[0]) - ka,
	       n_stored(&cl->p[1]) - kb, ca, cb, ca > 0 ? cb / ca : 0,
	       quantile(&cl->p[0], 0.99), quantile(&cl->p[1], 0.99),
	       quantile(&cl->p[0], 0.999), quantile(&cl->p[1], 0.999));
}

static int client_main(struct client *cl, int cpu, double secs, double warm)
{
	const char *what = "";
	int i, r, which = 0;

	if ((r = client_setup(cl)) < 0) {
		what = "malloc";
		goto out;
	}
	if ((r = pin_cpu(cpu)) < 0) {
		what = "sched_setaffinity";
		goto out;
	}
	if ((r = client_open(cl, &what, &which)) < 0)
		goto out;
	what = "transaction";
	if ((r = alternate(cl, warm, false, &which)) < 0 ||
	    (r = alternate(cl, secs, true, &which)) < 0)
		goto out;
	client_print(cl, secs);
out:
	if (r < 0)
		fprintf(stderr, "abpath client: path %c (%s): %s: %s\n",
			'A' + which, cl->p[which].ns, what, strerror(-r));
	for (i = 0; i < 2; i++) {
		if (cl->p[i].fd >= 0)
			close(cl->p[i].fd);
		if (cl->p[i].nsfd >= 0)
			close(cl->p[i].nsfd);
		free(cl->p[i].samples);
	}
	free(cl->req);
	return r < 0 ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: abpath server [-C CPU] NETNS PORT\n"
		"       abpath client [-C CPU] [-m rr|crr|bulk] [-t SECONDS] [-w SECONDS]\n"
		"                     NETNS_A ADDR_A:PORT NETNS_B ADDR_B:PORT\n");
}

int main(int argc, char **argv)
{
	struct client cl = { .mode = M_RR };
	double secs = 3, warm = 0.3;
	int cpu = 0, opt, i;
	bool server;

	if (argc < 2) {
		usage();
		return 2;
	}
	server = strcmp(argv[1], "server") == 0;
	if (!server && strcmp(argv[1], "client") != 0) {
		usage();
		return 2;
	}
	optind = 2;
	while ((opt = getopt(argc, argv, "C:m:t:w:")) != -1) {
		switch (opt) {
		case 'C': cpu = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'm':
			if (strcmp(optarg, "rr") == 0) cl.mode = M_RR;
			else if (strcmp(optarg, "crr") == 0) cl.mode = M_CRR;
			else if (strcmp(optarg, "bulk") == 0) cl.mode = M_BULK;
			else { usage(); return 2; }
			break;
		default: usage(); return 2;
		}
	}
	if (cpu < 0 || cpu >= CPU_SETSIZE || secs <= 0 || secs > 3600 ||
	    warm < 0 || warm > 60) {
		usage();
		return 2;
	}
	if (server) {
		if (argc - optind != 2) {
			usage();
			return 2;
		}
		return server_main(cpu, argv[optind], atoi(argv[optind + 1]));
	}
	if (argc - optind != 4) {
		usage();
		return 2;
	}
	for (i = 0; i < 2; i++) {
		cl.p[i].ns = argv[optind + 2 * i];
		cl.p[i].fd = cl.p[i].nsfd = -1;
		if (check_ns_name(cl.p[i].ns) < 0 ||
		    parse_target(argv[optind + 2 * i + 1], &cl.p[i].to) < 0) {
			usage();
			return 2;
		}
	}
	return client_main(&cl, cpu, secs, warm);
}
