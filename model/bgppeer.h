/*
 * bgppeer: the BGPPeer resource, a BGP speaker outside the mesh.
 */
#ifndef PETREL_MODEL_BGPPEER_H
#define PETREL_MODEL_BGPPEER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/bgpconfig.h"
#include "model/res.h"

/*
 * BGPPeer:
 * A BGP speaker outside the mesh (a top-of-rack router, a route server).
 * Applies to every node (global) unless `node` names one node or
 * `nodeSelector` selects nodes by their labels (at most one of the two). */
enum bgp_next_hop { BGP_NH_AUTO, BGP_NH_SELF, BGP_NH_KEEP };	/* "auto" "self" "keep" */
enum bgp_source { BGP_SRC_NODE_IP, BGP_SRC_AUTO };	/* "nodeIP" "auto" */
enum bgp_import { BGP_IMPORT_POOLS, BGP_IMPORT_ALL };	/* "pools" "all" */

struct bgppeer {
	char name[RES_NAME_MAX];
	uint32_t peer_ip;	/* peerIP "A.B.C.D[:PORT]": not 0.0.0.0, multicast, broadcast */
	uint16_t peer_port;	/* 0 = not given (179) */
	uint32_t asn;		/* asNumber, 1..4294967295, required */
	char node[RES_NAME_MAX];	/* "" = not limited to one node */
	char *node_selector;	/* NULL = not limited by labels; see node_selector_match */
	char *password;		/* TCP MD5 (RFC 2385); NULL = none; a secret, see above */
	uint16_t keepalive;	/* keepaliveTime s, 1..65535; 0 = BIRD's (hold/3) */
	uint16_t hold;		/* holdTime s, 3..65535; 0 = BIRD's (240); > keepalive */
	bool bfd;		/* bfd: BFD on the session */
	bool ttl_security;	/* ttlSecurity: GTSM, RFC 5082 */
	uint8_t multihop;	/* multihop: hops 1..255; 0 = BIRD's default
				 * (direct for eBGP, multihop for iBGP) */
	enum bgp_next_hop next_hop;	/* nextHopMode, default auto */
	enum bgp_source source;		/* sourceAddress, default nodeIP */
	enum bgp_import import;		/* import: what is accepted, default pools */
};

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int bgppeer_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct bgppeer *out, struct errs *e);
json_t *bgppeer_to_json(const struct bgppeer *p);
void bgppeer_clear(struct bgppeer *p);

#endif
