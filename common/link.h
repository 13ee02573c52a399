/*
 * link: the netlink work of an endpoint creator inside a workload's network
 * namespace (libnl-3 messages over one rtnetlink socket, requests batched
 * into one send, each acknowledged so that a failure names its request).
 *
 * A socket works in the namespace it was opened in; link_wl_setup opens its
 * own in the calling thread's current namespace (run it through
 * netns_create()/netns_run()).
 * Nothing here logs; a failure fills struct link_err with the errno, the
 * request that failed and the kernel's own message (extended ack) if any.
 */
#ifndef PETREL_LINK_H
#define PETREL_LINK_H

#include <stdbool.h>
#include <stdint.h>

struct link_err {
	int err;		/* -errno */
	char what[128];		/* the request that failed, "create veth eth0/ptl..." */
	char ext[256];		/* the kernel's message (extended ack), or "" */
	bool create;		/* the failed request was the veth's creation */
};

/* What RTM_GETLINK says of one interface. */
struct link_info {
	int ifindex;
	int peer_ifindex;	/* IFLA_LINK: a veth's peer (in its own namespace); 0 none */
	uint8_t mac[6];
};

/* The workload end of a routed endpoint. */
struct link_wl {
	const char *ifname;		/* workload end, e.g. "eth0" (borrowed) */
	const char *peer_ifname;	/* host end (borrowed) */
	uint8_t peer_mac[6];		/* host end's MAC */
	int peer_ns_fd;			/* the host's namespace (borrowed fd) */
	uint32_t addr;			/* host order; configured as addr/32 */
	uint32_t gateway;		/* host order; e.g. 169.254.1.1 */
	/* filled on success */
	int ifindex;
	int peer_ifindex;		/* the host end's index (in the host's namespace) */
	uint8_t mac[6];			/* the workload end's MAC, as the kernel set it */
};

/* An rtnetlink socket; it stays bound to the namespace it was opened in. */
struct link_nl;

int link_nl_open(struct link_nl **out, struct link_err *le);
void link_nl_free(struct link_nl *nl);		/* NULL ok */

/* Sets ifname (NULL: lo) up, through nl (so in nl's namespace). */
int link_set_up(struct link_nl *nl, const char *ifname, struct link_err *le);

/* Deletes ifname (a veth: both ends) through nl. -ENODEV when there is none. */
int link_del(struct link_nl *nl, const char *ifname, struct link_err *le);
/* The same by index: what a caller proved its own stays its own even when
 * the name has been taken again meanwhile. */
int link_del_index(struct link_nl *nl, int ifindex, struct link_err *le);

/* Renames the link with index ifindex to name, through nl. Up or not (a
 * kernel before 6.2 refuses an up one: -EBUSY). */
int link_rename_index(struct link_nl *nl, int ifindex, const char *name,
		      struct link_err *le);

/* What nl's namespace has under ifname: 0 and *out, -ENODEV, or -errno. */
int link_get(struct link_nl *nl, const char *ifname, struct link_info *out,
	     struct link_err *le);

/* In the workload's namespace (the current one): lo up; a veth pair ifname
 * <-> peer_ifname with the peer created directly in peer_ns_fd with
 * peer_mac; both ends up (the peer through host, a socket opened in
 * peer_ns_fd's namespace); addr/32 on ifname; "gateway dev ifname scope
 * link", "default via gateway" and a permanent neighbour entry gateway →
 * peer_mac (no ARP for the gateway, no need for proxy ARP to answer it).
 * 0 or -errno (le filled; le->create when the veth's creation failed,
 * e.g. -EEXIST: a name is taken, and nothing was made). */
int link_wl_setup(struct link_wl *w, struct link_nl *host, struct link_err *le);

/* In the current namespace: to/32 on ifindex, then from/32 off it (an
 * endpoint whose address was taken before it was recorded gets another).
 * 0 or -errno (le filled). */
int link_wl_readdress(int ifindex, uint32_t from, uint32_t to, struct link_err *le);

#endif
