/*
 * link: see link.h.
 *
 * Latency matters here (endpoint set-up is benchmarked), so a routed
 * endpoint costs three sends: [create veth, lo up, get eth0] on the
 * workload's socket, [host end up] on the host's, [address, link route,
 * default route, gateway neighbour] on the workload's. The kernel handles
 * the requests of one send in order and acknowledges each (NLM_F_ACK), so
 * the n-th ack answers the n-th request; the first error stops us and names
 * its request. The peer is created straight into the host's namespace
 * (IFLA_NET_NS_FD): nothing is moved afterwards. It cannot be created up
 * (a veth end opens only once paired: -ENOTCONN), hence the host's send.
 * Flags are set with ifi_change = IFF_UP so no other flag is touched.
 *
 * lo is ifindex 1 in every network namespace (LOOPBACK_IFINDEX).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include "common/link.h"
#include "common/nlerr.h"

#define LINK_BATCH_MAX 4

struct link_nl {
	struct nl_sock *sk;
	struct link_err *le;
	struct link_wl *wl;	/* getlink replies land here; may be NULL */
	const char *want;	/* or, for link_get, here: the name asked for */
	struct link_info *info;
};

static void link_err_set(struct link_err *le, int err, const char *what)
{
	le->err = err;
	snprintf(le->what, sizeof(le->what), "%s", what);
}

/* Keeps the errno and the kernel's extended-ack text of an error reply. */
static int link_on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct link_nl *c = arg;
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	const char *end = (const char *)h + h->nlmsg_len;
	const char *tlv;
	struct nlattr *a;

	c->le->err = nl_error(e->error) < 0 ? nl_error(e->error) : -EIO;
	c->le->ext[0] = '\0';
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (h->nlmsg_flags & NLM_F_CAPPED)
		tlv = (const char *)e + sizeof(*e);
	else
		tlv = (const char *)&e->msg + NLMSG_ALIGN(e->msg.nlmsg_len);
	if (tlv >= end)
		return NL_STOP;
	a = nla_find((const struct nlattr *)tlv, (int)(end - tlv), NLMSGERR_ATTR_MSG);
	if (a && nla_len(a) > 0)
		snprintf(c->le->ext, sizeof(c->le->ext), "%.*s",
			 (int)strnlen(nla_data(a), (size_t)nla_len(a)),
			 (const char *)nla_data(a));
	return NL_STOP;
}

/* The reply to RTM_GETLINK: the index, peer and MAC of the link asked for
 * (the workload end of link_wl_setup, or link_get's). */
static int link_on_valid(struct nl_msg *msg, void *arg)
{
	struct link_nl *c = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;
	struct link_info *o = c->info;

	if (h->nlmsg_type != RTM_NEWLINK || (!c->wl && !o))
		return NL_OK;
	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_OK;
	ifi = nlmsg_data(h);
	if (!tb[IFLA_IFNAME] ||
	    strcmp(nla_get_string(tb[IFLA_IFNAME]), c->wl ? c->wl->ifname : c->want))
		return NL_OK;
	if (c->wl) {
		c->wl->ifindex = ifi->ifi_index;
		if (tb[IFLA_LINK])
			c->wl->peer_ifindex = (int)nla_get_u32(tb[IFLA_LINK]);
		if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6)
			memcpy(c->wl->mac, nla_data(tb[IFLA_ADDRESS]), 6);
		return NL_OK;
	}
	o->ifindex = ifi->ifi_index;
	if (tb[IFLA_LINK])
		o->peer_ifindex = (int)nla_get_u32(tb[IFLA_LINK]);
	if (tb[IFLA_ADDRESS] && nla_len(tb[IFLA_ADDRESS]) == 6)
		memcpy(o->mac, nla_data(tb[IFLA_ADDRESS]), 6);
	return NL_OK;
}

int link_nl_open(struct link_nl **out, struct link_err *le)
{
	struct link_nl *c;
	int one = 1, r, fd;

	*out = NULL;
	memset(le, 0, sizeof(*le));
	c = calloc(1, sizeof(*c));
	if (!c || !(c->sk = nl_socket_alloc())) {
		free(c);
		link_err_set(le, -ENOMEM, "netlink socket");
		return -ENOMEM;
	}
	r = nl_connect(c->sk, NETLINK_ROUTE);	/* SOCK_CLOEXEC */
	if (r < 0) {
		link_err_set(le, -EIO, "netlink socket");
		snprintf(le->ext, sizeof(le->ext), "%s", nl_geterror(r));
		nl_socket_free(c->sk);
		free(c);
		return -EIO;
	}
	fd = nl_socket_get_fd(c->sk);
	/* Best effort: older kernels lack them; the errno is enough then. */
	setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, link_on_error, c);
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, link_on_valid, c);
	*out = c;
	return 0;
}

void link_nl_free(struct link_nl *c)
{
	if (!c)
		return;
	nl_socket_free(c->sk);	/* closes the fd */
	free(c);
}

/* Sends msgs in one datagram, then takes their acks in order. Frees msgs. */
static int link_batch(struct link_nl *c, struct nl_msg **msgs,
		      const char *const *what, size_t n)
{
	size_t total = 0, off = 0, i;
	char *buf = NULL;
	int r = 0;

	memset(c->le, 0, sizeof(*c->le));
	for (i = 0; i < n; i++) {
		if (!msgs[i]) {
			link_err_set(c->le, -ENOMEM, what[i]);
			r = -ENOMEM;
			goto out;
		}
		nl_complete_msg(c->sk, msgs[i]);
		total += NLMSG_ALIGN(nlmsg_hdr(msgs[i])->nlmsg_len);
	}
	buf = calloc(1, total);
	if (!buf) {
		link_err_set(c->le, -ENOMEM, what[0]);
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct nlmsghdr *h = nlmsg_hdr(msgs[i]);

		memcpy(buf + off, h, h->nlmsg_len);
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	r = nl_sendto(c->sk, buf, total);
	if (r < 0) {
		link_err_set(c->le, -EIO, what[0]);
		snprintf(c->le->ext, sizeof(c->le->ext), "%s", nl_geterror(r));
		r = -EIO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		c->le->err = 0;
		c->le->ext[0] = '\0';
		r = nl_wait_for_ack(c->sk);
		if (r < 0) {
			int err = c->le->err;

			if (!err) {	/* not a kernel error: a receive failure */
				snprintf(c->le->ext, sizeof(c->le->ext), "%s",
					 nl_geterror(r));
				err = -EIO;
			}
			link_err_set(c->le, err, what[i]);
			r = err;
			goto out;
		}
	}
	r = 0;
out:
	free(buf);
	for (i = 0; i < n; i++)
		nlmsg_free(msgs[i]);
	return r;
}

/* By index, or by name when ifname is not NULL. */
static struct nl_msg *link_msg_setlink_up(int ifindex, const char *ifname)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_index = ifindex,
		.ifi_flags = IFF_UP,
		.ifi_change = IFF_UP,
	};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, 0);

	if (m && (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
		  (ifname && nla_put_string(m, IFLA_IFNAME, ifname) < 0))) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

static struct nl_msg *link_msg_veth(const struct link_wl *w)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC,
		.ifi_flags = IFF_UP,
		.ifi_change = IFF_UP,
	};
	struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *info, *data, *peer;

	if (!m)
		return NULL;
	if (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, w->ifname) < 0 ||
	    !(info = nla_nest_start(m, IFLA_LINKINFO)) ||
	    nla_put_string(m, IFLA_INFO_KIND, "veth") < 0 ||
	    !(data = nla_nest_start(m, IFLA_INFO_DATA)) ||
	    !(peer = nla_nest_start(m, VETH_INFO_PEER)) ||
	    nlmsg_append(m, &pifi, sizeof(pifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, IFLA_IFNAME, w->peer_ifname) < 0 ||
	    nla_put(m, IFLA_ADDRESS, 6, w->peer_mac) < 0 ||
	    nla_put_u32(m, IFLA_NET_NS_FD, (uint32_t)w->peer_ns_fd) < 0)
		goto fail;
	nla_nest_end(m, peer);
	nla_nest_end(m, data);
	nla_nest_end(m, info);
	return m;
fail:
	nlmsg_free(m);
	return NULL;
}

static struct nl_msg *link_msg_getlink(const char *ifname)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_msg *m = nlmsg_alloc_simple(RTM_GETLINK, 0);

	if (m && (nlmsg_append(m, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
		  nla_put_string(m, IFLA_IFNAME, ifname) < 0 ||
		  nla_put_u32(m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

static struct nl_msg *link_msg_addr_op(int type, int flags, int ifindex, uint32_t addr)
{
	struct ifaddrmsg ifa = {
		.ifa_family = AF_INET,
		.ifa_prefixlen = 32,
		.ifa_scope = RT_SCOPE_UNIVERSE,
		.ifa_index = (uint32_t)ifindex,
	};
	uint32_t a = htonl(addr);
	struct nl_msg *m = nlmsg_alloc_simple(type, flags);

	if (m && (nlmsg_append(m, &ifa, sizeof(ifa), NLMSG_ALIGNTO) < 0 ||
		  nla_put_u32(m, IFA_LOCAL, a) < 0 ||
		  nla_put_u32(m, IFA_ADDRESS, a) < 0)) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

static struct nl_msg *link_msg_addr(int ifindex, uint32_t addr)
{
	return link_msg_addr_op(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr);
}

/* A permanent neighbour entry: the gateway is always the host end's fixed
 * MAC, so the workload never has to ARP for it (and does not depend on proxy
 * ARP, which answers only when the host has a route to the gateway address). */
static struct nl_msg *link_msg_neigh(int ifindex, uint32_t addr, const uint8_t *mac)
{
	struct ndmsg nd = {
		.ndm_family = AF_INET,
		.ndm_ifindex = ifindex,
		.ndm_state = NUD_PERMANENT,
		.ndm_type = RTN_UNICAST,
	};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);

	if (m && (nlmsg_append(m, &nd, sizeof(nd), NLMSG_ALIGNTO) < 0 ||
		  nla_put_u32(m, NDA_DST, htonl(addr)) < 0 ||
		  nla_put(m, NDA_LLADDR, 6, mac) < 0)) {
		nlmsg_free(m);
		m = NULL;
	}
	return m;
}

/* dst/len via gateway (0: none, a link-scope route) out of ifindex. */
static struct nl_msg *link_msg_route(int ifindex, uint32_t dst, int len,
				     uint32_t gw)
{
	struct rtmsg rtm = {
		.rtm_family = AF_INET,
		.rtm_dst_len = (unsigned char)len,
		.rtm_table = RT_TABLE_MAIN,
		.rtm_protocol = RTPROT_BOOT,
		.rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
		.rtm_type = RTN_UNICAST,
	};
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);

	if (!m)
		return NULL;
	if (nlmsg_append(m, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0 ||
	    (len > 0 && nla_put_u32(m, RTA_DST, htonl(dst)) < 0) ||
	    (gw && nla_put_u32(m, RTA_GATEWAY, htonl(gw)) < 0) ||
	    nla_put_u32(m, RTA_OIF, (uint32_t)ifindex) < 0) {
		nlmsg_free(m);
		return NULL;
	}
	return m;
}

int link_wl_setup(struct link_wl *w, struct link_nl *host, struct link_err *le)
{
	struct link_nl *c = NULL;
	struct nl_msg *msgs[LINK_BATCH_MAX];
	char what[4][128], ab[16], gb[16];
	const char *whatp[4] = { what[0], what[1], what[2], what[3] };
	uint32_t a;
	int r;

	w->ifindex = 0;
	w->peer_ifindex = 0;
	r = link_nl_open(&c, le);
	if (r < 0)
		return r;
	c->le = le;
	c->wl = w;
	snprintf(what[0], sizeof(what[0]), "create veth %s (host end %s)",
		 w->ifname, w->peer_ifname);
	snprintf(what[1], sizeof(what[1]), "set lo up");
	snprintf(what[2], sizeof(what[2]), "get link %s", w->ifname);
	msgs[0] = link_msg_veth(w);
	msgs[1] = link_msg_setlink_up(1, NULL);
	msgs[2] = link_msg_getlink(w->ifname);
	r = link_batch(c, msgs, whatp, 3);
	if (r < 0) {
		le->create = !strcmp(le->what, what[0]);
		goto out;
	}
	if (w->ifindex <= 0) {
		link_err_set(le, -ENODEV, what[2]);
		r = -ENODEV;
		goto out;
	}
	/* The host end, over the host's socket (see the top of the file). */
	r = link_set_up(host, w->peer_ifname, le);
	if (r < 0)
		goto out;
	a = htonl(w->addr);
	inet_ntop(AF_INET, &a, ab, sizeof(ab));
	a = htonl(w->gateway);
	inet_ntop(AF_INET, &a, gb, sizeof(gb));
	snprintf(what[0], sizeof(what[0]), "add address %s/32 dev %s", ab, w->ifname);
	snprintf(what[1], sizeof(what[1]), "add route %s dev %s scope link", gb, w->ifname);
	snprintf(what[2], sizeof(what[2]), "add route default via %s dev %s", gb, w->ifname);
	snprintf(what[3], sizeof(what[3]), "add neighbour %s dev %s (permanent)", gb,
		 w->ifname);
	msgs[0] = link_msg_addr(w->ifindex, w->addr);
	msgs[1] = link_msg_route(w->ifindex, w->gateway, 32, 0);
	msgs[2] = link_msg_route(w->ifindex, 0, 0, w->gateway);
	msgs[3] = link_msg_neigh(w->ifindex, w->gateway, w->peer_mac);
	r = link_batch(c, msgs, whatp, 4);
out:
	link_nl_free(c);
	return r;
}

int link_set_up(struct link_nl *c, const char *ifname, struct link_err *le)
{
	struct nl_msg *msgs[1];
	char what[64];
	const char *whatp[1] = { what };

	c->le = le;
	c->wl = NULL;
	c->info = NULL;
	snprintf(what, sizeof(what), "set %s up", ifname ? ifname : "lo");
	msgs[0] = link_msg_setlink_up(ifname ? 0 : 1, ifname);
	return link_batch(c, msgs, whatp, 1);
}

/* RTM_DELLINK of the link with index ifindex (> 0), else of ifname. */
static int link_del_one(struct link_nl *c, int ifindex, const char *ifname,
			struct link_err *le)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msgs[1];
	char what[64];
	const char *whatp[1] = { what };

	c->le = le;
	c->wl = NULL;
	c->info = NULL;
	if (ifindex > 0)
		snprintf(what, sizeof(what), "delete link #%d", ifindex);
	else
		snprintf(what, sizeof(what), "delete link %s", ifname);
	msgs[0] = nlmsg_alloc_simple(RTM_DELLINK, 0);
	if (msgs[0] && (nlmsg_append(msgs[0], &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
			(ifindex <= 0 &&
			 nla_put_string(msgs[0], IFLA_IFNAME, ifname) < 0))) {
		nlmsg_free(msgs[0]);
		msgs[0] = NULL;
	}
	return link_batch(c, msgs, whatp, 1);
}

int link_del(struct link_nl *c, const char *ifname, struct link_err *le)
{
	return link_del_one(c, 0, ifname, le);
}

int link_del_index(struct link_nl *c, int ifindex, struct link_err *le)
{
	return ifindex > 0 ? link_del_one(c, ifindex, NULL, le) : -EINVAL;
}

int link_rename_index(struct link_nl *c, int ifindex, const char *name,
		      struct link_err *le)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msgs[1];
	char what[64];
	const char *whatp[1] = { what };

	if (ifindex <= 0)
		return -EINVAL;
	c->le = le;
	c->wl = NULL;
	c->info = NULL;
	snprintf(what, sizeof(what), "rename link #%d to %s", ifindex, name);
	msgs[0] = nlmsg_alloc_simple(RTM_NEWLINK, 0);
	if (msgs[0] && (nlmsg_append(msgs[0], &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
			nla_put_string(msgs[0], IFLA_IFNAME, name) < 0)) {
		nlmsg_free(msgs[0]);
		msgs[0] = NULL;
	}
	return link_batch(c, msgs, whatp, 1);
}

int link_get(struct link_nl *c, const char *ifname, struct link_info *out,
	     struct link_err *le)
{
	struct nl_msg *msgs[1];
	char what[64];
	const char *whatp[1] = { what };
	int r;

	memset(out, 0, sizeof(*out));
	c->le = le;
	c->wl = NULL;
	c->want = ifname;
	c->info = out;
	snprintf(what, sizeof(what), "get link %s", ifname);
	msgs[0] = link_msg_getlink(ifname);
	r = link_batch(c, msgs, whatp, 1);
	c->info = NULL;
	if (r == 0 && out->ifindex <= 0)
		r = -ENODEV;
	return r;
}

int link_wl_readdress(int ifindex, uint32_t from, uint32_t to, struct link_err *le)
{
	struct link_nl *c = NULL;
	struct nl_msg *msgs[2];
	char what[2][64], ab[16];
	const char *whatp[2] = { what[0], what[1] };
	uint32_t a;
	int r;

	r = link_nl_open(&c, le);
	if (r < 0)
		return r;
	c->le = le;
	a = htonl(to);
	inet_ntop(AF_INET, &a, ab, sizeof(ab));
	snprintf(what[0], sizeof(what[0]), "add address %s/32 dev #%d", ab, ifindex);
	a = htonl(from);
	inet_ntop(AF_INET, &a, ab, sizeof(ab));
	snprintf(what[1], sizeof(what[1]), "delete address %s/32 dev #%d", ab, ifindex);
	msgs[0] = link_msg_addr(ifindex, to);
	msgs[1] = link_msg_addr_op(RTM_DELADDR, 0, ifindex, from);
	r = link_batch(c, msgs, whatp, 2);
	link_nl_free(c);
	return r;
}
