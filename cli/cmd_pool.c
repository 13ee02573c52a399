/*
 * pool create | ls | rm: IP pools by flags. A pool made here goes through
 * the same decoder as `apply` (so the same rules and messages) and through
 * ipam_pool_create (overlap check under concurrency).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "ipam/ipam.h"

static const char usage_pool[] =
	"usage: petrelctl pool create NAME --cidr CIDR [--block-size N] [--nat-outgoing]\n"
	"                             [--disabled] [--strict-affinity]\n"
	"                             [--node-selector SEL]\n"
	"       petrelctl pool ls\n"
	"       petrelctl pool rm NAME [--force]\n"
	"\n"
	"create: a new IPPool, validated as apply does; an overlapping pool is\n"
	"        refused, naming the other. --block-size: 20..32 (default 26).\n"
	"ls:     NAME CIDR BLOCKSIZE USED/SIZE FLAGS.\n"
	"rm:     refused while addresses of the pool are allocated, unless --force\n"
	"        (which deletes the pool record and its empty blocks only).\n";

static int pool_create(struct ctl *c, int argc, char **argv)
{
	enum { O_CIDR = 256, O_BS, O_NAT, O_DIS, O_STRICT, O_SEL };
	static const struct option lo[] = {
		{ "cidr", required_argument, NULL, O_CIDR },
		{ "block-size", required_argument, NULL, O_BS },
		{ "nat-outgoing", no_argument, NULL, O_NAT },
		{ "disabled", no_argument, NULL, O_DIS },
		{ "strict-affinity", no_argument, NULL, O_STRICT },
		{ "node-selector", required_argument, NULL, O_SEL },
		CTL_LONGOPTS
	};
	const char *cidr = NULL, *sel = NULL, *name;
	bool nat = false, dis = false, strict = false;
	long bs = 0;
	struct errs e = ERRS_INIT;
	struct ippool p = { 0 };
	json_t *doc, *spec;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		char *end;

		switch (opt) {
		case O_CIDR:
			cidr = optarg;
			break;
		case O_BS:
			errno = 0;
			bs = strtol(optarg, &end, 10);
			/* the range of the pool's family: the model says */
			if (errno || end == optarg || *end || bs <= 0 || bs > 128)
				return ctl_usage_err(c, "--block-size %s: a prefix length "
						     "20..32 (IPv6 116..128)", optarg);
			break;
		case O_NAT:
			nat = true;
			break;
		case O_DIS:
			dis = true;
			break;
		case O_STRICT:
			strict = true;
			break;
		case O_SEL:
			sel = optarg;
			break;
		default:
			if (!ctl_opt_common(c, opt, usage_pool, argv, &r))
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(c, "NAME is required");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'",
				     argv[optind + 1]);
	if (!cidr)
		return ctl_usage_err(c, "--cidr is required");
	name = argv[optind];
	doc = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:b, s:b, s:b}}",
			"apiVersion", RES_API_VERSION, "kind", "IPPool",
			"metadata", "name", name,
			"spec", "cidr", cidr, "natOutgoing", nat, "disabled", dis,
			"strictAffinity", strict);
	spec = json_object_get(doc, "spec");
	if (!doc || (bs && json_object_set_new(spec, "blockSize", json_integer(bs)) < 0) ||
	    (sel && json_object_set_new(spec, "nodeSelector", json_string(sel)) < 0)) {
		json_decref(doc);
		log_err("out of memory");
		return CTL_ERR;
	}
	r = ippool_from_json(doc, NULL, NULL, &p, &e);
	json_decref(doc);
	if (r < 0) {
		for (size_t i = 0; i < e.n; i++)
			log_err("ippool/%s: %s", name, e.msg[i]);
		errs_clear(&e);
		return CTL_ERR;
	}
	if (p.v6) {
		char msg[256];

		ippool_v6_refusal(name, msg, sizeof(msg));
		log_err("ippool/%s: %s", name, msg);
		ippool_clear(&p);
		return CTL_ERR;
	}
	if (ctl_ds(c) != CTL_OK) {
		ippool_clear(&p);
		return CTL_ERR;
	}
	r = ipam_pool_create(c->ds, &p, &e);
	if (r == 0) {
		printf("ippool/%s created\n", name);
	} else if (r == -EEXIST) {
		log_err("ippool/%s already exists", name);
	} else if (e.n) {
		for (size_t i = 0; i < e.n; i++)
			log_err("ippool/%s: %s", name, e.msg[i]);
	} else {
		log_err("ippool/%s: %s", name, ctl_strerror(r));
	}
	errs_clear(&e);
	ippool_clear(&p);
	return r == 0 ? CTL_OK : CTL_ERR;
}

static void pool_flags(const struct ippool *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s%s%s", p->nat_outgoing ? "nat-outgoing" : "",
		 p->nat_outgoing && (p->disabled || p->strict_affinity) ? "," : "",
		 p->disabled ? "disabled" : "",
		 p->disabled && p->strict_affinity ? "," : "",
		 p->strict_affinity ? "strict-affinity" : "", "");
}

static int pool_ls(struct ctl *c, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "CIDR", "BLOCKSIZE", "USED/SIZE",
					   "FLAGS" };
	struct ippool *pools = NULL;
	struct ipam_usage *use = NULL;
	size_t np = 0, nu = 0;
	int r;

	r = ctl_parse_common_only(c, argc, argv, usage_pool);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	r = ipam_pools_list(c->ds, &pools, &np);
	if (r == 0)
		r = ipam_usage(c->ds, &use, &nu);
	if (r < 0) {
		log_err("listing IP pools: %s", ctl_strerror(r));
		goto out;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *items = json_array();

		for (size_t i = 0; items && i < np; i++) {
			struct resource res = { .kind = RES_IPPOOL, .u.pool = pools[i] };
			json_t *j = res_to_json(&res);

			for (size_t k = 0; j && k < nu; k++)
				if (!strcmp(use[k].pool, pools[i].name))
					json_object_set_new(j, "status", json_pack(
						"{s:I, s:I, s:I}", "used", (json_int_t)use[k].used,
						"size", (json_int_t)use[k].size,
						"blocks", (json_int_t)use[k].blocks));
			json_array_append_new(items, j);
		}
		if (items)
			out_list(c->out, items);
		json_decref(items);
	} else {
		struct table *t = table_new(5, hdr);

		for (size_t i = 0; i < np; i++) {
			char cb[IP4_NETSTRLEN], bs[8], us[48] = "", fl[64];
			const char *cells[5];

			for (size_t k = 0; k < nu; k++)
				if (!strcmp(use[k].pool, pools[i].name))
					snprintf(us, sizeof(us), "%llu/%llu",
						 (unsigned long long)use[k].used,
						 (unsigned long long)use[k].size);
			snprintf(bs, sizeof(bs), "%d", pools[i].block_size);
			pool_flags(&pools[i], fl, sizeof(fl));
			cells[0] = pools[i].name;
			cells[1] = ip4_net_fmt(&pools[i].cidr, cb);
			cells[2] = bs;
			cells[3] = us;
			cells[4] = fl;
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
out:
	for (size_t i = 0; i < np; i++)
		ippool_clear(&pools[i]);
	free(pools);
	free(use);
	return r < 0 ? CTL_ERR : CTL_OK;
}

static int pool_rm(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "force", no_argument, NULL, 'f' },
		CTL_LONGOPTS
	};
	bool force = false;
	int opt, r, rc = CTL_OK;

	while ((opt = getopt_long(argc, argv, ":f" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == 'f') {
			force = true;
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_pool, argv, &r))
			return r;
	}
	if (optind >= argc)
		return ctl_usage_err(c, "NAME is required");
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	for (int i = optind; i < argc; i++) {
		const char *name = argv[i];

		r = ipam_pool_delete(c->ds, name, force);
		if (r == 0) {
			printf("ippool/%s deleted\n", name);
			continue;
		}
		rc = CTL_ERR;
		if (r == -ENOENT)
			log_err("no ippool %s", name);
		else if (r == IPAM_EPOOLUSED)
			log_err("ippool %s still has allocated addresses (in use); remove "
				"its workloads first, or use --force", name);
		else
			log_err("deleting ippool %s: %s", name,
				ctl_strerror(r));
	}
	return rc;
}

int cmd_pool(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "create", NULL, "pool create", pool_create },
		{ "ls", "list", "pool ls", pool_ls },
		{ "rm", "delete", "pool rm", pool_rm },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_pool);
}
