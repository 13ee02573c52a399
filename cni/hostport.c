/*
 * hostport: host port reservations beside the WorkloadEndpoints (see
 * cni/hostport.h for the contract).
 *
 * Invariants: a reservation is written or deleted only in the transaction
 * that creates or deletes its WorkloadEndpoint, or, when stale, alone with a
 * compare-and-swap on its revision; a reservation that cannot be read as
 * {"workload": NAME} is never judged stale (it may be another writer's).
 * Every retry loop is bounded (HOSTPORT_TRIES).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/hostport.h"

#define HOSTPORT_TRIES 4

static const char *proto_name(uint8_t proto)
{
	return proto == 17 ? "udp" : "tcp";
}

int hostport_key(const char *node, const struct wep_port *p, char *buf,
		 size_t len)
{
	int n = snprintf(buf, len, HOSTPORT_PREFIX "%s/%s-%u", node,
			 proto_name(p->proto), (unsigned)p->host_port);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The keys of one workload: its record's, then one per distinct (proto,
 * host port) of its ports, each with the first port that needs it. */
struct hp_keys {
	char wep[RES_KEY_MAX];
	size_t n;
	char key[WEP_MAX_PORTS][RES_KEY_MAX];
	const struct wep_port *port[WEP_MAX_PORTS];
};

static int keys_make(const struct wep *w, struct hp_keys *k)
{
	char id[2 * RES_NAME_MAX];
	int r;

	snprintf(id, sizeof(id), "%s/%s", w->node, w->name);
	r = res_key(RES_WEP, id, k->wep, sizeof(k->wep));
	k->n = 0;
	for (size_t i = 0; r == 0 && i < w->n_ports && i < WEP_MAX_PORTS; i++) {
		const struct wep_port *p = &w->ports[i];
		size_t j;

		for (j = 0; j < k->n; j++)
			if (k->port[j]->proto == p->proto && k->port[j]->host_port == p->host_port)
				break;
		if (j < k->n)
			continue;
		r = hostport_key(w->node, p, k->key[k->n], sizeof(k->key[0]));
		k->port[k->n++] = p;
	}
	return r;
}

/* The workload a reservation names, into out ("" when it names none). */
static void owner_of(const char *value, char *out, size_t len)
{
	json_t *j = json_loads(value, 0, NULL);
	const char *s = json_string_value(json_object_get(j, "workload"));

	snprintf(out, len, "%s", s && res_name_valid(s) ? s : "");
	json_decref(j);
}

/* Does workload owner of node still publish p? 1 yes, 0 no (the
 * reservation is stale), or a datastore error. */
static int owner_holds(struct ds *ds, const char *node, const char *owner,
		       const struct wep_port *p)
{
	char id[2 * RES_NAME_MAX], key[RES_KEY_MAX];
	struct resource w = { 0 };
	struct errs e = ERRS_INIT;
	struct ds_kv kv = { 0 };
	int r, held = 0;

	snprintf(id, sizeof(id), "%s/%s", node, owner);
	if (res_key(RES_WEP, id, key, sizeof(key)) < 0)
		return 1;
	r = ds_get(ds, key, &kv);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* A record we cannot read is not ours to judge: it holds the port. */
	if (res_from_text(RES_WEP, kv.value, kv.mod_rev, &w, &e) < 0)
		held = 1;
	for (size_t i = 0; !held && i < w.u.wep.n_ports && i < WEP_MAX_PORTS; i++)
		held = w.u.wep.ports[i].proto == p->proto &&
		       w.u.wep.ports[i].host_port == p->host_port;
	errs_clear(&e);
	res_clear(&w);
	ds_kv_clear(&kv);
	return held;
}

/* The reservation at key blocked the creation of p: 1 when it was stale
 * and is gone now (try again), -EADDRINUSE with *c filled when it holds, or
 * a datastore error. */
static int conflict_judge(struct ds *ds, const char *node, const char *key,
			  const struct wep_port *p, struct hostport_conflict *c)
{
	struct ds_kv kv = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	c->port = *p;
	r = ds_get(ds, key, &kv);
	if (r == -ENOENT)
		return 1;	/* released meanwhile */
	if (r < 0)
		return r;
	owner_of(kv.value, c->owner, sizeof(c->owner));
	r = c->owner[0] ? owner_holds(ds, node, c->owner, p) : 1;
	if (r == 0) {
		r = ds_delete(ds, key, kv.mod_rev);
		r = r == 0 || r == -ENOENT || r == -ECANCELED ? 1 : r;
	} else if (r == 1) {
		r = -EADDRINUSE;
	}
	ds_kv_clear(&kv);
	return r;
}

int hostport_check(struct ds *ds, const struct wep *w, struct hostport_conflict *c)
{
	struct hp_keys *k = calloc(1, sizeof(*k));
	int r = k ? keys_make(w, k) : -ENOMEM;

	for (size_t i = 0; r == 0 && i < k->n; i++) {
		struct ds_kv kv = { 0 };

		r = ds_get(ds, k->key[i], &kv);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r == 0) {
			memset(c, 0, sizeof(*c));
			c->port = *k->port[i];
			owner_of(kv.value, c->owner, sizeof(c->owner));
			r = c->owner[0] ? owner_holds(ds, w->node, c->owner, k->port[i]) : 1;
			r = r == 1 ? -EADDRINUSE : r;
		}
		ds_kv_clear(&kv);
	}
	free(k);
	return r;
}

int hostport_wep_create(struct ds *ds, const struct resource *r, int64_t *rev,
			struct hostport_conflict *c)
{
	struct ds_op ops[1 + WEP_MAX_PORTS];
	struct hp_keys *k = calloc(1, sizeof(*k));
	char *text = res_to_text(r), *val = NULL;
	json_t *j = json_pack("{s:s}", "workload", r->u.wep.name);
	size_t failed;
	int ret = -ENOMEM;

	if (!k || !text || !j || !(val = json_dumps(j, JSON_COMPACT)))
		goto out;
	ret = keys_make(&r->u.wep, k);
	if (ret < 0)
		goto out;
	ops[0] = (struct ds_op){ DS_OP_CREATE, k->wep, text, 0 };
	for (size_t i = 0; i < k->n; i++)
		ops[1 + i] = (struct ds_op){ DS_OP_CREATE, k->key[i], val, 0 };
	ret = -ECANCELED;
	for (int t = 0; t < HOSTPORT_TRIES; t++) {
		failed = 0;
		ret = ds_txn(ds, ops, 1 + k->n, rev, &failed);
		if (ret != -EEXIST || failed == 0 || failed > k->n)
			break;
		ret = conflict_judge(ds, r->u.wep.node, k->key[failed - 1],
				     k->port[failed - 1], c);
		if (ret != 1)
			break;
		ret = -ECANCELED;
	}
out:
	json_decref(j);
	free(val);
	free(text);
	free(k);
	return ret;
}

/* Adds to ops a delete of each reservation at k that names workload name;
 * returns how many. */
static size_t held_deletes(struct ds *ds, const struct hp_keys *k,
			   const char *name, struct ds_op *ops)
{
	size_t n = 0;

	for (size_t i = 0; i < k->n; i++) {
		char owner[RES_NAME_MAX];
		struct ds_kv kv = { 0 };

		if (ds_get(ds, k->key[i], &kv) < 0)
			continue;
		owner_of(kv.value, owner, sizeof(owner));
		if (!strcmp(owner, name)) {
			ops[n] = (struct ds_op){ DS_OP_DELETE, k->key[i], NULL, kv.mod_rev };
			n++;
		}
		ds_kv_clear(&kv);
	}
	return n;
}

int hostport_wep_delete(struct ds *ds, const struct resource *r,
			int64_t expect_rev)
{
	struct ds_op ops[1 + WEP_MAX_PORTS];
	struct hp_keys *k = calloc(1, sizeof(*k));
	size_t failed, n;
	int ret = -ENOMEM;

	if (!k)
		goto out;
	ret = keys_make(&r->u.wep, k);
	if (ret < 0)
		goto out;
	ops[0] = (struct ds_op){ DS_OP_DELETE, k->wep, NULL, expect_rev };
	/* A reservation that changed between our read and the transaction
	 * (another workload took it after a stale-clean) is read again. */
	for (int t = 0; t < HOSTPORT_TRIES; t++) {
		n = held_deletes(ds, k, r->u.wep.name, ops + 1);
		failed = 0;
		ret = ds_txn(ds, ops, 1 + n, NULL, &failed);
		if (ret == 0 || failed == 0)
			break;
	}
out:
	free(k);
	return ret;
}
