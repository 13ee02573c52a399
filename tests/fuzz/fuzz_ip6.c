/*
 * fuzz_ip6: libFuzzer harness for common/ip6.c's parser and formatter,
 * differential against the C library's inet_pton/inet_ntop. For any input:
 * what ip6_parse accepts inet_pton accepts with the same 16 bytes; what
 * inet_pton accepts without a dotted quad, ip6_parse accepts; the canonical
 * text re-parses to the same address and is the C library's text (when
 * that has no dotted quad: glibc writes ::ffff:a.b.c.d, RFC 5952 section 5
 * leaves it optional); ip6_net_parse never accepts what ip6_parse refuses.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ip6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[64], buf[IP6_STRLEN], ref[INET6_ADDRSTRLEN], nb[IP6_NETSTRLEN];
	unsigned char pton[16];
	struct ip6_net n;
	struct ip6 a, b;
	int ours, theirs;

	if (size >= sizeof(s) || memchr(data, 0, size))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ours = ip6_parse(s, &a) == 0;
	theirs = inet_pton(AF_INET6, s, pton) == 1;
	if (ours && (!theirs || memcmp(a.b, pton, 16)))
		abort();
	if (theirs && !ours && !strchr(s, '.'))
		abort();
	if (ours) {
		ip6_fmt(&a, buf);
		if (ip6_parse(buf, &b) != 0 || ip6_cmp(&a, &b))
			abort();
		if (!inet_ntop(AF_INET6, a.b, ref, sizeof(ref)))
			abort();
		if (!strchr(ref, '.') && strcmp(ref, buf))
			abort();
	}
	if (ip6_net_parse(s, &n, true, true) == 0) {
		char *slash = strchr(s, '/');

		if (slash)
			*slash = '\0';
		if (ip6_parse(s, &b) != 0 || n.len > 128)
			abort();
		ip6_net_fmt(&n, nb);
		if (ip6_net_parse(nb, &n, false, true) != 0)
			abort();
	}
	return 0;
}
