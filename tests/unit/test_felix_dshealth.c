/*
 * test_felix_dshealth: felix when its datastore fails (felix/dshealth.c,
 * feed.c, the parts' relists) and its own Node (felix/noderec.c), against
 * a real sqlite store behind a fault-injecting backend (every request
 * fails with -ECONNREFUSED once `fault_left` reaches 0) and a fake clock:
 *
 *   - a relist that fails, at its first list or half-way through, leaves
 *     every part as it was (endpoints, blocks, BGP's Nodes): unreachable is
 *     not empty;
 *   - down is logged once, its retries follow the backoff 100 ms doubling
 *     to 5 s and happen only when due, the status says why and since when;
 *   - recovery is logged once, and felix catches up: after a relist what
 *     changed meanwhile is there; after a broken watch, a new watch from
 *     applied_rev brings it (no relist);
 *   - the Node: created from the config, and a Node applied by hand keeps
 *     what felix does not own (routeReflectorClusterID, other labels) while
 *     felix's fields follow the config; the heartbeat key is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "felix_fake.h"
#include "datastore/ds_impl.h"
#include "model/keys.h"

/* ---------- the fake clock (replaces felix/clock.c's) ---------- */

static uint64_t fake_now = 1000000000ull;

uint64_t felix_now_ns(void)
{
	return fake_now;
}

static void advance_ms(uint64_t ms)
{
	fake_now += ms * 1000000ull;
}

/* ---------- a backend that fails on demand ---------- */

static struct ds_backend fault_be;
static const struct ds_backend *real_be;
static int fault_left = -1;	/* requests that still succeed; -1: all */
static size_t fault_calls;	/* requests that reached the real backend */

static bool faulty(struct ds *ds)
{
	if (fault_left < 0) {
		fault_calls++;
		return false;
	}
	if (fault_left == 0) {
		ds_set_error(ds, "connecting to 127.0.0.1:2379: refused");
		return true;
	}
	fault_left--;
	fault_calls++;
	return false;
}

static int f_get(struct ds *ds, const char *key, struct ds_kv *out)
{
	return faulty(ds) ? -ECONNREFUSED : real_be->get(ds, key, out);
}

static int f_list(struct ds *ds, const char *prefix, struct ds_kv **out,
		  size_t *n, int64_t *rev)
{
	return faulty(ds) ? -ECONNREFUSED : real_be->list(ds, prefix, out, n, rev);
}

static int f_txn(struct ds *ds, const struct ds_op *ops, size_t n,
		 int64_t *rev, size_t *failed)
{
	return faulty(ds) ? -ECONNREFUSED : real_be->txn(ds, ops, n, rev, failed);
}

static int64_t f_revision(struct ds *ds)
{
	return faulty(ds) ? -ECONNREFUSED : real_be->revision(ds);
}

static struct ds *the_ds;

static int f_watch_new(struct ds *ds, const char *prefix, int64_t from,
		       struct ds_watch **out)
{
	int r = faulty(ds) ? -ECONNREFUSED : real_be->watch_new(ds, prefix, from, out);

	if (r == 0)
		(*out)->be = &fault_be;	/* its reads through the fault too */
	return r;
}

/* An asynchronous watch (etcd's stream) when `async`: a read hands over
 * nothing while `held` (the change is still on its way), and watch_rev says
 * how far it has handed everything over. */
static bool async, held;
static int64_t delivered;	/* the newest revision handed over */

static int f_watch_read(struct ds_watch *w, struct ds_event **evs, size_t *n)
{
	int r;

	if (faulty(the_ds))
		return -ECONNREFUSED;
	if (async && held)
		return 0;
	r = real_be->watch_read(w, evs, n);
	for (size_t i = 0; r == 0 && i < *n; i++)
		if ((*evs)[i].rev > delivered)
			delivered = (*evs)[i].rev;
	return r;
}

static int64_t f_watch_rev(const struct ds_watch *w)
{
	(void)w;
	return delivered;
}

/* ---------- stderr captured: what felix logged ---------- */

static char logpath[] = "/tmp/test_dshealth_log_XXXXXX";
static int saved_stderr = -1;

static size_t log_count(const char *needle)
{
	char line[4096];
	size_t n = 0;
	FILE *fp;

	if (saved_stderr < 0)
		return 1;	/* TEST_NOREDIR: not counted */
	fflush(stderr);
	fp = fopen(logpath, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, needle))
			n++;
	fclose(fp);
	return n;
}

/* ---------- the store's contents ---------- */

static char dir[64];

#define WEP_KEY(node, name) "/petrel/workloadendpoints/" node "/" name
#define BLOCK_DOC(name, cidr, node) \
	"{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPAMBlock\"," \
	"\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"cidr\":\"" cidr "\"," \
	"\"affinity\":\"" node "\",\"pool\":\"p\",\"allocations\":{}}}"
#define NODE_DOC(name, addr) \
	"{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" \
	name "\"},\"spec\":{\"bgp\":{\"ipv4Address\":\"" addr "\"}}}"

static void put(struct felix *f, const char *key, const char *value)
{
	int saved = fault_left;

	fault_left = -1;
	assert_int_equal(ds_create(f->ds, key, value, NULL), 0);
	fault_left = saved;
}

static struct felix *felix_on_store(void)
{
	struct felix *f = fake_felix("node1");
	char url[128], doc[1024];

	snprintf(dir, sizeof(dir), "/tmp/test_dshealth_XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/petrel.db", dir);
	assert_int_equal(ds_open(url, &f->ds), 0);
	the_ds = f->ds;
	real_be = f->ds->be;
	fault_be = *real_be;
	fault_be.get = f_get;
	fault_be.list = f_list;
	fault_be.txn = f_txn;
	fault_be.revision = f_revision;
	fault_be.watch_new = f_watch_new;
	fault_be.watch_read = f_watch_read;
	fault_be.watch_rev = async ? f_watch_rev : NULL;
	f->ds->be = &fault_be;
	fault_left = -1;
	assert_int_equal(bgp_part.open(f), 0);
	fake_cfg.bgp_address = 0xc000020b;	/* 192.0.2.11 */
	fake_cfg.bgp_asn = 64512;
	snprintf(fake_cfg.labels[0].key, sizeof(fake_cfg.labels[0].key), "rack");
	snprintf(fake_cfg.labels[0].value, sizeof(fake_cfg.labels[0].value), "r1");
	fake_cfg.n_labels = 1;
	put(f, WEP_KEY("node1", "web"), fake_wep(doc, sizeof(doc), "node1", "web",
						 "ptl0123456789ab", "10.0.0.5/32"));
	put(f, "/petrel/ipamblocks/10.0.0.0-26", BLOCK_DOC("10.0.0.0-26", "10.0.0.0/26", "node1"));
	put(f, "/petrel/nodes/node2", NODE_DOC("node2", "192.0.2.12"));
	return f;
}

static void felix_done(struct felix *f)
{
	char path[256];

	fault_left = -1;
	bgp_part.close(f);
	feed_close(f);
	fake_felix_free(f);
	snprintf(path, sizeof(path), "%s/petrel.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/petrel.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/petrel.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

static json_t *bgp_json(struct felix *f)
{
	return bgp_part.status_json(f);
}

static size_t bgp_nodes(struct felix *f)
{
	json_t *j = bgp_json(f);
	size_t n = (size_t)json_integer_value(json_object_get(j, "nodes"));

	json_decref(j);
	return n;
}

/* ---------- tests ---------- */

static void test_register_node(void **state)
{
	struct felix *f = felix_on_store();
	struct resource res;
	struct errs e = ERRS_INIT;
	struct ds_kv kv = { 0 };
	json_t *j;

	(void)state;
	/* created from the config */
	assert_int_equal(noderec_register(f), 0);
	assert_int_equal(ds_get(f->ds, "/petrel/nodes/node1", &kv), 0);
	assert_int_equal(res_from_text(RES_NODE, kv.value, kv.mod_rev, &res, &e), 0);
	assert_int_equal(res.u.node.bgp_ipv4, 0xc000020b);
	assert_int_equal(res.u.node.bgp_asn, 64512);
	assert_string_equal(labels_get(&res.u.node.labels, "rack"), "r1");
	res_clear(&res);
	ds_kv_clear(&kv);
	/* the heartbeat, at once */
	assert_int_equal(ds_get(f->ds, KEYS_NODESTATUS "node1", &kv), 0);
	j = json_loads(kv.value, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "felix"),
							    "pid")), getpid());
	assert_true(json_is_false(json_object_get(json_object_get(j, "felix"), "stopped")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "felix"),
							    "intervalSeconds")), FELIX_HEARTBEAT_S);
	json_decref(j);
	ds_kv_clear(&kv);

	/* applied by hand with other fields: updated, not clobbered */
	assert_int_equal(ds_get(f->ds, "/petrel/nodes/node1", &kv), 0);
	assert_int_equal(ds_update(f->ds, "/petrel/nodes/node1",
		"{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node1\","
		"\"labels\":{\"rack\":\"old\",\"team\":\"net\"}},\"spec\":{\"bgp\":{"
		"\"ipv4Address\":\"192.0.2.99\",\"asNumber\":65001,"
		"\"routeReflectorClusterID\":\"1.2.3.4\"}}}", kv.mod_rev, NULL), 0);
	ds_kv_clear(&kv);
	assert_int_equal(noderec_register(f), 0);
	assert_int_equal(ds_get(f->ds, "/petrel/nodes/node1", &kv), 0);
	assert_int_equal(res_from_text(RES_NODE, kv.value, kv.mod_rev, &res, &e), 0);
	assert_int_equal(res.u.node.bgp_ipv4, 0xc000020b);
	assert_int_equal(res.u.node.bgp_asn, 64512);
	assert_string_equal(res.u.node.rr_cluster_id, "1.2.3.4");
	assert_string_equal(labels_get(&res.u.node.labels, "rack"), "r1");
	assert_string_equal(labels_get(&res.u.node.labels, "team"), "net");
	res_clear(&res);
	/* the same again: no write */
	{
		int64_t rev = kv.mod_rev;

		ds_kv_clear(&kv);
		assert_int_equal(noderec_register(f), 0);
		assert_int_equal(ds_get(f->ds, "/petrel/nodes/node1", &kv), 0);
		assert_int_equal(kv.mod_rev, rev);
		ds_kv_clear(&kv);
	}
	/* unreachable: an error, and down */
	fault_left = 0;
	assert_int_equal(noderec_register(f), -ECONNREFUSED);
	assert_true(f->dsh.down);
	fault_left = -1;
	felix_done(f);
}

static void test_relist_fails_keeps_all(void **state)
{
	struct felix *f = felix_on_store();
	json_t *j;
	uint32_t gen;

	(void)state;
	assert_int_equal(rec_resync(f, true, "start"), 0);
	assert_true(f->store_known);
	assert_int_equal(f->n_eps, 1);
	assert_int_equal(f->n_blocks, 1);
	assert_int_equal(bgp_nodes(f), 1);
	assert_false(f->dsh.down);

	/* fails at the first list */
	fault_left = 0;
	f->need_relist = true;
	rec_kernel_input(f, false);
	assert_true(f->need_relist);
	assert_true(f->dsh.down);
	assert_int_equal(f->dsh.backoff_ms, DSH_BACKOFF_MIN_MS);
	assert_int_equal(f->n_eps, 1);
	assert_int_equal(f->n_blocks, 1);
	assert_non_null(store_ep_find(f, "web"));
	assert_int_equal(bgp_nodes(f), 1);
	assert_int_equal(log_count("unreachable"), 1);

	/* the status says why, and since when */
	j = ds_part.status_json(f);
	assert_true(json_is_false(json_object_get(j, "reachable")));
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
			       "datastore unreachable since "));
	assert_non_null(strstr(json_string_value(json_object_get(j, "message")),
			       "retrying"));
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")),
			       "127.0.0.1:2379"));
	json_decref(j);

	/* not tried again before it is due; then backoff 100 ms .. 5 s */
	fault_calls = 0;
	advance_ms(50);
	rec_kernel_input(f, false);
	assert_int_equal(f->dsh.retries, 0);
	{
		static const uint32_t want[] = { 200, 400, 800, 1600, 3200, 5000, 5000 };

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			advance_ms(f->dsh.backoff_ms);
			rec_kernel_input(f, false);
			assert_int_equal(f->dsh.retries, i + 1);
			assert_int_equal(f->dsh.backoff_ms, want[i]);
		}
	}
	assert_int_equal(log_count("unreachable"), 1);	/* once */

	/* fails half-way: the store part's lists and BGP's first one succeed */
	fault_left = 3;
	advance_ms(f->dsh.backoff_ms);
	rec_kernel_input(f, false);
	assert_true(f->need_relist);
	assert_int_equal(f->n_eps, 1);
	assert_int_equal(f->n_blocks, 1);
	assert_int_equal(bgp_nodes(f), 1);

	/* meanwhile: a node, an endpoint gone */
	fault_left = -1;
	put(f, "/petrel/nodes/node3", NODE_DOC("node3", "192.0.2.13"));
	assert_int_equal(ds_delete(f->ds, WEP_KEY("node1", "web"), 0), 0);
	/* back: caught up, logged once */
	fault_left = 0;
	advance_ms(f->dsh.backoff_ms);
	fault_left = -1;
	gen = f->store_gen;
	rec_kernel_input(f, false);
	assert_false(f->need_relist);
	assert_false(f->dsh.down);
	assert_int_equal(f->store_gen, gen + 1);
	assert_int_equal(f->n_eps, 0);
	assert_int_equal(bgp_nodes(f), 2);
	assert_int_equal(log_count("reachable again"), 1);
	j = ds_part.status_json(f);
	assert_true(json_is_true(json_object_get(j, "reachable")));
	assert_null(json_object_get(j, "message"));
	assert_int_equal(json_integer_value(json_object_get(j, "outages")), 1);
	json_decref(j);
	felix_done(f);
}

static void test_watch_breaks_rewatch(void **state)
{
	struct felix *f = felix_on_store();
	char doc[1024];
	uint32_t gen;

	(void)state;
	assert_int_equal(rec_resync(f, true, "start"), 0);
	feed_input(f, true);		/* reads what there is */
	assert_int_equal(f->n_eps, 1);
	gen = f->store_gen;

	fault_left = 0;
	feed_input(f, true);
	assert_null(f->watch);
	assert_true(f->dsh.down);
	assert_false(f->need_relist);	/* no relist for a broken watch */
	assert_int_equal(f->n_eps, 1);

	fault_left = -1;
	put(f, WEP_KEY("node1", "db"), fake_wep(doc, sizeof(doc), "node1", "db",
						"ptl0123456789ac", "10.0.0.6/32"));
	fault_left = 0;
	advance_ms(f->dsh.backoff_ms - 1);
	feed_input(f, false);		/* not due yet */
	assert_null(f->watch);
	advance_ms(1);
	feed_input(f, false);		/* due, and fails again */
	assert_null(f->watch);
	assert_int_equal(f->dsh.retries, 1);

	fault_left = -1;
	advance_ms(f->dsh.backoff_ms);
	feed_input(f, false);		/* a new watch from applied_rev */
	assert_non_null(f->watch);
	assert_false(f->dsh.down);
	feed_input(f, true);
	assert_non_null(store_ep_find(f, "db"));
	assert_int_equal(f->n_eps, 2);
	assert_int_equal(f->store_gen, gen);	/* caught up without a relist */
	felix_done(f);
}

/*
 * Someone waits for the revision of its own write. A watch that reads the
 * store at once has handed everything over when a read after the store's
 * revision brings nothing; an asynchronous one has not: the change may
 * still be on its way, and felix must not count it as applied (it would
 * answer "not in the store" for an endpoint that is).
 */
static void check_waited_rev(bool is_async)
{
	struct felix *f;
	char doc[1024];
	int64_t rev;

	async = is_async;
	held = false;
	delivered = 0;
	f = felix_on_store();
	assert_int_equal(rec_resync(f, true, "start"), 0);
	feed_input(f, true);
	delivered = f->applied_rev;
	assert_int_equal(ds_create(f->ds, WEP_KEY("node1", "db"),
				   fake_wep(doc, sizeof(doc), "node1", "db",
					    "ptl0123456789ac", "10.0.0.6/32"), &rev), 0);
	held = true;
	assert_int_equal(feed_watch_read(f, true), 0);
	if (is_async) {
		assert_true(f->applied_rev < rev);	/* still on its way */
		assert_null(store_ep_find(f, "db"));
		held = false;
		assert_int_equal(feed_watch_read(f, true), 0);
		assert_int_equal(feed_watch_read(f, true), 0);
	}
	assert_true(f->applied_rev >= rev);
	assert_non_null(store_ep_find(f, "db"));
	felix_done(f);
	async = false;
}

static void test_waited_rev_sync_watch(void **state)
{
	(void)state;
	check_waited_rev(false);
}

static void test_waited_rev_async_watch(void **state)
{
	(void)state;
	check_waited_rev(true);
}

static int group_setup(void **state)
{
	int fd;

	(void)state;
	log_init("test_felix_dshealth", LOG_LVL_INFO, 0);
	if (getenv("TEST_NOREDIR"))
		return 0;
	fd = mkstemp(logpath);
	if (fd < 0)
		return -1;
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (saved_stderr < 0)
		return 0;
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	unlink(logpath);
	return 0;
}

/* each test counts its own lines */
static int truncate_log(void **state)
{
	(void)state;
	if (saved_stderr < 0)
		return 0;	/* TEST_NOREDIR: stderr as it is */
	fflush(stderr);
	return ftruncate(2, 0) < 0 || lseek(2, 0, SEEK_SET) < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_register_node, truncate_log),
		cmocka_unit_test_setup(test_relist_fails_keeps_all, truncate_log),
		cmocka_unit_test_setup(test_watch_breaks_rewatch, truncate_log),
		cmocka_unit_test_setup(test_waited_rev_sync_watch, truncate_log),
		cmocka_unit_test_setup(test_waited_rev_async_watch, truncate_log),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
