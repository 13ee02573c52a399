/*
 * nftir: the nftables ruleset as data, its builders and its text renderer
 * (contract: nftir.h).
 *
 * Order, so that the same content always renders the same bytes however it
 * was built (felix builds a table piece by piece, compile_table all at once):
 *  - chains: the base chains first, in creation order, then the regular
 *    chains sorted by name (binary search: tables of 10,000 workloads);
 *  - sets: sorted by name; elements sorted by key (nir_elem_key_cmp).
 * An element put in key order is appended without moving the others.
 *
 * A selector set's comment is its canonical selector, for the reader only:
 * what fills the set is its typed owner (nir_owner).
 *
 * Files: nftir.c the table, its chains and rules, the owners;
 * nftir_elem.c set elements, equality and copies; nftir_render.c the nft
 * text.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "model/selector.h"
#include "policy/nftir.h"
#include "policy/nftir_int.h"

/* ------------------------------------------------------------ the table */

struct nir_table *nir_table_new(void)
{
	return calloc(1, sizeof(struct nir_table));
}

static void rule_clear(struct nir_rule *r)
{
	for (size_t i = 0; i < r->n_match; i++) {
		free(r->m[i].set);
		free(r->m[i].ranges);
	}
	for (size_t i = 0; i < r->n_stmt; i++)
		free(r->s[i].arg);
	free(r->comment);
	free(r->m);
	memset(r, 0, sizeof(*r));
}

void nir_chain_flush(struct nir_chain *c)
{
	for (size_t i = 0; i < c->n_rules; i++)
		rule_clear(&c->rules[i]);
	c->n_rules = 0;
}

void nir_chain_free(struct nir_chain *c)
{
	if (!c)
		return;
	nir_chain_flush(c);
	free(c->rules);
	free(c);
}

struct nir_owner *nir_owner_selector(struct selector *sel)
{
	struct nir_owner *o = calloc(1, sizeof(*o));

	if (!o) {
		selector_free(sel);
		return NULL;
	}
	o->refs = 1;
	o->kind = NIR_OWNER_SELECTOR;
	o->sel = sel;
	return o;
}

struct nir_owner *nir_owner_network(const char *network)
{
	size_t n = strlen(network);
	struct nir_owner *o = calloc(1, sizeof(*o) + n + 1);

	if (!o)
		return NULL;
	o->refs = 1;
	o->kind = NIR_OWNER_NETWORK;
	memcpy(o->network, network, n + 1);
	return o;
}

struct nir_owner *nir_owner_ref(struct nir_owner *o)
{
	if (o)
		o->refs++;
	return o;
}

void nir_owner_unref(struct nir_owner *o)
{
	if (!o || --o->refs)
		return;
	selector_free(o->sel);
	free(o);
}

void nir_set_free(struct nir_set *s)
{
	if (!s)
		return;
	nir_owner_unref(s->owner);
	free(s->comment);
	free(s->e);
	free(s);
}

void nir_table_free(struct nir_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_chains; i++)
		nir_chain_free(t->chains[i]);
	for (size_t i = 0; i < t->n_sets; i++)
		nir_set_free(t->sets[i]);
	free(t->chains);
	free(t->sets);
	free(t);
}

/* Number of base chains: they lead the array. */
static size_t n_base(const struct nir_table *t)
{
	size_t i = 0;

	while (i < t->n_chains && t->chains[i]->hook != NH_NONE)
		i++;
	return i;
}

static const char *chain_name(const void *p)
{
	return ((const struct nir_chain *)p)->name;
}

static const char *set_name(const void *p)
{
	return ((const struct nir_set *)p)->name;
}

/* Index of name in v[lo..hi), sorted by name_of, or where it would go
 * (*found false). */
static size_t name_pos(void *const *v, size_t lo, size_t hi, const char *name,
		       const char *(*name_of)(const void *), bool *found)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name_of(v[mid]), name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Index of the regular chain `name`, or where it would go (*found false). */
static size_t chain_pos(const struct nir_table *t, const char *name, bool *found)
{
	return name_pos((void *const *)t->chains, n_base(t), t->n_chains, name,
			chain_name, found);
}

/* Index of any chain `name` (base chains: a scan, they are few). */
static size_t chain_index(const struct nir_table *t, const char *name, bool *found)
{
	size_t nb = n_base(t);

	for (size_t i = 0; i < nb; i++)
		if (!strcmp(t->chains[i]->name, name)) {
			*found = true;
			return i;
		}
	return chain_pos(t, name, found);
}

struct nir_chain *nir_chain_find(const struct nir_table *t, const char *name)
{
	bool found;
	size_t i = chain_index(t, name, &found);

	return found ? t->chains[i] : NULL;
}

static size_t set_pos(const struct nir_table *t, const char *name, bool *found)
{
	return name_pos((void *const *)t->sets, 0, t->n_sets, name, set_name, found);
}

struct nir_set *nir_set_find(const struct nir_table *t, const char *name)
{
	bool found;
	size_t i = set_pos(t, name, &found);

	return found ? t->sets[i] : NULL;
}

/* Makes room for one more pointer in *v (capacity *cap). */
static int grow(void ***v, size_t n, size_t *cap)
{
	void **nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int ptr_insert(void ***v, size_t *n, size_t *cap, size_t at, void *p)
{
	if (grow(v, *n, cap) < 0)
		return -ENOMEM;
	memmove(&(*v)[at + 1], &(*v)[at], (*n - at) * sizeof(**v));
	(*v)[at] = p;
	(*n)++;
	return 0;
}

static bool name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= NIR_NAME_MAX) {
		errno = ENAMETOOLONG;
		return false;
	}
	return true;
}

static struct nir_chain *chain_insert(struct nir_table *t, const char *name,
				      enum nir_hook hook)
{
	struct nir_chain *c;
	size_t at;
	bool found;

	if (!name_ok(name))
		return NULL;
	if (nir_chain_find(t, name)) {
		errno = EEXIST;
		return NULL;
	}
	at = hook != NH_NONE ? n_base(t) : chain_pos(t, name, &found);
	c = calloc(1, sizeof(*c));
	if (!c || ptr_insert((void ***)&t->chains, &t->n_chains, &t->cap_chains,
			     at, c) < 0) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	strcpy(c->name, name);
	c->hook = (uint8_t)hook;
	return c;
}

struct nir_chain *nir_chain_add(struct nir_table *t, const char *name)
{
	return chain_insert(t, name, NH_NONE);
}

struct nir_chain *nir_base_chain_add(struct nir_table *t, const char *name,
				     enum nir_hook hook, bool nat, int prio,
				     bool policy_drop)
{
	struct nir_chain *c;

	if (hook == NH_NONE || hook > NH_POSTROUTING) {
		errno = EINVAL;
		return NULL;
	}
	c = chain_insert(t, name, hook);
	if (c) {
		c->nat = nat;
		c->prio = prio;
		c->policy_drop = policy_drop;
	}
	return c;
}

void nir_chain_del(struct nir_table *t, const char *name)
{
	bool found;
	size_t i = chain_index(t, name, &found);

	if (!found)
		return;
	nir_chain_free(t->chains[i]);
	memmove(&t->chains[i], &t->chains[i + 1],
		(t->n_chains - i - 1) * sizeof(*t->chains));
	t->n_chains--;
}

struct nir_set *nir_set_add(struct nir_table *t, const char *name,
			    enum nir_set_type type)
{
	struct nir_set *s;
	size_t at;
	bool found;

	if (!name_ok(name))
		return NULL;
	if (type >= NST__COUNT) {
		errno = EINVAL;
		return NULL;
	}
	at = set_pos(t, name, &found);
	if (found) {
		errno = EEXIST;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || ptr_insert((void ***)&t->sets, &t->n_sets, &t->cap_sets, at, s) < 0) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	strcpy(s->name, name);
	s->type = (uint8_t)type;
	return s;
}

void nir_set_del(struct nir_table *t, const char *name)
{
	bool found;
	size_t i = set_pos(t, name, &found);

	if (!found)
		return;
	nir_set_free(t->sets[i]);
	memmove(&t->sets[i], &t->sets[i + 1], (t->n_sets - i - 1) * sizeof(*t->sets));
	t->n_sets--;
}

/* ------------------------------------------------------------ rules */

struct nir_rule *nir_rule_add(struct nir_chain *c)
{
	if (c->n_rules == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 2;
		struct nir_rule *nr = realloc(c->rules, ncap * sizeof(*nr));

		if (!nr)
			return NULL;
		c->rules = nr;
		c->cap = ncap;
	}
	memset(&c->rules[c->n_rules], 0, sizeof(struct nir_rule));
	return &c->rules[c->n_rules++];
}

static bool is_verdict(uint8_t type)
{
	return type <= NS_VMAP;
}

/* The next free match of r, zeroed, or NULL (full). */
static struct nir_match *match_new(struct nir_rule *r, enum nir_key k,
				   enum nir_op op)
{
	struct nir_match *m;

	if (r->n_match >= NIR_RULE_MATCH_MAX)
		return NULL;
	if (r->n_match == r->cap_match) {
		size_t ncap = r->cap_match ? r->cap_match * 2 : 2;
		struct nir_match *nm;

		if (ncap > NIR_RULE_MATCH_MAX)
			ncap = NIR_RULE_MATCH_MAX;
		nm = realloc(r->m, ncap * sizeof(*nm));
		if (!nm)
			return NULL;
		r->m = nm;
		r->cap_match = ncap;
	}
	m = &r->m[r->n_match];
	memset(m, 0, sizeof(*m));
	m->key = (uint8_t)k;
	m->op = (uint8_t)op;
	return m;
}

/* The protocol an earlier `meta l4proto P` of r fixes (0: none). */
uint32_t nir_rule_l4proto(const struct nir_rule *r, size_t before)
{
	for (size_t i = 0; i < before; i++) {
		const struct nir_match *m = &r->m[i];

		if (m->key == NK_L4PROTO && m->op == NO_EQ && !m->set &&
		    !m->n_ranges)
			return m->val;
	}
	return 0;
}

/* Ports only after tcp, udp or sctp; icmp fields only after icmp: else
 * the transport header read would be another protocol's. */
static bool l4_ok(const struct nir_rule *r, enum nir_key k)
{
	uint32_t p = nir_rule_l4proto(r, r->n_match);

	if (k == NK_SPORT || k == NK_DPORT)
		return p == IPPROTO_TCP || p == IPPROTO_UDP || p == IPPROTO_SCTP;
	if (k == NK_ICMP_TYPE || k == NK_ICMP_CODE)
		return p == IPPROTO_ICMP;
	return true;
}

static int match_check(const struct nir_rule *r, enum nir_key k, enum nir_op op)
{
	if (k >= NK__COUNT || (op != NO_EQ && op != NO_NE) || !l4_ok(r, k))
		return -EINVAL;
	return r->n_match < NIR_RULE_MATCH_MAX ? 0 : -E2BIG;
}

int nir_match_ifname(struct nir_rule *r, enum nir_key k, enum nir_op op,
		     const char *name)
{
	int err = match_check(r, k, op);
	struct nir_match *m;

	if (err < 0)
		return err;
	if ((k != NK_IIFNAME && k != NK_OIFNAME) || !name || !*name ||
	    strlen(name) >= NIR_IFNAMSIZ)
		return -EINVAL;
	m = match_new(r, k, op);
	if (!m)
		return -ENOMEM;
	strcpy(m->str, name);
	r->n_match++;
	return 0;
}

int nir_match_val(struct nir_rule *r, enum nir_key k, enum nir_op op,
		  uint32_t val)
{
	int err = match_check(r, k, op);
	struct nir_match *m;

	if (err < 0)
		return err;
	if (k == NK_IIFNAME || k == NK_OIFNAME || k == NK_IIF_SADDR ||
	    k == NK_OIF_SADDR)
		return -EINVAL;
	if ((k == NK_SPORT || k == NK_DPORT) && val > 0xffff)
		return -EINVAL;
	m = match_new(r, k, op);
	if (!m)
		return -ENOMEM;
	m->val = k == NK_FIB_DADDR_LOCAL ? 0 : val;
	if (k == NK_SADDR || k == NK_DADDR)
		m->plen = 32;
	if (k == NK_MARK)
		m->mask = 0xffffffffu;
	r->n_match++;
	return 0;
}

static uint32_t plen_mask(uint8_t plen)
{
	return plen ? 0xffffffffu << (32 - plen) : 0;
}

int nir_match_net(struct nir_rule *r, enum nir_key k, enum nir_op op,
		  uint32_t addr, uint8_t plen)
{
	int err = match_check(r, k, op);
	struct nir_match *m;

	if (err < 0)
		return err;
	if ((k != NK_SADDR && k != NK_DADDR) || plen > 32)
		return -EINVAL;
	m = match_new(r, k, op);
	if (!m)
		return -ENOMEM;
	m->val = addr & plen_mask(plen);
	m->plen = plen;
	r->n_match++;
	return 0;
}

int nir_match_mark(struct nir_rule *r, enum nir_op op, uint32_t mask,
		   uint32_t val)
{
	int err = match_check(r, NK_MARK, op);
	struct nir_match *m;

	if (err < 0)
		return err;
	m = match_new(r, NK_MARK, op);
	if (!m)
		return -ENOMEM;
	m->mask = mask;
	m->val = val & mask;
	r->n_match++;
	return 0;
}

int nir_match_set(struct nir_rule *r, enum nir_key k, enum nir_op op,
		  const char *set)
{
	int err = match_check(r, k, op);
	struct nir_match *m;
	char *name;

	if (err < 0)
		return err;
	if (!set || !*set || strlen(set) >= NIR_NAME_MAX || k == NK_MARK ||
	    k == NK_FIB_DADDR_LOCAL || k == NK_CT_STATE || k == NK_CT_STATUS)
		return -EINVAL;
	name = strdup(set);
	if (!name)
		return -ENOMEM;
	m = match_new(r, k, op);
	if (!m)
		return -ENOMEM;
	m->set = name;
	r->n_match++;
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct nir_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sorts v and merges overlapping or adjacent ranges; returns the count. */
static size_t ranges_merge(struct nir_range *v, size_t n)
{
	size_t out = 0;

	if (n > 1)
		qsort(v, n, sizeof(*v), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (out && (v[out - 1].hi == 0xffffffffu ||
			    v[i].lo <= v[out - 1].hi + 1)) {
			if (v[i].hi > v[out - 1].hi)
				v[out - 1].hi = v[i].hi;
			continue;
		}
		v[out++] = v[i];
	}
	return out;
}

int nir_match_ranges(struct nir_rule *r, enum nir_key k, enum nir_op op,
		     const struct nir_range *v, size_t n)
{
	int err = match_check(r, k, op);
	struct nir_range *copy;
	struct nir_match *m;

	if (err < 0)
		return err;
	if (n == 0 || !v || !(k == NK_SADDR || k == NK_DADDR || k == NK_SPORT ||
			       k == NK_DPORT || k == NK_L4PROTO ||
			       k == NK_ICMP_TYPE || k == NK_ICMP_CODE))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (v[i].lo > v[i].hi)
			return -EINVAL;
		if ((k == NK_SPORT || k == NK_DPORT) && v[i].hi > 0xffff)
			return -EINVAL;
		if ((k == NK_L4PROTO || k == NK_ICMP_TYPE || k == NK_ICMP_CODE) &&
		    v[i].hi > 0xff)
			return -EINVAL;
	}
	copy = malloc(n * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, v, n * sizeof(*copy));
	m = match_new(r, k, op);
	if (!m)
		return -ENOMEM;
	m->ranges = copy;
	m->n_ranges = ranges_merge(copy, n);
	r->n_match++;
	return 0;
}

static struct nir_stmt *stmt_new(struct nir_rule *r, enum nir_stmt_type type,
				 int *err)
{
	struct nir_stmt *s;

	if (type >= NS__COUNT) {
		*err = -EINVAL;
		return NULL;
	}
	if (r->n_stmt && is_verdict(r->s[r->n_stmt - 1].type)) {
		*err = -EINVAL;	/* a verdict is last */
		return NULL;
	}
	if (r->n_stmt >= NIR_RULE_STMT_MAX) {
		*err = -E2BIG;
		return NULL;
	}
	s = &r->s[r->n_stmt];
	memset(s, 0, sizeof(*s));
	s->type = (uint8_t)type;
	*err = 0;
	return s;
}

static bool stmt_needs_arg(enum nir_stmt_type type)
{
	return type == NS_JUMP || type == NS_GOTO || type == NS_VMAP ||
	       type == NS_LOG || type == NS_DNAT_MAP;
}

int nir_stmt_add(struct nir_rule *r, enum nir_stmt_type type, const char *arg)
{
	struct nir_stmt *s;
	size_t max = type == NS_LOG ? NIR_LOG_PREFIX_MAX : NIR_NAME_MAX - 1;
	int err;

	if (type == NS_VMAP || type == NS_MARK_SET)
		return -EINVAL;	/* nir_stmt_vmap, nir_stmt_mark */
	if (stmt_needs_arg(type) != (arg != NULL) ||
	    (arg && (!*arg || strlen(arg) > max)))
		return -EINVAL;
	s = stmt_new(r, type, &err);
	if (!s)
		return err;
	if (arg && !(s->arg = strdup(arg)))
		return -ENOMEM;
	r->n_stmt++;
	return 0;
}

int nir_stmt_vmap(struct nir_rule *r, enum nir_key k, const char *map)
{
	struct nir_stmt *s;
	int err;

	if ((k != NK_IIFNAME && k != NK_OIFNAME) || !map || !*map ||
	    strlen(map) >= NIR_NAME_MAX)
		return -EINVAL;
	s = stmt_new(r, NS_VMAP, &err);
	if (!s)
		return err;
	if (!(s->arg = strdup(map)))
		return -ENOMEM;
	s->key = (uint8_t)k;
	r->n_stmt++;
	return 0;
}

int nir_stmt_mark(struct nir_rule *r, uint32_t mask, uint32_t val)
{
	struct nir_stmt *s;
	int err;

	s = stmt_new(r, NS_MARK_SET, &err);
	if (!s)
		return err;
	s->mask = mask;
	s->val = val;
	r->n_stmt++;
	return 0;
}

int nir_rule_comment(struct nir_rule *r, const char *text)
{
	char *c = NULL;

	if (text && !(c = strdup(text)))
		return -ENOMEM;
	free(r->comment);
	r->comment = c;
	return 0;
}
