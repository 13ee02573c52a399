/*
 * Published ports: the `-p`/`--expose` syntax of run, the host-port
 * reservations in the datastore, and the `port` verb.
 *
 * A host port (per protocol, whatever the host address) belongs to at most
 * one workload of a node. The reservation is the key
 * /petrel/hostports/<node>/<proto>-<port>, value {"workload":NAME}, created
 * in the transaction that creates the WorkloadEndpoint and deleted in the one
 * that deletes it: the store, not a scan of the workloads, settles two runs
 * asking for one port at once (create = CAS: one wins).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/petrelctl.h"
#include "common/ip4.h"
#include "common/log.h"

const char *ctl_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static int port_num(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* "PORT[/tcp|udp]" into port and proto. */
static int port_proto_parse(const char *s, uint16_t *port, uint8_t *proto)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	*proto = IPPROTO_TCP;
	if (slash) {
		if (!strcmp(slash + 1, "tcp"))
			*proto = IPPROTO_TCP;
		else if (!strcmp(slash + 1, "udp"))
			*proto = IPPROTO_UDP;
		else
			return -EINVAL;
	}
	return port_num(s, n, port);
}

int ctl_port_parse(const char *spec, bool expose, struct wep_port *out)
{
	const char *c1, *c2, *last;
	char ipb[IP4_STRLEN];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!spec || strlen(spec) > 64)
		return -EINVAL;
	if (expose)
		return port_proto_parse(spec, &out->port, &out->proto);
	c1 = strchr(spec, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c2 && strchr(c2 + 1, ':'))
		return -EINVAL;
	last = c2 ? c2 + 1 : c1 ? c1 + 1 : spec;
	if (port_proto_parse(last, &out->port, &out->proto) < 0)
		return -EINVAL;
	if (!c1)
		return 0;	/* containerPort: a host port is picked */
	if (c2) {		/* hostIP:[hostPort]:containerPort */
		n = (size_t)(c1 - spec);
		if (n == 0 || n >= sizeof(ipb))
			return -EINVAL;
		memcpy(ipb, spec, n);
		ipb[n] = '\0';
		if (ip4_parse(ipb, &out->host_ip) < 0 ||
		    (out->host_ip >> 28) >= 14)	/* multicast, reserved */
			return -EINVAL;
		if (c2 == c1 + 1)
			return 0;
		return port_num(c1 + 1, (size_t)(c2 - c1 - 1), &out->host_port);
	}
	return port_num(spec, (size_t)(c1 - spec), &out->host_port);
}

int ctl_hostport_key(const char *node, uint8_t proto, uint16_t port, char *buf,
		     size_t len)
{
	int n = snprintf(buf, len, "%s%s/%s-%u", CTL_HOSTPORT_PREFIX, node,
			 ctl_proto_name(proto), (unsigned)port);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

char *ctl_hostport_value(const char *workload)
{
	json_t *j = json_pack("{s:s}", "workload", workload);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return s;
}

/* The workload named in a reservation's value, into name. */
static void hostport_owner_of(const char *value, char *name, size_t len)
{
	json_t *j = json_loads(value, 0, NULL);
	const char *w = json_string_value(json_object_get(j, "workload"));

	snprintf(name, len, "%s", w ? w : "(unknown)");
	json_decref(j);
}

int ctl_hostport_owner(struct ctl *c, uint8_t proto, uint16_t port, char *name,
		       size_t len, struct ds_kv *kv)
{
	char key[RES_KEY_MAX];
	struct ds_kv tmp = { 0 };
	int r;

	if (ctl_hostport_key(c->cfg.node, proto, port, key, sizeof(key)) < 0)
		return -ENAMETOOLONG;
	r = ds_get(c->ds, key, kv ? kv : &tmp);
	if (r == 0)
		hostport_owner_of((kv ? kv : &tmp)->value, name, len);
	ds_kv_clear(&tmp);
	return r;
}

void ctl_hostport_conflict(struct ctl *c, const struct wep_port *p)
{
	char owner[RES_NAME_MAX + 16] = "";
	int r = ctl_hostport_owner(c, p->proto, p->host_port, owner, sizeof(owner),
				   NULL);

	if (r == 0)
		log_err("port %s/%u is already published by workload %s",
			ctl_proto_name(p->proto), (unsigned)p->host_port, owner);
	else
		log_err("port %s/%u is already published by another workload",
			ctl_proto_name(p->proto), (unsigned)p->host_port);
}

/* Bitmaps of the node's reserved ports, tcp and udp. */
struct port_taken {
	uint8_t tcp[8192], udp[8192];
};

static uint8_t *taken_map(struct port_taken *t, uint8_t proto)
{
	return proto == IPPROTO_UDP ? t->udp : t->tcp;
}

static bool taken_get(struct port_taken *t, uint8_t proto, uint16_t p)
{
	return taken_map(t, proto)[p / 8] & (1u << (p % 8));
}

static void taken_set(struct port_taken *t, uint8_t proto, uint16_t p)
{
	taken_map(t, proto)[p / 8] |= (uint8_t)(1u << (p % 8));
}

static int taken_load(struct ctl *c, struct port_taken *t)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kv = NULL;
	size_t n = 0, plen;
	int r;

	snprintf(prefix, sizeof(prefix), "%s%s/", CTL_HOSTPORT_PREFIX, c->cfg.node);
	plen = strlen(prefix);
	r = ds_list(c->ds, prefix, &kv, &n, NULL);
	if (r < 0) {
		log_err("listing the published ports: %s (%s)", ds_strerror(r),
			ds_last_error(c->ds));
		return CTL_ERR;
	}
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].key + plen;
		uint8_t proto;
		uint16_t p;

		if (!strncmp(k, "tcp-", 4))
			proto = IPPROTO_TCP;
		else if (!strncmp(k, "udp-", 4))
			proto = IPPROTO_UDP;
		else
			continue;
		if (port_num(k + 4, strlen(k + 4), &p) == 0)
			taken_set(t, proto, p);
	}
	ds_kvs_free(kv, n);
	return CTL_OK;
}

int ctl_hostports_pick(struct ctl *c, struct wep *w, const bool *pick)
{
	struct port_taken *t = calloc(1, sizeof(*t));
	unsigned lo = c->cfg.host_port_lo, hi = c->cfg.host_port_hi, span;
	int rc = CTL_ERR;

	if (!t) {
		log_err("out of memory");
		return CTL_ERR;
	}
	if (lo < 1 || hi < lo || hi > 65535) {
		log_err("hostPortRange %u-%u is not a valid range", lo, hi);
		goto out;
	}
	span = hi - lo + 1;
	if (taken_load(c, t) != CTL_OK)
		goto out;
	/* The explicit ones first: an automatic one never takes them. */
	for (size_t i = 0; i < w->n_ports; i++) {
		if (pick[i])
			continue;
		if (taken_get(t, w->ports[i].proto, w->ports[i].host_port)) {
			ctl_hostport_conflict(c, &w->ports[i]);
			goto out;
		}
		taken_set(t, w->ports[i].proto, w->ports[i].host_port);
	}
	for (size_t i = 0; i < w->n_ports; i++) {
		uint32_t rnd = 0;
		unsigned k;

		if (!pick[i])
			continue;
		/* A random start, then upwards: two runs at once rarely
		 * collide, and when they do the transaction says so. */
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint32_t)i * 7919u;
		for (k = 0; k < span; k++) {
			uint16_t p = (uint16_t)(lo + (rnd + k) % span);

			if (!taken_get(t, w->ports[i].proto, p)) {
				w->ports[i].host_port = p;
				taken_set(t, w->ports[i].proto, p);
				break;
			}
		}
		if (k == span) {
			log_err("no free %s host port left in hostPortRange %u-%u",
				ctl_proto_name(w->ports[i].proto), lo, hi);
			goto out;
		}
	}
	rc = CTL_OK;
out:
	free(t);
	return rc;
}

/* ---------------------------------------------------------------- port */

static const char usage_port[] =
	"usage: petrelctl port NAME [PORT[/tcp|udp]]\n"
	"\n"
	"The published ports of workload NAME, as docker port prints them: one\n"
	"line per mapping, CONTAINERPORT/PROTO -> HOSTIP:HOSTPORT (0.0.0.0: every\n"
	"address of the node). With PORT, only HOSTIP:HOSTPORT of that port (exit\n"
	"1 when it is not published).\n"
	"-o json: a list of {hostIP, hostPort, containerPort, protocol}.\n";

static int port_cmp(const void *x, const void *y)
{
	const struct wep_port *a = x, *b = y;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return a->host_port < b->host_port ? -1 : a->host_port > b->host_port;
}

int cmd_port(struct ctl *c, int argc, char **argv)
{
	static const struct option lo[] = { CTL_LONGOPTS };
	struct resource w = { 0 };
	struct wep_port filter = { 0 };
	const char *name;
	json_t *list = NULL;
	size_t shown = 0;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":" CTL_SHORTOPTS, lo, NULL)) != -1) {
		r = ctl_opt_common(c, opt, usage_port, argv);
		if (r != -2)
			return r < 0 ? CTL_USAGE : r;
	}
	if (optind >= argc)
		return ctl_usage_err(c, "which workload? (port NAME [PORT[/proto]])");
	name = argv[optind++];
	if (optind < argc && ctl_port_parse(argv[optind++], true, &filter) < 0)
		return ctl_usage_err(c, "%s: expected PORT[/tcp|udp]", argv[optind - 1]);
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	if (ctl_wep_get(c, name, &w, false) != CTL_OK)
		return CTL_ERR;
	qsort(w.u.wep.ports, w.u.wep.n_ports, sizeof(w.u.wep.ports[0]), port_cmp);
	if (c->out == OUT_JSON || c->out == OUT_YAML) {
		list = json_array();
		if (!list) {
			log_err("out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < w.u.wep.n_ports; i++) {
		const struct wep_port *p = &w.u.wep.ports[i];
		char ab[IP4_STRLEN];

		if (filter.port && (p->port != filter.port || p->proto != filter.proto))
			continue;
		shown++;
		ip4_fmt(p->host_ip, ab);
		if (list)
			json_array_append_new(list, json_pack(
				"{s:s, s:i, s:i, s:s}", "hostIP", ab,
				"hostPort", (int)p->host_port, "containerPort",
				(int)p->port, "protocol", ctl_proto_name(p->proto)));
		else if (filter.port)
			printf("%s:%u\n", ab, (unsigned)p->host_port);
		else
			printf("%u/%s -> %s:%u\n", (unsigned)p->port,
			       ctl_proto_name(p->proto), ab, (unsigned)p->host_port);
	}
	if (list)
		out_doc(c->out, list);
	if (filter.port && !shown) {
		log_err("no public port '%u/%s' published for %s", (unsigned)filter.port,
			ctl_proto_name(filter.proto), name);
		goto out;
	}
	rc = CTL_OK;
out:
	json_decref(list);
	res_clear(&w);
	return rc;
}
