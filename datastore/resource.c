/*
 * resource: the petrel/v1 data model, its validation and its JSON codec
 * (see resource.h).
 *
 * Decoding is "parse, validate, commit": each decoder fills a zeroed local
 * struct, walks ALL of the document reporting every problem (an unknown
 * field, a wrong type, a bad value, a missing field) as
 * "file:line:col: field.path: message", and only when nothing was reported
 * moves the struct into the caller's. On any error the local struct is
 * cleared, so a failed decode leaks nothing and leaves *out untouched.
 * A missing field is reported at its parent mapping; an unknown field at its
 * key; a bad value at the value.
 *
 * Encoding is canonical: keys in one fixed order, labels sorted by key,
 * allocations sorted by ordinal, optional fields omitted when unset, so one
 * struct always gives the same bytes (the datastore compares documents to
 * tell "unchanged" from "configured").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ifname.h"
#include "common/log.h"
#include "datastore/resource.h"
#include "policy/selector.h"

#define LABELS_MAX 256
#define HANDLE_ADDRS_MAX 1024
#define NODESEL_MAX 1024	/* nodeSelector (policy selectors: SELECTOR_MAX) */
#define BLOCK_MIN_LEN 20	/* the largest block: /20, 4096 addresses */
#define NP_ORDER_DIGITS 15	/* DBL_DIG: decimal -> double -> decimal exact */

/* ------------------------------------------------------------------ kinds */

static const struct {
	const char *name, *plural;
	const char *aliases[6];
} kinds[RES_KIND_COUNT] = {
	[RES_IPPOOL] = { "IPPool", "ippools", { "ippool", "pool", "pools" } },
	[RES_NODE] = { "Node", "nodes", { "node", "no" } },
	[RES_WEP] = { "WorkloadEndpoint", "workloadendpoints",
		      { "workloadendpoint", "wep", "weps", "workload", "workloads" } },
	[RES_IPAMBLOCK] = { "IPAMBlock", "ipamblocks",
			    { "ipamblock", "block", "blocks" } },
	[RES_IPAMHANDLE] = { "IPAMHandle", "ipamhandles",
			     { "ipamhandle", "handle", "handles" } },
	[RES_BGPCONFIG] = { "BGPConfiguration", "bgpconfigurations",
			    { "bgpconfiguration", "bgpconfig", "bgpconfigs" } },
	[RES_BGPPEER] = { "BGPPeer", "bgppeers", { "bgppeer", "peer", "peers" } },
	[RES_NETPOLICY] = { "NetworkPolicy", "networkpolicies",
			    { "networkpolicy", "netpol", "policy", "policies", "np" } },
	[RES_NETWORK] = { "Network", "networks", { "network", "net" } },
};

int res_kind_parse(const char *s)
{
	if (!s)
		return -1;
	for (int k = 0; k < RES_KIND_COUNT; k++) {
		if (!strcasecmp(s, kinds[k].name) || !strcasecmp(s, kinds[k].plural))
			return k;
		for (size_t i = 0; i < 6 && kinds[k].aliases[i]; i++)
			if (!strcasecmp(s, kinds[k].aliases[i]))
				return k;
	}
	return -1;
}

const char *res_kind_name(enum res_kind k)
{
	return (unsigned)k < RES_KIND_COUNT ? kinds[k].name : "?";
}

const char *res_kind_plural(enum res_kind k)
{
	return (unsigned)k < RES_KIND_COUNT ? kinds[k].plural : "?";
}

int res_key(enum res_kind k, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/petrel/%s/%s", res_kind_plural(k), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int res_prefix(enum res_kind k, const char *node, char *buf, size_t len)
{
	int n;

	if (k == RES_WEP && node)
		n = snprintf(buf, len, "/petrel/%s/%s/", res_kind_plural(k), node);
	else
		n = snprintf(buf, len, "/petrel/%s/", res_kind_plural(k));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ names, labels */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool res_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n >= RES_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!lower && !((c == '-' || c == '.') && i > 0 && i < n - 1))
			return false;
	}
	return true;
}

/* 1..63 of [A-Za-z0-9._-], beginning and ending alphanumeric. */
static bool label_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A DNS subdomain (RFC 1123): lower-case labels joined by dots, <= 253. */
static bool dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
				return false;
			start = i + 1;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return false;
	}
	return true;
}

bool labels_key_valid(const char *key)
{
	const char *slash;

	if (!key)
		return false;
	slash = strchr(key, '/');
	if (!slash)
		return label_name_ok(key, strlen(key));
	return dns_subdomain_ok(key, (size_t)(slash - key)) &&
	       label_name_ok(slash + 1, strlen(slash + 1));
}

bool labels_value_valid(const char *value)
{
	size_t n;

	if (!value)
		return false;
	n = strlen(value);
	return n == 0 || label_name_ok(value, n);
}

void labels_clear(struct labels *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

const char *labels_get(const struct labels *l, const char *key)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, l->v[mid].key);

		if (c == 0)
			return l->v[mid].value;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int labels_set(struct labels *l, const char *key, const char *value)
{
	size_t lo = 0, hi = l->n;
	struct label *v;
	char *k, *val;

	if (!labels_key_valid(key) || !labels_value_valid(value))
		return -EINVAL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, l->v[mid].key);

		if (c == 0) {
			val = strdup(value);
			if (!val)
				return -ENOMEM;
			free(l->v[mid].value);
			l->v[mid].value = val;
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (l->n >= LABELS_MAX)
		return -E2BIG;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	k = strdup(key);
	val = strdup(value);
	if (!k || !val) {
		free(k);
		free(val);
		return -ENOMEM;
	}
	memmove(&v[lo + 1], &v[lo], (l->n - lo) * sizeof(*v));
	v[lo].key = k;
	v[lo].value = val;
	l->n++;
	return 0;
}

/* ------------------------------------------------------- validation context */

struct vmsg {
	int line, col;
	size_t seq;
	char *text;
};

struct vctx {
	const struct ydoc *doc;
	const char *file;
	struct errs *e;
	size_t nerr;
	struct vmsg *msg;	/* reported in document order by vflush() */
	size_t nmsg;
};

/* An object (or array) being validated: its field path and its position. */
struct vobj {
	const json_t *j;
	char path[96];		/* "spec.bgp"; "" for the document */
	int line, col;
};

static void vpath(const char *parent, const char *key, char *buf, size_t len)
{
	if (!parent[0])
		snprintf(buf, len, "%s", key);
	else if (key[0] == '[')
		snprintf(buf, len, "%s%s", parent, key);
	else
		snprintf(buf, len, "%s.%s", parent, key);
}

__attribute__((format(printf, 5, 6)))
static void verr(struct vctx *v, int line, int col, const char *path,
		 const char *fmt, ...)
{
	char msg[512];
	struct vmsg *m;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->nerr++;
	if (!v->e)
		return;
	m = realloc(v->msg, (v->nmsg + 1) * sizeof(*m));
	if (!m)
		return;
	v->msg = m;
	m = &v->msg[v->nmsg];
	m->line = v->doc ? line : 0;
	m->col = v->doc ? col : 0;
	m->seq = v->nmsg;
	r = path && path[0] ? asprintf(&m->text, "%s: %s", path, msg) :
			      asprintf(&m->text, "%s", msg);
	if (r >= 0)
		v->nmsg++;
}

static int vmsg_cmp(const void *a, const void *b)
{
	const struct vmsg *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the collected messages to errs, sorted by position (the order the
 * user reads the file in); returns -EINVAL when there was any error. */
static int vflush(struct vctx *v)
{
	if (v->nmsg > 1)
		qsort(v->msg, v->nmsg, sizeof(*v->msg), vmsg_cmp);
	for (size_t i = 0; i < v->nmsg; i++) {
		errs_addpos(v->e, v->file, v->msg[i].line, v->msg[i].col, "%s",
			    v->msg[i].text);
		free(v->msg[i].text);
	}
	free(v->msg);
	v->msg = NULL;
	v->nmsg = 0;
	return v->nerr ? -EINVAL : 0;
}

/* Position of o's member key: the value, else the key, else o itself. */
static void vpos(const struct vctx *v, const struct vobj *o, const char *key,
		 bool keyname, int *line, int *col)
{
	int r = keyname ? ydoc_pos_keyname(v->doc, o->j, key, line, col) :
			  ydoc_pos_key(v->doc, o->j, key, line, col);

	if (r < 0 || *line == 0) {
		*line = o->line;
		*col = o->col;
	}
}

/* An error about o's member key, at the value. */
__attribute__((format(printf, 4, 5)))
static void verr_field(struct vctx *v, const struct vobj *o, const char *key,
		       const char *fmt, ...)
{
	char msg[512], path[160];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vpos(v, o, key, false, &line, &col);
	vpath(o->path, key, path, sizeof(path));
	verr(v, line, col, path, "%s", msg);
}

static void verr_missing(struct vctx *v, const struct vobj *o, const char *key)
{
	char path[160];

	vpath(o->path, key, path, sizeof(path));
	verr(v, o->line, o->col, path, "missing required field");
}

/* Every member of o must be one of the allowed names. */
static void check_known(struct vctx *v, const struct vobj *o,
			const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)o->j, key, val) {
		const char *hint = NULL;
		char path[160];
		int line, col;
		size_t i;

		for (i = 0; allowed[i]; i++) {
			if (!strcmp(key, allowed[i]))
				break;
			if (!strcasecmp(key, allowed[i]))
				hint = allowed[i];
		}
		if (allowed[i])
			continue;
		vpos(v, o, key, true, &line, &col);
		vpath(o->path, key, path, sizeof(path));
		if (hint)
			verr(v, line, col, path, "unknown field (did you mean \"%s\"?)", hint);
		else
			verr(v, line, col, path, "unknown field");
	}
}

/* o's member key; NULL when absent or null (an empty "key:" in YAML). */
static const json_t *vmember(const struct vobj *o, const char *key)
{
	const json_t *m = json_object_get(o->j, key);

	return json_is_null(m) ? NULL : m;
}

/* A string member. 1: *out set; 0: absent (reported if required); -1: bad. */
static int get_str(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, size_t maxlen, const char **out)
{
	const json_t *m = vmember(o, key);
	const char *s;
	size_t n;

	*out = NULL;
	if (!m) {
		if (required)
			verr_missing(v, o, key);
		return required ? -1 : 0;
	}
	if (!json_is_string(m)) {
		verr_field(v, o, key, "must be a string, not %s", yaml_type_name(m));
		return -1;
	}
	s = json_string_value(m);
	n = json_string_length(m);
	if (n > maxlen) {
		verr_field(v, o, key, "too long (%zu characters, at most %zu)", n, maxlen);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			verr_field(v, o, key, "must not contain control characters");
			return -1;
		}
	}
	*out = s;
	return 1;
}

static int get_bool(struct vctx *v, const struct vobj *o, const char *key,
		    bool *out)
{
	const json_t *m = vmember(o, key);

	if (!m)
		return 0;
	if (!json_is_boolean(m)) {
		verr_field(v, o, key, "must be true or false, not %s", yaml_type_name(m));
		return -1;
	}
	*out = json_is_true(m);
	return 1;
}

static int get_int(struct vctx *v, const struct vobj *o, const char *key,
		   json_int_t min, json_int_t max, json_int_t *out)
{
	const json_t *m = vmember(o, key);
	json_int_t i;

	if (!m)
		return 0;
	if (!json_is_integer(m)) {
		verr_field(v, o, key, "must be an integer, not %s", yaml_type_name(m));
		return -1;
	}
	i = json_integer_value(m);
	if (i < min || i > max) {
		verr_field(v, o, key, "%" JSON_INTEGER_FORMAT " is out of range (%"
			   JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT ")", i, min, max);
		return -1;
	}
	*out = i;
	return 1;
}

/* A mapping (want_array false) or list member, as a vobj for descending. */
static int get_sub(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, bool want_array, struct vobj *sub)
{
	const json_t *m = vmember(o, key);

	memset(sub, 0, sizeof(*sub));
	if (!m) {
		if (required)
			verr_missing(v, o, key);
		return required ? -1 : 0;
	}
	if (want_array ? !json_is_array(m) : !json_is_object(m)) {
		verr_field(v, o, key, "must be %s, not %s",
			   want_array ? "a list" : "a mapping", yaml_type_name(m));
		return -1;
	}
	sub->j = m;
	vpath(o->path, key, sub->path, sizeof(sub->path));
	vpos(v, o, key, false, &sub->line, &sub->col);
	return 1;
}

/* Item i of list a, for messages: its path and position. */
static void vitem(const struct vctx *v, const struct vobj *a, size_t i,
		  struct vobj *item)
{
	char idx[32];

	memset(item, 0, sizeof(*item));
	item->j = json_array_get(a->j, i);
	snprintf(idx, sizeof(idx), "[%zu]", i);
	vpath(a->path, idx, item->path, sizeof(item->path));
	if (ydoc_pos_index(v->doc, a->j, i, &item->line, &item->col) < 0) {
		item->line = a->line;
		item->col = a->col;
	}
}

static void copy_str(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* A CIDR with zero host bits; the message says what is wrong. */
static int get_cidr(struct vctx *v, const struct vobj *o, const char *key,
		    bool required, struct ip4_net *out)
{
	struct ip4_net n, fixed;
	char buf[IP4_NETSTRLEN];
	const char *s;
	int r = get_str(v, o, key, required, 64, &s);

	if (r <= 0)
		return r;
	if (ip4_net_parse(s, &n, false, false) == 0) {
		*out = n;
		return 1;
	}
	if (ip4_net_parse(s, &n, false, true) == 0) {
		fixed.addr = n.addr & ip4_mask(n.len);
		fixed.len = n.len;
		verr_field(v, o, key, "host bits must be zero in CIDR \"%s\" (did you mean %s?)",
			   s, ip4_net_fmt(&fixed, buf));
	} else {
		verr_field(v, o, key, "invalid CIDR \"%s\"", s);
	}
	return -1;
}

/* A selector (policy/selector.h: Calico's language); *dst NULL when absent
 * or "" (all()). A parse error is reported where it is: at the string's
 * position plus the offending token's offset. (Exact for a plain scalar on
 * one line; the loader records a quoted scalar at its opening quote, one
 * column early.) A stored document has no positions: the offset is in the
 * message instead. */
static void get_selector(struct vctx *v, const struct vobj *o, const char *key,
			 char **dst)
{
	struct selector_err err = { 0 };
	struct selector *sel = NULL;
	char path[160];
	const char *s;
	int r, line, col;

	if (get_str(v, o, key, false, SELECTOR_MAX, &s) <= 0)
		return;
	r = selector_parse(s, &sel, &err);
	selector_free(sel);
	if (r == -EINVAL) {
		vpos(v, o, key, false, &line, &col);
		vpath(o->path, key, path, sizeof(path));
		if (v->doc && line > 0 && err.pos > 0)
			col += err.pos;
		if (v->doc)
			verr(v, line, col, path, "%s", err.msg);
		else
			verr(v, 0, 0, path, "%s (at offset %d of \"%.80s\")", err.msg,
			     err.pos, s);
		return;
	}
	if (r < 0 || (s[0] && !(*dst = strdup(s))))
		verr(v, 0, 0, NULL, "out of memory");
}

/* One of names[0..n-1]; *out left alone when absent. */
static void get_enum(struct vctx *v, const struct vobj *o, const char *key,
		     const char *const *names, int n, int *out)
{
	char list[128] = "";
	const char *s;
	size_t len = 0;

	if (get_str(v, o, key, false, 64, &s) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return;
		}
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
					i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
		if (len >= sizeof(list))
			len = sizeof(list) - 1;
	}
	verr_field(v, o, key, "unknown value \"%s\" (%s)", s, list);
}

/* The document's frame: apiVersion, kind, metadata (name, labels?,
 * revision?), spec. name must then be checked by the caller. */
struct head {
	struct vobj root, meta, spec;
	bool has_meta, has_spec;
	const char *name;
};

static int decode_head(struct vctx *v, const json_t *j, enum res_kind k,
		       bool labels_ok, bool spec_required, struct head *h)
{
	static const char *const root_keys[] = {
		"apiVersion", "kind", "metadata", "spec", NULL
	};
	static const char *const meta_keys[] = { "name", "revision", NULL };
	static const char *const meta_keys_l[] = { "name", "labels", "revision", NULL };
	const char *s;

	memset(h, 0, sizeof(*h));
	h->root.j = j;
	h->root.line = v->doc ? v->doc->line : 0;
	h->root.col = v->doc ? v->doc->col : 0;
	if (!json_is_object(j)) {
		verr(v, h->root.line, h->root.col, NULL,
		     "a %s document must be a mapping, not %s", res_kind_name(k),
		     yaml_type_name(j));
		return -1;
	}
	check_known(v, &h->root, root_keys);
	if (get_str(v, &h->root, "apiVersion", true, 64, &s) > 0 &&
	    strcmp(s, RES_API_VERSION))
		verr_field(v, &h->root, "apiVersion", "unsupported \"%s\" (expected %s)",
			   s, RES_API_VERSION);
	if (get_str(v, &h->root, "kind", true, 64, &s) > 0 &&
	    strcmp(s, res_kind_name(k)))
		verr_field(v, &h->root, "kind", "expected %s, not \"%s\"",
			   res_kind_name(k), s);
	h->has_meta = get_sub(v, &h->root, "metadata", true, false, &h->meta) > 0;
	if (h->has_meta) {
		check_known(v, &h->meta, labels_ok ? meta_keys_l : meta_keys);
		/* metadata.revision is output only: whatever it says is ignored */
		get_str(v, &h->meta, "name", true, 1024, &h->name);
	}
	h->has_spec = get_sub(v, &h->root, "spec", spec_required, false, &h->spec) > 0;
	return 0;
}

static void check_res_name(struct vctx *v, struct head *h, char *dst)
{
	if (!h->name)
		return;
	if (!res_name_valid(h->name)) {
		verr_field(v, &h->meta, "name",
			   "invalid name \"%s\" (lower-case letters, digits, '-' and '.', "
			   "starting and ending with a letter or digit, at most %d characters)",
			   h->name, RES_NAME_MAX - 1);
		return;
	}
	copy_str(dst, RES_NAME_MAX, h->name);
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

static void decode_labels(struct vctx *v, struct head *h, struct labels *out)
{
	struct vobj lo;
	const char *key;
	json_t *val;
	size_t n;

	if (!h->has_meta || get_sub(v, &h->meta, "labels", false, false, &lo) <= 0)
		return;
	n = json_object_size(lo.j);
	if (n > LABELS_MAX) {
		verr(v, lo.line, lo.col, lo.path, "too many labels (%zu, at most %d)",
		     n, LABELS_MAX);
		return;
	}
	if (n == 0)
		return;
	out->v = calloc(n, sizeof(*out->v));
	if (!out->v) {
		verr(v, lo.line, lo.col, lo.path, "out of memory");
		return;
	}
	json_object_foreach((json_t *)lo.j, key, val) {
		char path[160];
		int line, col;

		vpath(lo.path, key, path, sizeof(path));
		if (!labels_key_valid(key)) {
			vpos(v, &lo, key, true, &line, &col);
			verr(v, line, col, path,
			     "invalid label key (an optional DNS prefix and '/', then at most 63 "
			     "of [A-Za-z0-9._-], starting and ending alphanumeric)");
			continue;
		}
		if (!json_is_string(val)) {
			verr_field(v, &lo, key, "a label value must be a string, not %s (quote it)",
				   yaml_type_name(val));
			continue;
		}
		if (!labels_value_valid(json_string_value(val))) {
			verr_field(v, &lo, key,
				   "invalid label value \"%.80s\" (at most 63 of [A-Za-z0-9._-], "
				   "starting and ending alphanumeric)", json_string_value(val));
			continue;
		}
		out->v[out->n].key = strdup(key);
		out->v[out->n].value = strdup(json_string_value(val));
		if (!out->v[out->n].key || !out->v[out->n].value) {
			free(out->v[out->n].key);
			free(out->v[out->n].value);
			verr(v, lo.line, lo.col, lo.path, "out of memory");
			continue;
		}
		out->n++;
	}
	qsort(out->v, out->n, sizeof(*out->v), label_cmp);
}

/* --------------------------------------------------------------- encoding */

struct jb {
	bool oom;
};

static void jset(struct jb *b, json_t *o, const char *key, json_t *val)
{
	if (!o || !val || json_object_set_new(o, key, val) < 0)
		b->oom = true;
}

/* {apiVersion, kind, metadata: {name, labels?}}; spec is added by the caller. */
static json_t *enc_head(struct jb *b, enum res_kind k, const char *name,
			const struct labels *l, json_t **spec)
{
	json_t *j = json_object(), *meta = json_object();

	jset(b, j, "apiVersion", json_string(RES_API_VERSION));
	jset(b, j, "kind", json_string(res_kind_name(k)));
	jset(b, meta, "name", json_string(name));
	if (l && l->n) {
		json_t *lo = json_object();

		for (size_t i = 0; i < l->n; i++)
			jset(b, lo, l->v[i].key, json_string(l->v[i].value));
		jset(b, meta, "labels", lo);
	}
	jset(b, j, "metadata", meta);
	*spec = json_object();
	jset(b, j, "spec", json_incref(*spec));
	return j;
}

static json_t *enc_done(struct jb *b, json_t *j, json_t *spec)
{
	json_decref(spec);
	if (b->oom) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *enc_net(const struct ip4_net *n)
{
	char buf[IP4_NETSTRLEN];

	return json_string(ip4_net_fmt(n, buf));
}

static json_t *enc_addr(uint32_t a)
{
	char buf[IP4_STRLEN];

	return json_string(ip4_fmt(a, buf));
}

/* ------------------------------------------------------------------ IPPool */

int ippool_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		     struct ippool *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"cidr", "blockSize", "natOutgoing", "disabled", "strictAffinity",
		"nodeSelector", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct ippool p = { .block_size = 26 };
	json_int_t bs = 0;
	bool cidr_ok = false;
	struct head h;
	const char *sel;

	decode_head(&v, j, RES_IPPOOL, false, true, &h);
	check_res_name(&v, &h, p.name);
	if (h.has_spec) {
		check_known(&v, &h.spec, spec_keys);
		cidr_ok = get_cidr(&v, &h.spec, "cidr", true, &p.cidr) > 0;
		if (get_int(&v, &h.spec, "blockSize", 20, 32, &bs) > 0) {
			p.block_size = (int)bs;
			if (cidr_ok && bs < p.cidr.len)
				verr_field(&v, &h.spec, "blockSize",
					   "%d is shorter than the pool's prefix length %u "
					   "(a block must fit in the pool)",
					   p.block_size, (unsigned)p.cidr.len);
		} else if (cidr_ok && p.cidr.len > 26) {
			p.block_size = p.cidr.len;
		}
		get_bool(&v, &h.spec, "natOutgoing", &p.nat_outgoing);
		get_bool(&v, &h.spec, "disabled", &p.disabled);
		get_bool(&v, &h.spec, "strictAffinity", &p.strict_affinity);
		if (get_str(&v, &h.spec, "nodeSelector", false, NODESEL_MAX, &sel) > 0 &&
		    sel[0]) {
			p.node_selector = strdup(sel);
			if (!p.node_selector)
				verr(&v, 0, 0, NULL, "out of memory");
		}
	}
	if (vflush(&v) < 0) {
		ippool_clear(&p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

json_t *ippool_to_json(const struct ippool *p)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_IPPOOL, p->name, NULL, &spec);

	jset(&b, spec, "cidr", enc_net(&p->cidr));
	jset(&b, spec, "blockSize", json_integer(p->block_size));
	jset(&b, spec, "natOutgoing", json_boolean(p->nat_outgoing));
	jset(&b, spec, "disabled", json_boolean(p->disabled));
	jset(&b, spec, "strictAffinity", json_boolean(p->strict_affinity));
	if (p->node_selector && p->node_selector[0])
		jset(&b, spec, "nodeSelector", json_string(p->node_selector));
	return enc_done(&b, j, spec);
}

void ippool_clear(struct ippool *p)
{
	if (!p)
		return;
	free(p->node_selector);
	memset(p, 0, sizeof(*p));
}

/* -------------------------------------------------------------------- Node */

int node_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		   struct node *out, struct errs *e)
{
	static const char *const spec_keys[] = { "bgp", NULL };
	static const char *const bgp_keys[] = {
		"ipv4Address", "asNumber", "routeReflectorClusterID", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct node n = { 0 };
	struct vobj bgp;
	struct head h;
	const char *s;
	json_int_t asn;

	decode_head(&v, j, RES_NODE, true, false, &h);
	check_res_name(&v, &h, n.name);
	decode_labels(&v, &h, &n.labels);
	if (h.has_spec) {
		check_known(&v, &h.spec, spec_keys);
		if (get_sub(&v, &h.spec, "bgp", false, false, &bgp) > 0) {
			check_known(&v, &bgp, bgp_keys);
			if (get_str(&v, &bgp, "ipv4Address", false, 64, &s) > 0) {
				struct ip4_net a;

				if (ip4_net_parse(s, &a, true, true) < 0)
					verr_field(&v, &bgp, "ipv4Address",
						   "invalid IPv4 address \"%s\"", s);
				else if (a.addr == 0)
					verr_field(&v, &bgp, "ipv4Address",
						   "0.0.0.0 is not an address to peer from");
				else
					n.bgp_ipv4 = a.addr;
			}
			if (get_int(&v, &bgp, "asNumber", 1, 4294967295LL, &asn) > 0)
				n.bgp_asn = (uint32_t)asn;
			if (get_str(&v, &bgp, "routeReflectorClusterID", false, 64, &s) > 0) {
				uint32_t id;
				char buf[IP4_STRLEN];

				if (ip4_parse(s, &id) < 0)
					verr_field(&v, &bgp, "routeReflectorClusterID",
						   "invalid cluster ID \"%s\" (a dotted quad)", s);
				else if (!(n.rr_cluster_id = strdup(ip4_fmt(id, buf))))
					verr(&v, 0, 0, NULL, "out of memory");
			}
		}
	}
	if (vflush(&v) < 0) {
		node_clear(&n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

json_t *node_to_json(const struct node *n)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_NODE, n->name, &n->labels, &spec);

	if (n->bgp_ipv4 || n->bgp_asn || n->rr_cluster_id) {
		json_t *bgp = json_object();

		if (n->bgp_ipv4)
			jset(&b, bgp, "ipv4Address", enc_addr(n->bgp_ipv4));
		if (n->bgp_asn)
			jset(&b, bgp, "asNumber", json_integer(n->bgp_asn));
		if (n->rr_cluster_id)
			jset(&b, bgp, "routeReflectorClusterID", json_string(n->rr_cluster_id));
		jset(&b, spec, "bgp", bgp);
	}
	return enc_done(&b, j, spec);
}

void node_clear(struct node *n)
{
	if (!n)
		return;
	free(n->rr_cluster_id);
	labels_clear(&n->labels);
	memset(n, 0, sizeof(*n));
}

/* -------------------------------------------------------- WorkloadEndpoint */

static const char *const wep_modes[] = {
	[WEP_ROUTED] = "routed", [WEP_HOST] = "host", [WEP_NONE] = "none",
	[WEP_CONTAINER] = "container",
};

const char *wep_mode_name(enum wep_mode m)
{
	return (unsigned)m <= WEP_CONTAINER ? wep_modes[m] : "?";
}

int wep_mode_parse(const char *s)
{
	for (int m = 0; s && m <= WEP_CONTAINER; m++)
		if (!strcmp(s, wep_modes[m]))
			return m;
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "aa:bb:cc:dd:ee:ff" (either case). */
static int mac_parse(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* The container ID a CNI runtime may pass: alphanumerics, '_', '-', '.'. */
static bool container_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= sizeof(((struct wep *)0)->container_id))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static void get_ifname(struct vctx *v, const struct vobj *o, const char *key,
		       char *dst, size_t len)
{
	const char *s;

	if (get_str(v, o, key, false, 64, &s) <= 0)
		return;
	if (!ifname_valid(s) || strlen(s) >= len)
		verr_field(v, o, key, "invalid interface name \"%s\" (1 to %d characters, "
			   "no '/', ':' or whitespace)", s, IFNAME_LEN);
	else
		copy_str(dst, len, s);
}

static void wep_nets(struct vctx *v, const struct vobj *spec, struct wep *w)
{
	struct vobj nets;
	size_t n;

	if (get_sub(v, spec, "ipNetworks", false, true, &nets) <= 0)
		return;
	n = json_array_size(nets.j);
	if (n > WEP_MAX_NETS) {
		verr(v, nets.line, nets.col, nets.path, "too many networks (%zu, at most %d)",
		     n, WEP_MAX_NETS);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct vobj it;
		struct ip4_net net;
		const char *s;
		size_t k;

		vitem(v, &nets, i, &it);
		if (!json_is_string(it.j)) {
			verr(v, it.line, it.col, it.path, "must be a string, not %s",
			     yaml_type_name(it.j));
			continue;
		}
		s = json_string_value(it.j);
		if (ip4_net_parse(s, &net, true, false) < 0 || net.len != 32) {
			verr(v, it.line, it.col, it.path,
			     "invalid address \"%.64s\" (expected A.B.C.D/32)", s);
			continue;
		}
		for (k = 0; k < w->n_nets; k++)
			if (w->nets[k].addr == net.addr)
				break;
		if (k < w->n_nets) {
			verr(v, it.line, it.col, it.path, "duplicate address \"%s\"", s);
			continue;
		}
		w->nets[w->n_nets++] = net;
	}
}

/* Names a workload's network may not have: docker's own network modes. */
static bool network_name_reserved(const char *s)
{
	static const char *const reserved[] = { "routed", "host", "none", NULL };

	for (size_t i = 0; reserved[i]; i++)
		if (!strcmp(s, reserved[i]))
			return true;
	return false;
}

static void wep_networks(struct vctx *v, const struct vobj *spec, struct wep *w)
{
	struct vobj nl;
	size_t n;

	if (get_sub(v, spec, "networks", false, true, &nl) <= 0)
		return;
	n = json_array_size(nl.j);
	if (n > WEP_MAX_NETWORKS) {
		verr(v, nl.line, nl.col, nl.path, "too many networks (%zu, at most %d)",
		     n, WEP_MAX_NETWORKS);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct vobj it;
		const char *s;
		size_t k;

		vitem(v, &nl, i, &it);
		if (!json_is_string(it.j)) {
			verr(v, it.line, it.col, it.path, "must be a network name, not %s",
			     yaml_type_name(it.j));
			continue;
		}
		s = json_string_value(it.j);
		if (!res_name_valid(s) || network_name_reserved(s)) {
			verr(v, it.line, it.col, it.path, "invalid network name \"%.80s\"", s);
			continue;
		}
		for (k = 0; k < w->n_networks && strcmp(w->networks[k], s); k++)
			;
		if (k < w->n_networks) {
			verr(v, it.line, it.col, it.path, "duplicate network \"%s\"", s);
			continue;
		}
		copy_str(w->networks[w->n_networks++], RES_NAME_MAX, s);
	}
}

/* hostIP: a unicast address, or 0.0.0.0 (every address, as when absent). */
static bool wep_port_host_ip(struct vctx *v, const struct vobj *o, uint32_t *ip)
{
	const char *s;
	int r = get_str(v, o, "hostIP", false, 64, &s);

	if (r <= 0)
		return r == 0;
	if (ip4_parse(s, ip) < 0) {
		verr_field(v, o, "hostIP", "invalid IPv4 address \"%s\"", s);
		return false;
	}
	if ((*ip >> 28) == 0xe || *ip == 0xffffffffu) {
		verr_field(v, o, "hostIP", "\"%s\" is not a unicast address", s);
		return false;
	}
	return true;
}

/* One item of spec.ports; true when *p is complete and valid. */
static bool wep_port(struct vctx *v, const struct vobj *it, struct wep_port *p)
{
	static const char *const keys[] = {
		"hostIP", "hostPort", "containerPort", "protocol", NULL
	};
	static const char *const protos[] = { "tcp", "udp" };
	bool ok = true;
	json_int_t i;
	int proto = 0;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(it->j)) {
		verr(v, it->line, it->col, it->path, "must be a mapping {hostIP?, hostPort, "
		     "containerPort, protocol?}, not %s", yaml_type_name(it->j));
		return false;
	}
	check_known(v, it, keys);
	ok &= wep_port_host_ip(v, it, &p->host_ip);
	if (get_int(v, it, "hostPort", 1, 65535, &i) > 0)
		p->host_port = (uint16_t)i;
	else if (!vmember(it, "hostPort"))
		verr_missing(v, it, "hostPort");
	if (get_int(v, it, "containerPort", 1, 65535, &i) > 0)
		p->port = (uint16_t)i;
	else if (!vmember(it, "containerPort"))
		verr_missing(v, it, "containerPort");
	if (vmember(it, "protocol")) {
		proto = -1;
		get_enum(v, it, "protocol", protos, 2, &proto);
	}
	p->proto = proto == 1 ? 17 : 6;	/* IPPROTO_UDP, IPPROTO_TCP */
	return ok && proto >= 0 && p->host_port && p->port;
}

/* Two ports collide when they take the same host port and protocol on a
 * common address (0 is every address). */
static bool wep_ports_collide(const struct wep_port *a, const struct wep_port *b)
{
	return a->host_port == b->host_port && a->proto == b->proto &&
	       (a->host_ip == b->host_ip || !a->host_ip || !b->host_ip);
}

static void wep_ports(struct vctx *v, const struct vobj *spec, struct wep *w,
		      bool mode_ok)
{
	struct vobj pl;
	size_t n;

	if (get_sub(v, spec, "ports", false, true, &pl) <= 0)
		return;
	n = json_array_size(pl.j);
	if (n > WEP_MAX_PORTS) {
		verr(v, pl.line, pl.col, pl.path, "too many ports (%zu, at most %d)",
		     n, WEP_MAX_PORTS);
		return;
	}
	if (n && mode_ok && w->mode != WEP_ROUTED) {
		verr(v, pl.line, pl.col, pl.path, "only allowed with mode routed");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct wep_port p;
		struct vobj it;
		size_t k;

		vitem(v, &pl, i, &it);
		if (!wep_port(v, &it, &p))
			continue;
		for (k = 0; k < w->n_ports && !wep_ports_collide(&w->ports[k], &p); k++)
			;
		if (k < w->n_ports) {
			verr(v, it.line, it.col, it.path, "host port %u/%s is already "
			     "published by %s[%zu]", (unsigned)p.host_port,
			     p.proto == 17 ? "udp" : "tcp", pl.path, k);
			continue;
		}
		w->ports[w->n_ports++] = p;
	}
}

int wep_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct wep *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"node", "mode", "container", "netns", "interfaceName",
		"workloadInterfaceName", "ipNetworks", "mac", "containerID",
		"networks", "ports", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct wep w = { .mode = WEP_ROUTED };
	bool mode_ok = true;
	struct head h;
	const char *s;

	decode_head(&v, j, RES_WEP, true, true, &h);
	check_res_name(&v, &h, w.name);
	decode_labels(&v, &h, &w.labels);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		check_known(&v, sp, spec_keys);
		if (get_str(&v, sp, "node", true, 1024, &s) > 0) {
			if (!res_name_valid(s))
				verr_field(&v, sp, "node", "invalid node name \"%s\"", s);
			else
				copy_str(w.node, sizeof(w.node), s);
		}
		if (get_str(&v, sp, "mode", false, 64, &s) > 0) {
			int m = wep_mode_parse(s);

			if (m < 0) {
				verr_field(&v, sp, "mode",
					   "unknown mode \"%s\" (routed, host, none or container)", s);
				mode_ok = false;
			} else {
				w.mode = (enum wep_mode)m;
			}
		}
		if (get_str(&v, sp, "container", false, 1024, &s) > 0) {
			if (mode_ok && w.mode != WEP_CONTAINER)
				verr_field(&v, sp, "container", "only allowed with mode container");
			else if (!res_name_valid(s))
				verr_field(&v, sp, "container", "invalid workload name \"%s\"", s);
			else if (h.name && !strcmp(s, h.name))
				verr_field(&v, sp, "container", "a workload cannot join itself");
			else
				copy_str(w.container, sizeof(w.container), s);
		} else if (mode_ok && w.mode == WEP_CONTAINER && !vmember(sp, "container")) {
			verr_missing(&v, sp, "container");
		}
		if (get_str(&v, sp, "netns", false, sizeof(w.netns) - 1, &s) > 0) {
			if (s[0] && s[0] != '/')
				verr_field(&v, sp, "netns", "must be an absolute path, not \"%s\"", s);
			else
				copy_str(w.netns, sizeof(w.netns), s);
		}
		get_ifname(&v, sp, "interfaceName", w.ifname, sizeof(w.ifname));
		get_ifname(&v, sp, "workloadInterfaceName", w.wl_ifname, sizeof(w.wl_ifname));
		wep_nets(&v, sp, &w);
		if (mode_ok && w.mode == WEP_ROUTED && !vmember(sp, "ipNetworks"))
			verr_missing(&v, sp, "ipNetworks");
		else if (mode_ok && w.mode == WEP_ROUTED &&
			 json_is_array(vmember(sp, "ipNetworks")) &&
			 json_array_size(vmember(sp, "ipNetworks")) == 0)
			verr_field(&v, sp, "ipNetworks", "mode routed needs an address");
		else if (mode_ok && w.mode != WEP_ROUTED && w.n_nets)
			verr_field(&v, sp, "ipNetworks", "only allowed with mode routed");
		if (get_str(&v, sp, "mac", false, 64, &s) > 0) {
			if (mac_parse(s, w.mac) < 0)
				verr_field(&v, sp, "mac", "invalid MAC address \"%s\" "
					   "(expected aa:bb:cc:dd:ee:ff)", s);
			else if (w.mac[0] & 1)
				verr_field(&v, sp, "mac", "\"%s\" is a multicast address", s);
			else if (!(w.mac[0] | w.mac[1] | w.mac[2] | w.mac[3] | w.mac[4] | w.mac[5]))
				verr_field(&v, sp, "mac", "00:00:00:00:00:00 is not an address");
			else
				w.has_mac = true;
		}
		if (get_str(&v, sp, "containerID", false, 1024, &s) > 0) {
			if (!container_id_ok(s))
				verr_field(&v, sp, "containerID", "invalid container ID \"%.80s\" "
					   "(1 to %zu of [A-Za-z0-9_.-])", s,
					   sizeof(w.container_id) - 1);
			else
				copy_str(w.container_id, sizeof(w.container_id), s);
		}
		wep_networks(&v, sp, &w);
		wep_ports(&v, sp, &w, mode_ok);
	}
	if (vflush(&v) < 0) {
		wep_clear(&w);
		return -EINVAL;
	}
	*out = w;
	return 0;
}

/* {hostIP?, hostPort, containerPort, protocol}; NULL on ENOMEM. */
static json_t *enc_wep_port(const struct wep_port *p)
{
	struct jb b = { 0 };
	json_t *o = json_object();

	if (p->host_ip)
		jset(&b, o, "hostIP", enc_addr(p->host_ip));
	jset(&b, o, "hostPort", json_integer(p->host_port));
	jset(&b, o, "containerPort", json_integer(p->port));
	jset(&b, o, "protocol", json_string(p->proto == 17 ? "udp" : "tcp"));
	if (b.oom) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *wep_to_json(const struct wep *w)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_WEP, w->name, &w->labels, &spec);

	jset(&b, spec, "node", json_string(w->node));
	jset(&b, spec, "mode", json_string(wep_mode_name(w->mode)));
	if (w->mode == WEP_CONTAINER || w->container[0])
		jset(&b, spec, "container", json_string(w->container));
	if (w->netns[0])
		jset(&b, spec, "netns", json_string(w->netns));
	if (w->ifname[0])
		jset(&b, spec, "interfaceName", json_string(w->ifname));
	if (w->wl_ifname[0])
		jset(&b, spec, "workloadInterfaceName", json_string(w->wl_ifname));
	if (w->n_nets) {
		json_t *a = json_array();

		for (size_t i = 0; i < w->n_nets && i < WEP_MAX_NETS; i++)
			if (!a || json_array_append_new(a, enc_net(&w->nets[i])) < 0)
				b.oom = true;
		jset(&b, spec, "ipNetworks", a);
	}
	if (w->has_mac) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", w->mac[0],
			 w->mac[1], w->mac[2], w->mac[3], w->mac[4], w->mac[5]);
		jset(&b, spec, "mac", json_string(mac));
	}
	if (w->container_id[0])
		jset(&b, spec, "containerID", json_string(w->container_id));
	/* both only when set, so that documents without them stay as they were */
	if (w->n_networks) {
		json_t *a = json_array();

		for (size_t i = 0; i < w->n_networks && i < WEP_MAX_NETWORKS; i++)
			if (!a || json_array_append_new(a, json_string(w->networks[i])) < 0)
				b.oom = true;
		jset(&b, spec, "networks", a);
	}
	if (w->n_ports) {
		json_t *a = json_array();

		for (size_t i = 0; i < w->n_ports && i < WEP_MAX_PORTS; i++)
			if (!a || json_array_append_new(a, enc_wep_port(&w->ports[i])) < 0)
				b.oom = true;
		jset(&b, spec, "ports", a);
	}
	return enc_done(&b, j, spec);
}

void wep_clear(struct wep *w)
{
	if (!w)
		return;
	labels_clear(&w->labels);
	memset(w, 0, sizeof(*w));
}

/* --------------------------------------------------------------- IPAMBlock */

void ipam_block_name(const struct ip4_net *cidr, char *buf)
{
	char *slash;

	ip4_net_fmt(cidr, buf);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '-';
}

int ipam_block_init(struct ipam_block *b, const struct ip4_net *cidr)
{
	if (cidr->len < BLOCK_MIN_LEN || cidr->len > 32)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->handles = calloc((size_t)ip4_net_size(cidr), sizeof(*b->handles));
	if (!b->handles)
		return -ENOMEM;
	b->cidr.addr = cidr->addr & ip4_mask(cidr->len);
	b->cidr.len = cidr->len;
	return 0;
}

size_t ipam_block_used(const struct ipam_block *b)
{
	size_t n = 0, size;

	if (!b->handles)
		return 0;
	size = (size_t)ip4_net_size(&b->cidr);
	for (size_t i = 0; i < size; i++)
		n += b->handles[i] != NULL;
	return n;
}

/* A handle id: 1..IPAM_HANDLE_MAX-1 of [A-Za-z0-9._-]. */
static bool handle_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IPAM_HANDLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* An ordinal: a decimal without leading zeros, below size. */
static bool ordinal_parse(const char *s, size_t size, size_t *out)
{
	size_t v = 0, n = strlen(s);

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	if (v >= size)
		return false;
	*out = v;
	return true;
}

static void block_allocs(struct vctx *v, const struct vobj *spec, struct ipam_block *b)
{
	struct vobj al;
	size_t size;
	const char *key;
	json_t *val;

	if (get_sub(v, spec, "allocations", false, false, &al) <= 0 || !b->handles)
		return;
	size = (size_t)ip4_net_size(&b->cidr);
	json_object_foreach((json_t *)al.j, key, val) {
		char path[160];
		size_t ord;
		int line, col;

		if (!ordinal_parse(key, size, &ord)) {
			vpos(v, &al, key, true, &line, &col);
			vpath(al.path, key, path, sizeof(path));
			verr(v, line, col, path, "invalid ordinal \"%.20s\" (0..%zu)", key, size - 1);
			continue;
		}
		if (!json_is_string(val)) {
			verr_field(v, &al, key, "a handle ID must be a string, not %s",
				   yaml_type_name(val));
			continue;
		}
		if (!handle_id_ok(json_string_value(val))) {
			verr_field(v, &al, key, "invalid handle ID \"%.80s\"",
				   json_string_value(val));
			continue;
		}
		if (!(b->handles[ord] = strdup(json_string_value(val))))
			verr(v, 0, 0, NULL, "out of memory");
	}
}

int ipam_block_from_json(const json_t *j, const struct ydoc *doc,
			 const char *file, struct ipam_block *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"cidr", "affinity", "pool", "allocations", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct ipam_block b = { 0 };
	struct ip4_net cidr;
	struct head h;
	const char *s;

	decode_head(&v, j, RES_IPAMBLOCK, false, true, &h);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		check_known(&v, sp, spec_keys);
		if (get_cidr(&v, sp, "cidr", true, &cidr) > 0) {
			char name[IP4_NETSTRLEN];

			if (cidr.len < BLOCK_MIN_LEN)
				verr_field(&v, sp, "cidr", "a block is /%d to /32, not /%u",
					   BLOCK_MIN_LEN, (unsigned)cidr.len);
			else if (ipam_block_init(&b, &cidr) < 0)
				verr(&v, 0, 0, NULL, "out of memory");
			ipam_block_name(&cidr, name);
			if (h.name && strcmp(h.name, name))
				verr_field(&v, &h.meta, "name",
					   "\"%.80s\" does not match spec.cidr (expected \"%s\")",
					   h.name, name);
		}
		if (get_str(&v, sp, "affinity", false, 1024, &s) > 0 && s[0]) {
			if (!res_name_valid(s))
				verr_field(&v, sp, "affinity", "invalid node name \"%s\"", s);
			else
				copy_str(b.affinity, sizeof(b.affinity), s);
		}
		if (get_str(&v, sp, "pool", false, 1024, &s) > 0 && s[0]) {
			if (!res_name_valid(s))
				verr_field(&v, sp, "pool", "invalid pool name \"%s\"", s);
			else
				copy_str(b.pool, sizeof(b.pool), s);
		}
		block_allocs(&v, sp, &b);
	}
	if (vflush(&v) < 0) {
		ipam_block_clear(&b);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

json_t *ipam_block_to_json(const struct ipam_block *b)
{
	char name[IP4_NETSTRLEN];
	struct jb bb = { 0 };
	json_t *spec, *j, *al;

	ipam_block_name(&b->cidr, name);
	j = enc_head(&bb, RES_IPAMBLOCK, name, NULL, &spec);
	jset(&bb, spec, "cidr", enc_net(&b->cidr));
	if (b->affinity[0])
		jset(&bb, spec, "affinity", json_string(b->affinity));
	if (b->pool[0])
		jset(&bb, spec, "pool", json_string(b->pool));
	al = json_object();
	if (b->handles) {
		size_t size = (size_t)ip4_net_size(&b->cidr);

		for (size_t i = 0; i < size; i++) {
			char ord[24];

			if (!b->handles[i])
				continue;
			snprintf(ord, sizeof(ord), "%zu", i);
			jset(&bb, al, ord, json_string(b->handles[i]));
		}
	}
	jset(&bb, spec, "allocations", al);
	return enc_done(&bb, j, spec);
}

void ipam_block_clear(struct ipam_block *b)
{
	if (!b)
		return;
	if (b->handles) {
		size_t size = (size_t)ip4_net_size(&b->cidr);

		for (size_t i = 0; i < size; i++)
			free(b->handles[i]);
		free(b->handles);
	}
	memset(b, 0, sizeof(*b));
}

/* -------------------------------------------------------------- IPAMHandle */

int ipam_handle_from_json(const json_t *j, const struct ydoc *doc,
			  const char *file, struct ipam_handle *out,
			  struct errs *e)
{
	static const char *const spec_keys[] = { "addresses", "created", NULL };
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct ipam_handle hd = { 0 };
	struct vobj al;
	json_int_t created;
	struct head h;

	decode_head(&v, j, RES_IPAMHANDLE, false, true, &h);
	if (h.name) {
		if (!handle_id_ok(h.name))
			verr_field(&v, &h.meta, "name", "invalid handle ID \"%.80s\" "
				   "(1 to %d of [A-Za-z0-9._-])", h.name, IPAM_HANDLE_MAX - 1);
		else
			copy_str(hd.id, sizeof(hd.id), h.name);
	}
	if (h.has_spec) {
		check_known(&v, &h.spec, spec_keys);
		if (get_sub(&v, &h.spec, "addresses", false, true, &al) > 0) {
			size_t n = json_array_size(al.j);

			if (n > HANDLE_ADDRS_MAX)
				verr(&v, al.line, al.col, al.path,
				     "too many addresses (%zu, at most %d)", n, HANDLE_ADDRS_MAX);
			else if (n && !(hd.addrs = calloc(n, sizeof(*hd.addrs))))
				verr(&v, 0, 0, NULL, "out of memory");
			for (size_t i = 0; hd.addrs && i < n; i++) {
				struct vobj it;
				uint32_t a;
				size_t k;

				vitem(&v, &al, i, &it);
				if (!json_is_string(it.j) ||
				    ip4_parse(json_string_value(it.j), &a) < 0) {
					verr(&v, it.line, it.col, it.path,
					     "invalid IPv4 address%s%.64s%s",
					     json_is_string(it.j) ? " \"" : "",
					     json_is_string(it.j) ? json_string_value(it.j) : "",
					     json_is_string(it.j) ? "\"" : "");
					continue;
				}
				for (k = 0; k < hd.n && hd.addrs[k] != a; k++)
					;
				if (k < hd.n) {
					verr(&v, it.line, it.col, it.path, "duplicate address \"%s\"",
					     json_string_value(it.j));
					continue;
				}
				hd.addrs[hd.n++] = a;
			}
		}
		if (get_int(&v, &h.spec, "created", 0, INT64_MAX, &created) > 0)
			hd.created = created;
	}
	if (vflush(&v) < 0) {
		ipam_handle_clear(&hd);
		return -EINVAL;
	}
	*out = hd;
	return 0;
}

json_t *ipam_handle_to_json(const struct ipam_handle *h)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_IPAMHANDLE, h->id, NULL, &spec);
	json_t *a = json_array();

	for (size_t i = 0; i < h->n; i++)
		if (!a || json_array_append_new(a, enc_addr(h->addrs[i])) < 0)
			b.oom = true;
	jset(&b, spec, "addresses", a);
	jset(&b, spec, "created", json_integer(h->created));
	return enc_done(&b, j, spec);
}

void ipam_handle_clear(struct ipam_handle *h)
{
	if (!h)
		return;
	free(h->addrs);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------ BGP: shared parts */

/* n decimal digits without sign or leading zero, at most max. */
static bool dec_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

int bgp_community_parse(const char *s, struct bgp_community *out)
{
	struct bgp_community c = { 0 };
	size_t parts = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	for (;;) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);

		if (parts == 3 || !dec_u32(p, n, UINT32_MAX, &c.v[parts]))
			return -EINVAL;
		parts++;
		if (!colon)
			break;
		p = colon + 1;
	}
	if (parts == 2 && (c.v[0] > 65535 || c.v[1] > 65535))
		return -EINVAL;
	if (parts < 2)
		return -EINVAL;
	c.large = parts == 3;
	*out = c;
	return 0;
}

char *bgp_community_fmt(const struct bgp_community *c, char *buf)
{
	if (c->large)
		snprintf(buf, BGP_COMMUNITY_STRLEN, "%" PRIu32 ":%" PRIu32 ":%" PRIu32,
			 c->v[0], c->v[1], c->v[2]);
	else
		snprintf(buf, BGP_COMMUNITY_STRLEN, "%" PRIu32 ":%" PRIu32, c->v[0], c->v[1]);
	return buf;
}

/* A secret: the message never repeats the value (it would end up in logs). */
static void get_password(struct vctx *v, const struct vobj *o, const char *key,
			 char **dst)
{
	const char *s;

	if (get_str(v, o, key, false, BGP_PASSWORD_MAX, &s) <= 0)
		return;
	if (!s[0]) {
		verr_field(v, o, key, "must not be empty (leave the field out for no password)");
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7e || *p == '"' || *p == '\\') {
			verr_field(v, o, key, "must be printable ASCII without '\"' or '\\' "
				   "(the value is not shown)");
			return;
		}
	}
	if (!(*dst = strdup(s)))
		verr(v, 0, 0, NULL, "out of memory");
}

/* --------------------------------------------------------- node selectors */

int node_selector_match(const char *sel, const struct labels *l)
{
	/* NULL is refused here (a caller's field says what its NULL means);
	 * "" is all(), as in Calico */
	if (!sel)
		return -EINVAL;
	return selector_match_text(sel, l);
}

/* ------------------------------------------------------- BGPConfiguration */

static const char *const log_level_names[] = {
	[LOG_LVL_ERR] = "error", [LOG_LVL_WARN] = "warning",
	[LOG_LVL_INFO] = "info", [LOG_LVL_DEBUG] = "debug",
};

void bgpconfig_defaults(struct bgpconfig *c)
{
	memset(c, 0, sizeof(*c));
	copy_str(c->name, sizeof(c->name), BGPCONFIG_NAME);
	c->asn = BGP_DEFAULT_ASN;
	c->mesh = true;
	c->gr_time = BGP_DEFAULT_GR_TIME;
	c->listen_port = BGP_DEFAULT_PORT;
	c->log_level = LOG_LVL_INFO;
}

static void bgp_communities(struct vctx *v, const struct vobj *spec,
			    struct bgpconfig *c)
{
	struct vobj cl;
	size_t n;

	if (get_sub(v, spec, "communities", false, true, &cl) <= 0)
		return;
	n = json_array_size(cl.j);
	if (n > BGP_COMMUNITIES_MAX) {
		verr(v, cl.line, cl.col, cl.path, "too many communities (%zu, at most %d)",
		     n, BGP_COMMUNITIES_MAX);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct bgp_community com;
		struct vobj it;
		const char *s;
		size_t k;

		vitem(v, &cl, i, &it);
		if (!json_is_string(it.j)) {
			verr(v, it.line, it.col, it.path, "must be a string, not %s "
			     "(quote it: \"65000:100\")", yaml_type_name(it.j));
			continue;
		}
		s = json_string_value(it.j);
		if (bgp_community_parse(s, &com) < 0) {
			verr(v, it.line, it.col, it.path, "invalid community \"%.80s\" "
			     "(A:B with parts 0..65535, or A:B:C with parts 0..4294967295)", s);
			continue;
		}
		for (k = 0; k < c->n_communities; k++)
			if (!memcmp(&c->communities[k], &com, sizeof(com)))
				break;
		if (k < c->n_communities) {
			verr(v, it.line, it.col, it.path, "duplicate community \"%s\"", s);
			continue;
		}
		c->communities[c->n_communities++] = com;
	}
}

int bgpconfig_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct bgpconfig *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"asNumber", "nodeToNodeMesh", "meshPassword", "communities",
		"gracefulRestartTime", "listenPort", "logLevel", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct bgpconfig c;
	json_int_t i;
	struct head h;

	bgpconfig_defaults(&c);
	decode_head(&v, j, RES_BGPCONFIG, false, false, &h);
	if (h.name && strcmp(h.name, BGPCONFIG_NAME))
		verr_field(&v, &h.meta, "name", "must be \"" BGPCONFIG_NAME "\" (the "
			   "cluster-wide configuration), not \"%.80s\"", h.name);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		check_known(&v, sp, spec_keys);
		if (get_int(&v, sp, "asNumber", 1, 4294967295LL, &i) > 0)
			c.asn = (uint32_t)i;
		get_bool(&v, sp, "nodeToNodeMesh", &c.mesh);
		get_password(&v, sp, "meshPassword", &c.mesh_password);
		bgp_communities(&v, sp, &c);
		if (get_int(&v, sp, "gracefulRestartTime", 1, 4095, &i) > 0)
			c.gr_time = (uint32_t)i;
		if (get_int(&v, sp, "listenPort", 1, 65535, &i) > 0)
			c.listen_port = (uint16_t)i;
		get_enum(&v, sp, "logLevel", log_level_names, 4, &c.log_level);
	}
	if (vflush(&v) < 0) {
		bgpconfig_clear(&c);
		return -EINVAL;
	}
	*out = c;
	return 0;
}

json_t *bgpconfig_to_json(const struct bgpconfig *c)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_BGPCONFIG, c->name, NULL, &spec);

	jset(&b, spec, "asNumber", json_integer(c->asn));
	jset(&b, spec, "nodeToNodeMesh", json_boolean(c->mesh));
	if (c->mesh_password)
		jset(&b, spec, "meshPassword", json_string(c->mesh_password));
	if (c->n_communities) {
		json_t *a = json_array();

		for (size_t i = 0; i < c->n_communities && i < BGP_COMMUNITIES_MAX; i++) {
			char buf[BGP_COMMUNITY_STRLEN];

			if (!a || json_array_append_new(a, json_string(
					bgp_community_fmt(&c->communities[i], buf))) < 0)
				b.oom = true;
		}
		jset(&b, spec, "communities", a);
	}
	jset(&b, spec, "gracefulRestartTime", json_integer(c->gr_time));
	jset(&b, spec, "listenPort", json_integer(c->listen_port));
	jset(&b, spec, "logLevel", json_string(
		     (unsigned)c->log_level <= LOG_LVL_DEBUG ? log_level_names[c->log_level] :
							       "info"));
	return enc_done(&b, j, spec);
}

void bgpconfig_clear(struct bgpconfig *c)
{
	if (!c)
		return;
	free(c->mesh_password);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------- BGPPeer */

static const char *const bgp_nh_names[] = { "auto", "self", "keep" };
static const char *const bgp_src_names[] = { "nodeIP", "auto" };
static const char *const bgp_import_names[] = { "pools", "all" };

/* "A.B.C.D" or "A.B.C.D:PORT". */
static int peer_addr_parse(const char *s, uint32_t *ip, uint16_t *port)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	char buf[IP4_STRLEN];
	uint32_t p = 0;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ip4_parse(buf, ip) < 0)
		return -EINVAL;
	if (colon && (!dec_u32(colon + 1, strlen(colon + 1), 65535, &p) || p == 0))
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static void bgppeer_addr(struct vctx *v, const struct vobj *sp, struct bgppeer *p)
{
	const char *s;

	if (get_str(v, sp, "peerIP", true, 64, &s) <= 0)
		return;
	if (peer_addr_parse(s, &p->peer_ip, &p->peer_port) < 0)
		verr_field(v, sp, "peerIP", "invalid peer address \"%s\" "
			   "(expected A.B.C.D or A.B.C.D:PORT)", s);
	else if (p->peer_ip == 0)
		verr_field(v, sp, "peerIP", "0.0.0.0 is not a peer address");
	else if ((p->peer_ip >> 28) == 0xe)
		verr_field(v, sp, "peerIP", "\"%s\" is a multicast address", s);
	else if (p->peer_ip == 0xffffffffu)
		verr_field(v, sp, "peerIP", "255.255.255.255 is not a peer address");
}

int bgppeer_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct bgppeer *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"peerIP", "asNumber", "node", "nodeSelector", "password",
		"keepaliveTime", "holdTime", "bfd", "ttlSecurity", "multihop",
		"nextHopMode", "sourceAddress", "import", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct bgppeer p = { 0 };
	int nh = BGP_NH_AUTO, src = BGP_SRC_NODE_IP, imp = BGP_IMPORT_POOLS;
	bool has_node = false;
	struct head h;
	const char *s;
	json_int_t i;

	decode_head(&v, j, RES_BGPPEER, false, true, &h);
	check_res_name(&v, &h, p.name);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		check_known(&v, sp, spec_keys);
		bgppeer_addr(&v, sp, &p);
		if (get_int(&v, sp, "asNumber", 1, 4294967295LL, &i) > 0)
			p.asn = (uint32_t)i;
		else if (!vmember(sp, "asNumber"))
			verr_missing(&v, sp, "asNumber");
		if (get_str(&v, sp, "node", false, 1024, &s) > 0) {
			has_node = true;
			if (!res_name_valid(s))
				verr_field(&v, sp, "node", "invalid node name \"%.80s\"", s);
			else
				copy_str(p.node, sizeof(p.node), s);
		}
		if (has_node && vmember(sp, "nodeSelector"))
			verr_field(&v, sp, "nodeSelector",
				   "give node or nodeSelector, not both");
		else
			get_selector(&v, sp, "nodeSelector", &p.node_selector);
		get_password(&v, sp, "password", &p.password);
		if (get_int(&v, sp, "keepaliveTime", 1, 65535, &i) > 0)
			p.keepalive = (uint16_t)i;
		if (get_int(&v, sp, "holdTime", 3, 65535, &i) > 0)
			p.hold = (uint16_t)i;
		if (p.keepalive && p.keepalive >= (p.hold ? p.hold : 240))
			verr_field(&v, sp, "keepaliveTime", "%u s must be less than the hold "
				   "time (%u s%s)", (unsigned)p.keepalive,
				   (unsigned)(p.hold ? p.hold : 240), p.hold ? "" : ", the default");
		get_bool(&v, sp, "bfd", &p.bfd);
		get_bool(&v, sp, "ttlSecurity", &p.ttl_security);
		if (get_int(&v, sp, "multihop", 1, 255, &i) > 0)
			p.multihop = (uint8_t)i;
		get_enum(&v, sp, "nextHopMode", bgp_nh_names, 3, &nh);
		get_enum(&v, sp, "sourceAddress", bgp_src_names, 2, &src);
		get_enum(&v, sp, "import", bgp_import_names, 2, &imp);
		p.next_hop = (enum bgp_next_hop)nh;
		p.source = (enum bgp_source)src;
		p.import = (enum bgp_import)imp;
		if (p.bfd && p.multihop && p.source == BGP_SRC_AUTO)
			verr_field(&v, sp, "bfd", "BFD on a multihop session needs "
				   "sourceAddress nodeIP");
	}
	if (vflush(&v) < 0) {
		bgppeer_clear(&p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

json_t *bgppeer_to_json(const struct bgppeer *p)
{
	char addr[IP4_STRLEN + 8], ip[IP4_STRLEN];
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_BGPPEER, p->name, NULL, &spec);

	ip4_fmt(p->peer_ip, ip);
	if (p->peer_port)
		snprintf(addr, sizeof(addr), "%s:%u", ip, (unsigned)p->peer_port);
	else
		snprintf(addr, sizeof(addr), "%s", ip);
	jset(&b, spec, "peerIP", json_string(addr));
	jset(&b, spec, "asNumber", json_integer(p->asn));
	if (p->node[0])
		jset(&b, spec, "node", json_string(p->node));
	if (p->node_selector)
		jset(&b, spec, "nodeSelector", json_string(p->node_selector));
	if (p->password)
		jset(&b, spec, "password", json_string(p->password));
	if (p->keepalive)
		jset(&b, spec, "keepaliveTime", json_integer(p->keepalive));
	if (p->hold)
		jset(&b, spec, "holdTime", json_integer(p->hold));
	jset(&b, spec, "bfd", json_boolean(p->bfd));
	jset(&b, spec, "ttlSecurity", json_boolean(p->ttl_security));
	if (p->multihop)
		jset(&b, spec, "multihop", json_integer(p->multihop));
	jset(&b, spec, "nextHopMode", json_string(
		     bgp_nh_names[(unsigned)p->next_hop <= BGP_NH_KEEP ? p->next_hop : 0]));
	jset(&b, spec, "sourceAddress", json_string(
		     bgp_src_names[(unsigned)p->source <= BGP_SRC_AUTO ? p->source : 0]));
	jset(&b, spec, "import", json_string(
		     bgp_import_names[(unsigned)p->import <= BGP_IMPORT_ALL ? p->import : 0]));
	return enc_done(&b, j, spec);
}

void bgppeer_clear(struct bgppeer *p)
{
	if (!p)
		return;
	free(p->node_selector);
	free(p->password);
	memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------- NetworkPolicy */

static const char *const np_action_names[] = { "Allow", "Deny", "Log", "Pass" };

static const struct {
	const char *name;
	uint8_t proto;
} np_protos[] = { { "TCP", 6 }, { "UDP", 17 }, { "ICMP", 1 }, { "SCTP", 132 } };

#define NP_ORDER_MAX 9007199254740992.0	/* 2^53: every integer exact */

/* "1.5" is a string in YAML (the loader resolves integers only): a decimal
 * number, without the inf/nan/hex spellings strtod also takes. */
static bool order_parse(const char *s, double *out)
{
	char *end;

	if (!s[0] || strspn(s, "0123456789.eE+-") != strlen(s))
		return false;
	errno = 0;
	*out = strtod(s, &end);
	return !*end && errno == 0;
}

/* A fractional order keeps NP_ORDER_DIGITS significant digits, so that it
 * prints as written ("0.1", not "0.10000000000000001") and reads back the
 * same. */
static double order_norm(double d)
{
	char buf[40];

	if (d == (double)(int64_t)d)
		return d;	/* an integer (|d| <= 2^53) is exact already */
	snprintf(buf, sizeof(buf), "%.*g", NP_ORDER_DIGITS, d);
	return strtod(buf, NULL);
}

static void np_order(struct vctx *v, const struct vobj *sp, struct netpolicy *p)
{
	const json_t *m = vmember(sp, "order");
	double d = 0;

	if (!m)
		return;
	if (json_is_integer(m)) {
		d = (double)json_integer_value(m);
	} else if (json_is_real(m)) {
		d = json_real_value(m);
	} else if (!json_is_string(m) || !order_parse(json_string_value(m), &d)) {
		verr_field(v, sp, "order", "must be a number, not %s%s%.40s%s",
			   yaml_type_name(m), json_is_string(m) ? " \"" : "",
			   json_is_string(m) ? json_string_value(m) : "",
			   json_is_string(m) ? "\"" : "");
		return;
	}
	if (d != d || d < -NP_ORDER_MAX || d > NP_ORDER_MAX) {
		verr_field(v, sp, "order", "out of range (-2^53..2^53)");
		return;
	}
	p->has_order = true;
	p->order = order_norm(d);
}

/* types: 1 when given (p->ingress/egress set from it), 0 when absent. */
static int np_types(struct vctx *v, const struct vobj *sp, struct netpolicy *p)
{
	struct vobj tl;
	size_t n;

	if (get_sub(v, sp, "types", false, true, &tl) <= 0)
		return vmember(sp, "types") ? -1 : 0;
	n = json_array_size(tl.j);
	if (n == 0) {
		verr(v, tl.line, tl.col, tl.path, "must list Ingress, Egress or both");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(tl.j, i));
		bool *dir = !s ? NULL : !strcmp(s, "Ingress") ? &p->ingress :
			    !strcmp(s, "Egress") ? &p->egress : NULL;
		struct vobj it;

		vitem(v, &tl, i, &it);
		if (!dir)
			verr(v, it.line, it.col, it.path, "unknown type%s%.40s%s "
			     "(Ingress or Egress)", s ? " \"" : "", s ? s : "", s ? "\"" : "");
		else if (*dir)
			verr(v, it.line, it.col, it.path, "duplicate type \"%s\"", s);
		else
			*dir = true;
	}
	return 1;
}

/* protocol: a name in any case, or a number. -1 when bad (reported). */
static int np_protocol(struct vctx *v, const struct vobj *o, uint8_t *out)
{
	const json_t *m = vmember(o, "protocol");
	json_int_t i;

	*out = 0;
	if (!m)
		return 0;
	if (json_is_integer(m)) {
		if (get_int(v, o, "protocol", 1, 255, &i) < 0)
			return -1;
		*out = (uint8_t)i;
		return 0;
	}
	for (size_t k = 0; json_is_string(m) && k < 4; k++) {
		if (!strcasecmp(json_string_value(m), np_protos[k].name)) {
			*out = np_protos[k].proto;
			return 0;
		}
	}
	verr_field(v, o, "protocol", "unknown protocol %s%.40s%s(TCP, UDP, ICMP, SCTP "
		   "or a number 1..255)", json_is_string(m) ? "\"" : "",
		   json_is_string(m) ? json_string_value(m) : yaml_type_name(m),
		   json_is_string(m) ? "\" " : " ");
	return -1;
}

static bool proto_has_ports(uint8_t p)
{
	return p == 6 || p == 17 || p == 132;
}

/* The head of a NetworkPolicy list field: the list at key (absent: 0),
 * at most max items (what names them in the error), and *out allocated for
 * them (elem bytes each). Returns the item count; 0 also after an error. */
static size_t np_list(struct vctx *v, const struct vobj *o, const char *key,
		      size_t max, const char *what, size_t elem, void **out,
		      struct vobj *list)
{
	size_t n;

	if (get_sub(v, o, key, false, true, list) <= 0)
		return 0;
	n = json_array_size(list->j);
	if (n > max) {
		verr(v, list->line, list->col, list->path, "too many %s (%zu, at most %zu)",
		     what, n, max);
		return 0;
	}
	if (n && !(*out = calloc(n, elem))) {
		verr(v, 0, 0, NULL, "out of memory");
		return 0;
	}
	return n;
}

/* A list of CIDRs (a bare address is a /32), host bits zero. */
static void np_nets(struct vctx *v, const struct vobj *o, const char *key,
		    struct ip4_net **out, size_t *nout)
{
	struct vobj nl;
	void *mem = NULL;
	size_t n = np_list(v, o, key, NP_LIST_MAX, "networks", sizeof(**out), &mem, &nl);

	if (mem)
		*out = mem;

	for (size_t i = 0; i < n; i++) {
		struct ip4_net net, fixed;
		char buf[IP4_NETSTRLEN];
		const char *s;
		struct vobj it;

		vitem(v, &nl, i, &it);
		s = json_string_value(it.j);
		if (s && ip4_net_parse(s, &net, true, false) == 0) {
			(*out)[(*nout)++] = net;
		} else if (s && ip4_net_parse(s, &net, true, true) == 0) {
			fixed.addr = net.addr & ip4_mask(net.len);
			fixed.len = net.len;
			verr(v, it.line, it.col, it.path, "host bits must be zero in CIDR "
			     "\"%s\" (did you mean %s?)", s, ip4_net_fmt(&fixed, buf));
		} else if (s) {
			verr(v, it.line, it.col, it.path, "invalid CIDR \"%.64s\"", s);
		} else {
			verr(v, it.line, it.col, it.path, "must be a CIDR string, not %s",
			     yaml_type_name(it.j));
		}
	}
}

/* A port: 80, "80" or "8000:8080". */
static bool port_range_parse(const json_t *j, struct port_range *out)
{
	const char *s, *colon;
	uint32_t lo, hi;

	if (json_is_integer(j)) {
		json_int_t i = json_integer_value(j);

		if (i < 1 || i > 65535)
			return false;
		out->lo = out->hi = (uint16_t)i;
		return true;
	}
	if (!(s = json_string_value(j)))
		return false;
	colon = strchr(s, ':');
	if (!colon) {
		if (!dec_u32(s, strlen(s), 65535, &lo) || lo == 0)
			return false;
		out->lo = out->hi = (uint16_t)lo;
		return true;
	}
	if (!dec_u32(s, (size_t)(colon - s), 65535, &lo) ||
	    !dec_u32(colon + 1, strlen(colon + 1), 65535, &hi) ||
	    lo == 0 || lo > hi)
		return false;
	out->lo = (uint16_t)lo;
	out->hi = (uint16_t)hi;
	return true;
}

static void np_ports(struct vctx *v, const struct vobj *o, const char *key,
		     struct port_range **out, size_t *nout)
{
	struct vobj pl;
	void *mem = NULL;
	size_t n = np_list(v, o, key, NP_LIST_MAX, "ports", sizeof(**out), &mem, &pl);

	if (mem)
		*out = mem;

	for (size_t i = 0; i < n; i++) {
		struct vobj it;

		char what[64];

		vitem(v, &pl, i, &it);
		if (port_range_parse(it.j, &(*out)[*nout])) {
			(*nout)++;
			continue;
		}
		if (json_is_integer(it.j))
			snprintf(what, sizeof(what), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(it.j));
		else if (json_is_string(it.j))
			snprintf(what, sizeof(what), "\"%.40s\"", json_string_value(it.j));
		else
			snprintf(what, sizeof(what), "(%s)", yaml_type_name(it.j));
		verr(v, it.line, it.col, it.path, "invalid port %s (a number 1..65535, "
		     "or \"LO:HI\" with LO <= HI)", what);
	}
}

/* source or destination. proto: the rule's protocol, -1 when it was bad. */
static void np_entity(struct vctx *v, const struct vobj *r, const char *key,
		      int proto, struct np_entity *en)
{
	static const char *const keys[] = {
		"nets", "notNets", "selector", "notSelector", "ports", "notPorts", NULL
	};
	static const char *const port_keys[] = { "ports", "notPorts" };
	struct vobj eo;

	if (get_sub(v, r, key, false, false, &eo) <= 0)
		return;
	check_known(v, &eo, keys);
	np_nets(v, &eo, "nets", &en->nets, &en->n_nets);
	np_nets(v, &eo, "notNets", &en->not_nets, &en->n_not_nets);
	get_selector(v, &eo, "selector", &en->selector);
	get_selector(v, &eo, "notSelector", &en->not_selector);
	np_ports(v, &eo, "ports", &en->ports, &en->n_ports);
	np_ports(v, &eo, "notPorts", &en->not_ports, &en->n_not_ports);
	for (size_t i = 0; i < 2; i++) {
		const json_t *m = vmember(&eo, port_keys[i]);

		if (proto >= 0 && !proto_has_ports((uint8_t)proto) &&
		    json_array_size(m) > 0)
			verr_field(v, &eo, port_keys[i], "ports need protocol TCP, UDP "
				   "or SCTP");
	}
}

static void np_icmp(struct vctx *v, const struct vobj *r, int proto,
		    struct np_rule *out)
{
	static const char *const keys[] = { "type", "code", NULL };
	struct vobj io;
	json_int_t i;

	if (get_sub(v, r, "icmp", false, false, &io) <= 0)
		return;
	check_known(v, &io, keys);
	if (proto >= 0 && proto != 1)
		verr_field(v, r, "icmp", "needs protocol ICMP");
	if (get_int(v, &io, "type", 0, 255, &i) > 0)
		out->icmp_type = (int)i;
	if (get_int(v, &io, "code", 0, 255, &i) > 0) {
		out->icmp_code = (int)i;
		if (!vmember(&io, "type"))
			verr_field(v, &io, "code", "a code needs a type");
	}
}

static void np_rule(struct vctx *v, const struct vobj *it, struct np_rule *out)
{
	static const char *const keys[] = {
		"action", "protocol", "icmp", "source", "destination", NULL
	};
	int action = NP_ALLOW, proto;

	out->icmp_type = out->icmp_code = -1;
	if (!json_is_object(it->j)) {
		verr(v, it->line, it->col, it->path, "a rule must be a mapping, not %s",
		     yaml_type_name(it->j));
		return;
	}
	check_known(v, it, keys);
	if (!vmember(it, "action"))
		verr_missing(v, it, "action");
	get_enum(v, it, "action", np_action_names, 4, &action);
	out->action = (enum np_action)action;
	proto = np_protocol(v, it, &out->protocol) < 0 ? -1 : out->protocol;
	np_icmp(v, it, proto, out);
	np_entity(v, it, "source", proto, &out->src);
	np_entity(v, it, "destination", proto, &out->dst);
}

/* ingress or egress: every rule lands in *out (freed with the policy). */
static void np_rules(struct vctx *v, const struct vobj *sp, const char *key,
		     struct np_rule **out, size_t *nout)
{
	struct vobj rl;
	void *mem = NULL;
	size_t n = np_list(v, sp, key, NP_RULES_MAX, "rules", sizeof(**out), &mem, &rl);

	if (mem)
		*out = mem;

	for (size_t i = 0; i < n; i++) {
		struct vobj it;

		vitem(v, &rl, i, &it);
		np_rule(v, &it, &(*out)[(*nout)++]);
	}
}

int netpolicy_from_json(const json_t *j, const struct ydoc *doc,
			const char *file, struct netpolicy *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"selector", "order", "types", "ingress", "egress", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct netpolicy p = { 0 };
	struct head h;
	int types;

	decode_head(&v, j, RES_NETPOLICY, false, true, &h);
	check_res_name(&v, &h, p.name);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		check_known(&v, sp, spec_keys);
		get_selector(&v, sp, "selector", &p.selector);
		np_order(&v, sp, &p);
		types = np_types(&v, sp, &p);
		np_rules(&v, sp, "ingress", &p.in_rules, &p.n_ingress);
		np_rules(&v, sp, "egress", &p.out_rules, &p.n_egress);
		if (types == 0) {
			/* Calico's default: Ingress, and Egress when it has rules */
			p.ingress = true;
			p.egress = json_array_size(vmember(sp, "egress")) > 0;
		} else if (types > 0) {
			if (!p.ingress && json_array_size(vmember(sp, "ingress")))
				verr_field(&v, sp, "ingress", "ingress rules, but types "
					   "does not list Ingress");
			if (!p.egress && json_array_size(vmember(sp, "egress")))
				verr_field(&v, sp, "egress", "egress rules, but types "
					   "does not list Egress");
		}
	}
	if (vflush(&v) < 0) {
		netpolicy_clear(&p);
		return -EINVAL;
	}
	*out = p;
	return 0;
}

static void enc_nets(struct jb *b, json_t *o, const char *key,
		     const struct ip4_net *n, size_t count)
{
	json_t *a;

	if (!count)
		return;
	a = json_array();
	for (size_t i = 0; i < count; i++)
		if (!a || json_array_append_new(a, enc_net(&n[i])) < 0)
			b->oom = true;
	jset(b, o, key, a);
}

/* A single port as a number, a range as "LO:HI". */
static void enc_ports(struct jb *b, json_t *o, const char *key,
		      const struct port_range *p, size_t count)
{
	char buf[16];
	json_t *a;

	if (!count)
		return;
	a = json_array();
	for (size_t i = 0; i < count; i++) {
		json_t *x;

		if (p[i].lo == p[i].hi) {
			x = json_integer(p[i].lo);
		} else {
			snprintf(buf, sizeof(buf), "%u:%u", (unsigned)p[i].lo,
				 (unsigned)p[i].hi);
			x = json_string(buf);
		}
		if (!a || json_array_append_new(a, x) < 0)
			b->oom = true;
	}
	jset(b, o, key, a);
}

static void enc_entity(struct jb *b, json_t *r, const char *key,
		       const struct np_entity *en)
{
	json_t *o;

	if (!en->n_nets && !en->n_not_nets && !en->selector && !en->not_selector &&
	    !en->n_ports && !en->n_not_ports)
		return;
	o = json_object();
	enc_nets(b, o, "nets", en->nets, en->n_nets);
	enc_nets(b, o, "notNets", en->not_nets, en->n_not_nets);
	if (en->selector)
		jset(b, o, "selector", json_string(en->selector));
	if (en->not_selector)
		jset(b, o, "notSelector", json_string(en->not_selector));
	enc_ports(b, o, "ports", en->ports, en->n_ports);
	enc_ports(b, o, "notPorts", en->not_ports, en->n_not_ports);
	jset(b, r, key, o);
}

static json_t *enc_proto(uint8_t p)
{
	for (size_t k = 0; k < 4; k++)
		if (np_protos[k].proto == p)
			return json_string(np_protos[k].name);
	return json_integer(p);
}

static void enc_rules(struct jb *b, json_t *spec, const char *key,
		      const struct np_rule *rules, size_t n)
{
	json_t *a;

	if (!n)
		return;
	a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct np_rule *r = &rules[i];
		json_t *o = json_object();

		jset(b, o, "action", json_string(
			     np_action_names[(unsigned)r->action <= NP_PASS ? r->action : 0]));
		if (r->protocol)
			jset(b, o, "protocol", enc_proto(r->protocol));
		if (r->icmp_type >= 0) {
			json_t *ic = json_object();

			jset(b, ic, "type", json_integer(r->icmp_type));
			if (r->icmp_code >= 0)
				jset(b, ic, "code", json_integer(r->icmp_code));
			jset(b, o, "icmp", ic);
		}
		enc_entity(b, o, "source", &r->src);
		enc_entity(b, o, "destination", &r->dst);
		if (!a || !o || json_array_append_new(a, o) < 0)
			b->oom = true;
	}
	jset(b, spec, key, a);
}

json_t *netpolicy_to_json(const struct netpolicy *p)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_NETPOLICY, p->name, NULL, &spec);
	json_t *types = json_array();

	if (p->selector && p->selector[0])
		jset(&b, spec, "selector", json_string(p->selector));
	if (p->has_order) {
		/* integers as integers: "order: 100" reads back as written */
		if (p->order == (double)(json_int_t)p->order)
			jset(&b, spec, "order", json_integer((json_int_t)p->order));
		else
			jset(&b, spec, "order", json_real(p->order));
	}
	if (!types || (p->ingress && json_array_append_new(types, json_string("Ingress"))) ||
	    (p->egress && json_array_append_new(types, json_string("Egress"))))
		b.oom = true;
	jset(&b, spec, "types", types);
	enc_rules(&b, spec, "ingress", p->in_rules, p->n_ingress);
	enc_rules(&b, spec, "egress", p->out_rules, p->n_egress);
	return enc_done(&b, j, spec);
}

static void np_entity_clear(struct np_entity *en)
{
	free(en->nets);
	free(en->not_nets);
	free(en->ports);
	free(en->not_ports);
	free(en->selector);
	free(en->not_selector);
}

static void np_rules_free(struct np_rule *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		np_entity_clear(&r[i].src);
		np_entity_clear(&r[i].dst);
	}
	free(r);
}

void netpolicy_clear(struct netpolicy *p)
{
	if (!p)
		return;
	free(p->selector);
	np_rules_free(p->in_rules, p->n_ingress);
	np_rules_free(p->out_rules, p->n_egress);
	memset(p, 0, sizeof(*p));
}

/* ---------------------------------------------------------------- Network */

int network_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		      struct network *out, struct errs *e)
{
	static const char *const spec_keys[] = { "pool", NULL };
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct network n = { 0 };
	struct head h;
	const char *s;

	decode_head(&v, j, RES_NETWORK, false, false, &h);
	if (h.name && (!strcmp(h.name, NETWORK_DEFAULT) || network_name_reserved(h.name)))
		verr_field(&v, &h.meta, "name", "\"%s\" is reserved (default, routed, "
			   "host and none are built in)", h.name);
	else
		check_res_name(&v, &h, n.name);
	if (h.has_spec) {
		check_known(&v, &h.spec, spec_keys);
		if (get_str(&v, &h.spec, "pool", false, 1024, &s) > 0 && s[0]) {
			if (!res_name_valid(s))
				verr_field(&v, &h.spec, "pool", "invalid pool name \"%.80s\"", s);
			else
				copy_str(n.pool, sizeof(n.pool), s);
		}
	}
	if (vflush(&v) < 0) {
		network_clear(&n);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

json_t *network_to_json(const struct network *n)
{
	struct jb b = { 0 };
	json_t *spec, *j = enc_head(&b, RES_NETWORK, n->name, NULL, &spec);

	if (n->pool[0])
		jset(&b, spec, "pool", json_string(n->pool));
	return enc_done(&b, j, spec);
}

void network_clear(struct network *n)
{
	if (n)
		memset(n, 0, sizeof(*n));
}

/* ------------------------------------------------------- any resource */

/* The kind named by a document; -1 (reported, with any apiVersion problem
 * too, since the kind's decoder will not run) when there is none. */
static int doc_kind(const json_t *j, const struct ydoc *doc, const char *file,
		    struct errs *e)
{
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct vobj root = { .j = j };
	const char *kind, *s;
	int k = -1;

	root.line = doc ? doc->line : 0;
	root.col = doc ? doc->col : 0;
	if (!json_is_object(j)) {
		verr(&v, root.line, root.col, NULL, "a document must be a mapping, not %s",
		     yaml_type_name(j));
		goto out;
	}
	if (get_str(&v, &root, "kind", true, 64, &kind) > 0) {
		for (k = 0; k < RES_KIND_COUNT; k++)
			if (!strcmp(kind, kinds[k].name))
				goto out;
		k = res_kind_parse(kind);
		if (k >= 0)
			verr_field(&v, &root, "kind", "unknown kind \"%s\" (did you mean %s?)",
				   kind, kinds[k].name);
		else
			verr_field(&v, &root, "kind", "unknown kind \"%s\" (IPPool, Node, "
				   "WorkloadEndpoint, IPAMBlock, IPAMHandle, BGPConfiguration, "
				   "BGPPeer, NetworkPolicy or Network)", kind);
		k = -1;
	}
	if (get_str(&v, &root, "apiVersion", true, 64, &s) > 0 && strcmp(s, RES_API_VERSION))
		verr_field(&v, &root, "apiVersion", "unsupported \"%s\" (expected %s)",
			   s, RES_API_VERSION);
out:
	vflush(&v);
	return k;
}

int res_from_json(const json_t *j, const struct ydoc *doc, const char *file,
		  struct resource *out, struct errs *e)
{
	struct resource r = { 0 };
	int k = doc_kind(j, doc, file, e), rc;

	if (k < 0)
		return -EINVAL;
	r.kind = (enum res_kind)k;
	switch (r.kind) {
	case RES_IPPOOL: rc = ippool_from_json(j, doc, file, &r.u.pool, e); break;
	case RES_NODE: rc = node_from_json(j, doc, file, &r.u.node, e); break;
	case RES_WEP: rc = wep_from_json(j, doc, file, &r.u.wep, e); break;
	case RES_IPAMBLOCK: rc = ipam_block_from_json(j, doc, file, &r.u.block, e); break;
	case RES_BGPCONFIG:
		rc = bgpconfig_from_json(j, doc, file, &r.u.bgpconfig, e);
		break;
	case RES_BGPPEER: rc = bgppeer_from_json(j, doc, file, &r.u.bgppeer, e); break;
	case RES_NETPOLICY:
		rc = netpolicy_from_json(j, doc, file, &r.u.netpolicy, e);
		break;
	case RES_NETWORK: rc = network_from_json(j, doc, file, &r.u.network, e); break;
	case RES_IPAMHANDLE:
	default: rc = ipam_handle_from_json(j, doc, file, &r.u.handle, e); break;
	}
	if (rc < 0)
		return rc;
	*out = r;
	return 0;
}

json_t *res_to_json(const struct resource *r)
{
	json_t *j;

	switch (r->kind) {
	case RES_IPPOOL: j = ippool_to_json(&r->u.pool); break;
	case RES_NODE: j = node_to_json(&r->u.node); break;
	case RES_WEP: j = wep_to_json(&r->u.wep); break;
	case RES_IPAMBLOCK: j = ipam_block_to_json(&r->u.block); break;
	case RES_IPAMHANDLE: j = ipam_handle_to_json(&r->u.handle); break;
	case RES_BGPCONFIG: j = bgpconfig_to_json(&r->u.bgpconfig); break;
	case RES_BGPPEER: j = bgppeer_to_json(&r->u.bgppeer); break;
	case RES_NETPOLICY: j = netpolicy_to_json(&r->u.netpolicy); break;
	case RES_NETWORK: j = network_to_json(&r->u.network); break;
	default: return NULL;
	}
	if (j && r->revision > 0 &&
	    json_object_set_new(json_object_get(j, "metadata"), "revision",
				json_integer(r->revision)) < 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

void res_clear(struct resource *r)
{
	if (!r)
		return;
	switch (r->kind) {
	case RES_IPPOOL: ippool_clear(&r->u.pool); break;
	case RES_NODE: node_clear(&r->u.node); break;
	case RES_WEP: wep_clear(&r->u.wep); break;
	case RES_IPAMBLOCK: ipam_block_clear(&r->u.block); break;
	case RES_IPAMHANDLE: ipam_handle_clear(&r->u.handle); break;
	case RES_BGPCONFIG: bgpconfig_clear(&r->u.bgpconfig); break;
	case RES_BGPPEER: bgppeer_clear(&r->u.bgppeer); break;
	case RES_NETPOLICY: netpolicy_clear(&r->u.netpolicy); break;
	case RES_NETWORK: network_clear(&r->u.network); break;
	default: break;
	}
	r->revision = 0;
}

void res_name(const struct resource *r, char *buf, size_t len)
{
	char name[IP4_NETSTRLEN];

	switch (r->kind) {
	case RES_IPPOOL: snprintf(buf, len, "%s", r->u.pool.name); break;
	case RES_NODE: snprintf(buf, len, "%s", r->u.node.name); break;
	case RES_WEP: snprintf(buf, len, "%s/%s", r->u.wep.node, r->u.wep.name); break;
	case RES_IPAMBLOCK:
		ipam_block_name(&r->u.block.cidr, name);
		snprintf(buf, len, "%s", name);
		break;
	case RES_IPAMHANDLE: snprintf(buf, len, "%s", r->u.handle.id); break;
	case RES_BGPCONFIG: snprintf(buf, len, "%s", r->u.bgpconfig.name); break;
	case RES_BGPPEER: snprintf(buf, len, "%s", r->u.bgppeer.name); break;
	case RES_NETPOLICY: snprintf(buf, len, "%s", r->u.netpolicy.name); break;
	case RES_NETWORK: snprintf(buf, len, "%s", r->u.network.name); break;
	default: snprintf(buf, len, "?"); break;
	}
}

int res_from_text(enum res_kind k, const char *text, int64_t rev,
		  struct resource *out, struct errs *e)
{
	struct resource r = { 0 };
	json_error_t jerr;
	json_t *j;
	int rc;

	j = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		if (e)
			errs_add(e, "invalid stored %s: %s", res_kind_name(k), jerr.text);
		return -EINVAL;
	}
	rc = res_from_json(j, NULL, NULL, &r, e);
	json_decref(j);
	if (rc < 0)
		return rc;
	if (r.kind != k) {
		if (e)
			errs_add(e, "stored document is a %s, expected a %s",
				 res_kind_name(r.kind), res_kind_name(k));
		res_clear(&r);
		return -EINVAL;
	}
	r.revision = rev;
	*out = r;
	return 0;
}

char *res_to_text(const struct resource *r)
{
	struct resource copy = *r;
	json_t *j;
	char *s;

	/* the store keeps the revision beside the document, never inside it */
	copy.revision = 0;
	j = res_to_json(&copy);
	if (!j)
		return NULL;
	/* a real (a NetworkPolicy's order) in the digits it was normalized to */
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(NP_ORDER_DIGITS));
	json_decref(j);
	return s;
}
