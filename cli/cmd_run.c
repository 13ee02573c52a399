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
 * when it looked for joiners).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/petrelctl.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/link.h"
#include "common/log.h"
#include "common/netns.h"
#include "common/status.h"
#include "ipam/ipam.h"

#define WL_IFNAME "eth0"
#define WL_GATEWAY 0xa9fe0101u	/* 169.254.1.1 */

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
	"usage: petrelctl run --name NAME [--network MODE] [--ip ADDR]\n"
	"                     [--label KEY=VALUE]... [--no-wait]\n"
	"\n"
	"Creates the network of workload NAME on this node and records it.\n"
	"  --network routed     (default) its own namespace <workloadNetnsPrefix>NAME,\n"
	"                       eth0 with ADDR/32 from IPAM, routed by the node\n"
	"           host        the node's own network, no address\n"
	"           none        its own namespace with lo only\n"
	"           container:OTHER  joins OTHER's namespace (OTHER: routed or none)\n"
	"  --ip ADDR            that address (routed; it must be in an enabled pool)\n"
	"  --label KEY=VALUE    a label (repeatable)\n"
	"  --no-wait            return without waiting for felix to program it\n"
	"                       (routed; by default run waits up to waitTimeout and\n"
	"                       undoes everything if felix does not answer)\n"
	"Prints the address (routed); with -o json|yaml the WorkloadEndpoint.\n";

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
};

static int run_parse_network(struct run_state *s, const char *v)
{
	if (!strncmp(v, "container:", 10)) {
		s->mode = WEP_CONTAINER;
		s->target = v + 10;
		return s->target[0] ? 0 : -EINVAL;
	}
	if (!strcmp(v, "routed"))
		s->mode = WEP_ROUTED;
	else if (!strcmp(v, "host"))
		s->mode = WEP_HOST;
	else if (!strcmp(v, "none"))
		s->mode = WEP_NONE;
	else
		return -EINVAL;
	return 0;
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

/* Everything done so far, backwards (the host link last, see rm). Failures
 * here leave something behind: say what, so the operator can finish. */
static void run_undo(struct run_state *s)
{
	struct ctl *c = s->c;
	struct link_err le;
	int r;

	if (s->recorded) {
		r = ds_delete(c->ds, s->key, s->rev);
		if (r < 0 && r != -ENOENT)
			log_warn("undo: deleting the record %s: %s (%s)", s->key,
				 ds_strerror(r), ds_last_error(c->ds));
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
		log_err("no free address for %s: every enabled IP pool is exhausted "
			"(or there is none: petrelctl pool create)", s->name);
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

static int run_record(struct run_state *s)
{
	struct ctl *c = s->c;
	char *text = res_to_text(&s->res);
	int r;

	if (!text) {
		log_err("out of memory");
		return CTL_ERR;
	}
	if (s->mode == WEP_CONTAINER) {
		char okey[RES_KEY_MAX], id[2 * RES_NAME_MAX];
		struct ds_op ops[2];
		size_t failed = 0;

		snprintf(id, sizeof(id), "%s/%s", c->cfg.node, s->target);
		res_key(RES_WEP, id, okey, sizeof(okey));
		ops[0] = (struct ds_op){ DS_OP_CREATE, s->key, text, 0 };
		ops[1] = (struct ds_op){ DS_OP_UPDATE, okey, s->other.value,
					 s->other.mod_rev };
		r = ds_txn(c->ds, ops, 2, &s->rev, &failed);
		if (r < 0 && failed == 1 && (r == -ENOENT || r == -ECANCELED)) {
			log_err("container:%s: %s was removed or changed meanwhile; try again",
				s->target, s->target);
			free(text);
			return CTL_ERR;
		}
	} else {
		r = ds_create(c->ds, s->key, text, &s->rev);
	}
	free(text);
	if (r == -EEXIST) {
		log_err("workload %s already exists on node %s", s->name, c->cfg.node);
		return CTL_ERR;
	}
	if (r < 0) {
		log_err("recording workload %s: %s (%s)", s->name, ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	s->recorded = true;
	s->res.revision = s->rev;
	return CTL_OK;
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
	enum { O_NAME = 256, O_NETWORK, O_IP, O_LABEL, O_NOWAIT };
	static const struct option lo[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "net", required_argument, NULL, O_NETWORK },
		{ "ip", required_argument, NULL, O_IP },
		{ "label", required_argument, NULL, O_LABEL },
		{ "no-wait", no_argument, NULL, O_NOWAIT },
		CTL_LONGOPTS
	};
	struct run_state s = { .c = c, .mode = WEP_ROUTED };
	struct labels labels = { 0 };
	struct resource old = { 0 };
	const char *network = NULL;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		switch (opt) {
		case O_NAME:
			s.name = optarg;
			break;
		case O_NETWORK:
			network = optarg;
			if (run_parse_network(&s, optarg) < 0) {
				rc = ctl_usage_err(c, "--network %s: unknown network mode "
						   "(routed, host, none or container:NAME)",
						   optarg);
				goto out;
			}
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
				   network);
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
		r = ipam_assign(c->ds, c->cfg.node, s.handle, s.want, &addr, NULL);
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

/* Removes entry i (the record last). CTL_OK or CTL_ERR. */
static int rm_one(struct rm_ctx *x, size_t i)
{
	struct ctl *c = x->c;
	struct wep *w = &x->all[i].u.wep;
	char key[RES_KEY_MAX], id[2 * RES_NAME_MAX], handle[IPAM_HANDLE_MAX];
	struct ds_op op;
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
	op = (struct ds_op){ DS_OP_DELETE, key, NULL, x->all[i].revision };
	r = ds_txn(c->ds, &op, 1, &rev, NULL);
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
	"namespace (the node's for a host workload). The exit status is CMD's;\n"
	"127 when CMD is not found, 126 when it cannot be run.\n";

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
		r = netns_enter(w.u.wep.netns);
		if (r < 0) {
			log_err("entering workload %s's network namespace %s: %s", name,
				w.u.wep.netns,
				r == -EINVAL ? "not a network namespace" : strerror(-r));
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
