/*
 * bgpconf: BIRD 2 for one node (DESIGN.md section 8, docs/bgp.md).
 *
 * Three parts, one face:
 *   - the peer list: who this node talks BGP to, computed from the Node,
 *     BGPConfiguration and BGPPeer resources, with the cross-resource checks
 *     a single document cannot make (a peer that is this node, two peers at
 *     one address);
 *   - the config text: one deterministic BIRD 2 configuration (the same input
 *     gives the same bytes: everything is sorted), and bgpconf_write(), which
 *     puts it in place atomically after BIRD itself checked it (`bird -p`),
 *     only when the bytes changed;
 *   - birdctl: a client of BIRD's control socket (its line protocol, no
 *     birdc), to reload the config and read the protocols' state.
 *
 * The library never logs: errors go to a struct errs, the caller logs them
 * once. Passwords never appear in an error message.
 */
#ifndef PETREL_BGPCONF_H
#define PETREL_BGPCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "model/resource.h"

/* ------------------------------------------------------------------ input */

/*
 * Everything one node's BGP world depends on. All borrowed: the caller keeps
 * it alive during a call. Order does not matter (everything is sorted).
 */
struct bgpconf_input {
	const char *node;		/* this node's name */
	uint32_t address;		/* its BGP address (router id, source of the
					 * sessions); 0 = its Node's bgp.ipv4Address */
	uint32_t asn;			/* its AS; 0 = its Node's, else config's */
	const struct bgpconfig *config;	/* BGPConfiguration "default"; NULL = defaults */
	const struct node *nodes;	/* every Node (this one too, if it has one) */
	size_t n_nodes;
	const struct bgppeer *peers;	/* every BGPPeer (filtered here) */
	size_t n_peers;
	const struct ip4_net *pools;	/* the ENABLED pools' CIDRs: the only
					 * prefixes advertised, and imported */
	size_t n_pools;
	const struct ip4_net *blocks;	/* the blocks this node holds */
	size_t n_blocks;
	const uint32_t *borrowed;	/* addresses it borrowed from others' blocks */
	size_t n_borrowed;
	int route_protocol;		/* felix's rtm_protocol (87): its kernel
					 * routes never enter BIRD */
	const char *bird_socket;	/* BIRD's control socket (bgpconf_apply) */
};

/* The static protocol of the generated config: its routes (the blocks this
 * node holds, the addresses it borrowed) are the only ones exported to peers. */
#define BGPCONF_STATIC_PROTO "petrel_static"

/* ------------------------------------------------------------- peer list */

enum bgpconf_peer_kind {
	BGPCONF_MESH,		/* another node, node-to-node mesh ("Mesh_…") */
	BGPCONF_RR,		/* another node, mesh off: route reflection ("RR_…") */
	BGPCONF_GLOBAL,		/* a BGPPeer for every node ("Global_…") */
	BGPCONF_NODE,		/* a BGPPeer for this node, by node or selector ("Node_…") */
};

#define BGPCONF_PROTO_NAME_MAX 32	/* "Global_255_255_255_255" fits */

struct bgpconf_peer {
	enum bgpconf_peer_kind kind;
	char proto[BGPCONF_PROTO_NAME_MAX];	/* BIRD protocol name */
	char from[RES_NAME_MAX];	/* the Node or BGPPeer it comes from */
	uint32_t ip;
	uint16_t port;			/* the peer's port (179 unless given) */
	uint32_t asn;
	bool passive;			/* wait for the peer to connect */
	bool rr_client;			/* this node reflects routes to it */
	const char *password;		/* borrowed from the input; NULL = none */
	/* BGPPeer options (zero/defaults for nodes) */
	uint16_t keepalive, hold;
	bool bfd, ttl_security;
	uint8_t multihop;
	enum bgp_next_hop next_hop;
	enum bgp_source source;
	enum bgp_import import;
};

/* This node's own BGP identity, as the peer list and the config use it. */
struct bgpconf_local {
	uint32_t address;		/* router id and session source */
	uint32_t asn;
	uint32_t rr_cluster_id;		/* 0 = not a route reflector */
	const struct node *node;	/* its Node (borrowed from input), or NULL */
};

/*
 * Who this node peers with. Node-derived sessions: with the mesh on, every
 * other Node with a BGP address; with it off, a route reflector (a Node with
 * a cluster ID) peers with every other Node and the others only with the
 * reflectors. A reflector treats Nodes without a cluster ID in its own AS as
 * its clients. Of each such pair, the node with the lower address is the
 * passive side (no connection race). BGPPeers: those without node and
 * nodeSelector, those naming this node, those whose selector matches its
 * labels (node_selector_match).
 *
 * *out: sorted by kind, then address; free with free(). Returns 0, or
 * -EINVAL with every problem in e (this node unknown or without an address,
 * a peer at this node's address, two peers at one address, BFD on a
 * multihop session without a source address); *out is then NULL. -ENOMEM.
 */
int bgpconf_peers(const struct bgpconf_input *in, struct bgpconf_local *local,
		  struct bgpconf_peer **out, size_t *n, struct errs *e);

/* ---------------------------------------------------------------- config */

/*
 * The BIRD 2 configuration text (layout: docs/bgp.md). *out is malloc'd, the
 * caller frees it. 0, -EINVAL (the errors of bgpconf_peers, in e) or -ENOMEM.
 * The same input always gives the same bytes.
 */
int bgpconf_render(const struct bgpconf_input *in, char **out, struct errs *e);

/* The file mode the config needs: 0600 when it holds a password, else 0644. */
mode_t bgpconf_mode(const struct bgpconf_input *in);

/*
 * Puts text at path, atomically: unchanged bytes → nothing written (returns
 * 0; only the mode is corrected if it differs). Otherwise a temporary file in
 * the same directory (created 0600, then given `mode`), fsync'd, checked by
 * `BIRD -p -c TMP` (posix_spawn, empty environment, at most 10 s), renamed
 * over path and the directory fsync'd: returns 1. BIRD refusing it: the
 * temporary file is removed, path untouched, -EINVAL with BIRD's message in
 * e. bird: the binary (NULL: /usr/sbin/bird; "" skips the check, for tests
 * without BIRD). -errno otherwise.
 */
int bgpconf_write(const char *path, const char *text, mode_t mode,
		  const char *bird, struct errs *e);

/*
 * Render, write, reload: what felix calls on a change. Reloads BIRD (over
 * in->bird_socket) when the file changed or *pending was set; *pending is set
 * when BIRD could not be reached (not running yet: it reads the file when it
 * starts; felix retries on its next pass), cleared after BIRD took the
 * config. Returns 0 (nothing to do), 1 (written and/or reloaded), or an error:
 * -EINVAL (invalid input or config refused: messages in e), -ECONNREFUSED or
 * -ENOENT (BIRD not running; *pending set), -errno.
 */
int bgpconf_apply(const struct bgpconf_input *in, const char *path,
		  const char *bird, bool *pending, struct errs *e);

/* ---------------------------------------------------------------- birdctl */

/*
 * BIRD's control socket speaks lines: "CODE-text" (a line of a reply that
 * continues), " text" (continues the previous line's code), "CODE text" (the
 * last line of a reply), "+text" (a spontaneous message, skipped). Codes:
 * 0xxx done, 1xxx table entry, 2xxx table heading, 8xxx run-time error,
 * 9xxx syntax error. Bounds: a line at most BIRDCTL_LINE_MAX bytes, a reply
 * at most BIRDCTL_LINES_MAX lines and BIRDCTL_REPLY_MAX bytes.
 */
#define BIRDCTL_LINE_MAX 4096	/* BIRD writes at most 512 */
#define BIRDCTL_LINES_MAX 100000
#define BIRDCTL_REPLY_MAX (16u << 20)
#define BIRDCTL_TIMEOUT_MS 10000

struct birdctl_line {
	int code;		/* 0..9999 */
	char *text;		/* owned, without the prefix and the newline */
};

struct birdctl_reply {
	int code;		/* the final line's code */
	size_t n;		/* lines, the final one included */
	struct birdctl_line *lines;	/* owned */
};

/*
 * Parses one reply at the start of buf (pure: no I/O, the fuzzed part).
 * Returns the number of bytes it took (> 0, *out filled: free it with
 * birdctl_reply_clear), 0 when buf holds no whole reply yet (*out untouched),
 * -EBADMSG when buf is not BIRD's protocol, -E2BIG when a bound is passed,
 * -ENOMEM.
 */
long birdctl_reply_parse(const char *buf, size_t len, struct birdctl_reply *out);
void birdctl_reply_clear(struct birdctl_reply *r);
/* The reply's text as one string (lines joined by "; "), for messages. */
char *birdctl_reply_text(const struct birdctl_reply *r);

struct birdctl;		/* one connection */

/* Connects and reads the greeting ("0001 BIRD 2.0.12 ready."). timeout_ms
 * bounds each exchange (0: BIRDCTL_TIMEOUT_MS). 0, -ENOENT/-ECONNREFUSED
 * (BIRD not running), -ETIMEDOUT, -EBADMSG, -errno. */
int birdctl_open(const char *sock, int timeout_ms, struct birdctl **out);
/* The greeting's text ("BIRD 2.0.12 ready."); borrowed. */
const char *birdctl_greeting(const struct birdctl *c);
/* Sends one command line (no newline in it) and reads its whole reply.
 * 0 whatever the reply's code (look at out->code), -EINVAL (bad command),
 * -ETIMEDOUT, -EPIPE/-ECONNRESET (BIRD went away), -EBADMSG, -E2BIG, -errno. */
int birdctl_cmd(struct birdctl *c, const char *cmd, struct birdctl_reply *out);
void birdctl_close(struct birdctl *c);

/*
 * `configure "PATH"`: BIRD reads PATH and applies it (sessions whose options
 * did not change stay up). 0 when BIRD took it (codes 0003 reconfigured,
 * 0004 in progress, 0005 queued, ...); -EINVAL when PATH holds a '"' or a
 * newline; -EREMOTEIO with BIRD's message in e when it refused (8002 with
 * "file:line:col message"); the errors of birdctl_open/_cmd.
 */
int birdctl_configure(const char *sock, const char *path, struct errs *e);

/* One line of `show protocols`. */
struct birdctl_proto {
	char name[64];		/* "Mesh_192_0_2_12" */
	char proto[16];		/* "BGP", "Device", "Kernel", "Static", ... */
	char table[64];		/* "master4", "---" */
	char state[16];		/* "up", "down", "start", "flush" */
	char since[32];		/* as BIRD prints it ("2024-05-01 10:20:30") */
	char info[128];		/* "Established", "Active  Socket: ..." */
};
/* Parses a `show protocols` reply (pure). *out: free(); 0, -EBADMSG, -ENOMEM. */
int birdctl_protocols_parse(const struct birdctl_reply *r,
			    struct birdctl_proto **out, size_t *n);
/* Asks BIRD and parses. -EREMOTEIO (BIRD's error in e) and birdctl_cmd's. */
int birdctl_protocols(const char *sock, struct birdctl_proto **out, size_t *n,
		      struct errs *e);

/* One route of `show route` (table master4). */
#define BIRDCTL_NEXTHOPS_MAX 16
struct birdctl_route {
	struct ip4_net net;
	char type[16];		/* "unicast", "blackhole", "unreachable", ... */
	char proto[64];		/* the protocol it came from */
	bool primary;		/* the route BIRD chose for the prefix ("*") */
	size_t n_via;
	uint32_t via[BIRDCTL_NEXTHOPS_MAX];	/* gateways (0 for "dev X") */
	char dev[BIRDCTL_NEXTHOPS_MAX][16];
};
/* Parses a `show route` reply (pure; IPv4 only, other lines skipped).
 * *out: free(); 0, -EBADMSG, -ENOMEM. */
int birdctl_routes_parse(const struct birdctl_reply *r,
			 struct birdctl_route **out, size_t *n);
int birdctl_routes(const char *sock, struct birdctl_route **out, size_t *n,
		   struct errs *e);

#endif
