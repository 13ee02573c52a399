/*
 * ipam: address management on top of the datastore.
 *
 * Pools (IPPool) are cut into blocks of 2^(32-blockSize) addresses. A block
 * exists in the store (IPAMBlock) once a node has claimed it (create = CAS:
 * only one node wins); its `affinity` is that node. A node allocates from its
 * own blocks first (lowest free address of the lowest block), then claims the
 * next free block of an enabled pool, then, unless the pool has
 * strictAffinity, borrows one free address from another node's block. Each
 * allocation is recorded under a handle (IPAMHandle, "<containerID>.<if>"),
 * written in the same transaction as the block, so that release by handle is
 * idempotent and `ipam_check` can find leaks. A block that becomes empty is
 * released (deleted) in the same transaction. Every write is a CAS; on
 * conflict the whole step is retried (bounded), so concurrent allocators in
 * many processes and nodes never hand out one address twice.
 *
 * Nothing here logs. Errors: -errno or the IPAM_E* codes, see ipam_strerror().
 */
#ifndef PETREL_IPAM_H
#define PETREL_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "datastore/datastore.h"
#include "model/resource.h"

enum {
	IPAM_ENOSPC = -1001,	 /* every pool exhausted (or none enabled) */
	IPAM_EINUSE = -1002,	 /* the requested address is allocated */
	IPAM_ENOPOOL = -1003,	 /* the requested address is in no pool */
	IPAM_EOVERLAP = -1004,	 /* a new pool overlaps an existing one */
	IPAM_ECONFLICT = -1005,	 /* too many CAS conflicts in a row */
	IPAM_EPOOLUSED = -1006,	 /* pool still has allocations */
	IPAM_EDISABLED = -1007,	 /* requested address in a disabled pool */
};

/* Added with the implementation: a requested address lies in another
 * node's block of a pool with strictAffinity (it may not be borrowed). */
enum {
	IPAM_EAFFINITY = -1008,
};

/* Added with named networks: a requested address lies in a pool the
 * assignment may not use (see struct ipam_pool_sel). */
enum {
	IPAM_ENOTALLOWED = -1009,
};

const char *ipam_strerror(int err);

/* The retry policy of a compare-and-swap that lost a race, for IPAM's own
 * records and for those kept beside them (cni/ipamgw.c): at most IPAM_TRIES
 * attempts, each after ipam_backoff(attempt), a random wait growing to
 * ~3 ms, so that processes that collided do not collide again in lock step. */
#define IPAM_TRIES 100
void ipam_backoff(unsigned attempt);

/* The handle of a workload's address, as every endpoint creator (petrelctl
 * run, the CNI plugin) must build it and as ipam_check matches it:
 * "<containerID>.<wl_ifname>", an empty wl_ifname meaning "eth0".
 * 0, or -ENAMETOOLONG (buf: IPAMHANDLE_ID_MAX is enough for valid input). */
int ipam_handle_id(const char *container_id, const char *wl_ifname, char *buf,
		   size_t len);

/* Validates and stores a new pool: -EEXIST (name taken), IPAM_EOVERLAP
 * (message naming the other pool into e), -EINVAL. Concurrent creators of
 * overlapping pools: one wins. */
int ipam_pool_create(struct ds *ds, const struct ippool *p, struct errs *e);
/* Deletes a pool: IPAM_EPOOLUSED while any of its blocks holds an address
 * (unless force, which releases nothing and just deletes the pool record);
 * its empty blocks are deleted too. -ENOENT if missing. */
int ipam_pool_delete(struct ds *ds, const char *name, int force);
/* The same, with the caller's operations (at most DS_TXN_MAX / 2) applied
 * in the same transaction, after the pool's own: a Network created or
 * deleted together with its pool (`petrelctl network create --pool`,
 * `network rm`). delete_with never forces. When one of extra fails, its
 * error is returned without a retry and *failed_extra (may be NULL) is its
 * index; otherwise *failed_extra is SIZE_MAX. */
int ipam_pool_create_with(struct ds *ds, const struct ippool *p,
			  const struct ds_op *extra, size_t n_extra,
			  size_t *failed_extra, struct errs *e);
int ipam_pool_delete_with(struct ds *ds, const char *name,
			  const struct ds_op *extra, size_t n_extra,
			  size_t *failed_extra);
/* All pools, sorted by name. Caller frees each with ippool_clear and the array. */
int ipam_pools_list(struct ds *ds, struct ippool **out, size_t *n);

/* Assigns one address to handle for node. want: 0 = any, else that exact
 * address (IPAM_EINUSE / IPAM_ENOPOOL / IPAM_EDISABLED / IPAM_EAFFINITY). A
 * handle that already holds an address gets that same address back
 * (idempotent retry); -EEXIST when it holds another one than want.
 * *borrowed is set when it came from another node's block (may be NULL). */
int ipam_assign(struct ds *ds, const char *node, const char *handle,
		uint32_t want, uint32_t *out, int *borrowed);

/* Which pools an assignment may use (named networks, `petrelctl run
 * --network NAME`). pool: that pool only; else, when unnamed_only, only
 * the pools that no Network names (spec.pool of every stored Network);
 * else every pool. A requested address (want) outside them: IPAM_ENOTALLOWED.
 *
 * Independently of sel, an automatic assignment (want 0) takes only from
 * pools whose nodeSelector selects this node's labels (the Node document
 * named node; none = no labels), as Calico does; an invalid selector
 * selects no node. A requested address ignores nodeSelector (the operator
 * asked for it). ipam_assign is ipam_assign_in with sel NULL. */
struct ipam_pool_sel {
	const char *pool;	/* NULL: not limited to one pool */
	bool unnamed_only;
};
int ipam_assign_in(struct ds *ds, const char *node, const char *handle,
		   uint32_t want, const struct ipam_pool_sel *sel, uint32_t *out,
		   int *borrowed);
/* One assignment or release prepared for the caller's own transaction
 * (endpoint/: an endpoint's record and its address in one commit). Its ops
 * go into the caller's ds_txn as they are; their keys and values are owned
 * by the struct (ipam_txn_clear frees; zero-initialize it first). When
 * that transaction fails at one of these ops, ipam_txn_retry says whether
 * it is a conflict to prepare again for (the caller bounds the retries;
 * prepare again keeps what the failure taught). */
struct ipam_txn {
	struct ds_op *ops;
	size_t n;
	uint32_t addr;		/* assign: the address (n == 0 and held: the
				 * handle holds it already, nothing to write) */
	bool held;
	bool check_held;	/* internal: the handle's create failed */
	char **strs;
	size_t nstrs;
};
/* As ipam_assign_in, into t instead of a commit. The same errors. */
int ipam_assign_prepare(struct ds *ds, const char *node, const char *handle,
			uint32_t want, const struct ipam_pool_sel *sel,
			struct ipam_txn *t);
/* As ipam_release_handle, into t (n == 0: nothing held). */
int ipam_release_prepare(struct ds *ds, const char *handle, struct ipam_txn *t);
/* The caller's transaction failed with r at t's op i (0-based within t's). */
bool ipam_txn_retry(struct ipam_txn *t, int r, size_t i);
void ipam_txn_clear(struct ipam_txn *t);		/* NULL ops ok */

/* Releases every address of handle (both families: its IPv6 ones first,
 * in a transaction of their own); 0 also when it holds none. */
int ipam_release_handle(struct ds *ds, const char *handle);
/* Releases one address whatever its handle; -ENOENT if not allocated. */
int ipam_release_addr(struct ds *ds, uint32_t addr);

/* Blocks, optionally only those with affinity to node (NULL = all), sorted
 * by address. Caller frees with ipam_blocks_free. */
int ipam_blocks_list(struct ds *ds, const char *node, struct ipamblock **out,
		     size_t *n);
void ipam_blocks_free(struct ipamblock *b, size_t n);

/* IPv6 (ipam6.c; docs/ipv6.md: the library has it, the data path not yet,
 * so no user-facing edge calls these). As ipam_assign_in for one IPv6
 * address: want NULL = any, else that one (IPAM_EINUSE / IPAM_ENOPOOL /
 * IPAM_EDISABLED / IPAM_EAFFINITY / IPAM_ENOTALLOWED); from the pools with
 * an IPv6 CIDR only, by the same rules (own blocks first, then a new
 * block, then borrowing unless strictAffinity). A handle holding an IPv6
 * address gets it back (-EEXIST when want is another); one holding IPv4
 * only (dual stack) gets the IPv6 one added to its record. */
int ipam_assign6(struct ds *ds, const char *node, const char *handle,
		 const struct ip6 *want, const struct ipam_pool_sel *sel,
		 struct ip6 *out, int *borrowed);
/* Releases the handle's IPv6 addresses; its record stays while it holds
 * IPv4 ones. 0 also when it holds none. */
int ipam_release_handle6(struct ds *ds, const char *handle);
/* Releases one IPv6 address whatever its handle; -ENOENT if not allocated. */
int ipam_release_addr6(struct ds *ds, const struct ip6 *a);

struct ipam_leak {
	uint32_t addr;
	char handle[IPAMHANDLE_ID_MAX];
	int64_t age;		/* seconds since the handle's allocation, -1 unknown */
};
/* Allocations whose handle belongs to no WorkloadEndpoint (by
 * "<containerID>.<wl_ifname>" of every WEP in the store) and to no user of a
 * petrel-ipam gateway (/petrel/ipamgateways/: CNI IPAM for main plugins
 * such as ptp, which record no WorkloadEndpoint). */
int ipam_check(struct ds *ds, struct ipam_leak **out, size_t *n);

struct ipam_usage {
	char pool[RES_NAME_MAX];
	struct ip4_net cidr;
	uint64_t size, used, blocks;
};
int ipam_usage(struct ds *ds, struct ipam_usage **out, size_t *n);

/* IPv6's (ipam6.c): the same answers for its blocks and pools, apart from
 * IPv4's so that no table of IPv4 meets an IPv6 row before the edges show
 * both (docs/ipv6.md). size saturates at UINT64_MAX (a pool shorter than
 * /64). Caller frees the array. */
struct ipam_leak6 {
	struct ip6 addr;
	char handle[IPAMHANDLE_ID_MAX];
	int64_t age;
};
int ipam_check6(struct ds *ds, struct ipam_leak6 **out, size_t *n);
struct ipam_usage6 {
	char pool[RES_NAME_MAX];
	struct ip6_net cidr;
	uint64_t size, used, blocks;
};
int ipam_usage6(struct ds *ds, struct ipam_usage6 **out, size_t *n);

#endif
