/*
 * ds_sqlite_watch: the sqlite backend's watch (see ds_sqlite.c): inotify on
 * the database's folder says "look", the change log says what, read in
 * pages of WATCH_PAGE events that end at a revision's end.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "datastore/datastore.h"
#include "datastore/ds_impl.h"
#include "datastore/sq_impl.h"

#define DRAIN_MAX 64
/* Events per ds_watch_read (a page; the rest at the next read): a watcher
 * far behind never gets 100,000 documents in one call. A page ends at a
 * revision's end (a transaction has at most DS_TXN_MAX events), so the
 * query's LIMIT is the page plus that. */
#define WATCH_PAGE 1024

struct sq_watch {
	struct ds_watch base;	/* first: ds.c casts */
	struct ds_sqlite *s;	/* borrowed */
	int fd;			/* inotify */
	char *lo, *hi;		/* key range of the prefix; hi NULL = none */
	int64_t last;		/* every change up to here has been returned */
};

int sq_watch_fd(const struct ds_watch *dw)
{
	return ((const struct sq_watch *)dw)->fd;
}

void sq_watch_free(struct ds_watch *dw)
{
	struct sq_watch *w = (struct sq_watch *)dw;

	if (w->fd >= 0)
		close(w->fd);
	free(w->lo);
	free(w->hi);
	free(w);
}

int sq_watch_new(struct ds *ds, const char *prefix, int64_t from,
			struct ds_watch **out)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	struct sq_watch *w;
	int64_t cur;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->base.be = &ds_sqlite_backend;
	w->s = s;
	w->last = from;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		r = -errno;
		goto out;
	}
	w->lo = strdup(prefix);
	if (!w->lo) {
		r = -ENOMEM;
		goto out;
	}
	r = ds_prefix_end(prefix, &w->hi);
	if (r < 0)
		goto out;
	if (inotify_add_watch(w->fd, s->dir, IN_MODIFY | IN_CREATE |
			      IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) < 0) {
		r = -errno;
		ds_set_error(ds, "inotify on %s: %s", s->dir, strerror(-r));
		goto out;
	}
	/* News already waiting: make the fd readable now, so an owner that
	 * only reads when woken does not wait for the next write. */
	cur = sq_revision(ds);
	if (cur < 0) {
		r = (int)cur;
		goto out;
	}
	if (cur > from)
		sq_poke(s);
	*out = &w->base;
	return 0;
out:
	sq_watch_free(&w->base);
	return r;
}

/* Empties the inotify queue: the events only say "look", the log says what. */
static int watch_drain(struct sq_watch *w)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	int i;

	for (i = 0; i < DRAIN_MAX; i++) {
		ssize_t len = read(w->fd, buf, sizeof(buf));

		if (len > 0)
			continue;
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno != EAGAIN)
			return -errno;
		break;
	}
	/* Still more after DRAIN_MAX reads: the fd stays readable and the
	 * owner comes back; the query below sees every commit anyway. */
	return 0;
}

int sq_watch_read(struct ds_watch *dw, struct ds_event **evs,
			 size_t *n)
{
	struct sq_watch *w = (struct sq_watch *)dw;
	struct ds_sqlite *s = w->s;
	sqlite3_stmt *st = s->st[ST_EVENTS];
	struct ds_event *ev = NULL;
	size_t cnt = 0, cap = 0;
	int64_t cur = 0, compacted;
	bool more = false;	/* a page: the rest at the next read */
	int r, rc = SQLITE_DONE;

	/* Drain before the query: a commit after the drain pokes again. */
	r = watch_drain(w);
	if (r < 0)
		return r;
	r = sq_st_run(s, ST_BEGIN_READ);
	if (r < 0)
		return r;
	r = sq_revs(s, &cur, &compacted);
	if (r < 0)
		goto out;
	if (w->last < compacted) {
		ds_set_error(&s->base, "watch from revision %lld: compacted "
			     "up to %lld", (long long)w->last,
			     (long long)compacted);
		r = -ERANGE;
		goto out;
	}
	r = sq_bind_int(s, st, 1, w->last);
	if (r == 0)
		r = sq_bind_text(s, st, 2, w->lo);
	if (r == 0)
		r = sq_bind_hi(s, st, 3, w->hi);
	if (r == 0)
		r = sq_bind_int(s, st, 4, WATCH_PAGE + DS_TXN_MAX);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ds_event *e;

		/* A full page ends with its last revision's last event. */
		if (cnt >= WATCH_PAGE &&
		    sqlite3_column_int64(st, 0) != ev[cnt - 1].rev) {
			more = true;
			break;
		}
		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct ds_event *ne = realloc(ev, ncap * sizeof(*ev));

			if (!ne) {
				r = -ENOMEM;
				break;
			}
			ev = ne;
			cap = ncap;
		}
		e = &ev[cnt++];
		memset(e, 0, sizeof(*e));
		e->rev = sqlite3_column_int64(st, 0);
		e->key = sq_col_dup(st, 1, &r);
		if (sqlite3_column_type(st, 2) == SQLITE_NULL) {
			e->type = DS_EV_DELETE;
		} else {
			e->type = DS_EV_PUT;
			e->value = sq_col_dup(st, 2, &r);
		}
	}
	/* (The LIMIT is never what ends it: the page ends at a revision's
	 * end first.) */
	if (r == 0 && !more && rc != SQLITE_DONE)
		r = sq_err(s, rc, "watch");
	sq_st_done(st);
	if (r == 0)
		r = sq_st_run(s, ST_COMMIT);
out:
	sq_abort(s);
	if (r < 0) {
		ds_events_free(ev, cnt);
		return r;
	}
	if (more) {
		/* The rest at the next read; the fd says so to whoever only
		 * reads when woken. */
		w->last = ev[cnt - 1].rev;
		sq_poke(s);
	} else if (cur > w->last) {
		w->last = cur;
	}
	*evs = ev;
	*n = cnt;
	return 0;
}
