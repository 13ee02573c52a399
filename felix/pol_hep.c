/*
 * pol_hep: this node's HostEndpoints in felix's table (policy/compile_hep.c
 * builds their chains). A node has a few, so each change (a host endpoint,
 * or any policy) rebuilds all of their chains; the pieces that were or are
 * theirs go in the next batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "felix/pol_int.h"

/* One of this node's host endpoints, as the compiler sees it. */
struct phep {
	struct hostep h;		/* owned */
	struct compile_hep v;		/* points into h */
};

static void phep_free(struct phep *e)
{
	if (!e)
		return;
	hostep_clear(&e->h);
	free(e);
}

/* The host endpoints' chains of want, and the fixed pieces that point at
 * them, queued for the next batch. */
static void hep_dirty(struct fpol *p)
{
	static const char *const fixed[] = { "hep-wl", "hep-fwd", "hep-pre" };

	for (size_t i = 0; i < p->want->n_chains; i++)
		if (p->want->chains[i]->role == NIR_CHAIN_HOST)
			pol_dirty_chain(p, p->want->chains[i]->name);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		pol_dirty_chain(p, fixed[i]);
	pol_dirty_set(p, COMPILE_MAP_FROM_HEP);
	pol_dirty_set(p, COMPILE_MAP_TO_HEP);
}

void pol_hep_rebuild(struct fpol *p)
{
	const struct compile_hep **v;

	if (!p->n_heps && !p->heps_built)
		return;		/* none, and none before: nothing changes */
	v = calloc(p->n_heps + 1, sizeof(*v));
	if (!v) {
		p->verify = true;
		p->verify_why = "out of memory";
		return;
	}
	for (size_t i = 0; i < p->n_heps; i++)
		v[i] = &p->heps[i]->v;
	hep_dirty(p);		/* the chains that go */
	if (compile_heps(p->want, v, p->n_heps,
			 (const struct compile_policy *const *)p->pols, p->n_pols) < 0) {
		p->verify = true;
		p->verify_why = "out of memory";
	}
	hep_dirty(p);		/* the chains that come */
	p->heps_built = p->n_heps > 0;
	free(v);
}

void pol_hep_event(struct felix *f, const char *name, const char *text,
		   int64_t rev)
{
	struct fpol *p = f->pol;
	struct resource res;
	struct errs er = ERRS_INIT;
	struct phep *e, **nv;

	for (size_t i = 0; i < p->n_heps; i++)
		if (!strcmp(p->heps[i]->h.name, name)) {
			phep_free(p->heps[i]);
			p->heps[i] = p->heps[--p->n_heps];
			break;
		}
	if (text && res_from_text(RES_HOSTEP, text, rev, &res, &er) < 0) {
		log_warn("store: host endpoint %s (revision %lld) is invalid, ignored: %s",
			 name, (long long)rev, er.n ? er.msg[0] : "?");
		errs_clear(&er);
		text = NULL;
	}
	if (text && strcmp(res.u.hostep.node, f->cfg->node)) {
		res_clear(&res);	/* another node's */
		text = NULL;
	}
	if (text) {
		e = calloc(1, sizeof(*e));
		nv = e ? realloc(p->heps, (p->n_heps + 1) * sizeof(*nv)) : NULL;
		if (!nv) {
			free(e);
			res_clear(&res);
			p->verify = true;
			p->verify_why = "out of memory";
		} else {
			e->h = res.u.hostep;	/* moved */
			e->v = (struct compile_hep){
				.name = e->h.name, .ifname = e->h.ifname,
				.n_ips = e->h.n_ips, .ips = e->h.ips,
				.labels = &e->h.labels,
			};
			p->heps = nv;
			p->heps[p->n_heps++] = e;
		}
	}
	pol_hep_rebuild(p);
}

void pol_hep_clear(struct fpol *p)
{
	for (size_t i = 0; i < p->n_heps; i++)
		phep_free(p->heps[i]);
	p->n_heps = 0;
	p->heps_built = false;
}

void pol_hep_close(struct fpol *p)
{
	pol_hep_clear(p);
	free(p->heps);
	p->heps = NULL;
}
