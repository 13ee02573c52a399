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
 * Rendering: nft's own input syntax, one rule per line. Strings nft cannot
 * quote (a '"' in a comment) are shown with '\'' instead; comments are cut at
 * NIR_COMMENT_SHOWN bytes, nft's limit (the IR keeps them whole). A
 * selector set's comment is its canonical selector, for the reader only:
 * what fills the set is its typed owner (nir_owner).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy/nftir.h"
#include "model/selector.h"

#define NIR_COMMENT_SHOWN 127	/* nft: 128 bytes with the NUL */
#define NIR_LOG_PREFIX_MAX 127
#define NFPROTO_V4 2
#define NFPROTO_V6 10

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
static uint32_t rule_l4proto(const struct nir_rule *r, size_t before)
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
	uint32_t p = rule_l4proto(r, r->n_match);

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

/* ------------------------------------------------------------ elements */

static int u32cmp(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

int nir_elem_key_cmp(enum nir_set_type type, const struct nir_elem *a,
		     const struct nir_elem *b)
{
	int c;

	switch (type) {
	case NST_IPV4:
		return u32cmp(a->addr, b->addr);
	case NST_IFNAME_IPV4:
		c = strncmp(a->ifname, b->ifname, NIR_IFNAMSIZ);
		return c ? (c < 0 ? -1 : 1) : u32cmp(a->addr, b->addr);
	case NST_IFNAME_VMAP:
		c = strncmp(a->ifname, b->ifname, NIR_IFNAMSIZ);
		return c < 0 ? -1 : c > 0;
	case NST_ADDR_PORT_DNAT:
		if ((c = u32cmp(a->addr, b->addr)))
			return c;
		/* fall through */
	case NST_PORT_DNAT:
		if ((c = u32cmp(a->proto, b->proto)))
			return c;
		return u32cmp(a->port, b->port);
	default:
		return 0;
	}
}

bool nir_elem_equal(enum nir_set_type type, const struct nir_elem *a,
		    const struct nir_elem *b)
{
	if (nir_elem_key_cmp(type, a, b))
		return false;
	switch (type) {
	case NST_IFNAME_VMAP:
		return a->vgoto == b->vgoto &&
		       !strncmp(a->chain, b->chain, NIR_NAME_MAX);
	case NST_PORT_DNAT:
	case NST_ADDR_PORT_DNAT:
		return a->to_addr == b->to_addr && a->to_port == b->to_port;
	default:
		return true;
	}
}

/* Index of e's key in s, or where it would go (*found). */
static size_t elem_pos(const struct nir_set *s, const struct nir_elem *e,
		       bool *found)
{
	size_t lo = 0, hi = s->n;

	*found = false;
	/* the common case when building: in key order, append */
	if (s->n && nir_elem_key_cmp(s->type, &s->e[s->n - 1], e) < 0)
		return s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = nir_elem_key_cmp(s->type, &s->e[mid], e);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A copy of e with only the fields of the set's type, the rest zero, so
 * that whole elements compare and render the same however they came. */
static void elem_norm(enum nir_set_type type, const struct nir_elem *e,
		      struct nir_elem *out)
{
	memset(out, 0, sizeof(*out));
	switch (type) {
	case NST_IFNAME_IPV4:
		memcpy(out->ifname, e->ifname, strnlen(e->ifname, NIR_IFNAMSIZ - 1));
		/* fall through */
	case NST_IPV4:
		out->addr = e->addr;
		break;
	case NST_IFNAME_VMAP:
		memcpy(out->ifname, e->ifname, strnlen(e->ifname, NIR_IFNAMSIZ - 1));
		memcpy(out->chain, e->chain, strnlen(e->chain, NIR_NAME_MAX - 1));
		out->vgoto = e->vgoto;
		break;
	case NST_ADDR_PORT_DNAT:
		out->addr = e->addr;
		/* fall through */
	case NST_PORT_DNAT:
		out->proto = e->proto;
		out->port = e->port;
		out->to_addr = e->to_addr;
		out->to_port = e->to_port;
		break;
	default:
		break;
	}
}

int nir_set_elem_put(struct nir_set *s, const struct nir_elem *e)
{
	struct nir_elem n;
	bool found;
	size_t at;

	elem_norm(s->type, e, &n);
	if (s->bulk) {
		at = s->n;
		found = false;
	} else {
		at = elem_pos(s, &n, &found);
	}
	if (found) {
		s->e[at] = n;
		return 0;
	}
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 16;
		struct nir_elem *ne = realloc(s->e, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		s->e = ne;
		s->cap = ncap;
	}
	memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof(*s->e));
	s->e[at] = n;
	s->n++;
	return 0;
}

/* Orders elements by key, then by the order they were put in (ctx: the
 * set being settled). */
static int settle_cmp(const void *a, const void *b, void *ctx)
{
	const struct nir_set *s = ctx;
	const struct nir_elem *x = s->e + *(const size_t *)a;
	const struct nir_elem *y = s->e + *(const size_t *)b;
	int c = nir_elem_key_cmp((enum nir_set_type)s->type, x, y);

	if (c)
		return c;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

int nir_set_settle(struct nir_set *s)
{
	size_t *idx, k = 0;
	struct nir_elem *v;

	if (!s->bulk)
		return 0;
	s->bulk = false;
	if (s->n < 2)
		return 0;
	idx = malloc(s->n * sizeof(*idx));
	v = malloc(s->n * sizeof(*v));
	if (!idx || !v) {
		free(idx);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++)
		idx[i] = i;
	qsort_r(idx, s->n, sizeof(*idx), settle_cmp, s);
	for (size_t i = 0; i < s->n; i++) {
		/* the last put of a key wins, as a put replaces */
		if (i + 1 < s->n &&
		    !nir_elem_key_cmp((enum nir_set_type)s->type, &s->e[idx[i]], &s->e[idx[i + 1]]))
			continue;
		v[k++] = s->e[idx[i]];
	}
	memcpy(s->e, v, k * sizeof(*v));
	s->n = k;
	free(idx);
	free(v);
	return 0;
}

int nir_set_elem_del(struct nir_set *s, const struct nir_elem *e)
{
	bool found;
	size_t at = elem_pos(s, e, &found);

	if (!found)
		return -ENOENT;
	memmove(&s->e[at], &s->e[at + 1], (s->n - at - 1) * sizeof(*s->e));
	s->n--;
	return 0;
}

/* ------------------------------------------------------------ equality, copies */

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static bool match_equal(const struct nir_match *a, const struct nir_match *b)
{
	if (a->key != b->key || a->op != b->op || a->plen != b->plen ||
	    a->val != b->val || a->mask != b->mask ||
	    strncmp(a->str, b->str, NIR_IFNAMSIZ) || !str_eq(a->set, b->set) ||
	    a->n_ranges != b->n_ranges)
		return false;
	return !a->n_ranges ||
	       !memcmp(a->ranges, b->ranges, a->n_ranges * sizeof(*a->ranges));
}

static bool stmt_equal(const struct nir_stmt *a, const struct nir_stmt *b)
{
	return a->type == b->type && a->key == b->key && a->val == b->val &&
	       a->mask == b->mask && str_eq(a->arg, b->arg);
}

static bool rule_equal(const struct nir_rule *a, const struct nir_rule *b)
{
	if (a->n_match != b->n_match || a->n_stmt != b->n_stmt ||
	    !str_eq(a->comment, b->comment))
		return false;
	for (size_t i = 0; i < a->n_match; i++)
		if (!match_equal(&a->m[i], &b->m[i]))
			return false;
	for (size_t i = 0; i < a->n_stmt; i++)
		if (!stmt_equal(&a->s[i], &b->s[i]))
			return false;
	return true;
}

bool nir_chain_equal(const struct nir_chain *a, const struct nir_chain *b)
{
	if (a->hook != b->hook || a->n_rules != b->n_rules)
		return false;
	if (a->hook != NH_NONE && (a->nat != b->nat || a->prio != b->prio ||
				   a->policy_drop != b->policy_drop))
		return false;
	for (size_t i = 0; i < a->n_rules; i++)
		if (!rule_equal(&a->rules[i], &b->rules[i]))
			return false;
	return true;
}

static int rule_copy(struct nir_rule *dst, const struct nir_rule *src)
{
	*dst = *src;
	dst->m = NULL;
	dst->cap_match = 0;
	if (src->n_match) {
		dst->m = malloc(src->n_match * sizeof(*dst->m));
		if (!dst->m) {
			dst->n_match = 0;
			dst->n_stmt = 0;
			dst->comment = NULL;
			return -ENOMEM;
		}
		memcpy(dst->m, src->m, src->n_match * sizeof(*dst->m));
		dst->cap_match = src->n_match;
	}
	for (size_t i = 0; i < src->n_match; i++) {
		dst->m[i].set = NULL;
		dst->m[i].ranges = NULL;
	}
	for (size_t i = 0; i < src->n_stmt; i++)
		dst->s[i].arg = NULL;
	dst->comment = NULL;
	for (size_t i = 0; i < src->n_match; i++) {
		const struct nir_match *m = &src->m[i];

		if (m->set && !(dst->m[i].set = strdup(m->set)))
			return -ENOMEM;
		if (m->n_ranges) {
			dst->m[i].ranges = malloc(m->n_ranges * sizeof(*m->ranges));
			if (!dst->m[i].ranges)
				return -ENOMEM;
			memcpy(dst->m[i].ranges, m->ranges,
			       m->n_ranges * sizeof(*m->ranges));
		}
	}
	for (size_t i = 0; i < src->n_stmt; i++)
		if (src->s[i].arg && !(dst->s[i].arg = strdup(src->s[i].arg)))
			return -ENOMEM;
	if (src->comment && !(dst->comment = strdup(src->comment)))
		return -ENOMEM;
	return 0;
}

struct nir_chain *nir_chain_dup(const struct nir_chain *c)
{
	struct nir_chain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = *c;
	d->n_rules = 0;
	d->cap = c->n_rules;
	d->rules = c->n_rules ? calloc(c->n_rules, sizeof(*d->rules)) : NULL;
	if (c->n_rules && !d->rules)
		goto fail;
	for (size_t i = 0; i < c->n_rules; i++) {
		/* counted first: a half-copied rule is freed too */
		d->n_rules++;
		if (rule_copy(&d->rules[i], &c->rules[i]) < 0)
			goto fail;
	}
	return d;
fail:
	nir_chain_free(d);
	return NULL;
}

struct nir_set *nir_set_dup(const struct nir_set *s)
{
	struct nir_set *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = *s;
	d->comment = NULL;
	d->e = NULL;
	d->cap = d->n = 0;
	nir_owner_ref(d->owner);
	if (s->comment && !(d->comment = strdup(s->comment)))
		goto fail;
	if (s->n) {
		d->e = malloc(s->n * sizeof(*d->e));
		if (!d->e)
			goto fail;
		memcpy(d->e, s->e, s->n * sizeof(*d->e));
		d->n = d->cap = s->n;
	}
	return d;
fail:
	nir_set_free(d);
	return NULL;
}

/* ------------------------------------------------------------ rendering */

static void put_ip(uint32_t a, FILE *out)
{
	fprintf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff,
		a & 0xff);
}

/* A quoted string as nft reads it: no '"' inside, no control bytes. */
static void put_quoted(const char *s, size_t max, FILE *out)
{
	fputc('"', out);
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		fputc(ch == '"' ? '\'' : (ch < 0x20 || ch == 0x7f) ? '?' : ch, out);
	}
	fputc('"', out);
}

static void put_proto(uint32_t p, FILE *out)
{
	switch (p) {
	case IPPROTO_TCP:
		fputs("tcp", out);
		break;
	case IPPROTO_UDP:
		fputs("udp", out);
		break;
	case IPPROTO_SCTP:
		fputs("sctp", out);
		break;
	case IPPROTO_ICMP:
		fputs("icmp", out);
		break;
	default:
		fprintf(out, "%u", p);
	}
}

/* An address range as the fewest prefixes that cover it exactly
 * ("10.0.0.0/15, 10.2.0.0/24"), as a human wrote the nets. */
static void put_addr_range(const struct nir_range *r, FILE *out)
{
	uint64_t lo = r->lo, hi = r->hi;
	bool first = true;

	while (lo <= hi) {
		int plen = 32;

		/* widen while aligned and inside the range */
		while (plen > 0 && !(lo & ((1ull << (33 - plen)) - 1)) &&
		       lo + (1ull << (33 - plen)) - 1 <= hi)
			plen--;
		if (!first)
			fputs(", ", out);
		put_ip((uint32_t)lo, out);
		if (plen != 32)
			fprintf(out, "/%d", plen);
		lo += 1ull << (32 - plen);
		first = false;
	}
}

static void put_value(uint8_t key, uint32_t v, FILE *out)
{
	if (key == NK_SADDR || key == NK_DADDR)
		put_ip(v, out);
	else if (key == NK_L4PROTO)
		put_proto(v, out);
	else
		fprintf(out, "%u", v);
}

static void put_ranges(const struct nir_match *m, FILE *out)
{
	bool addr = m->key == NK_SADDR || m->key == NK_DADDR;

	if (m->n_ranges == 1 && m->ranges[0].lo == m->ranges[0].hi) {
		put_value(m->key, m->ranges[0].lo, out);
		return;
	}
	fputs("{ ", out);
	for (size_t i = 0; i < m->n_ranges; i++) {
		const struct nir_range *r = &m->ranges[i];

		if (i)
			fputs(", ", out);
		if (addr) {
			put_addr_range(r, out);
			continue;
		}
		if (r->hi == r->lo) {
			put_value(m->key, r->lo, out);
			continue;
		}
		/* numbers: "tcp-udp" would read as one word */
		fprintf(out, "%u-%u", r->lo, r->hi);
	}
	fputs(" }", out);
}

static const struct { uint32_t bit; const char *name; } ct_states[] = {
	{ NIR_CT_INVALID, "invalid" }, { NIR_CT_ESTABLISHED, "established" },
	{ NIR_CT_RELATED, "related" }, { NIR_CT_NEW, "new" },
	{ NIR_CT_UNTRACKED, "untracked" },
};

static const struct { uint32_t bit; const char *name; } ct_statuses[] = {
	{ 0x01, "expected" }, { 0x02, "seen-reply" }, { 0x04, "assured" },
	{ 0x08, "confirmed" }, { 0x10, "snat" }, { 0x20, "dnat" },
	{ 0x200, "dying" },
};

/* A bit mask as nft's flag names ("established,related"); bits without a
 * name as one hex number. */
#define put_flags(tab, v, out) put_flags_((tab), sizeof(tab) / sizeof((tab)[0]), (v), (out))
static void put_flags_(const void *tab, size_t n, uint32_t v, FILE *out)
{
	const struct { uint32_t bit; const char *name; } *t = tab;
	uint32_t rest = v;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!(v & t[i].bit))
			continue;
		fprintf(out, "%s%s", first ? "" : ",", t[i].name);
		rest &= ~t[i].bit;
		first = false;
	}
	if (rest || first)
		fprintf(out, "%s0x%x", first ? "" : ",", rest);
}

static const char *key_text(const struct nir_rule *r, size_t i)
{
	static const char *const names[NK__COUNT] = {
		[NK_IIFNAME] = "iifname", [NK_OIFNAME] = "oifname",
		[NK_NFPROTO] = "meta nfproto", [NK_L4PROTO] = "meta l4proto",
		[NK_SADDR] = "ip saddr", [NK_DADDR] = "ip daddr",
		[NK_SPORT] = "th sport", [NK_DPORT] = "th dport",
		[NK_ICMP_TYPE] = "icmp type", [NK_ICMP_CODE] = "icmp code",
		[NK_CT_STATE] = "ct state", [NK_CT_STATUS] = "ct status",
		[NK_MARK] = "meta mark", [NK_FIB_DADDR_LOCAL] = "fib daddr type",
		[NK_IIF_SADDR] = "iifname . ip saddr",
		[NK_OIF_SADDR] = "oifname . ip saddr",
	};
	uint8_t k = r->m[i].key;

	if (k == NK_SPORT || k == NK_DPORT) {
		/* `tcp dport 80` reads better than `th dport 80` */
		switch (rule_l4proto(r, i)) {
		case IPPROTO_TCP:
			return k == NK_SPORT ? "tcp sport" : "tcp dport";
		case IPPROTO_UDP:
			return k == NK_SPORT ? "udp sport" : "udp dport";
		case IPPROTO_SCTP:
			return k == NK_SPORT ? "sctp sport" : "sctp dport";
		}
	}
	return k < NK__COUNT ? names[k] : "?";
}

static void put_immediate(const struct nir_match *m, FILE *out)
{
	switch (m->key) {
	case NK_IIFNAME:
	case NK_OIFNAME:
		put_quoted(m->str, NIR_IFNAMSIZ, out);
		break;
	case NK_NFPROTO:
		if (m->val == NFPROTO_V4 || m->val == NFPROTO_V6)
			fputs(m->val == NFPROTO_V4 ? "ipv4" : "ipv6", out);
		else
			fprintf(out, "%u", m->val);
		break;
	case NK_SADDR:
	case NK_DADDR:
		put_ip(m->val, out);
		if (m->plen != 32)
			fprintf(out, "/%u", m->plen);
		break;
	case NK_CT_STATE:
		put_flags(ct_states, m->val, out);
		break;
	case NK_CT_STATUS:
		put_flags(ct_statuses, m->val, out);
		break;
	case NK_FIB_DADDR_LOCAL:
		fputs("local", out);
		break;
	default:
		put_value(m->key, m->val, out);
	}
}

static void render_match(const struct nir_rule *r, size_t i, FILE *out)
{
	const struct nir_match *m = &r->m[i];
	const char *ne = m->op == NO_NE ? "!= " : "";

	if (m->key == NK_MARK && !m->set && !m->n_ranges) {
		if (m->mask == 0xffffffffu)
			fprintf(out, "meta mark %s0x%08x", ne, m->val);
		else
			fprintf(out, "meta mark & 0x%08x %s 0x%08x", m->mask,
				m->op == NO_NE ? "!=" : "==", m->val);
		return;
	}
	fprintf(out, "%s %s", key_text(r, i), ne);
	if (m->set)
		fprintf(out, "@%s", m->set);
	else if (m->n_ranges)
		put_ranges(m, out);
	else
		put_immediate(m, out);
}

static void render_stmt(const struct nir_table *t, const struct nir_stmt *s,
			FILE *out)
{
	const struct nir_set *map;
	bool with_addr;

	switch (s->type) {
	case NS_ACCEPT:
		fputs("accept", out);
		break;
	case NS_DROP:
		fputs("drop", out);
		break;
	case NS_RETURN:
		fputs("return", out);
		break;
	case NS_JUMP:
	case NS_GOTO:
		fprintf(out, "%s %s", s->type == NS_JUMP ? "jump" : "goto", s->arg);
		break;
	case NS_VMAP:
		fprintf(out, "%s vmap @%s", s->key == NK_OIFNAME ? "oifname" : "iifname",
			s->arg);
		break;
	case NS_COUNTER:
		fputs("counter", out);
		break;
	case NS_MARK_SET:
		if (s->mask == 0xffffffffu)
			fprintf(out, "meta mark set 0x%08x", s->val);
		else if (s->val)
			fprintf(out, "meta mark set meta mark & 0x%08x | 0x%08x",
				~s->mask, s->val);
		else
			fprintf(out, "meta mark set meta mark & 0x%08x", ~s->mask);
		break;
	case NS_LOG:
		fputs("log prefix ", out);
		put_quoted(s->arg, NIR_LOG_PREFIX_MAX, out);
		break;
	case NS_MASQUERADE:
		fputs("masquerade", out);
		break;
	case NS_DNAT_MAP:
		/* the key follows the map's type; without the table, the
		 * statement's own key field says it */
		map = t ? nir_set_find(t, s->arg) : NULL;
		with_addr = map ? map->type == NST_ADDR_PORT_DNAT
				: s->key == NST_ADDR_PORT_DNAT;
		fprintf(out, "dnat ip to %smeta l4proto . th dport map @%s",
			with_addr ? "ip daddr . " : "", s->arg);
		break;
	default:
		fputs("# ?", out);
	}
}

static void render_rule(const struct nir_table *t, const struct nir_rule *r,
			FILE *out)
{
	bool sp = false;

	for (size_t i = 0; i < r->n_match; i++, sp = true) {
		if (sp)
			fputc(' ', out);
		render_match(r, i, out);
	}
	for (size_t i = 0; i < r->n_stmt; i++, sp = true) {
		if (sp)
			fputc(' ', out);
		render_stmt(t, &r->s[i], out);
	}
	if (r->comment) {
		fputs(sp ? " comment " : "comment ", out);
		put_quoted(r->comment, NIR_COMMENT_SHOWN, out);
	}
}

void nir_render_rule(const struct nir_rule *r, FILE *out)
{
	render_rule(NULL, r, out);
}

static const char *hook_name(uint8_t h)
{
	static const char *const names[] = {
		[NH_NONE] = "?", [NH_PREROUTING] = "prerouting",
		[NH_INPUT] = "input", [NH_FORWARD] = "forward",
		[NH_OUTPUT] = "output", [NH_POSTROUTING] = "postrouting",
	};

	return h <= NH_POSTROUTING ? names[h] : "?";
}

static void render_chain(const struct nir_table *t, const struct nir_chain *c,
			 FILE *out)
{
	fprintf(out, "\tchain %s {\n", c->name);
	if (c->hook != NH_NONE)
		fprintf(out, "\t\ttype %s hook %s priority %d; policy %s;\n",
			c->nat ? "nat" : "filter", hook_name(c->hook), c->prio,
			c->policy_drop ? "drop" : "accept");
	for (size_t i = 0; i < c->n_rules; i++) {
		fputs("\t\t", out);
		render_rule(t, &c->rules[i], out);
		fputc('\n', out);
	}
	fputs("\t}\n", out);
}

void nir_render_chain(const struct nir_chain *c, FILE *out)
{
	render_chain(NULL, c, out);
}

static const char *set_type_text(uint8_t type)
{
	static const char *const names[NST__COUNT] = {
		[NST_IPV4] = "ipv4_addr",
		[NST_IFNAME_IPV4] = "ifname . ipv4_addr",
		[NST_IFNAME_VMAP] = "ifname : verdict",
		[NST_PORT_DNAT] = "inet_proto . inet_service : ipv4_addr . inet_service",
		[NST_ADDR_PORT_DNAT] = "ipv4_addr . inet_proto . inet_service : "
				       "ipv4_addr . inet_service",
	};

	return type < NST__COUNT ? names[type] : "?";
}

static void render_elem(uint8_t type, const struct nir_elem *e, FILE *out)
{
	switch (type) {
	case NST_IPV4:
		put_ip(e->addr, out);
		break;
	case NST_IFNAME_IPV4:
		put_quoted(e->ifname, NIR_IFNAMSIZ, out);
		fputs(" . ", out);
		put_ip(e->addr, out);
		break;
	case NST_IFNAME_VMAP:
		put_quoted(e->ifname, NIR_IFNAMSIZ, out);
		fprintf(out, " : %s %s", e->vgoto ? "goto" : "jump", e->chain);
		break;
	case NST_ADDR_PORT_DNAT:
		put_ip(e->addr, out);
		fputs(" . ", out);
		/* fall through */
	case NST_PORT_DNAT:
		put_proto(e->proto, out);
		fprintf(out, " . %u : ", e->port);
		put_ip(e->to_addr, out);
		fprintf(out, " . %u", e->to_port);
		break;
	}
}

void nir_render_set(const struct nir_set *s, FILE *out)
{
	bool map = s->type == NST_IFNAME_VMAP || s->type == NST_PORT_DNAT ||
		   s->type == NST_ADDR_PORT_DNAT;

	fprintf(out, "\t%s %s {\n\t\ttype %s\n", map ? "map" : "set", s->name,
		set_type_text(s->type));
	if (s->comment) {
		fputs("\t\tcomment ", out);
		put_quoted(s->comment, NIR_COMMENT_SHOWN, out);
		fputc('\n', out);
	}
	if (s->n) {
		fputs("\t\telements = { ", out);
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				fputs(",\n\t\t\t     ", out);
			render_elem(s->type, &s->e[i], out);
		}
		fputs(" }\n", out);
	}
	fputs("\t}\n", out);
}

void nir_render_table(const struct nir_table *t, FILE *out)
{
	bool blank = false;

	fprintf(out, "table inet %s {\n", NIR_TABLE);
	for (size_t i = 0; i < t->n_sets; i++, blank = true) {
		if (blank)
			fputc('\n', out);
		nir_render_set(t->sets[i], out);
	}
	for (size_t i = 0; i < t->n_chains; i++, blank = true) {
		if (blank)
			fputc('\n', out);
		render_chain(t, t->chains[i], out);
	}
	fputs("}\n", out);
}
