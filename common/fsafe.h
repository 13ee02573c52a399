/*
 * fsafe: a file or directory petrel trusts (its database, its runDir) must
 * be one that nobody else could have put there or can change: owned by
 * root or by the uid petrel runs as, and not writable by group or others.
 * Otherwise it is refused with a message naming the path, what was found
 * and what is expected, e.g. "/run/petrel: owned by uid 1000, mode 0777;
 * expected owner root (or uid 0, which runs petrel), no write access for
 * group or others".
 */
#ifndef PETREL_FSAFE_H
#define PETREL_FSAFE_H

#include <stddef.h>
#include <sys/types.h>

/* 0, or -errno with err ("PATH: why") filled. type is S_IFDIR or S_IFREG.
 * The path itself must not be a symbolic link (lstat). */
int fsafe_check(const char *path, mode_t type, char *err, size_t errlen);

#endif
