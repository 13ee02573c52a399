/*
 * petrel-felix: the node agent. Reads the node's config, enters the node's
 * network namespace when the config names one, takes <runDir>/felix.pid
 * (flock: one felix per runDir), then runs one epoll loop until SIGTERM or
 * SIGINT:
 *
 *   signalfd     TERM/INT: leave (every kernel object stays as it is);
 *                HUP: full resync (list the store again, dump the kernel)
 *   timerfd      every resyncInterval s: dump the kernel again
 *   netlink      notifications (kernel.c)
 *   datastore    the watch's fd (feed.c); its health, retries and this
 *                node's Node and heartbeat (dshealth.c, noderec.c)
 *   status       the listening socket and its clients (statsrv.c)
 *   nftables     the table's notifications (pol.c)
 *
 * felix is parts (felix/part.h, their table in parts.c): store, kernel,
 * policy, BGP, status server. One turn of the loop: read what is ready (each
 * source bounded; the watch's records handed to the parts by feed.c), then
 * each part's sync in table order: the reconcile pass (bounded), the
 * nftables batch, BIRD's config and reload when its input changed (after
 * the kernel, so BIRD never delays a route), the waiters' answers. The
 * parts' timeouts bound the sleep; the loop does not sleep while work is
 * left over. No threads.
 *
 * A restart changes nothing that is right: the first resync dumps the kernel
 * and compares before it writes anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "common/errs.h"
#include "common/fsafe.h"
#include "common/log.h"
#include "common/netns.h"
#include "felix/felix.h"

#define PROG "petrel-felix"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [-c FILE] [--check]\n"
		"\n"
		"petrel's node agent: programs this node's workload interfaces, routes\n"
		"and neighbour entries from the datastore, and keeps them so; owns the\n"
		"nftables table inet petrel (policy, networks, published ports,\n"
		"natOutgoing, anti-spoofing; docs/policy.md), read back and repaired\n"
		"when changed by hand; writes BIRD's config (bird.config) from the BGP\n"
		"resources and reloads BIRD (bird.socket) when it changes.\n"
		"\n"
		"  -c, --config FILE  the node's config (default: $PETREL_CONFIG, else\n"
		"                     " CONFIG_DEFAULT_PATH ")\n"
		"      --check        validate the config, print every error, exit 0/1\n"
		"  -h, --help         this text\n"
		"      --version      print the version\n"
		"\n"
		"Signals: TERM/INT exit, leaving everything programmed; HUP resyncs.\n");
}

/* mkdir -p, for runDir. */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[CONFIG_PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Takes <runDir>/felix.pid with a lock held until exit. Returns the fd. */
static int pidfile_take(const struct petrel_config *cfg, char *path, size_t len)
{
	char buf[32], ferr[PATH_MAX + 160];
	int fd, n, r;

	r = mkdir_p(cfg->run_dir, 0755);
	if (r < 0) {
		log_err("runDir %s: %s", cfg->run_dir, strerror(-r));
		return r;
	}
	/* An existing runDir that someone else owns or may write could hold
	 * their pid file, socket or bird.conf: refused. */
	r = fsafe_check(cfg->run_dir, S_IFDIR, ferr, sizeof(ferr));
	if (r < 0) {
		log_err("runDir %s", ferr);
		return r;
	}
	if ((size_t)snprintf(path, len, "%s/felix.pid", cfg->run_dir) >= len) {
		log_err("runDir %s: path too long", cfg->run_dir);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
	if (fd < 0) {
		r = -errno;
		log_err("pid file %s: %s", path, strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK) {
			ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);

			buf[k > 0 ? k : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			log_err("another " PROG " (pid %s) runs with runDir %s (%s is locked)",
				buf[0] ? buf : "?", cfg->run_dir, path);
			r = -EEXIST;
		} else {
			log_err("pid file %s: lock: %s", path, strerror(-r));
		}
		close(fd);
		return r;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		r = -errno;
		log_err("pid file %s: write: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

static int epoll_add(struct felix *f, int fd, struct esrc *src,
		     enum esrc_type type)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	src->type = type;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static void on_signal(struct felix *f, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: full resync");
			f->need_relist = true;
		} else {
			log_info("%s: exiting, leaving everything programmed",
				 strsignal((int)si.ssi_signo));
			f->quit = true;
		}
	}
}

static void on_timer(struct felix *f, int tfd)
{
	uint64_t ticks;

	if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	f->need_kresync = true;
	f->kresync_why = "periodic";
	pol_periodic(f);
}

/* The sooner of two timeouts in ms (-1: none). */
static int min_timeout(int a, int b)
{
	return a < 0 || (b >= 0 && b < a) ? b : a;
}

static int loop(struct felix *f, int sfd, int tfd)
{
	struct epoll_event evs[64];

	while (!f->quit) {
		bool nl_ready = false, watch_ready = false;
		int timeout, n;

		/* No sleep while work is left over (a relist waits for its
		 * backoff: the datastore part's timeout). */
		timeout = f->watch_more || (f->need_relist && dsh_due(f)) ||
			  (!f->watch && !f->need_relist && dsh_due(f)) ? 0 : -1;
		for (size_t i = 0; i < felix_n_parts && timeout != 0; i++)
			if (felix_parts[i]->timeout_ms &&
			    (f->store_known || felix_parts[i]->before_store))
				timeout = min_timeout(timeout,
						      felix_parts[i]->timeout_ms(f));
		n = epoll_wait(f->epfd, evs, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			struct esrc *s = evs[i].data.ptr;

			switch (s->type) {
			case ES_SIGNAL:
				on_signal(f, sfd);
				break;
			case ES_TIMER:
				on_timer(f, tfd);
				break;
			case ES_NETLINK:
				nl_ready = true;
				break;
			case ES_WATCH:
				watch_ready = true;
				break;
			case ES_LISTEN:
				statsrv_accept(f);
				break;
			case ES_CLIENT:
				statsrv_client_event(f, (struct sclient *)s,
						     evs[i].events);
				break;
			case ES_NFT:
				pol_mon_event(f);
				break;
			case ES_BGP:
				bgp_job_event(f);
				break;
			}
		}
		if (f->quit)
			break;
		rec_kernel_input(f, nl_ready);
		feed_input(f, watch_ready);
		/* The parts in order (parts.c): the reconcile pass, the
		 * nftables batch, the waiters' answers, BIRD (last: a slow
		 * BIRD never delays a route or a wait reply). Until the
		 * store has been listed once, only those that need no store. */
		for (size_t i = 0; i < felix_n_parts; i++)
			if (felix_parts[i]->sync &&
			    (f->store_known || felix_parts[i]->before_store))
				felix_parts[i]->sync(f);
	}
	return 0;
}

static int run(const struct petrel_config *cfg)
{
	struct felix fx, *f = &fx;
	char pidpath[CONFIG_PATH_MAX + 16];
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	uint64_t t0 = felix_now_ns();
	int pidfd = -1, sfd = -1, tfd = -1, r;
	size_t n_open = 0;
	sigset_t sigs;

	memset(f, 0, sizeof(*f));
	f->cfg = cfg;
	f->kio = &kern_io;
	f->epfd = -1;
	f->listen_fd = -1;
	f->last_resync_ms = -1;
	dlist_init(&f->queue);
	dlist_init(&f->tombs);
	dlist_init(&f->clients);
	f->src_watch.type = ES_WATCH;

	if (cfg->netns[0]) {
		r = netns_enter(cfg->netns);
		if (r < 0) {
			log_err("network namespace %s: %s", cfg->netns, strerror(-r));
			return 1;
		}
	}
	pidfd = pidfile_take(cfg, pidpath, sizeof(pidpath));
	if (pidfd < 0)
		return 1;
	r = 1;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    (sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    (f->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_err("setup: %s", strerror(errno));
		goto out;
	}
	its.it_value.tv_sec = its.it_interval.tv_sec = cfg->resync_interval;
	if (timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    epoll_add(f, sfd, &f->src_signal, ES_SIGNAL) < 0 ||
	    epoll_add(f, tfd, &f->src_timer, ES_TIMER) < 0) {
		log_err("setup: %s", strerror(errno));
		goto out;
	}
	if (feed_open(f) < 0)
		goto out;
	/* every part before the first relist */
	for (; n_open < felix_n_parts; n_open++) {
		const struct fpart *p = felix_parts[n_open];

		if (p->open && p->open(f) < 0) {
			n_open++;	/* its close undoes a half-done open */
			goto out;
		}
	}

	f->resync_t0 = t0;	/* the first resync counts from our start */
	f->resync_active = true;
	f->started_wall = (int64_t)time(NULL);
	/* This node's Node first, so that the first list has it (a store
	 * that cannot be reached: tried again, dshealth.c). */
	f->need_register = noderec_register(f) < 0;
	if (!f->dsh.down)
		rec_resync(f, true, "start");
	else
		f->need_relist = f->need_kresync = true;
	if (!f->store_known)
		log_warn("started without the store's state (%s): nothing is changed until it is listed",
			 f->dsh.text);
	log_info("started: node %s, store %s at revision %lld, %zu endpoints, %zu blocks; pid %ld, status %s",
		 cfg->node, cfg->datastore, (long long)f->applied_rev,
		 f->n_eps, f->n_blocks, (long)getpid(), f->sock_path);
	r = loop(f, sfd, tfd) < 0 ? 1 : 0;
	/* Said to whoever asks (node rm): this felix left on purpose. */
	if (f->heartbeat_written && !f->dsh.down)
		noderec_heartbeat(f, true);
out:
	while (n_open > 0) {
		const struct fpart *p = felix_parts[--n_open];

		if (p->close)
			p->close(f);
	}
	feed_close(f);
	if (f->epfd >= 0)
		close(f->epfd);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	unlink(pidpath);
	close(pidfd);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct petrel_config cfg;
	struct errs e = ERRS_INIT;
	const char *path = NULL;
	bool check = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " %s\n", PETREL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	r = config_load(path, &cfg, &e);
	if (r < 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		if (!e.n)
			fprintf(stderr, PROG ": config %s: %s\n",
				path ? path : "(default)", strerror(-r));
		errs_clear(&e);
		return 1;
	}
	errs_clear(&e);
	if (check) {
		printf("%s: ok\n", cfg.file[0] ? cfg.file : "(defaults)");
		return 0;
	}
	log_init(PROG, (enum log_level)cfg.log_level, 1);
	return run(&cfg);
}
