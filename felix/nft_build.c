/*
 * nft_build: the IR (policy/nftir.h) as libnftnl objects appended to a
 * batch, with what each message is about (to name a failure); the
 * registers and layouts nft(8) itself emits (nft.c's header).
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

/* ---------- small helpers ---------- */

void nftk_scopy(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

static int batch_room(struct batch *b)
{
	if (b->err)
		return b->err;
	if (b->cap - b->len < HEADROOM) {
		size_t cap = b->cap ? b->cap * 2 : 4 * HEADROOM;
		char *p;

		while (cap - b->len < HEADROOM)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return b->err = -ENOMEM;
		/* no uninitialised padding ever reaches the kernel */
		memset(p + b->cap, 0, cap - b->cap);
		b->buf = p;
		b->cap = cap;
	}
	if (b->n == b->cap_msgs) {
		size_t c = b->cap_msgs ? b->cap_msgs * 2 : 256;
		struct bmsg *m = realloc(b->msgs, c * sizeof(*m));

		if (!m)
			return b->err = -ENOMEM;
		b->msgs = m;
		b->cap_msgs = c;
	}
	return 0;
}

static struct nlmsghdr *batch_hdr(struct nftk *k, struct batch *b, int type,
				  uint16_t flags, const char *what,
				  const char *name)
{
	struct nlmsghdr *nlh;
	uint32_t seq = ++k->seq;

	if (batch_room(b) < 0)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(b->buf + b->len, (uint16_t)type, NFT_FAMILY,
				    flags, seq);
	b->msgs[b->n++] = (struct bmsg){ seq, what, name };
	return nlh;
}

static void batch_done(struct batch *b, struct nlmsghdr *nlh)
{
	b->len += nlh->nlmsg_len;
}

void nftk_batch_free(struct batch *b)
{
	free(b->buf);
	free(b->msgs);
}

void nftk_digest_rule(const struct nir_rule *r, uint8_t out[20])
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f) {
		memset(out, 0, 20);
		return;
	}
	nir_render_rule(r, f);
	fclose(f);
	sha1(text, len, out);
	free(text);
}

/* ---------- expressions ---------- */

static int add_expr(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (!e)
		return -ENOMEM;
	nftnl_rule_add_expr(r, e);
	return 0;
}

static struct nftnl_expr *e_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *e_payload(uint32_t base, uint32_t off, uint32_t len,
				    uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return e;
}

static struct nftnl_expr *e_cmp(uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return e;
}

static struct nftnl_expr *e_bitwise(const void *mask, const void *xor,
				    uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	}
	return e;
}

static struct nftnl_expr *e_range(uint32_t op, const void *from,
				  const void *to, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("range");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, from, len);
		nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, to, len);
	}
	return e;
}

static struct nftnl_expr *e_lookup(const char *set, uint32_t set_id,
				   uint32_t sreg, int dreg, bool inv)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		if (dreg >= 0)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		if (set_id)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
		if (inv)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	}
	return e;
}

static struct nftnl_expr *e_verdict(int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	return e;
}

/* ---------- element encoding (shared by batches and the verifier) ---------- */

struct setfmt nftk_set_fmt(enum nir_set_type t)
{
	switch (t) {
	case NST_IPV4:
		return (struct setfmt){ T_IPADDR, 4, 0, 0, 0 };
	case NST_IFNAME_IPV4:
		return (struct setfmt){ CONCAT2(T_IFNAME, T_IPADDR), 20, 0, 0, 0 };
	case NST_IFNAME_VMAP:
		return (struct setfmt){ T_IFNAME, 16, NFT_DATA_VERDICT, 0, NFT_SET_MAP };
	case NST_PORT_DNAT:
		return (struct setfmt){ CONCAT2(T_INET_PROTO, T_INET_SERVICE), 8,
					CONCAT2(T_IPADDR, T_INET_SERVICE), 8,
					NFT_SET_MAP };
	case NST_ADDR_PORT_DNAT:
	default:
		return (struct setfmt){ CONCAT3(T_IPADDR, T_INET_PROTO, T_INET_SERVICE),
					12, CONCAT2(T_IPADDR, T_INET_SERVICE), 8,
					NFT_SET_MAP };
	}
}

/* Key and data bytes of an element. */
void nftk_elem_bytes(enum nir_set_type t, const struct nir_elem *el,
		     uint8_t key[20], uint8_t data[8])
{
	uint32_t a;
	uint16_t p;

	memset(key, 0, 20);
	memset(data, 0, 8);
	switch (t) {
	case NST_IPV4:
		a = htonl(el->addr);
		memcpy(key, &a, 4);
		break;
	case NST_IFNAME_IPV4:
		memcpy(key, el->ifname, strnlen(el->ifname, 16));
		a = htonl(el->addr);
		memcpy(key + 16, &a, 4);
		break;
	case NST_IFNAME_VMAP:
		memcpy(key, el->ifname, strnlen(el->ifname, 16));
		break;
	case NST_PORT_DNAT:
	case NST_ADDR_PORT_DNAT: {
		uint8_t *kp = key;

		if (t == NST_ADDR_PORT_DNAT) {
			a = htonl(el->addr);
			memcpy(kp, &a, 4);
			kp += 4;
		}
		kp[0] = el->proto;
		p = htons(el->port);
		memcpy(kp + 4, &p, 2);
		a = htonl(el->to_addr);
		memcpy(data, &a, 4);
		p = htons(el->to_port);
		memcpy(data + 4, &p, 2);
		break;
	}
	default:
		break;
	}
}

void nftk_hex(char *out, const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---------- building a batch ---------- */

int nftk_b_begin(struct nftk *k, struct batch *b)
{
	if (batch_room(b) < 0)
		return b->err;
	b->len += NLMSG_ALIGN(nftnl_batch_begin(b->buf + b->len, ++k->seq)->nlmsg_len);
	return 0;
}

int nftk_b_end(struct nftk *k, struct batch *b)
{
	if (batch_room(b) < 0)
		return b->err;
	b->len += NLMSG_ALIGN(nftnl_batch_end(b->buf + b->len, ++k->seq)->nlmsg_len);
	return 0;
}

int nftk_b_table(struct nftk *k, struct batch *b, int type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (!t)
		return b->err = -ENOMEM;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NIR_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFT_FAMILY);
	nlh = batch_hdr(k, b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0,
			"table", NIR_TABLE);
	if (nlh) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		batch_done(b, nlh);
	}
	nftnl_table_free(t);
	return b->err;
}

const uint32_t nftk_hooknum[] = {
	[NH_PREROUTING] = NF_INET_PRE_ROUTING, [NH_INPUT] = NF_INET_LOCAL_IN,
	[NH_FORWARD] = NF_INET_FORWARD, [NH_OUTPUT] = NF_INET_LOCAL_OUT,
	[NH_POSTROUTING] = NF_INET_POST_ROUTING,
};

/* NEWCHAIN, DELCHAIN or (flush) DELRULE of every rule of the chain. */
int nftk_b_chain(struct nftk *k, struct batch *b, int type,
		 const struct nir_chain *c)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	struct nlmsghdr *nlh;

	if (!ch)
		return b->err = -ENOMEM;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NIR_TABLE);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFT_FAMILY);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, c->name);
	if (type == NFT_MSG_NEWCHAIN && c->hook != NH_NONE && c->hook <= NH_POSTROUTING) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, nftk_hooknum[c->hook]);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, c->prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, c->nat ? "nat" : "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY,
				    c->policy_drop ? NF_DROP : NF_ACCEPT);
	}
	if (type == NFT_MSG_DELRULE) {
		/* a DELRULE naming only the chain flushes it */
		struct nftnl_rule *r = nftnl_rule_alloc();

		nftnl_chain_free(ch);
		if (!r)
			return b->err = -ENOMEM;
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NIR_TABLE);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFT_FAMILY);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name);
		nlh = batch_hdr(k, b, NFT_MSG_DELRULE, 0, "flush of chain", c->name);
		if (nlh) {
			nftnl_rule_nlmsg_build_payload(nlh, r);
			batch_done(b, nlh);
		}
		nftnl_rule_free(r);
		return b->err;
	}
	nlh = batch_hdr(k, b, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0,
			"chain", c->name);
	if (nlh) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		batch_done(b, nlh);
	}
	nftnl_chain_free(ch);
	return b->err;
}

static struct nftnl_set *set_obj(const char *name, enum nir_set_type type)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct setfmt f = nftk_set_fmt(type);

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NIR_TABLE);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFT_FAMILY);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, f.key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, f.key_len);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, f.flags);
	if (f.flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, f.data_type);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, f.data_len);
	}
	if (type == NST_IFNAME_VMAP) {
		/* for nft(8)'s listing only: an interface name is a string in
		 * host byte order (without this nft byte-swaps it and shows "") */
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(16);

		if (ud) {
			nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, 1 /* host */);
			nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
					   nftnl_udata_buf_len(ud));
			nftnl_udata_buf_free(ud);
		}
	}
	return s;
}

int nftk_b_set(struct nftk *k, struct batch *b, int type,
	       const struct nir_set *set)
{
	struct nftnl_set *s = set_obj(set->name, set->type);
	struct nlmsghdr *nlh;

	if (!s)
		return b->err = -ENOMEM;
	if (type == NFT_MSG_NEWSET)
		nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	nlh = batch_hdr(k, b, type, type == NFT_MSG_NEWSET ? NLM_F_CREATE : 0,
			"set", set->name);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		batch_done(b, nlh);
	}
	nftnl_set_free(s);
	return b->err;
}

static struct nftnl_set_elem *elem_obj(enum nir_set_type t,
				       const struct nir_elem *el)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	struct setfmt f = nftk_set_fmt(t);
	uint8_t key[20], data[8];

	if (!e)
		return NULL;
	nftk_elem_bytes(t, el, key, data);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, f.key_len);
	if (t == NST_IFNAME_VMAP) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT,
				       (uint32_t)(el->vgoto ? NFT_GOTO : NFT_JUMP));
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, el->chain);
	} else if (f.flags & NFT_SET_MAP) {
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, f.data_len);
	}
	return e;
}

/* NEWSETELEM / DELSETELEM of els[0..n) in messages of ELEMS_PER_MSG. */
int nftk_b_elems(struct nftk *k, struct batch *b, int type,
		 const struct nir_set *set, const struct nir_elem *const *els,
		 size_t n)
{
	for (size_t i = 0; i < n && !b->err; i += ELEMS_PER_MSG) {
		struct nftnl_set *s = set_obj(set->name, set->type);
		struct nlmsghdr *nlh;

		if (!s)
			return b->err = -ENOMEM;
		for (size_t j = i; j < n && j < i + ELEMS_PER_MSG; j++) {
			struct nftnl_set_elem *e = elem_obj(set->type, els[j]);

			if (!e) {
				nftnl_set_free(s);
				return b->err = -ENOMEM;
			}
			nftnl_set_elem_add(s, e);
		}
		nlh = batch_hdr(k, b, type,
				type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
				"elements of set", set->name);
		if (nlh) {
			nftnl_set_elems_nlmsg_build_payload(nlh, s);
			batch_done(b, nlh);
		}
		nftnl_set_free(s);
	}
	return b->err;
}

/* An anonymous interval set for ranges of an address (4 bytes) or a port
 * (2 bytes); returns its id (its name "__set%d" is the kernel's to fill). */
static int b_anon_set(struct nftk *k, struct batch *b, const char *chain,
		      const struct nir_match *m, uint32_t *id)
{
	bool port = m->key == NK_SPORT || m->key == NK_DPORT;
	uint32_t klen = port ? 2 : 4;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!s)
		return b->err = -ENOMEM;
	*id = ++b->set_id;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NIR_TABLE);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFT_FAMILY);
	nftnl_set_set_str(s, NFTNL_SET_NAME, "__set%d");
	nftnl_set_set_u32(s, NFTNL_SET_ID, *id);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, port ? T_INET_SERVICE : T_IPADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, klen);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_ANONYMOUS | NFT_SET_CONSTANT |
			  NFT_SET_INTERVAL);
	nlh = batch_hdr(k, b, NFT_MSG_NEWSET, NLM_F_CREATE, "anonymous set in chain",
			chain);
	if (nlh) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		batch_done(b, nlh);
	}
	for (size_t i = 0; i < m->n_ranges && !b->err; i++) {
		uint32_t lo = m->ranges[i].lo, hi = m->ranges[i].hi;
		uint32_t max = port ? 0xffff : 0xffffffffu;
		uint8_t kb[4];
		struct nftnl_set_elem *e;

		for (int end = 0; end < 2; end++) {
			uint32_t v = end ? hi + 1 : lo;

			if (end && hi == max)
				break;
			if (port) {
				uint16_t p = htons((uint16_t)v);

				memcpy(kb, &p, 2);
			} else {
				uint32_t a = htonl(v);

				memcpy(kb, &a, 4);
			}
			e = nftnl_set_elem_alloc();
			if (!e) {
				b->err = -ENOMEM;
				break;
			}
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, kb, klen);
			if (end)
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
						       NFT_SET_ELEM_INTERVAL_END);
			nftnl_set_elem_add(s, e);
		}
	}
	nlh = b->err ? NULL : batch_hdr(k, b, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
					"anonymous set in chain", chain);
	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		batch_done(b, nlh);
	}
	nftnl_set_free(s);
	return b->err;
}

static int need_ipv4(struct nftnl_rule *r, bool *done)
{
	uint8_t v4 = NFPROTO_IPV4;

	if (*done)
		return 0;
	*done = true;
	if (add_expr(r, e_meta(NFT_META_NFPROTO, NFT_REG_1)) < 0)
		return -ENOMEM;
	return add_expr(r, e_cmp(NFT_CMP_EQ, &v4, 1));
}

/* The value a match looks at, into register 1; *len its size. */
static int load_key(struct nftnl_rule *r, const struct nir_match *m,
		    uint32_t *len, bool *v4)
{
	switch (m->key) {
	case NK_IIFNAME:
	case NK_OIFNAME:
		*len = 16;
		return add_expr(r, e_meta(m->key == NK_IIFNAME ? NFT_META_IIFNAME :
					  NFT_META_OIFNAME, NFT_REG_1));
	case NK_NFPROTO:
		*len = 1;
		return add_expr(r, e_meta(NFT_META_NFPROTO, NFT_REG_1));
	case NK_L4PROTO:
		*len = 1;
		return add_expr(r, e_meta(NFT_META_L4PROTO, NFT_REG_1));
	case NK_SADDR:
	case NK_DADDR:
		*len = 4;
		if (need_ipv4(r, v4) < 0)
			return -ENOMEM;
		return add_expr(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER,
					     m->key == NK_SADDR ? 12 : 16, 4, NFT_REG_1));
	case NK_SPORT:
	case NK_DPORT:
		*len = 2;
		return add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER,
					     m->key == NK_SPORT ? 0 : 2, 2, NFT_REG_1));
	case NK_ICMP_TYPE:
	case NK_ICMP_CODE:
		*len = 1;
		return add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER,
					     m->key == NK_ICMP_TYPE ? 0 : 1, 1, NFT_REG_1));
	case NK_CT_STATE:
	case NK_CT_STATUS: {
		struct nftnl_expr *e = nftnl_expr_alloc("ct");

		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, m->key == NK_CT_STATE ?
					   NFT_CT_STATE : NFT_CT_STATUS);
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
		}
		*len = 4;
		return add_expr(r, e);
	}
	case NK_MARK:
		*len = 4;
		return add_expr(r, e_meta(NFT_META_MARK, NFT_REG_1));
	case NK_FIB_DADDR_LOCAL: {
		struct nftnl_expr *e = nftnl_expr_alloc("fib");

		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
			nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
		}
		*len = 4;
		return add_expr(r, e);
	}
	default:
		return -EINVAL;
	}
}

/* A value of len bytes in network order (host order for ct/mark/fib). */
static void val_bytes(const struct nir_match *m, uint32_t v, uint32_t len,
		      uint8_t out[4])
{
	if (m->key == NK_CT_STATE || m->key == NK_CT_STATUS || m->key == NK_MARK ||
	    m->key == NK_FIB_DADDR_LOCAL) {
		memcpy(out, &v, 4);
	} else if (len == 4) {
		uint32_t a = htonl(v);

		memcpy(out, &a, 4);
	} else if (len == 2) {
		uint16_t p = htons((uint16_t)v);

		memcpy(out, &p, 2);
	} else {
		out[0] = (uint8_t)v;
	}
}

static int r_match(struct nftk *k, struct batch *b, const char *chain,
		   struct nftnl_rule *r, const struct nir_match *m, bool *v4)
{
	uint32_t cmpop = m->op == NO_NE ? NFT_CMP_NEQ : NFT_CMP_EQ;
	uint8_t v[4], w[4], zero[4] = { 0 };
	uint32_t len = 0;

	if (m->key == NK_IIF_SADDR || m->key == NK_OIF_SADDR) {
		/* ifname . ip saddr: 16 bytes into reg32 0..3, 4 into 4 */
		if (need_ipv4(r, v4) < 0 ||
		    add_expr(r, e_meta(m->key == NK_IIF_SADDR ? NFT_META_IIFNAME :
				       NFT_META_OIFNAME, NFT_REG32_00)) < 0 ||
		    add_expr(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4,
					  NFT_REG32_04)) < 0)
			return -ENOMEM;
		return add_expr(r, e_lookup(m->set ? m->set : "", 0, NFT_REG32_00, -1,
					    m->op == NO_NE));
	}
	if (load_key(r, m, &len, v4) < 0)
		return -ENOMEM;
	if (m->set)
		return add_expr(r, e_lookup(m->set, 0, NFT_REG_1, -1, m->op == NO_NE));
	if (m->n_ranges > 1) {
		uint32_t id;

		if (b_anon_set(k, b, chain, m, &id) < 0)
			return b->err;
		return add_expr(r, e_lookup("__set%d", id, NFT_REG_1, -1,
					    m->op == NO_NE));
	}
	if (m->n_ranges == 1 && m->ranges[0].lo != m->ranges[0].hi) {
		val_bytes(m, m->ranges[0].lo, len, v);
		val_bytes(m, m->ranges[0].hi, len, w);
		return add_expr(r, e_range(m->op == NO_NE ? NFT_RANGE_NEQ : NFT_RANGE_EQ,
					   v, w, len));
	}
	switch (m->key) {
	case NK_IIFNAME:
	case NK_OIFNAME: {
		size_t n = strnlen(m->str, NIR_IFNAMSIZ);
		char name[NIR_IFNAMSIZ + 1] = { 0 };

		memcpy(name, m->str, n);
		if (n && name[n - 1] == '*')
			return add_expr(r, e_cmp(cmpop, name, (uint32_t)(n - 1)));
		return add_expr(r, e_cmp(cmpop, name, (uint32_t)(n + 1)));
	}
	case NK_CT_STATE:
	case NK_CT_STATUS:
		/* any bit set (EQ) / none (NE): (x & mask) != 0 */
		val_bytes(m, m->val, 4, v);
		if (add_expr(r, e_bitwise(v, zero, 4)) < 0)
			return -ENOMEM;
		return add_expr(r, e_cmp(m->op == NO_NE ? NFT_CMP_EQ : NFT_CMP_NEQ,
					 zero, 4));
	case NK_MARK:
		val_bytes(m, m->mask, 4, w);
		val_bytes(m, m->val, 4, v);
		if (add_expr(r, e_bitwise(w, zero, 4)) < 0)
			return -ENOMEM;
		return add_expr(r, e_cmp(cmpop, v, 4));
	case NK_FIB_DADDR_LOCAL:
		val_bytes(m, RTN_LOCAL, 4, v);
		return add_expr(r, e_cmp(cmpop, v, 4));
	case NK_SADDR:
	case NK_DADDR: {
		uint32_t val = m->n_ranges ? m->ranges[0].lo : m->val;
		uint8_t plen = m->n_ranges ? 32 : m->plen;
		uint32_t mask = plen ? 0xffffffffu << (32 - plen) : 0;

		if (plen == 0)
			return 0;	/* 0.0.0.0/0: every address */
		val_bytes(m, val & mask, 4, v);
		if (plen < 32) {
			val_bytes(m, mask, 4, w);
			if (add_expr(r, e_bitwise(w, zero, 4)) < 0)
				return -ENOMEM;
		}
		return add_expr(r, e_cmp(cmpop, v, 4));
	}
	default:
		val_bytes(m, m->n_ranges ? m->ranges[0].lo : m->val, len, v);
		return add_expr(r, e_cmp(cmpop, v, len));
	}
}

static int r_stmt(const struct batch *b, struct nftnl_rule *r,
		  const struct nir_stmt *s, bool *v4)
{
	struct nftnl_expr *e;

	switch (s->type) {
	case NS_ACCEPT:
		return add_expr(r, e_verdict(NF_ACCEPT, NULL));
	case NS_DROP:
		return add_expr(r, e_verdict(NF_DROP, NULL));
	case NS_RETURN:
		return add_expr(r, e_verdict(NFT_RETURN, NULL));
	case NS_JUMP:
		return add_expr(r, e_verdict(NFT_JUMP, s->arg));
	case NS_GOTO:
		return add_expr(r, e_verdict(NFT_GOTO, s->arg));
	case NS_VMAP:
		if (add_expr(r, e_meta(s->key == NK_OIFNAME ? NFT_META_OIFNAME :
				       NFT_META_IIFNAME, NFT_REG_1)) < 0)
			return -ENOMEM;
		return add_expr(r, e_lookup(s->arg, 0, NFT_REG_1, NFT_REG_VERDICT, false));
	case NS_COUNTER:
		return add_expr(r, nftnl_expr_alloc("counter"));
	case NS_MARK_SET: {
		uint32_t mask = ~s->mask, xor = s->val;

		if (add_expr(r, e_meta(NFT_META_MARK, NFT_REG_1)) < 0 ||
		    add_expr(r, e_bitwise(&mask, &xor, 4)) < 0)
			return -ENOMEM;
		e = nftnl_expr_alloc("meta");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
			nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
		}
		return add_expr(r, e);
	}
	case NS_LOG:
		e = nftnl_expr_alloc("log");
		if (e && s->arg)
			nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, s->arg);
		return add_expr(r, e);
	case NS_MASQUERADE:
		return add_expr(r, nftnl_expr_alloc("masq"));
	case NS_DNAT_MAP: {
		/* key: [ip daddr .] meta l4proto . th dport, 32-bit aligned */
		const struct nir_set *map = b->t && s->arg ? nir_set_find(b->t, s->arg) : NULL;
		bool with_addr = map ? map->type == NST_ADDR_PORT_DNAT :
				 (s->arg && !strcmp(s->arg, "ports_ip"));
		uint32_t reg = NFT_REG32_00;

		if (need_ipv4(r, v4) < 0)
			return -ENOMEM;
		if (with_addr && add_expr(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER, 16, 4,
						       reg++)) < 0)
			return -ENOMEM;
		if (add_expr(r, e_meta(NFT_META_L4PROTO, reg++)) < 0 ||
		    add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg)) < 0 ||
		    add_expr(r, e_lookup(s->arg, 0, NFT_REG32_00, NFT_REG_1, false)) < 0)
			return -ENOMEM;
		e = nftnl_expr_alloc("nat");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG32_01);
		}
		return add_expr(r, e);
	}
	default:
		return -EINVAL;
	}
}

static int b_rule(struct nftk *k, struct batch *b, const struct nir_chain *c,
		  const struct nir_rule *ir)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(512);
	struct nlmsghdr *nlh;
	uint8_t digest[20];
	bool v4 = false;
	int ret = 0;

	if (!r || !ud) {
		ret = b->err = -ENOMEM;
		goto out;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NIR_TABLE);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFT_FAMILY);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c->name);
	for (size_t i = 0; i < ir->n_match && ret == 0; i++)
		ret = r_match(k, b, c->name, r, &ir->m[i], &v4);
	for (size_t i = 0; i < ir->n_stmt && ret == 0; i++)
		ret = r_stmt(b, r, &ir->s[i], &v4);
	if (ret < 0) {
		if (!b->err)
			b->err = ret;
		goto out;
	}
	if (ir->comment && strlen(ir->comment) < 250)
		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, ir->comment);
	nftk_digest_rule(ir, digest);
	nftnl_udata_put(ud, UDATA_DIGEST, sizeof(digest), digest);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud),
			    nftnl_udata_buf_len(ud));
	nlh = batch_hdr(k, b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
			"rule in chain", c->name);
	if (nlh) {
		nftnl_rule_nlmsg_build_payload(nlh, r);
		batch_done(b, nlh);
	}
	ret = b->err;
out:
	nftnl_udata_buf_free(ud);
	nftnl_rule_free(r);
	return ret;
}

int nftk_b_chain_rules(struct nftk *k, struct batch *b,
		       const struct nir_chain *c)
{
	for (size_t i = 0; i < c->n_rules && !b->err; i++)
		b_rule(k, b, c, &c->rules[i]);
	return b->err;
}

int nftk_b_set_full(struct nftk *k, struct batch *b, const struct nir_set *s)
{
	const struct nir_elem **v;

	if (nftk_b_set(k, b, NFT_MSG_NEWSET, s) < 0 || s->n == 0)
		return b->err;
	v = malloc(s->n * sizeof(*v));
	if (!v)
		return b->err = -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		v[i] = &s->e[i];
	nftk_b_elems(k, b, NFT_MSG_NEWSETELEM, s, v, s->n);
	free(v);
	return b->err;
}
