/*
 * Resources: get (a list, or one by name; -o table, wide, yaml, json).
 * Secrets (BGP passwords) show as "***" in every format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"
#include "ipam/ipam.h"

static const char usage_get[] =
	"usage: petrelctl get KIND [NAME]\n"
	"\n"
	"Lists resources of KIND, or shows one. KIND: ippool, node,\n"
	"workloadendpoint (wep; NAME on this node, or NODE/NAME), ipamblock\n"
	"(NAME like 10.65.0.64-26), ipamhandle, bgppeer, bgpconfiguration,\n"
	"networkpolicy (netpol), network (net).\n"
	"-o table (default), wide, yaml, json (a list: {\"kind\":\"List\",\n"
	"\"items\":[...]}; yaml: a --- stream). Passwords show as \"***\".\n";

/* NAME ORDER SELECTOR TYPES INGRESS EGRESS (the rule counts). */
static void netpolicy_row(struct table *t, const struct netpolicy *p)
{
	char order[32] = "", in[24], out[24];
	const char *cells[6];

	if (p->has_order)
		snprintf(order, sizeof(order), "%.15g", p->order);
	snprintf(in, sizeof(in), "%zu", p->n_ingress);
	snprintf(out, sizeof(out), "%zu", p->n_egress);
	cells[0] = p->name;
	cells[1] = order;
	cells[2] = p->selector && p->selector[0] ? p->selector : "all()";
	cells[3] = p->ingress && p->egress ? "Ingress,Egress" :
		   p->egress ? "Egress" : "Ingress";
	cells[4] = in;
	cells[5] = out;
	table_add(t, cells);
}

/* NAME NODE INTERFACE EXPECTEDIPS [LABELS] */
static void hostep_row(struct table *t, const struct hostep *h)
{
	char ips[HOSTEP_MAX_IPS * IP4_STRLEN] = "", labels[512] = "";
	const char *cells[5];
	size_t off = 0;

	for (size_t i = 0; i < h->n_ips && off < sizeof(ips); i++) {
		char ab[IP4_STRLEN];

		off += (size_t)snprintf(ips + off, sizeof(ips) - off, "%s%s",
					i ? "," : "", ip4_fmt(h->ips[i], ab));
	}
	out_labels(&h->labels, labels, sizeof(labels));
	cells[0] = h->name;
	cells[1] = h->node;
	cells[2] = h->ifname;
	cells[3] = ips;
	cells[4] = labels;
	table_add(t, cells);
}

static void get_row(enum out_fmt fmt, struct table *t, const struct resource *r)
{
	char a[64] = "", b[64] = "", d[64] = "", x[512] = "";
	const char *cells[8] = { 0 };

	switch (r->kind) {
	case RES_IPPOOL: {
		const struct ippool *p = &r->u.pool;

		snprintf(b, sizeof(b), "%d", p->block_size);
		cells[0] = p->name;
		cells[1] = p->v6 ? ip6_net_fmt(&p->cidr6, a) : ip4_net_fmt(&p->cidr, a);
		cells[2] = b;
		cells[3] = p->nat_outgoing ? "true" : "false";
		cells[4] = p->disabled ? "true" : "false";
		cells[5] = p->strict_affinity ? "true" : "false";
		cells[6] = p->node_selector ? p->node_selector : "all()";
		break;
	}
	case RES_NODE: {
		const struct node *n = &r->u.node;
		if (n->bgp_asn)
			snprintf(a, sizeof(a), "%u", n->bgp_asn);
		if (n->bgp_ipv4)
			ip4_fmt(n->bgp_ipv4, b);
		out_labels(&n->labels, x, sizeof(x));
		cells[0] = n->name;
		cells[1] = a;
		cells[2] = b;
		cells[3] = n->rr_cluster_id;
		cells[4] = x;
		break;
	}
	case RES_WEP: {
		const struct wep *w = &r->u.wep;

		if (w->n_nets)
			ip4_net_fmt(&w->nets[0], a);
		if (w->has_mac)
			snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", w->mac[0],
				 w->mac[1], w->mac[2], w->mac[3], w->mac[4], w->mac[5]);
		cells[0] = w->node;
		cells[1] = w->name;
		cells[2] = wep_mode_name(w->mode);
		cells[3] = a;
		cells[4] = w->ifname;
		cells[5] = w->netns;
		cells[6] = b;
		cells[7] = w->container_id;
		break;
	}
	case RES_IPAMBLOCK: {
		const struct ipamblock *k = &r->u.block;

		snprintf(b, sizeof(b), "%zu/%zu", ipamblock_used(k), ipamblock_size(k));
		cells[0] = k->v6 ? ip6_net_fmt(&k->cidr6, a) : ip4_net_fmt(&k->cidr, a);
		cells[1] = k->affinity;
		cells[2] = k->pool;
		cells[3] = b;
		break;
	}
	case RES_IPAMHANDLE: {
		const struct ipamhandle *h = &r->u.handle;
		size_t off = 0;

		for (size_t i = 0; i < h->n && off < sizeof(x); i++) {
			char ab[IP4_STRLEN];

			off += (size_t)snprintf(x + off, sizeof(x) - off, "%s%s",
						i ? "," : "", ip4_fmt(h->addrs[i], ab));
		}
		out_age(h->created > 0 ? (int64_t)time(NULL) - h->created : -1, d,
			sizeof(d));
		cells[0] = h->id;
		cells[1] = x;
		cells[2] = d;
		break;
	}
	case RES_BGPPEER:
	case RES_BGPCONFIG:
		ctl_bgp_row(t, r);
		return;
	case RES_NETPOLICY:
		netpolicy_row(t, &r->u.netpolicy);
		return;
	case RES_NETWORK:
		cells[0] = r->u.network.name;
		cells[1] = r->u.network.pool;
		break;
	case RES_HOSTEP:
		hostep_row(t, &r->u.hostep);
		return;
	default:
		break;
	}
	(void)fmt;
	table_add(t, cells);
}

static struct table *get_table(enum res_kind k, enum out_fmt fmt)
{
	static const char *const pool[] = { "NAME", "CIDR", "BLOCKSIZE", "NAT",
					    "DISABLED", "STRICT", "SELECTOR" };
	static const char *const node[] = { "NAME", "ASN", "IPV4", "RRCLUSTER",
					    "LABELS" };
	static const char *const wep[] = { "NODE", "NAME", "MODE", "ADDRESS",
					   "INTERFACE", "NETNS", "MAC", "CONTAINERID" };
	static const char *const block[] = { "CIDR", "AFFINITY", "POOL", "USED/SIZE" };
	static const char *const handle[] = { "HANDLE", "ADDRESSES", "AGE" };
	static const char *const np[] = { "NAME", "ORDER", "SELECTOR", "TYPES",
					  "INGRESS", "EGRESS" };
	static const char *const net[] = { "NAME", "POOL" };
	static const char *const hep[] = { "NAME", "NODE", "INTERFACE", "EXPECTEDIPS",
					   "LABELS" };
	bool w = fmt == OUT_WIDE;

	switch (k) {
	case RES_IPPOOL: return table_new(w ? 7 : 5, pool);
	case RES_NODE: return table_new(w ? 5 : 3, node);
	case RES_WEP: return table_new(w ? 8 : 5, wep);
	case RES_IPAMBLOCK: return table_new(4, block);
	case RES_BGPPEER:
	case RES_BGPCONFIG: return ctl_bgp_table(k, fmt);
	case RES_NETPOLICY: return table_new(6, np);
	case RES_NETWORK: return table_new(2, net);
	case RES_HOSTEP: return table_new(w ? 5 : 4, hep);
	default: return table_new(3, handle);
	}
}

/* NAME as the key segment of kind k (petrelctl.h). */
int ctl_get_key(struct ctl *c, enum res_kind k, const char *name, char *key,
		size_t len)
{
	char id[2 * RES_NAME_MAX + IPAMHANDLE_ID_MAX];

	if (k == RES_WEP && !strchr(name, '/')) {
		snprintf(id, sizeof(id), "%s/%s", c->cfg.node, name);
	} else if (k == RES_IPAMBLOCK && strchr(name, '/')) {
		struct ip4_net n;

		if (ip4_net_parse(name, &n, false, false) < 0)
			return -EINVAL;
		ipamblock_name(&n, id);
	} else {
		snprintf(id, sizeof(id), "%s", name);
	}
	if (strstr(id, "..") || (k != RES_WEP && strchr(id, '/')))
		return -EINVAL;
	return res_key(k, id, key, len);
}

int cmd_get(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	struct ds_kv *kvs = NULL;
	struct table *t = NULL;
	json_t *items = NULL;
	size_t nkv = 0;
	int opt, r, k, rc = CTL_ERR;
	char key[RES_KEY_MAX];
	int64_t rev;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (!ctl_opt_common(c, opt, usage_get, argv, &r))
			return r;
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which kind? (ippool, node, workloadendpoint, "
				     "ipamblock, ipamhandle, bgppeer, bgpconfiguration, "
				     "networkpolicy, network, hostendpoint)");
	k = res_kind_parse(argv[optind]);
	if (k < 0)
		return ctl_usage_err(c, "unknown kind '%s' (ippool, node, "
				     "workloadendpoint, ipamblock, ipamhandle, bgppeer, "
				     "bgpconfiguration, networkpolicy, network, hostendpoint)",
				     argv[optind]);
	if (optind + 2 < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind + 2]);
	if (ctl_ds(c) != CTL_OK)
		return CTL_ERR;
	if (optind + 1 < argc) {
		const char *name = argv[optind + 1];
		struct ds_kv kv = { 0 };
		struct resource res = { 0 };
		struct errs e = ERRS_INIT;

		if (ctl_get_key(c, (enum res_kind)k, name, key, sizeof(key)) < 0 ||
		    (r = ds_get(c->ds, key, &kv)) == -ENOENT) {
			log_err("no %s %s", out_kind_lower((enum res_kind)k), name);
			return CTL_ERR;
		}
		if (r < 0) {
			log_err("reading %s: %s (%s)", key, ds_strerror(r), ds_last_error(c->ds));
			return CTL_ERR;
		}
		r = res_from_text((enum res_kind)k, kv.value, kv.mod_rev, &res, &e);
		ds_kv_clear(&kv);
		if (r < 0) {
			log_err("%s: the stored document is invalid:", key);
			ctl_print_errs(&e);
			return CTL_ERR;
		}
		if (c->out == OUT_JSON || c->out == OUT_YAML) {
			json_t *j = res_to_json(&res);

			ctl_bgp_mask(j);
			if (j)
				out_doc(c->out, j);
			else
				log_err("out of memory");
			json_decref(j);
		} else {
			t = get_table((enum res_kind)k, c->out);
			get_row(c->out, t, &res);
			table_print(t, stdout);
			table_free(t);
		}
		res_clear(&res);
		return CTL_OK;
	}
	r = res_prefix((enum res_kind)k, NULL, key, sizeof(key));
	if (r == 0)
		r = ds_list(c->ds, key, &kvs, &nkv, &rev);
	if (r < 0) {
		log_err("listing %s: %s (%s)", res_kind_plural((enum res_kind)k),
			ds_strerror(r), ds_last_error(c->ds));
		return CTL_ERR;
	}
	if (c->out == OUT_JSON || c->out == OUT_YAML)
		items = json_array();
	else
		t = get_table((enum res_kind)k, c->out);
	for (size_t i = 0; i < nkv; i++) {
		struct resource res = { 0 };
		struct errs e = ERRS_INIT;

		if (res_from_text((enum res_kind)k, kvs[i].value, kvs[i].mod_rev, &res, &e) < 0) {
			log_warn("%s: invalid stored document, skipped", kvs[i].key);
			ctl_print_errs(&e);
			continue;
		}
		if (items) {
			json_t *j = res_to_json(&res);

			ctl_bgp_mask(j);
			json_array_append_new(items, j);
		} else
			get_row(c->out, t, &res);
		res_clear(&res);
	}
	if (items)
		out_list(c->out, items);
	else
		table_print(t, stdout);
	rc = CTL_OK;
	json_decref(items);
	table_free(t);
	ds_kvs_free(kvs, nkv);
	return rc;
}
