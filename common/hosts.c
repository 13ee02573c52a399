/*
 * hosts: see hosts.h. The write is atomic (temporary file, rename) so
 * that a process inside the workload reading /etc/hosts never sees half a
 * file; no fsync: the file is derived state that felix writes again after
 * any restart (10,000 workloads must not cost 20,000 disk flushes); an unchanged file is left alone so that felix's periodic resync
 * costs a read, not a write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hosts.h"
#include "common/ip4.h"

#define HOSTS_FILE "hosts"
#define HOSTS_MAX (1 << 22)	/* a hosts file we read back; ours is far smaller */

bool hosts_name_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *p = name; *p; p++)
		if (*p == '/' || (unsigned char)*p < ' ' || *p == 0x7f)
			return false;
	return true;
}

static int member_cmp(const struct hosts_member *a, const struct hosts_member *b)
{
	int d = strcmp(a->name, b->name);

	return d ? d : strcmp(a->node, b->node);
}

static int member_qcmp(const void *x, const void *y)
{
	return member_cmp(x, y);
}

void hosts_members_sort(struct hosts_member *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), member_qcmp);
}

/* Appends "ADDR\tNAME\n" to the growing buffer. */
static int line_add(char **buf, size_t *len, size_t *cap, uint32_t addr,
		    const char *name)
{
	char ab[IP4_STRLEN];
	size_t need;
	int n;

	ip4_fmt(addr, ab);
	need = strlen(ab) + strlen(name) + 3;
	if (*len + need > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 256) + need;
		char *nb = realloc(*buf, ncap);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	n = snprintf(*buf + *len, *cap - *len, "%s\t%s\n", ab, name);
	*len += (size_t)n;
	return 0;
}

/* A merge of the sorted lists (a workload is in few networks: the lists
 * are few), each member once, self left out. */
int hosts_render(const struct hosts_member *self, bool has_addr,
		 const struct hosts_list *lists, size_t n_lists, char **out)
{
	size_t *at = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const struct hosts_member *last = NULL;
	int rc;

	if (!self || !out || (n_lists && !lists))
		return -EINVAL;
	if (n_lists && !(at = calloc(n_lists, sizeof(*at))))
		return -ENOMEM;
	rc = line_add(&buf, &len, &cap, 0x7f000001u, "localhost");
	if (rc == 0 && has_addr)
		rc = line_add(&buf, &len, &cap, self->addr, self->name);
	while (rc == 0) {
		const struct hosts_member *m = NULL;
		size_t from = 0;

		for (size_t i = 0; i < n_lists; i++)
			if (at[i] < lists[i].n &&
			    (!m || member_cmp(&lists[i].v[at[i]], m) < 0)) {
				m = &lists[i].v[at[i]];
				from = i;
			}
		if (!m)
			break;
		at[from]++;
		if ((last && !member_cmp(m, last)) ||
		    (!strcmp(m->name, self->name) && !strcmp(m->node, self->node)))
			continue;
		last = m;
		rc = line_add(&buf, &len, &cap, m->addr, m->name);
	}
	free(at);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

/* Opens (making it when missing) the folder name in dirfd. */
static int dir_open_make(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* 1 when dirfd/HOSTS_FILE holds exactly text, else 0. */
static int file_same(int dirfd, const char *text)
{
	size_t want = strlen(text), got = 0;
	char *buf;
	struct stat st;
	int fd, same = 0;

	fd = openat(dirfd, HOSTS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != want ||
	    (st.st_mode & 07777) != 0644 || want > HOSTS_MAX) {
		close(fd);
		return 0;
	}
	buf = malloc(want + 1);
	while (buf && got < want) {
		ssize_t r = read(fd, buf + got, want - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (buf && got == want && !memcmp(buf, text, want))
		same = 1;
	free(buf);
	close(fd);
	return same;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int hosts_write_at(const char *root, const char *netns_name, const char *text)
{
	char tmp[64];
	int rootfd = -1, dfd = -1, fd = -1, rc;

	if (!root || !text || !hosts_name_valid(netns_name))
		return -EINVAL;
	if (mkdir(root, 0755) < 0 && errno != EEXIST)
		return -errno;
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	dfd = dir_open_make(rootfd, netns_name);
	if (dfd < 0) {
		rc = dfd;
		goto out;
	}
	if (file_same(dfd, text)) {
		rc = 0;
		goto out;
	}
	/* One writer per workload (felix), but a crashed one may have left
	 * its temporary file: the pid keeps the names apart. */
	snprintf(tmp, sizeof(tmp), ".hosts.%ld.tmp", (long)getpid());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		    0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = fchmod(fd, 0644) < 0 ? -errno : 0;	/* whatever the umask */
	if (rc == 0)
		rc = write_all(fd, text, strlen(text));
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc == 0 && renameat(dfd, tmp, dfd, HOSTS_FILE) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	rc = 1;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

int hosts_write(const char *netns_name, const char *text)
{
	return hosts_write_at(HOSTS_ROOT, netns_name, text);
}

int hosts_remove_at(const char *root, const char *netns_name)
{
	struct dirent *de;
	DIR *d;
	int rootfd, dfd, rc = 0;

	if (!root || !hosts_name_valid(netns_name))
		return -EINVAL;
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return errno == ENOENT ? 0 : -errno;
	dfd = openat(rootfd, netns_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		close(rootfd);
		return rc;
	}
	d = fdopendir(dfd);
	if (!d) {
		rc = -errno;
		close(dfd);
		close(rootfd);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && rc == 0)
			rc = -errno;
	}
	closedir(d);
	if (rc == 0 && unlinkat(rootfd, netns_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -errno;
	close(rootfd);
	return rc;
}

int hosts_remove(const char *netns_name)
{
	return hosts_remove_at(HOSTS_ROOT, netns_name);
}
