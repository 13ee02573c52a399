/*
 * ds_etcd_int: what the files of the etcd backend share (private to
 * datastore/ds_etcd*.c and etcd_http.c / etcd_watch.c).
 *
 *   ds_etcd.c     the backend's operations (get, list, txn, ...) and open
 *   etcd_http.c   one unary request with failover, backoff and one
 *                 deadline (etcd_call): to an http:// member through
 *                 etcd_h1.c, to an https:// one through libcurl, loaded
 *                 at the first open that names an https:// member
 *   etcd_h1.c     the built-in HTTP/1.1 client (plain http:// only)
 *   etcd_watch.c  the watch: a streaming request on curl's multi interface
 *                 behind one epoll fd of its own
 *
 * libcurl is dlopen()ed, not linked: petrelctl and the CNI plugins are
 * static binaries that start in under a millisecond on sqlite; linking
 * libcurl (and its TLS, HTTP/2, IDN... libraries) would make every start
 * pay the dynamic loader for a backend most runs do not use. And a
 * process that talks only to http:// members and never watches (petrelctl,
 * the CNI plugins on a plain cluster) does not load it at all: the
 * dlopen() alone (~12-15 ms: libcurl and its TLS, LDAP, Kerberos
 * libraries mapped and relocated) was most of a `petrelctl run`.
 */
#ifndef PETREL_DS_ETCD_INT_H
#define PETREL_DS_ETCD_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "datastore/ds_impl.h"
#include "datastore/etcd_ep.h"
#include "datastore/etcd_h1.h"
#include "datastore/etcd_json.h"

/* The libcurl functions the backend uses, resolved by etcd_curl_load(). */
struct etcd_curl {
	__typeof__(&curl_global_init) global_init;
	__typeof__(&curl_easy_init) easy_init;
	__typeof__(&curl_easy_setopt) easy_setopt;
	__typeof__(&curl_easy_perform) easy_perform;
	__typeof__(&curl_easy_getinfo) easy_getinfo;
	__typeof__(&curl_easy_cleanup) easy_cleanup;
	__typeof__(&curl_easy_strerror) easy_strerror;
	__typeof__(&curl_slist_append) slist_append;
	__typeof__(&curl_slist_free_all) slist_free_all;
	__typeof__(&curl_multi_init) multi_init;
	__typeof__(&curl_multi_setopt) multi_setopt;
	__typeof__(&curl_multi_add_handle) multi_add_handle;
	__typeof__(&curl_multi_remove_handle) multi_remove_handle;
	__typeof__(&curl_multi_socket_action) multi_socket_action;
	__typeof__(&curl_multi_info_read) multi_info_read;
	__typeof__(&curl_multi_cleanup) multi_cleanup;
};
extern struct etcd_curl etcd_c;
/* Loads libcurl once per process: 0, or -ENOTSUP with err filled. */
int etcd_curl_load(char *err, size_t errlen);

struct ds_etcd {
	struct ds base;
	struct etcd_opts o;
	char *password;		/* read from password_file at open; wiped */
	char *token;		/* etcd's auth token, NULL before auth */
	CURL *h;		/* libcurl's handle of the https:// unary requests,
				 * NULL when every member is http:// */
	struct etcd_h1_conn h1[ETCD_EP_MAX];	/* each http:// member's */
	size_t good;		/* the endpoint that answered last */
	char curl_err[CURL_ERROR_SIZE];
};

/* Sets the options every request of e shares on h (TLS, keep-alive). */
void etcd_setup_handle(struct ds_etcd *e, CURL *h, char *errbuf);
/* The headers of a request (JSON, the auth token, "hasleader"); NULL: no memory. */
struct curl_slist *etcd_headers(struct ds_etcd *e);
/* What curl said about a transfer, as etcd_classify wants it. */
enum etcd_transport etcd_transport_of(CURLcode rc);
/* The error text of a failed transfer (curl's, plus the file it concerns). */
void etcd_curl_errtext(struct ds_etcd *e, CURLcode rc, const char *errbuf,
		       char *out, size_t len);

/* POST path with body to the cluster (failover, one deadline). write: the
 * request changes state. 0 and the reply's body in *reply (caller
 * etcd_buf_free()s), or -errno with ds_last_error naming the endpoints
 * tried and the last error. *maybe (may be NULL): an attempt failed after
 * it may have been applied (a timeout, a broken connection). */
int etcd_call(struct ds_etcd *e, const char *path, const char *body,
	      bool write, struct etcd_buf *reply, bool *maybe);
/* Authenticates on the cluster (user/password_file), sets e->token. */
int etcd_auth(struct ds_etcd *e);

int64_t etcd_now_ms(void);

/* etcd_watch.c */
int etcd_watch_new(struct ds *ds, const char *prefix, int64_t from,
		   struct ds_watch **out);
int etcd_watch_fd(const struct ds_watch *w);
int etcd_watch_read(struct ds_watch *w, struct ds_event **evs, size_t *n);
int64_t etcd_watch_rev(const struct ds_watch *w);
void etcd_watch_free(struct ds_watch *w);

extern const struct ds_backend ds_etcd_backend;

#endif
