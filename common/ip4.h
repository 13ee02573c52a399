/*
 * ip4: IPv4 addresses and prefixes in host byte order. Parsing is strict:
 * dotted quads only, no leading zeros, a prefix's host bits must be zero.
 */
#ifndef PETREL_IP4_H
#define PETREL_IP4_H

#include <stdbool.h>
#include <stdint.h>

struct ip4_net {
	uint32_t addr;		/* host byte order */
	uint8_t len;		/* 0..32 */
};

#define IP4_STRLEN 16		/* "255.255.255.255" + NUL */
#define IP4_NETSTRLEN 19	/* + "/32" */

/* 0, or -EINVAL. */
int ip4_parse(const char *s, uint32_t *out);
/* "A.B.C.D/N"; a bare address is refused unless allow_bare (then /32).
 * Host bits set: -EINVAL unless allow_host_bits. */
int ip4_net_parse(const char *s, struct ip4_net *out, bool allow_bare,
		  bool allow_host_bits);

/* Format into buf (at least IP4_STRLEN / IP4_NETSTRLEN); returns buf. */
char *ip4_fmt(uint32_t a, char *buf);
char *ip4_net_fmt(const struct ip4_net *n, char *buf);

uint32_t ip4_mask(uint8_t len);
bool ip4_net_contains(const struct ip4_net *n, uint32_t a);
/* a inside b (a's prefix no shorter than b's and within it) */
bool ip4_net_within(const struct ip4_net *a, const struct ip4_net *b);
bool ip4_net_overlaps(const struct ip4_net *a, const struct ip4_net *b);
/* Number of addresses, 2^(32-len) (as 64 bits for /0). */
uint64_t ip4_net_size(const struct ip4_net *n);

#endif
