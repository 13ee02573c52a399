/*
 * ippool: the IPPool resource, a range that IPAM cuts into blocks.
 */
#ifndef PETREL_MODEL_IPPOOL_H
#define PETREL_MODEL_IPPOOL_H

#include <jansson.h>
#include <stdbool.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/yamljson.h"
#include "model/res.h"

struct ippool {
	char name[RES_NAME_MAX];
	struct ip4_net cidr;
	int block_size;		/* 20..32, default 26; not shorter than cidr.len */
	bool nat_outgoing;
	bool disabled;
	bool strict_affinity;	/* never borrow from another node's block */
	char *node_selector;	/* NULL = all() */
};

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int ippool_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct ippool *out, struct errs *e);
json_t *ippool_to_json(const struct ippool *p);
void ippool_clear(struct ippool *p);

#endif
