/*
 * test_blockpeek: model/ipamblock.c's fast partial decoder, ipamblock_peek,
 * against the full decoder (res_from_text) it stands in for. For every
 * text: when both accept it, they agree on the affinity and on the number
 * of addresses held; on the encoder's own output the peek never gives up.
 * Random blocks (a fixed seed) through the encoder, then hand-written
 * non-canonical texts (reordered, spaced, escaped) that a store written by
 * someone else could hold.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/resource.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* The full decoder's answer: 0 and aff/used, or -EINVAL. */
static int full(const char *text, char *aff, size_t afflen, uint64_t *used)
{
	struct resource r;
	int rc = res_from_text(RES_IPAMBLOCK, text, 1, &r, NULL);

	if (rc < 0)
		return rc;
	snprintf(aff, afflen, "%s", r.u.block.affinity);
	*used = ipamblock_used(&r.u.block);
	res_clear(&r);
	return 0;
}

/* Both decoders on text; returns the peek's result (0 or -1), failing the
 * test when both accept and disagree. */
static int agree(const char *text)
{
	char fa[RES_NAME_MAX] = "", pa[RES_NAME_MAX] = "";
	uint64_t fu = 0, pu = 0;
	int frc = full(text, fa, sizeof(fa), &fu);
	int prc = ipamblock_peek(text, pa, sizeof(pa), &pu);

	if (frc == 0 && prc == 0 && (strcmp(fa, pa) || fu != pu)) {
		print_error("decoders disagree on %s\nfull: \"%s\" %llu\npeek: \"%s\" %llu\n",
			    text, fa, (unsigned long long)fu, pa, (unsigned long long)pu);
		fail();
	}
	return prc;
}

static char *encode(const struct ipamblock *b)
{
	struct resource r = { .kind = RES_IPAMBLOCK, .revision = 0 };
	char *t;

	r.u.block = *b;
	t = res_to_text(&r);
	assert_non_null(t);
	return t;
}

static void test_random_blocks(void **state)
{
	static const char *const nodes[] = {
		"", "node-a", "n", "a.b-c", "node-1234567890",
		"x23456789012345678901234567890123456789012345678901234567890123",
	};

	(void)state;
	for (int iter = 0; iter < 400; iter++) {
		struct ip4_net cidr = { (10u << 24) | (rnd() & 0xffffffu), 0 };
		struct ipamblock b;
		size_t size, want = 0;
		char aff[RES_NAME_MAX];
		uint64_t used;
		char *t;

		cidr.len = (uint8_t)(iter % 7 == 0 ? 20 + rnd() % 13 : 26 + rnd() % 7);
		assert_int_equal(ipamblock_init(&b, &cidr), 0);
		snprintf(b.affinity, sizeof(b.affinity), "%s", nodes[rnd() % N(nodes)]);
		snprintf(b.pool, sizeof(b.pool), "%s", rnd() % 2 ? "pool-1" : "");
		size = (size_t)ip4_net_size(&b.cidr);
		for (size_t i = 0; i < size; i++) {
			/* empty, full, and everything between */
			unsigned p = iter % 5 == 0 ? 0 : iter % 5 == 1 ? 100 : rnd() % 100;

			if (rnd() % 100 < p) {
				char h[48];

				snprintf(h, sizeof(h), "c%u.eth0", (unsigned)(rnd() % 1000));
				assert_non_null(b.handles[i] = strdup(h));
				want++;
			}
		}
		t = encode(&b);
		assert_int_equal(agree(t), 0);
		assert_int_equal(ipamblock_peek(t, aff, sizeof(aff), &used), 0);
		assert_string_equal(aff, b.affinity);
		assert_int_equal(used, want);
		/* too small a buffer for the affinity: gives up, never truncates */
		if (strlen(b.affinity) > 3)
			assert_int_equal(ipamblock_peek(t, aff, 4, &used), -1);
		free(t);
		ipamblock_clear(&b);
	}
}

#define HEAD "\"apiVersion\":\"petrel/v1\",\"kind\":\"IPAMBlock\"," \
	     "\"metadata\":{\"name\":\"10.0.0.0-30\"}"

static void test_handwritten(void **state)
{
	/* peek: what ipamblock_peek must answer (0, or -1: give up) */
	static const struct { const char *text; int peek; } cases[] = {
		/* canonical */
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\",\"affinity\":\"n1\","
		  "\"allocations\":{\"0\":\"h\",\"3\":\"g\"}}}", 0 },
		/* no affinity, no allocations member */
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\"}}", 0 },
		/* reordered and spaced */
		{ " { \"spec\" : { \"allocations\" : { \"1\" : \"h\" } , \"affinity\" : \"n1\" ,"
		  " \"cidr\" : \"10.0.0.0/30\" } , " HEAD " } ", 0 },
		/* an escaped value elsewhere does not matter */
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\",\"pool\":\"p\\u0031\","
		  "\"allocations\":{\"2\":\"a\\\"b\"}}}", 0 },
		/* an escaped ordinal is still one address */
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\",\"allocations\":{\"\\u0031\":\"h\"}}}", 0 },
		/* "sp\u0065c" is spec to jansson: the peek must give up, not
		 * answer "no affinity, nothing used" */
		{ "{" HEAD ",\"sp\\u0065c\":{\"cidr\":\"10.0.0.0/30\",\"affinity\":\"n1\","
		  "\"allocations\":{\"0\":\"h\"}}}", -1 },
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\",\"\\u0061ffinity\":\"n1\"}}", -1 },
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\",\"allocation\\u0073\":{\"0\":\"h\"}}}", -1 },
		/* an escaped affinity */
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\",\"affinity\":\"n\\u0031\"}}", -1 },
		/* not JSON, or cut short */
		{ "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\"", -1 },
		{ "{\"spec\":{\"affinity\":\"n1", -1 },
		{ "}", -1 },
		{ "{\"a\":\"\\", -1 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int rc = agree(cases[i].text);

		if (rc != cases[i].peek) {
			print_error("case %zu: peek %d, expected %d: %s\n", i, rc,
				    cases[i].peek, cases[i].text);
			fail();
		}
	}
}

/* Every prefix of a canonical text: the peek gives up or agrees. */
static void test_truncations(void **state)
{
	static const char text[] = "{" HEAD ",\"spec\":{\"cidr\":\"10.0.0.0/30\","
		"\"affinity\":\"n1\",\"allocations\":{\"0\":\"h\",\"1\":\"i\"}}}";
	char buf[sizeof(text)];

	(void)state;
	for (size_t n = 0; n < sizeof(text) - 1; n++) {
		memcpy(buf, text, n);
		buf[n] = '\0';
		assert_int_equal(agree(buf), -1);
	}
	assert_int_equal(agree(text), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_blocks),
		cmocka_unit_test(test_handwritten),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
