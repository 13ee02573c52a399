/*
 * nft_int: what felix's nft files share (private to them): nft.c (the
 * sockets, sending a batch, the whole table and the incremental update),
 * nft_build.c (IR to libnftnl objects in a batch), nft_verify.c (the
 * kernel's table read back and compared).
 */
#ifndef PETREL_FELIX_NFT_INT_H
#define PETREL_FELIX_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "felix/nft.h"

#define NFT_FAMILY NFPROTO_INET
#define UDATA_DIGEST 0x70	/* our own udata type: nft ignores unknown ones */
#define HEADROOM (128 * 1024)	/* free bytes before each message is built */
#define ELEMS_PER_MSG 256

/* nft's data type numbers (its datatype.h), for sets that list readably */
enum { T_VERDICT = 1, T_IPADDR = 7, T_INET_PROTO = 12, T_INET_SERVICE = 13,
       T_IFNAME = 41 };
#define CONCAT2(a, b) (((a) << 6) | (b))
#define CONCAT3(a, b, c) (((((a) << 6) | (b)) << 6) | (c))

struct nftk {
	struct mnl_socket *nl, *mon;
	uint32_t portid, seq;
	size_t last_msgs, last_bytes;
	int64_t last_kernel_us;		/* send to last answer */
};

/* One message of a batch and what it was about, to name a failure. */
struct bmsg {
	uint32_t seq;
	const char *what;	/* "chain", "rule in", "set", "elements of" */
	const char *name;	/* borrowed from the IR for the batch's life */
};

struct batch {
	char *buf;
	size_t len, cap;
	struct bmsg *msgs;
	size_t n, cap_msgs;
	uint32_t set_id;	/* anonymous sets of this batch */
	const struct nir_table *t;	/* the table the rules come from */
	int err;		/* -ENOMEM met while building */
};

struct setfmt {
	uint32_t key_type, key_len, data_type, data_len, flags;
};

/* nft_build.c */
extern const uint32_t nftk_hooknum[];
void nftk_scopy(char *dst, size_t size, const char *s);
void nftk_batch_free(struct batch *b);
void nftk_digest_rule(const struct nir_rule *r, uint8_t out[20]);
struct setfmt nftk_set_fmt(enum nir_set_type t);
void nftk_elem_bytes(enum nir_set_type t, const struct nir_elem *el,
		     uint8_t key[20], uint8_t data[8]);
void nftk_hex(char *out, const uint8_t *p, size_t n);
int nftk_b_begin(struct nftk *k, struct batch *b);
int nftk_b_end(struct nftk *k, struct batch *b);
int nftk_b_table(struct nftk *k, struct batch *b, int type);
int nftk_b_chain(struct nftk *k, struct batch *b, int type,
		 const struct nir_chain *c);
int nftk_b_set(struct nftk *k, struct batch *b, int type,
	       const struct nir_set *set);
int nftk_b_elems(struct nftk *k, struct batch *b, int type,
		 const struct nir_set *set, const struct nir_elem *const *els,
		 size_t n);
int nftk_b_chain_rules(struct nftk *k, struct batch *b,
		       const struct nir_chain *c);
int nftk_b_set_full(struct nftk *k, struct batch *b, const struct nir_set *s);

/* The read-back parsers (for tests/fuzz/fuzz_felix_nft.c too). What a
 * dump of type (NFT_MSG_GETCHAIN/RULE/SET/SETELEM) answered, one received
 * buffer, parsed as nftk_verify compares it: mnl_cb_run's result, and the
 * number of lines and of named sets it gave (nft_verify.c). Whether a
 * monitor datagram tells of a change to table petrel by another process
 * than portid: 1 or 0 (nft.c). */
int nftk_dump_parse(const void *buf, size_t len, int type, size_t *lines,
		    size_t *sets);
int nftk_mon_parse(uint32_t portid, const void *buf, size_t len);
/* The acknowledgements of batch b in one received buffer: the first error
 * into *first_err (when it is 0) and its text into err, naming the
 * message; true when the batch's last message (seq last) was answered. */
bool nftk_acks_parse(const struct batch *b, uint32_t last, const void *buf,
		     size_t len, int *first_err, char *err, size_t elen);
/* How many bytes from buf's start are whole messages. Every walk and
 * mnl_cb_run gets only those: libmnl 1.0.4's mnl_nlmsg_ok compares a
 * length of 2^31 or more as a negative int, and lets it pass. */
size_t nftk_msgs_len(const void *buf, size_t len);

#endif
