/*
 * A felix for unit tests of its parts (tests/unit/test_felix_*.c): no
 * sockets, no epoll, no datastore; the kernel's write side is a fake that
 * records each write (fake_ops) and never touches the machine (its /proc
 * reads say "1", its writes only count). The actual state is fed the way
 * the kernel feeds it: netlink messages through kern_msg().
 */
#ifndef PETREL_TESTS_FELIX_FAKE_H
#define PETREL_TESTS_FELIX_FAKE_H

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "felix/felix.h"

#define FAKE_OPS_MAX 256

static struct kop fake_ops[FAKE_OPS_MAX];
static size_t fake_n_ops;
static size_t fake_proc_writes;
static char fake_proc_last[128];	/* the last path written */

static __attribute__((unused)) int fake_write(struct felix *f, const struct kop *op)
{
	(void)f;
	if (fake_n_ops < FAKE_OPS_MAX)
		fake_ops[fake_n_ops++] = *op;
	return 0;
}

static __attribute__((unused)) void fake_flush(struct felix *f)
{
	(void)f;	/* nothing sent: each write stays unacknowledged */
}

static __attribute__((unused)) int fake_proc_read(const char *path, int *v)
{
	(void)path;
	*v = 1;
	return 0;
}

static __attribute__((unused)) int fake_proc_write(const char *path, int v)
{
	(void)v;
	snprintf(fake_proc_last, sizeof(fake_proc_last), "%s", path);
	fake_proc_writes++;
	return 0;
}

/* The dumps: their results, in turn (0 when none is set), and counts. */
static int fake_dump_rc[8];
static size_t fake_dumps_routes, fake_dumps_all;

static __attribute__((unused)) int fake_dump_all(struct felix *f)
{
	(void)f;
	return fake_dump_rc[(fake_dumps_routes + fake_dumps_all++) & 7];
}

static __attribute__((unused)) int fake_dump_routes(struct felix *f)
{
	(void)f;
	return fake_dump_rc[(fake_dumps_all + fake_dumps_routes++) & 7];
}

static const struct kio fake_io = {
	fake_write, fake_flush, fake_proc_read, fake_proc_write,
	fake_dump_all, fake_dump_routes,
};

static struct petrel_config fake_cfg;

static __attribute__((unused)) struct felix *fake_felix(const char *node)
{
	struct felix *f = calloc(1, sizeof(*f));

	if (!f)
		abort();
	config_defaults(&fake_cfg);
	snprintf(fake_cfg.node, sizeof(fake_cfg.node), "%s", node);
	f->cfg = &fake_cfg;
	f->kio = &fake_io;
	f->epfd = -1;
	f->listen_fd = -1;
	f->ip_forward = 1;
	f->last_resync_ms = -1;
	dlist_init(&f->queue);
	dlist_init(&f->tombs);
	dlist_init(&f->clients);
	fake_n_ops = 0;
	fake_proc_writes = 0;
	memset(fake_dump_rc, 0, sizeof(fake_dump_rc));
	fake_dumps_routes = fake_dumps_all = 0;
	if (store_part.open(f) < 0)
		abort();
	return f;
}

static __attribute__((unused)) void fake_felix_free(struct felix *f)
{
	store_part.close(f);
	dlist_init(&f->queue);
	kern_free_all(f);
	kern_close(f);
	free(f);
}

/* One store event, through feed.c as the watch delivers it. */
static __attribute__((unused)) void fake_event(struct felix *f, bool put, const char *key,
		       const char *value, int64_t rev)
{
	struct ds_event ev = { put ? DS_EV_PUT : DS_EV_DELETE, (char *)key,
			       (char *)value, rev };

	feed_event(f, &ev);
	if (rev > f->applied_rev)
		f->applied_rev = rev;
}

static bool fake_no_mac;	/* fake_wep: without a MAC */

/* A routed WorkloadEndpoint's document. */
static __attribute__((unused)) char *fake_wep(char *buf, size_t len, const char *node, const char *name,
		      const char *ifname, const char *addr)
{
	snprintf(buf, len,
		 "{\"apiVersion\":\"petrel/v1\",\"kind\":\"WorkloadEndpoint\","
		 "\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{\"node\":\"%s\",\"mode\":\"routed\",\"netns\":\"/run/netns/%s\","
		 "\"interfaceName\":\"%s\",\"workloadInterfaceName\":\"eth0\","
		 "\"ipNetworks\":[\"%s\"]%s}}",
		 name, node, name, ifname, addr,
		 fake_no_mac ? "" : ",\"mac\":\"ee:ee:ee:ee:ee:01\"");
	return buf;
}

/* ---------- the kernel's messages ---------- */

static char fake_nlbuf[8192];

static __attribute__((unused)) void fake_link(struct felix *f, int ifindex, const char *name, bool up)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(fake_nlbuf);
	struct ifinfomsg *ifi;

	h->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(h, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = up ? IFF_UP | IFF_LOWER_UP : 0;
	mnl_attr_put_strz(h, IFLA_IFNAME, name);
	kern_msg(f, h);
}

/* A route of table main; protocol: felix's (fake_cfg.route_protocol) or
 * another; oif 0: a blackhole. */
static __attribute__((unused)) void fake_route(struct felix *f, bool add, uint32_t dst, uint8_t len,
		       int oif, int protocol)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(fake_nlbuf);
	struct rtmsg *rtm;

	h->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	rtm = mnl_nlmsg_put_extra_header(h, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = (unsigned char)protocol;
	rtm->rtm_scope = oif ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	rtm->rtm_type = oif ? RTN_UNICAST : RTN_BLACKHOLE;
	mnl_attr_put_u32(h, RTA_TABLE, RT_TABLE_MAIN);
	mnl_attr_put_u32(h, RTA_DST, htonl(dst));
	if (oif)
		mnl_attr_put_u32(h, RTA_OIF, (uint32_t)oif);
	kern_msg(f, h);
}

static __attribute__((unused)) size_t fake_count(uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < fake_n_ops; i++)
		n += fake_ops[i].type == type;
	return n;
}

static __attribute__((unused)) const struct kop *fake_find(uint8_t type, uint32_t dst)
{
	for (size_t i = 0; i < fake_n_ops; i++)
		if (fake_ops[i].type == type && fake_ops[i].dst == dst)
			return &fake_ops[i];
	return NULL;
}

#endif
