/*
 * cni: the codec of petrel's CNI plugins (CNI spec 1.0.0; 0.4.0 and 1.1.0
 * accepted): the network configuration read from stdin (with GC's
 * cni.dev/valid-attachments), CNI_ARGS, the label that marks a workload as
 * made by the `petrel` plugin for a network, and the JSON the plugins print
 * (result, error, version). No logging, and no I/O but reading the config:
 * the plugins (cni/main_petrel.c, cni/main_ipam.c) do the work and print.
 *
 * Errors are the spec's codes (1..11) and petrel's own (100+). Functions
 * return 0 or a negated code; the messages, each naming the field
 * ("runtimeConfig.ips[0]: ..."), go into a struct errs. A failed parse
 * leaves nothing allocated.
 */
#ifndef PETREL_CNI_H
#define PETREL_CNI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/errs.h"
#include "model/resource.h"

#define CNI_VERSION "1.0.0"
#define CNI_CONF_MAX (1024 * 1024)	/* bytes of stdin read at most */
#define CNI_GATEWAY 0xa9fe0101u		/* 169.254.1.1 */

enum cni_code {
	CNI_EVERSION = 1,	/* incompatible cniVersion */
	CNI_EFIELD = 2,		/* unsupported field */
	CNI_ENOCONTAINER = 3,	/* container unknown or does not exist */
	CNI_EENV = 4,		/* invalid environment variables */
	CNI_EIO = 5,		/* I/O failure */
	CNI_EDECODE = 6,	/* failed to decode content */
	CNI_ECONFIG = 7,	/* invalid network config */
	CNI_EAGAIN = 11,	/* try again later */
	CNI_ENOSPC = 100,	/* every IP pool exhausted */
	CNI_EFELIX = 101,	/* felix did not confirm in time */
	CNI_EADDR = 102,	/* the requested address cannot be had */
	CNI_EPORT = 103,	/* a host port is published by another workload */
};

/* Reads all of fd (the config on stdin) into a new NUL-less buffer the
 * caller frees: 0, -EFBIG beyond CNI_CONF_MAX, -ENOMEM, -errno. */
int cni_read_input(int fd, char **out, size_t *len);

/* True for "0.4.0", "1.0.0", "1.1.0". */
bool cni_version_supported(const char *v);

/* The label the `petrel` plugin puts on each WorkloadEndpoint it makes: its
 * value names the CNI network (cni_network_label). It marks the record as
 * the plugin's (GC removes only such records, of its own network): the
 * record's other fields (containerID, interfaces) are those `petrelctl run`
 * writes too. Reserved: a config may not set it. */
#define CNI_NET_LABEL "petrel.dev/cni-network"

/* The value of CNI_NET_LABEL for network name into buf (at least
 * CNI_NET_LABEL_LEN): the name itself when it is a valid label value, else
 * "sha1-" and the 40 hex digits of its SHA-1 (a CNI name may be longer than
 * 63 characters or end in '.' or '-', which a label value may not). */
#define CNI_NET_LABEL_LEN 64
void cni_network_label(const char *name, char *buf);

/* One item of GC's cni.dev/valid-attachments (at most CNI_GC_MAX). */
#define CNI_GC_MAX 65536
struct cni_attachment {
	char container_id[72];
	char ifname[16];
};

struct cni_conf {
	char cni_version[16];
	char name[256];
	char type[64];
	char petrel_config[CONFIG_PATH_MAX];	/* default CONFIG_DEFAULT_PATH */
	bool no_wait;
	uint32_t want;			/* runtimeConfig.ips[0]; 0 = any */
	struct labels labels;		/* args.labels then runtimeConfig.labels */
	size_t n_ports;			/* runtimeConfig.portMappings */
	struct wep_port ports[WEP_MAX_PORTS];
	json_t *prev_result;		/* prevResult or NULL; owned */
	/* "ipam": {"type": ..., "petrelConfig": ...} (petrel-ipam) */
	char ipam_type[64];
	char ipam_petrel_config[CONFIG_PATH_MAX];	/* default CONFIG_DEFAULT_PATH */
	/* GC (CNI 1.1.0): "cni.dev/valid-attachments", a list of {containerID,
	 * ifname} (libcni also sends it as "cni.dev/attachments", the name of
	 * an earlier draft: read when the first is absent). */
	bool has_valid;
	size_t n_valid;
	struct cni_attachment *valid;	/* owned; NULL when n_valid is 0 */
};

/* Parses the network configuration (len bytes, need not be NUL-terminated).
 * 0; -CNI_EDECODE (not JSON), -CNI_EVERSION (cniVersion unsupported),
 * -CNI_ECONFIG (a field invalid). Every error goes into e; out stays
 * untouched on failure. Keys it does not know are ignored (runtimes add
 * their own). */
int cni_conf_parse(const char *buf, size_t len, struct cni_conf *out,
		   struct errs *e);
void cni_conf_clear(struct cni_conf *c);	/* empty ok */

/* True when (container_id, ifname) is in c's valid attachments. */
bool cni_attachment_valid(const struct cni_conf *c, const char *container_id,
			  const char *ifname);

/* runtimeConfig.portMappings (the portMappings capability) as published
 * ports: a list of {hostPort, containerPort, protocol?, hostIP?}; protocol
 * "tcp" (default) or "udp", any case; hostIP absent, "" or "0.0.0.0" = 0
 * (every address of the node), else a unicast IPv4 address. At most
 * WEP_MAX_PORTS; two items may not take one host port and protocol on a
 * common address. 0 and out[0..*n); -CNI_ECONFIG with a message per bad
 * item ("runtimeConfig.portMappings[1].protocol: ...") in e, *n untouched. */
int cni_ports_parse(const json_t *pm, struct wep_port *out, size_t *n,
		    struct errs *e);

/* A published port's host IP: "" or "0.0.0.0" = 0 (every address of the
 * node), else a unicast IPv4 address. 0 or -EINVAL (*out untouched). */
int cni_host_ip_parse(const char *s, uint32_t *out);
/* The index of the first of ports[0..n) that takes p's host port and
 * protocol on a common address; n when none. */
size_t cni_port_taken(const struct wep_port *ports, size_t n, const struct wep_port *p);

/* The cniVersion of a config that may otherwise be invalid, for the error
 * and VERSION replies: the supported version given, else CNI_VERSION. */
void cni_conf_version(const char *buf, size_t len, char *out, size_t outlen);

/* CNI_ARGS: "KEY=VALUE;KEY=VALUE". Empty or NULL is fine. */
struct cni_args {
	char pod_name[RES_NAME_MAX];	/* K8S_POD_NAME when a valid resource name, else "" */
	bool pod_name_given;
	bool ignore_unknown;		/* IgnoreUnknown=1|true */
	uint32_t ip;			/* IP=A.B.C.D (host-local's convention, what
					 * podman 4 sends for --ip); 0 = none */
};
#define CNI_ARGS_MAX 4096
/* 0 or -CNI_EENV ("CNI_ARGS: ..." messages in e). */
int cni_args_parse(const char *s, struct cni_args *out, struct errs *e);

/* True for a valid CNI_CONTAINERID: [A-Za-z0-9][A-Za-z0-9_.-]*, at most
 * maxlen - 1 characters. */
bool cni_container_id_valid(const char *id, size_t maxlen);

/* A result. ADD of petrel: both interfaces, ADDR/32, gateway 169.254.1.1
 * and the default route; petrel-ipam: ips only (no interface index),
 * ADDR/<its pool's prefix>, the node's gateway in that pool and the
 * default route via it (cni/ipamgw.h says why). */
struct cni_result {
	bool has_interfaces;
	char host_ifname[16];
	uint8_t host_mac[6];
	char ifname[16];
	uint8_t mac[6];
	char sandbox[256];
	uint32_t addr;
	uint8_t prefix_len;	/* of addr; 0 = 32 */
	uint32_t gateway;	/* 0 = none (and no route) */
};
/* The result as JSON text for version, merged after prev (may be NULL: its
 * interfaces, ips, routes and dns are kept, ours appended). NULL on ENOMEM. */
char *cni_result_text(const char *version, const struct cni_result *r,
		      const json_t *prev);
/* The error a plugin run ends with: the first one recorded wins (later ones
 * come from undo paths). */
struct cni_err {
	int code;		/* 0 = none */
	char msg[512];
	char details[2048];
};
/* Records code and the message (if none yet); returns -code. */
int cni_err_set(struct cni_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends e's messages to err->details, "; "-separated. */
void cni_err_details(struct cni_err *err, const struct errs *e);

/* {"cniVersion":..,"code":..,"msg":..,"details"?:..}; NULL on ENOMEM. */
char *cni_error_text(const char *version, int code, const char *msg,
		     const char *details);
/* {"cniVersion":..,"supportedVersions":[...]} */
char *cni_version_text(const char *version);

#endif
