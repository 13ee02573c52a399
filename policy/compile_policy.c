/*
 * compile_policy: a NetworkPolicy's chains pi-NAME / pe-NAME, and the one
 * implementation of which policies select a workload, in which order
 * (contract: compile.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/selector.h"
#include "policy/compile.h"
#include "policy/compile_int.h"

/* ------------------------------------------------------------ policies */

/* Context of one rule being compiled, for error messages. */
struct rule_ctx {
	struct nir_table *t;
	struct nir_rule *r;
	const char *policy;
	const char *dir;	/* "ingress" | "egress" */
	size_t idx;
	struct errs *e;
};

/* The set of a rule's selector (created empty when missing); its name in
 * name. */
static int selector_set(struct rule_ctx *x, const char *text, const char *field,
			char *name)
{
	struct selector_err serr = { 0 };
	struct selector *s = NULL;
	char *canon = NULL;
	int err;

	err = selector_parse(text, &s, &serr);
	if (err == -EINVAL && x->e)
		errs_add(x->e, "policy %s: %s[%zu].%s: %s (at %d)", x->policy,
			 x->dir, x->idx, field, serr.msg, serr.pos);
	if (err < 0)
		return err;
	canon = selector_canon(s);
	if (!canon) {
		selector_free(s);
		return -ENOMEM;
	}
	compile_name_selector_set(canon, name);
	err = compile_set_ensure(x->t, name, canon, nir_owner_selector(s));
	free(canon);
	return err;
}

static int nets_match(struct nir_rule *r, enum nir_key k, enum nir_op op,
		      const struct ip4_net *nets, size_t n)
{
	struct nir_range *v;
	int err;

	if (n == 0)
		return 0;
	if (n == 1)
		return nir_match_net(r, k, op, nets[0].addr, nets[0].len);
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].lo = nets[i].addr & ip4_mask(nets[i].len);
		v[i].hi = v[i].lo | ~ip4_mask(nets[i].len);
	}
	err = nir_match_ranges(r, k, op, v, n);
	free(v);
	return err;
}

static int ports_match(struct nir_rule *r, enum nir_key k, enum nir_op op,
		       const struct port_range *p, size_t n)
{
	struct nir_range *v;
	int err;

	if (n == 0)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].lo = p[i].lo;
		v[i].hi = p[i].hi;
	}
	err = nir_match_ranges(r, k, op, v, n);
	free(v);
	return err;
}

/* One side of a rule: source → saddr/sport, destination → daddr/dport. */
static int entity_matches(struct rule_ctx *x, const struct np_entity *en,
			  bool src)
{
	enum nir_key ka = src ? NK_SADDR : NK_DADDR;
	enum nir_key kp = src ? NK_SPORT : NK_DPORT;
	const char *side = src ? "source" : "destination";
	char field[32], name[NIR_NAME_MAX];
	int err;

	if ((err = nets_match(x->r, ka, NO_EQ, en->nets, en->n_nets)) < 0 ||
	    (err = nets_match(x->r, ka, NO_NE, en->not_nets, en->n_not_nets)) < 0)
		return err;
	if (en->selector) {
		snprintf(field, sizeof(field), "%s.selector", side);
		if ((err = selector_set(x, en->selector, field, name)) < 0 ||
		    (err = nir_match_set(x->r, ka, NO_EQ, name)) < 0)
			return err;
	}
	if (en->not_selector) {
		snprintf(field, sizeof(field), "%s.notSelector", side);
		if ((err = selector_set(x, en->not_selector, field, name)) < 0 ||
		    (err = nir_match_set(x->r, ka, NO_NE, name)) < 0)
			return err;
	}
	if ((err = ports_match(x->r, kp, NO_EQ, en->ports, en->n_ports)) < 0 ||
	    (err = ports_match(x->r, kp, NO_NE, en->not_ports, en->n_not_ports)) < 0)
		return err;
	return 0;
}

static int action_stmts(struct rule_ctx *x, enum np_action a)
{
	char prefix[RES_NAME_MAX + 16];
	int err;

	switch (a) {
	case NP_ALLOW:
	case NP_PASS:
		if ((err = nir_stmt_mark(x->r, COMPILE_MARK_MASK, a == NP_ALLOW ?
					 COMPILE_MARK_ACCEPT : COMPILE_MARK_PASS)) < 0)
			return err;
		return nir_stmt_add(x->r, NS_RETURN, NULL);
	case NP_DENY:
		return nir_stmt_add(x->r, NS_DROP, NULL);
	case NP_LOG:
		snprintf(prefix, sizeof(prefix), "petrel %s: ", x->policy);
		return nir_stmt_add(x->r, NS_LOG, prefix);
	}
	return -EINVAL;
}

static int rule_compile(struct rule_ctx *x, const struct np_rule *pr)
{
	int err;

	if (pr->protocol &&
	    (err = nir_match_val(x->r, NK_L4PROTO, NO_EQ, pr->protocol)) < 0)
		return err;
	if (pr->icmp_type >= 0 &&
	    (err = nir_match_val(x->r, NK_ICMP_TYPE, NO_EQ, (uint32_t)pr->icmp_type)) < 0)
		return err;
	if (pr->icmp_type >= 0 && pr->icmp_code >= 0 &&
	    (err = nir_match_val(x->r, NK_ICMP_CODE, NO_EQ, (uint32_t)pr->icmp_code)) < 0)
		return err;
	if ((err = entity_matches(x, &pr->src, true)) < 0 ||
	    (err = entity_matches(x, &pr->dst, false)) < 0)
		return err;
	return action_stmts(x, pr->action);
}

static int policy_chain(struct nir_table *t, const struct netpolicy *np,
			bool ingress, struct errs *e)
{
	const struct np_rule *rules = ingress ? np->in_rules : np->out_rules;
	size_t n = ingress ? np->n_ingress : np->n_egress;
	struct rule_ctx x = { t, NULL, np->name, ingress ? "ingress" : "egress", 0, e };
	char name[NIR_NAME_MAX];
	struct nir_chain *c;
	int err;

	compile_name_policy(np->name, ingress, name);
	if (!(ingress ? np->ingress : np->egress)) {
		nir_chain_del(t, name);
		return 0;
	}
	if (!(c = compile_chain_fresh(t, name)))
		return -ENOMEM;
	c->role = NIR_CHAIN_POLICY;
	for (x.idx = 0; x.idx < n; x.idx++) {
		if (!(x.r = nir_rule_add(c)))
			return -ENOMEM;
		size_t n_errs = e ? errs_count(e) : 0;

		if ((err = rule_compile(&x, &rules[x.idx])) < 0) {
			/* a selector error is reported already */
			if (err != -ENOMEM && e && errs_count(e) == n_errs)
				errs_add(e, "policy %s: %s[%zu]: cannot be compiled "
					 "(%s)", np->name, x.dir, x.idx,
					 err == -E2BIG ? "too many matches" :
					 "invalid rule");
			return err == -E2BIG ? -EINVAL : err;
		}
	}
	return 0;
}

int compile_policy_chains(struct nir_table *t, const struct netpolicy *np,
			  struct errs *e)
{
	int err = policy_chain(t, np, true, e);

	return err < 0 ? err : policy_chain(t, np, false, e);
}

void compile_policy_del(struct nir_table *t, const char *name)
{
	char buf[NIR_NAME_MAX];

	compile_name_policy(name, true, buf);
	nir_chain_del(t, buf);
	compile_name_policy(name, false, buf);
	nir_chain_del(t, buf);
}

static int policy_cmp(const void *a, const void *b)
{
	const struct netpolicy *x = *(const struct netpolicy *const *)a;
	const struct netpolicy *y = *(const struct netpolicy *const *)b;

	if (x->has_order != y->has_order)
		return x->has_order ? -1 : 1;
	if (x->has_order && x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->name, y->name);
}

void compile_sort(const struct netpolicy **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), policy_cmp);
}

int compile_policy_prepare(struct compile_policy *cp,
			   const struct netpolicy *np, struct errs *e)
{
	struct selector_err serr;
	int err;

	cp->np = np;
	cp->sel = NULL;
	err = selector_parse(np->selector ? np->selector : "", &cp->sel, &serr);
	if (err == -EINVAL && e)
		errs_add(e, "policy %s: selector: %s (at %d)", np->name, serr.msg,
			 serr.pos);
	return err;
}

void compile_policy_clear(struct compile_policy *cp)
{
	selector_free(cp->sel);
	cp->sel = NULL;
}

bool compile_selects(const struct compile_policy *cp,
		     const struct compile_ep *ep, bool ingress)
{
	if (!(ingress ? cp->np->ingress : cp->np->egress) || cp->np->pre_dnat)
		return false;
	return selector_match(cp->sel, ep->labels);
}

size_t compile_select(const struct compile_policy *const *v, size_t n,
		      const struct compile_ep *ep, bool ingress,
		      const struct netpolicy **out)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (compile_selects(v[i], ep, ingress))
			out[k++] = v[i]->np;
	compile_sort(out, k);
	return k;
}
