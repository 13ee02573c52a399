/*
 * bgpconf_write: puts a BIRD config in place; bgpconf_apply: render, write,
 * reload (see bgpconf.h).
 *
 * Invariants:
 *   - the file at path only ever holds a config BIRD accepted (`bird -p`),
 *     and is replaced by rename(2): a reader sees the old or the new, never
 *     a mix;
 *   - unchanged bytes are not rewritten, so BIRD is not reloaded for nothing;
 *   - a config holding a password is never readable by others, not even the
 *     temporary file (mkostemp creates it 0600; its final mode is set before
 *     the first byte is written);
 *   - BIRD runs through posix_spawn with an argument vector, an empty
 *     environment, stdin from /dev/null and a deadline; never a shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bgpconf/bgpconf.h"

#define BIRD_DEFAULT "/usr/sbin/bird"
#define CHECK_TIMEOUT_MS 10000
#define CHECK_OUTPUT_MAX 2048

#define ERR(e, ...) do { if (e) errs_add(e, __VA_ARGS__); } while (0)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1: path holds exactly text (*st filled); 0: it differs or is missing. */
static int same_content(const char *path, const char *text, size_t len,
			struct stat *st)
{
	char buf[8192];
	size_t off = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if ((size_t)st->st_size != len)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (off + (size_t)n > len || memcmp(buf, text + off, (size_t)n))
			goto out;
		off += (size_t)n;
	}
	rc = off == len;
out:
	close(fd);
	return rc;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* BIRD's output as one line: newlines to "; ", the temporary file's name
 * replaced by the name the user knows. */
static void tidy_output(char *out, size_t len, const char *tmp, const char *path,
			char *dst, size_t dlen)
{
	size_t tl = strlen(tmp), k = 0;

	for (size_t i = 0; i < len && k + 1 < dlen; i++) {
		if (i + tl <= len && !memcmp(out + i, tmp, tl)) {
			k += (size_t)snprintf(dst + k, dlen - k, "%s", path);
			if (k >= dlen)
				k = dlen - 1;
			i += tl - 1;
		} else if (out[i] == '\n') {
			if (i + 1 < len && k + 3 < dlen) {
				dst[k++] = ';';
				dst[k++] = ' ';
			}
		} else {
			dst[k++] = (unsigned char)out[i] < 0x20 ? ' ' : out[i];
		}
	}
	dst[k] = '\0';
}

/* `bird -p -c tmp`: 0 when BIRD accepts the file. */
static int bird_check(const char *bird, const char *tmp, const char *path,
		      struct errs *e)
{
	char *argv[] = { (char *)"bird", (char *)"-p", (char *)"-c", (char *)tmp, NULL };
	char *envp[] = { NULL };
	char out[CHECK_OUTPUT_MAX], msg[CHECK_OUTPUT_MAX + 256];
	posix_spawn_file_actions_t fa;
	int fds[2], status = 0, rc;
	int64_t deadline;
	size_t got = 0;
	bool timed_out = false;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	if ((rc = posix_spawn_file_actions_init(&fa))) {
		close(fds[0]);
		close(fds[1]);
		return -rc;
	}
	rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	if (!rc)
		rc = posix_spawn(&pid, bird, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		ERR(e, "bgp: cannot run %s: %s", bird, strerror(rc));
		return -rc;
	}
	deadline = now_ms() + CHECK_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = { fds[0], POLLIN, 0 };
		int64_t left = deadline - now_ms();
		char sink[512];
		ssize_t n;

		if (left <= 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		/* keep the first bytes, drain the rest so BIRD never blocks */
		if (got < sizeof(out))
			n = read(fds[0], out + got, sizeof(out) - got);
		else
			n = read(fds[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (got < sizeof(out))
			got += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		ERR(e, "bgp: %s -p took longer than %d s", bird, CHECK_TIMEOUT_MS / 1000);
		return -ETIMEDOUT;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	tidy_output(out, got, tmp, path, msg, sizeof(msg));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !got)
		ERR(e, "bgp: cannot run %s", bird);
	else
		ERR(e, "bgp: BIRD refused the configuration for %s: %s", path,
		    msg[0] ? msg : "(no message)");
	return -EINVAL;
}

/* fsync of path's directory, so that the rename survives a crash. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int bgpconf_write(const char *path, const char *text, mode_t mode,
		  const char *bird, struct errs *e)
{
	char dir[4096], tmp[4200];
	const char *slash, *base;
	size_t len = strlen(text);
	struct stat st;
	int fd = -1, rc;

	if (!path || !path[0] || strlen(path) >= sizeof(dir))
		return -EINVAL;
	rc = same_content(path, text, len, &st);
	if (rc < 0) {
		ERR(e, "bgp: reading %s: %s", path, strerror(-rc));
		return rc;
	}
	if (rc == 1) {
		if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0) {
			rc = -errno;
			ERR(e, "bgp: chmod %s: %s", path, strerror(-rc));
			return rc;
		}
		return 0;
	}
	slash = strrchr(path, '/');
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
		base = slash + 1;
	} else {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	}
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, base);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		ERR(e, "bgp: creating a temporary file in %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (fchmod(fd, mode) < 0 || (rc = write_all(fd, text, len)) < 0 || fsync(fd) < 0) {
		rc = rc < 0 ? rc : -errno;
		ERR(e, "bgp: writing %s: %s", tmp, strerror(-rc));
		close(fd);
		goto out_unlink;
	}
	if (close(fd) < 0) {
		rc = -errno;
		ERR(e, "bgp: writing %s: %s", tmp, strerror(-rc));
		goto out_unlink;
	}
	if (!bird)
		bird = BIRD_DEFAULT;
	if (bird[0] && (rc = bird_check(bird, tmp, path, e)) < 0)
		goto out_unlink;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		ERR(e, "bgp: rename %s to %s: %s", tmp, path, strerror(-rc));
		goto out_unlink;
	}
	/* the new file is in place; a failed directory sync only weakens crash safety */
	sync_dir(dir);
	return 1;
out_unlink:
	unlink(tmp);
	return rc;
}

int bgpconf_apply(const struct bgpconf_input *in, const char *path,
		  const char *bird, bool *pending, struct errs *e)
{
	char *text = NULL;
	int rc, w;

	rc = bgpconf_render(in, &text, e);
	if (rc < 0)
		return rc;
	w = bgpconf_write(path, text, bgpconf_mode(in), bird, e);
	free(text);
	if (w < 0)
		return w;
	if (w == 0 && !*pending)
		return 0;
	if (!in->bird_socket || !in->bird_socket[0]) {
		*pending = true;
		return -ENOENT;
	}
	rc = birdctl_configure(in->bird_socket, path, e);
	*pending = rc < 0;
	return rc < 0 ? rc : 1;
}
