/*
 * fuzz_blockpeek: libFuzzer harness for model/ipamblock.c's fast partial
 * decoder, ipamblock_peek (IPAM's block scanner), differentially: against
 * jansson itself, and against the full decoder (res_from_text) it stands in
 * for in IPAM's allocator. For any input (the stored text of an IPAMBlock):
 *
 *   - jansson: whenever it parses the text (with the store decoder's flag,
 *     JSON_REJECT_DUPLICATES) and peek answers, peek's answer is what the
 *     tree says: spec.affinity when it is a string ("" otherwise) and the
 *     number of members of spec.allocations when it is an object (0
 *     otherwise), whether or not the block is otherwise valid;
 *   - the full decoder: when both accept it, they agree on the affinity and
 *     on the number of addresses held;
 *   - the canonical re-encoding of what the full decoder accepted is always
 *     peeked, with the same answer.
 *
 * Neither may crash or leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const char *what, const char *text, const char *fa, uint64_t fu,
		 const char *pa, uint64_t pu)
{
	if (strcmp(fa, pa) || fu != pu) {
		fprintf(stderr, "%s: decoders disagree on %s\nfull: \"%s\" %llu\n"
			"peek: \"%s\" %llu\n", what, text, fa, (unsigned long long)fu,
			pa, (unsigned long long)pu);
		abort();
	}
}

/* What jansson's tree says peek must answer. 0, or -1 when jansson does
 * not parse the text as an object. */
static int by_jansson(const char *text, char *aff, size_t afflen, uint64_t *used)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	json_t *spec = json_object_get(j, "spec");
	json_t *al = json_object_get(spec, "allocations");
	const char *a = json_string_value(json_object_get(spec, "affinity"));

	if (!json_is_object(j)) {
		json_decref(j);
		return -1;
	}
	snprintf(aff, afflen, "%s", a ? a : "");
	*used = json_is_object(al) ? json_object_size(al) : 0;
	json_decref(j);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ja[4 * RES_NAME_MAX];
	uint64_t ju = 0;
	char pa[RES_NAME_MAX], pa2[RES_NAME_MAX];
	uint64_t pu = 0, pu2 = 0, fu;
	struct resource r;
	char *text, *canon;
	int prc;

	if (size > 65536 || !(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	prc = ipamblock_peek(text, pa, sizeof(pa), &pu);
	if (prc == 0 && by_jansson(text, ja, sizeof(ja), &ju) == 0)
		same("input (jansson)", text, ja, ju, pa, pu);
	if (res_from_text(RES_IPAMBLOCK, text, 1, &r, NULL) == 0) {
		fu = ipamblock_used(&r.u.block);
		if (prc == 0)
			same("input", text, r.u.block.affinity, fu, pa, pu);
		r.revision = 0;
		canon = res_to_text(&r);
		if (canon) {
			if (ipamblock_peek(canon, pa2, sizeof(pa2), &pu2) != 0) {
				fprintf(stderr, "peek refuses canonical text %s\n", canon);
				abort();
			}
			same("canonical", canon, r.u.block.affinity, fu, pa2, pu2);
			free(canon);
		}
		res_clear(&r);
	}
	free(text);
	return 0;
}
