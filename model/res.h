/*
 * res: what every resource kind shares: the API version, the kinds and their
 * names, resource names, and the datastore key of a resource.
 */
#ifndef PETREL_MODEL_RES_H
#define PETREL_MODEL_RES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/dnsname.h"

#define RES_API_VERSION "petrel/v1"
#define RES_NAME_MAX DNSNAME_MAX	/* names: [a-z0-9]([-a-z0-9.]*[a-z0-9])?, <= 63 chars */
#define RES_KEY_MAX 256

enum res_kind {
	RES_IPPOOL,
	RES_NODE,
	RES_WEP,		/* WorkloadEndpoint */
	RES_IPAMBLOCK,
	RES_IPAMHANDLE,
	RES_BGPCONFIG,		/* BGPConfiguration */
	RES_BGPPEER,		/* BGPPeer */
	RES_NETPOLICY,		/* NetworkPolicy */
	RES_NETWORK,		/* Network */
	RES_HOSTEP,		/* HostEndpoint */
	RES_KIND_COUNT
};

/* "IPPool" ↔ RES_IPPOOL; also accepts lower-case, plural and short names on
 * parse ("ippool", "ippools", "pool"; "wep", "workloadendpoint(s)";
 * "networkpolicy", "netpol", "policy", "np"; "network", "net"; "hostendpoint", "hep", ...).
 * -1 when unknown. Key segments: "networkpolicies", "networks". */
int res_kind_parse(const char *s);
const char *res_kind_name(enum res_kind k);	/* "IPPool" */
const char *res_kind_plural(enum res_kind k);	/* "ippools" (the key segment) */

/* Datastore keys (model/keys.h). Returns 0, or -ENAMETOOLONG. For RES_WEP, name is "node/name". */
int res_key(enum res_kind k, const char *name, char *buf, size_t len);
/* Prefix of all keys of a kind (KEYS_ROOT "ippools/", model/keys.h); for WEPs of one node
 * pass node (else NULL: all nodes). */
int res_prefix(enum res_kind k, const char *node, char *buf, size_t len);

/* common/dnsname.h's rule. */
bool res_name_valid(const char *name);

#endif
