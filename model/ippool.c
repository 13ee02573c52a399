/*
 * ippool: the IPPool codec (see ippool.h, and res.c for the conventions).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ippool.h"
#include "model/res_impl.h"

int ippool_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct ippool *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"cidr", "blockSize", "natOutgoing", "disabled", "strictAffinity",
		"nodeSelector", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct ippool p = { .block_size = 26 };
	json_int_t bs = 0;
	bool cidr_ok = false;
	int fam = 0, len = 0, bmin = 20, bmax = 32, bdef = 26;
	struct head h;
	const char *sel;

	res_decode_head(&v, j, RES_IPPOOL, false, true, &h);
	res_check_name(&v, &h, p.name);
	if (h.has_spec) {
		res_check_known(&v, &h.spec, spec_keys);
		fam = res_get_cidr46(&v, &h.spec, "cidr", true, &p.cidr, &p.cidr6);
		cidr_ok = fam > 0;
		if (fam == 6) {
			p.v6 = true;
			len = p.cidr6.len;
			bmin = IPPOOL_V6_BLOCK_MIN;
			bmax = 128;
			bdef = p.block_size = IPPOOL_V6_BLOCK_DEFAULT;
		} else if (fam == 4) {
			len = p.cidr.len;
		}
		if (res_get_int(&v, &h.spec, "blockSize", bmin, bmax, &bs) > 0) {
			p.block_size = (int)bs;
			if (cidr_ok && bs < len)
				res_verr_field(&v, &h.spec, "blockSize",
					   "%d is shorter than the pool's prefix length %d "
					   "(a block must fit in the pool)",
					   p.block_size, len);
		} else if (cidr_ok && len > bdef) {
			p.block_size = len;
		}
		res_get_bool(&v, &h.spec, "natOutgoing", &p.nat_outgoing);
		res_get_bool(&v, &h.spec, "disabled", &p.disabled);
		res_get_bool(&v, &h.spec, "strictAffinity", &p.strict_affinity);
		if (res_get_str(&v, &h.spec, "nodeSelector", false, NODESEL_MAX, &sel) > 0 &&
		    sel[0]) {
			p.node_selector = strdup(sel);
			if (!p.node_selector)
				res_verr(&v, 0, 0, NULL, "out of memory");
		}
	}
	if (res_vflush(&v) < 0) {
		ippool_clear(&p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

json_t *ippool_to_json(const struct ippool *p)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_IPPOOL, p->name, NULL, &spec);

	res_jset(&b, spec, "cidr", p->v6 ? res_enc_net6(&p->cidr6) : res_enc_net(&p->cidr));
	res_jset(&b, spec, "blockSize", json_integer(p->block_size));
	res_jset(&b, spec, "natOutgoing", json_boolean(p->nat_outgoing));
	res_jset(&b, spec, "disabled", json_boolean(p->disabled));
	res_jset(&b, spec, "strictAffinity", json_boolean(p->strict_affinity));
	if (p->node_selector && p->node_selector[0])
		res_jset(&b, spec, "nodeSelector", json_string(p->node_selector));
	return res_enc_done(&b, j, spec);
}

void ippool_clear(struct ippool *p)
{
	if (!p)
		return;
	free(p->node_selector);
	memset(p, 0, sizeof(*p));
}

void ippool_v6_refusal(const char *what, char *buf, size_t len)
{
	snprintf(buf, len, "IPv6 pools are not routed yet: %s is IPv6 (petrel's "
		 "data path, BGP and policy are IPv4 only; see docs/ipv6.md)", what);
}
