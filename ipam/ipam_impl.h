/*
 * ipam_impl: private to ipam/: what its files share (ipam.h is its one
 * face). The records' codec and the retry policy (ipam.c), the snapshot of
 * pools and blocks an operation works on (ipam_block.c), pool validation
 * (ipam_pool.c).
 */
#ifndef PETREL_IPAM_IMPL_H
#define PETREL_IPAM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datastore/datastore.h"
#include "ipam/ipam.h"
#include "model/keys.h"
#include "model/resource.h"

/* Its revision orders pool creations and deletions; its value (a counter)
 * only makes each write visible to a human reading the store. */
#define POOLS_SENTINEL KEYS_POOLS_SENTINEL
#define RETRY 1			/* internal: re-read and try again */
#define RELEASE6 2		/* internal: release the handle's IPv6 first */

struct pent {
	struct ippool p;
	const struct ds_kv *kv;	/* its stored record, for CAS */
	bool allowed;		/* by the caller's ipam_pool_sel (assign) */
	bool selected;		/* its nodeSelector selects the node (assign) */
};

struct bent {
	struct ip4_net cidr;	/* from its key */
	const struct ds_kv *kv;
	int state;		/* 0: not decoded, 1: decoded into b, <0: error */
	struct ipamblock b;
	int peeked;		/* aff and used are known (bent_peek) */
	char aff[RES_NAME_MAX];
	uint64_t used;
};

/* Which pools ipam_snap_pools keeps: zero-initialised, IPv4's only (every
 * IPv4 operation, unchanged); SNAP_ALL for the name check of a new pool. */
enum { SNAP_V4 = 0, SNAP_V6 = 6, SNAP_ALL = -1 };

struct snap {
	int fam;		/* SNAP_* */
	struct ds_kv *pkv, *bkv;
	size_t npkv, nbkv;
	int have_blocks;
	struct pent *pools;	/* by name */
	size_t npools;
	struct bent *blocks;	/* by address */
	size_t nblocks;
};

/* --- ipam.c: checks, retries, the records' codec --- */

/* Handles become key segments and JSON strings; the codec accepts
 * [A-Za-z0-9._-] only (a handle it refused would make its block unreadable). */
int ipam_handle_valid(const char *h);

int ipam_conflict(int rc);

/* Calls once(arg) until it answers other than RETRY, backing off between
 * (ipam_backoff, ipam.h); IPAM_ECONFLICT after IPAM_TRIES. The retry policy
 * of ipam6.c (IPv4's files still spell the loop out). */
int ipam_retry(int (*once)(void *arg), void *arg);

char *ipam_block_text(const struct ipamblock *b);

char *ipam_handle_text(const char *id, const uint32_t *addrs, size_t n,
			 int64_t created);

/* A whole handle record, both families (h only read). */
char *ipam_handle_rec_text(const struct ipamhandle *h);

int ipam_handle_decode(const struct ds_kv *kv, struct ipamhandle *out);

int ipam_block_decode(const struct ds_kv *kv, const struct ip4_net *cidr,
			struct ipamblock *out);

int ipam_block_key(const struct ip4_net *c, char *buf, size_t len);

/* "10.0.0.64-26" → 10.0.0.64/26 (strict: the name ipamblock_name gives). */
int ipam_block_name_parse(const char *name, struct ip4_net *out);

/* One past the last address of c. */
uint64_t ipam_net_end(const struct ip4_net *c);

long ipam_block_free_slot(const struct ipamblock *b);

/* --- ipam_assign.c --- */

/* Sets allowed and selected of s's pools as an assignment for node with
 * sel (want: a requested address, which ignores nodeSelector) does. */
int ipam_snap_mark(struct ds *ds, struct snap *s, const char *node,
		   bool want, const struct ipam_pool_sel *sel);

/* --- ipam_check.c --- */

/* The handles in use (each WorkloadEndpoint's and each petrel-ipam
 * gateway's), sorted (strcmp); free each and the array. */
int ipam_wep_handles(struct ds *ds, char ***out, size_t *n);

/* Seconds since handle's first allocation at now; -1 unknown. */
int64_t ipam_handle_age(struct ds *ds, const char *handle, int64_t now);

/* --- ipam6.c --- */

/* 1 when a stored IPv6 block within c holds an address, else 0 (blocks
 * are deleted when they become empty: none is left to delete). */
int ipam6_pool_used(struct ds *ds, const struct ip6_net *c);

/* --- ipam_pool.c --- */

int ipam_pool_validate(const struct ippool *p, struct errs *e);

/* --- ipam_block.c: the snapshot of pools and blocks --- */

void ipam_snap_clear(struct snap *s);

/* strict: an undecodable pool is an error (-EINVAL, named in e), else it
 * is skipped (an allocator keeps working with the pools it can read). */
int ipam_snap_pools(struct ds *ds, struct snap *s, int strict,
		      struct errs *e);

/* Lists every block; decodes none (see ipam_bent_decode). A key that names no
 * block is an error when strict, else skipped. */
int ipam_snap_blocks(struct ds *ds, struct snap *s, int strict);

int ipam_bent_decode(struct bent *b);

/* Fills b->aff and b->used, cheaply when it can (ipamblock_peek). */
int ipam_bent_peek(struct bent *b);

struct pent *ipam_snap_pool_at(struct snap *s, uint32_t a);

struct pent *ipam_snap_pool_of(struct snap *s, const struct ip4_net *c);

struct bent *ipam_snap_block_at(struct snap *s, uint32_t a);

int ipam_snap_overlaps(const struct snap *s, const struct ip4_net *c);

/* The lowest block of pool p that no stored block overlaps. */
int ipam_pool_free_block(const struct snap *s, const struct ippool *p,
			   struct ip4_net *out);

#endif
