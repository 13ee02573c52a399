/*
 * bgpconfig: the BGPConfiguration codec and BGP communities (see bgpconfig.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "common/log.h"
#include "model/bgpconfig.h"
#include "model/res_impl.h"

int bgpconfig_community_parse(const char *s, struct bgpconfig_community *out)
{
	struct bgpconfig_community c = { 0 };
	size_t parts = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);

		if (parts == 3 || !res_dec_u32(p, n, UINT32_MAX, &c.v[parts]))
			return -EINVAL;
		parts++;
		if (!colon)
			break;
		p = colon + 1;
	}
	if (parts == 2 && (c.v[0] > 65535 || c.v[1] > 65535))
		return -EINVAL;
	if (parts < 2)
		return -EINVAL;
	c.large = parts == 3;
	*out = c;
	return 0;
}

char *bgpconfig_community_fmt(const struct bgpconfig_community *c, char *buf)
{
	if (c->large)
		snprintf(buf, BGPCONFIG_COMMUNITY_STRLEN, "%" PRIu32 ":%" PRIu32 ":%" PRIu32,
			 c->v[0], c->v[1], c->v[2]);
	else
		snprintf(buf, BGPCONFIG_COMMUNITY_STRLEN, "%" PRIu32 ":%" PRIu32, c->v[0], c->v[1]);
	return buf;
}
/* ------------------------------------------------------- BGPConfiguration */

static const char *const log_level_names[] = {
	[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

void bgpconfig_defaults(struct bgpconfig *c)
{
	memset(c, 0, sizeof(*c));
	res_copy_str(c->name, sizeof(c->name), BGPCONFIG_NAME);
	c->asn = BGP_DEFAULT_ASN;
	c->mesh = true;
	c->gr_time = BGP_DEFAULT_GR_TIME;
	c->listen_port = BGP_DEFAULT_PORT;
	c->log_level = LOG_LVL_INFO;
}

static void bgp_communities(struct vctx *v, const struct vobj *spec,
			    struct bgpconfig *c)
{
	struct vobj cl;
	size_t n;

	if (res_get_sub(v, spec, "communities", false, true, &cl) <= 0)
		return;
	n = json_array_size(cl.j);
	if (n > BGPCONFIG_COMMUNITIES_MAX) {
		res_verr(v, cl.line, cl.col, cl.path, "too many communities (%zu, at most %d)",
		     n, BGPCONFIG_COMMUNITIES_MAX);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct bgpconfig_community com;
		struct vobj it;
		const char *s;
		size_t k;

		res_vitem(v, &cl, i, &it);
		if (!json_is_string(it.j)) {
			res_verr(v, it.line, it.col, it.path, "must be a string, not %s "
			     "(quote it: \"65000:100\")", yaml_type_name(it.j));
			continue;
		}
		s = json_string_value(it.j);
		if (bgpconfig_community_parse(s, &com) < 0) {
			res_verr(v, it.line, it.col, it.path, "invalid community \"%.80s\" "
			     "(A:B with parts 0..65535, or A:B:C with parts 0..4294967295)", s);
			continue;
		}
		for (k = 0; k < c->n_communities; k++)
			if (!memcmp(&c->communities[k], &com, sizeof(com)))
				break;
		if (k < c->n_communities) {
			res_verr(v, it.line, it.col, it.path, "duplicate community \"%s\"", s);
			continue;
		}
		c->communities[c->n_communities++] = com;
	}
}

int bgpconfig_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct bgpconfig *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"asNumber", "nodeToNodeMesh", "meshPassword", "communities",
		"gracefulRestartTime", "listenPort", "logLevel", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct bgpconfig c;
	json_int_t i;
	struct head h;

	bgpconfig_defaults(&c);
	res_decode_head(&v, j, RES_BGPCONFIG, false, false, &h);
	if (h.name && strcmp(h.name, BGPCONFIG_NAME))
		res_verr_field(&v, &h.meta, "name", "must be \"" BGPCONFIG_NAME "\" (the "
			   "cluster-wide configuration), not \"%.80s\"", h.name);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		res_check_known(&v, sp, spec_keys);
		if (res_get_int(&v, sp, "asNumber", 1, 4294967295LL, &i) > 0)
			c.asn = (uint32_t)i;
		res_get_bool(&v, sp, "nodeToNodeMesh", &c.mesh);
		res_get_password(&v, sp, "meshPassword", BGP_PASSWORD_MAX, &c.mesh_password);
		bgp_communities(&v, sp, &c);
		if (res_get_int(&v, sp, "gracefulRestartTime", 1, 4095, &i) > 0)
			c.gr_time = (uint32_t)i;
		if (res_get_int(&v, sp, "listenPort", 1, 65535, &i) > 0)
			c.listen_port = (uint16_t)i;
		res_get_enum(&v, sp, "logLevel", log_level_names, 4, &c.log_level);
	}
	if (res_vflush(&v) < 0) {
		bgpconfig_clear(&c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

json_t *bgpconfig_to_json(const struct bgpconfig *c)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_BGPCONFIG, c->name, NULL, &spec);

	res_jset(&b, spec, "asNumber", json_integer(c->asn));
	res_jset(&b, spec, "nodeToNodeMesh", json_boolean(c->mesh));
	if (c->mesh_password)
		res_jset(&b, spec, "meshPassword", json_string(c->mesh_password));
	if (c->n_communities) {
		json_t *a = json_array();

		for (size_t i = 0; i < c->n_communities && i < BGPCONFIG_COMMUNITIES_MAX; i++) {
			char buf[BGPCONFIG_COMMUNITY_STRLEN];

			if (!a || json_array_append_new(a, json_string(
					bgpconfig_community_fmt(&c->communities[i], buf))) < 0)
				b.oom = true;
		}
		res_jset(&b, spec, "communities", a);
	}
	res_jset(&b, spec, "gracefulRestartTime", json_integer(c->gr_time));
	res_jset(&b, spec, "listenPort", json_integer(c->listen_port));
	res_jset(&b, spec, "logLevel", json_string(
		     (unsigned)c->log_level <= LOG_LVL_DEBUG ? log_level_names[c->log_level] :
							       "info"));
	return res_enc_done(&b, j, spec);
}

void bgpconfig_clear(struct bgpconfig *c)
{
	if (!c)
		return;
	free(c->mesh_password);
	memset(c, 0, sizeof(*c));
}
