/*
 * fuzz_selector: libFuzzer harness for model/selector.c. For any input:
 * parsing must not crash; a refusal returns nothing and says where and why
 * (a position inside the text, a message); an accepted selector's canonical
 * text must parse back to the same canonical text and select exactly the
 * same labels (from a fixed set of label sets), and "!(" canon ")", when it
 * parses, must select exactly the others.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSETS 4

static struct labels sets[NSETS];	/* sets[0] stays empty */

static void sets_init(void)
{
	static const char *const kv[] = {
		"a", "b", "c", "d", "x", "x-y", "e", "", "example.com/z", "eu-1",
		"role", "db", "in", "all", "has", "not",
	};
	static bool done;

	if (done)
		return;
	done = true;
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i += 2) {
		/* set 1 everything, set 2 every other pair, set 3 other values */
		if (labels_set(&sets[1], kv[i], kv[i + 1]) < 0 ||
		    ((i / 2) % 2 == 0 && labels_set(&sets[2], kv[i], kv[i + 1]) < 0) ||
		    labels_set(&sets[3], kv[i], i % 4 ? "b" : "x-y-z") < 0)
			abort();
	}
}

static void check_accepted(const struct selector *s)
{
	struct selector *s2 = NULL, *neg = NULL;
	struct selector_err err;
	char *c1 = selector_canon(s), *c2 = NULL, *nt = NULL;

	if (!c1 || strlen(c1) > SELECTOR_MAX)
		abort();
	if (selector_parse(c1, &s2, &err) != 0) {
		fprintf(stderr, "canonical text does not parse: %s\n%d: %s\n", c1,
			err.pos, err.msg);
		abort();
	}
	c2 = selector_canon(s2);
	if (!c2 || strcmp(c1, c2)) {
		fprintf(stderr, "canonical text not stable:\n%s\n%s\n", c1, c2 ? c2 : "");
		abort();
	}
	if (asprintf(&nt, "!(%s)", c1) < 0)
		abort();
	if (selector_parse(nt, &neg, NULL) != 0)
		neg = NULL;	/* one level too deep or too long: fine */
	for (int i = 0; i < NSETS; i++) {
		bool m = selector_match(s, &sets[i]);

		if (selector_match(s2, &sets[i]) != m ||
		    selector_match_text(c1, &sets[i]) != m ||
		    (neg && selector_match(neg, &sets[i]) == m)) {
			fprintf(stderr, "selections differ on label set %d: %s\n", i, c1);
			abort();
		}
	}
	if (selector_match(s, NULL) != selector_match(s, &sets[0]))
		abort();
	free(nt);
	free(c1);
	free(c2);
	selector_free(neg);
	selector_free(s2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector *s = (struct selector *)&s;	/* must be reset */
	struct selector_err err;
	char *text;
	int rc;

	if (size > SELECTOR_MAX + 64)
		return 0;
	sets_init();
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = selector_parse(text, &s, &err);
	if (rc == 0) {
		if (!s)
			abort();
		check_accepted(s);
		selector_free(s);
	} else if (rc != -EINVAL || s || err.pos < 0 ||
		   (size_t)err.pos > strlen(text) || !err.msg[0]) {
		fprintf(stderr, "bad refusal: rc %d pos %d msg '%s'\n", rc, err.pos, err.msg);
		abort();
	}
	free(text);
	return 0;
}
