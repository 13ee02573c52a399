/*
 * network create | ls | inspect | rm: named networks (`docker network`).
 *
 * A Network names the IPPool its members' addresses come from ("" = the
 * pools no Network names); its members are the WorkloadEndpoints listing it
 * in spec.networks, on any node. The built-in "default" has no record: its
 * members are the routed workloads that name no network.
 *
 * Races with run: run's transaction rewrites every Network it joins at the
 * revision it read (unchanged), and rm deletes the Network at the revision
 * it read before listing the members. So a run that joins after rm looked
 * makes rm's delete fail (it looks again), and a run that comes after the
 * delete fails its own transaction: no workload is left in a network that
 * no longer exists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "ipam/ipam.h"

#define NETWORK_RM_TRIES 16

static const char usage_network[] =
	"usage: petrelctl network create NAME [--pool CIDR [--block-size N]]\n"
	"       petrelctl network ls\n"
	"       petrelctl network inspect NAME\n"
	"       petrelctl network rm NAME\n"
	"\n"
	"Named networks: members reach each other and resolve each other's\n"
	"names (/etc/hosts of the workload); others reach them only through a\n"
	"NetworkPolicy or a published port. Join one with run --network NAME.\n"
	"create:  with --pool, one transaction creates IPPool NAME (CIDR; refused\n"
	"         when it overlaps another pool or a pool NAME exists) and Network\n"
	"         NAME using it; without, Network NAME takes its addresses from\n"
	"         the pools no network names. --block-size: 20..32 (default 26).\n"
	"         Names default, routed, host and none are refused.\n"
	"ls:      NAME POOL CIDR MEMBERS, the built-in default first\n"
	"         (-o json: a list of {name, pool, cidr, members}).\n"
	"inspect: {name, pool, cidr, members: [{name, node, address}]} as JSON.\n"
	"rm:      refused while a workload is a member; deletes the Network and,\n"
	"         when its pool bears its name and holds no address, the pool.\n";

bool ctl_network_name_reserved(const char *name)
{
	static const char *const reserved[] = { NETWORK_DEFAULT, "routed", "host",
						"none", NULL };

	for (size_t i = 0; reserved[i]; i++)
		if (!strcmp(name, reserved[i]))
			return true;
	return strchr(name, ':') != NULL;
}

int ctl_network_get(struct ctl *c, const char *name, struct network *out,
		    struct ds_kv *kv, bool quiet_missing)
{
	char key[RES_KEY_MAX];
	struct resource r = { 0 };
	struct errs e = ERRS_INIT;
	int ret;

	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	if (!res_name_valid(name) || res_key(RES_NETWORK, name, key, sizeof(key)) < 0) {
		if (quiet_missing)
			return -ENOENT;
		log_err("no network %s (not a valid name)", name);
		return CTL_ERR;
	}
	ret = ds_get(c->ds, key, kv);
	if (ret == -ENOENT) {
		if (quiet_missing)
			return -ENOENT;
		log_err("no network %s (petrelctl network create %s)", name, name);
		return CTL_ERR;
	}
	if (ret < 0) {
		log_err("reading network %s: %s (%s)", name, ds_strerror(ret),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	if (res_from_text(RES_NETWORK, kv->value, kv->mod_rev, &r, &e) < 0) {
		log_err("network %s: the stored document is invalid:", name);
		ctl_print_errs(&e);
		ds_kv_clear(kv);
		return CTL_ERR;
	}
	errs_clear(&e);
	*out = r.u.network;	/* owns nothing */
	return CTL_OK;
}

/* ---------------------------------------------------------------- create */

static int network_pool_decode(const char *name, const char *cidr, long bs,
			       struct ippool *p)
{
	struct errs e = ERRS_INIT;
	json_t *doc;
	int r;

	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion",
			RES_API_VERSION, "kind", "IPPool", "metadata", "name", name,
			"spec", "cidr", cidr);
	if (!doc || (bs && json_object_set_new(json_object_get(doc, "spec"),
						"blockSize", json_integer(bs)) < 0)) {
		json_decref(doc);
		log_err("out of memory");
		return CTL_ERR;
	}
	r = ippool_from_json(doc, NULL, NULL, p, &e);
	json_decref(doc);
	if (r < 0) {
		for (size_t i = 0; i < e.n; i++)
			log_err("ippool/%s: %s", name, e.msg[i]);
		errs_clear(&e);
		return CTL_ERR;
	}
	if (p->v6) {
		char msg[256];

		ippool_v6_refusal(name, msg, sizeof(msg));
		log_err("ippool/%s: %s", name, msg);
		ippool_clear(p);
		return CTL_ERR;
	}
	return CTL_OK;
}

static int network_create(struct ctl *c, int argc, char **argv)
{
	enum { O_POOL = 256, O_BS };
	static const struct option lo[] = {
		{ "pool", required_argument, NULL, O_POOL },
		{ "subnet", required_argument, NULL, O_POOL },
		{ "block-size", required_argument, NULL, O_BS },
		CTL_LONGOPTS
	};
	struct resource net = { .kind = RES_NETWORK };
	struct ippool p = { 0 };
	struct errs e = ERRS_INIT;
	char key[RES_KEY_MAX], *text = NULL;
	const char *cidr = NULL, *name;
	long bs = 0;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		char *end;

		switch (opt) {
		case O_POOL:
			cidr = optarg;
			break;
		case O_BS:
			errno = 0;
			bs = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || bs < 20 || bs > 32)
				return ctl_usage_err(c, "--block-size %s: a prefix length "
						     "20..32", optarg);
			break;
		default:
			if (!ctl_opt_common(c, opt, usage_network, argv, &r))
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(c, "NAME is required");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (!res_name_valid(name))
		return ctl_usage_err(c, "invalid network name \"%s\": 1 to 63 lower-case "
				     "letters, digits, '-' or '.', starting and ending "
				     "with a letter or digit", name);
	if (ctl_network_name_reserved(name))
		return ctl_usage_err(c, "network name \"%s\" is reserved", name);
	if (bs && !cidr)
		return ctl_usage_err(c, "--block-size goes with --pool");
	snprintf(net.u.network.name, sizeof(net.u.network.name), "%s", name);
	if (cidr) {
		snprintf(net.u.network.pool, sizeof(net.u.network.pool), "%s", name);
		if (network_pool_decode(name, cidr, bs, &p) != CTL_OK)
			goto out;
	}
	text = res_to_text(&net);
	if (!text || res_key(RES_NETWORK, name, key, sizeof(key)) < 0) {
		log_err("out of memory");
		goto out;
	}
	if (ctl_ds(c) != CTL_OK)
		goto out;
	if (cidr) {
		struct ds_op op = { DS_OP_CREATE, key, text, 0 };
		size_t failed = SIZE_MAX;

		r = ipam_pool_create_with(c->ds, &p, &op, 1, &failed, &e);
		if (r == -EEXIST && failed == 0)
			log_err("network/%s already exists", name);
		else if (r == -EEXIST)
			log_err("ippool/%s already exists: the network's pool takes its "
				"name (remove it, or create the network without --pool)",
				name);
		else if (r < 0 && e.n)
			for (size_t i = 0; i < e.n; i++)
				log_err("ippool/%s: %s", name, e.msg[i]);
		else if (r < 0)
			log_err("network/%s: %s", name,
				ctl_strerror(r));
	} else {
		r = ds_create(c->ds, key, text, NULL);
		if (r == -EEXIST)
			log_err("network/%s already exists", name);
		else if (r < 0)
			log_err("network/%s: %s (%s)", name, ds_strerror(r),
				ds_last_error(c->ds));
	}
	if (r == 0) {
		printf("network/%s created\n", name);
		rc = CTL_OK;
	}
out:
	errs_clear(&e);
	ippool_clear(&p);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- ls, inspect */

/* What ls and inspect show: the networks (default first), pools, workloads. */
struct net_view {
	struct resource *nets, *weps;
	size_t nnets, nweps;
	struct ippool *pools;
	size_t npools;
};

static void net_view_clear(struct net_view *v)
{
	ctl_res_free(v->nets, v->nnets);
	ctl_res_free(v->weps, v->nweps);
	for (size_t i = 0; i < v->npools; i++)
		ippool_clear(&v->pools[i]);
	free(v->pools);
	memset(v, 0, sizeof(*v));
}

static int net_view_load(struct ctl *c, struct net_view *v)
{
	int r;

	if (ctl_res_list(c, RES_NETWORK, NULL, &v->nets, &v->nnets) != CTL_OK ||
	    ctl_res_list(c, RES_WEP, NULL, &v->weps, &v->nweps) != CTL_OK)
		return CTL_ERR;
	r = ipam_pools_list(c->ds, &v->pools, &v->npools);
	if (r < 0) {
		log_err("listing IP pools: %s", ctl_strerror(r));
		return CTL_ERR;
	}
	return CTL_OK;
}

/* True when w is a member of network name ("default": names none). */
static bool wep_member(const struct wep *w, const char *name)
{
	if (!strcmp(name, NETWORK_DEFAULT)) {
		if (w->mode != WEP_ROUTED)
			return false;
		for (size_t i = 0; i < w->n_networks; i++)
			if (strcmp(w->networks[i], NETWORK_DEFAULT))
				return false;
		return true;
	}
	for (size_t i = 0; i < w->n_networks; i++)
		if (!strcmp(w->networks[i], name))
			return true;
	return false;
}

/* The CIDR of pool name into buf ("" when none). */
static const char *view_cidr(const struct net_view *v, const char *pool,
			     char *buf)
{
	buf[0] = '\0';
	for (size_t i = 0; pool && *pool && i < v->npools; i++)
		if (!strcmp(v->pools[i].name, pool))
			ip4_net_fmt(&v->pools[i].cidr, buf);
	return buf;
}

static size_t view_members(const struct net_view *v, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < v->nweps; i++)
		n += wep_member(&v->weps[i].u.wep, name);
	return n;
}

static json_t *view_json(const struct net_view *v, const char *name,
			 const char *pool, bool list_members)
{
	char cb[IP4_NETSTRLEN];
	json_t *j, *m;

	view_cidr(v, pool, cb);
	if (!list_members)
		return json_pack("{s:s, s:s, s:s, s:I}", "name", name, "pool", pool,
				 "cidr", cb, "members",
				 (json_int_t)view_members(v, name));
	m = json_array();
	for (size_t i = 0; m && i < v->nweps; i++) {
		const struct wep *w = &v->weps[i].u.wep;
		char ab[IP4_STRLEN] = "";

		if (!wep_member(w, name))
			continue;
		if (w->n_nets)
			ip4_fmt(w->nets[0].addr, ab);
		json_array_append_new(m, json_pack("{s:s, s:s, s:s}", "name", w->name,
						   "node", w->node, "address", ab));
	}
	j = json_pack("{s:s, s:s, s:s, s:o}", "name", name, "pool", pool, "cidr",
		      cb, "members", m);
	return j;
}

static int network_ls(struct ctl *c, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "POOL", "CIDR", "MEMBERS" };
	struct net_view v = { 0 };
	struct table *t = NULL;
	json_t *items = NULL;
	int r, rc = CTL_ERR;

	r = ctl_parse_common_only(c, argc, argv, usage_network);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (net_view_load(c, &v) != CTL_OK)
		goto out;
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		items = json_array();
		if (items)
			json_array_append_new(items, view_json(&v, NETWORK_DEFAULT, "", false));
		for (size_t i = 0; items && i < v.nnets; i++)
			json_array_append_new(items, view_json(&v, v.nets[i].u.network.name,
							       v.nets[i].u.network.pool, false));
		if (!items) {
			log_err("out of memory");
			goto out;
		}
		out_doc(c->out, items);
		rc = CTL_OK;
		goto out;
	}
	t = table_new(4, hdr);
	for (size_t i = 0; i <= v.nnets; i++) {
		const char *name = i ? v.nets[i - 1].u.network.name : NETWORK_DEFAULT;
		const char *pool = i ? v.nets[i - 1].u.network.pool : "";
		char cb[IP4_NETSTRLEN], mb[24];
		const char *cells[4];

		snprintf(mb, sizeof(mb), "%zu", view_members(&v, name));
		cells[0] = name;
		cells[1] = pool;
		cells[2] = view_cidr(&v, pool, cb);
		cells[3] = mb;
		table_add(t, cells);
	}
	table_print(t, stdout);
	rc = CTL_OK;
out:
	table_free(t);
	json_decref(items);
	net_view_clear(&v);
	return rc;
}

static int network_inspect(struct ctl *c, int argc, char **argv)
{
	struct net_view v = { 0 };
	const char *name, *pool = NULL;
	json_t *j;
	int r, rc = CTL_ERR;

	r = ctl_parse_common_only(c, argc, argv, usage_network);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return ctl_usage_err(c, "which network? (network inspect NAME)");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (net_view_load(c, &v) != CTL_OK)
		goto out;
	if (!strcmp(name, NETWORK_DEFAULT))
		pool = "";
	for (size_t i = 0; !pool && i < v.nnets; i++)
		if (!strcmp(v.nets[i].u.network.name, name))
			pool = v.nets[i].u.network.pool;
	if (!pool) {
		log_err("no network %s", name);
		goto out;
	}
	j = view_json(&v, name, pool, true);
	if (!j) {
		log_err("out of memory");
		goto out;
	}
	out_doc(c->out == OUT_YAML ? OUT_YAML : OUT_JSON, j);
	json_decref(j);
	rc = CTL_OK;
out:
	net_view_clear(&v);
	return rc;
}

/* ---------------------------------------------------------------- rm */

/* CTL_OK when name has no member (else printed, CTL_ERR). */
static int network_rm_members(struct ctl *c, const char *name)
{
	struct resource *weps = NULL;
	char list[512] = "";
	size_t n = 0, nm = 0, off = 0;

	if (ctl_res_list(c, RES_WEP, NULL, &weps, &n) != CTL_OK)
		return CTL_ERR;
	for (size_t i = 0; i < n; i++) {
		const struct wep *w = &weps[i].u.wep;

		if (!wep_member(w, name))
			continue;
		nm++;
		if (off < sizeof(list))
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s%s%s",
						nm > 1 ? ", " : "", w->name,
						strcmp(w->node, c->cfg.node) ? " on node " : "",
						strcmp(w->node, c->cfg.node) ? w->node : "");
	}
	ctl_res_free(weps, n);
	if (!nm)
		return CTL_OK;
	log_err("network %s still has %zu member%s: %s; remove %s first", name, nm,
		nm > 1 ? "s" : "", list, nm > 1 ? "them" : "it");
	return CTL_ERR;
}

/* One attempt: 0 done, -ECANCELED to look again, CTL_ERR printed. */
static int network_rm_once(struct ctl *c, const char *name)
{
	struct network n = { 0 };
	struct ds_kv kv = { 0 };
	struct ds_op op;
	size_t failed = SIZE_MAX;
	int r;

	if (ctl_network_get(c, name, &n, &kv, false) != CTL_OK)
		return CTL_ERR;
	r = network_rm_members(c, name);
	if (r != CTL_OK)
		goto out;
	op = (struct ds_op){ DS_OP_DELETE, kv.key, NULL, kv.mod_rev };
	r = -ENOENT;
	if (!strcmp(n.pool, name)) {
		r = ipam_pool_delete_with(c->ds, name, &op, 1, &failed);
		if (r == 0)
			printf("ippool/%s deleted\n", name);
		else if (r == IPAM_EPOOLUSED)
			log_warn("ippool %s still has allocated addresses: kept "
				 "(petrelctl ipam check)", name);
	}
	/* No pool of its own (or it is gone, or still used): the Network only. */
	if (failed == SIZE_MAX && (r == -ENOENT || r == IPAM_EPOOLUSED))
		r = ds_txn(c->ds, &op, 1, NULL, NULL);
	if (r == -ECANCELED || (r == -ENOENT && failed != SIZE_MAX))
		goto out;	/* changed meanwhile: look again */
	if (r == -ENOENT) {
		log_err("no network %s", name);
		r = CTL_ERR;
	} else if (r < 0) {
		log_err("deleting network %s: %s", name,
			ctl_strerror(r));
		r = CTL_ERR;
	} else {
		printf("network/%s deleted\n", name);
	}
out:
	ds_kv_clear(&kv);
	network_clear(&n);
	return r;
}

static int network_rm(struct ctl *c, int argc, char **argv)
{
	int r, rc = CTL_OK;

	r = ctl_parse_common_only(c, argc, argv, usage_network);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return ctl_usage_err(c, "which network? (network rm NAME...)");
	for (int i = optind; i < argc; i++) {
		const char *name = argv[i];
		int t;

		if (!strcmp(name, NETWORK_DEFAULT)) {
			log_err("network default is built in; it cannot be removed");
			rc = CTL_ERR;
			continue;
		}
		for (t = 0; t < NETWORK_RM_TRIES; t++) {
			r = network_rm_once(c, name);
			if (r != -ECANCELED && r != -ENOENT)
				break;
		}
		if (t == NETWORK_RM_TRIES) {
			log_err("deleting network %s: it keeps changing; try again", name);
			r = CTL_ERR;
		}
		if (r != 0)
			rc = CTL_ERR;
	}
	return rc;
}

int cmd_network(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "create", NULL, "network create", network_create },
		{ "ls", "list", "network ls", network_ls },
		{ "inspect", NULL, "network inspect", network_inspect },
		{ "rm", "delete", "network rm", network_rm },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_network);
}
