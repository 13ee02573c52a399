/*
 * etcd_json: requests to and replies from etcd's JSON gateway, and the
 * framer of its watch stream (see etcd_json.h for the shapes).
 *
 * Invariants: a parse fails whole (nothing half-filled is handed back: the
 * caller's out-arguments change only on success) and leaks nothing; every
 * int64 is accepted as a JSON string or number and checked; a reply's key
 * that does not carry the store's prefix is an error (-EIO), never a key of
 * another tenant shown as ours.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/etcd_json.h"

/* --- base64 --------------------------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_enc(const void *p, size_t n)
{
	const unsigned char *s = p;
	char *out, *o;
	size_t i;

	if (n > (SIZE_MAX / 4) * 3 - 3)
		return NULL;
	out = malloc((n + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (i = 0; i + 2 < n; i += 3) {
		*o++ = b64[s[i] >> 2];
		*o++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		*o++ = b64[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		*o++ = b64[s[i + 2] & 63];
	}
	if (i < n) {
		*o++ = b64[s[i] >> 2];
		if (i + 1 < n) {
			*o++ = b64[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
			*o++ = b64[(s[i + 1] & 15) << 2];
		} else {
			*o++ = b64[(s[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int etcd_b64_dec(const char *s, size_t slen, char **out, size_t *n)
{
	unsigned char *buf;
	size_t i, o = 0, pad = 0;

	if (slen % 4)
		return -EINVAL;
	if (slen >= 1 && s[slen - 1] == '=')
		pad++;
	if (slen >= 2 && s[slen - 2] == '=')
		pad++;
	buf = malloc(slen / 4 * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < slen; i += 4) {
		int v[4], k;
		bool last = i + 4 == slen;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];

			if (c == '=' && last && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = b64_val(c);
			if (v[k] < 0)
				goto bad;
		}
		buf[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (!(last && pad == 2))
			buf[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (!(last && pad >= 1))
			buf[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
		/* the bits padding drops must be zero (one spelling per value) */
		if (last && ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3))))
			goto bad;
	}
	buf[o] = '\0';
	*out = (char *)buf;
	*n = o;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* --- requests ------------------------------------------------------------- */

/* Sets obj[name] = base64(p, n). 0 or -ENOMEM. */
static int set_b64(json_t *obj, const char *name, const char *p, size_t n)
{
	char *s = etcd_b64_enc(p, n);
	int r;

	if (!s)
		return -ENOMEM;
	r = json_object_set_new(obj, name, json_string(s)) ? -ENOMEM : 0;
	free(s);
	return r;
}

static int set_i64(json_t *obj, const char *name, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_object_set_new(obj, name, json_string(buf)) ? -ENOMEM : 0;
}

static char *dump_free(json_t *j, int r)
{
	char *s = NULL;

	if (j && r == 0)
		s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static int range_fill(json_t *o, const struct etcd_range *q)
{
	int r = set_b64(o, "key", q->key, q->klen);

	if (r == 0 && q->end_all)
		r = set_b64(o, "range_end", "", 1);
	else if (r == 0 && q->end)
		r = set_b64(o, "range_end", q->end, q->elen);
	return r;
}

/* A RangeRequest object, or NULL (no memory). */
static json_t *range_obj(const struct etcd_range *q)
{
	json_t *o = json_object();
	int r = o ? range_fill(o, q) : -ENOMEM;

	if (r == 0 && q->limit > 0)
		r = set_i64(o, "limit", q->limit);
	if (r == 0 && q->revision > 0)
		r = set_i64(o, "revision", q->revision);
	if (r == 0 && q->count_only)
		r = json_object_set_new(o, "count_only", json_true()) ? -ENOMEM : 0;
	if (r == 0)
		return o;
	json_decref(o);
	return NULL;
}

char *etcd_req_range(const struct etcd_range *q)
{
	json_t *o = range_obj(q);

	return dump_free(o, o ? 0 : -ENOMEM);
}

char *etcd_req_reads(const struct etcd_range *q, size_t n)
{
	json_t *o = json_object(), *succ = json_array();
	int r = o && succ ? 0 : -ENOMEM;
	size_t i;

	for (i = 0; r == 0 && i < n; i++) {
		json_t *op = json_object(), *rr = range_obj(&q[i]);

		if (!op || !rr || json_object_set_new(op, "request_range", rr) ||
		    json_array_append_new(succ, op)) {
			json_decref(op);
			r = -ENOMEM;
		}
	}
	if (r == 0) {
		r = json_object_set_new(o, "success", succ) ? -ENOMEM : 0;
		succ = NULL;
	}
	json_decref(succ);
	return dump_free(o, r);
}

char *etcd_req_compact(int64_t rev)
{
	json_t *o = json_object();
	int r = o ? set_i64(o, "revision", rev) : -ENOMEM;

	return dump_free(o, r);
}

char *etcd_req_watch(const struct etcd_range *q, int64_t start_rev)
{
	json_t *o = json_object(), *c = json_object();
	int r = o && c ? range_fill(c, q) : -ENOMEM;

	if (r == 0)
		r = set_i64(c, "start_revision", start_rev);
	if (r == 0)
		r = json_object_set_new(c, "progress_notify", json_true()) ? -ENOMEM : 0;
	if (r == 0) {
		r = json_object_set_new(o, "create_request", c) ? -ENOMEM : 0;
		c = NULL;
	}
	json_decref(c);
	return dump_free(o, r);
}

char *etcd_req_auth(const char *user, const char *password)
{
	json_t *o = json_pack("{s:s, s:s}", "name", user, "password", password);

	return dump_free(o, o ? 0 : -ENOMEM);
}

/* The etcd key of k: prefix + k (malloc'd), *len its length. */
static char *full_key(const char *prefix, const char *k, size_t *len)
{
	size_t pl = strlen(prefix), kl = strlen(k);
	char *s = malloc(pl + kl + 1);

	if (!s)
		return NULL;
	memcpy(s, prefix, pl);
	memcpy(s + pl, k, kl + 1);
	*len = pl + kl;
	return s;
}

static int txn_op(json_t *cmp, json_t *succ, json_t *fail,
		  const struct ds_op *op, const char *prefix)
{
	json_t *c = json_object(), *s = json_object(), *f = json_object();
	json_t *sr = json_object(), *fr = json_object();
	size_t klen;
	char *k = full_key(prefix, op->key, &klen);
	int r = k && c && s && f && sr && fr ? 0 : -ENOMEM;

	if (r == 0)
		r = set_b64(c, "key", k, klen);
	if (r == 0 && op->type == DS_OP_CREATE) {
		if (json_object_set_new(c, "target", json_string("VERSION")) ||
		    json_object_set_new(c, "result", json_string("EQUAL")))
			r = -ENOMEM;
		if (r == 0)
			r = set_i64(c, "version", 0);
	} else if (r == 0 && op->expect_rev > 0) {
		if (json_object_set_new(c, "target", json_string("MOD")) ||
		    json_object_set_new(c, "result", json_string("EQUAL")))
			r = -ENOMEM;
		if (r == 0)
			r = set_i64(c, "mod_revision", op->expect_rev);
	} else if (r == 0) {
		if (json_object_set_new(c, "target", json_string("VERSION")) ||
		    json_object_set_new(c, "result", json_string("GREATER")))
			r = -ENOMEM;
		if (r == 0)
			r = set_i64(c, "version", 0);
	}
	if (r == 0)
		r = set_b64(sr, "key", k, klen);
	if (r == 0 && op->type != DS_OP_DELETE)
		r = set_b64(sr, "value", op->value, strlen(op->value));
	if (r == 0)
		r = set_b64(fr, "key", k, klen);
	if (r == 0 && (json_object_set_new(s, op->type == DS_OP_DELETE ?
					   "request_delete_range" : "request_put", sr) ||
		       (sr = NULL, json_object_set_new(f, "request_range", fr)) ||
		       (fr = NULL, json_array_append_new(cmp, c)) ||
		       (c = NULL, json_array_append_new(succ, s)) ||
		       (s = NULL, json_array_append_new(fail, f))))
		r = -ENOMEM;
	if (r == 0)
		c = s = f = sr = fr = NULL;
	/* (json_*_set_new steals its value even when it fails) */
	json_decref(c);
	json_decref(s);
	json_decref(f);
	json_decref(sr);
	json_decref(fr);
	free(k);
	return r;
}

char *etcd_req_txn(const struct ds_op *ops, size_t n, const char *prefix)
{
	json_t *o = json_object(), *cmp = json_array(), *succ = json_array();
	json_t *fail = json_array();
	size_t i;
	int r = o && cmp && succ && fail ? 0 : -ENOMEM;

	for (i = 0; r == 0 && i < n; i++)
		r = txn_op(cmp, succ, fail, &ops[i], prefix);
	if (r == 0 && (json_object_set(o, "compare", cmp) ||
		       json_object_set(o, "success", succ) ||
		       json_object_set(o, "failure", fail)))
		r = -ENOMEM;
	json_decref(cmp);
	json_decref(succ);
	json_decref(fail);
	return dump_free(o, r);
}

/* --- replies -------------------------------------------------------------- */

/* An int64 field: absent = 0 (proto3), a string or an integer. */
static int get_i64(const json_t *obj, const char *name, int64_t *v)
{
	const json_t *j = json_object_get(obj, name);
	const char *s;
	char *end;
	long long x;

	*v = 0;
	if (!j)
		return 0;
	if (json_is_integer(j)) {
		*v = json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j))
		return -EIO;
	s = json_string_value(j);
	if (!*s || (!((*s >= '0' && *s <= '9') || *s == '-')))
		return -EIO;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -EIO;
	*v = x;
	return 0;
}

static bool get_bool(const json_t *obj, const char *name)
{
	return json_is_true(json_object_get(obj, name));
}

/* A base64 field decoded (absent = ""). */
static int get_b64(const json_t *obj, const char *name, char **out, size_t *n)
{
	const json_t *j = json_object_get(obj, name);
	int r;

	if (!j)
		return etcd_b64_dec("", 0, out, n);
	if (!json_is_string(j))
		return -EIO;
	r = etcd_b64_dec(json_string_value(j), json_string_length(j), out, n);
	return r == -ENOMEM ? r : r < 0 ? -EIO : 0;
}

static json_t *load(const char *body, size_t len)
{
	if (!body || len > ETCD_MSG_MAX)
		return NULL;
	return json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
}

void etcd_parse_error(const char *body, size_t len, struct etcd_err *e)
{
	json_t *j = load(body, len), *m;
	int64_t code = 0;
	size_t i;

	memset(e, 0, sizeof(*e));
	if (json_is_object(j)) {
		m = json_object_get(j, "error");
		/* the stream's shape: {"error": {"grpc_code":..,"message":..}} */
		if (json_is_object(m)) {
			get_i64(m, "grpc_code", &code);
			m = json_object_get(m, "message");
		} else {
			get_i64(j, "code", &code);
			if (json_is_string(json_object_get(j, "message")))
				m = json_object_get(j, "message");
		}
		if (code > 0 && code < 100)
			e->code = (int)code;
		if (json_is_string(m))
			snprintf(e->msg, sizeof(e->msg), "%s", json_string_value(m));
	} else if (body) {
		/* plain text (a proxy, a 404 page): its first line, printable */
		for (i = 0; i < len && i < sizeof(e->msg) - 1 && body[i] != '\n'; i++)
			e->msg[i] = body[i] >= 0x20 && body[i] < 0x7f ? body[i] : '?';
		e->msg[i] = '\0';
	}
	json_decref(j);
}

enum etcd_verdict etcd_classify(enum etcd_transport t, long http,
				const struct etcd_err *e, int *err)
{
	*err = 0;
	switch (t) {
	case ETCD_T_CONNECT:
		return ETCD_V_NEXT;
	case ETCD_T_TIMEOUT:
	case ETCD_T_BROKEN:
		return ETCD_V_NEXT_AMBIG;
	case ETCD_T_TLS:
		*err = -EACCES;
		return ETCD_V_NEXT_PERM;
	case ETCD_T_OK:
		break;
	}
	if (http == 200)
		return ETCD_V_OK;
	switch (e->code) {
	case 3:		/* InvalidArgument */
		*err = strstr(e->msg, "too many operations") ? -E2BIG
		     : strstr(e->msg, "too large") ? -EMSGSIZE : -EINVAL;
		return ETCD_V_FAIL;
	case 11:	/* OutOfRange: compacted, or a future revision */
		*err = strstr(e->msg, "compacted") ? -ERANGE : -EINVAL;
		return ETCD_V_FAIL;
	case 16:	/* Unauthenticated: a token expired or none given */
		*err = -EACCES;
		return ETCD_V_AUTH;
	case 7:		/* PermissionDenied */
		*err = -EACCES;
		return ETCD_V_FAIL;
	case 9:		/* FailedPrecondition (e.g. auth not enabled) */
		*err = -EIO;
		return ETCD_V_FAIL;
	case 4:		/* DeadlineExceeded: "request timed out" */
	case 8:		/* ResourceExhausted: "too many requests" */
	case 10:	/* Aborted */
	case 13:	/* Internal */
	case 14:	/* Unavailable: "leader changed", "no leader", stopping */
		return ETCD_V_NEXT_AMBIG;
	}
	/* No gRPC code: an HTTP-level refusal. 5xx is the member's trouble. */
	if (http >= 500 || http == 429)
		return ETCD_V_NEXT_AMBIG;
	*err = -EIO;
	return ETCD_V_FAIL;
}

int etcd_parse_header(const char *body, size_t len, int64_t *rev)
{
	json_t *j = load(body, len);
	int64_t v = 0;
	int r = -EIO;

	if (json_is_object(j) &&
	    json_is_object(json_object_get(j, "header")) &&
	    get_i64(json_object_get(j, "header"), "revision", &v) == 0 && v > 0) {
		*rev = v;
		r = 0;
	}
	json_decref(j);
	return r;
}

/* One kv of a reply into kv, its key with strip bytes off (must be there). */
static int kv_parse(const json_t *o, const char *prefix, struct ds_kv *kv)
{
	char *k = NULL, *v = NULL;
	size_t kl, vl, strip = strlen(prefix);
	int r;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_object(o))
		return -EIO;
	r = get_b64(o, "key", &k, &kl);
	if (r == 0)
		r = get_b64(o, "value", &v, &vl);
	if (r == 0 && (get_i64(o, "mod_revision", &kv->mod_rev) ||
		       get_i64(o, "create_revision", &kv->create_rev)))
		r = -EIO;
	/* a key with a NUL or without our prefix is none of ours */
	if (r == 0 && (kl <= strip || strlen(k) != kl ||
		       strncmp(k, prefix, strip)))
		r = -EIO;
	if (r == 0 && strlen(v) != vl)
		r = -EIO;	/* a document is text */
	if (r == 0) {
		memmove(k, k + strip, kl - strip + 1);
		kv->key = k;
		kv->value = v;
		return 0;
	}
	free(k);
	free(v);
	return r;
}

/* The kvs of a range reply's object o: *kvs (*n of them), *more. */
static int range_kvs(const json_t *o, const char *prefix, struct ds_kv **kvs,
		     size_t *n, bool *more)
{
	json_t *arr = json_object_get(o, "kvs");
	struct ds_kv *out = NULL;
	size_t i, cnt = 0;
	int r = 0;

	if (!json_is_object(o) || (arr && !json_is_array(arr)))
		return -EIO;
	if (arr && json_array_size(arr)) {
		out = calloc(json_array_size(arr), sizeof(*out));
		if (!out)
			return -ENOMEM;
		for (i = 0; r == 0 && i < json_array_size(arr); i++) {
			r = kv_parse(json_array_get(arr, i), prefix, &out[i]);
			if (r == 0)
				cnt++;
		}
	}
	if (r < 0) {
		ds_kvs_free(out, cnt);
		return r;
	}
	*kvs = out;
	*n = cnt;
	*more = get_bool(o, "more");
	return 0;
}

int etcd_parse_range(const char *body, size_t len, const char *prefix,
		     struct ds_kv **kvs, size_t *n, int64_t *rev, bool *more)
{
	json_t *j = load(body, len);
	int64_t v = 0;
	int r = -EIO;

	if (json_is_object(j) &&
	    !get_i64(json_object_get(j, "header"), "revision", &v) && v > 0)
		r = range_kvs(j, prefix, kvs, n, more);
	if (r == 0)
		*rev = v;
	json_decref(j);
	return r;
}

int etcd_parse_reads(const char *body, size_t len, const char *prefix,
		     size_t n, struct ds_kv **kvs, size_t *nkv, bool *more,
		     int64_t *rev)
{
	json_t *j = load(body, len), *arr;
	int64_t v = 0;
	size_t i, done = 0;
	int r = -EIO;

	arr = json_object_get(j, "responses");
	if (!json_is_object(j) || !get_bool(j, "succeeded") ||
	    get_i64(json_object_get(j, "header"), "revision", &v) || v <= 0 ||
	    !json_is_array(arr) || json_array_size(arr) != n)
		goto out;
	r = 0;
	for (i = 0; r == 0 && i < n; i++) {
		r = range_kvs(json_object_get(json_array_get(arr, i), "response_range"),
			      prefix, &kvs[i], &nkv[i], &more[i]);
		if (r == 0)
			done++;
	}
	if (r == 0)
		*rev = v;
out:
	for (i = 0; r < 0 && i < done; i++) {
		ds_kvs_free(kvs[i], nkv[i]);
		kvs[i] = NULL;
		nkv[i] = 0;
	}
	json_decref(j);
	return r;
}

void etcd_kstates_clear(struct etcd_kstate *st, size_t n)
{
	size_t i;

	for (i = 0; st && i < n; i++) {
		free(st[i].value);
		memset(&st[i], 0, sizeof(st[i]));
	}
}

int etcd_parse_txn(const char *body, size_t len, bool *ok, int64_t *rev,
		   struct etcd_kstate *st, size_t n)
{
	json_t *j = load(body, len), *resp;
	int64_t v = 0;
	size_t i;
	int r = -EIO;

	if (!json_is_object(j) ||
	    get_i64(json_object_get(j, "header"), "revision", &v) || v <= 0)
		goto out;
	if (get_bool(j, "succeeded")) {
		*ok = true;
		*rev = v;
		r = 0;
		goto out;
	}
	resp = json_object_get(j, "responses");
	if (!json_is_array(resp) || json_array_size(resp) != n)
		goto out;
	r = 0;
	for (i = 0; r == 0 && i < n; i++) {
		json_t *rr = json_object_get(json_array_get(resp, i),
					     "response_range");
		json_t *kvs = json_object_get(rr, "kvs");
		struct ds_kv kv;

		if (!json_is_object(rr) || (kvs && !json_is_array(kvs)) ||
		    json_array_size(kvs) > 1) {
			r = -EIO;
			break;
		}
		if (!json_array_size(kvs))
			continue;
		r = kv_parse(json_array_get(kvs, 0), "", &kv);
		if (r < 0)
			break;
		st[i].exists = true;
		st[i].mod_rev = kv.mod_rev;
		st[i].value = kv.value;
		free(kv.key);
	}
	if (r < 0) {
		etcd_kstates_clear(st, n);
		goto out;
	}
	*ok = false;
	*rev = v;
out:
	json_decref(j);
	return r;
}

int etcd_txn_failure(const struct ds_op *ops, size_t n,
		     const struct etcd_kstate *st, size_t *failed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int r = 0;

		if (ops[i].type == DS_OP_CREATE && st[i].exists)
			r = -EEXIST;
		else if (ops[i].type != DS_OP_CREATE && !st[i].exists)
			r = -ENOENT;
		else if (ops[i].type != DS_OP_CREATE && ops[i].expect_rev &&
			 ops[i].expect_rev != st[i].mod_rev)
			r = -ECANCELED;
		if (r < 0) {
			*failed = i;
			return r;
		}
	}
	return -EAGAIN;
}

bool etcd_txn_landed(const struct ds_op *ops, size_t n,
		     const struct etcd_kstate *st, int64_t *rev)
{
	int64_t at = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (ops[i].type == DS_OP_DELETE) {
			if (st[i].exists)
				return false;
			continue;
		}
		if (!st[i].exists || strcmp(st[i].value, ops[i].value) ||
		    (at && st[i].mod_rev != at))
			return false;
		at = st[i].mod_rev;
	}
	*rev = at;
	return true;
}

/* --- the watch stream ------------------------------------------------------ */

void etcd_wmsg_clear(struct etcd_wmsg *m)
{
	ds_events_free(m->evs, m->n);
	memset(m, 0, sizeof(*m));
}

static int wev_parse(const json_t *e, const char *prefix, struct ds_event *ev)
{
	const json_t *type = json_object_get(e, "type");
	struct ds_kv kv;
	int r;

	memset(ev, 0, sizeof(*ev));
	if (!json_is_object(e))
		return -EIO;
	if (!type || (json_is_string(type) && !strcmp(json_string_value(type), "PUT")))
		ev->type = DS_EV_PUT;
	else if (json_is_string(type) && !strcmp(json_string_value(type), "DELETE"))
		ev->type = DS_EV_DELETE;
	else if (json_is_integer(type) && json_integer_value(type) <= 1)
		ev->type = json_integer_value(type) == 1 ? DS_EV_DELETE : DS_EV_PUT;
	else
		return -EIO;
	r = kv_parse(json_object_get(e, "kv"), prefix, &kv);
	if (r < 0)
		return r;
	if (kv.mod_rev <= 0) {
		ds_kv_clear(&kv);
		return -EIO;
	}
	ev->key = kv.key;
	ev->rev = kv.mod_rev;
	if (ev->type == DS_EV_PUT)
		ev->value = kv.value;
	else
		free(kv.value);
	return 0;
}

int etcd_parse_watch(const char *msg, size_t len, const char *prefix,
		     struct etcd_wmsg *m)
{
	json_t *j = load(msg, len), *res, *evs, *rs;
	struct etcd_wmsg w;
	size_t i;
	int r = -EIO;

	memset(&w, 0, sizeof(w));
	if (!json_is_object(j))
		goto out;
	if (json_object_get(j, "error")) {
		struct etcd_err e;

		etcd_parse_error(msg, len, &e);
		w.is_error = true;
		snprintf(w.reason, sizeof(w.reason), "%s",
			 e.msg[0] ? e.msg : "an error without a message");
		*m = w;
		r = 0;
		goto out;
	}
	res = json_object_get(j, "result");
	if (!json_is_object(res) ||
	    get_i64(json_object_get(res, "header"), "revision", &w.header_rev) ||
	    get_i64(res, "compact_revision", &w.compact_rev))
		goto out;
	w.created = get_bool(res, "created");
	w.canceled = get_bool(res, "canceled");
	rs = json_object_get(res, "cancel_reason");
	if (json_is_string(rs))
		snprintf(w.reason, sizeof(w.reason), "%s", json_string_value(rs));
	evs = json_object_get(res, "events");
	if (evs && !json_is_array(evs))
		goto out;
	r = 0;
	if (json_array_size(evs)) {
		w.evs = calloc(json_array_size(evs), sizeof(*w.evs));
		if (!w.evs) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0; r == 0 && i < json_array_size(evs); i++) {
			r = wev_parse(json_array_get(evs, i), prefix, &w.evs[i]);
			if (r == 0)
				w.n++;
		}
		/* revisions only go up within a message */
		for (i = 1; r == 0 && i < w.n; i++)
			if (w.evs[i].rev < w.evs[i - 1].rev)
				r = -EIO;
	}
	if (r < 0) {
		etcd_wmsg_clear(&w);
		goto out;
	}
	*m = w;
out:
	json_decref(j);
	return r;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int etcd_stream_feed(struct etcd_stream *s, const char *p, size_t n)
{
	size_t keep = s->depth ? s->len - s->start : 0;

	if (s->bad)
		return -EPROTO;
	if (n == 0)
		return 0;	/* (nothing yet: s->buf may be NULL) */
	if (n > ETCD_MSG_MAX || keep + (s->len - s->scan) + n > ETCD_MSG_MAX)
		return -EMSGSIZE;
	if (s->len + n > s->cap) {
		size_t ncap = s->cap ? s->cap : 4096;
		char *nb;

		while (ncap < s->len + n)
			ncap *= 2;
		nb = realloc(s->buf, ncap);
		if (!nb)
			return -ENOMEM;
		s->buf = nb;
		s->cap = ncap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

int etcd_stream_next(struct etcd_stream *s, const char **msg, size_t *len)
{
	size_t drop;

	if (s->bad)
		return -EPROTO;
	/* drop what is done: returned objects and the blanks between them */
	drop = s->depth ? s->start : s->scan;
	if (drop) {
		memmove(s->buf, s->buf + drop, s->len - drop);
		s->len -= drop;
		s->scan -= drop;
		s->start -= drop;
	}
	while (s->scan < s->len) {
		char c = s->buf[s->scan];

		if (s->depth == 0) {
			if (c == '{') {
				s->start = s->scan;
				s->depth = 1;
			} else if (!is_ws(c)) {
				s->bad = true;
				return -EPROTO;
			}
		} else if (s->in_str) {
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"')
				s->in_str = false;
		} else if (c == '"') {
			s->in_str = true;
		} else if (c == '{' || c == '[') {
			s->depth++;
		} else if (c == '}' || c == ']') {
			if (--s->depth == 0) {
				*msg = s->buf + s->start;
				*len = s->scan + 1 - s->start;
				s->scan++;
				return 1;
			}
		}
		s->scan++;
	}
	return 0;
}

void etcd_stream_reset(struct etcd_stream *s)
{
	s->len = s->scan = s->start = 0;
	s->depth = 0;
	s->in_str = s->esc = s->bad = false;
}

void etcd_stream_free(struct etcd_stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}
