/*
 * test_bgpconf: bgpconf/bgpconf.c and bgpconf_write.c.
 *
 *   - golden BIRD configs, one per topology, compared byte for byte with
 *     tests/unit/golden/bgpconf/NAME.conf (PETREL_REGEN_GOLDEN=1 rewrites
 *     them), each also checked by the real `bird -p` (skipped, saying why,
 *     when /usr/sbin/bird is absent);
 *   - the same input in any order gives the same bytes, twice;
 *   - every validation error of the peer list;
 *   - bgpconf_write: unchanged bytes are not rewritten, a refused config is
 *     never put in place, passwords make the file (and the temporary file
 *     BIRD checks) 0600, BIRD runs with an empty environment;
 *   - bgpconf_apply against a fake BIRD control socket: reload only on a
 *     change, `pending` when BIRD is not there.
 *
 * The worlds are written in YAML and decoded by model/ (one file per kind), as
 * felix will get them from the datastore.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/golden.h"

#include "bgpconf/bgpconf.h"
#include "model/resource.h"

#define BIRD "/usr/sbin/bird"
#define WMAX 8

/* tests/unit/golden/bgpconf/, found from this file's own path */
static char golden_dir[512];
static char tmpdir[64];
static bool bird_ok;

/* ------------------------------------------------------------ the worlds */

struct world {
	struct ydoc *docs;
	size_t n_docs;
	struct node nodes[WMAX];
	size_t n_nodes;
	struct bgppeer peers[WMAX];
	size_t n_peers;
	struct bgpconfig cfg;
	bool has_cfg;
	struct ip4_net pools[WMAX], blocks[WMAX];
	uint32_t borrowed[WMAX];
	struct bgpconf_input in;
};

static void print_errs(const struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		print_message("  err: %s\n", e->msg[i]);
}

static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

/* Decodes a YAML stream of Node, BGPConfiguration and BGPPeer documents. */
static void world_load(struct world *w, const char *node, const char *yaml)
{
	struct errs e = ERRS_INIT;

	memset(w, 0, sizeof(*w));
	if (yaml) {
		assert_int_equal(yaml_load("w.yaml", yaml, strlen(yaml), &w->docs,
					   &w->n_docs, &e), 0);
		for (size_t i = 0; i < w->n_docs; i++) {
			struct resource r = { 0 };

			if (res_from_json(w->docs[i].root, &w->docs[i], "w.yaml", &r, &e) < 0) {
				print_errs(&e);
				fail();
			}
			switch (r.kind) {
			case RES_NODE:
				assert_true(w->n_nodes < WMAX);
				w->nodes[w->n_nodes++] = r.u.node;
				break;
			case RES_BGPPEER:
				assert_true(w->n_peers < WMAX);
				w->peers[w->n_peers++] = r.u.bgppeer;
				break;
			case RES_BGPCONFIG:
				w->cfg = r.u.bgpconfig;
				w->has_cfg = true;
				break;
			default:
				res_clear(&r);
				fail_msg("unexpected kind in a world");
			}
		}
	}
	w->in.node = node;
	w->in.config = w->has_cfg ? &w->cfg : NULL;
	w->in.nodes = w->nodes;
	w->in.n_nodes = w->n_nodes;
	w->in.peers = w->peers;
	w->in.n_peers = w->n_peers;
	w->in.pools = w->pools;
	w->in.blocks = w->blocks;
	w->in.borrowed = w->borrowed;
	w->in.route_protocol = 87;
	errs_clear(&e);
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->n_nodes; i++)
		node_clear(&w->nodes[i]);
	for (size_t i = 0; i < w->n_peers; i++)
		bgppeer_clear(&w->peers[i]);
	bgpconfig_clear(&w->cfg);
	ydocs_free(w->docs, w->n_docs);
}

static void add_net(struct ip4_net *v, size_t *n, const char *s)
{
	assert_int_equal(ip4_net_parse(s, &v[*n], false, false), 0);
	(*n)++;
}

static void pool(struct world *w, const char *s)
{
	add_net(w->pools, &w->in.n_pools, s);
}

static void block(struct world *w, const char *s)
{
	add_net(w->blocks, &w->in.n_blocks, s);
}

static void borrow(struct world *w, const char *s)
{
	assert_int_equal(ip4_parse(s, &w->borrowed[w->in.n_borrowed]), 0);
	w->in.n_borrowed++;
}

#define NODE(name, addr, extra) \
	"apiVersion: petrel/v1\nkind: Node\nmetadata: {name: " name "}\n" \
	"spec: {bgp: {ipv4Address: " addr extra "}}\n---\n"
#define NODEL(name, addr, labels) \
	"apiVersion: petrel/v1\nkind: Node\nmetadata: {name: " name ", labels: {" labels "}}\n" \
	"spec: {bgp: {ipv4Address: " addr "}}\n---\n"
#define PEER(name, spec) \
	"apiVersion: petrel/v1\nkind: BGPPeer\nmetadata: {name: " name "}\n" \
	"spec: {" spec "}\n---\n"
#define CONFIG(spec) \
	"apiVersion: petrel/v1\nkind: BGPConfiguration\nmetadata: {name: default}\n" \
	"spec: {" spec "}\n---\n"

#define MESH3 \
	NODE("node1", "192.0.2.11", "") \
	NODE("node2", "192.0.2.12", "") \
	NODE("node3", "192.0.2.13", "")

/* ------------------------------------------------------------ golden files */

/* Renders in->, compares with the golden file, has BIRD check it. */
static char *golden(const char *name, const struct bgpconf_input *in)
{
	char path[700];
	struct errs e = ERRS_INIT;
	char *text = NULL, *again = NULL;

	if (bgpconf_render(in, &text, &e) < 0) {
		print_errs(&e);
		fail_msg("%s: render failed", name);
	}
	assert_int_equal(e.n, 0);
	assert_int_equal(bgpconf_render(in, &again, &e), 0);
	assert_string_equal(text, again);	/* same input, same bytes */
	free(again);

	snprintf(path, sizeof(path), "%s/%s.conf", golden_dir, name);
	golden_check(path, text, "config");

	/* (bird -p checks every golden file: test_bird_accepts_goldens) */
	errs_clear(&e);
	return text;
}

/* bird -p accepts every golden config (the cases above made sure each one
 * is what bgpconf renders); skipped, not passed, without BIRD. */
static void test_bird_accepts_goldens(void **state)
{
	char path[800], out[800];
	struct errs e = ERRS_INIT;
	struct dirent *d;
	size_t n = 0, len;
	DIR *dir;
	char *text;

	(void)state;
	if (!bird_ok) {
		print_message("SKIP bird -p of the golden configs: %s is not installed "
			      "(apt-get install bird2)\n", BIRD);
		skip();
	}
	dir = opendir(golden_dir);
	assert_non_null(dir);
	while ((d = readdir(dir))) {
		len = strlen(d->d_name);
		if (len < 6 || strcmp(d->d_name + len - 5, ".conf"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", golden_dir, d->d_name);
		snprintf(out, sizeof(out), "%s/bird-p-%s", tmpdir, d->d_name);
		text = read_text(path);
		assert_non_null(text);
		unlink(out);
		if (bgpconf_write(out, text, 0644, BIRD, &e) != 1) {
			print_errs(&e);
			fail_msg("%s: bird -p refused the golden config", d->d_name);
		}
		unlink(out);
		free(text);
		errs_clear(&e);
		n++;
	}
	closedir(dir);
	assert_true(n >= 10);	/* every golden() case above wrote one */
}

/* ------------------------------------------------------------ topologies */

static void test_tor_ebgp(void **state)
{
	struct world w;
	char *t;

	(void)state;
	world_load(&w, "node1",
		   CONFIG("nodeToNodeMesh: false")
		   NODE("node1", "192.0.2.11", "")
		   NODE("node2", "192.0.2.12", "")
		   PEER("tor-b", "peerIP: 192.0.2.2, asNumber: 65002")
		   PEER("tor-a", "peerIP: 192.0.2.1, asNumber: 65001"));
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	t = golden("tor_ebgp", &w.in);
	/* two sessions, no mesh, none passive */
	assert_non_null(strstr(t, "protocol bgp Global_192_0_2_1 {"));
	assert_non_null(strstr(t, "protocol bgp Global_192_0_2_2 {"));
	assert_null(strstr(t, "Mesh_"));
	assert_null(strstr(t, "passive"));
	assert_null(strstr(t, "password"));
	assert_int_equal(bgpconf_mode(&w.in), 0644);
	free(t);
	world_free(&w);
}

static void test_mesh3(void **state)
{
	struct world w;
	char *t, *a, *b;

	(void)state;
	world_load(&w, "node2", MESH3);
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.2.64/26");
	block(&w, "10.65.2.0/26");
	t = golden("mesh3", &w.in);
	/* node2 (.12) is the passive side towards .13, the active one towards .11 */
	a = strstr(t, "protocol bgp Mesh_192_0_2_11 {");
	b = strstr(t, "protocol bgp Mesh_192_0_2_13 {");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);
	assert_null(strstr(a, "passive on") < b ? strstr(a, "passive on") : NULL);
	assert_non_null(strstr(b, "passive on;"));
	assert_non_null(strstr(t, "connect delay time 1;"));
	assert_non_null(strstr(t, "graceful restart on;"));
	assert_non_null(strstr(t, "merge paths on;"));
	assert_non_null(strstr(t, "if krt_source = 87 then reject;"));
	free(t);
	world_free(&w);
}

/* Each end of a mesh session: exactly one of the two is passive. */
static void test_mesh_one_passive_side(void **state)
{
	const char *names[] = { "node1", "node2", "node3" };
	int passive[3][3] = { { 0 } };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct bgpconf_peer *p;
		struct bgpconf_local local;
		struct errs e = ERRS_INIT;
		struct world w;
		size_t n;

		world_load(&w, names[i], MESH3);
		assert_int_equal(bgpconf_peers(&w.in, &local, &p, &n, &e), 0);
		assert_int_equal(n, 2);
		for (size_t k = 0; k < n; k++) {
			int j = (int)(p[k].ip & 0xff) - 11;

			assert_true(j >= 0 && j < 3 && j != i);
			assert_int_equal(p[k].kind, BGPCONF_MESH);
			assert_int_equal(p[k].port, 179);
			passive[i][j] = p[k].passive;
		}
		free(p);
		world_free(&w);
	}
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			if (i != j)
				assert_int_equal(passive[i][j] + passive[j][i], 1);
}

static const char rr_yaml[] =
	CONFIG("nodeToNodeMesh: false")
	NODE("rr1", "192.0.2.10", ", routeReflectorClusterID: 1.0.0.1")
	NODE("node1", "192.0.2.11", "")
	NODE("node2", "192.0.2.12", "");

static void test_route_reflector(void **state)
{
	struct world w;
	char *t;

	(void)state;
	world_load(&w, "rr1", rr_yaml);
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.0.0/26");
	t = golden("rr_reflector", &w.in);
	assert_non_null(strstr(t, "protocol bgp RR_192_0_2_11 {"));
	assert_non_null(strstr(t, "protocol bgp RR_192_0_2_12 {"));
	assert_non_null(strstr(t, "\trr client;\n"));
	assert_non_null(strstr(t, "\trr cluster id 1.0.0.1;\n"));
	/* a reflector passes on what it learned, inside the pools */
	assert_non_null(strstr(t, "if source = RTS_BGP && petrel_in_pools() then accept;"));
	free(t);
	world_free(&w);

	/* a client: one session, to the reflector; none to the other client */
	world_load(&w, "node1", rr_yaml);
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	t = golden("rr_client", &w.in);
	assert_non_null(strstr(t, "protocol bgp RR_192_0_2_10 {"));
	assert_null(strstr(t, "RR_192_0_2_12"));
	assert_null(strstr(t, "rr client"));
	assert_null(strstr(t, "RTS_BGP && petrel_in_pools"));
	free(t);
	world_free(&w);
}

static void test_node_peers(void **state)
{
	struct world w;
	char *t;

	(void)state;
	world_load(&w, "node1",
		   NODEL("node1", "192.0.2.11", "rack: r1")
		   NODEL("node2", "192.0.2.12", "rack: r2")
		   PEER("leaf1", "peerIP: 192.0.2.1, asNumber: 65001, node: node1")
		   PEER("leaf2", "peerIP: 192.0.2.3, asNumber: 65001, node: node2")
		   PEER("rack-r1", "peerIP: 192.0.2.5, asNumber: 65005, "
			"nodeSelector: 'rack == \"r1\"'")
		   PEER("rack-r2", "peerIP: 192.0.2.6, asNumber: 65006, "
			"nodeSelector: 'rack == \"r2\"'")
		   PEER("rs", "peerIP: 192.0.2.7, asNumber: 65007, nodeSelector: all()")
		   PEER("tor", "peerIP: 192.0.2.2, asNumber: 65002"));
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	t = golden("node_peer", &w.in);
	assert_non_null(strstr(t, "protocol bgp Node_192_0_2_1 {"));
	assert_non_null(strstr(t, "protocol bgp Node_192_0_2_5 {"));
	assert_non_null(strstr(t, "protocol bgp Node_192_0_2_7 {"));
	assert_non_null(strstr(t, "protocol bgp Global_192_0_2_2 {"));
	assert_non_null(strstr(t, "protocol bgp Mesh_192_0_2_12 {"));
	assert_null(strstr(t, "192_0_2_3"));	/* node2's own peer */
	assert_null(strstr(t, "192_0_2_6"));	/* selects rack r2 */
	free(t);
	world_free(&w);
}

static void test_passwords(void **state)
{
	struct world w;
	char *t;

	(void)state;
	world_load(&w, "node1",
		   CONFIG("meshPassword: mesh-s3cret")
		   NODE("node1", "192.0.2.11", "")
		   NODE("node2", "192.0.2.12", "")
		   PEER("tor", "peerIP: 192.0.2.1, asNumber: 65001, password: 'tor s3cret!'"));
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	t = golden("password", &w.in);
	assert_non_null(strstr(t, "\tpassword \"mesh-s3cret\";\n"));
	assert_non_null(strstr(t, "\tpassword \"tor s3cret!\";\n"));
	assert_int_equal(bgpconf_mode(&w.in), 0600);
	free(t);
	world_free(&w);

	/* a password only on a peer of another node: this node's file is 0644 */
	world_load(&w, "node1",
		   NODE("node1", "192.0.2.11", "")
		   PEER("leaf2", "peerIP: 192.0.2.3, asNumber: 65001, node: node2, password: x"));
	assert_int_equal(bgpconf_mode(&w.in), 0644);
	world_free(&w);
}

static void test_communities(void **state)
{
	struct world w;
	char *t, *a, *b, *c;

	(void)state;
	world_load(&w, "node1",
		   CONFIG("communities: ['65000:300', '65000:1:2', '65000:100']")
		   NODE("node1", "192.0.2.11", "")
		   PEER("tor", "peerIP: 192.0.2.1, asNumber: 65001"));
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	t = golden("communities", &w.in);
	a = strstr(t, "bgp_community.add((65000, 100));");
	b = strstr(t, "bgp_community.add((65000, 300));");
	c = strstr(t, "bgp_large_community.add((65000, 1, 2));");
	assert_true(a && b && c && a < b && b < c);	/* sorted */
	free(t);
	world_free(&w);
}

static void test_bfd_options(void **state)
{
	struct world w;
	char *t;

	(void)state;
	world_load(&w, "node1",
		   CONFIG("listenPort: 1179, gracefulRestartTime: 300, logLevel: debug, "
			  "asNumber: 64600")
		   NODE("node1", "192.0.2.11", "")
		   PEER("tor", "peerIP: 192.0.2.1, asNumber: 65001, bfd: true, holdTime: 9, "
			"keepaliveTime: 3, ttlSecurity: true, multihop: 2, "
			"nextHopMode: self, import: all")
		   PEER("rs", "peerIP: '192.0.2.3:1179', asNumber: 64600, "
			"sourceAddress: auto, nextHopMode: keep"));
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	t = golden("bfd", &w.in);
	assert_non_null(strstr(t, "protocol bfd petrel_bfd {"));
	assert_non_null(strstr(t, "\tbfd on;\n"));
	assert_non_null(strstr(t, "\tlocal 192.0.2.11 port 1179 as 64600;\n"));
	assert_non_null(strstr(t, "\tlocal port 1179 as 64600;\n"));
	assert_non_null(strstr(t, "\tneighbor 192.0.2.3 port 1179 as 64600;\n"));
	assert_non_null(strstr(t, "\tneighbor 192.0.2.1 as 65001;\n"));
	assert_non_null(strstr(t, "\t\timport all;\n"));
	assert_non_null(strstr(t, "\t\tnext hop self;\n"));
	assert_non_null(strstr(t, "\t\tnext hop keep;\n"));
	assert_non_null(strstr(t, "\tgraceful restart time 300;\n"));
	assert_non_null(strstr(t, "\tdebug all;\n"));
	free(t);
	world_free(&w);
}

static void test_borrowed(void **state)
{
	struct world w;
	char *t;

	(void)state;
	world_load(&w, "node1", NODE("node1", "192.0.2.11", "")
		   PEER("tor", "peerIP: 192.0.2.1, asNumber: 65001"));
	pool(&w, "10.70.0.0/16");
	pool(&w, "10.65.0.0/16");
	block(&w, "10.65.1.0/26");
	borrow(&w, "10.65.7.9");
	borrow(&w, "10.65.3.4");
	borrow(&w, "10.65.7.9");	/* duplicates collapse */
	t = golden("borrowed", &w.in);
	assert_non_null(strstr(t, "\troute 10.65.3.4/32 blackhole;\t# borrowed\n"
			       "\troute 10.65.7.9/32 blackhole;\t# borrowed\n}"));
	assert_non_null(strstr(t, "\t\t10.65.0.0/16+,\n\t\t10.70.0.0/16+\n"));
	free(t);
	world_free(&w);
}

static void test_lone_node(void **state)
{
	struct world w;
	char *t;

	(void)state;
	/* no Node resource at all: the address comes from petrel.yaml */
	world_load(&w, "solo", NULL);
	assert_int_equal(ip4_parse("192.0.2.99", &w.in.address), 0);
	w.in.asn = 64999;
	t = golden("lone", &w.in);
	assert_non_null(strstr(t, "\treturn false;\n"));
	assert_non_null(strstr(t, "router id 192.0.2.99;\n"));
	assert_null(strstr(t, "protocol bgp"));
	free(t);
	world_free(&w);
}

/* The input in another order (and the world's own address and AS from
 * petrel.yaml equal to its Node's) gives the same bytes. */
static void test_order_independent(void **state)
{
	struct errs e = ERRS_INIT;
	struct world w1, w2;
	char *t1, *t2;

	(void)state;
	world_load(&w1, "node1",
		   CONFIG("communities: ['1:2', '3:4']")
		   NODE("node1", "192.0.2.11", "") NODE("node2", "192.0.2.12", "")
		   NODE("node3", "192.0.2.13", "")
		   PEER("a", "peerIP: 192.0.2.1, asNumber: 65001")
		   PEER("b", "peerIP: 192.0.2.2, asNumber: 65002"));
	world_load(&w2, "node1",
		   CONFIG("communities: ['3:4', '1:2']")
		   PEER("b", "peerIP: 192.0.2.2, asNumber: 65002")
		   NODE("node3", "192.0.2.13", "") NODE("node2", "192.0.2.12", "")
		   PEER("a", "peerIP: 192.0.2.1, asNumber: 65001")
		   NODE("node1", "192.0.2.11", ""));
	pool(&w1, "10.65.0.0/16");
	pool(&w1, "10.66.0.0/16");
	pool(&w2, "10.66.0.0/16");
	pool(&w2, "10.65.0.0/16");
	block(&w1, "10.65.1.0/26");
	block(&w1, "10.66.1.0/26");
	block(&w2, "10.66.1.0/26");
	block(&w2, "10.65.1.0/26");
	w2.in.address = w2.nodes[3].bgp_ipv4;
	w2.in.asn = 64512;
	assert_int_equal(bgpconf_render(&w1.in, &t1, &e), 0);
	assert_int_equal(bgpconf_render(&w2.in, &t2, &e), 0);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	errs_clear(&e);
	world_free(&w1);
	world_free(&w2);
}

/* ------------------------------------------------------- validation errors */

/* The world must be refused with a message containing want, and no text. */
static void expect_invalid(struct world *w, const char *want)
{
	struct errs e = ERRS_INIT;
	char *t = (char *)"untouched";

	if (bgpconf_render(&w->in, &t, &e) != -EINVAL || !has_err(&e, want)) {
		print_errs(&e);
		fail_msg("wanted an error containing: %s", want);
	}
	assert_null(t);
	errs_clear(&e);
	world_free(w);
}

static void test_errors(void **state)
{
	struct world w;

	(void)state;
	/* this node unknown, no address from petrel.yaml either */
	world_load(&w, "ghost", MESH3);
	expect_invalid(&w, "bgp: node ghost has no BGP address");

	world_load(&w, "", MESH3);
	expect_invalid(&w, "this node's name is not set");

	/* a BGPPeer at this node's own address */
	world_load(&w, "node1", MESH3 PEER("me", "peerIP: 192.0.2.11, asNumber: 65001"));
	expect_invalid(&w, "bgp: BGPPeer me: 192.0.2.11 is this node's own address");

	/* two BGPPeers at one address */
	world_load(&w, "node1", NODE("node1", "192.0.2.11", "")
		   PEER("tor-a", "peerIP: 192.0.2.1, asNumber: 65001")
		   PEER("tor-b", "peerIP: '192.0.2.1:1179', asNumber: 65002"));
	expect_invalid(&w, "bgp: BGPPeer tor-a and BGPPeer tor-b: both peer with 192.0.2.1");

	/* a BGPPeer at a mesh node's address */
	world_load(&w, "node1", MESH3 PEER("n2", "peerIP: 192.0.2.12, asNumber: 64512"));
	expect_invalid(&w, "bgp: node node2 and BGPPeer n2: both peer with 192.0.2.12");

	/* two nodes at one address */
	world_load(&w, "node1", MESH3 NODE("node4", "192.0.2.13", ""));
	expect_invalid(&w, "bgp: node node3 and node node4: both peer with 192.0.2.13");

	/* another node at this node's address */
	world_load(&w, "node1", MESH3 NODE("twin", "192.0.2.11", ""));
	expect_invalid(&w, "bgp: node twin: 192.0.2.11 is this node's own address");

	/* a per-node peer at this node's address is an error on that node only */
	world_load(&w, "node2", MESH3
		   PEER("x", "peerIP: 192.0.2.11, asNumber: 65001, node: node2"));
	{
		struct errs e = ERRS_INIT;
		char *t;

		assert_int_equal(bgpconf_render(&w.in, &t, &e), -EINVAL);
		assert_true(has_err(&e, "bgp: node node1 and BGPPeer x: both peer with 192.0.2.11"));
		errs_clear(&e);
		world_free(&w);
	}

	/* BFD on an iBGP (multihop) session needs a source address */
	world_load(&w, "node1", NODE("node1", "192.0.2.11", "")
		   PEER("ibgp", "peerIP: 192.0.2.1, asNumber: 64512, bfd: true, "
			"sourceAddress: auto"));
	expect_invalid(&w, "bgp: BGPPeer ibgp: BFD on a multihop session needs "
		       "sourceAddress nodeIP");

	/* a selector the decoder would refuse, put in by hand */
	world_load(&w, "node1", NODE("node1", "192.0.2.11", "")
		   PEER("sel", "peerIP: 192.0.2.1, asNumber: 65001, nodeSelector: all()"));
	free(w.peers[0].node_selector);
	w.peers[0].node_selector = strdup("a in {\"b\"");
	expect_invalid(&w, "bgp: BGPPeer sel: invalid nodeSelector");

	/* a cluster ID that cannot be used */
	world_load(&w, "node1", NODE("node1", "192.0.2.11", ", routeReflectorClusterID: 0.0.0.0"));
	expect_invalid(&w, "routeReflectorClusterID \"0.0.0.0\" is not usable");

	world_load(&w, "node1", MESH3);
	w.in.route_protocol = 0;
	expect_invalid(&w, "bgp: route protocol 0 is out of range");

	/* every error at once, not only the first */
	{
		struct errs e = ERRS_INIT;
		char *t;

		world_load(&w, "node1", MESH3 NODE("node4", "192.0.2.13", "")
			   PEER("me", "peerIP: 192.0.2.11, asNumber: 65001"));
		w.in.route_protocol = 300;
		assert_int_equal(bgpconf_render(&w.in, &t, &e), -EINVAL);
		assert_true(has_err(&e, "route protocol 300"));
		assert_true(has_err(&e, "BGPPeer me: 192.0.2.11 is this node's own address"));
		assert_true(has_err(&e, "node node3 and node node4"));
		errs_clear(&e);
		world_free(&w);
	}
}

/* The mesh off and no reflector: no sessions between nodes at all. */
static void test_mesh_off(void **state)
{
	struct bgpconf_local local;
	struct errs e = ERRS_INIT;
	struct bgpconf_peer *p;
	struct world w;
	size_t n;

	(void)state;
	world_load(&w, "node1", CONFIG("nodeToNodeMesh: false") MESH3);
	assert_int_equal(bgpconf_peers(&w.in, &local, &p, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_null(p);
	assert_int_equal(local.asn, 64512);
	world_free(&w);

	/* a reflector in another AS is a plain eBGP peer, never a client */
	world_load(&w, "rr1", CONFIG("nodeToNodeMesh: false")
		   NODE("rr1", "192.0.2.10", ", routeReflectorClusterID: 1.0.0.1")
		   NODE("node1", "192.0.2.11", ", asNumber: 65111"));
	assert_int_equal(bgpconf_peers(&w.in, &local, &p, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_false(p[0].rr_client);
	assert_int_equal(p[0].asn, 65111);
	assert_int_equal(local.rr_cluster_id, 0x01000001);
	free(p);
	world_free(&w);
	errs_clear(&e);
}

/* ------------------------------------------------------------ bgpconf_write */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_write(void **state)
{
	char dir[128], path[200];
	struct errs e = ERRS_INIT;
	struct stat st1, st2;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/w", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/bird.conf", dir);

	/* new file: written, 0644 */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.4;\n", 0644, "", &e), 1);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0644);
	/* the same bytes: nothing written (same inode), nothing to reload */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.4;\n", 0644, "", &e), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* same bytes, other mode: only the mode changes */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.4;\n", 0600, "", &e), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st2.st_mode & 07777, 0600);
	/* other bytes: replaced (a new inode: rename, not rewrite) */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.5;\n", 0644, "", &e), 1);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st2.st_mode & 07777, 0644);
	assert_int_equal(count_files(dir), 1);	/* no temporary file left */
	assert_int_equal(e.n, 0);

	/* a BIRD that cannot be run */
	assert_true(bgpconf_write(path, "x\n", 0644, "/nonexistent/bird", &e) < 0);
	assert_true(has_err(&e, "cannot run /nonexistent/bird"));
	errs_clear(&e);
	assert_int_equal(count_files(dir), 1);
	errs_clear(&e);
}

/* bgpconf_write with a real BIRD (bird -p): a refused config leaves the old
 * file and names path and line; skipped, not passed, without BIRD. */
static void test_write_bird(void **state)
{
	char dir[128], path[200];
	struct errs e = ERRS_INIT;
	char *got;

	(void)state;
	if (!bird_ok) {
		print_message("SKIP bird -p checks: %s is not installed\n", BIRD);
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/wb", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/bird.conf", dir);
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.5;\n", 0644, "", &e), 1);
	assert_int_equal(count_files(dir), 1);

	/* BIRD refuses: the old file stays, the message names path, not the
	 * temporary file */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.6;\nprotocol frob {}\n",
				       0644, BIRD, &e), -EINVAL);
	print_errs(&e);
	assert_true(has_err(&e, "BIRD refused the configuration"));
	assert_true(has_err(&e, "bird.conf:2:"));
	assert_false(has_err(&e, ".bird.conf."));
	got = read_text(path);
	assert_string_equal(got, "router id 1.2.3.5;\n");
	free(got);
	assert_int_equal(count_files(dir), 1);
	errs_clear(&e);
	/* BIRD wants at least one protocol */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.6;\n", 0644, BIRD, &e),
			 -EINVAL);
	assert_true(has_err(&e, "No protocol is specified"));
	errs_clear(&e);
	/* BIRD accepts */
	assert_int_equal(bgpconf_write(path, "router id 1.2.3.6;\nprotocol device {}\n",
				       0644, BIRD, &e), 1);
	got = read_text(path);
	assert_string_equal(got, "router id 1.2.3.6;\nprotocol device {}\n");
	free(got);
	errs_clear(&e);
}

/* A stand-in for BIRD that records how it was run: its arguments, the mode
 * of the file it was given and its environment. */
static void test_write_fake_bird(void **state)
{
	char fake[200], log[200], path[200], dir[128];
	struct errs e = ERRS_INIT;
	struct world w;
	struct stat st;
	char *text, *got;
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/fake", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(fake, sizeof(fake), "%s/bird", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(path, sizeof(path), "%s/bird.conf", dir);
	f = fopen(fake, "we");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n"
		"echo \"args $1 $2 $(/usr/bin/basename \"$3\" | /usr/bin/cut -c1-11)\" > %s\n"
		"echo \"mode $(/usr/bin/stat -c %%a \"$3\")\" >> %s\n"
		"echo \"env $(/usr/bin/env | /usr/bin/grep -v '^PWD=' | /usr/bin/wc -l)\" >> %s\n"
		"exit 0\n", log, log, log);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(fake, 0755), 0);

	world_load(&w, "node1", NODE("node1", "192.0.2.11", "")
		   PEER("tor", "peerIP: 192.0.2.1, asNumber: 65001, password: s3cret"));
	assert_int_equal(bgpconf_render(&w.in, &text, &e), 0);
	assert_int_equal(bgpconf_write(path, text, bgpconf_mode(&w.in), fake, &e), 1);
	print_errs(&e);
	got = read_text(log);
	assert_non_null(got);
	assert_string_equal(got, "args -p -c .bird.conf.\nmode 600\nenv 0\n");
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(text);
	world_free(&w);
	errs_clear(&e);
}

/* ------------------------------------------------- apply, with a fake BIRD */

/* Serves BIRD's greeting and "0003 Reconfigured" to every connection and
 * appends each command it gets to a log, until killed. */
static pid_t fake_birdctl(const char *sock, const char *log)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;
	pid_t pid;

	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int conns = 0; conns < 100; conns++) {
			char buf[512];
			size_t len = 0;
			int c = accept(lfd, NULL, NULL);
			FILE *f;

			if (c < 0)
				_exit(1);
			if (write(c, "0001 BIRD fake ready.\n", 22) != 22)
				_exit(1);
			while (len < sizeof(buf) - 1) {
				ssize_t n = read(c, buf + len, 1);

				if (n <= 0 || buf[len] == '\n')
					break;
				len++;
			}
			buf[len] = '\0';
			f = fopen(log, "ae");
			if (f) {
				fprintf(f, "%s\n", buf);
				fclose(f);
			}
			if (write(c, "0002-Reading configuration\n0003 Reconfigured\n", 46) != 46)
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void test_apply(void **state)
{
	char dir[128], path[200], sock[200], log[200], want[512];
	struct errs e = ERRS_INIT;
	bool pending = false;
	struct world w;
	pid_t pid;
	char *got;
	int status;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/apply", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/bird.conf", dir);
	snprintf(sock, sizeof(sock), "%s/bird.ctl", dir);
	snprintf(log, sizeof(log), "%s/cmds", dir);
	world_load(&w, "node1", MESH3);
	pool(&w, "10.65.0.0/16");
	w.in.bird_socket = sock;

	/* BIRD not running yet: the file is written, the reload is pending */
	assert_int_equal(bgpconf_apply(&w.in, path, "", &pending, &e), -ENOENT);
	assert_true(pending);
	assert_true(has_err(&e, sock));
	errs_clear(&e);

	pid = fake_birdctl(sock, log);
	/* unchanged, but pending: reloaded now */
	assert_int_equal(bgpconf_apply(&w.in, path, "", &pending, &e), 1);
	assert_false(pending);
	/* unchanged, not pending: nothing */
	assert_int_equal(bgpconf_apply(&w.in, path, "", &pending, &e), 0);
	/* a change: written and reloaded */
	block(&w, "10.65.1.0/26");
	assert_int_equal(bgpconf_apply(&w.in, path, "", &pending, &e), 1);
	assert_false(pending);
	assert_int_equal(bgpconf_apply(&w.in, path, "", &pending, &e), 0);
	print_errs(&e);
	assert_int_equal(e.n, 0);

	/* an invalid input: nothing written, nothing reloaded */
	w.in.route_protocol = 0;
	assert_int_equal(bgpconf_apply(&w.in, path, "", &pending, &e), -EINVAL);
	errs_clear(&e);

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	got = read_text(log);
	assert_non_null(got);
	snprintf(want, sizeof(want), "configure \"%s\"\nconfigure \"%s\"\n", path, path);
	assert_string_equal(got, want);
	free(got);
	world_free(&w);
}

/* ------------------------------------------------------------------ main */

static int group_setup(void **state)
{
	const char *f = __FILE__, *slash = strrchr(f, '/');

	(void)state;
	snprintf(golden_dir, sizeof(golden_dir), "%.*sgolden/bgpconf",
		 slash ? (int)(slash - f + 1) : 0, f);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/petrel-bgpconf-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	bird_ok = access(BIRD, X_OK) == 0;
	if (!bird_ok)
		print_message("SKIP: golden configs are not checked by bird -p: %s is not "
			      "installed (apt-get install bird2)\n", BIRD);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tor_ebgp),
		cmocka_unit_test(test_mesh3),
		cmocka_unit_test(test_mesh_one_passive_side),
		cmocka_unit_test(test_route_reflector),
		cmocka_unit_test(test_node_peers),
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_communities),
		cmocka_unit_test(test_bfd_options),
		cmocka_unit_test(test_borrowed),
		cmocka_unit_test(test_lone_node),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_mesh_off),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_write_bird),
		cmocka_unit_test(test_write_fake_bird),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_bird_accepts_goldens),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
