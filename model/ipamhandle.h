/*
 * ipamhandle: the IPAMHandle resource: the addresses one allocation holds.
 */
#ifndef PETREL_MODEL_IPAMHANDLE_H
#define PETREL_MODEL_IPAMHANDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/ip6.h"
#include "common/yamljson.h"
#include "model/res.h"

#define IPAMHANDLE_ID_MAX 160
struct ipamhandle {
	char id[IPAMHANDLE_ID_MAX];	/* "<containerID>.<interface>" */
	size_t n;
	uint32_t *addrs;		/* owned */
	/* Its IPv6 addresses (a dual-stack workload holds one of each
	 * family); stored in the same list, after the IPv4 ones. IPv4's
	 * callers read addrs only. */
	size_t n6;
	struct ip6 *addrs6;		/* owned */
	int64_t created;		/* unix time of the first allocation */
};
/* A handle id: 1..IPAMHANDLE_ID_MAX-1 of [A-Za-z0-9._-]. */
bool ipamhandle_id_valid(const char *s);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int ipamhandle_from_json(const json_t *j, const struct ydoc *doc,
			  const char *file, struct ipamhandle *out,
			  struct errs *e);
json_t *ipamhandle_to_json(const struct ipamhandle *h);
void ipamhandle_clear(struct ipamhandle *h);

#endif
