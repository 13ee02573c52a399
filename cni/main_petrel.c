/*
 * petrel: the CNI plugin (CNI 1.0.0; ADD, DEL, CHECK, VERSION; STATUS and
 * GC of 1.1.0): glue between the CNI protocol and endpoint/.
 *
 * ADD makes the same routed workload `petrelctl run` makes, through the
 * same endpoint_create, in the namespace the container engine made
 * (CNI_NETNS): address (handle "<CNI_CONTAINERID>.<CNI_IFNAME>"), veth
 * (CNI_IFNAME inside), the WorkloadEndpoint record with its published
 * ports (runtimeConfig.portMappings) and their host port reservations (one
 * transaction), then felix's confirmation (unless noWait); any failure
 * undoes what was done. Its name: the pod's (K8S_POD_NAME) when free, else
 * "cni-" and the start of the container ID, longer until it is free, so
 * that two containers never share a name (nor a host end).
 *
 * The record carries the label CNI_NET_LABEL (the CNI network's name): it
 * marks the workload as this plugin's, for that network.
 *
 * DEL is idempotent and finishes what a failed ADD left: endpoint_remove
 * of its record (the engine owns the namespace), or, without a record, the
 * release of its handle. It deletes no interface (that would cost it the
 * kernel's RCU grace period): the engine's namespace teardown takes the
 * veth, or felix's sweep the host end once no record claims it.
 *
 * GC removes, the way DEL does, every record of this node that carries
 * this network's label and whose (containerID, interface) is not in
 * cni.dev/valid-attachments; it goes on after a failure and reports the
 * first. `petrelctl run` workloads are never touched.
 *
 * Output rules of CNI: stdout carries only the result or the error object
 * (exit 1); nothing is written on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni/cni.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/link.h"
#include "common/netns.h"
#include "common/status.h"
#include "datastore/datastore.h"
#include "endpoint/endpoint.h"
#include "ipam/ipam.h"

struct plug {
	char version[16];
	const char *cmd, *cid, *netns, *ifname;
	struct cni_conf conf;
	struct cni_args args;
	struct petrel_config cfg;
	struct ds *ds;
	struct cni_err err;	/* the error to print */
};

/* The petrel config, its namespace, the datastore (endpoint_open). */
static int plug_setup(struct plug *p, const char *path)
{
	struct errs ce = ERRS_INIT;
	struct endpoint_err e;
	int r;

	r = endpoint_open(path, &p->cfg, &p->ds, &ce, &e);
	cni_err_details(&p->err, &ce);
	errs_clear(&ce);
	if (r < 0 && e.stage == EP_CONFIG)
		return cni_err_set(&p->err, CNI_ECONFIG, "petrelConfig %s", e.msg);
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "%s", e.msg);
	return 0;
}

/* The attachment (CNI_CONTAINERID, CNI_IFNAME): named after the pod
 * (K8S_POD_NAME) when free, else "cni-" and the start of the ID. */
static struct endpoint_attach plug_attach(const struct plug *p)
{
	return (struct endpoint_attach){ .node = p->cfg.node, .cid = p->cid,
					 .ifname = p->ifname, .name = p->args.pod_name,
					 .prefix = "cni-" };
}

static int plug_ep_fail(struct plug *p, const struct endpoint_err *e);

/* This node's record of (CNI_CONTAINERID, CNI_IFNAME): 0 and *out, -ENOENT,
 * or a failure (recorded). */
static int plug_find(struct plug *p, struct resource *out)
{
	struct endpoint_attach a = plug_attach(p);
	struct endpoint_err e;
	int r = endpoint_attach_find(p->ds, &a, out, &e);

	return r < 0 && r != -ENOENT ? plug_ep_fail(p, &e) : r;
}

/* endpoint/'s failure as a CNI error: its code, its message. */
static int plug_ep_fail(struct plug *p, const struct endpoint_err *e)
{
	int code = CNI_EIO;
	const char *hint = "";

	switch (e->stage) {
	case EP_EXISTS:
		code = CNI_EAGAIN;
		break;
	case EP_PORT:
		code = e->code == -EADDRINUSE ? CNI_EPORT :
		       e->code == -EADDRNOTAVAIL || e->code == -EACCES ? CNI_ECONFIG : CNI_EIO;
		break;
	case EP_IPAM:
		if (e->code == IPAM_ENOSPC)
			code = CNI_ENOSPC;
		else if (e->code == IPAM_EINUSE || e->code == IPAM_ENOPOOL ||
			 e->code == IPAM_EDISABLED || e->code == IPAM_EAFFINITY ||
			 e->code == -EEXIST)
			code = CNI_EADDR;
		else if (e->code == IPAM_ECONFLICT)
			code = CNI_EAGAIN;
		break;
	case EP_NETNS:
		code = CNI_ENOCONTAINER;
		break;
	case EP_LINK:
		code = e->code == -EEXIST ? CNI_EAGAIN : CNI_EIO;
		break;
	case EP_WAIT:
		code = CNI_EFELIX;
		if (e->code == -ENOENT || e->code == -ECONNREFUSED || e->code == -ECONNRESET)
			hint = "; \"noWait\": true skips the wait";
		break;
	case EP_STORE:
		code = e->code == -ECANCELED ? CNI_EAGAIN : CNI_EIO;
		break;
	default:
		break;
	}
	return cni_err_set(&p->err, code, "%s%s", e->msg, hint);
}

/* Undoes an attachment (cid, ifname), for DEL and GC alike: endpoint_remove
 * of its record w (then felix's "gone", unless noWait: its route and its
 * nftables state went, so the host end left to the engine's namespace
 * teardown or felix's sweep carries nothing), or, when there is none (a
 * failed ADD may leave an address), the release of its handle. 0 or the
 * failure (recorded); a felix that does not confirm is not one. */
static int attach_remove(struct plug *p, const char *cid, const char *ifname,
			 const struct resource *w)
{
	char sock[CONFIG_PATH_MAX + 16];
	struct endpoint_rm how = { .own_netns = false,
				   .wait_ms = p->cfg.wait_timeout * 1000 };
	struct endpoint_err e;
	int r;

	if (!p->conf.no_wait) {
		config_status_socket(&p->cfg, sock, sizeof(sock));
		how.status_sock = sock;
	}

	r = w ? endpoint_remove(p->ds, w, &how, &e) : endpoint_release(p->ds, cid, ifname, &e);
	if (r < 0 && r != -ENOENT)
		return plug_ep_fail(p, &e);
	return 0;
}

/* ---------------------------------------------------------------- ADD */

/* CNI_NET_LABEL: the record is this plugin's, for this network (GC). */
static int add_mark(struct plug *p, struct wep *w)
{
	char v[CNI_NET_LABEL_LEN];
	int r;

	cni_network_label(p->conf.name, v);
	r = labels_set(&w->labels, CNI_NET_LABEL, v);
	if (r < 0)
		return cni_err_set(&p->err, CNI_ECONFIG, "labelling the workload %s=%s: %s",
				 CNI_NET_LABEL, v, strerror(-r));
	return 0;
}

/* The pod's name when free, else the first free "cni-" + ID
 * (endpoint/attach.c). The record's create settles a race for it. */
static int add_name(struct plug *p, struct wep *w)
{
	struct endpoint_attach a = plug_attach(p);
	struct endpoint_err e;

	if (endpoint_attach_name(p->ds, &a, w->name, &e) < 0)
		return plug_ep_fail(p, &e);
	return 0;
}

static int cmd_add(struct plug *p)
{
	struct resource res = { .kind = RES_WEP };
	struct wep *w = &res.u.wep;
	struct cni_result out = { .has_interfaces = true };
	char sock[CONFIG_PATH_MAX + 16], ab[IP4_STRLEN];
	struct endpoint_req q;
	struct endpoint_err e;
	char *text;
	int r;

	r = plug_setup(p, p->conf.petrel_config);
	if (r < 0)
		goto out;
	endpoint_prefetch(p->ds, p->cfg.node, NULL);
	snprintf(w->node, sizeof(w->node), "%s", p->cfg.node);
	w->mode = WEP_ROUTED;
	snprintf(w->netns, sizeof(w->netns), "%s", p->netns);
	snprintf(w->wl_ifname, sizeof(w->wl_ifname), "%s", p->ifname);
	snprintf(w->container_id, sizeof(w->container_id), "%s", p->cid);
	w->labels = p->conf.labels;	/* moved */
	memset(&p->conf.labels, 0, sizeof(p->conf.labels));
	if ((r = add_mark(p, w)) < 0)
		goto out;
	/* runtimeConfig.portMappings: published by felix like `petrelctl run -p`. */
	w->n_ports = p->conf.n_ports;
	memcpy(w->ports, p->conf.ports, p->conf.n_ports * sizeof(w->ports[0]));
	if ((r = add_name(p, w)) < 0)
		goto out;
	/* runtimeConfig.ips, else CNI_ARGS IP= (podman 4's --ip). */
	if (p->conf.want && p->args.ip && p->conf.want != p->args.ip) {
		r = cni_err_set(&p->err, CNI_EENV, "CNI_ARGS IP=%s differs from "
				"runtimeConfig.ips", ip4_fmt(p->args.ip, ab));
		goto out;
	}
	q = (struct endpoint_req){ .res = &res, .any_pool = true,
				   .want = p->conf.want ? p->conf.want : p->args.ip,
				   .no_wait = p->conf.no_wait };
	endpoint_req_config(&q, &p->cfg, sock, sizeof(sock));
	r = endpoint_create(p->ds, &q, &e);
	if (r < 0) {
		r = plug_ep_fail(p, &e);
		goto out;
	}
	snprintf(out.host_ifname, sizeof(out.host_ifname), "%s", w->ifname);
	memcpy(out.host_mac, endpoint_host_mac, 6);
	snprintf(out.ifname, sizeof(out.ifname), "%s", p->ifname);
	memcpy(out.mac, w->mac, 6);
	snprintf(out.sandbox, sizeof(out.sandbox), "%s", p->netns);
	out.addr = w->nets[0].addr;
	out.gateway = ENDPOINT_GATEWAY;
	text = cni_result_text(p->version, &out, p->conf.prev_result);
	if (!text) {
		r = cni_err_set(&p->err, CNI_EIO, "out of memory");
		attach_remove(p, p->cid, p->ifname, &res);
		goto out;
	}
	printf("%s\n", text);
	free(text);
out:
	res_clear(&res);
	return r;
}

/* ---------------------------------------------------------------- DEL */

static int cmd_del(struct plug *p)
{
	struct resource w = { 0 };
	int r;

	r = plug_setup(p, p->conf.petrel_config);
	if (r < 0)
		goto out;
	endpoint_prefetch(p->ds, p->cfg.node, NULL);
	r = plug_find(p, &w);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = attach_remove(p, p->cid, p->ifname, r == 0 ? &w : NULL);
out:
	res_clear(&w);
	return r;
}

/* ---------------------------------------------------------------- GC */

struct gc_state {
	struct plug *p;
	char label[CNI_NET_LABEL_LEN];	/* this network's CNI_NET_LABEL value */
	size_t removed, failed;
};

/* Whether GC may remove w: a routed workload this plugin made for this
 * network (CNI_NET_LABEL says so) whose attachment the runtime no longer
 * lists. A `petrelctl run` workload lives in the namespace petrelctl named
 * after it: never removed, whatever labels it was given. */
static bool gc_stale(const struct plug *p, const struct gc_state *g, const struct wep *w)
{
	const char *v = labels_get(&w->labels, CNI_NET_LABEL);
	char ns[sizeof(p->cfg.netns_prefix) + RES_NAME_MAX], path[320];

	if (w->mode != WEP_ROUTED || !w->container_id[0] || !v || strcmp(v, g->label))
		return false;
	snprintf(ns, sizeof(ns), "%s%s", p->cfg.netns_prefix, w->name);
	if (netns_path(ns, path, sizeof(path)) == 0 && !strcmp(path, w->netns))
		return false;
	return !cni_attachment_valid(&p->conf, w->container_id, endpoint_wl_ifname(w));
}

/* One record: removed when stale; a failure is counted and GC goes on (the
 * spec: remove as much as possible, then report). */
static int gc_one(struct resource *w, void *arg)
{
	struct gc_state *g = arg;
	struct plug *p = g->p;

	if (!gc_stale(p, g, &w->u.wep))
		return 0;
	if (attach_remove(p, w->u.wep.container_id, endpoint_wl_ifname(&w->u.wep), w) < 0)
		g->failed++;
	else
		g->removed++;
	return 0;
}

/* GC (CNI 1.1.0): removes every attachment of this network on this node
 * that cni.dev/valid-attachments does not list, as DEL would. */
static int cmd_gc(struct plug *p)
{
	struct gc_state g = { .p = p };
	struct endpoint_err e;
	char d[96];
	int r;

	if (strcmp(p->conf.cni_version, "1.1.0"))
		return cni_err_set(&p->err, CNI_EVERSION, "GC needs cniVersion 1.1.0 (the "
				 "network config says %s)", p->conf.cni_version);
	if (!p->conf.has_valid)
		return cni_err_set(&p->err, CNI_ECONFIG, "cni.dev/valid-attachments: required "
				 "for GC (a list of {containerID, ifname})");
	cni_network_label(p->conf.name, g.label);
	r = plug_setup(p, p->conf.petrel_config);
	if (r == 0)
		r = endpoint_each(p->ds, p->cfg.node, gc_one, &g, &e);
	if (r < 0 && !p->err.code)
		plug_ep_fail(p, &e);
	if (r < 0)
		return r;
	if (g.failed) {
		snprintf(d, sizeof(d), "%zu of %zu stale attachments not removed", g.failed,
			 g.failed + g.removed);
		snprintf(p->err.details + strlen(p->err.details),
			 sizeof(p->err.details) - strlen(p->err.details), "%s%s",
			 p->err.details[0] ? "; " : "", d);
		return -p->err.code;
	}
	return 0;
}

/* ---------------------------------------------------------------- CHECK */

struct check_ns {
	const char *ifname;
	uint32_t addr;
	bool found_if, found_addr;
};

static int check_in_ns(void *arg)
{
	struct check_ns *c = arg;
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		if (strcmp(i->ifa_name, c->ifname))
			continue;
		c->found_if = true;
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
		    ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr) == c->addr)
			c->found_addr = true;
	}
	freeifaddrs(ifa);
	return 0;
}

static int cmd_check(struct plug *p)
{
	struct resource w = { 0 };
	struct check_ns c = { .ifname = p->ifname };
	char ab[IP4_STRLEN];
	int fd, r;

	r = plug_setup(p, p->conf.petrel_config);
	if (r < 0)
		goto out;
	r = plug_find(p, &w);
	if (r == -ENOENT) {
		r = cni_err_set(&p->err, CNI_ENOCONTAINER, "no workload of container %s interface "
			      "%s on node %s", p->cid, p->ifname, p->cfg.node);
		goto out;
	}
	if (r < 0)
		goto out;
	if (!w.u.wep.ifname[0] || !if_nametoindex(w.u.wep.ifname)) {
		r = cni_err_set(&p->err, CNI_EIO, "workload %s: host interface %s is missing",
			      w.u.wep.name, w.u.wep.ifname);
		goto out;
	}
	if (!w.u.wep.n_nets) {
		r = cni_err_set(&p->err, CNI_EIO, "workload %s: no address recorded", w.u.wep.name);
		goto out;
	}
	c.addr = w.u.wep.nets[0].addr;
	fd = netns_open(p->netns);
	if (fd < 0) {
		r = cni_err_set(&p->err, CNI_ENOCONTAINER, "CNI_NETNS %s: %s", p->netns,
			      strerror(-fd));
		goto out;
	}
	r = netns_run(fd, check_in_ns, &c);
	close(fd);
	if (r < 0) {
		r = cni_err_set(&p->err, CNI_EIO, "reading the interfaces of %s: %s", p->netns,
			      strerror(-r));
		goto out;
	}
	if (!c.found_if)
		r = cni_err_set(&p->err, CNI_EIO, "%s has no interface %s", p->netns, p->ifname);
	else if (!c.found_addr)
		r = cni_err_set(&p->err, CNI_EIO, "%s in %s does not have address %s/32",
			      p->ifname, p->netns, ip4_fmt(c.addr, ab));
out:
	res_clear(&w);
	return r;
}

/* ---------------------------------------------------------------- main */

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* Environment checks for the command: 0 or the failure. */
static int plug_env(struct plug *p, bool need_netns)
{
	struct errs e = ERRS_INIT;
	int r;

	p->cid = env("CNI_CONTAINERID");
	p->netns = env("CNI_NETNS");
	p->ifname = env("CNI_IFNAME");
	if (!p->cid || !cni_container_id_valid(p->cid, sizeof(((struct wep *)0)->container_id)))
		return cni_err_set(&p->err, CNI_EENV, "CNI_CONTAINERID: %s", p->cid ?
				 "invalid (letters, digits, '_', '.', '-'; at most 71)" :
				 "required");
	if (!p->ifname || !ifname_valid(p->ifname))
		return cni_err_set(&p->err, CNI_EENV, "CNI_IFNAME: %s", p->ifname ?
				 "not a valid interface name" : "required");
	if (need_netns && !p->netns)
		return cni_err_set(&p->err, CNI_EENV, "CNI_NETNS: required");
	if (p->netns && strlen(p->netns) >= sizeof(((struct wep *)0)->netns))
		return cni_err_set(&p->err, CNI_EENV, "CNI_NETNS: longer than 255 characters");
	r = cni_args_parse(getenv("CNI_ARGS"), &p->args, &e);
	if (r < 0) {
		cni_err_details(&p->err, &e);
		errs_clear(&e);
		return cni_err_set(&p->err, CNI_EENV, "CNI_ARGS: invalid");
	}
	return 0;
}

int main(void)
{
	struct plug p = { 0 };
	struct errs e = ERRS_INIT;
	char *buf = NULL;
	size_t len = 0;
	int r;

	snprintf(p.version, sizeof(p.version), "%s", CNI_VERSION);
	p.cmd = env("CNI_COMMAND");
	if (!p.cmd) {
		cni_err_set(&p.err, CNI_EENV, "CNI_COMMAND: required");
		goto out;
	}
	r = cni_read_input(STDIN_FILENO, &buf, &len);
	if (r < 0) {
		cni_err_set(&p.err, r == -EFBIG ? CNI_EDECODE : CNI_EIO, "reading the network "
			  "config on stdin: %s", strerror(-r));
		goto out;
	}
	cni_conf_version(buf, len, p.version, sizeof(p.version));
	if (!strcmp(p.cmd, "VERSION")) {
		char *v = cni_version_text(p.version);

		if (v)
			printf("%s\n", v);
		free(v);
		goto out;
	}
	r = cni_conf_parse(buf, len, &p.conf, &e);
	if (r < 0) {
		cni_err_details(&p.err, &e);
		cni_err_set(&p.err, -r, "%s", r == -CNI_EVERSION ? "incompatible CNI version" :
			  r == -CNI_EDECODE ? "failed to decode the network config" :
			  "invalid network config");
		goto out;
	}
	if (!strcmp(p.cmd, "ADD")) {
		if (plug_env(&p, true) == 0)
			cmd_add(&p);
	} else if (!strcmp(p.cmd, "DEL")) {
		if (plug_env(&p, false) == 0)
			cmd_del(&p);
	} else if (!strcmp(p.cmd, "CHECK")) {
		if (plug_env(&p, true) == 0)
			cmd_check(&p);
	} else if (!strcmp(p.cmd, "GC")) {
		cmd_gc(&p);
	} else if (!strcmp(p.cmd, "STATUS")) {
		plug_setup(&p, p.conf.petrel_config);
	} else {
		cni_err_set(&p.err, CNI_EENV, "CNI_COMMAND: unknown command \"%.32s\"", p.cmd);
	}
out:
	if (p.err.code) {
		char *t = cni_error_text(p.version, p.err.code, p.err.msg, p.err.details);

		printf("%s\n", t ? t : "{\"code\":5,\"msg\":\"out of memory\"}");
		free(t);
	}
	errs_clear(&e);
	cni_conf_clear(&p.conf);
	ds_close(p.ds);
	free(buf);
	fflush(stdout);
	return p.err.code ? 1 : 0;
}
