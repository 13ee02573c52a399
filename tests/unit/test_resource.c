/*
 * test_resource: model/ (one file per kind). Round trips of every kind (YAML →
 * struct → JSON → struct, byte-identical text), error positions, all errors
 * of a document reported, and at least one failing case per validation rule.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/resource.h"

/* Loads one YAML document and decodes it as any resource. */
struct dec {
	struct ydoc *d;
	size_t n;
	struct errs e;
	struct resource r;
	int rc;
};

static void decode(struct dec *x, const char *file, const char *text)
{
	memset(x, 0, sizeof(*x));
	x->rc = yaml_load(file, text, strlen(text), &x->d, &x->n, &x->e);
	if (x->rc == 0) {
		assert_int_equal(x->n, 1);
		x->rc = res_from_json(x->d[0].root, &x->d[0], file, &x->r, &x->e);
	}
}

static void dec_free(struct dec *x)
{
	if (x->rc == 0)
		res_clear(&x->r);
	ydocs_free(x->d, x->n);
	errs_clear(&x->e);
}

static void print_errs(const struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		print_message("  err: %s\n", e->msg[i]);
}

static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

/* The document must be refused with a message containing want. */
static void expect_error(const char *text, const char *want)
{
	struct dec x;

	decode(&x, "t.yaml", text);
	if (x.rc != -EINVAL || !has_err(&x.e, want)) {
		print_message("document:\n%s\nwanted an error containing: %s\n", text, want);
		print_errs(&x.e);
		dec_free(&x);
		fail();
	}
	dec_free(&x);
}

/* The document must decode; its canonical text is compared when want given. */
static void expect_ok(const char *text, const char *want_text)
{
	struct dec x;
	char *s;

	decode(&x, "t.yaml", text);
	if (x.rc != 0) {
		print_message("document:\n%s\n", text);
		print_errs(&x.e);
		dec_free(&x);
		fail();
	}
	assert_int_equal(x.e.n, 0);
	if (want_text) {
		s = res_to_text(&x.r);
		assert_non_null(s);
		assert_string_equal(s, want_text);
		free(s);
	}
	dec_free(&x);
}

/* decode → encode → decode: equal trees, identical bytes each time. */
static void round_trip(const char *text, enum res_kind kind)
{
	struct resource r2 = { 0 }, r3 = { 0 };
	struct errs e = ERRS_INIT;
	char *t1, *t2, *t3, *y;
	struct dec x, xy;
	json_t *j1, *j2;

	decode(&x, "t.yaml", text);
	print_errs(&x.e);
	assert_int_equal(x.rc, 0);
	assert_int_equal(x.r.kind, kind);
	t1 = res_to_text(&x.r);
	assert_non_null(t1);
	t2 = res_to_text(&x.r);
	assert_string_equal(t1, t2);		/* same struct, same bytes */
	assert_int_equal(res_from_text(kind, t1, 7, &r2, &e), 0);
	assert_int_equal(r2.revision, 7);
	t3 = res_to_text(&r2);
	assert_string_equal(t1, t3);		/* decode(encode(x)) encodes the same */
	j1 = res_to_json(&x.r);
	j2 = res_to_json(&r2);
	assert_non_null(json_object_get(json_object_get(j2, "metadata"), "revision"));
	json_object_del(json_object_get(j2, "metadata"), "revision");
	assert_true(json_equal(j1, j2));

	/* through YAML as petrelctl get -o yaml / apply -f would */
	y = yaml_dump(j1);
	decode(&xy, "dump.yaml", y);
	print_errs(&xy.e);
	assert_int_equal(xy.rc, 0);
	free(t3);
	t3 = res_to_text(&xy.r);
	assert_string_equal(t1, t3);

	/* and a stored text decodes to an identical text again */
	assert_int_equal(res_from_text(kind, t3, 0, &r3, &e), 0);
	free(t2);
	t2 = res_to_text(&r3);
	assert_string_equal(t1, t2);

	assert_int_equal(e.n, 0);
	res_clear(&r2);
	res_clear(&r3);
	json_decref(j1);
	json_decref(j2);
	free(y);
	free(t1);
	free(t2);
	free(t3);
	dec_free(&x);
	dec_free(&xy);
}

static void test_kinds_keys(void **state)
{
	char buf[RES_KEY_MAX];

	(void)state;
	assert_int_equal(res_kind_parse("IPPool"), RES_IPPOOL);
	assert_int_equal(res_kind_parse("ippools"), RES_IPPOOL);
	assert_int_equal(res_kind_parse("pool"), RES_IPPOOL);
	assert_int_equal(res_kind_parse("Nodes"), RES_NODE);
	assert_int_equal(res_kind_parse("wep"), RES_WEP);
	assert_int_equal(res_kind_parse("workloadendpoints"), RES_WEP);
	assert_int_equal(res_kind_parse("WorkloadEndpoint"), RES_WEP);
	assert_int_equal(res_kind_parse("ipamblock"), RES_IPAMBLOCK);
	assert_int_equal(res_kind_parse("IPAMHandles"), RES_IPAMHANDLE);
	assert_int_equal(res_kind_parse("bogus"), -1);
	assert_int_equal(res_kind_parse(""), -1);
	assert_int_equal(res_kind_parse(NULL), -1);
	assert_string_equal(res_kind_name(RES_IPAMBLOCK), "IPAMBlock");
	assert_string_equal(res_kind_plural(RES_WEP), "workloadendpoints");
	assert_int_equal(res_kind_parse("NetworkPolicy"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("networkpolicies"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("networkpolicy"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("netpol"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("policy"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("policies"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("np"), RES_NETPOLICY);
	assert_int_equal(res_kind_parse("Network"), RES_NETWORK);
	assert_int_equal(res_kind_parse("networks"), RES_NETWORK);
	assert_int_equal(res_kind_parse("net"), RES_NETWORK);
	assert_string_equal(res_kind_name(RES_NETPOLICY), "NetworkPolicy");
	assert_string_equal(res_kind_plural(RES_NETPOLICY), "networkpolicies");
	assert_string_equal(res_kind_name(RES_NETWORK), "Network");
	assert_string_equal(res_kind_plural(RES_NETWORK), "networks");
	assert_int_equal(res_key(RES_NETPOLICY, "p", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/networkpolicies/p");
	assert_int_equal(res_key(RES_NETWORK, "backend", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/networks/backend");

	assert_int_equal(res_key(RES_IPPOOL, "p1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/ippools/p1");
	assert_int_equal(res_key(RES_WEP, "node1/web", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/workloadendpoints/node1/web");
	assert_int_equal(res_key(RES_IPAMBLOCK, "10.0.0.64-26", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/ipamblocks/10.0.0.64-26");
	assert_int_equal(res_key(RES_NODE, "node1", buf, 12), -ENAMETOOLONG);
	assert_int_equal(res_prefix(RES_IPAMHANDLE, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/ipamhandles/");
	assert_int_equal(res_prefix(RES_WEP, "node1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/workloadendpoints/node1/");
	assert_int_equal(res_prefix(RES_WEP, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/petrel/workloadendpoints/");
	assert_int_equal(res_prefix(RES_NODE, NULL, buf, 5), -ENAMETOOLONG);
}

static void test_names_labels(void **state)
{
	struct labels l = { 0 };
	char long63[64], long64[65];

	(void)state;
	memset(long63, 'a', 63);
	long63[63] = '\0';
	memset(long64, 'a', 64);
	long64[64] = '\0';
	assert_true(res_name_valid("a"));
	assert_true(res_name_valid("node-1.example"));
	assert_true(res_name_valid("10.0.0.64-26"));
	assert_true(res_name_valid(long63));
	assert_false(res_name_valid(long64));
	assert_false(res_name_valid(""));
	assert_false(res_name_valid(NULL));
	assert_false(res_name_valid("Node1"));
	assert_false(res_name_valid("-a"));
	assert_false(res_name_valid("a-"));
	assert_false(res_name_valid(".a"));
	assert_false(res_name_valid("a_b"));
	assert_false(res_name_valid("a/b"));

	assert_true(labels_key_valid("app"));
	assert_true(labels_key_valid("App.Tier_1-x"));
	assert_true(labels_key_valid("example.com/app"));
	assert_true(labels_key_valid(long63));
	assert_false(labels_key_valid(long64));
	assert_false(labels_key_valid(""));
	assert_false(labels_key_valid("-app"));
	assert_false(labels_key_valid("app-"));
	assert_false(labels_key_valid("Example.com/app"));
	assert_false(labels_key_valid("/app"));
	assert_false(labels_key_valid("a.com/"));
	assert_false(labels_key_valid("a.com/b/c"));
	assert_false(labels_key_valid("a b"));
	assert_true(labels_value_valid(""));
	assert_true(labels_value_valid("v1.2_x-y"));
	assert_false(labels_value_valid("v/1"));
	assert_false(labels_value_valid("_v"));
	assert_false(labels_value_valid(long64));

	assert_int_equal(labels_set(&l, "zeta", "1"), 0);
	assert_int_equal(labels_set(&l, "alpha", "2"), 0);
	assert_int_equal(labels_set(&l, "mid", ""), 0);
	assert_int_equal(labels_set(&l, "alpha", "3"), 0);
	assert_int_equal(labels_set(&l, "bad key", "x"), -EINVAL);
	assert_int_equal(labels_set(&l, "k", "bad/value"), -EINVAL);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].key, "alpha");
	assert_string_equal(l.v[0].value, "3");
	assert_string_equal(l.v[1].key, "mid");
	assert_string_equal(l.v[2].key, "zeta");
	assert_string_equal(labels_get(&l, "zeta"), "1");
	assert_null(labels_get(&l, "nope"));
	labels_clear(&l);
	assert_int_equal(l.n, 0);
	labels_clear(&l);
}

static const char pool_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: IPPool\n"
	"metadata:\n"
	"  name: pool1\n"
	"  revision: 12   # output only, ignored\n"
	"spec:\n"
	"  cidr: 10.0.0.0/16\n"
	"  blockSize: 24\n"
	"  natOutgoing: true\n"
	"  strictAffinity: true\n"
	"  nodeSelector: role == \"edge\"\n";

static void test_ippool(void **state)
{
	(void)state;
	round_trip(pool_yaml, RES_IPPOOL);
	expect_ok(pool_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPPool\","
		  "\"metadata\":{\"name\":\"pool1\"},\"spec\":{\"cidr\":\"10.0.0.0/16\","
		  "\"blockSize\":24,\"natOutgoing\":true,\"disabled\":false,"
		  "\"strictAffinity\":true,\"nodeSelector\":\"role == \\\"edge\\\"\"}}");
	/* default block size: 26, but never longer than the pool */
	expect_ok("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		  "spec: {cidr: 10.1.0.0/16}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPPool\",\"metadata\":"
		  "{\"name\":\"p\"},\"spec\":{\"cidr\":\"10.1.0.0/16\",\"blockSize\":26,"
		  "\"natOutgoing\":false,\"disabled\":false,\"strictAffinity\":false}}");
	expect_ok("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		  "spec: {cidr: 10.1.0.0/28, disabled: true}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPPool\",\"metadata\":"
		  "{\"name\":\"p\"},\"spec\":{\"cidr\":\"10.1.0.0/28\",\"blockSize\":28,"
		  "\"natOutgoing\":false,\"disabled\":true,\"strictAffinity\":false}}");
	expect_ok("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		  "spec: {cidr: 10.1.0.0/28, blockSize: 30}\n", NULL);

	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.1/24}\n",
		     "t.yaml:4:14: spec.cidr: host bits must be zero in CIDR \"10.0.0.1/24\" "
		     "(did you mean 10.0.0.0/24?)");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0}\n", "spec.cidr: invalid CIDR \"10.0.0.0\"");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 24}\n", "spec.cidr: must be a string, not an integer");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, blockSize: 19}\n",
		     "t.yaml:4:38: spec.blockSize: 19 is out of range (20..32)");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, blockSize: 33}\n",
		     "spec.blockSize: 33 is out of range (20..32)");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/28, blockSize: 26}\n",
		     "spec.blockSize: 26 is shorter than the pool's prefix length 28");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, blockSize: \"26\"}\n",
		     "spec.blockSize: must be an integer, not a string");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, natOutgoing: yes}\n",
		     "spec.natOutgoing: must be true or false, not a string");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, disabled: 1}\n",
		     "spec.disabled: must be true or false");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, strictAffinity: []}\n",
		     "spec.strictAffinity: must be true or false, not a list");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, nodeSelector: [a]}\n",
		     "spec.nodeSelector: must be a string");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: Pool_1}\n"
		     "spec: {cidr: 10.0.0.0/16}\n",
		     "t.yaml:3:18: metadata.name: invalid name \"Pool_1\"");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p, labels: {a: b}}\n"
		     "spec: {cidr: 10.0.0.0/16}\n", "t.yaml:3:21: metadata.labels: unknown field");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n",
		     "t.yaml:1:1: spec: missing required field");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\nspec: {}\n",
		     "t.yaml:4:7: spec.cidr: missing required field");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: p}\n"
		     "spec: {cidr: 10.0.0.0/16, CIDR: 10.0.0.0/16}\n",
		     "t.yaml:4:27: spec.CIDR: unknown field (did you mean \"cidr\"?)");
}

/* The errors the brief and the CLI document show, at exact positions. */
static void test_error_positions(void **state)
{
	struct dec x;

	(void)state;
	/* a bad CIDR: at its value */
	decode(&x, "pools.yaml",
	       "apiVersion: petrel/v1\n"
	       "kind: IPPool\n"
	       "spec:\n"
	       "  cidr: 10.0.0.300/24\n"
	       "metadata:\n"
	       "  name: pool1\n");
	assert_int_equal(x.rc, -EINVAL);
	assert_int_equal(x.e.n, 1);
	assert_string_equal(x.e.msg[0], "pools.yaml:4:9: spec.cidr: invalid CIDR \"10.0.0.300/24\"");
	dec_free(&x);

	/* an unknown field: at its key */
	decode(&x, "p.yaml",
	       "apiVersion: petrel/v1\n"
	       "kind: IPPool\n"
	       "metadata:\n"
	       "  name: pool1\n"
	       "spec:\n"
	       "  cidr: 10.0.0.0/24\n"
	       "  natOutgiong: true\n");
	assert_int_equal(x.rc, -EINVAL);
	assert_int_equal(x.e.n, 1);
	assert_string_equal(x.e.msg[0], "p.yaml:7:3: spec.natOutgiong: unknown field");
	dec_free(&x);

	/* a missing field: at the mapping that should hold it */
	decode(&x, "p.yaml",
	       "apiVersion: petrel/v1\n"
	       "kind: IPPool\n"
	       "metadata:\n"
	       "  name: pool1\n"
	       "spec:\n"
	       "    blockSize: 26\n");
	assert_int_equal(x.rc, -EINVAL);
	assert_int_equal(x.e.n, 1);
	assert_string_equal(x.e.msg[0], "p.yaml:6:5: spec.cidr: missing required field");
	dec_free(&x);

	decode(&x, "p.yaml",
	       "apiVersion: petrel/v1\n"
	       "kind: IPPool\n"
	       "metadata:\n"
	       "  labels: {}\n"
	       "spec: {cidr: 10.0.0.0/24}\n");
	assert_int_equal(x.rc, -EINVAL);
	print_errs(&x.e);
	assert_true(has_err(&x.e, "p.yaml:4:3: metadata.name: missing required field"));
	dec_free(&x);

	/* a duplicate key: at the second one (yamljson refuses it) */
	decode(&x, "p.yaml",
	       "apiVersion: petrel/v1\n"
	       "kind: IPPool\n"
	       "metadata:\n"
	       "  name: pool1\n"
	       "spec:\n"
	       "  cidr: 10.0.0.0/24\n"
	       "  cidr: 10.0.1.0/24\n");
	assert_int_equal(x.rc, -EINVAL);
	assert_int_equal(x.e.n, 1);
	assert_string_equal(x.e.msg[0], "p.yaml:7:3: duplicate key \"cidr\"");
	dec_free(&x);

	/* a syntax error: at libyaml's mark */
	decode(&x, "p.yaml",
	       "apiVersion: petrel/v1\n"
	       "kind: IPPool\n"
	       "metadata:\n"
	       "  name: [pool1\n"
	       "spec: {}\n");
	assert_int_equal(x.rc, -EINVAL);
	assert_int_equal(x.e.n, 1);
	print_errs(&x.e);
	assert_non_null(strstr(x.e.msg[0], "p.yaml:5:5: "));
	dec_free(&x);

	/* no document positions: "field.path: message" */
	{
		json_t *j = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "apiVersion",
				      "petrel/v1", "kind", "IPPool", "metadata", "name",
				      "p", "spec", "cidr", "10.0.0.1/24");
		struct ippool p;
		struct errs e = ERRS_INIT;

		assert_int_equal(ippool_from_json(j, NULL, NULL, &p, &e), -EINVAL);
		assert_int_equal(e.n, 1);
		assert_string_equal(e.msg[0], "spec.cidr: host bits must be zero in CIDR "
				    "\"10.0.0.1/24\" (did you mean 10.0.0.0/24?)");
		errs_clear(&e);
		json_decref(j);
	}
}

static void test_all_errors_reported(void **state)
{
	struct dec x;

	(void)state;
	decode(&x, "p.yaml",
	       "apiVersion: petrel/v2\n"			/* 1 */
	       "kind: IPPool\n"
	       "metadata:\n"
	       "  name: Bad_Name\n"				/* 4 */
	       "  color: red\n"					/* 5 */
	       "spec:\n"
	       "  cidr: 10.0.0.300/24\n"			/* 7 */
	       "  blockSize: 40\n"				/* 8 */
	       "  natOutgoing: maybe\n"				/* 9 */
	       "  extra: 1\n"					/* 10 */
	       "status: {}\n");					/* 11 */
	assert_int_equal(x.rc, -EINVAL);
	print_errs(&x.e);
	assert_int_equal(x.e.n, 8);
	assert_true(has_err(&x.e, "p.yaml:1:13: apiVersion: unsupported \"petrel/v2\""));
	assert_true(has_err(&x.e, "p.yaml:4:9: metadata.name: invalid name"));
	assert_true(has_err(&x.e, "p.yaml:5:3: metadata.color: unknown field"));
	assert_true(has_err(&x.e, "p.yaml:7:9: spec.cidr: invalid CIDR"));
	assert_true(has_err(&x.e, "p.yaml:8:14: spec.blockSize: 40 is out of range"));
	assert_true(has_err(&x.e, "p.yaml:9:16: spec.natOutgoing: must be true or false"));
	assert_true(has_err(&x.e, "p.yaml:10:3: spec.extra: unknown field"));
	assert_true(has_err(&x.e, "p.yaml:11:1: status: unknown field"));
	dec_free(&x);
}

static void test_frame(void **state)
{
	struct resource r;
	struct errs e = ERRS_INIT;
	json_t *j;

	(void)state;
	expect_error("kind: Pool\nmetadata: {name: p}\nspec: {}\n",
		     "t.yaml:1:7: kind: unknown kind \"Pool\" (did you mean IPPool?)");
	expect_error("kind: Frob\napiVersion: v1\n",
		     "t.yaml:1:7: kind: unknown kind \"Frob\"");
	expect_error("kind: Frob\napiVersion: v1\n",
		     "t.yaml:2:13: apiVersion: unsupported \"v1\"");
	expect_error("apiVersion: petrel/v1\nmetadata: {name: p}\n",
		     "t.yaml:1:1: kind: missing required field");
	expect_error("kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/24}\n",
		     "t.yaml:1:1: apiVersion: missing required field");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nspec: {cidr: 10.0.0.0/24}\n",
		     "t.yaml:1:1: metadata: missing required field");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: p\nspec: {cidr: 10.0.0.0/24}\n",
		     "t.yaml:3:11: metadata: must be a mapping, not a string");
	expect_error("apiVersion: petrel/v1\nkind: IPPool\nmetadata: {name: 7}\n"
		     "spec: {cidr: 10.0.0.0/24}\n", "metadata.name: must be a string");
	expect_error("- a\n- b\n", "t.yaml:1:1: a document must be a mapping, not a list");

	/* a kind decoder given another kind */
	j = json_pack("{s:s, s:s, s:{s:s}, s:{}}", "apiVersion", "petrel/v1", "kind",
		      "Node", "metadata", "name", "n1", "spec");
	assert_int_equal(ippool_from_json(j, NULL, "x.json", &r.u.pool, &e), -EINVAL);
	assert_true(has_err(&e, "x.json: kind: expected IPPool, not \"Node\""));
	errs_clear(&e);
	assert_int_equal(node_from_json(j, NULL, NULL, &r.u.node, NULL), 0);
	node_clear(&r.u.node);
	json_decref(j);
}

static void test_failed_decode_untouched(void **state)
{
	struct resource r, before;
	struct errs e = ERRS_INIT;
	json_t *j;

	(void)state;
	memset(&r, 0xa5, sizeof(r));
	before = r;
	j = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:{s:s}}}", "apiVersion",
		      "petrel/v1", "kind", "Node", "metadata", "name", "n1", "labels",
		      "a", "b", "spec", "bgp", "ipv4Address", "nope");
	assert_int_equal(res_from_json(j, NULL, NULL, &r, &e), -EINVAL);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(node_from_json(j, NULL, NULL, &r.u.node, &e), -EINVAL);
	assert_memory_equal(&r, &before, sizeof(r));
	errs_clear(&e);
	json_decref(j);
}

static const char node_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: Node\n"
	"metadata:\n"
	"  name: node1\n"
	"  labels:\n"
	"    zone: b\n"
	"    example.com/rack: r1\n"
	"    app: \"\"\n"
	"spec:\n"
	"  bgp:\n"
	"    ipv4Address: 192.0.2.11/24\n"
	"    asNumber: 4294967295\n"
	"    routeReflectorClusterID: 224.0.0.1\n";

static void test_node(void **state)
{
	(void)state;
	round_trip(node_yaml, RES_NODE);
	/* labels sorted by key; the address kept without its length */
	expect_ok(node_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\",\"metadata\":"
		  "{\"name\":\"node1\",\"labels\":{\"app\":\"\",\"example.com/rack\":\"r1\","
		  "\"zone\":\"b\"}},\"spec\":{\"bgp\":{\"ipv4Address\":\"192.0.2.11\","
		  "\"asNumber\":4294967295,\"routeReflectorClusterID\":\"224.0.0.1\"}}}");
	expect_ok("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\",\"metadata\":"
		  "{\"name\":\"n\"},\"spec\":{}}");
	expect_ok("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		  "spec: {bgp: {ipv4Address: 10.0.0.1}}\n", NULL);

	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {ipv4Address: 10.0.0}}\n",
		     "t.yaml:4:27: spec.bgp.ipv4Address: invalid IPv4 address \"10.0.0\"");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {ipv4Address: 0.0.0.0}}\n", "spec.bgp.ipv4Address: 0.0.0.0");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {asNumber: 0}}\n",
		     "spec.bgp.asNumber: 0 is out of range (1..4294967295)");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {asNumber: 4294967296}}\n", "spec.bgp.asNumber: 4294967296 is out");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {asNumber: 64512.1}}\n", "spec.bgp.asNumber: must be an integer");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {routeReflectorClusterID: 1.2.3}}\n",
		     "spec.bgp.routeReflectorClusterID: invalid cluster ID \"1.2.3\"");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: {peerIP: 10.0.0.1}}\n", "spec.bgp.peerIP: unknown field");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\n"
		     "spec: {bgp: 1}\n", "spec.bgp: must be a mapping, not an integer");
	expect_error("apiVersion: petrel/v1\nkind: Node\nmetadata: {name: n}\nspec: {asn: 1}\n",
		     "spec.asn: unknown field");
	expect_error("apiVersion: petrel/v1\nkind: Node\n"
		     "metadata: {name: n, labels: {\"-bad\": x}}\n",
		     "t.yaml:3:30: metadata.labels.-bad: invalid label key");
	expect_error("apiVersion: petrel/v1\nkind: Node\n"
		     "metadata: {name: n, labels: {Bad.Prefix/x: y}}\n",
		     "metadata.labels.Bad.Prefix/x: invalid label key");
	expect_error("apiVersion: petrel/v1\nkind: Node\n"
		     "metadata: {name: n, labels: {k: \"a b\"}}\n",
		     "t.yaml:3:33: metadata.labels.k: invalid label value \"a b\"");
	expect_error("apiVersion: petrel/v1\nkind: Node\n"
		     "metadata: {name: n, labels: {k: 1}}\n",
		     "metadata.labels.k: a label value must be a string, not an integer");
	expect_error("apiVersion: petrel/v1\nkind: Node\n"
		     "metadata: {name: n, labels: [a]}\n",
		     "metadata.labels: must be a mapping, not a list");
}

static const char wep_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: WorkloadEndpoint\n"
	"metadata:\n"
	"  name: web\n"
	"  labels: {app: web, tier: front}\n"
	"spec:\n"
	"  node: node1\n"
	"  mode: routed\n"
	"  netns: /run/netns/web\n"
	"  interfaceName: ptl0123456789ab\n"
	"  workloadInterfaceName: eth0\n"
	"  ipNetworks: [10.0.0.5/32]\n"
	"  mac: EE:ee:ee:ee:ee:01\n"
	"  containerID: 0123abcd\n";

#define WEP_HEAD "apiVersion: petrel/v1\nkind: WorkloadEndpoint\nmetadata: {name: w}\n"

static void test_wep(void **state)
{
	struct dec x;
	char name[160];

	(void)state;
	round_trip(wep_yaml, RES_WEP);
	expect_ok(wep_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"WorkloadEndpoint\","
		  "\"metadata\":{\"name\":\"web\",\"labels\":{\"app\":\"web\",\"tier\":\"front\"}},"
		  "\"spec\":{\"node\":\"node1\",\"mode\":\"routed\",\"netns\":\"/run/netns/web\","
		  "\"interfaceName\":\"ptl0123456789ab\",\"workloadInterfaceName\":\"eth0\","
		  "\"ipNetworks\":[\"10.0.0.5/32\"],\"mac\":\"ee:ee:ee:ee:ee:01\","
		  "\"containerID\":\"0123abcd\"}}");
	decode(&x, "w.yaml", wep_yaml);
	assert_int_equal(x.rc, 0);
	res_name(&x.r, name, sizeof(name));
	assert_string_equal(name, "node1/web");
	assert_int_equal(x.r.u.wep.n_nets, 1);
	assert_int_equal(x.r.u.wep.nets[0].addr, 0x0a000005);
	assert_true(x.r.u.wep.has_mac);
	assert_int_equal(x.r.u.wep.mac[0], 0xee);
	assert_int_equal(x.r.u.wep.mac[5], 0x01);
	dec_free(&x);

	round_trip(WEP_HEAD "spec: {node: n1, mode: container, container: other}\n", RES_WEP);
	round_trip(WEP_HEAD "spec: {node: n1, mode: host}\n", RES_WEP);
	round_trip(WEP_HEAD "spec: {node: n1, mode: none, netns: /run/netns/w}\n", RES_WEP);
	round_trip(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1, 10.0.0.2/32, "
		   "10.0.0.3/32, 10.0.0.4/32]}\n", RES_WEP);

	expect_error(WEP_HEAD "spec: {mode: host}\n", "t.yaml:4:7: spec.node: missing required field");
	expect_error(WEP_HEAD "spec: {node: N1, mode: host}\n",
		     "t.yaml:4:14: spec.node: invalid node name \"N1\"");
	expect_error(WEP_HEAD "spec: {node: n1, mode: bridge}\n",
		     "t.yaml:4:24: spec.mode: unknown mode \"bridge\"");
	expect_error(WEP_HEAD "spec: {node: n1, mode: container}\n",
		     "t.yaml:4:7: spec.container: missing required field");
	expect_error(WEP_HEAD "spec: {node: n1, mode: host, container: x}\n",
		     "spec.container: only allowed with mode container");
	expect_error(WEP_HEAD "spec: {node: n1, mode: container, container: w}\n",
		     "spec.container: a workload cannot join itself");
	expect_error(WEP_HEAD "spec: {node: n1, mode: container, container: X}\n",
		     "spec.container: invalid workload name");
	expect_error(WEP_HEAD "spec: {node: n1, mode: routed}\n",
		     "t.yaml:4:7: spec.ipNetworks: missing required field");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: []}\n",
		     "spec.ipNetworks: mode routed needs an address");
	expect_error(WEP_HEAD "spec: {node: n1, mode: host, ipNetworks: [10.0.0.1/32]}\n",
		     "spec.ipNetworks: only allowed with mode routed");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1/32, 10.0.0.0/24]}\n",
		     "t.yaml:4:44: spec.ipNetworks[1]: invalid address \"10.0.0.0/24\"");
	expect_error(WEP_HEAD "spec:\n  node: n1\n  ipNetworks:\n  - 10.0.0.1/32\n  - 10.0.0.1\n",
		     "t.yaml:8:5: spec.ipNetworks[1]: duplicate address");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1, 10.0.0.2, 10.0.0.3, "
		     "10.0.0.4, 10.0.0.5]}\n", "spec.ipNetworks: too many networks (5, at most 4)");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [7]}\n",
		     "spec.ipNetworks[0]: must be a string, not an integer");
	{
		/* one error for one mistake: no "missing" on top of "must be a list" */
		decode(&x, "t.yaml", WEP_HEAD "spec: {node: n1, ipNetworks: 10.0.0.1/32}\n");
		assert_int_equal(x.rc, -EINVAL);
		assert_int_equal(x.e.n, 1);
		assert_string_equal(x.e.msg[0], "t.yaml:4:30: spec.ipNetworks: must be a list, "
				    "not a string");
		dec_free(&x);
	}
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], mac: ee:ee:ee:ee:ee}\n",
		     "spec.mac: invalid MAC address \"ee:ee:ee:ee:ee\"");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], mac: ee-ee-ee-ee-ee-ee}\n",
		     "spec.mac: invalid MAC address");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], mac: 01:00:5e:00:00:01}\n",
		     "spec.mac: \"01:00:5e:00:00:01\" is a multicast address");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], mac: 00:00:00:00:00:00}\n",
		     "spec.mac: 00:00:00:00:00:00 is not an address");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], "
		     "interfaceName: abcdefghijklmnop}\n",
		     "spec.interfaceName: invalid interface name \"abcdefghijklmnop\"");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], "
		     "workloadInterfaceName: \"et/h0\"}\n",
		     "spec.workloadInterfaceName: invalid interface name");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], "
		     "workloadInterfaceName: \"\"}\n",
		     "spec.workloadInterfaceName: invalid interface name");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], netns: run/netns/w}\n",
		     "spec.netns: must be an absolute path");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], containerID: \"a b\"}\n",
		     "spec.containerID: invalid container ID");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], "
		     "containerID: 0123456789012345678901234567890123456789012345678901234567890123456789012}\n",
		     "spec.containerID: invalid container ID");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], netns: \"/a\\tb\"}\n",
		     "spec.netns: must not contain control characters");
	expect_error(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], port: []}\n",
		     "spec.port: unknown field");
	expect_error("apiVersion: petrel/v1\nkind: WorkloadEndpoint\nmetadata: {name: web.}\n"
		     "spec: {node: n1, mode: host}\n", "metadata.name: invalid name \"web.\"");
}

static const char block_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: IPAMBlock\n"
	"metadata:\n"
	"  name: 10.0.0.64-26\n"
	"spec:\n"
	"  cidr: 10.0.0.64/26\n"
	"  affinity: node1\n"
	"  pool: pool1\n"
	"  allocations:\n"
	"    \"10\": abc.eth0\n"
	"    \"2\": def.eth0\n"
	"    \"63\": ghi.eth0\n"
	"    0: gw\n";

#define BLOCK_HEAD "apiVersion: petrel/v1\nkind: IPAMBlock\nmetadata: {name: 10.0.0.64-26}\n"

static void test_ipam_block(void **state)
{
	struct ip4_net cidr = { 0x0a000040, 26 };
	struct ipamblock b;
	char name[IP4_NETSTRLEN];
	struct dec x;

	(void)state;
	ipamblock_name(&cidr, name);
	assert_string_equal(name, "10.0.0.64-26");
	assert_int_equal(ipamblock_init(&b, &cidr), 0);
	assert_int_equal(ipamblock_used(&b), 0);
	b.handles[5] = strdup("h");
	assert_int_equal(ipamblock_used(&b), 1);
	ipamblock_clear(&b);
	ipamblock_clear(&b);
	cidr.len = 16;
	assert_int_equal(ipamblock_init(&b, &cidr), -EINVAL);

	round_trip(block_yaml, RES_IPAMBLOCK);
	/* allocations sorted numerically */
	expect_ok(block_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPAMBlock\","
		  "\"metadata\":{\"name\":\"10.0.0.64-26\"},\"spec\":{\"cidr\":\"10.0.0.64/26\","
		  "\"affinity\":\"node1\",\"pool\":\"pool1\",\"allocations\":{\"0\":\"gw\","
		  "\"2\":\"def.eth0\",\"10\":\"abc.eth0\",\"63\":\"ghi.eth0\"}}}");
	decode(&x, "b.yaml", block_yaml);
	assert_int_equal(x.rc, 0);
	assert_int_equal(ipamblock_used(&x.r.u.block), 4);
	assert_string_equal(x.r.u.block.handles[10], "abc.eth0");
	assert_null(x.r.u.block.handles[11]);
	res_name(&x.r, name, sizeof(name));
	assert_string_equal(name, "10.0.0.64-26");
	dec_free(&x);
	round_trip(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26}\n", RES_IPAMBLOCK);

	expect_error("apiVersion: petrel/v1\nkind: IPAMBlock\nmetadata: {name: 10.0.0.0-26}\n"
		     "spec: {cidr: 10.0.0.64/26}\n",
		     "t.yaml:3:18: metadata.name: \"10.0.0.0-26\" does not match spec.cidr "
		     "(expected \"10.0.0.64-26\")");
	expect_error("apiVersion: petrel/v1\nkind: IPAMBlock\nmetadata: {name: 10.0.0.0-16}\n"
		     "spec: {cidr: 10.0.0.0/16}\n", "spec.cidr: a block is /20 to /32, not /16");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.65/26}\n",
		     "spec.cidr: host bits must be zero");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, allocations: {\"64\": h}}\n",
		     "t.yaml:4:42: spec.allocations.64: invalid ordinal \"64\" (0..63)");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, allocations: {\"01\": h}}\n",
		     "spec.allocations.01: invalid ordinal");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, allocations: {\"-1\": h}}\n",
		     "spec.allocations.-1: invalid ordinal");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, allocations: {\"1\": \"a b\"}}\n",
		     "t.yaml:4:47: spec.allocations.1: invalid handle ID \"a b\"");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, allocations: {\"1\": 5}}\n",
		     "spec.allocations.1: a handle ID must be a string, not an integer");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, allocations: [a]}\n",
		     "spec.allocations: must be a mapping");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, affinity: Node1}\n",
		     "spec.affinity: invalid node name \"Node1\"");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, pool: \"p p\"}\n",
		     "spec.pool: invalid pool name");
	expect_error(BLOCK_HEAD "spec: {cidr: 10.0.0.64/26, unallocated: []}\n",
		     "spec.unallocated: unknown field");
}

/* A /20 block with every address allocated, keys in reverse order. */
static void test_ipam_block_big(void **state)
{
	struct ip4_net cidr = { 0x0a100000, 20 };
	struct resource r = { .kind = RES_IPAMBLOCK }, r2;
	struct errs e = ERRS_INIT;
	json_t *j, *al;
	char *t1, *t2;
	size_t i = 0;
	const char *key;
	json_t *val;

	(void)state;
	j = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:{}}}", "apiVersion", "petrel/v1",
		      "kind", "IPAMBlock", "metadata", "name", "10.16.0.0-20", "spec",
		      "cidr", "10.16.0.0/20", "allocations");
	al = json_object_get(json_object_get(j, "spec"), "allocations");
	for (int k = 4095; k >= 0; k--) {
		char ord[16], h[48];

		snprintf(ord, sizeof(ord), "%d", k);
		snprintf(h, sizeof(h), "container%04d.eth0", k);
		json_object_set_new(al, ord, json_string(h));
	}
	assert_int_equal(ipamblock_from_json(j, NULL, NULL, &r.u.block, &e), 0);
	assert_int_equal(ipamblock_used(&r.u.block), 4096);
	assert_string_equal(r.u.block.handles[4095], "container4095.eth0");
	json_decref(j);

	j = res_to_json(&r);
	al = json_object_get(json_object_get(j, "spec"), "allocations");
	assert_int_equal(json_object_size(al), 4096);
	json_object_foreach(al, key, val) {
		char want[24];

		snprintf(want, sizeof(want), "%zu", i++);
		assert_string_equal(key, want);
	}
	json_decref(j);
	t1 = res_to_text(&r);
	assert_int_equal(res_from_text(RES_IPAMBLOCK, t1, 3, &r2, &e), 0);
	t2 = res_to_text(&r2);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
	res_clear(&r2);
	res_clear(&r);
	(void)cidr;
}

static const char handle_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: IPAMHandle\n"
	"metadata:\n"
	"  name: 0123abcd.eth0\n"
	"spec:\n"
	"  addresses: [10.0.0.5, 10.0.0.9]\n"
	"  created: 1700000000\n";

#define HANDLE_HEAD "apiVersion: petrel/v1\nkind: IPAMHandle\nmetadata: {name: h1}\n"

static void test_ipam_handle(void **state)
{
	char longid[200];

	(void)state;
	round_trip(handle_yaml, RES_IPAMHANDLE);
	expect_ok(handle_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"IPAMHandle\","
		  "\"metadata\":{\"name\":\"0123abcd.eth0\"},\"spec\":{\"addresses\":"
		  "[\"10.0.0.5\",\"10.0.0.9\"],\"created\":1700000000}}");
	round_trip(HANDLE_HEAD "spec: {}\n", RES_IPAMHANDLE);
	round_trip("apiVersion: petrel/v1\nkind: IPAMHandle\nmetadata: {name: A_b-C.1}\n"
		   "spec: {addresses: []}\n", RES_IPAMHANDLE);

	expect_error("apiVersion: petrel/v1\nkind: IPAMHandle\nmetadata: {name: \"a/b\"}\n"
		     "spec: {}\n", "t.yaml:3:18: metadata.name: invalid handle ID \"a/b\"");
	memset(longid, 'a', 160);
	longid[160] = '\0';
	{
		char doc[512];

		snprintf(doc, sizeof(doc), "apiVersion: petrel/v1\nkind: IPAMHandle\n"
			 "metadata: {name: %s}\nspec: {}\n", longid);
		expect_error(doc, "metadata.name: invalid handle ID");
		longid[159] = '\0';
		snprintf(doc, sizeof(doc), "apiVersion: petrel/v1\nkind: IPAMHandle\n"
			 "metadata: {name: %s}\nspec: {}\n", longid);
		expect_ok(doc, NULL);
	}
	expect_error(HANDLE_HEAD "spec: {addresses: [10.0.0.256]}\n",
		     "t.yaml:4:20: spec.addresses[0]: invalid IP address \"10.0.0.256\"");
	expect_error(HANDLE_HEAD "spec: {addresses: [10.0.0.1/32]}\n",
		     "spec.addresses[0]: invalid IP address");
	expect_error(HANDLE_HEAD "spec: {addresses: [10.0.0.1, 10.0.0.1]}\n",
		     "spec.addresses[1]: duplicate address");
	expect_error(HANDLE_HEAD "spec: {addresses: [1]}\n",
		     "spec.addresses[0]: invalid IP address");
	expect_error(HANDLE_HEAD "spec: {created: -1}\n", "spec.created: -1 is out of range");
	expect_error(HANDLE_HEAD "spec: {created: soon}\n", "spec.created: must be an integer");
	expect_error(HANDLE_HEAD "spec: {handleID: x}\n", "spec.handleID: unknown field");
}

static void test_text_codec(void **state)
{
	struct resource r = { 0 };
	struct errs e = ERRS_INIT;
	json_t *j;
	char *t;

	(void)state;
	assert_int_equal(res_from_text(RES_IPPOOL, "{not json", 1, &r, &e), -EINVAL);
	assert_true(has_err(&e, "invalid stored IPPool"));
	errs_clear(&e);
	assert_int_equal(res_from_text(RES_IPPOOL,
				       "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\","
				       "\"metadata\":{\"name\":\"n\"}}", 1, &r, &e), -EINVAL);
	assert_true(has_err(&e, "stored document is a Node, expected a IPPool"));
	errs_clear(&e);
	assert_int_equal(res_from_text(RES_NODE,
				       "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\","
				       "\"metadata\":{\"name\":\"n\",\"name\":\"m\"}}", 1, &r, &e),
			 -EINVAL);
	errs_clear(&e);
	assert_int_equal(res_from_text(RES_NODE,
				       "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\","
				       "\"metadata\":{\"name\":\"n\",\"revision\":99}}", 42, &r, &e),
			 0);
	assert_int_equal(r.revision, 42);
	/* output: revision in res_to_json's metadata, never in the stored text */
	j = res_to_json(&r);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "metadata"),
							    "revision")), 42);
	json_decref(j);
	t = res_to_text(&r);
	assert_string_equal(t, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Node\","
			    "\"metadata\":{\"name\":\"n\"},\"spec\":{}}");
	free(t);
	res_clear(&r);
	res_clear(&r);
	assert_int_equal(e.n, 0);
}

/* ------------------------------------------------ BGPConfiguration, BGPPeer
 * (added with the BGP issue) */

static const char bgpconfig_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: BGPConfiguration\n"
	"metadata:\n"
	"  name: default\n"
	"spec:\n"
	"  asNumber: 65000\n"
	"  nodeToNodeMesh: false\n"
	"  meshPassword: 'm3sh pass'\n"
	"  communities: ['65000:100', '65000:1:4294967295']\n"
	"  gracefulRestartTime: 300\n"
	"  listenPort: 1179\n"
	"  logLevel: debug\n";

#define BGPC_HEAD "apiVersion: petrel/v1\nkind: BGPConfiguration\nmetadata: {name: default}\n"

static void test_bgpconfig(void **state)
{
	char doc[512];

	(void)state;
	assert_int_equal(res_kind_parse("BGPConfiguration"), RES_BGPCONFIG);
	assert_int_equal(res_kind_parse("bgpconfigurations"), RES_BGPCONFIG);
	assert_int_equal(res_kind_parse("bgpconfig"), RES_BGPCONFIG);
	assert_string_equal(res_kind_plural(RES_BGPCONFIG), "bgpconfigurations");
	round_trip(bgpconfig_yaml, RES_BGPCONFIG);
	expect_ok(bgpconfig_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"BGPConfiguration\","
		  "\"metadata\":{\"name\":\"default\"},\"spec\":{\"asNumber\":65000,"
		  "\"nodeToNodeMesh\":false,\"meshPassword\":\"m3sh pass\",\"communities\":"
		  "[\"65000:100\",\"65000:1:4294967295\"],\"gracefulRestartTime\":300,"
		  "\"listenPort\":1179,\"logLevel\":\"debug\"}}");
	/* the defaults: mesh on, AS 64512, graceful restart 120 s, port 179 */
	expect_ok(BGPC_HEAD, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"BGPConfiguration\","
		  "\"metadata\":{\"name\":\"default\"},\"spec\":{\"asNumber\":64512,"
		  "\"nodeToNodeMesh\":true,\"gracefulRestartTime\":120,\"listenPort\":179,"
		  "\"logLevel\":\"info\"}}");
	round_trip(BGPC_HEAD "spec: {}\n", RES_BGPCONFIG);

	expect_error("apiVersion: petrel/v1\nkind: BGPConfiguration\nmetadata: {name: global}\n",
		     "t.yaml:3:18: metadata.name: must be \"default\" (the cluster-wide "
		     "configuration), not \"global\"");
	expect_error(BGPC_HEAD "spec: {asNumber: 0}\n",
		     "t.yaml:4:18: spec.asNumber: 0 is out of range (1..4294967295)");
	expect_error(BGPC_HEAD "spec: {asNumber: 4294967296}\n", "spec.asNumber: 4294967296 is out");
	expect_error(BGPC_HEAD "spec: {nodeToNodeMesh: yes}\n",
		     "spec.nodeToNodeMesh: must be true or false, not a string");
	expect_error(BGPC_HEAD "spec: {gracefulRestartTime: 0}\n",
		     "spec.gracefulRestartTime: 0 is out of range (1..4095)");
	expect_error(BGPC_HEAD "spec: {gracefulRestartTime: 4096}\n",
		     "spec.gracefulRestartTime: 4096 is out of range");
	expect_error(BGPC_HEAD "spec: {listenPort: 0}\n", "spec.listenPort: 0 is out of range (1..65535)");
	expect_error(BGPC_HEAD "spec: {listenPort: 65536}\n", "spec.listenPort: 65536 is out");
	expect_error(BGPC_HEAD "spec: {logLevel: loud}\n",
		     "spec.logLevel: unknown value \"loud\" (error, warning, info or debug)");
	expect_error(BGPC_HEAD "spec: {communities: ['65536:1']}\n",
		     "t.yaml:4:22: spec.communities[0]: invalid community \"65536:1\"");
	expect_error(BGPC_HEAD "spec: {communities: ['1:2', '1:02']}\n",
		     "spec.communities[1]: invalid community \"1:02\"");
	expect_error(BGPC_HEAD "spec: {communities: ['1:2:3:4']}\n", "invalid community \"1:2:3:4\"");
	expect_error(BGPC_HEAD "spec: {communities: ['1']}\n", "invalid community \"1\"");
	expect_error(BGPC_HEAD "spec: {communities: ['1:2', '1:2']}\n",
		     "spec.communities[1]: duplicate community \"1:2\"");
	expect_error(BGPC_HEAD "spec: {communities: [12]}\n",
		     "spec.communities[0]: must be a string, not an integer");
	expect_error(BGPC_HEAD "spec: {communities: '1:2'}\n",
		     "spec.communities: must be a list, not a string");
	expect_error(BGPC_HEAD "spec: {communities: ['1:1', '1:2', '1:3', '1:4', '1:5', '1:6', "
		     "'1:7', '1:8', '1:9', '1:10', '1:11', '1:12', '1:13', '1:14', '1:15', '1:16', "
		     "'1:17']}\n", "spec.communities: too many communities (17, at most 16)");
	expect_error(BGPC_HEAD "spec: {meshPassword: ''}\n", "spec.meshPassword: must not be empty");
	expect_error(BGPC_HEAD "spec: {nodetonodemesh: true}\n",
		     "spec.nodetonodemesh: unknown field (did you mean \"nodeToNodeMesh\"?)");
	/* a bad password is never repeated in the message */
	{
		struct dec x;

		decode(&x, "t.yaml", BGPC_HEAD "spec: {meshPassword: 'se\"cr3t'}\n");
		assert_int_equal(x.rc, -EINVAL);
		assert_true(has_err(&x.e, "spec.meshPassword: must be printable ASCII without"));
		for (size_t i = 0; i < x.e.n; i++)
			assert_null(strstr(x.e.msg[i], "cr3t"));
		dec_free(&x);
	}
	snprintf(doc, sizeof(doc), BGPC_HEAD "spec: {meshPassword: '%081d'}\n", 0);
	expect_error(doc, "spec.meshPassword: too long (81 characters, at most 80)");
	snprintf(doc, sizeof(doc), BGPC_HEAD "spec: {meshPassword: '%080d'}\n", 0);
	expect_ok(doc, NULL);
	expect_error(BGPC_HEAD "spec: {meshPassword: 'a\\\\b'}\n",
		     "spec.meshPassword: must be printable ASCII");
}

static const char bgppeer_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: BGPPeer\n"
	"metadata:\n"
	"  name: tor-a\n"
	"spec:\n"
	"  peerIP: 192.0.2.1:1179\n"
	"  asNumber: 4294967295\n"
	"  nodeSelector: rack == \"r1\"\n"
	"  password: 'md5 s3cret!'\n"
	"  keepaliveTime: 3\n"
	"  holdTime: 9\n"
	"  bfd: true\n"
	"  ttlSecurity: true\n"
	"  multihop: 2\n"
	"  nextHopMode: self\n"
	"  sourceAddress: nodeIP\n"
	"  import: all\n";

#define PEER_HEAD "apiVersion: petrel/v1\nkind: BGPPeer\nmetadata: {name: p}\n"

static void test_bgppeer(void **state)
{
	(void)state;
	assert_int_equal(res_kind_parse("BGPPeer"), RES_BGPPEER);
	assert_int_equal(res_kind_parse("bgppeers"), RES_BGPPEER);
	assert_int_equal(res_kind_parse("peer"), RES_BGPPEER);
	round_trip(bgppeer_yaml, RES_BGPPEER);
	expect_ok(bgppeer_yaml, "{\"apiVersion\":\"petrel/v1\",\"kind\":\"BGPPeer\","
		  "\"metadata\":{\"name\":\"tor-a\"},\"spec\":{\"peerIP\":\"192.0.2.1:1179\","
		  "\"asNumber\":4294967295,\"nodeSelector\":\"rack == \\\"r1\\\"\","
		  "\"password\":\"md5 s3cret!\",\"keepaliveTime\":3,\"holdTime\":9,\"bfd\":true,"
		  "\"ttlSecurity\":true,\"multihop\":2,\"nextHopMode\":\"self\","
		  "\"sourceAddress\":\"nodeIP\",\"import\":\"all\"}}");
	expect_ok(PEER_HEAD "spec: {peerIP: 192.0.2.1, asNumber: 65001, node: node1}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"BGPPeer\",\"metadata\":{\"name\":\"p\"},"
		  "\"spec\":{\"peerIP\":\"192.0.2.1\",\"asNumber\":65001,\"node\":\"node1\","
		  "\"bfd\":false,\"ttlSecurity\":false,\"nextHopMode\":\"auto\","
		  "\"sourceAddress\":\"nodeIP\",\"import\":\"pools\"}}");
	round_trip(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, sourceAddress: auto, "
		   "nextHopMode: keep}\n", RES_BGPPEER);
	round_trip(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, nodeSelector: all()}\n",
		   RES_BGPPEER);

	expect_error(PEER_HEAD "spec: {asNumber: 65001}\n", "t.yaml:4:7: spec.peerIP: missing required field");
	expect_error(PEER_HEAD "spec: {peerIP: 192.0.2.1}\n", "spec.asNumber: missing required field");
	expect_error(PEER_HEAD, "spec: missing required field");
	expect_error(PEER_HEAD "spec: {peerIP: 192.0.2.1, asNumber: 0}\n",
		     "spec.asNumber: 0 is out of range (1..4294967295)");
	expect_error(PEER_HEAD "spec: {peerIP: 192.0.2.1, asNumber: 4294967296}\n",
		     "spec.asNumber: 4294967296 is out of range");
	expect_error(PEER_HEAD "spec: {peerIP: 192.0.2.300, asNumber: 1}\n",
		     "t.yaml:4:16: spec.peerIP: invalid peer address \"192.0.2.300\" "
		     "(expected A.B.C.D or A.B.C.D:PORT)");
	expect_error(PEER_HEAD "spec: {peerIP: '192.0.2.1:0', asNumber: 1}\n", "invalid peer address");
	expect_error(PEER_HEAD "spec: {peerIP: '192.0.2.1:65536', asNumber: 1}\n", "invalid peer address");
	expect_error(PEER_HEAD "spec: {peerIP: '192.0.2.1:', asNumber: 1}\n", "invalid peer address");
	expect_error(PEER_HEAD "spec: {peerIP: '192.0.2.1:0179', asNumber: 1}\n", "invalid peer address");
	expect_error(PEER_HEAD "spec: {peerIP: 192.0.2.01, asNumber: 1}\n", "invalid peer address");
	expect_error(PEER_HEAD "spec: {peerIP: 192.0.2.0/24, asNumber: 1}\n", "invalid peer address");
	expect_error(PEER_HEAD "spec: {peerIP: 0.0.0.0, asNumber: 1}\n",
		     "spec.peerIP: 0.0.0.0 is not a peer address");
	expect_error(PEER_HEAD "spec: {peerIP: 224.0.0.5, asNumber: 1}\n",
		     "spec.peerIP: \"224.0.0.5\" is a multicast address");
	expect_error(PEER_HEAD "spec: {peerIP: 255.255.255.255, asNumber: 1}\n",
		     "spec.peerIP: 255.255.255.255 is not a peer address");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, node: Node_1}\n",
		     "spec.node: invalid node name \"Node_1\"");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, node: n1, "
		     "nodeSelector: all()}\n",
		     "spec.nodeSelector: give node or nodeSelector, not both");
	/* the whole selector language (model/selector.h) */
	round_trip(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, "
		   "nodeSelector: 'a == \"b\" && !has(c)'}\n", RES_BGPPEER);
	/* a selector error: at the string's position plus the parser's offset */
	expect_error(PEER_HEAD "spec:\n  peerIP: 10.0.0.1\n  asNumber: 1\n"
		     "  nodeSelector: a == \"b\" &&\n",
		     "t.yaml:7:28: spec.nodeSelector: expected ");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, nodeSelector: 7}\n",
		     "spec.nodeSelector: must be a string, not an integer");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, keepaliveTime: 9, "
		     "holdTime: 9}\n", "spec.keepaliveTime: 9 s must be less than the hold time (9 s)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, keepaliveTime: 300}\n",
		     "spec.keepaliveTime: 300 s must be less than the hold time (240 s, the default)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, holdTime: 2}\n",
		     "spec.holdTime: 2 is out of range (3..65535)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, keepaliveTime: 0}\n",
		     "spec.keepaliveTime: 0 is out of range (1..65535)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, multihop: 0}\n",
		     "spec.multihop: 0 is out of range (1..255)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, multihop: 256}\n",
		     "spec.multihop: 256 is out of range");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, bfd: 1}\n",
		     "spec.bfd: must be true or false, not an integer");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, nextHopMode: Self}\n",
		     "spec.nextHopMode: unknown value \"Self\" (auto, self or keep)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, sourceAddress: UseNodeIP}\n",
		     "spec.sourceAddress: unknown value \"UseNodeIP\" (nodeIP or auto)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, import: none}\n",
		     "spec.import: unknown value \"none\" (pools or all)");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, bfd: true, multihop: 2, "
		     "sourceAddress: auto}\n",
		     "spec.bfd: BFD on a multihop session needs sourceAddress nodeIP");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, password: 'a\"b'}\n",
		     "spec.password: must be printable ASCII without");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, password: 7}\n",
		     "spec.password: must be a string, not an integer");
	expect_error(PEER_HEAD "spec: {peerIP: 10.0.0.1, asNumber: 1, peerIp: 10.0.0.2}\n",
		     "spec.peerIp: unknown field (did you mean \"peerIP\"?)");
	expect_error("apiVersion: petrel/v1\nkind: BGPPeer\nmetadata: {name: Tor}\n"
		     "spec: {peerIP: 10.0.0.1, asNumber: 1}\n", "metadata.name: invalid name \"Tor\"");
	/* every error of the document, not only the first */
	{
		struct dec x;

		decode(&x, "t.yaml", PEER_HEAD "spec: {peerIP: 1.2.3, asNumber: 0, multihop: 0}\n");
		assert_int_equal(x.rc, -EINVAL);
		assert_int_equal(x.e.n, 3);
		dec_free(&x);
	}
}

static void test_node_selector(void **state)
{
	struct labels l = { 0 };

	(void)state;
	assert_int_equal(labels_set(&l, "rack", "r1"), 0);
	assert_int_equal(labels_set(&l, "example.com/role", "tor"), 0);
	assert_int_equal(node_selector_match("all()", &l), 1);
	assert_int_equal(node_selector_match("  all( )", &l), 1);
	assert_int_equal(node_selector_match(" all() ", NULL), 1);
	assert_int_equal(node_selector_match("rack == \"r1\"", &l), 1);
	assert_int_equal(node_selector_match("rack=='r1'", &l), 1);
	assert_int_equal(node_selector_match("rack == \"r2\"", &l), 0);
	assert_int_equal(node_selector_match("rack != \"r2\"", &l), 1);
	assert_int_equal(node_selector_match("zone != \"a\"", &l), 1);	/* absent */
	assert_int_equal(node_selector_match("zone == \"a\"", &l), 0);
	assert_int_equal(node_selector_match("example.com/role == \"tor\"", &l), 1);
	assert_int_equal(node_selector_match("has(rack)", &l), 1);
	assert_int_equal(node_selector_match("has( zone )", &l), 0);
	assert_int_equal(node_selector_match("has(rack)", NULL), 0);
	assert_int_equal(node_selector_match("rack == \"r1\"", NULL), 0);
	assert_int_equal(node_selector_match("rack == r1", &l), -EINVAL);
	assert_int_equal(node_selector_match("rack == \"r1", &l), -EINVAL);
	assert_int_equal(node_selector_match("rack = \"r1\"", &l), -EINVAL);
	assert_int_equal(node_selector_match("rack == \"r1\" x", &l), -EINVAL);
	assert_int_equal(node_selector_match("rack == \"r 1\"", &l), -EINVAL);
	assert_int_equal(node_selector_match("-rack == \"r1\"", &l), -EINVAL);
	assert_int_equal(node_selector_match("has(rack", &l), -EINVAL);
	/* Calico's whole language since NetworkPolicy; "" is all() there */
	assert_int_equal(node_selector_match("!has(rack)", &l), 0);
	assert_int_equal(node_selector_match("!has(rack)", NULL), 1);
	assert_int_equal(node_selector_match("rack == \"r1\" && has(example.com/role)", &l), 1);
	assert_int_equal(node_selector_match("rack == \"r2\" || zone == \"a\"", &l), 0);
	assert_int_equal(node_selector_match("rack in {\"r0\", \"r1\"}", &l), 1);
	assert_int_equal(node_selector_match("", &l), 1);
	assert_int_equal(node_selector_match(NULL, &l), -EINVAL);
	labels_clear(&l);
}

/* ------------------------------------------------------ NetworkPolicy */

static const char np_yaml[] =
	"apiVersion: petrel/v1\n"
	"kind: NetworkPolicy\n"
	"metadata:\n"
	"  name: web-in\n"
	"spec:\n"
	"  selector: app == \"web\"\n"
	"  order: 100\n"
	"  types:\n"
	"  - Ingress\n"
	"  - Egress\n"
	"  ingress:\n"
	"  - action: Allow\n"
	"    protocol: TCP\n"
	"    source:\n"
	"      nets:\n"
	"      - 10.0.0.0/8\n"
	"      notNets:\n"
	"      - 10.1.0.0/16\n"
	"      selector: role == \"lb\"\n"
	"      notSelector: has(banned)\n"
	"    destination:\n"
	"      ports:\n"
	"      - 80\n"
	"      - 8000:8080\n"
	"      notPorts:\n"
	"      - 8001\n"
	"  - action: Allow\n"
	"    protocol: ICMP\n"
	"    icmp:\n"
	"      type: 8\n"
	"      code: 0\n"
	"  - action: Log\n"
	"  - action: Deny\n"
	"    protocol: 47\n"
	"  egress:\n"
	"  - action: Pass\n"
	"    protocol: UDP\n"
	"    destination:\n"
	"      nets:\n"
	"      - 10.0.0.53/32\n"
	"      ports:\n"
	"      - 53\n";

#define NP_HEAD "apiVersion: petrel/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"
#define NP_TEXT_HEAD "{\"apiVersion\":\"petrel/v1\",\"kind\":\"NetworkPolicy\"," \
	"\"metadata\":{\"name\":\"p\"},\"spec\":"

static void test_netpolicy(void **state)
{
	const struct netpolicy *p;
	struct dec x;
	char name[160];

	(void)state;
	round_trip(np_yaml, RES_NETPOLICY);
	decode(&x, "np.yaml", np_yaml);
	assert_int_equal(x.rc, 0);
	p = &x.r.u.netpolicy;
	res_name(&x.r, name, sizeof(name));
	assert_string_equal(name, "web-in");
	assert_string_equal(p->selector, "app == \"web\"");
	assert_true(p->has_order);
	assert_true(p->order == 100.0);
	assert_true(p->ingress && p->egress);
	assert_int_equal(p->n_ingress, 4);
	assert_int_equal(p->n_egress, 1);
	assert_int_equal(p->in_rules[0].action, NP_ALLOW);
	assert_int_equal(p->in_rules[0].protocol, 6);
	assert_int_equal(p->in_rules[0].icmp_type, -1);
	assert_int_equal(p->in_rules[0].src.n_nets, 1);
	assert_int_equal(p->in_rules[0].src.nets[0].addr, 0x0a000000);
	assert_int_equal(p->in_rules[0].src.nets[0].len, 8);
	assert_int_equal(p->in_rules[0].src.n_not_nets, 1);
	assert_string_equal(p->in_rules[0].src.selector, "role == \"lb\"");
	assert_string_equal(p->in_rules[0].src.not_selector, "has(banned)");
	assert_int_equal(p->in_rules[0].dst.n_ports, 2);
	assert_int_equal(p->in_rules[0].dst.ports[1].lo, 8000);
	assert_int_equal(p->in_rules[0].dst.ports[1].hi, 8080);
	assert_int_equal(p->in_rules[0].dst.not_ports[0].lo, 8001);
	assert_int_equal(p->in_rules[1].protocol, 1);
	assert_int_equal(p->in_rules[1].icmp_type, 8);
	assert_int_equal(p->in_rules[1].icmp_code, 0);
	assert_int_equal(p->in_rules[2].action, NP_LOG);
	assert_int_equal(p->in_rules[2].protocol, 0);
	assert_int_equal(p->in_rules[3].action, NP_DENY);
	assert_int_equal(p->in_rules[3].protocol, 47);
	assert_int_equal(p->out_rules[0].action, NP_PASS);
	assert_int_equal(p->out_rules[0].protocol, 17);
	dec_free(&x);

	/* the canonical text: names upper-case, single ports as numbers */
	expect_ok(NP_HEAD "spec:\n  selector: all()\n  order: 10\n  ingress:\n"
		  "  - action: Allow\n    protocol: tcp\n    source: {nets: [10.0.0.1]}\n"
		  "    destination: {ports: [\"443\", \"1:2\"]}\n",
		  NP_TEXT_HEAD "{\"selector\":\"all()\",\"order\":10,\"types\":[\"Ingress\"],"
		  "\"ingress\":[{\"action\":\"Allow\",\"protocol\":\"TCP\",\"source\":"
		  "{\"nets\":[\"10.0.0.1/32\"]},\"destination\":{\"ports\":[443,\"1:2\"]}}]}}");
	/* types by default: Ingress, and Egress when there are egress rules */
	expect_ok(NP_HEAD "spec: {}\n", NP_TEXT_HEAD "{\"types\":[\"Ingress\"]}}");
	expect_ok(NP_HEAD "spec: {egress: [{action: Deny}]}\n",
		  NP_TEXT_HEAD "{\"types\":[\"Ingress\",\"Egress\"],"
		  "\"egress\":[{\"action\":\"Deny\"}]}}");
	expect_ok(NP_HEAD "spec: {types: [Egress], egress: []}\n",
		  NP_TEXT_HEAD "{\"types\":[\"Egress\"]}}");
	expect_ok(NP_HEAD "spec: {types: [Egress, Ingress]}\n",
		  NP_TEXT_HEAD "{\"types\":[\"Ingress\",\"Egress\"]}}");
	/* "" is all(): not kept */
	expect_ok(NP_HEAD "spec: {selector: \"\"}\n", NP_TEXT_HEAD "{\"types\":[\"Ingress\"]}}");
	/* fractional order: plain 1.5 is a string to the loader, a number here */
	expect_ok(NP_HEAD "spec: {order: 1.5}\n",
		  NP_TEXT_HEAD "{\"order\":1.5,\"types\":[\"Ingress\"]}}");
	expect_ok(NP_HEAD "spec: {order: -2.0}\n",
		  NP_TEXT_HEAD "{\"order\":-2,\"types\":[\"Ingress\"]}}");
	round_trip(NP_HEAD "spec: {order: 0.1}\n", RES_NETPOLICY);
	/* kept to 15 significant digits: printed as written */
	expect_ok(NP_HEAD "spec: {order: 0.1}\n",
		  NP_TEXT_HEAD "{\"order\":0.1,\"types\":[\"Ingress\"]}}");
	expect_ok(NP_HEAD "spec: {order: 0.3333333333333333333}\n",
		  NP_TEXT_HEAD "{\"order\":0.333333333333333,\"types\":[\"Ingress\"]}}");
	round_trip(NP_HEAD "spec: {order: 0.3333333333333333333}\n", RES_NETPOLICY);
	expect_ok(NP_HEAD "spec: {order: 9007199254740991}\n",
		  NP_TEXT_HEAD "{\"order\":9007199254740991,\"types\":[\"Ingress\"]}}");
	round_trip(NP_HEAD "spec: {order: 123456789012345.67}\n", RES_NETPOLICY);
	round_trip(NP_HEAD "spec: {order: 1e-5}\n", RES_NETPOLICY);
	{
		/* a stored document has no positions: the offset is in the message */
		struct resource r = { 0 };
		struct errs e = ERRS_INIT;

		assert_int_equal(res_from_text(RES_NETPOLICY, NP_TEXT_HEAD
					       "{\"selector\":\"a == \\\"b\\\" )\"}}", 1, &r, &e),
				 -EINVAL);
		assert_int_equal(e.n, 1);
		print_errs(&e);
		assert_non_null(strstr(e.msg[0], "spec.selector: "));
		assert_non_null(strstr(e.msg[0], " (at offset 9 of \"a == \"b\" )\")"));
		errs_clear(&e);
	}
	round_trip(NP_HEAD "spec: {order: -1e15}\n", RES_NETPOLICY);
	expect_error(NP_HEAD "spec: {order: 1e300}\n", "t.yaml:4:15: spec.order: out of range");
	round_trip(NP_HEAD "spec: {order: -7, types: [Egress], egress: [{action: Allow, "
		   "protocol: SCTP, destination: {ports: [\"1:65535\"]}}]}\n", RES_NETPOLICY);
	round_trip(NP_HEAD "spec: {ingress: [{action: Allow, protocol: 255}]}\n",
		   RES_NETPOLICY);
	round_trip(NP_HEAD "spec: {ingress: [{action: Allow, protocol: icmp, icmp: {type: 3}}]}\n",
		   RES_NETPOLICY);

	/* the error positions */
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: allow\n",
		     "t.yaml:6:13: spec.ingress[0].action: unknown value \"allow\" "
		     "(Allow, Deny, Log or Pass)");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - protocol: TCP\n",
		     "t.yaml:6:5: spec.ingress[0].action: missing required field");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: GRE\n",
		     "t.yaml:7:15: spec.ingress[0].protocol: unknown protocol \"GRE\"");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: 256\n",
		     "t.yaml:7:15: spec.ingress[0].protocol: 256 is out of range (1..255)");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: 0\n",
		     "spec.ingress[0].protocol: 0 is out of range (1..255)");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocl: TCP\n",
		     "t.yaml:7:5: spec.ingress[0].protocl: unknown field");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n    protocol: TCP\n"
		     "    icmp: {type: 8}\n",
		     "t.yaml:8:11: spec.egress[0].icmp: needs protocol ICMP");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n    icmp: {type: 8}\n",
		     "spec.egress[0].icmp: needs protocol ICMP");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n    protocol: ICMP\n"
		     "    icmp: {code: 1}\n",
		     "t.yaml:8:18: spec.egress[0].icmp.code: a code needs a type");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n    protocol: ICMP\n"
		     "    icmp: {type: 256}\n",
		     "t.yaml:8:18: spec.egress[0].icmp.type: 256 is out of range (0..255)");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n    protocol: ICMP\n"
		     "    icmp: {type: 1, code: -1}\n",
		     "spec.egress[0].icmp.code: -1 is out of range (0..255)");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n    protocol: ICMP\n"
		     "    icmp: {typ: 1}\n", "t.yaml:8:12: spec.egress[0].icmp.typ: unknown field");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: ICMP\n"
		     "    destination: {ports: [80]}\n",
		     "t.yaml:8:26: spec.ingress[0].destination.ports: ports need protocol "
		     "TCP, UDP or SCTP");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {notPorts: [80]}\n",
		     "t.yaml:7:24: spec.ingress[0].source.notPorts: ports need protocol");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [0, 65536, \"9:8\", \"a\", \"1:\", 1.5]}\n",
		     "t.yaml:8:27: spec.ingress[0].destination.ports[0]: invalid port 0");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [65536]}\n",
		     "spec.ingress[0].destination.ports[0]: invalid port 65536");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [\"9:8\"]}\n",
		     "spec.ingress[0].destination.ports[0]: invalid port \"9:8\" "
		     "(a number 1..65535, or \"LO:HI\" with LO <= HI)");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [\"0:8\"]}\n", "invalid port \"0:8\"");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [\"08\"]}\n", "invalid port \"08\"");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [\"1:70000\"]}\n", "invalid port \"1:70000\"");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    protocol: TCP\n"
		     "    destination: {ports: [true]}\n", "invalid port (a boolean)");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {nets: [10.0.0.1/8]}\n",
		     "t.yaml:7:21: spec.ingress[0].source.nets[0]: host bits must be zero in "
		     "CIDR \"10.0.0.1/8\" (did you mean 10.0.0.0/8?)");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {notNets: [10.0.0.0/33]}\n",
		     "t.yaml:7:24: spec.ingress[0].source.notNets[0]: invalid CIDR \"10.0.0.0/33\"");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {notNets: [5]}\n",
		     "spec.ingress[0].source.notNets[0]: must be a CIDR string, not an integer");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {nets: 10.0.0.0/8}\n",
		     "spec.ingress[0].source.nets: must be a list, not a string");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {net: [10.0.0.0/8]}\n",
		     "t.yaml:7:14: spec.ingress[0].source.net: unknown field");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n    source: 1\n",
		     "spec.ingress[0].source: must be a mapping, not an integer");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - Allow\n",
		     "t.yaml:6:5: spec.ingress[0]: a rule must be a mapping, not a string");
	expect_error(NP_HEAD "spec: {ingress: {action: Allow}}\n",
		     "spec.ingress: must be a list, not a mapping");
	/* selectors: at the string's position plus the parser's offset */
	expect_error(NP_HEAD "spec:\n  selector: app == \"web\" )\n",
		     "t.yaml:5:26: spec.selector: ");
	expect_error(NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
		     "    source: {selector: a == \"b\" )}\n",
		     "t.yaml:7:33: spec.ingress[0].source.selector: ");
	expect_error(NP_HEAD "spec:\n  egress:\n  - action: Allow\n"
		     "    destination:\n      notSelector: x == \"y\" )\n",
		     "t.yaml:8:29: spec.egress[0].destination.notSelector: ");
	expect_error(NP_HEAD "spec: {selector: 5}\n",
		     "spec.selector: must be a string, not an integer");
	/* types */
	expect_error(NP_HEAD "spec:\n  types: [Ingress, ingress]\n",
		     "t.yaml:5:20: spec.types[1]: unknown type \"ingress\" (Ingress or Egress)");
	expect_error(NP_HEAD "spec:\n  types: [Egress, Egress]\n",
		     "t.yaml:5:19: spec.types[1]: duplicate type \"Egress\"");
	expect_error(NP_HEAD "spec:\n  types: []\n",
		     "t.yaml:5:10: spec.types: must list Ingress, Egress or both");
	expect_error(NP_HEAD "spec:\n  types: Ingress\n", "spec.types: must be a list");
	expect_error(NP_HEAD "spec:\n  types: [Egress]\n  ingress: [{action: Allow}]\n",
		     "t.yaml:6:12: spec.ingress: ingress rules, but types does not list "
		     "Ingress");
	expect_error(NP_HEAD "spec:\n  types: [Ingress]\n  egress: [{action: Allow}]\n",
		     "t.yaml:6:11: spec.egress: egress rules, but types does not list Egress");
	/* order */
	expect_error(NP_HEAD "spec:\n  order: high\n",
		     "t.yaml:5:10: spec.order: must be a number, not a string \"high\"");
	expect_error(NP_HEAD "spec:\n  order: nan\n", "spec.order: must be a number");
	expect_error(NP_HEAD "spec:\n  order: inf\n", "spec.order: must be a number");
	expect_error(NP_HEAD "spec:\n  order: 0x10\n", "spec.order: must be a number");
	expect_error(NP_HEAD "spec:\n  order: 1e400\n", "spec.order: must be a number");
	expect_error(NP_HEAD "spec:\n  order: 1e17\n", "spec.order: out of range");
	expect_error(NP_HEAD "spec:\n  order: true\n",
		     "spec.order: must be a number, not a boolean");
	/* the frame */
	expect_error(NP_HEAD "spec:\n  selecter: all()\n",
		     "t.yaml:5:3: spec.selecter: unknown field");
	expect_error("apiVersion: petrel/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n",
		     "spec: missing required field");
	expect_error("apiVersion: petrel/v1\nkind: NetworkPolicy\n"
		     "metadata: {name: p, labels: {a: b}}\nspec: {}\n",
		     "metadata.labels: unknown field");
	expect_error("apiVersion: petrel/v1\nkind: NetworkPolicy\nmetadata: {name: P}\n"
		     "spec: {}\n", "t.yaml:3:18: metadata.name: invalid name \"P\"");
	expect_error("apiVersion: petrel/v1\nkind: networkpolicy\nmetadata: {name: p}\n"
		     "spec: {}\n", "kind: unknown kind \"networkpolicy\" (did you mean "
		     "NetworkPolicy?)");
}

/* The caps: NP_RULES_MAX rules, NP_LIST_MAX nets and ports. */
static void test_netpolicy_limits(void **state)
{
	char *doc = malloc(64 * 1024), *p;
	struct dec x;

	(void)state;
	assert_non_null(doc);
	p = doc + sprintf(doc, NP_HEAD "spec:\n  ingress:\n");
	for (int i = 0; i < NP_RULES_MAX + 1; i++)
		p += sprintf(p, "  - action: Allow\n");
	expect_error(doc, "t.yaml:6:3: spec.ingress: too many rules (257, at most 256)");
	p = doc + sprintf(doc, NP_HEAD "spec:\n  ingress:\n");
	for (int i = 0; i < NP_RULES_MAX; i++)
		p += sprintf(p, "  - action: Allow\n");
	expect_ok(doc, NULL);

	p = doc + sprintf(doc, NP_HEAD "spec:\n  ingress:\n  - action: Allow\n"
			  "    protocol: UDP\n    destination:\n      ports: [");
	for (int i = 0; i < NP_LIST_MAX + 1; i++)
		p += sprintf(p, "%s%d", i ? ", " : "", i + 1);
	p += sprintf(p, "]\n      nets: [");
	for (int i = 0; i < NP_LIST_MAX + 1; i++)
		p += sprintf(p, "%s10.0.%d.0/24", i ? ", " : "", i);
	sprintf(p, "]\n");
	decode(&x, "t.yaml", doc);
	assert_int_equal(x.rc, -EINVAL);
	assert_int_equal(x.e.n, 2);
	assert_string_equal(x.e.msg[0], "t.yaml:9:14: spec.ingress[0].destination.ports: "
			    "too many ports (65, at most 64)");
	assert_string_equal(x.e.msg[1], "t.yaml:10:13: spec.ingress[0].destination.nets: "
			    "too many networks (65, at most 64)");
	dec_free(&x);
	free(doc);
}

/* ---------------------------------------------------------------- Network */

#define HEP_HEAD "apiVersion: petrel/v1\nkind: HostEndpoint\n"

static void test_hostep(void **state)
{
	struct dec x;

	(void)state;
	assert_int_equal(res_kind_parse("hep"), RES_HOSTEP);
	assert_int_equal(res_kind_parse("hostendpoints"), RES_HOSTEP);
	round_trip(HEP_HEAD "metadata: {name: n1-eth0, labels: {role: node}}\n"
		   "spec: {node: n1, interfaceName: eth0, expectedIPs: [192.0.2.11, 10.0.0.1]}\n",
		   RES_HOSTEP);
	round_trip(HEP_HEAD "metadata: {name: n1-svc}\nspec: {node: n1, expectedIPs: [192.0.2.12]}\n",
		   RES_HOSTEP);
	expect_ok(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, interfaceName: eth0}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"HostEndpoint\",\"metadata\":"
		  "{\"name\":\"h\"},\"spec\":{\"node\":\"n1\",\"interfaceName\":\"eth0\"}}");
	decode(&x, "h.yaml", HEP_HEAD "metadata: {name: h}\n"
	       "spec: {node: n1, interfaceName: up0, expectedIPs: [192.0.2.11]}\n");
	assert_int_equal(x.rc, 0);
	assert_string_equal(x.r.u.hostep.ifname, "up0");
	assert_int_equal(x.r.u.hostep.n_ips, 1);
	assert_int_equal(x.r.u.hostep.ips[0], 0xc000020b);
	dec_free(&x);

	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1}\n",
		     "t.yaml:4:7: spec: needs interfaceName or expectedIPs");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {interfaceName: eth0}\n",
		     "spec.node: missing");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, interfaceName: ptl1234}\n",
		     "spec.interfaceName: \"ptl1234\": ptl* interfaces are workloads', not the node's");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, interfaceName: \"*\"}\n",
		     "spec.interfaceName: \"*\" (all interfaces) is not supported");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, interfaceName: \"a/b\"}\n",
		     "spec.interfaceName: invalid interface name \"a/b\"");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, expectedIPs: [10.0.0.1, 10.0.0.1]}\n",
		     "spec.expectedIPs[1]: \"10.0.0.1\" listed twice");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, expectedIPs: [10.0.0.0/8]}\n",
		     "spec.expectedIPs[0]: invalid address \"10.0.0.0/8\" (expected A.B.C.D)");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: n1, expectedIPs: [5]}\n",
		     "spec.expectedIPs[0]: must be an address, not an integer");
	expect_error(HEP_HEAD "metadata: {name: h}\nspec: {node: N1, interfaceName: eth0, x: 1}\n",
		     "spec.node: invalid node name \"N1\"");
}

#define NP_PRE_HEAD "apiVersion: petrel/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n"

static void test_netpolicy_host(void **state)
{
	(void)state;
	round_trip(NP_PRE_HEAD "spec: {selector: role == 'node', preDNAT: true, "
		   "applyOnForward: true, ingress: [{action: Deny}]}\n", RES_NETPOLICY);
	round_trip(NP_PRE_HEAD "spec: {applyOnForward: true, egress: [{action: Allow}]}\n",
		   RES_NETPOLICY);
	expect_error(NP_PRE_HEAD "spec: {preDNAT: true, ingress: [{action: Allow}]}\n",
		     "t.yaml:4:17: spec.preDNAT: needs applyOnForward: true");
	expect_error(NP_PRE_HEAD "spec: {preDNAT: true, applyOnForward: true, "
		     "egress: [{action: Allow}]}\n", "spec.preDNAT: a preDNAT policy has ingress only");
	expect_error(NP_PRE_HEAD "spec: {applyOnForward: yes please}\n",
		     "spec.applyOnForward: must be true or false, not a string");
}

#define NET_HEAD "apiVersion: petrel/v1\nkind: Network\n"

static void test_network(void **state)
{
	struct dec x;
	char name[160];

	(void)state;
	round_trip(NET_HEAD "metadata: {name: backend}\nspec: {pool: pool1}\n", RES_NETWORK);
	round_trip(NET_HEAD "metadata: {name: backend}\n", RES_NETWORK);
	expect_ok(NET_HEAD "metadata: {name: backend}\nspec: {pool: pool1}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Network\",\"metadata\":"
		  "{\"name\":\"backend\"},\"spec\":{\"pool\":\"pool1\"}}");
	expect_ok(NET_HEAD "metadata: {name: backend}\nspec: {pool: \"\"}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"Network\",\"metadata\":"
		  "{\"name\":\"backend\"},\"spec\":{}}");
	decode(&x, "n.yaml", NET_HEAD "metadata: {name: front.end}\nspec: {pool: p2}\n");
	assert_int_equal(x.rc, 0);
	assert_int_equal(x.r.kind, RES_NETWORK);
	assert_string_equal(x.r.u.network.pool, "p2");
	res_name(&x.r, name, sizeof(name));
	assert_string_equal(name, "front.end");
	dec_free(&x);

	expect_error(NET_HEAD "metadata: {name: default}\n",
		     "t.yaml:3:18: metadata.name: \"default\" is reserved");
	expect_error(NET_HEAD "metadata: {name: routed}\n", "metadata.name: \"routed\" is reserved");
	expect_error(NET_HEAD "metadata: {name: host}\n", "metadata.name: \"host\" is reserved");
	expect_error(NET_HEAD "metadata: {name: none}\n", "metadata.name: \"none\" is reserved");
	expect_error(NET_HEAD "metadata: {name: \"a:b\"}\n", "metadata.name: invalid name \"a:b\"");
	expect_error(NET_HEAD "metadata: {name: n}\nspec: {pool: Pool1}\n",
		     "t.yaml:4:14: spec.pool: invalid pool name \"Pool1\"");
	expect_error(NET_HEAD "metadata: {name: n}\nspec: {pool: 5}\n",
		     "spec.pool: must be a string, not an integer");
	expect_error(NET_HEAD "metadata: {name: n}\nspec: {cidr: 10.0.0.0/24}\n",
		     "t.yaml:4:8: spec.cidr: unknown field");
}

/* ------------------------------------------------- WorkloadEndpoint, issue 4 */

static void test_wep_networks_ports(void **state)
{
	const struct wep *w;
	struct dec x;

	(void)state;
	round_trip(WEP_HEAD "spec:\n  node: n1\n  ipNetworks: [10.0.0.1/32]\n"
		   "  networks: [default, backend]\n  ports:\n"
		   "  - {hostPort: 8080, containerPort: 80, protocol: tcp}\n"
		   "  - {hostIP: 192.168.1.10, hostPort: 53, containerPort: 53, protocol: udp}\n"
		   "  - {hostPort: 53, containerPort: 5353}\n", RES_WEP);
	expect_ok(WEP_HEAD "spec:\n  node: n1\n  ipNetworks: [10.0.0.1/32]\n"
		  "  networks: [backend]\n  ports:\n"
		  "  - {hostPort: 8080, containerPort: 80}\n"
		  "  - {hostIP: 0.0.0.0, hostPort: 8081, containerPort: 81, protocol: udp}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"WorkloadEndpoint\",\"metadata\":"
		  "{\"name\":\"w\"},\"spec\":{\"node\":\"n1\",\"mode\":\"routed\",\"ipNetworks\":"
		  "[\"10.0.0.1/32\"],\"networks\":[\"backend\"],\"ports\":[{\"hostPort\":8080,"
		  "\"containerPort\":80,\"protocol\":\"tcp\"},{\"hostPort\":8081,"
		  "\"containerPort\":81,\"protocol\":\"udp\"}]}}");
	/* empty lists: as if absent, and not encoded (older documents unchanged) */
	expect_ok(WEP_HEAD "spec: {node: n1, ipNetworks: [10.0.0.1], networks: [], ports: []}\n",
		  "{\"apiVersion\":\"petrel/v1\",\"kind\":\"WorkloadEndpoint\",\"metadata\":"
		  "{\"name\":\"w\"},\"spec\":{\"node\":\"n1\",\"mode\":\"routed\",\"ipNetworks\":"
		  "[\"10.0.0.1/32\"]}}");
	/* networks are not limited to routed workloads */
	round_trip(WEP_HEAD "spec: {node: n1, mode: none, networks: [a, b, c, d, e, f, g, h]}\n",
		   RES_WEP);

	decode(&x, "w.yaml", WEP_HEAD "spec:\n  node: n1\n  ipNetworks: [10.0.0.1/32]\n"
	       "  networks: [a, default]\n  ports:\n"
	       "  - {hostIP: 10.1.2.3, hostPort: 1, containerPort: 65535, protocol: udp}\n");
	assert_int_equal(x.rc, 0);
	w = &x.r.u.wep;
	assert_int_equal(w->n_networks, 2);
	assert_string_equal(w->networks[0], "a");
	assert_string_equal(w->networks[1], "default");
	assert_int_equal(w->n_ports, 1);
	assert_int_equal(w->ports[0].host_ip, 0x0a010203);
	assert_int_equal(w->ports[0].host_port, 1);
	assert_int_equal(w->ports[0].port, 65535);
	assert_int_equal(w->ports[0].proto, 17);
	dec_free(&x);

#define WEP_R WEP_HEAD "spec:\n  node: n1\n  ipNetworks: [10.0.0.1/32]\n"
	expect_error(WEP_R "  networks: [a, b, a]\n",
		     "t.yaml:7:20: spec.networks[2]: duplicate network \"a\"");
	expect_error(WEP_R "  networks: [Bad]\n",
		     "t.yaml:7:14: spec.networks[0]: invalid network name \"Bad\"");
	expect_error(WEP_R "  networks: [host]\n", "spec.networks[0]: invalid network name \"host\"");
	expect_error(WEP_R "  networks: [1]\n",
		     "spec.networks[0]: must be a network name, not an integer");
	expect_error(WEP_R "  networks: backend\n", "spec.networks: must be a list, not a string");
	expect_error(WEP_R "  networks: [a, b, c, d, e, f, g, h, i]\n",
		     "t.yaml:7:13: spec.networks: too many networks (9, at most 8)");
	expect_error(WEP_R "  ports:\n  - {hostPort: 80}\n",
		     "t.yaml:8:5: spec.ports[0].containerPort: missing required field");
	expect_error(WEP_R "  ports:\n  - {containerPort: 80}\n",
		     "t.yaml:8:5: spec.ports[0].hostPort: missing required field");
	expect_error(WEP_R "  ports:\n  - {hostPort: 0, containerPort: 80}\n",
		     "t.yaml:8:16: spec.ports[0].hostPort: 0 is out of range (1..65535)");
	expect_error(WEP_R "  ports:\n  - {hostPort: 80, containerPort: 65536}\n",
		     "spec.ports[0].containerPort: 65536 is out of range (1..65535)");
	expect_error(WEP_R "  ports:\n  - {hostPort: 80, containerPort: 80, protocol: TCP}\n",
		     "t.yaml:8:49: spec.ports[0].protocol: unknown value \"TCP\" (tcp or udp)");
	expect_error(WEP_R "  ports:\n  - {hostPort: 80, containerPort: 80, protocol: sctp}\n",
		     "spec.ports[0].protocol: unknown value \"sctp\"");
	expect_error(WEP_R "  ports:\n  - {hostIP: 10.0.0, hostPort: 80, containerPort: 80}\n",
		     "t.yaml:8:14: spec.ports[0].hostIP: invalid IPv4 address \"10.0.0\"");
	expect_error(WEP_R "  ports:\n  - {hostIP: 224.0.0.1, hostPort: 80, containerPort: 80}\n",
		     "spec.ports[0].hostIP: \"224.0.0.1\" is not a unicast address");
	expect_error(WEP_R "  ports:\n  - {hostPort: 80, containerPort: 80, hostip: 1.2.3.4}\n",
		     "t.yaml:8:39: spec.ports[0].hostip: unknown field (did you mean \"hostIP\"?)");
	expect_error(WEP_R "  ports:\n  - 80:80\n",
		     "t.yaml:8:5: spec.ports[0]: must be a mapping");
	expect_error(WEP_R "  ports:\n  - {hostPort: 80, containerPort: 80}\n"
		     "  - {hostPort: 80, containerPort: 81, protocol: tcp}\n",
		     "t.yaml:9:5: spec.ports[1]: host port 80/tcp is already published by "
		     "spec.ports[0]");
	expect_error(WEP_R "  ports:\n  - {hostIP: 1.2.3.4, hostPort: 80, containerPort: 80}\n"
		     "  - {hostPort: 80, containerPort: 81}\n",
		     "spec.ports[1]: host port 80/tcp is already published");
	expect_error(WEP_HEAD "spec:\n  node: n1\n  mode: host\n  ports:\n"
		     "  - {hostPort: 80, containerPort: 80}\n",
		     "t.yaml:8:3: spec.ports: only allowed with mode routed");
	{
		/* different protocols or addresses do not collide */
		expect_ok(WEP_R "  ports:\n  - {hostPort: 80, containerPort: 80}\n"
			  "  - {hostPort: 80, containerPort: 80, protocol: udp}\n"
			  "  - {hostIP: 1.2.3.4, hostPort: 81, containerPort: 80}\n"
			  "  - {hostIP: 1.2.3.5, hostPort: 81, containerPort: 80}\n", NULL);
	}
	{
		char *doc = malloc(8192), *p;

		assert_non_null(doc);
		p = doc + sprintf(doc, WEP_R "  ports:\n");
		for (int i = 0; i < WEP_MAX_PORTS + 1; i++)
			p += sprintf(p, "  - {hostPort: %d, containerPort: 80}\n", i + 1);
		expect_error(doc, "t.yaml:8:3: spec.ports: too many ports (65, at most 64)");
		free(doc);
	}
#undef WEP_R
}

static void test_bgp_community(void **state)
{
	char buf[BGPCONFIG_COMMUNITY_STRLEN];
	struct bgpconfig_community c;

	(void)state;
	assert_int_equal(bgpconfig_community_parse("65535:0", &c), 0);
	assert_false(c.large);
	assert_string_equal(bgpconfig_community_fmt(&c, buf), "65535:0");
	assert_int_equal(bgpconfig_community_parse("4294967295:4294967295:4294967295", &c), 0);
	assert_true(c.large);
	assert_string_equal(bgpconfig_community_fmt(&c, buf), "4294967295:4294967295:4294967295");
	assert_int_equal(bgpconfig_community_parse("65536:0", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse("1:4294967296:1", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse("1:-1", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse("1::1", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse(":1", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse("1:1:", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse("01:1", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse("no-export", &c), -EINVAL);
	assert_int_equal(bgpconfig_community_parse(NULL, &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_keys),
		cmocka_unit_test(test_names_labels),
		cmocka_unit_test(test_ippool),
		cmocka_unit_test(test_error_positions),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_failed_decode_untouched),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_wep),
		cmocka_unit_test(test_ipam_block),
		cmocka_unit_test(test_ipam_block_big),
		cmocka_unit_test(test_ipam_handle),
		cmocka_unit_test(test_text_codec),
		cmocka_unit_test(test_bgpconfig),
		cmocka_unit_test(test_bgppeer),
		cmocka_unit_test(test_node_selector),
		cmocka_unit_test(test_bgp_community),
		cmocka_unit_test(test_netpolicy),
		cmocka_unit_test(test_netpolicy_limits),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_hostep),
		cmocka_unit_test(test_netpolicy_host),
		cmocka_unit_test(test_wep_networks_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
