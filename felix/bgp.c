/*
 * bgp: felix drives BIRD (DESIGN.md sections 2 and 8, docs/bgp.md).
 *
 * The BGP part (felix/part.h). From the records feed.c hands it, it keeps every
 * Node, every BGPPeer, the BGPConfiguration "default" and the IPPools (the
 * enabled ones' CIDRs are what BIRD advertises). With this node's blocks and
 * endpoints (store.c) that is all of bgpconf's input; borrowed addresses are
 * the /32s of this node's routed endpoints in no block of this node.
 *
 * After a loop turn in which any of it changed (and at start), bgp_sync()
 * calls bgpconf_apply() once: it renders the config, writes it only when the
 * bytes differ (after `bird -p`; a config with errors is never written, the
 * running one stays) and reloads BIRD. While the store is still delivering
 * a burst (watch_more), the sync waits, at most BGP_DEBOUNCE_MS.
 *
 * BIRD's liveness. BIRD reads the config file itself when it starts, so a
 * BIRD started (or restarted) with felix's config path is right without
 * felix. What felix must catch: a config written while BIRD was not
 * reachable (bgpconf_apply sets `pending`; retried every BGP_RETRY_MS, a
 * failed connect costs one socket call), and a BIRD restarted with another
 * config file. For the latter, and for the status reply, a probe every
 * BGP_PROBE_MS connects to BIRD's socket and reads `show status`: the
 * "Last reboot" line changing, or BIRD being unreachable, makes the config
 * pending, so that the next BIRD gets `configure` once. Every exchange with
 * BIRD (and `bird -p`) runs in a helper process (see job_start): a wedged
 * BIRD never blocks felix's loop.
 *
 * Invariants: nothing here touches the dataplane (no netlink, no queue);
 * BIRD down or broken leaves every workload's route as it is. An error is
 * logged once per distinct text, not at every retry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bgpconf/bgpconf.h"
#include "common/log.h"
#include "felix/felix.h"

#define BGP_RETRY_MS 1000	/* pending: BIRD was not reachable */
#define BGP_RETRY_ERR_MS 10000	/* pending after another error (timeout...) */
#define BGP_PROBE_MS 5000
#define BGP_PROBE_TIMEOUT_MS 1000
#define BGP_DEBOUNCE_MS 1000
/* While `run`/CNI ADD wait for felix's answer, BIRD's helper (a fork of
 * felix) waits while a status client is connected, at most this long: the
 * fork would sit in the waiter's path (between its connect and its request,
 * or between the kernel's writes and their ACKs). */
#define BGP_WAITER_DEFER_MS 50
#define BGP_JOB_MAX_MS 60000	/* a helper that takes longer is killed */

enum { BK_NODE, BK_PEER, BK_CONFIG, BK_POOL, BK_N };

static const enum res_kind bk_kind[BK_N] = {
	RES_NODE, RES_BGPPEER, RES_BGPCONFIG, RES_IPPOOL
};

struct fbgp {
	char prefix[BK_N][RES_KEY_MAX];
	int64_t list_rev[BK_N];

	struct node *nodes;
	size_t n_nodes, cap_nodes;
	struct bgppeer *peers;
	size_t n_peers, cap_peers;
	struct ippool *pools;
	size_t n_pools, cap_pools;
	struct bgpconfig config;
	bool have_config;

	bool dirty;
	uint64_t dirty_since;	/* monotonic ns */
	bool enabled;
	bool off_logged;
	bool pending;		/* bgpconf_apply's: BIRD has not taken the file */
	uint64_t retry_at;	/* 0: none */
	uint64_t probe_at;
	bool bird_running;
	char reboot[96];	/* BIRD's "Last reboot on ..." when last seen */
	char *last_error;	/* the last error's text (logged once), or NULL */

	/* the BIRD job in a helper process (one at a time), or none */
	struct esrc src;	/* ES_BGP: its result pipe */
	int job;		/* BJ_* */
	pid_t job_pid;
	int job_fd;
	bool job_was_pending;
	uint64_t job_deadline;
	bool job_killed;

	/* What the file holds since the last job that wrote or confirmed it
	 * (its bytes and identity), so that an input that renders the same
	 * bytes costs no helper process (a new endpoint marks BGP dirty: it
	 * may be a borrowed address). job_text: the bytes the running job
	 * renders. */
	char *last_text;
	struct stat last_st;
	char *job_text;
};

/* What a helper process finds (sent whole: smaller than PIPE_BUF). */
enum { BJ_NONE, BJ_APPLY, BJ_PROBE };
struct bjob_result {
	int rc;			/* bgpconf_apply's, or bird_probe's */
	bool pending;		/* BJ_APPLY: bgpconf_apply's *pending after */
	bool written;		/* BJ_APPLY: the file changed */
	long long size;		/* BJ_APPLY: its size after */
	int reboot_rc;		/* BJ_APPLY, rc 1: the probe after the reload */
	int last_good_rc;	/* BJ_APPLY: configure_last_good's; 1: not tried */
	long long last_good_size;
	char reboot[96];
	char msg[1536];		/* the errors, joined */
};

static void job_reap(struct felix *f, bool kill_it);

static uint64_t ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000u;
}

/* ---------- the error logged once ---------- */

static void set_error(struct fbgp *b, bool warn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_error(struct fbgp *b, bool warn, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (b->last_error && !strcmp(b->last_error, buf))
		return;
	free(b->last_error);
	b->last_error = strdup(buf);
	if (warn)
		log_warn("%s", buf);
	else
		log_err("%s", buf);
}

static void clear_error(struct fbgp *b)
{
	free(b->last_error);
	b->last_error = NULL;
}

/* "a; b; c" of e's messages (at most the buffer). */
static const char *errs_join(const struct errs *e, int rc, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < e->n && off + 1 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? "; " : "", e->msg[i]);
	if (!e->n)
		snprintf(buf, len, "%s", strerror(-rc));
	return buf;
}

/* ---------- resources ---------- */

/* Index of the element named name in an array of structs whose first
 * member is their name, or -1. */
static ssize_t find_name(const void *arr, size_t n, size_t size,
			 const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp((const char *)arr + i * size, name))
			return (ssize_t)i;
	return -1;
}

#define ARR_FIND(arr, n, nm) find_name((arr), (n), sizeof(*(arr)), (nm))

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	p = realloc(*arr, nc * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static void mark_dirty(struct felix *f)
{
	struct fbgp *b = f->bgp;

	if (!b->dirty)
		b->dirty_since = felix_now_ns();
	b->dirty = true;
}

void bgp_mark_dirty(struct felix *f)
{
	if (f->bgp)
		mark_dirty(f);
}

/* Takes res's contents (moved into the tables, or cleared), except a
 * pool's: the policy part reads pools too, so only what BIRD needs of it is
 * copied (its name, CIDR and whether it is disabled). */
static void res_put(struct felix *f, int k, const char *name,
		    struct resource *res)
{
	struct fbgp *b = f->bgp;
	struct ippool pool;
	ssize_t i;

	switch (k) {
	case BK_NODE:
		i = ARR_FIND(b->nodes, b->n_nodes, name);
		if (i >= 0) {
			node_clear(&b->nodes[i]);
			b->nodes[i] = res->u.node;
		} else if (grow((void **)&b->nodes, &b->cap_nodes, b->n_nodes,
				sizeof(*b->nodes)) == 0) {
			b->nodes[b->n_nodes++] = res->u.node;
		} else {
			log_err("bgp: node %s: out of memory, not kept", name);
			node_clear(&res->u.node);
		}
		break;
	case BK_PEER:
		i = ARR_FIND(b->peers, b->n_peers, name);
		if (i >= 0) {
			bgppeer_clear(&b->peers[i]);
			b->peers[i] = res->u.bgppeer;
		} else if (grow((void **)&b->peers, &b->cap_peers, b->n_peers,
				sizeof(*b->peers)) == 0) {
			b->peers[b->n_peers++] = res->u.bgppeer;
		} else {
			log_err("bgp: BGPPeer %s: out of memory, not kept", name);
			bgppeer_clear(&res->u.bgppeer);
		}
		break;
	case BK_POOL:
		memset(&pool, 0, sizeof(pool));
		memcpy(pool.name, res->u.pool.name, sizeof(pool.name));
		pool.cidr = res->u.pool.cidr;
		pool.disabled = res->u.pool.disabled;
		i = ARR_FIND(b->pools, b->n_pools, name);
		if (i >= 0) {
			b->pools[i] = pool;
		} else if (grow((void **)&b->pools, &b->cap_pools, b->n_pools,
				sizeof(*b->pools)) == 0) {
			b->pools[b->n_pools++] = pool;
		} else {
			log_err("bgp: pool %s: out of memory, not kept", name);
		}
		mark_dirty(f);
		return;	/* res keeps its contents */
	case BK_CONFIG:
		if (b->have_config)
			bgpconfig_clear(&b->config);
		b->config = res->u.bgpconfig;
		b->have_config = true;
		break;
	}
	memset(&res->u, 0, sizeof(res->u));
	mark_dirty(f);
}

static void res_gone(struct felix *f, int k, const char *name)
{
	struct fbgp *b = f->bgp;
	ssize_t i;

	switch (k) {
	case BK_NODE:
		i = ARR_FIND(b->nodes, b->n_nodes, name);
		if (i < 0)
			return;
		node_clear(&b->nodes[i]);
		b->nodes[i] = b->nodes[--b->n_nodes];
		break;
	case BK_PEER:
		i = ARR_FIND(b->peers, b->n_peers, name);
		if (i < 0)
			return;
		bgppeer_clear(&b->peers[i]);
		b->peers[i] = b->peers[--b->n_peers];
		break;
	case BK_POOL:
		i = ARR_FIND(b->pools, b->n_pools, name);
		if (i < 0)
			return;
		ippool_clear(&b->pools[i]);
		b->pools[i] = b->pools[--b->n_pools];
		break;
	case BK_CONFIG:
		if (!b->have_config)
			return;
		bgpconfig_clear(&b->config);
		b->have_config = false;
		break;
	}
	mark_dirty(f);
}

static void clear_all(struct fbgp *b)
{
	for (size_t i = 0; i < b->n_nodes; i++)
		node_clear(&b->nodes[i]);
	for (size_t i = 0; i < b->n_peers; i++)
		bgppeer_clear(&b->peers[i]);
	for (size_t i = 0; i < b->n_pools; i++)
		ippool_clear(&b->pools[i]);
	b->n_nodes = b->n_peers = b->n_pools = 0;
	if (b->have_config)
		bgpconfig_clear(&b->config);
	b->have_config = false;
}

static int kind_index(enum res_kind kind)
{
	for (int k = 0; k < BK_N; k++)
		if (bk_kind[k] == kind)
			return k;
	return -1;
}

static void bgp_on_resource(struct felix *f, struct fres *r)
{
	struct fbgp *b = f->bgp;
	struct resource *res;
	int k = kind_index(r->kind);

	if (!b || k < 0 || r->rev <= b->list_rev[k])
		return;		/* the list already had it */
	if (k == BK_CONFIG && strcmp(r->name, BGPCONFIG_NAME))
		return;
	if (r->gone) {
		res_gone(f, k, r->name);
		return;
	}
	/* invalid: keep what we had, a bad write must not change BIRD */
	res = fres_res(r);
	if (res)
		res_put(f, k, r->name, res);
}

static int bgp_relist(struct felix *f, int64_t *min_rev)
{
	struct fbgp *b = f->bgp;
	struct ds_kv *kvs;
	size_t n;
	int r;

	if (!b)
		return 0;
	clear_all(b);
	mark_dirty(f);
	for (int k = 0; k < BK_N; k++) {
		int64_t rev = 0;

		kvs = NULL;
		n = 0;
		r = ds_list(f->ds, b->prefix[k], &kvs, &n, &rev);
		if (r < 0) {
			log_err("store: listing %s: %s (%s)", b->prefix[k],
				ds_strerror(r), ds_last_error(f->ds));
			return r;
		}
		b->list_rev[k] = 0;
		for (size_t i = 0; i < n; i++) {
			struct ds_event ev = { DS_EV_PUT, kvs[i].key, kvs[i].value,
					       kvs[i].mod_rev };
			struct fres fr = { .kind = bk_kind[k], .rev = kvs[i].mod_rev,
					   .ev = &ev };

			fr.name = felix_key_name(kvs[i].key, b->prefix[k]);
			if (fr.name)
				bgp_on_resource(f, &fr);
			if (fr.dec > 0)
				res_clear(&fr.res);
		}
		ds_kvs_free(kvs, n);
		b->list_rev[k] = rev;
		if (rev < *min_rev)
			*min_rev = rev;
	}
	log_debug("store: bgp: %zu nodes, %zu BGP peers, %zu pools, %s BGPConfiguration",
		  b->n_nodes, b->n_peers, b->n_pools,
		  b->have_config ? "a" : "no");
	return 0;
}

/* ---------- open / close ---------- */

static int bgp_open(struct felix *f)
{
	struct fbgp *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	for (int k = 0; k < BK_N; k++) {
		size_t n;

		r = res_prefix(bk_kind[k], NULL, b->prefix[k], sizeof(b->prefix[k]));
		n = r == 0 ? strlen(b->prefix[k]) : 0;
		if (r == 0 && (n == 0 || b->prefix[k][n - 1] != '/')) {
			if (n + 2 > sizeof(b->prefix[k]))
				r = -ENAMETOOLONG;
			else
				memcpy(b->prefix[k] + n, "/", 2);
		}
		if (r < 0) {
			log_err("bgp: key prefix: %s", strerror(-r));
			free(b);
			return r;
		}
	}
	b->job_fd = -1;
	f->bgp = b;
	mark_dirty(f);		/* at start: write once */
	/* ... and configure a running BIRD once even when the file already
	 * holds these bytes: it may have been started with another one. */
	b->pending = true;
	return 0;
}

static void bgp_close(struct felix *f)
{
	struct fbgp *b = f->bgp;

	if (!b)
		return;
	job_reap(f, true);
	clear_all(b);
	free(b->nodes);
	free(b->peers);
	free(b->pools);
	free(b->last_error);
	free(b->last_text);
	free(b->job_text);
	free(b);
	f->bgp = NULL;
}

/* ---------- the input ---------- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct walk_local {
	struct ip4_net *bl;	/* this node's blocks */
	size_t n_bl, cap_bl;
	uint32_t *v;		/* borrowed addresses */
	size_t n, cap;
	bool oom;
};

static void block_one(const struct ip4_net *cidr, void *arg)
{
	struct walk_local *w = arg;

	if (w->oom || grow((void **)&w->bl, &w->cap_bl, w->n_bl,
			   sizeof(*w->bl)) < 0) {
		w->oom = true;
		return;
	}
	w->bl[w->n_bl++] = *cidr;
}

static void borrowed_one(const struct ip4_net *a, void *arg)
{
	struct walk_local *w = arg;

	if (w->oom || a->len != 32)
		return;
	for (size_t i = 0; i < w->n_bl; i++)
		if (ip4_net_contains(&w->bl[i], a->addr))
			return;
	if (grow((void **)&w->v, &w->cap, w->n, sizeof(*w->v)) < 0) {
		w->oom = true;
		return;
	}
	w->v[w->n++] = a->addr;
}

/* *out: this node's blocks; *bw: borrowed addresses, sorted, unique. */
static int collect_local(struct felix *f, struct ip4_net **out, size_t *n_out,
			 uint32_t **bw, size_t *n_bw)
{
	struct walk_local w = { 0 };
	size_t k = 0;

	store_blocks_walk(f, block_one, &w);
	store_routed_addrs_walk(f, borrowed_one, &w);
	if (w.oom) {
		free(w.bl);
		free(w.v);
		return -ENOMEM;
	}
	if (w.n)
		qsort(w.v, w.n, sizeof(*w.v), cmp_u32);
	for (size_t i = 0; i < w.n; i++)
		if (k == 0 || w.v[k - 1] != w.v[i])
			w.v[k++] = w.v[i];
	*out = w.bl;
	*n_out = w.n_bl;
	*bw = w.v;
	*n_bw = k;
	return 0;
}

static const struct node *own_node(struct felix *f)
{
	struct fbgp *b = f->bgp;
	ssize_t i = ARR_FIND(b->nodes, b->n_nodes, f->cfg->node);

	return i >= 0 ? &b->nodes[i] : NULL;
}

/* ---------- BIRD ---------- */

static bool unreachable(int rc)
{
	return rc == -ENOENT || rc == -ECONNREFUSED;
}

/* Connects to BIRD and reads its "Last reboot" line. 0, or birdctl's error. */
static int bird_probe(const char *sock, char *reboot, size_t len)
{
	struct birdctl *c = NULL;
	struct birdctl_reply rep = { 0 };
	int rc;

	reboot[0] = '\0';
	rc = birdctl_open(sock, BGP_PROBE_TIMEOUT_MS, &c);
	if (rc < 0)
		return rc;
	rc = birdctl_cmd(c, "show status", &rep);
	if (rc == 0) {
		for (size_t i = 0; i < rep.n; i++) {
			const char *t = rep.lines[i].text, *p;

			p = t ? strstr(t, "Last reboot") : NULL;
			if (p) {
				snprintf(reboot, len, "%s", p);
				break;
			}
		}
		birdctl_reply_clear(&rep);
	}
	birdctl_close(c);
	return rc;
}

static void set_running(struct felix *f, bool running, int rc)
{
	struct fbgp *b = f->bgp;

	/* Not logged here: apply() says it once, with its retry. */
	(void)rc;
	b->bird_running = running;
}

/* ---------- the helper process ---------- */

/*
 * Everything that talks to BIRD (`bird -p`, `configure`, `show status`; each
 * bounded by seconds when BIRD is wedged) runs in a helper process forked
 * for the job, never in felix's loop: a stopped BIRD never delays a route or
 * a wait reply. The helper sends one struct bjob_result on a pipe and exits;
 * the pipe's end (ES_BGP in the loop) brings the result to job_done. One job
 * at a time; one that outlives BGP_JOB_MAX_MS is killed. The helper dies
 * with felix (PR_SET_PDEATHSIG) and closes all of felix's descriptors first
 * thing (its pid-file lock must not outlive felix). Until it has, its copies
 * keep felix's fds in the epoll set after felix closes them: felix takes
 * every fd out of the set (EPOLL_CTL_DEL) before it closes it.
 */

static void file_id(const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		memset(st, 0, sizeof(*st));
}

/* In the helper: the config's last good version, which the file still holds
 * (it only ever holds what BIRD accepted), to a BIRD that has not taken it. */
static int child_last_good(struct felix *f, long long *size)
{
	struct errs e = ERRS_INIT;
	struct stat st;
	int rc;

	if (stat(f->cfg->bird_config, &st) < 0)
		return -errno;
	*size = (long long)st.st_size;
	rc = birdctl_configure(f->cfg->bird_socket, f->cfg->bird_config, &e);
	errs_clear(&e);
	return rc;
}

static void child_apply(struct felix *f, const struct bgpconf_input *in,
			bool pending, struct bjob_result *res)
{
	struct errs e = ERRS_INIT;
	struct stat st0, st1;

	file_id(f->cfg->bird_config, &st0);
	res->rc = bgpconf_apply(in, f->cfg->bird_config, NULL, &pending, &e);
	file_id(f->cfg->bird_config, &st1);
	res->pending = pending;
	res->written = st1.st_ino != st0.st_ino ||
		       st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
		       st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec ||
		       st1.st_size != st0.st_size;
	res->size = (long long)st1.st_size;
	errs_join(&e, res->rc, res->msg, sizeof(res->msg));
	errs_clear(&e);
	res->last_good_rc = 1;
	res->reboot_rc = 1;
	if (res->rc == 1)	/* remember this BIRD's start */
		res->reboot_rc = bird_probe(f->cfg->bird_socket, res->reboot,
					    sizeof(res->reboot));
	else if (res->rc == -EINVAL && !res->written && pending)
		res->last_good_rc = child_last_good(f, &res->last_good_size);
}

/* Starts job (in: BJ_APPLY's input). 0, or -errno (nothing started). */
static int job_start(struct felix *f, int job, const struct bgpconf_input *in)
{
	struct fbgp *b = f->bgp;
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[2], r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		struct bjob_result res;
		ssize_t k;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		/* none of felix's descriptors but the pipe */
		if (fds[1] > 3)
			close_range(3, (unsigned)fds[1] - 1, 0);
		close_range((unsigned)fds[1] + 1, ~0u, 0);
		memset(&res, 0, sizeof(res));
		if (job == BJ_APPLY)
			child_apply(f, in, b->pending, &res);
		else
			res.rc = bird_probe(f->cfg->bird_socket, res.reboot,
					    sizeof(res.reboot));
		k = write(fds[1], &res, sizeof(res));
		_exit(k == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(fds[1]);
	b->src.type = ES_BGP;
	ev.data.ptr = &b->src;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fds[0], &ev) < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(fds[0]);
		return r;
	}
	b->job = job;
	b->job_pid = pid;
	b->job_fd = fds[0];
	b->job_killed = false;
	b->job_deadline = felix_now_ns() + ms_ns(BGP_JOB_MAX_MS);
	return 0;
}

static void job_reap(struct felix *f, bool kill_it)
{
	struct fbgp *b = f->bgp;

	if (!b->job)
		return;
	if (kill_it)
		kill(b->job_pid, SIGKILL);
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, b->job_fd, NULL);
	close(b->job_fd);
	while (waitpid(b->job_pid, NULL, 0) < 0 && errno == EINTR)
		;
	b->job = BJ_NONE;
	b->job_pid = 0;
	b->job_fd = -1;
}

static void probe_done(struct felix *f, const struct bjob_result *res)
{
	struct fbgp *b = f->bgp;

	if (res->rc < 0) {
		set_running(f, false, res->rc);
		b->pending = true;	/* the next BIRD gets `configure` */
		if (!b->retry_at)
			b->retry_at = felix_now_ns() + ms_ns(BGP_RETRY_MS);
		return;
	}
	set_running(f, true, 0);
	if (b->reboot[0] && strcmp(b->reboot, res->reboot)) {
		log_info("BIRD restarted (%s): configuring it again", res->reboot);
		b->pending = true;
		b->retry_at = felix_now_ns();
	}
	snprintf(b->reboot, sizeof(b->reboot), "%s", res->reboot);
}

static void probe(struct felix *f)
{
	struct fbgp *b = f->bgp;
	struct bjob_result res = { 0 };
	int rc;

	b->probe_at = felix_now_ns() + ms_ns(BGP_PROBE_MS);
	rc = job_start(f, BJ_PROBE, NULL);
	if (rc < 0) {
		res.rc = rc;
		probe_done(f, &res);
	}
}

static void apply_done(struct felix *f, const struct bjob_result *res)
{
	struct fbgp *b = f->bgp;
	bool was_pending = b->job_was_pending;
	int rc = res->rc;

	b->pending = res->pending;
	free(b->last_text);
	b->last_text = NULL;
	/* The file holds job_text: BIRD took it or found it unchanged, or it
	 * was written, or it was in place (unchanged) and BIRD not reached. */
	if (rc >= 0 || res->written || unreachable(rc)) {
		b->last_text = b->job_text;
		b->job_text = NULL;
		file_id(f->cfg->bird_config, &b->last_st);
	}
	free(b->job_text);
	b->job_text = NULL;
	if (rc == 1) {
		set_running(f, true, 0);
		clear_error(b);
		if (res->written)
			log_info("bird config written (%lld bytes), reloaded",
				 res->size);
		else
			log_info("bird config unchanged (%lld bytes), reloaded%s",
				 res->size,
				 was_pending ? " (BIRD had not taken it yet)" : "");
		/* Remember this BIRD's start, to notice the next restart. */
		if (res->reboot_rc == 0) {
			snprintf(b->reboot, sizeof(b->reboot), "%s", res->reboot);
			b->probe_at = felix_now_ns() + ms_ns(BGP_PROBE_MS);
		}
	} else if (rc == 0) {
		clear_error(b);
		log_debug("bird config unchanged");
	} else if (unreachable(rc)) {
		set_running(f, false, rc);
		if (res->written)
			log_info("bird config written (%lld bytes); BIRD not running: it reads it when it starts",
				 res->size);
		set_error(b, true, "BIRD not running (socket %s: %s): felix configures it when it is up",
			  f->cfg->bird_socket, strerror(-rc));
		b->retry_at = felix_now_ns() + ms_ns(BGP_RETRY_MS);
	} else if (rc == -EINVAL && !res->written) {
		/* Refused before it reached BIRD (the input, or `bird -p`): no
		 * retry until something changes. */
		set_error(b, false, "bird config not written, BIRD keeps the running one: %s",
			  res->msg);
		if (res->last_good_rc == 0) {
			b->pending = false;
			set_running(f, true, 0);
			log_info("bird config unchanged (%lld bytes, the last good one), reloaded",
				 res->last_good_size);
		} else if (res->last_good_rc < 0 && unreachable(res->last_good_rc)) {
			set_running(f, false, res->last_good_rc);
			if (b->pending)
				b->retry_at = felix_now_ns() + ms_ns(BGP_RETRY_MS);
		}
	} else {
		if (res->written)
			log_info("bird config written (%lld bytes), not reloaded",
				 res->size);
		set_error(b, false, "bird config %s: %s",
			  b->pending ? "not taken by BIRD" : "not applied",
			  res->msg);
		if (b->pending)
			b->retry_at = felix_now_ns() + ms_ns(BGP_RETRY_ERR_MS);
	}
}

/* The helper's pipe is readable: its result (or its death). */
void bgp_job_event(struct felix *f)
{
	struct fbgp *b = f->bgp;
	struct bjob_result res;
	ssize_t k;
	int job;

	if (!b || !b->job)
		return;
	do
		k = read(b->job_fd, &res, sizeof(res));
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	job = b->job;
	if (k != (ssize_t)sizeof(res)) {
		memset(&res, 0, sizeof(res));
		res.rc = b->job_killed ? -ETIMEDOUT : -EPIPE;
		res.pending = b->pending;
		res.last_good_rc = res.reboot_rc = 1;
		snprintf(res.msg, sizeof(res.msg), "BIRD's helper process %s",
			 b->job_killed ? "took too long: killed" : "died");
	}
	job_reap(f, false);
	if (job == BJ_APPLY)
		apply_done(f, &res);
	else
		probe_done(f, &res);
}

/* ---------- the sync ---------- */

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Renders in: true when the file holds these bytes (unchanged since the
 * last job) and BIRD either has them or is not due to be asked again yet
 * (pending, its retry at retry_at still ahead), so no helper is needed.
 * Else keeps the rendering in job_text for the job to come. */
static bool same_as_file(struct felix *f, const struct bgpconf_input *in,
			 uint64_t retry_at)
{
	struct fbgp *b = f->bgp;
	struct errs e = ERRS_INIT;
	struct stat st;
	char *text = NULL;
	bool same;

	free(b->job_text);
	b->job_text = NULL;
	if (bgpconf_render(in, &text, &e) < 0) {
		errs_clear(&e);	/* the helper renders again, and says why */
		return false;
	}
	errs_clear(&e);
	file_id(f->cfg->bird_config, &st);
	same = b->last_text && st.st_ino && same_stat(&st, &b->last_st) &&
	       !strcmp(text, b->last_text) &&
	       (!b->pending || (retry_at && felix_now_ns() < retry_at));
	if (same) {
		free(text);
		log_debug("bird config unchanged");	/* rendered here, no helper */
	} else {
		b->job_text = text;
	}
	return same;
}

static void apply(struct felix *f)
{
	struct fbgp *b = f->bgp;
	const struct node *me = own_node(f);
	struct bgpconf_input in = { 0 };
	struct ip4_net *blocks = NULL, *pools = NULL;
	uint32_t *borrowed = NULL;
	size_t n_blocks = 0, n_borrowed = 0, n_pools = 0;
	uint64_t retry_at = b->retry_at;
	int rc;

	b->dirty = false;
	b->retry_at = 0;
	if (!f->cfg->bgp_address && !(me && me->bgp_ipv4)) {
		if (!b->off_logged)
			log_info("BGP off: no bgp.address in %s and no Node %s with spec.bgp.ipv4Address",
				 f->cfg->file[0] ? f->cfg->file : "the config",
				 f->cfg->node);
		b->off_logged = true;
		b->enabled = false;
		b->pending = false;
		clear_error(b);
		return;
	}
	if (!b->enabled) {
		if (b->off_logged)
			log_info("BGP on: node %s has a BGP address now",
				 f->cfg->node);
		b->enabled = true;
		b->off_logged = false;
		b->probe_at = 0;
		b->pending = true;	/* configure BIRD once, whatever the file */
	}
	pools = calloc(b->n_pools + 1, sizeof(*pools));
	if (!pools || collect_local(f, &blocks, &n_blocks, &borrowed,
				    &n_borrowed) < 0) {
		set_error(b, false, "bird config: out of memory");
		b->dirty = true;
		b->retry_at = felix_now_ns() + ms_ns(BGP_RETRY_ERR_MS);
		goto out;
	}
	for (size_t i = 0; i < b->n_pools; i++)
		if (!b->pools[i].disabled)
			pools[n_pools++] = b->pools[i].cidr;
	in.node = f->cfg->node;
	in.address = f->cfg->bgp_address;
	in.asn = f->cfg->bgp_asn;
	in.config = b->have_config ? &b->config : NULL;
	in.nodes = b->nodes;
	in.n_nodes = b->n_nodes;
	in.peers = b->peers;
	in.n_peers = b->n_peers;
	in.pools = pools;
	in.n_pools = n_pools;
	in.blocks = blocks;
	in.n_blocks = n_blocks;
	in.borrowed = borrowed;
	in.n_borrowed = n_borrowed;
	in.route_protocol = f->cfg->route_protocol;
	in.bird_socket = f->cfg->bird_socket;

	if (same_as_file(f, &in, retry_at)) {
		b->retry_at = b->pending ? retry_at : 0;
		goto out;
	}
	/* the helper gets a copy of all of it (fork) */
	b->job_was_pending = b->pending;
	rc = job_start(f, BJ_APPLY, &in);
	if (rc < 0) {
		set_error(b, false, "bird config: starting its helper process: %s",
			  strerror(-rc));
		b->dirty = true;
		b->retry_at = felix_now_ns() + ms_ns(BGP_RETRY_ERR_MS);
	}
out:
	free(pools);
	free(blocks);
	free(borrowed);
}

static void bgp_sync(struct felix *f)
{
	struct fbgp *b = f->bgp;
	uint64_t now;

	if (!b)
		return;
	now = felix_now_ns();
	/* One job at a time: what changed meanwhile waits for its end. */
	if (b->job) {
		if (now >= b->job_deadline && !b->job_killed) {
			log_warn("bgp: BIRD's helper process took over %d s: killed",
				 BGP_JOB_MAX_MS / 1000);
			kill(b->job_pid, SIGKILL);
			b->job_killed = true;
		}
		return;
	}
	/* A burst from the store: wait for its end, but not forever. */
	if (b->dirty && f->watch_more && now - b->dirty_since < ms_ns(BGP_DEBOUNCE_MS))
		return;
	if (b->dirty && statsrv_busy(f) &&
	    now - b->dirty_since < ms_ns(BGP_WAITER_DEFER_MS))
		return;
	if (b->enabled && !b->dirty && now >= b->probe_at) {
		probe(f);
		if (b->job)
			return;
	}
	if (b->dirty || (b->pending && b->retry_at && now >= b->retry_at))
		apply(f);
}

static int bgp_timeout_ms(struct felix *f)
{
	struct fbgp *b = f->bgp;
	uint64_t now, at = 0;

	if (!b)
		return -1;
	if (b->job)	/* its pipe wakes the loop */
		return b->job_killed ? -1 : felix_ms_until(b->job_deadline);
	if (b->dirty)
		return f->watch_more || statsrv_busy(f) ? 10 : 0;
	if (b->pending && b->retry_at)
		at = b->retry_at;
	if (b->enabled && (!at || b->probe_at < at))
		at = b->probe_at;
	if (!at)
		return -1;
	now = felix_now_ns();
	return at > now ? (int)((at - now + 999999) / 1000000) : 0;
}

static json_t *bgp_status_json(struct felix *f)
{
	struct fbgp *b = f->bgp;

	return json_pack("{s:b,s:b,s:s,s:s?,s:b,s:s}",
			 "enabled", b && b->enabled,
			 "birdRunning", b && b->bird_running,
			 "configPath", f->cfg->bird_config,
			 "lastError", b ? b->last_error : NULL,
			 "pending", b && b->pending,
			 "socket", f->cfg->bird_socket);
}

const struct fpart bgp_part = {
	.name = "bgp",
	.kinds = FRES_KIND(RES_NODE) | FRES_KIND(RES_BGPPEER) |
		 FRES_KIND(RES_BGPCONFIG) | FRES_KIND(RES_IPPOOL),
	.open = bgp_open,
	.close = bgp_close,
	.relist = bgp_relist,
	.on_resource = bgp_on_resource,
	.sync = bgp_sync,
	.timeout_ms = bgp_timeout_ms,
	.status_json = bgp_status_json,
};
