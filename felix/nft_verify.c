/*
 * nft_verify: the kernel's table inet petrel dumped and compared with the
 * wanted one as sorted lines (chains, rules by their digest, sets,
 * elements by their bytes): the first difference is named.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>

#include "common/sha1.h"
#include "felix/nft.h"
#include "felix/nft_int.h"

/* ---------- verification: the kernel's table as sorted lines ---------- */

struct lines {
	char **v;
	size_t n, cap;
	int err;
};

__attribute__((format(printf, 2, 3)))
static void line_add(struct lines *l, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (l->err)
		return;
	if (l->n == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 256;
		char **v = realloc(l->v, c * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return;
		}
		l->v = v;
		l->cap = c;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		l->err = -ENOMEM;
	else
		l->v[l->n++] = s;
	va_end(ap);
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void line_chain(struct lines *l, const char *name, uint32_t hook,
		       int prio, const char *type, uint32_t policy, bool base)
{
	if (base)
		line_add(l, "chain %s hook %u prio %d type %s policy %u", name, hook,
			 prio, type, policy);
	else
		line_add(l, "chain %s", name);
}

static void line_set(struct lines *l, const char *name, uint32_t kt,
		     uint32_t kl, uint32_t dt, uint32_t dl, uint32_t flags)
{
	if (dt == NFT_DATA_VERDICT)
		dl = 0;		/* the kernel's own size of a verdict */
	line_add(l, "set %s key %u/%u data %u/%u flags %#x", name, kt, kl, dt, dl,
		 flags & (NFT_SET_MAP | NFT_SET_CONCAT | NFT_SET_INTERVAL));
}

static void line_elem(struct lines *l, const char *set, const uint8_t *key,
		      size_t kl, const uint8_t *data, size_t dl, int verdict,
		      const char *chain)
{
	char kh[41], dh[17];

	nftk_hex(kh, key, kl > 20 ? 20 : kl);
	nftk_hex(dh, data, dl > 8 ? 8 : dl);
	if (chain)
		line_add(l, "elem %s %s verdict %d %s", set, kh, verdict, chain);
	else
		line_add(l, "elem %s %s data %s", set, kh, dh);
}

static void want_lines(const struct nir_table *t, struct lines *l)
{
	for (size_t i = 0; i < t->n_chains; i++) {
		const struct nir_chain *c = t->chains[i];
		bool base = c->hook != NH_NONE && c->hook <= NH_POSTROUTING;

		line_chain(l, c->name, base ? nftk_hooknum[c->hook] : 0, c->prio,
			   c->nat ? "nat" : "filter", c->policy_drop ? NF_DROP : NF_ACCEPT,
			   base);
		for (size_t j = 0; j < c->n_rules; j++) {
			uint8_t d[20];
			char dh[41];

			nftk_digest_rule(&c->rules[j], d);
			nftk_hex(dh, d, 20);
			line_add(l, "rule %s %06zu %s", c->name, j, dh);
		}
	}
	for (size_t i = 0; i < t->n_sets; i++) {
		const struct nir_set *s = t->sets[i];
		struct setfmt f = nftk_set_fmt(s->type);

		line_set(l, s->name, f.key_type, f.key_len,
			 f.flags & NFT_SET_MAP ? f.data_type : 0,
			 f.flags & NFT_SET_MAP ? f.data_len : 0, f.flags);
		for (size_t j = 0; j < s->n; j++) {
			uint8_t key[20], data[8];

			nftk_elem_bytes(s->type, &s->e[j], key, data);
			line_elem(l, s->name, key, f.key_len, data,
				  s->type == NST_IFNAME_VMAP ? 0 : f.data_len,
				  s->e[j].vgoto ? NFT_GOTO : NFT_JUMP,
				  s->type == NST_IFNAME_VMAP ? s->e[j].chain : NULL);
		}
	}
}

struct dump {
	struct nftk *k;
	struct lines *l;
	int type;
	size_t rule_idx;
	char last_chain[NIR_NAME_MAX];
	char **sets;		/* named sets seen (for their elements) */
	size_t n_sets;
};

/* Whether an object's table (NULL: the message had none) is ours. What
 * the kernel sends is read as outside input: a name may be missing. */
static bool ours(const char *table)
{
	return table && !strcmp(table, NIR_TABLE);
}

struct elem_arg {
	struct lines *l;
	const char *set;
};

/* One element's line (nftnl_set_elem_foreach's callback). */
static int elem_line(struct nftnl_set_elem *e, void *data)
{
	struct elem_arg *a = data;
	uint32_t kl = 0, dl = 0;
	const uint8_t *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	const uint8_t *dat = NULL;
	const char *chain = NULL;
	uint8_t zero[8] = { 0 };
	int verdict = 0;

	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) {
		chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		verdict = (int)nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT);
	} else if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) {
		dat = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dl);
	}
	if (key)
		line_elem(a->l, a->set, key, kl, dat ? dat : zero, dat ? dl : 0,
			  verdict, chain);
	return 0;
}

/* libnftnl (1.2) reads an expression's name without checking that it is
 * there (mnl_attr_get_str of a NULL attribute): a rule whose expressions
 * are not all named is not handed to it. */
static bool rule_exprs_named(const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *e, *x;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_RULE_EXPRESSIONS)
			continue;
		mnl_attr_for_each_nested(e, a) {
			bool named = false;

			mnl_attr_for_each_nested(x, e)
				named = named || mnl_attr_get_type(x) == NFTA_EXPR_NAME;
			if (!named)
				return false;
		}
	}
	return true;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	int ret = MNL_CB_OK;

	if (d->type == NFT_MSG_GETCHAIN) {
		struct nftnl_chain *c = nftnl_chain_alloc();

		if (!c || nftnl_chain_nlmsg_parse(nlh, c) < 0) {
			nftnl_chain_free(c);
			return MNL_CB_OK;
		}
		if (ours(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE)) &&
		    nftnl_chain_get_str(c, NFTNL_CHAIN_NAME))
			line_chain(d->l, nftnl_chain_get_str(c, NFTNL_CHAIN_NAME),
				   nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM),
				   nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO),
				   nftnl_chain_is_set(c, NFTNL_CHAIN_TYPE) ?
				   nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE) : "",
				   nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY),
				   nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM));
		nftnl_chain_free(c);
	} else if (d->type == NFT_MSG_GETRULE) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		const char *chain;
		const void *ud;
		uint32_t udlen = 0;
		char dh[41] = "none";

		if (!r || !rule_exprs_named(nlh) || nftnl_rule_nlmsg_parse(nlh, r) < 0) {
			nftnl_rule_free(r);
			return MNL_CB_OK;
		}
		chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
		if (!ours(nftnl_rule_get_str(r, NFTNL_RULE_TABLE)) || !chain) {
			nftnl_rule_free(r);
			return MNL_CB_OK;
		}
		if (strcmp(chain, d->last_chain)) {
			nftk_scopy(d->last_chain, sizeof(d->last_chain), chain);
			d->rule_idx = 0;
		}
		ud = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
		/* walk the TLVs for ours */
		for (uint32_t off = 0; ud && off + 2 <= udlen;) {
			const uint8_t *p = (const uint8_t *)ud + off;

			if (p[0] == UDATA_DIGEST && p[1] == 20 && off + 22 <= udlen)
				nftk_hex(dh, p + 2, 20);
			off += 2u + p[1];
		}
		line_add(d->l, "rule %s %06zu %s", chain, d->rule_idx++, dh);
		nftnl_rule_free(r);
	} else if (d->type == NFT_MSG_GETSET) {
		struct nftnl_set *s = nftnl_set_alloc();
		uint32_t flags;

		if (!s || nftnl_set_nlmsg_parse(nlh, s) < 0) {
			nftnl_set_free(s);
			return MNL_CB_OK;
		}
		flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
		if (ours(nftnl_set_get_str(s, NFTNL_SET_TABLE)) &&
		    nftnl_set_get_str(s, NFTNL_SET_NAME) &&
		    !(flags & NFT_SET_ANONYMOUS)) {
			const char *name = nftnl_set_get_str(s, NFTNL_SET_NAME);
			char **v = realloc(d->sets, (d->n_sets + 1) * sizeof(*v));

			line_set(d->l, name, nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE),
				 nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN),
				 flags & NFT_SET_MAP ? nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE) : 0,
				 flags & NFT_SET_MAP ? nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN) : 0,
				 flags);
			if (v) {
				d->sets = v;
				d->sets[d->n_sets] = strdup(name);
				if (d->sets[d->n_sets])
					d->n_sets++;
			} else {
				d->l->err = -ENOMEM;
			}
		}
		nftnl_set_free(s);
	} else if (d->type == NFT_MSG_GETSETELEM) {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
			nftnl_set_free(s);
			return MNL_CB_OK;
		}
		if (nftnl_set_get_str(s, NFTNL_SET_NAME)) {
			struct elem_arg ea = { d->l, nftnl_set_get_str(s, NFTNL_SET_NAME) };

			nftnl_set_elem_foreach(s, elem_line, &ea);
		}
		nftnl_set_free(s);
	}
	return ret;
}

int nftk_dump_parse(const void *buf, size_t len, int type, size_t *lines,
		    size_t *sets)
{
	struct lines l = { 0 };
	struct dump d = { .l = &l, .type = type };
	int r;

	/* seq and portid 0: mnl_cb_run checks neither */
	r = mnl_cb_run(buf, nftk_msgs_len(buf, len), 0, 0, dump_cb, &d);
	*lines = l.n;
	*sets = d.n_sets;
	for (size_t i = 0; i < d.n_sets; i++)
		free(d.sets[i]);
	free(d.sets);
	lines_free(&l);
	return r;
}

/* One dump request; ENOENT (no table) is an empty answer. */
static int dump_run(struct nftk *k, struct dump *d, int type, const char *set)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = ++k->seq;
	struct nlmsghdr *nlh;
	int ret;

	d->type = type;
	d->last_chain[0] = '\0';
	nlh = nftnl_nlmsg_build_hdr(buf, (uint16_t)type, NFT_FAMILY,
				    NLM_F_DUMP, seq);
	if (type == NFT_MSG_GETSETELEM) {
		struct nftnl_set *s = nftnl_set_alloc();

		if (!s)
			return -ENOMEM;
		nftnl_set_set_str(s, NFTNL_SET_TABLE, NIR_TABLE);
		nftnl_set_set_str(s, NFTNL_SET_NAME, set);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nftnl_set_free(s);
	} else {
		/* the kernel filters dumps by table name (attribute 1) */
		mnl_attr_put_strz(nlh, 1, NIR_TABLE);
	}
	if (mnl_socket_sendto(k->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(k->nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		ret = mnl_cb_run(buf, nftk_msgs_len(buf, (size_t)n), seq, k->portid,
				 dump_cb, d);
		if (ret < 0)
			return errno == ENOENT ? 0 : -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

int nftk_verify(struct nftk *k, const struct nir_table *t, char *why,
		size_t len)
{
	struct lines have = { 0 }, want = { 0 };
	struct dump d = { .k = k, .l = &have };
	int r = 0;

	if (why && len)
		why[0] = '\0';
	r = dump_run(k, &d, NFT_MSG_GETCHAIN, NULL);
	if (r == 0)
		r = dump_run(k, &d, NFT_MSG_GETRULE, NULL);
	if (r == 0)
		r = dump_run(k, &d, NFT_MSG_GETSET, NULL);
	for (size_t i = 0; r == 0 && i < d.n_sets; i++)
		r = dump_run(k, &d, NFT_MSG_GETSETELEM, d.sets[i]);
	for (size_t i = 0; i < d.n_sets; i++)
		free(d.sets[i]);
	free(d.sets);
	if (r == 0 && have.err)
		r = have.err;
	if (r < 0)
		goto out;
	want_lines(t, &want);
	if (want.err) {
		r = want.err;
		goto out;
	}
	if (have.n)
		qsort(have.v, have.n, sizeof(*have.v), strp_cmp);
	if (want.n)
		qsort(want.v, want.n, sizeof(*want.v), strp_cmp);
	r = 1;
	for (size_t i = 0, j = 0; i < have.n || j < want.n;) {
		int c = i >= have.n ? 1 : j >= want.n ? -1 : strcmp(have.v[i], want.v[j]);

		if (c == 0) {
			i++;
			j++;
			continue;
		}
		r = 0;
		if (why && len)
			snprintf(why, len, "%s: %s", c < 0 ? "unexpected" : "missing",
				 c < 0 ? have.v[i] : want.v[j]);
		break;
	}
out:
	lines_free(&have);
	lines_free(&want);
	return r;
}
