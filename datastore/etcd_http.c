/*
 * etcd_http: libcurl for the etcd backend, and one unary request to the
 * cluster with failover (etcd_call). An http:// member is asked through
 * the built-in client (etcd_h1.c), an https:// one through libcurl; the
 * outcome of either is judged alike (etcd_classify).
 *
 * A request goes to the member that answered last. A member that fails
 * (refused, timed out, broken, "leader changed", "no leader", "too many
 * requests", a 5xx) is skipped for the next; after a round where all
 * failed the request waits (etcd_try: 50 ms doubling to 1 s) and goes
 * round again, until its one deadline (timeout=, default 5 s). One attempt
 * may take at most ATTEMPT_MS of it, so a member that hangs costs that, not
 * the whole deadline. Each failure is remembered as "URL: what"; the final
 * error names every endpoint tried and the last failure.
 *
 * Every request carries the gRPC metadata "hasleader" (the gateway maps a
 * Grpc-Metadata-* header to it): a member cut off from the leader refuses
 * at once with "no leader" instead of hanging until its own timeout.
 */
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datastore/ds_etcd_int.h"

#define ATTEMPT_MS 2000		/* one attempt's share of the deadline */
#define CONNECT_MS 1000
#define AUTH_PATH "/v3/auth/authenticate"

struct etcd_curl etcd_c;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_err[160];

#define SYM(field, name) { (void **)&etcd_c.field, name }
static void curl_load_once(void)
{
	static const struct { void **slot; const char *name; } syms[] = {
		SYM(global_init, "curl_global_init"),
		SYM(easy_init, "curl_easy_init"),
		SYM(easy_setopt, "curl_easy_setopt"),
		SYM(easy_perform, "curl_easy_perform"),
		SYM(easy_getinfo, "curl_easy_getinfo"),
		SYM(easy_cleanup, "curl_easy_cleanup"),
		SYM(easy_strerror, "curl_easy_strerror"),
		SYM(slist_append, "curl_slist_append"),
		SYM(slist_free_all, "curl_slist_free_all"),
		SYM(multi_init, "curl_multi_init"),
		SYM(multi_setopt, "curl_multi_setopt"),
		SYM(multi_add_handle, "curl_multi_add_handle"),
		SYM(multi_remove_handle, "curl_multi_remove_handle"),
		SYM(multi_socket_action, "curl_multi_socket_action"),
		SYM(multi_info_read, "curl_multi_info_read"),
		SYM(multi_cleanup, "curl_multi_cleanup"),
	};
	void *lib;
	size_t i;

	/* (never dlclose()d: curl's global state lives as long as we do)
	 *
	 * Debian's libcurl.so.4 (OpenSSL) pulls GnuTLS in through librtmp and
	 * libldap, protocols we never use; GnuTLS's constructor initialises
	 * itself (its priority file, p11-kit's modules), about a third of the
	 * ~15 ms the dlopen() costs, paid by every petrelctl and CNI call.
	 * GNUTLS_NO_IMPLICIT_INIT skips that constructor; it is set only
	 * around the dlopen(), only when the caller had not set it, before
	 * any thread of ours exists (petrel's programs are single-threaded). */
	bool gnutls_env = !getenv("GNUTLS_NO_IMPLICIT_INIT");

	if (gnutls_env)
		setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 0);
	lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
	if (gnutls_env)
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
	if (!lib) {
		snprintf(curl_load_err, sizeof(curl_load_err),
			 "the etcd datastore needs libcurl: %s", dlerror());
		return;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].slot = dlsym(lib, syms[i].name);
		if (!*syms[i].slot) {
			snprintf(curl_load_err, sizeof(curl_load_err),
				 "libcurl.so.4 has no %s", syms[i].name);
			etcd_c.easy_init = NULL;
			return;
		}
	}
	if (etcd_c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(curl_load_err, sizeof(curl_load_err),
			 "curl_global_init failed");
		etcd_c.easy_init = NULL;
	}
}
#undef SYM

int etcd_curl_load(char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_load_once);
	if (etcd_c.easy_init)
		return 0;
	snprintf(err, errlen, "%s", curl_load_err);
	return -ENOTSUP;
}

int64_t etcd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t buf_write(char *p, size_t sz, size_t nm, void *ud)
{
	size_t n = sz * nm;

	return etcd_buf_add(ud, p, n, ETCD_MSG_MAX) < 0 ? 0 : n;
}

void etcd_setup_handle(struct ds_etcd *e, CURL *h, char *errbuf)
{
	const struct etcd_opts *o = &e->o;

	etcd_c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	etcd_c.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	etcd_c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	etcd_c.easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	etcd_c.easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	etcd_c.easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L);
	etcd_c.easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
	etcd_c.easy_setopt(h, CURLOPT_NOPROXY, "*");
	etcd_c.easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (o->ca)
		etcd_c.easy_setopt(h, CURLOPT_CAINFO, o->ca);
	if (o->cert) {
		etcd_c.easy_setopt(h, CURLOPT_SSLCERT, o->cert);
		etcd_c.easy_setopt(h, CURLOPT_SSLKEY, o->key);
	}
}

struct curl_slist *etcd_headers(struct ds_etcd *e)
{
	struct curl_slist *l = NULL, *n;
	char auth[1024];

	n = etcd_c.slist_append(l, "Content-Type: application/json");
	if (!n)
		return NULL;
	l = n;
	n = etcd_c.slist_append(l, "Grpc-Metadata-hasleader: true");
	if (!n)
		goto bad;
	l = n;
	/* no "Expect: 100-continue" round trip on a large body */
	n = etcd_c.slist_append(l, "Expect:");
	if (!n)
		goto bad;
	l = n;
	if (e->token) {
		snprintf(auth, sizeof(auth), "Authorization: %s", e->token);
		n = etcd_c.slist_append(l, auth);
		explicit_bzero(auth, sizeof(auth));
		if (!n)
			goto bad;
		l = n;
	}
	return l;
bad:
	etcd_c.slist_free_all(l);
	return NULL;
}

enum etcd_transport etcd_transport_of(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return ETCD_T_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		return ETCD_T_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return ETCD_T_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return ETCD_T_TLS;
	default:
		return ETCD_T_BROKEN;
	}
}

void etcd_curl_errtext(struct ds_etcd *e, CURLcode rc, const char *errbuf,
		       char *out, size_t len)
{
	const char *what = errbuf && errbuf[0] ? errbuf : etcd_c.easy_strerror(rc);
	const char *file = NULL, *role = NULL;

	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		file = e->o.ca;
		role = "CA file";
		break;
	case CURLE_SSL_CERTPROBLEM:
		file = e->o.cert;
		role = "client certificate/key";
		break;
	default:
		break;
	}
	if (role)
		snprintf(out, len, "%s (%s %s)", what, role,
			 file ? file : "none given: the system's CAs");
	else
		snprintf(out, len, "%s", what);
}

/* What one attempt came to. */
struct attempt {
	enum etcd_transport tr;
	long http;		/* with ETCD_T_OK */
	bool nomem;
	bool resent;		/* sent again after a kept connection broke */
	char what[DS_ERR_MAX / 2];	/* without ETCD_T_OK: why */
};

/* One POST to the https:// member ep through libcurl. */
static void post_curl(struct ds_etcd *e, const char *ep, const char *path,
		      const char *body, int64_t attempt_ms,
		      struct etcd_buf *reply, struct attempt *a)
{
	struct curl_slist *hdrs = etcd_headers(e);
	char url[512];
	CURLcode rc;

	if (!hdrs) {
		a->nomem = true;
		return;
	}
	snprintf(url, sizeof(url), "%s%s", ep, path);
	e->curl_err[0] = '\0';
	etcd_c.easy_setopt(e->h, CURLOPT_URL, url);
	etcd_c.easy_setopt(e->h, CURLOPT_HTTPHEADER, hdrs);
	etcd_c.easy_setopt(e->h, CURLOPT_POSTFIELDS, body);
	etcd_c.easy_setopt(e->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	etcd_c.easy_setopt(e->h, CURLOPT_WRITEFUNCTION, buf_write);
	etcd_c.easy_setopt(e->h, CURLOPT_WRITEDATA, reply);
	etcd_c.easy_setopt(e->h, CURLOPT_TIMEOUT_MS, (long)attempt_ms);
	etcd_c.easy_setopt(e->h, CURLOPT_CONNECTTIMEOUT_MS,
			   (long)(attempt_ms < CONNECT_MS ? attempt_ms : CONNECT_MS));
	rc = etcd_c.easy_perform(e->h);
	if (rc == CURLE_OK)
		etcd_c.easy_getinfo(e->h, CURLINFO_RESPONSE_CODE, &a->http);
	etcd_c.easy_setopt(e->h, CURLOPT_HTTPHEADER, NULL);
	etcd_c.slist_free_all(hdrs);
	if (rc == CURLE_OUT_OF_MEMORY || (rc == CURLE_WRITE_ERROR && !reply->over)) {
		a->nomem = true;
		return;
	}
	a->tr = reply->over ? ETCD_T_BROKEN : etcd_transport_of(rc);
	if (reply->over)
		snprintf(a->what, sizeof(a->what), "reply too large");
	else if (a->tr != ETCD_T_OK)
		etcd_curl_errtext(e, rc, e->curl_err, a->what, sizeof(a->what));
}

/* One POST to the http:// member number i through etcd_h1. */
static void post_h1(struct ds_etcd *e, size_t i, const char *path,
		    const char *body, int64_t attempt_ms,
		    struct etcd_buf *reply, struct attempt *a)
{
	const struct etcd_h1_req q = {
		.ep = e->o.eps[i], .path = path, .body = body, .token = e->token,
		.attempt_ms = attempt_ms, .connect_ms = CONNECT_MS,
	};
	struct etcd_h1_resp *r = malloc(sizeof(*r));

	if (!r) {
		a->nomem = true;
		return;
	}
	etcd_h1_resp_init(r, ETCD_MSG_MAX);
	if (etcd_h1_post(&e->h1[i], &q, r, &a->tr, &a->resent, a->what,
			 sizeof(a->what)) < 0) {
		a->nomem = true;
	} else if (a->tr == ETCD_T_OK) {
		a->http = r->status;
		*reply = r->body;
		memset(&r->body, 0, sizeof(r->body));
	}
	etcd_h1_resp_clear(r);
	free(r);
}

static bool is_plain(const char *ep)
{
	return !strncmp(ep, "http://", 7);
}

/* "a, b, c": the endpoints tried (each once). */
static void tried_list(const struct ds_etcd *e, const bool *tried, char *out,
		       size_t len)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < e->o.n && o < len; i++) {
		if (!tried[i])
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? ", " : "",
				      e->o.eps[i]);
	}
}

int etcd_call(struct ds_etcd *e, const char *path, const char *body,
	      bool write, struct etcd_buf *reply, bool *maybe)
{
	bool tried[ETCD_EP_MAX] = { false }, reauthed = false;
	bool is_auth = !strcmp(path, AUTH_PATH);
	char last[DS_ERR_MAX] = "", names[DS_ERR_MAX];
	struct etcd_try t;
	int64_t nap;
	int r, err;

	if (maybe)
		*maybe = false;
	memset(reply, 0, sizeof(*reply));
	if (e->o.user && !e->token && !is_auth) {
		r = etcd_auth(e);
		if (r < 0)
			return r;
	}
	etcd_try_begin(&t, e->o.n, e->good, etcd_now_ms(), e->o.timeout_ms);
	for (;;) {
		const char *ep = e->o.eps[t.cur];
		struct etcd_err ee = { 0 };
		struct attempt a = { .tr = ETCD_T_BROKEN };
		int64_t ms = etcd_try_attempt_ms(&t, etcd_now_ms(), ATTEMPT_MS);
		enum etcd_verdict v;

		tried[t.cur] = true;
		if (is_plain(ep))
			post_h1(e, t.cur, path, body, ms, reply, &a);
		else
			post_curl(e, ep, path, body, ms, reply, &a);
		if (a.nomem) {
			etcd_buf_free(reply);
			return -ENOMEM;
		}
		if (a.tr == ETCD_T_OK && a.http != 200)
			etcd_parse_error(reply->p, reply->len, &ee);
		v = etcd_classify(a.tr, a.http, &ee, &err);
		if (write && a.resent && maybe)
			*maybe = true;	/* the first copy may have been seen */
		if (v == ETCD_V_OK) {
			e->good = t.cur;
			return 0;
		}
		if (a.tr != ETCD_T_OK)
			snprintf(last, sizeof(last), "%s: %s", ep, a.what);
		else
			snprintf(last, sizeof(last), "%s: HTTP %ld%s%s", ep, a.http,
				 ee.msg[0] ? ": " : "", ee.msg);
		etcd_buf_free(reply);
		if (v == ETCD_V_FAIL) {
			e->good = t.cur;
			ds_set_error(&e->base, "etcd: %s", last);
			return err;
		}
		if (v == ETCD_V_AUTH) {
			if (!e->o.user || reauthed || is_auth) {
				ds_set_error(&e->base, "etcd: %s%s", last, e->o.user ?
					     "" : " (no user= given)");
				return err;
			}
			reauthed = true;
			free(e->token);
			e->token = NULL;
			r = etcd_auth(e);
			if (r < 0)
				return r;
			continue;	/* the same member, a new token */
		}
		if (write && v == ETCD_V_NEXT_AMBIG && maybe)
			*maybe = true;
		r = etcd_try_next(&t, v == ETCD_V_NEXT_PERM, etcd_now_ms(), &nap);
		if (r < 0) {
			tried_list(e, tried, names, sizeof(names));
			ds_set_error(&e->base, "etcd: %s (tried %s%s)", last, names,
				     r == -ETIMEDOUT ? "; deadline passed" : "");
			return r;
		}
		if (nap > 0) {
			struct timespec ts = {
				.tv_sec = nap / 1000,
				.tv_nsec = (nap % 1000) * 1000000,
			};

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
	}
}

int etcd_auth(struct ds_etcd *e)
{
	struct etcd_buf reply;
	const char *user = e->o.user, *tok;
	char *body;
	json_t *j;
	size_t i;
	int r;

	body = etcd_req_auth(e->o.user, e->password);
	if (!body)
		return -ENOMEM;
	/* (not recursive: etcd_call does not authenticate for AUTH_PATH) */
	r = etcd_call(e, AUTH_PATH, body, false, &reply, NULL);
	explicit_bzero(body, strlen(body));
	free(body);
	if (r < 0) {
		char why[DS_ERR_MAX];

		if (r == -ETIMEDOUT)
			return r;
		snprintf(why, sizeof(why), "%s", ds_last_error(&e->base));
		ds_set_error(&e->base, "%s (authenticating as %s)", why, user);
		return r == -EINVAL ? -EACCES : r;
	}
	j = json_loadb(reply.p, reply.len, 0, NULL);
	tok = json_string_value(json_object_get(j, "token"));
	for (i = 0; tok && tok[i]; i++)
		if ((unsigned char)tok[i] <= ' ' || tok[i] == 0x7f)
			tok = NULL;	/* it goes into a header line as it is */
	if (tok && tok[0]) {
		free(e->token);
		e->token = strdup(tok);
		r = e->token ? 0 : -ENOMEM;
	} else {
		ds_set_error(&e->base, "etcd: authenticating as %s: no token "
			     "(or one with spaces or control characters) in the "
			     "reply", user);
		r = -EIO;
	}
	json_decref(j);
	explicit_bzero(reply.p, reply.len);
	etcd_buf_free(&reply);
	return r;
}
