/*
 * compile_ep: a local workload's chains (shared by the workloads of one
 * kind: from-HASH/to-HASH, or from-open/to-open) and its map elements, and
 * the address sets of selectors and networks (contract: compile.h; the
 * chain layout: compile.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha1.h"
#include "model/selector.h"
#include "policy/compile.h"
#include "policy/compile_int.h"

/* ------------------------------------------------------------ helpers */

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
bool compile_ep_local_ok(const struct compile_ep *w)
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

/* What the workload's networks allow, for an unselected workload or after
 * a Pass. */
static int network_rules(struct nir_table *t, struct nir_chain *c,
			 const struct compile_ep *w, bool ingress)
{
	char name[NIR_NAME_MAX], comment[RES_NAME_MAX + 16];
	struct nir_rule *r;
	int err;

	if (!ingress)
		return compile_verdict_rule(c, NS_RETURN, "network: egress allowed");
	if (ep_default_member(w))
		return compile_verdict_rule(c, NS_ACCEPT, "network default");
	for (size_t i = 0; i < w->n_networks; i++) {
		compile_name_network_set(w->networks[i], name);
		snprintf(comment, sizeof(comment), "network %s", w->networks[i]);
		if ((err = compile_set_ensure(t, name, w->networks[i],
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
	return compile_verdict_rule(c, NS_DROP, NULL);
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
			d->role = NIR_CHAIN_ENDPOINT;
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

int compile_vmap_goto(struct nir_table *t, const char *map, const char *ifname,
		      const char *chain)
{
	struct nir_set *s = nir_set_find(t, map);
	struct nir_elem el;

	if (!s)
		return -ENOENT;
	memset(&el, 0, sizeof(el));
	snprintf(el.ifname, sizeof(el.ifname), "%s", ifname);
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

	if (!compile_ep_local_ok(w))
		return -EINVAL;
	if ((err = ep_chain(t, w, false, egress, n_egress, from)) < 0 ||
	    (err = ep_chain(t, w, true, ingress, n_ingress, to)) < 0 ||
	    (err = compile_vmap_goto(t, COMPILE_MAP_FROM_WL, w->ifname, from)) < 0)
		return err;
	return compile_vmap_goto(t, COMPILE_MAP_TO_WL, w->ifname, to);
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

		if (t->chains[i]->role != NIR_CHAIN_ENDPOINT ||
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

	if (!compile_ep_local_ok(w))
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
