/*
 * hostep: the HostEndpoint resource (Calico's): one of a node's own
 * interfaces, with labels, so that NetworkPolicy selectors can select it
 * and its ingress/egress rules apply to traffic to and from the node
 * itself (docs/policy.md, "Host endpoints").
 */
#ifndef PETREL_MODEL_HOSTEP_H
#define PETREL_MODEL_HOSTEP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/labels.h"
#include "model/res.h"

#define HOSTEP_MAX_IPS 16

struct hostep {
	char name[RES_NAME_MAX];
	char node[RES_NAME_MAX];	/* the node whose interface it is */
	char ifname[16];		/* "" = none: only expectedIPs */
	size_t n_ips;
	uint32_t ips[HOSTEP_MAX_IPS];	/* expectedIPs: the node's addresses on it */
	struct labels labels;
};

/* The codec (conventions in model/resource.h). A HostEndpoint needs a node
 * and an interfaceName or expectedIPs (Calico's rule); an interface of
 * petrel's own workloads ("ptl...") or a wildcard is refused. */
int hostep_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct hostep *out, struct errs *e);
json_t *hostep_to_json(const struct hostep *h);
void hostep_clear(struct hostep *h);

#endif
