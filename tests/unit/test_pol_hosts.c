/*
 * test_pol_hosts: felix/pol_hosts.c, the hosts files from felix's endpoint
 * records, written into a temporary root.
 *
 *   - bytes: every file is what the former algorithm wrote (each member's
 *     file built from every record: ref_text below, kept as the reference),
 *     at start and after a change, for members in one, two or no named
 *     networks, on two nodes, with and without addresses;
 *   - work: a change to one member of a named network costs one member
 *     list per network the files need and one read of each member (O(N)),
 *     not every member's file from every record (O(N^2));
 *   - the pass is bounded (POL_HOSTS_PER_PASS files), the rest comes next.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hosts.h"
#include "felix/pol_int.h"

struct world {
	char root[64];
	struct fpol p;
};

static bool has_file_of(const struct pep *e)
{
	return e->local && e->netns[0];
}

static struct pep *find(struct fpol *p, const char *key)
{
	for (struct hnode *h = htab_first(&p->peps, hash_str(key)); h; h = htab_next(h))
		if (!strcmp(((struct pep *)h)->key, key))
			return (struct pep *)h;
	fail_msg("no record %s", key);
	return NULL;
}

static struct pep *ep_add(struct world *w, const char *node, const char *name,
			  bool local, uint32_t addr, const char *n1, const char *n2)
{
	struct pep *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	snprintf(e->key, sizeof(e->key), "%s/%s", node, name);
	e->name = strchr(e->key, '/') + 1;
	snprintf(e->node, sizeof(e->node), "%s", node);
	e->local = local;
	e->mode = WEP_ROUTED;
	if (local)
		snprintf(e->netns, sizeof(e->netns), "ns-%s", name);
	if (addr) {
		e->n_nets = 1;
		e->nets[0].addr = addr;
		e->nets[0].len = 32;
	}
	e->networks = calloc(2, RES_NAME_MAX);
	assert_non_null(e->networks);
	if (n1)
		snprintf(e->networks[e->n_networks++], RES_NAME_MAX, "%s", n1);
	if (n2)
		snprintf(e->networks[e->n_networks++], RES_NAME_MAX, "%s", n2);
	assert_int_equal(htab_add(&w->p.peps, &e->h, hash_str(e->key)), 0);
	w->p.n_peps++;
	/* as pol.c's wep_event: its own file, and its networks' members' */
	e->hosts_dirty = has_file_of(e);
	w->p.hosts_dirty |= e->hosts_dirty;
	pol_hosts_mark(&w->p, e);
	return e;
}

/* ------------------------------------------------------------ the reference */

static bool in_net(const struct pep *e, const char *net)
{
	for (size_t i = 0; i < e->n_networks; i++)
		if (!strcmp(e->networks[i], net))
			return true;
	return false;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct pep *x = *(const struct pep *const *)a;
	const struct pep *y = *(const struct pep *const *)b;
	int d = strcmp(x->name, y->name);

	return d ? d : strcmp(x->node, y->node);
}

/* The former algorithm: every record read for each file; peers: routed
 * with an address, sharing a network other than default, not self. */
static char *ref_text(const struct world *w, const struct pep *self)
{
	const struct pep **v = calloc(w->p.n_peps + 1, sizeof(*v));
	size_t n = 0, len = 0;
	char *buf = NULL, ab[IP4_STRLEN];
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(v);
	assert_non_null(f);
	for (size_t b = 0; b < w->p.peps.nb; b++)
		for (struct hnode *h = w->p.peps.b[b]; h; h = h->next) {
			const struct pep *o = (const struct pep *)h;
			bool share = false;

			if (o == self || !pep_has_addr(o))
				continue;
			for (size_t i = 0; i < self->n_networks && !share; i++)
				share = strcmp(self->networks[i], NETWORK_DEFAULT) &&
					in_net(o, self->networks[i]);
			if (share)
				v[n++] = o;
		}
	qsort(v, n, sizeof(*v), ref_cmp);
	fprintf(f, "127.0.0.1\tlocalhost\n");
	if (self->n_nets) {
		ip4_fmt(self->nets[0].addr, ab);
		fprintf(f, "%s\t%s\n", ab, self->name);
	}
	for (size_t i = 0; i < n; i++) {
		ip4_fmt(v[i]->nets[0].addr, ab);
		fprintf(f, "%s\t%s\n", ab, v[i]->name);
	}
	assert_int_equal(fclose(f), 0);
	free(v);
	return buf;
}

/* ------------------------------------------------------------ helpers */

static char *file_text(const struct world *w, const struct pep *e)
{
	char path[256], *buf = calloc(1, 1 << 20);
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/hosts", w->root, e->netns);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: not written", path);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Every local member's file is the reference's text. */
static void files_match(const struct world *w)
{
	for (size_t b = 0; b < w->p.peps.nb; b++)
		for (struct hnode *h = w->p.peps.b[b]; h; h = h->next) {
			const struct pep *e = (const struct pep *)h;
			char *want, *got;

			if (!has_file_of(e))
				continue;
			want = ref_text(w, e);
			got = file_text(w, e);
			if (strcmp(want, got))
				fail_msg("%s: got\n%s\nwanted\n%s", e->name, got, want);
			free(want);
			free(got);
		}
}

static size_t sync_all(struct world *w)
{
	size_t passes = 0;

	while (w->p.hosts_dirty) {
		pol_hosts_sync(&w->p);
		assert_true(++passes < 100);
	}
	return passes;
}

static void world_new(struct world *w)
{
	memset(w, 0, sizeof(*w));
	strcpy(w->root, "/tmp/test_pol_hosts.XXXXXX");
	assert_non_null(mkdtemp(w->root));
	w->p.hosts_root = w->root;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void free_ep(struct hnode *h, void *arg)
{
	struct pep *e = (struct pep *)h;

	(void)arg;
	free(e->networks);
	free(e);
}

static void world_free(struct world *w)
{
	htab_walk(&w->p.peps, free_ep, NULL);
	htab_clear(&w->p.peps);
	free(w->p.hosts_nets);
	nftw(w->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------ tests */

static void test_bytes(void **state)
{
	struct world w;
	struct pep *e;

	(void)state;
	world_new(&w);
	ep_add(&w, "n1", "web", true, 0x0a000002, "blue", "red");
	ep_add(&w, "n1", "zeta", true, 0x0a000009, "blue", NULL);
	ep_add(&w, "n2", "alpha", false, 0x0a000103, "red", NULL);
	ep_add(&w, "n1", "lone", true, 0x0a000004, NULL, NULL);
	ep_add(&w, "n1", "dflt", true, 0x0a000006, "default", "blue");
	ep_add(&w, "n1", "noaddr", true, 0, "blue", NULL);
	ep_add(&w, "n2", "web", false, 0x0a000105, "blue", NULL);	/* same name */
	e = ep_add(&w, "n1", "host1", true, 0x0a000007, "blue", NULL);
	e->mode = WEP_HOST;
	sync_all(&w);
	files_match(&w);
	{
		char *t = file_text(&w, find(&w.p, "n1/web"));

		assert_string_equal(t, "127.0.0.1\tlocalhost\n"
				       "10.0.0.2\tweb\n"
				       "10.0.1.3\talpha\n"
				       "10.0.0.6\tdflt\n"
				       "10.0.1.5\tweb\n"
				       "10.0.0.9\tzeta\n");
		free(t);
	}
	/* a member changes address: the files of its networks follow */
	e = find(&w.p, "n1/zeta");
	e->nets[0].addr = 0x0a000099;
	pol_hosts_mark(&w.p, e);
	e->hosts_dirty = w.p.hosts_dirty = true;
	sync_all(&w);
	files_match(&w);
	world_free(&w);
}

static void test_per_network(void **state)
{
	enum { LOCAL = 300, REMOTE = 100, RED = 40 };
	struct world w;
	char name[32];
	struct pep *e;
	size_t passes;

	(void)state;
	world_new(&w);
	for (int i = 0; i < LOCAL; i++) {
		snprintf(name, sizeof(name), "b%03d", i);
		/* the first RED locals are in red too */
		ep_add(&w, "n1", name, true, 0x0a000000u + (uint32_t)i + 1, "blue",
		       i < RED ? "red" : NULL);
	}
	for (int i = 0; i < REMOTE; i++) {
		snprintf(name, sizeof(name), "r%03d", i);
		ep_add(&w, "n2", name, false, 0x0a010000u + (uint32_t)i + 1, "blue", NULL);
	}
	passes = sync_all(&w);
	/* bounded: 300 files in two passes */
	assert_int_equal(passes, (LOCAL + POL_HOSTS_PER_PASS - 1) / POL_HOSTS_PER_PASS);
	assert_int_equal(w.p.hosts_stats.files, LOCAL);
	files_match(&w);

	/* one member of blue (remote) changes: every blue file is rewritten,
	 * from one list per network per pass */
	memset(&w.p.hosts_stats, 0, sizeof(w.p.hosts_stats));
	e = find(&w.p, "n2/r007");
	e->nets[0].addr = 0x0a0100ff;
	pol_hosts_mark(&w.p, e);
	passes = sync_all(&w);
	assert_int_equal(passes, 2);
	assert_int_equal(w.p.hosts_stats.files, LOCAL);
	/* per pass: blue's list (400 members), and red's (40) where a file
	 * of a red member is written: at most 2 lists, 440 entries a pass */
	assert_true(w.p.hosts_stats.lists <= 2 * passes);
	assert_true(w.p.hosts_stats.listed <= passes * (LOCAL + REMOTE + RED));
	/* the former algorithm read every record for every file */
	assert_true(w.p.hosts_stats.listed * 50 < (uint64_t)LOCAL * (LOCAL + REMOTE));
	files_match(&w);

	/* a member of no named network changes: no file but its own */
	memset(&w.p.hosts_stats, 0, sizeof(w.p.hosts_stats));
	e = ep_add(&w, "n1", "solo", true, 0x0a0200ff, NULL, NULL);
	sync_all(&w);
	assert_int_equal(w.p.hosts_stats.files, 1);
	assert_int_equal(w.p.hosts_stats.lists, 0);
	files_match(&w);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_per_network),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
