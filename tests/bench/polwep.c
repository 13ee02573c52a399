/*
 * polwep: the workloads of the policy-scale benchmark (policy_scale.sh).
 * Writes COUNT routed WorkloadEndpoint records for NODE straight into the
 * datastore (ds_txn in chunks: `petrelctl apply` takes no WorkloadEndpoint,
 * and COUNT `petrelctl run` would take minutes), with the labels policies
 * select on, and prints on stdout the `ip -batch` lines that make their
 * veth pairs: the host ends (named as petrel names them) in the namespace
 * ip runs in, the workload ends (w<i>) all in one namespace WLNS.
 *
 *   polwep URL NODE COUNT WLNS
 *
 * Workload i (0-based): name w<i>, labels app=a<i%100> and tier=frontend,
 * backend or db (i%3), address 10.128.<i/250>.<i%250+1>/32, workload MAC
 * 02:00:<i as 4 bytes>. The store must hold none of them yet (creates are
 * compare-and-swap). WLNS must start with "pt-".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ifname.h"
#include "datastore/datastore.h"
#include "model/resource.h"

#define COUNT_MAX 62500		/* 10.128.0.0/16 in 250s */
#define CHUNK DS_TXN_MAX	/* the most one ds_txn takes */
#define BASE 0x0a800000u	/* 10.128.0.0 */

static const char *const tiers[] = { "frontend", "backend", "db" };

struct item {
	char key[RES_KEY_MAX];
	char *text;
};

/* Fills r as workload i. 0 or -ENOMEM (r cleared by the caller). */
static int wep_fill(struct resource *r, const char *node, const char *wlns, int i)
{
	struct wep *w = &r->u.wep;
	char app[16];

	memset(r, 0, sizeof(*r));
	r->kind = RES_WEP;
	snprintf(w->node, sizeof(w->node), "%s", node);
	snprintf(w->name, sizeof(w->name), "w%d", i);
	w->mode = WEP_ROUTED;
	snprintf(w->netns, sizeof(w->netns), "/run/netns/%s", wlns);
	ifname_for_workload(node, w->name, w->ifname);
	snprintf(w->wl_ifname, sizeof(w->wl_ifname), "w%d", i);
	w->n_nets = 1;
	w->nets[0].addr = BASE + (uint32_t)(i / 250) * 256 + (uint32_t)(i % 250) + 1;
	w->nets[0].len = 32;
	w->mac[0] = 0x02;
	w->mac[2] = (uint8_t)(i >> 24);
	w->mac[3] = (uint8_t)(i >> 16);
	w->mac[4] = (uint8_t)(i >> 8);
	w->mac[5] = (uint8_t)i;
	w->has_mac = true;
	snprintf(w->container_id, sizeof(w->container_id), "bench-%d", i);
	snprintf(app, sizeof(app), "a%d", i % 100);
	if (labels_set(&w->labels, "app", app) < 0 ||
	    labels_set(&w->labels, "tier", tiers[i % 3]) < 0)
		return -ENOMEM;
	return 0;
}

static void veth_print(const struct wep *w, const char *wlns)
{
	printf("link add %s address ee:ee:ee:ee:ee:ee type veth peer name %s "
	       "address %02x:%02x:%02x:%02x:%02x:%02x netns %s\n"
	       "link set %s up\n",
	       w->ifname, w->wl_ifname, w->mac[0], w->mac[1], w->mac[2],
	       w->mac[3], w->mac[4], w->mac[5], wlns, w->ifname);
}

/* Encodes workloads i..i+n-1 into items/ops. 0 or -1 (after a message). */
static int chunk_fill(struct item *items, struct ds_op *ops, const char *node,
		      const char *wlns, int i, int n)
{
	struct resource r;
	char name[RES_NAME_MAX * 2];
	int j;

	for (j = 0; j < n; j++) {
		if (wep_fill(&r, node, wlns, i + j) < 0) {
			res_clear(&r);
			fprintf(stderr, "polwep: out of memory\n");
			return -1;
		}
		snprintf(name, sizeof(name), "%s/%s", r.u.wep.node, r.u.wep.name);
		if (res_key(RES_WEP, name, items[j].key, sizeof(items[j].key)) < 0 ||
		    !(items[j].text = res_to_text(&r))) {
			res_clear(&r);
			fprintf(stderr, "polwep: cannot encode %s\n", name);
			return -1;
		}
		veth_print(&r.u.wep, wlns);
		res_clear(&r);
		ops[j] = (struct ds_op){ .type = DS_OP_CREATE, .key = items[j].key,
					 .value = items[j].text };
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct item *items = NULL;
	struct ds_op *ops = NULL;
	struct ds *ds = NULL;
	int count, i, j, n, rc = 1, e;
	size_t failed = 0;

	if (argc != 5 || strncmp(argv[4], "pt-", 3) != 0) {
		fprintf(stderr, "usage: polwep URL NODE COUNT pt-WLNS\n");
		return 2;
	}
	count = atoi(argv[3]);
	if (count < 1 || count > COUNT_MAX || !res_name_valid(argv[2])) {
		fprintf(stderr, "polwep: COUNT 1..%d and a valid NODE\n", COUNT_MAX);
		return 2;
	}
	items = calloc(CHUNK, sizeof(*items));
	ops = calloc(CHUNK, sizeof(*ops));
	if (!items || !ops) {
		fprintf(stderr, "polwep: out of memory\n");
		goto out;
	}
	e = ds_open(argv[1], &ds);
	if (e < 0) {
		fprintf(stderr, "polwep: %s: %s\n", argv[1], ds_strerror(e));
		goto out;
	}
	for (i = 0; i < count; i += CHUNK) {
		n = count - i < CHUNK ? count - i : CHUNK;
		if (chunk_fill(items, ops, argv[2], argv[4], i, n) < 0)
			goto out;
		e = ds_txn(ds, ops, (size_t)n, NULL, &failed);
		for (j = 0; j < n; j++) {
			free(items[j].text);
			items[j].text = NULL;
		}
		if (e < 0) {
			fprintf(stderr, "polwep: write w%d: %s (%s)\n",
				i + (int)failed, ds_strerror(e), ds_last_error(ds));
			goto out;
		}
	}
	rc = 0;
out:
	for (j = 0; items && j < CHUNK; j++)
		free(items[j].text);	/* left by a chunk_fill that failed */
	ds_close(ds);
	free(items);
	free(ops);
	return rc;
}
