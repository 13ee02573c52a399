/*
 * ipam_fixture: the cmocka fixture IPAM's unit tests share (test_ipam.c,
 * test_ipam6.c): a real sqlite store in a fresh temporary folder per test,
 * removed with its folder after it. Header-only: each test links only the
 * files it tests.
 */
#ifndef PETREL_TESTS_IPAM_FIXTURE_H
#define PETREL_TESTS_IPAM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "datastore/datastore.h"
#include "tmpdir.h"

struct fx {
	char dir[64];
	char url[96];
	struct ds *ds;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "petrel-ipam") < 0) {
		free(f);
		return -1;
	}
	snprintf(f->url, sizeof(f->url), "sqlite:%s/petrel.db", f->dir);
	if (ds_open(f->url, &f->ds) < 0) {
		tmpdir_rm(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ds_close(f->ds);
	tmpdir_rm(f->dir);
	free(f);
	return 0;
}

#endif
