/* ip6: see ip6.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/ip6.h"

/* One group: 1..4 hex digits; the number of characters read, or -1. */
static int group_parse(const char *s, unsigned *out)
{
	unsigned v = 0;
	int n = 0, d;

	while (n < 5 && (d = hex_digit(s[n])) >= 0) {
		v = (v << 4) | (unsigned)d;
		n++;
	}
	if (n == 0 || n > 4)
		return -1;
	*out = v;
	return n;
}

int ip6_parse(const char *s, struct ip6 *out)
{
	uint16_t g[8];
	int n = 0, gap = -1;	/* groups read; where "::" stands */

	if (!s)
		return -EINVAL;
	if (s[0] == ':') {
		if (s[1] != ':')
			return -EINVAL;
		gap = 0;
		s += 2;
	}
	while (*s) {
		unsigned v;
		int k;

		if (n == 8 || (k = group_parse(s, &v)) < 0)
			return -EINVAL;
		g[n++] = (uint16_t)v;
		s += k;
		if (!*s)
			break;
		if (*s != ':')
			return -EINVAL;
		s++;
		if (*s == ':') {
			if (gap >= 0)
				return -EINVAL;		/* a second "::" */
			gap = n;
			s++;
		} else if (!*s) {
			return -EINVAL;			/* a trailing ':' */
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	for (int i = 0, j = 0; i < n; i++) {
		if (i == gap)
			j += 8 - n;
		out->b[2 * j] = (uint8_t)(g[i] >> 8);
		out->b[2 * j + 1] = (uint8_t)g[i];
		j++;
	}
	return 0;
}

int ip6_net_parse(const char *s, struct ip6_net *out, bool allow_bare,
		  bool allow_host_bits)
{
	char buf[IP6_STRLEN];
	const char *slash;
	struct ip6 a, m;
	long len = 128;
	size_t n;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ip6_parse(buf, &a) < 0)
		return -EINVAL;
	if (slash) {
		const char *p = slash + 1;

		len = 0;
		if (!*p || (p[0] == '0' && p[1]) || strlen(p) > 3)
			return -EINVAL;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			len = len * 10 + (*p - '0');
		}
		if (len > 128)
			return -EINVAL;
	} else if (!allow_bare) {
		return -EINVAL;
	}
	m = ip6_masked(&a, (uint8_t)len);
	if (!allow_host_bits && ip6_cmp(&m, &a))
		return -EINVAL;
	out->addr = a;		/* host bits kept when allowed, as ip4 */
	out->len = (uint8_t)len;
	return 0;
}

char *ip6_fmt(const struct ip6 *a, char *buf)
{
	unsigned g[8];
	int best = -1, bestlen = 1, i = 0;
	char *p = buf;

	for (int k = 0; k < 8; k++)
		g[k] = (unsigned)a->b[2 * k] << 8 | a->b[2 * k + 1];
	while (i < 8) {		/* the first longest run of 2+ zero groups */
		int j = i;

		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > bestlen) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			if (i == 0)
				*p++ = ':';
			i += bestlen - 1;
			continue;
		}
		p += sprintf(p, "%x", g[i]);
		if (i < 7)
			*p++ = ':';
	}
	*p = '\0';
	return buf;
}

char *ip6_net_fmt(const struct ip6_net *n, char *buf)
{
	ip6_fmt(&n->addr, buf);
	sprintf(buf + strlen(buf), "/%u", (unsigned)n->len);
	return buf;
}

int ip6_cmp(const struct ip6 *a, const struct ip6 *b)
{
	return memcmp(a->b, b->b, 16);
}

bool ip6_is_zero(const struct ip6 *a)
{
	static const struct ip6 z;

	return !ip6_cmp(a, &z);
}

struct ip6 ip6_masked(const struct ip6 *a, uint8_t len)
{
	struct ip6 m = *a;

	for (int i = 0; i < 16; i++) {
		int bits = (int)len - 8 * i;

		if (bits >= 8)
			continue;
		m.b[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
	return m;
}

bool ip6_net_contains(const struct ip6_net *n, const struct ip6 *a)
{
	struct ip6 m = ip6_masked(a, n->len);

	return !ip6_cmp(&m, &n->addr);
}

bool ip6_net_within(const struct ip6_net *a, const struct ip6_net *b)
{
	return a->len >= b->len && ip6_net_contains(b, &a->addr);
}

bool ip6_net_overlaps(const struct ip6_net *a, const struct ip6_net *b)
{
	return ip6_net_within(a, b) || ip6_net_within(b, a);
}

uint64_t ip6_net_size(const struct ip6_net *n)
{
	if (n->len <= 64)
		return UINT64_MAX;
	return (uint64_t)1 << (128 - n->len);
}

static uint64_t half(const struct ip6 *a, int lo)
{
	uint64_t v = 0;

	for (int i = lo ? 8 : 0; i < (lo ? 16 : 8); i++)
		v = v << 8 | a->b[i];
	return v;
}

static void set_half(struct ip6 *a, int lo, uint64_t v)
{
	for (int i = lo ? 15 : 7; i >= (lo ? 8 : 0); i--) {
		a->b[i] = (uint8_t)v;
		v >>= 8;
	}
}

int ip6_add(const struct ip6 *a, uint64_t off, struct ip6 *out)
{
	uint64_t hi = half(a, 0), lo = half(a, 1), nlo = lo + off;

	if (nlo < lo) {
		if (hi == UINT64_MAX)
			return -ERANGE;
		hi++;
	}
	set_half(out, 0, hi);
	set_half(out, 1, nlo);
	return 0;
}

int ip6_net_offset(const struct ip6_net *n, const struct ip6 *a, uint64_t *off)
{
	if (!ip6_net_contains(n, a) || half(a, 0) != half(&n->addr, 0))
		return -ERANGE;
	*off = half(a, 1) - half(&n->addr, 1);
	return 0;
}
