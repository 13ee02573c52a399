/*
 * compile: resources → the nftables table `inet petrel` (contract and table
 * layout: compile.h).
 *
 * Each piece (the skeleton, a policy's chains, a workload's chains and
 * elements, the selector and network sets) is built by its own function, and
 * compile_table() is nothing but all of them in a row, so that a table kept
 * current piece by piece renders byte for byte as a fresh compile (the
 * table's own order makes creation order irrelevant: nftir.c).
 *
 * Policy evaluation inside from-IF / to-IF (VERDICT: return for egress,
 * accept for ingress), for the policies P1..Pn selecting the workload:
 *
 *   jump pX-P1
 *   meta mark & ACCEPT == ACCEPT VERDICT
 *   meta mark & PASS == 0 jump pX-P2        (a Pass skips the rest)
 *   meta mark & ACCEPT == ACCEPT VERDICT
 *   ...
 *   meta mark & PASS == 0 drop              (selected, nothing allowed it)
 *   network rules                           (reached only after a Pass)
 *
 * nft has no forward jump inside a chain, so "goto the network rules" is
 * spelt as above: the rules after a Pass are skipped by their PASS guard and
 * the network rules follow in the same chain. Without policies the chain is
 * the network rules alone.
 *
 * Names longer than a chain or set name allows (a 63-character policy or
 * network name plus its prefix) are cut and given 12 hex of SHA-1 of the
 * whole name, so that they stay unique.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha1.h"
#include "policy/compile.h"
#include "model/selector.h"

#define CH_RAW_PRE "raw-pre"
#define CH_NAT_PRE "nat-pre"
#define CH_NAT_OUT "nat-out"
#define CH_NAT_POST "nat-post"
#define CH_FORWARD "forward"
#define CH_INPUT "input"
#define CH_FROM_WL "from-wl"
/* Shared by every workload that no policy selects for the direction (and,
 * for ingress, that is only in `default`): most workloads then have no
 * chain of their own (10,000 of them: 20,000 chains fewer). */
#define CH_FROM_OPEN "from-open"
#define CH_TO_OPEN "to-open"

static int verdict_rule(struct nir_chain *c, enum nir_stmt_type v,
			const char *comment);
#define CH_TO_WL "to-wl"
#define IF_WILDCARD COMPILE_IFPREFIX "*"
#define NFPROTO_V4 2
#define NFPROTO_V6 10
#define LOOPBACK_NET 0x7f000000u	/* 127.0.0.0/8 */

/* ------------------------------------------------------------ names */

static void hex12(const char *s, char *out)
{
	uint8_t h[20];

	sha1(s, strlen(s), h);
	for (int i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* prefix + name, or when too long prefix + the name cut + "-" + 12 hex. */
static void name_fit(const char *prefix, const char *name, char *buf)
{
	size_t p = strlen(prefix), n = strlen(name);
	char hex[13];

	if (p + n < NIR_NAME_MAX) {
		memcpy(buf, prefix, p);
		memcpy(buf + p, name, n + 1);
		return;
	}
	hex12(name, hex);
	n = NIR_NAME_MAX - 1 - p - 13;
	memcpy(buf, prefix, p);
	memcpy(buf + p, name, n);
	buf[p + n] = '-';
	memcpy(buf + p + n + 1, hex, 13);
}

void compile_name_from(const char *ifname, char *buf)
{
	name_fit("from-", ifname, buf);
}

void compile_name_to(const char *ifname, char *buf)
{
	name_fit("to-", ifname, buf);
}

void compile_name_policy(const char *policy, bool ingress, char *buf)
{
	name_fit(ingress ? "pi-" : "pe-", policy, buf);
}

void compile_name_selector_set(const char *canon, char *buf)
{
	char hex[13];

	hex12(canon, hex);
	snprintf(buf, NIR_NAME_MAX, "s-%s", hex);
}

void compile_name_network_set(const char *network, char *buf)
{
	name_fit("n-", network, buf);
}

/* ------------------------------------------------------------ small helpers */

/* The chain `name`, emptied, or a new one; NULL on ENOMEM. */
static struct nir_chain *chain_fresh(struct nir_table *t, const char *name)
{
	struct nir_chain *c = nir_chain_find(t, name);

	if (c) {
		nir_chain_flush(c);
		return c;
	}
	return nir_chain_add(t, name);
}

/* A rule of c: optionally one ifname match, then one statement; for the
 * skeleton's many small rules. */
static struct nir_rule *rule_if(struct nir_chain *c, enum nir_key k,
				enum nir_op op, const char *ifname, int *err)
{
	struct nir_rule *r = nir_rule_add(c);

	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	if (ifname && (*err = nir_match_ifname(r, k, op, ifname)) < 0)
		return NULL;
	return r;
}

/* The address set `name` of owner o, made when missing (o taken: the set
 * keeps it, or it is released). */
static int set_ensure(struct nir_table *t, const char *name,
		      const char *comment, struct nir_owner *o)
{
	struct nir_set *s = nir_set_find(t, name);

	if (!o)
		return -ENOMEM;
	if (s) {
		nir_owner_unref(o);
		return 0;
	}
	s = nir_set_add(t, name, NST_IPV4);
	if (!s) {
		nir_owner_unref(o);
		return -ENOMEM;
	}
	s->owner = o;
	if (comment && !(s->comment = strdup(comment))) {
		nir_set_del(t, name);
		return -ENOMEM;
	}
	return 0;
}

void compile_ep_of_wep(struct compile_ep *v, const struct wep *w)
{
	v->node = w->node;
	v->name = w->name;
	v->routed = w->mode == WEP_ROUTED;
	v->ifname = w->ifname;
	v->n_nets = w->n_nets < WEP_MAX_NETS ? w->n_nets : WEP_MAX_NETS;
	v->nets = w->nets;
	v->labels = &w->labels;
	v->n_networks = w->n_networks < WEP_MAX_NETWORKS ? w->n_networks :
			WEP_MAX_NETWORKS;
	v->networks = (const char (*)[RES_NAME_MAX])w->networks;
	v->n_ports = w->n_ports < WEP_MAX_PORTS ? w->n_ports : WEP_MAX_PORTS;
	v->ports = w->ports;
}

static bool ep_routed(const struct compile_ep *w)
{
	if (!w->routed)
		return false;
	for (size_t i = 0; i < w->n_nets; i++)
		if (w->nets[i].len == 32)
			return true;
	return false;
}

/* Routed, with a host-side interface and an address: gets chains. */
static bool ep_local_ok(const struct compile_ep *w)
{
	return ep_routed(w) && w->ifname[0] && strlen(w->ifname) < NIR_IFNAMSIZ;
}

/* The workload's first address (its DNAT target). */
static uint32_t ep_addr(const struct compile_ep *w)
{
	for (size_t i = 0; i < w->n_nets; i++)
		if (w->nets[i].len == 32)
			return w->nets[i].addr;
	return 0;
}

static bool ep_default_member(const struct compile_ep *w)
{
	if (w->n_networks == 0)
		return true;
	for (size_t i = 0; i < w->n_networks; i++)
		if (!strcmp(w->networks[i], NETWORK_DEFAULT))
			return true;
	return false;
}

static bool ep_in_network(const struct compile_ep *w, const char *net)
{
	for (size_t i = 0; i < w->n_networks; i++)
		if (!strcmp(w->networks[i], net))
			return true;
	return false;
}

/* ------------------------------------------------------------ the skeleton */

static int sets_base(struct nir_table *t)
{
	static const struct { const char *name; enum nir_set_type type; } v[] = {
		{ COMPILE_SET_WL_SRC, NST_IFNAME_IPV4 },
		{ COMPILE_MAP_FROM_WL, NST_IFNAME_VMAP },
		{ COMPILE_MAP_TO_WL, NST_IFNAME_VMAP },
		{ COMPILE_MAP_PORTS, NST_PORT_DNAT },
		{ COMPILE_MAP_PORTS_IP, NST_ADDR_PORT_DNAT },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!nir_set_add(t, v[i].name, v[i].type))
			return -ENOMEM;
	return 0;
}

static int raw_pre(struct nir_chain *c)
{
	struct nir_rule *r;
	int err = 0;

	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_match_val(r, NK_NFPROTO, NO_EQ, NFPROTO_V6)) < 0 ||
	    (err = nir_stmt_add(r, NS_DROP, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "workloads are IPv4 only")) < 0)
		return err;
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_match_set(r, NK_IIF_SADDR, NO_NE, COMPILE_SET_WL_SRC)) < 0 ||
	    (err = nir_stmt_add(r, NS_DROP, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "anti-spoofing")) < 0)
		return err;
	/* route_localnet=1 on workload links (for ports published on
	 * 127.0.0.1) would let a workload reach the node's loopback-only
	 * services (Kubernetes' CVE-2020-8558): a workload never sends to
	 * 127/8. Replies to the node's 127.0.0.1 connections carry the node's
	 * address here: they are un-NATed later, by conntrack. */
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_match_net(r, NK_DADDR, NO_EQ, LOOPBACK_NET, 8)) < 0 ||
	    (err = nir_stmt_add(r, NS_DROP, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "loopback is the node's own")) < 0)
		return err;
	return 0;
}

/* nat-pre and nat-out: published ports, by host address first. */
static int nat_dnat(struct nir_chain *c)
{
	struct nir_rule *r;
	int err = 0;

	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_add(r, NS_DNAT_MAP, COMPILE_MAP_PORTS_IP)) < 0)
		return err;
	r->s[r->n_stmt - 1].key = NST_ADDR_PORT_DNAT;	/* for nir_render_rule */
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_match_val(r, NK_NFPROTO, NO_EQ, NFPROTO_V4)) < 0 ||
	    (err = nir_match_val(r, NK_FIB_DADDR_LOCAL, NO_EQ, 0)) < 0 ||
	    (err = nir_stmt_add(r, NS_DNAT_MAP, COMPILE_MAP_PORTS)) < 0)
		return err;
	r->s[r->n_stmt - 1].key = NST_PORT_DNAT;
	return 0;
}

static int forward(struct nir_chain *c)
{
	struct nir_rule *r;
	int err = 0;

	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_match_val(r, NK_CT_STATE, NO_EQ,
				 NIR_CT_ESTABLISHED | NIR_CT_RELATED)) < 0 ||
	    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0)
		return err;
	for (int out = 0; out < 2; out++) {
		enum nir_key k = out ? NK_OIFNAME : NK_IIFNAME;

		if (!(r = rule_if(c, k, NO_EQ, IF_WILDCARD, &err)) ||
		    (err = nir_match_val(r, NK_CT_STATE, NO_EQ, NIR_CT_INVALID)) < 0 ||
		    (err = nir_stmt_add(r, NS_DROP, NULL)) < 0)
			return err;
	}
	for (int out = 0; out < 2; out++) {
		enum nir_key k = out ? NK_OIFNAME : NK_IIFNAME;

		if (!(r = rule_if(c, k, NO_EQ, IF_WILDCARD, &err)) ||
		    (err = nir_stmt_add(r, NS_JUMP, out ? CH_TO_WL : CH_FROM_WL)) < 0)
			return err;
	}
	return 0;
}

static int input(struct nir_chain *c, const struct compile_config *cfg)
{
	struct nir_rule *r;
	int err = 0;

	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_match_val(r, NK_CT_STATE, NO_EQ,
				 NIR_CT_ESTABLISHED | NIR_CT_RELATED)) < 0 ||
	    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0)
		return err;
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_match_val(r, NK_CT_STATE, NO_EQ, NIR_CT_INVALID)) < 0 ||
	    (err = nir_stmt_add(r, NS_DROP, NULL)) < 0)
		return err;
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, NS_JUMP, CH_FROM_WL)) < 0)
		return err;
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, cfg && cfg->ep_to_host == COMPILE_HOST_DROP ?
				NS_DROP : NS_ACCEPT, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "workload to host")) < 0)
		return err;
	return 0;
}

/* from-wl / to-wl: clear our mark bits, dispatch, drop the unprogrammed. */
static int dispatch(struct nir_chain *c, enum nir_key k, const char *map)
{
	struct nir_rule *r;
	int err = 0;

	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_mark(r, COMPILE_MARK_MASK, 0)) < 0)
		return err;
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_vmap(r, k, map)) < 0)
		return err;
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_add(r, NS_DROP, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "interface not programmed")) < 0)
		return err;
	return 0;
}

int compile_base(struct nir_table *t, const struct compile_config *cfg,
	     const struct ippool *const *pools, size_t n_pools)
{
	struct nir_chain *c[10];
	int err;

	if ((err = sets_base(t)) < 0)
		return err;
	c[8] = nir_chain_add(t, CH_FROM_OPEN);
	c[9] = nir_chain_add(t, CH_TO_OPEN);
	c[0] = nir_base_chain_add(t, CH_RAW_PRE, NH_PREROUTING, false, -300, false);
	c[1] = nir_base_chain_add(t, CH_NAT_PRE, NH_PREROUTING, true, -100, false);
	c[2] = nir_base_chain_add(t, CH_NAT_OUT, NH_OUTPUT, true, -100, false);
	c[3] = nir_base_chain_add(t, CH_NAT_POST, NH_POSTROUTING, true, 100, false);
	c[4] = nir_base_chain_add(t, CH_FORWARD, NH_FORWARD, false, 0, false);
	c[5] = nir_base_chain_add(t, CH_INPUT, NH_INPUT, false, 0, false);
	c[6] = nir_chain_add(t, CH_FROM_WL);
	c[7] = nir_chain_add(t, CH_TO_WL);
	for (int i = 0; i < 10; i++)
		if (!c[i])
			return -ENOMEM;
	if ((err = verdict_rule(c[8], NS_RETURN, "network: egress allowed")) < 0 ||
	    (err = verdict_rule(c[9], NS_ACCEPT, "network default")) < 0)
		return err;
	if ((err = raw_pre(c[0])) < 0 || (err = nat_dnat(c[1])) < 0 ||
	    (err = nat_dnat(c[2])) < 0 || (err = forward(c[4])) < 0 ||
	    (err = input(c[5], cfg)) < 0 ||
	    (err = dispatch(c[6], NK_IIFNAME, COMPILE_MAP_FROM_WL)) < 0 ||
	    (err = dispatch(c[7], NK_OIFNAME, COMPILE_MAP_TO_WL)) < 0)
		return err;
	return compile_nat_post(t, pools, n_pools);
}

/* Ranges of the CIDRs of the pools (nat only: the natOutgoing ones). */
static size_t pool_ranges(const struct ippool *const *pools, size_t n,
			  bool nat, struct nir_range *v)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct ip4_net *net = &pools[i]->cidr;

		if (nat && !pools[i]->nat_outgoing)
			continue;
		v[k].lo = net->addr & ip4_mask(net->len);
		v[k].hi = v[k].lo | ~ip4_mask(net->len);
		k++;
	}
	return k;
}

/* natOutgoing: never to a workload, never between pools (disabled pools
 * too: their workloads live on), else masquerade what leaves a natOutgoing
 * pool. */
static int nat_outgoing(struct nir_chain *c, const struct ippool *const *pools,
			size_t n_pools)
{
	struct nir_range *v = malloc((n_pools + 1) * sizeof(*v));
	struct nir_rule *r;
	size_t n;
	int err = 0;

	if (!v)
		return -ENOMEM;
	if (!pool_ranges(pools, n_pools, true, v))
		goto out;	/* no natOutgoing pool: nothing to do */
	if (!(r = rule_if(c, NK_OIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, NS_RETURN, NULL)) < 0)
		goto out;
	n = pool_ranges(pools, n_pools, false, v);
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_match_ranges(r, NK_DADDR, NO_EQ, v, n)) < 0 ||
	    (err = nir_stmt_add(r, NS_RETURN, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "between pools")) < 0)
		goto out;
	n = pool_ranges(pools, n_pools, true, v);
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_match_ranges(r, NK_SADDR, NO_EQ, v, n)) < 0 ||
	    (err = nir_stmt_add(r, NS_MASQUERADE, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "natOutgoing")) < 0)
		goto out;
out:
	free(v);
	return err;
}

int compile_nat_post(struct nir_table *t, const struct ippool *const *pools,
		 size_t n_pools)
{
	struct nir_chain *c = nir_chain_find(t, CH_NAT_POST);
	struct nir_rule *r;
	int err = 0;

	if (!c)
		return -ENOENT;
	nir_chain_flush(c);
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_match_val(r, NK_CT_STATUS, NO_EQ, 0x20 /* IPS_DST_NAT */)) < 0 ||
	    (err = nir_match_set(r, NK_OIF_SADDR, NO_EQ, COMPILE_SET_WL_SRC)) < 0 ||
	    (err = nir_stmt_add(r, NS_MASQUERADE, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "hairpin")) < 0)
		return err;
	if (!(r = rule_if(c, NK_OIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_match_net(r, NK_SADDR, NO_EQ, LOOPBACK_NET, 8)) < 0 ||
	    (err = nir_stmt_add(r, NS_MASQUERADE, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "published port from the node itself")) < 0)
		return err;
	return nat_outgoing(c, pools, n_pools);
}

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
	err = set_ensure(x->t, name, canon, nir_owner_selector(s));
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
	if (!(c = chain_fresh(t, name)))
		return -ENOMEM;
	for (x.idx = 0; x.idx < n; x.idx++) {
		if (!(x.r = nir_rule_add(c)))
			return -ENOMEM;
		size_t n_errs = e ? e->n : 0;

		if ((err = rule_compile(&x, &rules[x.idx])) < 0) {
			/* a selector error is reported already */
			if (err != -ENOMEM && e && e->n == n_errs)
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
	if (!(ingress ? cp->np->ingress : cp->np->egress))
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

/* ------------------------------------------------------------ endpoints */

static int mark_rule(struct nir_chain *c, uint32_t bit, bool set,
		     enum nir_stmt_type verdict, const char *arg)
{
	struct nir_rule *r = nir_rule_add(c);
	int err;

	if (!r)
		return -ENOMEM;
	if ((err = nir_match_mark(r, NO_EQ, bit, set ? bit : 0)) < 0)
		return err;
	return nir_stmt_add(r, verdict, arg);
}

static int verdict_rule(struct nir_chain *c, enum nir_stmt_type v,
			const char *comment)
{
	struct nir_rule *r = nir_rule_add(c);
	int err;

	if (!r)
		return -ENOMEM;
	if ((err = nir_stmt_add(r, v, NULL)) < 0)
		return err;
	return comment ? nir_rule_comment(r, comment) : 0;
}

/* What the workload's networks allow, for an unselected workload or after
 * a Pass. */
static int network_rules(struct nir_table *t, struct nir_chain *c,
			 const struct compile_ep *w, bool ingress)
{
	char name[NIR_NAME_MAX], comment[RES_NAME_MAX + 16];
	struct nir_rule *r;
	int err;

	if (!ingress)
		return verdict_rule(c, NS_RETURN, "network: egress allowed");
	if (ep_default_member(w))
		return verdict_rule(c, NS_ACCEPT, "network default");
	for (size_t i = 0; i < w->n_networks; i++) {
		compile_name_network_set(w->networks[i], name);
		snprintf(comment, sizeof(comment), "network %s", w->networks[i]);
		if ((err = set_ensure(t, name, w->networks[i],
				      nir_owner_network(w->networks[i]))) < 0)
			return err;
		if (!(r = nir_rule_add(c)))
			return -ENOMEM;
		if ((err = nir_match_set(r, NK_SADDR, NO_EQ, name)) < 0 ||
		    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0 ||
		    (err = nir_rule_comment(r, comment)) < 0)
			return err;
	}
	if (!(r = nir_rule_add(c)))
		return -ENOMEM;
	if ((err = nir_match_val(r, NK_CT_STATUS, NO_EQ, 0x20 /* IPS_DST_NAT */)) < 0 ||
	    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "published port")) < 0)
		return err;
	return verdict_rule(c, NS_DROP, NULL);
}

/* The name of a shared endpoint chain: prefix + 12 hex of SHA-1 of its
 * rules' text. Workloads with the same policies and networks share it. */
static int ep_chain_name(const struct nir_chain *c, const char *prefix,
			 char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *text = NULL;
	size_t len = 0;
	uint8_t h[20];
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_rules; i++) {
		nir_render_rule(&c->rules[i], f);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	sha1(text, len, h);
	free(text);
	strcpy(out, prefix);
	out += strlen(prefix);
	for (int i = 0; i < 6; i++) {
		*out++ = hex[h[i] >> 4];
		*out++ = hex[h[i] & 15];
	}
	*out = '\0';
	return 0;
}

/* One direction's chain of w (out: its name). The body depends only on
 * the policies that select w and its networks, so it is built in a
 * scratch table and kept once per distinct body (ep_chain_name): 1,000
 * workloads of a few kinds cost a few chains, and adding one more workload
 * usually adds no rule at all (only map elements). */
static int ep_chain(struct nir_table *t, const struct compile_ep *w, bool ingress,
		    const struct netpolicy *const *pols, size_t n, char *out)
{
	enum nir_stmt_type ok = ingress ? NS_ACCEPT : NS_RETURN;
	char name[NIR_NAME_MAX];
	struct nir_table *scratch;
	struct nir_chain *c, *d;
	struct nir_rule *r;
	int err = 0;

	if (n == 0 && (!ingress || ep_default_member(w))) {
		strcpy(out, ingress ? CH_TO_OPEN : CH_FROM_OPEN);
		return 0;	/* the shared open chain serves */
	}
	if (!(scratch = nir_table_new()) || !(c = nir_chain_add(scratch, "x"))) {
		nir_table_free(scratch);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && err == 0; i++) {
		compile_name_policy(pols[i]->name, ingress, name);
		if (!(r = nir_rule_add(c))) {
			err = -ENOMEM;
			break;
		}
		if ((i && (err = nir_match_mark(r, NO_EQ, COMPILE_MARK_PASS, 0)) < 0) ||
		    (err = nir_stmt_add(r, NS_JUMP, name)) < 0)
			break;
		err = mark_rule(c, COMPILE_MARK_ACCEPT, true, ok, NULL);
	}
	if (err == 0 && n) {
		err = mark_rule(c, COMPILE_MARK_PASS, false, NS_DROP, NULL);
		if (err == 0)
			nir_rule_comment(&c->rules[c->n_rules - 1], "no policy allowed it");
	}
	if (err == 0)
		err = network_rules(t, c, w, ingress);
	if (err == 0)
		err = ep_chain_name(c, ingress ? "to-" : "from-", out);
	if (err == 0 && !nir_chain_find(t, out)) {
		if (!(d = nir_chain_add(t, out))) {
			err = -ENOMEM;
		} else {
			/* the scratch chain's rules move into the table's */
			struct nir_rule *rules = d->rules;
			size_t nr = d->n_rules, cap = d->cap;

			d->rules = c->rules;
			d->n_rules = c->n_rules;
			d->cap = c->cap;
			c->rules = rules;
			c->n_rules = nr;
			c->cap = cap;
		}
	}
	nir_table_free(scratch);
	return err;
}

/* Puts w's element into a verdict map: goto chain. */
static int vmap_put(struct nir_table *t, const char *map, const struct compile_ep *w,
		    const char *chain)
{
	struct nir_set *s = nir_set_find(t, map);
	struct nir_elem el;

	if (!s)
		return -ENOENT;
	memset(&el, 0, sizeof(el));
	strcpy(el.ifname, w->ifname);
	el.vgoto = true;
	snprintf(el.chain, sizeof(el.chain), "%s", chain);
	return nir_set_elem_put(s, &el);
}

int compile_ep_chains(struct nir_table *t, const struct compile_ep *w,
		  const struct netpolicy *const *egress, size_t n_egress,
		  const struct netpolicy *const *ingress, size_t n_ingress)
{
	char from[NIR_NAME_MAX], to[NIR_NAME_MAX];
	int err;

	if (!ep_local_ok(w))
		return -EINVAL;
	if ((err = ep_chain(t, w, false, egress, n_egress, from)) < 0 ||
	    (err = ep_chain(t, w, true, ingress, n_ingress, to)) < 0 ||
	    (err = vmap_put(t, COMPILE_MAP_FROM_WL, w, from)) < 0)
		return err;
	return vmap_put(t, COMPILE_MAP_TO_WL, w, to);
}

int compile_ep_add(struct nir_table *t, const struct compile_ep *w,
		   const struct compile_policy *const *pols, size_t n_pols)
{
	const struct netpolicy **eg = malloc((n_pols + 1) * sizeof(*eg));
	const struct netpolicy **ig = malloc((n_pols + 1) * sizeof(*ig));
	size_t ne, ni;
	int err = -ENOMEM;

	if (!eg || !ig)
		goto out;
	ne = compile_select(pols, n_pols, w, false, eg);
	ni = compile_select(pols, n_pols, w, true, ig);
	err = compile_ep_chains(t, w, eg, ne, ig, ni);
	if (err == 0)
		err = compile_ep_elems(t, w);
out:
	free(eg);
	free(ig);
	return err;
}

/* A shared endpoint chain's name: from-/to- and 12 hex digits. */
static bool is_ep_chain(const char *name)
{
	const char *p = !strncmp(name, "from-", 5) ? name + 5 :
			!strncmp(name, "to-", 3) ? name + 3 : NULL;

	if (!p || strlen(p) != 12)
		return false;
	for (; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int chainname_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void compile_chains_gc(struct nir_table *t, void (*gone)(void *, const char *),
		   void *ctx)
{
	const struct nir_set *maps[2] = { nir_set_find(t, COMPILE_MAP_FROM_WL),
					  nir_set_find(t, COMPILE_MAP_TO_WL) };
	const char **used;
	size_t n = 0, cap = (maps[0] ? maps[0]->n : 0) + (maps[1] ? maps[1]->n : 0);

	used = malloc((cap + 1) * sizeof(*used));
	if (!used)
		return;		/* keep everything */
	for (int m = 0; m < 2; m++)
		for (size_t i = 0; maps[m] && i < maps[m]->n; i++)
			used[n++] = maps[m]->e[i].chain;
	if (n > 1)
		qsort(used, n, sizeof(*used), chainname_cmp);
	for (size_t i = t->n_chains; i-- > 0;) {
		const char *name = t->chains[i]->name;
		char copy[NIR_NAME_MAX];

		if (!is_ep_chain(name) ||
		    (n && bsearch(&name, used, n, sizeof(*used), chainname_cmp)))
			continue;
		snprintf(copy, sizeof(copy), "%s", name);
		nir_chain_del(t, copy);
		if (gone)
			gone(ctx, copy);
	}
	free(used);
}

int compile_ep_chain_names(const struct nir_table *t, const char *ifname,
		       char *from, char *to)
{
	const char *maps[2] = { COMPILE_MAP_FROM_WL, COMPILE_MAP_TO_WL };
	char *out[2] = { from, to };
	int found = 0;

	for (int m = 0; m < 2; m++) {
		const struct nir_set *s = nir_set_find(t, maps[m]);
		size_t lo = 0, hi = s ? s->n : 0;

		out[m][0] = '\0';
		while (lo < hi) {	/* the elements are sorted by interface */
			size_t mid = lo + (hi - lo) / 2;
			int c = strncmp(s->e[mid].ifname, ifname, NIR_IFNAMSIZ);

			if (c == 0) {
				snprintf(out[m], NIR_NAME_MAX, "%s", s->e[mid].chain);
				found++;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return found == 2 ? 0 : -ENOENT;
}

static int ports_elems(struct nir_table *t, const struct compile_ep *w)
{
	struct nir_set *ports = nir_set_find(t, COMPILE_MAP_PORTS);
	struct nir_set *ports_ip = nir_set_find(t, COMPILE_MAP_PORTS_IP);
	struct nir_elem el;
	int err;

	if (!ports || !ports_ip)
		return -ENOENT;
	for (size_t i = 0; i < w->n_ports; i++) {
		const struct wep_port *p = &w->ports[i];

		memset(&el, 0, sizeof(el));
		el.addr = p->host_ip;
		el.proto = p->proto;
		el.port = p->host_port;
		el.to_addr = ep_addr(w);
		el.to_port = p->port;
		err = nir_set_elem_put(p->host_ip ? ports_ip : ports, &el);
		if (err < 0)
			return err;
	}
	return 0;
}

int compile_ep_elems(struct nir_table *t, const struct compile_ep *w)
{
	struct nir_set *src = nir_set_find(t, COMPILE_SET_WL_SRC);
	struct nir_elem el;
	int err;

	if (!ep_local_ok(w))
		return -EINVAL;
	if (!src)
		return -ENOENT;
	memset(&el, 0, sizeof(el));
	strcpy(el.ifname, w->ifname);
	for (size_t i = 0; i < w->n_nets; i++) {
		if (w->nets[i].len != 32)
			continue;
		el.addr = w->nets[i].addr;
		if ((err = nir_set_elem_put(src, &el)) < 0)
			return err;
	}
	return ports_elems(t, w);
}

/* Deletes the elements of s for which keep() is false. */
static void elems_drop(struct nir_set *s, const struct compile_ep *w,
		       bool (*match)(const struct nir_elem *, const struct compile_ep *))
{
	size_t k = 0;

	if (!s)
		return;
	/* in place: order is kept, so the set stays sorted */
	for (size_t i = 0; i < s->n; i++)
		if (!match(&s->e[i], w))
			s->e[k++] = s->e[i];
	s->n = k;
}

static bool elem_of_if(const struct nir_elem *e, const struct compile_ep *w)
{
	return !strncmp(e->ifname, w->ifname, NIR_IFNAMSIZ);
}

static bool elem_to_wl(const struct nir_elem *e, const struct compile_ep *w)
{
	for (size_t i = 0; i < w->n_nets; i++)
		if (w->nets[i].len == 32 && w->nets[i].addr == e->to_addr)
			return true;
	return false;
}

void compile_ep_del(struct nir_table *t, const struct compile_ep *w)
{
	if (w->ifname[0]) {
		/* its chains are shared: compile_chains_gc removes the unused */
		struct nir_set *src = nir_set_find(t, COMPILE_SET_WL_SRC);
		struct nir_elem el;

		/* by key (a binary search each): felix calls this once per
		 * workload change, with 10,000 workloads in the sets */
		memset(&el, 0, sizeof(el));
		strcpy(el.ifname, w->ifname);
		if (src && w->n_nets) {
			for (size_t i = 0; i < w->n_nets; i++) {
				el.addr = w->nets[i].addr;
				nir_set_elem_del(src, &el);
			}
		} else {
			elems_drop(src, w, elem_of_if);
		}
		el.addr = 0;
		if (nir_set_find(t, COMPILE_MAP_FROM_WL))
			nir_set_elem_del(nir_set_find(t, COMPILE_MAP_FROM_WL), &el);
		if (nir_set_find(t, COMPILE_MAP_TO_WL))
			nir_set_elem_del(nir_set_find(t, COMPILE_MAP_TO_WL), &el);
	}
	/* only its own mappings: another workload may hold the same key */
	elems_drop(nir_set_find(t, COMPILE_MAP_PORTS), w, elem_to_wl);
	elems_drop(nir_set_find(t, COMPILE_MAP_PORTS_IP), w, elem_to_wl);
}

/* ------------------------------------------------------------ sets */

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

bool compile_set_member(const struct nir_owner *o, const struct compile_ep *ep)
{
	if (!o || !ep_routed(ep))
		return false;
	if (o->kind == NIR_OWNER_SELECTOR)
		return selector_match(o->sel, ep->labels);
	return o->kind == NIR_OWNER_NETWORK && ep_in_network(ep, o->network);
}

/* Replaces s's elements by the addresses of its owner's workloads (sorted
 * first: each put is then an append). */
static int set_refill(struct nir_set *s, const struct compile_ep *const *eps,
		      size_t n_eps)
{
	uint32_t *v = NULL;
	size_t n = 0, cap = 0;
	struct nir_elem el;
	int err = 0;

	s->n = 0;
	for (size_t i = 0; i < n_eps; i++) {
		const struct compile_ep *w = eps[i];

		if (!compile_set_member(s->owner, w))
			continue;
		for (size_t j = 0; j < w->n_nets; j++) {
			if (w->nets[j].len != 32)
				continue;
			if (n == cap) {
				uint32_t *nv = realloc(v, (cap ? cap * 2 : 64) * sizeof(*v));

				if (!nv) {
					err = -ENOMEM;
					goto out;
				}
				v = nv;
				cap = cap ? cap * 2 : 64;
			}
			v[n++] = w->nets[j].addr;
		}
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), u32_cmp);
	memset(&el, 0, sizeof(el));
	for (size_t i = 0; i < n; i++) {
		el.addr = v[i];
		if ((err = nir_set_elem_put(s, &el)) < 0)
			goto out;
	}
out:
	free(v);
	return err;
}

int compile_sets_fill(struct nir_table *t, const struct compile_ep *const *eps,
		      size_t n_eps)
{
	for (size_t i = 0; i < t->n_sets; i++) {
		int err;

		if (t->sets[i]->owner && (err = set_refill(t->sets[i], eps, n_eps)) < 0)
			return err;
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void compile_sets_gc(struct nir_table *t)
{
	const char **used = NULL;
	size_t n = 0, cap = 0;

	compile_chains_gc(t, NULL, NULL);	/* an unused chain's sets go too */

	for (size_t i = 0; i < t->n_chains; i++) {
		const struct nir_chain *c = t->chains[i];

		for (size_t j = 0; j < c->n_rules; j++) {
			for (size_t k = 0; k < c->rules[j].n_match; k++) {
				const char *s = c->rules[j].m[k].set;

				if (!s)
					continue;
				if (n == cap) {
					const char **nv = realloc(used, (cap ? cap * 2 : 64) *
								  sizeof(*nv));

					if (!nv)
						goto out;	/* keep everything */
					used = nv;
					cap = cap ? cap * 2 : 64;
				}
				used[n++] = s;
			}
		}
	}
	if (n > 1)
		qsort(used, n, sizeof(*used), str_cmp);
	for (size_t i = t->n_sets; i-- > 0;) {
		const struct nir_set *s = t->sets[i];
		const char *key = s->name;

		if (s->owner && !(n && bsearch(&key, used, n, sizeof(*used), str_cmp)))
			nir_set_del(t, s->name);
	}
out:
	free(used);
}

/* ------------------------------------------------------------ the whole */

static int ifname_cmp(const void *a, const void *b)
{
	const struct compile_ep *x = *(const struct compile_ep *const *)a;
	const struct compile_ep *y = *(const struct compile_ep *const *)b;

	return strcmp(x->ifname, y->ifname);
}

/* The local workloads that get chains, by interface name (so that their
 * chains and elements are appended in order). */
static const struct compile_ep **local_eps(const struct compile_input *in,
					   size_t *n)
{
	const struct compile_ep **v = malloc((in->n_eps + 1) * sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < in->n_eps; i++)
		if (ep_local_ok(in->eps[i]) && in->node &&
		    !strcmp(in->eps[i]->node, in->node))
			v[(*n)++] = in->eps[i];
	if (*n > 1)
		qsort(v, *n, sizeof(*v), ifname_cmp);
	return v;
}

/* The policies with their selectors parsed (pointers into cp in pp);
 * -EINVAL with e told, or -ENOMEM. */
static int policies_prepare(const struct compile_input *in,
			    struct compile_policy *cp,
			    const struct compile_policy **pp, struct errs *e)
{
	for (size_t i = 0; i < in->n_policies; i++) {
		int err = compile_policy_prepare(&cp[i], in->policies[i], e);

		if (err < 0)
			return err;
		pp[i] = &cp[i];
	}
	return 0;
}

static int eps_compile(struct nir_table *t, const struct compile_input *in,
		       const struct compile_policy *const *pp)
{
	const struct compile_ep **eps;
	size_t n = 0;
	int err = 0;

	if (!(eps = local_eps(in, &n)))
		return -ENOMEM;
	for (size_t i = 0; i < n && err == 0; i++)
		err = compile_ep_add(t, eps[i], pp, in->n_policies);
	free(eps);
	return err;
}

struct nir_table *compile_table(const struct compile_input *in, struct errs *e)
{
	struct nir_table *t = nir_table_new();
	struct compile_policy *cp = calloc(in->n_policies + 1, sizeof(*cp));
	const struct compile_policy **pp = calloc(in->n_policies + 1, sizeof(*pp));
	int err = -ENOMEM;

	if (!t || !cp || !pp)
		goto out;
	if ((err = compile_base(t, &in->cfg, in->pools, in->n_pools)) < 0 ||
	    (err = policies_prepare(in, cp, pp, e)) < 0)
		goto out;
	for (size_t i = 0; i < in->n_policies; i++)
		if ((err = compile_policy_chains(t, in->policies[i], e)) < 0)
			goto out;
	if ((err = eps_compile(t, in, pp)) < 0)
		goto out;
	err = compile_sets_fill(t, in->eps, in->n_eps);
out:
	for (size_t i = 0; cp && i < in->n_policies; i++)
		compile_policy_clear(&cp[i]);
	free(cp);
	free(pp);
	if (err < 0) {
		if (err == -ENOMEM && e)
			errs_add(e, "out of memory compiling the nftables table");
		nir_table_free(t);
		return NULL;
	}
	return t;
}
