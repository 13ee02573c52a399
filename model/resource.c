/*
 * resource: a resource of any kind (see resource.h): the dispatch by kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "model/resource.h"
#include "model/res_impl.h"

/* The kind named by a document; -1 (reported, with any apiVersion problem
 * too, since the kind's decoder will not run) when there is none. */
static int doc_kind(const json_t *j, const struct ydoc *doc, const char *file,
		    struct errs *e)
{
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct vobj root = { .j = j };
	const char *kind, *s;
	int k = -1;

	root.line = doc ? doc->line : 0;
	root.col = doc ? doc->col : 0;
	if (!json_is_object(j)) {
		res_verr(&v, root.line, root.col, NULL, "a document must be a mapping, not %s",
		     yaml_type_name(j));
		goto out;
	}
	if (res_get_str(&v, &root, "kind", true, 64, &kind) > 0) {
		for (k = 0; k < RES_KIND_COUNT; k++)
			if (!strcmp(kind, res_kind_name(k)))
				goto out;
		k = res_kind_parse(kind);
		if (k >= 0)
			res_verr_field(&v, &root, "kind", "unknown kind \"%s\" (did you mean %s?)",
				   kind, res_kind_name(k));
		else
			res_verr_field(&v, &root, "kind", "unknown kind \"%s\" (IPPool, Node, "
				   "WorkloadEndpoint, IPAMBlock, IPAMHandle, BGPConfiguration, "
				   "BGPPeer, NetworkPolicy, Network or HostEndpoint)", kind);
		k = -1;
	}
	if (res_get_str(&v, &root, "apiVersion", true, 64, &s) > 0 && strcmp(s, RES_API_VERSION))
		res_verr_field(&v, &root, "apiVersion", "unsupported \"%s\" (expected %s)",
			   s, RES_API_VERSION);
out:
	res_vflush(&v);
	return k;
}

int res_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct resource *out, struct errs *e)
{
	struct resource r = { 0 };
	int k = doc_kind(j, doc, file, e), rc;

	if (k < 0)
		return -EINVAL;
	r.kind = (enum res_kind)k;
	switch (r.kind) {
	case RES_IPPOOL: rc = ippool_from_json(j, doc, file, &r.u.pool, e); break;
	case RES_NODE: rc = node_from_json(j, doc, file, &r.u.node, e); break;
	case RES_WEP: rc = wep_from_json(j, doc, file, &r.u.wep, e); break;
	case RES_IPAMBLOCK: rc = ipamblock_from_json(j, doc, file, &r.u.block, e); break;
	case RES_BGPCONFIG:
		rc = bgpconfig_from_json(j, doc, file, &r.u.bgpconfig, e);
		break;
	case RES_BGPPEER: rc = bgppeer_from_json(j, doc, file, &r.u.bgppeer, e); break;
	case RES_NETPOLICY:
		rc = netpolicy_from_json(j, doc, file, &r.u.netpolicy, e);
		break;
	case RES_NETWORK: rc = network_from_json(j, doc, file, &r.u.network, e); break;
	case RES_HOSTEP: rc = hostep_from_json(j, doc, file, &r.u.hostep, e); break;
	case RES_IPAMHANDLE:
	default: rc = ipamhandle_from_json(j, doc, file, &r.u.handle, e); break;
	}
	if (rc < 0)
		return rc;
	*out = r;
	return 0;
}

json_t *res_to_json(const struct resource *r)
{
	json_t *j;

	switch (r->kind) {
	case RES_IPPOOL: j = ippool_to_json(&r->u.pool); break;
	case RES_NODE: j = node_to_json(&r->u.node); break;
	case RES_WEP: j = wep_to_json(&r->u.wep); break;
	case RES_IPAMBLOCK: j = ipamblock_to_json(&r->u.block); break;
	case RES_IPAMHANDLE: j = ipamhandle_to_json(&r->u.handle); break;
	case RES_BGPCONFIG: j = bgpconfig_to_json(&r->u.bgpconfig); break;
	case RES_BGPPEER: j = bgppeer_to_json(&r->u.bgppeer); break;
	case RES_NETPOLICY: j = netpolicy_to_json(&r->u.netpolicy); break;
	case RES_NETWORK: j = network_to_json(&r->u.network); break;
	case RES_HOSTEP: j = hostep_to_json(&r->u.hostep); break;
	default: return NULL;
	}
	if (j && r->revision > 0 &&
	    json_object_set_new(json_object_get(j, "metadata"), "revision",
				json_integer(r->revision)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void res_clear(struct resource *r)
{
	if (!r)
		return;
	switch (r->kind) {
	case RES_IPPOOL: ippool_clear(&r->u.pool); break;
	case RES_NODE: node_clear(&r->u.node); break;
	case RES_WEP: wep_clear(&r->u.wep); break;
	case RES_IPAMBLOCK: ipamblock_clear(&r->u.block); break;
	case RES_IPAMHANDLE: ipamhandle_clear(&r->u.handle); break;
	case RES_BGPCONFIG: bgpconfig_clear(&r->u.bgpconfig); break;
	case RES_BGPPEER: bgppeer_clear(&r->u.bgppeer); break;
	case RES_NETPOLICY: netpolicy_clear(&r->u.netpolicy); break;
	case RES_NETWORK: network_clear(&r->u.network); break;
	case RES_HOSTEP: hostep_clear(&r->u.hostep); break;
	default: break;
	}
	r->revision = 0;
}

void res_name(const struct resource *r, char *buf, size_t len)
{
	char name[IP4_NETSTRLEN];

	switch (r->kind) {
	case RES_IPPOOL: snprintf(buf, len, "%s", r->u.pool.name); break;
	case RES_NODE: snprintf(buf, len, "%s", r->u.node.name); break;
	case RES_WEP: snprintf(buf, len, "%s/%s", r->u.wep.node, r->u.wep.name); break;
	case RES_IPAMBLOCK:
		ipamblock_name(&r->u.block.cidr, name);
		snprintf(buf, len, "%s", name);
		break;
	case RES_IPAMHANDLE: snprintf(buf, len, "%s", r->u.handle.id); break;
	case RES_BGPCONFIG: snprintf(buf, len, "%s", r->u.bgpconfig.name); break;
	case RES_BGPPEER: snprintf(buf, len, "%s", r->u.bgppeer.name); break;
	case RES_NETPOLICY: snprintf(buf, len, "%s", r->u.netpolicy.name); break;
	case RES_NETWORK: snprintf(buf, len, "%s", r->u.network.name); break;
	case RES_HOSTEP: snprintf(buf, len, "%s", r->u.hostep.name); break;
	default: snprintf(buf, len, "?"); break;
	}
}

int res_from_text(enum res_kind k, const char *text, int64_t rev,
		  struct resource *out, struct errs *e)
{
	struct resource r = { 0 };
	json_error_t jerr;
	json_t *j;
	int rc;

	j = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		if (e)
			errs_add(e, "invalid stored %s: %s", res_kind_name(k), jerr.text);
		return -EINVAL;
	}
	rc = res_from_json(j, NULL, NULL, &r, e);
	json_decref(j);
	if (rc < 0)
		return rc;
	if (r.kind != k) {
		if (e)
			errs_add(e, "stored document is a %s, expected a %s",
				 res_kind_name(r.kind), res_kind_name(k));
		res_clear(&r);
		return -EINVAL;
	}
	r.revision = rev;
	*out = r;
	return 0;
}

char *res_to_text(const struct resource *r)
{
	struct resource copy = *r;
	json_t *j;
	char *s;

	/* the store keeps the revision beside the document, never inside it */
	copy.revision = 0;
	j = res_to_json(&copy);
	if (!j)
		return NULL;
	/* a real (a NetworkPolicy's order) in the digits it was normalized to */
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(NP_ORDER_DIGITS));
	json_decref(j);
	return s;
}
