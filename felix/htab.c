/* htab: see htab.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "felix/htab.h"

static size_t htab_slot(const struct htab *t, uint32_t hash)
{
	return hash & (t->nb - 1);
}

static int htab_grow(struct htab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 64;
	struct hnode **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
	return 0;
}

int htab_add(struct htab *t, struct hnode *node, uint32_t hash)
{
	size_t i;

	if (t->n >= t->nb) {
		int r = htab_grow(t);

		/* A full table still works, only slower: grow failing on
		 * a non-empty table is not fatal. */
		if (r < 0 && !t->nb)
			return r;
	}
	node->hash = hash;
	i = htab_slot(t, hash);
	node->next = t->b[i];
	t->b[i] = node;
	t->n++;
	return 0;
}

void htab_del(struct htab *t, struct hnode *node)
{
	struct hnode **pp;

	if (!t->nb)
		return;
	for (pp = &t->b[htab_slot(t, node->hash)]; *pp; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			t->n--;
			return;
		}
	}
}

struct hnode *htab_first(const struct htab *t, uint32_t hash)
{
	struct hnode *n;

	if (!t->nb)
		return NULL;
	for (n = t->b[htab_slot(t, hash)]; n && n->hash != hash; n = n->next)
		;
	return n;
}

struct hnode *htab_next(const struct hnode *node)
{
	struct hnode *n;

	for (n = node->next; n && n->hash != node->hash; n = n->next)
		;
	return n;
}

void htab_walk(struct htab *t, void (*fn)(struct hnode *, void *), void *arg)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			fn(n, arg);
		}
	}
}

void htab_clear(struct htab *t)
{
	free(t->b);
	memset(t, 0, sizeof(*t));
}

/* The process's secret: FNV-1a's starting state is xored with it, so that
 * which names share a bucket cannot be known from outside (names are
 * chosen by whoever creates workloads). Drawn once, at the first hash;
 * every hash of the process's life uses the same one (the tables keep the
 * hashes). */
static uint32_t hash_seed;
static bool hash_seeded;

static void hash_seed_init(void)
{
	uint32_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		struct timespec ts;

		/* no entropy yet (early boot): something a remote party does
		 * not see, rather than nothing */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 16) ^
		    ((uint32_t)getpid() * 2654435761u);
	}
	hash_seed = s;
	hash_seeded = true;
}

void hash_seed_set(uint32_t seed)
{
	hash_seed = seed;
	hash_seeded = true;
}

/* FNV-1a from the seeded state, then a final mix so that the low bits (the
 * bucket) depend on all of the input. */
uint32_t hash_bytes(const void *p, size_t len, uint32_t seed)
{
	const unsigned char *s = p;
	uint32_t h;

	if (!hash_seeded)
		hash_seed_init();
	h = 2166136261u ^ seed ^ hash_seed;
	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x7feb352du;
	h ^= h >> 15;
	return h;
}

uint32_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 0);
}

uint32_t hash_u32(uint32_t a, uint32_t b)
{
	uint32_t v[2] = { a, b };

	return hash_bytes(v, sizeof(v), 0x9e3779b9u);
}
