/*
 * netns: named network namespaces; see netns.h.
 *
 * Creation follows iproute2's `ip netns add`: /run/netns made a shared mount
 * point (bind-mounted onto itself first when it is not a mount point), an
 * empty file created with O_EXCL (so two creators of one name cannot both
 * win), unshare(CLONE_NEWNET), the new namespace bind-mounted onto the file,
 * then back to the caller's namespace. Unlike `ip netns exec` nothing here
 * makes a private mount namespace: the bind mount must be seen by everyone.
 *
 * Invariant: every function returns with the thread in the namespace it was
 * called in, or aborts.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/netns.h"

#define SELF_NS "/proc/thread-self/ns/net"

int netns_path(const char *name_or_path, char *buf, size_t len)
{
	int n;

	if (!name_or_path || !*name_or_path || !strcmp(name_or_path, ".") ||
	    !strcmp(name_or_path, ".."))
		return -EINVAL;
	if (strchr(name_or_path, '/'))
		n = snprintf(buf, len, "%s", name_or_path);
	else
		n = snprintf(buf, len, "%s/%s", NETNS_RUN_DIR, name_or_path);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int netns_open_current(void)
{
	int fd = open(SELF_NS, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Back to the namespace the caller was in. Failing that (it cannot fail
 * for a valid fd held open by us), the thread would go on acting in a
 * namespace nobody chose: stop instead. */
static void netns_restore(int self)
{
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
}

/* Mount propagation needs /run/netns to be a shared mount point; iproute2
 * makes it one the same way. Non-recursive: cost independent of how many
 * namespaces are mounted below it. */
static int netns_run_dir_prepare(const char **where)
{
	if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST) {
		*where = "mkdir " NETNS_RUN_DIR;
		return -errno;
	}
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED, NULL) == 0)
		return 0;
	if (errno != EINVAL) {
		*where = "mount --make-shared " NETNS_RUN_DIR;
		return -errno;
	}
	/* Not a mount point yet. (Two first creators racing here stack two
	 * bind mounts; harmless: the top one is the one everybody sees.) */
	if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0) {
		*where = "mount --bind " NETNS_RUN_DIR;
		return -errno;
	}
	if (mount("", NETNS_RUN_DIR, "none", MS_SHARED, NULL) < 0) {
		*where = "mount --make-shared " NETNS_RUN_DIR;
		return -errno;
	}
	return 0;
}

int netns_create(const char *name, netns_fn fn, void *arg, const char **where)
{
	char path[256];
	const char *w = "";
	int self = -1, fd, r, made_file = 0, mounted = 0, switched = 0;

	w = "name";
	if (!name || strchr(name, '/')) {
		r = -EINVAL;
		goto out;
	}
	r = netns_path(name, path, sizeof(path));
	if (r < 0)
		goto out;
	w = "";
	r = netns_run_dir_prepare(&w);
	if (r < 0)
		goto out;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		w = "create";
		goto out;
	}
	close(fd);
	made_file = 1;
	self = netns_open_current();
	if (self < 0) {
		r = self;
		w = "open " SELF_NS;
		goto out;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		r = -errno;
		w = "unshare(CLONE_NEWNET)";
		goto out;
	}
	switched = 1;
	if (mount(SELF_NS, path, "none", MS_BIND, NULL) < 0) {
		r = -errno;
		w = "bind mount";
		goto out;
	}
	mounted = 1;
	if (fn) {
		r = fn(arg);
		if (r < 0) {
			w = "";
			goto out;
		}
	}
	r = 0;
out:
	if (switched)
		netns_restore(self);
	if (self >= 0)
		close(self);
	if (r < 0 && made_file) {
		if (mounted)
			umount2(path, MNT_DETACH);
		unlink(path);
	}
	if (where)
		*where = w;
	return r;
}

int netns_delete(const char *name_or_path)
{
	char path[256];
	int r, gone_mount = 0;

	r = netns_path(name_or_path, path, sizeof(path));
	if (r < 0)
		return r;
	if (umount2(path, MNT_DETACH) < 0) {
		/* EINVAL: not a mount point (a left-over empty file). */
		if (errno != EINVAL && errno != ENOENT)
			return -errno;
		gone_mount = 1;
	}
	if (unlink(path) < 0) {
		if (errno != ENOENT)
			return -errno;
		if (gone_mount)
			return -ENOENT;
	}
	return 0;
}

int netns_open(const char *name_or_path)
{
	char path[256];
	struct statfs sfs;
	int fd, r;

	r = netns_path(name_or_path, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* A file that is not mounted (left over) opens fine but is no
	 * namespace. (Which type of namespace: setns(CLONE_NEWNET) checks.) */
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int netns_run(int fd, netns_fn fn, void *arg)
{
	int self, r;

	self = netns_open_current();
	if (self < 0)
		return self;
	if (setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(self);
		return r;
	}
	r = fn(arg);
	netns_restore(self);
	close(self);
	return r;
}

int netns_enter(const char *name_or_path)
{
	int fd, r = 0;

	fd = netns_open(name_or_path);
	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	close(fd);
	return r;
}
