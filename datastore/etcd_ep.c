/*
 * etcd_ep: the "etcd:" URL's endpoints and options, and the failover order
 * of one request (see etcd_ep.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/etcd_ep.h"
#include "common/hex.h"

void etcd_opts_clear(struct etcd_opts *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->eps[i]);
	free(o->ca);
	free(o->cert);
	free(o->key);
	free(o->user);
	free(o->password_file);
	free(o->prefix);
	memset(o, 0, sizeof(*o));
}

/* s[0..n) percent-decoded, malloc'd; NULL on a bad escape, a NUL or no memory. */
static char *pct_dup(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* http(s)://host:port, no path, no user info. */
static bool ep_ok(const char *s, size_t n)
{
	size_t skip, i;
	const char *colon = NULL;

	if (n > 7 && !strncmp(s, "http://", 7))
		skip = 7;
	else if (n > 8 && !strncmp(s, "https://", 8))
		skip = 8;
	else
		return false;
	if (n - skip > 255)
		return false;
	for (i = skip; i < n; i++) {
		char c = s[i];

		if (c == ':' && s[skip] != '[')
			colon = s + i;
		else if (c == ']' && s[skip] == '[')
			colon = NULL;
		else if (c == '/' || c == '@' || c == '?' || c == '#' ||
			 c <= ' ' || c > '~')
			return false;
	}
	if (s[skip] == '[') {	/* [v6]:port */
		const char *rb = memchr(s + skip, ']', n - skip);

		return rb && rb + 1 < s + n && rb[1] == ':' && rb + 2 < s + n;
	}
	return colon && colon > s + skip && colon + 1 < s + n;
}

static int opt_set(struct etcd_opts *o, const char *name, size_t nl,
		   const char *val, size_t vl, char *err, size_t errlen)
{
	static const char *const names[] = {
		"ca", "cert", "key", "user", "password_file", "prefix", "timeout",
	};
	char **slot[] = {
		&o->ca, &o->cert, &o->key, &o->user, &o->password_file,
		&o->prefix, NULL,
	};
	size_t i;
	char *v;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == nl && !strncmp(names[i], name, nl))
			break;
	if (i == sizeof(names) / sizeof(names[0])) {
		snprintf(err, errlen, "unknown option \"%.*s\" (ca, cert, key, "
			 "user, password_file, prefix, timeout)", (int)nl, name);
		return -EINVAL;
	}
	v = pct_dup(val, vl);
	if (!v || !v[0]) {
		snprintf(err, errlen, "option %s: %s", names[i],
			 v ? "empty" : "bad %-escape");
		free(v);
		return -EINVAL;
	}
	if (!slot[i]) {
		char *end;
		long long ms = strtoll(v, &end, 10);
		bool ok = !*end && ms >= 100 && ms <= 600000;

		free(v);
		if (!ok) {
			snprintf(err, errlen, "option timeout: milliseconds, "
				 "100..600000");
			return -EINVAL;
		}
		o->timeout_ms = ms;
		return 0;
	}
	if (*slot[i]) {
		snprintf(err, errlen, "option %s given twice", names[i]);
		free(v);
		return -EINVAL;
	}
	*slot[i] = v;
	return 0;
}

int etcd_opts_parse(const char *where, struct etcd_opts *o, char *err,
		    size_t errlen)
{
	const char *q = strchr(where, '?'), *p = where, *end;
	size_t len = q ? (size_t)(q - where) : strlen(where);
	int r = -EINVAL;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = ETCD_TIMEOUT_MS;
	while (p < where + len) {
		const char *comma = memchr(p, ',', (size_t)(where + len - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(where + len - p);

		if (!ep_ok(p, n)) {
			snprintf(err, errlen, "endpoint \"%.*s\": expected "
				 "http://HOST:PORT or https://HOST:PORT",
				 (int)(n > 80 ? 80 : n), p);
			goto bad;
		}
		if (o->n == ETCD_EP_MAX) {
			snprintf(err, errlen, "more than %d endpoints", ETCD_EP_MAX);
			goto bad;
		}
		o->eps[o->n] = strndup(p, n);
		if (!o->eps[o->n]) {
			r = -ENOMEM;
			goto bad;
		}
		o->n++;
		if (!comma)
			break;
		p = comma + 1;
		if (p == where + len) {
			snprintf(err, errlen, "an empty endpoint after the last comma");
			goto bad;
		}
	}
	if (o->n == 0) {
		snprintf(err, errlen, "no endpoint (etcd:https://HOST:PORT[,...])");
		goto bad;
	}
	for (p = q ? q + 1 : NULL; p && *p; p = end ? end + 1 : NULL) {
		const char *eq;

		end = strchr(p, '&');
		len = end ? (size_t)(end - p) : strlen(p);
		eq = memchr(p, '=', len);
		if (!eq) {
			snprintf(err, errlen, "option \"%.*s\": expected NAME=VALUE",
				 (int)(len > 40 ? 40 : len), p);
			goto bad;
		}
		r = opt_set(o, p, (size_t)(eq - p), eq + 1,
			    len - (size_t)(eq + 1 - p), err, errlen);
		if (r < 0)
			goto bad;
		r = -EINVAL;
	}
	if (!o->prefix && !(o->prefix = strdup(""))) {
		r = -ENOMEM;
		goto bad;
	}
	if (o->prefix[0] && (o->prefix[0] != '/' ||
			     o->prefix[strlen(o->prefix) - 1] == '/')) {
		snprintf(err, errlen, "option prefix: \"/NAME\" (a leading "
			 "slash, no trailing one)");
		goto bad;
	}
	if (!o->cert != !o->key) {
		snprintf(err, errlen, "options cert and key go together");
		goto bad;
	}
	if (!o->user != !o->password_file) {
		snprintf(err, errlen, "options user and password_file go together");
		goto bad;
	}
	return 0;
bad:
	etcd_opts_clear(o);
	return r;
}

void etcd_try_begin(struct etcd_try *t, size_t n, size_t first, int64_t now,
		    int64_t budget_ms)
{
	memset(t, 0, sizeof(*t));
	t->n = n;
	t->cur = n ? first % n : 0;
	t->deadline = now + budget_ms;
}

int etcd_try_next(struct etcd_try *t, bool permanent, int64_t now,
		  int64_t *sleep_ms)
{
	int64_t nap = 0;

	*sleep_ms = 0;
	t->tried++;
	if (permanent)
		t->perm++;
	t->cur = (t->cur + 1) % t->n;
	if (t->tried >= t->n) {
		/* a whole round failed */
		if (t->perm >= t->n)
			return -EACCES;
		nap = ETCD_BACKOFF_MIN_MS << (t->round < 5 ? t->round : 5);
		if (nap > ETCD_BACKOFF_MAX_MS)
			nap = ETCD_BACKOFF_MAX_MS;
		t->round++;
		t->tried = t->perm = 0;
	}
	/* an attempt needs some time left after the nap */
	if (now + nap + 10 > t->deadline)
		return -ETIMEDOUT;
	*sleep_ms = nap;
	return 0;
}

int64_t etcd_try_attempt_ms(const struct etcd_try *t, int64_t now, int64_t cap)
{
	int64_t left = t->deadline - now;

	if (left > cap)
		left = cap;
	return left < 1 ? 1 : left;
}
