/*
 * ipam_check: reading the state: blocks by node, usage per pool, and the
 * check for leaks (handles and allocations nothing holds).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipam/ipam_impl.h"

void ipam_blocks_free(struct ipamblock *b, size_t n)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < n; i++)
		ipamblock_clear(&b[i]);
	free(b);
}

int ipam_blocks_list(struct ds *ds, const char *node, struct ipamblock **out,
		     size_t *n)
{
	struct snap s;
	struct ipamblock *v = NULL;
	size_t i, k = 0;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = ipam_snap_blocks(ds, &s, 1);
	if (rc < 0)
		goto out;
	if (s.nblocks) {
		v = calloc(s.nblocks, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < s.nblocks; i++) {
		struct bent *b = &s.blocks[i];

		if (node) {
			rc = ipam_bent_peek(b);
			if (rc < 0)
				goto out;
			if (strcmp(b->aff, node))
				continue;
		}
		rc = ipam_bent_decode(b);
		if (rc < 0)
			goto out;
		if (node && strcmp(b->b.affinity, node))
			continue;
		v[k++] = b->b;		/* moved */
		b->state = 0;
	}
	*out = v;
	*n = k;
	v = NULL;
out:
	ipam_blocks_free(v, k);
	ipam_snap_clear(&s);
	return rc;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strs_free(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The handles of every WorkloadEndpoint, sorted. An unreadable WEP is an
 * error: guessing would report its address as a leak, and releasing that
 * would give a live workload's address to another. */
/* Appends a copy of h to *v (k entries). */
static int strs_push(char ***v, size_t *k, const char *h)
{
	char **nv = realloc(*v, (*k + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*k] = strdup(h)))
		return -ENOMEM;
	(*k)++;
	return 0;
}

/* The handles that the CNI IPAM plugin (petrel-ipam, for main plugins such
 * as ptp) holds without a WorkloadEndpoint: each gateway record of
 * /petrel/ipamgateways/<node>/<pool> names its own handle and its users'
 * (cni/ipamgw.h). They are not leaks. */
#define IPAM_GW_PREFIX KEYS_IPAMGATEWAYS

static int gw_handles(struct ds *ds, char ***v, size_t *k)
{
	struct ds_kv *kv = NULL;
	size_t nkv = 0;
	int rc;

	rc = ds_list(ds, IPAM_GW_PREFIX, &kv, &nkv, NULL);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < nkv && rc == 0; i++) {
		json_t *j = json_loads(kv[i].value, 0, NULL);
		json_t *u = j ? json_object_get(j, "users") : NULL, *x;
		const char *h = j ? json_string_value(json_object_get(j, "handle")) : NULL;
		size_t idx;

		if (h)
			rc = strs_push(v, k, h);
		json_array_foreach(u, idx, x)
			if (rc == 0 && json_is_string(x))
				rc = strs_push(v, k, json_string_value(x));
		json_decref(j);
	}
	ds_kvs_free(kv, nkv);
	return rc;
}

int ipam_wep_handles(struct ds *ds, char ***out, size_t *n)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kv = NULL;
	char **v = NULL;
	size_t nkv = 0, i, k = 0;
	int rc;

	rc = res_prefix(RES_WEP, NULL, prefix, sizeof(prefix));
	if (rc < 0)
		return rc;
	rc = ds_list(ds, prefix, &kv, &nkv, NULL);
	if (rc < 0)
		return rc;
	if (nkv) {
		v = calloc(nkv, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < nkv; i++) {
		struct resource r;
		struct errs e = ERRS_INIT;
		char id[IPAMHANDLE_ID_MAX];

		memset(&r, 0, sizeof(r));
		rc = res_from_text(RES_WEP, kv[i].value, kv[i].mod_rev, &r, &e);
		errs_clear(&e);
		if (rc < 0)
			goto out;
		rc = ipam_handle_id(r.u.wep.container_id, r.u.wep.wl_ifname, id,
				    sizeof(id));
		res_clear(&r);
		if (rc < 0)
			continue;	/* cannot name any stored handle */
		v[k] = strdup(id);
		if (!v[k]) {
			rc = -ENOMEM;
			goto out;
		}
		k++;
	}
	rc = gw_handles(ds, &v, &k);
	if (rc < 0)
		goto out;
	if (k)
		qsort(v, k, sizeof(*v), str_cmp);
	*out = v;
	*n = k;
	v = NULL;
	rc = 0;
out:
	strs_free(v, k);
	ds_kvs_free(kv, nkv);
	return rc;
}

int64_t ipam_handle_age(struct ds *ds, const char *handle, int64_t now)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv;
	struct ipamhandle h;
	int64_t age = -1;

	memset(&kv, 0, sizeof(kv));
	memset(&h, 0, sizeof(h));
	if (res_key(RES_IPAMHANDLE, handle, key, sizeof(key)) || ds_get(ds, key, &kv))
		return -1;
	if (ipam_handle_decode(&kv, &h) == 0 && h.created > 0)
		age = now > h.created ? now - h.created : 0;
	ipamhandle_clear(&h);
	ds_kv_clear(&kv);
	return age;
}

int ipam_check(struct ds *ds, struct ipam_leak **out, size_t *n)
{
	struct snap s;
	struct ipam_leak *v = NULL;
	char **hs = NULL;
	size_t nhs = 0, nv = 0, cap = 0, i;
	int64_t now = (int64_t)time(NULL);
	uint64_t j;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = ipam_snap_blocks(ds, &s, 1);
	if (rc < 0)
		goto out;
	rc = ipam_wep_handles(ds, &hs, &nhs);
	if (rc < 0)
		goto out;
	for (i = 0; i < s.nblocks; i++) {
		struct bent *b = &s.blocks[i];

		rc = ipam_bent_decode(b);
		if (rc < 0)
			goto out;
		for (j = 0; j < ip4_net_size(&b->cidr); j++) {
			const char *h = b->b.handles[j];
			struct ipam_leak *l;

			if (!h || (nhs && bsearch(&h, hs, nhs, sizeof(*hs),
						  str_cmp)))
				continue;
			if (nv == cap) {
				size_t nc = cap ? cap * 2 : 16;
				void *p = realloc(v, nc * sizeof(*v));

				if (!p) {
					rc = -ENOMEM;
					goto out;
				}
				v = p;
				cap = nc;
			}
			l = &v[nv++];
			memset(l, 0, sizeof(*l));
			l->addr = b->cidr.addr + (uint32_t)j;
			snprintf(l->handle, sizeof(l->handle), "%s", h);
			l->age = -1;
		}
	}
	/* Ages: leaks are few, so read their handles one by one. */
	for (i = 0; i < nv; i++)
		v[i].age = ipam_handle_age(ds, v[i].handle, now);
	*out = v;
	*n = nv;
	v = NULL;
	rc = 0;
out:
	free(v);
	strs_free(hs, nhs);
	ipam_snap_clear(&s);
	return rc;
}

int ipam_usage(struct ds *ds, struct ipam_usage **out, size_t *n)
{
	struct snap s;
	struct ipam_usage *v = NULL;
	size_t i, j;
	int rc;

	if (!ds || !out || !n)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	rc = ipam_snap_pools(ds, &s, 1, NULL);
	if (rc < 0)
		goto out;
	rc = ipam_snap_blocks(ds, &s, 1);
	if (rc < 0)
		goto out;
	if (s.npools) {
		v = calloc(s.npools, sizeof(*v));
		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < s.npools; i++) {
		const struct ippool *p = &s.pools[i].p;

		snprintf(v[i].pool, sizeof(v[i].pool), "%s", p->name);
		v[i].cidr = p->cidr;
		v[i].size = ip4_net_size(&p->cidr);
		for (j = 0; j < s.nblocks; j++) {
			struct bent *b = &s.blocks[j];

			if (!ip4_net_within(&b->cidr, &p->cidr))
				continue;
			rc = ipam_bent_decode(b);
			if (rc < 0)
				goto out;
			v[i].blocks++;
			v[i].used += ipamblock_used(&b->b);
		}
	}
	*out = v;
	*n = s.npools;
	v = NULL;
out:
	free(v);
	ipam_snap_clear(&s);
	return rc;
}
