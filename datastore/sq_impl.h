/*
 * sq_impl: what the sqlite backend's two files share (private to them):
 * ds_sqlite.c (open, schema, documents, transactions) and ds_sqlite_watch.c
 * (the watch over the change log). See ds_sqlite.c for the design.
 */
#ifndef PETREL_SQ_IMPL_H
#define PETREL_SQ_IMPL_H

#include <sqlite3.h>
#include <stdint.h>

#include "datastore/ds_impl.h"

#define BUSY_TIMEOUT_MS 10000
#define COMPACT_EVERY 1000	/* auto-compaction runs on every Nth revision */
#define SCHEMA_VERSION 1
#define WAL_RETRY_MS 5		/* reads of the inotify fd per ds_watch_read */

enum st {
	ST_BEGIN_WRITE,
	ST_BEGIN_READ,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_REVS,
	ST_GET,
	ST_INSERT,
	ST_UPDATE,
	ST_DELETE,
	ST_LOG,
	ST_LIST,
	ST_EVENTS,
	ST_COMPACT_LOG,
	ST_COMPACT_META,
	ST_COUNT
};

struct ds_sqlite {
	struct ds base;		/* first: ds.c casts */
	sqlite3 *db;
	char *dir;		/* the folder inotify watches */
	char *notify;		/* PATH-notify, touched after each commit */
	sqlite3_stmt *st[ST_COUNT];
};

/* ds_sqlite.c */
int sq_err(struct ds_sqlite *s, int rc, const char *what);
int sq_bind_text(struct ds_sqlite *s, sqlite3_stmt *st, int i,
		 const char *text);
int sq_bind_int(struct ds_sqlite *s, sqlite3_stmt *st, int i, int64_t v);
int sq_bind_hi(struct ds_sqlite *s, sqlite3_stmt *st, int i, const char *hi);
void sq_st_done(sqlite3_stmt *st);
int sq_st_run(struct ds_sqlite *s, enum st id);
void sq_abort(struct ds_sqlite *s);
char *sq_col_dup(sqlite3_stmt *st, int i, int *r);
int sq_revs(struct ds_sqlite *s, int64_t *rev, int64_t *compacted);
void sq_poke(struct ds_sqlite *s);
int64_t sq_revision(struct ds *ds);

/* ds_sqlite_watch.c */
int sq_watch_new(struct ds *ds, const char *prefix, int64_t from,
		 struct ds_watch **out);
int sq_watch_fd(const struct ds_watch *dw);
int sq_watch_read(struct ds_watch *dw, struct ds_event **evs, size_t *n);
void sq_watch_free(struct ds_watch *dw);

#endif
