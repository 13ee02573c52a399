/*
 * compile_int: what compile.c, compile_policy.c and compile_ep.c share
 * (private to them).
 */
#ifndef PETREL_COMPILE_INT_H
#define PETREL_COMPILE_INT_H

#include <stdbool.h>

#include "policy/compile.h"
#include "policy/nftir.h"

#define CH_RAW_PRE "raw-pre"
#define CH_NAT_PRE "nat-pre"
#define CH_NAT_OUT "nat-out"
#define CH_NAT_POST "nat-post"
#define CH_FORWARD "forward"
#define CH_INPUT "input"
#define CH_OUTPUT "output"
#define CH_FAILSAFE_IN "failsafe-in"
#define CH_FAILSAFE_OUT "failsafe-out"
#define CH_FROM_WL "from-wl"
#define CH_TO_WL "to-wl"
#define CH_HEP_WL "hep-wl"
#define CH_HEP_FWD "hep-fwd"
#define CH_HEP_PRE "hep-pre"
/* Shared by every workload that no policy selects for the direction (and,
 * for ingress, that is only in `default`): most workloads then have no
 * chain of their own (10,000 of them: 20,000 chains fewer). */
#define CH_FROM_OPEN "from-open"
#define CH_TO_OPEN "to-open"
#define IF_WILDCARD COMPILE_IFPREFIX "*"
#define NFPROTO_V4 2
#define NFPROTO_V6 10
#define LOOPBACK_NET 0x7f000000u	/* 127.0.0.0/8 */

/* prefix + name into buf (NIR_NAME_MAX), or when too long prefix + the
 * name cut + "-" + 12 hex of SHA-1(name): unique either way. */
void compile_name_fit(const char *prefix, const char *name, char *buf);
/* The chain `name`, emptied, or a new one; NULL on ENOMEM. */
struct nir_chain *compile_chain_fresh(struct nir_table *t, const char *name);
/* A rule of c with the verdict v (and the comment, may be NULL). */
int compile_verdict_rule(struct nir_chain *c, enum nir_stmt_type v,
			 const char *comment);
/* The address set `name` of owner o, made when missing (o taken: the set
 * keeps it, or it is released); 0 or -ENOMEM. */
int compile_set_ensure(struct nir_table *t, const char *name,
		       const char *comment, struct nir_owner *o);
/* Puts ifname : goto chain into the verdict map `map` (copied). 0,
 * -ENOENT (no such map) or -ENOMEM. */
int compile_vmap_goto(struct nir_table *t, const char *map, const char *ifname,
		      const char *chain);
/* Routed, with a host-side interface and an address: gets chains. */
bool compile_ep_local_ok(const struct compile_ep *w);

#endif
