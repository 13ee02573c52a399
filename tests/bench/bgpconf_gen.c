/*
 * bgpconf_gen: the BIRD-config generation benchmark (tests/bench/run.sh,
 * section 4). Builds one struct bgpconf_input in memory, the size of a big
 * cluster, and times bgpconf_render() on it: no datastore, no BIRD, only the
 * renderer felix calls on every BGP-relevant change.
 *
 *   bgpconf_gen [-n PEERS] [-b BLOCKS] [-r RUNS] [-o DIR]
 *
 * Three shapes, each with PEERS sessions (default 1,000) and BLOCKS blocks
 * (/26s held by this node, default 10,000), in one pool 10.0.0.0/8:
 *   peers  PEERS global BGPPeers (route servers / ToRs), mesh off;
 *   mesh   PEERS + 1 Nodes, node-to-node mesh on (this node peers with all);
 *   rr     PEERS + 1 Nodes, mesh off, this node a route reflector.
 * Per shape one line on stdout (the script formats them):
 *   SHAPE peers=P blocks=B bytes=N runs=R median_us=.. min_us=.. max_us=..
 * -o DIR: also writes each shape's text to DIR/SHAPE.conf (for `bird -p`).
 *
 * Invariants: the renderer's first call is timed like the others (no
 * warm-up is hidden); the peer count printed is the one bgpconf_peers()
 * computed, so a shape that did not produce PEERS sessions shows it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bgpconf/bgpconf.h"
#include "common/errs.h"
#include "common/ip4.h"
#include "model/resource.h"

#define RUNS_MAX 1000

enum shape { SHAPE_PEERS, SHAPE_MESH, SHAPE_RR, SHAPE_N };
static const char *const shape_name[SHAPE_N] = { "peers", "mesh", "rr" };

/* Node i's BGP address: 172.16.0.0/12, never 0 or broadcast of a /24. */
static uint32_t node_addr(size_t i)
{
	return (172u << 24 | 16u << 16) + (uint32_t)(i / 250) * 256 + (uint32_t)(i % 250) + 2;
}

static int64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int write_text(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s.conf", dir, name);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* One shape: fills the input, renders RUNS times, prints its line. */
static int run_shape(enum shape s, size_t n_peers, size_t n_blocks, int runs,
		     const char *dir)
{
	struct bgpconf_input in;
	struct bgpconfig cfg;
	struct bgpconf_local local;
	struct bgpconf_peer *plist = NULL;
	struct node *nodes = NULL;
	struct bgppeer *peers = NULL;
	struct ip4_net *blocks = NULL, pool = { 10u << 24, 8 };
	struct errs e = ERRS_INIT;
	int64_t *t = NULL;
	char *text = NULL;
	size_t n_nodes = 0, n_sessions = 0, len = 0;
	int rc = -ENOMEM, i;

	bgpconfig_defaults(&cfg);
	cfg.mesh = s == SHAPE_MESH;
	memset(&in, 0, sizeof(in));
	in.node = "node0";
	in.address = node_addr(0);
	in.asn = 64512;
	in.config = &cfg;
	in.route_protocol = 87;
	in.bird_socket = "/nonexistent";

	blocks = calloc(n_blocks, sizeof(*blocks));
	t = calloc((size_t)runs, sizeof(*t));
	if (!blocks || !t)
		goto out;
	/* /26s from 10.0.0.0 up: 10,000 of them fill 10.0.0.0 - 10.9.195.255. */
	for (size_t k = 0; k < n_blocks; k++) {
		blocks[k].addr = (10u << 24) + (uint32_t)k * 64;
		blocks[k].len = 26;
	}
	in.blocks = blocks;
	in.n_blocks = n_blocks;
	in.pools = &pool;
	in.n_pools = 1;

	if (s == SHAPE_PEERS) {
		/* This node's Node, and PEERS global BGPPeers in 192.168.0.0/16
		 * (each its own address: duplicates are refused). */
		nodes = calloc(1, sizeof(*nodes));
		peers = calloc(n_peers, sizeof(*peers));
		if (!nodes || !peers)
			goto out;
		n_nodes = 1;
		snprintf(nodes[0].name, sizeof(nodes[0].name), "node0");
		nodes[0].bgp_ipv4 = in.address;
		for (size_t k = 0; k < n_peers; k++) {
			snprintf(peers[k].name, sizeof(peers[k].name), "peer%zu", k);
			peers[k].peer_ip = (192u << 24 | 168u << 16) +
					   (uint32_t)(k / 250) * 256 + (uint32_t)(k % 250) + 2;
			peers[k].asn = 65000 + (uint32_t)(k % 100);
			peers[k].keepalive = 3;
			peers[k].hold = 9;
		}
		in.peers = peers;
		in.n_peers = n_peers;
	} else {
		n_nodes = n_peers + 1;
		nodes = calloc(n_nodes, sizeof(*nodes));
		if (!nodes)
			goto out;
		for (size_t k = 0; k < n_nodes; k++) {
			snprintf(nodes[k].name, sizeof(nodes[k].name), "node%zu", k);
			nodes[k].bgp_ipv4 = node_addr(k);
		}
		/* The reflector: this node (a borrowed string, never freed). */
		if (s == SHAPE_RR)
			nodes[0].rr_cluster_id = (char *)"224.0.0.1";
	}
	in.nodes = nodes;
	in.n_nodes = n_nodes;

	rc = bgpconf_peers(&in, &local, &plist, &n_sessions, &e);
	free(plist);
	if (rc < 0)
		goto out;
	for (i = 0; i < runs; i++) {
		int64_t t0 = now_us();

		free(text);
		text = NULL;
		rc = bgpconf_render(&in, &text, &e);
		t[i] = now_us() - t0;
		if (rc < 0)
			goto out;
	}
	len = strlen(text);
	if (dir && (rc = write_text(dir, shape_name[s], text)) < 0) {
		errs_add(&e, "%s/%s.conf: %s", dir, shape_name[s], strerror(-rc));
		goto out;
	}
	qsort(t, (size_t)runs, sizeof(*t), cmp_i64);
	printf("%s peers=%zu blocks=%zu bytes=%zu runs=%d median_us=%lld min_us=%lld max_us=%lld\n",
	       shape_name[s], n_sessions, n_blocks, len, runs,
	       (long long)t[runs / 2], (long long)t[0], (long long)t[runs - 1]);
	fflush(stdout);
	rc = 0;
out:
	if (rc < 0) {
		fprintf(stderr, "bgpconf_gen: %s: %s\n", shape_name[s], strerror(-rc));
		for (size_t k = 0; k < e.n; k++)
			fprintf(stderr, "  %s\n", e.msg[k]);
	}
	errs_clear(&e);
	free(text);
	free(t);
	free(blocks);
	free(nodes);
	free(peers);
	return rc;
}

int main(int argc, char **argv)
{
	long n_peers = 1000, n_blocks = 10000, runs = 11;
	const char *dir = NULL;
	int c, bad = 0;

	while ((c = getopt(argc, argv, "n:b:r:o:")) != -1) {
		switch (c) {
		case 'n': n_peers = strtol(optarg, NULL, 10); break;
		case 'b': n_blocks = strtol(optarg, NULL, 10); break;
		case 'r': runs = strtol(optarg, NULL, 10); break;
		case 'o': dir = optarg; break;
		default: bad = 1;
		}
	}
	/* Peers: node_addr() and the BGPPeer addresses stay inside their /16
	 * below 250 * 256; blocks inside 10.0.0.0/8 (2^18 /26s). */
	if (bad || optind != argc || n_peers < 1 || n_peers > 60000 ||
	    n_blocks < 1 || n_blocks > (1L << 18) || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: bgpconf_gen [-n PEERS 1..60000] [-b BLOCKS 1..262144] "
			"[-r RUNS 1..%d] [-o DIR]\n", RUNS_MAX);
		return 2;
	}
	for (int s = 0; s < SHAPE_N; s++)
		if (run_shape((enum shape)s, (size_t)n_peers, (size_t)n_blocks,
			      (int)runs, dir) < 0)
			return 1;
	return 0;
}
