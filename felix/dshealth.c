/*
 * dshealth: whether felix can reach its datastore, and what it does when it
 * cannot (the "datastore" part, felix/part.h).
 *
 * The store is "down" from the first failure of anything felix asks it (a
 * list, the watch, its Node's registration or heartbeat, a probe) until
 * one of them succeeds again. While down:
 *  - nothing is torn down: a relist is all or nothing in every part (a
 *    list that fails leaves what the part had), the sweep of unclaimed host
 *    ends waits (a workload made just before the outage would look
 *    unclaimed), and nftables, routes and BIRD keep the last known state;
 *  - it is said once in the log (warning) when it starts and once when it
 *    ends (info, with how long), and in the status reply ("datastore");
 *  - what failed is tried again with a backoff, DSH_BACKOFF_MIN_MS doubling
 *    up to DSH_BACKOFF_MAX_MS: the relist when one is due, else a new watch
 *    from the revision felix has applied (a compacted one: relist), else a
 *    probe (the store's revision), and the registration when still due.
 * Before the store has been listed once (felix started while it was down)
 * only this part and the status server run (part.h before_store): no pass
 * compares the kernel against an empty desired state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "felix/felix.h"

void dsh_fail(struct felix *f, const char *what, int err)
{
	struct fdsh *h = &f->dsh;
	uint64_t now = felix_now_ns();

	snprintf(h->what, sizeof(h->what), "%s", what);
	h->err = err;
	snprintf(h->text, sizeof(h->text), "%s%s%s", ds_strerror(err),
		 f->ds && ds_last_error(f->ds)[0] ? ": " : "",
		 f->ds ? ds_last_error(f->ds) : "");
	if (!h->down) {
		h->down = true;
		h->since_ns = now;
		h->since_wall = (int64_t)time(NULL);
		h->backoff_ms = DSH_BACKOFF_MIN_MS;
		h->retries = 0;
		h->outages++;
		log_warn("datastore %s unreachable (%s: %s): keeping the dataplane as it is, "
			 "retrying every %d..%d ms", f->cfg->datastore, what, h->text,
			 DSH_BACKOFF_MIN_MS, DSH_BACKOFF_MAX_MS);
	} else {
		h->retries++;
		h->backoff_ms = h->backoff_ms * 2 > DSH_BACKOFF_MAX_MS ?
				DSH_BACKOFF_MAX_MS : h->backoff_ms * 2;
		log_debug("datastore: %s failed again (%s), next try in %u ms", what,
			  h->text, h->backoff_ms);
	}
	h->retry_at = now + (uint64_t)h->backoff_ms * 1000000ull;
}

void dsh_ok(struct felix *f)
{
	struct fdsh *h = &f->dsh;

	if (!h->down)
		return;
	log_info("datastore %s reachable again after %.1f s (%llu retries): catching up from revision %lld",
		 f->cfg->datastore, (double)(felix_now_ns() - h->since_ns) / 1e9,
		 (unsigned long long)h->retries, (long long)f->applied_rev);
	h->down = false;
	h->retry_at = 0;
	h->backoff_ms = 0;
	h->err = 0;
	h->text[0] = '\0';
}

bool dsh_due(const struct felix *f)
{
	return !f->dsh.down || felix_now_ns() >= f->dsh.retry_at;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

void dsh_describe(const struct felix *f, char *buf, size_t len)
{
	char t[32];

	if (!f->dsh.down) {
		snprintf(buf, len, "%s", "");
		return;
	}
	fmt_time(f->dsh.since_wall, t, sizeof(t));
	snprintf(buf, len, "datastore unreachable since %s (%s: %s), retrying",
		 t, f->dsh.what, f->dsh.text);
}

/* The retry that is due while down, when no relist or new watch is (those
 * are feed.c's and reconcile.c's): a probe. */
static void dsh_sync(struct felix *f)
{
	int64_t r;

	if (f->need_register && dsh_due(f)) {
		if (noderec_register(f) == 0)
			f->need_register = false;
		return;
	}
	if (f->dsh.down) {
		if (!dsh_due(f) || f->need_relist || !f->watch)
			return;
		r = ds_revision(f->ds);
		if (r < 0)
			dsh_fail(f, "probe", (int)r);
		else
			dsh_ok(f);
		return;
	}
	if (f->store_known && felix_now_ns() >= f->heartbeat_at)
		noderec_heartbeat(f, false);
}

static int dsh_timeout_ms(struct felix *f)
{
	int t = -1;

	if (f->dsh.down)
		t = felix_ms_until(f->dsh.retry_at ? f->dsh.retry_at : 1);
	else if (f->need_register)
		t = 0;
	else if (f->store_known && f->heartbeat_at)
		t = felix_ms_until(f->heartbeat_at);
	return t;
}

static json_t *dsh_status_json(struct felix *f)
{
	const struct fdsh *h = &f->dsh;
	char t[32], why[512];
	json_t *o;

	o = json_pack("{s:s,s:b,s:b,s:I}", "url", f->cfg->datastore,
		      "reachable", !h->down, "listed", f->store_known,
		      "outages", (json_int_t)h->outages);
	if (!o || !h->down)
		return o;
	fmt_time(h->since_wall, t, sizeof(t));
	dsh_describe(f, why, sizeof(why));
	json_object_set_new(o, "since", json_string(t));
	json_object_set_new(o, "failed", json_string(h->what));
	json_object_set_new(o, "error", json_string(h->text));
	json_object_set_new(o, "retries", json_integer((json_int_t)h->retries));
	json_object_set_new(o, "retryInMs", json_integer(felix_ms_until(h->retry_at)));
	json_object_set_new(o, "message", json_string(why));
	return o;
}

const struct fpart ds_part = {
	.name = "datastore",
	.before_store = true,
	.sync = dsh_sync,
	.timeout_ms = dsh_timeout_ms,
	.status_json = dsh_status_json,
};
