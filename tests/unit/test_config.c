/*
 * test_config: common/config.c. Defaults, every key, the bird paths
 * following runDir, every validation rule failing with its position, all
 * errors of a file reported, and config_load's file handling.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/config.h"
#include "common/log.h"

static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

/* One entry of a port list: its protocol and port. */
static void assert_port(const struct config_host_allow *a, int proto, int port)
{
	assert_int_equal(a->proto, proto);
	assert_int_equal(a->port, port);
}

static void print_errs(const struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		print_message("  err: %s\n", e->msg[i]);
}

static int parse(const char *text, struct petrel_config *c, struct errs *e)
{
	return config_parse("petrel.yaml", text, strlen(text), c, e);
}

static void expect_error(const char *text, const char *want)
{
	struct petrel_config c, before;
	struct errs e = ERRS_INIT;

	memset(&c, 0x5a, sizeof(c));
	before = c;
	if (parse(text, &c, &e) != -EINVAL || !has_err(&e, want)) {
		print_message("config:\n%s\nwanted an error containing: %s\n", text, want);
		print_errs(&e);
		errs_clear(&e);
		fail();
	}
	/* a failed parse changes nothing */
	assert_memory_equal(&c, &before, sizeof(c));
	errs_clear(&e);
}

static void test_defaults(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;
	char host[256] = "", sock[300];

	(void)state;
	gethostname(host, sizeof(host) - 1);
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	config_defaults(&c);
	assert_string_equal(c.node, host);
	assert_string_equal(c.file, "");
	assert_string_equal(c.datastore, "sqlite:/var/lib/petrel/petrel.db");
	assert_string_equal(c.run_dir, "/run/petrel");
	assert_string_equal(c.netns, "");
	assert_string_equal(c.netns_prefix, "");
	assert_int_equal(c.route_protocol, 87);
	assert_int_equal(c.resync_interval, 30);
	assert_int_equal(c.wait_timeout, 10);
	assert_int_equal(c.host_port_lo, 32768);
	assert_int_equal(c.host_port_hi, 60999);
	/* issue 10: workloads do not reach the node unless allowed */
	assert_int_equal(c.ep_to_host, CONFIG_EP_TO_HOST_DROP);
	assert_int_equal(c.n_host_allow, 0);
	/* Calico's failsafe ports, less Kubernetes' */
	assert_int_equal(c.n_failsafe_in, 5);
	assert_port(&c.failsafe_in[0], IPPROTO_TCP, 22);
	assert_port(&c.failsafe_in[1], IPPROTO_UDP, 68);
	assert_int_equal(c.failsafe_in[2].port, 179);
	assert_int_equal(c.failsafe_in[3].port, 2379);
	assert_int_equal(c.failsafe_in[4].port, 2380);
	assert_int_equal(c.n_failsafe_out, 5);
	assert_port(&c.failsafe_out[0], IPPROTO_UDP, 53);
	assert_port(&c.failsafe_out[1], IPPROTO_UDP, 67);
	assert_port(&c.failsafe_out[2], IPPROTO_TCP, 179);
	assert_int_equal(c.failsafe_out[4].port, 2380);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	assert_int_equal(c.bgp_address, 0);
	assert_int_equal(c.bgp_asn, 0);
	assert_string_equal(c.bird_config, "/run/petrel/bird.conf");
	assert_string_equal(c.bird_socket, "/run/petrel/bird.ctl");
	config_status_socket(&c, sock, sizeof(sock));
	assert_string_equal(sock, "/run/petrel/felix.sock");

	/* an empty file, or one of comments and empty keys: the same */
	memset(&c, 0, sizeof(c));
	assert_int_equal(parse("# nothing here\n", &c, &e), 0);
	assert_string_equal(c.file, "petrel.yaml");
	assert_string_equal(c.node, host);
	assert_int_equal(c.route_protocol, 87);
	assert_int_equal(parse("node:\nnetns:\nbgp:\n", &c, &e), 0);
	assert_string_equal(c.node, host);
	assert_int_equal(e.n, 0);
}

static void test_all_keys(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;
	char sock[300];

	(void)state;
	assert_int_equal(parse("node: node-2\n"
			       "datastore: etcd:https://10.0.0.1:2379,http://10.0.0.2:2379\n"
			       "runDir: /tmp/pt/node2\n"
			       "netns: pt-node2\n"
			       "workloadNetnsPrefix: pt-n2-\n"
			       "routeProtocol: 201\n"
			       "resyncInterval: 86400\n"
			       "waitTimeout: 600\n"
			       "logLevel: debug\n"
			       "hostPortRange: 30000-30099\n"
			       "allowHostPorts: [179, 53]\n"
			       "endpointToHostAction: drop\n"
			       "endpointToHostAllow: [tcp:53, UDP:53, icmp]\n"
			       "failsafeInboundHostPorts: [tcp:2222, udp:68]\n"
			       "failsafeOutboundHostPorts: []\n"
			       "bgp:\n"
			       "  address: 192.0.2.11\n"
			       "  asNumber: 4200000000\n"
			       "bird:\n"
			       "  config: /etc/bird/petrel.conf\n"
			       "  socket: /run/bird/petrel.ctl\n", &c, &e), 0);
	print_errs(&e);
	assert_int_equal(e.n, 0);
	assert_string_equal(c.node, "node-2");
	assert_int_equal(c.n_allow_host_ports, 2);
	assert_int_equal(c.allow_host_ports[0], 179);
	assert_int_equal(c.allow_host_ports[1], 53);
	assert_string_equal(c.datastore, "etcd:https://10.0.0.1:2379,http://10.0.0.2:2379");
	assert_string_equal(c.run_dir, "/tmp/pt/node2");
	assert_string_equal(c.netns, "pt-node2");
	assert_string_equal(c.netns_prefix, "pt-n2-");
	assert_int_equal(c.route_protocol, 201);
	assert_int_equal(c.resync_interval, 86400);
	assert_int_equal(c.wait_timeout, 600);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.host_port_lo, 30000);
	assert_int_equal(c.host_port_hi, 30099);
	assert_int_equal(c.ep_to_host, CONFIG_EP_TO_HOST_DROP);
	assert_int_equal(c.n_host_allow, 3);
	assert_port(&c.host_allow[0], IPPROTO_TCP, 53);
	assert_port(&c.host_allow[1], IPPROTO_UDP, 53);
	assert_port(&c.host_allow[2], IPPROTO_ICMP, 0);
	assert_int_equal(c.n_failsafe_in, 2);
	assert_port(&c.failsafe_in[0], IPPROTO_TCP, 2222);
	assert_port(&c.failsafe_in[1], IPPROTO_UDP, 68);
	assert_int_equal(c.n_failsafe_out, 0);	/* [] disables */
	assert_int_equal(c.bgp_address, 0xc000020b);
	assert_int_equal(c.bgp_asn, 4200000000u);
	assert_string_equal(c.bird_config, "/etc/bird/petrel.conf");
	assert_string_equal(c.bird_socket, "/run/bird/petrel.ctl");
	config_status_socket(&c, sock, sizeof(sock));
	assert_string_equal(sock, "/tmp/pt/node2/felix.sock");

	assert_int_equal(parse("netns: /var/run/netns/x\nlogLevel: warning\n", &c, &e), 0);
	assert_string_equal(c.netns, "/var/run/netns/x");
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	assert_int_equal(parse("logLevel: error\nrouteProtocol: 1\n", &c, &e), 0);
	assert_int_equal(c.log_level, LOG_LVL_ERR);
	assert_int_equal(c.route_protocol, 1);
}

static void test_bird_follows_run_dir(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;

	(void)state;
	assert_int_equal(parse("runDir: /tmp/pt-a\n", &c, &e), 0);
	assert_string_equal(c.bird_config, "/tmp/pt-a/bird.conf");
	assert_string_equal(c.bird_socket, "/tmp/pt-a/bird.ctl");
	assert_int_equal(parse("runDir: /tmp/pt-a\nbird: {socket: /x/b.ctl}\n", &c, &e), 0);
	assert_string_equal(c.bird_config, "/tmp/pt-a/bird.conf");
	assert_string_equal(c.bird_socket, "/x/b.ctl");
	assert_int_equal(e.n, 0);
}

static void test_errors(void **state)
{
	char doc[512], longp[300];

	(void)state;
	expect_error("node: n1\nnodeName: n2\n", "petrel.yaml:2:1: nodeName: unknown key");
	expect_error("bgp:\n  asNumber: 1\n  peer: x\n", "petrel.yaml:3:3: bgp.peer: unknown key");
	expect_error("bird: {conf: /x}\n", "petrel.yaml:1:8: bird.conf: unknown key");
	expect_error("node: Node_1\n", "petrel.yaml:1:7: node: invalid node name \"Node_1\"");
	expect_error("node: 5\n", "petrel.yaml:1:7: node: must be a string, not an integer");
	expect_error("datastore: /var/lib/petrel.db\n", "petrel.yaml:1:12: datastore: \"/var/lib");
	expect_error("datastore: sqlite:petrel.db\n", "datastore: \"sqlite:petrel.db\": the sqlite "
		     "database must be an absolute path");
	expect_error("datastore: etcd:10.0.0.1:2379\n", "datastore: \"etcd:10.0.0.1:2379\": each "
		     "etcd endpoint");
	expect_error("datastore: etcd:https://a:1,\n", "datastore: \"etcd:https://a:1,\": each");
	expect_error("runDir: run/petrel\n", "petrel.yaml:1:9: runDir: must be an absolute path");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	snprintf(doc, sizeof(doc), "runDir: %s\n", longp);
	expect_error(doc, "runDir: too long");
	longp[250] = '\0';
	snprintf(doc, sizeof(doc), "runDir: %s\n", longp);
	expect_error(doc, "runDir: too long");
	expect_error("netns: ../x\n", "netns: \"../x\": a path must be absolute");
	expect_error("hostPortRange: 9000-8000\n",
		     "petrel.yaml:1:16: hostPortRange: \"9000-8000\": expected LO-HI");
	expect_error("hostPortRange: 0-10\n", "hostPortRange: \"0-10\": expected LO-HI");
	expect_error("hostPortRange: 1-70000\n", "hostPortRange: \"1-70000\": expected");
	expect_error("hostPortRange: 80\n", "hostPortRange: must be a string, not an integer");
	expect_error("allowHostPorts: 179\n", "allowHostPorts: must be a list of ports, "
		     "not an integer");
	expect_error("allowHostPorts: [22, 0]\n", "allowHostPorts: item 1: expected a port 1..65535");
	expect_error("allowHostPorts: [\"ssh\"]\n", "allowHostPorts: item 0: expected a port");
	expect_error("endpointToHostAllow: tcp:22\n",
		     "petrel.yaml:1:22: endpointToHostAllow: must be a list");
	expect_error("endpointToHostAllow: [tcp:0]\n",
		     "endpointToHostAllow: \"tcp:0\": expected tcp:PORT, udp:PORT (1..65535) or icmp");
	expect_error("endpointToHostAllow: [\"tcp:22x\"]\n", "endpointToHostAllow: \"tcp:22x\": expected");
	expect_error("endpointToHostAllow: [sctp:22]\n", "endpointToHostAllow: \"sctp:22\": expected");
	expect_error("endpointToHostAllow: [\"tcp:+22\"]\n", "endpointToHostAllow: \"tcp:+22\": expected");
	expect_error("endpointToHostAllow: [22]\n", "endpointToHostAllow: must be a string, not an integer");
	expect_error("failsafeInboundHostPorts: tcp:22\n",
		     "petrel.yaml:1:27: failsafeInboundHostPorts: must be a list "
		     "(\"tcp:PORT\", \"udp:PORT\"), not a string");
	expect_error("failsafeInboundHostPorts: [icmp]\n",
		     "failsafeInboundHostPorts: \"icmp\": expected tcp:PORT, udp:PORT (1..65535)");
	expect_error("failsafeOutboundHostPorts: [udp:53, \"udp:65536\"]\n",
		     "failsafeOutboundHostPorts: \"udp:65536\": expected tcp:PORT, udp:PORT");
	expect_error("failsafeOutboundHostPorts: [none]\n",
		     "failsafeOutboundHostPorts: \"none\": expected");
	expect_error("failsafeOutboundHostPorts: [53]\n",
		     "failsafeOutboundHostPorts: must be a string, not an integer");
	expect_error("endpointToHostAction: reject\n",
		     "petrel.yaml:1:23: endpointToHostAction: \"reject\": expected accept or drop");
	expect_error("netns: \"a b\"\n", "netns: \"a b\": a namespace name");
	expect_error("netns: ..\n", "netns: \"..\": a namespace name");
	expect_error("workloadNetnsPrefix: abcdefghijklmnopq\n",
		     "petrel.yaml:1:22: workloadNetnsPrefix: \"abcdefghijklmnopq\" is longer than 16");
	expect_error("workloadNetnsPrefix: \"a/b\"\n", "workloadNetnsPrefix: \"a/b\": only");
	expect_error("routeProtocol: 0\n", "petrel.yaml:1:16: routeProtocol: 0 is out of range (1..255)");
	expect_error("routeProtocol: 256\n", "routeProtocol: 256 is out of range");
	expect_error("routeProtocol: 2\n", "routeProtocol: 2 is reserved for the kernel");
	expect_error("routeProtocol: 3\n", "routeProtocol: 3 is reserved for boot");
	expect_error("routeProtocol: 4\n", "routeProtocol: 4 is reserved for static routes");
	expect_error("routeProtocol: 12\n", "routeProtocol: 12 is reserved for BIRD");
	expect_error("routeProtocol: 186\n", "routeProtocol: 186 is reserved for FRR bgp");
	expect_error("routeProtocol: \"87\"\n", "routeProtocol: must be an integer, not a string");
	expect_error("resyncInterval: 0\n", "resyncInterval: 0 is out of range (1..86400)");
	expect_error("resyncInterval: 86401\n", "resyncInterval: 86401 is out of range");
	expect_error("waitTimeout: 601\n", "waitTimeout: 601 is out of range (1..600)");
	expect_error("waitTimeout: 1.5\n", "waitTimeout: must be an integer, not a string");
	expect_error("logLevel: verbose\n", "petrel.yaml:1:11: logLevel: unknown level \"verbose\"");
	expect_error("bgp: 1\n", "petrel.yaml:1:6: bgp: must be a mapping");
	expect_error("bgp: {address: 300.1.1.1}\n", "petrel.yaml:1:16: bgp.address: invalid IPv4");
	expect_error("bgp: {address: 0.0.0.0}\n", "bgp.address: invalid IPv4 address \"0.0.0.0\"");
	expect_error("bgp: {asNumber: 0}\n", "bgp.asNumber: must be an AS number");
	expect_error("bgp: {asNumber: 4294967296}\n", "bgp.asNumber: must be an AS number");
	expect_error("bird: {config: bird.conf}\n", "bird.config: must be an absolute path");
	expect_error("bird: [a]\n", "bird: must be a mapping");
	expect_error("- node: a\n", "petrel.yaml:1:1: the config must be a mapping, not a list");
	expect_error("node: a\n---\nnode: b\n", "petrel.yaml:3:1: the config must be a single");
	expect_error("node: a\nnode: b\n", "petrel.yaml:2:1: duplicate key \"node\"");
	expect_error("node: [a\n", "petrel.yaml:2:1:");
	expect_error("datastore: \"sqlite:/a\\nb\"\n", "datastore: must not contain control");
	expect_error("labels: [a]\n", "petrel.yaml:1:9: labels: must be a mapping");
	expect_error("labels:\n  rack: r1\n  -bad: x\n", "petrel.yaml:3:3: labels.-bad: invalid label key");
	expect_error("labels: {Rack.Example/x: y}\n", "labels.Rack.Example/x: invalid label key");
	expect_error("labels: {rack: \"r 1\"}\n", "labels.rack: invalid label value \"r 1\"");
	expect_error("labels: {rack: 5}\n", "labels.rack: must be a string, not an integer");
}

static void test_labels(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;
	char doc[4096];
	size_t off;

	(void)state;
	assert_int_equal(parse("labels: {rack: r1, example.com/zone: \"\", tier: edge}\n",
			       &c, &e), 0);
	assert_int_equal(c.n_labels, 3);
	assert_string_equal(c.labels[0].key, "rack");
	assert_string_equal(c.labels[0].value, "r1");
	assert_string_equal(c.labels[1].key, "example.com/zone");
	assert_string_equal(c.labels[1].value, "");
	assert_string_equal(c.labels[2].key, "tier");
	/* the bound, with its message */
	off = (size_t)snprintf(doc, sizeof(doc), "labels:\n");
	for (int i = 0; i <= CONFIG_LABELS_MAX; i++)
		off += (size_t)snprintf(doc + off, sizeof(doc) - off, "  k%d: v\n", i);
	expect_error(doc, "too many labels (at most 32)");
	errs_clear(&e);
}

static void test_all_errors_reported(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;

	(void)state;
	assert_int_equal(parse("node: BAD\n"
			       "routeProtocol: 2\n"
			       "runDir: relative\n"
			       "color: blue\n"
			       "bgp: {asNumber: -1, x: 1}\n", &c, &e), -EINVAL);
	print_errs(&e);
	assert_int_equal(e.n, 6);
	assert_true(has_err(&e, "petrel.yaml:1:7: node:"));
	assert_true(has_err(&e, "petrel.yaml:2:16: routeProtocol:"));
	assert_true(has_err(&e, "petrel.yaml:3:9: runDir:"));
	assert_true(has_err(&e, "petrel.yaml:4:1: color: unknown key"));
	assert_true(has_err(&e, "petrel.yaml:5:17: bgp.asNumber:"));
	assert_true(has_err(&e, "petrel.yaml:5:21: bgp.x: unknown key"));
	errs_clear(&e);
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pt-config-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char p[128];

	(void)state;
	snprintf(p, sizeof(p), "%s/petrel.yaml", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

static void test_load(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;
	char path[128], missing[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/petrel.yaml", tmpdir);
	snprintf(missing, sizeof(missing), "%s/missing.yaml", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("node: from-file\nrouteProtocol: 88\n", f);
	fclose(f);

	assert_int_equal(config_load(path, &c, &e), 0);
	assert_string_equal(c.file, path);
	assert_string_equal(c.node, "from-file");
	assert_int_equal(c.route_protocol, 88);

	/* an explicit path that does not exist is an error */
	assert_int_equal(config_load(missing, &c, &e), -ENOENT);
	assert_true(has_err(&e, "missing.yaml: No such file"));
	errs_clear(&e);

	/* $PETREL_CONFIG when no path is given */
	setenv("PETREL_CONFIG", path, 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load(NULL, &c, &e), 0);
	assert_string_equal(c.node, "from-file");
	setenv("PETREL_CONFIG", missing, 1);
	assert_int_equal(config_load(NULL, &c, &e), -ENOENT);
	errs_clear(&e);
	unsetenv("PETREL_CONFIG");


	/* errors carry the file's name */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("node: ok\nwaitTimeout: 0\n", f);
	fclose(f);
	assert_int_equal(config_load(path, &c, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_true(strstr(e.msg[0], "/petrel.yaml:2:14: waitTimeout: 0 is out of range") != NULL);
	errs_clear(&e);

	/* not a regular file */
	assert_int_equal(config_load(tmpdir, &c, &e), -EINVAL);
	assert_true(has_err(&e, "not a regular file"));
	errs_clear(&e);
}

/* The default path missing means defaults: only checkable without one
 * (skipped, not passed, on a machine that has it). */
static void test_load_default_missing(void **state)
{
	struct petrel_config c;
	struct errs e = ERRS_INIT;

	(void)state;
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		print_message("SKIP: %s exists here\n", CONFIG_DEFAULT_PATH);
		skip();
	}
	unsetenv("PETREL_CONFIG");
	memset(&c, 0, sizeof(c));
	assert_int_equal(config_load(NULL, &c, &e), 0);
	assert_string_equal(c.file, "");
	assert_int_equal(c.route_protocol, 87);
	errs_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_bird_follows_run_dir),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test_setup_teardown(test_load, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_load_default_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
