/*
 * nft: felix's side of the kernel's nf_tables, for the one table felix owns
 * (`inet petrel`, policy/nftir.h). Every change is one netlink batch, so one
 * transaction: all of it or none. Nothing else in the ruleset is read for
 * more than its table name, nothing else is ever written.
 *
 * Each rule carries in its userdata (besides an nft comment) the SHA-1 of
 * its rendered text: a dump then tells whether the kernel's table is exactly
 * the wanted one (a rule replaced, inserted or deleted by hand shows), and
 * set elements are compared by their bytes.
 *
 * Errors: 0 or -errno; a failed batch changed nothing (the kernel aborts the
 * whole transaction) and its first error is described in err ("chain
 * from-ptl0a1b2c: No such file or directory"). Never logs.
 */
#ifndef PETREL_FELIX_NFT_H
#define PETREL_FELIX_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/nftir.h"

struct nftk;

/* Opens the request socket and the notification socket. */
int nftk_open(struct nftk **out);
void nftk_close(struct nftk *k);	/* NULL: no-op */
int nftk_mon_fd(const struct nftk *k);

/* Reads the pending notifications. Returns 1 when something in table
 * petrel changed that this process did not send (or notifications were
 * lost), else 0. */
int nftk_mon_read(struct nftk *k);

/* Compares the kernel's table with t: 1 the same, 0 different (why says
 * the first difference), -errno when it could not be read. */
int nftk_verify(struct nftk *k, const struct nir_table *t, char *why,
		size_t len);

/* Replaces the whole table with t in one transaction (the table is deleted
 * and created again in the same batch: there is no instant without it). */
int nftk_replace(struct nftk *k, const struct nir_table *t, char *err,
		 size_t len);

/* A piece of the table: a chain or a set, by name. */
enum nftk_piece_kind { NFTK_CHAIN, NFTK_SET };

struct nftk_piece {
	uint8_t kind;			/* enum nftk_piece_kind */
	char name[NIR_NAME_MAX];
};

/* Brings the pieces from their state in old to their state in new (one
 * absent from one side is created or deleted), in one transaction. Each
 * piece at most once (the caller de-duplicates). Both tables and the
 * pieces are borrowed. */
int nftk_update(struct nftk *k, const struct nir_table *old,
		const struct nir_table *new,
		const struct nftk_piece *const *pieces, size_t n,
		char *err, size_t len);

/* Messages and bytes of the last batch (for logs and benchmarks). */
void nftk_last_batch(const struct nftk *k, size_t *msgs, size_t *bytes);
/* Of the last batch: µs from sending it to the kernel's last answer. */
int64_t nftk_last_kernel_us(const struct nftk *k);

#endif
