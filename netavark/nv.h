/*
 * nv: the codec of petrel's netavark plugin (netavark's plugin API 1.0.0,
 * its plugin-API.md): the network config `create` reads and completes,
 * the request `setup` and `teardown` read (netavark's NetworkPluginExec:
 * container_id, container_name, port_mappings, network, network_options),
 * and the JSON the plugin prints (the network, the status block, info,
 * {"error": ...}). No logging and no I/O: netavark/main.c does the work.
 *
 * Parsers return 0 or -EINVAL (-EBADMSG: not JSON; -ENOMEM); every message, each
 * naming its field ("port_mappings[1].protocol: ..."), goes into a struct
 * errs. A failed parse leaves nothing allocated and *out untouched.
 *
 * What petrel cannot honour is refused, never ignored: IPv6 (subnets,
 * ipv6_enabled), internal networks, a static MAC, sctp, an ipam driver
 * other than petrel's own, unknown options.
 */
#ifndef PETREL_NV_H
#define PETREL_NV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/errs.h"
#include "common/ip4.h"
#include "model/resource.h"

#define NV_API_VERSION "1.0.0"
#define NV_IPAM_DRIVER "petrel"	/* ipam_options.driver create writes: podman
				 * then leaves address allocation to us */
#define NV_MAX_SUBNETS 16
#define NV_MAX_DNS 8
#define NV_DNS_LEN 46		/* INET6_ADDRSTRLEN */
/* The label on each WorkloadEndpoint the plugin makes: the netavark
 * network's name (cni_network_label's form). Reserved. */
#define NV_NET_LABEL "petrel.dev/netavark-network"

/* A netavark network (create's input; setup's "network"). */
struct nv_network {
	char name[256];
	char id[72];
	char driver[64];
	/* options: "config" (petrel.yaml, default CONFIG_DEFAULT_PATH),
	 * "network" (the petrel Network, default: the network's name;
	 * "default": the built-in one), "no_wait" ("true" | "false"). */
	char config[CONFIG_PATH_MAX];
	char network[RES_NAME_MAX];
	bool no_wait;
	size_t n_subnets;		/* subnets[].subnet, IPv4 */
	struct ip4_net subnets[NV_MAX_SUBNETS];
	size_t n_dns;			/* network_dns_servers */
	char dns[NV_MAX_DNS][NV_DNS_LEN];
	json_t *doc;			/* the object as given; owned */
};

/* setup and teardown: netavark's NetworkPluginExec. */
struct nv_exec {
	char container_id[72];
	char container_name[256];
	char name[RES_NAME_MAX];	/* container_name when a valid workload
					 * name (lower-cased), else "" */
	char ifname[16];		/* network_options.interface_name */
	uint32_t static_ip;		/* network_options.static_ips[0]; 0: any */
	size_t n_ports;			/* port_mappings, ranges and protocol
					 * lists expanded */
	struct wep_port ports[WEP_MAX_PORTS];
	struct nv_network net;
};

/* create's input (len bytes, need not be NUL-terminated). 0, -EBADMSG, or
 * -EINVAL; every error into e. *out owns the document (nv_network_clear). */
int nv_network_parse(const char *buf, size_t len, struct nv_network *out,
		     struct errs *e);
/* setup's and teardown's input. 0, -EBADMSG, -EINVAL or -ENOMEM. *out
 * owns nothing (net.doc stays NULL). */
int nv_exec_parse(const char *buf, size_t len, struct nv_exec *out,
		  struct errs *e);
void nv_network_clear(struct nv_network *n);	/* empty ok */
void nv_exec_clear(struct nv_exec *x);

/* The network completed: n's document with subnets[] = pools (CIDRs, no
 * gateway: podman adds its own), ipam_options.driver NV_IPAM_DRIVER and
 * options.network = petrel_net; the rest as given. NULL on ENOMEM. */
char *nv_network_text(const struct nv_network *n, const struct ip4_net *pools,
		      size_t n_pools, const char *petrel_net);

/* The status block of setup: interface ifname with mac and addr/32 via
 * gateway, dns_server_ips dns[0..n_dns). NULL on ENOMEM. */
char *nv_status_text(const char *ifname, const uint8_t mac[6], uint32_t addr,
		     uint32_t gateway, const char (*dns)[NV_DNS_LEN], size_t n_dns);
/* {"version": version, "api_version": "1.0.0"} */
char *nv_info_text(const char *version);
/* {"error": msg} */
char *nv_error_text(const char *msg);

#endif
