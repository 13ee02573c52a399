/*
 * fuzz_blockpeek: libFuzzer harness for model/ipamblock.c's fast partial
 * decoder, ipamblock_peek, against the full decoder (res_from_text) it
 * stands in for in IPAM's allocator. For any input (the stored text of an
 * IPAMBlock): neither may crash; when both accept it, they must agree on
 * the affinity and on the number of addresses held; and the canonical
 * re-encoding of what the full decoder accepted must always be peeked, with
 * the same answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
