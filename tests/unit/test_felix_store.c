/*
 * Unit tests of felix's store part (felix/store.c) through feed.c: watch
 * events in (as ds_watch_read delivers them), the desired-state tables out
 * (endpoints, blocks, route-key owners, tombs, the reconcile queue).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "felix_fake.h"

#define WEP_KEY(node, name) "/petrel/workloadendpoints/" node "/" name
#define BLOCK_DOC(name, cidr, node) \
	"{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPAMBlock\"," \
	"\"metadata\":{\"name\":\"" name "\"},\"spec\":{\"cidr\":\"" cidr "\"," \
	"\"affinity\":\"" node "\",\"pool\":\"p\",\"allocations\":{}}}"

static int setup(void **state)
{
	*state = fake_felix("node1");
	return 0;
}

static int teardown(void **state)
{
	fake_felix_free(*state);
	return 0;
}

static void test_ep_added_queued_owned(void **state)
{
	struct felix *f = *state;
	char doc[1024];
	struct fep *ep;
	struct rowner *o;

	fake_event(f, true, WEP_KEY("node1", "web"),
		   fake_wep(doc, sizeof(doc), "node1", "web", "ptl0123456789ab",
			    "10.0.0.5/32"), 7);
	ep = store_ep_find(f, "web");
	assert_non_null(ep);
	assert_int_equal(f->n_eps, 1);
	assert_string_equal(ep->ifname, "ptl0123456789ab");
	assert_int_equal(ep->rev, 7);
	assert_true(ep->if_indexed);
	assert_false(ep->programmed);
	assert_true(dlist_linked(&ep->q.l));	/* queued for a check */
	o = store_owner_find(f, 0x0a000005, 32);
	assert_non_null(o);
	assert_ptr_equal(o->owner, ep);
}

static void test_other_node_ignored(void **state)
{
	struct felix *f = *state;
	char doc[1024];

	fake_event(f, true, WEP_KEY("node2", "web"),
		   fake_wep(doc, sizeof(doc), "node2", "web", "ptl0123456789ab",
			    "10.0.0.5/32"), 3);
	assert_null(store_ep_find(f, "web"));
	assert_int_equal(f->n_eps, 0);
	assert_null(store_owner_find(f, 0x0a000005, 32));
}

static void test_invalid_update_keeps_old(void **state)
{
	struct felix *f = *state;
	char doc[1024];
	struct fep *ep;

	fake_event(f, true, WEP_KEY("node1", "web"),
		   fake_wep(doc, sizeof(doc), "node1", "web", "ptl0123456789ab",
			    "10.0.0.5/32"), 3);
	fake_event(f, true, WEP_KEY("node1", "web"), "{\"kind\": 1", 4);
	ep = store_ep_find(f, "web");
	assert_non_null(ep);
	assert_int_equal(ep->rev, 3);
	assert_non_null(store_owner_find(f, 0x0a000005, 32));
}

static void test_change_and_delete(void **state)
{
	struct felix *f = *state;
	char doc[1024];
	struct ftomb *t;

	fake_event(f, true, WEP_KEY("node1", "web"),
		   fake_wep(doc, sizeof(doc), "node1", "web", "ptl0123456789ab",
			    "10.0.0.5/32"), 3);
	fake_event(f, true, WEP_KEY("node1", "web"),
		   fake_wep(doc, sizeof(doc), "node1", "web", "ptl0123456789ab",
			    "10.0.0.6/32"), 4);
	assert_null(store_owner_find(f, 0x0a000005, 32));
	assert_non_null(store_owner_find(f, 0x0a000006, 32));
	assert_int_equal(f->n_eps, 1);
	fake_event(f, false, WEP_KEY("node1", "web"), NULL, 5);
	assert_null(store_ep_find(f, "web"));
	assert_int_equal(f->n_eps, 0);
	assert_null(store_owner_find(f, 0x0a000006, 32));
	t = store_tomb_find(f, "web");	/* for "wait gone" */
	assert_non_null(t);
	assert_int_equal(t->nets[0].addr, 0x0a000006);
}

static void test_listed_revision_skipped(void **state)
{
	struct felix *f = *state;
	char doc[1024];

	f->list_rev_wep = 10;	/* the list had everything up to 10 */
	fake_event(f, true, WEP_KEY("node1", "web"),
		   fake_wep(doc, sizeof(doc), "node1", "web", "ptl0123456789ab",
			    "10.0.0.5/32"), 10);
	assert_null(store_ep_find(f, "web"));
	fake_event(f, true, WEP_KEY("node1", "web"),
		   fake_wep(doc, sizeof(doc), "node1", "web", "ptl0123456789ab",
			    "10.0.0.5/32"), 11);
	assert_non_null(store_ep_find(f, "web"));
}

static void test_same_address_waits(void **state)
{
	struct felix *f = *state;
	char doc[1024];
	struct rowner *o;

	fake_event(f, true, WEP_KEY("node1", "a"),
		   fake_wep(doc, sizeof(doc), "node1", "a", "ptl00000000000a",
			    "10.0.0.5/32"), 3);
	fake_event(f, true, WEP_KEY("node1", "b"),
		   fake_wep(doc, sizeof(doc), "node1", "b", "ptl00000000000b",
			    "10.0.0.5/32"), 4);
	o = store_owner_find(f, 0x0a000005, 32);
	assert_non_null(o);
	assert_ptr_equal(o->owner, store_ep_find(f, "a"));
	assert_true(store_ep_find(f, "b")->nets[0].dup);
	/* the holder leaves: the one waiting takes the key */
	fake_event(f, false, WEP_KEY("node1", "a"), NULL, 5);
	o = store_owner_find(f, 0x0a000005, 32);
	assert_non_null(o);
	assert_ptr_equal(o->owner, store_ep_find(f, "b"));
}

static void test_blocks_by_affinity(void **state)
{
	struct felix *f = *state;

	fake_event(f, true, "/petrel/ipamblocks/10.65.0.0-26",
		   BLOCK_DOC("10.65.0.0-26", "10.65.0.0/26", "node1"), 3);
	fake_event(f, true, "/petrel/ipamblocks/10.65.0.64-26",
		   BLOCK_DOC("10.65.0.64-26", "10.65.0.64/26", "node2"), 4);
	assert_int_equal(f->n_blocks, 1);
	assert_non_null(store_owner_find(f, 0x0a410000, 26));
	assert_null(store_owner_find(f, 0x0a410040, 26));
	/* affinity moves away: no longer this node's */
	fake_event(f, true, "/petrel/ipamblocks/10.65.0.0-26",
		   BLOCK_DOC("10.65.0.0-26", "10.65.0.0/26", "node2"), 5);
	assert_int_equal(f->n_blocks, 0);
	assert_null(store_owner_find(f, 0x0a410000, 26));
}

static void test_foreign_keys_ignored(void **state)
{
	struct felix *f = *state;

	/* not a record key, a nested key, a kind felix's store does not keep */
	fake_event(f, true, "/petrel/workloadendpoints/node1", "{}", 3);
	fake_event(f, true, "/petrel/workloadendpoints/node1/a/b", "{}", 4);
	fake_event(f, true, "/other/x", "{}", 5);
	fake_event(f, true, "/petrel/ipamhandles/h", "{}", 6);
	assert_int_equal(f->n_eps, 0);
	assert_int_equal(f->n_blocks, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ep_added_queued_owned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_node_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_update_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_change_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listed_revision_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_address_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocks_by_affinity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_keys_ignored, setup, teardown),
	};

	log_init("test_felix_store", LOG_LVL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
