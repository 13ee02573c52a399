/*
 * endpoint: the one lifecycle of a workload's endpoint, for every creator
 * (petrelctl run/rm, the CNI plugin's ADD/DEL/CHECK/GC, and the engine
 * drivers to come). The glue parses its own input, fills a WorkloadEndpoint
 * and calls endpoint_create / endpoint_remove; it maps the stage and code of
 * a failure to its exit status and prints the message.
 *
 * create, in this order, each step undone backwards on any later failure or
 * when *stop becomes non-zero (checked between steps; the wait for felix is
 * interrupted by the signal itself):
 *   container:OTHER read, named networks read (their pool chosen), host ports
 *   judged or picked -> IPAM address (routed; handle "<containerID>.<wl_if>")
 *   -> namespace (made, petrelctl; or the engine's) and, inside it, the veth
 *   (host end created straight in the node's namespace) -> ONE transaction:
 *   the record, its host-port reservations, every joined Network and OTHER
 *   rewritten at the revision read -> felix says it is programmed (routed,
 *   unless no_wait; a felix that restarts meanwhile is asked again until
 *   the deadline).
 * remove: the namespace petrelctl made (its teardown takes the veth: no
 *   caller waits for the kernel's RCU grace period), then ONE transaction:
 *   the record at the revision read, the reservations it holds and the
 *   address, then felix's "gone" (its route and nftables state went), then
 *   the hosts file. It deletes no interface: an engine's namespace teardown
 *   takes the veth, or felix's sweep a host end that no record claims; a
 *   create that finds its names held by such a leftover moves it out of
 *   the way (create.c's ep_debris), it does not wait for it.
 *
 * Invariants:
 * - Names are unique: the host end is "ptl" + 12 hex digits of SHA-1 of
 *   node/name/containerID, so two incarnations of one name (or two creators
 *   racing for it) never share a host end; the record's create (CAS) and
 *   the namespace file (O_EXCL) decide who wins the name.
 * - An interface is touched only once proven this endpoint's: one this
 *   create made (deleted by the index the kernel gave it), or debris of a
 *   removed one: the host end of this workload's name (node/name/cid) while
 *   it has no record (renamed, by index), and, in an engine's namespace
 *   kept across DEL and ADD, the pair whose workload end holds wl_ifname
 *   and whose two indexes match that host end's (deleted). Never by name
 *   alone: a host end of another name is somebody's.
 * - Host-port reservations (/petrel/hostports/<node>/<proto>-<port>, value
 *   {"workload":NAME}): one per (node, protocol, port), written only in the
 *   transaction that creates or deletes its record. A reservation whose
 *   owner record does not exist, or no longer publishes the port, is stale:
 *   it is reclaimed in the creating transaction itself (an update at the
 *   revision read), never by a separate write. Every retry is bounded.
 *
 * Nothing here logs: failures come back in struct endpoint_err.
 */
#ifndef PETREL_ENDPOINT_H
#define PETREL_ENDPOINT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/link.h"
#include "datastore/datastore.h"
#include "model/resource.h"

#define ENDPOINT_GATEWAY 0xa9fe0101u	/* 169.254.1.1, host order */
extern const uint8_t endpoint_host_mac[6];	/* ee:ee:ee:ee:ee:ee */

/* Where a create or remove failed: the glue's key to its exit status and
 * hint. */
enum endpoint_stage {
	EP_OK = 0,
	EP_INTERNAL,	/* out of memory, a name too long */
	EP_EXISTS,	/* the workload's name is taken (code -EEXIST) */
	EP_TARGET,	/* container:OTHER missing, unfit, or changed */
	EP_NETWORK,	/* a named network missing or changed (-ENOENT) */
	EP_PORT,	/* a host port: taken (-EADDRINUSE), none free (-ENOSPC) */
	EP_IPAM,	/* the address (code: IPAM_E* or -errno) */
	EP_NETNS,	/* the namespace: taken (-EEXIST), or not one (CNI_NETNS) */
	EP_LINK,	/* netlink (le) */
	EP_STORE,	/* the datastore */
	EP_WAIT,	/* felix (-ENOENT/-ECONNREFUSED: not running; -ETIMEDOUT;
			 * -EREMOTEIO: its error; -EINTR) */
	EP_INTR,	/* *stop was set */
	EP_CONFIG,	/* the node's petrel.yaml (endpoint_open) */
};

struct endpoint_err {
	enum endpoint_stage stage;
	int code;		/* -errno, or an IPAM_E* code (EP_IPAM) */
	char msg[768];		/* one line, what failed and why */
	char warn[768];		/* what undo (or remove) could not finish, "" */
	struct link_err le;	/* EP_LINK */
	struct wep_port port;	/* EP_PORT -EADDRINUSE: the port asked for */
	char owner[RES_NAME_MAX];	/* and who holds it ("" unknown) */
	size_t network;		/* EP_NETWORK: index in res's networks */
};

/* The errno text of code, ipam's own codes included. */
const char *endpoint_strerror(int code);

/* A create's request. res (borrowed; RES_WEP) has node, name, mode, labels,
 * container (container:), networks, ports, container_id, wl_ifname
 * ("" = eth0) and, for an engine's namespace, netns; endpoint_create fills
 * ifname, nets, mac, netns (container: the target's) and revision. */
struct endpoint_req {
	struct resource *res;
	const char *netns_name;	/* routed/none: make this named namespace;
				 * NULL: res's netns exists (the engine's) */
	uint32_t want;		/* routed: that address; 0: any */
	bool any_pool;		/* no named network: every pool (CNI), not
				 * only the pools no Network names */
	const bool *pick;	/* per port: pick its host port (NULL: none) */
	unsigned port_lo, port_hi;	/* hostPortRange */
	const uint16_t *allow_ports;	/* allowHostPorts: the BGP port or a
					 * port in use on the node, allowed */
	size_t n_allow_ports;
	const struct endpoint_node *node;	/* borrowed; NULL: probe the
						 * namespace we are in */
	const char *status_sock;	/* felix's */
	int wait_ms;
	bool no_wait;
	volatile sig_atomic_t *stop;	/* may be NULL */
};

/* q's node-wide part from the node's config: allowHostPorts, felix's
 * status socket (written into sock, len bytes: CONFIG_PATH_MAX + 16) and
 * waitTimeout. */
void endpoint_req_config(struct endpoint_req *q, const struct petrel_config *cfg,
			 char *sock, size_t len);

/* 0 (res complete, recorded, programmed), or -errno after undoing
 * everything (e filled; e->warn says what undo left). */
int endpoint_create(struct ds *ds, struct endpoint_req *q,
		    struct endpoint_err *e);
/* Reads ahead, in one request, what a creator or remover on node and then
 * endpoint_create or endpoint_remove read: the workload's record (name;
 * NULL: every record of node), the pools, the blocks and the networks
 * (ds_prefetch; etcd: one round trip instead of three or four). Best
 * effort: on failure the reads go to the store one by one, as without it. */
void endpoint_prefetch(struct ds *ds, const char *node, const char *name);

/* A removal. */
struct endpoint_rm {
	bool own_netns;		/* delete the record's namespace (petrelctl
				 * made it); else it is the engine's */
	const char *status_sock;	/* NULL: do not wait for felix */
	int wait_ms;
};

/* Removes the endpoint of w (its record as read, revision set). 0; -ENOENT
 * when its record is gone already (the rest is still done); -ECANCELED
 * when the record changed meanwhile (nothing done after the namespace);
 * else -errno (e filled). A felix that does not confirm is a warning
 * (e->warn), not a failure. */
int endpoint_remove(struct ds *ds, const struct resource *w,
		    const struct endpoint_rm *how, struct endpoint_err *e);

/* Releases what an attachment without a record may hold (a create killed
 * before its record): the address of handle "<cid>.<wl_ifname>". */
int endpoint_release(struct ds *ds, const char *cid, const char *wl_ifname,
		     struct endpoint_err *e);

/* The host end's name of workload name of node made by container cid:
 * "ptl" + 12 hex digits of SHA-1 of "node/name/cid". out: IFNAME_LEN + 1. */
void endpoint_host_ifname(const char *node, const char *name, const char *cid,
			  char *out);

/* Asks felix (status socket sock) to confirm endpoint name at store
 * revision rev (gone: its state dropped), within timeout_ms. A connection
 * that felix closes without an answer, or a socket that goes away after
 * it was seen, is a felix restarting: asked again until the deadline. 0,
 * or status_wait's errors (why: felix's text for -EREMOTEIO). */
int endpoint_wait(const char *sock, const char *name, int64_t rev, bool gone,
		  int timeout_ms, char *why, size_t why_len);

/* --- host ports (hostport.c) --- */

/* The reservation key of p on node: 0 or -ENAMETOOLONG. */
int endpoint_hostport_key(const char *node, const struct wep_port *p,
			  char *buf, size_t len);
/* The workload a reservation's stored text names ({"workload": NAME}), into
 * owner; "" when it names none or is not one (tests/fuzz/fuzz_stored.c). */
void endpoint_hostport_parse(const char *value, char *owner, size_t len);
/* The workload holding node's port p now: 0 and owner ("" when the value
 * names none), -ENOENT when free, or a datastore error. */
int endpoint_hostport_owner(struct ds *ds, const char *node,
			    const struct wep_port *p, char *owner, size_t len);

/* --- the node's own (hostnode.c) --- */

#define ENDPOINT_BGP_PORT 179

/* What a published port must not take: the node's IPv4 addresses and the
 * ports its listeners use (TCP LISTEN, UDP unconnected; addr 0: every
 * address, [::] included). */
struct endpoint_addr {
	uint32_t addr;
	uint8_t plen;
	bool loopback;		/* on a loopback interface: its prefix is local */
};
struct endpoint_listener {
	uint8_t proto;
	uint16_t port;
	uint32_t addr;
};
struct endpoint_node {
	struct endpoint_addr *addrs;
	size_t n_addrs;
	struct endpoint_listener *ls;
	size_t n_ls;
	bool probed;
};
/* Reads the network namespace this thread is in (the node's: the glue
 * enters `netns:` first). 0, or -errno with e filled (EP_PORT). */
int endpoint_node_probe(struct endpoint_node *n, struct endpoint_err *e);
/* Adds the sockets of a /proc/net/{tcp,udp}[6] text (proto; v6: the *6
 * files) to n. 0 or -ENOMEM; lines that do not parse are skipped. */
int endpoint_node_parse_proc(struct endpoint_node *n, uint8_t proto, bool v6,
			     const char *text);
void endpoint_node_clear(struct endpoint_node *n);
/* Is addr one of n's (or inside a loopback interface's prefix)? */
bool endpoint_node_has_addr(const struct endpoint_node *n, uint32_t addr);
/* 0 when p's host port may be published on n, else -EACCES (the BGP port)
 * or -EADDRINUSE (a listener of the node), why saying so. allow: ports
 * allowed all the same. */
int endpoint_port_forbidden(const struct endpoint_node *n, const uint16_t *allow,
			    size_t n_allow, const struct wep_port *p, char *why,
			    size_t len);
/* w's ports against n: !ports: a host IP not the node's (-EADDRNOTAVAIL);
 * ports: the BGP port (-EACCES) or a port in use (-EADDRINUSE), ports with
 * pick[i] not judged (they are picked among the allowed). e filled
 * (EP_PORT, e->port). endpoint_create judges the addresses first, the
 * ports once the reservations are known free (a port another workload
 * holds is reported as that workload's, though the engine may listen on
 * it for that workload). */
int endpoint_ports_judge(const struct wep *w, const struct endpoint_node *n,
			 const uint16_t *allow, size_t n_allow, const bool *pick,
			 bool ports, struct endpoint_err *e);

/* --- an engine's attachment (attach.c) --- */

/* (container ID, interface) of an engine on node: its workload is named
 * name when that is a valid free name, else prefix ("cni-", "nv-") and the
 * start of cid (longer until free). All borrowed. */
struct endpoint_attach {
	const char *node, *cid, *ifname;
	const char *name;	/* the engine's name for it, "" or NULL: none */
	const char *prefix;
};
/* The workload name for a new attachment a into out (RES_NAME_MAX): 0 or
 * a datastore failure (e filled). */
int endpoint_attach_name(struct ds *ds, const struct endpoint_attach *a, char *out,
			 struct endpoint_err *e);
/* The record of a: 0 and *out (the caller clears it), -ENOENT, or a
 * failure (e filled). The names a gets are read first, then the list. */
int endpoint_attach_find(struct ds *ds, const struct endpoint_attach *a,
			 struct resource *out, struct endpoint_err *e);
/* Calls fn for each WorkloadEndpoint of node that parses (a bad document is
 * skipped) until fn returns non-zero. fn may keep *w (leaving it zeroed);
 * else it is cleared after the call. fn's value, 0, or a listing failure
 * (e filled). */
int endpoint_each(struct ds *ds, const char *node,
		  int (*fn)(struct resource *w, void *arg), void *arg,
		  struct endpoint_err *e);
/* An engine plugin's start: the node's petrel.yaml at path (config_load;
 * its messages into ce), its namespace entered (netns:), its datastore
 * opened into *ds. 0, or -errno with e filled: EP_CONFIG (msg "PATH:
 * why", for the glue to prefix with its field), EP_NETNS (the node's
 * namespace), EP_STORE (code: ds_open's). */
int endpoint_open(const char *path, struct petrel_config *cfg, struct ds **ds,
		  struct errs *ce, struct endpoint_err *e);
/* w's workload-side interface: its wl_ifname, "" meaning "eth0". */
const char *endpoint_wl_ifname(const struct wep *w);

#endif
