/*
 * golden: the unit tests' golden files (tests/unit/golden/<suite>/).
 * golden_check() compares a rendered text with its file, and rewrites the
 * file instead when PETREL_REGEN_GOLDEN=1. Include after cmocka.h.
 */
#ifndef PETREL_TEST_GOLDEN_H
#define PETREL_TEST_GOLDEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The whole file as a string (malloc'd), or NULL. */
static inline char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
		if (fread(s, 1, (size_t)n, f) != (size_t)n) {
			free(s);
			s = NULL;
		} else {
			s[n] = '\0';
		}
	}
	fclose(f);
	return s;
}

static inline void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Where two texts first differ, for the failure message. */
static inline void show_diff(const char *want, const char *got)
{
	int line = 1;
	const char *a = want, *b = got, *la = want, *lb = got;

	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
			la = a + 1;
			lb = b + 1;
		}
		a++;
		b++;
	}
	print_message("first difference at line %d:\n  want: %.*s\n  got:  %.*s\n",
		      line, (int)strcspn(la, "\n"), la, (int)strcspn(lb, "\n"), lb);
}

/* text against the golden file path (what: "config", "table", for the
 * message); fails the test when they differ. */
static inline void golden_check(const char *path, const char *text,
				const char *what)
{
	const char *regen = getenv("PETREL_REGEN_GOLDEN");
	char *want;

	if (regen && !strcmp(regen, "1")) {
		write_text(path, text);
		print_message("regenerated %s\n", path);
	}
	want = read_text(path);
	if (!want)
		fail_msg("%s: cannot read (PETREL_REGEN_GOLDEN=1 writes it)", path);
	if (strcmp(want, text)) {
		show_diff(want, text);
		free(want);
		fail_msg("%s differs from the rendered %s (PETREL_REGEN_GOLDEN=1 "
			 "rewrites it)", path, what);
	}
	free(want);
}

#endif
