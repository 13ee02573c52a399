/*
 * netns_cost: what creating and deleting one named network namespace costs
 * inside a process, done the way petrelctl does it (common/netns.c: an
 * O_EXCL file under /run/netns, unshare, bind mount, back; delete = detach
 * the mount and unlink). tests/bench/run.sh subtracts this from petrelctl's
 * times for its "without the namespace" figures, and adds it to the CNI
 * plugin's, whose caller makes the namespace.
 *
 *   netns_cost PREFIX COUNT
 *
 * Creates PREFIX0 .. PREFIX<COUNT-1>, then deletes them, timing each call.
 * Prints two lines of microseconds, "create T1 T2 ..." and "delete T1 ...".
 * Every namespace it made is deleted before it exits, also on failure.
 * PREFIX must start with "pt-" (tests make only pt- namespaces).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/netns.h"

#define COUNT_MAX 10000

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	long long *t_add = NULL, *t_del = NULL, t0;
	char name[128];
	const char *where = "";
	int count, made = 0, i, r, rc = 1;

	if (argc != 3 || strncmp(argv[1], "pt-", 3) != 0) {
		fprintf(stderr, "usage: netns_cost pt-PREFIX COUNT\n");
		return 2;
	}
	count = atoi(argv[2]);
	if (count < 1 || count > COUNT_MAX || strlen(argv[1]) > 100) {
		fprintf(stderr, "netns_cost: COUNT 1..%d, PREFIX up to 100 chars\n",
			COUNT_MAX);
		return 2;
	}
	t_add = calloc((size_t)count, sizeof(*t_add));
	t_del = calloc((size_t)count, sizeof(*t_del));
	if (!t_add || !t_del) {
		fprintf(stderr, "netns_cost: out of memory\n");
		goto out;
	}
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%s%d", argv[1], i);
		t0 = now_us();
		r = netns_create(name, NULL, NULL, &where);
		t_add[i] = now_us() - t0;
		if (r < 0) {
			fprintf(stderr, "netns_cost: create %s: %s: %s\n", name,
				where, strerror(-r));
			goto out;
		}
		made++;
	}
	for (i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "%s%d", argv[1], i);
		t0 = now_us();
		r = netns_delete(name);
		t_del[i] = now_us() - t0;
		if (r < 0) {
			fprintf(stderr, "netns_cost: delete %s: %s\n", name,
				strerror(-r));
			goto out;
		}
	}
	made = 0;
	printf("create");
	for (i = 0; i < count; i++)
		printf(" %lld", t_add[i]);
	printf("\ndelete");
	for (i = 0; i < count; i++)
		printf(" %lld", t_del[i]);
	printf("\n");
	rc = 0;
out:
	/* On failure, delete whatever was made (made > 0 only then). */
	for (i = 0; i < made; i++) {
		snprintf(name, sizeof(name), "%s%d", argv[1], i);
		netns_delete(name);
	}
	free(t_add);
	free(t_del);
	return rc;
}
