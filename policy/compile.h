/*
 * compile: petrel's resources → the nftables table `inet petrel` (nftir.h).
 *
 * The pieces are built one at a time, so that felix can keep a table
 * current incrementally (a new workload: its two chains and a few
 * elements; a changed policy: its chains), and compile_table() builds the
 * whole for a start-up, the golden tests and `--check`.
 *
 * Layout (docs/policy.md explains it for operators):
 *
 *   set wl_src   ifname . ipv4_addr   local routed workloads (host-side
 *                                     interface . address): anti-spoofing,
 *                                     hairpin
 *   map from_wl  ifname : verdict     goto from-IF
 *   map to_wl    ifname : verdict     goto to-IF
 *   map ports    inet_proto . inet_service : ipv4_addr . inet_service
 *   map ports_ip ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
 *   map from_hep ifname : verdict     goto hi-HEP (this node's host endpoints)
 *   map to_hep   ifname : verdict     goto ho-HEP
 *   set s-HASH   ipv4_addr            addresses of the workloads (all nodes)
 *                                     a rule selector selects; HASH = 12 hex
 *                                     of SHA-1(canonical selector); the
 *                                     comment is the canonical selector
 *   set n-NET    ipv4_addr            members of network NET (all nodes)
 *
 *   raw-pre    filter prerouting -300: from "ptl*": ipv6 dropped; source
 *              not that interface's workload (iifname . saddr not in
 *              @wl_src) dropped: fail-closed for interfaces not programmed
 *   nat-pre    nat prerouting -100: jump hep-pre (preDNAT policy), 127/8
 *              returns, then ports_ip and ports (each behind fib daddr
 *              type local)
 *   nat-out    nat output -100: ports_ip and ports, for the node itself
 *              (127.0.0.1 included)
 *   nat-post   nat postrouting 100: hairpin (ct status dnat, oifname .
 *              saddr in @wl_src) masquerade; 127.0.0.0/8 to "ptl*"
 *              masquerade; to a pool: return; from a natOutgoing pool:
 *              masquerade
 *   forward    filter forward 0, policy accept: established,related accept;
 *              invalid to/from "ptl*" drop; jump hep-fwd (applyOnForward);
 *              from "ptl*" jump from-wl; to "ptl*" jump to-wl
 *   input      filter input 0, policy accept: from "ptl*": established,
 *              related accept, invalid drop, jump from-wl, then (drop
 *              only) the endpointToHostAllow entries accept, jump hep-wl
 *              (host endpoint policy for its expectedIPs), then the
 *              endpoint-to-host action (accept | drop); from any other
 *              interface: jump failsafe-in, then iifname vmap @from_hep
 *   output     filter output 0, policy accept: to any interface but
 *              "ptl*": jump failsafe-out, then oifname vmap @to_hep
 *   failsafe-in   the failsafe inbound ports: meta l4proto P th dport N
 *              accept, one rule each (traffic to the node; before any
 *              host endpoint policy, so no policy closes them)
 *   failsafe-out  the failsafe outbound ports, the same for traffic from
 *              the node
 *   hep-wl, hep-fwd, hep-pre  one rule per host endpoint that needs it:
 *              jump hw-/hfi-/hfo-/hp-HEP (compile_hep.c)
 *   hi-/ho-/hw-/hfi-/hfo-/hp-HEP  a host endpoint's policy (compile_hep.c)
 *   from-wl    mark cleared; iifname vmap @from_wl; drop (not programmed)
 *   to-wl      mark cleared; oifname vmap @to_wl; drop
 *   from-HASH  egress of the local workloads that the same policies select
 *              (and that are in the same networks): returns when allowed;
 *              HASH = 12 hex of SHA-1 of the chain's rules, so workloads of
 *              one kind share one chain
 *   to-HASH    their ingress: accept when allowed
 *   from-open  shared by the workloads no policy selects for egress: return
 *   to-open    shared by the workloads no policy selects for ingress and
 *              that are only in `default`: accept
 *   pe-NAME    egress rules of policy NAME;  pi-NAME: its ingress rules.
 *              allow: mark |= COMPILE_MARK_ACCEPT, return; deny: drop;
 *              log: log, go on; pass: mark |= COMPILE_MARK_PASS, return
 *
 * from-HASH (to-HASH alike, verdict accept instead of return): with policies
 * selecting the workload for the direction, in (order, name) order:
 *   jump pe-P; mark & ACCEPT → return; mark & PASS → goto the network
 *   rules; ... then drop.
 * Without: the network rules — egress: return (allowed); ingress: accept
 * when a member of `default` (or of no network), else accept from
 * @n-NET for each of its networks, and accept `ct status dnat` (published
 * ports reach the workload from anywhere, as Docker's do); then drop.
 *
 * Ownership: inputs are borrowed; tables returned are the caller's.
 */
#ifndef PETREL_COMPILE_H
#define PETREL_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "model/resource.h"
#include "policy/nftir.h"

#define COMPILE_MARK_ACCEPT 0x10000u
#define COMPILE_MARK_PASS   0x20000u
#define COMPILE_MARK_MASK   (COMPILE_MARK_ACCEPT | COMPILE_MARK_PASS)
#define COMPILE_IFPREFIX "ptl"		/* host ends of workload veths */

#define COMPILE_SET_WL_SRC "wl_src"
#define COMPILE_MAP_FROM_WL "from_wl"
#define COMPILE_MAP_TO_WL "to_wl"
#define COMPILE_MAP_PORTS "ports"
#define COMPILE_MAP_PORTS_IP "ports_ip"
#define COMPILE_MAP_FROM_HEP "from_hep"
#define COMPILE_MAP_TO_HEP "to_hep"

enum compile_host_action { COMPILE_HOST_ACCEPT, COMPILE_HOST_DROP };

/* What workloads may reach on the node under COMPILE_HOST_DROP. */
struct compile_host_allow {
	uint8_t proto;		/* IPPROTO_TCP / IPPROTO_UDP (port), IPPROTO_ICMP */
	uint16_t port;
};

struct compile_config {
	/* the zero value accepts; felix's config defaults to drop
	 * (docs/policy.md) */
	enum compile_host_action ep_to_host;
	size_t n_host_allow;
	const struct compile_host_allow *host_allow;	/* borrowed */
	/* failsafe ports (tcp/udp), accepted to / from the node's own
	 * interfaces before any host endpoint policy; the zero value has none */
	size_t n_failsafe_in, n_failsafe_out;
	const struct compile_host_allow *failsafe_in;	/* borrowed */
	const struct compile_host_allow *failsafe_out;	/* borrowed */
};

/* What the table needs of an endpoint (any node's): a view that borrows
 * every field, so that felix keeps one per endpoint in its own compact
 * record and nothing is copied per call. compile_ep_of_wep points one at
 * a struct wep. */
struct compile_ep {
	const char *node;
	const char *name;
	bool routed;				/* mode routed */
	const char *ifname;			/* host end; "" when none */
	size_t n_nets;
	const struct ip4_net *nets;		/* routed: one /32 */
	const struct labels *labels;
	size_t n_networks;			/* 0: `default` only */
	const char (*networks)[RES_NAME_MAX];
	size_t n_ports;
	const struct wep_port *ports;
};

void compile_ep_of_wep(struct compile_ep *v, const struct wep *w);

/* What the table needs of one of this node's host endpoints (borrowed). */
struct compile_hep {
	const char *name;
	const char *ifname;			/* "" when none */
	size_t n_ips;
	const uint32_t *ips;			/* expectedIPs */
	const struct labels *labels;
};

/* A policy ready for selection: its selector parsed once. The one
 * implementation of "which policies select this endpoint, in which order",
 * used by compile_table and by felix. */
struct compile_policy {
	const struct netpolicy *np;		/* borrowed */
	struct selector *sel;			/* owned; NULL: all() */
};

/* Parses np's selector into cp. 0, -EINVAL (e told "policy NAME:
 * selector: ..."), -ENOMEM. compile_policy_clear(cp) frees the selector. */
int compile_policy_prepare(struct compile_policy *cp,
			   const struct netpolicy *np, struct errs *e);
void compile_policy_clear(struct compile_policy *cp);

/* Whether cp selects ep for a direction (its selector and types; a
 * preDNAT policy selects no workload). */
bool compile_selects(const struct compile_policy *cp,
		     const struct compile_ep *ep, bool ingress);
/* The policies of v selecting ep for the direction, in (order, name)
 * order, into out (room for n); returns how many. */
size_t compile_select(const struct compile_policy *const *v, size_t n,
		      const struct compile_ep *ep, bool ingress,
		      const struct netpolicy **out);

/* Everything the table depends on. Arrays of borrowed pointers. */
struct compile_input {
	const char *node;			/* this node */
	struct compile_config cfg;
	size_t n_eps;
	const struct compile_ep *const *eps;	/* every node's endpoints */
	size_t n_policies;
	const struct netpolicy *const *policies;
	size_t n_networks;
	const struct network *const *networks;
	size_t n_pools;
	const struct ippool *const *pools;
	size_t n_heps;
	const struct compile_hep *const *heps;	/* this node's */
};

/* Chain and set names (buf: NIR_NAME_MAX). */
void compile_name_from(const char *ifname, char *buf);	/* "from-ptl..." */
void compile_name_to(const char *ifname, char *buf);	/* "to-ptl..." */
void compile_name_policy(const char *policy, bool ingress, char *buf); /* "pi-"/"pe-" */
/* "s-" + 12 hex of SHA-1(canon), canon from selector_canon(). */
void compile_name_selector_set(const char *canon, char *buf);
void compile_name_network_set(const char *network, char *buf);	/* "n-NET" */

/* The skeleton: base chains, from-wl/to-wl, the maps and wl_src (empty),
 * nat-post's pool rules. Into an empty table t. 0 or -ENOMEM. */
int compile_base(struct nir_table *t, const struct compile_config *cfg,
		 const struct ippool *const *pools, size_t n_pools);
/* Rebuilds only nat-post (pools changed). */
int compile_nat_post(struct nir_table *t, const struct ippool *const *pools,
		     size_t n_pools);

/* A policy's chains pi-NAME and/or pe-NAME (for its types), replacing
 * any old ones. The selector sets its rules use are created empty when
 * missing, each with its typed owner (the caller fills them:
 * compile_sets_fill, or felix's trackers). 0, -EINVAL (with e: a selector
 * that does not parse, which validation prevents) or -ENOMEM. */
int compile_policy_chains(struct nir_table *t, const struct netpolicy *np,
			  struct errs *e);
/* Deletes a policy's chains (its sets stay; compile_sets_gc removes unused). */
void compile_policy_del(struct nir_table *t, const char *name);

/* One local routed workload's chains, given the policies that select it
 * per direction, already sorted (compile_select): the shared
 * from-HASH/to-HASH (made when no other workload has the same) or
 * from-open/to-open, and its from_wl/to_wl elements pointing at them. */
int compile_ep_chains(struct nir_table *t, const struct compile_ep *w,
		      const struct netpolicy *const *egress, size_t n_egress,
		      const struct netpolicy *const *ingress, size_t n_ingress);
/* Its other elements: wl_src, ports, ports_ip. */
int compile_ep_elems(struct nir_table *t, const struct compile_ep *w);
/* Both, with the policies of pols that select it (compile_select): what
 * compile_table does for each local workload and felix for each change.
 * 0, -EINVAL (not a local routed workload with a host end), -ENOMEM. */
int compile_ep_add(struct nir_table *t, const struct compile_ep *w,
		   const struct compile_policy *const *pols, size_t n_pols);
/* Removes its elements (its chains stay while shared: compile_chains_gc). */
void compile_ep_del(struct nir_table *t, const struct compile_ep *w);
/* Deletes the from-HASH/to-HASH chains no map element names; gone (may be
 * NULL) is told each deleted name. compile_sets_gc calls it first. */
void compile_chains_gc(struct nir_table *t,
		       void (*gone)(void *ctx, const char *name), void *ctx);
/* The chains the workload with host interface ifname is dispatched to
 * (buffers of NIR_NAME_MAX); -ENOENT when it has no elements. */
int compile_ep_chain_names(const struct nir_table *t, const char *ifname,
			   char *from, char *to);

/* Every host endpoint's chains, from_hep/to_hep elements and hep-wl,
 * hep-fwd, hep-pre rules, replacing what was there (chains of role
 * NIR_CHAIN_HOST), from the policies of pols that select each (by its
 * labels; compile_hep.c says which policies go where). 0 or -ENOMEM. */
int compile_heps(struct nir_table *t, const struct compile_hep *const *heps,
		 size_t n, const struct compile_policy *const *pols, size_t n_pols);
/* The name of host endpoint hep's chain of kind (0..5: hi-, ho-, hw-,
 * hfi-, hfo-, hp-) into buf (NIR_NAME_MAX). */
void compile_name_hep(const char *hep, int kind, char *buf);

/* Sorts policies by (order, name); a policy without order comes last. */
void compile_sort(const struct netpolicy **v, size_t n);

/* Whether ep's addresses belong in a set of owner o (a routed workload
 * with an address that o's selector selects, or a member of o's network). */
bool compile_set_member(const struct nir_owner *o, const struct compile_ep *ep);
/* Fills every owned set of t (selector and network sets) from eps,
 * replacing their elements. */
int compile_sets_fill(struct nir_table *t, const struct compile_ep *const *eps,
		      size_t n_eps);
/* Deletes the owned sets no rule refers to. */
void compile_sets_gc(struct nir_table *t);

/* The whole table. NULL on ENOMEM or an invalid input (errors in e). */
struct nir_table *compile_table(const struct compile_input *in, struct errs *e);

#endif
