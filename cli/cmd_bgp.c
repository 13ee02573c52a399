/*
 * bgp peer add|ls|rm, bgp config [set]: BGPPeer and BGPConfiguration by
 * flags; plus what apply/get share about these kinds (tables, the password
 * mask, the checks across BGPPeers).
 *
 * Invariants: a password (BGPPeer.password, BGPConfiguration.meshPassword)
 * is never printed: documents shown have it replaced by CTL_SECRET_MASK,
 * tables say only whether one is set, and no message quotes one (it comes
 * in through a file, never on the command line, where `ps` would show it).
 * Every document made here goes through the resource decoder, so the rules
 * and messages are apply's. A write is one compare-and-swap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"

#define BGP_SET_TRIES 5		/* CAS retries of bgp config set */
#define PASSWORD_FILE_MAX 4096

/* ------------------------------------------------------------- shared */

void ctl_bgp_mask(json_t *doc)
{
	json_t *spec = json_object_get(doc, "spec");

	if (!json_is_object(spec))
		return;
	if (json_object_get(spec, "password"))
		json_object_set_new(spec, "password", json_string(CTL_SECRET_MASK));
	if (json_object_get(spec, "meshPassword"))
		json_object_set_new(spec, "meshPassword", json_string(CTL_SECRET_MASK));
}

struct table *ctl_bgp_table(enum res_kind k, enum out_fmt fmt)
{
	static const char *const peer[] = { "NAME", "PEERIP", "ASN", "NODE/SELECTOR",
					    "PASSWORD", "KEEPALIVE/HOLD", "BFD",
					    "MULTIHOP", "TTLSEC", "NEXTHOP", "SOURCE",
					    "IMPORT" };
	static const char *const conf[] = { "NAME", "ASN", "MESH", "COMMUNITIES",
					    "GRTIME", "LISTENPORT", "LOGLEVEL",
					    "MESHPASSWORD" };
	bool w = fmt == OUT_WIDE;

	if (k == RES_BGPPEER)
		return table_new(w ? 12 : 4, peer);
	return table_new(w ? 8 : 6, conf);
}

static const char *const nh_names[] = { "auto", "self", "keep" };
static const char *const src_names[] = { "nodeIP", "auto" };
static const char *const import_names[] = { "pools", "all" };
static const char *const lvl_names[] = { "error", "warning", "info", "debug" };

void ctl_bgp_row(struct table *t, const struct resource *r)
{
	char a[64] = "", b[64] = "", d[64] = "", x[640] = "", m[16] = "";
	const char *cells[12] = { 0 };

	if (r->kind == RES_BGPPEER) {
		const struct bgppeer *p = &r->u.bgppeer;
		char ip[IP4_STRLEN];

		ip4_fmt(p->peer_ip, ip);
		if (p->peer_port)
			snprintf(a, sizeof(a), "%s:%u", ip, (unsigned)p->peer_port);
		else
			snprintf(a, sizeof(a), "%s", ip);
		snprintf(b, sizeof(b), "%u", p->asn);
		if (p->node[0])
			snprintf(x, sizeof(x), "node=%s", p->node);
		else if (p->node_selector)
			snprintf(x, sizeof(x), "%s", p->node_selector);
		else
			snprintf(x, sizeof(x), "(global)");
		if (p->keepalive || p->hold)
			snprintf(d, sizeof(d), "%u/%u", (unsigned)p->keepalive,
				 (unsigned)p->hold);
		if (p->multihop)
			snprintf(m, sizeof(m), "%u", (unsigned)p->multihop);
		cells[0] = p->name;
		cells[1] = a;
		cells[2] = b;
		cells[3] = x;
		cells[4] = p->password ? "set" : NULL;
		cells[5] = d[0] ? d : NULL;
		cells[6] = p->bfd ? "true" : "false";
		cells[7] = m[0] ? m : NULL;
		cells[8] = p->ttl_security ? "true" : "false";
		cells[9] = nh_names[(unsigned)p->next_hop <= BGP_NH_KEEP ? p->next_hop : 0];
		cells[10] = src_names[(unsigned)p->source <= BGP_SRC_AUTO ? p->source : 0];
		cells[11] = import_names[(unsigned)p->import <= BGP_IMPORT_ALL ? p->import : 0];
	} else if (r->kind == RES_BGPCONFIG) {
		const struct bgpconfig *cf = &r->u.bgpconfig;
		size_t off = 0;

		snprintf(a, sizeof(a), "%u", cf->asn);
		for (size_t i = 0; i < cf->n_communities && i < BGPCONFIG_COMMUNITIES_MAX &&
				   off < sizeof(x); i++) {
			char cb[BGPCONFIG_COMMUNITY_STRLEN];

			off += (size_t)snprintf(x + off, sizeof(x) - off, "%s%s", i ? "," : "",
						bgpconfig_community_fmt(&cf->communities[i], cb));
		}
		snprintf(b, sizeof(b), "%u", cf->gr_time);
		snprintf(d, sizeof(d), "%u", (unsigned)cf->listen_port);
		cells[0] = cf->name;
		cells[1] = a;
		cells[2] = cf->mesh ? "on" : "off";
		cells[3] = x[0] ? x : NULL;
		cells[4] = b;
		cells[5] = d;
		cells[6] = (unsigned)cf->log_level < 4 ? lvl_names[cf->log_level] : "info";
		cells[7] = cf->mesh_password ? "set" : NULL;
	}
	table_add(t, cells);
}

/* This node's BGP address: the config's, else its Node's; 0 when none. */
static uint32_t own_address(struct ctl *c)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	struct resource res = { 0 };
	struct errs e = ERRS_INIT;
	uint32_t a = 0;

	if (c->cfg.bgp_address)
		return c->cfg.bgp_address;
	if (res_key(RES_NODE, c->cfg.node, key, sizeof(key)) < 0 ||
	    ds_get(c->ds, key, &kv) < 0)
		return 0;
	if (res_from_text(RES_NODE, kv.value, kv.mod_rev, &res, &e) == 0)
		a = res.u.node.bgp_ipv4;
	errs_clear(&e);
	res_clear(&res);
	ds_kv_clear(&kv);
	return a;
}

int ctl_bgppeer_list(struct ctl *c, struct resource **out, size_t *n)
{
	return ctl_res_list(c, RES_BGPPEER, NULL, out, n);
}

/* Two peers at one address can both apply to a node unless each names a
 * different node. */
static bool peers_overlap(const struct bgppeer *a, const struct bgppeer *b)
{
	if (a->peer_ip != b->peer_ip)
		return false;
	return !(a->node[0] && b->node[0] && strcmp(a->node, b->node));
}

int ctl_bgppeer_check(struct ctl *c, const struct bgppeer *p,
		      const struct bgppeer *const *extra, size_t n_extra,
		      struct errs *e)
{
	struct resource *all = NULL;
	size_t n = 0;
	char ip[IP4_STRLEN];
	uint32_t own;

	if (ctl_bgppeer_list(c, &all, &n) != CTL_OK)
		return CTL_ERR;
	ip4_fmt(p->peer_ip, ip);
	own = own_address(c);
	if (own && own == p->peer_ip)
		errs_add(e, "spec.peerIP: %s is this node's (%s) own BGP address", ip,
			 c->cfg.node);
	for (size_t i = 0; i < n; i++) {
		const struct bgppeer *q = &all[i].u.bgppeer;

		if (strcmp(q->name, p->name) && peers_overlap(p, q))
			errs_add(e, "spec.peerIP: bgppeer %s and bgppeer %s both peer "
				 "with %s (one session per address and node)", p->name,
				 q->name, ip);
	}
	for (size_t i = 0; i < n_extra; i++)
		if (strcmp(extra[i]->name, p->name) && peers_overlap(p, extra[i]))
			errs_add(e, "spec.peerIP: bgppeer %s and bgppeer %s (in this "
				 "input) both peer with %s", p->name, extra[i]->name, ip);
	ctl_res_free(all, n);
	return CTL_OK;
}

/* ----------------------------------------------------------- bgp peer */

static const char usage_bgp[] =
	"usage: petrelctl bgp peer add NAME --peer-ip IP[:PORT] --as ASN\n"
	"                 [--node NODE | --node-selector SEL] [--password-file FILE]\n"
	"                 [--keepalive S] [--hold S] [--bfd]\n"
	"                 [--multihop N | --ttl-security] [--next-hop auto|self|keep]\n"
	"                 [--source-address nodeIP|auto] [--import pools|all]\n"
	"       petrelctl bgp peer ls\n"
	"       petrelctl bgp peer rm NAME\n"
	"       petrelctl bgp config\n"
	"       petrelctl bgp config set [--as ASN] [--mesh on|off] [--communities C,...]\n"
	"                 [--graceful-restart S] [--listen-port P] [--log-level L]\n"
	"                 [--mesh-password-file FILE|--no-mesh-password]\n"
	"\n"
	"peer add:   a new BGPPeer (validated as apply does: address, AS\n"
	"            1..4294967295, another BGPPeer at the same address, this node's\n"
	"            own address). Global unless --node or --node-selector.\n"
	"            The password (TCP MD5) is read from FILE (first line), never\n"
	"            from the command line; it is never printed.\n"
	"peer ls:    NAME PEERIP ASN NODE/SELECTOR (-o wide: all options).\n"
	"peer rm:    deletes a BGPPeer.\n"
	"config:     shows BGPConfiguration default (the defaults when none is stored).\n"
	"config set: changes the given fields of it (creating it when missing).\n"
	"            --communities \"\" clears them; C: A:B or A:B:C.\n";

/* Reads FILE's first line (the password). 0, or -errno / -EINVAL (empty). */
static int read_secret(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n;
	int r = 0;

	*out = NULL;
	if (!f)
		return -errno;
	buf = calloc(1, PASSWORD_FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	n = fread(buf, 1, PASSWORD_FILE_MAX, f);
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		r = -EINVAL;
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return r;
}

static void secret_free(char *s)
{
	if (s) {
		volatile char *p = s;

		while (*p)
			*p++ = '\0';
	}
	free(s);
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static void print_secret_errs(const char *what, struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		log_err("%s: %s", what, e->msg[i]);
	errs_clear(e);
}

static int peer_add(struct ctl *c, int argc, char **argv)
{
	enum { O_IP = 256, O_AS, O_NODE, O_SEL, O_PWF, O_KA, O_HOLD, O_BFD, O_MH,
	       O_TTL, O_NH, O_SRC, O_IMP };
	static const struct option lo[] = {
		{ "peer-ip", required_argument, NULL, O_IP },
		{ "as", required_argument, NULL, O_AS },
		{ "node", required_argument, NULL, O_NODE },
		{ "node-selector", required_argument, NULL, O_SEL },
		{ "password-file", required_argument, NULL, O_PWF },
		{ "keepalive", required_argument, NULL, O_KA },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "bfd", no_argument, NULL, O_BFD },
		{ "multihop", required_argument, NULL, O_MH },
		{ "ttl-security", no_argument, NULL, O_TTL },
		{ "next-hop", required_argument, NULL, O_NH },
		{ "source-address", required_argument, NULL, O_SRC },
		{ "import", required_argument, NULL, O_IMP },
		CTL_LONGOPTS
	};
	const char *ip = NULL, *node = NULL, *sel = NULL, *pwf = NULL, *nh = NULL,
		   *src = NULL, *imp = NULL, *name;
	unsigned long long as = 0, ka = 0, hold = 0, mh = 0;
	bool have_as = false, bfd = false, ttl = false;
	char key[RES_KEY_MAX], *password = NULL, *text = NULL;
	struct errs e = ERRS_INIT;
	struct bgppeer p = { 0 };
	json_t *doc = NULL, *spec;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		switch (opt) {
		case O_IP: ip = optarg; break;
		case O_NODE: node = optarg; break;
		case O_SEL: sel = optarg; break;
		case O_PWF: pwf = optarg; break;
		case O_BFD: bfd = true; break;
		case O_TTL: ttl = true; break;
		case O_NH: nh = optarg; break;
		case O_SRC: src = optarg; break;
		case O_IMP: imp = optarg; break;
		case O_AS:
			if (parse_u64(optarg, 4294967295ull, &as) < 0 || as == 0)
				return ctl_usage_err(c, "--as %s: an AS number 1..4294967295",
						     optarg);
			have_as = true;
			break;
		case O_KA:
			if (parse_u64(optarg, 65535, &ka) < 0 || ka == 0)
				return ctl_usage_err(c, "--keepalive %s: seconds 1..65535", optarg);
			break;
		case O_HOLD:
			if (parse_u64(optarg, 65535, &hold) < 0 || hold < 3)
				return ctl_usage_err(c, "--hold %s: seconds 3..65535", optarg);
			break;
		case O_MH:
			if (parse_u64(optarg, 255, &mh) < 0 || mh == 0)
				return ctl_usage_err(c, "--multihop %s: hops 1..255", optarg);
			break;
		default:
			if (!ctl_opt_common(c, opt, usage_bgp, argv, &r))
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(c, "NAME is required");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 1]);
	name = argv[optind];
	if (!ip)
		return ctl_usage_err(c, "--peer-ip IP[:PORT] is required");
	if (!have_as)
		return ctl_usage_err(c, "--as ASN is required");
	if (node && sel)
		return ctl_usage_err(c, "--node and --node-selector exclude each other");
	if (mh && ttl)
		return ctl_usage_err(c, "--multihop and --ttl-security exclude each other "
				     "(GTSM means the peer is directly connected)");
	if (pwf) {
		r = read_secret(pwf, &password);
		if (r < 0) {
			log_err("reading the password file %s: %s", pwf,
				r == -EINVAL ? "empty" : strerror(-r));
			return CTL_ERR;
		}
	}
	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:I}}", "apiVersion",
			RES_API_VERSION, "kind", "BGPPeer", "metadata", "name", name,
			"spec", "peerIP", ip, "asNumber", (json_int_t)as);
	spec = json_object_get(doc, "spec");
	if (!spec) {
		log_err("out of memory");
		goto out;
	}
	if (node)
		json_object_set_new(spec, "node", json_string(node));
	if (sel)
		json_object_set_new(spec, "nodeSelector", json_string(sel));
	if (password)
		json_object_set_new(spec, "password", json_string(password));
	if (ka)
		json_object_set_new(spec, "keepaliveTime", json_integer((json_int_t)ka));
	if (hold)
		json_object_set_new(spec, "holdTime", json_integer((json_int_t)hold));
	if (bfd)
		json_object_set_new(spec, "bfd", json_true());
	if (ttl)
		json_object_set_new(spec, "ttlSecurity", json_true());
	if (mh)
		json_object_set_new(spec, "multihop", json_integer((json_int_t)mh));
	if (nh)
		json_object_set_new(spec, "nextHopMode", json_string(nh));
	if (src)
		json_object_set_new(spec, "sourceAddress", json_string(src));
	if (imp)
		json_object_set_new(spec, "import", json_string(imp));
	if (bgppeer_from_json(doc, NULL, NULL, &p, &e) < 0) {
		snprintf(key, sizeof(key), "bgppeer %s", name);
		print_secret_errs(key, &e);
		goto out;
	}
	if (ctl_ds(c) != CTL_OK)
		goto out;
	if (ctl_bgppeer_check(c, &p, NULL, 0, &e) != CTL_OK)
		goto out;
	if (e.n) {
		snprintf(key, sizeof(key), "bgppeer %s", p.name);
		print_secret_errs(key, &e);
		goto out;
	}
	{
		struct resource res = { .kind = RES_BGPPEER, .u.bgppeer = p };

		text = res_to_text(&res);
	}
	if (!text || res_key(RES_BGPPEER, p.name, key, sizeof(key)) < 0) {
		log_err("bgppeer %s: out of memory", p.name);
		goto out;
	}
	r = ds_create(c->ds, key, text, NULL);
	if (r == -EEXIST) {
		log_err("bgppeer %s already exists (petrelctl apply changes it, "
			"petrelctl bgp peer rm removes it)", p.name);
		goto out;
	}
	if (r < 0) {
		log_err("bgppeer %s: %s (%s)", p.name, ds_strerror(r), ds_last_error(c->ds));
		goto out;
	}
	printf("bgppeer/%s created\n", p.name);
	rc = CTL_OK;
out:
	secret_free(text);
	if (p.password)
		memset(p.password, 0, strlen(p.password));
	bgppeer_clear(&p);
	if (spec && json_object_get(spec, "password"))
		json_object_set_new(spec, "password", json_string(""));
	json_decref(doc);
	secret_free(password);
	return rc;
}

static int peer_ls(struct ctl *c, int argc, char **argv)
{
	struct resource *v = NULL;
	size_t n = 0;
	int r;

	r = ctl_parse_common_only(c, argc, argv, usage_bgp);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_bgppeer_list(c, &v, &n) != CTL_OK)
		return CTL_ERR;
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *items = json_array();

		for (size_t i = 0; items && i < n; i++) {
			json_t *j = res_to_json(&v[i]);

			ctl_bgp_mask(j);
			json_array_append_new(items, j);
		}
		if (items)
			out_list(c->out, items);
		json_decref(items);
	} else {
		struct table *t = ctl_bgp_table(RES_BGPPEER, c->out);

		for (size_t i = 0; i < n; i++)
			ctl_bgp_row(t, &v[i]);
		table_print(t, stdout);
		table_free(t);
	}
	ctl_res_free(v, n);
	return CTL_OK;
}

static int peer_rm(struct ctl *c, int argc, char **argv)
{
	char key[RES_KEY_MAX];
	int r;

	r = ctl_parse_common_only(c, argc, argv, usage_bgp);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return ctl_usage_err(c, "NAME is required");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 1]);
	if (!res_name_valid(argv[optind]) ||
	    res_key(RES_BGPPEER, argv[optind], key, sizeof(key)) < 0) {
		log_err("no bgppeer %s", argv[optind]);
		return CTL_ERR;
	}
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	r = ds_delete(c->ds, key, 0);
	if (r == -ENOENT) {
		log_err("no bgppeer %s", argv[optind]);
		return CTL_ERR;
	}
	if (r < 0) {
		log_err("deleting bgppeer %s: %s (%s)", argv[optind], ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	printf("bgppeer/%s deleted\n", argv[optind]);
	return CTL_OK;
}

static int cmd_bgp_peer(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "add", "create", "bgp peer add", peer_add },
		{ "ls", "list", "bgp peer ls", peer_ls },
		{ "rm", "delete", "bgp peer rm", peer_rm },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_bgp);
}

/* --------------------------------------------------------- bgp config */

/* The stored BGPConfiguration (kv filled, *exists) or the defaults. */
static int config_read(struct ctl *c, struct resource *res, struct ds_kv *kv,
		       bool *exists)
{
	char key[RES_KEY_MAX];
	struct errs e = ERRS_INIT;
	int r;

	*exists = false;
	res->kind = RES_BGPCONFIG;
	res_key(RES_BGPCONFIG, BGPCONFIG_NAME, key, sizeof(key));
	r = ds_get(c->ds, key, kv);
	if (r == -ENOENT) {
		bgpconfig_defaults(&res->u.bgpconfig);
		return CTL_OK;
	}
	if (r < 0) {
		log_err("reading %s: %s (%s)", key, ds_strerror(r), ds_last_error(c->ds));
		return CTL_ERR;
	}
	if (res_from_text(RES_BGPCONFIG, kv->value, kv->mod_rev, res, &e) < 0) {
		log_err("%s: the stored document is invalid:", key);
		print_secret_errs("bgpconfiguration", &e);
		ds_kv_clear(kv);
		return CTL_ERR;
	}
	*exists = true;
	return CTL_OK;
}

static int config_show(struct ctl *c, int argc, char **argv)
{
	struct resource res = { 0 };
	struct ds_kv kv = { 0 };
	bool exists;
	int r;

	r = ctl_parse_common_only(c, argc, argv, usage_bgp);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_ds(c) != CTL_OK || config_read(c, &res, &kv, &exists) != CTL_OK)
		return CTL_ERR;
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *j = res_to_json(&res);

		ctl_bgp_mask(j);
		if (j)
			out_doc(c->out, j);
		else
			log_err("out of memory");
		json_decref(j);
	} else {
		struct table *t = ctl_bgp_table(RES_BGPCONFIG, c->out);

		ctl_bgp_row(t, &res);
		table_print(t, stdout);
		table_free(t);
		if (!exists)
			printf("(defaults: no BGPConfiguration stored)\n");
	}
	res_clear(&res);
	ds_kv_clear(&kv);
	return CTL_OK;
}

struct config_change {
	const char *as, *mesh, *communities, *gr, *port, *level, *pwf;
	bool no_pw;
};

/* Applies ch to the document j (its spec). CTL_OK or CTL_USAGE (message printed). */
static int config_patch(struct ctl *c, const struct config_change *ch,
			const char *password, json_t *j)
{
	json_t *spec = json_object_get(j, "spec");
	unsigned long long v;

	if (!spec) {
		spec = json_object();
		json_object_set_new(j, "spec", spec);
	}
	if (ch->as) {
		if (parse_u64(ch->as, 4294967295ull, &v) < 0 || v == 0)
			return ctl_usage_err(c, "--as %s: an AS number 1..4294967295", ch->as);
		json_object_set_new(spec, "asNumber", json_integer((json_int_t)v));
	}
	if (ch->mesh) {
		if (strcmp(ch->mesh, "on") && strcmp(ch->mesh, "off"))
			return ctl_usage_err(c, "--mesh %s: on or off", ch->mesh);
		json_object_set_new(spec, "nodeToNodeMesh",
				    json_boolean(!strcmp(ch->mesh, "on")));
	}
	if (ch->communities) {
		json_t *a = json_array();
		char *dup = strdup(ch->communities), *save = NULL;

		for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t;
		     t = strtok_r(NULL, ",", &save))
			json_array_append_new(a, json_string(t));
		free(dup);
		if (json_array_size(a))
			json_object_set_new(spec, "communities", a);
		else {
			json_decref(a);
			json_object_del(spec, "communities");
		}
	}
	if (ch->gr) {
		if (parse_u64(ch->gr, 4095, &v) < 0 || v == 0)
			return ctl_usage_err(c, "--graceful-restart %s: seconds 1..4095", ch->gr);
		json_object_set_new(spec, "gracefulRestartTime", json_integer((json_int_t)v));
	}
	if (ch->port) {
		if (parse_u64(ch->port, 65535, &v) < 0 || v == 0)
			return ctl_usage_err(c, "--listen-port %s: a port 1..65535", ch->port);
		json_object_set_new(spec, "listenPort", json_integer((json_int_t)v));
	}
	if (ch->level)
		json_object_set_new(spec, "logLevel", json_string(ch->level));
	if (password)
		json_object_set_new(spec, "meshPassword", json_string(password));
	if (ch->no_pw)
		json_object_del(spec, "meshPassword");
	return CTL_OK;
}

static int config_set(struct ctl *c, int argc, char **argv)
{
	enum { O_AS = 256, O_MESH, O_COMM, O_GR, O_PORT, O_LVL, O_PWF, O_NOPW };
	static const struct option lo[] = {
		{ "as", required_argument, NULL, O_AS },
		{ "mesh", required_argument, NULL, O_MESH },
		{ "communities", required_argument, NULL, O_COMM },
		{ "graceful-restart", required_argument, NULL, O_GR },
		{ "listen-port", required_argument, NULL, O_PORT },
		{ "log-level", required_argument, NULL, O_LVL },
		{ "mesh-password-file", required_argument, NULL, O_PWF },
		{ "no-mesh-password", no_argument, NULL, O_NOPW },
		CTL_LONGOPTS
	};
	struct config_change ch = { 0 };
	char key[RES_KEY_MAX], *password = NULL;
	int opt, r, rc = CTL_ERR;
	bool any = false;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		switch (opt) {
		case O_AS: ch.as = optarg; any = true; break;
		case O_MESH: ch.mesh = optarg; any = true; break;
		case O_COMM: ch.communities = optarg; any = true; break;
		case O_GR: ch.gr = optarg; any = true; break;
		case O_PORT: ch.port = optarg; any = true; break;
		case O_LVL: ch.level = optarg; any = true; break;
		case O_PWF: ch.pwf = optarg; any = true; break;
		case O_NOPW: ch.no_pw = true; any = true; break;
		default:
			if (!ctl_opt_common(c, opt, usage_bgp, argv, &r))
				return r;
		}
	}
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (!any)
		return ctl_usage_err(c, "nothing to set (see --help)");
	if (ch.pwf && ch.no_pw)
		return ctl_usage_err(c, "--mesh-password-file and --no-mesh-password "
				     "exclude each other");
	{
		/* Usage errors before anything is read. */
		json_t *probe = json_object();

		r = probe ? config_patch(c, &ch, NULL, probe) : CTL_ERR;
		json_decref(probe);
		if (r != CTL_OK)
			return r;
	}
	if (ch.pwf && (r = read_secret(ch.pwf, &password)) < 0) {
		log_err("reading the password file %s: %s", ch.pwf,
			r == -EINVAL ? "empty" : strerror(-r));
		return CTL_ERR;
	}
	if (ctl_ds(c) != CTL_OK)
		goto out;
	res_key(RES_BGPCONFIG, BGPCONFIG_NAME, key, sizeof(key));
	/* Read, change, compare-and-swap; again when someone else wrote. */
	for (int tries = 0; tries < BGP_SET_TRIES; tries++) {
		struct resource old = { 0 }, nw = { 0 };
		struct ds_kv kv = { 0 };
		struct errs e = ERRS_INIT;
		char *text = NULL, *oldtext = NULL;
		bool exists;
		json_t *j;

		if (config_read(c, &old, &kv, &exists) != CTL_OK)
			goto out;
		j = res_to_json(&old);
		if (j)
			json_object_del(json_object_get(j, "metadata"), "revision");
		if (!j || config_patch(c, &ch, password, j) != CTL_OK) {
			json_decref(j);
			res_clear(&old);
			ds_kv_clear(&kv);
			goto out;
		}
		nw.kind = RES_BGPCONFIG;
		r = bgpconfig_from_json(j, NULL, NULL, &nw.u.bgpconfig, &e);
		json_decref(j);	/* holds the password: decref'd, never printed */
		if (r < 0) {
			print_secret_errs("bgpconfiguration default", &e);
			res_clear(&old);
			ds_kv_clear(&kv);
			goto out;
		}
		text = res_to_text(&nw);
		oldtext = exists ? res_to_text(&old) : NULL;
		if (!text)
			r = -ENOMEM;
		else if (oldtext && !strcmp(text, oldtext))
			r = 1;
		else if (exists)
			r = ds_update(c->ds, key, text, kv.mod_rev, NULL);
		else
			r = ds_create(c->ds, key, text, NULL);
		secret_free(text);
		secret_free(oldtext);
		res_clear(&old);
		res_clear(&nw);
		ds_kv_clear(&kv);
		if (r >= 0) {
			printf("bgpconfiguration/%s %s\n", BGPCONFIG_NAME,
			       r == 1 ? "unchanged" : exists ? "configured" : "created");
			rc = CTL_OK;
			goto out;
		}
		if (r != -EEXIST && r != -ECANCELED && r != -ENOENT) {
			log_err("bgpconfiguration %s: %s (%s)", BGPCONFIG_NAME,
				r == -ENOMEM ? "out of memory" : ds_strerror(r),
				ds_last_error(c->ds));
			goto out;
		}
	}
	log_err("bgpconfiguration %s: changed by others %d times while updating it; "
		"nothing written, try again", BGPCONFIG_NAME, BGP_SET_TRIES);
out:
	secret_free(password);
	return rc;
}

static int cmd_bgp_config(struct ctl *c, int argc, char **argv)
{
	int sub = ctl_find_subverb(argc, argv);
	char **v;
	int r;

	if (sub < 0)
		return config_show(c, argc, argv);
	if (strcmp(argv[sub], "set"))
		return ctl_usage_err(c, "unknown sub-command '%s' (set, or none to show)",
				     argv[sub]);
	v = ctl_sub_argv(argc, argv, sub);
	if (!v) {
		log_err("out of memory");
		return CTL_ERR;
	}
	c->verb = "bgp config set";
	r = config_set(c, argc - 1, v);
	free(v);
	return r;
}

int cmd_bgp(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "peer", "peers", "bgp peer", cmd_bgp_peer },
		{ "config", "configuration", "bgp config", cmd_bgp_config },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_bgp);
}
