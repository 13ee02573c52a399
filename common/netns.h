/*
 * netns: named network namespaces, the way `ip netns` keeps them: a file
 * /run/netns/NAME onto which the namespace (/proc/thread-self/ns/net) is
 * bind-mounted, /run/netns being a shared mount point so that the mounts
 * propagate to every mount namespace. A namespace is named either by NAME
 * (no '/': under /run/netns) or by a path (anything with a '/').
 *
 * Switching namespaces is per thread; every function that switches comes
 * back to the caller's namespace before it returns (if it cannot, the thread
 * is in an unknown namespace and the process aborts rather than act there).
 * Nothing here logs.
 */
#ifndef PETREL_NETNS_H
#define PETREL_NETNS_H

#include <stddef.h>

#define NETNS_RUN_DIR "/run/netns"

/* "/run/netns/NAME" for a name, the path itself for a path. 0, -EINVAL
 * (empty, ".", ".."), -ENAMETOOLONG. */
int netns_path(const char *name_or_path, char *buf, size_t len);

/* Callback run inside a namespace; returns 0 or -errno. */
typedef int (*netns_fn)(void *arg);

/* Creates the named namespace (name: no '/'), like `ip netns add`. When fn
 * is not NULL it runs inside the new namespace before this returns (so the
 * caller sets it up without a second switch); the caller's namespace is then
 * restored. Any failure (fn's included) deletes what was made and returns the
 * error: -EEXIST when the name is taken. *where (may be NULL) tells which step
 * failed ("name", "create", "unshare(CLONE_NEWNET)", ...; "" when fn
 * failed). */
int netns_create(const char *name, netns_fn fn, void *arg, const char **where);

/* Unmounts (MNT_DETACH) and unlinks. The namespace itself goes away once its
 * last user (process, open fd) is gone. 0, -ENOENT when there was nothing at
 * all, else -errno. */
int netns_delete(const char *name_or_path);

/* An O_RDONLY|O_CLOEXEC fd of the namespace, or -errno; -EINVAL when the
 * file is not a namespace (e.g. a left-over empty file; that it is a network
 * namespace is checked by setns). */
int netns_open(const char *name_or_path);

/* The calling thread's current namespace as an fd, or -errno. */
int netns_open_current(void);

/* Runs fn inside the namespace fd and comes back. Returns fn's result, or
 * -errno when the switch failed. */
int netns_run(int fd, netns_fn fn, void *arg);

/* Moves the calling thread into the namespace for good. */
int netns_enter(const char *name_or_path);

#endif
