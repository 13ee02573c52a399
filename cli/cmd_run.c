/*
 * Workloads: run, rm, exec, ls, inspect.
 *
 * run (routed), in this order, each step undone on any later failure or on
 * SIGINT/SIGTERM/SIGHUP (their handler only sets a flag; steps are checked
 * between, and the wait for felix is interrupted):
 *   name valid and free on this node → IPAM address (handle
 *   "<containerID>.eth0", the ID 64 random hex digits) → named namespace
 *   <workloadNetnsPrefix><NAME>, and inside it, before coming back: the veth
 *   (eth0 here, the host end ptl<hex> created straight in the node's
 *   namespace), lo and eth0 up, ADDR/32, 169.254.1.1 scope link, default
 *   route → host end up → the WorkloadEndpoint record → felix says it is
 *   programmed (unless --no-wait). Undo runs backwards: record, namespace,
 *   address, and then the host end if the namespace's teardown has not
 *   taken it yet (see rm).
 *
 * rm undoes in the order that lets a crash be finished by running rm again:
 * namespace, address, and the record last; each step accepts "already
 * gone". The kernel tears a namespace down in the background, its veth with
 * it: rm leaves the host end to that teardown instead of deleting it, since
 * deleting a veth costs its caller an RCU grace period (20-40 ms here) and
 * the teardown pays it once for many. felix drops the endpoint's route and
 * neighbour entry as soon as the record is gone (rm waits for that, unless
 * --no-wait), so the old veth carries nothing routed to it. A later run of
 * the same name that finds the host end still there removes it (the name's
 * namespace file, made O_EXCL, proves no other run owns it). A process
 * still running inside a removed namespace keeps it (as with `ip netns
 * del`) until it exits: rm finds such processes (a /proc scan) and then
 * deletes the host end itself, so the process is cut off at once. Only namespaces petrelctl made
 * (/run/netns/<prefix><NAME>) are deleted, never one an engine made through
 * the CNI plugin; such a workload's host end is always deleted explicitly.
 *
 * container:OTHER joiners are created in one transaction with a rewrite of
 * OTHER's record at the revision read, so OTHER cannot be removed between
 * the check and the join unnoticed (rm deletes OTHER at the revision it read
 * when it looked for joiners). The same transaction creates the host-port
 * reservations of -p/-P (cmd_port.c) and rewrites every joined Network at
 * the revision read (cmd_network.c); rm deletes the reservations with the
 * record. A taken port is found before any work (nothing to undo); one taken
 * by a concurrent run fails the transaction: an explicit port is an error,
 * a picked one is picked again (bounded).
 *
 * exec enters the namespace and, like `ip netns exec`, bind-mounts the
 * files of /etc/netns/<netns name>/ (felix's hosts file) over /etc/ in a
 * private mount namespace; rm and run's undo remove that folder.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/petrelctl.h"
#include "common/hosts.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/link.h"
#include "common/log.h"
#include "common/netns.h"
#include "common/status.h"
#include "ipam/ipam.h"

#define WL_IFNAME "eth0"
#define WL_GATEWAY 0xa9fe0101u	/* 169.254.1.1 */
#define RUN_RECORD_TRIES 16	/* a picked host port or a joined network raced */

static const uint8_t host_mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };

static volatile sig_atomic_t ctl_signal;

static void ctl_on_signal(int sig)
{
	ctl_signal = sig;
}

/* No SA_RESTART: a wait in poll() returns EINTR, so run can undo at once. */
static void ctl_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = ctl_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---------------------------------------------------------------- helpers */

static void wep_netns_name(const struct ctl *c, const char *name, char *buf,
			   size_t len)
{
	snprintf(buf, len, "%s%s", c->cfg.netns_prefix, name);
}

/* True when the workload's namespace is one petrelctl made for it. */
static bool wep_netns_is_ours(const struct ctl *c, const struct wep *w)
{
	char ns[RES_NAME_MAX + 64], path[320];

	wep_netns_name(c, w->name, ns, sizeof(ns));
	return netns_path(ns, path, sizeof(path)) == 0 && !strcmp(path, w->netns);
}

static const char *wep_netns_short(const char *path)
{
	size_t n = strlen(NETNS_RUN_DIR "/");

	if (!strncmp(path, NETNS_RUN_DIR "/", n) && !strchr(path + n, '/'))
		return path + n;
	return path;
}

/* "CTX: REQUEST: ERRNO TEXT (kernel: EXTACK)" */
static void link_err_print(const char *ctx, const struct link_err *le)
{
	log_err("%s: %s: %s%s%s%s", ctx, le->what, strerror(-le->err),
		le->ext[0] ? " (kernel: " : "", le->ext, le->ext[0] ? ")" : "");
}

/* Asks felix to wait; 0, or CTL_ERR after a message (warn_only: a warning,
 * returns 0). */
static int felix_wait(struct ctl *c, const char *name, int64_t rev, bool gone,
		      bool warn_only)
{
	char sock[CONFIG_PATH_MAX + 16], why[256];
	enum log_level lvl = warn_only ? LOG_LVL_WARN : LOG_LVL_ERR;
	int r;

	config_status_socket(&c->cfg, sock, sizeof(sock));
	r = status_wait(sock, name, rev, gone, c->cfg.wait_timeout * 1000, why,
			sizeof(why));
	if (r == 0)
		return 0;
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET) {
		if (warn_only)
			log_warn("felix is not running on node %s (no answer on %s): "
				 "it will drop its state for %s when it starts",
				 c->cfg.node, sock, name);
		else
			log_err("felix is not running on node %s (no answer on %s); "
				"use --no-wait to skip", c->cfg.node, sock);
	} else if (r == -ETIMEDOUT) {
		log_msg(lvl, "felix on node %s did not answer within %d s (%s)%s",
			c->cfg.node, c->cfg.wait_timeout, sock,
			warn_only ? "" : "; use --no-wait to skip");
	} else if (r == -EINTR) {
		log_msg(lvl, "interrupted while waiting for felix");
	} else if (r == -EREMOTEIO) {
		log_msg(lvl, "felix on node %s: %s %s: %s", c->cfg.node,
			gone ? "removing" : "programming", name, why);
	} else {
		log_msg(lvl, "asking felix on %s: %s", sock,
			r == -EPROTO ? "no valid reply (not one JSON object)" : strerror(-r));
	}
	return warn_only ? 0 : CTL_ERR;
}

/* ---------------------------------------------------------------- run */

static const char usage_run[] =
	"usage: petrelctl run --name NAME [--network MODE|NETWORK]... [--ip ADDR]\n"
	"                     [-p [HOSTIP:][HOSTPORT:]PORT[/tcp|udp]]...\n"
	"                     [--expose PORT[/tcp|udp]]... [-P]\n"
	"                     [--label KEY=VALUE]... [--no-wait]\n"
	"\n"
	"Creates the network of workload NAME on this node and records it.\n"
	"  --network routed     (default) its own namespace <workloadNetnsPrefix>NAME,\n"
	"                       eth0 with ADDR/32 from IPAM, routed by the node\n"
	"           host        the node's own network, no address\n"
	"           none        its own namespace with lo only\n"
	"           container:OTHER  joins OTHER's namespace (OTHER: routed or none)\n"
	"           NETWORK     a member of named network NETWORK (routed; it must\n"
	"                       exist: petrelctl network create). Repeatable; the\n"
	"                       address comes from the first one's pool when it has\n"
	"                       one, else from the pools that no network names\n"
	"  --ip ADDR            that address (routed; it must be in an enabled pool\n"
	"                       the workload may use)\n"
	"  -p, --publish [HOSTIP:][HOSTPORT:]PORT[/tcp|udp]\n"
	"                       publish the workload's PORT on the node's HOSTPORT\n"
	"                       (of HOSTIP only, when given); without HOSTPORT a free\n"
	"                       one from hostPortRange. Repeatable. A host port of\n"
	"                       another workload of this node is refused:\n"
	"                       \"port tcp/8080 is already published by workload W\"\n"
	"  --expose PORT[/tcp|udp]  a port the workload serves (published by -P)\n"
	"  -P, --publish-all    publish every --expose port on a free host port\n"
	"  --label KEY=VALUE    a label (repeatable)\n"
	"  --no-wait            return without waiting for felix to program it\n"
	"                       (routed; by default run waits up to waitTimeout and\n"
	"                       undoes everything if felix does not answer)\n"
	"Prints the address (routed); with -o json|yaml the WorkloadEndpoint.\n"
	"petrelctl port NAME shows the host ports picked.\n";

struct run_state {
	struct ctl *c;
	const char *name;
	enum wep_mode mode;
	const char *target;	/* container:OTHER */
	uint32_t want;
	bool no_wait;
	struct resource res;	/* the WorkloadEndpoint being made */
	char handle[IPAM_HANDLE_MAX];
	char key[RES_KEY_MAX];
	char nsname[RES_NAME_MAX + 64];
	char nspath[256];
	struct link_nl *host_nl;
	struct link_wl wl;
	struct link_err le;
	/* progress, for undo */
	bool assigned, ns_tried, ns_made, recorded;
	int64_t rev;
	/* container:OTHER */
	struct ds_kv other;
	/* named networks: their records, rewritten unchanged in the record's
	 * transaction (see cmd_network.c) */
	bool mode_set, net_default;
	size_t n_networks;
	const char *networks[WEP_MAX_NETWORKS];
	struct ds_kv net_kv[WEP_MAX_NETWORKS];
	struct ipam_pool_sel sel;
	char sel_pool[RES_NAME_MAX];
	/* published ports: -p (host port 0: picked), --expose, -P */
	size_t n_ports, n_expose;
	struct wep_port ports[WEP_MAX_PORTS], expose[WEP_MAX_PORTS];
	bool pick[WEP_MAX_PORTS];
	bool publish_all;
};

/* One --network: a mode, or the name of a network to join. CTL_OK, or a
 * usage error (printed). */
static int run_parse_network(struct run_state *s, const char *v)
{
	struct ctl *c = s->c;
	enum wep_mode m;

	if (!strncmp(v, "container:", 10)) {
		m = WEP_CONTAINER;
		s->target = v + 10;
		if (!s->target[0])
			return ctl_usage_err(c, "--network container: needs a workload name");
	} else if (!strcmp(v, "routed")) {
		m = WEP_ROUTED;
	} else if (!strcmp(v, "host")) {
		m = WEP_HOST;
	} else if (!strcmp(v, "none")) {
		m = WEP_NONE;
	} else if (!strcmp(v, NETWORK_DEFAULT)) {
		s->net_default = true;
		return CTL_OK;
	} else if (res_name_valid(v)) {
		for (size_t i = 0; i < s->n_networks; i++)
			if (!strcmp(s->networks[i], v))
				return ctl_usage_err(c, "--network %s given twice", v);
		if (s->n_networks == WEP_MAX_NETWORKS)
			return ctl_usage_err(c, "at most %d networks", WEP_MAX_NETWORKS);
		s->networks[s->n_networks++] = v;
		return CTL_OK;
	} else {
		return ctl_usage_err(c, "--network %s: neither a network mode (routed, "
				     "host, none or container:NAME) nor a valid network "
				     "name", v);
	}
	if (s->mode_set && s->mode != m)
		return ctl_usage_err(c, "--network %s: the network mode is already %s",
				     v, wep_mode_name(s->mode));
	s->mode = m;
	s->mode_set = true;
	return CTL_OK;
}

/* -p SPEC / --expose SPEC. CTL_OK or a usage error (printed). */
static int run_parse_port(struct run_state *s, const char *v, bool expose)
{
	struct wep_port p;

	if (ctl_port_parse(v, expose, &p) < 0)
		return ctl_usage_err(s->c, "%s %s: expected %s", expose ? "--expose" : "-p",
				     v, expose ? "PORT[/tcp|udp]" :
				     "[HOSTIP:][HOSTPORT:]PORT[/tcp|udp], ports 1..65535");
	if ((expose ? s->n_expose : s->n_ports) == WEP_MAX_PORTS)
		return ctl_usage_err(s->c, "at most %d ports", WEP_MAX_PORTS);
	if (expose) {
		s->expose[s->n_expose++] = p;
		return CTL_OK;
	}
	s->pick[s->n_ports] = p.host_port == 0;
	s->ports[s->n_ports++] = p;
	return CTL_OK;
}

/* -P, the checks across options. CTL_OK or a usage error (printed). */
static int run_ports_settle(struct run_state *s)
{
	struct ctl *c = s->c;

	if (s->publish_all)
		for (size_t i = 0; i < s->n_expose; i++) {
			const struct wep_port *e = &s->expose[i];
			size_t k;

			for (k = 0; k < s->n_ports; k++)
				if (s->ports[k].port == e->port && s->ports[k].proto == e->proto)
					break;
			if (k < s->n_ports)
				continue;	/* -p publishes it already */
			if (s->n_ports == WEP_MAX_PORTS)
				return ctl_usage_err(c, "at most %d ports", WEP_MAX_PORTS);
			s->pick[s->n_ports] = true;
			s->ports[s->n_ports++] = *e;
		}
	for (size_t i = 0; i < s->n_ports; i++)
		for (size_t k = 0; k < i; k++)
			if (!s->pick[i] && !s->pick[k] &&
			    s->ports[i].host_port == s->ports[k].host_port &&
			    s->ports[i].proto == s->ports[k].proto)
				return ctl_usage_err(c, "host port %s/%u is given twice",
						     ctl_proto_name(s->ports[i].proto),
						     (unsigned)s->ports[i].host_port);
	if (s->n_ports && s->mode != WEP_ROUTED)
		return ctl_usage_err(c, "published ports (-p, -P) need a routed "
				     "workload (--network %s)", wep_mode_name(s->mode));
	if (s->n_networks && s->mode != WEP_ROUTED)
		return ctl_usage_err(c, "a named network (--network %s) needs a routed "
				     "workload, not %s", s->networks[0], wep_mode_name(s->mode));
	if (s->net_default && s->n_networks)
		return ctl_usage_err(c, "--network default and --network %s: the default "
				     "network is for workloads in no named network",
				     s->networks[0]);
	return CTL_OK;
}

/* Reads every named network (their records kept for run_record's CAS) and
 * chooses the pools of the address. CTL_OK or CTL_ERR (printed). */
static int run_networks_load(struct run_state *s)
{
	for (size_t i = 0; i < s->n_networks; i++) {
		struct network n = { 0 };

		ds_kv_clear(&s->net_kv[i]);
		if (ctl_network_get(s->c, s->networks[i], &n, &s->net_kv[i], false) != CTL_OK)
			return CTL_ERR;
		if (i == 0 && n.pool[0])
			snprintf(s->sel_pool, sizeof(s->sel_pool), "%s", n.pool);
		network_clear(&n);
	}
	if (s->sel_pool[0])
		s->sel.pool = s->sel_pool;
	else
		s->sel.unnamed_only = true;
	return CTL_OK;
}

static int run_container_id(char *out, size_t len)
{
	uint8_t rnd[32];
	size_t got = 0;

	if (len < 65)
		return -EINVAL;
	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

static int run_ns_routed(void *arg)
{
	struct run_state *s = arg;
	struct link_err le;
	int r;

	r = link_wl_setup(&s->wl, s->host_nl, &s->le);
	if (r != -EEXIST || strncmp(s->le.what, "create", 6))
		return r;
	/* The host end's name is taken. No record of this workload exists and
	 * we hold its namespace's name (O_EXCL), so no other run is making it:
	 * the link is stale, left by `rm --no-wait` (the kernel is still
	 * tearing the old namespace down) or by a crash. Remove it, retry once. */
	r = link_del(s->host_nl, s->wl.peer_ifname, &le);
	if (r < 0 && r != -ENODEV)
		return -EEXIST;		/* s->le still says what was taken */
	return link_wl_setup(&s->wl, s->host_nl, &s->le);
}

static int run_ns_none(void *arg)
{
	struct run_state *s = arg;
	struct link_nl *nl = NULL;
	int r;

	r = link_nl_open(&nl, &s->le);
	if (r == 0)
		r = link_set_up(nl, NULL, &s->le);
	link_nl_free(nl);
	return r;
}

static bool run_interrupted(void)
{
	if (!ctl_signal)
		return false;
	log_err("interrupted (signal %d): undoing", (int)ctl_signal);
	return true;
}

/* The record and its host-port reservations, made in one transaction (so
 * all at its revision), go in one. */
static void run_unrecord(struct run_state *s)
{
	struct ctl *c = s->c;
	const struct wep *w = &s->res.u.wep;
	char keys[WEP_MAX_PORTS][RES_KEY_MAX];
	struct ds_op ops[1 + WEP_MAX_PORTS];
	size_t n = 0;
	int r;

	ops[n++] = (struct ds_op){ DS_OP_DELETE, s->key, NULL, s->rev };
	for (size_t i = 0; i < w->n_ports; i++)
		if (ctl_hostport_key(w->node, w->ports[i].proto, w->ports[i].host_port,
				     keys[i], sizeof(keys[i])) == 0)
			ops[n++] = (struct ds_op){ DS_OP_DELETE, keys[i], NULL, s->rev };
	r = ds_txn(c->ds, ops, n, NULL, NULL);
	if (r < 0 && r != -ENOENT)
		log_warn("undo: deleting the record %s: %s (%s)", s->key,
			 ds_strerror(r), ds_last_error(c->ds));
}

/* Everything done so far, backwards (the host link last, see rm). Failures
 * here leave something behind: say what, so the operator can finish. */
static void run_undo(struct run_state *s)
{
	struct ctl *c = s->c;
	struct link_err le;
	int r;

	if (s->recorded)
		run_unrecord(s);
	if (s->recorded || s->ns_made) {
		/* felix may have written the workload's hosts file meanwhile. */
		r = hosts_remove(s->nsname);
		if (r < 0)
			log_warn("undo: removing %s/%s: %s", HOSTS_ROOT, s->nsname,
				 strerror(-r));
	}
	if (s->ns_made) {
		r = netns_delete(s->nspath);
		if (r < 0 && r != -ENOENT)
			log_warn("undo: deleting network namespace %s: %s", s->nspath,
				 strerror(-r));
	}
	if (s->assigned) {
		r = ipam_release_handle(c->ds, s->handle);
		if (r < 0)
			log_warn("undo: releasing address (handle %s): %s; "
				 "`petrelctl ipam release --leaked` frees it", s->handle,
				 r < -1000 ? ipam_strerror(r) : strerror(-r));
	}
	/* Last, as in rm: the namespace's teardown usually took it already. */
	if (s->ns_tried && s->mode == WEP_ROUTED && s->host_nl) {
		r = link_del(s->host_nl, s->res.u.wep.ifname, &le);
		if (r < 0 && r != -ENODEV)
			log_warn("undo: %s: %s", le.what, strerror(-r));
	}
}

static void run_ipam_err(struct run_state *s, int r)
{
	char ab[IP4_STRLEN];

	if (s->want)
		ip4_fmt(s->want, ab);
	switch (r) {
	case IPAM_ENOSPC:
		if (s->sel.pool)
			log_err("no free address for %s: ippool %s (of network %s) is "
				"exhausted, disabled, gone, or does not serve node %s "
				"(nodeSelector)", s->name, s->sel.pool, s->networks[0],
				s->c->cfg.node);
		else
			log_err("no free address for %s: every enabled IP pool serving "
				"node %s is exhausted (or there is none: petrelctl pool "
				"create; pools of named networks do not count)", s->name,
				s->c->cfg.node);
		break;
	case IPAM_ENOTALLOWED:
		if (s->sel.pool)
			log_err("address %s is not in ippool %s of network %s", ab,
				s->sel.pool, s->networks[0]);
		else
			log_err("address %s is in the pool of a named network "
				"(--network NAME to join it)", ab);
		break;
	case IPAM_EINUSE:
		log_err("address %s is already allocated (in use)", ab);
		break;
	case IPAM_ENOPOOL:
		log_err("address %s is in no IP pool", ab);
		break;
	case IPAM_EDISABLED:
		log_err("address %s is in a disabled IP pool", ab);
		break;
	case IPAM_EAFFINITY:
		log_err("address %s is in another node's block and its IP pool has "
			"strictAffinity", ab);
		break;
	default:
		log_err("assigning an address to %s: %s", s->name,
			r < -1000 ? ipam_strerror(r) : strerror(-r));
	}
}

/* Builds the record; the routed fields are filled once known. */
static void run_wep_init(struct run_state *s, struct labels *labels)
{
	struct wep *w = &s->res.u.wep;

	s->res.kind = RES_WEP;
	snprintf(w->node, sizeof(w->node), "%s", s->c->cfg.node);
	snprintf(w->name, sizeof(w->name), "%s", s->name);
	w->mode = s->mode;
	w->labels = *labels;	/* moved */
	memset(labels, 0, sizeof(*labels));
	if (s->mode == WEP_ROUTED || s->mode == WEP_NONE)
		snprintf(w->netns, sizeof(w->netns), "%s", s->nspath);
	if (s->mode == WEP_ROUTED) {
		ifname_for_workload(w->node, w->name, w->ifname);
		snprintf(w->wl_ifname, sizeof(w->wl_ifname), "%s", WL_IFNAME);
	}
	if (s->mode == WEP_CONTAINER)
		snprintf(w->container, sizeof(w->container), "%s", s->target);
	for (size_t i = 0; i < s->n_networks; i++)
		snprintf(w->networks[i], sizeof(w->networks[i]), "%s", s->networks[i]);
	w->n_networks = s->n_networks;
	memcpy(w->ports, s->ports, s->n_ports * sizeof(s->ports[0]));
	w->n_ports = s->n_ports;
}

/* Checks OTHER for container:OTHER and takes its netns. */
static int run_target(struct run_state *s)
{
	struct ctl *c = s->c;
	char id[2 * RES_NAME_MAX], key[RES_KEY_MAX];
	struct resource o = { 0 };
	struct errs e = ERRS_INIT;
	int r;

	snprintf(id, sizeof(id), "%s/%s", c->cfg.node, s->target);
	if (!res_name_valid(s->target) || res_key(RES_WEP, id, key, sizeof(key)) < 0) {
		log_err("container:%s: no workload %s on node %s", s->target,
			s->target, c->cfg.node);
		return CTL_ERR;
	}
	r = ds_get(c->ds, key, &s->other);
	if (r == -ENOENT) {
		log_err("container:%s: no workload %s on node %s", s->target,
			s->target, c->cfg.node);
		return CTL_ERR;
	}
	if (r < 0) {
		log_err("reading workload %s: %s (%s)", s->target, ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	if (res_from_text(RES_WEP, s->other.value, s->other.mod_rev, &o, &e) < 0) {
		log_err("workload %s: the stored document is invalid:", s->target);
		ctl_print_errs(&e);
		return CTL_ERR;
	}
	errs_clear(&e);
	r = CTL_OK;
	if (o.u.wep.mode == WEP_CONTAINER || o.u.wep.mode == WEP_HOST) {
		log_err("container:%s: %s is itself a %s workload; join a routed or "
			"none workload", s->target, s->target, wep_mode_name(o.u.wep.mode));
		r = CTL_ERR;
	} else if (!o.u.wep.netns[0]) {
		log_err("container:%s: %s has no network namespace", s->target, s->target);
		r = CTL_ERR;
	} else {
		snprintf(s->res.u.wep.netns, sizeof(s->res.u.wep.netns), "%s", o.u.wep.netns);
	}
	res_clear(&o);
	return r;
}

#define RUN_AGAIN 3	/* run_record_once: look again and retry */

/* The transaction's failure at op failed: CTL_ERR (printed) or RUN_AGAIN. */
static int run_record_failed(struct run_state *s, int r, size_t failed,
			     size_t first_port, size_t first_net)
{
	struct ctl *c = s->c;
	struct wep *w = &s->res.u.wep;

	if (failed == 0 && r == -EEXIST) {
		log_err("workload %s already exists on node %s", s->name, c->cfg.node);
		return CTL_ERR;
	}
	if (s->mode == WEP_CONTAINER && failed == 1 && (r == -ENOENT || r == -ECANCELED)) {
		log_err("container:%s: %s was removed or changed meanwhile; try again",
			s->target, s->target);
		return CTL_ERR;
	}
	if (failed >= first_port && failed < first_net && r == -EEXIST) {
		size_t i = failed - first_port;

		if (!s->pick[i]) {
			ctl_hostport_conflict(c, &w->ports[i]);
			return CTL_ERR;
		}
		/* Another run took the port we picked: pick again. */
		return ctl_hostports_pick(c, w, s->pick) == CTL_OK ? RUN_AGAIN : CTL_ERR;
	}
	if (failed >= first_net && failed < first_net + s->n_networks &&
	    (r == -ECANCELED || r == -ENOENT)) {
		size_t i = failed - first_net;
		struct network n = { 0 };
		int g;

		/* Most often another run joined it at the same time. */
		ds_kv_clear(&s->net_kv[i]);
		g = ctl_network_get(c, s->networks[i], &n, &s->net_kv[i], true);
		network_clear(&n);
		if (g == -ENOENT) {
			log_err("network %s was removed meanwhile", s->networks[i]);
			return CTL_ERR;
		}
		return g == CTL_OK ? RUN_AGAIN : CTL_ERR;
	}
	log_err("recording workload %s: %s (%s)", s->name, ds_strerror(r),
		ds_last_error(c->ds));
	return CTL_ERR;
}

/* One transaction: the record, OTHER's record (container:OTHER), the host
 * ports' reservations, the joined networks (rewritten unchanged). */
static int run_record_once(struct run_state *s)
{
	struct ctl *c = s->c;
	struct wep *w = &s->res.u.wep;
	char keys[WEP_MAX_PORTS][RES_KEY_MAX], okey[RES_KEY_MAX];
	struct ds_op ops[2 + WEP_MAX_PORTS + WEP_MAX_NETWORKS];
	size_t n = 0, first_port, first_net, failed = SIZE_MAX;
	char *text = res_to_text(&s->res), *pv = ctl_hostport_value(w->name);
	int r, rc = CTL_ERR;

	if (!text || !pv) {
		log_err("out of memory");
		goto out;
	}
	ops[n++] = (struct ds_op){ DS_OP_CREATE, s->key, text, 0 };
	if (s->mode == WEP_CONTAINER) {
		char id[2 * RES_NAME_MAX];

		snprintf(id, sizeof(id), "%s/%s", c->cfg.node, s->target);
		res_key(RES_WEP, id, okey, sizeof(okey));
		ops[n++] = (struct ds_op){ DS_OP_UPDATE, okey, s->other.value,
					   s->other.mod_rev };
	}
	first_port = n;
	for (size_t i = 0; i < w->n_ports; i++) {
		if (ctl_hostport_key(c->cfg.node, w->ports[i].proto, w->ports[i].host_port,
				     keys[i], sizeof(keys[i])) < 0) {
			log_err("host port key for node %s too long", c->cfg.node);
			goto out;
		}
		ops[n++] = (struct ds_op){ DS_OP_CREATE, keys[i], pv, 0 };
	}
	first_net = n;
	for (size_t i = 0; i < s->n_networks; i++)
		ops[n++] = (struct ds_op){ DS_OP_UPDATE, s->net_kv[i].key,
					   s->net_kv[i].value, s->net_kv[i].mod_rev };
	r = ds_txn(c->ds, ops, n, &s->rev, &failed);
	if (r < 0) {
		rc = run_record_failed(s, r, failed, first_port, first_net);
		goto out;
	}
	s->recorded = true;
	s->res.revision = s->rev;
	rc = CTL_OK;
out:
	free(text);
	free(pv);
	return rc;
}

static int run_record(struct run_state *s)
{
	for (int t = 0; t < RUN_RECORD_TRIES; t++) {
		int r = run_record_once(s);

		if (r != RUN_AGAIN)
			return r;
	}
	log_err("recording workload %s: other runs kept taking the same host ports "
		"or networks; try again", s->name);
	return CTL_ERR;
}

static int run_netns(struct run_state *s)
{
	const char *where = "";
	int nsfd, r;

	s->ns_tried = true;
	if (s->mode == WEP_ROUTED) {
		r = link_nl_open(&s->host_nl, &s->le);
		if (r < 0) {
			link_err_print("opening netlink in the node's namespace", &s->le);
			return CTL_ERR;
		}
		nsfd = netns_open_current();
		if (nsfd < 0) {
			log_err("opening the node's network namespace: %s", strerror(-nsfd));
			return CTL_ERR;
		}
		s->wl.ifname = WL_IFNAME;
		s->wl.peer_ifname = s->res.u.wep.ifname;
		memcpy(s->wl.peer_mac, host_mac, sizeof(host_mac));
		s->wl.peer_ns_fd = nsfd;
		s->wl.addr = s->res.u.wep.nets[0].addr;
		s->wl.gateway = WL_GATEWAY;
		r = netns_create(s->nsname, run_ns_routed, s, &where);
		close(nsfd);
	} else {
		r = netns_create(s->nsname, run_ns_none, s, &where);
	}
	if (r == 0) {
		s->ns_made = true;
		if (s->mode == WEP_ROUTED) {
			memcpy(s->res.u.wep.mac, s->wl.mac, 6);
			s->res.u.wep.has_mac = true;
		}
		return CTL_OK;
	}
	if (where[0]) {
		if (r == -EEXIST)
			log_err("network namespace %s already exists: workload %s is being "
				"created by another run, or an interrupted run left it "
				"(`petrelctl rm --force %s` removes it)", s->nspath, s->name,
				s->name);
		else
			log_err("creating network namespace %s: %s: %s", s->nspath, where,
				strerror(-r));
		return CTL_ERR;
	}
	if (s->le.err == -EEXIST && s->mode == WEP_ROUTED && !strncmp(s->le.what, "create", 6))
		log_err("setting up workload %s: %s: the node already has an interface "
			"%s (left over? `petrelctl rm --force %s` removes it)", s->name,
			s->le.what, s->res.u.wep.ifname, s->name);
	else {
		char ctx[400];

		snprintf(ctx, sizeof(ctx), "setting up workload %s in %s", s->name,
			 s->nspath);
		link_err_print(ctx, &s->le);
	}
	return CTL_ERR;
}

static int run_print(struct run_state *s)
{
	if (s->c->out == OUT_JSON || s->c->out == OUT_YAML) {
		json_t *j = res_to_json(&s->res);

		if (!j) {
			log_err("out of memory");
			return CTL_ERR;
		}
		out_doc(s->c->out, j);
		json_decref(j);
	} else if (s->mode == WEP_ROUTED) {
		char ab[IP4_STRLEN];

		printf("%s\n", ip4_fmt(s->res.u.wep.nets[0].addr, ab));
	}
	return CTL_OK;
}

int cmd_run(struct ctl *c, int argc, char **argv)
{
	enum { O_NAME = 256, O_NETWORK, O_IP, O_LABEL, O_NOWAIT, O_EXPOSE };
	static const struct option lo[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "net", required_argument, NULL, O_NETWORK },
		{ "ip", required_argument, NULL, O_IP },
		{ "label", required_argument, NULL, O_LABEL },
		{ "no-wait", no_argument, NULL, O_NOWAIT },
		{ "publish", required_argument, NULL, 'p' },
		{ "expose", required_argument, NULL, O_EXPOSE },
		{ "publish-all", no_argument, NULL, 'P' },
		CTL_LONGOPTS
	};
	struct run_state s = { .c = c, .mode = WEP_ROUTED };
	struct labels labels = { 0 };
	struct resource old = { 0 };
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":p:P" CTL_SHORTOPTS, lo, NULL)) != -1) {
		switch (opt) {
		case O_NAME:
			s.name = optarg;
			break;
		case O_NETWORK:
			if (run_parse_network(&s, optarg) != CTL_OK) {
				rc = CTL_USAGE;
				goto out;
			}
			break;
		case 'p':
		case O_EXPOSE:
			if (run_parse_port(&s, optarg, opt == O_EXPOSE) != CTL_OK) {
				rc = CTL_USAGE;
				goto out;
			}
			break;
		case 'P':
			s.publish_all = true;
			break;
		case O_IP:
			if (ip4_parse(optarg, &s.want) < 0 || s.want == 0) {
				rc = ctl_usage_err(c, "--ip %s: invalid IPv4 address", optarg);
				goto out;
			}
			break;
		case O_LABEL: {
			char *eq = strchr(optarg, '='), *k;

			if (!eq) {
				rc = ctl_usage_err(c, "--label %s: expected KEY=VALUE", optarg);
				goto out;
			}
			k = strndup(optarg, (size_t)(eq - optarg));
			r = k ? labels_set(&labels, k, eq + 1) : -ENOMEM;
			free(k);
			if (r < 0) {
				rc = ctl_usage_err(c, "--label %s: %s", optarg,
						   r == -EINVAL ? "invalid key or value" : strerror(-r));
				goto out;
			}
			break;
		}
		case O_NOWAIT:
			s.no_wait = true;
			break;
		default:
			r = ctl_opt_common(c, opt, usage_run, argv);
			if (r != -2) {
				rc = r < 0 ? CTL_USAGE : r;
				goto out;
			}
		}
	}
	if (optind < argc) {
		rc = ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!s.name) {
		rc = ctl_usage_err(c, "--name is required");
		goto out;
	}
	if (!res_name_valid(s.name)) {
		rc = ctl_usage_err(c, "invalid workload name \"%s\": 1 to 63 lower-case "
				   "letters, digits, '-' or '.', starting and ending "
				   "with a letter or digit", s.name);
		goto out;
	}
	if (s.want && s.mode != WEP_ROUTED) {
		rc = ctl_usage_err(c, "--ip is for routed workloads only (--network %s)",
				   wep_mode_name(s.mode));
		goto out;
	}
	if (run_ports_settle(&s) != CTL_OK) {
		rc = CTL_USAGE;
		goto out;
	}
	if (s.mode == WEP_CONTAINER && !strcmp(s.target, s.name)) {
		rc = ctl_usage_err(c, "a workload cannot join itself");
		goto out;
	}
	/* From here on a signal must not leave half a workload behind. */
	ctl_catch_signals();
	if (ctl_ds(c) != CTL_OK)
		goto out;
	wep_netns_name(c, s.name, s.nsname, sizeof(s.nsname));
	if (netns_path(s.nsname, s.nspath, sizeof(s.nspath)) < 0 ||
	    strlen(s.nspath) >= sizeof(s.res.u.wep.netns)) {
		log_err("network namespace name %s is too long", s.nsname);
		goto out;
	}
	{
		char id[2 * RES_NAME_MAX];

		snprintf(id, sizeof(id), "%s/%s", c->cfg.node, s.name);
		if (res_key(RES_WEP, id, s.key, sizeof(s.key)) < 0) {
			log_err("workload key for %s too long", id);
			goto out;
		}
	}
	run_wep_init(&s, &labels);

	/* The name must be free: a cheap check that spares the work below;
	 * the record's create (CAS) and the namespace file (O_EXCL) settle
	 * races. */
	r = ctl_wep_get(c, s.name, &old, true);
	res_clear(&old);
	if (r == CTL_OK) {
		log_err("workload %s already exists on node %s", s.name, c->cfg.node);
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	if (s.mode == WEP_CONTAINER && run_target(&s) != CTL_OK)
		goto out;
	if (s.mode == WEP_ROUTED && run_networks_load(&s) != CTL_OK)
		goto out;
	/* Before any work: a host port taken already fails the run here (the
	 * record's transaction settles races). */
	if (s.res.u.wep.n_ports && ctl_hostports_pick(c, &s.res.u.wep, s.pick) != CTL_OK)
		goto out;

	if (run_interrupted())
		goto out;
	if (run_container_id(s.res.u.wep.container_id,
			     sizeof(s.res.u.wep.container_id)) < 0) {
		log_err("getrandom: %s", strerror(errno));
		goto out;
	}
	if (s.mode == WEP_ROUTED) {
		uint32_t addr = 0;

		r = ipam_handle_id(s.res.u.wep.container_id, WL_IFNAME, s.handle,
				   sizeof(s.handle));
		if (r < 0) {
			log_err("IPAM handle: %s", strerror(-r));
			goto out;
		}
		r = ipam_assign_in(c->ds, c->cfg.node, s.handle, s.want, &s.sel, &addr,
				   NULL);
		if (r < 0) {
			run_ipam_err(&s, r);
			goto undo;
		}
		s.assigned = true;
		s.res.u.wep.n_nets = 1;
		s.res.u.wep.nets[0].addr = addr;
		s.res.u.wep.nets[0].len = 32;
		if (run_interrupted())
			goto undo;
	}
	if (s.mode == WEP_ROUTED || s.mode == WEP_NONE) {
		if (run_netns(&s) != CTL_OK || run_interrupted())
			goto undo;
	}
	if (run_record(&s) != CTL_OK || run_interrupted())
		goto undo;
	if (s.mode == WEP_ROUTED && !s.no_wait &&
	    felix_wait(c, s.name, s.rev, false, false) != 0)
		goto undo;
	if (run_interrupted())
		goto undo;
	rc = run_print(&s);
	goto out;
undo:
	run_undo(&s);
	rc = CTL_ERR;
out:
	link_nl_free(s.host_nl);
	ds_kv_clear(&s.other);
	for (size_t i = 0; i < s.n_networks; i++)
		ds_kv_clear(&s.net_kv[i]);
	res_clear(&s.res);
	labels_clear(&labels);
	return rc;
}

/* ---------------------------------------------------------------- rm */

static const char usage_rm[] =
	"usage: petrelctl rm NAME... [--force] [--no-wait]\n"
	"\n"
	"Removes workloads: namespace (its interfaces go with it), address, then\n"
	"the record (so that an interrupted rm can be run again to finish). It\n"
	"returns once felix has dropped the workload's route and neighbour entry;\n"
	"the host interface goes with the namespace's teardown, shortly after (or\n"
	"when the last process still inside the namespace exits).\n"
	"  --force     also remove the workloads that join NAME (container:NAME);\n"
	"              for a NAME with no record, remove a namespace left over\n"
	"              by an interrupted run\n"
	"  --no-wait   return without waiting for felix\n";

struct rm_ctx {
	struct ctl *c;
	struct resource *all;	/* this node's workloads */
	size_t n;
	bool *gone;		/* per entry of all: removed by this command */
	size_t *links, nlinks;	/* entries whose host end rm_links() checks */
	bool force, no_wait;
	struct link_nl *host_nl;
};

/* Index of workload name, -1 when there is none, -2 when this command has
 * removed it already (a joiner removed with --force, or a name given twice). */
static ssize_t rm_find(struct rm_ctx *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->all[i].u.wep.name, name))
			return x->gone[i] ? -2 : (ssize_t)i;
	return -1;
}

static int rm_host_nl(struct rm_ctx *x)
{
	struct link_err le;

	if (x->host_nl)
		return 0;
	if (link_nl_open(&x->host_nl, &le) < 0) {
		link_err_print("opening netlink in the node's namespace", &le);
		return -1;
	}
	return 0;
}

/* Deletes the record of entry i and, in the same transaction, the host-port
 * reservations that name it. 0 or the transaction's error. */
static int rm_record(struct rm_ctx *x, size_t i, const char *key, int64_t *rev)
{
	struct ctl *c = x->c;
	const struct wep *w = &x->all[i].u.wep;
	struct ds_kv kv[WEP_MAX_PORTS];
	struct ds_op ops[1 + WEP_MAX_PORTS];
	size_t n = 0, nkv = 0;
	int r;

	memset(kv, 0, sizeof(kv));
	ops[n++] = (struct ds_op){ DS_OP_DELETE, key, NULL, x->all[i].revision };
	for (size_t k = 0; k < w->n_ports && k < WEP_MAX_PORTS; k++) {
		char owner[RES_NAME_MAX + 16];

		/* Only a reservation it holds (a record written by hand may
		 * list a port another workload has). */
		r = ctl_hostport_owner(c, w->ports[k].proto, w->ports[k].host_port,
				       owner, sizeof(owner), &kv[nkv]);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			goto out;
		if (strcmp(owner, w->name)) {
			ds_kv_clear(&kv[nkv]);
			continue;
		}
		ops[n++] = (struct ds_op){ DS_OP_DELETE, kv[nkv].key, NULL, kv[nkv].mod_rev };
		nkv++;
	}
	r = ds_txn(c->ds, ops, n, rev, NULL);
out:
	for (size_t k = 0; k < nkv; k++)
		ds_kv_clear(&kv[k]);
	return r;
}

/* The netns name of a workload's namespace under /run/netns, else NULL. */
static const char *wep_netns_name_of(const struct wep *w)
{
	const char *n = w->netns[0] ? wep_netns_short(w->netns) : NULL;

	return n && n != w->netns && hosts_name_valid(n) ? n : NULL;
}

/* /etc/netns/<netns name>/ of a removed workload (felix's hosts file).
 * Not for a container: workload: the folder is its target's. */
static void rm_hosts(const struct wep *w)
{
	const char *ns = wep_netns_name_of(w);
	int r;

	if (!ns || w->mode == WEP_CONTAINER || w->mode == WEP_HOST)
		return;
	r = hosts_remove(ns);
	if (r < 0)
		log_warn("removing workload %s: %s/%s: %s", w->name, HOSTS_ROOT, ns,
			 strerror(-r));
}

/* Removes entry i (the record last). CTL_OK or CTL_ERR. */
static int rm_one(struct rm_ctx *x, size_t i)
{
	struct ctl *c = x->c;
	struct wep *w = &x->all[i].u.wep;
	char key[RES_KEY_MAX], id[2 * RES_NAME_MAX], handle[IPAM_HANDLE_MAX];
	int64_t rev = 0;
	bool ours, held;
	int r;

	snprintf(id, sizeof(id), "%s/%s", w->node, w->name);
	if (res_key(RES_WEP, id, key, sizeof(key)) < 0) {
		log_err("workload key for %s too long", id);
		return CTL_ERR;
	}
	ours = w->netns[0] && wep_netns_is_ours(c, w);
	/* A process still inside keeps the namespace, and the veth, alive:
	 * then its host end must be deleted by hand (see the top). */
	held = ours && w->mode == WEP_ROUTED && netns_in_use(w->netns) > 0;
	if ((w->mode == WEP_ROUTED || w->mode == WEP_NONE) && ours) {
		r = netns_delete(w->netns);
		if (r < 0 && r != -ENOENT) {
			log_err("removing workload %s: deleting network namespace %s: %s",
				w->name, w->netns, strerror(-r));
			return CTL_ERR;
		}
	}
	if (w->mode == WEP_ROUTED && w->container_id[0]) {
		r = ipam_handle_id(w->container_id, w->wl_ifname, handle, sizeof(handle));
		if (r == 0)
			r = ipam_release_handle(c->ds, handle);
		if (r < 0) {
			log_err("removing workload %s: releasing its address (handle %s): %s",
				w->name, handle, r < -1000 ? ipam_strerror(r) : strerror(-r));
			return CTL_ERR;
		}
	}
	r = rm_record(x, i, key, &rev);
	if (r == -ECANCELED) {
		log_err("removing workload %s: its record changed meanwhile (did a "
			"workload join it?); run rm again", w->name);
		return CTL_ERR;
	}
	if (r < 0 && r != -ENOENT) {
		log_err("removing workload %s: deleting its record: %s (%s)", w->name,
			ds_strerror(r), ds_last_error(c->ds));
		return CTL_ERR;
	}
	x->gone[i] = true;
	if (w->mode == WEP_ROUTED && !x->no_wait && r == 0)
		felix_wait(c, w->name, rev, true, true);
	rm_hosts(w);
	/* The host end of a namespace we deleted goes with its teardown; one
	 * in a namespace we do not own would stay: delete it. */
	if (w->mode == WEP_ROUTED && w->ifname[0] && (!ours || held))
		x->links[x->nlinks++] = i;
	return CTL_OK;
}

/* By now the kernel has usually torn the namespaces down in the background,
 * their veths with them (deleting a veth ourselves costs 10-40 ms of RCU
 * waits in the caller, per veth). If a process still holds a namespace, its
 * host end is still here: delete it now, so that rm returns with it gone. */
static int rm_links(struct rm_ctx *x)
{
	int rc = CTL_OK;

	for (size_t k = 0; k < x->nlinks; k++) {
		const struct wep *w = &x->all[x->links[k]].u.wep;
		struct link_err le;
		int r;

		if (rm_host_nl(x) < 0)
			return CTL_ERR;
		r = link_del(x->host_nl, w->ifname, &le);
		if (r < 0 && r != -ENODEV) {
			char ctx[128];

			snprintf(ctx, sizeof(ctx), "removing workload %s", w->name);
			link_err_print(ctx, &le);
			rc = CTL_ERR;
		}
	}
	return rc;
}

/* rm --force NAME without a record: a namespace (and its host end) left by
 * a run that was killed before it recorded the workload. */
static int rm_leftover(struct rm_ctx *x, const char *name)
{
	struct ctl *c = x->c;
	char ns[RES_NAME_MAX + 64], ifn[IFNAME_LEN + 1];
	struct link_err le;
	int r, did = 0;

	if (!res_name_valid(name))
		return CTL_ERR;
	wep_netns_name(c, name, ns, sizeof(ns));
	ifname_for_workload(c->cfg.node, name, ifn);
	if (rm_host_nl(x) < 0)
		return CTL_ERR;
	r = link_del(x->host_nl, ifn, &le);
	if (r == 0)
		did = 1;
	else if (r != -ENODEV)
		link_err_print("removing left-overs", &le);
	r = netns_delete(ns);
	if (r == 0)
		did = 1;
	else if (r != -ENOENT)
		log_err("removing left-over network namespace %s: %s", ns, strerror(-r));
	if (hosts_name_valid(ns) && hosts_remove(ns) < 0)
		log_warn("removing left-over %s/%s", HOSTS_ROOT, ns);
	if (!did)
		return CTL_ERR;
	log_warn("no workload %s was recorded; removed what an interrupted run "
		 "left (namespace %s, interface %s)", name, ns, ifn);
	return CTL_OK;
}

int cmd_rm(struct ctl *c, int argc, char **argv)
{
	enum { O_FORCE = 256, O_NOWAIT };
	static const struct option lo[] = {
		{ "force", no_argument, NULL, O_FORCE },
		{ "no-wait", no_argument, NULL, O_NOWAIT },
		CTL_LONGOPTS
	};
	struct rm_ctx x = { .c = c };
	int opt, r, rc = CTL_OK;
	char **names;
	int nnames;

	while ((opt = getopt_long(argc, argv, ":f" CTL_SHORTOPTS, lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
		case O_FORCE:
			x.force = true;
			break;
		case O_NOWAIT:
			x.no_wait = true;
			break;
		default:
			r = ctl_opt_common(c, opt, usage_rm, argv);
			if (r != -2)
				return r < 0 ? CTL_USAGE : r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which workload? (rm NAME...)");
	names = argv + optind;
	nnames = argc - optind;
	if (ctl_wep_list(c, &x.all, &x.n) != CTL_OK)
		return CTL_ERR;
	x.gone = calloc(x.n ? x.n : 1, sizeof(*x.gone));
	x.links = calloc(x.n ? x.n : 1, sizeof(*x.links));
	if (!x.gone || !x.links) {
		log_err("out of memory");
		rc = CTL_ERR;
		goto out;
	}
	/* Half-done is worse than done: a signal stops between workloads. */
	ctl_catch_signals();
	/* Joiners named on the command line go first, so that `rm web sidecar`
	 * works without --force. */
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < nnames; k++) {
			ssize_t i = rm_find(&x, names[k]);
			bool joiner;

			if (ctl_signal) {
				log_err("interrupted (signal %d)", (int)ctl_signal);
				rc = CTL_ERR;
				goto links;
			}
			if (i == -2)
				continue;
			if (i < 0) {
				if (pass == 1 && !(x.force && rm_leftover(&x, names[k]) == CTL_OK)) {
					log_err("no workload %s on node %s", names[k], c->cfg.node);
					rc = CTL_ERR;
				}
				continue;
			}
			joiner = x.all[i].u.wep.mode == WEP_CONTAINER;
			if (joiner != (pass == 0))
				continue;
			if (!joiner) {
				/* Who joins it (and is not being removed)? */
				char list[512] = "";
				size_t nj = 0, off = 0;

				for (size_t j = 0; j < x.n; j++) {
					const struct wep *o = &x.all[j].u.wep;

					if (x.gone[j] || o->mode != WEP_CONTAINER ||
					    strcmp(o->container, names[k]))
						continue;
					if (x.force) {
						if (rm_one(&x, j) != CTL_OK)
							rc = CTL_ERR;
						continue;
					}
					nj++;
					if (off < sizeof(list))
						off += (size_t)snprintf(list + off, sizeof(list) - off,
									"%s%s", nj > 1 ? ", " : "",
									o->name);
				}
				if (nj) {
					log_err("workload %s is joined by %s (container:%s); remove "
						"%s first, or use --force", names[k], list,
						names[k], nj > 1 ? "them" : "it");
					rc = CTL_ERR;
					continue;
				}
				/* --force failed to remove a joiner: keep NAME. */
				for (size_t j = 0; j < x.n; j++)
					if (!x.gone[j] && x.all[j].u.wep.mode == WEP_CONTAINER &&
					    !strcmp(x.all[j].u.wep.container, names[k]))
						nj++;
				if (nj)
					continue;
			}
			if (rm_one(&x, (size_t)i) != CTL_OK)
				rc = CTL_ERR;
		}
	}
links:
	if (rm_links(&x) != CTL_OK)
		rc = CTL_ERR;
out:
	link_nl_free(x.host_nl);
	free(x.links);
	free(x.gone);
	ctl_res_free(x.all, x.n);
	return rc;
}

/* ---------------------------------------------------------------- exec */

static const char usage_exec[] =
	"usage: petrelctl exec NAME -- CMD [ARGS...]\n"
	"\n"
	"Runs CMD (found in $PATH, no shell) inside workload NAME's network\n"
	"namespace (the node's for a host workload). As ip netns exec does, CMD\n"
	"runs in a mount namespace of its own where each file of\n"
	"/etc/netns/<netns name>/ is bind-mounted over /etc/ (so /etc/hosts is\n"
	"the workload's, written by felix). The exit status is CMD's; 127 when\n"
	"CMD is not found, 126 when it cannot be run.\n";

/* As `ip netns exec`: a private mount namespace (mounts made here do not
 * propagate back to the node: / becomes a slave, recursively), then every
 * file of /etc/netns/<ns>/ bind-mounted over /etc/<file>. Nothing to do,
 * and no mount namespace, when the folder does not exist. CTL_OK or
 * CTL_ERR (printed). */
static int exec_etc_binds(const char *ns)
{
	char dir[sizeof(HOSTS_ROOT) + 260];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", HOSTS_ROOT, ns);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return CTL_OK;
		log_err("reading %s: %s", dir, strerror(errno));
		return CTL_ERR;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		log_err("unshare(CLONE_NEWNS) for %s: %s", dir, strerror(errno));
		closedir(d);
		return CTL_ERR;
	}
	if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) < 0) {
		log_err("mount --make-rslave /: %s", strerror(errno));
		closedir(d);
		return CTL_ERR;
	}
	while ((de = readdir(d)) != NULL) {
		char src[sizeof(dir) + 260], dst[270];

		/* ".": also felix's temporary files. */
		if (de->d_name[0] == '.')
			continue;
		snprintf(src, sizeof(src), "%s/%s", dir, de->d_name);
		snprintf(dst, sizeof(dst), "/etc/%s", de->d_name);
		if (mount(src, dst, "none", MS_BIND, NULL) < 0)
			log_warn("bind %s -> %s failed: %s", src, dst, strerror(errno));
	}
	closedir(d);
	return CTL_OK;
}

int cmd_exec(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	struct resource w = { 0 };
	const char *name;
	char **cmd;
	int opt, r;

	/* '+': stop at NAME, so CMD's own options stay CMD's. */
	while ((opt = getopt_long(argc, argv, "+:" CTL_SHORTOPTS, lo, NULL)) != -1) {
		r = ctl_opt_common(c, opt, usage_exec, argv);
		if (r != -2)
			return r < 0 ? CTL_USAGE : r;
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which workload? (exec NAME -- CMD...)");
	name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return ctl_usage_err(c, "which command? (exec NAME -- CMD...)");
	cmd = argv + optind;
	if (ctl_wep_get(c, name, &w, false) != CTL_OK)
		return CTL_ERR;
	if (w.u.wep.mode != WEP_HOST) {
		const char *ns = wep_netns_name_of(&w.u.wep);

		r = netns_enter(w.u.wep.netns);
		if (r < 0) {
			log_err("entering workload %s's network namespace %s: %s", name,
				w.u.wep.netns,
				r == -EINVAL ? "not a network namespace" : strerror(-r));
			res_clear(&w);
			return CTL_ERR;
		}
		if (ns && exec_etc_binds(ns) != CTL_OK) {
			res_clear(&w);
			return CTL_ERR;
		}
	}
	res_clear(&w);
	ds_close(c->ds);
	c->ds = NULL;
	fflush(stdout);
	execvp(cmd[0], cmd);
	r = errno;
	log_err("exec %s: %s", cmd[0], strerror(r));
	return r == ENOENT ? 127 : 126;
}

/* ---------------------------------------------------------------- ls */

static const char usage_ls[] =
	"usage: petrelctl ls\n"
	"\n"
	"This node's workloads: NAME MODE ADDRESS INTERFACE NETNS (wide: also\n"
	"JOINS MAC LABELS). A container: workload shows the address it shares.\n"
	"-o json|yaml: the WorkloadEndpoint documents, as a List.\n";

static void ls_labels(const struct labels *l, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", i ? "," : "",
					l->v[i].key, l->v[i].value);
}

int cmd_ls(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	static const char *const hdr[] = { "NAME", "MODE", "ADDRESS", "INTERFACE",
					   "NETNS", "JOINS", "MAC", "LABELS" };
	struct resource *all = NULL;
	struct table *t = NULL;
	size_t n = 0;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		r = ctl_opt_common(c, opt, usage_ls, argv);
		if (r != -2)
			return r < 0 ? CTL_USAGE : r;
	}
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_wep_list(c, &all, &n) != CTL_OK)
		return CTL_ERR;
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *items = json_array();

		for (size_t i = 0; items && i < n; i++)
			json_array_append_new(items, res_to_json(&all[i]));
		if (!items) {
			log_err("out of memory");
			goto out;
		}
		out_list(c->out, items);
		json_decref(items);
		rc = CTL_OK;
		goto out;
	}
	t = table_new(c->out == OUT_WIDE ? 8 : 5, hdr);
	for (size_t i = 0; i < n; i++) {
		const struct wep *w = &all[i].u.wep, *a = w;
		char addr[IP4_NETSTRLEN * WEP_MAX_NETS + WEP_MAX_NETS] = "";
		char mac[18] = "", labels[512];
		const char *cells[8];
		size_t off = 0;

		if (w->mode == WEP_CONTAINER)
			for (size_t j = 0; j < n; j++)
				if (!strcmp(all[j].u.wep.name, w->container))
					a = &all[j].u.wep;
		for (size_t k = 0; k < a->n_nets; k++) {
			char nb[IP4_NETSTRLEN];

			off += (size_t)snprintf(addr + off, sizeof(addr) - off, "%s%s",
						k ? "," : "", ip4_net_fmt(&a->nets[k], nb));
		}
		if (w->has_mac)
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
				 w->mac[0], w->mac[1], w->mac[2], w->mac[3], w->mac[4],
				 w->mac[5]);
		ls_labels(&w->labels, labels, sizeof(labels));
		cells[0] = w->name;
		cells[1] = wep_mode_name(w->mode);
		cells[2] = addr;
		cells[3] = w->ifname;
		cells[4] = w->netns[0] ? wep_netns_short(w->netns) : NULL;
		cells[5] = w->container;
		cells[6] = mac;
		cells[7] = labels;
		table_add(t, cells);
	}
	table_print(t, stdout);
	rc = CTL_OK;
out:
	table_free(t);
	ctl_res_free(all, n);
	return rc;
}

/* ---------------------------------------------------------------- inspect */

static const char usage_inspect[] =
	"usage: petrelctl inspect NAME\n"
	"\n"
	"The workload's WorkloadEndpoint document, as JSON (-o yaml: YAML).\n";

int cmd_inspect(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	struct resource w = { 0 };
	json_t *j;
	int opt, r;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		r = ctl_opt_common(c, opt, usage_inspect, argv);
		if (r != -2)
			return r < 0 ? CTL_USAGE : r;
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which workload? (inspect NAME)");
	if (optind + 1 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 1]);
	if (ctl_wep_get(c, argv[optind], &w, false) != CTL_OK)
		return CTL_ERR;
	j = res_to_json(&w);
	res_clear(&w);
	if (!j) {
		log_err("out of memory");
		return CTL_ERR;
	}
	out_doc(c->out == OUT_YAML ? OUT_YAML : OUT_JSON, j);
	json_decref(j);
	return CTL_OK;
}
