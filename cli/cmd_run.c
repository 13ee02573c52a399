/*
 * Workloads: run and rm (exec, ls, inspect: cmd_ls.c).
 *
 * run and rm are glue: they parse the command line, build the
 * WorkloadEndpoint and hand it to endpoint/ (endpoint_create,
 * endpoint_remove: the one lifecycle, its order, undo and invariants are
 * in endpoint/endpoint.h), then print what it says. SIGINT/SIGTERM/SIGHUP
 * only set a flag that endpoint_create checks between its steps (and that
 * interrupts its wait for felix): it undoes what it did. A routed
 * workload's namespace is <workloadNetnsPrefix><NAME>, its container ID 64
 * random hex digits (IPAM handle "<containerID>.eth0").
 *
 * rm removes each workload's namespace (petrelctl's only: never one an
 * engine made through the CNI plugin), then its record, reservations and
 * address, and waits for felix to drop its state (unless --no-wait); the
 * host end goes with the namespace's teardown. Joiners named on the command
 * line go first, so that `rm web sidecar` works without --force. rm
 * --force NAME without a record removes the namespace an interrupted run
 * left.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/petrelctl.h"
#include "common/hosts.h"
#include "common/ip4.h"
#include "common/ip6.h"
#include "common/log.h"
#include "common/netns.h"
#include "endpoint/endpoint.h"

#define WL_IFNAME "eth0"

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

/* What endpoint/ could not finish (undo, felix's confirmation): warnings. */
static void ctl_ep_warn(const struct endpoint_err *e)
{
	const char *p = e->warn;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		log_warn("%.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

/* endpoint/'s failure, as petrelctl says it: the message with the hint of
 * its stage, then what undo left behind. Returns CTL_ERR. */
static int ctl_ep_fail(const struct ctl *c, const struct endpoint_err *e,
		       const char *name)
{
	const char *hint = "";
	char buf[160] = "";

	if (e->stage == EP_WAIT && e->code != -EINTR && e->code != -EREMOTEIO &&
	    e->code != -EPROTO)
		hint = "; use --no-wait to skip";
	else if (e->stage == EP_NETNS && e->code == -EEXIST)
		hint = snprintf(buf, sizeof(buf), " (`petrelctl rm --force %s` removes it)",
				name) > 0 ? buf : "";
	else if (e->stage == EP_LINK && e->code == -EEXIST && e->le.create)
		hint = snprintf(buf, sizeof(buf), " (left over? `petrelctl rm --force %s` "
				"removes it)", name) > 0 ? buf : "";
	(void)c;
	log_err("%s%s", e->msg, hint);
	ctl_ep_warn(e);
	return CTL_ERR;
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
	char nsname[RES_NAME_MAX + 64];
	bool mode_set, net_default;
	size_t n_networks;
	const char *networks[WEP_MAX_NETWORKS];
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

/* Builds the record; endpoint_create fills the rest. */
static void run_wep_init(struct run_state *s, struct labels *labels)
{
	struct wep *w = &s->res.u.wep;

	s->res.kind = RES_WEP;
	snprintf(w->node, sizeof(w->node), "%s", s->c->cfg.node);
	snprintf(w->name, sizeof(w->name), "%s", s->name);
	w->mode = s->mode;
	w->labels = *labels;	/* moved */
	memset(labels, 0, sizeof(*labels));
	if (s->mode == WEP_ROUTED)
		snprintf(w->wl_ifname, sizeof(w->wl_ifname), "%s", WL_IFNAME);
	if (s->mode == WEP_CONTAINER)
		snprintf(w->container, sizeof(w->container), "%s", s->target);
	for (size_t i = 0; i < s->n_networks; i++)
		snprintf(w->networks[i], sizeof(w->networks[i]), "%s", s->networks[i]);
	w->n_networks = s->n_networks;
	memcpy(w->ports, s->ports, s->n_ports * sizeof(s->ports[0]));
	w->n_ports = s->n_ports;
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
	struct endpoint_req q;
	struct endpoint_err e;
	char sock[CONFIG_PATH_MAX + 16];
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
		case O_IP: {
			struct ip6 a6;

			if (ip6_parse(optarg, &a6) == 0) {
				log_err("--ip %s: IPv6 is not routed yet (see docs/ipv6.md)",
					optarg);
				rc = CTL_ERR;
				goto out;
			}
			if (ip4_parse(optarg, &s.want) < 0 || s.want == 0) {
				rc = ctl_usage_err(c, "--ip %s: invalid IPv4 address", optarg);
				goto out;
			}
			break;
		}
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
			if (!ctl_opt_common(c, opt, usage_run, argv, &rc))
				goto out;
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
	run_wep_init(&s, &labels);
	if (run_container_id(s.res.u.wep.container_id,
			     sizeof(s.res.u.wep.container_id)) < 0) {
		log_err("getrandom: %s", strerror(errno));
		goto out;
	}
	/* The name must be free: a cheap check that spares the work; the
	 * record's create (CAS) and the namespace file (O_EXCL) settle races. */
	endpoint_prefetch(c->ds, c->cfg.node, s.name);
	r = ctl_wep_get(c, s.name, &old, true);
	res_clear(&old);
	if (r == CTL_OK) {
		log_err("workload %s already exists on node %s", s.name, c->cfg.node);
		goto out;
	}
	if (r != -ENOENT)
		goto out;
	config_status_socket(&c->cfg, sock, sizeof(sock));
	q = (struct endpoint_req){
		.res = &s.res,
		.netns_name = s.mode == WEP_ROUTED || s.mode == WEP_NONE ? s.nsname : NULL,
		.want = s.want,
		.pick = s.pick,
		.port_lo = c->cfg.host_port_lo,
		.port_hi = c->cfg.host_port_hi,
		.allow_ports = c->cfg.allow_host_ports,
		.n_allow_ports = c->cfg.n_allow_host_ports,
		.status_sock = sock,
		.wait_ms = c->cfg.wait_timeout * 1000,
		.no_wait = s.no_wait,
		.stop = &ctl_signal,
	};
	if (endpoint_create(c->ds, &q, &e) < 0) {
		ctl_ep_fail(c, &e, s.name);
		goto out;
	}
	rc = run_print(&s);
out:
	res_clear(&s.res);
	labels_clear(&labels);
	return rc;
}

/* ---------------------------------------------------------------- rm */

static const char usage_rm[] =
	"usage: petrelctl rm NAME... [--force] [--no-wait]\n"
	"\n"
	"Removes workloads: namespace (its interfaces go with it), then the\n"
	"record with its address. It returns once felix has dropped the\n"
	"workload's route and neighbour entry; the host interface goes with the\n"
	"namespace's teardown, shortly after (or, when a process is still inside\n"
	"the namespace, is deleted by rm).\n"
	"  --force     also remove the workloads that join NAME (container:NAME);\n"
	"              for a NAME with no record, remove a namespace left over\n"
	"              by an interrupted run\n"
	"  --no-wait   return without waiting for felix\n";

struct rm_ctx {
	struct ctl *c;
	struct resource *all;	/* this node's workloads */
	size_t n;
	bool *gone;		/* per entry of all: removed by this command */
	bool force, no_wait;
	char sock[CONFIG_PATH_MAX + 16];
};

enum { RM_NONE = -1, RM_DONE = -2 };

/* Index of workload name, RM_NONE when there is none, RM_DONE when this
 * command has removed it already (a joiner removed with --force, or a name
 * given twice). */
static ssize_t rm_find(struct rm_ctx *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(x->all[i].u.wep.name, name))
			return x->gone[i] ? RM_DONE : (ssize_t)i;
	return RM_NONE;
}

/* Removes entry i. CTL_OK or CTL_ERR. */
static int rm_one(struct rm_ctx *x, size_t i)
{
	struct ctl *c = x->c;
	const struct wep *w = &x->all[i].u.wep;
	struct endpoint_rm how = {
		.own_netns = w->netns[0] && wep_netns_is_ours(c, w),
		.status_sock = x->no_wait ? NULL : x->sock,
		.wait_ms = c->cfg.wait_timeout * 1000,
	};
	struct endpoint_err e;
	int r;

	r = endpoint_remove(c->ds, &x->all[i], &how, &e);
	ctl_ep_warn(&e);
	if (r < 0 && r != -ENOENT) {
		log_err("%s", e.msg);
		return CTL_ERR;
	}
	x->gone[i] = true;
	return CTL_OK;
}

/* rm --force NAME without a record: the namespace left by a run that was
 * killed before it recorded the workload (its teardown takes the veth; no
 * interface is deleted by name). */
static int rm_leftover(struct rm_ctx *x, const char *name)
{
	struct ctl *c = x->c;
	char ns[RES_NAME_MAX + 64];
	int r;

	if (!res_name_valid(name))
		return CTL_ERR;
	wep_netns_name(c, name, ns, sizeof(ns));
	r = netns_delete(ns);
	if (r != 0 && r != -ENOENT)
		log_err("removing left-over network namespace %s: %s", ns, strerror(-r));
	if (hosts_name_valid(ns) && hosts_remove(ns) < 0)
		log_warn("removing left-over %s/%s", HOSTS_ROOT, ns);
	if (r != 0)
		return CTL_ERR;
	log_warn("no workload %s was recorded; removed what an interrupted run "
		 "left (namespace %s)", name, ns);
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
			if (!ctl_opt_common(c, opt, usage_rm, argv, &r))
				return r;
		}
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which workload? (rm NAME...)");
	names = argv + optind;
	nnames = argc - optind;
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	endpoint_prefetch(c->ds, c->cfg.node, NULL);
	if (ctl_wep_list(c, &x.all, &x.n) != CTL_OK)
		return CTL_ERR;
	config_status_socket(&c->cfg, x.sock, sizeof(x.sock));
	x.gone = calloc(x.n ? x.n : 1, sizeof(*x.gone));
	if (!x.gone) {
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
				goto out;
			}
			if (i == RM_DONE)
				continue;
			if (i == RM_NONE) {
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
out:
	free(x.gone);
	ctl_res_free(x.all, x.n);
	return rc;
}

