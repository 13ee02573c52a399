/*
 * Workloads, read and entered: exec, ls, inspect (run and rm: cmd_run.c).
 *
 * exec enters the namespace and, like `ip netns exec`, bind-mounts the
 * files of /etc/netns/<netns name>/ (felix's hosts file) over /etc/ in a
 * private mount namespace; rm and run's undo remove that folder.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cli/petrelctl.h"
#include "common/hosts.h"
#include "common/ip4.h"
#include "common/log.h"
#include "common/netns.h"

static const char *wep_netns_short(const char *path)
{
	size_t n = strlen(NETNS_RUN_DIR "/");

	if (!strncmp(path, NETNS_RUN_DIR "/", n) && !strchr(path + n, '/'))
		return path + n;
	return path;
}

/* The netns name of a workload's namespace under /run/netns, else NULL. */
static const char *wep_netns_name_of(const struct wep *w)
{
	const char *n = w->netns[0] ? wep_netns_short(w->netns) : NULL;

	return n && n != w->netns && hosts_name_valid(n) ? n : NULL;
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

	snprintf(dir, sizeof(dir), "%s/%.255s", HOSTS_ROOT, ns);
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
		if (!ctl_opt_common(c, opt, usage_exec, argv, &r))
			return r;
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
		if (!ctl_opt_common(c, opt, usage_ls, argv, &r))
			return r;
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
		out_labels(&w->labels, labels, sizeof(labels));
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
		if (!ctl_opt_common(c, opt, usage_inspect, argv, &r))
			return r;
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
