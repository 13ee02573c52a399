/*
 * ipamblock: the IPAMBlock codec (see ipamblock.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/ipamhandle.h"
#include "model/ipamblock.h"
#include "model/res_impl.h"

#define BLOCK_MIN_LEN 20	/* the largest block: /20, 4096 addresses */
#define BLOCK6_MIN_LEN 116	/* the same 4096 in IPv6 */

void ipamblock_name(const struct ip4_net *cidr, char *buf)
{
	char *slash;

	ip4_net_fmt(cidr, buf);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '-';
}

void ipamblock_name6(const struct ip6_net *cidr, char *buf)
{
	ip6_net_fmt(cidr, buf);
	for (char *p = buf; *p; p++)
		if (*p == ':' || *p == '/')
			*p = '-';
}

int ipamblock_name6_parse(const char *name, struct ip6_net *out)
{
	char buf[IPAMBLOCK_NAMELEN], canon[IPAMBLOCK_NAMELEN];
	size_t n = strlen(name);
	char *last;

	if (n >= sizeof(buf) || strchr(name, ':'))
		return -EINVAL;
	memcpy(buf, name, n + 1);
	last = strrchr(buf, '-');
	if (!last)
		return -EINVAL;
	for (char *p = buf; p < last; p++)
		if (*p == '-')
			*p = ':';
	*last = '/';
	if (ip6_net_parse(buf, out, false, false) < 0 || out->len < BLOCK6_MIN_LEN)
		return -EINVAL;
	ipamblock_name6(out, canon);
	return strcmp(canon, name) ? -EINVAL : 0;	/* one name per block */
}

size_t ipamblock_size(const struct ipamblock *b)
{
	return b->v6 ? (size_t)ip6_net_size(&b->cidr6) : (size_t)ip4_net_size(&b->cidr);
}

int ipamblock_init6(struct ipamblock *b, const struct ip6_net *cidr)
{
	if (cidr->len < BLOCK6_MIN_LEN || cidr->len > 128)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->handles = calloc((size_t)ip6_net_size(cidr), sizeof(*b->handles));
	if (!b->handles)
		return -ENOMEM;
	b->v6 = true;
	b->cidr6.addr = ip6_masked(&cidr->addr, cidr->len);
	b->cidr6.len = cidr->len;
	return 0;
}

int ipamblock_init(struct ipamblock *b, const struct ip4_net *cidr)
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

size_t ipamblock_used(const struct ipamblock *b)
{
	size_t n = 0, size;

	if (!b->handles)
		return 0;
	size = ipamblock_size(b);
	for (size_t i = 0; i < size; i++)
		n += b->handles[i] != NULL;
	return n;
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

static void block_allocs(struct vctx *v, const struct vobj *spec, struct ipamblock *b)
{
	struct vobj al;
	size_t size;
	const char *key;
	json_t *val;

	if (res_get_sub(v, spec, "allocations", false, false, &al) <= 0 || !b->handles)
		return;
	size = ipamblock_size(b);
	json_object_foreach((json_t *)al.j, key, val) {
		char path[160];
		size_t ord;
		int line, col;

		if (!ordinal_parse(key, size, &ord)) {
			res_vpos(v, &al, key, true, &line, &col);
			res_vpath(al.path, key, path, sizeof(path));
			res_verr(v, line, col, path, "invalid ordinal \"%.20s\" (0..%zu)", key, size - 1);
			continue;
		}
		if (!json_is_string(val)) {
			res_verr_field(v, &al, key, "a handle ID must be a string, not %s",
				   yaml_type_name(val));
			continue;
		}
		if (!ipamhandle_id_valid(json_string_value(val))) {
			res_verr_field(v, &al, key, "invalid handle ID \"%.80s\"",
				   json_string_value(val));
			continue;
		}
		if (!(b->handles[ord] = strdup(json_string_value(val))))
			res_verr(v, 0, 0, NULL, "out of memory");
	}
}

int ipamblock_from_json(const json_t *j, const struct ydoc *doc,
			 const char *file, struct ipamblock *out, struct errs *e)
{
	static const char *const spec_keys[] = {
		"cidr", "affinity", "pool", "allocations", NULL
	};
	struct vctx v = { doc, file, e, 0, NULL, 0 };
	struct ipamblock b = { 0 };
	struct ip4_net cidr;
	struct ip6_net cidr6;
	struct head h;
	const char *s;
	int fam;

	res_decode_head(&v, j, RES_IPAMBLOCK, false, true, &h);
	if (h.has_spec) {
		const struct vobj *sp = &h.spec;

		res_check_known(&v, sp, spec_keys);
		fam = res_get_cidr46(&v, sp, "cidr", true, &cidr, &cidr6);
		if (fam == 6) {
			char name[IPAMBLOCK_NAMELEN];

			if (cidr6.len < BLOCK6_MIN_LEN)
				res_verr_field(&v, sp, "cidr", "an IPv6 block is /%d to /128, "
					   "not /%u", BLOCK6_MIN_LEN, (unsigned)cidr6.len);
			else if (ipamblock_init6(&b, &cidr6) < 0)
				res_verr(&v, 0, 0, NULL, "out of memory");
			ipamblock_name6(&cidr6, name);
			if (h.name && strcmp(h.name, name))
				res_verr_field(&v, &h.meta, "name",
					   "\"%.80s\" does not match spec.cidr (expected \"%s\")",
					   h.name, name);
		} else if (fam == 4) {
			char name[IP4_NETSTRLEN];

			if (cidr.len < BLOCK_MIN_LEN)
				res_verr_field(&v, sp, "cidr", "a block is /%d to /32, not /%u",
					   BLOCK_MIN_LEN, (unsigned)cidr.len);
			else if (ipamblock_init(&b, &cidr) < 0)
				res_verr(&v, 0, 0, NULL, "out of memory");
			ipamblock_name(&cidr, name);
			if (h.name && strcmp(h.name, name))
				res_verr_field(&v, &h.meta, "name",
					   "\"%.80s\" does not match spec.cidr (expected \"%s\")",
					   h.name, name);
		}
		if (res_get_str(&v, sp, "affinity", false, 1024, &s) > 0 && s[0]) {
			if (!res_name_valid(s))
				res_verr_field(&v, sp, "affinity", "invalid node name \"%s\"", s);
			else
				res_copy_str(b.affinity, sizeof(b.affinity), s);
		}
		if (res_get_str(&v, sp, "pool", false, 1024, &s) > 0 && s[0]) {
			if (!res_name_valid(s))
				res_verr_field(&v, sp, "pool", "invalid pool name \"%s\"", s);
			else
				res_copy_str(b.pool, sizeof(b.pool), s);
		}
		block_allocs(&v, sp, &b);
	}
	if (res_vflush(&v) < 0) {
		ipamblock_clear(&b);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

json_t *ipamblock_to_json(const struct ipamblock *b)
{
	char name[IPAMBLOCK_NAMELEN];
	struct jb bb = { 0 };
	json_t *spec, *j, *al;

	if (b->v6)
		ipamblock_name6(&b->cidr6, name);
	else
		ipamblock_name(&b->cidr, name);
	j = res_enc_head(&bb, RES_IPAMBLOCK, name, NULL, &spec);
	res_jset(&bb, spec, "cidr", b->v6 ? res_enc_net6(&b->cidr6) : res_enc_net(&b->cidr));
	if (b->affinity[0])
		res_jset(&bb, spec, "affinity", json_string(b->affinity));
	if (b->pool[0])
		res_jset(&bb, spec, "pool", json_string(b->pool));
	al = json_object();
	if (b->handles) {
		size_t size = ipamblock_size(b);

		for (size_t i = 0; i < size; i++) {
			char ord[24];

			if (!b->handles[i])
				continue;
			snprintf(ord, sizeof(ord), "%zu", i);
			res_jset(&bb, al, ord, json_string(b->handles[i]));
		}
	}
	res_jset(&bb, spec, "allocations", al);
	return res_enc_done(&bb, j, spec);
}

static int key_is(const char *k, size_t n, const char *lit)
{
	return k && n == strlen(lit) && !memcmp(k, lit, n);
}

/*
 * The fast partial decoder. It knows the layout ipamblock_to_json() above
 * writes (spec.affinity a string, spec.allocations an object of ordinal ->
 * handle) and nothing else of the format: it tracks the path of keys down to
 * depth 3 and counts the keys of spec.allocations.
 *
 * Reads two facts from a stored block's JSON text without building a tree:
 * spec.affinity and the number of members of spec.allocations. jansson
 * takes ~30 us to load a full /26 block, this ~1 us, and an allocator must
 * look at every block of its node to find the lowest one with room. Any
 * shape it does not expect returns -1, and the caller decodes the block
 * fully: a change of the codec's format costs speed, never correctness
 * (the block finally allocated from is always fully decoded).
 */
int ipamblock_peek(const char *s, char *aff, size_t afflen, uint64_t *used)
{
	enum { MAXD = 8 };
	const char *key[MAXD] = { NULL };
	size_t klen[MAXD] = { 0 };
	char type[MAXD] = { 0 };
	int d = 0, want_key = 0, in_alloc = 0, top = 0;
	uint64_t n = 0;

	aff[0] = '\0';
	for (; *s; s++) {
		const char *start;
		size_t len;
		int esc = 0;

		switch (*s) {
		case '{':
		case '[':
			if (d == MAXD - 1)
				return -1;
			if (d == 0) {	/* one object, nothing after it */
				if (*s != '{' || top)
					return -1;
				top = 1;
			}
			if (*s == '{' && d == 2 && type[1] == '{' &&
			    type[2] == '{' && key_is(key[1], klen[1], "spec") &&
			    key_is(key[2], klen[2], "allocations"))
				in_alloc = 1;
			d++;
			type[d] = *s;
			key[d] = NULL;
			klen[d] = 0;
			want_key = *s == '{';
			break;
		case '}':
		case ']':
			if (d == 0)
				return -1;
			if (d == 3)
				in_alloc = 0;
			d--;
			want_key = 0;
			break;
		case ',':
			want_key = d > 0 && type[d] == '{';
			break;
		case ':':
			want_key = 0;
			break;
		case '"':
			start = ++s;
			for (;;) {
				s += strcspn(s, "\"\\");	/* fast to the end */
				if (*s != '\\')
					break;
				esc = 1;
				if (!s[1])
					return -1;
				s += 2;
			}
			if (!*s)
				return -1;
			len = (size_t)(s - start);
			if (want_key) {
				/* "sp\u0065c" is "spec" to the full decoder: an
				 * escape on the path is a shape it does not expect */
				if (esc && d <= 2)
					return -1;
				key[d] = start;
				klen[d] = len;
				if (d == 3 && in_alloc)
					n++;
			} else if (d == 2 && type[1] == '{' && type[2] == '{' &&
				   key_is(key[1], klen[1], "spec") &&
				   key_is(key[2], klen[2], "affinity")) {
				if (esc || len >= afflen)
					return -1;
				memcpy(aff, start, len);
				aff[len] = '\0';
			}
			break;
		default:	/* blanks, numbers, true/false/null */
			break;
		}
	}
	if (d != 0 || !top)
		return -1;
	*used = n;		/* no allocations member: none */
	return 0;
}

void ipamblock_clear(struct ipamblock *b)
{
	if (!b)
		return;
	if (b->handles) {
		size_t size = ipamblock_size(b);

		for (size_t i = 0; i < size; i++)
			free(b->handles[i]);
		free(b->handles);
	}
	memset(b, 0, sizeof(*b));
}
