/*
 * nft: the IR of policy/nftir.h turned into libnftnl objects and sent to the
 * kernel in netlink batches (see nft.h).
 *
 * Registers and layouts follow what nft(8) emits for the same text, so that
 * `nft list table inet petrel` reads back as the renderer prints it:
 *  - ifname keys: 16 bytes, NUL padded; an exact match compares
 *    strlen + 1 bytes, a prefix ("ptl*") strlen bytes;
 *  - concatenations are 32-bit aligned (inet_proto takes 4 bytes, a port 4);
 *  - a network-header match in an inet chain is preceded by
 *    `meta nfproto ipv4`, as nft adds that dependency itself.
 *
 * A batch asks for an ACK on its last message only: the kernel reports every
 * failing message anyway, and the transaction is all or nothing, so that
 * last answer ends the exchange (thousands of ACKs would overflow the
 * receive buffer of a full-table batch).
 *
 * Files: nft.c the sockets, a batch sent and its answers mapped back to
 * objects, the whole table and the incremental update; nft_build.c the IR
 * as libnftnl objects in a batch; nft_verify.c the kernel's table read
 * back and compared.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
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

#include "common/nlerr.h"
#include "common/sha1.h"
#include "felix/nft.h"
#include "felix/nft_int.h"

/* ---------- talking to the kernel ---------- */

static const struct bmsg *msg_of(const struct batch *b, uint32_t seq)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->msgs[i].seq == seq)
			return &b->msgs[i];
	return NULL;
}

size_t nftk_msgs_len(const void *buf, size_t len)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)((const char *)buf + off);

		if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - off)
			break;
		off += NLMSG_ALIGN(h->nlmsg_len) < len - off ? NLMSG_ALIGN(h->nlmsg_len)
							      : len - off;
	}
	return off;
}

bool nftk_acks_parse(const struct batch *b, uint32_t last, const void *buf,
		     size_t len, int *first_err, char *err, size_t elen)
{
	int rem = (int)nftk_msgs_len(buf, len > INT_MAX ? INT_MAX : len);
	bool done = false;

	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, rem);
	     nlh = mnl_nlmsg_next(nlh, &rem)) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_type != NLMSG_ERROR ||
		    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			continue;
		if (e->error && !*first_err) {
			const struct bmsg *m = msg_of(b, nlh->nlmsg_seq);

			*first_err = nl_error(e->error);
			if (err && elen)
				snprintf(err, elen, "%s %s: %s",
					 m ? m->what : "message",
					 m && m->name ? m->name : "?",
					 strerror(-*first_err));
		}
		if (nlh->nlmsg_seq == last)
			done = true;
	}
	return done;
}

/* Sends the batch; waits for the answer to its last message. */
static int batch_send(struct nftk *k, struct batch *b, char *err, size_t elen)
{
	uint32_t last;
	char rbuf[MNL_SOCKET_BUFFER_SIZE];
	int ret = 0, first_err = 0;
	int sz;

	if (err && elen)
		err[0] = '\0';
	k->last_msgs = b->n;
	k->last_bytes = b->len;
	if (b->err)
		return b->err;
	if (b->n == 0)
		return 0;
	/* the ACK on the last real message only (see the top comment) */
	{
		struct nlmsghdr *nlh = (struct nlmsghdr *)b->buf;
		size_t off = 0;
		struct nlmsghdr *lastmsg = NULL;

		while (off < b->len) {
			nlh = (struct nlmsghdr *)(b->buf + off);
			if (nlh->nlmsg_type != NFNL_MSG_BATCH_BEGIN &&
			    nlh->nlmsg_type != NFNL_MSG_BATCH_END)
				lastmsg = nlh;
			off += NLMSG_ALIGN(nlh->nlmsg_len);
		}
		if (!lastmsg)
			return 0;
		lastmsg->nlmsg_flags |= NLM_F_ACK;
		last = lastmsg->nlmsg_seq;
	}
	sz = (int)(b->len + 65536);
	setsockopt(mnl_socket_get_fd(k->nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mnl_socket_sendto(k->nl, b->buf, b->len) < 0)
		return -errno;
	for (int guard = 0; guard < 100000; guard++) {
		ssize_t n = mnl_socket_recvfrom(k->nl, rbuf, sizeof(rbuf));

		if (n < 0) {
			ret = -errno;
			break;
		}
		if (nftk_acks_parse(b, last, rbuf, (size_t)n, &first_err, err, elen))
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	k->last_kernel_us = (t1.tv_sec - t0.tv_sec) * 1000000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000;
	return first_err ? first_err : ret;
}

int nftk_open(struct nftk **out)
{
	struct nftk *k = calloc(1, sizeof(*k));
	int r = 0;

	if (!k)
		return -ENOMEM;
	k->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	k->mon = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!k->nl || !k->mon ||
	    mnl_socket_bind(k->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(k->mon, 1 << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		nftk_close(k);
		return r ? r : -EIO;
	}
	{
		int sz = 4 << 20;

		setsockopt(mnl_socket_get_fd(k->mon), SOL_SOCKET, SO_RCVBUFFORCE,
			   &sz, sizeof(sz));
	}
	k->portid = mnl_socket_get_portid(k->nl);
	k->seq = (uint32_t)time(NULL);
	*out = k;
	return 0;
}

void nftk_close(struct nftk *k)
{
	if (!k)
		return;
	if (k->nl)
		mnl_socket_close(k->nl);
	if (k->mon)
		mnl_socket_close(k->mon);
	free(k);
}

int nftk_mon_fd(const struct nftk *k)
{
	return mnl_socket_get_fd(k->mon);
}

void nftk_last_batch(const struct nftk *k, size_t *msgs, size_t *bytes)
{
	*msgs = k->last_msgs;
	*bytes = k->last_bytes;
}

int64_t nftk_last_kernel_us(const struct nftk *k)
{
	return k->last_kernel_us;
}

/* Whether a notification is about table petrel (attribute 1 of every
 * nf_tables object message is its table's name). */
static bool about_us(const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*g)) || g->nfgen_family != NFT_FAMILY)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*g)) {
		if (mnl_attr_get_type(a) == 1)
			return mnl_attr_get_payload_len(a) >= sizeof(NIR_TABLE) &&
			       !strcmp(mnl_attr_get_str(a), NIR_TABLE);
	}
	return false;
}

int nftk_mon_parse(uint32_t portid, const void *buf, size_t len)
{
	int rem = (int)nftk_msgs_len(buf, len > INT_MAX ? INT_MAX : len);

	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, rem);
	     nlh = mnl_nlmsg_next(nlh, &rem)) {
		int type = NFNL_MSG_TYPE(nlh->nlmsg_type);

		if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
		    type == NFT_MSG_NEWGEN)
			continue;
		if (nlh->nlmsg_pid != portid && about_us(nlh))
			return 1;
	}
	return 0;
}

int nftk_mon_read(struct nftk *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int foreign = 0;

	for (int i = 0; i < 1024; i++) {
		ssize_t n = mnl_socket_recvfrom(k->mon, buf, sizeof(buf));

		if (n < 0) {
			if (errno == ENOBUFS)
				foreign = 1;	/* lost some: look */
			break;
		}
		if (nftk_mon_parse(k->portid, buf, (size_t)n))
			foreign = 1;
	}
	return foreign;
}

/* ---------- whole table ---------- */

static int add_all(struct nftk *k, struct batch *b, const struct nir_table *t)
{
	nftk_b_table(k, b, NFT_MSG_NEWTABLE);
	for (size_t i = 0; i < t->n_sets; i++)
		if (t->sets[i]->type != NST_IFNAME_VMAP)
			nftk_b_set_full(k, b, t->sets[i]);
	for (size_t i = 0; i < t->n_chains; i++)
		nftk_b_chain(k, b, NFT_MSG_NEWCHAIN, t->chains[i]);
	/* vmaps after the chains their elements name */
	for (size_t i = 0; i < t->n_sets; i++)
		if (t->sets[i]->type == NST_IFNAME_VMAP)
			nftk_b_set_full(k, b, t->sets[i]);
	for (size_t i = 0; i < t->n_chains; i++)
		nftk_b_chain_rules(k, b, t->chains[i]);
	return b->err;
}

int nftk_replace(struct nftk *k, const struct nir_table *t, char *err,
		 size_t len)
{
	struct batch b = { .t = t };
	int r;

	nftk_b_begin(k, &b);
	/* create-if-absent, then delete: the delete cannot fail */
	nftk_b_table(k, &b, NFT_MSG_NEWTABLE);
	nftk_b_table(k, &b, NFT_MSG_DELTABLE);
	add_all(k, &b, t);
	nftk_b_end(k, &b);
	r = batch_send(k, &b, err, len);
	nftk_batch_free(&b);
	return r;
}

/* ---------- incremental ---------- */

/* The elements of a (in old) missing from b (in new), as pointers; with
 * `changed`, also those whose data differs. */
static int elem_diff(const struct nir_set *a, const struct nir_set *bs,
		     const struct nir_elem ***out, size_t *n)
{
	const struct nir_elem **v;
	size_t i = 0, j = 0, k = 0;

	*out = NULL;
	*n = 0;
	if (!a || a->n == 0)
		return 0;
	v = malloc(a->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (i < a->n) {
		int c = (!bs || j >= bs->n) ? -1 :
			nir_elem_key_cmp(a->type, &a->e[i], &bs->e[j]);

		if (c < 0) {
			v[k++] = &a->e[i++];
		} else if (c > 0) {
			j++;
		} else {
			if (!nir_elem_equal(a->type, &a->e[i], &bs->e[j]))
				v[k++] = &a->e[i];
			i++;
			j++;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

/* Phases of an update batch, in an order the kernel's reference checks
 * accept: 1 new sets and chains (empty); 2 element deletions; 3 element
 * additions; 4 rules of new and changed chains; 5 removed chains flushed
 * (their jumps gone), 6 then deleted (one removed chain may jump to
 * another); 7 removed sets. */
int nftk_update(struct nftk *k, const struct nir_table *old,
		const struct nir_table *new,
		const struct nftk_piece *const *pieces, size_t n,
		char *err, size_t len)
{
	struct batch b = { .t = new };
	int r;

	nftk_b_begin(k, &b);
	for (int phase = 1; phase <= 7 && !b.err; phase++) {
		for (size_t i = 0; i < n && !b.err; i++) {
			const char *name = pieces[i]->name;
			bool chain = pieces[i]->kind == NFTK_CHAIN;
			const struct nir_chain *oc = chain ? nir_chain_find(old, name) : NULL;
			const struct nir_chain *nc = chain ? nir_chain_find(new, name) : NULL;
			const struct nir_set *os = chain ? NULL : nir_set_find(old, name);
			const struct nir_set *ns = chain ? NULL : nir_set_find(new, name);
			const struct nir_elem **v;
			size_t nv;

			if (phase == 1 && nc && !oc)
				nftk_b_chain(k, &b, NFT_MSG_NEWCHAIN, nc);
			if (phase == 1 && ns && !os)
				nftk_b_set(k, &b, NFT_MSG_NEWSET, ns);
			if (phase == 2 && os && ns) {
				if (elem_diff(os, ns, &v, &nv) < 0) {
					b.err = -ENOMEM;
					break;
				}
				nftk_b_elems(k, &b, NFT_MSG_DELSETELEM, os, v, nv);
				free(v);
			}
			if (phase == 3 && ns) {
				/* new elements and changed ones (deleted above) */
				if (elem_diff(ns, os, &v, &nv) < 0) {
					b.err = -ENOMEM;
					break;
				}
				nftk_b_elems(k, &b, NFT_MSG_NEWSETELEM, ns, v, nv);
				free(v);
			}
			if (phase == 4 && nc && (!oc || !nir_chain_equal(oc, nc))) {
				if (oc)
					nftk_b_chain(k, &b, NFT_MSG_DELRULE, oc);
				nftk_b_chain_rules(k, &b, nc);
			}
			if (phase == 5 && oc && !nc)
				nftk_b_chain(k, &b, NFT_MSG_DELRULE, oc);
			if (phase == 6 && oc && !nc)
				nftk_b_chain(k, &b, NFT_MSG_DELCHAIN, oc);
			if (phase == 7 && os && !ns)
				nftk_b_set(k, &b, NFT_MSG_DELSET, os);
		}
	}
	nftk_b_end(k, &b);
	r = batch_send(k, &b, err, len);
	nftk_batch_free(&b);
	return r;
}
