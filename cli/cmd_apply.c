/*
 * Resources: apply and delete (get: cmd_get.c).
 *
 * apply is parse, validate, commit: every document of the stream is decoded
 * and checked (its fields, its kind, duplicates in the stream, and against
 * the store: an existing pool's CIDR and block size cannot change, a new
 * pool may not overlap another), every error printed as
 * file:line:col: field: message; only when there is none is anything
 * written. Each write is a compare-and-swap on the revision read during
 * validation (a new IPPool goes through ipam_pool_create for its overlap
 * check under concurrency). Users apply IPPool, Node, BGPPeer,
 * BGPConfiguration, NetworkPolicy, HostEndpoint and Network (whose pool
 * must be an IP pool stored or earlier in the input); workloads and IPAM
 * state have their own verbs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "common/yamljson.h"
#include "ipam/ipam.h"

#define APPLY_INPUT_MAX (16u << 20)

/* Reads a whole file ("-": stdin). 0, or -errno (-EFBIG over the cap). */
static int read_input(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	*out = NULL;
	*len = 0;
	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 16384;
			if (cap > APPLY_INPUT_MAX + 4096 + 1) {
				r = -EFBIG;
				break;
			}
			p = realloc(buf, cap);
			if (!p) {
				r = -ENOMEM;
				break;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				r = -EIO;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static const char *input_label(const char *path)
{
	return strcmp(path, "-") ? path : "<stdin>";
}

/* The datastore key of a resource. */
static int res_key_of(const struct resource *r, char *key, size_t len)
{
	char name[2 * RES_NAME_MAX + IPAMHANDLE_ID_MAX];

	res_name(r, name, sizeof(name));
	return res_key(r->kind, name, key, len);
}

/* Position of doc's field at path "a.b" (best effort: 0/0 when unknown). */
static void doc_pos(const struct ydoc *d, const char *obj, const char *key,
		    int *line, int *col)
{
	const json_t *o = obj ? json_object_get(d->root, obj) : d->root;

	*line = d->line;
	*col = d->col;
	if (o && ydoc_pos_key(d, o, key, line, col) < 0) {
		*line = d->line;
		*col = d->col;
	}
}

struct apply_item {
	struct ydoc *doc;
	struct resource res;
	bool decoded;
	bool exists;
	struct ds_kv kv;		/* the stored one, when exists */
	enum { AP_CREATE, AP_UPDATE, AP_SAME } action;
};

static const char usage_apply[] =
	"usage: petrelctl apply -f FILE|- [--dry-run]\n"
	"\n"
	"Creates or updates every document of a YAML stream (kinds IPPool, Node,\n"
	"BGPPeer, BGPConfiguration, NetworkPolicy, Network). All documents are\n"
	"validated first (BGPPeer: also another BGPPeer at its address, or this\n"
	"node's own address; Network: its pool must exist); on any\n"
	"error nothing is written and each error is printed as\n"
	"file:line:col: field: message. A password given as \"***\" (what get\n"
	"prints) keeps the stored one.\n"
	"Prints KIND/NAME created|configured|unchanged.\n"
	"  -f, --filename FILE   the documents (- for stdin)\n"
	"  --dry-run             validate (against the store too), write nothing\n";

/* The kinds a user may apply; others get a message naming who makes them. */
static const char *apply_refusal(const char *kind)
{
	int k = kind ? res_kind_parse(kind) : -1;

	if (!kind || k < 0 || strcmp(kind, res_kind_name((enum res_kind)k)))
		return NULL;	/* unknown or misspelt: the decoder says so */
	switch (k) {
	case RES_WEP:
		return "WorkloadEndpoints are created by petrelctl run or the CNI plugin";
	case RES_IPAMBLOCK:
	case RES_IPAMHANDLE:
		return "IPAM state is managed by IPAM (petrelctl ipam release frees addresses)";
	default:
		return NULL;
	}
}

/* Decodes and checks document i; errors into e. */
static void apply_decode(const char *file, struct apply_item *it, size_t i,
			 struct errs *e)
{
	struct ydoc *d = it[i].doc;
	const char *kind = json_string_value(json_object_get(d->root, "kind"));
	const char *why = apply_refusal(kind);
	int line, col;

	if (why) {
		doc_pos(d, NULL, "kind", &line, &col);
		errs_addpos(e, file, line, col, "kind: %s", why);
		return;
	}
	if (res_from_json(d->root, d, file, &it[i].res, e) < 0)
		return;
	it[i].decoded = true;
	/* The same object twice in one stream: which one wins? Refuse. */
	for (size_t j = 0; j < i; j++) {
		char a[RES_KEY_MAX], b[RES_KEY_MAX], name[2 * RES_NAME_MAX];

		if (!it[j].decoded || it[j].res.kind != it[i].res.kind)
			continue;
		res_key_of(&it[i].res, a, sizeof(a));
		res_key_of(&it[j].res, b, sizeof(b));
		if (strcmp(a, b))
			continue;
		res_name(&it[i].res, name, sizeof(name));
		doc_pos(d, "metadata", "name", &line, &col);
		errs_addpos(e, file, line, col,
			    "metadata.name: %s/%s appears twice in this input "
			    "(also at line %d)", out_kind_lower(it[i].res.kind), name,
			    it[j].doc->line);
		it[i].decoded = false;
	}
}

/* A secret field holding CTL_SECRET_MASK (a document `get` printed, applied
 * back) keeps the stored secret; with none stored it is an error. */
static void unmask_one(char **v, const char *stored, const char *file,
		       struct apply_item *it, const char *field, struct errs *e)
{
	int line, col;

	if (!*v || strcmp(*v, CTL_SECRET_MASK))
		return;
	free(*v);
	*v = stored ? strdup(stored) : NULL;
	if (!stored || !*v) {
		doc_pos(it->doc, "spec", field, &line, &col);
		errs_addpos(e, file, line, col, "spec.%s: \"%s\" is the mask get prints "
			    "instead of a password, and none is stored to keep; give "
			    "the password", field, CTL_SECRET_MASK);
	}
}

static void apply_unmask(const char *file, struct apply_item *it,
			 const struct resource *old, struct errs *e)
{
	bool same = old && old->kind == it->res.kind;

	if (it->res.kind == RES_BGPPEER)
		unmask_one(&it->res.u.bgppeer.password,
			   same ? old->u.bgppeer.password : NULL, file, it, "password", e);
	else if (it->res.kind == RES_BGPCONFIG)
		unmask_one(&it->res.u.bgpconfig.mesh_password,
			   same ? old->u.bgpconfig.mesh_password : NULL, file, it,
			   "meshPassword", e);
}

/* BGPPeer i against the other peers (stored, and earlier in this input)
 * and this node's own address. */
static int apply_check_bgppeer(struct ctl *c, const char *file,
			       struct apply_item *it, size_t i, struct errs *e)
{
	const struct bgppeer **extra = calloc(i ? i : 1, sizeof(*extra));
	struct errs pe = ERRS_INIT;
	size_t n = 0;
	int line, col, rc;

	if (!extra) {
		log_err("out of memory");
		return CTL_ERR;
	}
	for (size_t j = 0; j < i; j++)
		if (it[j].decoded && it[j].res.kind == RES_BGPPEER)
			extra[n++] = &it[j].res.u.bgppeer;
	rc = ctl_bgppeer_check(c, &it[i].res.u.bgppeer, extra, n, &pe);
	doc_pos(it[i].doc, "spec", "peerIP", &line, &col);
	for (size_t k = 0; k < pe.n; k++)
		errs_addpos(e, file, line, col, "%s", pe.msg[k]);
	errs_clear(&pe);
	free(extra);
	return rc;
}

/* Network i: its pool must be an IP pool, stored or earlier in the input
 * (a network whose members could get no address is a mistake now, not at
 * the first `petrelctl run`). */
static void apply_check_network(const char *file, struct apply_item *it,
				size_t i, const struct ippool *pools, size_t npools,
				struct errs *e)
{
	const char *pool = it[i].res.u.network.pool;
	int line, col;

	if (!pool[0])
		return;
	for (size_t k = 0; k < npools; k++)
		if (!strcmp(pools[k].name, pool))
			return;
	for (size_t j = 0; j < i; j++)
		if (it[j].decoded && it[j].res.kind == RES_IPPOOL &&
		    !strcmp(it[j].res.u.pool.name, pool))
			return;
	doc_pos(it[i].doc, "spec", "pool", &line, &col);
	errs_addpos(e, file, line, col, "spec.pool: no IP pool \"%s\" (apply it "
		    "first, or put it before this document)", pool);
}

/* Checks document i against the store (pools: the IP pools stored): what
 * it would do, and what may not change. CTL_ERR when the store fails. */
static int apply_check_store(struct ctl *c, const char *file,
			     struct apply_item *it, size_t i,
			     const struct ippool *pools, size_t npools, struct errs *e)
{
	char key[RES_KEY_MAX];
	struct resource old = { 0 };
	struct errs oe = ERRS_INIT;
	int line, col, r;

	if (res_key_of(&it[i].res, key, sizeof(key)) < 0) {
		errs_addpos(e, file, it[i].doc->line, it[i].doc->col,
			    "metadata.name: too long");
		return CTL_OK;
	}
	r = ds_get(c->ds, key, &it[i].kv);
	if (r < 0 && r != -ENOENT) {
		log_err("reading %s: %s (%s)", key, ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	it[i].exists = r == 0;
	if (!it[i].exists) {
		apply_unmask(file, &it[i], NULL, e);
		it[i].action = AP_CREATE;
	} else if (res_from_text(it[i].res.kind, it[i].kv.value, it[i].kv.mod_rev,
				 &old, &oe) < 0) {
		/* A broken stored document: replace it. */
		errs_clear(&oe);
		apply_unmask(file, &it[i], NULL, e);
		it[i].action = AP_UPDATE;
	} else {
		apply_unmask(file, &it[i], &old, e);
		char *a = res_to_text(&it[i].res), *b = res_to_text(&old);

		it[i].action = a && b && !strcmp(a, b) ? AP_SAME : AP_UPDATE;
		free(a);
		free(b);
	}
	if (it[i].res.kind == RES_IPPOOL && it[i].res.u.pool.v6) {
		char msg[256];

		/* the library takes it, the data path not yet: refused whole */
		ippool_v6_refusal(it[i].res.u.pool.name, msg, sizeof(msg));
		doc_pos(it[i].doc, "spec", "cidr", &line, &col);
		errs_addpos(e, file, line, col, "spec.cidr: %s", msg);
	} else if (it[i].res.kind == RES_IPPOOL) {
		const struct ippool *p = &it[i].res.u.pool;
		char nb[IP4_NETSTRLEN], ob[IP6_NETSTRLEN];

		if (it[i].exists && old.kind == RES_IPPOOL) {
			const struct ippool *o = &old.u.pool;

			if (o->v6 || o->cidr.addr != p->cidr.addr || o->cidr.len != p->cidr.len) {
				doc_pos(it[i].doc, "spec", "cidr", &line, &col);
				errs_addpos(e, file, line, col,
					    "spec.cidr: IP pool %s is %s; the CIDR of "
					    "an existing pool cannot change (delete it "
					    "and create a new one)", p->name,
					    o->v6 ? ip6_net_fmt(&o->cidr6, ob) :
					    ip4_net_fmt(&o->cidr, ob));
			}
			if (o->block_size != p->block_size) {
				doc_pos(it[i].doc, "spec", "blockSize", &line, &col);
				errs_addpos(e, file, line, col,
					    "spec.blockSize: IP pool %s has blockSize "
					    "%d; it cannot change", p->name,
					    o->block_size);
			}
		}
		for (size_t k = 0; k < npools; k++) {
			if (!strcmp(pools[k].name, p->name) ||
			    !ip4_net_overlaps(&pools[k].cidr, &p->cidr))
				continue;
			doc_pos(it[i].doc, "spec", "cidr", &line, &col);
			errs_addpos(e, file, line, col,
				    "spec.cidr: %s overlaps IP pool %s (%s)",
				    ip4_net_fmt(&p->cidr, nb), pools[k].name,
				    ip4_net_fmt(&pools[k].cidr, ob));
		}
		for (size_t j = 0; j < i; j++) {
			const struct ippool *q = &it[j].res.u.pool;

			if (!it[j].decoded || it[j].res.kind != RES_IPPOOL ||
			    q->v6 || !strcmp(q->name, p->name) ||
			    !ip4_net_overlaps(&q->cidr, &p->cidr))
				continue;
			doc_pos(it[i].doc, "spec", "cidr", &line, &col);
			errs_addpos(e, file, line, col,
				    "spec.cidr: %s overlaps IP pool %s (%s, line %d)",
				    ip4_net_fmt(&p->cidr, nb), q->name,
				    ip4_net_fmt(&q->cidr, ob), it[j].doc->line);
		}
	}
	res_clear(&old);
	if (it[i].res.kind == RES_NETWORK)
		apply_check_network(file, it, i, pools, npools, e);
	if (it[i].res.kind == RES_BGPPEER)
		return apply_check_bgppeer(c, file, it, i, e);
	return CTL_OK;
}

static const char *res_short_name(const struct resource *r, char *buf, size_t len)
{
	res_name(r, buf, len);
	return buf;
}

static int apply_write(struct ctl *c, struct apply_item *it)
{
	char key[RES_KEY_MAX], name[2 * RES_NAME_MAX + IPAMHANDLE_ID_MAX];
	const char *kind = out_kind_lower(it->res.kind);
	struct errs e = ERRS_INIT;
	char *text = NULL;
	int r;

	res_short_name(&it->res, name, sizeof(name));
	if (it->action == AP_SAME) {
		printf("%s/%s unchanged\n", kind, name);
		return CTL_OK;
	}
	res_key_of(&it->res, key, sizeof(key));
	if (it->action == AP_CREATE && it->res.kind == RES_IPPOOL) {
		r = ipam_pool_create(c->ds, &it->res.u.pool, &e);
	} else {
		text = res_to_text(&it->res);
		if (!text) {
			log_err("%s/%s: out of memory", kind, name);
			return CTL_ERR;
		}
		if (it->action == AP_CREATE)
			r = ds_create(c->ds, key, text, NULL);
		else
			r = ds_update(c->ds, key, text, it->kv.mod_rev, NULL);
		free(text);
	}
	if (r == 0) {
		printf("%s/%s %s\n", kind, name,
		       it->action == AP_CREATE ? "created" : "configured");
		errs_clear(&e);
		return CTL_OK;
	}
	if (e.n) {
		for (size_t i = 0; i < e.n; i++)
			log_err("%s/%s: %s", kind, name, e.msg[i]);
		errs_clear(&e);
	} else if (r == -EEXIST || r == -ECANCELED || r == -ENOENT) {
		log_err("%s/%s: changed by someone else since it was read (%s); "
			"nothing written for it, apply again", kind, name, ds_strerror(r));
	} else {
		log_err("%s/%s: %s", kind, name,
			ctl_strerror(r));
	}
	return CTL_ERR;
}

int cmd_apply(struct ctl *c, int argc, char **argv)
{
	enum { O_DRY = 256 };
	static const struct option lo[] = {
		{ "filename", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, O_DRY },
		CTL_LONGOPTS
	};
	struct errs e = ERRS_INIT;
	struct ydoc *docs = NULL;
	struct apply_item *it = NULL;
	struct ippool *pools = NULL;
	size_t npools = 0;
	const char *path = NULL, *file;
	bool dry = false;
	char *buf = NULL;
	size_t len, n = 0;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":f:" CTL_SHORTOPTS, lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			path = optarg;
			break;
		case O_DRY:
			dry = true;
			break;
		default:
			if (!ctl_opt_common(c, opt, usage_apply, argv, &r))
				return r;
		}
	}
	if (!path)
		return ctl_usage_err(c, "-f FILE is required (- for stdin)");
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	file = input_label(path);
	r = read_input(path, &buf, &len);
	if (r < 0) {
		log_err("reading %s: %s", file, r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
		return CTL_ERR;
	}
	r = yaml_load(file, buf, len, &docs, &n, &e);
	if (r < 0) {
		if (!e.n)
			log_err("%s: %s", file, strerror(-r));
		ctl_print_errs(&e);
		goto out;
	}
	if (n == 0) {
		log_err("%s: no document", file);
		goto out;
	}
	it = calloc(n, sizeof(*it));
	if (!it) {
		log_err("out of memory");
		goto out;
	}
	if (ctl_ds(c) != CTL_OK)
		goto out;
	r = ipam_pools_list(c->ds, &pools, &npools);
	if (r < 0) {
		log_err("listing IP pools: %s", ctl_strerror(r));
		goto out;
	}
	/* Document by document, so that errors come out in the input's order. */
	for (size_t i = 0; i < n; i++) {
		it[i].doc = &docs[i];
		apply_decode(file, it, i, &e);
		if (it[i].decoded &&
		    apply_check_store(c, file, it, i, pools, npools, &e) != CTL_OK)
			goto out;
	}
	if (e.n) {
		ctl_print_errs(&e);
		goto out;
	}
	rc = CTL_OK;
	for (size_t i = 0; i < n; i++) {
		char name[2 * RES_NAME_MAX + IPAMHANDLE_ID_MAX];

		if (dry) {
			static const char *const what[] = { "created", "configured",
							    "unchanged" };

			printf("%s/%s %s (dry run)\n", out_kind_lower(it[i].res.kind),
			       res_short_name(&it[i].res, name, sizeof(name)),
			       what[it[i].action]);
			continue;
		}
		if (apply_write(c, &it[i]) != CTL_OK)
			rc = CTL_ERR;
	}
out:
	for (size_t i = 0; it && i < n; i++) {
		res_clear(&it[i].res);
		ds_kv_clear(&it[i].kv);
	}
	free(it);
	for (size_t k = 0; k < npools; k++)
		ippool_clear(&pools[k]);
	free(pools);
	ydocs_free(docs, n);
	errs_clear(&e);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- delete */

static const char usage_delete[] =
	"usage: petrelctl delete KIND NAME\n"
	"       petrelctl delete -f FILE|-\n"
	"\n"
	"Deletes an IPPool (refused while it has allocated addresses: see\n"
	"pool rm --force), a Node, a BGPPeer, the BGPConfiguration (BGP then\n"
	"runs with the defaults), a NetworkPolicy or a Network (refused while a\n"
	"workload is in it). Workloads: petrelctl rm. A missing resource is an\n"
	"error.\n";

/* CTL_ERR (said why) when a workload is in network name: like `docker
 * network rm`, which refuses while endpoints are attached. */
static int network_in_use(struct ctl *c, const char *name)
{
	struct ds_kv *kvs = NULL;
	char key[RES_KEY_MAX];
	size_t nkv = 0, used = 0;
	const char *first = NULL;
	int64_t rev;
	int r;

	r = res_prefix(RES_WEP, NULL, key, sizeof(key));
	if (r == 0)
		r = ds_list(c->ds, key, &kvs, &nkv, &rev);
	if (r < 0) {
		log_err("listing workloads: %s (%s)", ds_strerror(r), ds_last_error(c->ds));
		return CTL_ERR;
	}
	for (size_t i = 0; i < nkv; i++) {
		struct resource res = { 0 };
		struct errs e = ERRS_INIT;
		const struct wep *w = &res.u.wep;

		if (res_from_text(RES_WEP, kvs[i].value, kvs[i].mod_rev, &res, &e) < 0) {
			errs_clear(&e);
			continue;
		}
		for (size_t n = 0; n < w->n_networks; n++) {
			if (strcmp(w->networks[n], name))
				continue;
			if (!used++)
				first = kvs[i].key + strlen(key);
			break;
		}
		res_clear(&res);
	}
	if (used)
		log_err("network %s is in use by %zu workload%s (%s%s); remove them "
			"first", name, used, used == 1 ? "" : "s", first,
			used > 1 ? ", ..." : "");
	ds_kvs_free(kvs, nkv);
	return used ? CTL_ERR : CTL_OK;
}

static int delete_one(struct ctl *c, enum res_kind k, const char *name)
{
	const char *kind = out_kind_lower(k);
	char key[RES_KEY_MAX];
	int r;

	switch (k) {
	case RES_IPPOOL:
		r = ipam_pool_delete(c->ds, name, 0);
		if (r == -ENOENT) {
			log_err("no ippool %s", name);
			return CTL_ERR;
		}
		if (r == IPAM_EPOOLUSED) {
			log_err("ippool %s still has allocated addresses; remove the "
				"workloads first, or `petrelctl pool rm %s --force`", name, name);
			return CTL_ERR;
		}
		if (r < 0) {
			log_err("deleting ippool %s: %s", name,
				ctl_strerror(r));
			return CTL_ERR;
		}
		break;
	case RES_NETWORK:
		r = network_in_use(c, name);
		if (r != CTL_OK)
			return r;
		/* fall through */
	case RES_NODE:
	case RES_BGPPEER:
	case RES_BGPCONFIG:
	case RES_NETPOLICY:
	case RES_HOSTEP:
		if (ctl_get_key(c, k, name, key, sizeof(key)) < 0) {
			log_err("no %s %s", kind, name);
			return CTL_ERR;
		}
		r = ds_delete(c->ds, key, 0);
		if (r == -ENOENT) {
			log_err("no %s %s", kind, name);
			return CTL_ERR;
		}
		if (r < 0) {
			log_err("deleting %s %s: %s (%s)", kind, name, ds_strerror(r),
				ds_last_error(c->ds));
			return CTL_ERR;
		}
		break;
	case RES_WEP:
		log_err("%s %s: workloads are removed with petrelctl rm (or the CNI "
			"plugin)", kind, name);
		return CTL_ERR;
	default:
		log_err("%s %s: IPAM state is managed by IPAM (petrelctl ipam release "
			"frees addresses)", kind, name);
		return CTL_ERR;
	}
	printf("%s/%s deleted\n", kind, name);
	return CTL_OK;
}

int cmd_delete(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "filename", required_argument, NULL, 'f' },
		CTL_LONGOPTS
	};
	const char *path = NULL, *file;
	struct errs e = ERRS_INIT;
	struct ydoc *docs = NULL;
	struct resource *res = NULL;
	size_t len, n = 0;
	char *buf = NULL;
	int opt, r, k, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":f:" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == 'f') {
			path = optarg;
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_delete, argv, &r))
			return r;
	}
	if (!path) {
		if (argc - optind < 2)
			return ctl_usage_err(c, "KIND and NAME are required (or -f FILE)");
		if (argc - optind > 2)
			return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 2]);
		k = res_kind_parse(argv[optind]);
		if (k < 0)
			return ctl_usage_err(c, "unknown kind '%s'", argv[optind]);
		if (ctl_ds(c) != CTL_OK)
			return CTL_ERR;
		return delete_one(c, (enum res_kind)k, argv[optind + 1]);
	}
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s' (with -f)", argv[optind]);
	file = input_label(path);
	r = read_input(path, &buf, &len);
	if (r < 0) {
		log_err("reading %s: %s", file, r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
		return CTL_ERR;
	}
	if (yaml_load(file, buf, len, &docs, &n, &e) < 0) {
		ctl_print_errs(&e);
		goto out;
	}
	res = calloc(n ? n : 1, sizeof(*res));
	if (!res) {
		log_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		res_from_json(docs[i].root, &docs[i], file, &res[i], &e);
	if (e.n) {
		ctl_print_errs(&e);
		goto out;
	}
	if (ctl_ds(c) != CTL_OK)
		goto out;
	rc = CTL_OK;
	for (size_t i = 0; i < n; i++) {
		char name[2 * RES_NAME_MAX + IPAMHANDLE_ID_MAX];

		res_name(&res[i], name, sizeof(name));
		if (delete_one(c, res[i].kind, name) != CTL_OK)
			rc = CTL_ERR;
	}
out:
	ctl_res_free(res, n);
	ydocs_free(docs, n);
	errs_clear(&e);
	free(buf);
	return rc;
}
