/*
 * fuzz_cni: libFuzzer harness for cni/cni.c, the CNI plugins' parsers of
 * outside input: the network config (stdin) and CNI_ARGS. An input with a
 * newline is "CNI_ARGS\nCONFIG"; without, the whole input is fed to both.
 * Any input must parse or fail with at least one message and a known code;
 * an accepted config must hold only what validation allows (GC's
 * cni.dev/valid-attachments included: each item a valid container ID and
 * interface name, found by cni_attachment_valid; the plugin's reserved
 * label never set by a config; the network's label value valid), and its
 * prevResult must survive the result encoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/cni.h"
#include "common/ifname.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_gc(const struct cni_conf *c)
{
	char v[CNI_NET_LABEL_LEN];

	if (c->n_valid > CNI_GC_MAX || (c->n_valid && (!c->valid || !c->has_valid)))
		abort();
	for (size_t i = 0; i < c->n_valid; i++) {
		const struct cni_attachment *a = &c->valid[i];

		if (!cni_container_id_valid(a->container_id, sizeof(a->container_id)) ||
		    !ifname_valid(a->ifname) ||
		    !cni_attachment_valid(c, a->container_id, a->ifname))
			abort();
	}
	if (labels_get(&c->labels, CNI_NET_LABEL))
		abort();
	cni_network_label(c->name, v);
	if (!v[0] || strlen(v) >= sizeof(v) || !labels_value_valid(v))
		abort();
}

static void fuzz_conf(const char *buf, size_t len)
{
	struct cni_conf c;
	struct errs e = ERRS_INIT;
	char v[16];
	int r;

	cni_conf_version(buf, len, v, sizeof(v));
	if (!cni_version_supported(v))
		abort();
	r = cni_conf_parse(buf, len, &c, &e);
	if (r == 0) {
		struct cni_result res = { .has_interfaces = true, .addr = 0x0a000001,
					  .gateway = CNI_GATEWAY };
		char *s;

		if (e.n || !cni_version_supported(c.cni_version) || !c.name[0] ||
		    !c.type[0] || c.petrel_config[0] != '/' ||
		    c.ipam_petrel_config[0] != '/')
			abort();
		for (size_t i = 0; i < c.labels.n; i++)
			if (!labels_key_valid(c.labels.v[i].key) ||
			    !labels_value_valid(c.labels.v[i].value))
				abort();
		if (c.prev_result && !json_is_object(c.prev_result))
			abort();
		check_gc(&c);
		s = cni_result_text(c.cni_version, &res, c.prev_result);
		if (!s)
			abort();
		free(s);
		cni_conf_clear(&c);
	} else if (e.n == 0 || (r != -CNI_EDECODE && r != -CNI_ECONFIG &&
				r != -CNI_EVERSION)) {
		abort();
	}
	errs_clear(&e);
}

static void fuzz_args(const char *s)
{
	struct cni_args a;
	struct errs e = ERRS_INIT;
	int r = cni_args_parse(s, &a, &e);

	if (r == 0) {
		if (e.n || (a.pod_name[0] && !res_name_valid(a.pod_name)))
			abort();
	} else if (r != -CNI_EENV || e.n == 0) {
		abort();
	}
	errs_clear(&e);
	cni_container_id_valid(s, 72);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl;
	char *args;
	size_t alen;

	if (size > 64 * 1024)
		return 0;
	nl = memchr(data, '\n', size);
	alen = nl ? (size_t)(nl - (const char *)data) : size;
	args = malloc(alen + 1);
	if (!args)
		return 0;
	memcpy(args, data, alen);
	args[alen] = '\0';
	fuzz_args(args);
	free(args);
	if (nl)
		fuzz_conf(nl + 1, size - alen - 1);
	else
		fuzz_conf((const char *)data, size);
	return 0;
}
