/*
 * nftir_elem: set elements (kept sorted and unique by key: a put in key
 * order appends), equality and deep copies of chains and sets (contract:
 * nftir.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/nftir.h"
#include "policy/nftir_int.h"

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
