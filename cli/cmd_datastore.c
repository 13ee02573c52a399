/*
 * datastore migrate --from URL --to URL: copies one store's state into
 * another (sqlite -> etcd and back; sqlite -> sqlite).
 *
 * Every key under /petrel/ of the source, as one list (one consistent
 * revision of it), created in the target in transactions of at most
 * DS_TXN_MAX creates each (a create fails on a key that exists: nothing
 * is ever overwritten). The target must hold nothing under /petrel/:
 * refused otherwise, before anything is written. Documents are copied as
 * they are (revisions are the target's own: nothing in a document refers to
 * a revision). Writers of the source (felix heartbeats, run, CNI) should be
 * stopped first: a change after the list is not copied; the report names
 * the source revision copied.
 *
 * A failure half-way leaves the target partly filled (said so, with the
 * count): it is not empty any more, so a second try is refused; empty it
 * (or use a fresh one) and run again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/petrelctl.h"
#include "common/log.h"
#include "model/keys.h"

static const char usage_datastore[] =
	"usage: petrelctl datastore migrate --from URL --to URL\n"
	"\n"
	"migrate: copies every key under " KEYS_ROOT " of the datastore --from into\n"
	"the datastore --to (URLs as petrel.yaml's datastore: sqlite:/PATH or\n"
	"etcd:http(s)://HOST:PORT,...), in transactions of at most 128 creates.\n"
	"Refused when --to holds anything under " KEYS_ROOT ". Stop felix and every\n"
	"other writer of --from first: what changes after the copy's list is not\n"
	"copied. Then point every node's petrel.yaml at --to and start felix.\n"
	"Prints the keys, bytes and transactions copied and the source revision\n"
	"(-o json: one object). Needs no config.\n";

static int open_store(const char *what, const char *url, struct ds **out)
{
	int r = ds_open(url, out);

	if (r < 0) {
		log_err("datastore migrate: opening %s %s: %s", what, url,
			r == -EINVAL ? "unknown or invalid datastore URL" : ds_strerror(r));
		*out = NULL;
	}
	return r;
}

static int migrate(struct ctl *c, int argc, char **argv)
{
	enum { O_FROM = 256, O_TO };
	static const struct option lo[] = {
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		CTL_LONGOPTS
	};
	const char *from = NULL, *to = NULL;
	struct ds *src = NULL, *dst = NULL;
	struct ds_kv *kv = NULL, *tkv = NULL;
	struct ds_op ops[DS_TXN_MAX];
	size_t n = 0, tn = 0, done = 0, txns = 0, bytes = 0, failed = 0;
	int64_t rev = 0;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == O_FROM) {
			from = optarg;
			continue;
		}
		if (opt == O_TO) {
			to = optarg;
			continue;
		}
		if (!ctl_opt_common(c, opt, usage_datastore, argv, &r))
			return r;
	}
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (!from || !to)
		return ctl_usage_err(c, "both --from URL and --to URL are needed");
	if (!strcmp(from, to))
		return ctl_usage_err(c, "--from and --to are the same datastore");
#ifdef PETREL_FUZZ
	return CTL_ERR;		/* argument parsing only (as ctl_setup) */
#endif
	if (open_store("--from", from, &src) < 0 || open_store("--to", to, &dst) < 0)
		goto out;
	r = ds_list(dst, KEYS_ROOT, &tkv, &tn, NULL);
	if (r < 0) {
		log_err("datastore migrate: listing --to %s: %s (%s)", to, ds_strerror(r),
			ds_last_error(dst));
		goto out;
	}
	if (tn) {
		log_err("datastore migrate: refused: --to %s is not empty (%zu keys under "
			KEYS_ROOT ", the first %s); migrate only into an empty datastore",
			to, tn, tkv[0].key);
		goto out;
	}
	r = ds_list(src, KEYS_ROOT, &kv, &n, &rev);
	if (r < 0) {
		log_err("datastore migrate: listing --from %s: %s (%s)", from, ds_strerror(r),
			ds_last_error(src));
		goto out;
	}
	while (done < n) {
		size_t k = 0;

		for (; k < DS_TXN_MAX && done + k < n; k++) {
			ops[k] = (struct ds_op){ DS_OP_CREATE, kv[done + k].key,
						 kv[done + k].value, 0 };
			bytes += strlen(kv[done + k].key) + strlen(kv[done + k].value);
		}
		r = ds_txn(dst, ops, k, NULL, &failed);
		if (r < 0) {
			log_err("datastore migrate: writing --to %s: %s at %s (%s); %zu of %zu "
				"keys were copied before: the target is not empty now", to,
				ds_strerror(r), failed < k ? ops[failed].key : "?",
				ds_last_error(dst), done, n);
			goto out;
		}
		done += k;
		txns++;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "from", from, "to", to,
					"sourceRevision", (json_int_t)rev, "keys",
					(json_int_t)done, "bytes", (json_int_t)bytes,
					"transactions", (json_int_t)txns);

		if (doc)
			out_doc(c->out, doc);
		json_decref(doc);
	} else {
		printf("copied %zu keys (%zu bytes) in %zu transactions from %s (revision %lld) to %s\n",
		       done, bytes, txns, from, (long long)rev, to);
	}
	rc = CTL_OK;
out:
	ds_kvs_free(kv, n);
	ds_kvs_free(tkv, tn);
	ds_close(src);
	ds_close(dst);
	return rc;
}

int cmd_datastore(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "migrate", NULL, "datastore migrate", migrate },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_datastore);
}
