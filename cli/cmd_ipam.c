/*
 * ipam show | check | release: looking at and repairing address allocation.
 *
 * release refuses an address a workload holds (by its record's ipNetworks)
 * unless --force: freeing it would let IPAM hand it out twice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "ipam/ipam.h"

static const char usage_ipam[] =
	"usage: petrelctl ipam show [--show-blocks]\n"
	"       petrelctl ipam check\n"
	"       petrelctl ipam release ADDR... [--force] | --leaked [--min-age S]\n"
	"\n"
	"show:    per pool: CIDR, USED/SIZE, BLOCKS; --show-blocks: every block, its\n"
	"         affinity and use.\n"
	"check:   addresses allocated to a handle that no workload holds (leaks),\n"
	"         with their age; exit 0 either way. -o json: {\"leaks\":[...]}.\n"
	"release: frees the given addresses (one a workload holds only with\n"
	"         --force), or with --leaked every leak `ipam check` reports that\n"
	"         is at least --min-age seconds old (default 60: a younger one may\n"
	"         be a run still in progress, its record not written yet).\n";

static int ipam_show(struct ctl *c, int argc, char **argv)
{
	enum { O_BLOCKS = 256 };
	static const struct option lo[] = {
		{ "show-blocks", no_argument, NULL, O_BLOCKS },
		CTL_LONGOPTS
	};
	static const char *const phdr[] = { "POOL", "CIDR", "USED/SIZE", "BLOCKS" };
	static const char *const bhdr[] = { "BLOCK", "POOL", "AFFINITY", "USED/SIZE" };
	struct ipam_usage *use = NULL;
	struct ipamblock *blocks = NULL;
	size_t nu = 0, nb = 0;
	bool show_blocks = false;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == O_BLOCKS) {
			show_blocks = true;
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_ipam, argv, &r))
			return r;
	}
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	r = ipam_usage(c->ds, &use, &nu);
	if (r == 0 && show_blocks)
		r = ipam_blocks_list(c->ds, NULL, &blocks, &nb);
	if (r < 0) {
		log_err("reading IPAM state: %s", ctl_strerror(r));
		goto out;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *o = json_object(), *pools = json_array(), *bl = NULL;
		char cb[IP4_NETSTRLEN];

		for (size_t i = 0; pools && i < nu; i++)
			json_array_append_new(pools, json_pack(
				"{s:s, s:s, s:I, s:I, s:I}", "name", use[i].pool,
				"cidr", ip4_net_fmt(&use[i].cidr, cb),
				"used", (json_int_t)use[i].used, "size", (json_int_t)use[i].size,
				"blocks", (json_int_t)use[i].blocks));
		json_object_set_new(o, "pools", pools);
		if (show_blocks) {
			bl = json_array();
			for (size_t i = 0; bl && i < nb; i++)
				json_array_append_new(bl, json_pack(
					"{s:s, s:s, s:s, s:I, s:I}",
					"cidr", ip4_net_fmt(&blocks[i].cidr, cb),
					"pool", blocks[i].pool, "affinity", blocks[i].affinity,
					"used", (json_int_t)ipamblock_used(&blocks[i]),
					"size", (json_int_t)ip4_net_size(&blocks[i].cidr)));
			json_object_set_new(o, "blocks", bl);
		}
		out_doc(c->out, o);
		json_decref(o);
		goto out;
	}
	{
		struct table *t = table_new(4, phdr);

		for (size_t i = 0; i < nu; i++) {
			char cb[IP4_NETSTRLEN], us[48], bs[24];
			const char *cells[4];

			snprintf(us, sizeof(us), "%llu/%llu", (unsigned long long)use[i].used,
				 (unsigned long long)use[i].size);
			snprintf(bs, sizeof(bs), "%llu", (unsigned long long)use[i].blocks);
			cells[0] = use[i].pool;
			cells[1] = ip4_net_fmt(&use[i].cidr, cb);
			cells[2] = us;
			cells[3] = bs;
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
	if (show_blocks) {
		struct table *t = table_new(4, bhdr);

		for (size_t i = 0; i < nb; i++) {
			char cb[IP4_NETSTRLEN], us[48];
			const char *cells[4];

			snprintf(us, sizeof(us), "%zu/%llu", ipamblock_used(&blocks[i]),
				 (unsigned long long)ip4_net_size(&blocks[i].cidr));
			cells[0] = ip4_net_fmt(&blocks[i].cidr, cb);
			cells[1] = blocks[i].pool;
			cells[2] = blocks[i].affinity;
			cells[3] = us;
			table_add(t, cells);
		}
		fputc('\n', stdout);
		table_print(t, stdout);
		table_free(t);
	}
out:
	free(use);
	ipam_blocks_free(blocks, nb);
	return r < 0 ? CTL_ERR : CTL_OK;
}

static int ipam_check_cmd(struct ctl *c, int argc, char **argv)
{
	static const char *const hdr[] = { "ADDRESS", "HANDLE", "AGE" };
	struct ipam_leak *leaks = NULL;
	size_t n = 0;
	int r;

	r = ctl_parse_common_only(c, argc, argv, usage_ipam);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	r = ipam_check(c->ds, &leaks, &n);
	if (r < 0) {
		log_err("checking IPAM: %s", ctl_strerror(r));
		return CTL_ERR;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *o = json_object(), *a = json_array();
		char ab[IP4_STRLEN];

		for (size_t i = 0; a && i < n; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:I}",
				"address", ip4_fmt(leaks[i].addr, ab),
				"handle", leaks[i].handle, "age", (json_int_t)leaks[i].age));
		json_object_set_new(o, "leaks", a);
		out_doc(c->out, o);
		json_decref(o);
	} else if (n == 0) {
		printf("no leaked addresses\n");
	} else {
		struct table *t = table_new(3, hdr);

		for (size_t i = 0; i < n; i++) {
			char ab[IP4_STRLEN], age[24];
			const char *cells[3];

			out_age(leaks[i].age, age, sizeof(age));
			cells[0] = ip4_fmt(leaks[i].addr, ab);
			cells[1] = leaks[i].handle;
			cells[2] = age;
			table_add(t, cells);
		}
		table_print(t, stdout);
		table_free(t);
	}
	free(leaks);
	return CTL_OK;
}

/* The workload (any node) that holds addr, into who; false if none. */
static bool addr_holder(struct ctl *c, uint32_t addr, char *who, size_t len)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev;
	bool found = false;

	if (res_prefix(RES_WEP, NULL, prefix, sizeof(prefix)) < 0 ||
	    ds_list(c->ds, prefix, &kvs, &n, &rev) < 0)
		return false;
	for (size_t i = 0; i < n && !found; i++) {
		struct resource r = { 0 };

		if (res_from_text(RES_WEP, kvs[i].value, 0, &r, NULL) < 0)
			continue;
		for (size_t k = 0; k < r.u.wep.n_nets; k++)
			if (ip4_net_contains(&r.u.wep.nets[k], addr)) {
				snprintf(who, len, "%s/%s", r.u.wep.node, r.u.wep.name);
				found = true;
			}
		res_clear(&r);
	}
	ds_kvs_free(kvs, n);
	return found;
}

static int ipam_release_cmd(struct ctl *c, int argc, char **argv)
{
	enum { O_LEAKED = 256, O_MINAGE };
	static const struct option lo[] = {
		{ "leaked", no_argument, NULL, O_LEAKED },
		{ "min-age", required_argument, NULL, O_MINAGE },
		{ "force", no_argument, NULL, 'f' },
		CTL_LONGOPTS
	};
	bool leaked = false, force = false;
	long min_age = 60;
	int opt, r, rc = CTL_OK;

	while ((opt = getopt_long(argc, argv, ":f" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == O_LEAKED) {
			leaked = true;
			continue;
		}
		if (opt == 'f') {
			force = true;
			continue;
		}
		if (opt == O_MINAGE) {
			char *end;

			errno = 0;
			min_age = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || min_age < 0 || min_age > 86400 * 365)
				return ctl_usage_err(c, "--min-age %s: seconds, 0 or more", optarg);
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_ipam, argv, &r))
			return r;
	}
	if (leaked && optind < argc)
		return ctl_usage_err(c, "either ADDR... or --leaked, not both");
	if (!leaked && optind >= argc)
		return ctl_usage_err(c, "which addresses? (ADDR... or --leaked)");
	for (int i = optind; i < argc; i++) {
		uint32_t a;

		if (ip4_parse(argv[i], &a) < 0)
			return ctl_usage_err(c, "%s: invalid IPv4 address", argv[i]);
	}
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	if (leaked) {
		struct ipam_leak *leaks = NULL;
		size_t n = 0;

		r = ipam_check(c->ds, &leaks, &n);
		if (r < 0) {
			log_err("checking IPAM: %s", ctl_strerror(r));
			return CTL_ERR;
		}
		for (size_t i = 0; i < n; i++) {
			char ab[IP4_STRLEN];

			ip4_fmt(leaks[i].addr, ab);
			if (leaks[i].age >= 0 && leaks[i].age < min_age) {
				printf("kept %s (handle %s): %llds old, younger than --min-age %ld\n",
				       ab, leaks[i].handle, (long long)leaks[i].age, min_age);
				continue;
			}
			r = ipam_release_addr(c->ds, leaks[i].addr);
			if (r == 0 || r == -ENOENT) {
				printf("released %s (handle %s)\n", ab, leaks[i].handle);
			} else {
				log_err("releasing %s: %s", ab, ctl_strerror(r));
				rc = CTL_ERR;
			}
		}
		if (n == 0)
			printf("no leaked addresses\n");
		free(leaks);
		return rc;
	}
	for (int i = optind; i < argc; i++) {
		char who[2 * RES_NAME_MAX];
		uint32_t a;

		ip4_parse(argv[i], &a);
		if (!force && addr_holder(c, a, who, sizeof(who))) {
			log_err("%s belongs to workload %s: remove the workload (petrelctl "
				"rm), or use --force", argv[i], who);
			rc = CTL_ERR;
			continue;
		}
		r = ipam_release_addr(c->ds, a);
		if (r == 0) {
			printf("released %s\n", argv[i]);
		} else if (r == -ENOENT) {
			log_err("%s is not allocated", argv[i]);
			rc = CTL_ERR;
		} else {
			log_err("releasing %s: %s", argv[i], ctl_strerror(r));
			rc = CTL_ERR;
		}
	}
	return rc;
}

int cmd_ipam(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "show", NULL, "ipam show", ipam_show },
		{ "check", NULL, "ipam check", ipam_check_cmd },
		{ "release", NULL, "ipam release", ipam_release_cmd },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_ipam);
}
