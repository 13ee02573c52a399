/*
 * pol_scenarios.h: the worlds the nft compiler is tested on, built as C
 * structs (not YAML), shared by tests/unit/test_compile.c (golden files
 * tests/unit/golden/nft/NAME.nft) and tests/tools/nftdump.c (which prints
 * them for tests/integration/test_nftir.sh to hand to `nft -c -f`).
 *
 * Header-only (static functions): each includer is one program.
 *
 * Every world: this node "node1", a second node "node2"; workloads in
 * 10.0.0.0/16 (pool p1), host ends named ptl<something>.
 */
#ifndef PETREL_TESTS_POL_SCENARIOS_H
#define PETREL_TESTS_POL_SCENARIOS_H

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy/compile.h"

#define SC_MAX 16

struct sc_world {
	struct wep eps[SC_MAX];
	struct compile_ep epv[SC_MAX];		/* views of eps (sc_input) */
	const struct compile_ep *epp[SC_MAX];
	size_t n_eps;
	struct netpolicy pols[SC_MAX];
	const struct netpolicy *polp[SC_MAX];
	size_t n_pols;
	struct network nets[SC_MAX];
	const struct network *netp[SC_MAX];
	size_t n_nets;
	struct ippool pools[SC_MAX];
	const struct ippool *poolp[SC_MAX];
	size_t n_pools;
	struct hostep heps[SC_MAX];
	struct compile_hep hepv[SC_MAX];	/* views of node1's (sc_input) */
	const struct compile_hep *hepp[SC_MAX];
	size_t n_heps;
	struct compile_input in;
};

static inline uint32_t sc_ip(const char *s)
{
	uint32_t a = 0;

	if (ip4_parse(s, &a) < 0)
		abort();
	return a;
}

static inline struct ip4_net sc_net(const char *s)
{
	struct ip4_net n;

	if (ip4_net_parse(s, &n, true, false) < 0)
		abort();
	return n;
}

/* labels: "k=v,k2=v2" (may be NULL) */
static inline void sc_labels(struct labels *l, const char *labels)
{
	char buf[256], *save = NULL, *kv;

	snprintf(buf, sizeof(buf), "%s", labels ? labels : "");
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			abort();
		*eq = '\0';
		if (labels_set(l, kv, eq + 1) < 0)
			abort();
	}
}

static inline struct wep *sc_ep(struct sc_world *w, const char *node,
				const char *name, const char *ifname,
				const char *addr, const char *labels)
{
	struct wep *e = &w->eps[w->n_eps];

	memset(e, 0, sizeof(*e));
	strcpy(e->node, node);
	strcpy(e->name, name);
	e->mode = WEP_ROUTED;
	strcpy(e->ifname, ifname);
	strcpy(e->wl_ifname, "eth0");
	e->n_nets = 1;
	e->nets[0] = sc_net(addr);
	sc_labels(&e->labels, labels);
	w->n_eps++;
	return e;
}

/* A HostEndpoint: ifname and ip may be NULL. */
static inline void sc_hep(struct sc_world *w, const char *name, const char *node,
			  const char *ifname, const char *ip, const char *labels)
{
	struct hostep *h = &w->heps[w->n_heps++];

	memset(h, 0, sizeof(*h));
	strcpy(h->name, name);
	strcpy(h->node, node);
	if (ifname)
		strcpy(h->ifname, ifname);
	if (ip)
		h->ips[h->n_ips++] = sc_ip(ip);
	sc_labels(&h->labels, labels);
}

static inline void sc_ep_network(struct wep *e, const char *net)
{
	strcpy(e->networks[e->n_networks++], net);
}

static inline void sc_ep_port(struct wep *e, const char *host_ip,
			      uint16_t host_port, uint16_t port, uint8_t proto)
{
	struct wep_port *p = &e->ports[e->n_ports++];

	p->host_ip = host_ip ? sc_ip(host_ip) : 0;
	p->host_port = host_port;
	p->port = port;
	p->proto = proto;
}

/* order < 0: none */
static inline struct netpolicy *sc_policy(struct sc_world *w, const char *name,
					  const char *selector, double order,
					  bool ingress, bool egress)
{
	struct netpolicy *p = &w->pols[w->n_pols];

	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	p->selector = selector ? strdup(selector) : NULL;
	p->has_order = order >= 0;
	p->order = order >= 0 ? order : 0;
	p->ingress = ingress;
	p->egress = egress;
	w->polp[w->n_pols++] = p;
	return p;
}

static inline struct np_rule *sc_rule(struct netpolicy *p, bool ingress,
				      enum np_action a, uint8_t proto)
{
	struct np_rule **v = ingress ? &p->in_rules : &p->out_rules;
	size_t *n = ingress ? &p->n_ingress : &p->n_egress;
	struct np_rule *r;

	*v = realloc(*v, (*n + 1) * sizeof(**v));
	if (!*v)
		abort();
	r = &(*v)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->action = a;
	r->protocol = proto;
	r->icmp_type = r->icmp_code = -1;
	return r;
}

/* nets: "A/N A/N ..." (not_ for notNets) */
static inline void sc_nets(struct np_entity *en, bool not_, const char *list)
{
	struct ip4_net **v = not_ ? &en->not_nets : &en->nets;
	size_t *n = not_ ? &en->n_not_nets : &en->n_nets;
	char buf[512], *save = NULL, *s;

	snprintf(buf, sizeof(buf), "%s", list);
	for (s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		*v = realloc(*v, (*n + 1) * sizeof(**v));
		if (!*v)
			abort();
		(*v)[(*n)++] = sc_net(s);
	}
}

/* ports: "80 8000:8080 ..." */
static inline void sc_ports(struct np_entity *en, bool not_, const char *list)
{
	struct port_range **v = not_ ? &en->not_ports : &en->ports;
	size_t *n = not_ ? &en->n_not_ports : &en->n_ports;
	char buf[512], *save = NULL, *s, *colon;

	snprintf(buf, sizeof(buf), "%s", list);
	for (s = strtok_r(buf, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
		*v = realloc(*v, (*n + 1) * sizeof(**v));
		if (!*v)
			abort();
		colon = strchr(s, ':');
		(*v)[*n].lo = (uint16_t)atoi(s);
		(*v)[*n].hi = (uint16_t)atoi(colon ? colon + 1 : s);
		(*n)++;
	}
}

static inline void sc_pool(struct sc_world *w, const char *name,
			   const char *cidr, bool nat, bool disabled)
{
	struct ippool *p = &w->pools[w->n_pools];

	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	p->cidr = sc_net(cidr);
	p->block_size = 26;
	p->nat_outgoing = nat;
	p->disabled = disabled;
	w->poolp[w->n_pools++] = p;
}

static inline void sc_network(struct sc_world *w, const char *name)
{
	struct network *n = &w->nets[w->n_nets];

	memset(n, 0, sizeof(*n));
	strcpy(n->name, name);
	w->netp[w->n_nets++] = n;
}

/* Points w->in at the arrays. */
static inline struct compile_input *sc_input(struct sc_world *w)
{
	for (size_t i = 0; i < w->n_eps; i++) {
		compile_ep_of_wep(&w->epv[i], &w->eps[i]);
		w->epp[i] = &w->epv[i];
	}
	w->in.node = "node1";
	w->in.n_eps = w->n_eps;
	w->in.eps = w->epp;
	w->in.n_policies = w->n_pols;
	w->in.policies = w->polp;
	w->in.n_networks = w->n_nets;
	w->in.networks = w->netp;
	w->in.n_pools = w->n_pools;
	w->in.pools = w->poolp;
	w->in.n_heps = 0;
	for (size_t i = 0; i < w->n_heps; i++) {
		const struct hostep *h = &w->heps[i];

		if (strcmp(h->node, "node1"))
			continue;	/* node2's are node2's business */
		w->hepv[i] = (struct compile_hep){ h->name, h->ifname, h->n_ips, h->ips,
						   &h->labels };
		w->hepp[w->in.n_heps++] = &w->hepv[i];
	}
	w->in.heps = w->hepp;
	return &w->in;
}

static inline void sc_entity_free(struct np_entity *en)
{
	free(en->nets);
	free(en->not_nets);
	free(en->ports);
	free(en->not_ports);
	free(en->selector);
	free(en->not_selector);
}

static inline void sc_policy_free(struct netpolicy *p)
{
	for (size_t i = 0; i < p->n_ingress; i++) {
		sc_entity_free(&p->in_rules[i].src);
		sc_entity_free(&p->in_rules[i].dst);
	}
	for (size_t i = 0; i < p->n_egress; i++) {
		sc_entity_free(&p->out_rules[i].src);
		sc_entity_free(&p->out_rules[i].dst);
	}
	free(p->in_rules);
	free(p->out_rules);
	free(p->selector);
}

static inline void sc_world_free(struct sc_world *w)
{
	for (size_t i = 0; i < w->n_eps; i++)
		labels_clear(&w->eps[i].labels);
	for (size_t i = 0; i < w->n_heps; i++)
		labels_clear(&w->heps[i].labels);
	for (size_t i = 0; i < w->n_pols; i++)
		sc_policy_free(&w->pols[i]);
	memset(w, 0, sizeof(*w));
}

/* ------------------------------------------------------------ the scenarios */

/* Two local workloads, one on node2, no policy: all in `default`. */
static inline void sc_none(struct sc_world *w)
{
	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_ep(w, "node1", "a", "ptla", "10.0.0.1/32", "app=a");
	sc_ep(w, "node1", "b", "ptlb", "10.0.0.2/32", "app=b");
	sc_ep(w, "node2", "c", "ptlc", "10.0.1.1/32", "app=c");
}

/* Ingress allow by label: web accepts tcp/80 from role=frontend (also the
 * one on node2); everything else to web is dropped. */
static inline void sc_ingress_allow(struct sc_world *w)
{
	struct netpolicy *p;
	struct np_rule *r;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_ep(w, "node1", "web", "ptlweb", "10.0.0.10/32", "app=web");
	sc_ep(w, "node1", "fe", "ptlfe", "10.0.0.20/32", "role=frontend");
	sc_ep(w, "node2", "fe2", "ptlfe2", "10.0.1.20/32", "role=frontend");
	sc_ep(w, "node2", "other", "ptlother", "10.0.1.30/32", "role=batch");
	p = sc_policy(w, "allow-web", "app == 'web'", -1, true, false);
	r = sc_rule(p, true, NP_ALLOW, IPPROTO_TCP);
	r->src.selector = strdup("role == \"frontend\"");
	sc_ports(&r->dst, false, "80");
}

/* Egress deny by CIDR + ports, then allow the rest; the workload-to-host
 * action is drop; failsafe ports in and out. */
static inline void sc_egress_deny(struct sc_world *w)
{
	static const struct compile_host_allow fs_in[] = {
		{ IPPROTO_TCP, 22 }, { IPPROTO_UDP, 68 },
	};
	static const struct compile_host_allow fs_out[] = { { IPPROTO_UDP, 53 } };
	struct netpolicy *p;
	struct np_rule *r;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_ep(w, "node1", "app", "ptlapp", "10.0.0.5/32", "tier=app");
	sc_ep(w, "node1", "db", "ptldb", "10.0.0.6/32", "tier=db");
	w->in.cfg.ep_to_host = COMPILE_HOST_DROP;
	w->in.cfg.failsafe_in = fs_in;
	w->in.cfg.n_failsafe_in = 2;
	w->in.cfg.failsafe_out = fs_out;
	w->in.cfg.n_failsafe_out = 1;
	p = sc_policy(w, "no-meta", "has(tier)", 100, false, true);
	r = sc_rule(p, false, NP_DENY, IPPROTO_TCP);
	sc_nets(&r->dst, false, "169.254.169.254/32 10.96.0.0/12 10.1.0.0/16");
	sc_ports(&r->dst, false, "80 443 8000:8080 8081");
	r = sc_rule(p, false, NP_DENY, IPPROTO_UDP);
	sc_nets(&r->dst, false, "192.168.0.0/16");
	sc_nets(&r->dst, true, "192.168.1.0/24");
	sc_ports(&r->src, true, "53");
	sc_rule(p, false, NP_ALLOW, 0);
}

/* Order and Pass: a (order 10) passes 10.0.0.0/8 ingress, b (order 20)
 * denies tcp, z (no order) allows; the workload is in network `blue`, so
 * after a Pass only blue (and published ports) get in. */
static inline void sc_order_pass(struct sc_world *w)
{
	struct netpolicy *p;
	struct np_rule *r;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_network(w, "blue");
	sc_ep_network(sc_ep(w, "node1", "x", "ptlx", "10.0.0.7/32", "app=x"), "blue");
	sc_ep_network(sc_ep(w, "node2", "y", "ptly", "10.0.1.7/32", "app=y"), "blue");
	p = sc_policy(w, "z-last", "", -1, true, true);
	sc_rule(p, true, NP_ALLOW, 0);
	sc_rule(p, false, NP_ALLOW, 0);
	p = sc_policy(w, "b-second", "app == 'x'", 20, true, false);
	sc_rule(p, true, NP_DENY, IPPROTO_TCP);
	p = sc_policy(w, "a-first", "app in {'x', 'y'}", 10, true, true);
	r = sc_rule(p, true, NP_PASS, 0);
	sc_nets(&r->src, false, "10.0.0.0/8");
	r = sc_rule(p, false, NP_PASS, IPPROTO_UDP);
	sc_ports(&r->dst, false, "53");
}

/* Two named networks: blue (a, b, d on node2) and red (b, c); e in
 * default. No policy. */
static inline void sc_networks(struct sc_world *w)
{
	struct wep *b;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_pool(w, "p2", "10.2.0.0/16", false, false);
	sc_network(w, "blue");
	sc_network(w, "red");
	sc_ep_network(sc_ep(w, "node1", "a", "ptla", "10.0.0.1/32", NULL), "blue");
	b = sc_ep(w, "node1", "b", "ptlb", "10.0.0.2/32", NULL);
	sc_ep_network(b, "blue");
	sc_ep_network(b, "red");
	sc_ep_network(sc_ep(w, "node1", "c", "ptlc", "10.2.0.3/32", NULL), "red");
	sc_ep_network(sc_ep(w, "node2", "d", "ptld", "10.0.1.4/32", NULL), "blue");
	sc_ep(w, "node1", "e", "ptle", "10.0.0.5/32", NULL);
}

/* Published ports: on every address, on one host address, udp. */
static inline void sc_ports_pub(struct sc_world *w)
{
	struct wep *e;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	e = sc_ep(w, "node1", "web", "ptlweb", "10.0.0.10/32", NULL);
	sc_ep_port(e, NULL, 8080, 80, IPPROTO_TCP);
	sc_ep_port(e, "192.0.2.11", 8443, 443, IPPROTO_TCP);
	e = sc_ep(w, "node1", "dns", "ptldns", "10.0.0.11/32", NULL);
	sc_ep_port(e, NULL, 5353, 53, IPPROTO_UDP);
	sc_ep_port(e, NULL, 5353, 53, IPPROTO_TCP);
	sc_ep_port(e, "192.0.2.11", 53, 53, IPPROTO_UDP);
	/* node2's ports are node2's business */
	e = sc_ep(w, "node2", "far", "ptlfar", "10.0.1.10/32", NULL);
	sc_ep_port(e, NULL, 9090, 90, IPPROTO_TCP);
}

/* natOutgoing: p1 masquerades, p2 does not, p3 is disabled but natOutgoing
 * (its workloads live on). */
static inline void sc_natout(struct sc_world *w)
{
	sc_pool(w, "p1", "10.0.0.0/16", true, false);
	sc_pool(w, "p2", "10.1.0.0/16", false, false);
	sc_pool(w, "p3", "10.2.0.0/24", true, true);
	sc_ep(w, "node1", "a", "ptla", "10.0.0.1/32", NULL);
}

/* Log then Deny icmp echo, allow the rest from anything not labelled
 * bad and not from ports 0-1023. */
static inline void sc_log(struct sc_world *w)
{
	struct netpolicy *p;
	struct np_rule *r;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_ep(w, "node1", "a", "ptla", "10.0.0.1/32", "app=a");
	sc_ep(w, "node1", "bad", "ptlbad", "10.0.0.66/32", "bad=yes");
	p = sc_policy(w, "log-ping", "app == 'a'", 1.5, true, false);
	r = sc_rule(p, true, NP_LOG, IPPROTO_ICMP);
	r->icmp_type = 8;
	r = sc_rule(p, true, NP_DENY, IPPROTO_ICMP);
	r->icmp_type = 8;
	r->icmp_code = 0;
	r = sc_rule(p, true, NP_ALLOW, IPPROTO_TCP);
	r->src.not_selector = strdup("has(bad)");
	sc_ports(&r->src, true, "1:1023");
}

/* Host endpoints: node1's up0 (192.0.2.11) with normal, applyOnForward
 * and preDNAT policies, an address-only one (192.0.2.12) that only the
 * normal policy selects, node2's (not this node's); a workload policy
 * beside them. */
static inline void sc_hostep(struct sc_world *w)
{
	struct netpolicy *p;
	struct np_rule *r;

	sc_pool(w, "p1", "10.0.0.0/16", false, false);
	sc_ep(w, "node1", "a", "ptla", "10.0.0.1/32", "app=a");
	sc_hep(w, "node1-up0", "node1", "up0", "192.0.2.11", "role=node,if=up");
	sc_hep(w, "node1-svc", "node1", NULL, "192.0.2.12", "role=node");
	sc_hep(w, "node2-up0", "node2", "up0", "198.51.100.12", "role=node,if=up");
	w->in.cfg.ep_to_host = COMPILE_HOST_DROP;
	p = sc_policy(w, "host-ssh", "role == 'node'", 10, true, true);
	r = sc_rule(p, true, NP_ALLOW, IPPROTO_TCP);
	sc_nets(&r->src, false, "10.0.0.0/16");
	sc_ports(&r->dst, false, "2222");
	sc_rule(p, false, NP_ALLOW, 0);
	p = sc_policy(w, "host-fwd", "has(if)", 20, true, false);
	p->apply_on_forward = true;
	r = sc_rule(p, true, NP_ALLOW, IPPROTO_TCP);
	sc_ports(&r->dst, false, "80");
	p = sc_policy(w, "host-pre", "has(if)", 5, true, false);
	p->apply_on_forward = p->pre_dnat = true;
	r = sc_rule(p, true, NP_DENY, 0);
	sc_nets(&r->src, false, "198.51.100.0/24");
	sc_rule(p, true, NP_ALLOW, 0);
	p = sc_policy(w, "wl-a", "app == 'a'", 1, true, false);
	sc_rule(p, true, NP_ALLOW, 0);
}

struct sc_scenario {
	const char *name;
	void (*build)(struct sc_world *w);
};

static const struct sc_scenario sc_scenarios[] = {
	{ "none", sc_none },
	{ "ingress_allow", sc_ingress_allow },
	{ "egress_deny", sc_egress_deny },
	{ "order_pass", sc_order_pass },
	{ "networks", sc_networks },
	{ "ports", sc_ports_pub },
	{ "natout", sc_natout },
	{ "log", sc_log },
	{ "hostep", sc_hostep },
};

#define SC_N (sizeof(sc_scenarios) / sizeof(sc_scenarios[0]))

#endif
