/*
 * hosts: the /etc/hosts of a workload, the way `ip netns exec` finds it:
 * /etc/netns/<netns name>/hosts, bind-mounted over /etc/hosts by
 * `petrelctl exec` (and by `ip netns exec`).
 *
 * felix renders one for each local routed workload and writes it when it
 * changed; petrelctl rm removes the folder. The text lists localhost, the
 * workload itself, then (sorted by name) every routed workload with an
 * address that shares a named network (not "default") with it, on any node:
 * names resolve only where the network lets packets through. The caller
 * hands in one sorted member list per such network (built once per pass,
 * shared by every member's file), so nothing here knows a resource.
 *
 * Nothing here logs. Errors: -errno.
 */
#ifndef PETREL_HOSTS_H
#define PETREL_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#define HOSTS_ROOT "/etc/netns"

/* True when name may be a folder name under HOSTS_ROOT: 1..255 bytes, no
 * '/', not "." or "..", no control characters. */
bool hosts_name_valid(const char *name);

/* One line of a hosts file: a workload with an address (strings borrowed). */
struct hosts_member {
	const char *name;
	const char *node;
	uint32_t addr;
};

/* A named network's members, sorted by hosts_members_sort. */
struct hosts_list {
	size_t n;
	const struct hosts_member *v;
};

/* Sorts by (name, node): the order of a file's lines. */
void hosts_members_sort(struct hosts_member *v, size_t n);

/* The hosts text of self (its line only when has_addr) given the member
 * lists of the named networks it is in: each member once (also when in
 * several lists), self (same name and node) not among them. *out:
 * malloc'd, the caller frees. 0 or -ENOMEM, -EINVAL (NULL self/out, a
 * list NULL while n_lists > 0). */
int hosts_render(const struct hosts_member *self, bool has_addr,
		 const struct hosts_list *lists, size_t n_lists, char **out);

/* Writes <root>/<netns_name>/hosts atomically (folders made 0755, a
 * temporary file 0644, rename; no fsync: derived state, rewritten by
 * felix at every start, see docs/decisions.md). Content already
 * there is not rewritten. 1 when written, 0 when unchanged, -errno
 * (-EINVAL: invalid netns_name). hosts_write uses root HOSTS_ROOT. */
int hosts_write(const char *netns_name, const char *text);
int hosts_write_at(const char *root, const char *netns_name, const char *text);

/* Removes <root>/<netns_name>/ and the files in it (not sub-folders). 0
 * also when it is not there, -errno. */
int hosts_remove(const char *netns_name);
int hosts_remove_at(const char *root, const char *netns_name);

#endif
