/*
 * petrel-ipam: petrel's address management as a CNI IPAM plugin, for other
 * main plugins (ptp, bridge...): "ipam": {"type": "petrel-ipam",
 * "petrelConfig": "/etc/petrel/petrel.yaml"}.
 *
 * ADD assigns one address under the handle "<CNI_CONTAINERID>.<CNI_IFNAME>"
 * (the same handle the petrel plugin and petrelctl build, so `petrelctl ipam`
 * sees it) and returns it as A.B.C.D/<its pool's prefix> with the node's
 * gateway in that pool and a default route via it, as ptp needs (see
 * cni/ipamgw.h: ptp puts the gateway on its host end and routes the pool
 * and the default through it). A repeated ADD gets the same answer. DEL
 * leaves the gateway (the last user frees it) and releases the handle (0
 * also when it holds nothing). CHECK verifies the handle still holds an
 * address. No WorkloadEndpoint is written: the main plugin owns the
 * interfaces. stdout carries only the result or the error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/cni.h"
#include "cni/ipamgw.h"
#include "common/ip4.h"
#include "common/ifname.h"
#include "common/netns.h"
#include "datastore/datastore.h"
#include "ipam/ipam.h"

struct ipamp {
	char version[16];
	struct cni_err err;
};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* ADD's result beside its address: the prefix of its pool and the node's
 * gateway in it (cni/ipamgw.h), or the error. */
static int ip_gateway(struct ipamp *p, struct ds *ds, const struct petrel_config *cfg,
		      const char *handle, uint32_t addr, struct cni_result *res)
{
	struct ippool *pools = NULL;
	size_t n = 0, i;
	int r;

	res->addr = addr;
	r = ipam_pools_list(ds, &pools, &n);
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "listing the IP pools: %s",
				 ipam_strerror(r));
	for (i = 0; i < n && !ip4_net_contains(&pools[i].cidr, addr); i++)
		;
	if (i == n) {
		r = cni_err_set(&p->err, CNI_EAGAIN, "the pool of the new address is gone");
		goto out;
	}
	if (pools[i].cidr.len > 30) {
		r = cni_err_set(&p->err, CNI_ENOSPC, "pool %s (/%u) has no room for the "
			      "node's gateway", pools[i].name, (unsigned)pools[i].cidr.len);
		goto out;
	}
	r = ipamgw_ref(ds, cfg->node, &pools[i], handle, &res->gateway);
	if (r == IPAM_ENOSPC)
		r = cni_err_set(&p->err, CNI_ENOSPC, "pool %s has no address left for the "
			      "node's gateway", pools[i].name);
	else if (r < 0)
		r = cni_err_set(&p->err, r == -ECANCELED ? CNI_EAGAIN : CNI_EIO,
			      "the node's gateway in pool %s: %s", pools[i].name,
			      ipam_strerror(r));
	else
		res->prefix_len = pools[i].cidr.len;
out:
	for (size_t k = 0; k < n; k++)
		ippool_clear(&pools[k]);
	free(pools);
	return r;
}

/* Prints ADD's result; on failure gives back what ADD took. */
static void ip_print(struct ipamp *p, struct ds *ds, const char *node,
		     const char *handle, const struct cni_result *res,
		     const struct cni_conf *conf)
{
	char *s = cni_result_text(p->version, res, conf->prev_result);

	if (!s) {
		ipamgw_unref(ds, node, handle);
		ipam_release_handle(ds, handle);
		cni_err_set(&p->err, CNI_EIO, "out of memory");
		return;
	}
	printf("%s\n", s);
	free(s);
}

/* Does the command's work once the config is read. */
static int ip_run(struct ipamp *p, const char *cmd, const struct cni_conf *conf)
{
	const char *cid = env("CNI_CONTAINERID"), *ifn = env("CNI_IFNAME");
	struct petrel_config cfg;
	struct errs e = ERRS_INIT;
	struct ds *ds = NULL;
	char handle[IPAMHANDLE_ID_MAX];
	struct cni_result res = { 0 };
	struct cni_args args;
	uint32_t addr = 0, want;
	int r;

	if (!cid || !cni_container_id_valid(cid, 72))
		return cni_err_set(&p->err, CNI_EENV, "CNI_CONTAINERID: %s", cid ? "invalid" : "required");
	if (!ifn || !ifname_valid(ifn))
		return cni_err_set(&p->err, CNI_EENV, "CNI_IFNAME: %s", ifn ? "invalid" : "required");
	if (ipam_handle_id(cid, ifn, handle, sizeof(handle)) < 0)
		return cni_err_set(&p->err, CNI_EENV, "CNI_CONTAINERID: too long");
	if (cni_args_parse(getenv("CNI_ARGS"), &args, &e) < 0) {
		cni_err_details(&p->err, &e);
		errs_clear(&e);
		return cni_err_set(&p->err, CNI_EENV, "CNI_ARGS: invalid");
	}
	/* runtimeConfig.ips, else CNI_ARGS IP= (host-local's convention). */
	want = conf->want ? conf->want : args.ip;
	r = config_load(conf->ipam_petrel_config, &cfg, &e);
	if (r < 0) {
		cni_err_details(&p->err, &e);
		errs_clear(&e);
		return cni_err_set(&p->err, CNI_ECONFIG, "ipam.petrelConfig %s: %s",
			       conf->ipam_petrel_config,
			       r == -EINVAL ? "invalid" : strerror(-r));
	}
	errs_clear(&e);
	/* The datastore path may be relative to nothing but the node's view:
	 * enter its namespace as every petrel tool does. */
	if (cfg.netns[0] && (r = netns_enter(cfg.netns)) < 0)
		return cni_err_set(&p->err, CNI_EIO, "entering the node's network namespace %s: %s",
			       cfg.netns, strerror(-r));
	r = ds_open(cfg.datastore, &ds);
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "opening the datastore %s: %s", cfg.datastore,
			       ds_open_strerror(r));
	if (!strcmp(cmd, "ADD")) {
		r = ipam_assign(ds, cfg.node, handle, want, &addr, NULL);
		if (r == IPAM_ENOSPC)
			cni_err_set(&p->err, CNI_ENOSPC, "no free address: every enabled IP pool is "
				"exhausted (or there is none)");
		else if (r == IPAM_ECONFLICT)
			cni_err_set(&p->err, CNI_EAGAIN, "assigning an address: %s", ipam_strerror(r));
		else if (r < -1000 || r == -EEXIST)
			cni_err_set(&p->err, CNI_EADDR, "runtimeConfig.ips: %s", r == -EEXIST ?
				"this container already holds another address" : ipam_strerror(r));
		else if (r < 0)
			cni_err_set(&p->err, CNI_EIO, "assigning an address: %s", strerror(-r));
		if (r == 0 && ip_gateway(p, ds, &cfg, handle, addr, &res) < 0)
			ipam_release_handle(ds, handle);
		else if (r == 0)
			ip_print(p, ds, cfg.node, handle, &res, conf);
	} else if (!strcmp(cmd, "DEL")) {
		/* The gateway first: a DEL that fails after it is retried, and
		 * leaving is idempotent; the other order could strand a user. */
		r = ipamgw_unref(ds, cfg.node, handle);
		if (r < 0)
			cni_err_set(&p->err, r == -ECANCELED ? CNI_EAGAIN : CNI_EIO,
				"leaving the node's gateway: %s", ipam_strerror(r));
		else
			r = ipam_release_handle(ds, handle);
		if (r < 0)
			cni_err_set(&p->err, r == IPAM_ECONFLICT ? CNI_EAGAIN : CNI_EIO,
				"releasing handle %s: %s", handle,
				ipam_strerror(r));
	} else {	/* CHECK */
		struct ds_kv kv = { 0 };
		char key[RES_KEY_MAX];

		r = res_key(RES_IPAMHANDLE, handle, key, sizeof(key));
		if (r == 0)
			r = ds_get(ds, key, &kv);
		ds_kv_clear(&kv);
		if (r == -ENOENT)
			cni_err_set(&p->err, CNI_ENOCONTAINER, "no address is held by %s", handle);
		else if (r < 0)
			cni_err_set(&p->err, CNI_EIO, "reading handle %s: %s", handle, ds_strerror(r));
	}
	ds_close(ds);
	return p->err.code ? -p->err.code : 0;
}

int main(void)
{
	struct ipamp p = { 0 };
	struct cni_conf conf = { 0 };
	struct errs e = ERRS_INIT;
	const char *cmd = env("CNI_COMMAND");
	char *buf = NULL;
	size_t len = 0;
	int r;

	snprintf(p.version, sizeof(p.version), "%s", CNI_VERSION);
	if (!cmd) {
		cni_err_set(&p.err, CNI_EENV, "CNI_COMMAND: required");
		goto out;
	}
	r = cni_read_input(STDIN_FILENO, &buf, &len);
	if (r < 0) {
		cni_err_set(&p.err, r == -EFBIG ? CNI_EDECODE : CNI_EIO,
			"reading the network config on stdin: %s", strerror(-r));
		goto out;
	}
	cni_conf_version(buf, len, p.version, sizeof(p.version));
	if (!strcmp(cmd, "VERSION")) {
		char *v = cni_version_text(p.version);

		if (v)
			printf("%s\n", v);
		free(v);
		goto out;
	}
	r = cni_conf_parse(buf, len, &conf, &e);
	if (r < 0) {
		cni_err_details(&p.err, &e);
		cni_err_set(&p.err, -r, "%s", r == -CNI_EVERSION ? "incompatible CNI version" :
			r == -CNI_EDECODE ? "failed to decode the network config" :
			"invalid network config");
		goto out;
	}
	if (!strcmp(cmd, "ADD") || !strcmp(cmd, "DEL") || !strcmp(cmd, "CHECK"))
		ip_run(&p, cmd, &conf);
	else
		cni_err_set(&p.err, CNI_EENV, "CNI_COMMAND: unknown command");
out:
	if (p.err.code) {
		char *t = cni_error_text(p.version, p.err.code, p.err.msg, p.err.details);

		printf("%s\n", t ? t : "{\"code\":5,\"msg\":\"out of memory\"}");
		free(t);
	}
	errs_clear(&e);
	cni_conf_clear(&conf);
	free(buf);
	fflush(stdout);
	return p.err.code ? 1 : 0;
}
