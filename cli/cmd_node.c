/*
 * node status [--routes]: how this node's BGP is doing, like `calicoctl node
 * status`: felix (its status socket), BIRD (its control socket: version,
 * `show protocols`, and with --routes `show route`).
 *
 * It reports what it finds: felix or BIRD not running is a finding (exit 0),
 * not an error; only a broken config, an unreadable reply or the like is
 * (exit 1). Peers are BIRD's BGP protocols; their type comes from the name
 * prefix bgpconf gives them (Mesh_, RR_, Global_, Node_) and their address
 * from the rest of the name, so no datastore is needed.
 *
 * node rm NAME: a node gone for good, out of the store (Calico's `calicoctl
 * delete node`): its WorkloadEndpoints (each through endpoint_remove: the
 * record, its host-port reservations and its address in one transaction),
 * its petrel-ipam gateway records, then its blocks: the addresses in them
 * that no workload holds any more (what `ipam check` calls leaks) are
 * released, a block left empty is deleted, and a block still holding an
 * address a workload of another node borrowed stays, without affinity (that
 * workload keeps its address). Then its Node and its heartbeat key.
 * Refused while the node's felix is alive: its heartbeat
 * (/petrel/nodestatus/NAME, felix/noderec.c) younger than 3 of its
 * intervals and not marked stopped; --force removes it anyway.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bgpconf/bgpconf.h"
#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "common/status.h"
#include "endpoint/endpoint.h"
#include "ipam/ipam.h"
#include "model/keys.h"

#define NODE_STATUS_TIMEOUT_MS 3000

static const char usage_node[] =
	"usage: petrelctl node status [--routes]\n"
	"       petrelctl node rm NAME [--force]\n"
	"\n"
	"This node's BGP: whether felix and BIRD run (BIRD's version), then per\n"
	"BGP session PEER ADDRESS, PEER TYPE (node-to-node mesh, route reflector,\n"
	"global, node specific), STATE, SINCE, INFO, as BIRD reports them.\n"
	"  --routes   also the routes BIRD advertises (its static ones: the\n"
	"             node's blocks and borrowed addresses) and those it learned\n"
	"             over BGP.\n"
	"-o json: all of it as one object. Exit 0 when it could report (BIRD or\n"
	"felix not running included), 1 on errors.\n"
	"\n"
	"rm: removes node NAME, gone for good, from the datastore: its workloads'\n"
	"records (their addresses and host-port reservations released; nothing is\n"
	"done on that machine), its IPAM blocks (deleted when empty; a block still\n"
	"holding an address a workload of another node borrowed stays, without\n"
	"affinity), its Node. Refused while NAME's felix is alive (its heartbeat in\n"
	"the datastore is younger than 3 of its intervals, 30 s, and it did not\n"
	"stop on purpose): stop it first.\n"
	"  --force   remove it even so (its felix would program nothing any more).\n"
	"-o json: what was removed, as one object.\n";

static const struct {
	const char *prefix, *type;
} peer_types[] = {
	{ "Mesh_", "node-to-node mesh" },
	{ "RR_", "route reflector" },
	{ "Global_", "global" },
	{ "Node_", "node specific" },
};

/* "Global_192_0_2_1" → its type and 192.0.2.1; false when not ours. */
static bool proto_peer(const char *name, const char **type, char *addr, size_t len)
{
	for (size_t i = 0; i < sizeof(peer_types) / sizeof(peer_types[0]); i++) {
		size_t pl = strlen(peer_types[i].prefix);
		unsigned a, b, c, d;
		char tail;

		if (strncmp(name, peer_types[i].prefix, pl))
			continue;
		*type = peer_types[i].type;
		if (sscanf(name + pl, "%3u_%3u_%3u_%3u%c", &a, &b, &c, &d, &tail) == 4 &&
		    a < 256 && b < 256 && c < 256 && d < 256)
			snprintf(addr, len, "%u.%u.%u.%u", a, b, c, d);
		else
			snprintf(addr, len, "%s", name);
		return true;
	}
	*type = "other";
	snprintf(addr, len, "%s", name);
	return false;
}

struct node_report {
	json_t *felix;		/* {"running":..,"pid":..,"error":..,"bgp":..} */
	json_t *bird;		/* {"running":..,"version":..,"socket":..,"error":..} */
	json_t *peers;		/* [{"name","address","type","state","since","info"}] */
	json_t *advertised, *learned;	/* --routes: [{"prefix","type","protocol",..}] */
	bool failed;		/* an error (exit 1) */
};

static void ask_felix(struct ctl *c, struct node_report *rep)
{
	char sock[CONFIG_PATH_MAX + 16];
	json_t *req = json_pack("{s:s}", "op", "status"), *reply = NULL;
	int r;

	config_status_socket(&c->cfg, sock, sizeof(sock));
	rep->felix = json_pack("{s:b, s:s}", "running", 0, "socket", sock);
	if (!req || !rep->felix) {
		json_decref(req);
		rep->failed = true;
		return;
	}
	r = status_call(sock, req, NODE_STATUS_TIMEOUT_MS, &reply);
	json_decref(req);
	if (r < 0) {
		json_object_set_new(rep->felix, "error", json_string(
			r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET ?
			"no answer" : r == -ETIMEDOUT ? "no answer in time" :
			r == -EPROTO ? "not a valid reply" : strerror(-r)));
		return;
	}
	json_object_set_new(rep->felix, "running", json_true());
	if (json_is_integer(json_object_get(reply, "pid")))
		json_object_set(rep->felix, "pid", json_object_get(reply, "pid"));
	/* Newer felix says whether BGP is on and BIRD running (optional). */
	if (json_is_object(json_object_get(reply, "bgp")))
		json_object_set(rep->felix, "bgp", json_object_get(reply, "bgp"));
	if (json_is_object(json_object_get(reply, "datastore")))
		json_object_set(rep->felix, "datastore", json_object_get(reply, "datastore"));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));

		json_object_set_new(rep->felix, "error", json_string(e ? e : "not ok"));
	}
	json_decref(reply);
}

static json_t *route_json(const struct birdctl_route *rt)
{
	char net[IP4_NETSTRLEN];
	json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "prefix",
			      ip4_net_fmt(&rt->net, net), "type", rt->type,
			      "protocol", rt->proto, "primary", rt->primary);
	json_t *via = json_array();

	for (size_t i = 0; j && via && i < rt->n_via && i < BIRDCTL_NEXTHOPS_MAX; i++) {
		char gw[IP4_STRLEN];

		if (rt->via[i])
			json_array_append_new(via, json_string(ip4_fmt(rt->via[i], gw)));
		else if (rt->dev[i][0])
			json_array_append_new(via, json_sprintf("dev %s", rt->dev[i]));
	}
	if (j && via)
		json_object_set_new(j, "via", via);
	else
		json_decref(via);
	return j;
}

/* A command's reply; false (and rep->bird's error, rep->failed) on failure. */
static bool bird_cmd(struct birdctl *bc, const char *cmd, struct birdctl_reply *out,
		     struct node_report *rep)
{
	int r = birdctl_cmd(bc, cmd, out);

	if (r < 0) {
		json_object_set_new(rep->bird, "error", json_sprintf("%s: %s", cmd,
			r == -ETIMEDOUT ? "no answer in time" :
			r == -EBADMSG ? "not BIRD's protocol" : strerror(-r)));
		rep->failed = true;
		return false;
	}
	if (out->code >= 8000) {
		char *t = birdctl_reply_text(out);

		json_object_set_new(rep->bird, "error", json_sprintf("%s: %s", cmd,
								     t ? t : "refused"));
		free(t);
		birdctl_reply_clear(out);
		rep->failed = true;
		return false;
	}
	return true;
}

static void ask_bird(struct ctl *c, bool routes, struct node_report *rep)
{
	struct birdctl_reply rp = { 0 };
	struct birdctl_proto *pv = NULL;
	struct birdctl_route *rv = NULL;
	struct birdctl *bc = NULL;
	size_t np = 0, nr = 0;
	const char *g;
	int r;

	rep->bird = json_pack("{s:b, s:s}", "running", 0, "socket", c->cfg.bird_socket);
	rep->peers = json_array();
	if (routes) {
		rep->advertised = json_array();
		rep->learned = json_array();
	}
	if (!rep->bird || !rep->peers || (routes && (!rep->advertised || !rep->learned))) {
		rep->failed = true;
		return;
	}
	r = birdctl_open(c->cfg.bird_socket, NODE_STATUS_TIMEOUT_MS, &bc);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		json_object_set_new(rep->bird, "error", json_string("no answer"));
		return;
	}
	if (r < 0) {
		json_object_set_new(rep->bird, "error", json_string(
			r == -ETIMEDOUT ? "no greeting in time" :
			r == -EBADMSG ? "not BIRD's protocol" : strerror(-r)));
		rep->failed = true;
		return;
	}
	json_object_set_new(rep->bird, "running", json_true());
	g = birdctl_greeting(bc);
	if (g) {
		/* "BIRD 2.0.12 ready." → "BIRD 2.0.12" */
		size_t l = strlen(g);

		if (l >= 7 && !strcmp(g + l - 7, " ready."))
			l -= 7;
		json_object_set_new(rep->bird, "version", json_stringn(g, l));
	}
	if (!bird_cmd(bc, "show protocols", &rp, rep))
		goto out;
	r = birdctl_protocols_parse(&rp, &pv, &np);
	birdctl_reply_clear(&rp);
	if (r < 0) {
		json_object_set_new(rep->bird, "error", json_sprintf(
			"show protocols: unreadable reply (%s)", strerror(-r)));
		rep->failed = true;
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		char addr[80];
		const char *type;

		if (strcmp(pv[i].proto, "BGP"))
			continue;
		proto_peer(pv[i].name, &type, addr, sizeof(addr));
		json_array_append_new(rep->peers, json_pack(
			"{s:s, s:s, s:s, s:s, s:s, s:s}", "name", pv[i].name, "address",
			addr, "type", type, "state", pv[i].state, "since", pv[i].since,
			"info", pv[i].info));
	}
	if (!routes)
		goto out;
	if (!bird_cmd(bc, "show route", &rp, rep))
		goto out;
	r = birdctl_routes_parse(&rp, &rv, &nr);
	birdctl_reply_clear(&rp);
	if (r < 0) {
		json_object_set_new(rep->bird, "error", json_sprintf(
			"show route: unreadable reply (%s)", strerror(-r)));
		rep->failed = true;
		goto out;
	}
	/* Advertised: what the export filter sends, the static protocol's
	 * routes; learned: what BGP sessions brought. BIRD's other routes
	 * (kernel, direct) are neither. */
	for (size_t i = 0; i < nr; i++) {
		bool bgp = false;

		for (size_t k = 0; k < np && !bgp; k++)
			bgp = !strcmp(pv[k].name, rv[i].proto) && !strcmp(pv[k].proto, "BGP");
		if (bgp)
			json_array_append_new(rep->learned, route_json(&rv[i]));
		else if (!strcmp(rv[i].proto, BGPCONF_STATIC_PROTO))
			json_array_append_new(rep->advertised, route_json(&rv[i]));
	}
out:
	free(rv);
	free(pv);
	birdctl_close(bc);
}

static void print_routes(const char *title, json_t *a)
{
	static const char *const h[] = { "PREFIX", "TYPE", "PROTOCOL", "VIA" };
	struct table *t = table_new(4, h);
	size_t i;
	json_t *v;

	printf("\n%s:\n", title);
	json_array_foreach(a, i, v) {
		char via[512] = "";
		size_t off = 0, k;
		json_t *x;

		json_array_foreach(json_object_get(v, "via"), k, x)
			if (off < sizeof(via))
				off += (size_t)snprintf(via + off, sizeof(via) - off, "%s%s",
							k ? "," : "", json_string_value(x));
		table_add(t, (const char *const[]){
			json_string_value(json_object_get(v, "prefix")),
			json_string_value(json_object_get(v, "type")),
			json_string_value(json_object_get(v, "protocol")),
			via[0] ? via : NULL });
	}
	if (json_array_size(a))
		table_print(t, stdout);
	else
		printf("  (none)\n");
	table_free(t);
}

static void print_report(struct ctl *c, const struct node_report *rep)
{
	static const char *const h[] = { "PEER ADDRESS", "PEER TYPE", "STATE", "SINCE",
					 "INFO" };
	const char *err;
	json_t *bgp = json_object_get(rep->felix, "bgp"), *v;
	json_t *ds = json_object_get(rep->felix, "datastore");
	size_t i;

	printf("node %s\n", c->cfg.node);
	if (json_is_true(json_object_get(rep->felix, "running"))) {
		printf("felix: running");
		if (json_is_integer(json_object_get(rep->felix, "pid")))
			printf(" (pid %lld)", (long long)json_integer_value(
				       json_object_get(rep->felix, "pid")));
		if ((err = json_string_value(json_object_get(rep->felix, "error"))))
			printf(", says: %s", err);
		if (json_is_object(bgp) && json_is_boolean(json_object_get(bgp, "enabled")))
			printf(", BGP %s", json_is_true(json_object_get(bgp, "enabled")) ?
			       "enabled" : "disabled");
		printf("\n");
		if (json_is_false(json_object_get(ds, "reachable")))
			printf("felix: %s\n", json_string_value(json_object_get(ds, "message")));
	} else {
		printf("felix: not running (%s on %s)\n",
		       json_string_value(json_object_get(rep->felix, "error")),
		       json_string_value(json_object_get(rep->felix, "socket")));
	}
	if (json_is_true(json_object_get(rep->bird, "running"))) {
		const char *ver = json_string_value(json_object_get(rep->bird, "version"));

		printf("BIRD: running (%s)\n", ver ? ver : "unknown version");
		if ((err = json_string_value(json_object_get(rep->bird, "error"))))
			printf("BIRD: error: %s\n", err);
	} else {
		printf("BIRD: not running (%s on %s)\n",
		       json_string_value(json_object_get(rep->bird, "error")),
		       json_string_value(json_object_get(rep->bird, "socket")));
		return;
	}
	printf("\nIPv4 BGP status\n");
	if (!json_array_size(rep->peers)) {
		printf("No IPv4 peers found.\n");
	} else {
		struct table *t = table_new(5, h);

		json_array_foreach(rep->peers, i, v)
			table_add(t, (const char *const[]){
				json_string_value(json_object_get(v, "address")),
				json_string_value(json_object_get(v, "type")),
				json_string_value(json_object_get(v, "state")),
				json_string_value(json_object_get(v, "since")),
				json_string_value(json_object_get(v, "info")) });
		table_print(t, stdout);
		table_free(t);
	}
	if (rep->advertised) {
		print_routes("Advertised (this node's blocks and borrowed addresses)", rep->advertised);
		print_routes("Learned over BGP", rep->learned);
	}
}

static int node_status(struct ctl *c, int argc, char **argv)
{
	enum { O_ROUTES = 256 };
	static const struct option lo[] = {
		{ "routes", no_argument, NULL, O_ROUTES },
		CTL_LONGOPTS
	};
	struct node_report rep = { 0 };
	bool routes = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == O_ROUTES) {
			routes = true;
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_node, argv, &r))
			return r;
	}
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_setup(c) != CTL_OK)
		return CTL_ERR;
	ask_felix(c, &rep);
	ask_bird(c, routes, &rep);
	if (!rep.felix || !rep.bird || !rep.peers) {
		log_err("out of memory");
		rep.failed = true;
	} else if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *doc = json_pack("{s:s, s:O, s:O, s:O}", "node", c->cfg.node,
					"felix", rep.felix, "bird", rep.bird,
					"peers", rep.peers);

		if (doc && rep.advertised)
			json_object_set_new(doc, "routes", json_pack(
				"{s:O, s:O}", "advertised", rep.advertised,
				"learned", rep.learned));
		if (doc)
			out_doc(c->out, doc);
		else
			log_err("out of memory");
		json_decref(doc);
	} else {
		print_report(c, &rep);
	}
	if (rep.failed && rep.bird && json_object_get(rep.bird, "error"))
		log_err("BIRD on %s: %s", c->cfg.bird_socket,
			json_string_value(json_object_get(rep.bird, "error")));
	json_decref(rep.felix);
	json_decref(rep.bird);
	json_decref(rep.peers);
	json_decref(rep.advertised);
	json_decref(rep.learned);
	return rep.failed ? CTL_ERR : CTL_OK;
}

/* ---------------------------------------------------------------- node rm */

/* NAME's felix alive by its heartbeat: 1 (why says so), 0, or -errno. */
static int node_alive(struct ctl *c, const char *name, char *why, size_t len)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	json_t *j, *fx;
	int64_t hb, iv, age;
	int r;

	snprintf(key, sizeof(key), "%s%s", KEYS_NODESTATUS, name);
	r = ds_get(c->ds, key, &kv);
	if (r == -ENOENT)
		return 0;	/* no felix ever ran there (or an old one) */
	if (r < 0)
		return r;
	j = json_loads(kv.value, 0, NULL);
	ds_kv_clear(&kv);
	fx = json_object_get(j, "felix");
	hb = json_integer_value(json_object_get(fx, "heartbeat"));
	iv = json_integer_value(json_object_get(fx, "intervalSeconds"));
	if (iv <= 0)
		iv = 10;
	age = (int64_t)time(NULL) - hb;
	r = json_is_object(fx) && !json_is_true(json_object_get(fx, "stopped")) &&
	    age < 3 * iv;
	if (r)
		snprintf(why, len, "its felix is alive (pid %lld on its host, heartbeat %llds ago)",
			 (long long)json_integer_value(json_object_get(fx, "pid")),
			 (long long)(age < 0 ? 0 : age));
	json_decref(j);
	return r;
}

struct rm_report {
	json_t *workloads, *released_blocks, *kept_blocks;
	size_t addrs, gateways;
	bool node_deleted;
};

static int rm_workloads(struct ctl *c, const char *name, struct rm_report *rep)
{
	const struct endpoint_rm how = { .own_netns = false };
	struct resource *w = NULL;
	size_t n = 0;
	int r = ctl_res_list(c, RES_WEP, name, &w, &n);

	if (r != CTL_OK)
		return CTL_ERR;
	for (size_t i = 0; i < n; i++) {
		struct endpoint_err e;

		r = endpoint_remove(c->ds, &w[i], &how, &e);
		if (r < 0 && r != -ENOENT) {
			log_err("node rm %s: %s", name, e.msg);
			ctl_res_free(w, n);
			return CTL_ERR;
		}
		json_array_append_new(rep->workloads, json_string(w[i].u.wep.name));
	}
	ctl_res_free(w, n);
	return CTL_OK;
}

/* Its petrel-ipam gateway records (their users' addresses are in its
 * blocks: released with them). */
static int rm_gateways(struct ctl *c, const char *name, struct rm_report *rep)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kv = NULL;
	size_t n = 0;
	int r;

	snprintf(prefix, sizeof(prefix), "%s%s/", KEYS_IPAMGATEWAYS, name);
	r = ds_list(c->ds, prefix, &kv, &n, NULL);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = ds_delete(c->ds, kv[i].key, kv[i].mod_rev);
		if (r == -ENOENT)
			r = 0;
		rep->gateways += r == 0;
	}
	if (r < 0)
		log_err("node rm %s: its IPAM gateway records: %s (%s)", name,
			ds_strerror(r), ds_last_error(c->ds));
	ds_kvs_free(kv, n);
	return r < 0 ? CTL_ERR : CTL_OK;
}

/* One block of the node, once the leaks in it are released: deleted when
 * empty, else its affinity cleared. CAS, tried again on a conflict. */
static int rm_block(struct ctl *c, const struct ipamblock *b0, struct rm_report *rep)
{
	char key[RES_KEY_MAX], bname[IP4_NETSTRLEN], cidr[IP4_NETSTRLEN];
	struct errs e = ERRS_INIT;
	int r = -ECANCELED;

	ipamblock_name(&b0->cidr, bname);
	ip4_net_fmt(&b0->cidr, cidr);
	if (res_key(RES_IPAMBLOCK, bname, key, sizeof(key)) < 0)
		return -ENAMETOOLONG;
	for (int tries = 0; tries < 16 && r == -ECANCELED; tries++) {
		struct ds_kv kv = { 0 };
		struct resource res;
		char *text;

		r = ds_get(c->ds, key, &kv);
		if (r == -ENOENT) {	/* emptied by the last release */
			json_array_append_new(rep->released_blocks, json_string(cidr));
			return 0;
		}
		if (r < 0)
			return r;
		r = res_from_text(RES_IPAMBLOCK, kv.value, kv.mod_rev, &res, &e);
		if (r < 0) {
			errs_clear(&e);
			ds_kv_clear(&kv);
			return r;
		}
		if (ipamblock_used(&res.u.block) == 0) {
			r = ds_delete(c->ds, key, kv.mod_rev);
			if (r == 0)
				json_array_append_new(rep->released_blocks, json_string(cidr));
		} else {
			res.u.block.affinity[0] = '\0';
			text = res_to_text(&res);
			r = text ? ds_update(c->ds, key, text, kv.mod_rev, NULL) : -ENOMEM;
			free(text);
			if (r == 0)
				json_array_append_new(rep->kept_blocks, json_string(cidr));
		}
		if (r == -ENOENT)
			r = -ECANCELED;		/* gone meanwhile: look again */
		res_clear(&res);
		ds_kv_clear(&kv);
	}
	return r;
}

/* bl: its blocks as they were before its workloads went (a block their
 * releases emptied is gone already: released too). */
static int rm_blocks(struct ctl *c, const char *name, const struct ipamblock *bl,
		     size_t nb, struct rm_report *rep)
{
	struct ipam_leak *leaks = NULL;
	size_t nl = 0;
	int r = 0;

	if (nb)
		r = ipam_check(c->ds, &leaks, &nl);
	/* what no workload holds any more, in its blocks: free */
	for (size_t i = 0; r == 0 && i < nl; i++)
		for (size_t k = 0; k < nb; k++) {
			if (!ip4_net_contains(&bl[k].cidr, leaks[i].addr))
				continue;
			r = ipam_release_addr(c->ds, leaks[i].addr);
			if (r == -ENOENT)
				r = 0;
			else if (r == 0)
				rep->addrs++;
			break;
		}
	for (size_t k = 0; r == 0 && k < nb; k++)
		r = rm_block(c, &bl[k], rep);
	if (r < 0)
		log_err("node rm %s: its IPAM blocks: %s (%s)", name, ctl_strerror(r),
			ds_last_error(c->ds));
	free(leaks);
	return r < 0 ? CTL_ERR : CTL_OK;
}

/* Its Node and its heartbeat. */
static int rm_node_keys(struct ctl *c, const char *name, struct rm_report *rep)
{
	char key[RES_KEY_MAX];
	int r;

	if (res_key(RES_NODE, name, key, sizeof(key)) < 0)
		return CTL_ERR;
	r = ds_delete(c->ds, key, 0);
	rep->node_deleted = r == 0;
	if (r == 0 || r == -ENOENT) {
		snprintf(key, sizeof(key), "%s%s", KEYS_NODESTATUS, name);
		r = ds_delete(c->ds, key, 0);
	}
	if (r < 0 && r != -ENOENT) {
		log_err("node rm %s: deleting %s: %s (%s)", name, key, ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	return CTL_OK;
}

static int node_rm(struct ctl *c, int argc, char **argv)
{
	enum { O_FORCE = 256 };
	static const struct option lo[] = {
		{ "force", no_argument, NULL, O_FORCE },
		CTL_LONGOPTS
	};
	struct rm_report rep = { 0 };
	struct ipamblock *bl = NULL;
	size_t nb = 0;
	bool force = false;
	const char *name;
	char why[256];
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == O_FORCE) {
			force = true;
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_node, argv, &r))
			return r;
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which node? (node rm NAME)");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (!res_name_valid(name))
		return ctl_usage_err(c, "\"%s\" is not a valid node name", name);
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	r = node_alive(c, name, why, sizeof(why));
	if (r < 0) {
		log_err("node rm %s: reading its heartbeat: %s (%s)", name, ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	if (r > 0 && !force) {
		log_err("node rm %s: refused: %s; stop it first, or --force", name, why);
		return CTL_ERR;
	}
	r = ipam_blocks_list(c->ds, name, &bl, &nb);
	if (r < 0) {
		log_err("node rm %s: listing its IPAM blocks: %s (%s)", name,
			ctl_strerror(r), ds_last_error(c->ds));
		return CTL_ERR;
	}
	rep.workloads = json_array();
	rep.released_blocks = json_array();
	rep.kept_blocks = json_array();
	r = !rep.workloads || !rep.released_blocks || !rep.kept_blocks ? CTL_ERR : CTL_OK;
	if (r == CTL_OK)
		r = rm_workloads(c, name, &rep);
	if (r == CTL_OK)
		r = rm_gateways(c, name, &rep);
	if (r == CTL_OK)
		r = rm_blocks(c, name, bl, nb, &rep);
	if (r == CTL_OK)
		r = rm_node_keys(c, name, &rep);
	if (r == CTL_OK && !rep.node_deleted && !json_array_size(rep.workloads) &&
	    !json_array_size(rep.released_blocks) && !json_array_size(rep.kept_blocks) &&
	    !rep.gateways) {
		log_err("node rm %s: no such node (no Node, no workloads, no blocks)", name);
		r = CTL_ERR;
	} else if (r == CTL_OK && (c->out == OUT_JSON || c->out == OUT_YAML)) {
		json_t *doc = json_pack("{s:s, s:O, s:I, s:O, s:O, s:I, s:b}", "node", name,
					"workloads", rep.workloads, "addressesReleased",
					(json_int_t)rep.addrs, "blocksReleased",
					rep.released_blocks, "blocksWithoutAffinity",
					rep.kept_blocks, "gateways", (json_int_t)rep.gateways,
					"nodeDeleted", rep.node_deleted);

		if (doc)
			out_doc(c->out, doc);
		json_decref(doc);
	} else if (r == CTL_OK) {
		printf("node %s removed: %zu workloads, %zu blocks released, %zu blocks kept "
		       "without affinity (addresses other nodes' workloads hold), %zu leaked "
		       "addresses released%s\n", name, json_array_size(rep.workloads),
		       json_array_size(rep.released_blocks), json_array_size(rep.kept_blocks),
		       rep.addrs, rep.node_deleted ? "" : " (it had no Node)");
	}
	json_decref(rep.workloads);
	json_decref(rep.released_blocks);
	json_decref(rep.kept_blocks);
	ipam_blocks_free(bl, nb);
	return r;
}

int cmd_node(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "status", NULL, "node status", node_status },
		{ "rm", "remove", "node rm", node_rm },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_node);
}
