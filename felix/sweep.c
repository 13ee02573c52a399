/*
 * sweep: the host ends no endpoint of this node claims (felix owns the
 * host side; reconcile.c's pass calls rec_sweep).
 *
 * A host end (a link with petrel's prefix: the only links kept) that no
 * endpoint of this node claims is debris of a workload removed without its
 * interface (rm and CNI DEL leave it to the namespace's teardown, or to
 * this). One never claimed is deleted only after FELIX_SWEEP_GRACE_MS
 * unclaimed as felix saw it, since a workload being set up has its veth
 * before its record; one whose endpoint's record went, after
 * FELIX_SWEEP_GONE_MS (time for the namespace's teardown to take it, which
 * costs nobody the RCU grace period of a delete). Never while the store is
 * not known (a relist due or failed: every link would look unclaimed) or
 * not reachable (the record of a workload made just before would not have
 * reached felix). Its route went with its record. Claimed is by name: the
 * name is one incarnation's alone (SHA-1 of node/name/containerID); the
 * delete is by index, so a link that took the name meanwhile is not the
 * one deleted. A host end that a create renamed out of the way (debris,
 * endpoint/create.c) keeps its index and so whether it was claimed.
 */
#include <stdint.h>
#include <string.h>

#include "felix/felix.h"

struct sweep_walk {
	struct felix *f;
	uint64_t now;
	bool store_ok;
	size_t n;
};

static void sweep_link(struct hnode *h, void *arg)
{
	struct sweep_walk *w = arg;
	struct felix *f = w->f;
	struct klink *l = container_of(h, struct klink, by_index);
	struct kop op = { .type = KOP_LINK_DEL, .ifindex = l->ifindex };
	uint64_t grace;

	if (!w->store_ok || store_ifname_claimed(f, l->name)) {
		l->was_claimed |= w->store_ok;
		l->unclaimed_since = 0;
		return;
	}
	w->n++;
	if (!l->unclaimed_since) {
		l->unclaimed_since = w->now;
		return;
	}
	grace = l->was_claimed ? FELIX_SWEEP_GONE_MS : FELIX_SWEEP_GRACE_MS;
	if (l->del_inflight || !f->writes_left ||
	    w->now - l->unclaimed_since < grace * 1000000ull)
		return;
	op.why = l->was_claimed ? "its endpoint's record is gone" :
		 "claimed by no endpoint of this node";
	memcpy(op.ifname, l->name, sizeof(op.ifname));
	l->del_inflight = true;
	rec_emit(f, &op);
}

void rec_sweep(struct felix *f)
{
	struct sweep_walk w = { f, felix_now_ns(), false, 0 };

	if (w.now < f->sweep_at)
		return;
	f->sweep_at = w.now + FELIX_SWEEP_EVERY_MS * 1000000ull;
	w.store_ok = f->watch && !f->need_relist && !f->dsh.down;
	if (w.store_ok)
		f->sweep_look = false;
	htab_walk(&f->links, sweep_link, &w);
	f->n_unclaimed = w.n;
}
