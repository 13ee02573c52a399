/*
 * status: asks felix over its status socket how it is doing. Exit 1 when
 * felix does not answer (so scripts can wait for it with `until status`).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/log.h"
#include "common/status.h"

#define STATUS_TIMEOUT_MS 3000

static const char usage_status[] =
	"usage: petrelctl status\n"
	"\n"
	"Asks felix on this node (its status socket, <runDir>/felix.sock): running\n"
	"or not, whether it reaches the datastore (\"datastore unreachable since T\n"
	"(...), retrying\" while it does not: felix then keeps everything as it is),\n"
	"the datastore revision it has applied, endpoints programmed, and each\n"
	"NetworkPolicy whose stored version felix cannot read (what is in force\n"
	"instead: its last good version, or a closed policy; docs/policy.md).\n"
	"-o json: felix's answer as it is. Exit 1 when felix does not answer.\n";

/* nft.policyFailures: one line each. */
static void status_policy_failures(json_t *nft)
{
	json_t *a = json_object_get(nft, "policyFailures"), *x;
	size_t i;

	json_array_foreach(a, i, x) {
		const char *in = json_string_value(json_object_get(x, "inForce"));

		printf("%-14s %s (revision %lld) does not decode: %s; in force: %s\n",
		       "policy failed:", json_string_value(json_object_get(x, "name")),
		       (long long)json_integer_value(json_object_get(x, "revision")),
		       json_string_value(json_object_get(x, "reason")),
		       in && !strcmp(in, "closed") ?
		       (json_is_true(json_object_get(x, "closesAll")) ?
			"closed (denies every workload)" : "closed (denies what it selects)") :
		       "its last good version");
	}
}

static void status_line(const char *label, json_t *v)
{
	if (json_is_integer(v))
		printf("%-14s %lld\n", label, (long long)json_integer_value(v));
	else if (json_is_string(v))
		printf("%-14s %s\n", label, json_string_value(v));
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	char sock[CONFIG_PATH_MAX + 16];
	json_t *req, *reply = NULL;
	int r;

	r = ctl_parse_common_only(c, argc, argv, usage_status);
	if (r >= 0)
		return r;
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_setup(c) != CTL_OK)
		return CTL_ERR;
	config_status_socket(&c->cfg, sock, sizeof(sock));
	req = json_pack("{s:s}", "op", "status");
	if (!req) {
		log_err("out of memory");
		return CTL_ERR;
	}
	r = status_call(sock, req, STATUS_TIMEOUT_MS, &reply);
	json_decref(req);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET) {
		log_err("felix is not running on node %s (no answer on %s)", c->cfg.node,
			sock);
		return CTL_ERR;
	}
	if (r < 0) {
		log_err("asking felix on %s: %s", sock,
			r == -ETIMEDOUT ? "no answer in time"
			: r == -EPROTO ? "no valid reply (not one JSON object)" : strerror(-r));
		return CTL_ERR;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		out_doc(c->out, reply);
	} else if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));

		log_err("felix on node %s: %s", c->cfg.node, e ? e : "not ok");
		json_decref(reply);
		return CTL_ERR;
	} else {
		json_t *pid = json_object_get(reply, "pid");

		printf("felix on node %s: running", c->cfg.node);
		if (json_is_integer(pid))
			printf(" (pid %lld)", (long long)json_integer_value(pid));
		printf("\n");
		json_t *ds = json_object_get(reply, "datastore");

		const char *msg = json_string_value(json_object_get(ds, "message"));
		const char *url = json_string_value(json_object_get(ds, "url"));

		/* felix's reply is outside input: a field may be missing */
		if (json_is_false(json_object_get(ds, "reachable")))
			printf("%-14s %s\n", "datastore:", msg ? msg : "unreachable");
		else if (json_is_object(ds))
			printf("%-14s reachable (%s)\n", "datastore:", url ? url : "?");
		status_line("revision:", json_object_get(reply, "revision"));
		status_line("endpoints:", json_object_get(reply, "endpoints"));
		status_line("programmed:", json_object_get(reply, "programmed"));
		status_line("blocks:", json_object_get(reply, "blocks"));
		if (json_is_integer(json_object_get(reply, "lastResyncMs")))
			printf("%-14s %lld ms\n", "last resync:", (long long)json_integer_value(
				       json_object_get(reply, "lastResyncMs")));
		status_policy_failures(json_object_get(reply, "nft"));
	}
	r = json_is_true(json_object_get(reply, "ok")) ? CTL_OK : CTL_ERR;
	json_decref(reply);
	return r;
}
