/*
 * nftir_int: what nftir.c, nftir_elem.c and nftir_render.c share (private
 * to them).
 */
#ifndef PETREL_NFTIR_INT_H
#define PETREL_NFTIR_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy/nftir.h"

#define NIR_COMMENT_SHOWN 127	/* nft: 128 bytes with the NUL */
#define NIR_LOG_PREFIX_MAX 127
#define NFPROTO_V4 2
#define NFPROTO_V6 10

/* The l4 protocol an NK_L4PROTO EQ match before match `before` of r
 * fixes, or 0. */
uint32_t nir_rule_l4proto(const struct nir_rule *r, size_t before);

#endif
