/*
 * ipamblock: the IPAMBlock resource: one block of a pool, its node affinity
 * and which handle holds each address.
 */
#ifndef PETREL_MODEL_IPAMBLOCK_H
#define PETREL_MODEL_IPAMBLOCK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/ip6.h"
#include "common/yamljson.h"
#include "model/res.h"

/* An IPv6 block (v6; cidr is then zero) is /116../128, at most 4096
 * addresses as IPv4's largest (/20): the same allocations map of ordinals. */
struct ipamblock {
	struct ip4_net cidr;
	bool v6;
	struct ip6_net cidr6;
	char affinity[RES_NAME_MAX];	/* node name; "" = none */
	char pool[RES_NAME_MAX];	/* the pool it was cut from */
	char **handles;			/* ipamblock_size() entries; NULL = free; owned */
};
#define IPAMBLOCK_NAMELEN IP6_NETSTRLEN	/* either family's name */
/* Name of a block: "10.0.0.64-26". buf: at least IP4_NETSTRLEN. */
void ipamblock_name(const struct ip4_net *cidr, char *buf);
/* Name of an IPv6 block, Calico's spelling: each ':' and the '/' a '-',
 * "fd00:10::40/122" → "fd00-10--40-122". buf: at least IPAMBLOCK_NAMELEN. */
void ipamblock_name6(const struct ip6_net *cidr, char *buf);
/* Its inverse, strict (only what ipamblock_name6 writes, /116../128). */
int ipamblock_name6_parse(const char *name, struct ip6_net *out);
/* Allocates handles[] for cidr with all free. */
int ipamblock_init(struct ipamblock *b, const struct ip4_net *cidr);
int ipamblock_init6(struct ipamblock *b, const struct ip6_net *cidr);
/* Number of addresses (of handles[]), either family. */
size_t ipamblock_size(const struct ipamblock *b);
size_t ipamblock_used(const struct ipamblock *b);

/* A fast partial decoder of a stored block's text (as res_to_text writes
 * it): spec.affinity into aff ("" when none) and the number of addresses
 * held (members of spec.allocations) into *used, without building a tree
 * (~1 us against jansson's ~30 us for a /26). 0; or -1 when the text has a
 * shape it does not expect, or aff is too small: then decode it fully
 * (res_from_text). When it returns 0 on a block the full decoder accepts,
 * the answer is the full decoder's (tests/unit/test_blockpeek.c,
 * tests/fuzz/fuzz_blockpeek.c). */
int ipamblock_peek(const char *text, char *aff, size_t afflen, uint64_t *used);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int ipamblock_from_json(const json_t *j, const struct ydoc *doc,
			 const char *file, struct ipamblock *out, struct errs *e);
json_t *ipamblock_to_json(const struct ipamblock *b);
void ipamblock_clear(struct ipamblock *b);

#endif
