/*
 * pol_fail: a NetworkPolicy that does not decode never opens what it
 * protected (docs/policy.md, "Policies fail closed").
 *
 * A stored version that does not decode (a field a newer petrel wrote, a
 * hand edit) or whose selector does not parse is not applied; in force
 * instead:
 *   - the last good version of the same key, when felix has one; kept
 *     over a relist (pol_fail_relist_begin/end), not over a restart (a
 *     new felix knows only what the store holds);
 *   - else a closed policy (netpolicy_closed_from_text): it denies, first,
 *     everything to and from what the raw selector selects, every workload
 *     when that does not parse either.
 * Each failure is one record (struct pfail), logged once (the same
 * revision listed again is not logged again), shown in status as
 * nft.policyFailures; it goes when a good version arrives or the key is
 * deleted (and with it the closed policy).
 *
 * Invariant: a record exists for name iff the newest stored version of
 * name that felix has seen does not decode; rec->closed iff what is in
 * force for it is a closed policy (struct ppol.closed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "felix/pol_int.h"
#include "model/netpolicy.h"

static struct pfail *fail_find(struct fpol *p, const char *name)
{
	for (size_t i = 0; i < p->n_fails; i++)
		if (!strcmp(p->fails[i].name, name))
			return &p->fails[i];
	return NULL;
}

static void fail_drop(struct fpol *p, struct pfail *rec)
{
	ppol_free(rec->keep);
	*rec = p->fails[--p->n_fails];
}

void pol_fail_forget(struct fpol *p, const char *name)
{
	struct pfail *rec = fail_find(p, name);

	if (rec) {
		log_info("store: network policy %s: the failure of revision %lld is "
			 "over", name, (long long)rec->rev);
		fail_drop(p, rec);
	}
}

/* The stored version decoded and prepared, or -EINVAL with reason set. */
static int try_decode(const char *name, const char *text, int64_t rev,
		      struct ppol **out, char *reason, size_t len)
{
	struct resource res;
	struct errs er = ERRS_INIT;
	struct ppol *pp;
	int r;

	*out = NULL;
	r = res_from_text(RES_NETPOLICY, text, rev, &res, &er);
	if (r == 0 && strcmp(res.u.netpolicy.name, name)) {
		snprintf(reason, len, "metadata.name \"%s\" is not the key's name",
			 res.u.netpolicy.name);
		res_clear(&res);
		errs_clear(&er);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(reason, len, "%s", r == -ENOMEM ? "out of memory" :
			 er.n ? er.msg[0] : "invalid");
		errs_clear(&er);
		return r == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	pp = calloc(1, sizeof(*pp));
	if (!pp) {
		res_clear(&res);
		return -ENOMEM;
	}
	pp->np = res.u.netpolicy;	/* moved: res is not cleared */
	pp->rev = rev;
	r = compile_policy_prepare(&pp->cp, &pp->np, &er);
	if (r < 0) {
		snprintf(reason, len, "%s", er.n ? er.msg[0] : "out of memory");
		errs_clear(&er);
		ppol_free(pp);
		return r;
	}
	*out = pp;
	return 0;
}

static int closed_new(const char *name, const char *text, int64_t rev,
		      struct ppol **out, unsigned *flags)
{
	struct ppol *pp = calloc(1, sizeof(*pp));
	int r;

	*out = NULL;
	if (!pp)
		return -ENOMEM;
	/* name is the key's, which the store checked */
	r = netpolicy_closed_from_text(text, name, &pp->np, flags);
	if (r == 0)
		r = compile_policy_prepare(&pp->cp, &pp->np, NULL);
	if (r < 0) {
		ppol_free(pp);
		return r == -EINVAL ? -ENOMEM : r;	/* cannot happen: a parsed selector */
	}
	pp->rev = rev;
	pp->closed = true;
	*out = pp;
	return 0;
}

int pol_fail_decode(struct fpol *p, const char *name, const char *text,
		    int64_t rev, bool have_good, struct ppol **out)
{
	char reason[POL_FAIL_REASON_MAX], key[RES_KEY_MAX + RES_NAME_MAX];
	struct pfail *rec, *v;
	struct ppol *pp = NULL;
	unsigned flags = 0;
	bool fresh;
	int r;

	*out = NULL;
	r = try_decode(name, text, rev, &pp, reason, sizeof(reason));
	if (r == 0) {
		pol_fail_forget(p, name);
		*out = pp;
		return 0;
	}
	if (r == -ENOMEM)
		return r;
	rec = fail_find(p, name);
	if (!rec) {
		v = realloc(p->fails, (p->n_fails + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		p->fails = v;
		rec = &p->fails[p->n_fails++];
		memset(rec, 0, sizeof(*rec));
		snprintf(rec->name, sizeof(rec->name), "%s", name);
		rec->rev = -1;
	}
	if (have_good) {
		rec->closed = false;
	} else if (rec->keep) {
		*out = rec->keep;	/* the last good version, back from a relist */
		rec->keep = NULL;
		rec->closed = false;
	} else {
		r = closed_new(name, text, rev, &pp, &flags);
		if (r < 0) {
			if (rec->rev < 0)
				fail_drop(p, rec);
			return r;
		}
		*out = pp;
		rec->closed = true;
		rec->flags = flags;
	}
	fresh = rec->rev != rev || strcmp(rec->reason, reason);
	rec->rev = rev;
	rec->seen = true;
	snprintf(rec->reason, sizeof(rec->reason), "%s", reason);
	if (fresh) {
		snprintf(key, sizeof(key), "%s%s", p->prefix[PK_POLICY], name);
		log_warn("store: network policy %s (revision %lld) does not decode: %s; "
			 "in force: %s", key, (long long)rev, reason,
			 !rec->closed ? "its last good version" :
			 rec->flags & NP_CLOSED_ALL ?
			 "a closed policy that denies every workload (its selector "
			 "cannot be read)" :
			 "a closed policy that denies what its selector selects");
	}
	return 0;
}

void pol_fail_relist_begin(struct fpol *p)
{
	for (size_t i = 0; i < p->n_fails; i++) {
		struct pfail *rec = &p->fails[i];

		rec->seen = false;
		if (rec->closed || rec->keep)
			continue;
		for (size_t j = 0; j < p->n_pols; j++) {
			struct ppol *pp = (struct ppol *)p->pols[j];

			if (!strcmp(pp->np.name, rec->name)) {
				rec->keep = pp;
				p->pols[j] = p->pols[--p->n_pols];
				break;
			}
		}
	}
}

void pol_fail_relist_end(struct fpol *p)
{
	for (size_t i = 0; i < p->n_fails;) {
		struct pfail *rec = &p->fails[i];

		if (!rec->seen) {
			fail_drop(p, rec);	/* the key is gone */
			continue;
		}
		/* listed, and still bad: its kept version went back in force */
		i++;
	}
}

json_t *pol_fail_json(const struct fpol *p)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->n_fails; i++) {
		const struct pfail *rec = &p->fails[i];

		if (json_array_append_new(a, json_pack(
			"{s:s,s:I,s:s,s:s,s:b}", "name", rec->name,
			"revision", (json_int_t)rec->rev, "reason", rec->reason,
			"inForce", rec->closed ? "closed" : "last-good",
			"closesAll", rec->closed && (rec->flags & NP_CLOSED_ALL))) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

void pol_fail_free(struct fpol *p)
{
	for (size_t i = 0; i < p->n_fails; i++)
		ppol_free(p->fails[i].keep);
	free(p->fails);
	p->fails = NULL;
	p->n_fails = 0;
}
