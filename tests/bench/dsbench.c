/*
 * dsbench: the datastore side of tests/bench/etcd.sh (the same on any URL,
 * so that etcd and sqlite are measured by one program).
 *
 *   dsbench URL bulk NODE TEMPLATE N
 *       N copies of workload NODE/TEMPLATE's record as NODE/bulkI (each its
 *       own name, host end and a /32 of 10.80.0.0/12), in transactions of
 *       100; prints "keys K bytes B seconds S" (B: keys + values).
 *   dsbench URL lat NODE TEMPLATE SOCK K
 *       K times: one copy created (NODE/latI, 10.79.x.y), then felix's
 *       status socket SOCK (another node's) asked for its applied revision
 *       until it has the copy's; prints the microseconds each took, one a
 *       line; the copies are deleted after each measure, untimed.
 *
 * Exit 0, 1 on an error (a message on stderr), 2 usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "common/errs.h"
#include "common/status.h"
#include "datastore/datastore.h"
#include "model/res.h"
#include "model/resource.h"

#define BULK_TXN 100
#define LAT_WAIT_MS 10000

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int die(const char *what, int r, struct ds *ds)
{
	fprintf(stderr, "dsbench: %s: %s (%s)\n", what, ds_strerror(r),
		ds ? ds_last_error(ds) : "");
	return 1;
}

/* The template's record, decoded. */
static int load_template(struct ds *ds, const char *node, const char *name,
			 struct resource *res)
{
	char id[2 * RES_NAME_MAX], key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	struct errs e = ERRS_INIT;
	int r;

	snprintf(id, sizeof(id), "%s/%s", node, name);
	r = res_key(RES_WEP, id, key, sizeof(key));
	if (r == 0)
		r = ds_get(ds, key, &kv);
	if (r < 0)
		return die(key, r, ds);
	r = res_from_text(RES_WEP, kv.value, kv.mod_rev, res, &e);
	ds_kv_clear(&kv);
	errs_clear(&e);
	if (r < 0) {
		fprintf(stderr, "dsbench: %s: not a workload record\n", key);
		return 1;
	}
	return 0;
}

/* Copy i of the template: its name, key, host end and address. text is
 * malloc'd. */
static int make_copy(struct resource *res, const char *stem, unsigned i,
		     uint32_t base, char *key, size_t klen, char **text)
{
	struct wep *w = &res->u.wep;
	char id[2 * RES_NAME_MAX];

	snprintf(w->name, sizeof(w->name), "%s%u", stem, i);
	snprintf(w->ifname, sizeof(w->ifname), "ptb%012x", i);
	snprintf(w->container_id, sizeof(w->container_id), "%s%u", stem, i);
	w->n_nets = 1;
	w->nets[0].addr = base + i + 1;
	w->nets[0].len = 32;
	w->n_ports = 0;
	snprintf(id, sizeof(id), "%s/%s", w->node, w->name);
	if (res_key(RES_WEP, id, key, klen) < 0)
		return -ENAMETOOLONG;
	res->revision = 0;
	*text = res_to_text(res);
	return *text ? 0 : -ENOMEM;
}

static int bulk(struct ds *ds, struct resource *res, unsigned n)
{
	static char keys[BULK_TXN][RES_KEY_MAX];
	char *texts[BULK_TXN] = { 0 };
	struct ds_op ops[BULK_TXN];
	uint64_t bytes = 0;
	int64_t t0 = now_us();
	int r = 0;

	for (unsigned i = 0; i < n && r == 0;) {
		size_t m = 0;

		for (; m < BULK_TXN && i < n; m++, i++) {
			r = make_copy(res, "bulk", i, 0x0a500000u, keys[m], sizeof(keys[m]),
				      &texts[m]);
			if (r < 0)
				break;
			ops[m] = (struct ds_op){ DS_OP_CREATE, keys[m], texts[m], 0 };
			bytes += strlen(keys[m]) + strlen(texts[m]);
		}
		if (r == 0)
			r = ds_txn(ds, ops, m, NULL, NULL);
		for (size_t k = 0; k < m; k++) {
			free(texts[k]);
			texts[k] = NULL;
		}
	}
	if (r < 0)
		return die("bulk create", r, ds);
	printf("keys %u bytes %llu seconds %.2f\n", n, (unsigned long long)bytes,
	       (double)(now_us() - t0) / 1e6);
	return 0;
}

/* felix's applied revision, from its status socket; -errno. */
static int64_t applied(const char *sock)
{
	json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;
	int64_t rev;
	int r;

	if (!req)
		return -ENOMEM;
	r = status_call(sock, req, 1000, &reply);
	json_decref(req);
	if (r < 0)
		return r;
	rev = json_integer_value(json_object_get(reply, "revision"));
	json_decref(reply);
	return rev;
}

static int lat(struct ds *ds, struct resource *res, const char *sock, unsigned k)
{
	for (unsigned i = 0; i < k; i++) {
		char key[RES_KEY_MAX], *text;
		int64_t rev, t0, t1, got = 0;
		int r;

		r = make_copy(res, "lat", i, 0x0a4f0000u, key, sizeof(key), &text);
		if (r < 0)
			return die("copy", r, NULL);
		t0 = now_us();
		r = ds_create(ds, key, text, &rev);
		free(text);
		if (r < 0)
			return die(key, r, ds);
		while ((got = applied(sock)) >= 0 && got < rev &&
		       now_us() - t0 < LAT_WAIT_MS * 1000)
			;
		t1 = now_us();
		if (got < rev) {
			fprintf(stderr, "dsbench: %s: revision %lld not applied by %s "
				"(%lld) in %d ms\n", key, (long long)rev, sock,
				(long long)got, LAT_WAIT_MS);
			return 1;
		}
		printf("%lld\n", (long long)(t1 - t0));
		r = ds_delete(ds, key, 0);
		if (r < 0)
			return die(key, r, ds);
		usleep(2000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct resource res = { 0 };
	struct ds *ds = NULL;
	int r;

	bool is_bulk = argc == 6 && !strcmp(argv[2], "bulk");
	bool is_lat = argc == 7 && !strcmp(argv[2], "lat");

	if (!is_bulk && !is_lat) {
		fprintf(stderr, "usage: dsbench URL bulk NODE TEMPLATE N |"
			" lat NODE TEMPLATE SOCK K\n");
		return 2;
	}
	r = ds_open(argv[1], &ds);
	if (r < 0)
		return die(argv[1], r, NULL);
	r = load_template(ds, argv[3], argv[4], &res);
	if (r == 0 && is_bulk)
		r = bulk(ds, &res, (unsigned)strtoul(argv[5], NULL, 10));
	else if (r == 0)
		r = lat(ds, &res, argv[5], (unsigned)strtoul(argv[6], NULL, 10));
	res_clear(&res);
	ds_close(ds);
	return r;
}
