/*
 * dsctl: look into and poke a datastore, for tests and debugging.
 *
 *   dsctl URL get KEY            the value
 *   dsctl URL put KEY VALUE|-    create or update unconditionally (- = stdin);
 *                                prints the new revision
 *   dsctl URL del KEY            delete (a missing key is an error)
 *   dsctl URL list PREFIX        KEY<TAB>VALUE per key, sorted
 *   dsctl URL rev                the store's revision
 *   dsctl URL dump               KEY<TAB>MOD_REV<TAB>VALUE for every key, sorted
 *   dsctl URL compact REV        forget the change log up to REV
 *   dsctl URL watch PREFIX FROM COUNT [SECONDS]
 *                                the next COUNT changes after revision FROM:
 *                                "put REV KEY VALUE" / "delete REV KEY";
 *                                fails when SECONDS (default 10) pass first
 *
 * In list, dump and watch a value's backslashes, tabs and newlines are
 * escaped (\\ \t \n), so that one line is one key. Exit 0 ok, 1 error (a
 * message on stderr), 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "datastore/datastore.h"

#define STDIN_MAX (16u << 20)
#define PUT_TRIES 100

static void usage(void)
{
	fprintf(stderr,
		"usage: dsctl URL get KEY | put KEY VALUE|- | del KEY |"
		" list PREFIX | rev | dump | compact REV |\n"
		"             watch PREFIX FROM COUNT [SECONDS]\n");
	exit(2);
}

static bool watch_timed_out;	/* dsctl's own deadline, not the store's */

static void fail(struct ds *ds, const char *what, int r)
{
	fprintf(stderr, "dsctl: %s: %s", what, ds_strerror(r));
	if (ds && r != -ENOENT && r != -EEXIST && !(r == -ETIMEDOUT && watch_timed_out))
		fprintf(stderr, " (%s)", ds_last_error(ds));
	fputc('\n', stderr);
	ds_close(ds);
	exit(1);
}

static void put_escaped(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else
			putchar(*s);
	}
}

static int64_t parse_int(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		usage();
	return v;
}

static char *read_stdin(void)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	for (;;) {
		size_t got;

		if (cap - len < 2) {
			char *nb;

			if (cap >= STDIN_MAX)
				goto bad;
			nb = realloc(buf, cap * 2);
			if (!nb)
				goto bad;
			buf = nb;
			cap *= 2;
		}
		got = fread(buf + len, 1, cap - len - 1, stdin);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(stdin) || memchr(buf, '\0', len))
		goto bad;
	buf[len] = '\0';
	return buf;
bad:
	free(buf);
	return NULL;
}

static int cmd_put(struct ds *ds, const char *key, const char *value)
{
	int64_t rev = 0;
	int i, r = -ECANCELED;

	/* Unconditional, but still through CAS: retry while others race us. */
	for (i = 0; i < PUT_TRIES && (r == -ECANCELED || r == -EEXIST ||
				      r == -ENOENT); i++) {
		struct ds_kv kv;

		r = ds_get(ds, key, &kv);
		if (r == -ENOENT) {
			r = ds_create(ds, key, value, &rev);
			continue;
		}
		if (r < 0)
			break;
		r = ds_update(ds, key, value, kv.mod_rev, &rev);
		ds_kv_clear(&kv);
	}
	if (r == 0)
		printf("%" PRId64 "\n", rev);
	return r;
}

static int cmd_watch(struct ds *ds, const char *prefix, int64_t from,
		     int64_t count, int64_t seconds)
{
	struct ds_watch *w = NULL;
	struct timespec t0, now;
	int64_t seen = 0;
	int r;

	r = ds_watch_new(ds, prefix, from, &w);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (seen < count) {
		struct pollfd p = { .fd = ds_watch_fd(w), .events = POLLIN };
		struct ds_event *evs;
		size_t n, i;
		int64_t left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = seconds * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 +
					 (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			watch_timed_out = true;
			r = -ETIMEDOUT;
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			break;
		}
		if (r == 0)
			continue;
		r = ds_watch_read(w, &evs, &n);
		if (r < 0)
			break;
		for (i = 0; i < n && seen < count; i++, seen++) {
			if (evs[i].type == DS_EV_PUT) {
				printf("put %" PRId64 " %s ", evs[i].rev,
				       evs[i].key);
				put_escaped(evs[i].value);
				putchar('\n');
			} else {
				printf("delete %" PRId64 " %s\n", evs[i].rev,
				       evs[i].key);
			}
		}
		ds_events_free(evs, n);
		fflush(stdout);
	}
	ds_watch_free(w);
	return r < 0 ? r : 0;
}

/* Checks the verb and its argument count before the store is opened (and,
 * maybe, created). */
static void check_args(int argc, char **argv)
{
	static const struct { const char *verb; int min, max; } verbs[] = {
		{ "get", 4, 4 }, { "put", 5, 5 }, { "del", 4, 4 },
		{ "list", 4, 4 }, { "rev", 3, 3 }, { "dump", 3, 3 },
		{ "compact", 4, 4 }, { "watch", 6, 7 },
	};
	size_t i;

	if (argc < 3)
		usage();
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[2], verbs[i].verb) && argc >= verbs[i].min &&
		    argc <= verbs[i].max)
			return;
	usage();
}

int main(int argc, char **argv)
{
	struct ds *ds = NULL;
	struct ds_kv *kvs = NULL, kv;
	const char *cmd;
	size_t n, i;
	int64_t rev;
	int r;

	check_args(argc, argv);
	cmd = argv[2];
	r = ds_open(argv[1], &ds);
	if (r < 0) {
		fprintf(stderr, "dsctl: open %s: %s (%s)\n", argv[1],
			ds_strerror(r), ds_last_error(NULL));
		return 1;
	}
	if (!strcmp(cmd, "get") && argc == 4) {
		r = ds_get(ds, argv[3], &kv);
		if (r < 0)
			fail(ds, argv[3], r);
		printf("%s\n", kv.value);
		ds_kv_clear(&kv);
	} else if (!strcmp(cmd, "put") && argc == 5) {
		char *value = NULL;

		if (!strcmp(argv[4], "-")) {
			value = read_stdin();
			if (!value) {
				fprintf(stderr, "dsctl: stdin: unreadable, "
					"too long or has a NUL byte\n");
				ds_close(ds);
				return 1;
			}
		}
		r = cmd_put(ds, argv[3], value ? value : argv[4]);
		free(value);
		if (r < 0)
			fail(ds, argv[3], r);
	} else if (!strcmp(cmd, "del") && argc == 4) {
		r = ds_delete(ds, argv[3], 0);
		if (r < 0)
			fail(ds, argv[3], r);
	} else if ((!strcmp(cmd, "list") && argc == 4) ||
		   (!strcmp(cmd, "dump") && argc == 3)) {
		bool dump = argc == 3;

		r = ds_list(ds, dump ? "" : argv[3], &kvs, &n, &rev);
		if (r < 0)
			fail(ds, "list", r);
		for (i = 0; i < n; i++) {
			if (dump)
				printf("%s\t%" PRId64 "\t", kvs[i].key,
				       kvs[i].mod_rev);
			else
				printf("%s\t", kvs[i].key);
			put_escaped(kvs[i].value);
			putchar('\n');
		}
		ds_kvs_free(kvs, n);
	} else if (!strcmp(cmd, "rev") && argc == 3) {
		rev = ds_revision(ds);
		if (rev < 0)
			fail(ds, "rev", (int)rev);
		printf("%" PRId64 "\n", rev);
	} else if (!strcmp(cmd, "compact") && argc == 4) {
		r = ds_compact(ds, parse_int(argv[3]));
		if (r < 0)
			fail(ds, "compact", r);
	} else if (!strcmp(cmd, "watch") && (argc == 6 || argc == 7)) {
		r = cmd_watch(ds, argv[3], parse_int(argv[4]),
			      parse_int(argv[5]),
			      argc == 7 ? parse_int(argv[6]) : 10);
		if (r < 0)
			fail(ds, "watch", r);
	} else {
		ds_close(ds);
		usage();
	}
	ds_close(ds);
	if (fflush(stdout) == EOF) {
		perror("dsctl: stdout");
		return 1;
	}
	return 0;
}
