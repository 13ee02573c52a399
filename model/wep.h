/*
 * wep: the WorkloadEndpoint resource: a workload's interface, addresses,
 * labels, networks and published ports.
 */
#ifndef PETREL_MODEL_WEP_H
#define PETREL_MODEL_WEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/yamljson.h"
#include "model/labels.h"
#include "model/res.h"

enum wep_mode { WEP_ROUTED, WEP_HOST, WEP_NONE, WEP_CONTAINER };
const char *wep_mode_name(enum wep_mode m);	/* "routed", ... */
/* "routed" | "host" | "none" | "container" (the target is a separate field). */
int wep_mode_parse(const char *s);

#define WEP_MAX_NETS 4
#define WEP_MAX_NETWORKS 8
#define WEP_MAX_PORTS 64

/* A published port: [hostIP:]hostPort:port/proto. YAML: {hostIP?,
 * hostPort, containerPort, protocol: tcp|udp}. */
struct wep_port {
	uint32_t host_ip;	/* 0 = every address of the node */
	uint16_t host_port;	/* 1..65535 */
	uint16_t port;		/* the workload's port, 1..65535 */
	uint8_t proto;		/* IPPROTO_TCP | IPPROTO_UDP */
};

struct wep {
	char node[RES_NAME_MAX];
	char name[RES_NAME_MAX];
	enum wep_mode mode;
	char container[RES_NAME_MAX];	/* WEP_CONTAINER: the workload it joins */
	char netns[256];	/* path of its network namespace ("" for host mode) */
	char ifname[16];	/* host-side interface (routed) */
	char wl_ifname[16];	/* workload-side interface (routed), "eth0" */
	size_t n_nets;
	struct ip4_net nets[WEP_MAX_NETS];	/* routed: one /32 */
	uint8_t mac[6];		/* workload end's MAC (routed) */
	bool has_mac;
	char container_id[72];	/* the creator's ID (64 hex for engines) */
	struct labels labels;
	size_t n_networks;	/* 0 = "default" only */
	char networks[WEP_MAX_NETWORKS][RES_NAME_MAX];
	size_t n_ports;
	struct wep_port ports[WEP_MAX_PORTS];	/* published (routed only) */
};

/* The codec (conventions in model/resource.h): decode and validate a whole
 * document, encode canonically, clear (NULL is a no-op). */
int wep_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct wep *out, struct errs *e);
json_t *wep_to_json(const struct wep *w);
void wep_clear(struct wep *w);

#endif
