/*
 * secretfile: the ownership and mode checks of a file that holds a secret,
 * made on the open file (fstat of an O_NOFOLLOW descriptor), so that what
 * was checked is what is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/secretfile.h"

static int secret_open(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s%s", path, strerror(-r),
			 r == -ELOOP ? " (a symbolic link: give the file itself)" : "");
		return r;
	}
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto bad;
	}
	r = -EPERM;
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto bad;
	}
	if (sb.st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, must be owned by root",
			 path, (unsigned)sb.st_uid);
		goto bad;
	}
	if (sb.st_mode & 077) {
		snprintf(err, errlen, "%s: mode %04o, must be 0600 (no access "
			 "for group or others)", path, (unsigned)(sb.st_mode & 07777));
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return r;
}

int secret_file_check(const char *path, char *err, size_t errlen)
{
	int fd = secret_open(path, err, errlen);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int secret_file_read(const char *path, size_t max, char **out, char *err,
		     size_t errlen)
{
	char *buf;
	size_t len = 0;
	ssize_t got;
	int fd, r = 0;

	*out = NULL;
	fd = secret_open(path, err, errlen);
	if (fd < 0)
		return fd;
	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < max) {
		got = read(fd, buf + len, max - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
			break;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	close(fd);
	if (r == 0) {
		buf[len] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		if (!buf[0]) {
			snprintf(err, errlen, "%s: empty", path);
			r = -EINVAL;
		}
	}
	if (r < 0) {
		explicit_bzero(buf, max + 1);
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
