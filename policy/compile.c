/*
 * compile: resources → the nftables table `inet petrel` (contract and table
 * layout: compile.h).
 *
 * Files: compile.c names, the skeleton and the whole; compile_policy.c a
 * policy's chains and the selection and ordering of policies;
 * compile_ep.c a workload's chains and elements, and the address sets.
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
#include "policy/compile_int.h"

/* ------------------------------------------------------------ names */

static void hex12(const char *s, char *out)
{
	uint8_t h[20];

	sha1(s, strlen(s), h);
	for (int i = 0; i < 6; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* prefix + name, or when too long prefix + the name cut + "-" + 12 hex. */
void compile_name_fit(const char *prefix, const char *name, char *buf)
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
	compile_name_fit("from-", ifname, buf);
}

void compile_name_to(const char *ifname, char *buf)
{
	compile_name_fit("to-", ifname, buf);
}

void compile_name_policy(const char *policy, bool ingress, char *buf)
{
	compile_name_fit(ingress ? "pi-" : "pe-", policy, buf);
}

void compile_name_selector_set(const char *canon, char *buf)
{
	char hex[13];

	hex12(canon, hex);
	snprintf(buf, NIR_NAME_MAX, "s-%s", hex);
}

void compile_name_network_set(const char *network, char *buf)
{
	compile_name_fit("n-", network, buf);
}

/* ------------------------------------------------------------ small helpers */

/* The chain `name`, emptied, or a new one; NULL on ENOMEM. */
struct nir_chain *compile_chain_fresh(struct nir_table *t, const char *name)
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
int compile_set_ensure(struct nir_table *t, const char *name,
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

int compile_verdict_rule(struct nir_chain *c, enum nir_stmt_type v,
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

/* ------------------------------------------------------------ the skeleton */

static int sets_base(struct nir_table *t)
{
	static const struct { const char *name; enum nir_set_type type; } v[] = {
		{ COMPILE_SET_WL_SRC, NST_IFNAME_IPV4 },
		{ COMPILE_MAP_FROM_WL, NST_IFNAME_VMAP },
		{ COMPILE_MAP_TO_WL, NST_IFNAME_VMAP },
		{ COMPILE_MAP_PORTS, NST_PORT_DNAT },
		{ COMPILE_MAP_PORTS_IP, NST_ADDR_PORT_DNAT },
		{ COMPILE_MAP_FROM_HEP, NST_IFNAME_VMAP },
		{ COMPILE_MAP_TO_HEP, NST_IFNAME_VMAP },
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

/* nat-pre and nat-out: published ports, by host address first. A host
 * address is always one of the node's own (fib daddr type local), checked
 * here too and not only when the port was asked for: a record written by
 * hand, or an address the node has since given up, captures nothing.
 * 127.0.0.0/8 is published for the node's own clients only (nat-out, as
 * Docker does): a packet arriving from the network for a loopback address
 * is never DNATed (route_localnet would then forward it: the
 * CVE-2020-8558 class). The node's own loopback packets come back in
 * through prerouting only as established ones, which nat does not see. */
static int nat_dnat(struct nir_chain *c, bool pre)
{
	struct nir_rule *r;
	int err = 0;

	if (pre && (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
		    (err = nir_stmt_add(r, NS_JUMP, CH_HEP_PRE)) < 0))
		return err;
	if (pre && (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
		    (err = nir_match_net(r, NK_DADDR, NO_EQ, LOOPBACK_NET, 8)) < 0 ||
		    (err = nir_stmt_add(r, NS_RETURN, NULL)) < 0 ||
		    (err = nir_rule_comment(r, "loopback is published to the node only")) < 0))
		return err;
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_match_val(r, NK_NFPROTO, NO_EQ, NFPROTO_V4)) < 0 ||
	    (err = nir_match_val(r, NK_FIB_DADDR_LOCAL, NO_EQ, 0)) < 0 ||
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
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_add(r, NS_JUMP, CH_HEP_FWD)) < 0)
		return err;
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
	for (size_t i = 0; cfg && cfg->ep_to_host == COMPILE_HOST_DROP &&
			   i < cfg->n_host_allow; i++) {
		const struct compile_host_allow *a = &cfg->host_allow[i];

		if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
		    (err = nir_match_val(r, NK_L4PROTO, NO_EQ, a->proto)) < 0 ||
		    (a->proto != IPPROTO_ICMP &&
		     (err = nir_match_val(r, NK_DPORT, NO_EQ, a->port)) < 0) ||
		    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0 ||
		    (err = nir_rule_comment(r, "endpointToHostAllow")) < 0)
			return err;
	}
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, NS_JUMP, CH_HEP_WL)) < 0)
		return err;
	if (!(r = rule_if(c, NK_IIFNAME, NO_EQ, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, cfg && cfg->ep_to_host == COMPILE_HOST_DROP ?
				NS_DROP : NS_ACCEPT, NULL)) < 0 ||
	    (err = nir_rule_comment(r, "workload to host")) < 0)
		return err;
	if (!(r = rule_if(c, NK_IIFNAME, NO_NE, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, NS_JUMP, CH_FAILSAFE_IN)) < 0)
		return err;
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_vmap(r, NK_IIFNAME, COMPILE_MAP_FROM_HEP)) < 0)
		return err;
	return 0;
}

/* output: what the node sends out of its own interfaces. */
static int output(struct nir_chain *c)
{
	struct nir_rule *r;
	int err = 0;

	if (!(r = rule_if(c, NK_OIFNAME, NO_NE, IF_WILDCARD, &err)) ||
	    (err = nir_stmt_add(r, NS_JUMP, CH_FAILSAFE_OUT)) < 0)
		return err;
	if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
	    (err = nir_stmt_vmap(r, NK_OIFNAME, COMPILE_MAP_TO_HEP)) < 0)
		return err;
	return 0;
}

/* failsafe-in / failsafe-out: each port accepted (Calico's failsafe rules:
 * the node stays reachable for ssh, BGP, etcd, DHCP, DNS whatever host
 * policy says). */
static int failsafe(struct nir_chain *c, const struct compile_host_allow *v,
		    size_t n, const char *comment)
{
	struct nir_rule *r;
	int err = 0;

	for (size_t i = 0; i < n; i++)
		if (!(r = rule_if(c, 0, NO_EQ, NULL, &err)) ||
		    (err = nir_match_val(r, NK_L4PROTO, NO_EQ, v[i].proto)) < 0 ||
		    (err = nir_match_val(r, NK_DPORT, NO_EQ, v[i].port)) < 0 ||
		    (err = nir_stmt_add(r, NS_ACCEPT, NULL)) < 0 ||
		    (err = nir_rule_comment(r, comment)) < 0)
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
	struct nir_chain *c[16];
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
	c[10] = nir_base_chain_add(t, CH_OUTPUT, NH_OUTPUT, false, 0, false);
	c[11] = nir_chain_add(t, CH_FAILSAFE_IN);
	c[12] = nir_chain_add(t, CH_FAILSAFE_OUT);
	c[13] = nir_chain_add(t, CH_HEP_WL);
	c[14] = nir_chain_add(t, CH_HEP_FWD);
	c[15] = nir_chain_add(t, CH_HEP_PRE);
	for (int i = 0; i < 16; i++)
		if (!c[i])
			return -ENOMEM;
	if ((err = compile_verdict_rule(c[8], NS_RETURN, "network: egress allowed")) < 0 ||
	    (err = compile_verdict_rule(c[9], NS_ACCEPT, "network default")) < 0)
		return err;
	if ((err = raw_pre(c[0])) < 0 || (err = nat_dnat(c[1], true)) < 0 ||
	    (err = nat_dnat(c[2], false)) < 0 || (err = forward(c[4])) < 0 ||
	    (err = input(c[5], cfg)) < 0 ||
	    (err = dispatch(c[6], NK_IIFNAME, COMPILE_MAP_FROM_WL)) < 0 ||
	    (err = dispatch(c[7], NK_OIFNAME, COMPILE_MAP_TO_WL)) < 0 ||
	    (err = output(c[10])) < 0 ||
	    (cfg && (err = failsafe(c[11], cfg->failsafe_in, cfg->n_failsafe_in,
				    "failsafeInboundHostPorts")) < 0) ||
	    (cfg && (err = failsafe(c[12], cfg->failsafe_out, cfg->n_failsafe_out,
				    "failsafeOutboundHostPorts")) < 0))
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
		if (compile_ep_local_ok(in->eps[i]) && in->node &&
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
	if ((err = eps_compile(t, in, pp)) < 0 ||
	    (err = compile_heps(t, in->heps, in->n_heps, pp, in->n_policies)) < 0)
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
