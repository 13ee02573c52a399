/* ifname: see ifname.h. */
#include <stdio.h>
#include <string.h>

#include "common/ifname.h"
#include "common/sha1.h"

void ifname_for_workload(const char *node, const char *name, char *out)
{
	char id[512];
	uint8_t h[20];
	size_t pl = strlen(IFNAME_PREFIX);
	int n;

	n = snprintf(id, sizeof(id), "%s/%s", node, name);
	sha1(id, n < 0 ? 0 : (size_t)n < sizeof(id) ? (size_t)n : sizeof(id) - 1, h);
	memcpy(out, IFNAME_PREFIX, pl);
	for (size_t i = 0; pl + i < IFNAME_LEN; i++)
		out[pl + i] = "0123456789abcdef"[(h[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[IFNAME_LEN] = '\0';
}

bool ifname_is_ours(const char *name)
{
	size_t pl = strlen(IFNAME_PREFIX);

	if (strncmp(name, IFNAME_PREFIX, pl) || strlen(name) != IFNAME_LEN)
		return false;
	for (const char *p = name + pl; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

bool ifname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > IFNAME_LEN || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
			return false;
	return true;
}
