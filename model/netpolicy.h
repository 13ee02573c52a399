/*
 * netpolicy: the NetworkPolicy resource and its rules.
 */
#ifndef PETREL_MODEL_NETPOLICY_H
#define PETREL_MODEL_NETPOLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/yamljson.h"
#include "model/res.h"

/*
 * NetworkPolicy:
 * Calico's semantics (docs/policy.md): the policies whose selector selects
 * a workload apply to it in (order, name) order, for the directions in
 * types; once one selects it for a direction, what no rule allows is
 * dropped. Rule fields in YAML: action, protocol, icmp {type, code},
 * source / destination {nets, notNets, selector, notSelector, ports,
 * notPorts}. Ports only with protocol tcp, udp or sctp; icmp only with
 * protocol icmp. */
enum np_action { NP_ALLOW, NP_DENY, NP_LOG, NP_PASS };	/* "Allow" "Deny" "Log" "Pass" */
#define NP_RULES_MAX 256	/* per direction */
#define NP_ORDER_DIGITS 15	/* DBL_DIG: decimal -> double -> decimal exact */
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
	/* host endpoints (Calico's): applyOnForward: also to traffic the node
	 * forwards through their interfaces; preDNAT: in prerouting before
	 * published ports' DNAT (ingress only, needs applyOnForward). Neither
	 * changes what the policy does to workloads; a preDNAT policy applies
	 * to host endpoints only. */
	bool apply_on_forward, pre_dnat;
};

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int netpolicy_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct netpolicy *out, struct errs *e);
json_t *netpolicy_to_json(const struct netpolicy *p);
void netpolicy_clear(struct netpolicy *p);

/* The closed policy for a stored NetworkPolicy that does not decode
 * (docs/policy.md, "Policies fail closed"): best effort, it reads only
 * metadata.name, spec.selector and spec.types of text (JSON; every other
 * member, unknown ones among them, is ignored; text need not be JSON at
 * all) and fills *out with a policy that denies everything it selects, in
 * the directions types names (both when types is absent, not a list, or
 * names a type this petrel does not know), ordered before every other
 * policy (order -2^53). Its selector is spec.selector when that parses;
 * when it does not, or is not a string, the closed policy selects every
 * workload (all(), NP_CLOSED_ALL in *flags): the workloads it protected
 * are unknown, so all of them are closed. An absent selector is all() as
 * in a good policy (NP_CLOSED_NO_SELECTOR).
 * name: the store key's name (the document's own is not trusted), or NULL
 * for metadata.name. Borrows text and name; *out is the caller's
 * (netpolicy_clear). 0, -EINVAL (no valid name), -ENOMEM; nothing to free
 * after a failure. flags may be NULL. */
#define NP_CLOSED_NOT_JSON	1u	/* not a JSON object: everything unknown */
#define NP_CLOSED_ALL		2u	/* selector unreadable (or no spec): all() */
#define NP_CLOSED_NO_SELECTOR	4u	/* no selector: all() */
int netpolicy_closed_from_text(const char *text, const char *name,
			       struct netpolicy *out, unsigned *flags);

#endif
