/*
 * ipamblock: the IPAMBlock resource: one block of a pool, its node affinity
 * and which handle holds each address.
 */
#ifndef PETREL_MODEL_IPAMBLOCK_H
#define PETREL_MODEL_IPAMBLOCK_H

#include <jansson.h>
#include <stddef.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/yamljson.h"
#include "model/res.h"

struct ipam_block {
	struct ip4_net cidr;
	char affinity[RES_NAME_MAX];	/* node name; "" = none */
	char pool[RES_NAME_MAX];	/* the pool it was cut from */
	char **handles;			/* ip4_net_size(cidr) entries; NULL = free; owned */
};
/* Name of a block: "10.0.0.64-26". buf: at least IP4_NETSTRLEN. */
void ipam_block_name(const struct ip4_net *cidr, char *buf);
/* Allocates handles[] for cidr with all free. */
int ipam_block_init(struct ipam_block *b, const struct ip4_net *cidr);
size_t ipam_block_used(const struct ipam_block *b);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int ipam_block_from_json(const json_t *j, const struct ydoc *doc,
			 const char *file, struct ipam_block *out, struct errs *e);
json_t *ipam_block_to_json(const struct ipam_block *b);
void ipam_block_clear(struct ipam_block *b);

#endif
