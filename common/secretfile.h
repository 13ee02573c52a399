/*
 * secretfile: files that hold secrets (a TLS private key, a password).
 * Such a file must be a regular file owned by root with no access for
 * group or others (0600 or 0400), or it is refused with a message naming it:
 * a key that others can read is a key that others have.
 */
#ifndef PETREL_SECRETFILE_H
#define PETREL_SECRETFILE_H

#include <stddef.h>

/* 0, or -errno with err ("PATH: why") filled. Follows no symlink. */
int secret_file_check(const char *path, char *err, size_t errlen);
/* The file's first line (checked as above; at most max bytes), malloc'd in
 * *out: 0, or -errno with err filled. The text itself is never put in err. */
int secret_file_read(const char *path, size_t max, char **out, char *err,
		     size_t errlen);

#endif
