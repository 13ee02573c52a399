/*
 * petrel: the CNI plugin (CNI 1.0.0; ADD, DEL, CHECK, VERSION; STATUS and
 * GC of 1.1.0).
 *
 * ADD makes the same routed workload `petrelctl run` makes, in the namespace
 * the container engine made (CNI_NETNS): address from IPAM (handle
 * "<CNI_CONTAINERID>.<CNI_IFNAME>"), veth (host end ptl<hex> in the node's
 * namespace, CNI_IFNAME inside with ADDR/32, 169.254.1.1 and a default
 * route), the WorkloadEndpoint record with its published ports
 * (runtimeConfig.portMappings) and their host port reservations (one
 * transaction, cni/hostport.h), then felix's confirmation (unless
 * noWait). Any failure undoes what was done, backwards: record, host end
 * (taking the workload end with it), address.
 *
 * The record carries the label CNI_NET_LABEL (the CNI network's name): it
 * marks the workload as this plugin's, for that network.
 *
 * DEL is idempotent and finishes what a failed ADD left: it deletes the host
 * end (the engine owns the namespace), releases the handle (also when no
 * record exists) and deletes the record with its reservations, each step
 * accepting "already gone" (attach_remove).
 *
 * GC removes, with the same attach_remove, every record of this node that
 * carries this network's label and whose (containerID, interface) is not in
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
#include "cni/hostport.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/link.h"
#include "common/netns.h"
#include "common/status.h"
#include "datastore/datastore.h"
#include "ipam/ipam.h"


static const uint8_t host_mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };

struct plug {
	char version[16];
	const char *cmd, *cid, *netns, *ifname;
	struct cni_conf conf;
	struct cni_args args;
	struct petrel_config cfg;
	struct ds *ds;
	struct cni_err err;	/* the error to print */
};

static const char *link_text(const struct link_err *le, char *buf, size_t len)
{
	snprintf(buf, len, "%s: %s%s%s%s", le->what, strerror(-le->err),
		 le->ext[0] ? " (kernel: " : "", le->ext, le->ext[0] ? ")" : "");
	return buf;
}

/* The petrel config, its namespace, the datastore. */
static int plug_setup(struct plug *p, const char *path)
{
	struct errs e = ERRS_INIT;
	int r;

	r = config_load(path, &p->cfg, &e);
	if (r < 0) {
		cni_err_details(&p->err, &e);
		errs_clear(&e);
		return cni_err_set(&p->err, CNI_ECONFIG, "petrelConfig %s: %s", path,
				 r == -EINVAL ? "invalid" : strerror(-r));
	}
	errs_clear(&e);
	if (p->cfg.netns[0]) {
		r = netns_enter(p->cfg.netns);
		if (r < 0)
			return cni_err_set(&p->err, CNI_EIO, "entering the node's network namespace %s: %s",
					 p->cfg.netns, strerror(-r));
	}
	r = ds_open(p->cfg.datastore, &p->ds);
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "opening the datastore %s: %s",
				 p->cfg.datastore, ds_strerror(r));
	return 0;
}

static int wep_key(const struct plug *p, const char *name, char *key)
{
	char id[2 * RES_NAME_MAX];

	snprintf(id, sizeof(id), "%s/%s", p->cfg.node, name);
	return res_key(RES_WEP, id, key, RES_KEY_MAX);
}

/* The workload name of a container without a usable pod name: "cni-" and
 * 12 characters of its ID, what a name may not hold made 'x'. buf: at
 * least RES_NAME_MAX. */
static void default_name(const char *cid, char *buf)
{
	snprintf(buf, RES_NAME_MAX, "cni-%.12s", cid);
	for (char *c = buf + 4; *c; c++) {
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			*c = 'x';
	}
}

/* Calls fn for each WorkloadEndpoint of this node that parses (a bad
 * document is not ours to judge here: skipped) until fn returns non-zero.
 * fn may keep *w (leaving it zeroed); else it is cleared after the call.
 * fn's non-zero value, 0, or a listing failure (recorded). */
static int plug_each(struct plug *p, int (*fn)(struct plug *, struct resource *, void *),
		     void *arg)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev;
	int r;

	if (res_prefix(RES_WEP, p->cfg.node, prefix, sizeof(prefix)) < 0)
		return cni_err_set(&p->err, CNI_ECONFIG, "node name %s too long", p->cfg.node);
	r = ds_list(p->ds, prefix, &kvs, &n, &rev);
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "listing workloads: %s (%s)", ds_strerror(r),
				 ds_last_error(p->ds));
	r = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct resource w = { 0 };
		struct errs e = ERRS_INIT;

		if (res_from_text(RES_WEP, kvs[i].value, kvs[i].mod_rev, &w, &e) == 0)
			r = fn(p, &w, arg);
		errs_clear(&e);
		res_clear(&w);
	}
	ds_kvs_free(kvs, n);
	return r;
}

static const char *wep_wl_ifname(const struct wep *w)
{
	return w->wl_ifname[0] ? w->wl_ifname : "eth0";
}

static int find_one(struct plug *p, struct resource *w, void *arg)
{
	struct resource *out = arg;

	if (strcmp(w->u.wep.container_id, p->cid) || strcmp(wep_wl_ifname(&w->u.wep), p->ifname))
		return 0;
	*out = *w;
	memset(w, 0, sizeof(*w));
	return 1;
}

/* The record named name when it is (CNI_CONTAINERID, CNI_IFNAME)'s: 1 and
 * *out, 0 when not (absent, another's, unreadable), or a failure
 * (recorded). */
static int find_named(struct plug *p, const char *name, struct resource *out)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	struct resource w = { 0 };
	struct errs e = ERRS_INIT;
	int r;

	if (!name[0] || wep_key(p, name, key) < 0)
		return 0;
	r = ds_get(p->ds, key, &kv);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "reading workload %s: %s (%s)", name,
				 ds_strerror(r), ds_last_error(p->ds));
	r = 0;
	if (res_from_text(RES_WEP, kv.value, kv.mod_rev, &w, &e) == 0)
		r = find_one(p, &w, out);
	errs_clear(&e);
	res_clear(&w);
	ds_kv_clear(&kv);
	return r;
}

/* This node's record of (CNI_CONTAINERID, CNI_IFNAME): 0 and *out, -ENOENT,
 * or a failure (recorded). First under the names ADD gives (add_name: the
 * pod's, else "cni-" and the ID's start), one read each; then, for a
 * record named otherwise, the whole list. Measured: with 400 records on
 * the node, listing and decoding them all made CHECK (and DEL) 2.8 ms
 * slower (5.8 ms against 3.0 ms, p50). */
static int plug_find(struct plug *p, struct resource *out)
{
	char name[RES_NAME_MAX];
	int r;

	r = find_named(p, p->args.pod_name, out);
	if (r == 0) {
		default_name(p->cid, name);
		r = find_named(p, name, out);
	}
	if (r == 0)
		r = plug_each(p, find_one, out);
	return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}

/* Undoes an attachment (cid, ifname), for DEL and GC alike: the host end of
 * its record w (NULL when there is none; the engine owns the namespace, and
 * the workload end goes with the host end), its address (the IPAM handle
 * "<cid>.<ifname>", released also without a record: a failed ADD may leave
 * one), then the record with its host port reservations. Each step accepts
 * "already gone", so a repeat finishes what an interrupted one left. *nl
 * is opened on first need. 0 or the failure (recorded). */
static int attach_remove(struct plug *p, struct link_nl **nl, const char *cid,
			 const char *ifname, const struct resource *w)
{
	char handle[IPAM_HANDLE_MAX], t[512];
	struct link_err le = { 0 };
	int r = 0;

	if (w && w->u.wep.ifname[0]) {
		if (!*nl)
			r = link_nl_open(nl, &le);
		if (r == 0)
			r = link_del(*nl, w->u.wep.ifname, &le);
		if (r < 0 && r != -ENODEV)
			return cni_err_set(&p->err, CNI_EIO, "deleting the host end %s: %s",
					 w->u.wep.ifname, link_text(&le, t, sizeof(t)));
	}
	r = ipam_handle_id(cid, ifname, handle, sizeof(handle));
	if (r == 0)
		r = ipam_release_handle(p->ds, handle);
	if (r < 0)
		return cni_err_set(&p->err, r == IPAM_ECONFLICT ? CNI_EAGAIN : CNI_EIO,
				 "releasing the address (handle %s.%s): %s", cid, ifname,
				 r < -1000 ? ipam_strerror(r) : strerror(-r));
	if (!w)
		return 0;
	r = hostport_wep_delete(p->ds, w, w->revision);
	if (r < 0 && r != -ENOENT)
		return cni_err_set(&p->err, r == -ECANCELED ? CNI_EAGAIN : CNI_EIO,
				 "deleting the record of %s: %s", w->u.wep.name, ds_strerror(r));
	return 0;
}

/* ---------------------------------------------------------------- ADD */

struct add_state {
	struct plug *p;
	struct resource res;
	char key[RES_KEY_MAX];
	char handle[IPAM_HANDLE_MAX];
	struct link_nl *host_nl;
	struct link_wl wl;
	struct link_err le;
	bool assigned, linked, recorded;
	int64_t rev;
};

/* Inside CNI_NETNS. A host end of this name left by a crashed ADD (the name
 * is free in the store, so no workload owns it) is removed, once. */
static int add_in_ns(void *arg)
{
	struct add_state *s = arg;
	struct link_err le;
	int r;

	r = link_wl_setup(&s->wl, s->host_nl, &s->le);
	if (r != -EEXIST || strncmp(s->le.what, "create", 6))
		return r;
	r = link_del(s->host_nl, s->wl.peer_ifname, &le);
	if (r < 0)
		return -EEXIST;
	return link_wl_setup(&s->wl, s->host_nl, &s->le);
}

/* CNI_NET_LABEL: the record is this plugin's, for this network (GC). */
static int add_mark(struct add_state *s)
{
	char v[CNI_NET_LABEL_LEN];
	int r;

	cni_network_label(s->p->conf.name, v);
	r = labels_set(&s->res.u.wep.labels, CNI_NET_LABEL, v);
	if (r < 0)
		return cni_err_set(&s->p->err, CNI_ECONFIG, "labelling the workload %s=%s: %s",
				 CNI_NET_LABEL, v, strerror(-r));
	return 0;
}

static int add_name(struct add_state *s)
{
	struct plug *p = s->p;
	struct wep *w = &s->res.u.wep;
	struct ds_kv kv = { 0 };
	int r;

	if (p->args.pod_name[0]) {
		if (wep_key(p, p->args.pod_name, s->key) < 0)
			return cni_err_set(&p->err, CNI_EENV, "workload key too long");
		r = ds_get(p->ds, s->key, &kv);
		ds_kv_clear(&kv);
		if (r == -ENOENT) {
			snprintf(w->name, sizeof(w->name), "%s", p->args.pod_name);
			return 0;
		}
		if (r < 0)
			return cni_err_set(&p->err, CNI_EIO, "reading workload %s: %s (%s)",
					 p->args.pod_name, ds_strerror(r), ds_last_error(p->ds));
	}
	default_name(p->cid, w->name);
	if (wep_key(p, w->name, s->key) < 0)
		return cni_err_set(&p->err, CNI_EENV, "workload key too long");
	return 0;
}

static int add_assign(struct add_state *s)
{
	struct plug *p = s->p;
	char ab[IP4_STRLEN] = "";
	uint32_t addr = 0;
	int r;

	r = ipam_handle_id(p->cid, p->ifname, s->handle, sizeof(s->handle));
	if (r < 0)
		return cni_err_set(&p->err, CNI_EENV, "IPAM handle: %s", strerror(-r));
	/* runtimeConfig.ips, else CNI_ARGS IP= (podman 4's --ip). */
	if (p->conf.want && p->args.ip && p->conf.want != p->args.ip)
		return cni_err_set(&p->err, CNI_EENV, "CNI_ARGS IP=%s differs from "
				 "runtimeConfig.ips", ip4_fmt(p->args.ip, ab));
	if (!p->conf.want)
		p->conf.want = p->args.ip;
	r = ipam_assign(p->ds, p->cfg.node, s->handle, p->conf.want, &addr, NULL);
	if (p->conf.want)
		ip4_fmt(p->conf.want, ab);
	switch (r) {
	case 0:
		break;
	case IPAM_ENOSPC:
		return cni_err_set(&p->err, CNI_ENOSPC, "no free address: every enabled IP pool "
				 "is exhausted (or there is none)");
	case IPAM_EINUSE:
	case IPAM_ENOPOOL:
	case IPAM_EDISABLED:
	case IPAM_EAFFINITY:
	case -EEXIST:
		return cni_err_set(&p->err, CNI_EADDR, "runtimeConfig.ips: address %s: %s", ab,
				 r == -EEXIST ? "this container already holds another address"
					      : ipam_strerror(r));
	case IPAM_ECONFLICT:
		return cni_err_set(&p->err, CNI_EAGAIN, "assigning an address: %s", ipam_strerror(r));
	default:
		return cni_err_set(&p->err, CNI_EIO, "assigning an address: %s",
				 r < -1000 ? ipam_strerror(r) : strerror(-r));
	}
	s->assigned = true;
	s->res.u.wep.n_nets = 1;
	s->res.u.wep.nets[0].addr = addr;
	s->res.u.wep.nets[0].len = 32;
	return 0;
}

static int add_link(struct add_state *s)
{
	struct plug *p = s->p;
	struct wep *w = &s->res.u.wep;
	char t[512];
	int cfd, hfd, r;

	cfd = netns_open(p->netns);
	if (cfd < 0)
		return cni_err_set(&p->err, CNI_ENOCONTAINER, "CNI_NETNS %s: %s", p->netns,
				 cfd == -EINVAL ? "not a network namespace" : strerror(-cfd));
	r = link_nl_open(&s->host_nl, &s->le);
	if (r < 0) {
		close(cfd);
		return cni_err_set(&p->err, CNI_EIO, "netlink in the node's namespace: %s",
				 link_text(&s->le, t, sizeof(t)));
	}
	hfd = netns_open_current();
	if (hfd < 0) {
		close(cfd);
		return cni_err_set(&p->err, CNI_EIO, "opening the node's namespace: %s",
				 strerror(-hfd));
	}
	s->wl.ifname = p->ifname;
	s->wl.peer_ifname = w->ifname;
	memcpy(s->wl.peer_mac, host_mac, sizeof(host_mac));
	s->wl.peer_ns_fd = hfd;
	s->wl.addr = w->nets[0].addr;
	s->wl.gateway = CNI_GATEWAY;
	s->linked = true;	/* from here, undo deletes the host end */
	r = netns_run(cfd, add_in_ns, s);
	close(hfd);
	close(cfd);
	if (r < 0 && s->le.what[0])
		return cni_err_set(&p->err, r == -EEXIST ? CNI_EAGAIN : CNI_EIO,
				 "setting up %s in %s: %s", p->ifname, p->netns,
				 link_text(&s->le, t, sizeof(t)));
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "entering %s: %s", p->netns, strerror(-r));
	memcpy(w->mac, s->wl.mac, 6);
	w->has_mac = true;
	return 0;
}

static int port_taken(struct plug *p, const struct hostport_conflict *c)
{
	return cni_err_set(&p->err, CNI_EPORT, "port %s/%u is already published by "
			 "workload %s", c->port.proto == 17 ? "udp" : "tcp",
			 (unsigned)c->port.host_port, c->owner[0] ? c->owner : "(unknown)");
}

/* A first look at the host ports, so that a conflict fails before anything
 * is built; add_record's transaction decides. */
static int add_ports(struct add_state *s)
{
	struct plug *p = s->p;
	struct hostport_conflict c;
	int r = hostport_check(p->ds, &s->res.u.wep, &c);

	if (r == -EADDRINUSE)
		return port_taken(p, &c);
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "reading the host port reservations: %s",
				 ds_strerror(r));
	return 0;
}

/* The record and its host port reservations, one transaction. */
static int add_record(struct add_state *s)
{
	struct plug *p = s->p;
	struct hostport_conflict c;
	int r;

	r = hostport_wep_create(p->ds, &s->res, &s->rev, &c);
	if (r == -EADDRINUSE)
		return port_taken(p, &c);
	if (r == -EEXIST)
		return cni_err_set(&p->err, CNI_EAGAIN, "workload %s already exists on node %s",
				 s->res.u.wep.name, p->cfg.node);
	if (r == -ECANCELED)
		return cni_err_set(&p->err, CNI_EAGAIN, "recording workload %s: its host port "
				 "reservations kept changing", s->res.u.wep.name);
	if (r == -ENOMEM)
		return cni_err_set(&p->err, CNI_EIO, "out of memory");
	if (r < 0)
		return cni_err_set(&p->err, CNI_EIO, "recording workload %s: %s (%s)",
				 s->res.u.wep.name, ds_strerror(r), ds_last_error(p->ds));
	s->recorded = true;
	return 0;
}

static int add_wait(struct add_state *s)
{
	struct plug *p = s->p;
	char sock[CONFIG_PATH_MAX + 16], why[256];
	int r;

	config_status_socket(&p->cfg, sock, sizeof(sock));
	r = status_wait(sock, s->res.u.wep.name, s->rev, false,
			p->cfg.wait_timeout * 1000, why, sizeof(why));
	if (r == 0)
		return 0;
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET)
		cni_err_set(&p->err, CNI_EFELIX, "felix is not running on node %s (no answer "
			  "on %s); \"noWait\": true skips the wait", p->cfg.node, sock);
	else if (r == -ETIMEDOUT)
		cni_err_set(&p->err, CNI_EFELIX, "felix on node %s did not answer within %d s",
			  p->cfg.node, p->cfg.wait_timeout);
	else if (r == -EREMOTEIO)
		cni_err_set(&p->err, CNI_EFELIX, "felix on node %s: programming %s: %s",
			  p->cfg.node, s->res.u.wep.name, why);
	else
		cni_err_set(&p->err, CNI_EFELIX, "asking felix on %s: %s", sock, strerror(-r));
	return -CNI_EFELIX;
}

/* Backwards; the first error stays the one reported. */
static void add_undo(struct add_state *s)
{
	struct plug *p = s->p;
	struct link_err le;

	if (s->recorded)
		hostport_wep_delete(p->ds, &s->res, s->rev);
	if (s->linked && s->host_nl)
		link_del(s->host_nl, s->res.u.wep.ifname, &le);
	if (s->assigned)
		ipam_release_handle(p->ds, s->handle);
}

static int cmd_add(struct plug *p)
{
	struct add_state s = { .p = p };
	struct wep *w = &s.res.u.wep;
	struct cni_result res = { .has_interfaces = true };
	char *out;
	int r;

	s.res.kind = RES_WEP;
	r = plug_setup(p, p->conf.petrel_config);
	if (r < 0)
		goto out;
	snprintf(w->node, sizeof(w->node), "%s", p->cfg.node);
	w->mode = WEP_ROUTED;
	snprintf(w->netns, sizeof(w->netns), "%s", p->netns);
	snprintf(w->wl_ifname, sizeof(w->wl_ifname), "%s", p->ifname);
	snprintf(w->container_id, sizeof(w->container_id), "%s", p->cid);
	w->labels = p->conf.labels;	/* moved */
	memset(&p->conf.labels, 0, sizeof(p->conf.labels));
	if ((r = add_mark(&s)) < 0)
		goto out;
	/* runtimeConfig.portMappings: published by felix like `petrelctl run -p`. */
	w->n_ports = p->conf.n_ports;
	memcpy(w->ports, p->conf.ports, p->conf.n_ports * sizeof(w->ports[0]));
	r = add_name(&s);
	if (r < 0)
		goto out;
	ifname_for_workload(w->node, w->name, w->ifname);
	if ((r = add_ports(&s)) < 0)
		goto out;
	if ((r = add_assign(&s)) < 0 || (r = add_link(&s)) < 0 ||
	    (r = add_record(&s)) < 0)
		goto undo;
	if (!p->conf.no_wait && (r = add_wait(&s)) < 0)
		goto undo;
	snprintf(res.host_ifname, sizeof(res.host_ifname), "%s", w->ifname);
	memcpy(res.host_mac, host_mac, 6);
	snprintf(res.ifname, sizeof(res.ifname), "%s", p->ifname);
	memcpy(res.mac, w->mac, 6);
	snprintf(res.sandbox, sizeof(res.sandbox), "%s", p->netns);
	res.addr = w->nets[0].addr;
	res.gateway = CNI_GATEWAY;
	out = cni_result_text(p->version, &res, p->conf.prev_result);
	if (!out) {
		r = cni_err_set(&p->err, CNI_EIO, "out of memory");
		goto undo;
	}
	printf("%s\n", out);
	free(out);
	goto out;
undo:
	add_undo(&s);
out:
	link_nl_free(s.host_nl);
	res_clear(&s.res);
	return r;
}

/* ---------------------------------------------------------------- DEL */

static int cmd_del(struct plug *p)
{
	struct resource w = { 0 };
	struct link_nl *nl = NULL;
	int r;

	r = plug_setup(p, p->conf.petrel_config);
	if (r < 0)
		goto out;
	r = plug_find(p, &w);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = attach_remove(p, &nl, p->cid, p->ifname, r == 0 ? &w : NULL);
out:
	link_nl_free(nl);
	res_clear(&w);
	return r;
}

/* ---------------------------------------------------------------- GC */

struct gc_state {
	char label[CNI_NET_LABEL_LEN];	/* this network's CNI_NET_LABEL value */
	struct link_nl *nl;
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
	return !cni_attachment_valid(&p->conf, w->container_id, wep_wl_ifname(w));
}

/* One record: removed when stale; a failure is counted and GC goes on (the
 * spec: remove as much as possible, then report). */
static int gc_one(struct plug *p, struct resource *w, void *arg)
{
	struct gc_state *g = arg;

	if (!gc_stale(p, g, &w->u.wep))
		return 0;
	if (attach_remove(p, &g->nl, w->u.wep.container_id, wep_wl_ifname(&w->u.wep), w) < 0)
		g->failed++;
	else
		g->removed++;
	return 0;
}

/* GC (CNI 1.1.0): removes every attachment of this network on this node
 * that cni.dev/valid-attachments does not list, as DEL would. */
static int cmd_gc(struct plug *p)
{
	struct gc_state g = { .nl = NULL };
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
		r = plug_each(p, gc_one, &g);
	link_nl_free(g.nl);
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
