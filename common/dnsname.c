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

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* 1..63 of [A-Za-z0-9._-], beginning and ending alphanumeric. */
static bool label_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A DNS subdomain (RFC 1123): lower-case labels joined by dots, <= 253. */
static bool dns_subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t l = i - start;

			if (l == 0 || l > 63 || s[start] == '-' || s[i - 1] == '-')
				return false;
			start = i + 1;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return false;
	}
	return true;
}

bool dnsname_label_key_valid(const char *key)
{
	const char *slash;

	if (!key)
		return false;
	slash = strchr(key, '/');
	if (!slash)
		return label_name_ok(key, strlen(key));
	return dns_subdomain_ok(key, (size_t)(slash - key)) &&
	       label_name_ok(slash + 1, strlen(slash + 1));
}

bool dnsname_label_value_valid(const char *value)
{
	size_t n;

	if (!value)
		return false;
	n = strlen(value);
	return n == 0 || label_name_ok(value, n);
}
