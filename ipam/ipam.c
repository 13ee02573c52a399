/*
 * ipam: address management on top of the datastore (contract: ipam.h).
 * This file: errors, handle ids, the retry policy and the records' codec;
 * ipam_block.c the snapshot and block claims, ipam_assign.c assignment and
 * release, ipam_pool.c pools, ipam_check.c listing, usage and leaks;
 * ipam_impl.h what they share.
 *
 * All state lives in the store: IPPool, IPAMBlock and IPAMHandle documents.
 * Each operation reads what it needs (a snapshot), computes ONE transaction,
 * and commits it with compare-and-swap on every record it read and changes.
 * On a ipam_conflict (-ECANCELED, -EEXIST, -ENOENT from the txn) it drops the
 * snapshot, waits a short random time and starts over, at most IPAM_TRIES
 * times (then IPAM_ECONFLICT).
 *
 * Invariants every transaction keeps:
 * - an address is allocated iff its block's slot names a handle, and that
 *   handle's record lists the address: block and handle change in one txn;
 * - a block exists only while it holds an address (created with its first
 *   allocation, deleted with its last);
 * - blocks never overlap: a block is claimed only where no stored block
 *   overlaps it, in a txn that also CASes its pool's record (rewritten
 *   unchanged), so claims in one pool are serialised against each other and
 *   against the pool's deletion or change (a claim never lands in a pool
 *   deleted or disabled meanwhile);
 * - pools never overlap: creation and deletion CAS one sentinel key
 *   (POOLS_SENTINEL) read before the pool list, so of two concurrent
 *   creators of overlapping pools only one commits.
 * A block belongs to the pool whose CIDR contains it (its `pool` field is
 * informational): blocks left behind by a force-deleted pool are adopted by
 * a new pool that covers them, and are never handed out twice.
 *
 * Every address of a block is usable: workloads get routed /32s, there is no
 * network or broadcast address to reserve.
 *
 * Automatic assignment takes only from pools whose nodeSelector selects
 * the node's labels (model/selector.h; read from the Node document once per
 * attempt, and only when some pool has a selector other than all()), and
 * from those the caller's struct ipam_pool_sel allows (named networks).
 *
 * Cost of a typical assign: one list of the pools, one list of the blocks
 * (each block's affinity and use read by a cheap scan, ipamblock_peek in
 * model/ipamblock.c; only the block allocated from is decoded), one txn.
 * The handle is created optimistically in that txn; only when it already
 * exists (an idempotent retry) is it read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam_impl.h"

const char *ipam_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case IPAM_ENOSPC:
		return "no free address in any enabled pool";
	case IPAM_EINUSE:
		return "address already allocated";
	case IPAM_ENOPOOL:
		return "address is in no IP pool";
	case IPAM_EOVERLAP:
		return "IP pool overlaps an existing pool";
	case IPAM_ECONFLICT:
		return "too many concurrent updates, gave up";
	case IPAM_EPOOLUSED:
		return "IP pool still has allocated addresses";
	case IPAM_EDISABLED:
		return "address is in a disabled IP pool";
	case IPAM_ENOTALLOWED:
		return "address not in a pool this workload may use";
	case IPAM_EAFFINITY:
		return "address is in another node's block and its pool has strictAffinity";
	default:
		return ds_strerror(err);
	}
}

int ipam_handle_id(const char *container_id, const char *wl_ifname, char *buf,
		   size_t len)
{
	int r;

	if (!wl_ifname || !*wl_ifname)
		wl_ifname = "eth0";
	r = snprintf(buf, len, "%s.%s", container_id ? container_id : "",
		     wl_ifname);
	if (r < 0 || (size_t)r >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Handles become key segments and JSON strings; the codec accepts
 * [A-Za-z0-9._-] only (a handle it refused would make its block unreadable). */
int ipam_handle_valid(const char *h)
{
	size_t n = 0;

	if (!h || !*h)
		return 0;
	for (; h[n]; n++)
		if (!((h[n] >= 'a' && h[n] <= 'z') ||
		      (h[n] >= 'A' && h[n] <= 'Z') ||
		      (h[n] >= '0' && h[n] <= '9') || strchr("._-", h[n])))
			return 0;
	return n < IPAMHANDLE_ID_MAX;
}

int ipam_conflict(int rc)
{
	return rc == -ECANCELED || rc == -EEXIST || rc == -ENOENT;
}

int ipam_retry(int (*once)(void *arg), void *arg)
{
	for (unsigned t = 0; t < IPAM_TRIES; t++) {
		int rc;

		if (t)
			ipam_backoff(t);
		rc = once(arg);
		if (rc != RETRY)
			return rc;
	}
	return IPAM_ECONFLICT;
}

/* Random wait before retry `attempt` (1..), growing to ~3 ms, so that
 * processes that collided do not collide again in lock step. */
void ipam_backoff(unsigned attempt)
{
	static uint64_t seed;
	static pid_t seed_pid;
	struct timespec ts;
	unsigned cap;
	uint64_t us;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!seed || seed_pid != getpid()) {	/* reseed after fork */
		seed_pid = getpid();
		seed = ((uint64_t)seed_pid << 32) ^ (uint64_t)ts.tv_nsec ^
		       0x9e3779b97f4a7c15ull;
	}
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	cap = 100u << (attempt < 5 ? attempt : 5);
	us = seed % cap;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(us * 1000);
	nanosleep(&ts, NULL);
}

/* ---- encoding ---- */

char *ipam_block_text(const struct ipamblock *b)
{
	struct resource r;

	memset(&r, 0, sizeof(r));
	r.kind = RES_IPAMBLOCK;
	r.u.block = *b;		/* shallow: res_to_text only reads it */
	return res_to_text(&r);
}

char *ipam_handle_text(const char *id, const uint32_t *addrs, size_t n,
			 int64_t created)
{
	struct resource r;

	memset(&r, 0, sizeof(r));
	r.kind = RES_IPAMHANDLE;
	snprintf(r.u.handle.id, sizeof(r.u.handle.id), "%s", id);
	r.u.handle.n = n;
	r.u.handle.addrs = (uint32_t *)addrs;	/* only read */
	r.u.handle.created = created;
	return res_to_text(&r);
}

char *ipam_handle_rec_text(const struct ipamhandle *h)
{
	struct resource r;

	memset(&r, 0, sizeof(r));
	r.kind = RES_IPAMHANDLE;
	r.u.handle = *h;	/* shallow: only read */
	return res_to_text(&r);
}

int ipam_handle_decode(const struct ds_kv *kv, struct ipamhandle *out)
{
	struct resource r;
	struct errs e = ERRS_INIT;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = res_from_text(RES_IPAMHANDLE, kv->value, kv->mod_rev, &r, &e);
	errs_clear(&e);
	if (rc < 0)
		return rc;
	*out = r.u.handle;
	return 0;
}

int ipam_block_decode(const struct ds_kv *kv, const struct ip4_net *cidr,
			struct ipamblock *out)
{
	struct resource r;
	struct errs e = ERRS_INIT;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = res_from_text(RES_IPAMBLOCK, kv->value, kv->mod_rev, &r, &e);
	errs_clear(&e);
	if (rc < 0)
		return rc;
	/* The key names the block: a record saying otherwise is not trusted. */
	if (r.u.block.cidr.addr != cidr->addr ||
	    r.u.block.cidr.len != cidr->len || !r.u.block.handles) {
		res_clear(&r);
		return -EINVAL;
	}
	*out = r.u.block;
	return 0;
}

int ipam_block_key(const struct ip4_net *c, char *buf, size_t len)
{
	char name[IP4_NETSTRLEN];

	ipamblock_name(c, name);
	return res_key(RES_IPAMBLOCK, name, buf, len);
}

/* "10.0.0.64-26" → 10.0.0.64/26 (strict: the name ipamblock_name gives). */
int ipam_block_name_parse(const char *name, struct ip4_net *out)
{
	char buf[IP4_NETSTRLEN + 1];
	char *dash;
	size_t n = strlen(name);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, name, n + 1);
	dash = strrchr(buf, '-');
	if (!dash)
		return -EINVAL;
	*dash = '/';
	return ip4_net_parse(buf, out, false, false);
}

/* One past the last address of c. */
uint64_t ipam_net_end(const struct ip4_net *c)
{
	return (uint64_t)c->addr + ip4_net_size(c);
}

long ipam_block_free_slot(const struct ipamblock *b)
{
	uint64_t i, n = ipamblock_size(b);

	for (i = 0; i < n; i++)
		if (!b->handles[i])
			return (long)i;
	return -1;
}
