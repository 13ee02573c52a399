/*
 * felix's hash tables: the hash is seeded per process, so that names that
 * share a bucket cannot be chosen from outside; a fixed seed (tests only)
 * makes it repeatable. And the table itself: add, find, delete, grow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "felix/htab.h"

/* The hash as it was before seeding: FNV-1a from its published offset
 * basis, then the same final mix. */
static uint32_t fnv_ref(const char *s, uint32_t basis)
{
	uint32_t h = basis;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

/* Runs first, with the process's own seed: no name hashes as it would
 * unseeded (a chance of 2^-32 each that one does by luck: three names). */
static void test_hash_seeded(void **state)
{
	const char *names[] = { "web-1", "ptl3f2a9c1d0e4b", "a" };
	int same = 0;

	for (size_t i = 0; i < 3; i++)
		same += hash_str(names[i]) == fnv_ref(names[i], 2166136261u);
	assert_int_equal(same, 0);
	/* stable within the process */
	assert_int_equal(hash_str("web-1"), hash_str("web-1"));
	assert_int_not_equal(hash_str("web-1"), hash_str("web-2"));
}

static void test_hash_fixed_seed(void **state)
{
	hash_seed_set(0);
	assert_int_equal(hash_str("web-1"), fnv_ref("web-1", 2166136261u));
	hash_seed_set(0x12345678u);
	assert_int_equal(hash_str("web-1"), fnv_ref("web-1", 2166136261u ^ 0x12345678u));
	assert_int_equal(hash_bytes("web-1", 5, 0), hash_str("web-1"));
}

struct item {
	struct hnode h;
	int key;
};

static void test_htab_basic(void **state)
{
	struct item it[100];
	struct htab t = { 0 };
	size_t found = 0;

	for (int i = 0; i < 100; i++) {
		it[i].key = i;
		assert_int_equal(htab_add(&t, &it[i].h, hash_u32((uint32_t)i, 0)), 0);
	}
	assert_int_equal(t.n, 100);
	for (int i = 0; i < 100; i++)
		for (struct hnode *n = htab_first(&t, hash_u32((uint32_t)i, 0)); n;
		     n = htab_next(n))
			found += container_of(n, struct item, h)->key == i;
	assert_int_equal(found, 100);
	htab_del(&t, &it[7].h);
	assert_int_equal(t.n, 99);
	for (struct hnode *n = htab_first(&t, hash_u32(7, 0)); n; n = htab_next(n))
		assert_int_not_equal(container_of(n, struct item, h)->key, 7);
	htab_clear(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_seeded),
		cmocka_unit_test(test_hash_fixed_seed),
		cmocka_unit_test(test_htab_basic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
