/*
 * config: a node's petrel.yaml. Every key has a default; every path can be
 * overridden, so that several nodes run on one machine, each in its own
 * network namespace.
 *
 *   node: node1                 # default: the host name
 *   datastore: sqlite:/var/lib/petrel/petrel.db   # ?sync=normal: one fsync less
 *                               # per write, the newest writes may roll back on
 *                               # a power loss (docs/decisions.md)
 *   runDir: /run/petrel         # felix.sock (status socket), felix.pid
 *   netns: ""                   # the node's network namespace: a name under
 *                               # /run/netns or a path; "" = the caller's own
 *   workloadNetnsPrefix: ""     # prefix of the named netns petrelctl makes
 *   routeProtocol: 87           # petrel's route protocol number (1..255, not 2..4)
 *   resyncInterval: 30          # seconds between full resyncs (felix)
 *   waitTimeout: 10             # seconds run/CNI ADD wait for felix
 *   logLevel: info              # error | warning | info | debug
 *   hostPortRange: 32768-60999  # host ports that -P / -p PORT pick from
 *   allowHostPorts: []          # host ports published although the node
 *                               # listens on them, or the BGP port (179)
 *   endpointToHostAction: accept  # workload → the node itself, after the
 *                               # workload's egress policy: accept | drop
 *   bgp: { address: 192.0.2.11, asNumber: 64512 }
 *   labels: { rack: r1 }        # this node's Node labels (felix registers
 *                               # them; Kubernetes' label rules)
 *   bird: { config: /run/petrel/bird.conf, socket: /run/petrel/bird.ctl }
 *   etcd: { ca: /etc/petrel/ca.pem, cert: ..., key: ..., user: petrel,
 *           passwordFile: ..., prefix: /team1, timeout: 5 }
 *                               # datastore: etcd:... only; key and passwordFile
 *                               # root-owned 0600; folded into the datastore URL
 *
 * Unknown keys are errors (a typo must not be silently ignored).
 */
#ifndef PETREL_CONFIG_H
#define PETREL_CONFIG_H

#include <stdint.h>

#include "common/dnsname.h"
#include "common/errs.h"

#define CONFIG_DEFAULT_PATH "/etc/petrel/petrel.yaml"
#define CONFIG_PATH_MAX 256
#define CONFIG_LABELS_MAX 32
#define CONFIG_ALLOW_PORTS_MAX 64

enum { CONFIG_EP_TO_HOST_ACCEPT, CONFIG_EP_TO_HOST_DROP };

/* endpointToHostAllow: what workloads may still reach on the node itself
 * under endpointToHostAction drop ("tcp:53", "udp:53", "icmp"). */
#define CONFIG_HOST_ALLOW_MAX 32
struct config_host_allow {
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP */
	uint16_t port;		/* tcp/udp; 0 for icmp */
};

/* failsafe{In,Out}boundHostPorts: "tcp:PORT", "udp:PORT" (proto, port
 * as above) */
#define CONFIG_FAILSAFE_MAX 32

struct petrel_config {
	char file[CONFIG_PATH_MAX];	/* where it was read from; "" = defaults only */
	char node[DNSNAME_MAX];
	char datastore[CONFIG_PATH_MAX * 4];
	char run_dir[CONFIG_PATH_MAX];
	char netns[CONFIG_PATH_MAX];
	char netns_prefix[32];
	int route_protocol;
	int resync_interval;	/* seconds, 1..86400 */
	int wait_timeout;	/* seconds, 1..600 */
	int log_level;		/* enum log_level */
	uint32_t bgp_address;	/* 0 = autodetect */
	uint32_t bgp_asn;	/* 0 = BGPConfiguration's default */
	uint16_t host_port_lo, host_port_hi;	/* hostPortRange */
	uint16_t allow_host_ports[CONFIG_ALLOW_PORTS_MAX];	/* allowHostPorts */
	size_t n_allow_host_ports;
	int ep_to_host;		/* endpointToHostAction: CONFIG_EP_TO_HOST_*
				 * (default drop) */
	size_t n_host_allow;
	struct config_host_allow host_allow[CONFIG_HOST_ALLOW_MAX];
	/* failsafeInboundHostPorts / failsafeOutboundHostPorts: accepted to
	 * and from the node's host endpoints before any host policy (default
	 * Calico's, less Kubernetes'; [] none) */
	size_t n_failsafe_in, n_failsafe_out;
	struct config_host_allow failsafe_in[CONFIG_FAILSAFE_MAX];
	struct config_host_allow failsafe_out[CONFIG_FAILSAFE_MAX];
	struct {
		char key[320];	/* [DNS subdomain/]name: 253 + 1 + 63 */
		char value[64];
	} labels[CONFIG_LABELS_MAX];	/* as the file lists them */
	size_t n_labels;
	char bird_config[CONFIG_PATH_MAX];
	char bird_socket[CONFIG_PATH_MAX];
};

/* path: NULL → $PETREL_CONFIG, else CONFIG_DEFAULT_PATH. An explicit path
 * (argument or variable) that does not exist is an error; the default path
 * missing means defaults. Errors go to e as "file:line:col: key: message";
 * returns 0 or -EINVAL/-errno. */
int config_load(const char *path, struct petrel_config *out, struct errs *e);
/* The same from a buffer (for tests and the fuzzer). */
int config_parse(const char *file, const char *buf, size_t len,
		 struct petrel_config *out, struct errs *e);
void config_defaults(struct petrel_config *c);
/* "<runDir>/felix.sock" */
void config_status_socket(const struct petrel_config *c, char *buf, size_t len);

#endif
