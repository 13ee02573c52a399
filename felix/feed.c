/*
 * feed: the datastore's input to felix's parts.
 *
 * A relist (start, SIGHUP, a watch that fell behind compaction) asks every
 * part to list its kinds again (each lowers the revision the watch starts
 * at), then one watch on /petrel/ brings every later change in revision
 * order. Each event's key is told ONCE here (kind, node, name) and the
 * record handed to the parts that want its kind; its document is decoded
 * at most once (fres_res), however many parts read it. applied_rev is the
 * newest store revision whose change has been handed out (what a "wait"
 * compares against).
 *
 * One read of the watch is bounded by the backend (ds_watch_read returns
 * at most a page); watch_more says that the next loop turn reads again.
 *
 * A store that fails (dshealth.c) changes nothing that felix has: a relist
 * is all or nothing in each part (each lists all of its kinds before it
 * replaces anything), a failed one is tried again with backoff; a broken
 * watch is made again from applied_rev (the changes felix has not seen,
 * none missed, none twice), and only a compacted revision (-ERANGE) costs
 * a relist.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "felix/felix.h"
#include "model/keys.h"

#define FEED_WATCH_PREFIX KEYS_ROOT

const char *felix_key_name(const char *key, const char *prefix)
{
	size_t pl = strlen(prefix);
	const char *name;

	if (strncmp(key, prefix, pl))
		return NULL;
	name = key + pl;
	if (!name[0] || strchr(name, '/') || strlen(name) >= RES_NAME_MAX)
		return NULL;
	return name;
}

/* Tells r's kind, node and name from its key: 0, or -1 when it is no
 * record of a kind felix knows. */
static int key_parse(const char *key, struct fres *r)
{
	char prefix[RES_KEY_MAX];

	for (int k = 0; k < RES_KIND_COUNT; k++) {
		const char *rest, *slash;
		size_t nl;

		if (res_prefix((enum res_kind)k, NULL, prefix, sizeof(prefix)) < 0 ||
		    strncmp(key, prefix, strlen(prefix)))
			continue;
		rest = key + strlen(prefix);
		r->kind = (enum res_kind)k;
		r->node = NULL;
		if (k == RES_WEP) {
			slash = strchr(rest, '/');
			nl = slash ? (size_t)(slash - rest) : 0;
			if (!nl || nl >= sizeof(r->node_buf))
				return -1;
			memcpy(r->node_buf, rest, nl);
			r->node_buf[nl] = '\0';
			r->node = r->node_buf;
			rest = slash + 1;
		}
		if (!rest[0] || strchr(rest, '/') || strlen(rest) >= RES_NAME_MAX)
			return -1;
		r->name = rest;
		return 0;
	}
	return -1;
}

struct resource *fres_res(struct fres *r)
{
	struct errs e = ERRS_INIT;
	int rc;

	if (r->gone || !r->ev || !r->ev->value)
		return NULL;
	if (r->dec == 0) {
		rc = res_from_text(r->kind, r->ev->value, r->rev, &r->res, &e);
		if (rc < 0) {
			/* Every part keeps what it had: a bad write must not
			 * tear anything down. */
			log_warn("store: %s %s (revision %lld) is invalid, ignored: %s",
				 res_kind_name(r->kind), r->name, (long long)r->rev,
				 e.n ? e.msg[0] : strerror(-rc));
			errs_clear(&e);
			r->dec = rc;
		} else {
			r->dec = 1;
		}
	}
	return r->dec > 0 ? &r->res : NULL;
}

void feed_event(struct felix *f, const struct ds_event *ev)
{
	struct fres r;

	memset(&r, 0, sizeof(r));
	if (key_parse(ev->key, &r) < 0)
		return;
	r.rev = ev->rev;
	r.gone = ev->type != DS_EV_PUT || !ev->value;
	r.ev = ev;
	for (size_t i = 0; i < felix_n_parts; i++) {
		const struct fpart *p = felix_parts[i];

		if (p->on_resource && (p->kinds & FRES_KIND(r.kind)))
			p->on_resource(f, &r);
	}
	if (r.dec > 0)
		res_clear(&r.res);
}

int feed_open(struct felix *f)
{
	int r = ds_open(f->cfg->datastore, &f->ds);

	if (r < 0)
		log_err("store: opening %s: %s", f->cfg->datastore,
			ds_open_strerror(r));
	return r;
}

/* Out of the epoll set before the close (a forked helper may still hold a
 * copy of the fd for an instant: close alone would leave it in the set). */
static void watch_drop(struct felix *f)
{
	if (f->watch && f->epfd >= 0)
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, ds_watch_fd(f->watch), NULL);
	ds_watch_free(f->watch);
	f->watch = NULL;
}

void feed_close(struct felix *f)
{
	watch_drop(f);
	f->watch = NULL;
	ds_close(f->ds);
	f->ds = NULL;
}

/* The watch on every key, from rev, in the epoll set. 0 or -errno (after
 * dsh_fail, but for -ERANGE). */
static int watch_start(struct felix *f, int64_t rev)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int r;

	r = ds_watch_new(f->ds, FEED_WATCH_PREFIX, rev, &f->watch);
	if (r < 0) {
		f->watch = NULL;
		if (r != -ERANGE)
			dsh_fail(f, "watch", r);
		return r;
	}
	f->src_watch.type = ES_WATCH;
	ev.data.ptr = &f->src_watch;
	if (f->epfd >= 0 &&
	    epoll_ctl(f->epfd, EPOLL_CTL_ADD, ds_watch_fd(f->watch), &ev) < 0) {
		r = -errno;
		log_err("store: epoll: %s", strerror(-r));
		ds_watch_free(f->watch);
		f->watch = NULL;
		dsh_fail(f, "watch", r);
		return r;
	}
	f->watch_more = true;	/* it may already hold news */
	return 0;
}

int feed_relist(struct felix *f)
{
	int64_t rev = INT64_MAX;
	int r;

	watch_drop(f);
	f->watch_more = false;
	for (size_t i = 0; i < felix_n_parts; i++) {
		const struct fpart *p = felix_parts[i];

		if (p->relist && (r = p->relist(f, &rev)) < 0) {
			dsh_fail(f, "list", r);
			return r;
		}
	}
	if (rev == INT64_MAX)
		rev = 0;
	if (rev > f->applied_rev)
		f->applied_rev = rev;
	/* The watch starts at the oldest list; what a newer one already had
	 * is skipped by each part by revision. */
	r = watch_start(f, rev);
	if (r < 0)
		return r;
	f->store_known = true;
	dsh_ok(f);
	/* The lists' documents were many, big and short-lived: give their
	 * memory back rather than carry it. */
	malloc_trim(0);
	return 0;
}

/* A broken watch's successor, from what felix has applied. */
static void feed_rewatch(struct felix *f)
{
	int r = watch_start(f, f->applied_rev);

	if (r == -ERANGE) {
		log_warn("store: revision %lld is compacted: listing again",
			 (long long)f->applied_rev);
		f->need_relist = true;
	} else if (r == 0) {
		log_debug("store: watching again from revision %lld",
			  (long long)f->applied_rev);
		dsh_ok(f);
	}
}

void feed_input(struct felix *f, bool watch_ready)
{
	int r;

	if (f->need_relist)
		return;		/* rec_kernel_input's, when due */
	if (!f->watch) {
		if (dsh_due(f))
			feed_rewatch(f);
		return;
	}
	if (!watch_ready && !f->watch_more)
		return;
	r = feed_watch_read(f, statsrv_wants_rev(f));
	if (r == -ERANGE) {
		f->need_relist = true;
	} else if (r < 0) {
		watch_drop(f);
		f->watch_more = false;
		dsh_fail(f, "watch", r);
	}
}

int feed_watch_read(struct felix *f, bool want_rev)
{
	struct ds_event *evs = NULL;
	int64_t before = 0, upto;
	bool sync;
	size_t n = 0;
	int r;

	if (!f->watch)
		return -ENOTCONN;
	/* A watch that reads the store at once (sqlite): read the store's
	 * revision before it, and when it then has nothing new, everything
	 * up to that revision has been applied; only when someone waits for
	 * a revision, as it costs a query. An asynchronous one (etcd's
	 * stream) says itself how far it has handed everything over: the
	 * store's revision may count a change still on its way, and a
	 * waiter told "not in the store" for it would be told wrong. */
	sync = ds_watch_rev(f->watch) == -ENOTSUP;
	if (want_rev && sync) {
		before = ds_revision(f->ds);
		if (before < 0) {
			dsh_fail(f, "revision", (int)before);
			before = 0;
		}
	}
	r = ds_watch_read(f->watch, &evs, &n);
	if (r == -ERANGE) {
		log_warn("store: the watch fell behind the store's compaction: listing again");
		return r;
	}
	if (r < 0)
		return r;	/* the caller's dsh_fail: the watch again */
	if (n > 0 || (want_rev && before > 0))
		dsh_ok(f);
	for (size_t i = 0; i < n; i++) {
		feed_event(f, &evs[i]);
		if (evs[i].rev > f->applied_rev)
			f->applied_rev = evs[i].rev;
	}
	ds_events_free(evs, n);
	f->watch_more = n > 0;
	if (!n && before > f->applied_rev)
		f->applied_rev = before;
	upto = sync ? 0 : ds_watch_rev(f->watch);
	if (!f->watch_more && upto > f->applied_rev)
		f->applied_rev = upto;
	return 0;
}
