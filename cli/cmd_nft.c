/*
 * nft [NAME]: what felix programmed into its nftables table, as nft text,
 * asked from felix over its status socket (common/status.h):
 *   {"op":"nft","endpoint":NAME}   (no endpoint: the whole table)
 *   → {"ok":true,"text":"..."} | {"ok":false,"error":"..."}
 * felix answers from what it reads back from the kernel, not from what it
 * meant to write, so this shows the truth of the node.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/log.h"
#include "common/status.h"

#define NFT_TIMEOUT_MS 5000

static const char usage_nft[] =
	"usage: petrelctl nft [NAME]\n"
	"\n"
	"The nftables rules felix programmed on this node (table inet petrel), as\n"
	"nft text: with NAME, workload NAME's chains (from-IF, to-IF), the policy\n"
	"chains they jump to and its set elements; without, the whole table.\n"
	"Asks felix over its status socket; -o json prints felix's reply\n"
	"({\"ok\":true,\"text\":\"...\"}).\n";

int cmd_nft(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	char sock[CONFIG_PATH_MAX + 16];
	const char *name = NULL, *text, *err;
	json_t *req = NULL, *reply = NULL;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (!ctl_opt_common(c, opt, usage_nft, argv, &r))
			return r;
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (name && !res_name_valid(name)) {
		log_err("no workload %s on this node (not a valid name)", name);
		return CTL_ERR;
	}
	if (ctl_setup(c) != CTL_OK)
		return CTL_ERR;
	req = name ? json_pack("{s:s, s:s}", "op", "nft", "endpoint", name)
		   : json_pack("{s:s}", "op", "nft");
	if (!req) {
		log_err("out of memory");
		return CTL_ERR;
	}
	config_status_socket(&c->cfg, sock, sizeof(sock));
	r = status_call(sock, req, NFT_TIMEOUT_MS, &reply);
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET) {
		log_err("felix is not running on node %s (no answer on %s)", c->cfg.node,
			sock);
		goto out;
	}
	if (r < 0) {
		log_err("asking felix on %s: %s", sock,
			r == -EPROTO ? "no valid reply (not one JSON object)" : strerror(-r));
		goto out;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		out_doc(c->out, reply);
		rc = json_is_true(json_object_get(reply, "ok")) ? CTL_OK : CTL_ERR;
		goto out;
	}
	text = json_string_value(json_object_get(reply, "text"));
	if (!json_is_true(json_object_get(reply, "ok")) || !text) {
		err = json_string_value(json_object_get(reply, "error"));
		log_err("felix on node %s: %s", c->cfg.node,
			err ? err : "no text in its reply");
		goto out;
	}
	fputs(text, stdout);
	if (*text && text[strlen(text) - 1] != '\n')
		putchar('\n');
	rc = CTL_OK;
out:
	json_decref(req);
	json_decref(reply);
	return rc;
}
