/*
 * noderec: felix's own Node, and its heartbeat.
 *
 * At start felix registers this node: it creates the Node
 * /petrel/nodes/<node> when there is none, else updates the fields felix
 * owns and keeps every other one (compare-and-swap on the revision read,
 * tried again on a conflict). felix owns:
 *   spec.bgp.ipv4Address   when petrel.yaml sets bgp.address,
 *   spec.bgp.asNumber      when petrel.yaml sets bgp.asNumber,
 *   metadata.labels        the keys petrel.yaml's labels: lists (set to its
 *                          values; other labels are kept, and a label
 *                          removed from petrel.yaml stays until removed
 *                          by hand).
 * spec.bgp.routeReflectorClusterID and any other label are the operator's.
 * So the mesh and the route reflectors follow the nodes that run felix,
 * with nothing applied by hand; a Node applied by hand keeps what felix
 * does not own. A stored Node that does not decode is left as it is (said
 * once): felix does not overwrite what it cannot read.
 *
 * The heartbeat: KEYS_NODESTATUS<node> (model/keys.h) written at start and
 * every FELIX_HEARTBEAT_S seconds, and "stopped": true when felix exits by
 * a signal. `petrelctl node rm` takes a node whose heartbeat is younger
 * than 3 intervals and not stopped as alive (wall clocks: the nodes' clocks
 * are assumed to agree to a few seconds, as NTP keeps them).
 *
 * A failure to reach the store goes to dshealth.c (retried there); a
 * conflict is tried again here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "felix/felix.h"
#include "model/keys.h"

#define NODEREC_TRIES 5

/* The fields felix owns, from the config, into n. 0 or -errno. */
static int node_merge(const struct petrel_config *cfg, struct node *n)
{
	int r;

	if (cfg->bgp_address)
		n->bgp_ipv4 = cfg->bgp_address;
	if (cfg->bgp_asn)
		n->bgp_asn = cfg->bgp_asn;
	for (size_t i = 0; i < cfg->n_labels; i++) {
		r = labels_set(&n->labels, cfg->labels[i].key, cfg->labels[i].value);
		if (r < 0)
			return r;
	}
	return 0;
}

static void set_heartbeat_at(struct felix *f)
{
	f->heartbeat_at = felix_now_ns() + FELIX_HEARTBEAT_S * 1000000000ull;
}

int noderec_register(struct felix *f)
{
	struct resource res;
	struct errs e = ERRS_INIT;
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	char *text = NULL;
	int r = res_key(RES_NODE, f->cfg->node, key, sizeof(key));

	if (r < 0)
		return r;
	for (int tries = 0; tries < NODEREC_TRIES; tries++) {
		bool created, same;

		memset(&res, 0, sizeof(res));
		res.kind = RES_NODE;
		r = ds_get(f->ds, key, &kv);
		created = r == -ENOENT;
		if (r < 0 && !created) {
			dsh_fail(f, "registering the Node", r);
			return r;
		}
		if (created) {
			snprintf(res.u.node.name, sizeof(res.u.node.name), "%s", f->cfg->node);
		} else if (res_from_text(RES_NODE, kv.value, kv.mod_rev, &res, &e) < 0) {
			log_warn("node: the stored Node %s (revision %lld) is invalid, left as it is: %s",
				 f->cfg->node, (long long)kv.mod_rev,
				 e.n ? e.msg[0] : "cannot decode");
			errs_clear(&e);
			ds_kv_clear(&kv);
			dsh_ok(f);
			return 0;
		}
		r = node_merge(f->cfg, &res.u.node);
		text = r == 0 ? res_to_text(&res) : NULL;
		res_clear(&res);
		if (!text) {
			log_err("node: registering Node %s: %s", f->cfg->node,
				strerror(r < 0 ? -r : ENOMEM));
			ds_kv_clear(&kv);
			return 0;	/* not the store's fault: not retried */
		}
		same = !created && !strcmp(text, kv.value);
		if (same)
			r = 0;
		else if (created) {
			r = ds_create(f->ds, key, text, NULL);
		} else {
			r = ds_update(f->ds, key, text, kv.mod_rev, NULL);
		}
		free(text);
		ds_kv_clear(&kv);
		if (r == -EEXIST || r == -ECANCELED || (r == -ENOENT && !created))
			continue;	/* someone else wrote it in between */
		if (r < 0) {
			dsh_fail(f, "registering the Node", r);
			return r;
		}
		log_info("node: Node %s %s (bgp %s, %zu labels from %s)", f->cfg->node,
			 created ? "registered" : same ? "already up to date" : "updated",
			 f->cfg->bgp_address ? "address from the config" : "address as stored",
			 f->cfg->n_labels, f->cfg->file[0] ? f->cfg->file : "the config");
		dsh_ok(f);
		/* the heartbeat at once: node rm must see this felix alive */
		noderec_heartbeat(f, false);
		return 0;
	}
	log_warn("node: Node %s changed %d times while felix registered it: left as it is",
		 f->cfg->node, NODEREC_TRIES);
	return 0;
}

static char *status_text(struct felix *f, bool stopped)
{
	json_t *j = json_pack("{s:s,s:{s:I,s:s,s:I,s:I,s:i,s:b}}",
			      "node", f->cfg->node, "felix",
			      "pid", (json_int_t)getpid(), "version", PETREL_VERSION,
			      "startedAt", (json_int_t)f->started_wall,
			      "heartbeat", (json_int_t)time(NULL),
			      "intervalSeconds", FELIX_HEARTBEAT_S,
			      "stopped", stopped);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(j);
	return s;
}

int noderec_heartbeat(struct felix *f, bool stopped)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	char *text;
	int r = -ECANCELED;

	set_heartbeat_at(f);
	if ((size_t)snprintf(key, sizeof(key), "%s%s", KEYS_NODESTATUS,
			     f->cfg->node) >= sizeof(key))
		return -ENAMETOOLONG;
	text = status_text(f, stopped);
	if (!text)
		return -ENOMEM;
	for (int tries = 0; tries < NODEREC_TRIES && (r == -ECANCELED ||
			r == -EEXIST || r == -ENOENT); tries++) {
		r = ds_get(f->ds, key, &kv);
		if (r == -ENOENT)
			r = ds_create(f->ds, key, text, NULL);
		else if (r == 0)
			r = ds_update(f->ds, key, text, kv.mod_rev, NULL);
		ds_kv_clear(&kv);
	}
	free(text);
	if (r < 0) {
		if (!stopped)
			dsh_fail(f, "heartbeat", r);
		return r;
	}
	f->heartbeat_written = true;
	dsh_ok(f);
	return 0;
}
