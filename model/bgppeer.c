/*
 * bgppeer: the BGPPeer codec (see bgppeer.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/bgppeer.h"
#include "model/res_impl.h"

static const char *const bgp_nh_names[] = { "auto", "self", "keep" };
static const char *const bgp_src_names[] = { "nodeIP", "auto" };
static const char *const bgp_import_names[] = { "pools", "all" };

/* "A.B.C.D" or "A.B.C.D:PORT". */
static int peer_addr_parse(const char *s, uint32_t *ip, uint16_t *port)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	char buf[IP4_STRLEN];
	uint32_t p = 0;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ip4_parse(buf, ip) < 0)
		return -EINVAL;
	if (colon && (!res_dec_u32(colon + 1, strlen(colon + 1), 65535, &p) || p == 0))
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static void bgppeer_addr(struct vctx *v, const struct vobj *sp, struct bgppeer *p)
{
	const char *s;

	if (res_get_str(v, sp, "peerIP", true, 64, &s) <= 0)
		return;
	if (peer_addr_parse(s, &p->peer_ip, &p->peer_port) < 0)
		res_verr_field(v, sp, "peerIP", "invalid peer address \"%s\" "
			   "(expected A.B.C.D or A.B.C.D:PORT)", s);
	else if (p->peer_ip == 0)
		res_verr_field(v, sp, "peerIP", "0.0.0.0 is not a peer address");
	else if ((p->peer_ip >> 28) == 0xe)
		res_verr_field(v, sp, "peerIP", "\"%s\" is a multicast address", s);
	else if (p->peer_ip == 0xffffffffu)
		res_verr_field(v, sp, "peerIP", "255.255.255.255 is not a peer address");
}

int bgppeer_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct bgppeer *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"peerIP", "asNumber", "node", "nodeSelector", "password",
		"keepaliveTime", "holdTime", "bfd", "ttlSecurity", "multihop",
		"nextHopMode", "sourceAddress", "import", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct bgppeer p = { 0 };
	int nh = BGP_NH_AUTO, src = BGP_SRC_NODE_IP, imp = BGP_IMPORT_POOLS;
	bool has_node = false;
	struct head h;
	const char *s;
	json_int_t i;

	res_decode_head(&v, j, RES_BGPPEER, false, true, &h);
	res_check_name(&v, &h, p.name);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		res_check_known(&v, sp, spec_keys);
		bgppeer_addr(&v, sp, &p);
		if (res_get_int(&v, sp, "asNumber", 1, 4294967295LL, &i) > 0)
			p.asn = (uint32_t)i;
		else if (!res_vmember(sp, "asNumber"))
			res_verr_missing(&v, sp, "asNumber");
		if (res_get_str(&v, sp, "node", false, 1024, &s) > 0) {
			has_node = true;
			if (!res_name_valid(s))
				res_verr_field(&v, sp, "node", "invalid node name \"%.80s\"", s);
			else
				res_copy_str(p.node, sizeof(p.node), s);
		}
		if (has_node && res_vmember(sp, "nodeSelector"))
			res_verr_field(&v, sp, "nodeSelector",
				   "give node or nodeSelector, not both");
		else
			res_get_selector(&v, sp, "nodeSelector", &p.node_selector);
		res_get_password(&v, sp, "password", BGP_PASSWORD_MAX, &p.password);
		if (res_get_int(&v, sp, "keepaliveTime", 1, 65535, &i) > 0)
			p.keepalive = (uint16_t)i;
		if (res_get_int(&v, sp, "holdTime", 3, 65535, &i) > 0)
			p.hold = (uint16_t)i;
		if (p.keepalive && p.keepalive >= (p.hold ? p.hold : 240))
			res_verr_field(&v, sp, "keepaliveTime", "%u s must be less than the hold "
				   "time (%u s%s)", (unsigned)p.keepalive,
				   (unsigned)(p.hold ? p.hold : 240), p.hold ? "" : ", the default");
		res_get_bool(&v, sp, "bfd", &p.bfd);
		res_get_bool(&v, sp, "ttlSecurity", &p.ttl_security);
		if (res_get_int(&v, sp, "multihop", 1, 255, &i) > 0)
			p.multihop = (uint8_t)i;
		res_get_enum(&v, sp, "nextHopMode", bgp_nh_names, 3, &nh);
		res_get_enum(&v, sp, "sourceAddress", bgp_src_names, 2, &src);
		res_get_enum(&v, sp, "import", bgp_import_names, 2, &imp);
		p.next_hop = (enum bgp_next_hop)nh;
		p.source = (enum bgp_source)src;
		p.import = (enum bgp_import)imp;
		if (p.bfd && p.multihop && p.source == BGP_SRC_AUTO)
			res_verr_field(&v, sp, "bfd", "BFD on a multihop session needs "
				   "sourceAddress nodeIP");
	}
	if (res_vflush(&v) < 0) {
		bgppeer_clear(&p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

json_t *bgppeer_to_json(const struct bgppeer *p)
{
	char addr[IP4_STRLEN + 8], ip[IP4_STRLEN];
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_BGPPEER, p->name, NULL, &spec);

	ip4_fmt(p->peer_ip, ip);
	if (p->peer_port)
		snprintf(addr, sizeof(addr), "%s:%u", ip, (unsigned)p->peer_port);
	else
		snprintf(addr, sizeof(addr), "%s", ip);
	res_jset(&b, spec, "peerIP", json_string(addr));
	res_jset(&b, spec, "asNumber", json_integer(p->asn));
	if (p->node[0])
		res_jset(&b, spec, "node", json_string(p->node));
	if (p->node_selector)
		res_jset(&b, spec, "nodeSelector", json_string(p->node_selector));
	if (p->password)
		res_jset(&b, spec, "password", json_string(p->password));
	if (p->keepalive)
		res_jset(&b, spec, "keepaliveTime", json_integer(p->keepalive));
	if (p->hold)
		res_jset(&b, spec, "holdTime", json_integer(p->hold));
	res_jset(&b, spec, "bfd", json_boolean(p->bfd));
	res_jset(&b, spec, "ttlSecurity", json_boolean(p->ttl_security));
	if (p->multihop)
		res_jset(&b, spec, "multihop", json_integer(p->multihop));
	res_jset(&b, spec, "nextHopMode", json_string(
		     bgp_nh_names[(unsigned)p->next_hop <= BGP_NH_KEEP ? p->next_hop : 0]));
	res_jset(&b, spec, "sourceAddress", json_string(
		     bgp_src_names[(unsigned)p->source <= BGP_SRC_AUTO ? p->source : 0]));
	res_jset(&b, spec, "import", json_string(
		     bgp_import_names[(unsigned)p->import <= BGP_IMPORT_ALL ? p->import : 0]));
	return res_enc_done(&b, j, spec);
}

void bgppeer_clear(struct bgppeer *p)
{
	if (!p)
		return;
	free(p->node_selector);
	free(p->password);
	memset(p, 0, sizeof(*p));
}
