/* fsafe: see fsafe.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsafe.h"

static const char *type_name(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return "a directory";
	case S_IFREG: return "a regular file";
	case S_IFLNK: return "a symbolic link";
	default: return "a special file";
	}
}

int fsafe_check(const char *path, mode_t type, char *err, size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (lstat(path, &st) < 0) {
		int r = -errno;

		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if ((st.st_mode & S_IFMT) != type) {
		snprintf(err, errlen, "%s: is %s, expected %s", path,
			 type_name(st.st_mode), type_name(type));
		return (st.st_mode & S_IFMT) == S_IFLNK ? -ELOOP : -EPERM;
	}
	if ((st.st_uid != 0 && st.st_uid != me) || (st.st_mode & 022)) {
		snprintf(err, errlen, "%s: owned by uid %u, mode %04o; expected owner "
			 "root (or uid %u, which runs petrel), no write access for "
			 "group or others", path, (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777), (unsigned)me);
		return -EPERM;
	}
	return 0;
}
