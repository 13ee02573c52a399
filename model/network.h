/*
 * network: the Network resource, a named network of workloads.
 */
#ifndef PETREL_MODEL_NETWORK_H
#define PETREL_MODEL_NETWORK_H

#include <jansson.h>
#include <stdbool.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/res.h"

/*
 * Network:
 * A named network (`docker network create`): its members reach each other
 * and resolve each other's names; others reach them only through policy
 * (or a published port). "default" is built in: everything in and out. */
#define NETWORK_DEFAULT "default"
struct network {
	char name[RES_NAME_MAX];	/* not "default", "routed", "host", "none" */
	char pool[RES_NAME_MAX];	/* IPPool its members' addresses come
					 * from; "" = the pools no network names */
};
/* Names a workload's network may not have: docker's own network modes
 * ("routed", "host", "none"). */
bool network_name_reserved(const char *s);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int network_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct network *out, struct errs *e);
json_t *network_to_json(const struct network *n);
void network_clear(struct network *n);

#endif
