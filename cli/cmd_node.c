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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgpconf/bgpconf.h"
#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "common/status.h"

#define NODE_STATUS_TIMEOUT_MS 3000

static const char usage_node[] =
	"usage: petrelctl node status [--routes]\n"
	"\n"
	"This node's BGP: whether felix and BIRD run (BIRD's version), then per\n"
	"BGP session PEER ADDRESS, PEER TYPE (node-to-node mesh, route reflector,\n"
	"global, node specific), STATE, SINCE, INFO, as BIRD reports them.\n"
	"  --routes   also the routes BIRD advertises (its static ones: the\n"
	"             node's blocks and borrowed addresses) and those it learned\n"
	"             over BGP.\n"
	"-o json: all of it as one object. Exit 0 when it could report (BIRD or\n"
	"felix not running included), 1 on errors.\n";

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

int cmd_node(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "status", NULL, "node status", node_status },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_node);
}
