/*
 * test_netavark: netavark/nv.c, the netavark plugin's codec. The network
 * config create reads (plugin-API.md's example: refused field by field as
 * it stands; petrel's form accepted, options read, podman's own fields kept
 * by the completed config), setup's request (the example's shape: port
 * mappings with ranges and protocol lists expanded, static IP, interface,
 * the container's name as a workload name), errors that name their field
 * and leave nothing, and the replies as netavark reads them (status block,
 * info, error).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "netavark/nv.h"

static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

/* plugin-API.md's create example, as it stands. */
static const char example_net[] =
	"{\"name\":\"example1\",\"id\":\"2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9\","
	"\"driver\":\"mydriver\",\"network_interface\":\"enp1\",\"subnets\":[{\"subnet\":\"10.0.0.0/16\","
	"\"gateway\":\"10.0.0.1\"}],\"ipv6_enabled\":false,\"internal\":false,\"dns_enabled\":false,"
	"\"ipam_options\":{\"driver\":\"host-local\"},\"options\":{\"custom\":\"opt\"}}";

/* petrel's form of it, with a field of podman's own. */
static const char petrel_net[] =
	"{\"name\":\"blue\",\"id\":\"2f25\",\"driver\":\"petrel\",\"subnets\":[{\"subnet\":\"10.70.0.0/24\"}],"
	"\"ipv6_enabled\":false,\"internal\":false,\"dns_enabled\":true,\"ipam_options\":{},"
	"\"options\":{\"config\":\"/etc/p.yaml\",\"no_wait\":\"true\"},\"created\":\"2026-12-08T01:00:00Z\","
	"\"network_dns_servers\":[\"10.70.0.53\",\"fd00::53\"]}";

static void test_create_example_refused(void **state)
{
	struct nv_network n = { .n_subnets = 99 };
	struct errs e = ERRS_INIT;

	(void)state;
	assert_int_equal(nv_network_parse(example_net, strlen(example_net), &n, &e), -EINVAL);
	assert_true(has_err(&e, "network_interface: \"enp1\""));
	assert_true(has_err(&e, "ipam_options.driver: \"host-local\""));
	assert_true(has_err(&e, "options.custom: unknown option"));
	assert_int_equal(e.n, 3);
	assert_int_equal(n.n_subnets, 99);	/* untouched */
	assert_null(n.doc);
	errs_clear(&e);
}

static void test_create_petrel(void **state)
{
	struct nv_network n;
	struct errs e = ERRS_INIT;
	struct ip4_net pool = { 0x0a460000, 24 };
	json_t *j;
	char *t;

	(void)state;
	assert_int_equal(nv_network_parse(petrel_net, strlen(petrel_net), &n, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(n.name, "blue");
	assert_string_equal(n.network, "blue");
	assert_string_equal(n.config, "/etc/p.yaml");
	assert_true(n.no_wait);
	assert_int_equal(n.n_subnets, 1);
	assert_int_equal(n.subnets[0].addr, 0x0a460000);
	assert_int_equal(n.n_dns, 2);
	assert_string_equal(n.dns[1], "fd00::53");
	t = nv_network_text(&n, &pool, 1, "blue");
	assert_non_null(t);
	j = json_loads(t, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "created")), "2026-12-08T01:00:00Z");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "ipam_options"),
							       "driver")), "petrel");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "options"),
							       "network")), "blue");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(j, "subnets"), 0), "subnet")), "10.70.0.0/24");
	assert_null(json_object_get(json_array_get(json_object_get(j, "subnets"), 0), "gateway"));
	assert_string_equal(json_string_value(json_object_get(j, "id")), "2f25");
	json_decref(j);
	free(t);
	nv_network_clear(&n);
	nv_network_clear(&n);	/* twice: a no-op */
}

static void test_create_invalid(void **state)
{
	static const struct { const char *in, *err; } cases[] = {
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"ipv6_enabled\":true}", "ipv6_enabled" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"internal\":true}", "internal: petrel" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"subnets\":[{\"subnet\":\"fd00::/64\"}]}",
		  "subnets[0].subnet: \"fd00::/64\": petrel has no IPv6" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"subnets\":[{\"subnet\":\"10.0.0.1/16\"}]}",
		  "no host bits" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"options\":{\"no_wait\":\"yes\"}}",
		  "options.no_wait" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"options\":{\"config\":\"rel.yaml\"}}",
		  "options.config: an absolute path" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"options\":{\"network\":\"Host\"}}",
		  "options.network" },
		{ "{\"name\":\"My_Net\",\"driver\":\"petrel\"}", "options.network (podman" },
		{ "{\"driver\":\"petrel\"}", "name: required" },
		{ "{\"name\":\"b\"}", "driver: required" },
		{ "[1]", "expected an object" },
		{ "{\"name\":\"b\",\"driver\":\"petrel\",\"network_dns_servers\":[\"x\"]}",
		  "network_dns_servers[0]" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nv_network n = { 0 };
		struct errs e = ERRS_INIT;

		assert_int_equal(nv_network_parse(cases[i].in, strlen(cases[i].in), &n, &e), -EINVAL);
		if (!has_err(&e, cases[i].err))
			fail_msg("case %zu: no \"%s\" in %s", i, cases[i].err, e.n ? e.msg[0] : "()");
		assert_null(n.doc);
		errs_clear(&e);
	}
}

static void test_bad_json(void **state)
{
	struct nv_network n = { 0 };
	struct nv_exec x = { .n_ports = 7 };
	struct errs e = ERRS_INIT;

	(void)state;
	assert_int_equal(nv_network_parse("{\"name\":", 8, &n, &e), -EBADMSG);
	assert_true(has_err(&e, "input: line 1"));
	errs_clear(&e);
	assert_int_equal(nv_exec_parse("", 0, &x, &e), -EBADMSG);
	assert_int_equal(x.n_ports, 7);
	errs_clear(&e);
}

/* plugin-API.md's setup example, petrel's values. */
static const char example_setup[] =
	"{\"container_id\":\"752947ff91f961eb3cb47ffe9315016979f3ffbec09e4d96a4fae3fb03391697\","
	"\"container_name\":\"TestCtr\",\"port_mappings\":[{\"container_port\":80,\"host_ip\":"
	"\"127.0.0.1\",\"host_port\":8080,\"protocol\":\"tcp\",\"range\":1},{\"container_port\":53,"
	"\"host_ip\":\"\",\"host_port\":5353,\"protocol\":\"tcp,udp\",\"range\":2}],"
	"\"network\":{\"dns_enabled\":false,\"driver\":\"petrel\",\"id\":\"2f25\",\"internal\":false,"
	"\"ipv6_enabled\":false,\"name\":\"podman\",\"network_interface\":null,\"options\":"
	"{\"network\":\"blue\"},\"ipam_options\":{\"driver\":\"petrel\"},\"subnets\":[{\"gateway\":"
	"\"10.70.0.1\",\"lease_range\":null,\"subnet\":\"10.70.0.0/24\"}],\"network_dns_servers\":null},"
	"\"network_options\":{\"aliases\":[\"752947ff91f9\"],\"interface_name\":\"eth0\","
	"\"static_ips\":[\"10.70.0.50\"]}}";

static void test_setup_example(void **state)
{
	struct nv_exec x;
	struct errs e = ERRS_INIT;

	(void)state;
	assert_int_equal(nv_exec_parse(example_setup, strlen(example_setup), &x, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(x.container_id,
			    "752947ff91f961eb3cb47ffe9315016979f3ffbec09e4d96a4fae3fb03391697");
	assert_string_equal(x.container_name, "TestCtr");
	assert_string_equal(x.name, "testctr");
	assert_string_equal(x.ifname, "eth0");
	assert_int_equal(x.static_ip, 0x0a460032);
	assert_string_equal(x.net.network, "blue");
	assert_string_equal(x.net.config, CONFIG_DEFAULT_PATH);
	/* 8080 on 127.0.0.1; 5353-5354 tcp, then 5353-5354 udp */
	assert_int_equal(x.n_ports, 5);
	assert_int_equal(x.ports[0].host_ip, 0x7f000001);
	assert_int_equal(x.ports[0].host_port, 8080);
	assert_int_equal(x.ports[0].port, 80);
	assert_int_equal(x.ports[0].proto, 6);
	assert_int_equal(x.ports[2].host_port, 5354);
	assert_int_equal(x.ports[2].port, 54);
	assert_int_equal(x.ports[2].proto, 6);
	assert_int_equal(x.ports[4].host_port, 5354);
	assert_int_equal(x.ports[4].proto, 17);
	assert_int_equal(x.ports[4].host_ip, 0);
	nv_exec_clear(&x);
}

/* s with the first occurrence of from replaced by to. */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	char *out;

	assert_non_null(p);
	out = malloc(strlen(s) + strlen(to) + 1);
	assert_non_null(out);
	sprintf(out, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

static void test_setup_invalid(void **state)
{
	static const struct { const char *from, *to, *err; } cases[] = {
		{ "\"protocol\":\"tcp\"", "\"protocol\":\"sctp\"", "port_mappings[0].protocol" },
		{ "\"host_port\":8080", "\"host_port\":0", "port_mappings[0].host_port" },
		{ "\"host_ip\":\"127.0.0.1\"", "\"host_ip\":\"224.0.0.1\"", "port_mappings[0].host_ip" },
		{ "\"range\":2", "\"range\":65000", "port_mappings[1].range" },
		{ "\"host_port\":5353", "\"host_port\":8080", "mapped twice" },
		{ "\"host_port\":5353", "\"host_port\":65535", "pass 65535" },
		{ "\"static_ips\":[\"10.70.0.50\"]", "\"static_ips\":[\"fd00::5\"]", "no IPv6" },
		{ "\"static_ips\":[\"10.70.0.50\"]", "\"static_ips\":[\"10.70.0.5\",\"10.70.0.6\"]",
		  "at most one address" },
		{ "\"interface_name\":\"eth0\"", "\"interface_name\":\"a/b\"", "interface_name" },
		{ "\"interface_name\":\"eth0\"", "\"static_mac\":\"aa:bb:cc:dd:aa:00\"",
		  "interface_name: required" },
		{ "\"aliases\"", "\"static_mac\":\"aa:bb:cc:dd:aa:00\",\"x\"", "static_mac" },
		{ "\"container_id\":\"7", "\"container_id\":\"/7", "container_id: invalid" },
		{ "\"container_name\":\"TestCtr\",", "", "container_name: required" },
		{ "\"ipv6_enabled\":false", "\"ipv6_enabled\":true", "network.ipv6_enabled" },
		{ "\"network\":{", "\"netw\":{", "network: required" },
		{ "\"network_options\":{", "\"network_options\":[],\"x\":{", "network_options" },
		{ "\"options\":{\"network\":\"blue\"}", "\"options\":{\"vlan\":\"2\"}",
		  "network.options.vlan: unknown option" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nv_exec x = { .n_ports = 9 };
		struct errs e = ERRS_INIT;
		char *in = subst(example_setup, cases[i].from, cases[i].to);

		assert_int_equal(nv_exec_parse(in, strlen(in), &x, &e), -EINVAL);
		if (!has_err(&e, cases[i].err))
			fail_msg("case %zu: no \"%s\" in %s", i, cases[i].err, e.n ? e.msg[0] : "()");
		assert_int_equal(x.n_ports, 9);
		errs_clear(&e);
		free(in);
	}
}

static void test_setup_name(void **state)
{
	char *in = subst(example_setup, "\"TestCtr\"", "\"web_2\"");
	struct nv_exec x;
	struct errs e = ERRS_INIT;

	(void)state;
	assert_int_equal(nv_exec_parse(in, strlen(in), &x, &e), 0);
	assert_string_equal(x.container_name, "web_2");
	assert_string_equal(x.name, "");	/* '_': no workload name: "nv-..." */
	assert_string_equal(x.net.network, "blue");
	nv_exec_clear(&x);
	free(in);
}

static void test_replies(void **state)
{
	static const uint8_t mac[6] = { 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01 };
	const char dns[2][NV_DNS_LEN] = { "10.70.0.53", "fd00::53" };
	char *t;
	json_t *j, *s;

	(void)state;
	t = nv_status_text("eth0", mac, 0x0a460005, 0xa9fe0101, dns, 2);
	assert_non_null(t);
	j = json_loads(t, 0, NULL);
	assert_non_null(j);
	s = json_array_get(json_object_get(json_object_get(json_object_get(j, "interfaces"),
							   "eth0"), "subnets"), 0);
	assert_string_equal(json_string_value(json_object_get(s, "ipnet")), "10.70.0.5/32");
	assert_string_equal(json_string_value(json_object_get(s, "gateway")), "169.254.1.1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(j, "interfaces"), "eth0"), "mac_address")), "aa:bb:cc:dd:ee:01");
	assert_int_equal(json_array_size(json_object_get(j, "dns_server_ips")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "dns_search_domains")), 0);
	json_decref(j);
	free(t);
	t = nv_info_text("0.1.0");
	assert_string_equal(t, "{\"version\":\"0.1.0\",\"api_version\":\"1.0.0\"}");
	free(t);
	t = nv_error_text("no \"network\" x");
	assert_string_equal(t, "{\"error\":\"no \\\"network\\\" x\"}");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_example_refused),
		cmocka_unit_test(test_create_petrel),
		cmocka_unit_test(test_create_invalid),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_setup_example),
		cmocka_unit_test(test_setup_invalid),
		cmocka_unit_test(test_setup_name),
		cmocka_unit_test(test_replies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
