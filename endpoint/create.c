/*
 * create: endpoint_create, and the pieces every endpoint file shares
 * (errors, names, felix's wait). The order and the invariants are in
 * endpoint.h.
 *
 * Ownership: struct ep_create is this file's state for one create; it
 * borrows the request and the record (q->res), owns its netlink socket,
 * the records it read (OTHER, the networks) and the reservations' texts.
 * Undo deletes only what this create made: its record (at the revision it
 * got), its namespace (its teardown takes the veth), or, in an engine's
 * namespace, the veth it created (by the host end's index), and its
 * address (by its handle).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hosts.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/netns.h"
#include "common/sha1.h"
#include "common/status.h"
#include "endpoint/endpoint.h"
#include "endpoint/ep_priv.h"
#include "ipam/ipam.h"

const uint8_t endpoint_host_mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };

/* ---------------------------------------------------------------- shared */

const char *endpoint_strerror(int code)
{
	return ipam_strerror(code);	/* which knows ds_strerror's and errno's */
}

int ep_fail(struct endpoint_err *e, enum endpoint_stage stage, int code,
	    const char *fmt, ...)
{
	va_list ap;

	e->stage = stage;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void ep_warn(struct endpoint_err *e, const char *fmt, ...)
{
	size_t off = strlen(e->warn);
	va_list ap;

	if (off && off + 2 < sizeof(e->warn)) {
		e->warn[off++] = '\n';
		e->warn[off] = '\0';
	}
	va_start(ap, fmt);
	vsnprintf(e->warn + off, sizeof(e->warn) - off, fmt, ap);
	va_end(ap);
}

const char *ep_link_text(const struct link_err *le, char *buf, size_t len)
{
	snprintf(buf, len, "%s: %s%s%s%s", le->what, strerror(-le->err),
		 le->ext[0] ? " (kernel: " : "", le->ext, le->ext[0] ? ")" : "");
	return buf;
}

void endpoint_host_ifname(const char *node, const char *name, const char *cid,
			  char *out)
{
	char id[RES_NAME_MAX * 2 + 80];
	int n = snprintf(id, sizeof(id), "%s/%s/%s", node, name, cid);
	uint8_t h[20];
	size_t pl = strlen(IFNAME_PREFIX);

	sha1(id, n < 0 ? 0 : (size_t)n < sizeof(id) ? (size_t)n : sizeof(id) - 1, h);
	memcpy(out, IFNAME_PREFIX, pl);
	for (size_t i = 0; pl + i < IFNAME_LEN; i++)
		out[pl + i] = "0123456789abcdef"[(h[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[IFNAME_LEN] = '\0';
}

int64_t ep_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool ep_conflict_pause(int try, int64_t t0)
{
	static unsigned seed;
	unsigned cap;

	if (try == 0)
		return true;
	if (ep_now_ms() - t0 >= EP_CONFLICT_MS)
		return false;
	if (!seed)
		seed = (unsigned)getpid() ^ (unsigned)ep_now_ms() * 2654435761u;
	cap = try >= 5 ? 32 : 1u << try;
	usleep((useconds_t)(rand_r(&seed) % (cap * 1000 + 1)));
	return true;
}

int endpoint_wait(const char *sock, const char *name, int64_t rev, bool gone,
		  int timeout_ms, char *why, size_t why_len)
{
	int64_t deadline = ep_now_ms() + timeout_ms;
	bool seen = false;
	int r;

	for (;;) {
		int left = (int)(deadline - ep_now_ms());

		r = status_wait(sock, name, rev, gone, left > 0 ? left : 1, why, why_len);
		/* Closed without an answer (-EPROTO, -ECONNRESET): felix went
		 * away mid-request, and is most often restarting; once seen,
		 * a missing socket is the same restart. */
		if (r == -EPROTO || r == -ECONNRESET)
			seen = true;
		else if (!(seen && (r == -ENOENT || r == -ECONNREFUSED)))
			return r;
		if (ep_now_ms() + 20 >= deadline)
			return r == -ENOENT || r == -ECONNREFUSED ? r : -ETIMEDOUT;
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	}
}

/* The message of a failed wait; gone: a remove's. */
int ep_wait_fail(struct endpoint_err *e, int r, const char *sock,
		 const char *node, const char *name, int wait_ms, bool gone,
		 const char *why)
{
	if (r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET)
		return ep_fail(e, EP_WAIT, r, "felix is not running on node %s (no answer "
			       "on %s)", node, sock);
	if (r == -ETIMEDOUT)
		return ep_fail(e, EP_WAIT, r, "felix on node %s did not answer within "
			       "%d s (%s)", node, wait_ms / 1000, sock);
	if (r == -EINTR)
		return ep_fail(e, EP_WAIT, r, "interrupted while waiting for felix");
	if (r == -EREMOTEIO)
		return ep_fail(e, EP_WAIT, r, "felix on node %s: %s %s: %s", node,
			       gone ? "removing" : "programming", name, why);
	return ep_fail(e, EP_WAIT, r, "asking felix on %s: %s", sock, r == -EPROTO ?
		       "no valid reply (not one JSON object)" : strerror(-r));
}

/* ---------------------------------------------------------------- create */

struct ep_create {
	struct ds *ds;
	struct endpoint_req *q;
	struct wep *w;
	struct endpoint_err *e;
	char key[RES_KEY_MAX];
	char handle[IPAMHANDLE_ID_MAX];
	struct link_nl *host_nl;
	struct link_wl wl;
	struct ep_ports ports;
	struct endpoint_node node_probed;	/* when q->node is NULL */
	const struct endpoint_node *node;	/* what ports must not take */
	struct ds_kv other;			/* container:OTHER's record */
	struct ds_kv net_kv[WEP_MAX_NETWORKS];	/* the joined networks' */
	char sel_pool[RES_NAME_MAX];
	struct ipam_pool_sel sel;
	struct ipam_txn ipam;			/* the address's ops */
	/* progress, for undo */
	bool assigned, ns_made, linked, recorded;
	int64_t rev;
	struct ep_debris *debris;		/* ep_debris_in_ns's */
};

static bool ep_stopped(struct ep_create *s)
{
	if (!s->q->stop || !*s->q->stop)
		return false;
	ep_fail(s->e, EP_INTR, -EINTR, "interrupted (signal %d): undoing", (int)*s->q->stop);
	return true;
}

/* container:OTHER: its record (kept for the CAS) and its namespace. */
static int ep_target(struct ep_create *s)
{
	struct wep *w = s->w;
	char id[2 * RES_NAME_MAX], key[RES_KEY_MAX];
	struct resource o = { 0 };
	struct errs e = ERRS_INIT;
	int r;

	snprintf(id, sizeof(id), "%s/%s", w->node, w->container);
	if (!res_name_valid(w->container) || res_key(RES_WEP, id, key, sizeof(key)) < 0)
		return ep_fail(s->e, EP_TARGET, -ENOENT, "container:%s: no workload %s on "
			       "node %s", w->container, w->container, w->node);
	r = ds_get(s->ds, key, &s->other);
	if (r == -ENOENT)
		return ep_fail(s->e, EP_TARGET, r, "container:%s: no workload %s on node %s",
			       w->container, w->container, w->node);
	if (r < 0)
		return ep_fail(s->e, EP_STORE, r, "reading workload %s: %s (%s)",
			       w->container, ds_strerror(r), ds_last_error(s->ds));
	if (res_from_text(RES_WEP, s->other.value, s->other.mod_rev, &o, &e) < 0) {
		r = ep_fail(s->e, EP_TARGET, -EINVAL, "workload %s: the stored document is "
			    "invalid: %s", w->container, e.n ? e.msg[0] : "");
		errs_clear(&e);
		return r;
	}
	errs_clear(&e);
	r = 0;
	if (o.u.wep.mode == WEP_CONTAINER || o.u.wep.mode == WEP_HOST)
		r = ep_fail(s->e, EP_TARGET, -EINVAL, "container:%s: %s is itself a %s "
			    "workload; join a routed or none workload", w->container,
			    w->container, wep_mode_name(o.u.wep.mode));
	else if (!o.u.wep.netns[0])
		r = ep_fail(s->e, EP_TARGET, -EINVAL, "container:%s: %s has no network "
			    "namespace", w->container, w->container);
	else
		snprintf(w->netns, sizeof(w->netns), "%s", o.u.wep.netns);
	res_clear(&o);
	return r;
}

/* Named network i: its record into s->net_kv[i]; its pool when first. */
static int ep_network(struct ep_create *s, size_t i)
{
	const char *name = s->w->networks[i];
	char key[RES_KEY_MAX];
	struct resource n = { 0 };
	struct errs e = ERRS_INIT;
	int r;

	ds_kv_clear(&s->net_kv[i]);
	s->e->network = i;
	if (!res_name_valid(name) || res_key(RES_NETWORK, name, key, sizeof(key)) < 0)
		return ep_fail(s->e, EP_NETWORK, -ENOENT, "no network %s (not a valid name)",
			       name);
	r = ds_get(s->ds, key, &s->net_kv[i]);
	if (r == -ENOENT)
		return ep_fail(s->e, EP_NETWORK, r, "no network %s (petrelctl network "
			       "create %s)", name, name);
	if (r < 0)
		return ep_fail(s->e, EP_STORE, r, "reading network %s: %s (%s)", name,
			       ds_strerror(r), ds_last_error(s->ds));
	if (res_from_text(RES_NETWORK, s->net_kv[i].value, s->net_kv[i].mod_rev, &n, &e) < 0) {
		r = ep_fail(s->e, EP_NETWORK, -EINVAL, "network %s: the stored document is "
			    "invalid: %s", name, e.n ? e.msg[0] : "");
		errs_clear(&e);
		return r;
	}
	errs_clear(&e);
	if (i == 0 && n.u.network.pool[0])
		snprintf(s->sel_pool, sizeof(s->sel_pool), "%s", n.u.network.pool);
	res_clear(&n);
	return 0;
}

static int ep_ipam_fail(struct ep_create *s, int r)
{
	const struct wep *w = s->w;
	char ab[IP4_STRLEN] = "";

	if (s->q->want)
		ip4_fmt(s->q->want, ab);
	switch (r) {
	case IPAM_ENOSPC:
		if (s->sel.pool)
			return ep_fail(s->e, EP_IPAM, r, "no free address for %s: ippool %s (of "
				       "network %s) is exhausted, disabled, gone, or does not "
				       "serve node %s (nodeSelector)", w->name, s->sel.pool,
				       w->networks[0], w->node);
		return ep_fail(s->e, EP_IPAM, r, "no free address for %s: every enabled IP "
			       "pool serving node %s is exhausted (or there is none: "
			       "petrelctl pool create%s)", w->name, w->node,
			       s->sel.unnamed_only ? "; pools of named networks do not count" : "");
	case IPAM_ENOTALLOWED:
		if (s->sel.pool)
			return ep_fail(s->e, EP_IPAM, r, "address %s is not in ippool %s of "
				       "network %s", ab, s->sel.pool, w->networks[0]);
		return ep_fail(s->e, EP_IPAM, r, "address %s is in the pool of a named "
			       "network (--network NAME to join it)", ab);
	case IPAM_EINUSE:
		return ep_fail(s->e, EP_IPAM, r, "address %s is already allocated (in use)", ab);
	case IPAM_ENOPOOL:
		return ep_fail(s->e, EP_IPAM, r, "address %s is in no IP pool", ab);
	case IPAM_EDISABLED:
		return ep_fail(s->e, EP_IPAM, r, "address %s is in a disabled IP pool", ab);
	case IPAM_EAFFINITY:
		return ep_fail(s->e, EP_IPAM, r, "address %s is in another node's block and "
			       "its IP pool has strictAffinity", ab);
	case -EEXIST:
		return ep_fail(s->e, EP_IPAM, r, "address %s: this container already holds "
			       "another address", ab);
	default:
		return ep_fail(s->e, EP_IPAM, r, "assigning an address to %s: %s", w->name,
			       endpoint_strerror(r));
	}
}

/* The address, prepared: its ops go into the record's transaction. want:
 * that address (0: any). */
static int ep_assign(struct ep_create *s, uint32_t want)
{
	struct wep *w = s->w;
	int r;

	r = ipam_assign_prepare(s->ds, w->node, s->handle, want,
				s->q->any_pool && !s->sel.pool ? NULL : &s->sel, &s->ipam);
	if (r < 0)
		return ep_ipam_fail(s, r);
	/* Held already (an engine's retry of one container): the address of
	 * a create before this one, released by undo as before. */
	s->assigned = s->ipam.held;
	w->n_nets = 1;
	w->nets[0].addr = s->ipam.addr;
	w->nets[0].len = 32;
	return 0;
}

/* Inside the workload's namespace: lo up, veth, addresses, routes. A name
 * that is taken (le.create, -EEXIST) is somebody's: nothing is made, and
 * nothing is deleted. */
static int ep_in_ns_routed(void *arg)
{
	struct ep_create *s = arg;

	return link_wl_setup(&s->wl, s->host_nl, &s->e->le);
}

static int ep_in_ns_none(void *arg)
{
	struct ep_create *s = arg;
	struct link_nl *nl = NULL;
	int r;

	r = link_nl_open(&nl, &s->e->le);
	if (r == 0)
		r = link_set_up(nl, NULL, &s->e->le);
	link_nl_free(nl);
	return r;
}

static int ep_link_fail(struct ep_create *s, int r)
{
	struct wep *w = s->w;
	char t[512];

	ep_link_text(&s->e->le, t, sizeof(t));
	if (r == -EEXIST && s->e->le.create)
		return ep_fail(s->e, EP_LINK, r, "setting up workload %s: %s: the node already "
			       "has an interface %s, or %s has an interface %s", w->name,
			       s->e->le.what, w->ifname, w->netns, w->wl_ifname);
	return ep_fail(s->e, EP_LINK, r, "setting up workload %s in %s: %s", w->name,
		       w->netns, t);
}

/* What a removed endpoint left holding this create's names, and what the
 * create did with it (ep_debris). */
struct ep_debris {
	int ifindex;		/* the old host end, renamed out of the way */
	int peer_ifindex;	/* its peer (the old workload end) */
	bool deleted;
};

/* The host end's name held by what a removed endpoint left (remove.c: rm
 * and DEL leave the veth to the namespace's teardown or felix's sweep):
 * a link of that name while this workload has no record. The name is
 * this workload's alone (SHA-1 of node/name/containerID), so no other
 * record claims it; a create of the same workload racing this one (whose
 * veth would precede its record) is excluded by the CNI spec (a runtime
 * serializes one container's operations) and, for petrelctl, by its
 * namespace's O_EXCL, taken before the veth. Proven debris, it is renamed
 * to a name no record holds (the host end's name of "<cid>#<ifindex>"):
 * the name is free at once, at the cost of one request and not of a
 * delete's RCU grace period. felix's sweep deletes it later (its record
 * is gone; the rename keeps felix's knowledge that one claimed it), and
 * meanwhile it carries nothing: no route, no wl_src element (anti-spoofing
 * drops what it sends), strict rp_filter. 1 renamed, 0 no such link (the
 * workload end's name is what is taken), -EEXIST held by a live one. */
static int ep_debris_rename(struct ep_create *s, struct ep_debris *d)
{
	char cid[sizeof(s->w->container_id) + 16], to[IFNAME_LEN + 1];
	struct link_nl *nl = NULL;
	struct link_info li;
	struct link_err le;
	struct ds_kv kv = { 0 };
	int r;

	/* A socket of its own: host_nl may still hold the replies of the
	 * failed batch's later requests. In the node's namespace (here). */
	r = link_nl_open(&nl, &le);
	if (r == 0)
		r = link_get(nl, s->w->ifname, &li, &le);
	if (r == 0) {
		r = ds_get(s->ds, s->key, &kv);
		ds_kv_clear(&kv);
		r = r == -ENOENT ? 0 : -EEXIST;
	}
	if (r == 0) {
		snprintf(cid, sizeof(cid), "%s#%d", s->w->container_id, li.ifindex);
		endpoint_host_ifname(s->w->node, s->w->name, cid, to);
		r = link_rename_index(nl, li.ifindex, to, &le);
		/* a kernel before 6.2 renames no link that is up */
		if (r == -EBUSY && (r = link_del_index(nl, li.ifindex, &le)) == 0)
			d->deleted = true;
	}
	link_nl_free(nl);
	if (r == -ENODEV)
		return 0;
	if (r < 0)
		return -EEXIST;
	d->ifindex = li.ifindex;
	d->peer_ifindex = li.peer_ifindex;
	return 1;
}

/* In the engine's namespace (the current one): its workload end's name
 * held by the peer of the host end ep_debris_rename moved (a runtime that
 * keeps the namespace across DEL and ADD): the pair is deleted, proven by
 * both indexes. Only here does a create pay a delete's grace period;
 * ptp's DEL would have paid it. 1 deleted, 0 not that pair, or -errno. */
static int ep_debris_in_ns(void *arg)
{
	struct ep_create *s = arg;
	struct ep_debris *d = s->debris;
	struct link_nl *nl = NULL;
	struct link_info li;
	struct link_err le;
	int r;

	r = link_nl_open(&nl, &le);
	if (r == 0)
		r = link_get(nl, s->w->wl_ifname, &li, &le);
	if (r == 0 && li.ifindex == d->peer_ifindex && li.peer_ifindex == d->ifindex)
		r = link_del_index(nl, li.ifindex, &le) == 0 ? 1 : -EEXIST;
	else if (r == 0 || r == -ENODEV)
		r = 0;
	link_nl_free(nl);
	return r;
}

/* The create's veth failed with -EEXIST: clear what a removed endpoint
 * left holding the names, without waiting for anybody. 1 (try again), or
 * <= 0: the names are somebody's. */
static int ep_debris(struct ep_create *s, struct ep_debris *d)
{
	int fd, r;

	if (s->w->mode != WEP_ROUTED || d->deleted)
		return 0;
	if (!d->ifindex)
		return ep_debris_rename(s, d);
	if (s->q->netns_name || d->peer_ifindex <= 0)
		return 0;
	fd = netns_open(s->w->netns);
	if (fd < 0)
		return fd;
	s->debris = d;
	r = netns_run(fd, ep_debris_in_ns, s);
	s->debris = NULL;
	close(fd);
	if (r == 1)
		d->deleted = true;
	return r;
}

/* The namespace (made, or the engine's) and what goes inside it. */
static int ep_netns(struct ep_create *s)
{
	struct wep *w = s->w;
	struct ep_debris debris = { 0 };
	const char *where = "";
	int nsfd = -1, cfd = -1, r;

	memset(&s->e->le, 0, sizeof(s->e->le));
	if (w->mode == WEP_ROUTED) {
		r = link_nl_open(&s->host_nl, &s->e->le);
		if (r < 0) {
			char t[512];

			return ep_fail(s->e, EP_LINK, r, "opening netlink in the node's "
				       "namespace: %s", ep_link_text(&s->e->le, t, sizeof(t)));
		}
		nsfd = netns_open_current();
		if (nsfd < 0)
			return ep_fail(s->e, EP_NETNS, nsfd, "opening the node's network "
				       "namespace: %s", strerror(-nsfd));
		s->wl.ifname = w->wl_ifname;
		s->wl.peer_ifname = w->ifname;
		memcpy(s->wl.peer_mac, endpoint_host_mac, 6);
		s->wl.peer_ns_fd = nsfd;
		s->wl.addr = w->nets[0].addr;
		s->wl.gateway = ENDPOINT_GATEWAY;
	}
	for (int tries = 0;; tries++) {
		where = "";
		if (s->q->netns_name) {
			r = netns_create(s->q->netns_name, w->mode == WEP_ROUTED ?
					 ep_in_ns_routed : ep_in_ns_none, s, &where);
			if (r == 0)
				s->ns_made = true;
		} else {
			cfd = netns_open(w->netns);
			if (cfd < 0) {
				r = cfd;
				where = "open";
			} else {
				r = netns_run(cfd, ep_in_ns_routed, s);
				if (r < 0 && !s->e->le.what[0])
					where = "enter";
			}
			/* Made, even if a later request failed: undo deletes it. */
			s->linked = r == 0 || (s->e->le.what[0] && !s->e->le.create);
		}
		/* A name held by what a removed endpoint left: cleared (the
		 * host end renamed, at most the old pair deleted), then one
		 * more try each. */
		if (!(r == -EEXIST && s->e->le.create && !where[0] && !s->linked) ||
		    tries == 2 || ep_stopped(s))
			break;
		if (cfd >= 0)
			close(cfd);
		cfd = -1;
		if (ep_debris(s, &debris) != 1) {
			r = -EEXIST;
			break;
		}
		memset(&s->e->le, 0, sizeof(s->e->le));
	}
	if (nsfd >= 0)
		close(nsfd);
	if (cfd >= 0)
		close(cfd);
	if (s->e->stage == EP_INTR)
		return -EINTR;
	if (r == 0) {
		if (w->mode == WEP_ROUTED) {
			memcpy(w->mac, s->wl.mac, 6);
			w->has_mac = true;
		}
		return 0;
	}
	if (where[0]) {
		if (r == -EEXIST)
			return ep_fail(s->e, EP_NETNS, r, "network namespace %s already exists: "
				       "workload %s is being created by another run, or an "
				       "interrupted run left it", w->netns, w->name);
		if (!s->q->netns_name)
			return ep_fail(s->e, EP_NETNS, r, "network namespace %s: %s", w->netns,
				       r == -EINVAL ? "not a network namespace" : strerror(-r));
		return ep_fail(s->e, EP_NETNS, r, "creating network namespace %s: %s: %s",
			       w->netns, where, strerror(-r));
	}
	return ep_link_fail(s, r);
}

struct ep_readdr {
	int ifindex;
	uint32_t from, to;
	struct link_err *le;
};

static int ep_in_ns_readdress(void *arg)
{
	struct ep_readdr *a = arg;

	return link_wl_readdress(a->ifindex, a->from, a->to, a->le);
}

/* Another allocator changed the address's block before our commit: the
 * same address again when it is still free (the workload's end has it),
 * else another one, moved onto the workload's end. 1 (try the transaction
 * again) or the error. */
static int ep_reassign(struct ep_create *s)
{
	struct wep *w = s->w;
	const struct ipam_pool_sel *sel = s->q->any_pool && !s->sel.pool ? NULL : &s->sel;
	struct ep_readdr a = { .ifindex = s->wl.ifindex, .from = w->nets[0].addr,
			       .le = &s->e->le };
	int fd, r;

	r = ipam_assign_prepare(s->ds, w->node, s->handle, a.from, sel, &s->ipam);
	if (r == 0 && s->ipam.addr == a.from)
		return 1;
	if (r != IPAM_EINUSE || s->q->want)
		return r < 0 ? ep_ipam_fail(s, r) : ep_fail(s->e, EP_IPAM, -EEXIST,
			       "assigning an address to %s: its handle holds another", w->name);
	r = ipam_assign_prepare(s->ds, w->node, s->handle, 0, sel, &s->ipam);
	if (r < 0)
		return ep_ipam_fail(s, r);
	a.to = s->ipam.addr;
	fd = netns_open(w->netns);
	if (fd < 0)
		return ep_fail(s->e, EP_NETNS, fd, "network namespace %s: %s", w->netns,
			       strerror(-fd));
	r = netns_run(fd, ep_in_ns_readdress, &a);
	close(fd);
	if (r < 0)
		return ep_link_fail(s, r);
	w->nets[0].addr = a.to;
	return 1;
}

/* The transaction failed at op failed: 1 to try again, or the
 * error. */
static int ep_record_failed(struct ep_create *s, int r, size_t failed,
			    size_t first_port, size_t first_net, size_t first_ipam)
{
	struct wep *w = s->w;

	if (failed >= first_ipam && failed < first_ipam + s->ipam.n &&
	    ipam_txn_retry(&s->ipam, r, failed - first_ipam))
		return ep_reassign(s);
	if (failed == 0 && r == -EEXIST)
		return ep_fail(s->e, EP_EXISTS, r, "workload %s already exists on node %s",
			       w->name, w->node);
	if (w->mode == WEP_CONTAINER && failed == 1 && (r == -ENOENT || r == -ECANCELED))
		return ep_fail(s->e, EP_TARGET, r, "container:%s: %s was removed or changed "
			       "meanwhile; try again", w->container, w->container);
	if (failed >= first_port && failed < first_net &&
	    (r == -EEXIST || r == -ECANCELED || r == -ENOENT)) {
		/* Taken or changed since we looked: look again (a port of
		 * ours that is picked is picked again). */
		r = ep_ports_prepare(s->ds, w, s->q, s->node, &s->ports, s->e);
		return r < 0 ? r : 1;
	}
	if (failed >= first_net && failed < first_net + w->n_networks &&
	    (r == -ECANCELED || r == -ENOENT)) {
		size_t i = failed - first_net;

		/* Most often another creator joined it at the same time. */
		r = ep_network(s, i);
		if (r == -ENOENT)
			return ep_fail(s->e, EP_NETWORK, r, "network %s was removed meanwhile",
				       w->networks[i]);
		return r < 0 ? r : 1;
	}
	return ep_fail(s->e, EP_STORE, r, "recording workload %s: %s (%s)", w->name,
		       ds_strerror(r), ds_last_error(s->ds));
}

/* One transaction: the record, OTHER's record (container:OTHER), the host
 * ports' reservations, the joined networks (rewritten unchanged). */
static int ep_record(struct ep_create *s)
{
	struct wep *w = s->w;
	struct ds_op ops[2 + WEP_MAX_PORTS + WEP_MAX_NETWORKS + 8];
	char *text = NULL;
	int64_t t0 = ep_now_ms();
	int r = 0;

	/* A reservation, a joined network or the block raced: again. */
	for (int t = 0; ep_conflict_pause(t, t0); t++) {
		size_t n = 0, first_port, first_net, first_ipam, failed = SIZE_MAX;

		free(text);
		text = res_to_text(s->q->res);
		if (!text) {
			r = ep_fail(s->e, EP_INTERNAL, -ENOMEM, "out of memory");
			goto out;
		}
		ops[n++] = (struct ds_op){ DS_OP_CREATE, s->key, text, 0 };
		if (w->mode == WEP_CONTAINER)
			ops[n++] = (struct ds_op){ DS_OP_UPDATE, s->other.key, s->other.value,
						   s->other.mod_rev };
		first_port = n;
		for (size_t i = 0; i < s->ports.n; i++)
			ops[n++] = s->ports.op[i];
		first_net = n;
		for (size_t i = 0; i < w->n_networks; i++)
			ops[n++] = (struct ds_op){ DS_OP_UPDATE, s->net_kv[i].key,
						   s->net_kv[i].value, s->net_kv[i].mod_rev };
		/* The address: one commit with the record, one fsync. */
		first_ipam = n;
		for (size_t i = 0; i < s->ipam.n && i < 8; i++)
			ops[n++] = s->ipam.ops[i];
		r = ds_txn(s->ds, ops, n, &s->rev, &failed);
		if (r == 0) {
			s->recorded = true;
			s->q->res->revision = s->rev;
			goto out;
		}
		r = ep_record_failed(s, r, failed, first_port, first_net, first_ipam);
		if (r != 1)
			goto out;
	}
	r = ep_fail(s->e, EP_STORE, -ECANCELED, "recording workload %s: other creators kept "
		    "taking the same addresses, host ports or networks for %d s; try again",
		    w->name, EP_CONFLICT_MS / 1000);
out:
	free(text);
	return r;
}

/* Everything done so far, backwards. What cannot be undone goes into
 * e->warn, so that the operator can finish. */
static void ep_undo(struct ep_create *s)
{
	struct wep *w = s->w;
	struct link_err le;
	int r;

	if (s->recorded) {
		struct ds_op ops[1 + WEP_MAX_PORTS + 8];
		struct ipam_txn rel = { 0 };
		size_t n = 0;

		/* The reservations were written by the record's transaction:
		 * at its revision; the address goes in the same transaction. */
		ops[n++] = (struct ds_op){ DS_OP_DELETE, s->key, NULL, s->rev };
		for (size_t i = 0; i < s->ports.n; i++)
			ops[n++] = (struct ds_op){ DS_OP_DELETE, s->ports.op[i].key, NULL,
						   s->rev };
		r = w->mode == WEP_ROUTED ? ipam_release_prepare(s->ds, s->handle, &rel) : 0;
		for (size_t i = 0; r == 0 && i < rel.n && i < 8; i++)
			ops[n++] = rel.ops[i];
		if (r == 0)
			r = ds_txn(s->ds, ops, n, NULL, NULL);
		ipam_txn_clear(&rel);
		if (r < 0 && r != -ENOENT)
			ep_warn(s->e, "undo: deleting the record %s: %s (%s)", s->key,
				endpoint_strerror(r), ds_last_error(s->ds));
		if (r < 0)
			s->assigned = w->mode == WEP_ROUTED;	/* released below */
		else
			s->assigned = false;
	}
	if (s->q->netns_name && (s->recorded || s->ns_made)) {
		/* felix may have written the workload's hosts file meanwhile. */
		r = hosts_remove(s->q->netns_name);
		if (r < 0)
			ep_warn(s->e, "undo: removing %s/%s: %s", HOSTS_ROOT,
				s->q->netns_name, strerror(-r));
	}
	if (s->ns_made) {
		/* Its teardown takes the veth. */
		r = netns_delete(w->netns);
		if (r < 0 && r != -ENOENT)
			ep_warn(s->e, "undo: deleting network namespace %s: %s", w->netns,
				strerror(-r));
	}
	if (s->linked && s->host_nl) {
		/* The engine's namespace stays: delete the veth this create
		 * made, by its host end's index when the kernel told it. */
		r = s->wl.peer_ifindex > 0 ? link_del_index(s->host_nl, s->wl.peer_ifindex, &le)
					   : link_del(s->host_nl, w->ifname, &le);
		if (r < 0 && r != -ENODEV)
			ep_warn(s->e, "undo: %s: %s", le.what, strerror(-r));
	}
	if (s->assigned) {
		r = ipam_release_handle(s->ds, s->handle);
		if (r < 0)
			ep_warn(s->e, "undo: releasing address (handle %s): %s; "
				"`petrelctl ipam release --leaked` frees it", s->handle,
				endpoint_strerror(r));
	}
}

static int ep_wait_programmed(struct ep_create *s)
{
	const struct endpoint_req *q = s->q;
	char why[256];
	int r;

	r = endpoint_wait(q->status_sock, s->w->name, s->rev, false, q->wait_ms, why,
			  sizeof(why));
	if (r == 0)
		return 0;
	return ep_wait_fail(s->e, r, q->status_sock, s->w->node, s->w->name, q->wait_ms,
			    false, why);
}

void endpoint_prefetch(struct ds *ds, const char *node, const char *name)
{
	char wep[RES_KEY_MAX], pools[RES_KEY_MAX], blocks[RES_KEY_MAX];
	char nets[RES_KEY_MAX], id[2 * RES_NAME_MAX];
	const char *const keys[] = { wep, pools, blocks, nets };

	snprintf(id, sizeof(id), "%s/%s", node, name ? name : "");
	if ((name ? res_key(RES_WEP, id, wep, sizeof(wep)) :
		    res_prefix(RES_WEP, node, wep, sizeof(wep))) < 0 ||
	    res_prefix(RES_IPPOOL, NULL, pools, sizeof(pools)) < 0 ||
	    res_prefix(RES_IPAMBLOCK, NULL, blocks, sizeof(blocks)) < 0 ||
	    res_prefix(RES_NETWORK, NULL, nets, sizeof(nets)) < 0)
		return;
	(void)ds_prefetch(ds, keys, sizeof(keys) / sizeof(keys[0]));
}

int endpoint_create(struct ds *ds, struct endpoint_req *q, struct endpoint_err *e)
{
	struct ep_create s = { .ds = ds, .q = q, .w = &q->res->u.wep, .e = e };
	struct wep *w = s.w;
	char id[2 * RES_NAME_MAX];
	int r;

	memset(e, 0, sizeof(*e));
	q->res->kind = RES_WEP;
	if (!w->wl_ifname[0] && w->mode == WEP_ROUTED)
		snprintf(w->wl_ifname, sizeof(w->wl_ifname), "eth0");
	snprintf(id, sizeof(id), "%s/%s", w->node, w->name);
	if (res_key(RES_WEP, id, s.key, sizeof(s.key)) < 0)
		return ep_fail(e, EP_INTERNAL, -ENAMETOOLONG, "workload key for %s too long", id);
	if (q->netns_name) {
		char path[sizeof(w->netns) + 64];

		if (netns_path(q->netns_name, path, sizeof(path)) < 0 ||
		    strlen(path) >= sizeof(w->netns))
			return ep_fail(e, EP_INTERNAL, -ENAMETOOLONG, "network namespace name "
				       "%s is too long", q->netns_name);
		memcpy(w->netns, path, strlen(path) + 1);	/* length checked */
	}
	if (w->mode == WEP_ROUTED)
		endpoint_host_ifname(w->node, w->name, w->container_id, w->ifname);
	if (w->mode == WEP_CONTAINER && (r = ep_target(&s)) < 0)
		goto out;
	for (size_t i = 0; i < w->n_networks; i++)
		if ((r = ep_network(&s, i)) < 0)
			goto out;
	if (s.sel_pool[0])
		s.sel.pool = s.sel_pool;
	else
		s.sel.unnamed_only = !q->any_pool;
	/* Before any work: a host port that is not ours to take (another
	 * node's address, the BGP port, a port the node listens on), or
	 * taken already, fails here (the record's transaction settles
	 * races between creators). */
	if (w->n_ports && !(s.node = q->node)) {
		if ((r = endpoint_node_probe(&s.node_probed, e)) < 0)
			goto out;
		s.node = &s.node_probed;
	}
	if (w->n_ports && (r = endpoint_ports_judge(w, s.node, q->allow_ports,
						    q->n_allow_ports, q->pick, false, e)) < 0)
		goto out;
	if ((r = ep_ports_prepare(ds, w, q, s.node, &s.ports, e)) < 0)
		goto out;
	if (w->n_ports && (r = endpoint_ports_judge(w, s.node, q->allow_ports,
						    q->n_allow_ports, q->pick, true, e)) < 0)
		goto out;
	if (ep_stopped(&s)) {
		r = -EINTR;
		goto out;
	}
	if (w->mode == WEP_ROUTED) {
		r = ipam_handle_id(w->container_id, w->wl_ifname, s.handle, sizeof(s.handle));
		if (r < 0) {
			ep_fail(e, EP_INTERNAL, r, "IPAM handle: %s", strerror(-r));
			goto out;
		}
		if ((r = ep_assign(&s, q->want)) < 0)
			goto undo;
		if (ep_stopped(&s)) {
			r = -EINTR;
			goto undo;
		}
	}
	if (w->mode == WEP_ROUTED || (w->mode == WEP_NONE && q->netns_name)) {
		if ((r = ep_netns(&s)) < 0)
			goto undo;
		if (ep_stopped(&s)) {
			r = -EINTR;
			goto undo;
		}
	}
	r = ep_record(&s);
	if (r < 0)
		goto undo;
	if (ep_stopped(&s)) {
		r = -EINTR;
		goto undo;
	}
	if (w->mode == WEP_ROUTED && !q->no_wait && (r = ep_wait_programmed(&s)) < 0)
		goto undo;
	if (ep_stopped(&s)) {
		r = -EINTR;
		goto undo;
	}
	r = 0;
	goto out;
undo:
	ep_undo(&s);
out:
	link_nl_free(s.host_nl);
	ipam_txn_clear(&s.ipam);
	ep_ports_clear(&s.ports);
	endpoint_node_clear(&s.node_probed);
	ds_kv_clear(&s.other);
	for (size_t i = 0; i < WEP_MAX_NETWORKS; i++)
		ds_kv_clear(&s.net_kv[i]);
	return r;
}
