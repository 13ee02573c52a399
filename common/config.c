/*
 * config: a node's petrel.yaml (see config.h).
 *
 * Parse, validate, commit: the file is loaded with yamljson, every key is
 * checked into a copy that starts from the defaults, every problem is
 * reported as "file:line:col: key: message", and the caller's struct is
 * written only when there was none. Unknown keys are errors: a misspelt key
 * silently falling back to its default is the worst kind of config bug.
 * A key given as null (an empty "key:") keeps its default. The bird paths
 * default to files under runDir, so they follow a runDir override.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/dnsname.h"
#include "common/ip4.h"
#include "common/log.h"
#include "common/secretfile.h"
#include "common/yamljson.h"

#define CONFIG_FILE_MAX (1 << 20)

/* Copies s into dst (size bytes), cut to fit: callers have checked lengths
 * where a cut would matter. */
static void scopy(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Calico's failsafe ports less Kubernetes' and Typha's (6443, 5473,
 * 6666, 6667): ssh, DHCP, BGP, etcd in; DNS, DHCP, BGP, etcd out. */
static void config_failsafe_defaults(struct petrel_config *c)
{
	static const struct config_host_allow in[] = {
		{ IPPROTO_TCP, 22 }, { IPPROTO_UDP, 68 }, { IPPROTO_TCP, 179 },
		{ IPPROTO_TCP, 2379 }, { IPPROTO_TCP, 2380 },
	};
	static const struct config_host_allow out[] = {
		{ IPPROTO_UDP, 53 }, { IPPROTO_UDP, 67 }, { IPPROTO_TCP, 179 },
		{ IPPROTO_TCP, 2379 }, { IPPROTO_TCP, 2380 },
	};

	memcpy(c->failsafe_in, in, sizeof(in));
	c->n_failsafe_in = sizeof(in) / sizeof(in[0]);
	memcpy(c->failsafe_out, out, sizeof(out));
	c->n_failsafe_out = sizeof(out) / sizeof(out[0]);
}

void config_defaults(struct petrel_config *c)
{
	char host[256] = "";

	memset(c, 0, sizeof(*c));
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	/* node names are lower case; host names compare case-insensitively */
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	scopy(c->node, sizeof(c->node), host);
	snprintf(c->datastore, sizeof(c->datastore), "sqlite:/var/lib/petrel/petrel.db");
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/petrel");
	c->route_protocol = 87;
	c->resync_interval = 30;
	c->wait_timeout = 10;
	c->log_level = LOG_LVL_INFO;
	c->host_port_lo = 32768;	/* Docker's: the kernel's ephemeral range */
	c->host_port_hi = 60999;
	c->ep_to_host = CONFIG_EP_TO_HOST_DROP;
	config_failsafe_defaults(c);
	snprintf(c->bird_config, sizeof(c->bird_config), "/run/petrel/bird.conf");
	snprintf(c->bird_socket, sizeof(c->bird_socket), "/run/petrel/bird.ctl");
}

void config_status_socket(const struct petrel_config *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/felix.sock", c->run_dir);
}

struct cctx {
	const struct ydoc *doc;
	const char *file;
	struct errs *e;
	size_t nerr;
};

__attribute__((format(printf, 5, 6)))
static void cerr(struct cctx *x, const json_t *obj, const char *prefix,
		 const char *key, const char *fmt, ...)
{
	char msg[512];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->nerr++;
	if (!x->e)
		return;
	if (key && ydoc_pos_key(x->doc, obj, key, &line, &col) < 0 && x->doc) {
		line = x->doc->line;
		col = x->doc->col;
	}
	if (!key && x->doc) {
		line = x->doc->line;
		col = x->doc->col;
	}
	if (key)
		errs_addpos(x->e, x->file, line, col, "%s%s: %s", prefix, key, msg);
	else
		errs_addpos(x->e, x->file, line, col, "%s", msg);
}

/* A string value; false (reported) when it is not one or does not fit. */
static bool str_of(struct cctx *x, const json_t *obj, const char *prefix,
		   const char *key, const json_t *v, size_t size, const char **out)
{
	const char *s;

	if (!json_is_string(v)) {
		cerr(x, obj, prefix, key, "must be a string, not %s", yaml_type_name(v));
		return false;
	}
	s = json_string_value(v);
	if (json_string_length(v) >= size) {
		cerr(x, obj, prefix, key, "too long (at most %zu characters)", size - 1);
		return false;
	}
	for (size_t i = 0; i < json_string_length(v); i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			cerr(x, obj, prefix, key, "must not contain control characters");
			return false;
		}
	}
	*out = s;
	return true;
}

static bool path_ok(const char *s)
{
	return s[0] == '/';
}

static void get_path(struct cctx *x, const json_t *obj, const char *prefix,
		     const char *key, const json_t *v, char *dst, size_t size)
{
	const char *s;

	if (!str_of(x, obj, prefix, key, v, size, &s))
		return;
	if (!path_ok(s)) {
		cerr(x, obj, prefix, key, "must be an absolute path, not \"%s\"", s);
		return;
	}
	scopy(dst, size, s);
}

static bool int_of(struct cctx *x, const json_t *obj, const char *key,
		   const json_t *v, json_int_t min, json_int_t max, json_int_t *out)
{
	if (!json_is_integer(v)) {
		cerr(x, obj, "", key, "must be an integer, not %s", yaml_type_name(v));
		return false;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		cerr(x, obj, "", key, "%" JSON_INTEGER_FORMAT " is out of range (%"
		     JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT ")",
		     json_integer_value(v), min, max);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

/* Route protocol numbers the kernel reserves (2..4) or that other routing
 * software uses (rtnetlink.h): sharing one would make felix take their
 * routes for its own, or they ours. */
static const char *route_protocol_owner(json_int_t p)
{
	static const struct { int n; const char *who; } reserved[] = {
		{ 2, "the kernel" }, { 3, "boot" }, { 4, "static routes" },
		{ 8, "gated" }, { 9, "router advertisements" }, { 10, "MRT" },
		{ 11, "zebra" }, { 12, "BIRD" }, { 13, "dnrouted" }, { 14, "XORP" },
		{ 15, "Netsukuku" }, { 16, "DHCP" }, { 17, "mrouted" },
		{ 18, "keepalived" }, { 42, "babel" }, { 99, "Open/R" },
		{ 186, "FRR bgp" }, { 187, "FRR isis" }, { 188, "FRR ospf" },
		{ 189, "FRR rip" }, { 192, "FRR eigrp" },
	};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (reserved[i].n == p)
			return reserved[i].who;
	return NULL;
}

/* "sqlite:/abs/path" or "etcd:http(s)://host:port[,...]" */
static void get_datastore(struct cctx *x, const json_t *obj, const json_t *v,
			  struct petrel_config *c)
{
	const char *s;

	if (!str_of(x, obj, "", "datastore", v, sizeof(c->datastore), &s))
		return;
	if (!strncmp(s, "sqlite:", 7)) {
		const char *q = strchr(s, '?');

		if (s[7] != '/') {
			cerr(x, obj, "", "datastore",
			     "\"%s\": the sqlite database must be an absolute path", s);
			return;
		}
		if (q && strcmp(q, "?sync=full") && strcmp(q, "?sync=normal")) {
			cerr(x, obj, "", "datastore",
			     "\"%s\": the only option is ?sync=full or ?sync=normal", s);
			return;
		}
	} else if (!strncmp(s, "etcd:", 5)) {
		const char *p = s + 5;

		for (;;) {
			const char *end = strchr(p, ',');
			size_t n = end ? (size_t)(end - p) : strlen(p);

			if (!((n > 7 && !strncmp(p, "http://", 7)) ||
			      (n > 8 && !strncmp(p, "https://", 8)))) {
				cerr(x, obj, "", "datastore", "\"%s\": each etcd endpoint must be "
				     "an http:// or https:// URL", s);
				return;
			}
			if (!end)
				break;
			p = end + 1;
		}
	} else {
		cerr(x, obj, "", "datastore",
		     "\"%s\": expected sqlite:/path or etcd:https://host:port[,...]", s);
		return;
	}
	scopy(c->datastore, sizeof(c->datastore), s);
}

static bool netns_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

static void get_netns(struct cctx *x, const json_t *obj, const json_t *v,
		      struct petrel_config *c)
{
	const char *s;

	if (!str_of(x, obj, "", "netns", v, sizeof(c->netns), &s))
		return;
	if (strchr(s, '/')) {
		if (!path_ok(s)) {
			cerr(x, obj, "", "netns", "\"%s\": a path must be absolute", s);
			return;
		}
	} else if (s[0]) {
		bool ok = strcmp(s, ".") && strcmp(s, "..");

		for (const char *p = s; ok && *p; p++)
			ok = netns_char_ok(*p);
		if (!ok) {
			cerr(x, obj, "", "netns", "\"%s\": a namespace name is made of "
			     "[A-Za-z0-9_.-] (or give an absolute path)", s);
			return;
		}
	}
	scopy(c->netns, sizeof(c->netns), s);
}

static void get_prefix(struct cctx *x, const json_t *obj, const json_t *v,
		       struct petrel_config *c)
{
	const char *s;

	if (!str_of(x, obj, "", "workloadNetnsPrefix", v, 64, &s))
		return;
	if (strlen(s) > 16) {
		cerr(x, obj, "", "workloadNetnsPrefix", "\"%s\" is longer than 16 characters", s);
		return;
	}
	for (const char *p = s; *p; p++) {
		if (!netns_char_ok(*p)) {
			cerr(x, obj, "", "workloadNetnsPrefix",
			     "\"%s\": only [A-Za-z0-9_.-] may be used", s);
			return;
		}
	}
	scopy(c->netns_prefix, sizeof(c->netns_prefix), s);
}

static void get_loglevel(struct cctx *x, const json_t *obj, const json_t *v,
			 struct petrel_config *c)
{
	static const struct { const char *name; int lvl; } levels[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN },
		{ "warn", LOG_LVL_WARN }, { "info", LOG_LVL_INFO },
		{ "debug", LOG_LVL_DEBUG },
	};
	const char *s;

	if (!str_of(x, obj, "", "logLevel", v, 32, &s))
		return;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!strcasecmp(s, levels[i].name)) {
			c->log_level = levels[i].lvl;
			return;
		}
	}
	cerr(x, obj, "", "logLevel", "unknown level \"%s\" (error, warning, info or debug)", s);
}

/* "LO-HI", 1 <= LO <= HI <= 65535 */
static void get_port_range(struct cctx *x, const json_t *obj, const json_t *v,
			   struct petrel_config *c)
{
	unsigned lo, hi;
	const char *s;
	int n = 0;

	if (!str_of(x, obj, "", "hostPortRange", v, 32, &s))
		return;
	if (sscanf(s, "%5u-%5u%n", &lo, &hi, &n) != 2 || s[n] || s[0] < '0' ||
	    s[0] > '9' || lo < 1 || hi > 65535 || lo > hi) {
		cerr(x, obj, "", "hostPortRange", "\"%s\": expected LO-HI, "
		     "1 <= LO <= HI <= 65535", s);
		return;
	}
	c->host_port_lo = (uint16_t)lo;
	c->host_port_hi = (uint16_t)hi;
}

/* [PORT, ...]: host ports that may be published although the node uses
 * them (a listener) or they are the BGP port (179). */
static void get_allow_ports(struct cctx *x, const json_t *obj, const json_t *v,
			    struct petrel_config *c)
{
	size_t i;
	json_t *p;

	if (!json_is_array(v)) {
		cerr(x, obj, "", "allowHostPorts", "must be a list of ports, not %s",
		     yaml_type_name(v));
		return;
	}
	if (json_array_size(v) > CONFIG_ALLOW_PORTS_MAX) {
		cerr(x, obj, "", "allowHostPorts", "at most %d ports", CONFIG_ALLOW_PORTS_MAX);
		return;
	}
	c->n_allow_host_ports = 0;
	json_array_foreach(v, i, p) {
		if (!json_is_integer(p) || json_integer_value(p) < 1 ||
		    json_integer_value(p) > 65535) {
			cerr(x, obj, "", "allowHostPorts", "item %zu: expected a port "
			     "1..65535", i);
			continue;
		}
		c->allow_host_ports[c->n_allow_host_ports++] = (uint16_t)json_integer_value(p);
	}
}

static void get_ep_to_host(struct cctx *x, const json_t *obj, const json_t *v,
			   struct petrel_config *c)
{
	const char *s;

	if (!str_of(x, obj, "", "endpointToHostAction", v, 32, &s))
		return;
	if (!strcasecmp(s, "accept"))
		c->ep_to_host = CONFIG_EP_TO_HOST_ACCEPT;
	else if (!strcasecmp(s, "drop"))
		c->ep_to_host = CONFIG_EP_TO_HOST_DROP;
	else
		cerr(x, obj, "", "endpointToHostAction",
		     "\"%s\": expected accept or drop", s);
}

/* A list of "tcp:PORT", "udp:PORT" (and "icmp" when icmp_ok) into v
 * (at most max); *n the count. endpointToHostAllow and the failsafe
 * ports. */
static void get_port_list(struct cctx *x, const json_t *obj, const json_t *v,
			  const char *key, bool icmp_ok, size_t max,
			  struct config_host_allow *out, size_t *n)
{
	const char *what = icmp_ok ? "\"tcp:PORT\", \"udp:PORT\", \"icmp\"" :
				     "\"tcp:PORT\", \"udp:PORT\"";
	size_t i;
	json_t *it;

	if (!json_is_array(v)) {
		cerr(x, obj, "", key, "must be a list (%s), not %s", what,
		     yaml_type_name(v));
		return;
	}
	if (json_array_size(v) > max) {
		cerr(x, obj, "", key, "more than %zu entries", max);
		return;
	}
	*n = 0;
	json_array_foreach(v, i, it) {
		struct config_host_allow a = { 0, 0 };
		const char *s;
		unsigned port;
		int k = 0;

		if (!str_of(x, obj, "", key, it, 16, &s))
			return;
		if (icmp_ok && !strcasecmp(s, "icmp")) {
			a.proto = IPPROTO_ICMP;
		} else if ((!strncasecmp(s, "tcp:", 4) || !strncasecmp(s, "udp:", 4)) &&
			   s[4] >= '0' && s[4] <= '9' &&
			   sscanf(s + 4, "%5u%n", &port, &k) == 1 && !s[4 + k] &&
			   port >= 1 && port <= 65535) {
			a.proto = (s[0] == 't' || s[0] == 'T') ? IPPROTO_TCP : IPPROTO_UDP;
			a.port = (uint16_t)port;
		} else {
			cerr(x, obj, "", key, "\"%s\": expected tcp:PORT, udp:PORT "
			     "(1..65535)%s", s, icmp_ok ? " or icmp" : "");
			return;
		}
		out[(*n)++] = a;
	}
}

static void unknown_key(struct cctx *x, const json_t *obj, const char *prefix,
			const char *key)
{
	int line = 0, col = 0;

	x->nerr++;
	if (!x->e)
		return;
	if (ydoc_pos_keyname(x->doc, obj, key, &line, &col) < 0 && x->doc) {
		line = x->doc->line;
		col = x->doc->col;
	}
	errs_addpos(x->e, x->file, line, col, "%s%s: unknown key", prefix, key);
}

static void get_bgp(struct cctx *x, const json_t *obj, const json_t *bgp,
		    struct petrel_config *c)
{
	const char *key, *s;
	json_t *v;

	if (!json_is_object(bgp)) {
		cerr(x, obj, "", "bgp", "must be a mapping, not %s", yaml_type_name(bgp));
		return;
	}
	json_object_foreach((json_t *)bgp, key, v) {
		json_int_t asn;

		if (json_is_null(v) && (!strcmp(key, "address") || !strcmp(key, "asNumber")))
			continue;
		if (!strcmp(key, "address")) {
			uint32_t a;

			if (!str_of(x, bgp, "bgp.", key, v, 64, &s))
				continue;
			if (ip4_parse(s, &a) < 0 || a == 0)
				cerr(x, bgp, "bgp.", key, "invalid IPv4 address \"%s\"", s);
			else
				c->bgp_address = a;
		} else if (!strcmp(key, "asNumber")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 4294967295LL) {
				cerr(x, bgp, "bgp.", key, "must be an AS number (1..4294967295)");
				continue;
			}
			asn = json_integer_value(v);
			c->bgp_asn = (uint32_t)asn;
		} else {
			unknown_key(x, bgp, "bgp.", key);
		}
	}
}

/* labels: {KEY: VALUE}: the labels felix gives this node's Node (Kubernetes'
 * label rules; at most CONFIG_LABELS_MAX). */
static void get_labels(struct cctx *x, const json_t *obj, const json_t *m,
		       struct petrel_config *c)
{
	const char *key, *s;
	json_t *v;

	if (!json_is_object(m)) {
		cerr(x, obj, "", "labels", "must be a mapping, not %s", yaml_type_name(m));
		return;
	}
	json_object_foreach((json_t *)m, key, v) {
		if (!dnsname_label_key_valid(key) ||
		    strlen(key) >= sizeof(c->labels[0].key)) {
			int line = 0, col = 0;

			/* at the key itself, as an unknown key is */
			x->nerr++;
			if (x->e && ydoc_pos_keyname(x->doc, m, key, &line, &col) < 0 &&
			    x->doc) {
				line = x->doc->line;
				col = x->doc->col;
			}
			if (x->e)
				errs_addpos(x->e, x->file, line, col, "labels.%s: invalid "
					    "label key (an optional DNS subdomain and '/', "
					    "then 1..63 of [A-Za-z0-9._-], beginning and "
					    "ending alphanumeric)", key);
			continue;
		}
		if (!str_of(x, m, "labels.", key, v, sizeof(c->labels[0].value), &s))
			continue;
		if (!dnsname_label_value_valid(s)) {
			cerr(x, m, "labels.", key, "invalid label value \"%s\" (\"\" or 1..63 "
			     "of [A-Za-z0-9._-], beginning and ending alphanumeric)", s);
			continue;
		}
		if (c->n_labels >= CONFIG_LABELS_MAX) {
			cerr(x, m, "labels.", key, "too many labels (at most %d)",
			     CONFIG_LABELS_MAX);
			return;
		}
		scopy(c->labels[c->n_labels].key, sizeof(c->labels[0].key), key);
		scopy(c->labels[c->n_labels].value, sizeof(c->labels[0].value), s);
		c->n_labels++;
	}
}

/* bird: {config, socket}; *set_* say which were given (else under runDir). */
static void get_bird(struct cctx *x, const json_t *obj, const json_t *bird,
		     struct petrel_config *c, bool *set_conf, bool *set_sock)
{
	const char *key;
	json_t *v;

	if (!json_is_object(bird)) {
		cerr(x, obj, "", "bird", "must be a mapping, not %s", yaml_type_name(bird));
		return;
	}
	json_object_foreach((json_t *)bird, key, v) {
		bool conf = !strcmp(key, "config"), sock = !strcmp(key, "socket");

		if (!conf && !sock) {
			unknown_key(x, bird, "bird.", key);
			continue;
		}
		if (json_is_null(v))
			continue;
		get_path(x, bird, "bird.", key, v, conf ? c->bird_config : c->bird_socket,
			 CONFIG_PATH_MAX);
		*(conf ? set_conf : set_sock) = true;
	}
}

/* %-encodes what would end or split a URL option value. */
static bool url_put(char *dst, size_t size, const char *s)
{
	size_t o = strlen(dst);

	for (; *s; s++) {
		bool esc = *s == '%' || *s == '&' || *s == '?' || *s == ',' ||
			   *s == '=' || *s == '#' || *s == ' ';

		if (o + (esc ? 3 : 1) >= size)
			return false;
		if (esc)
			o += (size_t)snprintf(dst + o, size - o, "%%%02X",
					      (unsigned char)*s);
		else
			dst[o++] = *s;
	}
	dst[o] = '\0';
	return true;
}

/*
 * etcd: {ca, cert, key, user, passwordFile, prefix, timeout}: the etcd
 * datastore's options, folded into the datastore URL as its query
 * (datastore/etcd_ep.h), so that every ds_open of the config gets them.
 * The key and password files must be root's and 0600 (common/secretfile).
 */
static void get_etcd(struct cctx *x, const json_t *obj, const json_t *etcd,
		     struct petrel_config *c)
{
	static const struct { const char *yaml, *url; bool path, secret; } opts[] = {
		{ "ca", "ca", true, false },
		{ "cert", "cert", true, false },
		{ "key", "key", true, true },
		{ "user", "user", false, false },
		{ "passwordFile", "password_file", true, true },
		{ "prefix", "prefix", false, false },
		{ "timeout", "timeout", false, false },
	};
	char url[sizeof(c->datastore)], err[CONFIG_PATH_MAX + 96];
	const char *key, *s;
	bool first;
	json_t *v;
	size_t i;

	if (!json_is_object(etcd)) {
		cerr(x, obj, "", "etcd", "must be a mapping, not %s", yaml_type_name(etcd));
		return;
	}
	if (strncmp(c->datastore, "etcd:", 5)) {
		cerr(x, obj, "", "etcd", "given, but the datastore is not etcd: (%s)",
		     c->datastore);
		return;
	}
	scopy(url, sizeof(url), c->datastore);
	first = !strchr(url, '?');
	json_object_foreach((json_t *)etcd, key, v) {
		char num[16];

		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (!strcmp(opts[i].yaml, key))
				break;
		if (i == sizeof(opts) / sizeof(opts[0])) {
			unknown_key(x, etcd, "etcd.", key);
			continue;
		}
		if (json_is_null(v))
			continue;
		if (!strcmp(key, "timeout")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 600) {
				cerr(x, etcd, "etcd.", key, "seconds, an integer 1..600");
				continue;
			}
			snprintf(num, sizeof(num), "%d", (int)json_integer_value(v) * 1000);
			s = num;
		} else if (!str_of(x, etcd, "etcd.", key, v, CONFIG_PATH_MAX, &s)) {
			continue;
		} else if (opts[i].path && !path_ok(s)) {
			cerr(x, etcd, "etcd.", key, "must be an absolute path, not \"%s\"", s);
			continue;
		} else if (!strcmp(key, "prefix") &&
			   (s[0] != '/' || s[strlen(s) - 1] == '/')) {
			cerr(x, etcd, "etcd.", key, "\"%s\": /NAME (a leading slash, "
			     "no trailing one)", s);
			continue;
		} else if (opts[i].secret && secret_file_check(s, err, sizeof(err)) < 0) {
			cerr(x, etcd, "etcd.", key, "%s", err);
			continue;
		}
		if (strlen(url) + strlen(opts[i].url) + 2 >= sizeof(url) ||
		    !strcat(url, first ? "?" : "&") || !strcat(url, opts[i].url) ||
		    !strcat(url, "=") || !url_put(url, sizeof(url), s)) {
			cerr(x, etcd, "etcd.", key, "the datastore URL gets too long");
			return;
		}
		first = false;
	}
	scopy(c->datastore, sizeof(c->datastore), url);
}

static void config_apply(struct cctx *x, const json_t *root, struct petrel_config *c)
{
	const json_t *etcd = NULL;
	bool set_conf = false, set_sock = false, set_node = false;
	const char *key, *s;
	json_int_t i;
	json_t *v;

	json_object_foreach((json_t *)root, key, v) {
		if (json_is_null(v))
			continue;	/* an empty "key:" keeps the default */
		if (!strcmp(key, "node")) {
			if (str_of(x, root, "", key, v, sizeof(c->node), &s)) {
				if (!dnsname_valid(s))
					cerr(x, root, "", key, "invalid node name \"%s\" (lower-case "
					     "letters, digits, '-' and '.')", s);
				else
					scopy(c->node, sizeof(c->node), s);
			}
			set_node = true;
		} else if (!strcmp(key, "datastore")) {
			get_datastore(x, root, v, c);
		} else if (!strcmp(key, "runDir")) {
			get_path(x, root, "", key, v, c->run_dir, sizeof(c->run_dir));
			/* room for "/felix.sock", "/bird.conf" and the like */
			if (strlen(c->run_dir) + 16 > sizeof(c->run_dir))
				cerr(x, root, "", key, "too long");
		} else if (!strcmp(key, "netns")) {
			get_netns(x, root, v, c);
		} else if (!strcmp(key, "workloadNetnsPrefix")) {
			get_prefix(x, root, v, c);
		} else if (!strcmp(key, "routeProtocol")) {
			if (int_of(x, root, key, v, 1, 255, &i)) {
				const char *who = route_protocol_owner(i);

				if (who)
					cerr(x, root, "", key, "%" JSON_INTEGER_FORMAT
					     " is reserved for %s", i, who);
				else
					c->route_protocol = (int)i;
			}
		} else if (!strcmp(key, "resyncInterval")) {
			if (int_of(x, root, key, v, 1, 86400, &i))
				c->resync_interval = (int)i;
		} else if (!strcmp(key, "waitTimeout")) {
			if (int_of(x, root, key, v, 1, 600, &i))
				c->wait_timeout = (int)i;
		} else if (!strcmp(key, "logLevel")) {
			get_loglevel(x, root, v, c);
		} else if (!strcmp(key, "hostPortRange")) {
			get_port_range(x, root, v, c);
		} else if (!strcmp(key, "allowHostPorts")) {
			get_allow_ports(x, root, v, c);
		} else if (!strcmp(key, "endpointToHostAction")) {
			get_ep_to_host(x, root, v, c);
		} else if (!strcmp(key, "endpointToHostAllow")) {
			get_port_list(x, root, v, key, true, CONFIG_HOST_ALLOW_MAX,
				      c->host_allow, &c->n_host_allow);
		} else if (!strcmp(key, "failsafeInboundHostPorts")) {
			get_port_list(x, root, v, key, false, CONFIG_FAILSAFE_MAX,
				      c->failsafe_in, &c->n_failsafe_in);
		} else if (!strcmp(key, "failsafeOutboundHostPorts")) {
			get_port_list(x, root, v, key, false, CONFIG_FAILSAFE_MAX,
				      c->failsafe_out, &c->n_failsafe_out);
		} else if (!strcmp(key, "bgp")) {
			get_bgp(x, root, v, c);
		} else if (!strcmp(key, "labels")) {
			get_labels(x, root, v, c);
		} else if (!strcmp(key, "bird")) {
			get_bird(x, root, v, c, &set_conf, &set_sock);
		} else if (!strcmp(key, "etcd")) {
			etcd = v;	/* after the loop: it needs datastore: */
		} else {
			unknown_key(x, root, "", key);
		}
	}
	if (etcd)
		get_etcd(x, root, etcd, c);
	if (!set_node && !dnsname_valid(c->node))
		cerr(x, NULL, "", NULL, "node: the host name \"%s\" is not a valid node name; "
		     "set node: in the config", c->node);
	if (!set_conf)
		snprintf(c->bird_config, sizeof(c->bird_config), "%.*s/bird.conf",
			 (int)(sizeof(c->bird_config) - 16), c->run_dir);
	if (!set_sock)
		snprintf(c->bird_socket, sizeof(c->bird_socket), "%.*s/bird.ctl",
			 (int)(sizeof(c->bird_socket) - 16), c->run_dir);
}

int config_parse(const char *file, const char *buf, size_t len,
		 struct petrel_config *out, struct errs *e)
{
	struct cctx x = { NULL, file, e, 0 };
	struct ydoc *docs = NULL;
	struct petrel_config *c;
	size_t n = 0;
	int r;

	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	config_defaults(c);
	if (file)
		scopy(c->file, sizeof(c->file), file);
	r = yaml_load(file ? file : "-", buf, len, &docs, &n, e);
	if (r < 0)
		goto out;
	if (n > 1) {
		x.doc = &docs[1];
		cerr(&x, NULL, "", NULL, "the config must be a single YAML document");
	} else if (n == 1) {
		x.doc = &docs[0];
		if (!json_is_object(docs[0].root))
			cerr(&x, NULL, "", NULL, "the config must be a mapping, not %s",
			     yaml_type_name(docs[0].root));
		else
			config_apply(&x, docs[0].root, c);
	} else {
		/* an empty file: every default, but the host name must still do */
		config_apply(&x, NULL, c);
	}
	r = x.nerr ? -EINVAL : 0;
	if (r == 0)
		*out = *c;
out:
	ydocs_free(docs, n);
	free(c);
	return r;
}

int config_load(const char *path, struct petrel_config *out, struct errs *e)
{
	bool explicit = true;
	char *buf = NULL;
	struct stat st;
	ssize_t got;
	size_t len = 0;
	int fd = -1, r;

	if (!path) {
		path = getenv("PETREL_CONFIG");
		if (!path || !path[0]) {
			path = CONFIG_DEFAULT_PATH;
			explicit = false;
		}
	}
	if (strlen(path) >= CONFIG_PATH_MAX) {
		if (e)
			errs_add(e, "%.64s...: config path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT && !explicit) {
			/* no config at the default path: defaults only */
			return config_parse(NULL, "", 0, out, e);
		}
		if (e)
			errs_add(e, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		if (e)
			errs_add(e, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		r = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		if (e)
			errs_add(e, "%s: %s", path, S_ISREG(st.st_mode) ?
				 "larger than 1 MiB" : "not a regular file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		got = read(fd, buf + len, (size_t)st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			if (e)
				errs_add(e, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	r = config_parse(path, buf, len, out, e);
out:
	free(buf);
	close(fd);
	return r;
}
