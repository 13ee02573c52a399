/*
 * fuzz_stored: libFuzzer harness for the rows of the datastore decoded
 * straight from their stored JSON text: every resource kind through
 * res_from_text (model/resource.c: IPPool, Node, WorkloadEndpoint,
 * IPAMBlock, IPAMHandle, BGPConfiguration, BGPPeer, NetworkPolicy,
 * Network), a host-port reservation (endpoint_hostport_parse) and an IPAM
 * gateway record of petrel-ipam (ipamgw_record_parse). Another
 * writer, a newer petrel or a damaged store may have put anything there.
 *
 * The input: its first byte picks the kind (byte % (RES_KIND_COUNT + 2);
 * after the resource kinds, the reservation then the gateway record), the
 * rest is the stored text.
 *
 * Invariants checked: a decode fails with at least one error message and
 * succeeds with none; what decodes re-encodes (res_to_text) into text that
 * decodes again as the same kind, and whose re-encoding is the same bytes
 * (the encoding is canonical: a fixpoint after one round); its name and
 * key can be formed; a reservation names a valid resource name or none; a
 * gateway record read twice reads the same;
 * nothing leaks (ASan's leak check).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni/ipamgw.h"
#include "endpoint/endpoint.h"
#include "model/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_stored: %s\n%s\n", what, text ? text : "(null)");
	abort();
}

static void one_kind(enum res_kind k, const char *text)
{
	struct errs e = ERRS_INIT, e2 = ERRS_INIT;
	struct resource r, r2;
	char name[2 * RES_NAME_MAX + 8], key[RES_KEY_MAX];
	char *t1, *t2;
	int rc;

	rc = res_from_text(k, text, 7, &r, &e);
	if (rc < 0) {
		if (errs_count(&e) == 0)
			fail("a refused document without an error message", text);
		errs_clear(&e);
		return;
	}
	if (errs_count(&e))
		fail("an accepted document with an error message", text);
	if (r.kind != k || r.revision != 7)
		fail("decoded as another kind or revision", text);
	res_name(&r, name, sizeof(name));
	if (!name[0] || res_key(k, name, key, sizeof(key)) < 0)
		fail("a decoded resource without a name or key", text);
	t1 = res_to_text(&r);
	if (!t1)
		fail("re-encoding failed", text);
	if (res_from_text(k, t1, 0, &r2, &e2) < 0)
		fail(e2.n ? e2.msg[0] : "its canonical text does not decode", t1);
	t2 = res_to_text(&r2);
	if (!t2 || strcmp(t1, t2))
		fail("the canonical text is not a fixpoint", t1);
	free(t1);
	free(t2);
	res_clear(&r);
	res_clear(&r2);
	errs_clear(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k;
	char *text;

	if (size < 1 || size > 65536)
		return 0;
	k = data[0] % (RES_KIND_COUNT + 2);
	if (!(text = malloc(size)))
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (k < RES_KIND_COUNT) {
		one_kind((enum res_kind)k, text);
	} else if (k == RES_KIND_COUNT + 1) {
		uint32_t gw, gw2;
		size_t n, n2;
		int r = ipamgw_record_parse(text, &gw, &n);

		if (r != ipamgw_record_parse(text, &gw2, &n2) || (r == 0 && (gw != gw2 || n != n2)))
			fail("a gateway record reads two ways", text);
	} else {
		char owner[RES_NAME_MAX];

		endpoint_hostport_parse(text, owner, sizeof(owner));
		if (owner[0] && !res_name_valid(owner))
			fail("a reservation names an invalid workload", text);
	}
	free(text);
	return 0;
}
