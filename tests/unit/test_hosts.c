/*
 * test_hosts: common/hosts.c. The rendered text (who is listed, in which
 * order; from member lists built here the way felix builds them: one per
 * named network of self) and the atomic write into a temporary root:
 * written, unchanged, rewritten, mode 0644, removal, invalid names.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hosts.h"
#include "model/resource.h"
#include "tmpdir.h"

static void wep_make(struct wep *w, const char *node, const char *name,
		     uint32_t addr, const char *n1, const char *n2)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->node, sizeof(w->node), "%s", node);
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->mode = WEP_ROUTED;
	if (addr) {
		w->n_nets = 1;
		w->nets[0].addr = addr;
		w->nets[0].len = 32;
	}
	if (n1)
		snprintf(w->networks[w->n_networks++], RES_NAME_MAX, "%s", n1);
	if (n2)
		snprintf(w->networks[w->n_networks++], RES_NAME_MAX, "%s", n2);
}

static bool wep_in(const struct wep *w, const char *net)
{
	for (size_t i = 0; i < w->n_networks; i++)
		if (!strcmp(w->networks[i], net))
			return true;
	return false;
}

/* self's text: a sorted member list per named network of self (routed
 * workloads with an address), then hosts_render. */
static int render(const struct wep *self, const struct wep *const *all,
		  size_t n, char **text)
{
	struct hosts_member m[4][8], me;
	struct hosts_list lists[4];
	size_t nl = 0;
	int r;

	if (!self)
		return hosts_render(NULL, false, NULL, 0, text);
	for (size_t i = 0; i < self->n_networks; i++) {
		if (!strcmp(self->networks[i], NETWORK_DEFAULT))
			continue;
		lists[nl].n = 0;
		for (size_t j = 0; j < n; j++)
			if (all[j]->mode == WEP_ROUTED && all[j]->n_nets &&
			    wep_in(all[j], self->networks[i]))
				m[nl][lists[nl].n++] = (struct hosts_member){
					all[j]->name, all[j]->node, all[j]->nets[0].addr };
		hosts_members_sort(m[nl], lists[nl].n);
		lists[nl].v = m[nl];
		nl++;
	}
	me = (struct hosts_member){ self->name, self->node,
				    self->n_nets ? self->nets[0].addr : 0 };
	r = hosts_render(&me, self->n_nets > 0, lists, nl, text);
	return r;
}

static void test_render(void **state)
{
	struct wep w[7];
	const struct wep *all[7];
	char *text = NULL;

	(void)state;
	wep_make(&w[0], "n1", "web", 0x0a000002, "blue", "red");
	wep_make(&w[1], "n1", "zeta", 0x0a000009, "blue", NULL);
	wep_make(&w[2], "n2", "alpha", 0x0a000103, "red", NULL);	/* other node */
	wep_make(&w[3], "n1", "lone", 0x0a000004, NULL, NULL);		/* default only */
	wep_make(&w[4], "n1", "green", 0x0a000005, "green", NULL);	/* no overlap */
	wep_make(&w[5], "n1", "noaddr", 0, "blue", NULL);		/* no address */
	wep_make(&w[6], "n1", "host1", 0x0a000007, "blue", NULL);
	w[6].mode = WEP_HOST;						/* not routed */
	for (int i = 0; i < 7; i++)
		all[i] = &w[i];
	assert_int_equal(render(&w[0], all, 7, &text), 0);
	assert_string_equal(text, "127.0.0.1\tlocalhost\n"
				  "10.0.0.2\tweb\n"
				  "10.0.1.3\talpha\n"
				  "10.0.0.9\tzeta\n");
	free(text);

	/* Default only: itself and localhost, even if others are default too. */
	assert_int_equal(render(&w[3], all, 7, &text), 0);
	assert_string_equal(text, "127.0.0.1\tlocalhost\n10.0.0.4\tlone\n");
	free(text);

	/* "default" named explicitly is not shared. */
	wep_make(&w[3], "n1", "lone", 0x0a000004, "default", NULL);
	wep_make(&w[4], "n1", "green", 0x0a000005, "default", NULL);
	assert_int_equal(render(&w[3], all, 7, &text), 0);
	assert_string_equal(text, "127.0.0.1\tlocalhost\n10.0.0.4\tlone\n");
	free(text);

	/* No others at all; and a copy of self (not the same pointer). */
	assert_int_equal(render(&w[1], NULL, 0, &text), 0);
	assert_string_equal(text, "127.0.0.1\tlocalhost\n10.0.0.9\tzeta\n");
	free(text);
	{
		struct wep copy = w[1];
		const struct wep *one[1] = { &copy };

		assert_int_equal(render(&w[1], one, 1, &text), 0);
		assert_string_equal(text, "127.0.0.1\tlocalhost\n10.0.0.9\tzeta\n");
		free(text);
	}
	assert_int_equal(render(NULL, all, 7, &text), -EINVAL);
}

struct fx {
	char dir[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "petrel-hosts") < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tmpdir_rm(f->dir);
	free(f);
	return 0;
}

static void file_expect(const char *path, const char *text)
{
	char buf[256];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, text);
}

static void test_write(void **state)
{
	struct fx *f = *state;
	char root[128], path[256];
	struct stat st, st2;
	mode_t old = umask(077);

	/* The root itself is made when missing. */
	snprintf(root, sizeof(root), "%s/netns", f->dir);
	snprintf(path, sizeof(path), "%s/pt-web/hosts", root);
	assert_int_equal(hosts_write_at(root, "pt-web", "127.0.0.1\tlocalhost\n"), 1);
	umask(old);
	file_expect(path, "127.0.0.1\tlocalhost\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* Unchanged: no write (same inode). */
	assert_int_equal(hosts_write_at(root, "pt-web", "127.0.0.1\tlocalhost\n"), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st.st_ino, st2.st_ino);

	/* Changed: a new file renamed over the old one. */
	assert_int_equal(hosts_write_at(root, "pt-web", "10.0.0.1\tx\n"), 1);
	file_expect(path, "10.0.0.1\tx\n");
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st.st_ino, st2.st_ino);

	/* Invalid names. */
	assert_int_equal(hosts_write_at(root, "a/b", "x"), -EINVAL);
	assert_int_equal(hosts_write_at(root, "..", "x"), -EINVAL);
	assert_int_equal(hosts_write_at(root, ".", "x"), -EINVAL);
	assert_int_equal(hosts_write_at(root, "", "x"), -EINVAL);
	assert_int_equal(hosts_write_at(root, "a\nb", "x"), -EINVAL);
	assert_int_equal(hosts_remove_at(root, "../x"), -EINVAL);

	/* Removal: the folder and its files; again: nothing to do. */
	snprintf(path, sizeof(path), "%s/pt-web/resolv.conf", root);
	{
		FILE *fp = fopen(path, "w");

		assert_non_null(fp);
		fclose(fp);
	}
	assert_int_equal(hosts_remove_at(root, "pt-web"), 0);
	snprintf(path, sizeof(path), "%s/pt-web", root);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(hosts_remove_at(root, "pt-web"), 0);
	snprintf(path, sizeof(path), "%s/none", f->dir);
	assert_int_equal(hosts_remove_at(path, "pt-web"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
