/*
 * test_cni: cni/cni.c, the CNI plugins' codec. Network configs valid and
 * invalid (each error naming its field, a failed parse changing nothing),
 * CNI_ARGS, container IDs, version negotiation, and the result, error and
 * version replies as a runtime reads them.
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

#include "cni/cni.h"
#include "common/ip4.h"

static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

static int parse(const char *text, struct cni_conf *c, struct errs *e)
{
	return cni_conf_parse(text, strlen(text), c, e);
}

static void expect_error(const char *text, int code, const char *want)
{
	struct cni_conf c, before;
	struct errs e = ERRS_INIT;
	int r;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	r = parse(text, &c, &e);
	if (r != -code || !has_err(&e, want)) {
		print_message("config: %s\nwanted code %d and an error containing: %s; "
			      "got %d\n", text, code, want, r);
		for (size_t i = 0; i < e.n; i++)
			print_message("  err: %s\n", e.msg[i]);
		errs_clear(&e);
		fail();
	}
	assert_memory_equal(&c, &before, sizeof(c));
	errs_clear(&e);
}

static void test_conf_minimal(void **state)
{
	struct cni_conf c;
	struct errs e = ERRS_INIT;

	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"name\":\"petrel\","
			       "\"type\":\"petrel\"}", &c, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(c.cni_version, "1.0.0");
	assert_string_equal(c.name, "petrel");
	assert_string_equal(c.type, "petrel");
	assert_string_equal(c.petrel_config, CONFIG_DEFAULT_PATH);
	assert_string_equal(c.ipam_petrel_config, CONFIG_DEFAULT_PATH);
	assert_false(c.no_wait);
	assert_int_equal(c.want, 0);
	assert_int_equal(c.labels.n, 0);
	assert_null(c.prev_result);
	assert_null(c.port_mappings);
	cni_conf_clear(&c);
	cni_conf_clear(&c);	/* twice: a no-op */
}

static void test_conf_full(void **state)
{
	const char *text =
		"{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"petrel\","
		"\"petrelConfig\":\"/tmp/p.yaml\",\"noWait\":true,"
		"\"capabilities\":{\"ips\":true,\"portMappings\":true},"
		"\"args\":{\"labels\":{\"app\":\"web\",\"tier\":\"a\"}},"
		"\"runtimeConfig\":{\"ips\":[\"10.1.2.3/32\"],"
		"\"portMappings\":[{\"hostPort\":8080,\"containerPort\":80}],"
		"\"labels\":{\"tier\":\"b\"}},"
		"\"prevResult\":{\"cniVersion\":\"0.4.0\",\"ips\":[]},"
		"\"ipam\":{\"type\":\"petrel-ipam\",\"petrelConfig\":\"/x/y.yaml\"},"
		"\"somethingElse\":[1,2]}";
	struct cni_conf c;
	struct errs e = ERRS_INIT;
	uint32_t a;

	assert_int_equal(parse(text, &c, &e), 0);
	assert_string_equal(c.petrel_config, "/tmp/p.yaml");
	assert_true(c.no_wait);
	ip4_parse("10.1.2.3", &a);
	assert_int_equal(c.want, a);
	assert_int_equal(c.labels.n, 2);
	assert_string_equal(labels_get(&c.labels, "app"), "web");
	/* runtimeConfig.labels come after args.labels and win */
	assert_string_equal(labels_get(&c.labels, "tier"), "b");
	assert_non_null(c.port_mappings);
	assert_int_equal(json_array_size(c.port_mappings), 1);
	assert_non_null(c.prev_result);
	assert_string_equal(c.ipam_type, "petrel-ipam");
	assert_string_equal(c.ipam_petrel_config, "/x/y.yaml");
	cni_conf_clear(&c);

	/* a bare address is accepted too */
	assert_int_equal(parse("{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"t\","
			       "\"runtimeConfig\":{\"ips\":[\"10.9.9.9\"]}}", &c, &e), 0);
	ip4_parse("10.9.9.9", &a);
	assert_int_equal(c.want, a);
	cni_conf_clear(&c);
}

static void test_conf_invalid(void **state)
{
	expect_error("{\"cniVersion\":", CNI_EDECODE, "network config: line 1");
	expect_error("", CNI_EDECODE, "network config");
	expect_error("[1]", CNI_ECONFIG, "expected an object, got a list");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"a\",\"name\":\"b\","
		     "\"type\":\"t\"}", CNI_EDECODE, "duplicate");
	expect_error("{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"type\":\"t\"}",
		     CNI_EVERSION, "cniVersion: \"0.3.1\" is not supported");
	expect_error("{\"name\":\"n\",\"type\":\"t\"}", CNI_ECONFIG, "cniVersion: required");
	expect_error("{\"cniVersion\":1,\"name\":\"n\",\"type\":\"t\"}", CNI_ECONFIG,
		     "cniVersion: expected a string, got an integer");
	expect_error("{\"cniVersion\":\"1.0.0\",\"type\":\"t\"}", CNI_ECONFIG,
		     "name: required");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\"}", CNI_ECONFIG,
		     "type: required");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"\",\"type\":\"t\"}",
		     CNI_ECONFIG, "name: must be a non-empty string");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"petrelConfig\":\"rel/p.yaml\"}", CNI_ECONFIG,
		     "petrelConfig: must be an absolute path");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"noWait\":\"yes\"}", CNI_ECONFIG,
		     "noWait: expected a boolean, got a string");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"ips\":[\"10.0.0.0/24\"]}}", CNI_ECONFIG,
		     "runtimeConfig.ips[0]: invalid IPv4 address \"10.0.0.0/24\"");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"ips\":[\"10.0.0.1\",\"10.0.0.2\"]}}",
		     CNI_ECONFIG, "runtimeConfig.ips: at most one address");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"ips\":\"10.0.0.1\"}}", CNI_ECONFIG,
		     "runtimeConfig.ips: expected a list");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"portMappings\":[1]}}", CNI_ECONFIG,
		     "runtimeConfig.portMappings: expected a list of objects");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"args\":{\"labels\":{\"-bad\":\"x\"}}}", CNI_ECONFIG,
		     "args.labels.-bad: invalid label");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"labels\":{\"a\":1}}}", CNI_ECONFIG,
		     "runtimeConfig.labels.a: expected a string, got an integer");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"prevResult\":[]}", CNI_ECONFIG, "prevResult: expected an object");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"ipam\":{\"type\":7}}", CNI_ECONFIG, "ipam.type: expected a string");
}

/* Every error of a config is reported, not only the first. */
static void test_conf_all_errors(void **state)
{
	struct cni_conf c;
	struct errs e = ERRS_INIT;

	assert_int_equal(parse("{\"cniVersion\":\"1.0.0\",\"noWait\":1,"
			       "\"runtimeConfig\":{\"ips\":[\"x\"]}}", &c, &e),
			 -CNI_ECONFIG);
	assert_true(has_err(&e, "name: required"));
	assert_true(has_err(&e, "type: required"));
	assert_true(has_err(&e, "noWait:"));
	assert_true(has_err(&e, "runtimeConfig.ips[0]:"));
	assert_int_equal(e.n, 4);
	errs_clear(&e);
}

static void test_conf_version(void **state)
{
	char v[16];
	const char *a = "{\"cniVersion\":\"0.4.0\"}", *b = "{\"cniVersion\":\"7\"}";

	assert_true(cni_version_supported("0.4.0"));
	assert_true(cni_version_supported("1.0.0"));
	assert_true(cni_version_supported("1.1.0"));
	assert_false(cni_version_supported("0.3.1"));
	assert_false(cni_version_supported("1.0"));
	assert_false(cni_version_supported(NULL));
	cni_conf_version(a, strlen(a), v, sizeof(v));
	assert_string_equal(v, "0.4.0");
	cni_conf_version(b, strlen(b), v, sizeof(v));
	assert_string_equal(v, CNI_VERSION);
	cni_conf_version("garbage", 7, v, sizeof(v));
	assert_string_equal(v, CNI_VERSION);
}

static void test_args(void **state)
{
	struct cni_args a;
	struct errs e = ERRS_INIT;

	assert_int_equal(cni_args_parse(NULL, &a, &e), 0);
	assert_false(a.pod_name_given);
	assert_int_equal(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;"
					"K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=abc",
					&a, &e), 0);
	assert_true(a.ignore_unknown);
	assert_true(a.pod_name_given);
	assert_string_equal(a.pod_name, "web-1");
	/* given but not a valid resource name: the caller falls back */
	assert_int_equal(cni_args_parse("K8S_POD_NAME=Web_1", &a, &e), 0);
	assert_true(a.pod_name_given);
	assert_string_equal(a.pod_name, "");
	assert_int_equal(cni_args_parse("K8S_POD_NAME=", &a, &e), 0);
	assert_string_equal(a.pod_name, "");
	assert_int_equal(e.n, 0);

	a.ignore_unknown = true;
	assert_int_equal(cni_args_parse("K8S_POD_NAME=x;garbage", &a, &e), -CNI_EENV);
	assert_true(has_err(&e, "CNI_ARGS: \"garbage\": expected KEY=VALUE"));
	assert_true(a.ignore_unknown);	/* untouched on failure */
	errs_clear(&e);
	assert_int_equal(cni_args_parse("=v", &a, &e), -CNI_EENV);
	errs_clear(&e);
	{
		char big[CNI_ARGS_MAX + 8];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(cni_args_parse(big, &a, &e), -CNI_EENV);
		assert_true(has_err(&e, "longer than"));
		errs_clear(&e);
	}
}

static void test_container_id(void **state)
{
	assert_true(cni_container_id_valid("abc123", 72));
	assert_true(cni_container_id_valid("A_b.c-d", 72));
	assert_false(cni_container_id_valid("", 72));
	assert_false(cni_container_id_valid(NULL, 72));
	assert_false(cni_container_id_valid("-abc", 72));
	assert_false(cni_container_id_valid("a/b", 72));
	assert_false(cni_container_id_valid("a b", 72));
	assert_true(cni_container_id_valid("abcd", 5));
	assert_false(cni_container_id_valid("abcde", 5));
}

static json_t *load(const char *s)
{
	json_t *j;

	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	return j;
}

static void fill_result(struct cni_result *r)
{
	memset(r, 0, sizeof(*r));
	r->has_interfaces = true;
	snprintf(r->host_ifname, sizeof(r->host_ifname), "ptl0123456789ab");
	memset(r->host_mac, 0xee, 6);
	snprintf(r->ifname, sizeof(r->ifname), "eth0");
	memcpy(r->mac, "\x02\x00\x00\x00\x00\x01", 6);
	snprintf(r->sandbox, sizeof(r->sandbox), "/run/netns/c1");
	ip4_parse("10.65.0.7", &r->addr);
	r->gateway = CNI_GATEWAY;
}

static void test_result(void **state)
{
	struct cni_result r;
	char *s;
	json_t *j, *ip;

	fill_result(&r);
	s = cni_result_text("1.0.0", &r, NULL);
	assert_string_equal(s,
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"ptl0123456789ab\","
		"\"mac\":\"ee:ee:ee:ee:ee:ee\"},{\"name\":\"eth0\",\"mac\":"
		"\"02:00:00:00:00:01\",\"sandbox\":\"/run/netns/c1\"}],\"ips\":"
		"[{\"address\":\"10.65.0.7/32\",\"gateway\":\"169.254.1.1\","
		"\"interface\":1}],\"routes\":[{\"dst\":\"0.0.0.0/0\","
		"\"gw\":\"169.254.1.1\"}]}");
	free(s);

	/* 0.4.0 IPs carry "version" */
	j = load(s = cni_result_text("0.4.0", &r, NULL));
	free(s);
	ip = json_array_get(json_object_get(j, "ips"), 0);
	assert_string_equal(json_string_value(json_object_get(ip, "version")), "4");
	json_decref(j);

	/* IPAM-only: no interfaces, no gateway, no routes */
	r.has_interfaces = false;
	r.gateway = 0;
	s = cni_result_text("1.0.0", &r, NULL);
	assert_string_equal(s, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
			    "\"10.65.0.7/32\"}]}");
	free(s);
}

/* Chained after another plugin: its entries are kept, ours appended, the
 * interface index pointing at our workload end. */
static void test_result_prev(void **state)
{
	struct cni_result r;
	json_t *prev, *j, *ifs, *ips;
	char *s;

	fill_result(&r);
	prev = load("{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"x0\"}],"
		    "\"ips\":[{\"address\":\"192.0.2.5/24\",\"interface\":0}],"
		    "\"dns\":{\"nameservers\":[\"192.0.2.53\"]}}");
	j = load(s = cni_result_text("1.0.0", &r, prev));
	free(s);
	ifs = json_object_get(j, "interfaces");
	ips = json_object_get(j, "ips");
	assert_int_equal(json_array_size(ifs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ifs, 2),
							      "name")), "eth0");
	assert_int_equal(json_array_size(ips), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ips, 1),
							    "interface")), 2);
	assert_non_null(json_object_get(j, "dns"));
	assert_int_equal(json_array_size(json_object_get(j, "routes")), 1);
	json_decref(j);
	json_decref(prev);
}

static void test_error_version(void **state)
{
	char *s;

	s = cni_error_text("1.0.0", CNI_ECONFIG, "invalid network config",
			   "name: required");
	assert_string_equal(s, "{\"cniVersion\":\"1.0.0\",\"code\":7,\"msg\":"
			    "\"invalid network config\",\"details\":\"name: required\"}");
	free(s);
	s = cni_error_text("0.4.0", CNI_EFELIX, "felix \"x\"", NULL);
	assert_string_equal(s, "{\"cniVersion\":\"0.4.0\",\"code\":101,\"msg\":"
			    "\"felix \\\"x\\\"\"}");
	free(s);
	s = cni_version_text("1.0.0");
	assert_string_equal(s, "{\"cniVersion\":\"1.0.0\",\"supportedVersions\":"
			    "[\"0.4.0\",\"1.0.0\",\"1.1.0\"]}");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_minimal),
		cmocka_unit_test(test_conf_full),
		cmocka_unit_test(test_conf_invalid),
		cmocka_unit_test(test_conf_all_errors),
		cmocka_unit_test(test_conf_version),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_result_prev),
		cmocka_unit_test(test_error_version),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
