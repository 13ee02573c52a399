/*
 * ip6: IPv6 addresses and prefixes, a parallel module to ip4 (ip4's
 * uint32_t paths stay as they are: no family test on the v4 hot paths).
 * An address is 16 bytes in network order. Parsing is strict (RFC 4291
 * text, no zone, no embedded dotted quad, at most 4 hex digits a group, at
 * most one "::", which stands for at least one zero group); formatting is
 * RFC 5952's canonical text (lower case, no leading zeros, the longest run
 * of two or more zero groups, the first of equal runs, shortened to "::").
 */
#ifndef PETREL_IP6_H
#define PETREL_IP6_H

#include <stdbool.h>
#include <stdint.h>

struct ip6 {
	uint8_t b[16];		/* network order */
};

struct ip6_net {
	struct ip6 addr;
	uint8_t len;		/* 0..128 */
};

#define IP6_STRLEN 40		/* "ffff:...:ffff" (39) + NUL */
#define IP6_NETSTRLEN 44	/* + "/128" */

/* 0, or -EINVAL. */
int ip6_parse(const char *s, struct ip6 *out);
/* "ADDR/N"; a bare address is refused unless allow_bare (then /128).
 * Host bits set: -EINVAL unless allow_host_bits. */
int ip6_net_parse(const char *s, struct ip6_net *out, bool allow_bare,
		  bool allow_host_bits);

/* Format into buf (at least IP6_STRLEN / IP6_NETSTRLEN); returns buf. */
char *ip6_fmt(const struct ip6 *a, char *buf);
char *ip6_net_fmt(const struct ip6_net *n, char *buf);

/* <0, 0, >0 as a is below, equal to, above b (as 128-bit numbers). */
int ip6_cmp(const struct ip6 *a, const struct ip6 *b);
bool ip6_is_zero(const struct ip6 *a);
/* a with the bits after len cleared. */
struct ip6 ip6_masked(const struct ip6 *a, uint8_t len);
bool ip6_net_contains(const struct ip6_net *n, const struct ip6 *a);
/* a inside b (a's prefix no shorter than b's and within it) */
bool ip6_net_within(const struct ip6_net *a, const struct ip6_net *b);
bool ip6_net_overlaps(const struct ip6_net *a, const struct ip6_net *b);
/* Number of addresses, 2^(128-len), saturated at UINT64_MAX (len < 64). */
uint64_t ip6_net_size(const struct ip6_net *n);
/* *out = a + off; -ERANGE when it passes ffff:...:ffff. */
int ip6_add(const struct ip6 *a, uint64_t off, struct ip6 *out);
/* The offset of a from n's first address: -ERANGE when a is not in n or the
 * offset does not fit 64 bits (n shorter than /64 and a far in it). */
int ip6_net_offset(const struct ip6_net *n, const struct ip6 *a, uint64_t *off);

#endif
