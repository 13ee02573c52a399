/*
 * test_cni: cni/cni.c, the CNI plugins' codec. Network configs valid and
 * invalid (each error naming its field, a failed parse changing nothing),
 * CNI_ARGS, container IDs, version negotiation, the result, error and
 * version replies as a runtime reads them; runtimeConfig.portMappings as a
 * workload's published ports (their host port reservations: test_endpoint)
 * and petrel-ipam's per-node gateway (cni/ipamgw.c) in a
 * sqlite store of the case's own; GC's cni.dev/valid-attachments and the
 * label that marks the plugin's workloads.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cni/cni.h"
#include "cni/ipamgw.h"
#include "ipam/ipam.h"
#include "datastore/datastore.h"
#include "datastore/ds_impl.h"
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
	assert_int_equal(c.n_ports, 0);
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
	assert_int_equal(c.n_ports, 1);
	assert_int_equal(c.ports[0].host_port, 8080);
	assert_int_equal(c.ports[0].port, 80);
	assert_int_equal(c.ports[0].proto, 6);
	assert_int_equal(c.ports[0].host_ip, 0);
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
		     "runtimeConfig.portMappings[0]: expected an object");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"portMappings\":[{\"hostPort\":80,"
		     "\"containerPort\":80,\"protocol\":\"sctp\"}]}}", CNI_ECONFIG,
		     "runtimeConfig.portMappings[0].protocol: petrel publishes tcp and udp "
		     "ports, not sctp");
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

#define GC_HEAD "{\"cniVersion\":\"1.1.0\",\"name\":\"n\",\"type\":\"petrel\","

static void test_gc_attachments(void **state)
{
	struct cni_conf c;
	struct errs e = ERRS_INIT;

	assert_int_equal(parse(GC_HEAD "\"cni.dev/valid-attachments\":["
			       "{\"containerID\":\"abc\",\"ifname\":\"eth0\"},"
			       "{\"containerID\":\"abc\",\"ifname\":\"net1\",\"x\":1},"
			       "{\"containerID\":\"D.e_f-9\",\"ifname\":\"eth0\"}]}",
			       &c, &e), 0);
	assert_true(c.has_valid);
	assert_int_equal(c.n_valid, 3);
	assert_true(cni_attachment_valid(&c, "abc", "eth0"));
	assert_true(cni_attachment_valid(&c, "abc", "net1"));
	assert_true(cni_attachment_valid(&c, "D.e_f-9", "eth0"));
	assert_false(cni_attachment_valid(&c, "abc", "eth1"));
	assert_false(cni_attachment_valid(&c, "D.e_f-9", "net1"));
	assert_false(cni_attachment_valid(&c, "ab", "eth0"));
	cni_conf_clear(&c);
	assert_false(c.has_valid);
	assert_null(c.valid);

	/* An empty list is a list: every attachment is stale. */
	assert_int_equal(parse(GC_HEAD "\"cni.dev/valid-attachments\":[]}", &c, &e), 0);
	assert_true(c.has_valid);
	assert_int_equal(c.n_valid, 0);
	assert_false(cni_attachment_valid(&c, "abc", "eth0"));
	cni_conf_clear(&c);

	/* Absent: not a GC request (GC refuses it), nothing else minds. */
	assert_int_equal(parse(GC_HEAD "\"x\":1}", &c, &e), 0);
	assert_false(c.has_valid);
	cni_conf_clear(&c);

	/* libcni's draft name, read when the spec's is absent ... */
	assert_int_equal(parse(GC_HEAD "\"cni.dev/attachments\":["
			       "{\"containerID\":\"old\",\"ifname\":\"eth0\"}]}", &c, &e), 0);
	assert_true(c.has_valid);
	assert_true(cni_attachment_valid(&c, "old", "eth0"));
	cni_conf_clear(&c);
	/* ... and ignored when both are there (libcni sends both, alike). */
	assert_int_equal(parse(GC_HEAD "\"cni.dev/valid-attachments\":["
			       "{\"containerID\":\"new\",\"ifname\":\"eth0\"}],"
			       "\"cni.dev/attachments\":[]}", &c, &e), 0);
	assert_int_equal(c.n_valid, 1);
	assert_true(cni_attachment_valid(&c, "new", "eth0"));
	cni_conf_clear(&c);
	assert_int_equal(e.n, 0);
}

static void test_gc_invalid(void **state)
{
	struct cni_conf c;
	struct errs e = ERRS_INIT;

	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":{}}", CNI_ECONFIG,
		     "cni.dev/valid-attachments: expected a list of {containerID, ifname}, "
		     "got a mapping");
	expect_error(GC_HEAD "\"cni.dev/attachments\":\"abc\"}", CNI_ECONFIG,
		     "cni.dev/attachments: expected a list");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[\"abc\"]}", CNI_ECONFIG,
		     "cni.dev/valid-attachments[0]: expected an object {containerID, ifname}, "
		     "got a string");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"ifname\":\"eth0\"}]}",
		     CNI_ECONFIG, "cni.dev/valid-attachments[0].containerID: required");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\"}]}",
		     CNI_ECONFIG, "cni.dev/valid-attachments[0].ifname: required");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\","
		     "\"ifname\":\"eth0\"},{\"containerID\":7,\"ifname\":\"eth0\"}]}",
		     CNI_ECONFIG, "cni.dev/valid-attachments[1].containerID: expected a string");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":\"-a\","
		     "\"ifname\":\"eth0\"}]}", CNI_ECONFIG,
		     "cni.dev/valid-attachments[0].containerID: invalid");
	/* a NUL inside: refused by the decoder already */
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":"
		     "\"a\\u0000b\",\"ifname\":\"eth0\"}]}", CNI_EDECODE, "is not allowed");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\","
		     "\"ifname\":\"a/b\"}]}", CNI_ECONFIG,
		     "cni.dev/valid-attachments[0].ifname: not a valid interface name");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\","
		     "\"ifname\":\"abcdefghijklmnop\"}]}", CNI_ECONFIG,
		     "cni.dev/valid-attachments[0].ifname: not a valid interface name");
	expect_error(GC_HEAD "\"cni.dev/valid-attachments\":[{\"containerID\":\"a\","
		     "\"ifname\":null}]}", CNI_ECONFIG,
		     "cni.dev/valid-attachments[0].ifname: expected a string");
	/* every bad item is named, not only the first */
	assert_int_equal(parse(GC_HEAD "\"cni.dev/valid-attachments\":[1,"
			       "{\"containerID\":\"ok\",\"ifname\":\"eth0\"},{}]}", &c, &e),
			 -CNI_ECONFIG);
	assert_true(has_err(&e, "[0]: expected an object"));
	assert_true(has_err(&e, "[2].containerID: required"));
	assert_true(has_err(&e, "[2].ifname: required"));
	assert_int_equal(e.n, 3);
	errs_clear(&e);
}

/* The plugin's own label: reserved in a config; its value from the name. */
static void test_network_label(void **state)
{
	char v[CNI_NET_LABEL_LEN];
	char longname[80];

	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"args\":{\"labels\":{\"" CNI_NET_LABEL "\":\"other\"}}}", CNI_ECONFIG,
		     "args.labels." CNI_NET_LABEL ": reserved");
	expect_error("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\","
		     "\"runtimeConfig\":{\"labels\":{\"" CNI_NET_LABEL "\":\"n\"}}}",
		     CNI_ECONFIG, "runtimeConfig.labels." CNI_NET_LABEL ": reserved");
	assert_true(labels_key_valid(CNI_NET_LABEL));
	cni_network_label("podman", v);
	assert_string_equal(v, "podman");
	cni_network_label("my_net.1", v);
	assert_string_equal(v, "my_net.1");
	/* not a label value (ends in '-', or too long): its SHA-1, stable */
	cni_network_label("net-", v);
	assert_int_equal(strlen(v), 45);
	assert_memory_equal(v, "sha1-", 5);
	assert_true(labels_value_valid(v));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cni_network_label(longname, v);
	assert_memory_equal(v, "sha1-", 5);
	assert_true(labels_value_valid(v));
	longname[63] = '\0';	/* 63 characters: itself */
	cni_network_label(longname, v);
	assert_string_equal(v, longname);
	/* stable, and distinct for distinct names */
	{
		char w[CNI_NET_LABEL_LEN], x[CNI_NET_LABEL_LEN];

		cni_network_label("net-", w);
		cni_network_label("net.", x);
		cni_network_label("net-", v);
		assert_string_equal(v, w);
		assert_string_not_equal(w, x);
	}
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

	/* IP= (host-local's convention; podman 4 sends it for --ip) */
	{
		uint32_t want;

		assert_int_equal(cni_args_parse("IgnoreUnknown=1;K8S_POD_NAME=c4;IP=10.65.3.7",
						&a, &e), 0);
		ip4_parse("10.65.3.7", &want);
		assert_int_equal(a.ip, want);
		assert_int_equal(cni_args_parse("IP=10.65.3.7/32", &a, &e), 0);
		assert_int_equal(a.ip, want);
		assert_int_equal(cni_args_parse("K8S_POD_NAME=c4", &a, &e), 0);
		assert_int_equal(a.ip, 0);
		assert_int_equal(cni_args_parse("IP=10.0.0.1,10.0.0.2", &a, &e), -CNI_EENV);
		assert_true(has_err(&e, "CNI_ARGS: IP: one IPv4 address"));
		errs_clear(&e);
		assert_int_equal(cni_args_parse("IP=fd00::1", &a, &e), -CNI_EENV);
		assert_true(has_err(&e, "CNI_ARGS: IP: IPv6 is not routed yet: \"fd00::1\" "
				    "is IPv6"));
		errs_clear(&e);
		/* not an address of either family: still the IPv4 message */
		assert_int_equal(cni_args_parse("IP=fd00::1::2", &a, &e), -CNI_EENV);
		assert_true(has_err(&e, "CNI_ARGS: IP: invalid IPv4 address \"fd00::1::2\""));
		errs_clear(&e);
		assert_int_equal(cni_args_parse("IP=10.0.0.0/24", &a, &e), -CNI_EENV);
		errs_clear(&e);
	}

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

	/* petrel-ipam: no interfaces; the pool's prefix, the node's gateway */
	r.has_interfaces = false;
	r.prefix_len = 16;
	ip4_parse("10.65.0.2", &r.gateway);
	s = cni_result_text("1.0.0", &r, NULL);
	assert_string_equal(s, "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
			    "\"10.65.0.7/16\",\"gateway\":\"10.65.0.2\"}],\"routes\":"
			    "[{\"dst\":\"0.0.0.0/0\",\"gw\":\"10.65.0.2\"}]}");
	free(s);
	r.prefix_len = 0;

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

/* ---------------------------------------------------------------- ports */

static int ports_of(const char *json, struct wep_port *out, size_t *n,
		    struct errs *e)
{
	json_t *j = json_loads(json, 0, NULL);
	int r;

	assert_non_null(j);
	r = cni_ports_parse(j, out, n, e);
	json_decref(j);
	return r;
}

static void test_ports(void **state)
{
	struct wep_port p[WEP_MAX_PORTS];
	struct errs e = ERRS_INIT;
	uint32_t a;
	size_t n = 99;

	/* podman's form: hostIP "" (every address), protocol lower case */
	assert_int_equal(ports_of("[{\"hostPort\":8080,\"containerPort\":80,"
				  "\"protocol\":\"tcp\",\"hostIP\":\"\"},"
				  "{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"UDP\"},"
				  "{\"hostPort\":53,\"containerPort\":5353,\"protocol\":\"udp\","
				  "\"hostIP\":\"0.0.0.0\"},"
				  "{\"hostPort\":9000,\"containerPort\":9,\"hostIP\":\"192.0.2.11\"},"
				  "{\"hostPort\":9000,\"containerPort\":10,\"hostIP\":\"192.0.2.12\"}]",
				  p, &n, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(n, 5);
	assert_int_equal(p[0].host_port, 8080);
	assert_int_equal(p[0].port, 80);
	assert_int_equal(p[0].proto, 6);
	assert_int_equal(p[0].host_ip, 0);
	assert_int_equal(p[1].proto, 17);	/* same port, other protocol */
	assert_int_equal(p[2].host_ip, 0);	/* 0.0.0.0 = every address */
	assert_int_equal(p[2].proto, 17);
	assert_int_equal(p[2].port, 5353);
	ip4_parse("192.0.2.11", &a);
	assert_int_equal(p[3].host_ip, a);
	assert_int_equal(p[3].proto, 6);	/* protocol absent: tcp */
	ip4_parse("192.0.2.12", &a);
	assert_int_equal(p[4].host_ip, a);	/* one port on two addresses */
	assert_int_equal(ports_of("[]", p, &n, &e), 0);
	assert_int_equal(n, 0);
}

static void expect_ports_error(const char *json, const char *want)
{
	struct wep_port p[WEP_MAX_PORTS];
	struct errs e = ERRS_INIT;
	size_t n = 77;
	int r = ports_of(json, p, &n, &e);

	if (r != -CNI_ECONFIG || !has_err(&e, want)) {
		print_message("portMappings: %s\nwanted an error containing: %s; got %d\n",
			      json, want, r);
		for (size_t i = 0; i < e.n; i++)
			print_message("  err: %s\n", e.msg[i]);
		errs_clear(&e);
		fail();
	}
	assert_int_equal(n, 77);	/* untouched on failure */
	errs_clear(&e);
}

static void test_ports_invalid(void **state)
{
	char big[64 * 48 + 16];
	size_t off = 0;

	expect_ports_error("{}", "runtimeConfig.portMappings: expected a list, got a mapping");
	expect_ports_error("[{\"containerPort\":80}]",
			   "runtimeConfig.portMappings[0].hostPort: required");
	expect_ports_error("[{\"hostPort\":80}]",
			   "runtimeConfig.portMappings[0].containerPort: required");
	expect_ports_error("[{\"hostPort\":0,\"containerPort\":80}]",
			   "[0].hostPort: expected a port 1..65535, got an integer out of range");
	expect_ports_error("[{\"hostPort\":8080,\"containerPort\":65536}]",
			   "[0].containerPort: expected a port 1..65535");
	expect_ports_error("[{\"hostPort\":\"8080\",\"containerPort\":80}]",
			   "[0].hostPort: expected a port 1..65535, got a string");
	expect_ports_error("[{\"hostPort\":80,\"containerPort\":80,\"protocol\":6}]",
			   "[0].protocol: petrel publishes tcp and udp ports, not an integer");
	expect_ports_error("[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"::\"}]",
			   "[0].hostIP: \"::\" is not a unicast IPv4 address");
	expect_ports_error("[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"224.0.0.1\"}]",
			   "[0].hostIP: \"224.0.0.1\" is not a unicast IPv4 address");
	expect_ports_error("[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":1}]",
			   "[0].hostIP: expected a string");
	/* one host port twice: on every address, then on one of them */
	expect_ports_error("[{\"hostPort\":80,\"containerPort\":80},"
			   "{\"hostPort\":80,\"containerPort\":81,\"hostIP\":\"192.0.2.1\"}]",
			   "[1]: host port tcp/80 is already taken by portMappings[0]");
	expect_ports_error("[{\"hostPort\":80,\"containerPort\":80,\"hostIP\":\"192.0.2.1\"},"
			   "{\"hostPort\":80,\"containerPort\":81,\"hostIP\":\"192.0.2.1\"}]",
			   "[1]: host port tcp/80 is already taken");
	/* more than WEP_MAX_PORTS */
	off += (size_t)snprintf(big + off, sizeof(big) - off, "[");
	for (int i = 0; i <= WEP_MAX_PORTS; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off,
					"%s{\"hostPort\":%d,\"containerPort\":80}",
					i ? "," : "", 1000 + i);
	snprintf(big + off, sizeof(big) - off, "]");
	expect_ports_error(big, "65 mappings, at most 64");
}

/* Reservations in a store of the case's own. */
struct hpfx {
	char dir[64];
	struct ds *ds;
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int hp_setup(void **state)
{
	struct hpfx *f = calloc(1, sizeof(*f));
	char url[128];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/pt-cni-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(url, sizeof(url), "sqlite:%s/ds.db", f->dir);
	*state = f;
	return ds_open(url, &f->ds) < 0 ? -1 : 0;
}

static int hp_teardown(void **state)
{
	struct hpfx *f = *state;

	ds_close(f->ds);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The node's gateway per pool for petrel-ipam: shared, counted, freed by
 * the last user. */
static void test_ipamgw(void **state)
{
	struct hpfx *f = *state;
	struct ippool pool = { .name = "p1", .block_size = 28 };
	struct errs e = ERRS_INIT;
	struct ds_kv kv = { 0 };
	uint32_t a1, a2, g1, g2, g;

	ip4_net_parse("10.70.0.0/24", &pool.cidr, false, false);
	assert_int_equal(ipam_pool_create(f->ds, &pool, &e), 0);
	assert_int_equal(ipam_assign(f->ds, "node1", "c1.eth0", 0, &a1, NULL), 0);
	assert_int_equal(ipamgw_ref(f->ds, "node1", &pool, "c1.eth0", &g1), 0);
	assert_int_not_equal(g1, a1);
	assert_true(ip4_net_contains(&pool.cidr, g1));
	assert_int_equal(ipamgw_ref(f->ds, "node1", &pool, "c1.eth0", &g), 0);	/* again */
	assert_int_equal(g, g1);
	assert_int_equal(ipam_assign(f->ds, "node1", "c2.eth0", 0, &a2, NULL), 0);
	assert_int_equal(ipamgw_ref(f->ds, "node1", &pool, "c2.eth0", &g2), 0);
	assert_int_equal(g2, g1);	/* one per node and pool */
	assert_int_equal(ds_get(f->ds, "/petrel/ipamgateways/node1/p1", &kv), 0);
	assert_non_null(strstr(kv.value, "\"users\":[\"c1.eth0\",\"c2.eth0\"]"));
	ds_kv_clear(&kv);

	/* c1 leaves: the gateway stays for c2; leaving twice is a no-op */
	assert_int_equal(ipamgw_unref(f->ds, "node1", "c1.eth0"), 0);
	assert_int_equal(ipamgw_unref(f->ds, "node1", "c1.eth0"), 0);
	assert_int_equal(ipam_assign(f->ds, "node1", "x.eth0", g1, &g, NULL), IPAM_EINUSE);
	/* c2, the last, leaves: record gone, the address free again */
	assert_int_equal(ipamgw_unref(f->ds, "node1", "c2.eth0"), 0);
	assert_int_equal(ds_get(f->ds, "/petrel/ipamgateways/node1/p1", &kv), -ENOENT);
	assert_int_equal(ipam_assign(f->ds, "node1", "x.eth0", g1, &g, NULL), 0);
	assert_int_equal(ipamgw_unref(f->ds, "node1", "nobody.eth0"), 0);
	errs_clear(&e);
}

/* ---------- the gateway record as a hot key ---------- */

/* A backend whose next `rivals` updates of the gateway record each lose to
 * a rival's write just before them: the record is one key every ADD and
 * DEL of the node rewrites. */
static struct ds_backend rival_be;
static const struct ds_backend *real_be;
static int rivals;

static int rival_txn(struct ds *ds, const struct ds_op *ops, size_t n,
		     int64_t *rev, size_t *failed)
{
	if (rivals > 0 && n == 1 && ops[0].type == DS_OP_UPDATE &&
	    !strncmp(ops[0].key, "/petrel/ipamgateways/", 21)) {
		struct ds_kv kv = { 0 };
		struct ds_op w;
		int64_t r_rev;
		size_t r_failed;

		rivals--;
		assert_int_equal(real_be->get(ds, ops[0].key, &kv), 0);
		w = (struct ds_op){ DS_OP_UPDATE, kv.key, kv.value, kv.mod_rev };
		assert_int_equal(real_be->txn(ds, &w, 1, &r_rev, &r_failed), 0);
		ds_kv_clear(&kv);
	}
	return real_be->txn(ds, ops, n, rev, failed);
}

/* 20 lost races in a row (ten ADDs of one node at once do that) still
 * join the gateway: the retries are IPAM's, with a random wait, not 8. */
static void test_ipamgw_contended(void **state)
{
	struct hpfx *f = *state;
	struct ippool pool = { .name = "p1", .block_size = 28 };
	struct errs e = ERRS_INIT;
	struct ds_kv kv = { 0 };
	uint32_t g1, g2;

	ip4_net_parse("10.70.0.0/24", &pool.cidr, false, false);
	assert_int_equal(ipam_pool_create(f->ds, &pool, &e), 0);
	assert_int_equal(ipamgw_ref(f->ds, "node1", &pool, "c1.eth0", &g1), 0);
	real_be = f->ds->be;
	rival_be = *real_be;
	rival_be.txn = rival_txn;
	f->ds->be = &rival_be;
	rivals = 20;
	assert_int_equal(ipamgw_ref(f->ds, "node1", &pool, "c2.eth0", &g2), 0);
	assert_int_equal(rivals, 0);
	assert_int_equal(g2, g1);
	rivals = 20;
	assert_int_equal(ipamgw_unref(f->ds, "node1", "c1.eth0"), 0);
	assert_int_equal(rivals, 0);
	f->ds->be = real_be;
	assert_int_equal(ds_get(f->ds, "/petrel/ipamgateways/node1/p1", &kv), 0);
	assert_non_null(strstr(kv.value, "\"users\":[\"c2.eth0\"]"));
	ds_kv_clear(&kv);
	errs_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_minimal),
		cmocka_unit_test(test_conf_full),
		cmocka_unit_test(test_conf_invalid),
		cmocka_unit_test(test_conf_all_errors),
		cmocka_unit_test(test_conf_version),
		cmocka_unit_test(test_gc_attachments),
		cmocka_unit_test(test_gc_invalid),
		cmocka_unit_test(test_network_label),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_container_id),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_result_prev),
		cmocka_unit_test(test_error_version),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_ports_invalid),
		cmocka_unit_test_setup_teardown(test_ipamgw, hp_setup, hp_teardown),
		cmocka_unit_test_setup_teardown(test_ipamgw_contended, hp_setup, hp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
