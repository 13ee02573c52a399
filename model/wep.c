/*
 * wep: the WorkloadEndpoint codec (see wep.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ifname.h"
#include "model/network.h"
#include "model/wep.h"
#include "model/res_impl.h"
#include "common/hex.h"

static const char *const wep_modes[] = {
	[WEP_ROUTED] = "routed", [WEP_HOST] = "host", [WEP_NONE] = "none",
	[WEP_CONTAINER] = "container",
};

const char *wep_mode_name(enum wep_mode m)
{
	return (unsigned)m <= WEP_CONTAINER ? wep_modes[m] : "?";
}

int wep_mode_parse(const char *s)
{
	for (int m = 0; s && m <= WEP_CONTAINER; m++)
		if (!strcmp(s, wep_modes[m]))
			return m;
	return -1;
}

/* "aa:bb:cc:dd:ee:ff" (either case). */
static int mac_parse(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The container ID a CNI runtime may pass: alphanumerics, '_', '-', '.'. */
static bool container_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof(((struct wep *)0)->container_id))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!res_is_alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static void get_ifname(struct vctx *v, const struct vobj *o, const char *key,
		       char *dst, size_t len)
{
	const char *s;

	if (res_get_str(v, o, key, false, 64, &s) <= 0)
		return;
	if (!ifname_valid(s) || strlen(s) >= len)
		res_verr_field(v, o, key, "invalid interface name \"%s\" (1 to %d characters, "
			   "no '/', ':' or whitespace)", s, IFNAME_LEN);
	else
		res_copy_str(dst, len, s);
}

static void wep_nets(struct vctx *v, const struct vobj *spec, struct wep *w)
{
	struct vobj nets;
	size_t n;

	if (res_get_sub(v, spec, "ipNetworks", false, true, &nets) <= 0)
		return;
	n = json_array_size(nets.j);
	if (n > WEP_MAX_NETS) {
		res_verr(v, nets.line, nets.col, nets.path, "too many networks (%zu, at most %d)",
		     n, WEP_MAX_NETS);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct vobj it;
		struct ip4_net net;
		const char *s;
		size_t k;

		res_vitem(v, &nets, i, &it);
		if (!json_is_string(it.j)) {
			res_verr(v, it.line, it.col, it.path, "must be a string, not %s",
			     yaml_type_name(it.j));
			continue;
		}
		s = json_string_value(it.j);
		if (ip4_net_parse(s, &net, true, false) < 0 || net.len != 32) {
			res_verr(v, it.line, it.col, it.path,
			     "invalid address \"%.64s\" (expected A.B.C.D/32)", s);
			continue;
		}
		for (k = 0; k < w->n_nets; k++)
			if (w->nets[k].addr == net.addr)
				break;
		if (k < w->n_nets) {
			res_verr(v, it.line, it.col, it.path, "duplicate address \"%s\"", s);
			continue;
		}
		w->nets[w->n_nets++] = net;
	}
}
static void wep_networks(struct vctx *v, const struct vobj *spec, struct wep *w)
{
	struct vobj nl;
	size_t n;

	if (res_get_sub(v, spec, "networks", false, true, &nl) <= 0)
		return;
	n = json_array_size(nl.j);
	if (n > WEP_MAX_NETWORKS) {
		res_verr(v, nl.line, nl.col, nl.path, "too many networks (%zu, at most %d)",
		     n, WEP_MAX_NETWORKS);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct vobj it;
		const char *s;
		size_t k;

		res_vitem(v, &nl, i, &it);
		if (!json_is_string(it.j)) {
			res_verr(v, it.line, it.col, it.path, "must be a network name, not %s",
			     yaml_type_name(it.j));
			continue;
		}
		s = json_string_value(it.j);
		if (!res_name_valid(s) || network_name_reserved(s)) {
			res_verr(v, it.line, it.col, it.path, "invalid network name \"%.80s\"", s);
			continue;
		}
		for (k = 0; k < w->n_networks && strcmp(w->networks[k], s); k++)
			;
		if (k < w->n_networks) {
			res_verr(v, it.line, it.col, it.path, "duplicate network \"%s\"", s);
			continue;
		}
		res_copy_str(w->networks[w->n_networks++], RES_NAME_MAX, s);
	}
}

/* hostIP: a unicast address, or 0.0.0.0 (every address, as when absent). */
static bool wep_port_host_ip(struct vctx *v, const struct vobj *o, uint32_t *ip)
{
	const char *s;
	int r = res_get_str(v, o, "hostIP", false, 64, &s);

	if (r <= 0)
		return r == 0;
	if (ip4_parse(s, ip) < 0) {
		res_verr_field(v, o, "hostIP", "invalid IPv4 address \"%s\"", s);
		return false;
	}
	if ((*ip >> 28) == 0xe || *ip == 0xffffffffu) {
		res_verr_field(v, o, "hostIP", "\"%s\" is not a unicast address", s);
		return false;
	}
	return true;
}

/* One item of spec.ports; true when *p is complete and valid. */
static bool wep_port(struct vctx *v, const struct vobj *it, struct wep_port *p)
{
	static const char *const keys[] = {
		"hostIP", "hostPort", "containerPort", "protocol", NULL
	};
	static const char *const protos[] = { "tcp", "udp" };
	bool ok = true;
	json_int_t i;
	int proto = 0;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(it->j)) {
		res_verr(v, it->line, it->col, it->path, "must be a mapping {hostIP?, hostPort, "
		     "containerPort, protocol?}, not %s", yaml_type_name(it->j));
		return false;
	}
	res_check_known(v, it, keys);
	ok &= wep_port_host_ip(v, it, &p->host_ip);
	if (res_get_int(v, it, "hostPort", 1, 65535, &i) > 0)
		p->host_port = (uint16_t)i;
	else if (!res_vmember(it, "hostPort"))
		res_verr_missing(v, it, "hostPort");
	if (res_get_int(v, it, "containerPort", 1, 65535, &i) > 0)
		p->port = (uint16_t)i;
	else if (!res_vmember(it, "containerPort"))
		res_verr_missing(v, it, "containerPort");
	if (res_vmember(it, "protocol")) {
		proto = -1;
		res_get_enum(v, it, "protocol", protos, 2, &proto);
	}
	p->proto = proto == 1 ? 17 : 6;	/* IPPROTO_UDP, IPPROTO_TCP */
	return ok && proto >= 0 && p->host_port && p->port;
}

/* Two ports collide when they take the same host port and protocol on a
 * common address (0 is every address). */
static bool wep_ports_collide(const struct wep_port *a, const struct wep_port *b)
{
	return a->host_port == b->host_port && a->proto == b->proto &&
	       (a->host_ip == b->host_ip || !a->host_ip || !b->host_ip);
}

static void wep_ports(struct vctx *v, const struct vobj *spec, struct wep *w,
		      bool mode_ok)
{
	struct vobj pl;
	size_t n;

	if (res_get_sub(v, spec, "ports", false, true, &pl) <= 0)
		return;
	n = json_array_size(pl.j);
	if (n > WEP_MAX_PORTS) {
		res_verr(v, pl.line, pl.col, pl.path, "too many ports (%zu, at most %d)",
		     n, WEP_MAX_PORTS);
		return;
	}
	if (n && mode_ok && w->mode != WEP_ROUTED) {
		res_verr(v, pl.line, pl.col, pl.path, "only allowed with mode routed");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct wep_port p;
		struct vobj it;
		size_t k;

		res_vitem(v, &pl, i, &it);
		if (!wep_port(v, &it, &p))
			continue;
		for (k = 0; k < w->n_ports && !wep_ports_collide(&w->ports[k], &p); k++)
			;
		if (k < w->n_ports) {
			res_verr(v, it.line, it.col, it.path, "host port %u/%s is already "
			     "published by %s[%zu]", (unsigned)p.host_port,
			     p.proto == 17 ? "udp" : "tcp", pl.path, k);
			continue;
		}
		w->ports[w->n_ports++] = p;
	}
}

int wep_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct wep *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"node", "mode", "container", "netns", "interfaceName",
		"workloadInterfaceName", "ipNetworks", "mac", "containerID",
		"networks", "ports", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct wep w = { .mode = WEP_ROUTED };
	bool mode_ok = true;
	struct head h;
	const char *s;

	res_decode_head(&v, j, RES_WEP, true, true, &h);
	res_check_name(&v, &h, w.name);
	res_decode_labels(&v, &h, &w.labels);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		res_check_known(&v, sp, spec_keys);
		if (res_get_str(&v, sp, "node", true, 1024, &s) > 0) {
			if (!res_name_valid(s))
				res_verr_field(&v, sp, "node", "invalid node name \"%s\"", s);
			else
				res_copy_str(w.node, sizeof(w.node), s);
		}
		if (res_get_str(&v, sp, "mode", false, 64, &s) > 0) {
			int m = wep_mode_parse(s);

			if (m < 0) {
				res_verr_field(&v, sp, "mode",
					   "unknown mode \"%s\" (routed, host, none or container)", s);
				mode_ok = false;
			} else {
				w.mode = (enum wep_mode)m;
			}
		}
		if (res_get_str(&v, sp, "container", false, 1024, &s) > 0) {
			if (mode_ok && w.mode != WEP_CONTAINER)
				res_verr_field(&v, sp, "container", "only allowed with mode container");
			else if (!res_name_valid(s))
				res_verr_field(&v, sp, "container", "invalid workload name \"%s\"", s);
			else if (h.name && !strcmp(s, h.name))
				res_verr_field(&v, sp, "container", "a workload cannot join itself");
			else
				res_copy_str(w.container, sizeof(w.container), s);
		} else if (mode_ok && w.mode == WEP_CONTAINER && !res_vmember(sp, "container")) {
			res_verr_missing(&v, sp, "container");
		}
		if (res_get_str(&v, sp, "netns", false, sizeof(w.netns) - 1, &s) > 0) {
			if (s[0] && s[0] != '/')
				res_verr_field(&v, sp, "netns", "must be an absolute path, not \"%s\"", s);
			else
				res_copy_str(w.netns, sizeof(w.netns), s);
		}
		get_ifname(&v, sp, "interfaceName", w.ifname, sizeof(w.ifname));
		get_ifname(&v, sp, "workloadInterfaceName", w.wl_ifname, sizeof(w.wl_ifname));
		wep_nets(&v, sp, &w);
		if (mode_ok && w.mode == WEP_ROUTED && !res_vmember(sp, "ipNetworks"))
			res_verr_missing(&v, sp, "ipNetworks");
		else if (mode_ok && w.mode == WEP_ROUTED &&
			 json_is_array(res_vmember(sp, "ipNetworks")) &&
			 json_array_size(res_vmember(sp, "ipNetworks")) == 0)
			res_verr_field(&v, sp, "ipNetworks", "mode routed needs an address");
		else if (mode_ok && w.mode != WEP_ROUTED && w.n_nets)
			res_verr_field(&v, sp, "ipNetworks", "only allowed with mode routed");
		if (res_get_str(&v, sp, "mac", false, 64, &s) > 0) {
			if (mac_parse(s, w.mac) < 0)
				res_verr_field(&v, sp, "mac", "invalid MAC address \"%s\" "
					   "(expected aa:bb:cc:dd:ee:ff)", s);
			else if (w.mac[0] & 1)
				res_verr_field(&v, sp, "mac", "\"%s\" is a multicast address", s);
			else if (!(w.mac[0] | w.mac[1] | w.mac[2] | w.mac[3] | w.mac[4] | w.mac[5]))
				res_verr_field(&v, sp, "mac", "00:00:00:00:00:00 is not an address");
			else
				w.has_mac = true;
		}
		if (res_get_str(&v, sp, "containerID", false, 1024, &s) > 0) {
			if (!container_id_ok(s))
				res_verr_field(&v, sp, "containerID", "invalid container ID \"%.80s\" "
					   "(1 to %zu of [A-Za-z0-9_.-])", s,
					   sizeof(w.container_id) - 1);
			else
				res_copy_str(w.container_id, sizeof(w.container_id), s);
		}
		wep_networks(&v, sp, &w);
		wep_ports(&v, sp, &w, mode_ok);
	}
	if (res_vflush(&v) < 0) {
		wep_clear(&w);
		return -EINVAL;
	}
	*out = w;
	return 0;
}

/* {hostIP?, hostPort, containerPort, protocol}; NULL on ENOMEM. */
static json_t *enc_wep_port(const struct wep_port *p)
{
	struct jb b = { 0 };
	json_t *o = json_object();

	if (p->host_ip)
		res_jset(&b, o, "hostIP", res_enc_addr(p->host_ip));
	res_jset(&b, o, "hostPort", json_integer(p->host_port));
	res_jset(&b, o, "containerPort", json_integer(p->port));
	res_jset(&b, o, "protocol", json_string(p->proto == 17 ? "udp" : "tcp"));
	if (b.oom) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *wep_to_json(const struct wep *w)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_WEP, w->name, &w->labels, &spec);

	res_jset(&b, spec, "node", json_string(w->node));
	res_jset(&b, spec, "mode", json_string(wep_mode_name(w->mode)));
	if (w->mode == WEP_CONTAINER || w->container[0])
		res_jset(&b, spec, "container", json_string(w->container));
	if (w->netns[0])
		res_jset(&b, spec, "netns", json_string(w->netns));
	if (w->ifname[0])
		res_jset(&b, spec, "interfaceName", json_string(w->ifname));
	if (w->wl_ifname[0])
		res_jset(&b, spec, "workloadInterfaceName", json_string(w->wl_ifname));
	if (w->n_nets) {
		json_t *a = json_array();

		for (size_t i = 0; i < w->n_nets && i < WEP_MAX_NETS; i++)
			if (!a || json_array_append_new(a, res_enc_net(&w->nets[i])) < 0)
				b.oom = true;
		res_jset(&b, spec, "ipNetworks", a);
	}
	if (w->has_mac) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", w->mac[0],
			 w->mac[1], w->mac[2], w->mac[3], w->mac[4], w->mac[5]);
		res_jset(&b, spec, "mac", json_string(mac));
	}
	if (w->container_id[0])
		res_jset(&b, spec, "containerID", json_string(w->container_id));
	/* both only when set, so that documents without them stay as they were */
	if (w->n_networks) {
		json_t *a = json_array();

		for (size_t i = 0; i < w->n_networks && i < WEP_MAX_NETWORKS; i++)
			if (!a || json_array_append_new(a, json_string(w->networks[i])) < 0)
				b.oom = true;
		res_jset(&b, spec, "networks", a);
	}
	if (w->n_ports) {
		json_t *a = json_array();

		for (size_t i = 0; i < w->n_ports && i < WEP_MAX_PORTS; i++)
			if (!a || json_array_append_new(a, enc_wep_port(&w->ports[i])) < 0)
				b.oom = true;
		res_jset(&b, spec, "ports", a);
	}
	return res_enc_done(&b, j, spec);
}

void wep_clear(struct wep *w)
{
	if (!w)
		return;
	labels_clear(&w->labels);
	memset(w, 0, sizeof(*w));
}
