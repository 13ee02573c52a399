/*
 * test_compile: policy/compile.c and policy/nftir.c.
 *
 *   - golden nft text, one per world of tests/unit/pol_scenarios.h,
 *     compared byte for byte with tests/unit/golden/nft/NAME.nft
 *     (PETREL_REGEN_GOLDEN=1 rewrites them); the same input gives the same
 *     bytes twice (tests/integration/test_nftir.sh has `nft -c` check them);
 *   - incremental == whole: the table built piece by piece (compile_base,
 *     compile_policy_chains, compile_ep_chains/elems, compile_sets_fill) renders as
 *     compile_table's, also after deleting some workloads and policies and
 *     adding them back in another order;
 *   - set membership: selector sets across nodes, network sets;
 *   - the IR: builders and their errors, ranges merged, elements sorted and
 *     replaced, chain order, equality, copies, rendering of single rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/golden.h"

#include "pol_scenarios.h"

/* tests/unit/golden/nft/, found from this file's own path */
static char golden_dir[512];

/* ------------------------------------------------------------ helpers */

static char *render(const struct nir_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	nir_render_table(t, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *render_rule(const struct nir_rule *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	nir_render_rule(r, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static struct sc_world *world(const char *name)
{
	struct sc_world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	for (size_t i = 0; i < SC_N; i++)
		if (!strcmp(sc_scenarios[i].name, name))
			sc_scenarios[i].build(w);
	assert_true(w->n_eps > 0);
	sc_input(w);
	return w;
}

static void world_free(struct sc_world *w)
{
	sc_world_free(w);
	free(w);
}

static struct nir_table *compile_ok(const struct compile_input *in)
{
	struct errs e = ERRS_INIT;
	struct nir_table *t = compile_table(in, &e);

	for (size_t i = 0; i < e.n; i++)
		print_message("  err: %s\n", e.msg[i]);
	assert_non_null(t);
	assert_int_equal(e.n, 0);
	errs_clear(&e);
	return t;
}

static bool set_has(const struct nir_table *t, const char *set, const char *ip)
{
	const struct nir_set *s = nir_set_find(t, set);

	assert_non_null(s);
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].addr == sc_ip(ip))
			return true;
	return false;
}

/* ------------------------------------------------------------ golden files */

static void golden(const char *name)
{
	struct sc_world *w = world(name);
	struct nir_table *t = compile_ok(&w->in), *t2 = compile_ok(&w->in);
	char path[700], *text = render(t), *again = render(t2);

	assert_string_equal(text, again);	/* same input, same bytes */
	snprintf(path, sizeof(path), "%s/%s.nft", golden_dir, name);
	golden_check(path, text, "table");
	free(text);
	free(again);
	nir_table_free(t);
	nir_table_free(t2);
	world_free(w);
}

static void test_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < SC_N; i++)
		golden(sc_scenarios[i].name);
}

/* ------------------------------------------------------------ incremental == whole */

static bool ep_local(const struct compile_input *in, const struct compile_ep *w)
{
	return !strcmp(w->node, in->node) && w->routed && w->ifname[0] && w->n_nets;
}

/* One workload as felix adds it: its policies per direction (selected and
 * sorted by compile_select, as felix's are), its chains and elements. */
static void ep_add(struct nir_table *t, const struct compile_input *in,
		   const struct compile_ep *w)
{
	struct compile_policy cp[SC_MAX];
	const struct compile_policy *pp[SC_MAX];
	const struct netpolicy *eg[SC_MAX], *ig[SC_MAX];
	size_t ne, ni;

	for (size_t i = 0; i < in->n_policies; i++) {
		assert_int_equal(compile_policy_prepare(&cp[i], in->policies[i], NULL), 0);
		pp[i] = &cp[i];
	}
	ne = compile_select(pp, in->n_policies, w, false, eg);
	ni = compile_select(pp, in->n_policies, w, true, ig);
	assert_int_equal(compile_ep_chains(t, w, eg, ne, ig, ni), 0);
	assert_int_equal(compile_ep_elems(t, w), 0);
	for (size_t i = 0; i < in->n_policies; i++)
		compile_policy_clear(&cp[i]);
}

static void same_text(const struct nir_table *a, const struct nir_table *b,
		      const char *what)
{
	char *x = render(a), *y = render(b);

	if (strcmp(x, y)) {
		show_diff(x, y);
		fail_msg("%s: incremental table differs from compile_table's", what);
	}
	free(x);
	free(y);
}

/* The host endpoints' pieces, from the policies of in (rebuilt whole, as
 * felix does after any change). */
static void heps_add(struct nir_table *t, const struct compile_input *in)
{
	struct compile_policy cp[SC_MAX];
	const struct compile_policy *pp[SC_MAX];

	for (size_t i = 0; i < in->n_policies; i++) {
		assert_int_equal(compile_policy_prepare(&cp[i], in->policies[i], NULL), 0);
		pp[i] = &cp[i];
	}
	assert_int_equal(compile_heps(t, in->heps, in->n_heps, pp, in->n_policies), 0);
	for (size_t i = 0; i < in->n_policies; i++)
		compile_policy_clear(&cp[i]);
}

static void incremental(const char *name)
{
	struct sc_world *w = world(name);
	const struct compile_input *in = &w->in;
	struct nir_table *whole = compile_ok(in), *t = nir_table_new();
	struct errs e = ERRS_INIT;

	/* policies in input order, workloads backwards */
	assert_int_equal(compile_base(t, &in->cfg, in->pools, in->n_pools), 0);
	for (size_t i = 0; i < in->n_policies; i++)
		assert_int_equal(compile_policy_chains(t, in->policies[i], &e), 0);
	for (size_t i = in->n_eps; i-- > 0;)
		if (ep_local(in, in->eps[i]))
			ep_add(t, in, in->eps[i]);
	assert_int_equal(compile_sets_fill(t, in->eps, in->n_eps), 0);
	heps_add(t, in);
	same_text(whole, t, name);

	/* every other workload and every policy out, the sets collected */
	for (size_t i = 0; i < in->n_eps; i += 2)
		compile_ep_del(t, in->eps[i]);
	for (size_t i = 0; i < in->n_policies; i++)
		compile_policy_del(t, in->policies[i]->name);
	for (size_t i = 0; i < t->n_chains; i++)
		assert_null(strstr(t->chains[i]->name, "pi-"));
	/* back, in another order */
	for (size_t i = in->n_policies; i-- > 0;)
		assert_int_equal(compile_policy_chains(t, in->policies[i], &e), 0);
	for (size_t i = 0; i < in->n_eps; i += 2)
		if (ep_local(in, in->eps[i]))
			ep_add(t, in, in->eps[i]);
	/* chains refilled in place too */
	for (size_t i = 1; i < in->n_eps; i += 2)
		if (ep_local(in, in->eps[i]))
			ep_add(t, in, in->eps[i]);
	compile_sets_gc(t);
	assert_int_equal(compile_sets_fill(t, in->eps, in->n_eps), 0);
	assert_int_equal(compile_nat_post(t, in->pools, in->n_pools), 0);
	heps_add(t, in);
	same_text(whole, t, name);
	assert_int_equal(e.n, 0);
	nir_table_free(whole);
	nir_table_free(t);
	world_free(w);
}

static void test_incremental(void **state)
{
	(void)state;
	for (size_t i = 0; i < SC_N; i++)
		incremental(sc_scenarios[i].name);
}

/* ------------------------------------------------------------ sets */

static void test_selector_sets(void **state)
{
	struct sc_world *w = world("ingress_allow");
	struct nir_table *t = compile_ok(&w->in);
	char name[NIR_NAME_MAX];
	const struct nir_set *s;

	(void)state;
	compile_name_selector_set("role == \"frontend\"", name);
	assert_int_equal(strlen(name), 14);
	s = nir_set_find(t, name);
	assert_non_null(s);
	assert_string_equal(s->comment, "role == \"frontend\"");
	assert_int_equal(s->n, 2);	/* fe here, fe2 on node2 */
	assert_true(set_has(t, name, "10.0.0.20"));
	assert_true(set_has(t, name, "10.0.1.20"));
	assert_false(set_has(t, name, "10.0.1.30"));
	/* only local workloads are dispatched */
	assert_int_equal(nir_set_find(t, COMPILE_MAP_FROM_WL)->n, 2);
	{
		char from[NIR_NAME_MAX], to[NIR_NAME_MAX];

		assert_int_equal(compile_ep_chain_names(t, "ptlfe2", from, to), -ENOENT);
		assert_int_equal(compile_ep_chain_names(t, "ptlweb", from, to), 0);
		assert_non_null(nir_chain_find(t, to));	/* a policy selects web */
		assert_int_equal(nir_chain_find(t, "pi-allow-web")->role, NIR_CHAIN_POLICY);
		assert_int_equal(strncmp(to, "to-", 3), 0);
		assert_string_not_equal(to, "to-open");
	}

	/* a workload going away from every node: the set follows */
	w->eps[1].labels.v[0].value[0] = 'X';	/* role=Xrontend */
	assert_int_equal(compile_sets_fill(t, w->in.eps, w->in.n_eps), 0);
	assert_int_equal(s->n, 1);
	assert_true(set_has(t, name, "10.0.1.20"));

	/* what fills it is its typed owner, the parsed selector: the comment
	 * is for the reader only (never re-parsed) */
	s = nir_set_find(t, name);
	assert_non_null(s->owner);
	assert_int_equal(s->owner->kind, NIR_OWNER_SELECTOR);
	free(((struct nir_set *)s)->comment);
	((struct nir_set *)s)->comment = strdup("role ==");
	assert_int_equal(compile_sets_fill(t, w->in.eps, w->in.n_eps), 0);
	assert_int_equal(s->n, 1);
	assert_true(set_has(t, name, "10.0.1.20"));
	/* a set without an owner (the fixed ones) is not touched */
	assert_null(nir_set_find(t, COMPILE_SET_WL_SRC)->owner);

	/* unused once its policy is gone */
	compile_policy_del(t, "allow-web");
	compile_sets_gc(t);
	assert_null(nir_set_find(t, name));
	assert_non_null(nir_set_find(t, COMPILE_SET_WL_SRC));
	nir_table_free(t);
	world_free(w);
}

/* The vmap element of ifname in map points at chain. */
static bool vmap_to(const struct nir_table *t, const char *map,
		    const char *ifname, const char *chain)
{
	const struct nir_set *s = nir_set_find(t, map);

	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->e[i].ifname, ifname))
			return !strcmp(s->e[i].chain, chain);
	return false;
}

static void test_network_sets(void **state)
{
	struct sc_world *w = world("networks");
	struct nir_table *t = compile_ok(&w->in);
	const struct nir_chain *c;

	(void)state;
	assert_int_equal(nir_set_find(t, "n-blue")->n, 3);
	/* its owner says whose members it holds (not its name) */
	assert_int_equal(nir_set_find(t, "n-blue")->owner->kind, NIR_OWNER_NETWORK);
	assert_string_equal(nir_set_find(t, "n-blue")->owner->network, "blue");
	assert_true(set_has(t, "n-blue", "10.0.0.1"));
	assert_true(set_has(t, "n-blue", "10.0.0.2"));
	assert_true(set_has(t, "n-blue", "10.0.1.4"));	/* node2 */
	assert_int_equal(nir_set_find(t, "n-red")->n, 2);
	assert_true(set_has(t, "n-red", "10.0.0.2"));
	assert_true(set_has(t, "n-red", "10.2.0.3"));
	/* b: both networks, published ports, then drop (a shared chain: its
	 * name is a hash of its rules) */
	char from[NIR_NAME_MAX], to[NIR_NAME_MAX];

	assert_int_equal(compile_ep_chain_names(t, "ptlb", from, to), 0);
	c = nir_chain_find(t, to);
	assert_non_null(c);
	assert_int_equal(c->n_rules, 4);
	/* its kind is typed: a shared endpoint chain (gc'd when unused) */
	assert_int_equal(c->role, NIR_CHAIN_ENDPOINT);
	assert_int_equal(nir_chain_find(t, "from-open")->role, NIR_CHAIN_FIXED);
	assert_string_equal(c->rules[0].m[0].set, "n-blue");
	assert_string_equal(c->rules[1].m[0].set, "n-red");
	assert_int_equal(c->rules[2].m[0].key, NK_CT_STATUS);
	assert_int_equal(c->rules[3].s[0].type, NS_DROP);
	/* e: default: everything in, through the shared chain */
	assert_null(nir_chain_find(t, "to-ptle"));
	c = nir_chain_find(t, "to-open");
	assert_non_null(c);
	assert_int_equal(c->n_rules, 1);
	assert_int_equal(c->rules[0].s[0].type, NS_ACCEPT);
	assert_true(vmap_to(t, COMPILE_MAP_TO_WL, "ptle", "to-open"));
	assert_true(vmap_to(t, COMPILE_MAP_TO_WL, "ptlb", to));
	/* egress is never limited by networks: the shared from-open */
	assert_string_equal(from, "from-open");
	c = nir_chain_find(t, "from-open");
	assert_int_equal(c->n_rules, 1);
	assert_int_equal(c->rules[0].s[0].type, NS_RETURN);
	assert_true(vmap_to(t, COMPILE_MAP_FROM_WL, "ptlb", "from-open"));
	nir_table_free(t);
	world_free(w);
}

static void test_ports_elems(void **state)
{
	struct sc_world *w = world("ports");
	struct nir_table *t = compile_ok(&w->in);
	const struct nir_set *p = nir_set_find(t, COMPILE_MAP_PORTS);
	const struct nir_set *pip = nir_set_find(t, COMPILE_MAP_PORTS_IP);
	struct wep other;
	struct compile_ep ov;

	(void)state;
	assert_int_equal(p->n, 3);	/* node2's 9090 is not ours */
	assert_int_equal(pip->n, 2);
	assert_int_equal(p->e[0].proto, IPPROTO_TCP);
	assert_int_equal(p->e[0].port, 5353);
	assert_int_equal(p->e[1].port, 8080);
	assert_int_equal(p->e[1].to_addr, sc_ip("10.0.0.10"));
	assert_int_equal(p->e[1].to_port, 80);
	assert_int_equal(p->e[2].proto, IPPROTO_UDP);
	assert_int_equal(pip->e[0].addr, sc_ip("192.0.2.11"));

	/* deleting a workload removes only its own mappings */
	other = w->eps[0];
	other.nets[0] = sc_net("10.0.0.99/32");
	strcpy(other.ifname, "ptlnothere");
	compile_ep_of_wep(&ov, &other);
	compile_ep_del(t, &ov);
	assert_int_equal(p->n, 3);
	compile_ep_del(t, &w->epv[0]);
	assert_int_equal(p->n, 2);
	assert_int_equal(pip->n, 1);
	assert_int_equal(nir_set_find(t, COMPILE_SET_WL_SRC)->n, 1);
	assert_null(nir_chain_find(t, "from-ptlweb"));
	nir_table_free(t);
	world_free(w);
}

static void test_natout(void **state)
{
	struct sc_world *w = world("natout");
	struct nir_table *t = compile_ok(&w->in);
	const struct nir_chain *c = nir_chain_find(t, "nat-post");
	char *s;

	(void)state;
	assert_int_equal(c->n_rules, 5);
	s = render_rule(&c->rules[3]);
	assert_string_equal(s, "ip daddr { 10.0.0.0/15, 10.2.0.0/24 } "
			    "return comment \"between pools\"");
	free(s);
	s = render_rule(&c->rules[4]);
	assert_string_equal(s, "ip saddr { 10.0.0.0/16, 10.2.0.0/24 } masquerade "
			    "comment \"natOutgoing\"");
	free(s);
	/* without a natOutgoing pool: the two fixed rules only */
	w->pools[0].nat_outgoing = w->pools[2].nat_outgoing = false;
	assert_int_equal(compile_nat_post(t, w->in.pools, w->in.n_pools), 0);
	assert_int_equal(c->n_rules, 2);
	nir_table_free(t);
	world_free(w);
}

static void test_bad_selector(void **state)
{
	struct sc_world *w = world("ingress_allow");
	struct errs e = ERRS_INIT;

	(void)state;
	free(w->pols[0].selector);
	w->pols[0].selector = strdup("app == ");
	assert_null(compile_table(&w->in, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "policy allow-web: selector"));
	errs_clear(&e);

	free(w->pols[0].selector);
	w->pols[0].selector = NULL;
	free(w->pols[0].in_rules[0].src.selector);
	w->pols[0].in_rules[0].src.selector = strdup("((");
	assert_null(compile_table(&w->in, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "ingress[0].source.selector"));
	errs_clear(&e);

	/* what validation refuses: ports without a port protocol */
	free(w->pols[0].in_rules[0].src.selector);
	w->pols[0].in_rules[0].src.selector = NULL;
	w->pols[0].in_rules[0].protocol = 47;
	assert_null(compile_table(&w->in, &e));
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "policy allow-web: ingress[0]: cannot be compiled"));
	errs_clear(&e);
	world_free(w);
}

static void test_sort_and_names(void **state)
{
	struct netpolicy p[4];
	const struct netpolicy *v[4] = { &p[0], &p[1], &p[2], &p[3] };
	char buf[NIR_NAME_MAX], buf2[NIR_NAME_MAX], longname[RES_NAME_MAX];

	(void)state;
	memset(p, 0, sizeof(p));
	strcpy(p[0].name, "zz");		/* no order: last */
	strcpy(p[1].name, "b");
	p[1].has_order = true;
	p[1].order = 5;
	strcpy(p[2].name, "a");
	p[2].has_order = true;
	p[2].order = 5;
	strcpy(p[3].name, "c");
	p[3].has_order = true;
	p[3].order = -1.5;
	compile_sort(v, 4);
	assert_string_equal(v[0]->name, "c");
	assert_string_equal(v[1]->name, "a");
	assert_string_equal(v[2]->name, "b");
	assert_string_equal(v[3]->name, "zz");

	compile_name_from("ptl0123456789ab", buf);
	assert_string_equal(buf, "from-ptl0123456789ab");
	compile_name_policy("x", true, buf);
	assert_string_equal(buf, "pi-x");
	compile_name_network_set("blue", buf);
	assert_string_equal(buf, "n-blue");
	/* a 63-character name: cut, made unique by its hash */
	memset(longname, 'a', 63);
	longname[63] = '\0';
	compile_name_policy(longname, false, buf);
	assert_int_equal(strlen(buf), NIR_NAME_MAX - 1);
	assert_memory_equal(buf, "pe-aaaa", 7);
	longname[62] = 'b';
	compile_name_policy(longname, false, buf2);
	assert_int_equal(strlen(buf2), NIR_NAME_MAX - 1);
	assert_string_not_equal(buf, buf2);
}

/* ------------------------------------------------------------ the IR */

static void test_ir_rules(void **state)
{
	struct nir_table *t = nir_table_new();
	struct nir_chain *c = nir_chain_add(t, "x");
	struct nir_rule *r = nir_rule_add(c);
	struct nir_range v[] = { { sc_ip("10.1.0.0"), sc_ip("10.1.255.255") },
				 { sc_ip("10.0.0.0"), sc_ip("10.0.0.255") } };
	struct nir_range pv[] = { { 8000, 8080 }, { 80, 80 }, { 8050, 8100 } };
	char *s;

	(void)state;
	assert_int_equal(nir_match_ifname(r, NK_IIFNAME, NO_EQ, "ptl*"), 0);
	assert_int_equal(nir_match_val(r, NK_L4PROTO, NO_EQ, IPPROTO_TCP), 0);
	assert_int_equal(nir_match_ranges(r, NK_SADDR, NO_EQ, v, 2), 0);
	assert_int_equal(nir_match_ranges(r, NK_DPORT, NO_EQ, pv, 3), 0);
	assert_int_equal(r->m[3].n_ranges, 2);	/* 8000-8100 merged */
	assert_int_equal(nir_stmt_mark(r, COMPILE_MARK_MASK, COMPILE_MARK_ACCEPT), 0);
	assert_int_equal(nir_stmt_add(r, NS_RETURN, NULL), 0);
	s = render_rule(r);
	assert_string_equal(s, "iifname \"ptl*\" meta l4proto tcp ip saddr { "
			    "10.0.0.0/24, 10.1.0.0/16 } tcp dport { 80, 8000-8100 } "
			    "meta mark set meta mark & 0xfffcffff | 0x00010000 return");
	free(s);
	/* a verdict is last */
	assert_int_equal(nir_stmt_add(r, NS_COUNTER, NULL), -EINVAL);
	assert_int_equal(nir_stmt_add(r, NS_DROP, NULL), -EINVAL);

	r = nir_rule_add(c);
	for (int i = 0; i < NIR_RULE_MATCH_MAX; i++)
		assert_int_equal(nir_match_val(r, NK_CT_STATE, NO_NE, NIR_CT_INVALID), 0);
	assert_int_equal(nir_match_val(r, NK_CT_STATE, NO_EQ, 1), -E2BIG);
	assert_int_equal(nir_match_ifname(nir_rule_add(c), NK_IIFNAME, NO_EQ,
					  "0123456789abcdef"), -EINVAL);
	assert_int_equal(nir_match_net(nir_rule_add(c), NK_SADDR, NO_EQ, 0, 33), -EINVAL);
	assert_int_equal(nir_stmt_add(nir_rule_add(c), NS_JUMP, NULL), -EINVAL);
	/* ports only after tcp/udp/sctp, icmp fields only after icmp */
	r = nir_rule_add(c);
	assert_int_equal(nir_match_val(r, NK_DPORT, NO_EQ, 80), -EINVAL);
	assert_int_equal(nir_match_val(r, NK_L4PROTO, NO_EQ, IPPROTO_ICMP), 0);
	assert_int_equal(nir_match_val(r, NK_DPORT, NO_EQ, 80), -EINVAL);
	assert_int_equal(nir_match_val(r, NK_ICMP_CODE, NO_EQ, 0), 0);

	r = nir_rule_add(c);
	assert_int_equal(nir_match_val(r, NK_CT_STATUS, NO_EQ, 0x20), 0);
	assert_int_equal(nir_match_set(r, NK_OIF_SADDR, NO_EQ, "wl_src"), 0);
	assert_int_equal(nir_match_net(r, NK_DADDR, NO_NE, sc_ip("10.9.9.9"), 16), 0);
	assert_int_equal(nir_match_mark(r, NO_NE, 0xff, 0x1), 0);
	assert_int_equal(nir_match_val(r, NK_FIB_DADDR_LOCAL, NO_EQ, 7), 0);
	assert_int_equal(nir_stmt_add(r, NS_LOG, "petrel x: "), 0);
	assert_int_equal(nir_stmt_add(r, NS_MASQUERADE, NULL), 0);
	assert_int_equal(nir_rule_comment(r, "say \"hi\""), 0);
	s = render_rule(r);
	assert_string_equal(s, "ct status dnat oifname . ip saddr @wl_src ip daddr != "
			    "10.9.0.0/16 meta mark & 0x000000ff != 0x00000001 fib daddr "
			    "type local log prefix \"petrel x: \" masquerade comment "
			    "\"say 'hi'\"");
	free(s);

	r = nir_rule_add(c);
	assert_int_equal(nir_match_val(r, NK_L4PROTO, NO_EQ, IPPROTO_ICMP), 0);
	assert_int_equal(nir_match_val(r, NK_ICMP_TYPE, NO_EQ, 8), 0);
	assert_int_equal(nir_match_val(r, NK_CT_STATE, NO_EQ,
				       NIR_CT_ESTABLISHED | NIR_CT_RELATED), 0);
	assert_int_equal(nir_stmt_vmap(r, NK_OIFNAME, "to_wl"), 0);
	s = render_rule(r);
	assert_string_equal(s, "meta l4proto icmp icmp type 8 ct state "
			    "established,related oifname vmap @to_wl");
	free(s);
	nir_table_free(t);
}

static void test_ir_table(void **state)
{
	struct nir_table *t = nir_table_new();
	struct nir_chain *a, *b, *d;
	char name[NIR_NAME_MAX + 1];

	(void)state;
	assert_non_null(nir_chain_add(t, "zeta"));
	assert_non_null(nir_base_chain_add(t, "forward", NH_FORWARD, false, 0, false));
	assert_non_null(nir_chain_add(t, "alpha"));
	assert_non_null(nir_base_chain_add(t, "input", NH_INPUT, false, 0, true));
	assert_null(nir_chain_add(t, "alpha"));
	assert_null(nir_chain_add(t, "forward"));
	memset(name, 'x', NIR_NAME_MAX);
	name[NIR_NAME_MAX] = '\0';
	assert_null(nir_chain_add(t, name));
	assert_null(nir_set_add(t, name, NST_IPV4));
	/* base chains first, in creation order; then by name */
	assert_string_equal(t->chains[0]->name, "forward");
	assert_string_equal(t->chains[1]->name, "input");
	assert_string_equal(t->chains[2]->name, "alpha");
	assert_string_equal(t->chains[3]->name, "zeta");
	/* the same name for a chain and a set is fine */
	assert_non_null(nir_set_add(t, "alpha", NST_IPV4));
	assert_null(nir_set_add(t, "alpha", NST_IPV4));

	a = nir_chain_find(t, "alpha");
	assert_int_equal(nir_match_val(nir_rule_add(a), NK_L4PROTO, NO_EQ, 17), 0);
	assert_int_equal(nir_stmt_add(nir_rule_add(a), NS_JUMP, "zeta"), 0);
	assert_int_equal(nir_rule_comment(&a->rules[1], "c"), 0);
	assert_int_equal(nir_match_val(&a->rules[1], NK_L4PROTO, NO_EQ, IPPROTO_SCTP), 0);
	assert_int_equal(nir_match_ranges(&a->rules[1], NK_SPORT, NO_NE,
					  (struct nir_range[]){ { 1, 2 } }, 1), 0);
	d = nir_chain_dup(a);
	assert_non_null(d);
	assert_true(nir_chain_equal(a, d));
	d->rules[1].m[1].ranges[0].hi = 3;
	assert_false(nir_chain_equal(a, d));
	nir_chain_free(d);
	b = nir_chain_find(t, "input");
	assert_false(nir_chain_equal(b, nir_chain_find(t, "forward")));
	d = nir_chain_dup(b);
	assert_true(nir_chain_equal(b, d));
	nir_chain_free(d);
	nir_chain_free(NULL);
	nir_set_free(NULL);
	nir_table_free(NULL);

	nir_chain_del(t, "alpha");
	nir_chain_del(t, "nothere");
	assert_null(nir_chain_find(t, "alpha"));
	assert_non_null(nir_set_find(t, "alpha"));
	nir_set_del(t, "alpha");
	assert_null(nir_set_find(t, "alpha"));
	assert_int_equal(t->n_chains, 3);
	nir_table_free(t);
}

static void test_ir_elems(void **state)
{
	struct nir_table *t = nir_table_new();
	struct nir_set *s = nir_set_add(t, "m", NST_IFNAME_VMAP), *d;
	struct nir_set *p = nir_set_add(t, "p", NST_ADDR_PORT_DNAT);
	struct nir_elem e;
	const char *names[] = { "ptlc", "ptla", "ptlb", "ptla" };
	char *text = NULL;
	size_t len;
	FILE *f;

	(void)state;
	for (int i = 0; i < 4; i++) {
		memset(&e, 0, sizeof(e));
		strcpy(e.ifname, names[i]);
		snprintf(e.chain, sizeof(e.chain), "c%d", i);
		e.vgoto = i != 1;
		e.addr = 99;	/* not a key of this type: ignored */
		assert_int_equal(nir_set_elem_put(s, &e), 0);
	}
	assert_int_equal(s->n, 3);
	assert_string_equal(s->e[0].ifname, "ptla");
	assert_string_equal(s->e[0].chain, "c3");	/* replaced */
	assert_int_equal(s->e[0].addr, 0);
	assert_string_equal(s->e[2].ifname, "ptlc");
	d = nir_set_dup(s);
	assert_non_null(d);
	assert_int_equal(d->n, 3);
	assert_true(nir_elem_equal(NST_IFNAME_VMAP, &d->e[1], &s->e[1]));
	assert_false(nir_elem_equal(NST_IFNAME_VMAP, &d->e[1], &s->e[2]));
	nir_set_free(d);
	strcpy(e.ifname, "ptlb");
	assert_int_equal(nir_set_elem_del(s, &e), 0);
	assert_int_equal(nir_set_elem_del(s, &e), -ENOENT);
	assert_int_equal(s->n, 2);

	memset(&e, 0, sizeof(e));
	e.addr = sc_ip("192.0.2.1");
	e.proto = IPPROTO_UDP;
	e.port = 53;
	e.to_addr = sc_ip("10.0.0.1");
	e.to_port = 5353;
	assert_int_equal(nir_set_elem_put(p, &e), 0);
	e.proto = IPPROTO_TCP;
	assert_int_equal(nir_set_elem_put(p, &e), 0);
	assert_int_equal(p->e[0].proto, IPPROTO_TCP);
	assert_true(nir_elem_key_cmp(NST_ADDR_PORT_DNAT, &p->e[0], &p->e[1]) < 0);

	f = open_memstream(&text, &len);
	nir_render_set(p, f);
	fclose(f);
	assert_string_equal(text, "\tmap p {\n\t\ttype ipv4_addr . inet_proto . "
			    "inet_service : ipv4_addr . inet_service\n\t\telements = "
			    "{ 192.0.2.1 . tcp . 53 : 10.0.0.1 . 5353,\n\t\t\t     "
			    "192.0.2.1 . udp . 53 : 10.0.0.1 . 5353 }\n\t}\n");
	free(text);
	nir_table_free(t);
}

/* Many workloads: the compile stays fast (sorted inserts, no quadratic
 * scans) and the result consistent. */
static void test_many(void **state)
{
	enum { N = 3000 };
	struct wep *eps = calloc(N, sizeof(*eps));
	struct compile_ep *epv = calloc(N, sizeof(*epv));
	const struct compile_ep **epp = calloc(N, sizeof(*epp));
	struct sc_world *w = world("ingress_allow");
	struct compile_input in = w->in;
	struct nir_table *t;

	(void)state;
	assert_non_null(eps);
	for (int i = 0; i < N; i++) {
		/* shuffled interface names */
		int k = (i * 7919) % N;

		strcpy(eps[i].node, k % 3 ? "node1" : "node2");
		snprintf(eps[i].name, sizeof(eps[i].name), "w%d", k);
		eps[i].mode = WEP_ROUTED;
		snprintf(eps[i].ifname, sizeof(eps[i].ifname), "ptl%06d", k);
		eps[i].n_nets = 1;
		eps[i].nets[0].addr = sc_ip("10.0.0.0") + (uint32_t)k;
		eps[i].nets[0].len = 32;
		assert_int_equal(labels_set(&eps[i].labels, k % 2 ? "role" : "app",
					    k % 2 ? "frontend" : "web"), 0);
		compile_ep_of_wep(&epv[i], &eps[i]);
		epp[i] = &epv[i];
	}
	in.eps = epp;
	in.n_eps = N;
	t = compile_ok(&in);
	assert_int_equal(nir_set_find(t, COMPILE_SET_WL_SRC)->n, N - N / 3);
	for (size_t i = 0; i < t->n_sets; i++)
		if (!strncmp(t->sets[i]->name, "s-", 2))
			assert_int_equal(t->sets[i]->n, N / 2);
	nir_table_free(t);
	for (int i = 0; i < N; i++)
		labels_clear(&eps[i].labels);
	free(eps);
	free(epv);
	free(epp);
	world_free(w);
}

/* ------------------------------------------------------------ main */

static int group_setup(void **state)
{
	const char *f = __FILE__, *slash = strrchr(f, '/');

	(void)state;
	snprintf(golden_dir, sizeof(golden_dir), "%.*sgolden/nft",
		 slash ? (int)(slash - f + 1) : 0, f);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_selector_sets),
		cmocka_unit_test(test_network_sets),
		cmocka_unit_test(test_ports_elems),
		cmocka_unit_test(test_natout),
		cmocka_unit_test(test_bad_selector),
		cmocka_unit_test(test_sort_and_names),
		cmocka_unit_test(test_ir_rules),
		cmocka_unit_test(test_ir_table),
		cmocka_unit_test(test_ir_elems),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
