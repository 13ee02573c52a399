/*
 * bgpconfig: the BGPConfiguration resource (the cluster's BGP settings) and
 * the BGP communities it attaches.
 */
#ifndef PETREL_MODEL_BGPCONFIG_H
#define PETREL_MODEL_BGPCONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/res.h"

/*
 * BGPConfiguration:
 * The cluster's BGP settings: one document, named "default" (per-node
 * configurations may come later; other names are refused so that nothing is
 * silently ignored). An absent document means bgpconfig_defaults().
 *
 * Secrets (meshPassword here, password in BGPPeer): stored in the datastore
 * as given, never written into an error message or a log, never
 * world-readable (the BIRD config holding one is written 0600). At most
 * BGP_PASSWORD_MAX printable ASCII characters, without '"' or '\' (BIRD's
 * string syntax has no escapes). */
#define BGPCONFIG_NAME "default"
#define BGP_DEFAULT_ASN 64512
#define BGP_DEFAULT_GR_TIME 120
#define BGP_DEFAULT_PORT 179
#define BGP_PASSWORD_MAX 80	/* Linux's TCP MD5 key limit */
#define BGPCONFIG_COMMUNITIES_MAX 16

/* A community to attach to the prefixes a node originates: "A:B" (RFC 1997,
 * 16-bit parts) or "A:B:C" (large, RFC 8092, 32-bit parts). */
struct bgpconfig_community {
	bool large;
	uint32_t v[3];		/* v[2] unused when !large */
};
#define BGPCONFIG_COMMUNITY_STRLEN 34	/* "4294967295:4294967295:4294967295" + NUL */
/* 0, or -EINVAL (decimal parts without leading zeros or signs, in range). */
int bgpconfig_community_parse(const char *s, struct bgpconfig_community *out);
char *bgpconfig_community_fmt(const struct bgpconfig_community *c, char *buf);

struct bgpconfig {
	char name[RES_NAME_MAX];	/* "default" */
	uint32_t asn;		/* asNumber: nodes without their own; default 64512 */
	bool mesh;		/* nodeToNodeMesh; default true */
	char *mesh_password;	/* meshPassword: TCP MD5 on mesh sessions; NULL = none */
	size_t n_communities;
	struct bgpconfig_community communities[BGPCONFIG_COMMUNITIES_MAX];	/* no duplicates */
	uint32_t gr_time;	/* gracefulRestartTime, s 1..4095 (12 bits in BGP); default 120 */
	uint16_t listen_port;	/* listenPort, of every node; default 179 */
	int log_level;		/* logLevel, enum log_level (common/log.h); default info */
};
/* Fills c with the defaults above (name "default"); c owns nothing after. */
void bgpconfig_defaults(struct bgpconfig *c);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int bgpconfig_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct bgpconfig *out, struct errs *e);
json_t *bgpconfig_to_json(const struct bgpconfig *c);
void bgpconfig_clear(struct bgpconfig *c);

#endif
