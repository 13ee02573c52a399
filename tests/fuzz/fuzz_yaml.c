/*
 * fuzz_yaml: libFuzzer harness for common/yamljson.c and the resource
 * decoders behind `petrelctl apply -f`. For any input: the load must not
 * crash; every document must survive res_from_json; a decoded resource must
 * re-encode to text that decodes to the same text; and every loaded tree
 * must dump to YAML that loads back equal (load(dump(x)) == x).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yamljson.h"
#include "model/resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_resource(const struct resource *r)
{
	struct resource back = { 0 };
	struct errs e = ERRS_INIT;
	char *t1 = res_to_text(r), *t2;

	if (!t1)
		abort();
	if (res_from_text(r->kind, t1, 1, &back, &e) != 0) {
		fprintf(stderr, "stored text does not decode: %s\n%s\n", t1,
			e.n ? e.msg[0] : "");
		abort();
	}
	t2 = res_to_text(&back);
	if (!t2 || strcmp(t1, t2)) {
		fprintf(stderr, "encode/decode not stable:\n%s\n%s\n", t1, t2 ? t2 : "");
		abort();
	}
	free(t1);
	free(t2);
	res_clear(&back);
	errs_clear(&e);
}

static void check_dump(const json_t *root)
{
	struct errs e = ERRS_INIT;
	struct ydoc *d = NULL;
	size_t n = 0;
	char *y = yaml_dump(root);

	if (!y)
		abort();
	if (yaml_load("dump", y, strlen(y), &d, &n, &e) != 0 || n != 1) {
		fprintf(stderr, "dump does not load back (%zu docs): %s\n---\n%s\n", n,
			e.n ? e.msg[0] : "", y);
		abort();
	}
	if (!json_equal(d[0].root, (json_t *)root)) {
		fprintf(stderr, "dump loads back different:\n%s\n", y);
		abort();
	}
	ydocs_free(d, n);
	errs_clear(&e);
	free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errs e = ERRS_INIT;
	struct ydoc *docs = NULL;
	size_t n = 0;

	if (size > 256 * 1024)
		return 0;
	if (yaml_load("fuzz.yaml", (const char *)data, size, &docs, &n, &e) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct resource r;

			if (res_from_json(docs[i].root, &docs[i], "fuzz.yaml", &r, &e) == 0) {
				check_resource(&r);
				res_clear(&r);
			}
			check_dump(docs[i].root);
		}
	} else if (n || docs || e.n == 0) {
		abort();	/* a failed load returns nothing and says why */
	}
	ydocs_free(docs, n);
	errs_clear(&e);
	return 0;
}
