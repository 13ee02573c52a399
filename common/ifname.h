/*
 * ifname: host-side interface names of workloads. A stable name derived from
 * the workload's identity: prefix + the first hex digits of SHA-1("node/name"),
 * 15 characters in all (the kernel's IFNAMSIZ-1). Felix treats interfaces with
 * the prefix as petrel's own; it never touches any other.
 */
#ifndef PETREL_IFNAME_H
#define PETREL_IFNAME_H

#include <stdbool.h>

#define IFNAME_PREFIX "ptl"
#define IFNAME_LEN 15

/* out: at least IFNAME_LEN + 1 bytes. */
void ifname_for_workload(const char *node, const char *name, char *out);
/* True when name has petrel's prefix and shape. */
bool ifname_is_ours(const char *name);
/* True for a valid Linux interface name (1..15 chars, no '/', ':', space). */
bool ifname_valid(const char *name);

#endif
