/*
 * petrelctl: the operator's CLI (docs/cli.md is its contract).
 *
 * This file: global options, verb dispatch, and what every verb shares
 * (option handling, config loading, entering the node's namespace, the
 * datastore, workload lookups). Exit codes: 0 ok, 1 error, 2 usage.
 *
 * Order of work: arguments first (help and usage errors need nothing else),
 * then the config, then setns into the node's namespace when the config
 * names one (before any socket is opened, so every netlink socket and every
 * namespace made is relative to the node), then the datastore.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/petrelctl.h"
#include "ipam/ipam.h"
#include "common/log.h"
#include "common/netns.h"

static const char usage_main[] =
	"usage: petrelctl [-c FILE] [-o table|wide|yaml|json] VERB [ARGS...]\n"
	"\n"
	"Resources:\n"
	"  apply -f FILE|- [--dry-run]   create or update IPPool, Node, BGPPeer,\n"
	"                                BGPConfiguration, NetworkPolicy, Network and\n"
	"                                HostEndpoint documents\n"
	"  get KIND [NAME]               list or show (ippool, node, workloadendpoint,\n"
	"                                ipamblock, ipamhandle, bgppeer, bgpconfiguration,\n"
	"                                networkpolicy, network, hostendpoint)\n"
	"  delete KIND NAME | -f FILE    delete\n"
	"  pool create|ls|rm             IP pools\n"
	"Workloads:\n"
	"  run --name NAME [--network routed|host|none|container:OTHER|NETWORK]...\n"
	"      [-p [IP:][HOSTPORT:]PORT[/PROTO]]... [--expose PORT[/PROTO]]... [-P]\n"
	"      [--ip ADDR] [--label k=v]... [--no-wait]\n"
	"  exec NAME -- CMD [ARGS...]    run CMD in NAME's network namespace\n"
	"  rm NAME... [--force] [--no-wait]\n"
	"  ls                            this node's workloads\n"
	"  inspect NAME                  a workload's WorkloadEndpoint document\n"
	"  port NAME [PORT[/PROTO]]      a workload's published ports\n"
	"Networks and policy:\n"
	"  network create|ls|inspect|rm  named networks\n"
	"  policy apply|get|rm           NetworkPolicy\n"
	"  nft [NAME]                    the nftables rules felix programmed\n"
	"IPAM:\n"
	"  ipam show [--show-blocks] | ipam check | ipam release ADDR...|--leaked\n"
	"BGP:\n"
	"  bgp peer add|ls|rm            BGP peers (BGPPeer)\n"
	"  bgp config [set ...]          the cluster's BGP settings (BGPConfiguration)\n"
	"  node status [--routes]        felix, BIRD and the BGP sessions of this node\n"
	"  node rm NAME [--force]        a node gone for good, out of the datastore\n"
	"Datastore:\n"
	"  datastore migrate --from URL --to URL   copy a store into an empty one\n"
	"felix:\n"
	"  status                        felix's state on this node\n"
	"\n"
	"Options (also accepted after the verb):\n"
	"  -c, --config FILE   the node's config (default $PETREL_CONFIG, else\n"
	"                      " CONFIG_DEFAULT_PATH "; missing = defaults)\n"
	"  -o, --output FMT    table (default), wide, yaml or json\n"
	"  -h, --help          this text; VERB --help: the verb's\n"
	"\n"
	"Exit status: 0 ok, 1 error, 2 usage.\n";

struct verb {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
};

static const struct verb verbs[] = {
	{ "apply", cmd_apply },
	{ "get", cmd_get },
	{ "delete", cmd_delete },
	{ "pool", cmd_pool },
	{ "run", cmd_run },
	{ "rm", cmd_rm },
	{ "exec", cmd_exec },
	{ "ls", cmd_ls },
	{ "inspect", cmd_inspect },
	{ "ipam", cmd_ipam },
	{ "status", cmd_status },
	{ "bgp", cmd_bgp },
	{ "node", cmd_node },
	{ "network", cmd_network },
	{ "port", cmd_port },
	{ "policy", cmd_policy },
	{ "nft", cmd_nft },
	{ "datastore", cmd_datastore },
};

void ctl_getopt_reset(void)
{
	optind = 0;	/* GNU: 0 re-initialises getopt's internal state */
	opterr = 0;	/* we print our own messages */
}

int ctl_usage_err(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "petrelctl%s%s: ", c->verb ? " " : "", c->verb ? c->verb : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'petrelctl%s%s --help'.\n", c->verb ? " " : "",
		c->verb ? c->verb : "");
	return CTL_USAGE;
}

int ctl_parse_output(struct ctl *c, const char *s)
{
	static const char *names[] = { "table", "wide", "yaml", "json" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			c->out = (enum out_fmt)i;
			c->out_set = true;
			return 0;
		}
	return -EINVAL;
}

bool ctl_opt_common(struct ctl *c, int opt, const char *usage, char **argv, int *rc)
{
	switch (opt) {
	case 'c':
		c->conf_path = optarg;
		return true;
	case 'o':
		if (ctl_parse_output(c, optarg) == 0)
			return true;
		*rc = ctl_usage_err(c, "-o %s: unknown output format (table, wide, yaml "
				    "or json)", optarg);
		return false;
	case 'h':
		fputs(usage, stdout);
		*rc = CTL_OK;
		return false;
	case ':':
		*rc = ctl_usage_err(c, "option '%s' needs an argument", argv[optind - 1]);
		return false;
	case '?':
		/* A short option: optopt is it; a long one: argv names it
		 * (also "--flag=value" for a flag that takes no value). */
		if (optopt > 0 && optopt < 128 && argv[optind - 1][1] != '-')
			*rc = ctl_usage_err(c, "unknown option '-%c'", optopt);
		else if (optopt)
			*rc = ctl_usage_err(c, "option '%s' takes no value", argv[optind - 1]);
		else
			*rc = ctl_usage_err(c, "unknown option '%s'", argv[optind - 1]);
		return false;
	default:
		*rc = CTL_USAGE;
		return false;
	}
}

const char *ctl_strerror(int r)
{
	return ipam_strerror(r);	/* which knows ds_strerror's and errno's */
}

void ctl_print_errs(struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "%s\n", e->msg[i]);
	if (e->lost)
		fprintf(stderr, "%s%zu error%s not shown: out of memory\n",
			e->n ? "and " : "", e->lost, e->lost == 1 ? "" : "s");
	errs_clear(e);
}

int ctl_find_subverb(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))
			return i + 1 < argc ? i + 1 : -1;
		if (a[0] != '-' || !a[1])
			return i;
		if (!strcmp(a, "-c") || !strcmp(a, "-o") || !strcmp(a, "--config") ||
		    !strcmp(a, "--output"))
			i++;
	}
	return -1;
}

char **ctl_sub_argv(int argc, char **argv, int sub)
{
	char **v = calloc((size_t)argc + 1, sizeof(*v));

	if (!v)
		return NULL;
	for (int i = 0, k = 0; i < argc; i++)
		if (i != sub)
			v[k++] = argv[i];
	return v;
}

int ctl_parse_common_only(struct ctl *c, int argc, char **argv, const char *usage)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (!ctl_opt_common(c, opt, usage, argv, &r))
			return r;
	}
	return -1;
}

int ctl_run_sub(struct ctl *c, int argc, char **argv, const struct ctl_sub *subs,
		size_t n, const char *usage)
{
	int sub = ctl_find_subverb(argc, argv), r;
	char **v;

	if (sub < 0) {
		r = ctl_parse_common_only(c, argc, argv, usage);
		if (r >= 0)
			return r;
		return ctl_usage_err(c, "which sub-command?");
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[sub], subs[i].name) &&
		    !(subs[i].alias && !strcmp(argv[sub], subs[i].alias)))
			continue;
		v = ctl_sub_argv(argc, argv, sub);
		if (!v) {
			log_err("out of memory");
			return CTL_ERR;
		}
		c->verb = subs[i].verb;
		r = subs[i].fn(c, argc - 1, v);
		free(v);
		return r;
	}
	return ctl_usage_err(c, "unknown sub-command '%s'", argv[sub]);
}

int ctl_setup(struct ctl *c)
{
	struct errs e = ERRS_INIT;
	int r;

	if (c->ready)
		return CTL_OK;
#ifdef PETREL_FUZZ
	/* The CLI fuzzer exercises argument parsing only: nothing past this
	 * point (config, namespaces, datastore) may be touched. */
	return CTL_ERR;
#endif
	r = config_load(c->conf_path, &c->cfg, &e);
	if (r < 0) {
		if (e.n == 0)
			log_err("reading the config %s: %s",
				c->conf_path ? c->conf_path : "(default)", strerror(-r));
		ctl_print_errs(&e);
		return CTL_ERR;
	}
	errs_clear(&e);
	if (c->cfg.netns[0]) {
		r = netns_enter(c->cfg.netns);
		if (r < 0) {
			log_err("entering the node's network namespace %s (netns in %s): %s",
				c->cfg.netns, c->cfg.file[0] ? c->cfg.file : "the config",
				r == -EINVAL ? "not a network namespace" : strerror(-r));
			return CTL_ERR;
		}
	}
	c->ready = true;
	return CTL_OK;
}

int ctl_ds(struct ctl *c)
{
	int r;

	if (c->ds)
		return CTL_OK;
	if (ctl_setup(c) != CTL_OK)
		return CTL_ERR;
	r = ds_open(c->cfg.datastore, &c->ds);
	if (r < 0) {
		log_err("opening the datastore %s: %s", c->cfg.datastore,
			r == -EINVAL && !strcmp(ds_last_error(NULL), "no error") ?
			"unknown or invalid datastore URL" : ds_open_strerror(r));
		c->ds = NULL;
		return CTL_ERR;
	}
	return CTL_OK;
}

void ctl_res_free(struct resource *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++)
		res_clear(&r[i]);
	free(r);
}

int ctl_wep_get(struct ctl *c, const char *name, struct resource *out,
		bool quiet_missing)
{
	char id[2 * RES_NAME_MAX], key[RES_KEY_MAX];
	struct errs e = ERRS_INIT;
	struct ds_kv kv = { 0 };
	int r;

	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	snprintf(id, sizeof(id), "%s/%s", c->cfg.node, name);
	if (!res_name_valid(name) || res_key(RES_WEP, id, key, sizeof(key)) < 0) {
		if (quiet_missing)
			return -ENOENT;
		log_err("no workload %s on node %s (not a valid name)", name, c->cfg.node);
		return CTL_ERR;
	}
	r = ds_get(c->ds, key, &kv);
	if (r == -ENOENT) {
		if (quiet_missing)
			return -ENOENT;
		log_err("no workload %s on node %s", name, c->cfg.node);
		return CTL_ERR;
	}
	if (r < 0) {
		log_err("reading workload %s from the datastore: %s (%s)", name,
			ds_strerror(r), ds_last_error(c->ds));
		return CTL_ERR;
	}
	r = res_from_text(RES_WEP, kv.value, kv.mod_rev, out, &e);
	if (r < 0) {
		log_err("workload %s: the stored document is invalid:", name);
		ctl_print_errs(&e);
		ds_kv_clear(&kv);
		return CTL_ERR;
	}
	errs_clear(&e);
	ds_kv_clear(&kv);
	return CTL_OK;
}

int ctl_res_list(struct ctl *c, enum res_kind kind, const char *node,
		 struct resource **out, size_t *n)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kvs = NULL;
	struct resource *v = NULL;
	size_t nkv = 0, k = 0;
	int64_t rev;
	int r;

	*out = NULL;
	*n = 0;
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	if (res_prefix(kind, node, prefix, sizeof(prefix)) < 0) {
		log_err("node name %s too long", node ? node : "");
		return CTL_ERR;
	}
	r = ds_list(c->ds, prefix, &kvs, &nkv, &rev);
	if (r < 0) {
		log_err("listing %s: %s (%s)", res_kind_plural(kind), ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	v = calloc(nkv ? nkv : 1, sizeof(*v));
	if (!v) {
		ds_kvs_free(kvs, nkv);
		log_err("out of memory");
		return CTL_ERR;
	}
	for (size_t i = 0; i < nkv; i++) {
		struct errs e = ERRS_INIT;

		if (res_from_text(kind, kvs[i].value, kvs[i].mod_rev, &v[k], &e) < 0) {
			/* One bad document must not hide the others. */
			log_warn("%s: invalid stored document, skipped", kvs[i].key);
			ctl_print_errs(&e);
			continue;
		}
		errs_clear(&e);
		k++;
	}
	ds_kvs_free(kvs, nkv);
	*out = v;
	*n = k;
	return CTL_OK;
}

int ctl_wep_list(struct ctl *c, struct resource **out, size_t *n)
{
	return ctl_res_list(c, RES_WEP, c->cfg.node, out, n);
}

#ifdef PETREL_FUZZ
int petrelctl_main(int argc, char **argv);
#define main petrelctl_main
#endif

int main(int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	struct ctl c = { .out = OUT_TABLE };
	int opt, r;

	log_init("petrelctl", LOG_LVL_INFO, 0);
	ctl_getopt_reset();
	while ((opt = getopt_long(argc, argv, "+:" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (!ctl_opt_common(&c, opt, usage_main, argv, &r))
			return r;
	}
	if (optind >= argc) {
		fputs(usage_main, stderr);
		return CTL_USAGE;
	}
	c.verb = argv[optind];
	if (!strcmp(c.verb, "help")) {
		fputs(usage_main, stdout);
		return CTL_OK;
	}
	r = -1;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(c.verb, verbs[i].name)) {
			int first = optind;

			ctl_getopt_reset();
			r = verbs[i].fn(&c, argc - first, argv + first);
			break;
		}
	if (r == -1) {
		const char *v = c.verb;

		c.verb = NULL;
		r = ctl_usage_err(&c, "unknown verb '%s'", v);
	}
	ds_close(c.ds);
	if (fflush(stdout) != 0 && r == CTL_OK) {
		log_err("writing the output: %s", strerror(errno));
		r = CTL_ERR;
	}
	return r;
}
