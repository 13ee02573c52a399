/*
 * node: the Node resource (a host, its BGP identity, its labels) and node
 * selectors over node labels.
 */
#ifndef PETREL_MODEL_NODE_H
#define PETREL_MODEL_NODE_H

#include <jansson.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/labels.h"
#include "model/res.h"

struct node {
	char name[RES_NAME_MAX];
	uint32_t bgp_ipv4;	/* 0 = none; stored without prefix length */
	uint32_t bgp_asn;	/* 0 = the global default */
	char *rr_cluster_id;	/* NULL = not a route reflector */
	struct labels labels;
};

/* A node selector in Calico's whole selector language (model/selector.h:
 * all(), has(), ==, !=, in, not in, contains, starts/ends with, !, &&, ||,
 * parentheses; "" is all()). l may be NULL (no labels). 1 when l matches,
 * 0 when it does not, -EINVAL when sel is NULL or not a valid selector
 * (-ENOMEM when out of memory). */
int node_selector_match(const char *sel, const struct labels *l);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int node_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		   struct node *out, struct errs *e);
json_t *node_to_json(const struct node *n);
void node_clear(struct node *n);

#endif
