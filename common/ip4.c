/* ip4: see ip4.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ip4.h"

int ip4_parse(const char *s, uint32_t *out)
{
	uint32_t a = 0;
	int part;

	if (!s)
		return -EINVAL;
	for (part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		if (part > 0) {
			if (*s != '.')
				return -EINVAL;
			s++;
		}
		while (*s >= '0' && *s <= '9') {
			if (digits && v == 0)
				return -EINVAL;		/* leading zero */
			v = v * 10 + (unsigned)(*s - '0');
			if (v > 255 || ++digits > 3)
				return -EINVAL;
			s++;
		}
		if (!digits)
			return -EINVAL;
		a = (a << 8) | v;
	}
	if (*s)
		return -EINVAL;
	*out = a;
	return 0;
}

int ip4_net_parse(const char *s, struct ip4_net *out, bool allow_bare,
		  bool allow_host_bits)
{
	char buf[IP4_NETSTRLEN + 1];
	const char *slash;
	uint32_t a;
	long len = 32;
	size_t n;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= IP4_STRLEN)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (ip4_parse(buf, &a) < 0)
		return -EINVAL;
	if (slash) {
		const char *p = slash + 1;
		char *end;

		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1]))
			return -EINVAL;
		len = strtol(p, &end, 10);
		if (*end || len < 0 || len > 32)
			return -EINVAL;
	} else if (!allow_bare) {
		return -EINVAL;
	}
	if (!allow_host_bits && (a & ~ip4_mask((uint8_t)len)))
		return -EINVAL;
	out->addr = a & ip4_mask((uint8_t)len);
	if (allow_host_bits)
		out->addr = a;
	out->len = (uint8_t)len;
	return 0;
}

char *ip4_fmt(uint32_t a, char *buf)
{
	snprintf(buf, IP4_STRLEN, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
	return buf;
}

char *ip4_net_fmt(const struct ip4_net *n, char *buf)
{
	size_t l;

	ip4_fmt(n->addr, buf);
	l = strlen(buf);
	snprintf(buf + l, IP4_NETSTRLEN - l, "/%u", (unsigned)(n->len & 63));
	return buf;
}

uint32_t ip4_mask(uint8_t len)
{
	return len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1);
}

bool ip4_net_contains(const struct ip4_net *n, uint32_t a)
{
	return (a & ip4_mask(n->len)) == (n->addr & ip4_mask(n->len));
}

bool ip4_net_within(const struct ip4_net *a, const struct ip4_net *b)
{
	return a->len >= b->len && ip4_net_contains(b, a->addr);
}

bool ip4_net_overlaps(const struct ip4_net *a, const struct ip4_net *b)
{
	return ip4_net_within(a, b) || ip4_net_within(b, a);
}

uint64_t ip4_net_size(const struct ip4_net *n)
{
	return (uint64_t)1 << (32 - n->len);
}
