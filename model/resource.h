/*
 * resource: petrel's data model (apiVersion petrel/v1), its validation, and
 * its codec to and from JSON documents (the form the datastore stores and the
 * YAML/JSON that users write, through common/yamljson.h).
 *
 * Every document: {apiVersion: petrel/v1, kind: K, metadata: {name, labels?,
 * revision? (output only)}, spec: {...}}. Decoding validates ALL of a
 * document and reports every error into `e`, each naming the field
 * ("spec.cidr: invalid CIDR \"10.0.0.300/24\"") and, when the document came
 * from YAML (doc != NULL), its "file:line:col". A decode that reports an
 * error returns -EINVAL and leaves *out untouched (nothing leaks).
 * Encoding is canonical: the same struct gives the same bytes.
 *
 * Ownership: *_from_json fills a caller-provided struct the caller later
 * *_clear()s; *_to_json returns a new reference.
 *
 * This header is the umbrella: it includes every kind's header (model/ippool.h,
 * node.h, wep.h, ipamblock.h, ipamhandle.h, bgpconfig.h, bgppeer.h,
 * netpolicy.h, network.h, hostep.h, and labels.h, res.h) and adds `struct resource`,
 * a resource of any kind.
 */
#ifndef PETREL_RESOURCE_H
#define PETREL_RESOURCE_H

#include <jansson.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/bgpconfig.h"
#include "model/bgppeer.h"
#include "model/ipamblock.h"
#include "model/ipamhandle.h"
#include "model/hostep.h"
#include "model/ippool.h"
#include "model/labels.h"
#include "model/netpolicy.h"
#include "model/network.h"
#include "model/node.h"
#include "model/res.h"
#include "model/wep.h"

/*
 * A resource of any kind, as `petrelctl apply/get/delete` handle them.
 * res_from_json reads apiVersion and kind, then calls the kind's decoder
 * (errors for a missing/unknown apiVersion or kind name their position).
 */
struct resource {
	enum res_kind kind;
	int64_t revision;	/* from the store; 0 when new */
	union {
		struct ippool pool;
		struct node node;
		struct wep wep;
		struct ipamblock block;
		struct ipamhandle handle;
		struct bgpconfig bgpconfig;
		struct bgppeer bgppeer;
		struct netpolicy netpolicy;
		struct network network;
		struct hostep hostep;
	} u;
};

int res_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct resource *out, struct errs *e);
json_t *res_to_json(const struct resource *r);	/* adds metadata.revision when > 0 */
void res_clear(struct resource *r);
/* The resource's name as used in its key ("node/name" for WEPs). */
void res_name(const struct resource *r, char *buf, size_t len);
/* Decode a stored document (JSON text) of a known kind. */
int res_from_text(enum res_kind k, const char *text, int64_t rev,
		  struct resource *out, struct errs *e);
/* Canonical compact JSON text of a resource (for the store). NULL on ENOMEM. */
char *res_to_text(const struct resource *r);

#endif
