/*
 * test_pol_part: felix's policy part (felix/pol*.c) driven incrementally,
 * store event by store event, against a fake nf_tables (the nftk_* below,
 * which applies each batch's pieces to its own copy of the table):
 *
 *   - incremental == whole: after each step the table felix wants renders
 *     byte for byte as compile_table's of the same inputs, and the fake
 *     kernel holds exactly that table (every piece that changed was sent);
 *     across adds in two orders (policies first / workloads first), deletes
 *     of every other workload and of every policy, re-adds, policy edits
 *     (order, types, selector) and pool changes, for every scenario of
 *     tests/unit/pol_scenarios.h;
 *   - every batch names each piece once (the dirty list is de-duplicated),
 *     and a whole-table replace happens only at the start;
 *   - policies fail closed (felix/pol_fail.c): a version that does not
 *     decode leaves the last good one in force, or, without one, puts the
 *     closed policy (netpolicy_closed_from_text) in its place, the table
 *     then being compile_table's with that closed policy; the failure is in
 *     status and the log once, and goes with a good version or a delete.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>

#include "felix/felix.h"
#include "felix/nft.h"
#include "felix/pol_int.h"
#include "pol_scenarios.h"

/* ------------------------------------------------------------ fake kernel */

struct kpiece {
	uint8_t kind;
	char name[NIR_NAME_MAX];
	char *text;
};

struct nftk {
	int fd;
	struct kpiece *v;
	size_t n;
	size_t replaces, updates, pieces_sent;
};

static struct nftk *the_k;

static char *piece_text(const struct nir_table *t, uint8_t kind, const char *name)
{
	const struct nir_chain *c = kind == NFTK_CHAIN ? nir_chain_find(t, name) : NULL;
	const struct nir_set *s = kind == NFTK_SET ? nir_set_find(t, name) : NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!c && !s)
		return NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	if (c)
		nir_render_chain(c, f);
	else
		nir_render_set(s, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void k_put(struct nftk *k, uint8_t kind, const char *name, char *text)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->v[i].kind == kind && !strcmp(k->v[i].name, name)) {
			free(k->v[i].text);
			k->v[i] = k->v[--k->n];
			break;
		}
	if (!text)
		return;
	k->v = realloc(k->v, (k->n + 1) * sizeof(*k->v));
	assert_non_null(k->v);
	k->v[k->n].kind = kind;
	snprintf(k->v[k->n].name, NIR_NAME_MAX, "%s", name);
	k->v[k->n].text = text;
	k->n++;
}

static void k_clear(struct nftk *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].text);
	k->n = 0;
}

static int kp_cmp(const void *a, const void *b)
{
	const struct kpiece *x = a, *y = b;

	return x->kind != y->kind ? x->kind - y->kind : strcmp(x->name, y->name);
}

/* The pieces' text, in (kind, name) order. */
static char *k_text(struct nftk *k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (k->n > 1)
		qsort(k->v, k->n, sizeof(*k->v), kp_cmp);
	for (size_t i = 0; i < k->n; i++)
		fputs(k->v[i].text, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* A table's text the way the fake kernel keeps it. */
static char *table_pieces_text(const struct nir_table *t)
{
	struct nftk tmp = { 0 };
	char *s;

	for (size_t i = 0; i < t->n_chains; i++)
		k_put(&tmp, NFTK_CHAIN, t->chains[i]->name,
		      piece_text(t, NFTK_CHAIN, t->chains[i]->name));
	for (size_t i = 0; i < t->n_sets; i++)
		k_put(&tmp, NFTK_SET, t->sets[i]->name,
		      piece_text(t, NFTK_SET, t->sets[i]->name));
	s = k_text(&tmp);
	k_clear(&tmp);
	free(tmp.v);
	return s;
}

int nftk_open(struct nftk **out)
{
	struct nftk *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->fd < 0) {
		free(k);
		return -errno;
	}
	the_k = k;
	*out = k;
	return 0;
}

void nftk_close(struct nftk *k)
{
	if (!k)
		return;
	k_clear(k);
	free(k->v);
	close(k->fd);
	free(k);
	the_k = NULL;
}

int nftk_mon_fd(const struct nftk *k)
{
	return k->fd;
}

int nftk_mon_read(struct nftk *k)
{
	(void)k;
	return 0;
}

int nftk_verify(struct nftk *k, const struct nir_table *t, char *why, size_t len)
{
	char *a = k_text(k), *b = table_pieces_text(t);
	int same = !strcmp(a, b);

	snprintf(why, len, "%s", same ? "" : "differs");
	free(a);
	free(b);
	return same;
}

int nftk_replace(struct nftk *k, const struct nir_table *t, char *err, size_t len)
{
	(void)err;
	(void)len;
	k_clear(k);
	for (size_t i = 0; i < t->n_chains; i++)
		k_put(k, NFTK_CHAIN, t->chains[i]->name,
		      piece_text(t, NFTK_CHAIN, t->chains[i]->name));
	for (size_t i = 0; i < t->n_sets; i++)
		k_put(k, NFTK_SET, t->sets[i]->name,
		      piece_text(t, NFTK_SET, t->sets[i]->name));
	k->replaces++;
	return 0;
}

int nftk_update(struct nftk *k, const struct nir_table *old,
		const struct nir_table *new, const struct nftk_piece *const *pieces,
		size_t n, char *err, size_t len)
{
	(void)old;
	(void)err;
	(void)len;
	for (size_t i = 0; i < n; i++) {
		/* each piece once in a batch */
		for (size_t j = 0; j < i; j++)
			if (pieces[j]->kind == pieces[i]->kind &&
			    !strcmp(pieces[j]->name, pieces[i]->name))
				fail_msg("piece %s queued twice", pieces[i]->name);
		k_put(k, pieces[i]->kind, pieces[i]->name,
		      piece_text(new, pieces[i]->kind, pieces[i]->name));
	}
	k->updates++;
	k->pieces_sent += n;
	return 0;
}

void nftk_last_batch(const struct nftk *k, size_t *msgs, size_t *bytes)
{
	(void)k;
	if (msgs)
		*msgs = 0;
	if (bytes)
		*bytes = 0;
}

int64_t nftk_last_kernel_us(const struct nftk *k)
{
	(void)k;
	return 0;
}

/* ------------------------------------------------------------ felix */

/* main.c's clock (not linked) */
uint64_t felix_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct rig {
	struct petrel_config cfg;
	struct felix f;
	int64_t rev;
};

static void rig_open(struct rig *g, const struct compile_config *cc)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->cfg.node, sizeof(g->cfg.node), "node1");
	if (cc->ep_to_host == COMPILE_HOST_DROP)
		g->cfg.ep_to_host = CONFIG_EP_TO_HOST_DROP;
	for (size_t i = 0; i < cc->n_failsafe_in; i++)
		g->cfg.failsafe_in[g->cfg.n_failsafe_in++] = (struct config_host_allow){
			cc->failsafe_in[i].proto, cc->failsafe_in[i].port };
	for (size_t i = 0; i < cc->n_failsafe_out; i++)
		g->cfg.failsafe_out[g->cfg.n_failsafe_out++] = (struct config_host_allow){
			cc->failsafe_out[i].proto, cc->failsafe_out[i].port };
	g->f.cfg = &g->cfg;
	g->f.epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(g->f.epfd >= 0);
	assert_int_equal(pol_open(&g->f), 0);
	g->rev = 100;
}

static void rig_close(struct rig *g)
{
	pol_close(&g->f);
	close(g->f.epfd);
}

/* One store event: r's document put (or deleted when del). */
static void event(struct rig *g, struct resource *r, bool del)
{
	struct fpol *p = g->f.pol;
	int k = r->kind == RES_WEP ? PK_WEP : r->kind == RES_NETPOLICY ? PK_POLICY :
		r->kind == RES_NETWORK ? PK_NETWORK : r->kind == RES_HOSTEP ? PK_HEP :
		PK_POOL;
	char key[RES_KEY_MAX + 2 * RES_NAME_MAX], name[2 * RES_NAME_MAX];
	struct ds_event ev = { .type = del ? DS_EV_DELETE : DS_EV_PUT, .key = key,
			       .rev = ++g->rev };

	res_name(r, name, sizeof(name));
	snprintf(key, sizeof(key), "%s%s", p->prefix[k], name);
	if (!del) {
		ev.value = res_to_text(r);
		assert_non_null(ev.value);
	}
	pol_store_event(&g->f, &ev);
	free(ev.value);
}

static void put_wep(struct rig *g, const struct wep *w, bool del)
{
	struct resource r = { .kind = RES_WEP };

	r.u.wep = *w;		/* borrowed: never cleared */
	event(g, &r, del);
}

static void put_policy(struct rig *g, const struct netpolicy *np, bool del)
{
	struct resource r = { .kind = RES_NETPOLICY };

	r.u.netpolicy = *np;
	event(g, &r, del);
}

static void put_hep(struct rig *g, const struct hostep *h, bool del)
{
	struct resource r = { .kind = RES_HOSTEP };

	r.u.hostep = *h;
	event(g, &r, del);
}

static void put_pool(struct rig *g, const struct ippool *pl, bool del)
{
	struct resource r = { .kind = RES_IPPOOL };

	r.u.pool = *pl;
	event(g, &r, del);
}

/* Both texts to stderr, line by line where they differ. */
static void show_diff(const char *got, const char *want)
{
	int line = 1;

	while (*got || *want) {
		const char *g = strchrnul(got, '\n'), *w = strchrnul(want, '\n');

		if (g - got != w - want || memcmp(got, want, (size_t)(g - got)))
			fprintf(stderr, "line %d:\n  got:  %.*s\n  want: %.*s\n", line,
				(int)(g - got), got, (int)(w - want), want);
		got = *g ? g + 1 : g;
		want = *w ? w + 1 : w;
		line++;
	}
}

static char *render(const struct nir_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	nir_render_table(t, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* What is in: a subset of the world's resources. */
struct sel {
	bool ep[SC_MAX], pol[SC_MAX], pool[SC_MAX];
};

/* felix's table (wanted, and in the fake kernel) is compile_table's of
 * the resources in s. */
static void same(struct rig *g, struct sc_world *w, const struct sel *s,
		 const char *what)
{
	const struct compile_ep *eps[SC_MAX];
	const struct netpolicy *pols[SC_MAX];
	const struct ippool *pools[SC_MAX];
	struct compile_input in = w->in;
	struct errs e = ERRS_INIT;
	struct nir_table *whole;
	struct fpol *p = g->f.pol;
	char *x, *y;

	in.n_eps = in.n_policies = in.n_pools = 0;
	for (size_t i = 0; i < w->n_eps; i++)
		if (s->ep[i])
			eps[in.n_eps++] = &w->epv[i];
	for (size_t i = 0; i < w->n_pols; i++)
		if (s->pol[i])
			pols[in.n_policies++] = &w->pols[i];
	for (size_t i = 0; i < w->n_pools; i++)
		if (s->pool[i])
			pools[in.n_pools++] = &w->pools[i];
	in.eps = eps;
	in.policies = pols;
	in.pools = pools;
	whole = compile_table(&in, &e);
	assert_non_null(whole);

	pol_sync(&g->f);
	assert_true(pol_ready(&g->f));
	x = render(whole);
	y = render(p->want);
	if (strcmp(x, y)) {
		show_diff(y, x);
		fail_msg("%s: felix's table differs from compile_table's", what);
	}
	free(x);
	free(y);
	x = table_pieces_text(whole);
	y = k_text(the_k);
	if (strcmp(x, y)) {
		show_diff(y, x);
		fail_msg("%s: the kernel's table differs from the wanted one", what);
	}
	free(x);
	free(y);
	nir_table_free(whole);
}

static void drive(const struct sc_scenario *sc, bool eps_first)
{
	struct sc_world *w = calloc(1, sizeof(*w));
	struct rig g;
	struct sel s;
	char what[96];

	assert_non_null(w);
	sc->build(w);
	sc_input(w);
	rig_open(&g, &w->in.cfg);
	memset(&s, 0, sizeof(s));
	snprintf(what, sizeof(what), "%s (%s first)", sc->name,
		 eps_first ? "workloads" : "policies");

	/* all in, one event at a time */
	for (size_t i = 0; i < w->n_pools; i++) {
		put_pool(&g, &w->pools[i], false);
		s.pool[i] = true;
	}
	/* host endpoints: in throughout (the whole's input has them all) */
	for (size_t i = 0; i < w->n_heps; i++)
		put_hep(&g, &w->heps[i], false);
	for (int pass = 0; pass < 2; pass++) {
		if ((pass == 0) == eps_first)
			for (size_t i = 0; i < w->n_eps; i++) {
				put_wep(&g, &w->eps[i], false);
				s.ep[i] = true;
			}
		else
			for (size_t i = 0; i < w->n_pols; i++) {
				put_policy(&g, &w->pols[i], false);
				s.pol[i] = true;
			}
	}
	same(&g, w, &s, what);
	assert_int_equal(the_k->replaces, 1);	/* the start only */

	/* every other workload out, then every policy */
	for (size_t i = 0; i < w->n_eps; i += 2) {
		put_wep(&g, &w->eps[i], true);
		s.ep[i] = false;
	}
	same(&g, w, &s, what);
	for (size_t i = 0; i < w->n_pols; i++) {
		put_policy(&g, &w->pols[i], true);
		s.pol[i] = false;
	}
	same(&g, w, &s, what);

	/* back, in the other order; a workload put again unchanged */
	for (size_t i = w->n_pols; i-- > 0;) {
		put_policy(&g, &w->pols[i], false);
		s.pol[i] = true;
	}
	for (size_t i = w->n_eps; i-- > 0;) {
		put_wep(&g, &w->eps[i], false);
		s.ep[i] = true;
	}
	if (w->n_eps)
		put_wep(&g, &w->eps[0], false);
	same(&g, w, &s, what);

	/* policy edits: order, types, selector */
	for (size_t i = 0; i < w->n_pols; i++) {
		struct netpolicy *np = &w->pols[i];

		np->has_order = true;
		np->order = 100.0 - (double)i;
		put_policy(&g, np, false);
		same(&g, w, &s, what);
		/* types: the direction without rules off (valid as stored) */
		if (np->ingress && np->egress && (!np->n_egress || !np->n_ingress)) {
			if (!np->n_egress)
				np->egress = false;
			else
				np->ingress = false;
			put_policy(&g, np, false);
			same(&g, w, &s, what);
		}
		free(np->selector);
		np->selector = strdup("all()");
		put_policy(&g, np, false);
		same(&g, w, &s, what);
	}
	/* a pool goes, comes back */
	if (w->n_pools) {
		put_pool(&g, &w->pools[0], true);
		s.pool[0] = false;
		same(&g, w, &s, what);
		put_pool(&g, &w->pools[0], false);
		s.pool[0] = true;
		same(&g, w, &s, what);
	}
	assert_int_equal(the_k->replaces, 1);
	assert_true(the_k->updates > 0);
	rig_close(&g);
	sc_world_free(w);
	free(w);
}

static void test_incremental_is_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < SC_N; i++) {
		drive(&sc_scenarios[i], false);
		drive(&sc_scenarios[i], true);
	}
}

/* A piece changed many times before a sync is sent once (the fake kernel
 * fails the test on a repeat); 50 workloads: one batch. */
static void test_dirty_once(void **state)
{
	struct sc_world *w = calloc(1, sizeof(*w));
	struct rig g;
	size_t updates;

	(void)state;
	assert_non_null(w);
	sc_none(w);
	sc_input(w);
	rig_open(&g, &w->in.cfg);
	put_pool(&g, &w->pools[0], false);
	pol_sync(&g.f);
	updates = the_k->updates;
	for (int i = 0; i < 50; i++) {
		struct wep x = w->eps[0];

		snprintf(x.name, sizeof(x.name), "x%d", i);
		snprintf(x.ifname, sizeof(x.ifname), "ptlx%d", i);
		x.nets[0].addr += (uint32_t)(100 + i);
		put_wep(&g, &x, false);
	}
	assert_true(g.f.pol->n_dirty < 20);	/* the same maps, once each */
	pol_sync(&g.f);
	assert_int_equal(the_k->updates, updates + 1);
	assert_true(pol_ready(&g.f));
	rig_close(&g);
	sc_world_free(w);
	free(w);
}


/* ------------------------------------------------------------ fail closed */

/* A policy document as stored, raw (it need not decode). */
static void put_text(struct rig *g, const char *name, const char *text)
{
	char key[RES_KEY_MAX + RES_NAME_MAX];
	struct ds_event ev = { .type = text ? DS_EV_PUT : DS_EV_DELETE, .key = key,
			       .rev = ++g->rev, .value = (char *)text };

	snprintf(key, sizeof(key), "%s%s", g->f.pol->prefix[PK_POLICY], name);
	pol_store_event(&g->f, &ev);
}

/* stderr into a file while counting what felix logs */
static int log_fd = -1, saved_err = -1;

static void log_capture(void)
{
	char path[] = "/tmp/pt-polfail-log.XXXXXX";

	fflush(stderr);
	log_fd = mkstemp(path);
	assert_true(log_fd >= 0);
	unlink(path);
	saved_err = dup(2);
	assert_true(saved_err >= 0);
	assert_int_equal(dup2(log_fd, 2), 2);
}

/* Lines logged since log_capture that contain needle. */
static int log_count(const char *needle)
{
	char buf[16384];
	ssize_t n;
	int count = 0;

	fflush(stderr);
	n = pread(log_fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	for (char *q = buf; (q = strstr(q, needle)); q += strlen(needle))
		count++;
	return count;
}

static void log_release(void)
{
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	close(log_fd);
	log_fd = saved_err = -1;
}

/* nft.policyFailures as status shows it: the count, and the first one's
 * name, revision and inForce. */
static size_t fails_are(struct rig *g, const char *name, int64_t rev,
			const char *in_force)
{
	json_t *st = pol_status_json(&g->f), *a = json_object_get(st, "policyFailures");
	json_t *x = json_array_get(a, 0);
	size_t n;

	assert_true(json_is_array(a));
	n = json_array_size(a);
	if (name) {
		assert_string_equal(json_string_value(json_object_get(x, "name")), name);
		assert_int_equal(json_integer_value(json_object_get(x, "revision")), rev);
		assert_string_equal(json_string_value(json_object_get(x, "inForce")),
				    in_force);
		assert_true(strlen(json_string_value(json_object_get(x, "reason"))) > 0);
	}
	json_decref(st);
	return n;
}

static const char bad_web[] =
	"{\"apiVersion\":\"petrel/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"allow-web\"},\"spec\":{\"selector\":\"app == 'web'\","
	"\"types\":[\"Ingress\"],\"ingress\":[{\"action\":\"Allow\"}],"
	"\"futureField\":{\"x\":1}}}";
static const char bad_sel[] =
	"{\"apiVersion\":\"petrel/v1\",\"kind\":\"NetworkPolicy\","
	"\"metadata\":{\"name\":\"allow-web\"},\"spec\":{\"selector\":\"app == \","
	"\"ingress\":[{\"action\":\"Allow\"}]}}";

/* sc_ingress_allow's world: allow-web (pols[0]) good, bad, good, bad
 * again, deleted; then a selector that does not parse. */
static void test_fail_closed(void **state)
{
	struct sc_world *w = calloc(1, sizeof(*w));
	struct fpol *p;
	struct rig g;
	struct sel s;
	int64_t bad_rev;
	unsigned flags = 0;

	(void)state;
	assert_non_null(w);
	sc_ingress_allow(w);
	/* pols[1]: the closed stand-in for bad_web, pols[2]: for bad_sel */
	assert_int_equal(netpolicy_closed_from_text(bad_web, "allow-web",
						    &w->pols[1], &flags), 0);
	assert_int_equal(flags, 0);
	w->polp[w->n_pols++] = &w->pols[1];
	assert_int_equal(netpolicy_closed_from_text(bad_sel, "allow-web",
						    &w->pols[2], &flags), 0);
	assert_true(flags & NP_CLOSED_ALL);
	w->polp[w->n_pols++] = &w->pols[2];
	sc_input(w);
	rig_open(&g, &w->in.cfg);
	p = g.f.pol;
	memset(&s, 0, sizeof(s));
	put_pool(&g, &w->pools[0], false);
	s.pool[0] = true;
	for (size_t i = 0; i < w->n_eps; i++) {
		put_wep(&g, &w->eps[i], false);
		s.ep[i] = true;
	}
	same(&g, w, &s, "no policy");
	assert_int_equal(fails_are(&g, NULL, 0, NULL), 0);
	log_capture();

	/* bad, never good: closed, as compile_table with the closed policy */
	put_text(&g, "allow-web", bad_web);
	bad_rev = g.rev;
	s.pol[1] = true;
	same(&g, w, &s, "closed");
	assert_int_equal(p->n_pols, 1);
	assert_true(((struct ppol *)p->pols[0])->closed);
	assert_int_equal(fails_are(&g, "allow-web", bad_rev, "closed"), 1);
	assert_int_equal(log_count("does not decode"), 1);
	assert_int_equal(log_count("allow-web"), 1);

	/* good: in force, the failure gone */
	put_policy(&g, &w->pols[0], false);
	s.pol[1] = false;
	s.pol[0] = true;
	same(&g, w, &s, "good after closed");
	assert_false(((struct ppol *)p->pols[0])->closed);
	assert_int_equal(fails_are(&g, NULL, 0, NULL), 0);

	/* bad over good: the last good stays; the same bad again is logged
	 * again only as a new revision */
	put_text(&g, "allow-web", bad_web);
	bad_rev = g.rev;
	same(&g, w, &s, "last good");
	assert_int_equal(fails_are(&g, "allow-web", bad_rev, "last-good"), 1);
	assert_int_equal(log_count("does not decode"), 2);
	assert_int_equal(log_count("in force: its last good version"), 1);

	/* deleted: nothing left of it */
	put_text(&g, "allow-web", NULL);
	s.pol[0] = false;
	same(&g, w, &s, "deleted");
	assert_int_equal(p->n_pols, 0);
	assert_int_equal(fails_are(&g, NULL, 0, NULL), 0);

	/* a selector that does not parse: closed for every workload, both ways */
	put_text(&g, "allow-web", bad_sel);
	s.pol[2] = true;
	same(&g, w, &s, "closed, all()");
	assert_int_equal(fails_are(&g, "allow-web", g.rev, "closed"), 1);
	assert_int_equal(log_count("denies every workload"), 1);
	/* a closed one over a closed one: the newer's selector */
	put_text(&g, "allow-web", bad_web);
	s.pol[2] = false;
	s.pol[1] = true;
	same(&g, w, &s, "closed over closed");
	assert_int_equal(fails_are(&g, "allow-web", g.rev, "closed"), 1);
	/* deleted: the closed policy goes too */
	put_text(&g, "allow-web", NULL);
	s.pol[1] = false;
	same(&g, w, &s, "closed deleted");
	assert_int_equal(fails_are(&g, NULL, 0, NULL), 0);
	assert_int_equal(log_count("does not decode"), 4);
	log_release();
	rig_close(&g);
	sc_world_free(w);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incremental_is_whole),
		cmocka_unit_test(test_dirty_once),
		cmocka_unit_test(test_fail_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
