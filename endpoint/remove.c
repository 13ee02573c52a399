/*
 * remove: endpoint_remove and endpoint_release (the order and invariants
 * are in endpoint.h).
 *
 * Why the host end is left alone: deleting a veth costs its caller the
 * kernel's RCU grace period (10-40 ms here, most of a CNI DEL). The record
 * goes, and with it (once felix has seen it, which the wait confirms) the
 * workload's route and its nftables state: nothing is routed to it, and
 * what it still sends is dropped (anti-spoofing: its address is no longer
 * in wl_src for that interface; strict rp_filter: the address's route, if
 * any, leads to another interface). The kernel tears a deleted namespace
 * down in the background, its veth with it, paying the grace period once
 * for many; and when no teardown comes (the engine keeps its namespace, or
 * a process holds ours), felix, which owns the host side, deletes a host
 * end whose endpoint's record is gone after FELIX_SWEEP_GONE_MS. A create
 * that finds its names still held by such a leftover moves it out of the
 * way without waiting (create.c's ep_debris).
 *
 * Ownership: borrows the record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hosts.h"
#include "common/netns.h"
#include "endpoint/endpoint.h"
#include "endpoint/ep_priv.h"
#include "ipam/ipam.h"


/* The name of w's namespace under /run/netns, else NULL. */
static const char *ep_netns_short(const struct wep *w)
{
	size_t n = strlen(NETNS_RUN_DIR "/");
	const char *s = w->netns + n;

	if (strncmp(w->netns, NETNS_RUN_DIR "/", n) || strchr(s, '/') || !hosts_name_valid(s))
		return NULL;
	return s;
}

static int ep_release_handle(struct ds *ds, const char *name, const char *cid,
			     const char *wl_ifname, struct endpoint_err *e)
{
	char handle[IPAMHANDLE_ID_MAX];
	int r;

	r = ipam_handle_id(cid, wl_ifname, handle, sizeof(handle));
	if (r == 0)
		r = ipam_release_handle(ds, handle);
	if (r < 0)
		return ep_fail(e, EP_IPAM, r, "%s%s%sreleasing its address (handle %s.%s): %s",
			       name ? "removing workload " : "", name ? name : "",
			       name ? ": " : "", cid, wl_ifname[0] ? wl_ifname : "eth0",
			       endpoint_strerror(r));
	return 0;
}

int endpoint_release(struct ds *ds, const char *cid, const char *wl_ifname,
		     struct endpoint_err *e)
{
	memset(e, 0, sizeof(*e));
	return ep_release_handle(ds, NULL, cid, wl_ifname, e);
}

int endpoint_remove(struct ds *ds, const struct resource *res,
		    const struct endpoint_rm *how, struct endpoint_err *e)
{
	const struct wep *w = &res->u.wep;
	char key[RES_KEY_MAX], id[2 * RES_NAME_MAX];
	struct ep_ports held = { 0 };
	struct ipam_txn rel = { 0 };
	struct ds_op ops[1 + WEP_MAX_PORTS + 8];
	char handle[IPAMHANDLE_ID_MAX] = "";
	size_t failed = SIZE_MAX;
	int64_t rev = 0, t0 = ep_now_ms();
	int r, gone = 0;
	bool routed = w->mode == WEP_ROUTED;

	memset(e, 0, sizeof(*e));
	snprintf(id, sizeof(id), "%s/%s", w->node, w->name);
	if (res_key(RES_WEP, id, key, sizeof(key)) < 0)
		return ep_fail(e, EP_INTERNAL, -ENAMETOOLONG, "workload key for %s too long", id);
	if (how->own_netns && (routed || w->mode == WEP_NONE)) {
		r = netns_delete(w->netns);
		if (r < 0 && r != -ENOENT) {
			r = ep_fail(e, EP_NETNS, r, "removing workload %s: deleting network "
				    "namespace %s: %s", w->name, w->netns, strerror(-r));
			goto out;
		}
	}
	/* The record, the reservations it holds and its address: one
	 * transaction (a kill never leaves a record whose address IPAM would
	 * hand out again, nor an address no record holds). */
	r = ep_ports_held(ds, w, &held);
	if (r < 0) {
		r = ep_fail(e, EP_STORE, r, "removing workload %s: reading its host port "
			    "reservations: %s (%s)", w->name, ds_strerror(r), ds_last_error(ds));
		goto out;
	}
	if (routed && w->container_id[0] &&
	    ipam_handle_id(w->container_id, w->wl_ifname, handle, sizeof(handle)) < 0) {
		r = ep_fail(e, EP_INTERNAL, -ENAMETOOLONG, "removing workload %s: IPAM handle "
			    "too long", w->name);
		goto out;
	}
	/* Another allocator changed the block meanwhile: again. */
	for (int try = 0; ep_conflict_pause(try, t0); try++) {
		size_t n = 0, first_ipam;

		ops[n++] = (struct ds_op){ DS_OP_DELETE, key, NULL, res->revision };
		for (size_t i = 0; i < held.n; i++)
			ops[n++] = held.op[i];
		first_ipam = n;
		if (handle[0]) {
			r = ipam_release_prepare(ds, handle, &rel);
			if (r < 0) {
				r = ep_fail(e, EP_IPAM, r, "removing workload %s: releasing its "
					    "address (handle %s): %s", w->name, handle,
					    endpoint_strerror(r));
				goto out;
			}
			for (size_t i = 0; i < rel.n && n < sizeof(ops) / sizeof(ops[0]); i++)
				ops[n++] = rel.ops[i];
		}
		gone = ds_txn(ds, ops, n, &rev, &failed);
		if (gone == 0 || failed < first_ipam ||
		    !ipam_txn_retry(&rel, gone, failed - first_ipam))
			break;
	}
	if (gone == -ECANCELED && failed <= held.n) {
		r = ep_fail(e, EP_STORE, gone, "removing workload %s: its record changed "
			    "meanwhile (did a workload join it?); run rm again", w->name);
		goto out;
	}
	if (gone < 0 && !(gone == -ENOENT && failed == 0)) {
		r = ep_fail(e, EP_STORE, gone, "removing workload %s: deleting its record: "
			    "%s (%s)", w->name, endpoint_strerror(gone), ds_last_error(ds));
		goto out;
	}
	/* No record any more (a remove before us was cut short): the address
	 * may still be held. */
	if (gone == -ENOENT && handle[0]) {
		r = ep_release_handle(ds, w->name, w->container_id, w->wl_ifname, e);
		if (r < 0)
			goto out;
	}
	if (routed && how->status_sock && gone == 0) {
		char why[256];

		r = endpoint_wait(how->status_sock, w->name, rev, true, how->wait_ms, why,
				  sizeof(why));
		if (r == -ENOENT || r == -ECONNREFUSED)
			ep_warn(e, "felix is not running on node %s (no answer on %s): it "
				"will drop its state for %s when it starts", w->node,
				how->status_sock, w->name);
		else if (r < 0) {
			struct endpoint_err we = { 0 };

			ep_wait_fail(&we, r, how->status_sock, w->node, w->name, how->wait_ms,
				     true, why);
			ep_warn(e, "%s", we.msg);
		}
	}
	/* felix's hosts file of the workload (a container: workload's folder
	 * is its target's). */
	if (w->mode == WEP_ROUTED || w->mode == WEP_NONE) {
		const char *ns = ep_netns_short(w);

		if (ns && (r = hosts_remove(ns)) < 0)
			ep_warn(e, "removing workload %s: %s/%s: %s", w->name, HOSTS_ROOT, ns,
				strerror(-r));
	}
	r = gone == -ENOENT ? -ENOENT : 0;
out:
	ipam_txn_clear(&rel);
	ep_ports_clear(&held);
	return r;
}
