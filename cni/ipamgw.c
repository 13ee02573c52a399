/*
 * ipamgw: a node's gateway address per pool for petrel-ipam (see
 * cni/ipamgw.h for why and for the record).
 *
 * Invariants: the record is changed only by compare-and-swap; the gateway
 * address is released only after the record naming it is gone; a lost race
 * (two first users at once) releases the loser's own generation. Retries
 * follow IPAM's policy (IPAM_TRIES, each after a random ipam_backoff): the
 * record is one hot key that every ADD and DEL of the node rewrites.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/ipamgw.h"
#include "common/ip4.h"
#include "ipam/ipam.h"

/* A record as read: 0 and its parts, or -EINVAL (not one of ours). */
struct gwrec {
	json_t *j;		/* owned */
	uint32_t addr;
	const char *gh;		/* borrowed from j */
	json_t *users;		/* borrowed from j */
};

static int rec_parse(const char *text, struct gwrec *g)
{
	const char *a;

	g->j = json_loads(text, 0, NULL);
	a = json_string_value(json_object_get(g->j, "address"));
	g->gh = json_string_value(json_object_get(g->j, "handle"));
	g->users = json_object_get(g->j, "users");
	if (!a || !g->gh || !json_is_array(g->users) || ip4_parse(a, &g->addr) < 0) {
		json_decref(g->j);
		g->j = NULL;
		return -EINVAL;
	}
	return 0;
}

int ipamgw_record_parse(const char *text, uint32_t *gw, size_t *n_users)
{
	struct gwrec g;

	if (rec_parse(text, &g) < 0)
		return -EINVAL;
	*gw = g.addr;
	*n_users = json_array_size(g.users);
	json_decref(g.j);
	return 0;
}

/* Index of handle among the users, or -1. */
static long rec_find(const struct gwrec *g, const char *handle)
{
	for (size_t i = 0; i < json_array_size(g->users); i++) {
		const char *u = json_string_value(json_array_get(g->users, i));

		if (u && !strcmp(u, handle))
			return (long)i;
	}
	return -1;
}

static char *rec_text(json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* The first user: a gateway of a new generation, and its record. 0, 1 when
 * someone else made the record first (read it again), or an error. */
static int gw_create(struct ds *ds, const char *node, const struct ippool *pool,
		     const char *key, const char *handle, uint32_t *gw)
{
	struct ipam_pool_sel sel = { .pool = pool->name };
	char gh[IPAMHANDLE_ID_MAX], ab[IP4_STRLEN];
	char *text = NULL;
	json_t *j;
	int r, n;

	n = snprintf(gh, sizeof(gh), "gw-%s", handle);
	if (n < 0 || (size_t)n >= sizeof(gh))
		return -ENAMETOOLONG;
	r = ipam_assign_in(ds, node, gh, 0, &sel, gw, NULL);
	if (r < 0)
		return r;
	j = json_pack("{s:s, s:s, s:[s]}", "address", ip4_fmt(*gw, ab), "handle", gh,
		      "users", handle);
	if (!j || !(text = rec_text(j)))
		r = -ENOMEM;
	else
		r = ds_create(ds, key, text, NULL);
	json_decref(j);
	free(text);
	if (r < 0)
		ipam_release_handle(ds, gh);
	return r == -EEXIST ? 1 : r;
}

/* Adds handle to the users of the record kv: 0, 1 (changed meanwhile: read
 * again) or an error. */
static int gw_join(struct ds *ds, const struct ds_kv *kv, const char *handle,
		   uint32_t *gw)
{
	struct gwrec g;
	char *text = NULL;
	int r;

	if (rec_parse(kv->value, &g) < 0)
		return -EINVAL;
	*gw = g.addr;
	r = 0;
	if (rec_find(&g, handle) < 0) {
		if (json_array_append_new(g.users, json_string(handle)) < 0 ||
		    !(text = rec_text(g.j)))
			r = -ENOMEM;
		else
			r = ds_update(ds, kv->key, text, kv->mod_rev, NULL);
	}
	json_decref(g.j);
	free(text);
	return r == -ECANCELED || r == -ENOENT ? 1 : r;
}

int ipamgw_ref(struct ds *ds, const char *node, const struct ippool *pool,
	       const char *handle, uint32_t *gw)
{
	char key[RES_KEY_MAX];
	int n = snprintf(key, sizeof(key), IPAMGW_PREFIX "%s/%s", node, pool->name);

	if (n < 0 || (size_t)n >= sizeof(key))
		return -ENAMETOOLONG;
	for (unsigned t = 0; t < IPAM_TRIES; t++) {
		struct ds_kv kv = { 0 };
		int r;

		if (t)
			ipam_backoff(t);
		r = ds_get(ds, key, &kv);

		if (r == 0)
			r = gw_join(ds, &kv, handle, gw);
		else if (r == -ENOENT)
			r = gw_create(ds, node, pool, key, handle, gw);
		ds_kv_clear(&kv);
		if (r != 1)
			return r;
	}
	return -ECANCELED;
}

/* Takes handle out of the record kv when it is a user: 0 (not a user, or
 * done), 1 (changed meanwhile: read again) or an error. The last user
 * deletes the record, then releases the gateway. */
static int gw_leave(struct ds *ds, const struct ds_kv *kv, const char *handle,
		    bool *was_user)
{
	struct gwrec g;
	char *text = NULL;
	long i;
	int r;

	if (rec_parse(kv->value, &g) < 0)
		return 0;	/* not ours to judge */
	i = rec_find(&g, handle);
	*was_user = i >= 0;
	if (i < 0) {
		r = 0;
	} else if (json_array_size(g.users) == 1) {
		r = ds_delete(ds, kv->key, kv->mod_rev);
		if (r == 0)
			r = ipam_release_handle(ds, g.gh);
	} else if (json_array_remove(g.users, (size_t)i) < 0 || !(text = rec_text(g.j))) {
		r = -ENOMEM;
	} else {
		r = ds_update(ds, kv->key, text, kv->mod_rev, NULL);
	}
	json_decref(g.j);
	free(text);
	return r == -ECANCELED || r == -ENOENT ? 1 : r;
}

int ipamgw_unref(struct ds *ds, const char *node, const char *handle)
{
	char prefix[RES_KEY_MAX];
	int n = snprintf(prefix, sizeof(prefix), IPAMGW_PREFIX "%s/", node);

	if (n < 0 || (size_t)n >= sizeof(prefix))
		return -ENAMETOOLONG;
	for (unsigned t = 0; t < IPAM_TRIES; t++) {
		struct ds_kv *kvs = NULL;
		size_t nkv = 0;
		int64_t rev;
		bool user = false;
		int r;

		if (t)
			ipam_backoff(t);
		r = ds_list(ds, prefix, &kvs, &nkv, &rev);

		for (size_t i = 0; r == 0 && !user && i < nkv; i++)
			r = gw_leave(ds, &kvs[i], handle, &user);
		ds_kvs_free(kvs, nkv);
		if (r != 1)
			return r;
	}
	return -ECANCELED;
}
