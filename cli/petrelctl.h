/*
 * petrelctl's insides, shared by its verb files (private to cli/).
 *
 * Each verb is `int cmd_VERB(struct ctl *c, int argc, char **argv)` with
 * argv[0] the verb; it returns the process's exit code: CTL_OK, CTL_ERR
 * (a message naming what failed is already on stderr) or CTL_USAGE.
 * Verbs parse their arguments first (so that --help and usage errors need
 * no config, no root), then call ctl_setup() which loads the config and
 * enters the node's network namespace, and ctl_ds() for the datastore.
 */
#ifndef PETREL_CLI_PETRELCTL_H
#define PETREL_CLI_PETRELCTL_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/config.h"
#include "common/errs.h"
#include "datastore/datastore.h"
#include "model/resource.h"

enum { CTL_OK = 0, CTL_ERR = 1, CTL_USAGE = 2 };

enum out_fmt { OUT_TABLE, OUT_WIDE, OUT_YAML, OUT_JSON };

struct ctl {
	const char *conf_path;		/* -c; NULL: $PETREL_CONFIG or the default */
	enum out_fmt out;
	bool out_set;			/* -o given */
	const char *verb;
	struct petrel_config cfg;
	bool ready;			/* config loaded, namespace entered */
	struct ds *ds;
};

/* The global options every verb also accepts after the verb. Put
 * CTL_LONGOPTS at the end of a verb's table and CTL_SHORTOPTS in its
 * short options; hand each option to ctl_opt_common(). */
#define CTL_SHORTOPTS "c:o:h"
#define CTL_LONGOPTS                                        \
	{ "config", required_argument, NULL, 'c' },         \
	{ "output", required_argument, NULL, 'o' },         \
	{ "help", no_argument, NULL, 'h' },                 \
	{ NULL, 0, NULL, 0 }

/* Handles -c, -o, -h and getopt's '?'/':' for verb c->verb: true when the
 * option was one of -c, -o (valid) and parsing goes on; else false and *rc
 * is what the verb returns (CTL_OK after printing usage for -h, CTL_USAGE
 * after a message for a bad option, CTL_USAGE for one it does not know). */
bool ctl_opt_common(struct ctl *c, int opt, const char *usage, char **argv, int *rc);
/* Starts getopt over (its state is global). */
void ctl_getopt_reset(void);
/* "petrelctl VERB: MESSAGE" + a hint to --help on stderr; returns CTL_USAGE. */
int ctl_usage_err(struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int ctl_parse_output(struct ctl *c, const char *s);

/* Sub-verbs (pool, ipam): the index of the first argument that is neither
 * an option nor a global option's value, or -1; argv without it (argv[0]
 * kept), for the sub-verb's getopt (free() it). */
int ctl_find_subverb(int argc, char **argv);
char **ctl_sub_argv(int argc, char **argv, int sub);
/* Parses only the global options: -1 to go on, else an exit code. */
int ctl_parse_common_only(struct ctl *c, int argc, char **argv, const char *usage);
struct ctl_sub {
	const char *name, *alias;	/* alias may be NULL */
	const char *verb;		/* for messages: "pool create" */
	int (*fn)(struct ctl *c, int argc, char **argv);
};
/* Dispatches to the sub-verb among subs (usage: for -h without one). */
int ctl_run_sub(struct ctl *c, int argc, char **argv, const struct ctl_sub *subs,
		size_t n, const char *usage);

/* Loads the config (printing every error) and enters its netns. CTL_OK or CTL_ERR. */
int ctl_setup(struct ctl *c);
/* Opens the datastore (after ctl_setup). CTL_OK or CTL_ERR. */
int ctl_ds(struct ctl *c);
/* The text of an error code inside petrelctl: -errno, a datastore code
 * or one of IPAM's own (IPAM_E*): the one strerror of the CLI. */
const char *ctl_strerror(int r);
/* Prints errs to stderr (one line each) and clears them. */
void ctl_print_errs(struct errs *e);

/* Verbs. */
int cmd_apply(struct ctl *c, int argc, char **argv);
int cmd_get(struct ctl *c, int argc, char **argv);
int cmd_delete(struct ctl *c, int argc, char **argv);
/* NAME as the datastore key of kind k (a WEP's NAME on this node unless
 * NODE/NAME; an IPAM block by CIDR or name). 0, -EINVAL or -ENAMETOOLONG. */
int ctl_get_key(struct ctl *c, enum res_kind k, const char *name, char *key,
		size_t len);
int cmd_pool(struct ctl *c, int argc, char **argv);
int cmd_run(struct ctl *c, int argc, char **argv);
int cmd_rm(struct ctl *c, int argc, char **argv);
int cmd_exec(struct ctl *c, int argc, char **argv);
int cmd_ls(struct ctl *c, int argc, char **argv);
int cmd_inspect(struct ctl *c, int argc, char **argv);
int cmd_ipam(struct ctl *c, int argc, char **argv);
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_bgp(struct ctl *c, int argc, char **argv);
int cmd_node(struct ctl *c, int argc, char **argv);
int cmd_network(struct ctl *c, int argc, char **argv);
int cmd_port(struct ctl *c, int argc, char **argv);
int cmd_policy(struct ctl *c, int argc, char **argv);
int cmd_nft(struct ctl *c, int argc, char **argv);
int cmd_datastore(struct ctl *c, int argc, char **argv);

/* --- cmd_port.c: published ports --- */
const char *ctl_proto_name(uint8_t proto);	/* "tcp" | "udp" */
/* run's -p "[hostIP:][hostPort:]containerPort[/proto]" (host_port 0: pick
 * one) or, expose, --expose "PORT[/proto]". 0 or -EINVAL. */
int ctl_port_parse(const char *spec, bool expose, struct wep_port *out);

/* --- cmd_network.c: named networks --- */
/* Names a network may not have: "default", docker's modes; ':' is no valid
 * resource name anyway. */
bool ctl_network_name_reserved(const char *name);
/* Network name as stored: *out and its record kv (for CAS; cleared by the
 * caller). CTL_OK; CTL_ERR printed ("no network NAME"); -ENOENT silently
 * when quiet_missing. */
int ctl_network_get(struct ctl *c, const char *name, struct network *out,
		    struct ds_kv *kv, bool quiet_missing);

/* --- cmd_bgp.c: what apply/get share about BGPPeer and BGPConfiguration --- */
/* What documents shown say instead of a password. apply of a document
 * holding it keeps the stored password. */
#define CTL_SECRET_MASK "***"
/* Replaces spec.password / spec.meshPassword of doc (borrowed) by the mask. */
void ctl_bgp_mask(json_t *doc);
struct table *ctl_bgp_table(enum res_kind k, enum out_fmt fmt);
void ctl_bgp_row(struct table *t, const struct resource *r);
/* Every stored BGPPeer (res_kind RES_BGPPEER). CTL_OK or CTL_ERR (printed). */
int ctl_bgppeer_list(struct ctl *c, struct resource **out, size_t *n);
/* The checks across documents for p: a peer at this node's own BGP address,
 * another BGPPeer (stored, or among extra: others of the same input) at p's
 * address that can apply to the same node. Messages ("spec.peerIP: ...")
 * go to e; CTL_ERR only when the store fails (printed). */
int ctl_bgppeer_check(struct ctl *c, const struct bgppeer *p,
		      const struct bgppeer *const *extra, size_t n_extra,
		      struct errs *e);

/* Shared by run/rm/ls/inspect/get: the node's workload NAME. CTL_OK and
 * *out (rev set), or CTL_ERR after printing ("no workload NAME on node X")
 * unless quiet_missing, in which case -ENOENT is returned silently. */
int ctl_wep_get(struct ctl *c, const char *name, struct resource *out,
		bool quiet_missing);
/* All workloads of this node, sorted by name. */
/* Every resource of kind (of node, for WorkloadEndpoints) as stored; a
 * document that does not decode is skipped with a warning. Free with
 * ctl_res_free. */
int ctl_res_list(struct ctl *c, enum res_kind kind, const char *node,
		 struct resource **out, size_t *n);
int ctl_wep_list(struct ctl *c, struct resource **out, size_t *n);
void ctl_res_free(struct resource *r, size_t n);

/* --- output.c --- */
struct table;
struct table *table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (copied; NULL prints "-"). */
void table_add(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);

/* Prints one document as json (indented) or yaml (fmt table/wide: json). */
void out_doc(enum out_fmt fmt, const json_t *doc);
/* Prints docs (a JSON array, borrowed) as a list: json {"kind":"List",
 * "items":[...]}, yaml a "---"-separated stream. */
void out_list(enum out_fmt fmt, const json_t *items);
/* "ippool" for RES_IPPOOL: the kind as commands print it. */
const char *out_kind_lower(enum res_kind k);
/* Human time span: "42s", "5m", "3h", "2d". */
void out_age(int64_t secs, char *buf, size_t len);
/* Labels as "k=v,k=v" into buf (cut at len). */
void out_labels(const struct labels *l, char *buf, size_t len);

#endif
