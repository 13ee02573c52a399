/*
 * hostep: the HostEndpoint codec (see hostep.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/ifname.h"
#include "model/hostep.h"
#include "model/res_impl.h"

static void hostep_ifname(struct vctx *v, const struct vobj *sp, struct hostep *h)
{
	const char *s;

	if (res_get_str(v, sp, "interfaceName", false, 64, &s) <= 0)
		return;
	if (!strcmp(s, "*"))
		res_verr_field(v, sp, "interfaceName", "\"*\" (all interfaces) is not "
			       "supported: one HostEndpoint per interface");
	else if (!ifname_valid(s) || strlen(s) >= sizeof(h->ifname))
		res_verr_field(v, sp, "interfaceName", "invalid interface name \"%s\" "
			       "(1 to %d characters, no '/', ':' or whitespace)", s,
			       IFNAME_LEN);
	else if (!strncmp(s, IFNAME_PREFIX, strlen(IFNAME_PREFIX)))
		res_verr_field(v, sp, "interfaceName", "\"%s\": " IFNAME_PREFIX "* "
			       "interfaces are workloads', not the node's", s);
	else
		res_copy_str(h->ifname, sizeof(h->ifname), s);
}

static void hostep_ips(struct vctx *v, const struct vobj *sp, struct hostep *h)
{
	struct vobj list, it;
	size_t n;

	if (res_get_sub(v, sp, "expectedIPs", false, true, &list) <= 0)
		return;
	if ((n = json_array_size(list.j)) > HOSTEP_MAX_IPS) {
		res_verr(v, list.line, list.col, list.path,
			 "%zu addresses, at most %d", n, HOSTEP_MAX_IPS);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(list.j, i));
		uint32_t a;
		bool dup = false;

		res_vitem(v, &list, i, &it);
		if (!s) {
			res_verr(v, it.line, it.col, it.path, "must be an address, not %s",
				 yaml_type_name(it.j));
			continue;
		}
		if (ip4_parse(s, &a) < 0 || a == 0) {
			res_verr(v, it.line, it.col, it.path,
				 "invalid address \"%.64s\" (expected A.B.C.D)", s);
			continue;
		}
		for (size_t k = 0; k < h->n_ips && !dup; k++)
			dup = h->ips[k] == a;
		if (dup)
			res_verr(v, it.line, it.col, it.path, "\"%s\" listed twice", s);
		else
			h->ips[h->n_ips++] = a;
	}
}

int hostep_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct hostep *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"node", "interfaceName", "expectedIPs", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct hostep h = { 0 };
	struct head hd;
	const char *s;

	res_decode_head(&v, j, RES_HOSTEP, true, true, &hd);
	res_check_name(&v, &hd, h.name);
	res_decode_labels(&v, &hd, &h.labels);
	if (hd.has_spec) {
		res_check_known(&v, &hd.spec, spec_keys);
		if (res_get_str(&v, &hd.spec, "node", true, RES_NAME_MAX, &s) > 0) {
			if (!res_name_valid(s))
				res_verr_field(&v, &hd.spec, "node", "invalid node name \"%s\"", s);
			else
				res_copy_str(h.node, sizeof(h.node), s);
		}
		hostep_ifname(&v, &hd.spec, &h);
		hostep_ips(&v, &hd.spec, &h);
		if (!res_vmember(&hd.spec, "interfaceName") &&
		    !res_vmember(&hd.spec, "expectedIPs"))
			res_verr(&v, hd.spec.line, hd.spec.col, "spec",
				 "needs interfaceName or expectedIPs");
	}
	if (res_vflush(&v) < 0) {
		hostep_clear(&h);
		return -EINVAL;
	}
	*out = h;
	return 0;
}

json_t *hostep_to_json(const struct hostep *h)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_HOSTEP, h->name, &h->labels, &spec);

	res_jset(&b, spec, "node", json_string(h->node));
	if (h->ifname[0])
		res_jset(&b, spec, "interfaceName", json_string(h->ifname));
	if (h->n_ips) {
		json_t *a = json_array();

		for (size_t i = 0; i < h->n_ips; i++)
			if (!a || json_array_append_new(a, res_enc_addr(h->ips[i])) < 0)
				b.oom = true;
		res_jset(&b, spec, "expectedIPs", a);
	}
	return res_enc_done(&b, j, spec);
}

void hostep_clear(struct hostep *h)
{
	if (!h)
		return;
	labels_clear(&h->labels);
	memset(h, 0, sizeof(*h));
}
