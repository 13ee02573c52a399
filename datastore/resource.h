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
 */
#ifndef PETREL_RESOURCE_H
#define PETREL_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/yamljson.h"

#define RES_API_VERSION "petrel/v1"
#define RES_NAME_MAX 64		/* names: [a-z0-9]([-a-z0-9.]*[a-z0-9])?, <= 63 chars */
#define RES_KEY_MAX 256

enum res_kind {
	RES_IPPOOL,
	RES_NODE,
	RES_WEP,		/* WorkloadEndpoint */
	RES_IPAMBLOCK,
	RES_IPAMHANDLE,
	RES_KIND_COUNT
};

/* "IPPool" ↔ RES_IPPOOL; also accepts lower-case, plural and short names on
 * parse ("ippool", "ippools", "pool"; "wep", "workloadendpoint(s)", ...).
 * -1 when unknown. */
int res_kind_parse(const char *s);
const char *res_kind_name(enum res_kind k);	/* "IPPool" */
const char *res_kind_plural(enum res_kind k);	/* "ippools" (the key segment) */

/* Datastore keys. Returns 0, or -ENAMETOOLONG. For RES_WEP, name is "node/name". */
int res_key(enum res_kind k, const char *name, char *buf, size_t len);
/* Prefix of all keys of a kind ("/petrel/ippools/"); for WEPs of one node
 * pass node (else NULL: all nodes). */
int res_prefix(enum res_kind k, const char *node, char *buf, size_t len);

struct labels {
	size_t n;
	struct label { char *key, *value; } *v;	/* owned, sorted by key */
};

bool res_name_valid(const char *name);

/* Kubernetes' label rules. Key: an optional DNS subdomain and '/', then 1..63
 * of [A-Za-z0-9._-] beginning and ending alphanumeric; value: the same, or "". */
bool labels_key_valid(const char *key);
bool labels_value_valid(const char *value);
/* The value of key, or NULL; borrowed from l. */
const char *labels_get(const struct labels *l, const char *key);
/* Adds or replaces key=value (both copied), keeping l sorted. 0, -EINVAL
 * (invalid key or value), -E2BIG (too many labels) or -ENOMEM. */
int labels_set(struct labels *l, const char *key, const char *value);

/* --- IPPool --- */
struct ippool {
	char name[RES_NAME_MAX];
	struct ip4_net cidr;
	int block_size;		/* 20..32, default 26; not shorter than cidr.len */
	bool nat_outgoing;
	bool disabled;
	bool strict_affinity;	/* never borrow from another node's block */
	char *node_selector;	/* NULL = all() */
};

/* --- Node --- */
struct node {
	char name[RES_NAME_MAX];
	uint32_t bgp_ipv4;	/* 0 = none; stored without prefix length */
	uint32_t bgp_asn;	/* 0 = the global default */
	char *rr_cluster_id;	/* NULL = not a route reflector */
	struct labels labels;
};

/* --- WorkloadEndpoint --- */
enum wep_mode { WEP_ROUTED, WEP_HOST, WEP_NONE, WEP_CONTAINER };
const char *wep_mode_name(enum wep_mode m);	/* "routed", ... */
/* "routed" | "host" | "none" | "container" (the target is a separate field). */
int wep_mode_parse(const char *s);

#define WEP_MAX_NETS 4

struct wep {
	char node[RES_NAME_MAX];
	char name[RES_NAME_MAX];
	enum wep_mode mode;
	char container[RES_NAME_MAX];	/* WEP_CONTAINER: the workload it joins */
	char netns[256];	/* path of its network namespace ("" for host mode) */
	char ifname[16];	/* host-side interface (routed) */
	char wl_ifname[16];	/* workload-side interface (routed), "eth0" */
	size_t n_nets;
	struct ip4_net nets[WEP_MAX_NETS];	/* routed: one /32 */
	uint8_t mac[6];		/* workload end's MAC (routed) */
	bool has_mac;
	char container_id[72];	/* the creator's ID (64 hex for engines) */
	struct labels labels;
};

/* --- IPAMBlock --- */
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

/* --- IPAMHandle --- */
#define IPAM_HANDLE_MAX 160
struct ipam_handle {
	char id[IPAM_HANDLE_MAX];	/* "<containerID>.<interface>" */
	size_t n;
	uint32_t *addrs;		/* owned */
	int64_t created;		/* unix time of the first allocation */
};

/* Decoders. doc: the YAML document the json came from, for positions (NULL
 * for a stored document). file: for messages (may be NULL). The whole
 * document is passed (apiVersion, kind, metadata, spec). */
int ippool_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct ippool *out, struct errs *e);
int node_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		   struct node *out, struct errs *e);
int wep_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct wep *out, struct errs *e);
int ipam_block_from_json(const json_t *j, const struct ydoc *doc,
			 const char *file, struct ipam_block *out, struct errs *e);
int ipam_handle_from_json(const json_t *j, const struct ydoc *doc,
			  const char *file, struct ipam_handle *out,
			  struct errs *e);

json_t *ippool_to_json(const struct ippool *p);
json_t *node_to_json(const struct node *n);
json_t *wep_to_json(const struct wep *w);
json_t *ipam_block_to_json(const struct ipam_block *b);
json_t *ipam_handle_to_json(const struct ipam_handle *h);

void ippool_clear(struct ippool *p);
void node_clear(struct node *n);
void wep_clear(struct wep *w);
void ipam_block_clear(struct ipam_block *b);
void ipam_handle_clear(struct ipam_handle *h);
void labels_clear(struct labels *l);

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
		struct ipam_block block;
		struct ipam_handle handle;
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
