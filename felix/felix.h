/*
 * felix: the node agent's state, shared by its files (private to felix/).
 *
 *   main.c       options, config, namespace, pid file, the one epoll loop
 *                over the parts (part.h; their table is parts.c)
 *   feed.c       the datastore list + watch; each record's key told and its
 *                document decoded once, handed to the parts that want it
 *   store.c      desired state: this node's WorkloadEndpoints and the IPAM
 *                blocks with affinity to it
 *   ktable.c     actual state: netlink dumps and notifications parsed into
 *                felix's own compact tables
 *   kernel.c     netlink I/O: the sockets, dumps, notifications
 *   kwrite.c     batched writes, each ACKed, the tables updated from the ACK
 *   reconcile.c  the dirty queue, the checks that compare desired with
 *                actual and emit the difference (rec_sysctl.c: the sysctl
 *                reads/writes)
 *   statsrv.c    the status socket (status, wait, nft)
 *   dshealth.c   the datastore's health: down/up, backoff, retries (the
 *                "datastore" part)
 *   noderec.c    this node's Node (registered at start) and its heartbeat
 *   bgp.c        BIRD's config from the Node, BGPPeer, BGPConfiguration and
 *                IPPool resources and this node's blocks; BIRD's reloads (in
 *                a helper process)
 *   pol.c, nft.c the nftables table (pol_part.c: its part adapter)
 *   parts.c      the table of parts; clock.h the clock; htab.h the tables
 *
 * Invariants:
 *  - Actual state is only what the kernel reported: a dump, a notification,
 *    or the ACK of a write felix sent (and the success of a sysctl write).
 *  - Only petrel's own objects are kept and touched: routes of table main
 *    with the configured protocol, links whose name has petrel's prefix,
 *    neighbour entries on those links.
 *  - Every change of desired or actual state queues the objects whose
 *    check could now have another result; a pass checks a bounded number of
 *    queued objects and sends what differs. An object not queued has been
 *    checked since it last changed (so "programmed" can be trusted).
 *  - Objects are freed only while handling store or kernel input, never in
 *    the middle of a pass, so a pass may hold pointers across its batch.
 */
#ifndef PETREL_FELIX_H
#define PETREL_FELIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/config.h"
#include "common/ip4.h"
#include "datastore/datastore.h"
#include "model/resource.h"
#include "felix/clock.h"
#include "felix/htab.h"
#include "felix/part.h"

#ifndef PETREL_VERSION
#define PETREL_VERSION "0.1.0"
#endif

#define FELIX_IFNAMSIZ 16

/* Per-pass bounds (so that the loop keeps answering and the notification
 * socket is drained between bursts of writes). */
#define FELIX_PASS_CHECKS 4096	/* queued objects checked per pass */
#define FELIX_PASS_WRITES 1024	/* netlink + sysctl writes per pass */
#define FELIX_EVENT_MSGS 8192	/* notifications read per loop turn */
#define FELIX_MAX_TOMBS 4096
#define FELIX_RETRY_MS 1000	/* a dump that failed or was interrupted */
/* A host end (a link with petrel's prefix) that no endpoint of this node
 * claims for this long, as felix saw it, is deleted (the sweep); checked
 * every FELIX_SWEEP_EVERY_MS. One that an endpoint did claim, until its
 * record went (rm and CNI DEL leave the host end to the namespace's
 * teardown, or to this), goes after the shorter FELIX_SWEEP_GONE_MS. */
#ifndef FELIX_SWEEP_GRACE_MS
#define FELIX_SWEEP_GRACE_MS 10000
#endif
#define FELIX_SWEEP_GONE_MS 1000
#define FELIX_SWEEP_EVERY_MS 1000

/* felix's heartbeat in KEYS_NODESTATUS<node> (noderec.c). */
#define FELIX_HEARTBEAT_S 10
/* The datastore's retries while it is down (dshealth.c). */
#define DSH_BACKOFF_MIN_MS 100
#define DSH_BACKOFF_MAX_MS 5000

/* The datastore's health: down from the first failure of a request felix
 * makes until one succeeds (dshealth.c). */
struct fdsh {
	bool down;
	uint64_t since_ns;	/* monotonic: the first failure */
	int64_t since_wall;	/* the same, as time() */
	uint64_t retry_at;	/* monotonic ns: the next try */
	uint32_t backoff_ms;
	uint64_t retries;	/* failed tries since down */
	uint64_t outages;	/* ever */
	int err;
	char what[32];		/* what failed last: "list", "watch", ... */
	char text[256];		/* its error */
};

/* Kinds of queued objects. */
enum qkind { Q_EP, Q_BLOCK, Q_ROUTE, Q_NEIGH };

struct qnode {
	struct dlist l;		/* in felix.queue when linked */
	uint8_t kind;
};

/*
 * A route key (prefix in table main, metric 0, tos 0) that a desired object
 * wants. Several owners of one key (two endpoints claiming one address) are
 * possible; the first one holds it (dup == 0), the others wait.
 */
struct rowner {
	struct hnode h;		/* felix.owners, hash_u32(dst, len) */
	uint32_t dst;
	uint8_t len;
	bool dup;		/* another owner holds this key */
	bool conflict;		/* our add met a route we did not know of */
	bool conflict_logged;	/* ... and it is not ours: said so */
	bool is_block;
	void *owner;		/* struct fep * or struct fblock * */
};

/* Desired: one WorkloadEndpoint of this node. */
struct fep {
	struct hnode by_name;	/* felix.eps */
	struct hnode by_if;	/* felix.eps_by_if, when if_indexed */
	struct qnode q;
	char name[RES_NAME_MAX];
	char ifname[FELIX_IFNAMSIZ];
	enum wep_mode mode;
	uint8_t mac[6];
	bool has_mac;
	bool has_ports;		/* publishes ports: its host end needs
				 * route_localnet (127.0.0.1 DNAT) */
	bool if_indexed;
	bool programmed;
	bool inflight;		/* writes for it are in the unsent batch */
	uint32_t gen;		/* store list generation */
	int64_t rev;
	char *err;		/* last failure for it (owned), or NULL */
	size_t n_nets;
	struct rowner nets[];
};

/* Desired: one IPAM block with affinity to this node. */
struct fblock {
	struct hnode by_name;	/* felix.blocks */
	struct qnode q;
	char name[IP4_NETSTRLEN];	/* "10.65.0.0-26", the key's last part */
	bool programmed;
	bool inflight;
	uint32_t gen;
	struct rowner key;
};

/* An endpoint that left the store, until its routes and neighbour entries
 * are gone too (for wait "gone"). */
struct ftomb {
	struct dlist l;
	char name[RES_NAME_MAX];
	char ifname[FELIX_IFNAMSIZ];
	size_t n_nets;
	struct ip4_net nets[WEP_MAX_NETS];
};

/* Actual: a link with petrel's name prefix. */
struct klink {
	struct hnode by_index;	/* felix.links, hash_u32(ifindex, 0) */
	struct hnode by_name;	/* felix.links_by_name */
	int ifindex;
	char name[FELIX_IFNAMSIZ];
	unsigned int flags;	/* IFF_* */
	int8_t proxy_arp;	/* -1: not known */
	int8_t forwarding;
	int8_t accept_ra;	/* -1: not known or no IPv6 */
	int8_t route_localnet;	/* -1: not known */
	int8_t rp_filter;	/* -1: not known */
	int32_t proxy_delay;	/* /proc's unit (USER_HZ); -1: not known */
	uint32_t gen;
	uint64_t unclaimed_since;	/* ns: no endpoint claims it since; 0 */
	bool was_claimed;	/* an endpoint claimed it once (as felix saw) */
	bool del_inflight;	/* the sweep's delete is in the batch */
};

/* Actual: a route of table main with petrel's protocol. */
struct kroute {
	struct hnode by_key;	/* felix.routes, kroute_hash(dst, len, prio, tos) */
	struct hnode by_oif;	/* felix.routes_by_oif, when oif != 0 */
	struct qnode q;
	uint32_t dst;
	uint8_t len, tos, type, scope;
	uint32_t prio;
	int oif;
	bool other_nh;		/* a gateway or several next hops: never ours */
	bool inflight;
	uint32_t gen;
};

/* Actual: an IPv4 neighbour entry on a petrel link. */
struct kneigh {
	struct hnode by_key;	/* felix.neighs, hash_u32(ifindex, addr) */
	struct hnode by_if;	/* felix.neighs_by_if, hash_u32(ifindex, 0) */
	struct qnode q;
	int ifindex;
	uint32_t addr;
	uint8_t mac[6];
	bool has_mac;
	bool inflight;
	uint16_t state;		/* NUD_* */
	uint32_t gen;
};

/* Netlink write operations, each one message of a batch. */
enum kop_type { KOP_LINK_UP, KOP_ROUTE_ADD, KOP_ROUTE_REPLACE, KOP_ROUTE_DEL,
		KOP_NEIGH_SET, KOP_NEIGH_DEL, KOP_LINK_DEL };

struct kop {
	uint8_t type;
	const char *why;	/* static text for the log: "missing", "stale"... */
	uint32_t seq;
	/* copies of the object, never pointers into the actual tables */
	int ifindex;
	char ifname[FELIX_IFNAMSIZ];
	uint32_t dst;		/* route dst or neighbour address */
	uint8_t len, tos, type_rt, scope;
	uint32_t prio;
	uint8_t mac[6];
	/* the desired object to re-check once acknowledged (may be NULL) */
	struct qnode *owner;
	struct rowner *rkey;
};

#define KBATCH_BUF 32768
#define KBATCH_OPS 256

struct kbatch {
	size_t len, n;
	struct kop ops[KBATCH_OPS];
	unsigned char buf[KBATCH_BUF];
};

/* The kernel's write side as the reconcile pass uses it: netlink writes
 * (batched, each ACKed) and /proc/sys reads and writes. felix runs with
 * kern_io (kernel.c, reconcile.c); a unit test puts a fake in its place. */
struct felix;
struct kio {
	int (*write)(struct felix *f, const struct kop *op);	/* kern_write */
	void (*flush)(struct felix *f);				/* kern_flush */
	int (*proc_read)(const char *path, int *v);
	int (*proc_write)(const char *path, int v);
	int (*dump_all)(struct felix *f);			/* kern_dump_all */
	int (*dump_routes)(struct felix *f);		/* kern_dump_routes */
};
extern const struct kio kern_io;

struct nl_sock;
struct nlmsghdr;
struct sclient;
struct fbgp;
struct fpol;

/* epoll tags (data.ptr points at one of these as its first member) */
enum esrc_type { ES_SIGNAL, ES_TIMER, ES_NETLINK, ES_WATCH, ES_LISTEN,
		 ES_CLIENT, ES_NFT, ES_BGP };
struct esrc {
	enum esrc_type type;
};

struct felix {
	const struct petrel_config *cfg;
	const struct kio *kio;	/* &kern_io */
	int epfd;
	bool quit;
	struct esrc src_signal, src_timer, src_netlink, src_watch, src_listen;

	/* desired */
	struct ds *ds;
	struct ds_watch *watch;
	char wep_prefix[RES_KEY_MAX];
	char block_prefix[RES_KEY_MAX];
	int64_t applied_rev;	/* store revision applied to the desired state */
	bool watch_more;	/* the watch may hold more news */
	bool need_relist;	/* list the store again (SIGHUP, -ERANGE, a
				 * failed relist: tried again with backoff) */
	bool store_known;	/* listed once: the parts may act */
	struct fdsh dsh;	/* dshealth.c */
	bool need_register;	/* the Node's registration is still due */
	bool heartbeat_written;
	uint64_t heartbeat_at;	/* monotonic ns: the next heartbeat */
	int64_t started_wall;	/* time() at start */
	int64_t list_rev_wep, list_rev_block;	/* revisions of the last list */
	uint32_t store_gen;
	struct htab eps, eps_by_if, blocks, owners;
	size_t n_eps, n_blocks, n_programmed;
	struct dlist tombs;
	size_t n_tombs;

	/* actual */
	struct nl_sock *nl_ev, *nl_req;
	uint32_t seq;
	uint32_t kgen;
	struct htab links, links_by_name, routes, routes_by_oif, neighs,
		    neighs_by_if;
	int ip_forward;		/* -1: not known */
	int guard_seen;		/* pol_guard() at the last pass */
	bool need_kresync;	/* dump everything again (ENOBUFS, timer...) */
	const char *kresync_why;
	bool need_route_dump;	/* our picture of routes is suspect */
	uint64_t kresync_at;	/* a failed dump's retry (monotonic ns), or 0 */
	uint64_t sweep_at;	/* the next sweep of unclaimed links, or 0 */
	size_t n_unclaimed;	/* links no endpoint claimed at the last one */
	bool sweep_look;	/* an endpoint with a host end went: look again */
	bool ev_more;		/* the notification socket may hold more */
	unsigned char *rbuf;	/* receive buffer, FELIX_RBUF bytes */
	struct kbatch *batch;

	/* the reconcile queue and its pass */
	struct dlist queue;
	size_t writes_left;	/* budget of the current pass */
	uint64_t changes;	/* writes that succeeded, ever */
	uint64_t emitted;	/* netlink writes put in a batch, ever */
	bool resync_active;	/* a full resync waits for the queue to empty */
	uint64_t resync_t0;	/* its start, monotonic ns */
	uint64_t resync_changes0;
	int64_t last_resync_ms;
	int64_t resync_store_ms;	/* -1: no relist in this resync */
	int64_t resync_kernel_ms;
	uint64_t resyncs;

	/* BGP (bgp.c) */
	struct fbgp *bgp;

	/* nftables (pol.c) */
	struct fpol *pol;

	/* status socket */
	int listen_fd;
	char sock_path[CONFIG_PATH_MAX + 16];
	struct dlist clients;
	size_t n_clients;
};

#define FELIX_RBUF 65536

/* --- feed.c --- */
int feed_open(struct felix *f);		/* the datastore */
void feed_close(struct felix *f);
/* Every part lists its kinds again; then the watch from the oldest list. */
int feed_relist(struct felix *f);
/* Hands the watch's news to the parts (one bounded read). 0, or -errno
 * (the watch is broken: the caller relists). */
int feed_watch_read(struct felix *f, bool want_rev);
/* One event: its key told, handed to the parts that want its kind. */
void feed_event(struct felix *f, const struct ds_event *ev);

/* Every turn of the loop: when the watch broke, a new one from
 * applied_rev (when due); else reads it when ready (or more is left). */
void feed_input(struct felix *f, bool watch_ready);

/* --- dshealth.c (ds_part) --- */
/* A request to the store failed (what: "list", "watch"...): down from now
 * (logged once), next try after the backoff. */
void dsh_fail(struct felix *f, const char *what, int err);
/* One succeeded: up again (logged once). */
void dsh_ok(struct felix *f);
/* Not down, or its next try is due. */
bool dsh_due(const struct felix *f);
/* "datastore unreachable since T (what: error), retrying", or "" when up. */
void dsh_describe(const struct felix *f, char *buf, size_t len);

/* --- noderec.c --- */
/* Creates or updates this node's Node (the fields felix owns). 0, or
 * -errno when the store failed (dsh_fail called: try again). */
int noderec_register(struct felix *f);
/* Writes the heartbeat (stopped: felix is leaving). 0 or -errno. */
int noderec_heartbeat(struct felix *f, bool stopped);

/* --- store.c (store_part) --- */
struct fep *store_ep_find(struct felix *f, const char *name);
/* Whether an endpoint of this node claims the interface name. */
bool store_ifname_claimed(struct felix *f, const char *ifname);
/* The BGP part's input: this node's blocks; its routed endpoints'
 * addresses. */
void store_blocks_walk(struct felix *f,
		       void (*fn)(const struct ip4_net *cidr, void *arg), void *arg);
void store_routed_addrs_walk(struct felix *f,
			     void (*fn)(const struct ip4_net *net, void *arg),
			     void *arg);
struct rowner *store_owner_find(struct felix *f, uint32_t dst, uint8_t len);
struct ftomb *store_tomb_find(struct felix *f, const char *name);
void store_tomb_free(struct felix *f, struct ftomb *t);
void store_free_all(struct felix *f);

/* --- kernel.c --- */
int kern_open(struct felix *f);
void kern_close(struct felix *f);
int kern_ev_fd(const struct felix *f);
/* Dumps links, neighbour tables, routes and neighbours; replaces the
 * actual state with what they show; queues every object. */
int kern_dump_all(struct felix *f);
int kern_dump_routes(struct felix *f);
/* Reads up to FELIX_EVENT_MSGS notifications; sets ev_more when it stopped
 * early, need_kresync when some were lost. */
void kern_events_read(struct felix *f);
/* Adds one write to the batch (flushing first when full). The message is
 * built from op. 0 or -errno (the write is then not sent). */
int kern_write(struct felix *f, const struct kop *op);
/* Sends the batch and handles every acknowledgement. */
void kern_flush(struct felix *f);
/* One message of a dump or a notification into the actual state (queueing
 * the objects whose check it may change). */
void kern_msg(struct felix *f, struct nlmsghdr *h);
/* The kernel's own text of an NLMSG_ERROR's extended ack, " (TEXT)", or ""
 * (kwrite.c). h is one whole message of a received datagram. */
void kern_ack_text(const struct nlmsghdr *h, char *buf, size_t len);
struct klink *kern_link_by_index(struct felix *f, int ifindex);
struct klink *kern_link_by_name(struct felix *f, const char *name);
struct kroute *kern_route_find(struct felix *f, uint32_t dst, uint8_t len,
			       uint32_t prio, uint8_t tos);
struct kneigh *kern_neigh_find(struct felix *f, int ifindex, uint32_t addr);
void kern_free_all(struct felix *f);

/* --- reconcile.c --- */
void rec_queue(struct felix *f, struct qnode *q);
void rec_unqueue(struct qnode *q);
void rec_queue_all(struct felix *f);
/* Queues every endpoint (the table's guard changed). */
void rec_queue_eps(struct felix *f);
/* Queues the endpoints that use the link name. */
void rec_queue_ifname(struct felix *f, const char *ifname);
/* Queues whoever wants the route key (dst, len). */
void rec_queue_key(struct felix *f, uint32_t dst, uint8_t len);
/* One bounded pass over the queue. */
void rec_pass(struct felix *f);
/* One kernel write into the pass's batch (counted against its budget). */
void rec_emit(struct felix *f, struct kop *op);
/* sweep.c: deletes host ends no endpoint claims, after their grace. */
void rec_sweep(struct felix *f);
/* The endpoint's first unmet condition (for wait replies); "" when none. */
void rec_ep_why(struct felix *f, struct fep *ep, char *buf, size_t len);
/* True when nothing remains of a removed endpoint. */
bool rec_tomb_clear(struct felix *f, struct ftomb *t);
void rec_ep_set_programmed(struct felix *f, struct fep *ep, bool v);
void rec_ep_set_err(struct fep *ep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Starts a full resync: dumps, queues all; its end is logged by rec_pass. */
int rec_resync(struct felix *f, bool relist, const char *why);
/* The kernel's input of one loop turn: notifications (when nl_ready or
 * more are left), then what is due: a relist, a full resync, or a
 * route-only dump (a failed one is retried as a full dump after
 * FELIX_RETRY_MS). */
void rec_kernel_input(struct felix *f, bool nl_ready);
void rec_check_ip_forward(struct felix *f);
/* Writes into why only the first reason (why may be NULL). */
void rec_why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- rec_sysctl.c --- */
#define REC_SYSCTLS 6	/* the host end's sysctls an endpoint wants */
/* The host end's sysctls against what ep wants (written when apply and
 * the pass has writes left); true when all are in place; *rp_ok: strict
 * rp_filter is (a route may follow). */
bool rec_ep_sysctls(struct felix *f, struct fep *ep, struct klink *l,
		    bool apply, char *why, size_t wl, bool *rp_ok);
void rec_fix_ip_forward(struct felix *f);	/* ip_forward=1 when 0 */
int rec_proc_read(const char *path, int *v);
int rec_proc_write(const char *path, int v);

/* --- statsrv.c --- */
void statsrv_accept(struct felix *f);
void statsrv_client_event(struct felix *f, struct sclient *c, uint32_t ev);
/* Whether a waiter needs a store revision beyond applied_rev. */
/* A status client is connected (most often `run` or CNI ADD, about to ask
 * or waiting for its answer). */
bool statsrv_busy(struct felix *f);
bool statsrv_wants_rev(struct felix *f);

/* --- bgp.c (bgp_part) --- */
/* This node's endpoints or blocks changed (borrowed addresses, blocks). */
void bgp_mark_dirty(struct felix *f);
/* The BIRD helper's pipe is readable (ES_BGP). */
void bgp_job_event(struct felix *f);

/* --- pol.c --- */
int pol_open(struct felix *f);
void pol_close(struct felix *f);
/* Lists endpoints (all nodes), NetworkPolicies, Networks and IPPools again
 * and rebuilds the wanted table; lowers *min_rev to the oldest list's. */
int pol_relist(struct felix *f, int64_t *min_rev);
/* Applies a watch event when its key is one of those kinds. */
void pol_store_event(struct felix *f, const struct ds_event *ev);
/* Sends what changed (one batch), or reads the table back and replaces it
 * whole when it is not known to be right; rewrites hosts files. */
void pol_sync(struct felix *f);
/* The kernel has all of the wanted table. */
bool pol_ready(struct felix *f);
/* Whether table inet petrel, which guards the workload interfaces, is in
 * the kernel: POL_GUARD_YES once felix committed it (or found it right),
 * POL_GUARD_NO after a failure to write or read it, POL_GUARD_UNKNOWN
 * before the first try. Until YES no workload route is added and no host
 * end has route_localnet (reconcile.c: a change seen there queues every
 * endpoint). */
enum { POL_GUARD_UNKNOWN, POL_GUARD_NO, POL_GUARD_YES };
int pol_guard(struct felix *f);
int pol_timeout_ms(struct felix *f);
void pol_mon_event(struct felix *f);	/* the notification fd is readable */
void pol_periodic(struct felix *f);	/* the resync timer: compare again */
json_t *pol_status_json(struct felix *f);
/* What felix programmed: the whole table (ep NULL) or one endpoint's
 * pieces, as nft text (malloc'd); NULL with err filled. */
char *pol_nft_text(struct felix *f, const char *ep, char *err, size_t len);

#endif
