/*
 * wepgen: the set-up of the 10,000-endpoint benchmark. Writes COUNT routed
 * WorkloadEndpoint records for NODE straight into the datastore (ds_txn in
 * chunks, far faster than COUNT `petrelctl run`), and prints on stdout the
 * `ip -batch` lines that make their veth pairs: the host ends (named as
 * petrel names them, ptl + SHA-1 hex, MAC ee:ee:ee:ee:ee:ee) in the
 * namespace ip runs in, the workload ends (w<i>) all in one namespace WLNS.
 *
 *   wepgen URL NODE COUNT WLNS A.B.C.D
 *
 * Endpoint i (0-based) is named e<i>, has address A.B.C.D + i + 1 as a /32
 * and workload MAC 02:00:<i as 4 bytes>. The store must hold none of them
 * yet (creates are compare-and-swap: a second run fails). WLNS must start
 * with "pt-" (tests make only pt- namespaces).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ifname.h"
#include "common/ip4.h"
#include "datastore/datastore.h"
#include "model/resource.h"

#define COUNT_MAX 65000
#define CHUNK DS_TXN_MAX	/* the most one ds_txn takes */

struct item {
	char key[RES_KEY_MAX];
	char *text;
};

/* Fills r as endpoint i. 0 or -errno. */
static int wep_fill(struct resource *r, const char *node, const char *wlns,
		    uint32_t base, int i)
{
	struct wep *w = &r->u.wep;

	memset(r, 0, sizeof(*r));
	r->kind = RES_WEP;
	snprintf(w->node, sizeof(w->node), "%s", node);
	snprintf(w->name, sizeof(w->name), "e%d", i);
	w->mode = WEP_ROUTED;
	snprintf(w->netns, sizeof(w->netns), "/run/netns/%s", wlns);
	ifname_for_workload(node, w->name, w->ifname);
	snprintf(w->wl_ifname, sizeof(w->wl_ifname), "w%d", i);
	w->n_nets = 1;
	w->nets[0].addr = base + (uint32_t)i + 1;
	w->nets[0].len = 32;
	w->mac[0] = 0x02;
	w->mac[2] = (uint8_t)(i >> 24);
	w->mac[3] = (uint8_t)(i >> 16);
	w->mac[4] = (uint8_t)(i >> 8);
	w->mac[5] = (uint8_t)i;
	w->has_mac = true;
	snprintf(w->container_id, sizeof(w->container_id), "bench-%d", i);
	return 0;
}

int main(int argc, char **argv)
{
	struct item *items = NULL;
	struct ds_op *ops = NULL;
	struct ds *ds = NULL;
	struct resource r;
	uint32_t base;
	char name[RES_NAME_MAX * 2];
	int count, i, j, n, rc = 1, e;
	size_t failed = 0;

	if (argc != 6 || strncmp(argv[4], "pt-", 3) != 0) {
		fprintf(stderr, "usage: wepgen URL NODE COUNT pt-WLNS A.B.C.D\n");
		return 2;
	}
	count = atoi(argv[3]);
	if (count < 1 || count > COUNT_MAX || ip4_parse(argv[5], &base) < 0 ||
	    !res_name_valid(argv[2])) {
		fprintf(stderr, "wepgen: COUNT 1..%d, a valid NODE and address\n",
			COUNT_MAX);
		return 2;
	}
	items = calloc(CHUNK, sizeof(*items));
	ops = calloc(CHUNK, sizeof(*ops));
	if (!items || !ops) {
		fprintf(stderr, "wepgen: out of memory\n");
		goto out;
	}
	e = ds_open(argv[1], &ds);
	if (e < 0) {
		fprintf(stderr, "wepgen: %s: %s\n", argv[1], ds_strerror(e));
		goto out;
	}
	for (i = 0; i < count; i += CHUNK) {
		n = count - i < CHUNK ? count - i : CHUNK;
		for (j = 0; j < n; j++) {
			wep_fill(&r, argv[2], argv[4], base, i + j);
			snprintf(name, sizeof(name), "%s/%s", r.u.wep.node,
				 r.u.wep.name);
			if (res_key(RES_WEP, name, items[j].key,
				    sizeof(items[j].key)) < 0 ||
			    !(items[j].text = res_to_text(&r))) {
				res_clear(&r);
				fprintf(stderr, "wepgen: cannot encode %s\n", name);
				goto out;
			}
			printf("link add %s address ee:ee:ee:ee:ee:ee type veth "
			       "peer name %s address "
			       "%02x:%02x:%02x:%02x:%02x:%02x netns %s\n"
			       "link set %s up\n",
			       r.u.wep.ifname, r.u.wep.wl_ifname, r.u.wep.mac[0],
			       r.u.wep.mac[1], r.u.wep.mac[2], r.u.wep.mac[3],
			       r.u.wep.mac[4], r.u.wep.mac[5], argv[4],
			       r.u.wep.ifname);
			res_clear(&r);
			ops[j] = (struct ds_op){ .type = DS_OP_CREATE,
						 .key = items[j].key,
						 .value = items[j].text };
		}
		e = ds_txn(ds, ops, (size_t)n, NULL, &failed);
		for (j = 0; j < n; j++) {
			free(items[j].text);
			items[j].text = NULL;
		}
		if (e < 0) {
			fprintf(stderr, "wepgen: write e%d: %s (%s)\n",
				i + (int)failed, ds_strerror(e), ds_last_error(ds));
			goto out;
		}
	}
	rc = 0;
out:
	ds_close(ds);
	free(items);
	free(ops);
	return rc;
}
