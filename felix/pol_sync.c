/*
 * pol_sync: felix's wanted table to the kernel (pol_int.h). One batch per
 * pass with the pieces changed since the last (typed, each once); the whole
 * table compared and, when it differs, replaced in one transaction after a
 * start, a failure or a change by someone else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "felix/felix.h"
#include "felix/nft.h"
#include "felix/pol_int.h"

/* ---------- to the kernel ---------- */

/* Puts a deep copy of c (or s) into d where the IR keeps it (its arrays
 * are ordered for lookups): an empty one is added through the API, then
 * takes the copy's contents. */
static int copy_chain(struct nir_table *d, const struct nir_chain *c)
{
	struct nir_chain *x = c->hook != NH_NONE ?
		nir_base_chain_add(d, c->name, c->hook, c->nat, c->prio, c->policy_drop) :
		nir_chain_add(d, c->name);
	struct nir_chain *dup = x ? nir_chain_dup(c) : NULL, tmp;

	if (!dup) {
		if (x)
			nir_chain_del(d, c->name);
		return -ENOMEM;
	}
	tmp = *x;
	*x = *dup;
	*dup = tmp;
	nir_chain_free(dup);
	return 0;
}

static int copy_set(struct nir_table *d, const struct nir_set *s)
{
	struct nir_set *x = nir_set_add(d, s->name, s->type);
	struct nir_set *dup = x ? nir_set_dup(s) : NULL, tmp;

	if (!dup) {
		if (x)
			nir_set_del(d, s->name);
		return -ENOMEM;
	}
	tmp = *x;
	*x = *dup;
	*dup = tmp;
	nir_set_free(dup);
	return 0;
}

static struct nir_table *table_dup(const struct nir_table *t)
{
	struct nir_table *d = nir_table_new();

	if (!d)
		return NULL;
	/* the same order as t: the arrays are copied whole */
	d->chains = calloc(t->n_chains + 1, sizeof(*d->chains));
	d->sets = calloc(t->n_sets + 1, sizeof(*d->sets));
	if (!d->chains || !d->sets)
		goto fail;
	d->cap_chains = t->n_chains + 1;
	d->cap_sets = t->n_sets + 1;
	for (size_t i = 0; i < t->n_chains; i++) {
		if (!(d->chains[i] = nir_chain_dup(t->chains[i])))
			goto fail;
		d->n_chains++;
	}
	for (size_t i = 0; i < t->n_sets; i++) {
		if (!(d->sets[i] = nir_set_dup(t->sets[i])))
			goto fail;
		d->n_sets++;
	}
	return d;
fail:
	nir_table_free(d);
	return NULL;
}

/* After an acknowledged update: have takes want's version of each name. */
static int have_take(struct fpol *p)
{
	for (size_t i = 0; i < p->n_dirty; i++) {
		const char *name = p->dirty[i]->name;

		if (p->dirty[i]->kind == NFTK_CHAIN) {
			const struct nir_chain *c = nir_chain_find(p->want, name);

			nir_chain_del(p->have, name);
			if (c && copy_chain(p->have, c) < 0)
				return -ENOMEM;
		} else {
			const struct nir_set *s = nir_set_find(p->want, name);

			nir_set_del(p->have, name);
			if (s && copy_set(p->have, s) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int64_t us_since(uint64_t t0)
{
	return (int64_t)((felix_now_ns() - t0) / 1000);
}

/* The table's guard (felix.h: pol_guard); the kernel part sees it change
 * and checks every endpoint again (routes, route_localnet). */
static void guard_set(struct felix *f, int g)
{
	struct fpol *p = f->pol;

	if (p->guard == g)
		return;
	if (g == POL_GUARD_YES && p->guard == POL_GUARD_NO)
		log_info("nft: table inet petrel is in the kernel again: workload routes and route_localnet follow");
	else if (g == POL_GUARD_NO)
		log_warn("nft: table inet petrel is not known to be in the kernel: no new workload route, route_localnet off");
	p->guard = g;
}

int pol_guard(struct felix *f)
{
	return f->pol ? f->pol->guard : POL_GUARD_YES;
}

static void fail(struct felix *f, const char *what, int r, const char *err)
{
	struct fpol *p = f->pol;

	char msg[sizeof(p->last_err)];

	snprintf(msg, sizeof(msg), "%s: %s", what, err && err[0] ? err : strerror(-r));
	/* once per distinct error: a kernel without nf_tables would otherwise
	 * fill the log at the retry rate */
	if (strcmp(msg, p->last_err))
		log_err("nft: %s (retrying every %d ms)", msg, POL_RETRY_MS);
	else
		log_debug("nft: %s", msg);
	memcpy(p->last_err, msg, sizeof(msg));
	nir_table_free(p->have);
	p->have = NULL;
	p->verify = true;
	p->verify_why = "a batch failed";
	p->retry_at = felix_now_ns() + (uint64_t)POL_RETRY_MS * 1000000;
	guard_set(f, POL_GUARD_NO);
}

static void sync_full(struct felix *f)
{
	struct fpol *p = f->pol;
	char why[256] = "", err[256] = "";
	uint64_t t0 = felix_now_ns();
	int r;

	r = nftk_verify(p->k, p->want, why, sizeof(why));
	if (r < 0) {
		fail(f, "reading table inet petrel back", r, NULL);
		return;
	}
	if (r == 0) {
		t0 = felix_now_ns();
		r = nftk_replace(p->k, p->want, err, sizeof(err));
		if (r < 0) {
			fail(f, "replacing table inet petrel", r, err);
			return;
		}
		p->full_replaces++;
		if (p->have)
			p->repairs++;
		p->last_full_us = us_since(t0);
		nftk_last_batch(p->k, &p->last_batch_msgs, &(size_t){ 0 });
		log_info("nft: full table written in %.1f ms (%zu messages; %s; %s)",
			 p->last_full_us / 1000.0, p->last_batch_msgs,
			 p->verify_why ? p->verify_why : "start", why);
	} else {
		log_debug("nft: the kernel's table is the wanted one (%.1f ms to compare)",
			  us_since(t0) / 1000.0);
	}
	nir_table_free(p->have);
	p->have = table_dup(p->want);
	if (!p->have) {
		fail(f, "copying the table", -ENOMEM, NULL);
		return;
	}
	p->verify = false;
	p->verify_why = NULL;
	p->last_err[0] = '\0';
	pol_dirty_clear(p);
	guard_set(f, POL_GUARD_YES);
}

static void sync_dirty(struct felix *f)
{
	struct fpol *p = f->pol;
	char err[256] = "";
	uint64_t t0 = felix_now_ns();
	int r;

	r = nftk_update(p->k, p->have, p->want,
			(const struct nftk_piece *const *)p->dirty, p->n_dirty,
			err, sizeof(err));
	if (r < 0) {
		fail(f, "updating table inet petrel", r, err);
		pol_dirty_clear(p);
		return;
	}
	p->batches++;
	p->last_batch_us = us_since(t0);
	nftk_last_batch(p->k, &p->last_batch_msgs, &(size_t){ 0 });
	log_debug("nft: batch of %zu messages for %zu pieces (%s%s) in %.2f ms "
		  "(kernel %.2f ms)", p->last_batch_msgs, p->n_dirty, p->dirty[0]->name,
		  p->n_dirty > 1 ? ", ..." : "", p->last_batch_us / 1000.0,
		  nftk_last_kernel_us(p->k) / 1000.0);
	if (have_take(p) < 0)
		fail(f, "copying the table", -ENOMEM, NULL);
	pol_dirty_clear(p);
}

void pol_sync(struct felix *f)
{
	struct fpol *p = f->pol;

	if (!p)
		return;
	if (p->retry_at) {
		if (felix_now_ns() < p->retry_at)
			return;
		p->retry_at = 0;
	}
	if (p->tracks_dirty) {
		/* once per pass: it walks every rule */
		p->tracks_dirty = false;
		pol_tracks_sync(p);
	}
	if (p->verify || !p->have)
		sync_full(f);
	else if (p->n_dirty)
		sync_dirty(f);
	pol_hosts_sync(p);
}

bool pol_ready(struct felix *f)
{
	struct fpol *p = f->pol;

	return !p || (p->have && !p->verify && p->n_dirty == 0);
}

int pol_timeout_ms(struct felix *f)
{
	struct fpol *p = f->pol;
	uint64_t now;

	if (!p)
		return -1;
	if (!p->retry_at)
		return (p->verify || p->n_dirty || p->hosts_dirty) ? 0 : -1;
	now = felix_now_ns();
	return p->retry_at > now ? (int)((p->retry_at - now) / 1000000) + 1 : 0;
}

void pol_mon_event(struct felix *f)
{
	struct fpol *p = f->pol;

	if (p && nftk_mon_read(p->k) > 0 && !p->verify) {
		p->verify = true;
		p->verify_why = "table inet petrel changed by someone else";
	}
}

void pol_periodic(struct felix *f)
{
	struct fpol *p = f->pol;

	if (p && !p->verify) {
		p->verify = true;
		p->verify_why = "periodic check";
	}
}

json_t *pol_status_json(struct felix *f)
{
	struct fpol *p = f->pol;

	if (!p)
		return NULL;
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s,s:o*}",
			 "inSync", pol_ready(f),
			 "endpoints", (json_int_t)p->n_peps,
			 "policies", (json_int_t)p->n_pols,
			 "sets", (json_int_t)p->n_tracks,
			 "batches", (json_int_t)p->batches,
			 "fullReplaces", (json_int_t)p->full_replaces,
			 "repairs", (json_int_t)p->repairs,
			 "lastFullUs", (json_int_t)p->last_full_us,
			 "lastBatchUs", (json_int_t)p->last_batch_us,
			 "lastError", p->last_err,
			 "policyFailures", pol_fail_json(p));
}

