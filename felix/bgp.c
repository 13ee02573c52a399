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
 * BIRD (and `bird -p`) runs in a helper process (bgp_bird.c): a wedged
 * BIRD never blocks felix's loop.
 *
 * Invariants: nothing here touches the dataplane (no netlink, no queue);
 * BIRD down or broken leaves every workload's route as it is. An error is
 * logged once per distinct text, not at every retry.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bgpconf/bgpconf.h"
#include "common/log.h"
#include "felix/bgp_int.h"

static const enum res_kind bk_kind[BK_N] = {
	RES_NODE, RES_BGPPEER, RES_BGPCONFIG, RES_IPPOOL
};

/* ---------- the error logged once ---------- */

void bgp_set_error(struct fbgp *b, bool warn, const char *fmt, ...)
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

void bgp_clear_error(struct fbgp *b)
{
	free(b->last_error);
	b->last_error = NULL;
}

/* "a; b; c" of e's messages (at most the buffer). */
const char *bgp_errs_join(const struct errs *e, int rc, char *buf, size_t len)
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

static void res_gone(struct felix *f, int k, const char *name);

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
		if (res->u.pool.v6) {	/* not routed yet (docs/ipv6.md) */
			res_gone(f, k, name);
			return;		/* res keeps its contents */
		}
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
	struct ds_kv *kvs[BK_N] = { NULL };
	size_t n[BK_N] = { 0 };
	int64_t rev[BK_N] = { 0 };
	int r = 0;

	if (!b)
		return 0;
	/* Every list first: one that fails changes nothing (BIRD keeps its
	 * config; the store is unreachable, not empty). */
	for (int k = 0; k < BK_N && r == 0; k++)
		r = ds_list(f->ds, b->prefix[k], &kvs[k], &n[k], &rev[k]);
	if (r < 0) {
		log_debug("store: bgp: listing: %s (%s)", ds_strerror(r),
			  ds_last_error(f->ds));
		goto out;
	}
	clear_all(b);
	mark_dirty(f);
	for (int k = 0; k < BK_N; k++) {
		b->list_rev[k] = 0;
		for (size_t i = 0; i < n[k]; i++) {
			struct ds_event ev = { DS_EV_PUT, kvs[k][i].key, kvs[k][i].value,
					       kvs[k][i].mod_rev };
			struct fres fr = { .kind = bk_kind[k], .rev = kvs[k][i].mod_rev,
					   .ev = &ev };

			fr.name = felix_key_name(kvs[k][i].key, b->prefix[k]);
			if (fr.name)
				bgp_on_resource(f, &fr);
			if (fr.dec > 0)
				res_clear(&fr.res);
		}
		b->list_rev[k] = rev[k];
		if (rev[k] < *min_rev)
			*min_rev = rev[k];
	}
	log_debug("store: bgp: %zu nodes, %zu BGP peers, %zu pools, %s BGPConfiguration",
		  b->n_nodes, b->n_peers, b->n_pools,
		  b->have_config ? "a" : "no");
out:
	for (int k = 0; k < BK_N; k++)
		ds_kvs_free(kvs[k], n[k]);
	return r;
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
	bgp_job_reap(f, true);
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
	bgp_file_id(f->cfg->bird_config, &st);
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
		bgp_clear_error(b);
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
		bgp_set_error(b, false, "bird config: out of memory");
		b->dirty = true;
		b->retry_at = felix_now_ns() + bgp_ms_ns(BGP_RETRY_ERR_MS);
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
	rc = bgp_job_start(f, BJ_APPLY, &in);
	if (rc < 0) {
		bgp_set_error(b, false, "bird config: starting its helper process: %s",
			  strerror(-rc));
		b->dirty = true;
		b->retry_at = felix_now_ns() + bgp_ms_ns(BGP_RETRY_ERR_MS);
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
	if (b->dirty && f->watch_more && now - b->dirty_since < bgp_ms_ns(BGP_DEBOUNCE_MS))
		return;
	if (b->dirty && statsrv_busy(f) &&
	    now - b->dirty_since < bgp_ms_ns(BGP_WAITER_DEFER_MS))
		return;
	if (b->enabled && !b->dirty && now >= b->probe_at) {
		bgp_probe(f);
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

	return json_pack("{s:b,s:b,s:s,s:s?,s:b,s:s,s:I}",
			 "enabled", b && b->enabled,
			 "birdRunning", b && b->bird_running,
			 "configPath", f->cfg->bird_config,
			 "lastError", b ? b->last_error : NULL,
			 "pending", b && b->pending,
			 "socket", f->cfg->bird_socket,
			 "nodes", (json_int_t)(b ? b->n_nodes : 0));
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
