/*
 * htab: felix's intrusive hash tables and lists.
 *
 * The tables index objects that embed a struct hnode; the caller computes the
 * hash and compares keys itself (walk the bucket with htab_first/htab_next),
 * so one small implementation serves every key type without callbacks. A
 * table never owns its objects: removing an object from every table it is in
 * is its owner's job, before freeing it. The bucket array grows by doubling
 * (load factor 1) and never shrinks.
 *
 * dlist: a circular doubly-linked list, for queues whose members must be able
 * to leave from the middle (an object freed while queued).
 */
#ifndef PETREL_FELIX_HTAB_H
#define PETREL_FELIX_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint32_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb;		/* power of two, or 0 before the first add */
	size_t n;
};

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* -ENOMEM when the table had to grow and could not (the node is not added). */
int htab_add(struct htab *t, struct hnode *node, uint32_t hash);
/* The node must be in t. */
void htab_del(struct htab *t, struct hnode *node);
/* First node of hash's bucket with that hash, then the next ones. */
struct hnode *htab_first(const struct htab *t, uint32_t hash);
struct hnode *htab_next(const struct hnode *node);
/* Visits every node; fn may delete the node it is given (and no other). */
void htab_walk(struct htab *t, void (*fn)(struct hnode *, void *), void *arg);
void htab_clear(struct htab *t);	/* frees the buckets, not the nodes */

/* Seeded per process (see htab.c): a name's hash differs from one felix
 * to the next, and no table's order may be relied on. */
uint32_t hash_bytes(const void *p, size_t len, uint32_t seed);
uint32_t hash_str(const char *s);
uint32_t hash_u32(uint32_t a, uint32_t b);
/* Tests only, before the first hash: a fixed seed, for repeatable runs. */
void hash_seed_set(uint32_t seed);

struct dlist {
	struct dlist *prev, *next;
};

static inline void dlist_init(struct dlist *h)
{
	h->prev = h->next = h;
}

static inline int dlist_empty(const struct dlist *h)
{
	return h->next == h;
}

/* A node that is in no list points to itself (after dlist_init/dlist_del). */
static inline int dlist_linked(const struct dlist *n)
{
	return n->next && n->next != n;
}

static inline void dlist_add_tail(struct dlist *h, struct dlist *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void dlist_del(struct dlist *n)
{
	if (!dlist_linked(n))
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

#endif
