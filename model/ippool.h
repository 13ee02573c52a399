/*
 * ippool: the IPPool resource, a range that IPAM cuts into blocks.
 */
#ifndef PETREL_MODEL_IPPOOL_H
#define PETREL_MODEL_IPPOOL_H

#include <jansson.h>
#include <stdbool.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/ip6.h"
#include "common/yamljson.h"
#include "model/res.h"

/* An IPv6 pool (v6; cidr is then zero) is decoded, validated and managed
 * by the IPAM library (ipam.h: ipam6_*), but IPv6 is not routed yet:
 * ippool_v6_refusal() is what the user-facing edges say (docs/ipv6.md), and
 * every IPv4 consumer skips v6 pools (ipam_pools_list lists none). */
struct ippool {
	char name[RES_NAME_MAX];
	struct ip4_net cidr;
	bool v6;
	struct ip6_net cidr6;
	int block_size;		/* v4 20..32, default 26; v6 116..128, default
				 * 122; not shorter than the cidr's length */
	bool nat_outgoing;
	bool disabled;
	bool strict_affinity;	/* never borrow from another node's block */
	char *node_selector;	/* NULL = all() */
};

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int ippool_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct ippool *out, struct errs *e);
json_t *ippool_to_json(const struct ippool *p);
void ippool_clear(struct ippool *p);

#define IPPOOL_V6_BLOCK_MIN 116		/* 4096 addresses, as v4's /20 */
#define IPPOOL_V6_BLOCK_DEFAULT 122	/* 64 addresses, as v4's /26 */

/* The one line every user-facing edge (petrelctl pool create, apply, the
 * CNI plugins) refuses an IPv6 pool or address with, until the data path
 * routes IPv6; what is the name of the pool or the address given. */
void ippool_v6_refusal(const char *what, char *buf, size_t len);

#endif
