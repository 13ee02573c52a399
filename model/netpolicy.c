/*
 * netpolicy: the NetworkPolicy codec (see netpolicy.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/netpolicy.h"
#include "model/res_impl.h"


static const char *const np_action_names[] = { "Allow", "Deny", "Log", "Pass" };

static const struct {
	const char *name;
	uint8_t proto;
} np_protos[] = { { "TCP", 6 }, { "UDP", 17 }, { "ICMP", 1 }, { "SCTP", 132 } };

#define NP_ORDER_MAX 9007199254740992.0	/* 2^53: every integer exact */

/* "1.5" is a string in YAML (the loader resolves integers only): a decimal
 * number, without the inf/nan/hex spellings strtod also takes. */
static bool order_parse(const char *s, double *out)
{
	char *end;

	if (!s[0] || strspn(s, "0123456789.eE+-") != strlen(s))
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && errno == 0;
}

/* A fractional order keeps NP_ORDER_DIGITS significant digits, so that it
 * prints as written ("0.1", not "0.10000000000000001") and reads back the
 * same. */
static double order_norm(double d)
{
	char buf[40];

	if (d == (double)(int64_t)d)
		return d;	/* an integer (|d| <= 2^53) is exact already */
	snprintf(buf, sizeof(buf), "%.*g", NP_ORDER_DIGITS, d);
	return strtod(buf, NULL);
}

static void np_order(struct vctx *v, const struct vobj *sp, struct netpolicy *p)
{
	const json_t *m = res_vmember(sp, "order");
	double d = 0;

	if (!m)
		return;
	if (json_is_integer(m)) {
		d = (double)json_integer_value(m);
	} else if (json_is_real(m)) {
		d = json_real_value(m);
	} else if (!json_is_string(m) || !order_parse(json_string_value(m), &d)) {
		res_verr_field(v, sp, "order", "must be a number, not %s%s%.40s%s",
			   yaml_type_name(m), json_is_string(m) ? " \"" : "",
			   json_is_string(m) ? json_string_value(m) : "",
			   json_is_string(m) ? "\"" : "");
		return;
	}
	if (d != d || d < -NP_ORDER_MAX || d > NP_ORDER_MAX) {
		res_verr_field(v, sp, "order", "out of range (-2^53..2^53)");
		return;
	}
	p->has_order = true;
	p->order = order_norm(d);
}

/* types: 1 when given (p->ingress/egress set from it), 0 when absent. */
static int np_types(struct vctx *v, const struct vobj *sp, struct netpolicy *p)
{
	struct vobj tl;
	size_t n;

	if (res_get_sub(v, sp, "types", false, true, &tl) <= 0)
		return res_vmember(sp, "types") ? -1 : 0;
	n = json_array_size(tl.j);
	if (n == 0) {
		res_verr(v, tl.line, tl.col, tl.path, "must list Ingress, Egress or both");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(tl.j, i));
		bool *dir = !s ? NULL : !strcmp(s, "Ingress") ? &p->ingress :
			    !strcmp(s, "Egress") ? &p->egress : NULL;
		struct vobj it;

		res_vitem(v, &tl, i, &it);
		if (!dir)
			res_verr(v, it.line, it.col, it.path, "unknown type%s%.40s%s "
			     "(Ingress or Egress)", s ? " \"" : "", s ? s : "", s ? "\"" : "");
		else if (*dir)
			res_verr(v, it.line, it.col, it.path, "duplicate type \"%s\"", s);
		else
			*dir = true;
	}
	return 1;
}

/* protocol: a name in any case, or a number. -1 when bad (reported). */
static int np_protocol(struct vctx *v, const struct vobj *o, uint8_t *out)
{
	const json_t *m = res_vmember(o, "protocol");
	json_int_t i;

	*out = 0;
	if (!m)
		return 0;
	if (json_is_integer(m)) {
		if (res_get_int(v, o, "protocol", 1, 255, &i) < 0)
			return -1;
		*out = (uint8_t)i;
		return 0;
	}
	for (size_t k = 0; json_is_string(m) && k < 4; k++) {
		if (!strcasecmp(json_string_value(m), np_protos[k].name)) {
			*out = np_protos[k].proto;
			return 0;
		}
	}
	res_verr_field(v, o, "protocol", "unknown protocol %s%.40s%s(TCP, UDP, ICMP, SCTP "
		   "or a number 1..255)", json_is_string(m) ? "\"" : "",
		   json_is_string(m) ? json_string_value(m) : yaml_type_name(m),
		   json_is_string(m) ? "\" " : " ");
	return -1;
}

static bool proto_has_ports(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

/* The head of a NetworkPolicy list field: the list at key (absent: 0),
 * at most max items (what names them in the error), and *out allocated for
 * them (elem bytes each). Returns the item count; 0 also after an error. */
static size_t np_list(struct vctx *v, const struct vobj *o, const char *key,
		      size_t max, const char *what, size_t elem, void **out,
		      struct vobj *list)
{
	size_t n;

	if (res_get_sub(v, o, key, false, true, list) <= 0)
		return 0;
	n = json_array_size(list->j);
	if (n > max) {
		res_verr(v, list->line, list->col, list->path, "too many %s (%zu, at most %zu)",
		     what, n, max);
		return 0;
	}
	if (n && !(*out = calloc(n, elem))) {
		res_verr(v, 0, 0, NULL, "out of memory");
		return 0;
	}
	return n;
}

/* A list of CIDRs (a bare address is a /32), host bits zero. */
static void np_nets(struct vctx *v, const struct vobj *o, const char *key,
		    struct ip4_net **out, size_t *nout)
{
	struct vobj nl;
	void *mem = NULL;
	size_t n = np_list(v, o, key, NP_LIST_MAX, "networks", sizeof(**out), &mem, &nl);

	if (mem)
		*out = mem;

	for (size_t i = 0; i < n; i++) {
		struct ip4_net net, fixed;
		char buf[IP4_NETSTRLEN];
		const char *s;
		struct vobj it;

		res_vitem(v, &nl, i, &it);
		s = json_string_value(it.j);
		if (s && ip4_net_parse(s, &net, true, false) == 0) {
			(*out)[(*nout)++] = net;
		} else if (s && ip4_net_parse(s, &net, true, true) == 0) {
			fixed.addr = net.addr & ip4_mask(net.len);
			fixed.len = net.len;
			res_verr(v, it.line, it.col, it.path, "host bits must be zero in CIDR "
			     "\"%s\" (did you mean %s?)", s, ip4_net_fmt(&fixed, buf));
		} else if (s) {
			res_verr(v, it.line, it.col, it.path, "invalid CIDR \"%.64s\"", s);
		} else {
			res_verr(v, it.line, it.col, it.path, "must be a CIDR string, not %s",
			     yaml_type_name(it.j));
		}
	}
}

/* A port: 80, "80" or "8000:8080". */
static bool port_range_parse(const json_t *j, struct port_range *out)
{
	const char *s, *colon;
	uint32_t lo, hi;

	if (json_is_integer(j)) {
		json_int_t i = json_integer_value(j);

		if (i < 1 || i > 65535)
			return false;
		out->lo = out->hi = (uint16_t)i;
		return true;
	}
	if (!(s = json_string_value(j)))
		return false;
	colon = strchr(s, ':');
	if (!colon) {
		if (!res_dec_u32(s, strlen(s), 65535, &lo) || lo == 0)
			return false;
		out->lo = out->hi = (uint16_t)lo;
		return true;
	}
	if (!res_dec_u32(s, (size_t)(colon - s), 65535, &lo) ||
	    !res_dec_u32(colon + 1, strlen(colon + 1), 65535, &hi) ||
	    lo == 0 || lo > hi)
		return false;
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return true;
}

static void np_ports(struct vctx *v, const struct vobj *o, const char *key,
		     struct port_range **out, size_t *nout)
{
	struct vobj pl;
	void *mem = NULL;
	size_t n = np_list(v, o, key, NP_LIST_MAX, "ports", sizeof(**out), &mem, &pl);

	if (mem)
		*out = mem;

	for (size_t i = 0; i < n; i++) {
		struct vobj it;

		char what[64];

		res_vitem(v, &pl, i, &it);
		if (port_range_parse(it.j, &(*out)[*nout])) {
			(*nout)++;
			continue;
		}
		if (json_is_integer(it.j))
			snprintf(what, sizeof(what), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(it.j));
		else if (json_is_string(it.j))
			snprintf(what, sizeof(what), "\"%.40s\"", json_string_value(it.j));
		else
			snprintf(what, sizeof(what), "(%s)", yaml_type_name(it.j));
		res_verr(v, it.line, it.col, it.path, "invalid port %s (a number 1..65535, "
		     "or \"LO:HI\" with LO <= HI)", what);
	}
}

/* source or destination. proto: the rule's protocol, -1 when it was bad. */
static void np_entity(struct vctx *v, const struct vobj *r, const char *key,
		      int proto, struct np_entity *en)
{
	static const char *const keys[] = {
		"nets", "notNets", "selector", "notSelector", "ports", "notPorts", NULL
	};
	static const char *const port_keys[] = { "ports", "notPorts" };
	struct vobj eo;

	if (res_get_sub(v, r, key, false, false, &eo) <= 0)
		return;
	res_check_known(v, &eo, keys);
	np_nets(v, &eo, "nets", &en->nets, &en->n_nets);
	np_nets(v, &eo, "notNets", &en->not_nets, &en->n_not_nets);
	res_get_selector(v, &eo, "selector", &en->selector);
	res_get_selector(v, &eo, "notSelector", &en->not_selector);
	np_ports(v, &eo, "ports", &en->ports, &en->n_ports);
	np_ports(v, &eo, "notPorts", &en->not_ports, &en->n_not_ports);
	for (size_t i = 0; i < 2; i++) {
		const json_t *m = res_vmember(&eo, port_keys[i]);

		if (proto >= 0 && !proto_has_ports((uint8_t)proto) &&
		    json_array_size(m) > 0)
			res_verr_field(v, &eo, port_keys[i], "ports need protocol TCP, UDP "
				   "or SCTP");
	}
}

static void np_icmp(struct vctx *v, const struct vobj *r, int proto,
		    struct np_rule *out)
{
	static const char *const keys[] = { "type", "code", NULL };
	struct vobj io;
	json_int_t i;

	if (res_get_sub(v, r, "icmp", false, false, &io) <= 0)
		return;
	res_check_known(v, &io, keys);
	if (proto >= 0 && proto != 1)
		res_verr_field(v, r, "icmp", "needs protocol ICMP");
	if (res_get_int(v, &io, "type", 0, 255, &i) > 0)
		out->icmp_type = (int)i;
	if (res_get_int(v, &io, "code", 0, 255, &i) > 0) {
		out->icmp_code = (int)i;
		if (!res_vmember(&io, "type"))
			res_verr_field(v, &io, "code", "a code needs a type");
	}
}

static void np_rule(struct vctx *v, const struct vobj *it, struct np_rule *out)
{
	static const char *const keys[] = {
		"action", "protocol", "icmp", "source", "destination", NULL
	};
	int action = NP_ALLOW, proto;

	out->icmp_type = out->icmp_code = -1;
	if (!json_is_object(it->j)) {
		res_verr(v, it->line, it->col, it->path, "a rule must be a mapping, not %s",
		     yaml_type_name(it->j));
		return;
	}
	res_check_known(v, it, keys);
	if (!res_vmember(it, "action"))
		res_verr_missing(v, it, "action");
	res_get_enum(v, it, "action", np_action_names, 4, &action);
	out->action = (enum np_action)action;
	proto = np_protocol(v, it, &out->protocol) < 0 ? -1 : out->protocol;
	np_icmp(v, it, proto, out);
	np_entity(v, it, "source", proto, &out->src);
	np_entity(v, it, "destination", proto, &out->dst);
}

/* ingress or egress: every rule lands in *out (freed with the policy). */
static void np_rules(struct vctx *v, const struct vobj *sp, const char *key,
		     struct np_rule **out, size_t *nout)
{
	struct vobj rl;
	void *mem = NULL;
	size_t n = np_list(v, sp, key, NP_RULES_MAX, "rules", sizeof(**out), &mem, &rl);

	if (mem)
		*out = mem;

	for (size_t i = 0; i < n; i++) {
		struct vobj it;

		res_vitem(v, &rl, i, &it);
		np_rule(v, &it, &(*out)[(*nout)++]);
	}
}

int netpolicy_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct netpolicy *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"selector", "order", "types", "ingress", "egress", "applyOnForward",
		"preDNAT", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct netpolicy p = { 0 };
	struct head h;
	int types;

	res_decode_head(&v, j, RES_NETPOLICY, false, true, &h);
	res_check_name(&v, &h, p.name);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		res_check_known(&v, sp, spec_keys);
		res_get_selector(&v, sp, "selector", &p.selector);
		np_order(&v, sp, &p);
		types = np_types(&v, sp, &p);
		np_rules(&v, sp, "ingress", &p.in_rules, &p.n_ingress);
		np_rules(&v, sp, "egress", &p.out_rules, &p.n_egress);
		res_get_bool(&v, sp, "applyOnForward", &p.apply_on_forward);
		res_get_bool(&v, sp, "preDNAT", &p.pre_dnat);
		if (types == 0) {
			/* Calico's default: Ingress, and Egress when it has rules */
			p.ingress = true;
			p.egress = json_array_size(res_vmember(sp, "egress")) > 0;
		} else if (types > 0) {
			if (!p.ingress && json_array_size(res_vmember(sp, "ingress")))
				res_verr_field(&v, sp, "ingress", "ingress rules, but types "
					   "does not list Ingress");
			if (!p.egress && json_array_size(res_vmember(sp, "egress")))
				res_verr_field(&v, sp, "egress", "egress rules, but types "
					   "does not list Egress");
		}
		/* Calico's rules for pre-DNAT policy */
		if (p.pre_dnat && !p.apply_on_forward)
			res_verr_field(&v, sp, "preDNAT", "needs applyOnForward: true");
		if (p.pre_dnat && p.egress)
			res_verr_field(&v, sp, "preDNAT", "a preDNAT policy has ingress only "
				       "(types: [Ingress], no egress rules)");
	}
	if (res_vflush(&v) < 0) {
		netpolicy_clear(&p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

static void enc_nets(struct jb *b, json_t *o, const char *key,
		     const struct ip4_net *n, size_t count)
{
	json_t *a;

	if (!count)
		return;
	a = json_array();
	for (size_t i = 0; i < count; i++)
		if (!a || json_array_append_new(a, res_enc_net(&n[i])) < 0)
			b->oom = true;
	res_jset(b, o, key, a);
}

/* A single port as a number, a range as "LO:HI". */
static void enc_ports(struct jb *b, json_t *o, const char *key,
		      const struct port_range *p, size_t count)
{
	char buf[16];
	json_t *a;

	if (!count)
		return;
	a = json_array();
	for (size_t i = 0; i < count; i++) {
		json_t *x;

		if (p[i].lo == p[i].hi) {
			x = json_integer(p[i].lo);
		} else {
			snprintf(buf, sizeof(buf), "%u:%u", (unsigned)p[i].lo,
				 (unsigned)p[i].hi);
			x = json_string(buf);
		}
		if (!a || json_array_append_new(a, x) < 0)
			b->oom = true;
	}
	res_jset(b, o, key, a);
}

static void enc_entity(struct jb *b, json_t *r, const char *key,
		       const struct np_entity *en)
{
	json_t *o;

	if (!en->n_nets && !en->n_not_nets && !en->selector && !en->not_selector &&
	    !en->n_ports && !en->n_not_ports)
		return;
	o = json_object();
	enc_nets(b, o, "nets", en->nets, en->n_nets);
	enc_nets(b, o, "notNets", en->not_nets, en->n_not_nets);
	if (en->selector)
		res_jset(b, o, "selector", json_string(en->selector));
	if (en->not_selector)
		res_jset(b, o, "notSelector", json_string(en->not_selector));
	enc_ports(b, o, "ports", en->ports, en->n_ports);
	enc_ports(b, o, "notPorts", en->not_ports, en->n_not_ports);
	res_jset(b, r, key, o);
}

static json_t *enc_proto(uint8_t p)
{
	for (size_t k = 0; k < 4; k++)
		if (np_protos[k].proto == p)
			return json_string(np_protos[k].name);
	return json_integer(p);
}

static void enc_rules(struct jb *b, json_t *spec, const char *key,
		      const struct np_rule *rules, size_t n)
{
	json_t *a;

	if (!n)
		return;
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct np_rule *r = &rules[i];
		json_t *o = json_object();

		res_jset(b, o, "action", json_string(
			     np_action_names[(unsigned)r->action <= NP_PASS ? r->action : 0]));
		if (r->protocol)
			res_jset(b, o, "protocol", enc_proto(r->protocol));
		if (r->icmp_type >= 0) {
			json_t *ic = json_object();

			res_jset(b, ic, "type", json_integer(r->icmp_type));
			if (r->icmp_code >= 0)
				res_jset(b, ic, "code", json_integer(r->icmp_code));
			res_jset(b, o, "icmp", ic);
		}
		enc_entity(b, o, "source", &r->src);
		enc_entity(b, o, "destination", &r->dst);
		if (!a || !o || json_array_append_new(a, o) < 0)
			b->oom = true;
	}
	res_jset(b, spec, key, a);
}

json_t *netpolicy_to_json(const struct netpolicy *p)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_NETPOLICY, p->name, NULL, &spec);
	json_t *types = json_array();

	if (p->selector && p->selector[0])
		res_jset(&b, spec, "selector", json_string(p->selector));
	if (p->has_order) {
		/* integers as integers: "order: 100" reads back as written */
		if (p->order == (double)(json_int_t)p->order)
			res_jset(&b, spec, "order", json_integer((json_int_t)p->order));
		else
			res_jset(&b, spec, "order", json_real(p->order));
	}
	if (!types || (p->ingress && json_array_append_new(types, json_string("Ingress"))) ||
	    (p->egress && json_array_append_new(types, json_string("Egress"))))
		b.oom = true;
	res_jset(&b, spec, "types", types);
	enc_rules(&b, spec, "ingress", p->in_rules, p->n_ingress);
	enc_rules(&b, spec, "egress", p->out_rules, p->n_egress);
	if (p->apply_on_forward)
		res_jset(&b, spec, "applyOnForward", json_true());
	if (p->pre_dnat)
		res_jset(&b, spec, "preDNAT", json_true());
	return res_enc_done(&b, j, spec);
}

static void np_entity_clear(struct np_entity *en)
{
	free(en->nets);
	free(en->not_nets);
	free(en->ports);
	free(en->not_ports);
	free(en->selector);
	free(en->not_selector);
}

static void np_rules_free(struct np_rule *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		np_entity_clear(&r[i].src);
		np_entity_clear(&r[i].dst);
	}
	free(r);
}

void netpolicy_clear(struct netpolicy *p)
{
	if (!p)
		return;
	free(p->selector);
	np_rules_free(p->in_rules, p->n_ingress);
	np_rules_free(p->out_rules, p->n_egress);
	memset(p, 0, sizeof(*p));
}
