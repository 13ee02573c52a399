/*
 * res: the kinds, names and keys of resources, and the decoding and encoding
 * machinery the kinds share (model/res_impl.h). One file per kind holds that
 * kind's decoder, validation and encoder (model/ippool.c ...).
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dnsname.h"
#include "model/keys.h"
#include "model/res_impl.h"
#include "model/selector.h"

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
	[RES_HOSTEP] = { "HostEndpoint", "hostendpoints",
			 { "hostendpoint", "hep", "heps" } },
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
	int n = snprintf(buf, len, KEYS_ROOT "%s/%s", res_kind_plural(k), name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int res_prefix(enum res_kind k, const char *node, char *buf, size_t len)
{
	int n;

	if (k == RES_WEP && node)
		n = snprintf(buf, len, KEYS_ROOT "%s/%s/", res_kind_plural(k), node);
	else
		n = snprintf(buf, len, KEYS_ROOT "%s/", res_kind_plural(k));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------------ names */

bool res_name_valid(const char *name)
{
	return dnsname_valid(name);
}

/* ------------------------------------------------------- validation context */

void res_vpath(const char *parent, const char *key, char *buf, size_t len)
{
	if (!parent[0])
		snprintf(buf, len, "%s", key);
	else if (key[0] == '[')
		snprintf(buf, len, "%s%s", parent, key);
	else
		snprintf(buf, len, "%s.%s", parent, key);
}

__attribute__((format(printf, 5, 6)))
void res_verr(struct vctx *v, int line, int col, const char *path,
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
int res_vflush(struct vctx *v)
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
void res_vpos(const struct vctx *v, const struct vobj *o, const char *key,
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
void res_verr_field(struct vctx *v, const struct vobj *o, const char *key,
		       const char *fmt, ...)
{
	char msg[512], path[160];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	res_vpos(v, o, key, false, &line, &col);
	res_vpath(o->path, key, path, sizeof(path));
	res_verr(v, line, col, path, "%s", msg);
}

void res_verr_missing(struct vctx *v, const struct vobj *o, const char *key)
{
	char path[160];

	res_vpath(o->path, key, path, sizeof(path));
	res_verr(v, o->line, o->col, path, "missing required field");
}

/* Every member of o must be one of the allowed names. */
void res_check_known(struct vctx *v, const struct vobj *o,
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
		res_vpos(v, o, key, true, &line, &col);
		res_vpath(o->path, key, path, sizeof(path));
		if (hint)
			res_verr(v, line, col, path, "unknown field (did you mean \"%s\"?)", hint);
		else
			res_verr(v, line, col, path, "unknown field");
	}
}

/* o's member key; NULL when absent or null (an empty "key:" in YAML). */
const json_t *res_vmember(const struct vobj *o, const char *key)
{
	const json_t *m = json_object_get(o->j, key);

	return json_is_null(m) ? NULL : m;
}

/* A string member. 1: *out set; 0: absent (reported if required); -1: bad. */
int res_get_str(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, size_t maxlen, const char **out)
{
	const json_t *m = res_vmember(o, key);
	const char *s;
	size_t n;

	*out = NULL;
	if (!m) {
		if (required)
			res_verr_missing(v, o, key);
		return required ? -1 : 0;
	}
	if (!json_is_string(m)) {
		res_verr_field(v, o, key, "must be a string, not %s", yaml_type_name(m));
		return -1;
	}
	s = json_string_value(m);
	n = json_string_length(m);
	if (n > maxlen) {
		res_verr_field(v, o, key, "too long (%zu characters, at most %zu)", n, maxlen);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			res_verr_field(v, o, key, "must not contain control characters");
			return -1;
		}
	}
	*out = s;
	return 1;
}

int res_get_bool(struct vctx *v, const struct vobj *o, const char *key,
		    bool *out)
{
	const json_t *m = res_vmember(o, key);

	if (!m)
		return 0;
	if (!json_is_boolean(m)) {
		res_verr_field(v, o, key, "must be true or false, not %s", yaml_type_name(m));
		return -1;
	}
	*out = json_is_true(m);
	return 1;
}

int res_get_int(struct vctx *v, const struct vobj *o, const char *key,
		   json_int_t min, json_int_t max, json_int_t *out)
{
	const json_t *m = res_vmember(o, key);
	json_int_t i;

	if (!m)
		return 0;
	if (!json_is_integer(m)) {
		res_verr_field(v, o, key, "must be an integer, not %s", yaml_type_name(m));
		return -1;
	}
	i = json_integer_value(m);
	if (i < min || i > max) {
		res_verr_field(v, o, key, "%" JSON_INTEGER_FORMAT " is out of range (%"
			   JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT ")", i, min, max);
		return -1;
	}
	*out = i;
	return 1;
}

/* A mapping (want_array false) or list member, as a vobj for descending. */
int res_get_sub(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, bool want_array, struct vobj *sub)
{
	const json_t *m = res_vmember(o, key);

	memset(sub, 0, sizeof(*sub));
	if (!m) {
		if (required)
			res_verr_missing(v, o, key);
		return required ? -1 : 0;
	}
	if (want_array ? !json_is_array(m) : !json_is_object(m)) {
		res_verr_field(v, o, key, "must be %s, not %s",
			   want_array ? "a list" : "a mapping", yaml_type_name(m));
		return -1;
	}
	sub->j = m;
	res_vpath(o->path, key, sub->path, sizeof(sub->path));
	res_vpos(v, o, key, false, &sub->line, &sub->col);
	return 1;
}

/* Item i of list a, for messages: its path and position. */
void res_vitem(const struct vctx *v, const struct vobj *a, size_t i,
		  struct vobj *item)
{
	char idx[32];

	memset(item, 0, sizeof(*item));
	item->j = json_array_get(a->j, i);
	snprintf(idx, sizeof(idx), "[%zu]", i);
	res_vpath(a->path, idx, item->path, sizeof(item->path));
	if (ydoc_pos_index(v->doc, a->j, i, &item->line, &item->col) < 0) {
		item->line = a->line;
		item->col = a->col;
	}
}

void res_copy_str(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s ? s : "");
}

/* A CIDR with zero host bits; the message says what is wrong. */
int res_get_cidr(struct vctx *v, const struct vobj *o, const char *key,
		    bool required, struct ip4_net *out)
{
	struct ip4_net n, fixed;
	char buf[IP4_NETSTRLEN];
	const char *s;
	int r = res_get_str(v, o, key, required, 64, &s);

	if (r <= 0)
		return r;
	if (ip4_net_parse(s, &n, false, false) == 0) {
		*out = n;
		return 1;
	}
	if (ip4_net_parse(s, &n, false, true) == 0) {
		fixed.addr = n.addr & ip4_mask(n.len);
		fixed.len = n.len;
		res_verr_field(v, o, key, "host bits must be zero in CIDR \"%s\" (did you mean %s?)",
			   s, ip4_net_fmt(&fixed, buf));
	} else {
		res_verr_field(v, o, key, "invalid CIDR \"%s\"", s);
	}
	return -1;
}

/* A CIDR of either family (model/ippool.h: a pool's): 4 into *out4 or 6
 * into *out6, the text telling which (a ':' is IPv6); errors as above. */
int res_get_cidr46(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, struct ip4_net *out4, struct ip6_net *out6)
{
	struct ip6_net n, fixed;
	char buf[IP6_NETSTRLEN];
	const char *s;
	int r = res_get_str(v, o, key, required, 64, &s);

	if (r <= 0)
		return r;
	if (!strchr(s, ':'))
		return res_get_cidr(v, o, key, required, out4) > 0 ? 4 : -1;
	if (ip6_net_parse(s, &n, false, false) == 0) {
		*out6 = n;
		return 6;
	}
	if (ip6_net_parse(s, &n, false, true) == 0) {
		fixed.addr = ip6_masked(&n.addr, n.len);
		fixed.len = n.len;
		res_verr_field(v, o, key, "host bits must be zero in CIDR \"%s\" (did you mean %s?)",
			   s, ip6_net_fmt(&fixed, buf));
	} else {
		res_verr_field(v, o, key, "invalid CIDR \"%s\"", s);
	}
	return -1;
}

/* A selector (model/selector.h: Calico's language); *dst NULL when absent
 * or "" (all()). A parse error is reported where it is: at the string's
 * position plus the offending token's offset. (Exact for a plain scalar on
 * one line; the loader records a quoted scalar at its opening quote, one
 * column early.) A stored document has no positions: the offset is in the
 * message instead. */
void res_get_selector(struct vctx *v, const struct vobj *o, const char *key,
			 char **dst)
{
	struct selector_err err = { 0 };
	struct selector *sel = NULL;
	char path[160];
	const char *s;
	int r, line, col;

	if (res_get_str(v, o, key, false, SELECTOR_MAX, &s) <= 0)
		return;
	r = selector_parse(s, &sel, &err);
	selector_free(sel);
	if (r == -EINVAL) {
		res_vpos(v, o, key, false, &line, &col);
		res_vpath(o->path, key, path, sizeof(path));
		if (v->doc && line > 0 && err.pos > 0)
			col += err.pos;
		if (v->doc)
			res_verr(v, line, col, path, "%s", err.msg);
		else
			res_verr(v, 0, 0, path, "%s (at offset %d of \"%.80s\")", err.msg,
			     err.pos, s);
		return;
	}
	if (r < 0 || (s[0] && !(*dst = strdup(s))))
		res_verr(v, 0, 0, NULL, "out of memory");
}

/* One of names[0..n-1]; *out left alone when absent. */
void res_get_enum(struct vctx *v, const struct vobj *o, const char *key,
		     const char *const *names, int n, int *out)
{
	char list[128] = "";
	const char *s;
	size_t len = 0;

	if (res_get_str(v, o, key, false, 64, &s) <= 0)
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
	res_verr_field(v, o, key, "unknown value \"%s\" (%s)", s, list);
}

int res_decode_head(struct vctx *v, const json_t *j, enum res_kind k,
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
		res_verr(v, h->root.line, h->root.col, NULL,
		     "a %s document must be a mapping, not %s", res_kind_name(k),
		     yaml_type_name(j));
		return -1;
	}
	res_check_known(v, &h->root, root_keys);
	if (res_get_str(v, &h->root, "apiVersion", true, 64, &s) > 0 &&
	    strcmp(s, RES_API_VERSION))
		res_verr_field(v, &h->root, "apiVersion", "unsupported \"%s\" (expected %s)",
			   s, RES_API_VERSION);
	if (res_get_str(v, &h->root, "kind", true, 64, &s) > 0 &&
	    strcmp(s, res_kind_name(k)))
		res_verr_field(v, &h->root, "kind", "expected %s, not \"%s\"",
			   res_kind_name(k), s);
	h->has_meta = res_get_sub(v, &h->root, "metadata", true, false, &h->meta) > 0;
	if (h->has_meta) {
		res_check_known(v, &h->meta, labels_ok ? meta_keys_l : meta_keys);
		/* metadata.revision is output only: whatever it says is ignored */
		res_get_str(v, &h->meta, "name", true, 1024, &h->name);
	}
	h->has_spec = res_get_sub(v, &h->root, "spec", spec_required, false, &h->spec) > 0;
	return 0;
}

void res_check_name(struct vctx *v, struct head *h, char *dst)
{
	if (!h->name)
		return;
	if (!res_name_valid(h->name)) {
		res_verr_field(v, &h->meta, "name",
			   "invalid name \"%s\" (lower-case letters, digits, '-' and '.', "
			   "starting and ending with a letter or digit, at most %d characters)",
			   h->name, RES_NAME_MAX - 1);
		return;
	}
	res_copy_str(dst, RES_NAME_MAX, h->name);
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->key, ((const struct label *)b)->key);
}

void res_decode_labels(struct vctx *v, struct head *h, struct labels *out)
{
	struct vobj lo;
	const char *key;
	json_t *val;
	size_t n;

	if (!h->has_meta || res_get_sub(v, &h->meta, "labels", false, false, &lo) <= 0)
		return;
	n = json_object_size(lo.j);
	if (n > LABELS_MAX) {
		res_verr(v, lo.line, lo.col, lo.path, "too many labels (%zu, at most %d)",
		     n, LABELS_MAX);
		return;
	}
	if (n == 0)
		return;
	out->v = calloc(n, sizeof(*out->v));
	if (!out->v) {
		res_verr(v, lo.line, lo.col, lo.path, "out of memory");
		return;
	}
	json_object_foreach((json_t *)lo.j, key, val) {
		char path[160];
		int line, col;

		res_vpath(lo.path, key, path, sizeof(path));
		if (!labels_key_valid(key)) {
			res_vpos(v, &lo, key, true, &line, &col);
			res_verr(v, line, col, path,
			     "invalid label key (an optional DNS prefix and '/', then at most 63 "
			     "of [A-Za-z0-9._-], starting and ending alphanumeric)");
			continue;
		}
		if (!json_is_string(val)) {
			res_verr_field(v, &lo, key, "a label value must be a string, not %s (quote it)",
				   yaml_type_name(val));
			continue;
		}
		if (!labels_value_valid(json_string_value(val))) {
			res_verr_field(v, &lo, key,
				   "invalid label value \"%.80s\" (at most 63 of [A-Za-z0-9._-], "
				   "starting and ending alphanumeric)", json_string_value(val));
			continue;
		}
		out->v[out->n].key = strdup(key);
		out->v[out->n].value = strdup(json_string_value(val));
		if (!out->v[out->n].key || !out->v[out->n].value) {
			free(out->v[out->n].key);
			free(out->v[out->n].value);
			res_verr(v, lo.line, lo.col, lo.path, "out of memory");
			continue;
		}
		out->n++;
	}
	qsort(out->v, out->n, sizeof(*out->v), label_cmp);
}

/* --------------------------------------------------------------- encoding */

void res_jset(struct jb *b, json_t *o, const char *key, json_t *val)
{
	if (!o || !val || json_object_set_new(o, key, val) < 0)
		b->oom = true;
}

/* {apiVersion, kind, metadata: {name, labels?}}; spec is added by the caller. */
json_t *res_enc_head(struct jb *b, enum res_kind k, const char *name,
			const struct labels *l, json_t **spec)
{
	json_t *j = json_object(), *meta = json_object();

	res_jset(b, j, "apiVersion", json_string(RES_API_VERSION));
	res_jset(b, j, "kind", json_string(res_kind_name(k)));
	res_jset(b, meta, "name", json_string(name));
	if (l && l->n) {
		json_t *lo = json_object();

		for (size_t i = 0; i < l->n; i++)
			res_jset(b, lo, l->v[i].key, json_string(l->v[i].value));
		res_jset(b, meta, "labels", lo);
	}
	res_jset(b, j, "metadata", meta);
	*spec = json_object();
	res_jset(b, j, "spec", json_incref(*spec));
	return j;
}

json_t *res_enc_done(struct jb *b, json_t *j, json_t *spec)
{
	json_decref(spec);
	if (b->oom) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *res_enc_net(const struct ip4_net *n)
{
	char buf[IP4_NETSTRLEN];

	return json_string(ip4_net_fmt(n, buf));
}

json_t *res_enc_net6(const struct ip6_net *n)
{
	char buf[IP6_NETSTRLEN];

	return json_string(ip6_net_fmt(n, buf));
}

json_t *res_enc_addr6(const struct ip6 *a)
{
	char buf[IP6_STRLEN];

	return json_string(ip6_fmt(a, buf));
}

json_t *res_enc_addr(uint32_t a)
{
	char buf[IP4_STRLEN];

	return json_string(ip4_fmt(a, buf));
}


/* n decimal digits without sign or leading zero, at most max. */
bool res_dec_u32(const char *s, size_t n, uint32_t max, uint32_t *out)
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

/* A secret: the message never repeats the value (it would end up in logs). */
void res_get_password(struct vctx *v, const struct vobj *o, const char *key, size_t max,
			 char **dst)
{
	const char *s;

	if (res_get_str(v, o, key, false, max, &s) <= 0)
		return;
	if (!s[0]) {
		res_verr_field(v, o, key, "must not be empty (leave the field out for no password)");
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7e || *p == '"' || *p == '\\') {
			res_verr_field(v, o, key, "must be printable ASCII without '\"' or '\\' "
				   "(the value is not shown)");
			return;
		}
	}
	if (!(*dst = strdup(s)))
		res_verr(v, 0, 0, NULL, "out of memory");
}
