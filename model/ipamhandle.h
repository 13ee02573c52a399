/*
 * ipamhandle: the IPAMHandle resource: the addresses one allocation holds.
 */
#ifndef PETREL_MODEL_IPAMHANDLE_H
#define PETREL_MODEL_IPAMHANDLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/yamljson.h"
#include "model/res.h"

#define IPAM_HANDLE_MAX 160
struct ipam_handle {
	char id[IPAM_HANDLE_MAX];	/* "<containerID>.<interface>" */
	size_t n;
	uint32_t *addrs;		/* owned */
	int64_t created;		/* unix time of the first allocation */
};
/* A handle id: 1..IPAM_HANDLE_MAX-1 of [A-Za-z0-9._-]. */
bool ipam_handle_id_valid(const char *s);

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int ipam_handle_from_json(const json_t *j, const struct ydoc *doc,
			  const char *file, struct ipam_handle *out,
			  struct errs *e);
json_t *ipam_handle_to_json(const struct ipam_handle *h);
void ipam_handle_clear(struct ipam_handle *h);

#endif
