/*
 * tmpdir: a fresh temporary folder for a unit test, and its removal with
 * everything in it (header-only: each test links only the files it tests).
 */
#ifndef PETREL_TESTS_TMPDIR_H
#define PETREL_TESTS_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static int tmpdir_rm_one(const char *path, const struct stat *st, int flag,
			 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* dir (len bytes) := /tmp/TAG-XXXXXX, made. 0 or -1. */
static __attribute__((unused)) int tmpdir_make(char *dir, size_t len, const char *tag)
{
	int n = snprintf(dir, len, "/tmp/%s-XXXXXX", tag);

	return n < 0 || (size_t)n >= len || !mkdtemp(dir) ? -1 : 0;
}

/* dir and everything in it, gone. */
static __attribute__((unused)) void tmpdir_rm(const char *dir)
{
	nftw(dir, tmpdir_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
