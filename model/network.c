/*
 * network: the Network codec (see network.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/network.h"
#include "model/res_impl.h"

/* Names a workload's network may not have: docker's own network modes. */
bool network_name_reserved(const char *s)
{
	static const char *const reserved[] = { "routed", "host", "none", NULL };

	for (size_t i = 0; reserved[i]; i++)
		if (!strcmp(s, reserved[i]))
			return true;
	return false;
}
/* ---------------------------------------------------------------- Network */

int network_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct network *out, struct errs *e)
{
	static const char *const spec_keys[] = { "pool", NULL };
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct network n = { 0 };
	struct head h;
	const char *s;

	res_decode_head(&v, j, RES_NETWORK, false, false, &h);
	if (h.name && (!strcmp(h.name, NETWORK_DEFAULT) || network_name_reserved(h.name)))
		res_verr_field(&v, &h.meta, "name", "\"%s\" is reserved (default, routed, "
			   "host and none are built in)", h.name);
	else
		res_check_name(&v, &h, n.name);
	if (h.has_spec) {
		res_check_known(&v, &h.spec, spec_keys);
		if (res_get_str(&v, &h.spec, "pool", false, 1024, &s) > 0 && s[0]) {
			if (!res_name_valid(s))
				res_verr_field(&v, &h.spec, "pool", "invalid pool name \"%.80s\"", s);
			else
				res_copy_str(n.pool, sizeof(n.pool), s);
		}
	}
	if (res_vflush(&v) < 0) {
		network_clear(&n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

json_t *network_to_json(const struct network *n)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_NETWORK, n->name, NULL, &spec);

	if (n->pool[0])
		res_jset(&b, spec, "pool", json_string(n->pool));
	return res_enc_done(&b, j, spec);
}

void network_clear(struct network *n)
{
	if (n)
		memset(n, 0, sizeof(*n));
}
