/*
 * res_impl: private to model/: the machinery every kind's decoder and encoder
 * uses (model/res.c). A decoder keeps a validation context (struct vctx) that
 * collects every error with its position, walks the document with the
 * res_get_* readers (each reports its own errors and returns 1 when the
 * field is there and good, 0 when absent, -1 when bad), and ends with
 * res_vflush(), which reports the errors in document order. An encoder
 * builds with res_jset() and friends, which remember an out-of-memory in
 * struct jb instead of checking each call.
 */
#ifndef PETREL_MODEL_RES_IMPL_H
#define PETREL_MODEL_RES_IMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errs.h"
#include "common/ip4.h"
#include "common/ip6.h"
#include "common/yamljson.h"
#include "model/labels.h"
#include "model/res.h"

#define NODESEL_MAX 1024	/* nodeSelector (policy selectors: SELECTOR_MAX) */

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

/* The document's frame: apiVersion, kind, metadata (name, labels?,
 * revision?), spec. name must then be checked by the caller. */
struct head {
	struct vobj root, meta, spec;
	bool has_meta, has_spec;
	const char *name;
};

struct jb {
	bool oom;
};

static inline bool res_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

void res_copy_str(char *dst, size_t len, const char *s);

void res_vpath(const char *parent, const char *key, char *buf, size_t len);

__attribute__((format(printf, 5, 6)))
void res_verr(struct vctx *v, int line, int col, const char *path,
		 const char *fmt, ...);

/* Hands the collected messages to errs, sorted by position (the order the
 * user reads the file in); returns -EINVAL when there was any error. */
int res_vflush(struct vctx *v);

/* Position of o's member key: the value, else the key, else o itself. */
void res_vpos(const struct vctx *v, const struct vobj *o, const char *key,
		 bool keyname, int *line, int *col);

/* An error about o's member key, at the value. */
__attribute__((format(printf, 4, 5)))
void res_verr_field(struct vctx *v, const struct vobj *o, const char *key,
		       const char *fmt, ...);

void res_verr_missing(struct vctx *v, const struct vobj *o, const char *key);

/* Every member of o must be one of the allowed names. */
void res_check_known(struct vctx *v, const struct vobj *o,
			const char *const *allowed);

/* o's member key; NULL when absent or null (an empty "key:" in YAML). */
const json_t *res_vmember(const struct vobj *o, const char *key);

/* A string member. 1: *out set; 0: absent (reported if required); -1: bad. */
int res_get_str(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, size_t maxlen, const char **out);

int res_get_bool(struct vctx *v, const struct vobj *o, const char *key,
		    bool *out);

int res_get_int(struct vctx *v, const struct vobj *o, const char *key,
		   json_int_t min, json_int_t max, json_int_t *out);

/* A mapping (want_array false) or list member, as a vobj for descending. */
int res_get_sub(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, bool want_array, struct vobj *sub);

/* Item i of list a, for messages: its path and position. */
void res_vitem(const struct vctx *v, const struct vobj *a, size_t i,
		  struct vobj *item);

/* A CIDR with zero host bits; the message says what is wrong. */
int res_get_cidr(struct vctx *v, const struct vobj *o, const char *key,
		    bool required, struct ip4_net *out);
/* Either family: 4 (into out4) or 6 (into out6), 0 absent, -1 reported. */
int res_get_cidr46(struct vctx *v, const struct vobj *o, const char *key,
		   bool required, struct ip4_net *out4, struct ip6_net *out6);

/* A selector (model/selector.h: Calico's language); *dst NULL when absent
 * or "" (all()). A parse error is reported where it is: at the string's
 * position plus the offending token's offset. (Exact for a plain scalar on
 * one line; the loader records a quoted scalar at its opening quote, one
 * column early.) A stored document has no positions: the offset is in the
 * message instead. */
void res_get_selector(struct vctx *v, const struct vobj *o, const char *key,
			 char **dst);

/* One of names[0..n-1]; *out left alone when absent. */
void res_get_enum(struct vctx *v, const struct vobj *o, const char *key,
		     const char *const *names, int n, int *out);

/* A secret: the message never repeats the value (it would end up in logs). */
void res_get_password(struct vctx *v, const struct vobj *o, const char *key, size_t max,
			 char **dst);

/* n decimal digits without sign or leading zero, at most max. */
bool res_dec_u32(const char *s, size_t n, uint32_t max, uint32_t *out);

int res_decode_head(struct vctx *v, const json_t *j, enum res_kind k,
		       bool labels_ok, bool spec_required, struct head *h);

void res_check_name(struct vctx *v, struct head *h, char *dst);

void res_decode_labels(struct vctx *v, struct head *h, struct labels *out);

void res_jset(struct jb *b, json_t *o, const char *key, json_t *val);

/* {apiVersion, kind, metadata: {name, labels?}}; spec is added by the caller. */
json_t *res_enc_head(struct jb *b, enum res_kind k, const char *name,
			const struct labels *l, json_t **spec);

json_t *res_enc_done(struct jb *b, json_t *j, json_t *spec);

json_t *res_enc_net(const struct ip4_net *n);
json_t *res_enc_net6(const struct ip6_net *n);
json_t *res_enc_addr6(const struct ip6 *a);

json_t *res_enc_addr(uint32_t a);

#endif
