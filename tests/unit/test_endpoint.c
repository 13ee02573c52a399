/*
 * test_endpoint: endpoint/ without a kernel. The host-port reservation
 * protocol through endpoint_create/endpoint_remove of host-mode workloads
 * (no namespace, no address: only the record's transaction) in a sqlite
 * store of the case's own: one key per (protocol, host port), a held one
 * refused naming its owner and nothing written, a stale one (owner gone)
 * reclaimed inside the creating transaction, picked ports, removal taking
 * only what the workload holds. IPAM's prepared assignment and release
 * committed in the caller's own transaction (one revision with a record),
 * a conflict between prepare and commit, an idempotent retry. Host end
 * names per container. felix's
 * wait against a fake status socket whose server goes away mid-request
 * and comes back (asked again until the deadline), or never comes back.
 */
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/ifname.h"
#include "common/ip4.h"
#include "datastore/datastore.h"
#include "endpoint/endpoint.h"
#include "ipam/ipam.h"

struct fx {
	char dir[64];
	struct ds *ds;
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char url[128];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/pt-ep-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(url, sizeof(url), "sqlite:%s/ds.db", f->dir);
	*state = f;
	return ds_open(url, &f->ds) < 0 ? -1 : 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	ds_close(f->ds);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* A host-mode workload publishing ports "HOSTPORT/PROTO:PORT[@IP]",
 * comma-separated ("" none). */
static void wep(struct resource *r, const char *name, const char *ports)
{
	char buf[256], *save = NULL, *tok;

	memset(r, 0, sizeof(*r));
	r->kind = RES_WEP;
	snprintf(r->u.wep.node, sizeof(r->u.wep.node), "node1");
	snprintf(r->u.wep.name, sizeof(r->u.wep.name), "%s", name);
	snprintf(r->u.wep.container_id, sizeof(r->u.wep.container_id), "id-%s", name);
	r->u.wep.mode = WEP_HOST;
	snprintf(buf, sizeof(buf), "%s", ports);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct wep_port *p = &r->u.wep.ports[r->u.wep.n_ports++];
		unsigned hp = 0, cp = 0;
		char proto[4] = "", *at = strchr(tok, '@');

		assert_int_equal(sscanf(tok, "%u/%3[a-z]:%u", &hp, proto, &cp), 3);
		p->host_port = (uint16_t)hp;
		p->port = (uint16_t)cp;
		p->proto = !strcmp(proto, "udp") ? IPPROTO_UDP : IPPROTO_TCP;
		if (at)
			assert_int_equal(ip4_parse(at + 1, &p->host_ip), 0);
	}
}

/* The node of these cases: 192.0.2.1-3 on its uplink, 127.0.0.1/8 on lo,
 * sshd on every address, a resolver on 127.0.0.53:53/udp, a web server on
 * 192.0.2.2:8443, and a TCP client connected from 40003 (not a listener). */
static const char proc_tcp[] =
	"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
	"   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
	"   1: 020200C0:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
	"   2: 010200C0:9C43 020200C0:0050 01 00000000:00000000 00:00000000 00000000     0\n"
	"   3: garbage\n";
static const char proc_udp[] =
	"   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
	"  1: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000\n";
static const char proc_tcp6[] =
	"  sl  local_address                         remote_address                        st\n"
	"   0: 00000000000000000000000000000000:1BA8 00000000000000000000000000000000:0000 0A\n"
	"   1: 0000000000000000FFFF0000030200C0:1BA9 00000000000000000000000000000000:0000 0A\n"
	"   2: 20010DB8000000000000000000000001:1F92 00000000000000000000000000000000:0000 0A\n";

static void fake_node(struct endpoint_node *n)
{
	memset(n, 0, sizeof(*n));
	n->addrs = calloc(4, sizeof(*n->addrs));
	assert_non_null(n->addrs);
	n->addrs[0] = (struct endpoint_addr){ 0xc0000201u, 24, false };
	n->addrs[1] = (struct endpoint_addr){ 0xc0000202u, 24, false };
	n->addrs[2] = (struct endpoint_addr){ 0xc0000203u, 24, false };
	n->addrs[3] = (struct endpoint_addr){ 0x7f000001u, 8, true };
	n->n_addrs = 4;
	assert_int_equal(endpoint_node_parse_proc(n, IPPROTO_TCP, false, proc_tcp), 0);
	assert_int_equal(endpoint_node_parse_proc(n, IPPROTO_UDP, false, proc_udp), 0);
	assert_int_equal(endpoint_node_parse_proc(n, IPPROTO_TCP, true, proc_tcp6), 0);
	n->probed = true;
}

static int create_allow(struct fx *f, struct resource *r, const bool *pick,
			const uint16_t *allow, size_t n_allow, struct endpoint_err *e)
{
	struct endpoint_node node;
	struct endpoint_req q = { .res = r, .pick = pick, .port_lo = 40000,
				  .port_hi = 40009, .no_wait = true, .node = &node,
				  .allow_ports = allow, .n_allow_ports = n_allow };
	int rc;

	fake_node(&node);
	rc = endpoint_create(f->ds, &q, e);
	endpoint_node_clear(&node);
	return rc;
}

static int create(struct fx *f, struct resource *r, const bool *pick,
		  struct endpoint_err *e)
{
	return create_allow(f, r, pick, NULL, 0, e);
}

static int removed(struct fx *f, const struct resource *r)
{
	struct endpoint_rm how = { .own_netns = false };
	struct endpoint_err e;

	return endpoint_remove(f->ds, r, &how, &e);
}

static int64_t rev_of(struct ds *ds, const char *key)
{
	struct ds_kv kv = { 0 };
	int r = ds_get(ds, key, &kv);
	int64_t rev = r == 0 ? kv.mod_rev : r;

	ds_kv_clear(&kv);
	return rev;
}

static bool has_key(struct ds *ds, const char *key)
{
	return rev_of(ds, key) > 0;
}

static void test_hostport_key(void **state)
{
	struct wep_port p = { 0, 8080, 80, IPPROTO_TCP };
	char key[RES_KEY_MAX];

	(void)state;
	assert_int_equal(endpoint_hostport_key("node1", &p, key, sizeof(key)), 0);
	assert_string_equal(key, "/petrel/hostports/node1/tcp-8080");
	p.proto = IPPROTO_UDP;
	assert_int_equal(endpoint_hostport_key("node1", &p, key, sizeof(key)), 0);
	assert_string_equal(key, "/petrel/hostports/node1/udp-8080");
	assert_int_equal(endpoint_hostport_key("node1", &p, key, 20), -ENAMETOOLONG);
}

static void test_hostport(void **state)
{
	struct fx *f = *state;
	struct resource a, b, c;
	struct endpoint_err e;
	char owner[RES_NAME_MAX];
	struct wep_port p8080 = { 0, 8080, 80, IPPROTO_TCP };

	/* a publishes tcp/8080 on two addresses (one key) and udp/8080 */
	wep(&a, "a", "8080/tcp:80@192.0.2.1,8080/tcp:81@192.0.2.2,8080/udp:80");
	assert_int_equal(create(f, &a, NULL, &e), 0);
	assert_true(a.revision > 0);
	assert_true(has_key(f->ds, "/petrel/workloadendpoints/node1/a"));
	assert_int_equal(rev_of(f->ds, "/petrel/hostports/node1/tcp-8080"), a.revision);
	assert_int_equal(rev_of(f->ds, "/petrel/hostports/node1/udp-8080"), a.revision);
	assert_int_equal(endpoint_hostport_owner(f->ds, "node1", &p8080, owner,
						 sizeof(owner)), 0);
	assert_string_equal(owner, "a");
	assert_int_equal(create(f, &a, NULL, &e), -EEXIST);
	assert_int_equal(e.stage, EP_EXISTS);
	assert_non_null(strstr(e.msg, "workload a already exists on node node1"));

	/* b wants tcp/8080 too (on another address): refused, nothing written */
	wep(&b, "b", "9090/tcp:90,8080/tcp:80@192.0.2.3");
	assert_int_equal(create(f, &b, NULL, &e), -EADDRINUSE);
	assert_int_equal(e.stage, EP_PORT);
	assert_string_equal(e.owner, "a");
	assert_int_equal(e.port.host_port, 8080);
	assert_int_equal(e.port.proto, IPPROTO_TCP);
	assert_string_equal(e.msg, "port tcp/8080 is already published by workload a");
	assert_false(has_key(f->ds, "/petrel/workloadendpoints/node1/b"));
	assert_false(has_key(f->ds, "/petrel/hostports/node1/tcp-9090"));

	/* c without ports: no reservation needed */
	wep(&c, "c", "");
	assert_int_equal(create(f, &c, NULL, &e), 0);
	assert_int_equal(removed(f, &c), 0);
	assert_false(has_key(f->ds, "/petrel/workloadendpoints/node1/c"));

	/* a's record removed behind our back (by a remover that knows nothing
	 * of reservations): its reservations are stale, b gets the port, in
	 * its own transaction (one revision for the record and both keys) */
	assert_int_equal(ds_delete(f->ds, "/petrel/workloadendpoints/node1/a", 0), 0);
	wep(&b, "b", "9090/tcp:90,8080/tcp:80@192.0.2.3");
	assert_int_equal(create(f, &b, NULL, &e), 0);
	assert_int_equal(rev_of(f->ds, "/petrel/hostports/node1/tcp-8080"), b.revision);
	assert_int_equal(rev_of(f->ds, "/petrel/hostports/node1/tcp-9090"), b.revision);
	assert_int_equal(endpoint_hostport_owner(f->ds, "node1", &p8080, owner,
						 sizeof(owner)), 0);
	assert_string_equal(owner, "b");
	/* a's remove is idempotent and leaves b's reservation alone */
	assert_int_equal(removed(f, &a), -ENOENT);
	assert_true(has_key(f->ds, "/petrel/hostports/node1/tcp-8080"));
	/* a stale udp/8080 of a stays until someone wants it */
	assert_true(has_key(f->ds, "/petrel/hostports/node1/udp-8080"));

	/* a reservation whose owner no longer publishes the port is stale too */
	wep(&c, "c", "8080/udp:53");
	assert_int_equal(create(f, &c, NULL, &e), 0);
	assert_int_equal(rev_of(f->ds, "/petrel/hostports/node1/udp-8080"), c.revision);

	/* b's remove takes its record and its two reservations */
	assert_int_equal(removed(f, &b), 0);
	assert_false(has_key(f->ds, "/petrel/workloadendpoints/node1/b"));
	assert_false(has_key(f->ds, "/petrel/hostports/node1/tcp-8080"));
	assert_false(has_key(f->ds, "/petrel/hostports/node1/tcp-9090"));
	assert_int_equal(removed(f, &b), -ENOENT);
	/* c goes, with the reservation it reclaimed */
	assert_int_equal(removed(f, &c), 0);

	/* a reservation that names nobody we can read is never taken over */
	assert_int_equal(ds_create(f->ds, "/petrel/hostports/node1/tcp-7070", "garbage",
				   NULL), 0);
	wep(&c, "c", "7070/tcp:70");
	assert_int_equal(create(f, &c, NULL, &e), -EADDRINUSE);
	assert_string_equal(e.owner, "");
	assert_string_equal(e.msg, "port tcp/7070 is already published by another workload");
	res_clear(&a);
	res_clear(&b);
	res_clear(&c);
}

/* A record changed after it was read is not removed. */
/* The node's own: what /proc/net says is read right (little and big
 * endian alike: the words are the kernel's memory, in hex). */
static void test_node_parse(void **state)
{
	struct endpoint_node n;

	(void)state;
	fake_node(&n);
	/* tcp 22 any, tcp 8443 on .2, udp 53 on 127.0.0.53, tcp6 7080 [::],
	 * 7081 on ::ffff:192.0.2.3; not the client, not 2001:db8::1 */
	assert_int_equal(n.n_ls, 5);
	assert_int_equal(n.ls[0].port, 22);
	assert_int_equal(n.ls[0].addr, 0);
	assert_int_equal(n.ls[1].port, 8443);
	assert_int_equal(n.ls[1].addr, 0xc0000202u);
	assert_int_equal(n.ls[2].proto, IPPROTO_UDP);
	assert_int_equal(n.ls[2].addr, 0x7f000035u);
	assert_int_equal(n.ls[3].port, 7080);
	assert_int_equal(n.ls[3].addr, 0);
	assert_int_equal(n.ls[4].port, 7081);
	assert_int_equal(n.ls[4].addr, 0xc0000203u);
	assert_true(endpoint_node_has_addr(&n, 0xc0000202u));
	assert_true(endpoint_node_has_addr(&n, 0x7f000001u));
	assert_true(endpoint_node_has_addr(&n, 0x7f0000ffu));	/* lo's /8 */
	assert_false(endpoint_node_has_addr(&n, 0xc0000204u));	/* same /24 */
	assert_false(endpoint_node_has_addr(&n, 0x0a410005u));
	endpoint_node_clear(&n);
	endpoint_node_clear(NULL);
}

/* The process's own namespace reads (no root needed: /proc). */
static void test_node_probe(void **state)
{
	struct endpoint_node n;
	struct endpoint_err e = { 0 };

	(void)state;
	assert_int_equal(endpoint_node_probe(&n, &e), 0);
	assert_true(n.probed);
	assert_true(n.n_addrs >= 1);	/* lo, at least */
	endpoint_node_clear(&n);
}

/* Published ports take only what is the workload's to take: the node's
 * own addresses, no port the node listens on, not the BGP port; refused
 * with the reason, nothing written (no record, no reservation). */
static void test_hostport_node(void **state)
{
	struct fx *f = *state;
	struct endpoint_err e;
	struct resource a;
	static const struct { const char *ports, *msg; int code; } bad[] = {
		{ "8080/tcp:80@10.65.0.5", "hostIP 10.65.0.5 of port tcp/8080 is not an "
		  "address of node node1", -EADDRNOTAVAIL },
		{ "8080/tcp:80@192.0.2.4", "hostIP 192.0.2.4 of port tcp/8080", -EADDRNOTAVAIL },
		{ "179/tcp:179", "port tcp/179 is the BGP port of the node", -EACCES },
		{ "179/udp:179@192.0.2.1", "port udp/179 is the BGP port", -EACCES },
		{ "22/tcp:22", "port tcp/22 is in use on the node (a listener on "
		  "every address:22)", -EADDRINUSE },
		{ "22/tcp:22@192.0.2.2", "port tcp/22 is in use", -EADDRINUSE },
		{ "8443/tcp:443", "a listener on 192.0.2.2:8443", -EADDRINUSE },
		{ "8443/tcp:443@192.0.2.2", "a listener on 192.0.2.2:8443", -EADDRINUSE },
		{ "53/udp:53", "port udp/53 is in use on the node (a listener on "
		  "127.0.0.53:53)", -EADDRINUSE },
		{ "7080/tcp:80", "port tcp/7080 is in use", -EADDRINUSE },	/* [::] */
		{ "7081/tcp:80@192.0.2.3", "a listener on 192.0.2.3:7081", -EADDRINUSE },
		{ "9000/tcp:90,7080/tcp:80@127.0.0.2", "port tcp/7080 is in use", -EADDRINUSE },
	};
	static const char *good[] = {
		"8080/udp:80@192.0.2.1",	/* UDP 8080: nobody */
		"8443/tcp:443@192.0.2.1",	/* 8443 listens on .2 only */
		"53/udp:53@192.0.2.1",		/* the resolver is on 127.0.0.53 */
		"53/tcp:53",			/* the resolver has no TCP */
		"7081/tcp:80@192.0.2.1",	/* ::ffff:192.0.2.3 only */
		"9090/tcp:80@127.0.0.1",	/* the node's own clients */
		"8082/tcp:80",			/* a client's port is no listener */
	};
	static const uint16_t allow[] = { 179, 22 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wep(&a, "a", bad[i].ports);
		assert_int_equal(create(f, &a, NULL, &e), bad[i].code);
		assert_int_equal(e.stage, EP_PORT);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("%s: said \"%s\", want \"%s\"", bad[i].ports, e.msg,
				 bad[i].msg);
		assert_false(has_key(f->ds, "/petrel/workloadendpoints/node1/a"));
		assert_false(has_key(f->ds, "/petrel/hostports/node1/tcp-9000"));
		res_clear(&a);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		wep(&a, "a", good[i]);
		if (create(f, &a, NULL, &e) != 0)
			fail_msg("%s: refused: %s", good[i], e.msg);
		assert_int_equal(removed(f, &a), 0);
		res_clear(&a);
	}
	/* allowHostPorts: the BGP port and a port in use, when asked for */
	wep(&a, "a", "179/tcp:179,22/tcp:2222");
	assert_int_equal(create_allow(f, &a, NULL, allow, 2, &e), 0);
	assert_true(has_key(f->ds, "/petrel/hostports/node1/tcp-179"));
	assert_int_equal(removed(f, &a), 0);
	res_clear(&a);
	/* the host IP is judged even for a port that is picked */
	{
		bool pick[1] = { true };

		wep(&a, "a", "0/tcp:80@10.0.0.1");
		assert_int_equal(create(f, &a, pick, &e), -EADDRNOTAVAIL);
		res_clear(&a);
	}
}

/* A picked port is never one the node listens on: hostPortRange
 * 40000-40009 with 40001-40009 in use leaves 40000 only (40003 is a client
 * connection: free). */
static void test_hostport_pick_node(void **state)
{
	struct fx *f = *state;
	struct endpoint_node node;
	struct endpoint_err e;
	struct resource a;
	bool pick[2] = { true, true };
	char text[4096] = "  sl  local_address rem_address   st\n";
	struct endpoint_req q = { .res = &a, .pick = pick, .port_lo = 40000,
				  .port_hi = 40009, .no_wait = true, .node = &node };

	fake_node(&node);
	for (unsigned p = 40001; p <= 40009; p++)
		if (p != 40003)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
				 "  %u: 00000000:%04X 00000000:0000 0A\n", p, p);
	assert_int_equal(endpoint_node_parse_proc(&node, IPPROTO_TCP, false, text), 0);
	wep(&a, "a", "0/tcp:80,0/tcp:81");
	assert_int_equal(endpoint_create(f->ds, &q, &e), 0);
	assert_true((a.u.wep.ports[0].host_port == 40000 && a.u.wep.ports[1].host_port == 40003) ||
		    (a.u.wep.ports[0].host_port == 40003 && a.u.wep.ports[1].host_port == 40000));
	res_clear(&a);
	wep(&a, "b", "0/tcp:80");
	assert_int_equal(endpoint_create(f->ds, &q, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "that the node does not use"));
	res_clear(&a);
	endpoint_node_clear(&node);
}

static void test_remove_changed(void **state)
{
	struct fx *f = *state;
	struct resource a;
	struct endpoint_err e;
	int64_t rev;

	wep(&a, "a", "8081/tcp:80");
	assert_int_equal(create(f, &a, NULL, &e), 0);
	rev = a.revision;
	a.revision = rev + 100;
	assert_int_equal(endpoint_remove(f->ds, &a, &(struct endpoint_rm){ 0 }, &e),
			 -ECANCELED);
	assert_int_equal(e.stage, EP_STORE);
	assert_true(has_key(f->ds, "/petrel/workloadendpoints/node1/a"));
	assert_true(has_key(f->ds, "/petrel/hostports/node1/tcp-8081"));
	a.revision = rev;
	assert_int_equal(removed(f, &a), 0);
	assert_false(has_key(f->ds, "/petrel/hostports/node1/tcp-8081"));
	res_clear(&a);
}

/* Picked host ports: from hostPortRange, never one held, never twice. */
static void test_hostport_pick(void **state)
{
	struct fx *f = *state;
	struct resource a, b;
	struct endpoint_err e;
	bool pick[WEP_MAX_PORTS] = { true, true, false };

	wep(&a, "a", "0/tcp:80,0/tcp:81,40003/tcp:82");
	assert_int_equal(create(f, &a, pick, &e), 0);
	for (size_t i = 0; i < 2; i++) {
		assert_true(a.u.wep.ports[i].host_port >= 40000);
		assert_true(a.u.wep.ports[i].host_port <= 40009);
		assert_int_not_equal(a.u.wep.ports[i].host_port, 40003);
	}
	assert_int_not_equal(a.u.wep.ports[0].host_port, a.u.wep.ports[1].host_port);
	/* 7 left: b takes them all; an eighth finds none */
	wep(&b, "b", "0/tcp:1,0/tcp:2,0/tcp:3,0/tcp:4,0/tcp:5,0/tcp:6,0/tcp:7,0/tcp:8");
	{
		bool all[WEP_MAX_PORTS];

		for (size_t i = 0; i < WEP_MAX_PORTS; i++)
			all[i] = true;
		assert_int_equal(create(f, &b, all, &e), -ENOSPC);
		assert_int_equal(e.stage, EP_PORT);
		assert_non_null(strstr(e.msg, "no free tcp host port left in hostPortRange "
				       "40000-40009"));
		assert_false(has_key(f->ds, "/petrel/workloadendpoints/node1/b"));
		b.u.wep.n_ports = 7;
		assert_int_equal(create(f, &b, all, &e), 0);
	}
	assert_int_equal(removed(f, &a), 0);
	assert_int_equal(removed(f, &b), 0);
	res_clear(&a);
	res_clear(&b);
}

/* ipam_assign_prepare / ipam_release_prepare: the ops go into our own
 * transaction beside a record, at one revision; a block that changed
 * between prepare and commit fails the commit at an IPAM op that
 * ipam_txn_retry calls a conflict; a handle that holds its address
 * already prepares nothing. */
static void test_ipam_txn(void **state)
{
	struct fx *f = *state;
	struct ippool pool = { .name = "p1", .block_size = 30 };
	struct errs es = ERRS_INIT;
	struct ipam_txn a = { 0 }, b = { 0 }, rel = { 0 };
	struct ds_op ops[8];
	size_t n, failed = SIZE_MAX;
	int64_t rev;
	uint32_t got = 0;

	assert_int_equal(ip4_net_parse("10.70.0.0/24", &pool.cidr, false, false), 0);
	assert_int_equal(ipam_pool_create(f->ds, &pool, &es), 0);
	assert_int_equal(ipam_assign_prepare(f->ds, "node1", "h1.eth0", 0, NULL, &a), 0);
	assert_int_equal(a.addr, 0x0a460000);
	assert_true(a.n >= 2);
	assert_false(a.held);
	/* nothing written yet: a second prepare is offered the same address */
	assert_false(has_key(f->ds, "/petrel/ipamhandles/h1.eth0"));
	assert_int_equal(ipam_assign_prepare(f->ds, "node1", "h2.eth0", 0, NULL, &b), 0);
	assert_int_equal(b.addr, a.addr);
	/* a commits with its record: one revision */
	n = 0;
	ops[n++] = (struct ds_op){ DS_OP_CREATE, "/petrel/workloadendpoints/node1/x1", "{}", 0 };
	for (size_t i = 0; i < a.n; i++)
		ops[n++] = a.ops[i];
	assert_int_equal(ds_txn(f->ds, ops, n, &rev, NULL), 0);
	assert_int_equal(rev_of(f->ds, "/petrel/ipamhandles/h1.eth0"), rev);
	assert_int_equal(rev_of(f->ds, "/petrel/workloadendpoints/node1/x1"), rev);
	/* b's view is stale: its commit fails at an IPAM op, a conflict */
	n = 0;
	ops[n++] = (struct ds_op){ DS_OP_CREATE, "/petrel/workloadendpoints/node1/x2", "{}", 0 };
	for (size_t i = 0; i < b.n; i++)
		ops[n++] = b.ops[i];
	assert_int_not_equal(ds_txn(f->ds, ops, n, NULL, &failed), 0);
	assert_true(failed >= 1 && failed < n);
	assert_true(ipam_txn_retry(&b, -ECANCELED, failed - 1) ||
		    ipam_txn_retry(&b, -EEXIST, failed - 1));
	assert_false(has_key(f->ds, "/petrel/workloadendpoints/node1/x2"));
	/* prepared again: the next address */
	assert_int_equal(ipam_assign_prepare(f->ds, "node1", "h2.eth0", 0, NULL, &b), 0);
	assert_int_equal(b.addr, a.addr + 1);
	/* h1 holds its address (an engine's retry): the handle's create fails
	 * the commit at op 0, a conflict; prepared again, the address it
	 * holds, with nothing to write (no extra read when nothing failed) */
	assert_int_equal(ipam_assign_prepare(f->ds, "node1", "h1.eth0", 0, NULL, &a), 0);
	assert_true(a.n >= 1);
	assert_int_equal(ds_txn(f->ds, a.ops, a.n, NULL, &failed), -EEXIST);
	assert_int_equal(failed, 0);
	assert_true(ipam_txn_retry(&a, -EEXIST, 0));
	assert_int_equal(ipam_assign_prepare(f->ds, "node1", "h1.eth0", 0, NULL, &a), 0);
	assert_true(a.held);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.addr, 0x0a460000);
	/* released with the record, one revision; the empty block goes too */
	assert_int_equal(ipam_release_prepare(f->ds, "h1.eth0", &rel), 0);
	assert_true(rel.n >= 2);
	n = 0;
	ops[n++] = (struct ds_op){ DS_OP_DELETE, "/petrel/workloadendpoints/node1/x1", NULL, rev };
	for (size_t i = 0; i < rel.n; i++)
		ops[n++] = rel.ops[i];
	assert_int_equal(ds_txn(f->ds, ops, n, NULL, NULL), 0);
	assert_false(has_key(f->ds, "/petrel/ipamhandles/h1.eth0"));
	assert_false(has_key(f->ds, "/petrel/ipamblocks/10.70.0.0-30"));
	/* nothing held: nothing to release */
	assert_int_equal(ipam_release_prepare(f->ds, "h1.eth0", &rel), 0);
	assert_int_equal(rel.n, 0);
	assert_int_equal(ipam_assign(f->ds, "node1", "h3.eth0", 0, &got, NULL), 0);
	assert_int_equal(got, 0x0a460000);
	ipam_txn_clear(&a);
	ipam_txn_clear(&b);
	ipam_txn_clear(&rel);
	errs_clear(&es);
}

/* Two containers of one name never share a host end. */
static void test_host_ifname(void **state)
{
	char a[IFNAME_LEN + 1], b[IFNAME_LEN + 1], c[IFNAME_LEN + 1];

	(void)state;
	endpoint_host_ifname("node1", "web", "id1", a);
	endpoint_host_ifname("node1", "web", "id1", b);
	endpoint_host_ifname("node1", "web", "id2", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), IFNAME_LEN);
	assert_true(ifname_is_ours(a));
	assert_true(ifname_is_ours(c));
}

/* ---- felix's wait ---- */

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int srv_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		_exit(3);
	return fd;
}

/* One request read; reply (NULL: close without a word). */
static void srv_serve(int lfd, const char *reply)
{
	char buf[512];
	int c = accept(lfd, NULL, NULL);

	if (c < 0)
		_exit(4);
	if (read(c, buf, sizeof(buf)) <= 0)
		_exit(5);
	if (reply && write(c, reply, strlen(reply)) < 0)
		_exit(6);
	close(c);
}

/* A fake felix: dies mid-request, then (back_ms later, unless < 0) a new
 * one answers ok. The child's pid; *ready once it listens. */
static pid_t fake_felix(const char *path, int back_ms)
{
	int p[2];
	pid_t pid;
	char x;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd = srv_listen(path);

		if (write(p[1], "r", 1) != 1)
			_exit(2);
		srv_serve(lfd, NULL);
		close(lfd);
		unlink(path);
		if (back_ms < 0)
			_exit(0);
		nanosleep(&(struct timespec){ .tv_nsec = back_ms * 1000000L }, NULL);
		lfd = srv_listen(path);
		srv_serve(lfd, "{\"ok\":true}\n");
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &x, 1), 1);
	close(p[0]);
	return pid;
}

static void reaped(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_wait_felix_restart(void **state)
{
	struct fx *f = *state;
	char sock[128], why[64];
	pid_t pid;
	int64_t t0;

	snprintf(sock, sizeof(sock), "%s/felix.sock", f->dir);
	/* Nobody there at all: felix is not running, said at once. */
	t0 = ms_now();
	assert_int_equal(endpoint_wait(sock, "web", 5, false, 3000, why, sizeof(why)),
			 -ENOENT);
	assert_true(ms_now() - t0 < 1000);
	/* felix closes the request unanswered and is back 150 ms later: asked
	 * again, ok (status_wait alone says -EPROTO). */
	pid = fake_felix(sock, 150);
	assert_int_equal(endpoint_wait(sock, "web", 5, false, 5000, why, sizeof(why)), 0);
	reaped(pid);
	/* felix goes away for good: not running, once the deadline passed. */
	pid = fake_felix(sock, -1);
	t0 = ms_now();
	assert_int_equal(endpoint_wait(sock, "web", 5, false, 400, why, sizeof(why)),
			 -ENOENT);
	assert_true(ms_now() - t0 >= 350);
	reaped(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport_key),
		cmocka_unit_test_setup_teardown(test_hostport, fx_setup, fx_teardown),
		cmocka_unit_test(test_node_parse),
		cmocka_unit_test(test_node_probe),
		cmocka_unit_test_setup_teardown(test_hostport_node, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostport_pick_node, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_remove_changed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hostport_pick, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ipam_txn, fx_setup, fx_teardown),
		cmocka_unit_test(test_host_ifname),
		cmocka_unit_test_setup_teardown(test_wait_felix_restart, fx_setup, fx_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
