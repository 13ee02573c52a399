/*
 * compile_hep: the chains of this node's host endpoints (Calico's
 * HostEndpoint; the layout: compile.h), rebuilt whole when a host endpoint
 * or a policy changes: a node has a few of them, so nothing is shared or
 * kept incrementally.
 *
 * Per host endpoint NAME, from the policies whose selector selects its
 * labels, in (order, name) order, evaluated as a workload's are
 * (compile.c), VERDICT on the first allow:
 *
 *   hi-NAME   to the node through its interface (from_hep): established,
 *             related accept; invalid drop; normal policies' ingress;
 *             drop (Calico's default deny for a host endpoint)
 *   ho-NAME   from the node out of its interface (to_hep): the same, egress
 *   hw-NAME   a local workload to one of its expectedIPs (hep-wl): the
 *             ingress policies; then return (endpointToHostAction decides);
 *             only while some policy selects it
 *   hfi-NAME / hfo-NAME  forwarded in / out through its interface
 *             (hep-fwd): the applyOnForward policies; return when allowed,
 *             else drop; only while one selects it (else forwarding is
 *             not its business: Calico's default allow)
 *   hp-NAME   preDNAT policies in nat-pre (hep-pre), before published
 *             ports' DNAT: the failsafe ports first (jump failsafe-in),
 *             then the policies: return when allowed, else drop; only
 *             while one selects it
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/selector.h"
#include "policy/compile.h"
#include "policy/compile_int.h"

enum hep_kind { HK_IN, HK_OUT, HK_WL, HK_FWD_IN, HK_FWD_OUT, HK_PRE, HK_N };

static const struct {
	const char *prefix;
	bool ingress, ct, fwd, pre;
	enum nir_stmt_type ok, end;
	const char *end_comment;
} hk[HK_N] = {
	[HK_IN] = { "hi-", true, true, false, false, NS_ACCEPT, NS_DROP,
		    "host endpoint: no policy allowed it" },
	[HK_OUT] = { "ho-", false, true, false, false, NS_ACCEPT, NS_DROP,
		     "host endpoint: no policy allowed it" },
	[HK_WL] = { "hw-", true, false, false, false, NS_ACCEPT, NS_RETURN,
		    "to endpointToHostAction" },
	[HK_FWD_IN] = { "hfi-", true, false, true, false, NS_RETURN, NS_DROP,
			"applyOnForward: no policy allowed it" },
	[HK_FWD_OUT] = { "hfo-", false, false, true, false, NS_RETURN, NS_DROP,
			 "applyOnForward: no policy allowed it" },
	[HK_PRE] = { "hp-", true, false, false, true, NS_RETURN, NS_DROP,
		     "preDNAT: no policy allowed it" },
};

void compile_name_hep(const char *hep, int kind, char *buf)
{
	compile_name_fit(hk[(unsigned)kind < HK_N ? kind : HK_IN].prefix, hep, buf);
}

/* Whether np applies to host endpoint h's chain of kind k. */
static bool hep_selects(const struct compile_policy *cp,
			const struct compile_hep *h, int k)
{
	const struct netpolicy *np = cp->np;

	if (!(hk[k].ingress ? np->ingress : np->egress) || np->pre_dnat != hk[k].pre ||
	    (hk[k].fwd && !np->apply_on_forward))
		return false;
	return selector_match(cp->sel, h->labels);
}

static int ct_rules(struct nir_chain *c)
{
	struct nir_rule *r;
	int err;

	if (!(r = nir_rule_add(c)) ||
	    (err = nir_match_val(r, NK_CT_STATE, NO_EQ,
				 NIR_CT_ESTABLISHED | NIR_CT_RELATED)) < 0 ||
	    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0)
		return r ? err : -ENOMEM;
	if (!(r = nir_rule_add(c)) ||
	    (err = nir_match_val(r, NK_CT_STATE, NO_EQ, NIR_CT_INVALID)) < 0)
		return r ? err : -ENOMEM;
	return nir_stmt_add(r, NS_DROP, NULL);
}

/* The chain of kind k of h (chain name into name), or none (name "") when
 * its kind needs a policy and none selects h. */
static int hep_chain(struct nir_table *t, const struct compile_hep *h, int k,
		     const struct compile_policy *const *pols, size_t n_pols,
		     char *name)
{
	const struct netpolicy **v = malloc((n_pols + 1) * sizeof(*v));
	char pn[NIR_NAME_MAX];
	struct nir_chain *c;
	struct nir_rule *r;
	size_t n = 0;
	int err = 0;

	name[0] = '\0';
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n_pols; i++)
		if (hep_selects(pols[i], h, k))
			v[n++] = pols[i]->np;
	if (n == 0 && k != HK_IN && k != HK_OUT)
		goto out;
	compile_sort(v, n);
	compile_name_hep(h->name, k, name);
	if (!(c = compile_chain_fresh(t, name))) {
		err = -ENOMEM;
		goto out;
	}
	c->role = NIR_CHAIN_HOST;
	if (hk[k].ct && (err = ct_rules(c)) < 0)
		goto out;
	/* before DNAT the failsafe ports are not yet judged: accepted here
	 * too (nat-pre then ends: no DNAT for them), so that no preDNAT
	 * policy closes them either */
	if (k == HK_PRE) {
		if (!(r = nir_rule_add(c))) {
			err = -ENOMEM;
			goto out;
		}
		if ((err = nir_stmt_add(r, NS_JUMP, CH_FAILSAFE_IN)) < 0 ||
		    (err = nir_rule_comment(r, "failsafe ports")) < 0)
			goto out;
	}
	if (!(r = nir_rule_add(c)) || (err = nir_stmt_mark(r, COMPILE_MARK_MASK, 0)) < 0) {
		err = r ? err : -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && err == 0; i++) {
		compile_name_policy(v[i]->name, hk[k].ingress, pn);
		if (!(r = nir_rule_add(c))) {
			err = -ENOMEM;
			break;
		}
		if ((i && (err = nir_match_mark(r, NO_EQ, COMPILE_MARK_PASS, 0)) < 0) ||
		    (err = nir_stmt_add(r, NS_JUMP, pn)) < 0 ||
		    !(r = nir_rule_add(c)) ||
		    (err = nir_match_mark(r, NO_EQ, COMPILE_MARK_ACCEPT,
					  COMPILE_MARK_ACCEPT)) < 0 ||
		    (err = nir_stmt_add(r, hk[k].ok, NULL)) < 0)
			err = err ? err : -ENOMEM;
	}
	if (err == 0)
		err = compile_verdict_rule(c, hk[k].end, hk[k].end_comment);
out:
	free(v);
	return err;
}

/* A rule of chain `in`: IFNAME match (k) or daddr in ips, jump to. */
static int jump_rule(struct nir_table *t, const char *in, enum nir_key k,
		     const struct compile_hep *h, const char *to)
{
	struct nir_chain *c = nir_chain_find(t, in);
	struct nir_rule *r;
	int err;

	if (h->n_ips > HOSTEP_MAX_IPS)
		return -EINVAL;
	if (!c || !(r = nir_rule_add(c)))
		return -ENOMEM;
	if (k == NK_DADDR) {
		struct nir_range v[HOSTEP_MAX_IPS];

		for (size_t i = 0; i < h->n_ips; i++)
			v[i] = (struct nir_range){ h->ips[i], h->ips[i] };
		err = nir_match_ranges(r, NK_DADDR, NO_EQ, v, h->n_ips);
	} else {
		err = nir_match_ifname(r, k, NO_EQ, h->ifname);
	}
	if (err < 0 || (err = nir_stmt_add(r, NS_JUMP, to)) < 0)
		return err;
	return nir_rule_comment(r, h->name);
}

static int hep_add(struct nir_table *t, const struct compile_hep *h,
		   const struct compile_policy *const *pols, size_t n_pols)
{
	char name[HK_N][NIR_NAME_MAX];
	int err = 0;

	for (int k = 0; k < HK_N && err == 0; k++) {
		if (k == HK_WL ? !h->n_ips : !h->ifname[0])
			continue;	/* hw- needs addresses; the others an interface */
		err = hep_chain(t, h, k, pols, n_pols, name[k]);
		if (err || !name[k][0])
			continue;
		switch (k) {
		case HK_IN: err = compile_vmap_goto(t, COMPILE_MAP_FROM_HEP, h->ifname, name[k]); break;
		case HK_OUT: err = compile_vmap_goto(t, COMPILE_MAP_TO_HEP, h->ifname, name[k]); break;
		case HK_WL: err = jump_rule(t, CH_HEP_WL, NK_DADDR, h, name[k]); break;
		case HK_FWD_IN: err = jump_rule(t, CH_HEP_FWD, NK_IIFNAME, h, name[k]); break;
		case HK_FWD_OUT: err = jump_rule(t, CH_HEP_FWD, NK_OIFNAME, h, name[k]); break;
		default: err = jump_rule(t, CH_HEP_PRE, NK_IIFNAME, h, name[k]); break;
		}
	}
	return err;
}

static int hep_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct compile_hep *const *)a)->name,
		      (*(const struct compile_hep *const *)b)->name);
}

int compile_heps(struct nir_table *t, const struct compile_hep *const *heps,
		 size_t n, const struct compile_policy *const *pols, size_t n_pols)
{
	static const char *const disp[] = { CH_HEP_WL, CH_HEP_FWD, CH_HEP_PRE };
	static const char *const maps[] = { COMPILE_MAP_FROM_HEP, COMPILE_MAP_TO_HEP };
	const struct compile_hep **v = malloc((n + 1) * sizeof(*v));
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = t->n_chains; i-- > 0;)
		if (t->chains[i]->role == NIR_CHAIN_HOST) {
			char copy[NIR_NAME_MAX];

			snprintf(copy, sizeof(copy), "%s", t->chains[i]->name);
			nir_chain_del(t, copy);
		}
	for (size_t i = 0; i < 3; i++) {
		struct nir_chain *c = nir_chain_find(t, disp[i]);

		if (!c) {
			err = -ENOENT;
			goto out;
		}
		nir_chain_flush(c);
	}
	for (size_t i = 0; i < 2; i++) {
		struct nir_set *s = nir_set_find(t, maps[i]);

		if (!s) {
			err = -ENOENT;
			goto out;
		}
		s->n = 0;
	}
	memcpy(v, heps, n * sizeof(*v));
	if (n > 1)
		qsort(v, n, sizeof(*v), hep_cmp);	/* rules in one order */
	for (size_t i = 0; i < n && err == 0; i++)
		err = hep_add(t, v[i], pols, n_pols);
out:
	free(v);
	return err;
}
