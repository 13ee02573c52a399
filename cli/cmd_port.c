/*
 * Published ports: the `-p`/`--expose` syntax of run and the `port` verb.
 * The host-port reservations behind them (one workload per host port and
 * protocol of a node, settled by the record's transaction) are endpoint/'s
 * (endpoint/endpoint.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (!ctl_opt_common(c, opt, usage_port, argv, &r))
			return r;
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
