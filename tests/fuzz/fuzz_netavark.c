/*
 * fuzz_netavark: libFuzzer harness for netavark/nv.c, the netavark
 * plugin's parsers of outside input: create's network config and setup's
 * (and teardown's) request, both on stdin. Each input is fed to both. Any
 * input must parse or fail with at least one message and a known code; an
 * accepted network or request must hold only what validation allows (a
 * petrel network name, an absolute config path, IPv4 subnets, at most
 * WEP_MAX_PORTS distinct host ports, a valid interface name and container
 * ID), and must survive the reply encoders.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/cni.h"
#include "common/ifname.h"
#include "netavark/nv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_net(const struct nv_network *n)
{
	if (!n->name[0] || !n->driver[0] || n->config[0] != '/' ||
	    !res_name_valid(n->network) || n->n_subnets > NV_MAX_SUBNETS ||
	    n->n_dns > NV_MAX_DNS)
		abort();
	for (size_t i = 0; i < n->n_subnets; i++)
		if (n->subnets[i].len > 32)
			abort();
}

static void fuzz_network(const char *buf, size_t len)
{
	struct nv_network n;
	struct errs e = ERRS_INIT;
	int r = nv_network_parse(buf, len, &n, &e);

	if (r == 0) {
		char *t;

		if (e.n || !n.doc)
			abort();
		check_net(&n);
		t = nv_network_text(&n, n.subnets, n.n_subnets, n.network);
		if (!t)
			abort();
		free(t);
		nv_network_clear(&n);
	} else if (e.n == 0 || (r != -EINVAL && r != -EBADMSG)) {
		abort();
	}
	errs_clear(&e);
}

static void fuzz_exec(const char *buf, size_t len)
{
	static const uint8_t mac[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };
	struct nv_exec x;
	struct errs e = ERRS_INIT;
	int r = nv_exec_parse(buf, len, &x, &e);

	if (r == 0) {
		char *t;

		if (e.n || !ifname_valid(x.ifname) || x.n_ports > WEP_MAX_PORTS ||
		    !cni_container_id_valid(x.container_id, sizeof(x.container_id)) ||
		    (x.name[0] && !res_name_valid(x.name)))
			abort();
		check_net(&x.net);
		for (size_t i = 0; i < x.n_ports; i++)
			if (!x.ports[i].host_port || !x.ports[i].port ||
			    (x.ports[i].proto != 6 && x.ports[i].proto != 17) ||
			    cni_port_taken(x.ports, i, &x.ports[i]) != i)
				abort();
		t = nv_status_text(x.ifname, mac, x.static_ip, 0xa9fe0101, x.net.dns, x.net.n_dns);
		if (!t)
			abort();
		free(t);
		nv_exec_clear(&x);
	} else if (e.n == 0 || (r != -EINVAL && r != -EBADMSG && r != -ENOMEM)) {
		abort();
	}
	errs_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	fuzz_network((const char *)data, size);
	fuzz_exec((const char *)data, size);
	return 0;
}
