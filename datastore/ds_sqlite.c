/*
 * ds_sqlite: the embedded datastore backend, "sqlite:PATH". One SQLite
 * database shared by every process of every node on this machine; SQLite
 * gives the transactions, the crash safety and the many-process locking.
 *
 * Schema (PRAGMA user_version 1):
 *   kv   (key PRIMARY KEY, value, create_rev, mod_rev)   the documents now
 *   log  (rev, op, key, value NULL = delete; PRIMARY KEY (rev, op))
 *   meta ('compact_rev' → the newest revision compaction has forgotten)
 * The store's revision is max(max(log.rev), compact_rev): no counter to keep
 * in step, and compaction never removes the newest revision's rows.
 *
 * One revision per transaction (as in etcd): every op of a ds_txn gets the
 * same new revision, as mod_rev of the documents it writes and as rev of its
 * log rows (op = its index, so events come out in the order of the ops).
 * Revisions are dense: rev = current + 1 under the write lock.
 *
 * Every write is BEGIN IMMEDIATE (take the write lock first, so the checks
 * cannot go stale), check every op's compare-and-swap, change the documents,
 * append the log, COMMIT. WAL + synchronous=FULL (the default; "?sync=normal"
 * in the URL trades it, see sq_parse_url): a commit is durable when ds_txn
 * returns, and kill -9 at any instant leaves all of it or none.
 * Reads that need two statements (list: documents + revision; watch: compact
 * check + log rows) run in one read transaction, i.e. one snapshot.
 *
 * Wake-ups: a WAL commit becomes visible to readers only when the writer
 * updates the shared-memory index, after its write() to the -wal file (and its
 * fsync). A reader woken by inotify on that write() can look before the commit
 * is visible, and no further event would come. So after each COMMIT a writer
 * opens and closes PATH-notify (IN_CLOSE_WRITE on the directory): that event
 * comes strictly after the commit is visible. A watcher drains its inotify fd
 * first and queries second, so a commit is either seen or still signalled.
 *
 * Statements are prepared once per connection (persistent) and reset after
 * each use. The connection belongs to one thread at a time.
 *
 * The watch is in ds_sqlite_watch.c; what both files share, in sq_impl.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsafe.h"
#include "datastore/datastore.h"
#include "datastore/ds_impl.h"
#include "datastore/sq_impl.h"

static const char *const st_sql[ST_COUNT] = {
	[ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[ST_BEGIN_READ] = "BEGIN DEFERRED",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_REVS] = "SELECT ifnull((SELECT max(rev) FROM log), 0),"
		    " ifnull((SELECT value FROM meta"
		    " WHERE name = 'compact_rev'), 0)",
	[ST_GET] = "SELECT value, create_rev, mod_rev FROM kv WHERE key = ?1",
	[ST_INSERT] = "INSERT INTO kv (key, value, create_rev, mod_rev)"
		      " VALUES (?1, ?2, ?3, ?3)",
	[ST_UPDATE] = "UPDATE kv SET value = ?2, mod_rev = ?3 WHERE key = ?1",
	[ST_DELETE] = "DELETE FROM kv WHERE key = ?1",
	[ST_LOG] = "INSERT INTO log (rev, op, key, value)"
		   " VALUES (?1, ?2, ?3, ?4)",
	[ST_LIST] = "SELECT key, value, create_rev, mod_rev FROM kv"
		    " WHERE key >= ?1 AND key < ?2 ORDER BY key",
	[ST_EVENTS] = "SELECT rev, key, value FROM log"
		      " WHERE rev > ?1 AND key >= ?2 AND key < ?3"
		      " ORDER BY rev, op LIMIT ?4",
	[ST_COMPACT_LOG] = "DELETE FROM log WHERE rev <= ?1",
	[ST_COMPACT_META] = "UPDATE meta SET value = ?1"
			    " WHERE name = 'compact_rev'",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS kv ("
	" key TEXT PRIMARY KEY NOT NULL,"
	" value TEXT NOT NULL,"
	" create_rev INTEGER NOT NULL,"
	" mod_rev INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS log ("
	" rev INTEGER NOT NULL,"
	" op INTEGER NOT NULL,"
	" key TEXT NOT NULL,"
	" value TEXT,"
	" PRIMARY KEY (rev, op)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS meta ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_rev', 0);"
	"PRAGMA user_version = 1;";



/* The errno for a SQLite result code; records sqlite's text for ds_last_error. */
int sq_err(struct ds_sqlite *s, int rc, const char *what)
{
	int e;

	ds_set_error(&s->base, "sqlite: %s: %s", what,
		     s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
		return -EPERM;
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_TOOBIG:
		return -EMSGSIZE;
	case SQLITE_CANTOPEN:
		e = s->db ? sqlite3_system_errno(s->db) : 0;
		return e > 0 ? -e : -EIO;
	}
	return -EIO;
}

int sq_bind_text(struct ds_sqlite *s, sqlite3_stmt *st, int i,
		 const char *text)
{
	int rc = text ? sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC)
		      : sqlite3_bind_null(st, i);

	return rc == SQLITE_OK ? 0 : sq_err(s, rc, "bind");
}

int sq_bind_int(struct ds_sqlite *s, sqlite3_stmt *st, int i, int64_t v)
{
	int rc = sqlite3_bind_int64(st, i, v);

	return rc == SQLITE_OK ? 0 : sq_err(s, rc, "bind");
}

/* The upper end of a key range. No end: a zero-length BLOB, because SQLite
 * sorts every TEXT value before every BLOB, so "key < x''" holds for all keys
 * and the query keeps one shape (an index range scan) either way. */
int sq_bind_hi(struct ds_sqlite *s, sqlite3_stmt *st, int i, const char *hi)
{
	int rc;

	if (hi)
		return sq_bind_text(s, st, i, hi);
	rc = sqlite3_bind_blob(st, i, "", 0, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : sq_err(s, rc, "bind");
}

/* Ends a statement's use: no borrowed pointer stays bound. */
void sq_st_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows (its parameters already bound). */
int sq_st_run(struct ds_sqlite *s, enum st id)
{
	sqlite3_stmt *st = s->st[id];
	int rc = sqlite3_step(st);
	int r = 0;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sq_err(s, rc, st_sql[id]);
	sq_st_done(st);
	return r;
}

/* Ends whatever transaction is still open after a failure. */
void sq_abort(struct ds_sqlite *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sq_st_run(s, ST_ROLLBACK);
}

/* Copies a TEXT column (NUL-terminated). NULL with *r = -ENOMEM on failure. */
char *sq_col_dup(sqlite3_stmt *st, int i, int *r)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int len = sqlite3_column_bytes(st, i);
	char *p;

	if (!t) {
		*r = -ENOMEM;
		return NULL;
	}
	p = malloc((size_t)len + 1);
	if (!p) {
		*r = -ENOMEM;
		return NULL;
	}
	memcpy(p, t, (size_t)len);
	p[len] = '\0';
	return p;
}

/* The store's revision and the compacted revision (in the caller's snapshot). */
int sq_revs(struct ds_sqlite *s, int64_t *rev, int64_t *compacted)
{
	sqlite3_stmt *st = s->st[ST_REVS];
	int rc = sqlite3_step(st);
	int r = 0;

	if (rc == SQLITE_ROW) {
		int64_t logged = sqlite3_column_int64(st, 0);

		*compacted = sqlite3_column_int64(st, 1);
		*rev = logged > *compacted ? logged : *compacted;
	} else {
		r = sq_err(s, rc, "revision");
	}
	sq_st_done(st);
	return r;
}

/* Wakes every watcher, in this process and others, once a commit is visible
 * (see the top of this file). Best effort: a watcher also wakes on the WAL
 * write, and the failure to wake is no failure of the write. */
void sq_poke(struct ds_sqlite *s)
{
	int fd = open(s->notify, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
		      O_NOFOLLOW, 0600);

	if (fd >= 0)
		close(fd);
}

static int sq_get(struct ds *ds, const char *key, struct ds_kv *out)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	sqlite3_stmt *st = s->st[ST_GET];
	int r, rc;

	r = sq_bind_text(s, st, 1, key);
	if (r < 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		r = sq_err(s, rc, "get");
		goto out;
	}
	out->value = sq_col_dup(st, 0, &r);
	out->create_rev = sqlite3_column_int64(st, 1);
	out->mod_rev = sqlite3_column_int64(st, 2);
	out->key = strdup(key);
	if (!out->key || !out->value) {
		ds_kv_clear(out);
		r = -ENOMEM;
	}
out:
	sq_st_done(st);
	return r;
}

static int sq_list(struct ds *ds, const char *prefix, struct ds_kv **out,
		   size_t *n, int64_t *rev)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	sqlite3_stmt *st = s->st[ST_LIST];
	struct ds_kv *kvs = NULL;
	size_t cnt = 0, cap = 0;
	int64_t compacted;
	char *hi = NULL;
	int r, rc = SQLITE_DONE;

	r = ds_prefix_end(prefix, &hi);
	if (r < 0)
		return r;
	r = sq_st_run(s, ST_BEGIN_READ);
	if (r < 0)
		goto out;
	r = sq_revs(s, rev, &compacted);
	if (r < 0)
		goto out;
	r = sq_bind_text(s, st, 1, prefix);
	if (r == 0)
		r = sq_bind_hi(s, st, 2, hi);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ds_kv *kv;

		if (cnt == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct ds_kv *nk = realloc(kvs, ncap * sizeof(*kvs));

			if (!nk) {
				r = -ENOMEM;
				break;
			}
			kvs = nk;
			cap = ncap;
		}
		kv = &kvs[cnt++];
		memset(kv, 0, sizeof(*kv));
		kv->key = sq_col_dup(st, 0, &r);
		kv->value = sq_col_dup(st, 1, &r);
		kv->create_rev = sqlite3_column_int64(st, 2);
		kv->mod_rev = sqlite3_column_int64(st, 3);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_err(s, rc, "list");
	sq_st_done(st);
	if (r == 0)
		r = sq_st_run(s, ST_COMMIT);
out:
	sq_abort(s);
	free(hi);
	if (r < 0) {
		ds_kvs_free(kvs, cnt);
		return r;
	}
	*out = kvs;
	*n = cnt;
	return 0;
}

/* Forgets the log up to rev; inside the caller's write transaction. */
static int sq_compact_locked(struct ds_sqlite *s, int64_t rev)
{
	int r;

	r = sq_bind_int(s, s->st[ST_COMPACT_LOG], 1, rev);
	if (r == 0)
		r = sq_st_run(s, ST_COMPACT_LOG);
	if (r == 0)
		r = sq_bind_int(s, s->st[ST_COMPACT_META], 1, rev);
	if (r == 0)
		r = sq_st_run(s, ST_COMPACT_META);
	return r;
}

/* One op, inside the write transaction: check its CAS, then write. */
static int sq_apply(struct ds_sqlite *s, const struct ds_op *op, size_t idx,
		    int64_t newrev)
{
	sqlite3_stmt *get = s->st[ST_GET], *log = s->st[ST_LOG], *st;
	static const char *const verb[] = {
		[DS_OP_CREATE] = "create", [DS_OP_UPDATE] = "update",
		[DS_OP_DELETE] = "delete",
	};
	bool exists = false;
	int64_t mod_rev = 0;
	enum st id;
	int r, rc;

	r = sq_bind_text(s, get, 1, op->key);
	if (r < 0)
		goto out;
	rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		exists = true;
		mod_rev = sqlite3_column_int64(get, 2);
	} else if (rc != SQLITE_DONE) {
		r = sq_err(s, rc, "get");
		goto out;
	}
	sq_st_done(get);

	if (op->type == DS_OP_CREATE && exists)
		r = -EEXIST;
	else if (op->type != DS_OP_CREATE && !exists)
		r = -ENOENT;
	else if (op->type != DS_OP_CREATE && op->expect_rev &&
		 op->expect_rev != mod_rev)
		r = -ECANCELED;
	if (r < 0) {
		ds_set_error(&s->base, "%s %s: %s", verb[op->type], op->key,
			     ds_strerror(r));
		goto out;
	}

	id = op->type == DS_OP_CREATE ? ST_INSERT
	   : op->type == DS_OP_UPDATE ? ST_UPDATE : ST_DELETE;
	st = s->st[id];
	r = sq_bind_text(s, st, 1, op->key);
	if (r == 0 && id != ST_DELETE)
		r = sq_bind_text(s, st, 2, op->value);
	if (r == 0 && id != ST_DELETE)
		r = sq_bind_int(s, st, 3, newrev);
	if (r == 0)
		r = sq_st_run(s, id);
	else
		sq_st_done(st);
	if (r < 0)
		goto out;

	r = sq_bind_int(s, log, 1, newrev);
	if (r == 0)
		r = sq_bind_int(s, log, 2, (int64_t)idx);
	if (r == 0)
		r = sq_bind_text(s, log, 3, op->key);
	if (r == 0)
		r = sq_bind_text(s, log, 4,
			      op->type == DS_OP_DELETE ? NULL : op->value);
	if (r == 0)
		r = sq_st_run(s, ST_LOG);
	else
		sq_st_done(log);
out:
	sq_st_done(get);
	return r;
}

static int sq_txn(struct ds *ds, const struct ds_op *ops, size_t n,
		  int64_t *rev, size_t *failed_op)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	int64_t cur, compacted, newrev;
	size_t i;
	int r;

	r = sq_st_run(s, ST_BEGIN_WRITE);
	if (r < 0)
		return r;
	r = sq_revs(s, &cur, &compacted);
	if (r < 0)
		goto out;
	newrev = cur + 1;
	for (i = 0; i < n; i++) {
		r = sq_apply(s, &ops[i], i, newrev);
		if (r < 0) {
			*failed_op = i;
			goto out;
		}
	}
	/* Occasionally, not on every write: deleting a thousand log rows at
	 * once costs about what deleting one does. */
	if (newrev % COMPACT_EVERY == 0 &&
	    newrev - DS_SQLITE_KEEP_REVS > compacted) {
		r = sq_compact_locked(s, newrev - DS_SQLITE_KEEP_REVS);
		if (r < 0)
			goto out;
	}
	r = sq_st_run(s, ST_COMMIT);
	if (r < 0)
		goto out;
	*rev = newrev;
	sq_poke(s);
out:
	sq_abort(s);
	return r;
}

int64_t sq_revision(struct ds *ds)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	int64_t rev, compacted;
	int r = sq_revs(s, &rev, &compacted);

	return r < 0 ? r : rev;
}

static int sq_compact(struct ds *ds, int64_t rev)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	int64_t cur, compacted;
	int r;

	r = sq_st_run(s, ST_BEGIN_WRITE);
	if (r < 0)
		return r;
	r = sq_revs(s, &cur, &compacted);
	if (r < 0)
		goto out;
	if (rev > cur) {
		ds_set_error(ds, "compact %lld: a future revision (now %lld)",
			     (long long)rev, (long long)cur);
		r = -EINVAL;
		goto out;
	}
	if (rev > compacted) {
		r = sq_compact_locked(s, rev);
		if (r < 0)
			goto out;
	}
	r = sq_st_run(s, ST_COMMIT);
out:
	sq_abort(s);
	return r;
}

/* mkdir -p of dir; the folders it makes are 0700 (the store holds secrets). */
static int mkdirs(char *dir)
{
	struct stat sb;
	char *p;

	if (stat(dir, &sb) == 0)
		return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			int e = errno;

			*p = c;
			return -e;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

/* Creates the database file 0600 when missing (SQLite would use 0644 minus
 * umask, and its -wal and -shm copy the file's mode). O_EXCL: a file only we
 * just made, so closing this fd cannot drop another connection's locks. */
static int create_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY |
		      O_NOFOLLOW, 0600);

	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

static int exec_sql(struct ds_sqlite *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sq_err(s, rc, sql);
}

/* A single-value query (PRAGMA journal_mode, user_version). */
static int query_text(struct ds_sqlite *s, const char *sql, char *buf,
		      size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_err(s, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		snprintf(buf, len, "%s", t ? t : "");
	} else {
		r = sq_err(s, rc, sql);
	}
	sqlite3_finalize(st);
	return r;
}

static int sq_schema(struct ds_sqlite *s)
{
	char v[32];
	int r;

	r = query_text(s, "PRAGMA user_version", v, sizeof(v));
	if (r < 0 || atoi(v) == SCHEMA_VERSION)
		return r;
	/* New database: make the tables under the write lock, so that several
	 * processes opening it at once agree. */
	r = exec_sql(s, "BEGIN IMMEDIATE");
	if (r < 0)
		return r;
	r = query_text(s, "PRAGMA user_version", v, sizeof(v));
	if (r < 0)
		goto out;
	if (atoi(v) == 0)
		r = exec_sql(s, schema_sql);
	else if (atoi(v) != SCHEMA_VERSION) {
		ds_set_error(&s->base, "schema version %s, expected %d", v,
			     SCHEMA_VERSION);
		r = -EPROTO;
	}
	if (r == 0)
		r = exec_sql(s, "COMMIT");
out:
	sq_abort(s);
	return r;
}

static void sq_close(struct ds *ds)
{
	struct ds_sqlite *s = (struct ds_sqlite *)ds;
	size_t i;

	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s->dir);
	free(s->notify);
	free(s);
}

/*
 * "PATH" or "PATH?sync=full|normal". full (the default): a commit is on disk
 * when it returns. normal: WAL's own guarantee, a commit survives the
 * process being killed at any instant but the newest ones may roll back on
 * a power loss (never a torn database); it saves one fdatasync per write.
 */
static int sq_parse_url(const char *url, char *path, size_t len,
			const char **sync)
{
	const char *q = strchr(url, '?');
	size_t n = q ? (size_t)(q - url) : strlen(url);

	*sync = "FULL";
	if (n == 0 || n >= len)
		return -EINVAL;
	memcpy(path, url, n);
	path[n] = '\0';
	if (!q)
		return 0;
	if (!strcmp(q, "?sync=full"))
		return 0;
	if (!strcmp(q, "?sync=normal")) {
		*sync = "NORMAL";
		return 0;
	}
	return -EINVAL;
}

static int sq_open(const char *url, struct ds **out)
{
	struct ds_sqlite *s;
	char mode[16], *slash, path[PATH_MAX], pragma[48], ferr[PATH_MAX + 160];
	const char *sync;
	size_t i;
	int r, rc;

	if (sq_parse_url(url, path, sizeof(path), &sync) < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.be = &ds_sqlite_backend;
	slash = strrchr(path, '/');
	if (!slash)
		s->dir = strdup(".");
	else if (slash == path)
		s->dir = strdup("/");
	else
		s->dir = strndup(path, (size_t)(slash - path));
	if (!s->dir || asprintf(&s->notify, "%s-notify", path) < 0) {
		s->notify = NULL;
		r = -ENOMEM;
		goto out;
	}
	if (slash && slash[1] == '\0') {
		r = -EISDIR;
		goto out;
	}
	r = mkdirs(s->dir);
	if (r < 0)
		goto out;
	/* Its folder too: who may write there may put a -wal or -notify of
	 * their own beside it. */
	r = fsafe_check(s->dir, S_IFDIR, ferr, sizeof(ferr));
	if (r < 0) {
		ds_set_open_error("sqlite: database folder %s", ferr);
		goto out;
	}
	r = create_file(path);
	if (r < 0)
		goto out;
	/* An existing file that someone else owns or may write is not ours to
	 * trust: refused, with what was found (ds_last_error(NULL)). */
	r = fsafe_check(path, S_IFREG, ferr, sizeof(ferr));
	if (r < 0) {
		ds_set_open_error("sqlite: database %s", ferr);
		goto out;
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = sq_err(s, rc, "open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* Many processes write: wait for the lock rather than fail at once. */
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	/* Switching a new database to WAL takes its exclusive lock without
	 * SQLite's busy handler: when several processes open it at once,
	 * the losers retry (bounded, like the busy timeout), then find it
	 * already in WAL mode, which needs no lock. */
	for (i = 0; ; i++) {
		r = query_text(s, "PRAGMA journal_mode = WAL", mode,
			       sizeof(mode));
		if (r != -EBUSY || i >= BUSY_TIMEOUT_MS / WAL_RETRY_MS)
			break;
		usleep(WAL_RETRY_MS * 1000);
	}
	if (r < 0)
		goto out;
	if (strcmp(mode, "wal")) {
		ds_set_error(&s->base, "journal_mode WAL refused (%s)", mode);
		r = -ENOTSUP;
		goto out;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA synchronous = %s", sync);
	r = exec_sql(s, pragma);
	if (r < 0)
		goto out;
	r = sq_schema(s);
	if (r < 0)
		goto out;
	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(s->db, st_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &s->st[i],
					NULL);
		if (rc != SQLITE_OK) {
			r = sq_err(s, rc, st_sql[i]);
			goto out;
		}
	}
	*out = &s->base;
	return 0;
out:
	sq_close(&s->base);
	return r;
}

const struct ds_backend ds_sqlite_backend = {
	.scheme = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.get = sq_get,
	.list = sq_list,
	.txn = sq_txn,
	.revision = sq_revision,
	.compact = sq_compact,
	.watch_new = sq_watch_new,
	.watch_fd = sq_watch_fd,
	.watch_read = sq_watch_read,
	.watch_free = sq_watch_free,
};
