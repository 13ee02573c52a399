/*
 * attach: an engine's attachment (container ID, interface) and its record,
 * for every engine's glue (the CNI plugin, the netavark plugin): the name a
 * new workload gets, and the record an attachment made (see endpoint.h).
 *
 * Names: the engine's own (a pod's, a container's) when it is a valid,
 * free resource name, else PREFIX and the start of the container ID (12,
 * then 20, then as many characters as a name holds), so that two
 * containers never share a name (nor a host end). The record's create
 * settles a race for one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/netns.h"
#include "endpoint/endpoint.h"
#include "endpoint/ep_priv.h"

/* The lengths of ID tried for a name, shortest first. */
static const size_t attach_lens[] = { 12, 20, RES_NAME_MAX - 5 };
#define ATTACH_NLENS (sizeof(attach_lens) / sizeof(attach_lens[0]))

/* PREFIX and the first n characters of cid, what a name may not hold made
 * 'x'. buf: at least RES_NAME_MAX. */
static void attach_default_name(const char *prefix, const char *cid, size_t n, char *buf)
{
	size_t pl = strlen(prefix);

	snprintf(buf, RES_NAME_MAX, "%s%.*s", prefix, (int)n, cid);
	for (char *c = buf + pl; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			*c = 'x';
	}
}

static int attach_key(const struct endpoint_attach *a, const char *name, char *key)
{
	char id[2 * RES_NAME_MAX];

	snprintf(id, sizeof(id), "%s/%s", a->node, name);
	return res_key(RES_WEP, id, key, RES_KEY_MAX);
}

int endpoint_open(const char *path, struct petrel_config *cfg, struct ds **ds,
		  struct errs *ce, struct endpoint_err *e)
{
	int r;

	memset(e, 0, sizeof(*e));
	r = config_load(path, cfg, ce);
	if (r < 0)
		return ep_fail(e, EP_CONFIG, r, "%s: %s", path,
			       r == -EINVAL ? "invalid" : strerror(-r));
	if (cfg->netns[0]) {
		r = netns_enter(cfg->netns);
		if (r < 0)
			return ep_fail(e, EP_NETNS, r, "entering the node's network namespace "
				       "%s: %s", cfg->netns, strerror(-r));
	}
	r = ds_open(cfg->datastore, ds);
	if (r < 0)
		return ep_fail(e, EP_STORE, r, "opening the datastore %s: %s", cfg->datastore,
			       ds_open_strerror(r));
	return 0;
}

void endpoint_req_config(struct endpoint_req *q, const struct petrel_config *cfg,
			 char *sock, size_t len)
{
	config_status_socket(cfg, sock, len);
	q->allow_ports = cfg->allow_host_ports;
	q->n_allow_ports = cfg->n_allow_host_ports;
	q->status_sock = sock;
	q->wait_ms = cfg->wait_timeout * 1000;
}

const char *endpoint_wl_ifname(const struct wep *w)
{
	return w->wl_ifname[0] ? w->wl_ifname : "eth0";
}

int endpoint_each(struct ds *ds, const char *node,
		  int (*fn)(struct resource *, void *), void *arg,
		  struct endpoint_err *e)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev;
	int r;

	if (res_prefix(RES_WEP, node, prefix, sizeof(prefix)) < 0)
		return ep_fail(e, EP_INTERNAL, -ENAMETOOLONG, "node name %s too long", node);
	r = ds_list(ds, prefix, &kvs, &n, &rev);
	if (r < 0)
		return ep_fail(e, EP_STORE, r, "listing workloads: %s (%s)", ds_strerror(r),
			       ds_last_error(ds));
	r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct resource w = { 0 };
		struct errs pe = ERRS_INIT;

		if (res_from_text(RES_WEP, kvs[i].value, kvs[i].mod_rev, &w, &pe) == 0)
			r = fn(&w, arg);
		errs_clear(&pe);
		res_clear(&w);
	}
	ds_kvs_free(kvs, n);
	return r;
}

struct attach_find {
	const struct endpoint_attach *a;
	struct resource *out;
};

static int attach_one(struct resource *w, void *arg)
{
	struct attach_find *f = arg;

	if (strcmp(w->u.wep.container_id, f->a->cid) ||
	    strcmp(endpoint_wl_ifname(&w->u.wep), f->a->ifname))
		return 0;
	*f->out = *w;
	memset(w, 0, sizeof(*w));
	return 1;
}

/* The record named name when it is a's: 1 and *out, 0 when not (absent,
 * another's, unreadable), or a failure. */
static int attach_named(struct ds *ds, const struct endpoint_attach *a, const char *name,
			struct resource *out, struct endpoint_err *e)
{
	struct attach_find f = { a, out };
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	struct resource w = { 0 };
	struct errs pe = ERRS_INIT;
	int r;

	if (!name[0] || attach_key(a, name, key) < 0)
		return 0;
	r = ds_get(ds, key, &kv);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return ep_fail(e, EP_STORE, r, "reading workload %s: %s (%s)", name,
			       ds_strerror(r), ds_last_error(ds));
	r = 0;
	if (res_from_text(RES_WEP, kv.value, kv.mod_rev, &w, &pe) == 0)
		r = attach_one(&w, &f);
	errs_clear(&pe);
	res_clear(&w);
	ds_kv_clear(&kv);
	return r;
}

/* Measured (CNI): with 400 records on the node, listing and decoding them
 * all made CHECK (and DEL) 2.8 ms slower (5.8 ms against 3.0 ms, p50), so
 * the names an attachment gets are read first, one read each. */
int endpoint_attach_find(struct ds *ds, const struct endpoint_attach *a,
			 struct resource *out, struct endpoint_err *e)
{
	struct attach_find f = { a, out };
	char name[RES_NAME_MAX];
	int r;

	memset(e, 0, sizeof(*e));
	r = attach_named(ds, a, a->name ? a->name : "", out, e);
	for (size_t i = 0; r == 0 && i < ATTACH_NLENS; i++) {
		attach_default_name(a->prefix, a->cid, attach_lens[i], name);
		r = attach_named(ds, a, name, out, e);
	}
	if (r == 0)
		r = endpoint_each(ds, a->node, attach_one, &f, e);
	return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}

/* 1 when the node has no workload called name, 0 when it has, or a
 * failure. */
static int attach_free(struct ds *ds, const struct endpoint_attach *a, const char *name,
		       struct endpoint_err *e)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	int r;

	if (attach_key(a, name, key) < 0)
		return ep_fail(e, EP_INTERNAL, -ENAMETOOLONG, "workload key too long");
	r = ds_get(ds, key, &kv);
	ds_kv_clear(&kv);
	if (r == -ENOENT)
		return 1;
	if (r < 0)
		return ep_fail(e, EP_STORE, r, "reading workload %s: %s (%s)", name,
			       ds_strerror(r), ds_last_error(ds));
	return 0;
}

int endpoint_attach_name(struct ds *ds, const struct endpoint_attach *a, char *out,
			 struct endpoint_err *e)
{
	char name[RES_NAME_MAX];
	int r;

	memset(e, 0, sizeof(*e));
	if (a->name && a->name[0]) {
		r = attach_free(ds, a, a->name, e);
		if (r != 0) {
			snprintf(out, RES_NAME_MAX, "%s", a->name);
			return r < 0 ? r : 0;
		}
	}
	for (size_t i = 0; i < ATTACH_NLENS; i++) {
		attach_default_name(a->prefix, a->cid, attach_lens[i], name);
		r = attach_free(ds, a, name, e);
		if (r < 0)
			return r;
		if (r == 1 || i + 1 == ATTACH_NLENS)
			break;	/* the last one taken: the record's create says so */
	}
	snprintf(out, RES_NAME_MAX, "%s", name);
	return 0;
}
