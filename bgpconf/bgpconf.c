/*
 * bgpconf: the peer list of a node and its BIRD 2 configuration text (see
 * bgpconf.h; the layout and its reasons are in docs/bgp.md).
 *
 * Invariants:
 *   - deterministic: the text depends only on the input's content, never on
 *     its order (pools, blocks, borrowed addresses, communities and peers are
 *     sorted and de-duplicated), on time or on the environment;
 *   - nothing is written from outside input that BIRD's lexer could take for
 *     syntax: names are resource names ([a-z0-9.-]), passwords were checked
 *     by the resource decoder (no '"' or '\'), everything else is a number;
 *   - a config is produced only from an input without errors: every problem
 *     is reported and no text is returned.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bgpconf/bgpconf.h"
#include "common/log.h"

/* e may be NULL: the caller only wants the verdict */
#define ERR(e, ...) do { if (e) errs_add(e, __VA_ARGS__); } while (0)

/* ------------------------------------------------------------- identity */

static const struct node *find_node(const struct bgpconf_input *in, const char *name)
{
	for (size_t i = 0; i < in->n_nodes; i++)
		if (!strcmp(in->nodes[i].name, name))
			return &in->nodes[i];
	return NULL;
}

static uint32_t node_asn(const struct node *n, const struct bgpconfig *cfg)
{
	return n->bgp_asn ? n->bgp_asn : cfg->asn;
}

/* A Node's cluster ID, 0 when it is not a route reflector; -1 when unusable. */
static int64_t node_cluster(const struct node *n)
{
	uint32_t id;

	if (!n->rr_cluster_id)
		return 0;
	if (ip4_parse(n->rr_cluster_id, &id) < 0 || id == 0)
		return -1;
	return id;
}

static const struct bgpconfig *input_config(const struct bgpconf_input *in,
					    struct bgpconfig *defaults)
{
	if (in->config)
		return in->config;
	bgpconfig_defaults(defaults);
	return defaults;
}

/* ------------------------------------------------------------- peer list */

static const char *const kind_prefix[] = {
	[BGPCONF_MESH] = "Mesh", [BGPCONF_RR] = "RR",
	[BGPCONF_GLOBAL] = "Global", [BGPCONF_NODE] = "Node",
};

/* "node node2" / "BGPPeer tor1": where a peer came from, for messages. */
static void peer_origin(const struct bgpconf_peer *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", p->kind <= BGPCONF_RR ? "node" : "BGPPeer", p->from);
}

static int peer_ip_cmp(const void *a, const void *b)
{
	const struct bgpconf_peer *x = a, *y = b;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->from, y->from);
}

static int peer_cmp(const void *a, const void *b)
{
	const struct bgpconf_peer *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return peer_ip_cmp(a, b);
}

struct plist {
	struct bgpconf_peer *v;
	size_t n, cap;
};

static struct bgpconf_peer *plist_add(struct plist *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct bgpconf_peer *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

static int local_identity(const struct bgpconf_input *in, const struct bgpconfig *cfg,
			  struct bgpconf_local *local, struct errs *e)
{
	const struct node *me;
	int64_t cl;
	int rc = 0;

	memset(local, 0, sizeof(*local));
	if (!in->node || !in->node[0]) {
		ERR(e, "bgp: this node's name is not set");
		return -EINVAL;
	}
	me = find_node(in, in->node);
	local->node = me;
	local->address = in->address ? in->address : me ? me->bgp_ipv4 : 0;
	local->asn = in->asn ? in->asn : me && me->bgp_asn ? me->bgp_asn : cfg->asn;
	if (!local->address) {
		ERR(e, "bgp: node %s has no BGP address (set bgp.address in its "
			 "petrel.yaml, or spec.bgp.ipv4Address of its Node)", in->node);
		rc = -EINVAL;
	}
	if (me && (cl = node_cluster(me)) < 0) {
		ERR(e, "bgp: node %s: routeReflectorClusterID \"%s\" is not usable "
			 "(a dotted quad other than 0.0.0.0)", me->name, me->rr_cluster_id);
		rc = -EINVAL;
	} else if (me) {
		local->rr_cluster_id = (uint32_t)cl;
	}
	if (in->route_protocol < 1 || in->route_protocol > 255) {
		ERR(e, "bgp: route protocol %d is out of range (1..255)", in->route_protocol);
		rc = -EINVAL;
	}
	return rc;
}

/* Sessions with the other petrel nodes (mesh, or route reflection). */
static int node_peers(const struct bgpconf_input *in, const struct bgpconfig *cfg,
		      const struct bgpconf_local *local, struct plist *l)
{
	for (size_t i = 0; i < in->n_nodes; i++) {
		const struct node *n = &in->nodes[i];
		struct bgpconf_peer *p;
		int64_t cl;

		if (!strcmp(n->name, in->node) || !n->bgp_ipv4)
			continue;
		cl = node_cluster(n);
		/* with the mesh off, only sessions that have a reflector at one end */
		if (!cfg->mesh && !local->rr_cluster_id && cl == 0)
			continue;
		if (!(p = plist_add(l)))
			return -ENOMEM;
		p->kind = cfg->mesh ? BGPCONF_MESH : BGPCONF_RR;
		snprintf(p->from, sizeof(p->from), "%s", n->name);
		p->ip = n->bgp_ipv4;
		p->port = cfg->listen_port;
		p->asn = node_asn(n, cfg);
		p->passive = local->address < p->ip;
		p->rr_client = local->rr_cluster_id && cl == 0 && p->asn == local->asn;
		p->password = cfg->mesh_password;
	}
	return 0;
}

/* The BGPPeers that apply to this node. */
static int resource_peers(const struct bgpconf_input *in, const struct bgpconf_local *local,
			  struct plist *l, struct errs *e)
{
	const struct labels *labels = local->node ? &local->node->labels : NULL;
	int rc = 0;

	for (size_t i = 0; i < in->n_peers; i++) {
		const struct bgppeer *bp = &in->peers[i];
		enum bgpconf_peer_kind kind = BGPCONF_GLOBAL;
		struct bgpconf_peer *p;
		bool multihop;

		if (bp->node[0]) {
			if (strcmp(bp->node, in->node))
				continue;
			kind = BGPCONF_NODE;
		} else if (bp->node_selector) {
			int m = node_selector_match(bp->node_selector, labels);

			if (m < 0) {
				ERR(e, "bgp: BGPPeer %s: invalid nodeSelector \"%.80s\"",
					 bp->name, bp->node_selector);
				rc = -EINVAL;
			}
			if (m <= 0)
				continue;
			kind = BGPCONF_NODE;
		}
		/* iBGP sessions are multihop unless told otherwise (BIRD's default) */
		multihop = bp->multihop || bp->asn == local->asn;
		if (bp->bfd && multihop && bp->source == BGP_SRC_AUTO) {
			ERR(e, "bgp: BGPPeer %s: BFD on a multihop session needs "
				 "sourceAddress nodeIP", bp->name);
			rc = -EINVAL;
			continue;
		}
		if (!(p = plist_add(l)))
			return -ENOMEM;
		p->kind = kind;
		snprintf(p->from, sizeof(p->from), "%s", bp->name);
		p->ip = bp->peer_ip;
		p->port = bp->peer_port ? bp->peer_port : BGP_DEFAULT_PORT;
		p->asn = bp->asn;
		p->password = bp->password;
		p->keepalive = bp->keepalive;
		p->hold = bp->hold;
		p->bfd = bp->bfd;
		p->ttl_security = bp->ttl_security;
		p->multihop = bp->multihop;
		p->next_hop = bp->next_hop;
		p->source = bp->source;
		p->import = bp->import;
		p->rr_client = false;
	}
	return rc;
}

/* This node itself, or two sessions to one address: both are errors. */
static int check_peers(const struct bgpconf_local *local, struct plist *l, struct errs *e)
{
	char a[IP4_STRLEN], o1[RES_NAME_MAX + 16], o2[RES_NAME_MAX + 16];
	int rc = 0;

	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), peer_ip_cmp);
	for (size_t i = 0; i < l->n; i++) {
		const struct bgpconf_peer *p = &l->v[i];

		peer_origin(p, o1, sizeof(o1));
		if (p->ip == local->address) {
			ERR(e, "bgp: %s: %s is this node's own address", o1, ip4_fmt(p->ip, a));
			rc = -EINVAL;
		} else if (i > 0 && l->v[i - 1].ip == p->ip) {
			peer_origin(&l->v[i - 1], o2, sizeof(o2));
			ERR(e, "bgp: %s and %s: both peer with %s (one session per "
				 "address)", o2, o1, ip4_fmt(p->ip, a));
			rc = -EINVAL;
		}
	}
	return rc;
}

int bgpconf_peers(const struct bgpconf_input *in, struct bgpconf_local *local,
		  struct bgpconf_peer **out, size_t *n, struct errs *e)
{
	struct bgpconfig defaults;
	const struct bgpconfig *cfg = input_config(in, &defaults);
	struct plist l = { 0 };
	int rc, r;

	*out = NULL;
	*n = 0;
	rc = local_identity(in, cfg, local, e);
	if ((r = node_peers(in, cfg, local, &l)) < 0)
		goto out_free;
	if ((r = resource_peers(in, local, &l, e)) < 0) {
		if (r != -EINVAL)
			goto out_free;
		rc = r;
	}
	if (check_peers(local, &l, e) < 0)
		rc = -EINVAL;
	if (rc < 0) {
		r = rc;
		goto out_free;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(l.v[0]), peer_cmp);
	for (size_t i = 0; i < l.n; i++) {
		struct bgpconf_peer *p = &l.v[i];

		snprintf(p->proto, sizeof(p->proto), "%s_%" PRIu32 "_%" PRIu32 "_%" PRIu32
			 "_%" PRIu32, kind_prefix[p->kind], p->ip >> 24, (p->ip >> 16) & 0xff,
			 (p->ip >> 8) & 0xff, p->ip & 0xff);
	}
	*out = l.v;
	*n = l.n;
	return 0;
out_free:
	free(l.v);
	return r;
}

/* ------------------------------------------------------------------ text */

struct sb {
	char *s;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		char *s;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		if (!(s = realloc(b->s, cap))) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

static int net_cmp(const void *a, const void *b)
{
	const struct ip4_net *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int community_cmp(const void *a, const void *b)
{
	const struct bgpconfig_community *x = a, *y = b;

	if (x->large != y->large)
		return x->large ? 1 : -1;
	for (int i = 0; i < 3; i++)
		if (x->v[i] != y->v[i])
			return x->v[i] < y->v[i] ? -1 : 1;
	return 0;
}

/* A sorted, de-duplicated copy of v (n items of size sz); NULL when n == 0. */
static void *sorted_copy(const void *v, size_t *n, size_t sz,
			 int (*cmp)(const void *, const void *), bool *oom)
{
	char *c;
	size_t k = 0;

	if (!*n)
		return NULL;
	if (!(c = malloc(*n * sz))) {
		*oom = true;
		*n = 0;
		return NULL;
	}
	memcpy(c, v, *n * sz);
	qsort(c, *n, sz, cmp);
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || cmp(c + (k - 1) * sz, c + i * sz))
			memmove(c + k++ * sz, c + i * sz, sz);
	*n = k;
	return c;
}

static void render_head(struct sb *b, const struct bgpconf_input *in,
			const struct bgpconf_local *local)
{
	char a[IP4_STRLEN];

	sb_printf(b,
		  "# BIRD 2 configuration of petrel node \"%s\".\n"
		  "# Written by petrel-felix (bgpconf) from the datastore: do not edit, it is\n"
		  "# rewritten on every change. The same resources give the same bytes.\n"
		  "# Its layout and the reasons for it: petrel's docs/bgp.md.\n"
		  "\n"
		  "router id %s;\n"
		  "timeformat protocol iso long;\n",
		  in->node, ip4_fmt(local->address, a));
}

static void render_filters(struct sb *b, const struct bgpconf_input *in,
			   const struct bgpconf_local *local, const struct ip4_net *pools,
			   size_t n_pools, const struct bgpconfig_community *com, size_t n_com)
{
	char buf[IP4_NETSTRLEN];

	sb_printf(b, "\n# ---------------------------------------------------------------- filters\n"
		  "\n# The enabled IP pools: the only prefixes petrel advertises or accepts.\n"
		  "function petrel_in_pools()\n{\n");
	if (!n_pools) {
		sb_printf(b, "\treturn false;\n");
	} else {
		sb_printf(b, "\treturn net ~ [\n");
		for (size_t i = 0; i < n_pools; i++)
			sb_printf(b, "\t\t%s+%s\n", ip4_net_fmt(&pools[i], buf),
				  i + 1 < n_pools ? "," : "");
		sb_printf(b, "\t];\n");
	}
	sb_printf(b, "}\n");

	sb_printf(b, "\n# To BGP peers: what petrel_static originates (this node's blocks, one\n"
		  "# aggregate each, and the addresses it borrowed, a /32 each), inside the\n"
		  "# pools; nothing else this node knows.%s\n"
		  "filter petrel_export_bgp\n{\n"
		  "\tif proto = \"" BGPCONF_STATIC_PROTO "\" && petrel_in_pools() then {\n",
		  local->rr_cluster_id ? " As a route reflector it also passes\n"
		  "# on the pool routes it learned over BGP." : "");
	for (size_t i = 0; i < n_com; i++) {
		if (com[i].large)
			sb_printf(b, "\t\tbgp_large_community.add((%" PRIu32 ", %" PRIu32 ", %"
				  PRIu32 "));\n", com[i].v[0], com[i].v[1], com[i].v[2]);
		else
			sb_printf(b, "\t\tbgp_community.add((%" PRIu32 ", %" PRIu32 "));\n",
				  com[i].v[0], com[i].v[1]);
	}
	sb_printf(b, "\t\taccept;\n\t}\n");
	if (local->rr_cluster_id)
		sb_printf(b, "\tif source = RTS_BGP && petrel_in_pools() then accept;\n");
	sb_printf(b, "\treject;\n}\n");

	sb_printf(b, "\n# From BGP peers (unless a BGPPeer says import: all): pool prefixes only.\n"
		  "filter petrel_import_bgp\n{\n"
		  "\tif petrel_in_pools() then accept;\n"
		  "\treject;\n}\n");

	sb_printf(b, "\n# To the kernel: the routes learned over BGP (ECMP: merge paths). This\n"
		  "# node's own routes (workload /32s, block blackholes) are petrel-felix's.\n"
		  "filter petrel_export_kernel\n{\n"
		  "\tif source = RTS_BGP then accept;\n"
		  "\treject;\n}\n");

	sb_printf(b, "\n# From the kernel: the host's own routes, to resolve BGP next hops; never\n"
		  "# petrel-felix's (route protocol %d), which must not come back.\n"
		  "filter petrel_import_kernel\n{\n"
		  "\tif krt_source = %d then reject;\n"
		  "\taccept;\n}\n", in->route_protocol, in->route_protocol);
}

static void render_base(struct sb *b, const struct ip4_net *blocks, size_t n_blocks,
			const uint32_t *borrowed, size_t n_borrowed, bool bfd)
{
	char buf[IP4_NETSTRLEN];

	sb_printf(b, "\n# -------------------------------------------------------------- protocols\n"
		  "\nprotocol device petrel_device {\n}\n"
		  "\n# Connected subnets, so that a peer's next hop resolves; exported nowhere.\n"
		  "protocol direct petrel_direct {\n"
		  "\tipv4;\n"
		  "\tinterface -\"ptl*\", \"*\";\n"
		  "}\n"
		  "\nprotocol kernel petrel_kernel {\n"
		  "\tipv4 {\n"
		  "\t\timport filter petrel_import_kernel;\n"
		  "\t\texport filter petrel_export_kernel;\n"
		  "\t};\n"
		  "\tlearn;\n"
		  "\tmerge paths on;\n"
		  "\tgraceful restart on;\n"
		  "}\n"
		  "\n# What this node originates. These routes stay inside BIRD (the kernel's\n"
		  "# blackholes and workload routes are petrel-felix's).\n"
		  "protocol static " BGPCONF_STATIC_PROTO " {\n"
		  "\tipv4;\n");
	for (size_t i = 0; i < n_blocks; i++)
		sb_printf(b, "\troute %s blackhole;\t# block\n", ip4_net_fmt(&blocks[i], buf));
	for (size_t i = 0; i < n_borrowed; i++) {
		struct ip4_net a = { borrowed[i], 32 };

		sb_printf(b, "\troute %s blackhole;\t# borrowed\n", ip4_net_fmt(&a, buf));
	}
	sb_printf(b, "}\n");
	if (bfd)
		sb_printf(b, "\nprotocol bfd petrel_bfd {\n}\n");
}

static void render_peer(struct sb *b, const struct bgpconf_peer *p,
			const struct bgpconf_local *local, const struct bgpconfig *cfg)
{
	char a[IP4_STRLEN], port[16] = "";

	sb_printf(b, "\nprotocol bgp %s {\n", p->proto);
	sb_printf(b, "\tdescription \"%s %s\";\n",
		  p->kind <= BGPCONF_RR ? "node" : "BGPPeer", p->from);
	if (cfg->log_level >= LOG_LVL_DEBUG)
		sb_printf(b, "\tdebug all;\n");
	else if (cfg->log_level == LOG_LVL_INFO)
		sb_printf(b, "\tdebug { states };\n");
	if (cfg->listen_port != BGP_DEFAULT_PORT)
		snprintf(port, sizeof(port), " port %u", (unsigned)cfg->listen_port);
	if (p->source == BGP_SRC_AUTO)
		sb_printf(b, "\tlocal%s as %" PRIu32 ";\n", port, local->asn);
	else
		sb_printf(b, "\tlocal %s%s as %" PRIu32 ";\n", ip4_fmt(local->address, a),
			  port, local->asn);
	port[0] = '\0';
	if (p->port != BGP_DEFAULT_PORT)
		snprintf(port, sizeof(port), " port %u", (unsigned)p->port);
	sb_printf(b, "\tneighbor %s%s as %" PRIu32 ";\n", ip4_fmt(p->ip, a), port, p->asn);
	if (p->passive)
		sb_printf(b, "\tpassive on;\n");
	if (p->password)
		sb_printf(b, "\tpassword \"%s\";\n", p->password);
	if (p->rr_client)
		sb_printf(b, "\trr client;\n");
	if (local->rr_cluster_id && p->asn == local->asn)
		sb_printf(b, "\trr cluster id %s;\n", ip4_fmt(local->rr_cluster_id, a));
	if (p->hold)
		sb_printf(b, "\thold time %u;\n", (unsigned)p->hold);
	if (p->keepalive)
		sb_printf(b, "\tkeepalive time %u;\n", (unsigned)p->keepalive);
	if (p->multihop)
		sb_printf(b, "\tmultihop %u;\n", (unsigned)p->multihop);
	if (p->ttl_security)
		sb_printf(b, "\tttl security on;\n");
	if (p->bfd)
		sb_printf(b, "\tbfd on;\n");
	sb_printf(b, "\tgraceful restart on;\n"
		  "\tgraceful restart time %" PRIu32 ";\n"
		  "\tconnect delay time 1;\n"
		  "\tconnect retry time 5;\n"
		  "\terror wait time 5, 30;\n"
		  "\tipv4 {\n", cfg->gr_time);
	if (p->import == BGP_IMPORT_ALL)
		sb_printf(b, "\t\timport all;\n");
	else
		sb_printf(b, "\t\timport filter petrel_import_bgp;\n");
	sb_printf(b, "\t\texport filter petrel_export_bgp;\n");
	if (p->next_hop == BGP_NH_SELF)
		sb_printf(b, "\t\tnext hop self;\n");
	else if (p->next_hop == BGP_NH_KEEP)
		sb_printf(b, "\t\tnext hop keep;\n");
	sb_printf(b, "\t};\n}\n");
}

int bgpconf_render(const struct bgpconf_input *in, char **out, struct errs *e)
{
	struct bgpconfig defaults;
	const struct bgpconfig *cfg = input_config(in, &defaults);
	size_t n_pools = in->n_pools, n_blocks = in->n_blocks;
	size_t n_borrowed = in->n_borrowed, n_com = cfg->n_communities, n_peers = 0;
	struct ip4_net *pools = NULL, *blocks = NULL;
	struct bgpconfig_community *com = NULL;
	struct bgpconf_peer *peers = NULL;
	struct bgpconf_local local;
	uint32_t *borrowed = NULL;
	struct sb b = { 0 };
	bool bfd = false;
	int rc;

	*out = NULL;
	if (n_com > BGPCONFIG_COMMUNITIES_MAX)
		n_com = BGPCONFIG_COMMUNITIES_MAX;
	rc = bgpconf_peers(in, &local, &peers, &n_peers, e);
	if (rc < 0)
		goto out;
	pools = sorted_copy(in->pools, &n_pools, sizeof(*pools), net_cmp, &b.oom);
	blocks = sorted_copy(in->blocks, &n_blocks, sizeof(*blocks), net_cmp, &b.oom);
	borrowed = sorted_copy(in->borrowed, &n_borrowed, sizeof(*borrowed), u32_cmp, &b.oom);
	com = sorted_copy(cfg->communities, &n_com, sizeof(*com), community_cmp, &b.oom);
	for (size_t i = 0; i < n_peers; i++)
		bfd |= peers[i].bfd;

	render_head(&b, in, &local);
	render_filters(&b, in, &local, pools, n_pools, com, n_com);
	render_base(&b, blocks, n_blocks, borrowed, n_borrowed, bfd);
	for (size_t i = 0; i < n_peers; i++)
		render_peer(&b, &peers[i], &local, cfg);
	if (b.oom) {
		free(b.s);
		rc = -ENOMEM;
		goto out;
	}
	*out = b.s;
	rc = 0;
out:
	free(pools);
	free(blocks);
	free(borrowed);
	free(com);
	free(peers);
	return rc;
}

mode_t bgpconf_mode(const struct bgpconf_input *in)
{
	struct bgpconf_peer *peers;
	struct bgpconf_local local;
	struct errs e = ERRS_INIT;
	mode_t mode = 0644;
	size_t n;

	/* when in doubt (an invalid input), the safer mode */
	if (bgpconf_peers(in, &local, &peers, &n, &e) < 0) {
		errs_clear(&e);
		return 0600;
	}
	for (size_t i = 0; i < n; i++)
		if (peers[i].password)
			mode = 0600;
	free(peers);
	return mode;
}
