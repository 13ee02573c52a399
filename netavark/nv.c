/*
 * nv: netavark plugin requests and replies (see netavark/nv.h).
 *
 * Invariants: parsing validates everything before it fills the caller's
 * struct; every error names its field; what is valid netavark but cannot
 * be honoured by petrel is an error, not silently dropped. The network's
 * document is kept whole (podman adds fields of its own, "created",
 * "labels"), so that create changes only what it completes.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cni/cni.h"
#include "common/ifname.h"
#include "netavark/nv.h"

static const char *jtype(const json_t *j)
{
	return yaml_type_name(j);
}

/* A string field of obj: its value, NULL when absent or null (reported
 * when required), or NULL and an error when not a string (or with a NUL,
 * or not shorter than max). */
static const char *nv_str(const json_t *obj, const char *key, const char *path,
			  size_t max, bool required, struct errs *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (required)
			errs_add(e, "%s%s: required", path, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		errs_add(e, "%s%s: expected a string, got %s", path, key, jtype(v));
		return NULL;
	}
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    json_string_length(v) >= max) {
		errs_add(e, "%s%s: a string without NUL, at most %zu characters", path, key,
			 max - 1);
		return NULL;
	}
	return json_string_value(v);
}

/* An optional boolean field: false when absent. */
static bool nv_bool(const json_t *obj, const char *key, const char *path, struct errs *e)
{
	const json_t *v = json_object_get(obj, key);

	if (v && !json_is_boolean(v))
		errs_add(e, "%s%s: expected a boolean, got %s", path, key, jtype(v));
	return json_is_true(v);
}

/* options: the ones petrel knows; any other is an error (a typo must not
 * pass for a setting). */
static void nv_options(const json_t *o, const char *path, struct nv_network *n,
		       struct errs *e)
{
	const char *k, *s;
	json_t *v;

	snprintf(n->config, sizeof(n->config), "%s", CONFIG_DEFAULT_PATH);
	if (!o || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		errs_add(e, "%soptions: expected an object of strings, got %s", path, jtype(o));
		return;
	}
	json_object_foreach((json_t *)o, k, v) {
		if (!json_is_string(v)) {
			errs_add(e, "%soptions.%.64s: expected a string, got %s", path, k,
				 jtype(v));
			continue;
		}
		s = json_string_value(v);
		if (!strcmp(k, "config")) {
			if (s[0] != '/' || strlen(s) >= sizeof(n->config))
				errs_add(e, "%soptions.config: an absolute path, at most %zu "
					 "characters", path, sizeof(n->config) - 1);
			else
				snprintf(n->config, sizeof(n->config), "%s", s);
		} else if (!strcmp(k, "network")) {
			if (!res_name_valid(s) || !strcmp(s, "routed") || !strcmp(s, "host") ||
			    !strcmp(s, "none"))
				errs_add(e, "%soptions.network: \"%.64s\" is not a petrel network "
					 "name (1 to 63 lower-case letters, digits, '-' or '.')",
					 path, s);
			else
				snprintf(n->network, sizeof(n->network), "%s", s);
		} else if (!strcmp(k, "no_wait")) {
			if (strcmp(s, "true") && strcmp(s, "false"))
				errs_add(e, "%soptions.no_wait: \"true\" or \"false\", got \"%.32s\"",
					 path, s);
			n->no_wait = !strcmp(s, "true");
		} else {
			errs_add(e, "%soptions.%.64s: unknown option (petrel knows config, "
				 "network, no_wait)", path, k);
		}
	}
}

static void nv_subnets(const json_t *a, const char *path, struct nv_network *n,
		       struct errs *e)
{
	if (!a || json_is_null(a))
		return;
	if (!json_is_array(a)) {
		errs_add(e, "%ssubnets: expected a list, got %s", path, jtype(a));
		return;
	}
	if (json_array_size(a) > NV_MAX_SUBNETS) {
		errs_add(e, "%ssubnets: %zu subnets, at most %d", path, json_array_size(a),
			 NV_MAX_SUBNETS);
		return;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *o = json_array_get(a, i);
		char p[96];
		const char *s;
		struct ip4_net net;

		snprintf(p, sizeof(p), "%ssubnets[%zu].", path, i);
		if (!json_is_object(o)) {
			errs_add(e, "%ssubnets[%zu]: expected an object {subnet, gateway?}, "
				 "got %s", path, i, jtype(o));
			continue;
		}
		s = nv_str(o, "subnet", p, 64, true, e);
		if (!s)
			continue;
		if (strchr(s, ':')) {
			errs_add(e, "%ssubnet: \"%s\": petrel has no IPv6 yet", p, s);
			continue;
		}
		if (ip4_net_parse(s, &net, false, false) < 0) {
			errs_add(e, "%ssubnet: \"%s\" is not an IPv4 CIDR (A.B.C.D/N, no "
				 "host bits)", p, s);
			continue;
		}
		n->subnets[n->n_subnets++] = net;
	}
}

static void nv_dns(const json_t *a, const char *path, struct nv_network *n, struct errs *e)
{
	if (!a || json_is_null(a))
		return;
	if (!json_is_array(a) || json_array_size(a) > NV_MAX_DNS) {
		errs_add(e, "%snetwork_dns_servers: expected a list of at most %d addresses",
			 path, NV_MAX_DNS);
		return;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));
		unsigned char b[16];

		if (!s || strlen(s) >= NV_DNS_LEN || (inet_pton(AF_INET, s, b) != 1 &&
						      inet_pton(AF_INET6, s, b) != 1)) {
			errs_add(e, "%snetwork_dns_servers[%zu]: not an IP address", path, i);
			continue;
		}
		snprintf(n->dns[n->n_dns++], NV_DNS_LEN, "%s", s);
	}
}

/* A network object o (path: "" or "network.") into n (zeroed by the
 * caller); errors into e. */
static void nv_network_fill(const json_t *o, const char *path, struct nv_network *n,
			    struct errs *e)
{
	const json_t *ipam;
	const char *s;

	if (!json_is_object(o)) {
		errs_add(e, "%s: expected an object, got %s", path[0] ? "network" : "network "
			 "config", jtype(o));
		return;
	}
	if ((s = nv_str(o, "name", path, sizeof(n->name), true, e)))
		snprintf(n->name, sizeof(n->name), "%s", s);
	if (s && !s[0])
		errs_add(e, "%sname: must not be empty", path);
	if ((s = nv_str(o, "id", path, sizeof(n->id), false, e)))
		snprintf(n->id, sizeof(n->id), "%s", s);
	if ((s = nv_str(o, "driver", path, sizeof(n->driver), true, e)))
		snprintf(n->driver, sizeof(n->driver), "%s", s);
	if ((s = nv_str(o, "network_interface", path, 16, false, e)) && s[0])
		errs_add(e, "%snetwork_interface: \"%s\": a petrel network has no interface "
			 "of its own (each container gets its own host end)", path, s);
	if (nv_bool(o, "ipv6_enabled", path, e))
		errs_add(e, "%sipv6_enabled: petrel has no IPv6 yet", path);
	if (nv_bool(o, "internal", path, e))
		errs_add(e, "%sinternal: petrel's networks are routed (restrict them with "
			 "a NetworkPolicy)", path);
	nv_bool(o, "dns_enabled", path, e);
	ipam = json_object_get(o, "ipam_options");
	if (ipam && !json_is_null(ipam) && !json_is_object(ipam)) {
		errs_add(e, "%sipam_options: expected an object, got %s", path, jtype(ipam));
	} else if (ipam && (s = nv_str(ipam, "driver", path, 64, false, e)) && s[0] &&
		   strcmp(s, NV_IPAM_DRIVER)) {
		errs_add(e, "%sipam_options.driver: \"%.32s\": petrel allocates the "
			 "addresses itself (leave --ipam-driver out)", path, s);
	}
	nv_options(json_object_get(o, "options"), path, n, e);
	nv_subnets(json_object_get(o, "subnets"), path, n, e);
	nv_dns(json_object_get(o, "network_dns_servers"), path, n, e);
	if (!n->network[0] && n->name[0] && res_name_valid(n->name))
		snprintf(n->network, sizeof(n->network), "%.*s", (int)sizeof(n->network) - 1, n->name);
	else if (!n->network[0] && n->name[0])
		errs_add(e, "%sname: \"%.64s\" is not a petrel network name: say which with "
			 "options.network (podman network create -o network=NAME)", path,
			 n->name);
}

static json_t *nv_load(const char *buf, size_t len, struct errs *e)
{
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);

	if (!root)
		errs_add(e, "input: line %d column %d: %s", je.line, je.column, je.text);
	return root;
}

int nv_network_parse(const char *buf, size_t len, struct nv_network *out,
		     struct errs *e)
{
	struct nv_network n = { 0 };
	size_t n0 = errs_count(e);
	json_t *root = nv_load(buf, len, e);

	if (!root)
		return -EBADMSG;
	nv_network_fill(root, "", &n, e);
	if (errs_count(e) != n0) {
		json_decref(root);
		return -EINVAL;
	}
	n.doc = root;
	*out = n;
	return 0;
}

/* port_mappings[i]'s port field key, 0..65535 (0 only when zero_ok). */
static int nv_port_num(const json_t *o, const char *key, size_t i, bool zero_ok,
		       struct errs *e)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < (zero_ok ? 0 : 1) ||
	    json_integer_value(v) > 65535) {
		errs_add(e, "port_mappings[%zu].%s: %s", i, key, !v ? "required" :
			 "expected a port 1..65535");
		return -1;
	}
	return (int)json_integer_value(v);
}

/* protocol: "tcp", "udp" or both, comma-separated (netavark's form). */
static int nv_protos(const char *s, size_t i, uint8_t *protos, struct errs *e)
{
	int n = 0;

	while (*s) {
		size_t l = strcspn(s, ",");

		if (l == 3 && !strncasecmp(s, "tcp", 3) && n < 2)
			protos[n++] = 6;	/* IPPROTO_TCP */
		else if (l == 3 && !strncasecmp(s, "udp", 3) && n < 2)
			protos[n++] = 17;	/* IPPROTO_UDP */
		else {
			errs_add(e, "port_mappings[%zu].protocol: petrel publishes tcp and "
				 "udp ports, not \"%.*s\"", i, (int)(l > 16 ? 16 : l), s);
			return -1;
		}
		s += l + (s[l] == ',');
	}
	if (n == 2 && protos[0] == protos[1])
		n = 1;
	return n;
}

/* One mapping item (ranges and protocols expanded) appended to x. */
static void nv_port(const json_t *o, size_t i, struct nv_exec *x, struct errs *e)
{
	uint8_t protos[2] = { 6, 0 };
	const json_t *rg;
	int hp, cp, np = 1, range = 1;
	const char *s;
	uint32_t ip = 0;
	char p[40];

	if (!json_is_object(o)) {
		errs_add(e, "port_mappings[%zu]: expected an object {container_port, "
			 "host_port, host_ip, protocol, range}, got %s", i, jtype(o));
		return;
	}
	snprintf(p, sizeof(p), "port_mappings[%zu].", i);
	hp = nv_port_num(o, "host_port", i, false, e);
	cp = nv_port_num(o, "container_port", i, false, e);
	s = nv_str(o, "protocol", p, 16, false, e);
	if (s && s[0])
		np = nv_protos(s, i, protos, e);
	s = nv_str(o, "host_ip", p, 64, false, e);
	if (s && cni_host_ip_parse(s, &ip) < 0) {
		errs_add(e, "port_mappings[%zu].host_ip: \"%.64s\" is not a unicast IPv4 "
			 "address (or \"\" for all)", i, s);
		np = -1;
	}
	rg = json_object_get(o, "range");
	if (rg && !json_is_null(rg)) {
		if (!json_is_integer(rg) || json_integer_value(rg) < 0 ||
		    json_integer_value(rg) > WEP_MAX_PORTS) {
			errs_add(e, "port_mappings[%zu].range: 1..%d", i, WEP_MAX_PORTS);
			return;
		}
		range = json_integer_value(rg) ? (int)json_integer_value(rg) : 1;
	}
	if (hp < 0 || cp < 0 || np < 0)
		return;
	if (hp + range - 1 > 65535 || cp + range - 1 > 65535) {
		errs_add(e, "port_mappings[%zu].range: %d ports from %d and %d pass 65535", i,
			 range, hp, cp);
		return;
	}
	for (int k = 0; k < np; k++) {
		for (int r = 0; r < range; r++) {
			struct wep_port w = { ip, (uint16_t)(hp + r), (uint16_t)(cp + r), protos[k] };
			size_t t = cni_port_taken(x->ports, x->n_ports, &w);

			if (t < x->n_ports) {
				errs_add(e, "port_mappings[%zu]: host port %s/%d is mapped twice",
					 i, w.proto == 17 ? "udp" : "tcp", hp + r);
				return;
			}
			if (x->n_ports == WEP_MAX_PORTS) {
				errs_add(e, "port_mappings: more than %d ports", WEP_MAX_PORTS);
				return;
			}
			x->ports[x->n_ports++] = w;
		}
	}
}

/* network_options (netavark's PerNetworkOptions) into x. */
static void nv_per_network(const json_t *o, struct nv_exec *x, struct errs *e)
{
	const char *p = "network_options.", *s;
	const json_t *ips;

	if (!json_is_object(o)) {
		errs_add(e, "network_options: %s", o ? "expected an object" : "required");
		return;
	}
	s = nv_str(o, "interface_name", p, 64, true, e);
	if (s && !ifname_valid(s))
		errs_add(e, "network_options.interface_name: \"%.32s\" is not a valid "
			 "interface name", s);
	else if (s)
		snprintf(x->ifname, sizeof(x->ifname), "%s", s);
	if ((s = nv_str(o, "static_mac", p, 64, false, e)) && s[0])
		errs_add(e, "network_options.static_mac: petrel does not set a container's "
			 "MAC address (leave --mac-address out)");
	ips = json_object_get(o, "static_ips");
	if (ips && !json_is_null(ips) && (!json_is_array(ips) || json_array_size(ips) > 1)) {
		errs_add(e, "network_options.static_ips: at most one address (petrel gives "
			 "a container one IPv4 address per network)");
	} else if (ips && json_array_size(ips) == 1) {
		struct ip4_net n;

		s = json_string_value(json_array_get(ips, 0));
		if (!s || ip4_net_parse(s, &n, true, false) < 0 || n.len != 32 || !n.addr)
			errs_add(e, "network_options.static_ips[0]: not an IPv4 address%s",
				 s && strchr(s, ':') ? " (petrel has no IPv6 yet)" : "");
		else
			x->static_ip = n.addr;
	}
	/* aliases (DNS names) and options are netavark's own: nothing to do */
	if (json_object_get(o, "options") && !json_is_null(json_object_get(o, "options")) &&
	    json_object_size(json_object_get(o, "options")))
		errs_add(e, "network_options.options: petrel has no per-container options");
}

static void nv_name(struct nv_exec *x)
{
	char b[RES_NAME_MAX];
	size_t l = strlen(x->container_name);

	if (l >= sizeof(b))
		return;
	for (size_t i = 0; i <= l; i++)
		b[i] = (char)tolower((unsigned char)x->container_name[i]);
	if (res_name_valid(b))
		snprintf(x->name, sizeof(x->name), "%s", b);
}

int nv_exec_parse(const char *buf, size_t len, struct nv_exec *out, struct errs *e)
{
	struct nv_exec *x = calloc(1, sizeof(*x));
	size_t n0 = errs_count(e);
	const json_t *pm;
	const char *s;
	json_t *root;
	int rc = -EINVAL;

	if (!x) {
		errs_add(e, "out of memory");
		return -ENOMEM;
	}
	root = nv_load(buf, len, e);
	if (!root) {
		free(x);
		return -EBADMSG;
	}
	if (!json_is_object(root)) {
		errs_add(e, "input: expected an object, got %s", jtype(root));
		goto out;
	}
	s = nv_str(root, "container_id", "", sizeof(x->container_id), true, e);
	if (s && !cni_container_id_valid(s, sizeof(x->container_id)))
		errs_add(e, "container_id: invalid (letters, digits, '_', '.', '-'; at most 71)");
	else if (s)
		snprintf(x->container_id, sizeof(x->container_id), "%s", s);
	if ((s = nv_str(root, "container_name", "", sizeof(x->container_name), true, e)))
		snprintf(x->container_name, sizeof(x->container_name), "%s", s);
	nv_name(x);
	pm = json_object_get(root, "port_mappings");
	if (pm && !json_is_null(pm) && !json_is_array(pm))
		errs_add(e, "port_mappings: expected a list, got %s", jtype(pm));
	for (size_t i = 0; json_is_array(pm) && i < json_array_size(pm); i++)
		nv_port(json_array_get(pm, i), i, x, e);
	if (!json_object_get(root, "network"))
		errs_add(e, "network: required");
	else
		nv_network_fill(json_object_get(root, "network"), "network.", &x->net, e);
	nv_per_network(json_object_get(root, "network_options"), x, e);
	if (errs_count(e) == n0) {
		*out = *x;
		rc = 0;
	}
out:
	json_decref(root);
	free(x);
	return rc;
}

void nv_network_clear(struct nv_network *n)
{
	json_decref(n->doc);
	n->doc = NULL;
}

void nv_exec_clear(struct nv_exec *x)
{
	nv_network_clear(&x->net);
}

/* ---------------------------------------------------------------- replies */

static char *nv_dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(j);
	return s;
}

char *nv_network_text(const struct nv_network *n, const struct ip4_net *pools,
		      size_t n_pools, const char *petrel_net)
{
	json_t *d = json_deep_copy(n->doc), *subs = json_array(), *ipam, *opts;
	char b[IP4_NETSTRLEN];

	if (!d || !subs)
		goto fail;
	for (size_t i = 0; i < n_pools; i++)
		if (json_array_append_new(subs, json_pack("{s:s}", "subnet",
							  ip4_net_fmt(&pools[i], b))) < 0)
			goto fail;
	json_object_set_new(d, "subnets", subs);
	subs = NULL;
	ipam = json_object_get(d, "ipam_options");
	if (!json_is_object(ipam)) {
		ipam = json_object();
		json_object_set_new(d, "ipam_options", ipam);
	}
	opts = json_object_get(d, "options");
	if (!json_is_object(opts)) {
		opts = json_object();
		json_object_set_new(d, "options", opts);
	}
	if (!ipam || !opts || json_object_set_new(ipam, "driver", json_string(NV_IPAM_DRIVER)) < 0 ||
	    json_object_set_new(opts, "network", json_string(petrel_net)) < 0)
		goto fail;
	return nv_dump(d);
fail:
	json_decref(subs);
	json_decref(d);
	return NULL;
}

char *nv_status_text(const char *ifname, const uint8_t mac[6], uint32_t addr,
		     uint32_t gateway, const char (*dns)[NV_DNS_LEN], size_t n_dns)
{
	struct ip4_net net = { addr, 32 };
	char m[18], a[IP4_NETSTRLEN], g[IP4_STRLEN];
	json_t *ds = json_array(), *j;

	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	for (size_t i = 0; ds && i < n_dns; i++)
		json_array_append_new(ds, json_string(dns[i]));
	if (!ds)
		return NULL;
	j = json_pack("{s:[], s:o, s:{s:{s:s, s:[{s:s, s:s}]}}}", "dns_search_domains",
		      "dns_server_ips", ds, "interfaces", ifname, "mac_address", m,
		      "subnets", "ipnet", ip4_net_fmt(&net, a), "gateway", ip4_fmt(gateway, g));
	return nv_dump(j);
}

char *nv_info_text(const char *version)
{
	return nv_dump(json_pack("{s:s, s:s}", "version", version, "api_version",
				 NV_API_VERSION));
}

char *nv_error_text(const char *msg)
{
	return nv_dump(json_pack("{s:s}", "error", msg));
}
