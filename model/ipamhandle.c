/*
 * ipamhandle: the IPAMHandle codec (see ipamhandle.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ipamhandle.h"
#include "model/res_impl.h"

#define HANDLE_ADDRS_MAX 1024

/* A handle id: 1..IPAMHANDLE_ID_MAX-1 of [A-Za-z0-9._-]. */
bool ipamhandle_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IPAMHANDLE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!res_is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}
/* -------------------------------------------------------------- IPAMHandle */

int ipamhandle_from_json(const json_t *j, const struct ydoc *doc,
			  const char *file, struct ipamhandle *out,
			  struct errs *e)
{
	static const char *const spec_keys[] = { "addresses", "created", NULL };
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct ipamhandle hd = { 0 };
	struct vobj al;
	json_int_t created;
	struct head h;

	res_decode_head(&v, j, RES_IPAMHANDLE, false, true, &h);
	if (h.name) {
		if (!ipamhandle_id_valid(h.name))
			res_verr_field(&v, &h.meta, "name", "invalid handle ID \"%.80s\" "
				   "(1 to %d of [A-Za-z0-9._-])", h.name, IPAMHANDLE_ID_MAX - 1);
		else
			res_copy_str(hd.id, sizeof(hd.id), h.name);
	}
	if (h.has_spec) {
		res_check_known(&v, &h.spec, spec_keys);
		if (res_get_sub(&v, &h.spec, "addresses", false, true, &al) > 0) {
			size_t n = json_array_size(al.j);

			if (n > HANDLE_ADDRS_MAX)
				res_verr(&v, al.line, al.col, al.path,
				     "too many addresses (%zu, at most %d)", n, HANDLE_ADDRS_MAX);
			else if (n && !(hd.addrs = calloc(n, sizeof(*hd.addrs))))
				res_verr(&v, 0, 0, NULL, "out of memory");
			for (size_t i = 0; hd.addrs && i < n; i++) {
				struct vobj it;
				struct ip6 a6;
				uint32_t a;
				size_t k;

				res_vitem(&v, &al, i, &it);
				if (json_is_string(it.j) &&
				    ip6_parse(json_string_value(it.j), &a6) == 0) {
					/* IPv4's handles allocate nothing for it */
					if (!hd.addrs6 &&
					    !(hd.addrs6 = calloc(n, sizeof(*hd.addrs6)))) {
						res_verr(&v, 0, 0, NULL, "out of memory");
						break;
					}
					for (k = 0; k < hd.n6 && ip6_cmp(&hd.addrs6[k], &a6); k++)
						;
					if (k < hd.n6)
						res_verr(&v, it.line, it.col, it.path,
						     "duplicate address \"%s\"",
						     json_string_value(it.j));
					else
						hd.addrs6[hd.n6++] = a6;
					continue;
				}
				if (!json_is_string(it.j) ||
				    ip4_parse(json_string_value(it.j), &a) < 0) {
					res_verr(&v, it.line, it.col, it.path,
					     "invalid IP address%s%.64s%s",
					     json_is_string(it.j) ? " \"" : "",
					     json_is_string(it.j) ? json_string_value(it.j) : "",
					     json_is_string(it.j) ? "\"" : "");
					continue;
				}
				for (k = 0; k < hd.n && hd.addrs[k] != a; k++)
					;
				if (k < hd.n) {
					res_verr(&v, it.line, it.col, it.path, "duplicate address \"%s\"",
					     json_string_value(it.j));
					continue;
				}
				hd.addrs[hd.n++] = a;
			}
		}
		if (res_get_int(&v, &h.spec, "created", 0, INT64_MAX, &created) > 0)
			hd.created = created;
	}
	if (res_vflush(&v) < 0) {
		ipamhandle_clear(&hd);
		return -EINVAL;
	}
	*out = hd;
	return 0;
}

json_t *ipamhandle_to_json(const struct ipamhandle *h)
{
	struct jb b = { 0 };
	json_t *spec, *j = res_enc_head(&b, RES_IPAMHANDLE, h->id, NULL, &spec);
	json_t *a = json_array();

	for (size_t i = 0; i < h->n; i++)
		if (!a || json_array_append_new(a, res_enc_addr(h->addrs[i])) < 0)
			b.oom = true;
	for (size_t i = 0; i < h->n6; i++)
		if (!a || json_array_append_new(a, res_enc_addr6(&h->addrs6[i])) < 0)
			b.oom = true;
	res_jset(&b, spec, "addresses", a);
	res_jset(&b, spec, "created", json_integer(h->created));
	return res_enc_done(&b, j, spec);
}

void ipamhandle_clear(struct ipamhandle *h)
{
	if (!h)
		return;
	free(h->addrs);
	free(h->addrs6);
	memset(h, 0, sizeof(*h));
}
