/*
 * node: the Node codec and node selectors (see node.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/selector.h"
#include "model/node.h"
#include "model/res_impl.h"

int node_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		   struct node *out, struct errs *e)
{
	static const char *const spec_keys[] = { "bgp", NULL };
	static const char *const bgp_keys[] = {
		"ipv4Address", "asNumber", "routeReflectorClusterID", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct node n = { 0 };
	struct vobj bgp;
	struct head h;
	const char *s;
	json_int_t asn;

	res_decode_head(&v, j, RES_NODE, true, false, &h);
	res_check_name(&v, &h, n.name);
	res_decode_labels(&v, &h, &n.labels);
	if (h.has_spec) {
		res_check_known(&v, &h.spec, spec_keys);
		if (res_get_sub(&v, &h.spec, "bgp", false, false, &bgp) > 0) {
			res_check_known(&v, &bgp, bgp_keys);
			if (res_get_str(&v, &bgp, "ipv4Address", false, 64, &s) > 0) {
				struct ip4_net a;

				if (ip4_net_parse(s, &a, true, true) < 0)
					res_verr_field(&v, &bgp, "ipv4Address",
						   "invalid IPv4 address \"%s\"", s);
				else if (a.addr == 0)
					res_verr_field(&v, &bgp, "ipv4Address",
						   "0.0.0.0 is not an address to peer from");
				else
					n.bgp_ipv4 = a.addr;
			}
			if (res_get_int(&v, &bgp, "asNumber", 1, 4294967295LL, &asn) > 0)
				n.bgp_asn = (uint32_t)asn;
			if (res_get_str(&v, &bgp, "routeReflectorClusterID", false, 64, &s) > 0) {
				uint32_t id;
				char buf[IP4_STRLEN];

				if (ip4_parse(s, &id) < 0)
					res_verr_field(&v, &bgp, "routeReflectorClusterID",
						   "invalid cluster ID \"%s\" (a dotted quad)", s);
				else if (!(n.rr_cluster_id = strdup(ip4_fmt(id, buf))))
					res_verr(&v, 0, 0, NULL, "out of memory");
			}
		}
	}
	if (res_vflush(&v) < 0) {
		node_clear(&n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

json_t *node_to_json(const struct node *n)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_NODE, n->name, &n->labels, &spec);

	if (n->bgp_ipv4 || n->bgp_asn || n->rr_cluster_id) {
		json_t *bgp = json_object();

		if (n->bgp_ipv4)
			res_jset(&b, bgp, "ipv4Address", res_enc_addr(n->bgp_ipv4));
		if (n->bgp_asn)
			res_jset(&b, bgp, "asNumber", json_integer(n->bgp_asn));
		if (n->rr_cluster_id)
			res_jset(&b, bgp, "routeReflectorClusterID", json_string(n->rr_cluster_id));
		res_jset(&b, spec, "bgp", bgp);
	}
	return res_enc_done(&b, j, spec);
}

void node_clear(struct node *n)
{
	if (!n)
		return;
	free(n->rr_cluster_id);
	labels_clear(&n->labels);
	memset(n, 0, sizeof(*n));
}
/* --------------------------------------------------------- node selectors */

int node_selector_match(const char *sel, const struct labels *l)
{
	/* NULL is refused here (a caller's field says what its NULL means);
	 * "" is all(), as in Calico */
	if (!sel)
		return -EINVAL;
	return selector_match_text(sel, l);
}
