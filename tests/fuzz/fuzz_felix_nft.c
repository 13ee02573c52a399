/*
 * fuzz_felix_nft: libFuzzer harness for felix's parsers of what it reads
 * back from nf_tables: the dumps nftk_verify compares with the table it
 * wants (felix/nft_verify.c: chains, rules and their digest userdata, sets,
 * set elements), the monitor's notifications (felix/nft.c: is it a change
 * to table petrel by someone else?) and the acknowledgements of a batch
 * (nftk_acks_parse: the first error, named by its message).
 *
 * The input's first byte picks the mode:
 *
 *   - even: raw bytes, one received buffer (of exactly its size) for the
 *     parsers that are ours byte for byte: nftk_msgs_len, nftk_mon_parse,
 *     nftk_acks_parse;
 *   - odd: a dump (its type from the byte's next bits) of messages built
 *     by libnftnl's own builders from fields the rest of the input gives
 *     (table, names, hooks, userdata TLVs, set types, element keys, data
 *     and verdicts, present or missing), then given to nftk_dump_parse and
 *     the other two. libnftnl 1.2's message parsers trust the kernel (a
 *     missing attribute is dereferenced, a mistyped one exits): raw bytes
 *     find its bugs, not ours, so the dump path gets what a kernel could
 *     send.
 *
 * Invariants checked: nothing reads outside the buffer or a NULL string
 * (ASan, UBSan); whole messages never extend past the buffer; an error is
 * reported with its text, and a batch counts as answered only when an
 * acknowledgement came; at most a line per element or message; nothing
 * leaks (ASan's leak check).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "felix/nft.h"
#include "felix/nft_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input, read field by field (zeros once it runs out). */
struct cur {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct cur *c)
{
	if (!c->n)
		return 0;
	c->n--;
	return *c->p++;
}

static uint32_t u32(struct cur *c)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | u8(c);
	return v;
}

/* A name: "petrel", one of ours, or up to 31 bytes of the input. */
static void name(struct cur *c, char *out, size_t len)
{
	static const char *const known[] = { "petrel", "raw-pre", "ports",
		"ep-ptl0123456789ab-in", "filter", "" };
	uint8_t k = u8(c), n;

	if (k < 200) {
		snprintf(out, len, "%s", known[k % 6]);
		return;
	}
	n = u8(c) % 32;
	for (uint8_t i = 0; i < n && i + 1 < len; i++)
		out[i] = (char)(u8(c) | 1);	/* no NUL inside */
	out[n < len ? n : len - 1] = '\0';
}

static void bytes(struct cur *c, uint8_t *out, size_t max, uint32_t *len)
{
	*len = u8(c) % (max + 1);
	for (uint32_t i = 0; i < *len; i++)
		out[i] = u8(c);
}

static size_t build_one(struct cur *c, int type, char *buf, uint32_t seq)
{
	char t[40], n[40], ch[40];
	uint8_t ud[80], key[24], val[24];
	uint8_t flags = u8(c);
	uint32_t udl, kl, vl;
	struct nlmsghdr *nlh;

	name(c, t, sizeof(t));
	name(c, n, sizeof(n));
	if (type == NFT_MSG_GETCHAIN) {
		struct nftnl_chain *x = nftnl_chain_alloc();

		if (flags & 1)
			nftnl_chain_set_str(x, NFTNL_CHAIN_TABLE, t);
		if (flags & 2)
			nftnl_chain_set_str(x, NFTNL_CHAIN_NAME, n);
		if (flags & 4) {
			nftnl_chain_set_u32(x, NFTNL_CHAIN_HOOKNUM, u32(c) % 8);
			nftnl_chain_set_s32(x, NFTNL_CHAIN_PRIO, (int32_t)u32(c));
			nftnl_chain_set_str(x, NFTNL_CHAIN_TYPE, flags & 8 ? "nat" : "filter");
			nftnl_chain_set_u32(x, NFTNL_CHAIN_POLICY, u32(c) % 2);
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET,
					    NLM_F_MULTI, seq);
		nftnl_chain_nlmsg_build_payload(nlh, x);
		nftnl_chain_free(x);
	} else if (type == NFT_MSG_GETRULE) {
		struct nftnl_rule *x = nftnl_rule_alloc();

		if (flags & 1)
			nftnl_rule_set_str(x, NFTNL_RULE_TABLE, t);
		if (flags & 2)
			nftnl_rule_set_str(x, NFTNL_RULE_CHAIN, n);
		if (flags & 4) {
			/* userdata TLVs: ours (0x70, 20 bytes) or any */
			bytes(c, ud, sizeof(ud), &udl);
			if (udl >= 22 && (flags & 8)) {
				ud[0] = UDATA_DIGEST;
				ud[1] = 20;
			}
			nftnl_rule_set_data(x, NFTNL_RULE_USERDATA, ud, udl);
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
					    NLM_F_MULTI, seq);
		nftnl_rule_nlmsg_build_payload(nlh, x);
		nftnl_rule_free(x);
	} else if (type == NFT_MSG_GETSET) {
		struct nftnl_set *x = nftnl_set_alloc();

		if (flags & 1)
			nftnl_set_set_str(x, NFTNL_SET_TABLE, t);
		if (flags & 2)
			nftnl_set_set_str(x, NFTNL_SET_NAME, n);
		nftnl_set_set_u32(x, NFTNL_SET_FLAGS, u32(c));
		nftnl_set_set_u32(x, NFTNL_SET_KEY_TYPE, u32(c));
		nftnl_set_set_u32(x, NFTNL_SET_KEY_LEN, u32(c));
		if (flags & 4) {
			nftnl_set_set_u32(x, NFTNL_SET_DATA_TYPE, u32(c));
			nftnl_set_set_u32(x, NFTNL_SET_DATA_LEN, u32(c));
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET,
					    NLM_F_MULTI, seq);
		nftnl_set_nlmsg_build_payload(nlh, x);
		nftnl_set_free(x);
	} else {
		struct nftnl_set *x = nftnl_set_alloc();
		uint8_t ne = u8(c) % 5;

		if (flags & 1)
			nftnl_set_set_str(x, NFTNL_SET_TABLE, t);
		if (flags & 2)
			nftnl_set_set_str(x, NFTNL_SET_NAME, n);
		for (uint8_t i = 0; i < ne; i++) {
			struct nftnl_set_elem *e = nftnl_set_elem_alloc();
			uint8_t ef = u8(c);

			bytes(c, key, 16, &kl);
			if (kl && (ef & 1))
				nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, kl);
			if (ef & 2) {
				name(c, ch, sizeof(ch));
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, NFT_JUMP);
				nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, ch);
			} else if (ef & 4) {
				nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT,
						       ef & 8 ? NF_DROP : NF_ACCEPT);
			} else if (ef & 8) {
				bytes(c, val, 16, &vl);
				if (vl)
					nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, val, vl);
			}
			nftnl_set_elem_add(x, e);
		}
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET,
					    NLM_F_MULTI, seq);
		nftnl_set_elems_nlmsg_build_payload(nlh, x);
		nftnl_set_free(x);
	}
	return NLMSG_ALIGN(nlh->nlmsg_len);
}

/* Up to 8 messages of the dump's type, then NLMSG_DONE (unless the input
 * leaves it off). Its length. */
static size_t build_dump(struct cur *c, int type, char *buf, size_t cap)
{
	size_t off = 0;
	uint8_t n = u8(c) % 9;

	for (uint8_t i = 0; i < n && off + 4096 <= cap; i++)
		off += build_one(c, type, buf + off, i + 1);
	if (!(u8(c) & 1) && off + 64 <= cap) {
		struct nlmsghdr *h = mnl_nlmsg_put_header(buf + off);
		int *z = mnl_nlmsg_put_extra_header(h, sizeof(int));

		h->nlmsg_type = NLMSG_DONE;
		h->nlmsg_flags = NLM_F_MULTI;
		*z = 0;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	return off;
}

static void others(const void *buf, size_t len)
{
	struct bmsg m = { .seq = 2, .what = "rule in", .name = "raw-pre" };
	struct batch b = { .msgs = &m, .n = 1 };
	int first = 0;
	char err[128] = "";
	bool done;
	size_t whole = nftk_msgs_len(buf, len);

	if (whole > len)
		abort();
	(void)nftk_mon_parse(1, buf, len);
	done = nftk_acks_parse(&b, 2, buf, len, &first, err, sizeof(err));
	if ((first != 0) != (err[0] != '\0'))
		abort();
	if (done && whole < 36)
		abort();	/* no room for an acknowledgement */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[4] = { NFT_MSG_GETCHAIN, NFT_MSG_GETRULE,
				      NFT_MSG_GETSET, NFT_MSG_GETSETELEM };
	struct cur c = { data + 1, size ? size - 1 : 0 };
	size_t lines = 0, sets = 0, len;
	char *buf;

	if (size < 1 || size > 1 << 16)
		return 0;
	if (!(data[0] & 1)) {
		if (!(buf = malloc(size - 1 ? size - 1 : 1)))
			return 0;
		memcpy(buf, data + 1, size - 1);
		others(buf, size - 1);
		free(buf);
		return 0;
	}
	if (!(buf = calloc(1, 9 * 4096 + 64)))
		return 0;
	len = build_dump(&c, types[(data[0] >> 1) % 4], buf, 9 * 4096 + 64);
	(void)nftk_dump_parse(buf, len, types[(data[0] >> 1) % 4], &lines, &sets);
	if (lines > 8 * 5 || sets > lines)
		abort();
	others(buf, len);
	free(buf);
	return 0;
}
