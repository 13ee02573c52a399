/*
 * test_datastore: the datastore interface on its sqlite backend.
 *
 * Each case gets a fresh folder /tmp/pt-ds-XXXXXX (removed afterwards) and a
 * store at FOLDER/sub/ds.db, so that the folder's creation is exercised too.
 * Cases that fork keep cmocka's assertions in the parent: a child reports
 * through its exit status (or a pipe) and always leaves with _exit().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "datastore/datastore.h"

#define POLL_MS 10000		/* bounded waits: a failure, never a hang */

struct fx {
	char dir[64];		/* /tmp/pt-ds-XXXXXX */
	char path[128];		/* dir/sub/ds.db */
	char url[160];		/* sqlite:path */
	struct ds *ds;
	pid_t child;		/* a child still running: killed by teardown */
};

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	/* a case that failed while its child ran: end it before its files go */
	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	ds_close(f->ds);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/pt-ds-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/sub/ds.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	*state = f;
	if (ds_open(f->url, &f->ds) < 0) {
		teardown(state);
		return -1;
	}
	return 0;
}

/* A second store in the case's folder (sqlite:DIR/NAME). */
static void other_url(const struct fx *f, const char *name, char *buf,
		      size_t len)
{
	snprintf(buf, len, "sqlite:%s/%s", f->dir, name);
}

static int64_t must_create(struct ds *ds, const char *key, const char *val)
{
	int64_t rev = -1;

	assert_int_equal(ds_create(ds, key, val, &rev), 0);
	return rev;
}

static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & (POLLIN | POLLHUP));
}

static void test_open(void **state)
{
	struct fx *f = *state;
	char sub[96];
	struct stat sb;
	struct ds *ds = (struct ds *)1;
	struct ds_kv kv = { 0 };

	/* the folder made 0700, the file 0600: it will hold BGP passwords */
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	assert_int_equal(ds_revision(f->ds), 0);
	assert_int_equal(ds_open("nosuch:/x", &ds), -EINVAL);
	assert_null(ds);
	assert_int_equal(ds_open("sqlite:", &ds), -EINVAL);
	assert_int_equal(ds_open("/no/scheme", &ds), -EINVAL);

	/* ?sync=normal|full: the durability knob; anything else refused */
	{
		char url[160];
		struct ds *d2 = NULL;
		int64_t rev = 0;

		snprintf(url, sizeof(url), "sqlite:%s/n.db?sync=bogus", f->dir);
		assert_int_equal(ds_open(url, &d2), -EINVAL);
		assert_null(d2);
		snprintf(url, sizeof(url), "sqlite:%s/n.db?sync=normal", f->dir);
		assert_int_equal(ds_open(url, &d2), 0);
		assert_int_equal(ds_create(d2, "/k", "v", &rev), 0);
		ds_close(d2);
		/* the option is not part of the file's name */
		snprintf(url, sizeof(url), "%s/n.db", f->dir);
		assert_int_equal(stat(url, &sb), 0);
		snprintf(url, sizeof(url), "sqlite:%s/n.db?sync=full", f->dir);
		assert_int_equal(ds_open(url, &d2), 0);
		assert_int_equal(ds_get(d2, "/k", &kv), 0);
		assert_string_equal(kv.value, "v");
		ds_kv_clear(&kv);
		ds_close(d2);
	}

	/* freeing nothing is fine */
	ds_close(NULL);
	ds_watch_free(NULL);
	ds_kvs_free(NULL, 0);
	ds_events_free(NULL, 0);
	ds_kv_clear(&kv);
	ds_kv_clear(NULL);

	assert_string_equal(ds_strerror(-ECANCELED),
			    "revision changed (concurrent update)");
	assert_string_equal(ds_strerror(-ERANGE), "revision compacted");
	assert_string_equal(ds_strerror(-EEXIST), "key already exists");
	assert_string_equal(ds_strerror(-ENOENT), "key not found");
	assert_non_null(ds_strerror(-12345));
	assert_non_null(ds_last_error(f->ds));
}

/* An existing database, or its folder, that someone else owns or may
 * write is refused, naming the path and what was found; PATH-notify (made
 * on every write) follows no symbolic link. Controls: the same files with
 * safe modes open and write. */
static void test_open_unsafe(void **state)
{
	struct fx *f = *state;
	char url[160], path[128], dir[128], victim[128];
	struct ds *d2 = NULL;
	struct stat sb;
	int64_t rev;

	snprintf(dir, sizeof(dir), "%s/u", f->dir);
	snprintf(path, sizeof(path), "%s/u/u.db", f->dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	assert_int_equal(ds_open(url, &d2), 0);
	ds_close(d2);

	assert_int_equal(chmod(path, 0666), 0);
	d2 = NULL;
	assert_int_equal(ds_open(url, &d2), -EPERM);
	assert_null(d2);
	assert_non_null(strstr(ds_last_error(NULL), path));
	assert_non_null(strstr(ds_last_error(NULL), "mode 0666"));
	assert_non_null(strstr(ds_last_error(NULL), "no write access for group or others"));
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(ds_open(url, &d2), -EPERM);
	assert_non_null(strstr(ds_last_error(NULL), "database folder"));
	assert_non_null(strstr(ds_last_error(NULL), "mode 0777"));
	assert_int_equal(chmod(dir, 0700), 0);

	if (geteuid() == 0) {
		/* another user's file */
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(ds_open(url, &d2), -EPERM);
		assert_non_null(strstr(ds_last_error(NULL), "owned by uid 4242"));
		assert_int_equal(chown(path, 0, 0), 0);
	}

	/* PATH-notify a symbolic link to a file that does not exist: a write
	 * goes through, and makes no file at the link's target */
	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	snprintf(path, sizeof(path), "%s/u/u.db-notify", f->dir);
	unlink(path);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(ds_open(url, &d2), 0);
	assert_int_equal(ds_create(d2, "/k", "v", &rev), 0);
	ds_close(d2);
	assert_int_equal(lstat(victim, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

/* Every fd the store opens is close-on-exec (the house rule). */
static void test_cloexec(void **state)
{
	struct fx *f = *state;
	struct ds_watch *w;
	struct dirent *de;
	int checked = 0;
	DIR *d;

	must_create(f->ds, "/k", "v");
	assert_int_equal(ds_watch_new(f->ds, "/", 0, &w), 0);
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((de = readdir(d))) {
		char link[300], info[300], line[128], target[256];
		unsigned long flags = 0;
		ssize_t len;
		FILE *fp;

		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, f->dir, strlen(f->dir)) &&
		    strcmp(target, "anon_inode:inotify"))
			continue;
		snprintf(info, sizeof(info), "/proc/self/fdinfo/%s",
			 de->d_name);
		fp = fopen(info, "re");
		assert_non_null(fp);
		while (fgets(line, sizeof(line), fp))
			if (sscanf(line, "flags: %lo", &flags) == 1)
				break;
		fclose(fp);
		if (!(flags & O_CLOEXEC))
			fail_msg("%s (fd %s) lacks O_CLOEXEC", target,
				 de->d_name);
		checked++;
	}
	closedir(d);
	/* the database, its -wal and -shm, the inotify fd */
	assert_true(checked >= 4);
	ds_watch_free(w);
}

static void test_crud_cas(void **state)
{
	struct fx *f = *state;
	struct ds_kv kv;
	int64_t r1, r2, rev;

	r1 = must_create(f->ds, "/petrel/x/a", "{\"v\":1}");
	assert_int_equal(r1, 1);
	assert_int_equal(ds_revision(f->ds), 1);
	assert_int_equal(ds_create(f->ds, "/petrel/x/a", "other", &rev),
			 -EEXIST);
	assert_int_equal(ds_revision(f->ds), 1);

	assert_int_equal(ds_get(f->ds, "/petrel/x/a", &kv), 0);
	assert_string_equal(kv.key, "/petrel/x/a");
	assert_string_equal(kv.value, "{\"v\":1}");
	assert_int_equal(kv.create_rev, 1);
	assert_int_equal(kv.mod_rev, 1);
	ds_kv_clear(&kv);
	assert_null(kv.key);
	assert_int_equal(ds_get(f->ds, "/petrel/x/nope", &kv), -ENOENT);
	/* a prefix of a key is not the key */
	assert_int_equal(ds_get(f->ds, "/petrel/x/", &kv), -ENOENT);

	/* update: missing, stale revision, required revision, right one */
	assert_int_equal(ds_update(f->ds, "/petrel/x/nope", "v", 1, &rev),
			 -ENOENT);
	assert_int_equal(ds_update(f->ds, "/petrel/x/a", "v2", 7, &rev),
			 -ECANCELED);
	assert_int_equal(ds_update(f->ds, "/petrel/x/a", "v2", 0, &rev),
			 -EINVAL);
	assert_int_equal(ds_revision(f->ds), 1);
	r2 = -1;
	assert_int_equal(ds_update(f->ds, "/petrel/x/a", "v2", r1, &r2), 0);
	assert_int_equal(r2, 2);
	assert_int_equal(ds_update(f->ds, "/petrel/x/a", "v3", r1, &rev),
			 -ECANCELED);
	assert_int_equal(ds_get(f->ds, "/petrel/x/a", &kv), 0);
	assert_string_equal(kv.value, "v2");
	assert_int_equal(kv.create_rev, 1);
	assert_int_equal(kv.mod_rev, 2);
	ds_kv_clear(&kv);

	/* delete: missing, stale, right; 0 = any revision */
	assert_int_equal(ds_delete(f->ds, "/petrel/x/nope", 0), -ENOENT);
	assert_int_equal(ds_delete(f->ds, "/petrel/x/a", r1), -ECANCELED);
	assert_int_equal(ds_get(f->ds, "/petrel/x/a", &kv), 0);
	ds_kv_clear(&kv);
	assert_int_equal(ds_delete(f->ds, "/petrel/x/a", r2), 0);
	assert_int_equal(ds_revision(f->ds), 3);
	assert_int_equal(ds_get(f->ds, "/petrel/x/a", &kv), -ENOENT);
	assert_int_equal(ds_delete(f->ds, "/petrel/x/a", 0), -ENOENT);

	/* re-created: a new create_rev */
	must_create(f->ds, "/petrel/x/a", "again");
	assert_int_equal(ds_get(f->ds, "/petrel/x/a", &kv), 0);
	assert_int_equal(kv.create_rev, 4);
	ds_kv_clear(&kv);
	assert_int_equal(ds_delete(f->ds, "/petrel/x/a", 0), 0);
	assert_int_equal(ds_revision(f->ds), 5);

	/* the same store seen by a second handle */
	{
		struct ds *ds2;

		assert_int_equal(ds_open(f->url, &ds2), 0);
		assert_int_equal(ds_revision(ds2), 5);
		must_create(ds2, "/petrel/x/b", "from 2");
		ds_close(ds2);
		assert_int_equal(ds_get(f->ds, "/petrel/x/b", &kv), 0);
		assert_string_equal(kv.value, "from 2");
		ds_kv_clear(&kv);
	}

	/* values survive byte for byte, with quotes, newlines and UTF-8 */
	{
		const char *v = "line1\n'\"\\\t\xc3\xa9 end";

		must_create(f->ds, "/petrel/x/\xc3\xa9", v);
		assert_int_equal(ds_get(f->ds, "/petrel/x/\xc3\xa9", &kv), 0);
		assert_string_equal(kv.value, v);
		ds_kv_clear(&kv);
	}
}

static void test_txn(void **state)
{
	struct fx *f = *state;
	struct ds_kv kv;
	size_t failed = 99;
	int64_t rev = -1, r0, ra;

	ra = must_create(f->ds, "/t/a", "a1");
	r0 = ds_revision(f->ds);

	/* third op fails: nothing of the first two is written */
	{
		struct ds_op ops[] = {
			{ DS_OP_CREATE, "/t/b", "b1", 0 },
			{ DS_OP_UPDATE, "/t/a", "a2", ra },
			{ DS_OP_UPDATE, "/t/missing", "x", 1 },
		};

		assert_int_equal(ds_txn(f->ds, ops, 3, &rev, &failed),
				 -ENOENT);
		assert_int_equal(failed, 2);
	}
	assert_int_equal(ds_revision(f->ds), r0);
	assert_int_equal(ds_get(f->ds, "/t/b", &kv), -ENOENT);
	assert_int_equal(ds_get(f->ds, "/t/a", &kv), 0);
	assert_string_equal(kv.value, "a1");
	ds_kv_clear(&kv);

	/* each CAS outcome reports its own index */
	{
		struct ds_op ops[] = {
			{ DS_OP_UPDATE, "/t/a", "a2", ra + 5 },
			{ DS_OP_CREATE, "/t/b", "b1", 0 },
		};

		assert_int_equal(ds_txn(f->ds, ops, 2, NULL, &failed),
				 -ECANCELED);
		assert_int_equal(failed, 0);
	}
	{
		struct ds_op ops[] = {
			{ DS_OP_CREATE, "/t/b", "b1", 0 },
			{ DS_OP_CREATE, "/t/a", "again", 0 },
		};

		assert_int_equal(ds_txn(f->ds, ops, 2, NULL, &failed),
				 -EEXIST);
		assert_int_equal(failed, 1);
	}
	{
		struct ds_op ops[] = {
			{ DS_OP_CREATE, "/t/b", "b1", 0 },
			{ DS_OP_DELETE, "/t/a", NULL, ra + 1 },
		};

		assert_int_equal(ds_txn(f->ds, ops, 2, NULL, &failed),
				 -ECANCELED);
		assert_int_equal(failed, 1);
	}
	assert_int_equal(ds_revision(f->ds), r0);
	assert_int_equal(ds_get(f->ds, "/t/b", &kv), -ENOENT);

	/* success: one new revision for the whole transaction */
	{
		struct ds_op ops[] = {
			{ DS_OP_CREATE, "/t/b", "b1", 0 },
			{ DS_OP_UPDATE, "/t/a", "a2", ra },
			{ DS_OP_CREATE, "/t/c", "c1", 0 },
		};

		assert_int_equal(ds_txn(f->ds, ops, 3, &rev, &failed), 0);
		assert_int_equal(rev, r0 + 1);
	}
	assert_int_equal(ds_revision(f->ds), r0 + 1);
	assert_int_equal(ds_get(f->ds, "/t/a", &kv), 0);
	assert_string_equal(kv.value, "a2");
	assert_int_equal(kv.mod_rev, rev);
	assert_int_equal(kv.create_rev, ra);
	ds_kv_clear(&kv);
	assert_int_equal(ds_get(f->ds, "/t/b", &kv), 0);
	assert_int_equal(kv.mod_rev, rev);
	assert_int_equal(kv.create_rev, rev);
	ds_kv_clear(&kv);
	{
		struct ds_op ops[] = {
			{ DS_OP_DELETE, "/t/b", NULL, rev },
			{ DS_OP_DELETE, "/t/c", NULL, 0 },
		};

		assert_int_equal(ds_txn(f->ds, ops, 2, &rev, NULL), 0);
		assert_int_equal(rev, r0 + 2);
	}
	assert_int_equal(ds_get(f->ds, "/t/c", &kv), -ENOENT);
}

static void test_txn_invalid(void **state)
{
	struct fx *f = *state;
	struct ds_op ops[DS_TXN_MAX + 1];
	char keys[DS_TXN_MAX + 1][16];
	size_t i, failed = 99;
	int64_t rev;

	for (i = 0; i <= DS_TXN_MAX; i++) {
		snprintf(keys[i], sizeof(keys[i]), "/n/%zu", i);
		ops[i] = (struct ds_op){ DS_OP_CREATE, keys[i], "x", 0 };
	}
	assert_int_equal(ds_txn(f->ds, ops, DS_TXN_MAX + 1, &rev, &failed),
			 -E2BIG);
	assert_int_equal(ds_txn(f->ds, ops, 0, &rev, &failed), -EINVAL);
	assert_int_equal(ds_revision(f->ds), 0);
	/* the largest transaction allowed */
	assert_int_equal(ds_txn(f->ds, ops, DS_TXN_MAX, &rev, &failed), 0);
	assert_int_equal(rev, 1);

	ops[0] = (struct ds_op){ DS_OP_CREATE, "/d/1", "x", 0 };
	ops[1] = (struct ds_op){ DS_OP_CREATE, "/d/2", "x", 0 };
	ops[2] = (struct ds_op){ DS_OP_UPDATE, "/d/1", "y", 1 };
	assert_int_equal(ds_txn(f->ds, ops, 3, &rev, &failed), -EINVAL);
	assert_int_equal(failed, 2);
	ops[2] = (struct ds_op){ DS_OP_CREATE, "", "y", 0 };
	assert_int_equal(ds_txn(f->ds, ops, 3, &rev, &failed), -EINVAL);
	assert_int_equal(failed, 2);
	ops[2] = (struct ds_op){ DS_OP_CREATE, "/d/3", NULL, 0 };
	assert_int_equal(ds_txn(f->ds, ops, 3, &rev, &failed), -EINVAL);
	assert_int_equal(failed, 2);
	assert_int_equal(ds_revision(f->ds), 1);
}

static void test_list(void **state)
{
	struct fx *f = *state;
	static const char *const keys[] = {
		"/a/2", "/a", "/b/x", "/a/10", "/ab", "/a0", "/a/1",
		"/a/\xff", "/a/1/deep", "/", "/a.",
	};
	static const char *const want[] = {
		"/a/1", "/a/1/deep", "/a/10", "/a/2", "/a/\xff",
	};
	struct ds_kv *kvs;
	int64_t rev = -1;
	size_t i, n;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		must_create(f->ds, keys[i], keys[i]);

	/* "/a0" is where the range of "/a/" ends ('0' follows '/') */
	assert_int_equal(ds_list(f->ds, "/a/", &kvs, &n, &rev), 0);
	assert_int_equal(rev, ds_revision(f->ds));
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < n; i++) {
		assert_string_equal(kvs[i].key, want[i]);
		assert_string_equal(kvs[i].value, want[i]);
		assert_true(kvs[i].mod_rev > 0);
	}
	ds_kvs_free(kvs, n);

	/* empty prefix: everything, sorted bytewise */
	assert_int_equal(ds_list(f->ds, "", &kvs, &n, NULL), 0);
	assert_int_equal(n, sizeof(keys) / sizeof(keys[0]));
	for (i = 1; i < n; i++)
		assert_true(strcmp(kvs[i - 1].key, kvs[i].key) < 0);
	ds_kvs_free(kvs, n);

	/* a prefix ending in 0xff has no simple upper end */
	assert_int_equal(ds_list(f->ds, "/a/\xff", &kvs, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(kvs[0].key, "/a/\xff");
	ds_kvs_free(kvs, n);

	assert_int_equal(ds_list(f->ds, "/zzz/", &kvs, &n, &rev), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rev, ds_revision(f->ds));
	ds_kvs_free(kvs, n);
}

static void check_ev(const struct ds_event *e, enum ds_event_type type,
		     const char *key, const char *value, int64_t rev)
{
	assert_int_equal(e->type, type);
	assert_string_equal(e->key, key);
	if (value)
		assert_string_equal(e->value, value);
	else
		assert_null(e->value);
	assert_int_equal(e->rev, rev);
}

/* One read of a watch far behind is a page (1024 events, ending at a
 * revision's end: a transaction is never split), the rest comes at the
 * next reads, and the fd stays readable in between. */
static void test_watch_paged(void **state)
{
	struct fx *f = *state;
	struct ds_op ops[DS_TXN_MAX];
	char keys[DS_TXN_MAX][32];
	struct ds_watch *w;
	struct ds_event *evs;
	int64_t r0, rbig = 0, rev;
	size_t n, k = 0;

	r0 = ds_revision(f->ds);
	/* 100 events in one revision, then 8 of 128: the page's 1024th
	 * event is inside the last of those, which it finishes (1124) */
	for (int t = 0; t < 9; t++) {
		size_t m = t == 0 ? 100 : DS_TXN_MAX;

		for (size_t i = 0; i < m; i++, k++) {
			snprintf(keys[i], sizeof(keys[i]), "/w/%zu", k);
			ops[i] = (struct ds_op){ DS_OP_CREATE, keys[i], "v", 0 };
		}
		assert_int_equal(ds_txn(f->ds, ops, m, &rev, NULL), 0);
		rbig = rev;
	}
	for (int i = 0; i < 5; i++, k++) {
		snprintf(keys[0], sizeof(keys[0]), "/w/%zu", k);
		must_create(f->ds, keys[0], "v");
	}
	assert_int_equal(ds_watch_new(f->ds, "/w/", r0, &w), 0);
	assert_int_equal(ds_watch_read(w, &evs, &n), 0);
	assert_int_equal(n, 1124);
	assert_int_equal(evs[n - 1].rev, rbig);
	assert_string_equal(evs[n - 1].key, "/w/1123");
	ds_events_free(evs, n);
	assert_true(readable(ds_watch_fd(w), POLL_MS));	/* more to come */
	assert_int_equal(ds_watch_read(w, &evs, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(evs[0].key, "/w/1124");
	assert_int_equal(evs[4].rev, ds_revision(f->ds));
	ds_events_free(evs, n);
	assert_int_equal(ds_watch_read(w, &evs, &n), 0);
	assert_int_equal(n, 0);
	ds_events_free(evs, n);
	ds_watch_free(w);
}

static void test_watch(void **state)
{
	struct fx *f = *state;
	struct ds_watch *w, *wall, *wfut;
	struct ds_event *evs;
	int64_t ra, rb, r0, rt;
	size_t n;

	ra = must_create(f->ds, "/w/a", "a1");
	must_create(f->ds, "/x/1", "x1");
	r0 = ds_revision(f->ds);

	rb = must_create(f->ds, "/w/b", "b1");
	ra = -1;
	{
		struct ds_kv kv;

		assert_int_equal(ds_get(f->ds, "/w/a", &kv), 0);
		assert_int_equal(ds_update(f->ds, "/w/a", "a2", kv.mod_rev,
					   &ra), 0);
		ds_kv_clear(&kv);
	}
	must_create(f->ds, "/x/2", "x2");
	must_create(f->ds, "/wx", "not under /w/");
	assert_int_equal(ds_delete(f->ds, "/w/b", rb), 0);
	{
		struct ds_op ops[] = {
			{ DS_OP_CREATE, "/w/c", "c1", 0 },
			{ DS_OP_UPDATE, "/w/a", "a3", ra },
		};

		assert_int_equal(ds_txn(f->ds, ops, 2, &rt, NULL), 0);
	}

	/* news already there: readable at once */
	assert_int_equal(ds_watch_new(f->ds, "/w/", r0, &w), 0);
	assert_true(ds_watch_fd(w) >= 0);
	assert_true(readable(ds_watch_fd(w), POLL_MS));
	assert_int_equal(ds_watch_read(w, &evs, &n), 0);
	assert_int_equal(n, 5);
	check_ev(&evs[0], DS_EV_PUT, "/w/b", "b1", rb);
	check_ev(&evs[1], DS_EV_PUT, "/w/a", "a2", ra);
	check_ev(&evs[2], DS_EV_DELETE, "/w/b", NULL, rb + 4);
	check_ev(&evs[3], DS_EV_PUT, "/w/c", "c1", rt);
	check_ev(&evs[4], DS_EV_PUT, "/w/a", "a3", rt);
	ds_events_free(evs, n);

	/* drained: nothing new, and the fd says so */
	assert_false(readable(ds_watch_fd(w), 0));
	assert_int_equal(ds_watch_read(w, &evs, &n), 0);
	assert_int_equal(n, 0);
	ds_events_free(evs, n);

	/* a write by this very process wakes it, and only the news come */
	must_create(f->ds, "/x/3", "x3");
	rt = must_create(f->ds, "/w/d", "d1");
	assert_true(readable(ds_watch_fd(w), POLL_MS));
	assert_int_equal(ds_watch_read(w, &evs, &n), 0);
	assert_int_equal(n, 1);
	check_ev(&evs[0], DS_EV_PUT, "/w/d", "d1", rt);
	ds_events_free(evs, n);

	/* from 0 and the empty prefix: every change there ever was */
	assert_int_equal(ds_watch_new(f->ds, "", 0, &wall), 0);
	assert_int_equal(ds_watch_read(wall, &evs, &n), 0);
	assert_int_equal(n, (size_t)ds_revision(f->ds) + 1);	/* txn: 2 */
	for (size_t i = 1; i < n; i++)
		assert_true(evs[i - 1].rev <= evs[i].rev);
	check_ev(&evs[0], DS_EV_PUT, "/w/a", "a1", 1);
	ds_events_free(evs, n);
	ds_watch_free(wall);

	/* from the future: nothing until the store gets there */
	assert_int_equal(ds_watch_new(f->ds, "/w/", rt + 1, &wfut), 0);
	must_create(f->ds, "/w/e", "e1");
	assert_int_equal(ds_watch_read(wfut, &evs, &n), 0);
	assert_int_equal(n, 0);
	ds_events_free(evs, n);
	rt = must_create(f->ds, "/w/f", "f1");
	assert_int_equal(ds_watch_read(wfut, &evs, &n), 0);
	assert_int_equal(n, 1);
	check_ev(&evs[0], DS_EV_PUT, "/w/f", "f1", rt);
	ds_events_free(evs, n);
	ds_watch_free(wfut);

	ds_watch_free(w);
}

/*
 * Forking. A child must not inherit a live SQLite connection of the parent's
 * (SQLite forbids using it, and under valgrind its memory shows as "possibly
 * lost" when the child exits), so the parent closes its store before fork().
 */
static void close_before_fork(struct fx *f)
{
	ds_close(f->ds);
	f->ds = NULL;
	fflush(NULL);
}

/*
 * Another process writes; the watcher reads only when its fd wakes it, and
 * must get every change so. The child stays alive (its connection open) until
 * the parent is done: its exit closes files, which would wake the watcher
 * anyway and hide a lost wake-up.
 */
#define OTHER_WRITES 5

static void test_watch_other_process(void **state)
{
	struct fx *f = *state;
	struct ds_watch *w;
	struct ds_event *evs;
	int i, st, go[2];
	size_t got = 0, n, j;
	pid_t pid;
	char c = 'g';

	must_create(f->ds, "/w/before", "0");
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	close_before_fork(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ds *ds = NULL;
		char key[32];
		int r;

		close(go[1]);
		/* 'g' to start, then EOF when the parent is done */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		r = ds_open(f->url, &ds);
		for (i = 0; r == 0 && i < OTHER_WRITES; i++) {
			/* a watched change last: nothing after it wakes */
			snprintf(key, sizeof(key), "/y/child%d", i);
			r = ds_create(ds, key, "not watched", NULL);
			snprintf(key, sizeof(key), "/w/child%d", i);
			if (r == 0)
				r = ds_create(ds, key, "from the child", NULL);
			usleep(10000);
		}
		for (;;) {	/* until EOF: the parent's close or death */
			ssize_t k = read(go[0], &c, 1);

			if (k == 0 || (k < 0 && errno != EINTR))
				break;
		}
		ds_close(ds);
		_exit(r == 0 ? 0 : 1);
	}
	f->child = pid;
	close(go[0]);
	assert_int_equal(ds_open(f->url, &f->ds), 0);
	assert_int_equal(ds_watch_new(f->ds, "/w/", ds_revision(f->ds), &w),
			 0);
	assert_false(readable(ds_watch_fd(w), 0));
	assert_int_equal(write(go[1], &c, 1), 1);

	/* A wake-up may come from the WAL write before the commit is
	 * visible (an empty read); the writer's notification after COMMIT
	 * must follow, so no change waits for a later write. */
	for (i = 0; i < 200 && got < OTHER_WRITES; i++) {
		if (!readable(ds_watch_fd(w), POLL_MS)) {
			ds_watch_free(w);
			fail_msg("no wake-up for change %zu", got);
		}
		assert_int_equal(ds_watch_read(w, &evs, &n), 0);
		for (j = 0; j < n; j++, got++) {
			char key[32];

			snprintf(key, sizeof(key), "/w/child%zu", got);
			assert_true(got < OTHER_WRITES);
			check_ev(&evs[j], DS_EV_PUT, key, "from the child",
				 evs[j].rev);
		}
		ds_events_free(evs, n);
	}
	ds_watch_free(w);
	close(go[1]);
	assert_int_equal(got, OTHER_WRITES);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	f->child = 0;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_compact(void **state)
{
	struct fx *f = *state;
	struct ds_watch *old, *w5, *w4;
	struct ds_event *evs;
	char key[32];
	int64_t i, cur;
	size_t n;

	for (i = 1; i <= 10; i++) {
		snprintf(key, sizeof(key), "/c/%02" PRId64, i);
		assert_int_equal(must_create(f->ds, key, "v"), i);
	}
	assert_int_equal(ds_watch_new(f->ds, "/c/", 2, &old), 0);
	assert_int_equal(ds_compact(f->ds, 11), -EINVAL);	/* future */
	assert_int_equal(ds_compact(f->ds, 0), -EINVAL);
	assert_int_equal(ds_compact(f->ds, 5), 0);
	assert_int_equal(ds_compact(f->ds, 3), 0);	/* older: no-op */
	assert_int_equal(ds_revision(f->ds), 10);

	/* the old watcher needed revisions 3..5: gone, and it stays so */
	assert_int_equal(ds_watch_read(old, &evs, &n), -ERANGE);
	assert_int_equal(ds_watch_read(old, &evs, &n), -ERANGE);
	ds_watch_free(old);
	assert_int_equal(ds_watch_new(f->ds, "/c/", 4, &w4), 0);
	assert_int_equal(ds_watch_read(w4, &evs, &n), -ERANGE);
	ds_watch_free(w4);

	/* from the compacted revision itself: everything after is there */
	assert_int_equal(ds_watch_new(f->ds, "/c/", 5, &w5), 0);
	assert_int_equal(ds_watch_read(w5, &evs, &n), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(evs[i].rev, 6 + i);
	ds_events_free(evs, n);

	/* compact everything: the revision survives, the next write follows */
	assert_int_equal(ds_compact(f->ds, 10), 0);
	assert_int_equal(ds_revision(f->ds), 10);
	assert_int_equal(ds_watch_read(w5, &evs, &n), 0);
	assert_int_equal(n, 0);
	ds_events_free(evs, n);
	cur = must_create(f->ds, "/c/new", "v");
	assert_int_equal(cur, 11);
	assert_int_equal(ds_watch_read(w5, &evs, &n), 0);
	assert_int_equal(n, 1);
	check_ev(&evs[0], DS_EV_PUT, "/c/new", "v", 11);
	ds_events_free(evs, n);
	ds_watch_free(w5);

	/* documents are untouched by compaction */
	{
		struct ds_kv *kvs;

		assert_int_equal(ds_list(f->ds, "/c/", &kvs, &n, NULL), 0);
		assert_int_equal(n, 11);
		ds_kvs_free(kvs, n);
	}
}

/* Child: 50 read-modify-write increments of /count, retrying lost races. */
static int incrementer(const char *url)
{
	struct ds *ds;
	int done = 0, tries, r;

	/* all children open the same, not yet existing, database at once */
	r = ds_open(url, &ds);
	if (r < 0)
		return 10;
	for (tries = 0; done < 50 && tries < 100000; tries++) {
		struct ds_kv kv;
		char buf[32];

		r = ds_get(ds, "/count", &kv);
		if (r == -ENOENT) {
			r = ds_create(ds, "/count", "1", NULL);
		} else if (r == 0) {
			snprintf(buf, sizeof(buf), "%d", atoi(kv.value) + 1);
			r = ds_update(ds, "/count", buf, kv.mod_rev, NULL);
			ds_kv_clear(&kv);
		}
		if (r == 0)
			done++;
		else if (r != -ECANCELED && r != -EEXIST)
			break;
	}
	ds_close(ds);
	return done == 50 ? 0 : 11;
}

static void test_many_processes(void **state)
{
	struct fx *f = *state;
	char url[160];
	pid_t pids[8];
	struct ds *ds;
	struct ds_kv kv;
	int i, st, status[8];

	other_url(f, "many/db", url, sizeof(url));
	close_before_fork(f);
	for (i = 0; i < 8; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(incrementer(url));
	}
	/* reap them all before judging: none outlives the case's folder */
	for (i = 0; i < 8; i++) {
		status[i] = -1;
		if (pids[i] > 0 && waitpid(pids[i], &st, 0) == pids[i])
			status[i] = st;
	}
	for (i = 0; i < 8; i++)
		if (status[i] != 0)
			fail_msg("child %d: status %#x (exit 10: ds_open "
				 "failed, 11: an increment failed)", i,
				 status[i]);
	assert_int_equal(ds_open(url, &ds), 0);
	assert_int_equal(ds_get(ds, "/count", &kv), 0);
	assert_string_equal(kv.value, "400");
	/* every successful write took exactly one revision, no more */
	assert_int_equal(kv.mod_rev, 400);
	assert_int_equal(ds_revision(ds), 400);
	ds_kv_clear(&kv);
	ds_close(ds);
}

/*
 * Crash safety. The child keeps /c/a and /c/b equal, one transaction per
 * step (values of varying length, so a commit spans one to several pages),
 * and tells the parent each revision it saw committed. The parent kills it
 * with SIGKILL at random moments, round after round; then the database must
 * be intact, the keys equal, every reported revision present.
 */
#define CRASH_ROUNDS 20
#define CRASH_MAX_REPORTS 200000

static void crash_value(char *buf, size_t len, long v)
{
	size_t pad = (size_t)(v * 7919) % (len - 32);
	int k = snprintf(buf, len, "%ld:", v);

	memset(buf + k, 'a' + (char)(v % 26), pad);
	buf[k + pad] = '\0';
}

static int crash_child(const char *url, int wfd)
{
	struct ds *ds;
	static char val[12000];
	int i, r;

	r = ds_open(url, &ds);
	if (r < 0)
		return 20;
	for (i = 0; i < 1000000; i++) {
		struct ds_kv a, b;
		int64_t rev;
		long v;

		r = ds_get(ds, "/c/a", &a);
		if (r == -ENOENT) {
			struct ds_op ops[] = {
				{ DS_OP_CREATE, "/c/a", "0:", 0 },
				{ DS_OP_CREATE, "/c/b", "0:", 0 },
			};

			r = ds_txn(ds, ops, 2, &rev, NULL);
			if (r < 0)
				return 21;
			if (write(wfd, &rev, sizeof(rev)) != sizeof(rev))
				return 22;
			continue;
		}
		if (r < 0)
			return 23;
		r = ds_get(ds, "/c/b", &b);
		if (r < 0 || strcmp(a.value, b.value))
			return 24;	/* parent sees the exit status */
		v = atol(a.value) + 1;
		crash_value(val, sizeof(val), v);
		{
			struct ds_op ops[] = {
				{ DS_OP_UPDATE, "/c/a", val, a.mod_rev },
				{ DS_OP_UPDATE, "/c/b", val, b.mod_rev },
			};

			r = ds_txn(ds, ops, 2, &rev, NULL);
		}
		ds_kv_clear(&a);
		ds_kv_clear(&b);
		if (r < 0)
			return 25;
		if (write(wfd, &rev, sizeof(rev)) != sizeof(rev))
			return 22;
	}
	ds_close(ds);
	return 0;
}

static int cmp_rev(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_crash_safety(void **state)
{
	struct fx *f = *state;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	char url[160], path[160];
	int64_t *revs;
	size_t nrevs = 0, i;
	int round;

	other_url(f, "crash.db", url, sizeof(url));
	snprintf(path, sizeof(path), "%s/crash.db", f->dir);
	revs = calloc(CRASH_MAX_REPORTS, sizeof(*revs));
	assert_non_null(revs);
	print_message("crash test seed %u\n", seed);
	close_before_fork(f);

	for (round = 0; round < CRASH_ROUNDS; round++) {
		/* kill after this many reports, plus 0-2 ms more */
		int want = 1 + rand_r(&seed) % 40, got = 0, st;
		useconds_t extra = (useconds_t)(rand_r(&seed) % 2000);
		int p[2];
		pid_t pid;

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			_exit(crash_child(url, p[1]));
		}
		f->child = pid;
		close(p[1]);
		while (got < want) {
			int64_t rev;
			ssize_t len;

			assert_true(readable(p[0], POLL_MS));
			len = read(p[0], &rev, sizeof(rev));
			if (len == 0)
				break;	/* the child ended: status below */
			assert_int_equal(len, sizeof(rev));
			assert_true(nrevs < CRASH_MAX_REPORTS);
			revs[nrevs++] = rev;
			got++;
		}
		usleep(extra);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		f->child = 0;
		if (!WIFSIGNALED(st))
			fail_msg("round %d: child exited %d before the kill",
				 round, WEXITSTATUS(st));
		/* what it reported before dying counts too */
		for (;;) {
			int64_t rev;
			ssize_t len = read(p[0], &rev, sizeof(rev));

			if (len <= 0)
				break;
			assert_int_equal(len, sizeof(rev));
			assert_true(nrevs < CRASH_MAX_REPORTS);
			revs[nrevs++] = rev;
		}
		close(p[0]);
	}
	assert_true(nrevs >= CRASH_ROUNDS);

	/* the file itself, with sqlite directly */
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open_v2(path, &db,
						 SQLITE_OPEN_READWRITE, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db,
			"PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal(sqlite3_column_text(st, 0), "ok");
		sqlite3_finalize(st);

		/* every reported revision: both keys in the log */
		assert_int_equal(sqlite3_prepare_v2(db,
			"SELECT count(*) FROM log WHERE rev = ?1 AND key IN "
			"('/c/a', '/c/b')", -1, &st, NULL), SQLITE_OK);
		for (i = 0; i < nrevs; i++) {
			sqlite3_bind_int64(st, 1, revs[i]);
			assert_int_equal(sqlite3_step(st), SQLITE_ROW);
			if (sqlite3_column_int(st, 0) != 2)
				fail_msg("revision %" PRId64 " reported, not "
					 "in the log", revs[i]);
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);

		/* and the log has no gap: revisions 1..max, each once */
		assert_int_equal(sqlite3_prepare_v2(db,
			"SELECT count(DISTINCT rev), max(rev) FROM log", -1,
			&st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0),
				 sqlite3_column_int64(st, 1));
		sqlite3_finalize(st);
		sqlite3_close(db);
	}

	/* through the datastore: equal, and not older than any report */
	{
		struct ds *ds;
		struct ds_kv a, b;

		qsort(revs, nrevs, sizeof(*revs), cmp_rev);
		for (i = 1; i < nrevs; i++)
			assert_true(revs[i - 1] < revs[i]);
		assert_int_equal(ds_open(url, &ds), 0);
		assert_int_equal(ds_get(ds, "/c/a", &a), 0);
		assert_int_equal(ds_get(ds, "/c/b", &b), 0);
		assert_string_equal(a.value, b.value);
		assert_int_equal(a.mod_rev, b.mod_rev);
		assert_true(a.mod_rev >= revs[nrevs - 1]);
		assert_int_equal(ds_revision(ds), a.mod_rev);
		print_message("crash test: %zu commits reported over %d kills, "
			      "last revision %" PRId64 "\n", nrevs,
			      CRASH_ROUNDS, a.mod_rev);
		ds_kv_clear(&a);
		ds_kv_clear(&b);
		ds_close(ds);
	}
	free(revs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_unsafe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloexec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crud_cas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_invalid, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_paged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_other_process,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_processes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crash_safety, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
