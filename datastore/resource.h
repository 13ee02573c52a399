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
	RES_BGPCONFIG,		/* BGPConfiguration */
	RES_BGPPEER,		/* BGPPeer */
	RES_NETPOLICY,		/* NetworkPolicy */
	RES_NETWORK,		/* Network */
	RES_KIND_COUNT
};

/* "IPPool" ↔ RES_IPPOOL; also accepts lower-case, plural and short names on
 * parse ("ippool", "ippools", "pool"; "wep", "workloadendpoint(s)";
 * "networkpolicy", "netpol", "policy", "np"; "network", "net", ...).
 * -1 when unknown. Key segments: "networkpolicies", "networks". */
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
#define WEP_MAX_NETWORKS 8
#define WEP_MAX_PORTS 64

/* A published port: [hostIP:]hostPort:port/proto. YAML: {hostIP?,
 * hostPort, containerPort, protocol: tcp|udp}. */
struct wep_port {
	uint32_t host_ip;	/* 0 = every address of the node */
	uint16_t host_port;	/* 1..65535 */
	uint16_t port;		/* the workload's port, 1..65535 */
	uint8_t proto;		/* IPPROTO_TCP | IPPROTO_UDP */
};

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
	size_t n_networks;	/* 0 = "default" only */
	char networks[WEP_MAX_NETWORKS][RES_NAME_MAX];
	size_t n_ports;
	struct wep_port ports[WEP_MAX_PORTS];	/* published (routed only) */
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

/* --- BGPConfiguration ---
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
#define BGP_COMMUNITIES_MAX 16

/* A community to attach to the prefixes a node originates: "A:B" (RFC 1997,
 * 16-bit parts) or "A:B:C" (large, RFC 8092, 32-bit parts). */
struct bgp_community {
	bool large;
	uint32_t v[3];		/* v[2] unused when !large */
};
#define BGP_COMMUNITY_STRLEN 34	/* "4294967295:4294967295:4294967295" + NUL */
/* 0, or -EINVAL (decimal parts without leading zeros or signs, in range). */
int bgp_community_parse(const char *s, struct bgp_community *out);
char *bgp_community_fmt(const struct bgp_community *c, char *buf);

struct bgpconfig {
	char name[RES_NAME_MAX];	/* "default" */
	uint32_t asn;		/* asNumber: nodes without their own; default 64512 */
	bool mesh;		/* nodeToNodeMesh; default true */
	char *mesh_password;	/* meshPassword: TCP MD5 on mesh sessions; NULL = none */
	size_t n_communities;
	struct bgp_community communities[BGP_COMMUNITIES_MAX];	/* no duplicates */
	uint32_t gr_time;	/* gracefulRestartTime, s 1..4095 (12 bits in BGP); default 120 */
	uint16_t listen_port;	/* listenPort, of every node; default 179 */
	int log_level;		/* logLevel, enum log_level (common/log.h); default info */
};
/* Fills c with the defaults above (name "default"); c owns nothing after. */
void bgpconfig_defaults(struct bgpconfig *c);

/* --- BGPPeer ---
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

/* --- NetworkPolicy ---
 * Calico's semantics (docs/policy.md): the policies whose selector selects
 * a workload apply to it in (order, name) order, for the directions in
 * types; once one selects it for a direction, what no rule allows is
 * dropped. Rule fields in YAML: action, protocol, icmp {type, code},
 * source / destination {nets, notNets, selector, notSelector, ports,
 * notPorts}. Ports only with protocol tcp, udp or sctp; icmp only with
 * protocol icmp. */
enum np_action { NP_ALLOW, NP_DENY, NP_LOG, NP_PASS };	/* "Allow" "Deny" "Log" "Pass" */
#define NP_RULES_MAX 256	/* per direction */
#define NP_LIST_MAX 64		/* nets, ports per entity */

struct port_range {
	uint16_t lo, hi;	/* 1..65535, lo <= hi; "80" or "8000:8080" */
};

struct np_entity {
	size_t n_nets, n_not_nets, n_ports, n_not_ports;
	struct ip4_net *nets, *not_nets;		/* owned */
	struct port_range *ports, *not_ports;		/* owned */
	char *selector, *not_selector;			/* owned; NULL = none */
};

struct np_rule {
	enum np_action action;
	uint8_t protocol;	/* 0 = any; "TCP" "UDP" "ICMP" "SCTP" or 1..255 */
	int icmp_type;		/* -1 = any; 0..255 */
	int icmp_code;		/* -1 = any; 0..255; only with a type */
	struct np_entity src, dst;
};

struct netpolicy {
	char name[RES_NAME_MAX];
	char *selector;		/* owned; NULL or "" = all() */
	bool has_order;
	double order;		/* lower first; none = after every ordered one */
	bool ingress, egress;	/* types: when absent, Ingress, plus Egress
				 * when there are egress rules (Calico's rule) */
	size_t n_ingress, n_egress;
	struct np_rule *in_rules, *out_rules;	/* owned */
};

/* --- Network ---
 * A named network (`docker network create`): its members reach each other
 * and resolve each other's names; others reach them only through policy
 * (or a published port). "default" is built in: everything in and out. */
#define NETWORK_DEFAULT "default"
struct network {
	char name[RES_NAME_MAX];	/* not "default", "routed", "host", "none" */
	char pool[RES_NAME_MAX];	/* IPPool its members' addresses come
					 * from; "" = the pools no network names */
};

/* A node selector in Calico's whole selector language (policy/selector.h:
 * all(), has(), ==, !=, in, not in, contains, starts/ends with, !, &&, ||,
 * parentheses; "" is all()). l may be NULL (no labels). 1 when l matches,
 * 0 when it does not, -EINVAL when sel is NULL or not a valid selector
 * (-ENOMEM when out of memory). */
int node_selector_match(const char *sel, const struct labels *l);

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
int bgpconfig_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct bgpconfig *out, struct errs *e);
int bgppeer_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct bgppeer *out, struct errs *e);
int netpolicy_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct netpolicy *out, struct errs *e);
int network_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct network *out, struct errs *e);

json_t *ippool_to_json(const struct ippool *p);
json_t *node_to_json(const struct node *n);
json_t *wep_to_json(const struct wep *w);
json_t *ipam_block_to_json(const struct ipam_block *b);
json_t *ipam_handle_to_json(const struct ipam_handle *h);
json_t *bgpconfig_to_json(const struct bgpconfig *c);
json_t *bgppeer_to_json(const struct bgppeer *p);
json_t *netpolicy_to_json(const struct netpolicy *p);
json_t *network_to_json(const struct network *n);

void ippool_clear(struct ippool *p);
void node_clear(struct node *n);
void wep_clear(struct wep *w);
void ipam_block_clear(struct ipam_block *b);
void ipam_handle_clear(struct ipam_handle *h);
void bgpconfig_clear(struct bgpconfig *c);
void bgppeer_clear(struct bgppeer *p);
void netpolicy_clear(struct netpolicy *p);
void network_clear(struct network *n);
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
		struct bgpconfig bgpconfig;
		struct bgppeer bgppeer;
		struct netpolicy netpolicy;
		struct network network;
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
