/*
 * Unit tests of felix's reconcile pass (felix/reconcile.c) against a fake
 * kernel view: the actual state fed as the kernel's netlink messages
 * (kern_msg), the desired state as store events (feed.c), one rec_pass,
 * then the writes it emitted (felix_fake.h records them; nothing reaches
 * a kernel or /proc).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "felix_fake.h"

#define IF "ptl0123456789ab"
#define IFX 5
#define A5 0x0a000005u

static int setup(void **state)
{
	fake_no_mac = false;
	*state = fake_felix("node1");
	return 0;
}

static int teardown(void **state)
{
	fake_felix_free(*state);
	return 0;
}

static void put_web(struct felix *f)
{
	char doc[1024];

	fake_event(f, true, "/petrel/workloadendpoints/node1/web",
		   fake_wep(doc, sizeof(doc), "node1", "web", IF, "10.0.0.5/32"), 3);
}

static void test_missing_route_and_neighbour(void **state)
{
	struct felix *f = *state;
	const struct kop *op;

	fake_link(f, IFX, IF, true);
	put_web(f);
	rec_pass(f);
	op = fake_find(KOP_ROUTE_ADD, A5);
	assert_non_null(op);
	assert_int_equal(op->len, 32);
	assert_int_equal(op->ifindex, IFX);
	assert_int_equal(op->type_rt, RTN_UNICAST);
	assert_int_equal(op->scope, RT_SCOPE_LINK);
	assert_string_equal(op->ifname, IF);
	op = fake_find(KOP_NEIGH_SET, A5);
	assert_non_null(op);
	assert_memory_equal(op->mac, "\xee\xee\xee\xee\xee\x01", 6);
	assert_int_equal(fake_count(KOP_LINK_UP), 0);
	/* the sysctl that differed (proxy_delay: the fake reads 1) */
	assert_non_null(strstr(fake_proc_last, "/" IF "/"));
	assert_false(store_ep_find(f, "web")->programmed);
}

static void test_link_down_brought_up(void **state)
{
	struct felix *f = *state;
	const struct kop *op;

	fake_link(f, IFX, IF, false);
	put_web(f);
	rec_pass(f);
	assert_int_equal(fake_count(KOP_LINK_UP), 1);
	op = &fake_ops[0];
	assert_int_equal(op->type, KOP_LINK_UP);
	assert_int_equal(op->ifindex, IFX);
}

static void test_no_interface_no_writes(void **state)
{
	struct felix *f = *state;
	char why[256] = "";

	put_web(f);
	rec_pass(f);
	assert_int_equal(fake_n_ops, 0);
	rec_ep_why(f, store_ep_find(f, "web"), why, sizeof(why));
	assert_string_equal(why, "interface " IF " does not exist");
}

static void test_in_place_nothing_written(void **state)
{
	struct felix *f = *state;
	struct fep *ep;

	fake_no_mac = true;
	fake_link(f, IFX, IF, true);
	fake_route(f, true, A5, 32, IFX, fake_cfg.route_protocol);
	put_web(f);
	fake_proc_writes = 0;
	rec_pass(f);
	rec_pass(f);	/* the sysctl written by the first */
	ep = store_ep_find(f, "web");
	assert_int_equal(fake_count(KOP_ROUTE_ADD) + fake_count(KOP_ROUTE_REPLACE) +
			 fake_count(KOP_ROUTE_DEL) + fake_count(KOP_LINK_UP), 0);
	assert_true(ep->programmed);
}

static void test_stale_route_deleted_foreign_kept(void **state)
{
	struct felix *f = *state;
	const struct kop *op;

	fake_link(f, IFX, IF, true);
	fake_route(f, true, 0x0a000009, 32, IFX, fake_cfg.route_protocol);
	fake_route(f, true, 0x0a00000a, 32, IFX, fake_cfg.route_protocol + 1);
	rec_pass(f);
	op = fake_find(KOP_ROUTE_DEL, 0x0a000009);
	assert_non_null(op);
	assert_int_equal(op->ifindex, IFX);
	assert_null(fake_find(KOP_ROUTE_DEL, 0x0a00000a));	/* not petrel's */
	assert_int_equal(fake_n_ops, 1);
}

static void test_wrong_oif_replaced(void **state)
{
	struct felix *f = *state;
	const struct kop *op;

	fake_no_mac = true;
	fake_link(f, IFX, IF, true);
	fake_link(f, IFX + 1, "ptlffffffffffff", true);
	fake_route(f, true, A5, 32, IFX + 1, fake_cfg.route_protocol);
	put_web(f);
	rec_pass(f);
	op = fake_find(KOP_ROUTE_REPLACE, A5);
	assert_non_null(op);
	assert_int_equal(op->ifindex, IFX);
	assert_null(fake_find(KOP_ROUTE_DEL, A5));
}

static void test_block_blackhole(void **state)
{
	struct felix *f = *state;
	const struct kop *op;

	fake_event(f, true, "/petrel/ipamblocks/10.65.0.0-26",
		   "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPAMBlock\","
		   "\"metadata\":{\"name\":\"10.65.0.0-26\"},\"spec\":{\"cidr\":"
		   "\"10.65.0.0/26\",\"affinity\":\"node1\",\"pool\":\"p\","
		   "\"allocations\":{}}}", 3);
	rec_pass(f);
	op = fake_find(KOP_ROUTE_ADD, 0x0a410000);
	assert_non_null(op);
	assert_int_equal(op->len, 26);
	assert_int_equal(op->type_rt, RTN_BLACKHOLE);
	/* the block leaves: its route (now in the kernel) goes */
	fake_route(f, true, 0x0a410000, 26, 0, fake_cfg.route_protocol);
	fake_event(f, false, "/petrel/ipamblocks/10.65.0.0-26", NULL, 4);
	fake_n_ops = 0;
	rec_pass(f);
	assert_non_null(fake_find(KOP_ROUTE_DEL, 0x0a410000));
}

/* A route-only dump (after an add met a route felix did not know of) that
 * fails is not forgotten: a full dump follows, FELIX_RETRY_MS later. */
static void test_failed_route_dump_retried(void **state)
{
	struct felix *f = *state;

	fake_dump_rc[0] = -ENOBUFS;	/* the route dump fails */
	f->need_route_dump = true;
	rec_kernel_input(f, false);
	assert_int_equal(fake_dumps_routes, 1);
	assert_false(f->need_route_dump);
	assert_true(f->kresync_at != 0);	/* a retry is due */
	assert_int_equal(fake_dumps_all, 0);
	f->kresync_at = felix_now_ns() - 1;	/* FELIX_RETRY_MS later */
	rec_kernel_input(f, false);
	assert_int_equal(fake_dumps_all, 1);	/* dumped again, whole */
	assert_true(f->kresync_at == 0);	/* and it worked: no retry */
}

static void test_route_dump_ok_no_retry(void **state)
{
	struct felix *f = *state;

	f->need_route_dump = true;
	rec_kernel_input(f, false);
	assert_int_equal(fake_dumps_routes, 1);
	assert_false(f->need_route_dump);
	assert_true(f->kresync_at == 0);
}

/* The sweep: a host end no endpoint claims goes after the grace period
 * (never before: a workload being set up has its veth before its record);
 * one claimed stays; nothing goes while the store is not known. */
static void test_sweep_unclaimed(void **state)
{
	struct felix *f = *state;
	struct klink *l;
	const struct kop *op;

	fake_link(f, IFX, IF, true);		/* web's: claimed */
	fake_link(f, IFX + 1, "ptlffffffffffff", true);	/* no one's */
	put_web(f);
	/* the store not known (no watch: never listed): nothing is swept */
	l = kern_link_by_name(f, "ptlffffffffffff");
	l->unclaimed_since = 1;
	f->sweep_at = 0;
	rec_pass(f);
	assert_int_equal(fake_count(KOP_LINK_DEL), 0);
	assert_int_equal(l->unclaimed_since, 0);
	f->watch = (struct ds_watch *)f;	/* listed and watching */
	f->sweep_at = 0;
	rec_pass(f);
	assert_int_equal(fake_count(KOP_LINK_DEL), 0);	/* first seen */
	assert_true(l->unclaimed_since != 0);
	f->sweep_at = 0;
	rec_pass(f);
	assert_int_equal(fake_count(KOP_LINK_DEL), 0);	/* within the grace */
	l->unclaimed_since -= FELIX_SWEEP_GRACE_MS * 1000000ull;
	f->sweep_at = 0;
	rec_pass(f);
	op = fake_find(KOP_LINK_DEL, 0);
	assert_non_null(op);
	assert_int_equal(op->ifindex, IFX + 1);
	assert_string_equal(op->ifname, "ptlffffffffffff");
	assert_int_equal(fake_count(KOP_LINK_DEL), 1);	/* web's stays */
	assert_int_equal(kern_link_by_name(f, IF)->unclaimed_since, 0);
	f->sweep_at = 0;
	rec_pass(f);
	assert_int_equal(fake_count(KOP_LINK_DEL), 1);	/* sent once */
	f->watch = NULL;
}

/* The sweep of a host end whose endpoint's record went (rm and CNI DEL
 * leave it): after FELIX_SWEEP_GONE_MS, not the long grace of one never
 * claimed (whose record may still be on its way). */
static void test_sweep_record_gone(void **state)
{
	struct felix *f = *state;
	struct klink *l, *other;
	const struct kop *op;

	fake_link(f, IFX, IF, true);
	fake_link(f, IFX + 1, "ptlffffffffffff", true);	/* no one's, ever */
	put_web(f);
	f->watch = (struct ds_watch *)f;	/* listed and watching */
	f->sweep_at = 0;
	rec_pass(f);
	l = kern_link_by_name(f, IF);
	other = kern_link_by_name(f, "ptlffffffffffff");
	assert_true(l->was_claimed);
	assert_false(other->was_claimed);
	fake_event(f, false, "/petrel/workloadendpoints/node1/web", NULL, 4);
	f->sweep_at = 0;
	rec_pass(f);
	assert_int_equal(fake_count(KOP_LINK_DEL), 0);	/* first seen unclaimed */
	assert_true(l->unclaimed_since != 0);
	l->unclaimed_since -= FELIX_SWEEP_GONE_MS * 1000000ull;
	other->unclaimed_since -= FELIX_SWEEP_GONE_MS * 1000000ull;
	f->sweep_at = 0;
	rec_pass(f);
	op = fake_find(KOP_LINK_DEL, 0);
	assert_non_null(op);
	assert_int_equal(op->ifindex, IFX);
	assert_string_equal(op->ifname, IF);
	assert_int_equal(fake_count(KOP_LINK_DEL), 1);	/* the other waits longer */
	f->watch = NULL;
}

/* A link of petrel's name at a new index (its old one's RTM_DELLINK lost):
 * the old one is gone, and the name finds the new one (found by
 * fuzz_felix_netlink: the table held both, and by name either). */
static void test_link_same_name_new_index(void **state)
{
	struct felix *f = *state;

	fake_link(f, IFX, IF, true);
	fake_route(f, true, A5, 32, IFX, fake_cfg.route_protocol);
	assert_non_null(kern_route_find(f, A5, 32, 0, 0));
	fake_link(f, IFX + 4, IF, true);
	assert_null(kern_link_by_index(f, IFX));
	assert_non_null(kern_link_by_name(f, IF));
	assert_int_equal(kern_link_by_name(f, IF)->ifindex, IFX + 4);
	/* the old link's route went with it */
	assert_null(kern_route_find(f, A5, 32, 0, 0));
}

/* A create moves a removed endpoint's host end out of the way by renaming
 * it (endpoint/create.c) and makes the new one under the name: the renamed
 * link is the same link (its route stays in the view, as in the kernel,
 * and is replaced onto the new link, not added beside it: the kernel would
 * refuse that, and felix then call the route foreign), and it stays known
 * as claimed once (the sweep's shorter wait). */
static void test_renamed_host_end(void **state)
{
	struct felix *f = *state;
	struct klink *l;
	struct kroute *r;
	const struct kop *op;

	fake_no_mac = true;
	fake_link(f, IFX, IF, true);
	fake_route(f, true, A5, 32, IFX, fake_cfg.route_protocol);
	put_web(f);
	f->watch = (struct ds_watch *)f;	/* listed and watching */
	f->sweep_at = 0;
	rec_pass(f);
	assert_true(kern_link_by_index(f, IFX)->was_claimed);
	fake_link(f, IFX, "ptlffffffffffff", true);	/* renamed */
	fake_link(f, IFX + 1, IF, true);		/* the new host end */
	l = kern_link_by_index(f, IFX);
	assert_non_null(l);
	assert_string_equal(l->name, "ptlffffffffffff");
	assert_ptr_equal(kern_link_by_name(f, "ptlffffffffffff"), l);
	assert_int_equal(kern_link_by_name(f, IF)->ifindex, IFX + 1);
	assert_true(l->was_claimed);
	r = kern_route_find(f, A5, 32, 0, 0);
	assert_non_null(r);
	assert_int_equal(r->oif, IFX);
	fake_n_ops = 0;
	f->sweep_at = 0;
	rec_pass(f);
	op = fake_find(KOP_ROUTE_REPLACE, A5);
	assert_non_null(op);
	assert_int_equal(op->ifindex, IFX + 1);
	assert_null(fake_find(KOP_ROUTE_ADD, A5));
	assert_true(l->unclaimed_since != 0);	/* now unclaimed */
	l->unclaimed_since -= FELIX_SWEEP_GONE_MS * 1000000ull;
	f->sweep_at = 0;
	rec_pass(f);
	op = fake_find(KOP_LINK_DEL, 0);
	assert_non_null(op);
	assert_int_equal(op->ifindex, IFX);
	/* renamed to a name not petrel's: no longer ours */
	fake_link(f, IFX + 1, "eth9", true);
	assert_null(kern_link_by_index(f, IFX + 1));
	assert_null(kern_link_by_name(f, IF));
	f->watch = NULL;
}

/* A link renamed onto a name another index still holds (that one's
 * RTM_DELLINK lost): the name is the renamed link's alone (found by
 * fuzz_felix_netlink once the rename and the new-index cases met). */
static void test_rename_onto_held_name(void **state)
{
	struct felix *f = *state;

	fake_link(f, IFX, IF, true);
	fake_link(f, IFX + 4, "ptl0123456789ff", true);
	fake_link(f, IFX + 4, IF, true);	/* renamed */
	assert_null(kern_link_by_index(f, IFX));
	assert_non_null(kern_link_by_name(f, IF));
	assert_int_equal(kern_link_by_name(f, IF)->ifindex, IFX + 4);
	assert_null(kern_link_by_name(f, "ptl0123456789ff"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_route_and_neighbour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down_brought_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interface_no_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_place_nothing_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_route_deleted_foreign_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_oif_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block_blackhole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_route_dump_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_dump_ok_no_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_unclaimed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_record_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_same_name_new_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_renamed_host_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_onto_held_name, setup, teardown),
	};

	log_init("test_felix_reconcile", LOG_LVL_ERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
