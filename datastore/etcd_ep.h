/*
 * etcd_ep: what an "etcd:" URL says, and the order in which a request
 * tries the endpoints (private to datastore/; pure, no I/O but the clock
 * the caller passes in).
 *
 *   etcd:URL[,URL...][?OPT=VALUE[&OPT=VALUE...]]
 *   URL      http://HOST:PORT or https://HOST:PORT (at most ETCD_EP_MAX)
 *   ca=FILE          the CA that signed the members' certificates
 *   cert=FILE        client certificate (with key=)
 *   key=FILE         its private key (root-owned, 0600)
 *   user=NAME        etcd user; with password_file=FILE (root-owned, 0600)
 *   prefix=/P        prepended to every key, taken off every reply's key
 *                    (a shared cluster: /team1); default none
 *   timeout=MS       the deadline of one request, every retry included
 *                    (default 5000, 100..600000)
 * VALUEs are percent-decoded (%2C for a comma in a file name).
 *
 * Failover (struct etcd_try): a request starts at the member that answered
 * last; a member that fails is skipped for the next (round robin); after a
 * round in which every member failed it waits (50 ms, doubling, at most
 * 1 s) and goes round again, until the request's deadline. A round in which
 * every member failed for good (TLS) ends the request at once.
 */
#ifndef PETREL_ETCD_EP_H
#define PETREL_ETCD_EP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_EP_MAX 16
#define ETCD_TIMEOUT_MS 5000
#define ETCD_BACKOFF_MIN_MS 50
#define ETCD_BACKOFF_MAX_MS 1000

struct etcd_opts {
	char *eps[ETCD_EP_MAX];		/* owned, "https://host:port" */
	size_t n;
	char *ca, *cert, *key, *user, *password_file;	/* owned or NULL */
	char *prefix;			/* owned, "" when none */
	int64_t timeout_ms;
};

/* where: the URL after "etcd:". 0, or -EINVAL with err filled. */
int etcd_opts_parse(const char *where, struct etcd_opts *o, char *err,
		    size_t errlen);
void etcd_opts_clear(struct etcd_opts *o);

struct etcd_try {
	size_t n;		/* endpoints */
	size_t cur;		/* the one to try now */
	size_t tried;		/* failures in this round */
	size_t perm;		/* of them for good */
	unsigned round;
	int64_t deadline;	/* ms, the caller's clock */
};
void etcd_try_begin(struct etcd_try *t, size_t n, size_t first, int64_t now,
		    int64_t budget_ms);
/* After a failure of t->cur (permanent: for good): 0 with t->cur the next
 * one to try, after *sleep_ms; -ETIMEDOUT when the deadline leaves no time,
 * -EACCES when every member of a round failed for good. */
int etcd_try_next(struct etcd_try *t, bool permanent, int64_t now,
		  int64_t *sleep_ms);
/* The time one attempt may take: what is left, at most cap (>= 1). */
int64_t etcd_try_attempt_ms(const struct etcd_try *t, int64_t now, int64_t cap);

#endif
