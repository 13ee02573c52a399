/*
 * ipamgw: the node's gateway address for petrel-ipam's users (ptp and
 * other main plugins that route through a gateway on the host end).
 *
 * Why: ptp gives the container ADDR/PREFIX, then deletes the prefix route
 * the kernel made for it and routes PREFIX and 0.0.0.0/0 via the IPAM
 * result's gateway, which it puts (/32) on its host end. A /32 has no
 * prefix route (ptp fails deleting it), and the result's default route is
 * added while only the prefix route makes the gateway reachable, so the
 * gateway must lie inside PREFIX: 169.254.1.1 cannot be it. petrel-ipam
 * therefore answers ADDR/<its pool's prefix> with a gateway that is an
 * address of that pool reserved for this node: one per (node, pool), held
 * while any petrel-ipam address of the node in that pool is.
 *
 * Record: /petrel/ipamgateways/<node>/<pool> = {"address": G, "handle":
 * GH, "users": [HANDLE, ...]}. G is held in IPAM under GH, a handle of its
 * generation ("gw-" + the first user's handle): the user that empties the
 * list deletes the record (compare-and-swap) and then releases GH, so an
 * address is never handed out while a record names it. A crash between
 * the two leaves G allocated under GH, which `petrelctl ipam check` lists.
 * Every loop is bounded. Nothing here logs.
 */
#ifndef PETREL_IPAMGW_H
#define PETREL_IPAMGW_H

#include <stdint.h>

#include "datastore/datastore.h"
#include "model/keys.h"
#include "model/resource.h"

#define IPAMGW_PREFIX KEYS_IPAMGATEWAYS

/* Adds handle (the user's IPAM handle) to the users of the gateway of pool
 * on node, making the gateway when there is none: 0 and *gw; -ENOSPC when
 * the pool has no address left for it; -ECANCELED after too many
 * concurrent changes; -errno or an IPAM_E* code. Idempotent. */
int ipamgw_ref(struct ds *ds, const char *node, const struct ippool *pool,
	       const char *handle, uint32_t *gw);

/* Removes handle from the users of every gateway of node (there is at most
 * one it is in); the last user deletes the record and releases the
 * address. 0 also when handle uses none. */
int ipamgw_unref(struct ds *ds, const char *node, const char *handle);

/* A record's stored text as ipamgw_ref/unref read it: 0, its address and
 * its number of users (strings or not); -EINVAL when it is not a record
 * (tests/fuzz/fuzz_stored.c). */
int ipamgw_record_parse(const char *text, uint32_t *gw, size_t *n_users);

#endif
