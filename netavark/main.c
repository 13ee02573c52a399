/*
 * petrel-netavark: the netavark plugin (netavark's plugin API 1.0.0, for
 * podman 5 and 6; installed as "petrel" in a netavark plugin directory so
 * that `podman network create -d petrel` finds it): glue between netavark
 * and endpoint/, as the CNI plugin (cni/main_petrel.c) is for CNI.
 *
 *   info                 {"version", "api_version"}
 *   create               the network config on stdin, completed on stdout:
 *                        the petrel Network it stands for (options.network,
 *                        default its name; "default" is the built-in one)
 *                        must exist, its pools become subnets[] (a subnet
 *                        given must be one of them), ipam_options.driver
 *                        "petrel" (podman then leaves addresses to us)
 *   setup NETNS_PATH     endpoint_create in the engine's namespace: address
 *                        (static_ips[0] or any of the network's pools;
 *                        handle "<container_id>.<interface_name>"), routed
 *                        veth, ONE transaction with the record, its host
 *                        port reservations (port_mappings) and the Network
 *                        joined, felix's confirmation (unless no_wait);
 *                        the status block on stdout
 *   teardown NETNS_PATH  endpoint_remove of its record (the namespace is
 *                        the engine's, and may be gone), or the release of
 *                        its handle when a setup died before its record;
 *                        idempotent, nothing on stdout
 *
 * The workload is named after the container (container_name, lower-cased)
 * when free, else "nv-" and the start of its ID (endpoint/attach.c), and
 * labelled NV_NET_LABEL with the netavark network's name.
 *
 * Errors: {"error": "..."} on stdout, exit 1, and nothing changed (every
 * create undoes itself). stderr stays empty (netavark passes it through).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/cni.h"
#include "common/ip4.h"
#include "datastore/datastore.h"
#include "endpoint/endpoint.h"
#include "ipam/ipam.h"
#include "netavark/nv.h"

#define NV_VERSION "0.1.0"

struct nvp {
	struct petrel_config cfg;
	struct ds *ds;
	char err[2048];		/* the first error wins */
};

static int nvp_fail(struct nvp *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int nvp_fail(struct nvp *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err[0]) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* what: "invalid network config"; e's messages after it. */
static int nvp_fail_errs(struct nvp *p, const char *what, const struct errs *e)
{
	size_t off;

	nvp_fail(p, "%s", what);
	off = strlen(p->err);
	for (size_t i = 0; i < e->n && off + 3 < sizeof(p->err); i++)
		off += (size_t)snprintf(p->err + off, sizeof(p->err) - off, "%s%s",
					i ? "; " : ": ", e->msg[i]);
	return -1;
}

static int nvp_open(struct nvp *p, const char *path)
{
	struct errs ce = ERRS_INIT;
	struct endpoint_err e;
	int r = endpoint_open(path, &p->cfg, &p->ds, &ce, &e);

	if (r < 0 && e.stage == EP_CONFIG) {
		char what[sizeof(e.msg) + 32];

		/* config_load's own messages name the file (and line) */
		snprintf(what, sizeof(what), "options.config%s%s", ce.n ? "" : " ",
			 ce.n ? "" : e.msg);
		r = nvp_fail_errs(p, what, &ce);
	} else if (r < 0)
		r = nvp_fail(p, "%s", e.msg);
	errs_clear(&ce);
	return r;
}

/* ---------------------------------------------------------------- create */

/* The pools of petrel network name: the Network's own pool, or (no pool,
 * or "default") the pools no Network names; enabled ones only. */
static int create_pools(struct nvp *p, const char *name, struct ip4_net *out, size_t *n)
{
	struct ippool *pools = NULL;
	struct ds_kv *kvs = NULL;
	bool *named;		/* named[k]: pool k is some Network's */
	size_t np = 0, nk = 0;
	char prefix[RES_KEY_MAX], own[RES_NAME_MAX] = "";
	bool found = !strcmp(name, NETWORK_DEFAULT);
	int64_t rev;
	int r;

	*n = 0;
	if (res_prefix(RES_NETWORK, NULL, prefix, sizeof(prefix)) < 0)
		return nvp_fail(p, "network key too long");
	r = ds_list(p->ds, prefix, &kvs, &nk, &rev);
	if (r < 0)
		return nvp_fail(p, "listing networks: %s (%s)", ds_strerror(r),
				ds_last_error(p->ds));
	r = ipam_pools_list(p->ds, &pools, &np);
	if (r < 0) {
		ds_kvs_free(kvs, nk);
		return nvp_fail(p, "listing pools: %s", endpoint_strerror(r));
	}
	named = calloc(np + 1, sizeof(*named));

	for (size_t i = 0; i < nk && named; i++) {
		struct resource w = { 0 };
		struct errs e = ERRS_INIT;

		if (res_from_text(RES_NETWORK, kvs[i].value, kvs[i].mod_rev, &w, &e) == 0) {
			if (!strcmp(w.u.network.name, name)) {
				found = true;
				snprintf(own, sizeof(own), "%s", w.u.network.pool);
			}
			for (size_t k = 0; k < np; k++)
				if (!strcmp(pools[k].name, w.u.network.pool))
					named[k] = true;
		}
		errs_clear(&e);
		res_clear(&w);
	}
	if (!named)
		r = nvp_fail(p, "out of memory");
	else if (!found)
		r = nvp_fail(p, "no petrel network %s (petrelctl network create %s [--pool "
			     "CIDR]; or -o network=default)", name, name);
	for (size_t k = 0; r == 0 && k < np; k++) {
		if (pools[k].disabled || *n == NV_MAX_SUBNETS)
			continue;
		if (own[0] ? !strcmp(pools[k].name, own) : !named[k])
			out[(*n)++] = pools[k].cidr;
	}
	if (r == 0 && !*n)
		r = nvp_fail(p, "petrel network %s has no enabled pool (petrelctl pool create)",
			     name);
	for (size_t k = 0; k < np; k++)
		ippool_clear(&pools[k]);
	free(pools);
	free(named);
	ds_kvs_free(kvs, nk);
	return r;
}

static int cmd_create(struct nvp *p, const char *buf, size_t len)
{
	struct nv_network n;
	struct ip4_net pools[NV_MAX_SUBNETS];
	struct errs e = ERRS_INIT;
	size_t np = 0;
	char *text, b[IP4_NETSTRLEN];
	int r;

	r = nv_network_parse(buf, len, &n, &e);
	if (r < 0) {
		nvp_fail_errs(p, "invalid network config", &e);
		errs_clear(&e);
		return -1;
	}
	r = nvp_open(p, n.config);
	if (r == 0)
		r = create_pools(p, n.network, pools, &np);
	for (size_t i = 0; r == 0 && i < n.n_subnets; i++) {
		size_t k;

		for (k = 0; k < np; k++)
			if (pools[k].addr == n.subnets[i].addr && pools[k].len == n.subnets[i].len)
				break;
		if (k == np)
			r = nvp_fail(p, "subnets[%zu].subnet: %s is not a pool of petrel network "
				     "%s (leave --subnet out, or give one of its pools)", i,
				     ip4_net_fmt(&n.subnets[i], b), n.network);
	}
	if (r == 0) {
		text = nv_network_text(&n, pools, np, n.network);
		if (!text)
			r = nvp_fail(p, "out of memory");
		else
			printf("%s\n", text);
		free(text);
	}
	nv_network_clear(&n);
	return r;
}

/* ---------------------------------------------------------------- setup */

static struct endpoint_attach nv_attach(const struct nvp *p, const struct nv_exec *x)
{
	return (struct endpoint_attach){ .node = p->cfg.node, .cid = x->container_id,
					 .ifname = x->ifname, .name = x->name,
					 .prefix = "nv-" };
}

static int cmd_setup(struct nvp *p, const char *netns, const struct nv_exec *x)
{
	struct resource res = { .kind = RES_WEP };
	struct wep *w = &res.u.wep;
	struct endpoint_attach a;
	struct endpoint_req q;
	struct endpoint_err e;
	char sock[CONFIG_PATH_MAX + 16], label[CNI_NET_LABEL_LEN], *text;
	bool dflt = !strcmp(x->net.network, NETWORK_DEFAULT);
	int r;

	if (strlen(netns) >= sizeof(w->netns) || netns[0] != '/')
		return nvp_fail(p, "NETNS_PATH: an absolute path, at most %zu characters",
				sizeof(w->netns) - 1);
	if (nvp_open(p, x->net.config) < 0)
		return -1;
	a = nv_attach(p, x);
	if (endpoint_attach_name(p->ds, &a, w->name, &e) < 0)
		return nvp_fail(p, "%s", e.msg);
	snprintf(w->node, sizeof(w->node), "%s", p->cfg.node);
	w->mode = WEP_ROUTED;
	snprintf(w->netns, sizeof(w->netns), "%s", netns);
	snprintf(w->wl_ifname, sizeof(w->wl_ifname), "%s", x->ifname);
	snprintf(w->container_id, sizeof(w->container_id), "%s", x->container_id);
	cni_network_label(x->net.name, label);
	r = labels_set(&w->labels, NV_NET_LABEL, label);
	if (r < 0) {
		res_clear(&res);
		return nvp_fail(p, "labelling the workload: %s", strerror(-r));
	}
	if (!dflt) {
		w->n_networks = 1;
		snprintf(w->networks[0], sizeof(w->networks[0]), "%s", x->net.network);
	}
	w->n_ports = x->n_ports;
	memcpy(w->ports, x->ports, x->n_ports * sizeof(w->ports[0]));
	q = (struct endpoint_req){ .res = &res, .want = x->static_ip,
				   .no_wait = x->net.no_wait };
	endpoint_req_config(&q, &p->cfg, sock, sizeof(sock));
	r = endpoint_create(p->ds, &q, &e);
	if (r < 0) {
		nvp_fail(p, "%s%s", e.msg, e.stage == EP_WAIT ? " (-o no_wait=true skips the "
			 "wait)" : "");
		res_clear(&res);
		return -1;
	}
	text = nv_status_text(x->ifname, w->mac, w->nets[0].addr, ENDPOINT_GATEWAY,
			      x->net.dns, x->net.n_dns);
	if (!text) {
		struct endpoint_rm how = { .own_netns = false };

		endpoint_remove(p->ds, &res, &how, &e);
		res_clear(&res);
		return nvp_fail(p, "out of memory");
	}
	printf("%s\n", text);
	free(text);
	res_clear(&res);
	return 0;
}

/* ---------------------------------------------------------------- teardown */

static int cmd_teardown(struct nvp *p, const struct nv_exec *x)
{
	struct resource w = { 0 };
	struct endpoint_rm how = { .own_netns = false };
	struct endpoint_attach a;
	struct endpoint_err e;
	int r;

	if (nvp_open(p, x->net.config) < 0)
		return -1;
	a = nv_attach(p, x);
	r = endpoint_attach_find(p->ds, &a, &w, &e);
	if (r < 0 && r != -ENOENT)
		return nvp_fail(p, "%s", e.msg);
	r = r == 0 ? endpoint_remove(p->ds, &w, &how, &e) :
		     endpoint_release(p->ds, x->container_id, x->ifname, &e);
	res_clear(&w);
	if (r < 0 && r != -ENOENT)
		return nvp_fail(p, "%s", e.msg);
	return 0;
}

/* ---------------------------------------------------------------- main */

static int usage(struct nvp *p)
{
	return nvp_fail(p, "usage: petrel-netavark info | create | setup NETNS_PATH | "
			"teardown NETNS_PATH (JSON on stdin)");
}

int main(int argc, char **argv)
{
	struct nvp p = { .ds = NULL };
	struct nv_exec x;
	struct errs e = ERRS_INIT;
	const char *cmd = argc > 1 ? argv[1] : "info";
	char *buf = NULL, *t;
	size_t len = 0;
	int r;

	if (!strcmp(cmd, "info")) {
		t = nv_info_text(NV_VERSION);
		printf("%s\n", t ? t : "{}");
		free(t);
		return t ? 0 : 1;
	}
	if (strcmp(cmd, "create") && strcmp(cmd, "setup") && strcmp(cmd, "teardown")) {
		nvp_fail(&p, "unknown subcommand: %.32s", cmd);
		goto out;
	}
	if (strcmp(cmd, "create") && argc != 3) {
		nvp_fail(&p, "%s: the netns path argument is missing", cmd);
		goto out;
	}
	if ((!strcmp(cmd, "create") && argc != 2) || argc > 3) {
		usage(&p);
		goto out;
	}
	r = cni_read_input(STDIN_FILENO, &buf, &len);
	if (r < 0) {
		nvp_fail(&p, "reading stdin: %s", strerror(-r));
		goto out;
	}
	if (!strcmp(cmd, "create")) {
		cmd_create(&p, buf, len);
		goto out;
	}
	r = nv_exec_parse(buf, len, &x, &e);
	if (r < 0) {
		nvp_fail_errs(&p, "invalid request", &e);
		goto out;
	}
	if (!strcmp(cmd, "setup"))
		cmd_setup(&p, argv[2], &x);
	else
		cmd_teardown(&p, &x);
	nv_exec_clear(&x);
out:
	if (p.err[0]) {
		t = nv_error_text(p.err);
		printf("%s\n", t ? t : "{\"error\":\"out of memory\"}");
		free(t);
	}
	errs_clear(&e);
	ds_close(p.ds);
	free(buf);
	fflush(stdout);
	return p.err[0] ? 1 : 0;
}
