/*
 * dnsname: see dnsname.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/dnsname.h"

bool dnsname_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n >= DNSNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!lower && !((c == '-' || c == '.') && i > 0 && i < n - 1))
			return false;
	}
	return true;
}
