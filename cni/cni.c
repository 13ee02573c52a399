/*
 * cni: network configuration, CNI_ARGS and reply encoding for the CNI
 * plugins (see cni/cni.h).
 *
 * Invariants: parsing validates everything before it fills the caller's
 * struct (a failure changes nothing and leaks nothing); every error message
 * names its field; encoders produce only what the requested version knows
 * (0.4.0 results carry "version":"4" on each IP, 1.x ones do not).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cni/cni.h"
#include "common/ifname.h"
#include "common/ip4.h"
#include "common/ip6.h"
#include "common/sha1.h"

static const char *const cni_versions[] = { "0.4.0", "1.0.0", "1.1.0" };

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(cni_versions) / sizeof(cni_versions[0]); i++)
		if (v && !strcmp(v, cni_versions[i]))
			return true;
	return false;
}

static const char *jtype(const json_t *j)
{
	return yaml_type_name(j);
}

/* An optional string field of obj into buf: 0, 1 when absent, -1 on error. */
static int conf_str(const json_t *obj, const char *key, const char *path,
		    char *buf, size_t len, bool required, struct errs *e)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		if (required) {
			errs_add(e, "%s: required", path);
			return -1;
		}
		return 1;
	}
	if (!json_is_string(v)) {
		errs_add(e, "%s: expected a string, got %s", path, jtype(v));
		return -1;
	}
	s = json_string_value(v);
	if (!s[0] || strlen(s) != json_string_length(v)) {
		errs_add(e, "%s: must be a non-empty string without NUL", path);
		return -1;
	}
	if (strlen(s) >= len) {
		errs_add(e, "%s: longer than %zu characters", path, len - 1);
		return -1;
	}
	snprintf(buf, len, "%s", s);
	return 0;
}

/* A labels object (args.labels, runtimeConfig.labels) merged into l. */
static void conf_labels(const json_t *v, const char *path, struct labels *l,
			struct errs *e)
{
	const char *k;
	json_t *x;

	if (!v)
		return;
	if (!json_is_object(v)) {
		errs_add(e, "%s: expected an object of strings, got %s", path, jtype(v));
		return;
	}
	json_object_foreach((json_t *)v, k, x) {
		int r;

		if (!strcmp(k, CNI_NET_LABEL)) {
			errs_add(e, "%s.%s: reserved (petrel sets it to the CNI network's name)",
				 path, k);
			continue;
		}
		if (!json_is_string(x)) {
			errs_add(e, "%s.%s: expected a string, got %s", path, k, jtype(x));
			continue;
		}
		r = labels_set(l, k, json_string_value(x));
		if (r == -EINVAL)
			errs_add(e, "%s.%s: invalid label \"%s=%s\" (Kubernetes label syntax)",
				 path, k, k, json_string_value(x));
		else if (r < 0)
			errs_add(e, "%s.%s: %s", path, k, strerror(-r));
	}
}

/* portMappings[i].key, an integer port 1..65535: the port or 0 (reported). */
static uint16_t port_num(const json_t *o, const char *key, size_t i, struct errs *e)
{
	const json_t *v = json_object_get(o, key);

	if (!v) {
		errs_add(e, "runtimeConfig.portMappings[%zu].%s: required", i, key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 65535) {
		errs_add(e, "runtimeConfig.portMappings[%zu].%s: expected a port "
			 "1..65535, got %s", i, key, json_is_integer(v) ? "an integer "
			 "out of range" : jtype(v));
		return 0;
	}
	return (uint16_t)json_integer_value(v);
}

/* protocol and hostIP of item i into p: true when valid. */
static bool port_proto_ip(const json_t *o, size_t i, struct wep_port *p,
			  struct errs *e)
{
	const json_t *pr = json_object_get(o, "protocol"), *ip = json_object_get(o, "hostIP");
	const char *s;
	bool ok = true;

	p->proto = 6;	/* IPPROTO_TCP */
	if (pr && (!json_is_string(pr) || (strcasecmp(json_string_value(pr), "tcp") &&
					   strcasecmp(json_string_value(pr), "udp")))) {
		errs_add(e, "runtimeConfig.portMappings[%zu].protocol: petrel publishes "
			 "tcp and udp ports, not %.32s", i, json_is_string(pr) ?
			 json_string_value(pr) : jtype(pr));
		ok = false;
	} else if (pr && !strcasecmp(json_string_value(pr), "udp")) {
		p->proto = 17;	/* IPPROTO_UDP */
	}
	p->host_ip = 0;
	if (!ip)
		return ok;
	s = json_string_value(ip);
	if (!s) {
		errs_add(e, "runtimeConfig.portMappings[%zu].hostIP: expected a string, got %s",
			 i, jtype(ip));
		return false;
	}
	if (cni_host_ip_parse(s, &p->host_ip) < 0) {
		errs_add(e, "runtimeConfig.portMappings[%zu].hostIP: \"%.64s\" is not a "
			 "unicast IPv4 address (or \"\" / 0.0.0.0 for all)", i, s);
		return false;
	}
	return ok;
}

int cni_host_ip_parse(const char *s, uint32_t *out)
{
	uint32_t a = 0;

	if (s[0] && (ip4_parse(s, &a) < 0 || (a >> 28) == 0xe || a == 0xffffffffu))
		return -EINVAL;
	*out = a;
	return 0;
}

size_t cni_port_taken(const struct wep_port *ports, size_t n, const struct wep_port *p)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (ports[k].host_port == p->host_port && ports[k].proto == p->proto &&
		    (ports[k].host_ip == p->host_ip || !ports[k].host_ip || !p->host_ip))
			break;
	return k;
}

int cni_ports_parse(const json_t *pm, struct wep_port *out, size_t *n,
		    struct errs *e)
{
	struct wep_port ports[WEP_MAX_PORTS];
	size_t n0 = errs_count(e), np = 0;

	if (!json_is_array(pm)) {
		errs_add(e, "runtimeConfig.portMappings: expected a list, got %s", jtype(pm));
		return -CNI_ECONFIG;
	}
	if (json_array_size(pm) > WEP_MAX_PORTS) {
		errs_add(e, "runtimeConfig.portMappings: %zu mappings, at most %d",
			 json_array_size(pm), WEP_MAX_PORTS);
		return -CNI_ECONFIG;
	}
	for (size_t i = 0; i < json_array_size(pm); i++) {
		const json_t *o = json_array_get(pm, i);
		struct wep_port p = { 0 };
		bool ok;
		size_t k;

		if (!json_is_object(o)) {
			errs_add(e, "runtimeConfig.portMappings[%zu]: expected an object "
				 "{hostPort, containerPort, protocol?, hostIP?}, got %s", i,
				 jtype(o));
			continue;
		}
		p.host_port = port_num(o, "hostPort", i, e);
		p.port = port_num(o, "containerPort", i, e);
		ok = port_proto_ip(o, i, &p, e);
		if (!ok || !p.host_port || !p.port)
			continue;
		k = cni_port_taken(ports, np, &p);
		if (k < np) {
			errs_add(e, "runtimeConfig.portMappings[%zu]: host port %s/%u is "
				 "already taken by portMappings[%zu]", i,
				 p.proto == 17 ? "udp" : "tcp", (unsigned)p.host_port, k);
			continue;
		}
		ports[np++] = p;
	}
	if (errs_count(e) != n0)
		return -CNI_ECONFIG;
	memcpy(out, ports, np * sizeof(ports[0]));
	*n = np;
	return 0;
}

/* ---------------------------------------------------------------- GC */

/* Item i of the valid attachments into *a: true when valid. */
static bool attachment_parse(const json_t *o, const char *path, size_t i,
			     struct cni_attachment *a, struct errs *e)
{
	const json_t *cid = json_object_get(o, "containerID"), *ifn;
	bool ok = true;

	if (!json_is_object(o)) {
		errs_add(e, "%s[%zu]: expected an object {containerID, ifname}, got %s",
			 path, i, jtype(o));
		return false;
	}
	ifn = json_object_get(o, "ifname");
	if (!json_is_string(cid) ||
	    strlen(json_string_value(cid)) != json_string_length(cid) ||
	    !cni_container_id_valid(json_string_value(cid), sizeof(a->container_id))) {
		errs_add(e, "%s[%zu].containerID: %s", path, i, !cid ? "required" :
			 !json_is_string(cid) ? "expected a string" :
			 "invalid (letters, digits, '_', '.', '-'; at most 71)");
		ok = false;
	} else {
		snprintf(a->container_id, sizeof(a->container_id), "%s", json_string_value(cid));
	}
	if (!json_is_string(ifn) || strlen(json_string_value(ifn)) != json_string_length(ifn) ||
	    !ifname_valid(json_string_value(ifn))) {
		errs_add(e, "%s[%zu].ifname: %s", path, i, !ifn ? "required" :
			 !json_is_string(ifn) ? "expected a string" :
			 "not a valid interface name");
		ok = false;
	} else {
		snprintf(a->ifname, sizeof(a->ifname), "%s", json_string_value(ifn));
	}
	return ok;
}

/* cni.dev/valid-attachments (or its draft name) into c. */
/* An IPv6 address or /128 (the IPAM library has IPv6, the data path not
 * yet: such a request is refused with its own line, not as invalid IPv4). */
static bool is_ip6(const char *s)
{
	struct ip6_net n;

	return ip6_net_parse(s, &n, true, false) == 0;
}

static void conf_attachments(const json_t *root, struct cni_conf *c, struct errs *e)
{
	const char *path = "cni.dev/valid-attachments";
	const json_t *v = json_object_get(root, path);
	size_t n;

	if (!v) {
		path = "cni.dev/attachments";
		v = json_object_get(root, path);
	}
	if (!v)
		return;
	if (!json_is_array(v)) {
		errs_add(e, "%s: expected a list of {containerID, ifname}, got %s", path,
			 jtype(v));
		return;
	}
	c->has_valid = true;
	n = json_array_size(v);
	if (n > CNI_GC_MAX) {
		errs_add(e, "%s: %zu attachments, at most %d", path, n, CNI_GC_MAX);
		return;
	}
	if (!n)
		return;
	c->valid = calloc(n, sizeof(*c->valid));
	if (!c->valid) {
		errs_add(e, "%s: out of memory", path);
		return;
	}
	for (size_t i = 0; i < n; i++)
		attachment_parse(json_array_get(v, i), path, i, &c->valid[i], e);
	c->n_valid = n;
}

bool cni_attachment_valid(const struct cni_conf *c, const char *container_id,
			  const char *ifname)
{
	for (size_t i = 0; i < c->n_valid; i++)
		if (!strcmp(c->valid[i].container_id, container_id) &&
		    !strcmp(c->valid[i].ifname, ifname))
			return true;
	return false;
}

void cni_network_label(const char *name, char *buf)
{
	uint8_t h[20];

	if (strlen(name) < CNI_NET_LABEL_LEN && labels_value_valid(name) && name[0]) {
		snprintf(buf, CNI_NET_LABEL_LEN, "%s", name);
		return;
	}
	sha1(name, strlen(name), h);
	memcpy(buf, "sha1-", 5);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(buf + 5 + 2 * i, 3, "%02x", h[i]);
}

static void conf_runtime(const json_t *rc, struct cni_conf *c, struct errs *e)
{
	const json_t *ips, *pm;

	if (!rc)
		return;
	if (!json_is_object(rc)) {
		errs_add(e, "runtimeConfig: expected an object, got %s", jtype(rc));
		return;
	}
	ips = json_object_get(rc, "ips");
	if (ips && !json_is_array(ips)) {
		errs_add(e, "runtimeConfig.ips: expected a list, got %s", jtype(ips));
	} else if (ips) {
		if (json_array_size(ips) > 1)
			errs_add(e, "runtimeConfig.ips: at most one address (petrel gives "
				 "a workload one IPv4 address), got %zu",
				 json_array_size(ips));
		for (size_t i = 0; i < json_array_size(ips) && i < 1; i++) {
			const json_t *x = json_array_get(ips, i);
			struct ip4_net n;

			if (!json_is_string(x)) {
				errs_add(e, "runtimeConfig.ips[%zu]: expected a string, got %s",
					 i, jtype(x));
				continue;
			}
			if (is_ip6(json_string_value(x))) {
				errs_add(e, "runtimeConfig.ips[%zu]: IPv6 is not routed yet: "
					 "\"%.64s\" is IPv6 (see docs/ipv6.md)", i,
					 json_string_value(x));
				continue;
			}
			if (ip4_net_parse(json_string_value(x), &n, true, false) < 0 ||
			    n.len != 32 || n.addr == 0) {
				errs_add(e, "runtimeConfig.ips[%zu]: invalid IPv4 address "
					 "\"%.64s\" (A.B.C.D or A.B.C.D/32)", i,
					 json_string_value(x));
				continue;
			}
			c->want = n.addr;
		}
	}
	pm = json_object_get(rc, "portMappings");
	if (pm)
		cni_ports_parse(pm, c->ports, &c->n_ports, e);
	conf_labels(json_object_get(rc, "labels"), "runtimeConfig.labels",
		    &c->labels, e);
}

int cni_conf_parse(const char *buf, size_t len, struct cni_conf *out,
		   struct errs *e)
{
	struct cni_conf c = { 0 };
	json_error_t je;
	json_t *root, *v;
	size_t n0 = errs_count(e);
	int rc = -CNI_ECONFIG;

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		errs_add(e, "network config: line %d column %d: %s", je.line,
			 je.column, je.text);
		return -CNI_EDECODE;
	}
	if (!json_is_object(root)) {
		errs_add(e, "network config: expected an object, got %s", jtype(root));
		goto out;
	}
	if (conf_str(root, "cniVersion", "cniVersion", c.cni_version,
		     sizeof(c.cni_version), true, e) == 0 &&
	    !cni_version_supported(c.cni_version)) {
		errs_add(e, "cniVersion: \"%s\" is not supported (0.4.0, 1.0.0, 1.1.0)",
			 c.cni_version);
		rc = -CNI_EVERSION;
		goto out;
	}
	conf_str(root, "name", "name", c.name, sizeof(c.name), true, e);
	conf_str(root, "type", "type", c.type, sizeof(c.type), true, e);
	snprintf(c.petrel_config, sizeof(c.petrel_config), "%s", CONFIG_DEFAULT_PATH);
	conf_str(root, "petrelConfig", "petrelConfig", c.petrel_config,
		 sizeof(c.petrel_config), false, e);
	v = json_object_get(root, "noWait");
	if (v && !json_is_boolean(v))
		errs_add(e, "noWait: expected a boolean, got %s", jtype(v));
	c.no_wait = json_is_true(v);
	v = json_object_get(root, "capabilities");
	if (v && !json_is_object(v))
		errs_add(e, "capabilities: expected an object, got %s", jtype(v));
	v = json_object_get(root, "args");
	if (v && !json_is_object(v))
		errs_add(e, "args: expected an object, got %s", jtype(v));
	else if (v)
		conf_labels(json_object_get(v, "labels"), "args.labels", &c.labels, e);
	conf_runtime(json_object_get(root, "runtimeConfig"), &c, e);
	v = json_object_get(root, "prevResult");
	if (v && !json_is_object(v))
		errs_add(e, "prevResult: expected an object, got %s", jtype(v));
	else if (v)
		c.prev_result = json_deep_copy(v);
	conf_attachments(root, &c, e);
	v = json_object_get(root, "ipam");
	snprintf(c.ipam_petrel_config, sizeof(c.ipam_petrel_config), "%s",
		 CONFIG_DEFAULT_PATH);
	if (v && !json_is_object(v)) {
		errs_add(e, "ipam: expected an object, got %s", jtype(v));
	} else if (v) {
		conf_str(v, "type", "ipam.type", c.ipam_type, sizeof(c.ipam_type),
			 false, e);
		conf_str(v, "petrelConfig", "ipam.petrelConfig", c.ipam_petrel_config,
			 sizeof(c.ipam_petrel_config), false, e);
	}
	if (c.petrel_config[0] != '/')
		errs_add(e, "petrelConfig: must be an absolute path");
	if (c.ipam_petrel_config[0] != '/')
		errs_add(e, "ipam.petrelConfig: must be an absolute path");
	if (errs_count(e) == n0) {
		*out = c;
		memset(&c, 0, sizeof(c));
		rc = 0;
	}
out:
	cni_conf_clear(&c);
	json_decref(root);
	return rc;
}

void cni_conf_clear(struct cni_conf *c)
{
	labels_clear(&c->labels);
	json_decref(c->prev_result);
	c->prev_result = NULL;
	c->n_ports = 0;
	free(c->valid);
	c->valid = NULL;
	c->n_valid = 0;
	c->has_valid = false;
}

void cni_conf_version(const char *buf, size_t len, char *out, size_t outlen)
{
	json_t *root = json_loadb(buf, len, 0, NULL);
	const char *v = json_string_value(json_object_get(root, "cniVersion"));

	snprintf(out, outlen, "%s", cni_version_supported(v) ? v : CNI_VERSION);
	json_decref(root);
}

int cni_read_input(int fd, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= CNI_CONF_MAX) {
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* ---------------------------------------------------------------- CNI_ARGS */

static bool args_key_valid(const char *k, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_' && k[i] != '-')
			return false;
	return true;
}

/* IP=VALUE: one IPv4 address (A.B.C.D or A.B.C.D/32). */
static void args_ip(const char *val, size_t vn, uint32_t *ip, struct errs *e)
{
	char buf[32];
	struct ip4_net n;

	if (vn >= sizeof(buf) || memchr(val, ',', vn)) {
		errs_add(e, "CNI_ARGS: IP: one IPv4 address (petrel gives a workload "
			 "one), got \"%.*s\"", (int)(vn > 64 ? 64 : vn), val);
		return;
	}
	memcpy(buf, val, vn);
	buf[vn] = '\0';
	if (is_ip6(buf)) {
		errs_add(e, "CNI_ARGS: IP: IPv6 is not routed yet: \"%s\" is IPv6 "
			 "(see docs/ipv6.md)", buf);
		return;
	}
	if (ip4_net_parse(buf, &n, true, false) < 0 || n.len != 32 || n.addr == 0) {
		errs_add(e, "CNI_ARGS: IP: invalid IPv4 address \"%s\"", buf);
		return;
	}
	*ip = n.addr;
}

int cni_args_parse(const char *s, struct cni_args *out, struct errs *e)
{
	struct cni_args a = { 0 };
	size_t n0 = errs_count(e);
	const char *p = s;

	if (!s || !s[0]) {
		*out = a;
		return 0;
	}
	if (strlen(s) > CNI_ARGS_MAX) {
		errs_add(e, "CNI_ARGS: longer than %d characters", CNI_ARGS_MAX);
		return -CNI_EENV;
	}
	while (*p) {
		const char *end = strchr(p, ';'), *eq;
		size_t n = end ? (size_t)(end - p) : strlen(p);

		eq = memchr(p, '=', n);
		if (!eq || !args_key_valid(p, (size_t)(eq - p))) {
			errs_add(e, "CNI_ARGS: \"%.*s\": expected KEY=VALUE", (int)(n > 64 ? 64 : n), p);
		} else {
			size_t kn = (size_t)(eq - p), vn = n - kn - 1;
			const char *val = eq + 1;

			if (kn == 12 && !strncmp(p, "K8S_POD_NAME", 12)) {
				a.pod_name_given = true;
				a.pod_name[0] = '\0';
				if (vn < sizeof(a.pod_name)) {
					memcpy(a.pod_name, val, vn);
					a.pod_name[vn] = '\0';
					if (!res_name_valid(a.pod_name))
						a.pod_name[0] = '\0';
				}
			} else if (kn == 2 && !strncmp(p, "IP", 2)) {
				args_ip(val, vn, &a.ip, e);
			} else if (kn == 13 && !strncmp(p, "IgnoreUnknown", 13)) {
				a.ignore_unknown = (vn == 1 && val[0] == '1') ||
						   (vn == 4 && !strncasecmp(val, "true", 4));
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	if (errs_count(e) != n0)
		return -CNI_EENV;
	*out = a;
	return 0;
}

bool cni_container_id_valid(const char *id, size_t maxlen)
{
	size_t n;

	if (!id || !isalnum((unsigned char)id[0]))
		return false;
	n = strlen(id);
	if (n >= maxlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			return false;
	return true;
}

/* ---------------------------------------------------------------- replies */

static char *dump(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(j);
	return s;
}

static json_t *mac_json(const uint8_t m[6])
{
	char b[18];

	snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	return json_string(b);
}

/* A copy of prev[key] when it is an array, else a new empty array. */
static json_t *prev_array(const json_t *prev, const char *key)
{
	json_t *a = json_object_get(prev, key);

	return json_is_array(a) ? json_deep_copy(a) : json_array();
}

char *cni_result_text(const char *version, const struct cni_result *r,
		      const json_t *prev)
{
	json_t *root = json_object(), *ifs, *ips, *routes, *ip;
	char ab[IP4_NETSTRLEN], gb[IP4_STRLEN];
	struct ip4_net n = { r->addr, r->prefix_len ? r->prefix_len : 32 };
	size_t base;

	ifs = prev_array(prev, "interfaces");
	ips = prev_array(prev, "ips");
	routes = prev_array(prev, "routes");
	ip = json_object();
	if (!root || !ifs || !ips || !routes || !ip)
		goto fail;
	base = json_array_size(ifs);
	json_object_set_new(root, "cniVersion", json_string(version));
	if (r->has_interfaces) {
		json_array_append_new(ifs, json_pack("{s:s, s:o}", "name",
						     r->host_ifname, "mac",
						     mac_json(r->host_mac)));
		json_array_append_new(ifs, json_pack("{s:s, s:o, s:s}", "name",
						     r->ifname, "mac", mac_json(r->mac),
						     "sandbox", r->sandbox));
	}
	if (!strcmp(version, "0.4.0"))
		json_object_set_new(ip, "version", json_string("4"));
	json_object_set_new(ip, "address", json_string(ip4_net_fmt(&n, ab)));
	if (r->gateway)
		json_object_set_new(ip, "gateway", json_string(ip4_fmt(r->gateway, gb)));
	if (r->has_interfaces)
		json_object_set_new(ip, "interface", json_integer((json_int_t)base + 1));
	json_array_append_new(ips, ip);
	ip = NULL;
	if (r->gateway)
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", "0.0.0.0/0",
							"gw", gb));
	if (json_array_size(ifs))
		json_object_set(root, "interfaces", ifs);
	json_object_set(root, "ips", ips);
	if (json_array_size(routes))
		json_object_set(root, "routes", routes);
	if (json_is_object(json_object_get(prev, "dns")))
		json_object_set_new(root, "dns",
				    json_deep_copy(json_object_get(prev, "dns")));
	json_decref(ifs);
	json_decref(ips);
	json_decref(routes);
	return dump(root);
fail:
	json_decref(ip);
	json_decref(ifs);
	json_decref(ips);
	json_decref(routes);
	json_decref(root);
	return NULL;
}

char *cni_error_text(const char *version, int code, const char *msg,
		     const char *details)
{
	json_t *j = json_pack("{s:s, s:i, s:s}", "cniVersion", version, "code", code,
			      "msg", msg);

	if (j && details && details[0])
		json_object_set_new(j, "details", json_string(details));
	return dump(j);
}

char *cni_version_text(const char *version)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < sizeof(cni_versions) / sizeof(cni_versions[0]); i++)
		json_array_append_new(a, json_string(cni_versions[i]));
	if (!a)
		return NULL;
	return dump(json_pack("{s:s, s:o}", "cniVersion", version,
			      "supportedVersions", a));
}

int cni_err_set(struct cni_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err->code) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -code;
}

void cni_err_details(struct cni_err *err, const struct errs *e)
{
	size_t off = strlen(err->details);

	for (size_t i = 0; i < e->n && off < sizeof(err->details); i++)
		off += (size_t)snprintf(err->details + off, sizeof(err->details) - off,
					"%s%s", off ? "; " : "", e->msg[i]);
}
