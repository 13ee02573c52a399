/*
 * policy apply | get | rm: NetworkPolicy by its own verb, aliases of
 * `apply -f`, `get networkpolicy` and `delete networkpolicy`, which do the
 * work (one code path for validation, output and messages).
 *
 * policy apply takes NetworkPolicy documents only: it reads the input once,
 * checks every document's kind, and hands the very bytes it checked to
 * apply (for stdin through a memfd put in stdin's place, as apply reads
 * stdin; a file is read again by apply, the operator's own file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/petrelctl.h"
#include "common/log.h"
#include "common/yamljson.h"

#define POLICY_INPUT_MAX (16u << 20)

static const char usage_policy[] =
	"usage: petrelctl policy apply -f FILE|- [--dry-run]\n"
	"       petrelctl policy get [NAME]\n"
	"       petrelctl policy rm NAME...\n"
	"\n"
	"NetworkPolicy documents (docs/policy.md): the same as apply -f, get\n"
	"networkpolicy and delete networkpolicy, except that policy apply refuses\n"
	"a document of any other kind (and then writes nothing).\n";

static int read_all(FILE *f, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 16384;
			if (cap > POLICY_INPUT_MAX + 4096 + 1) {
				free(buf);
				return -EFBIG;
			}
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* CTL_OK when every document of buf is a NetworkPolicy (else printed). A
 * YAML error is left to apply, which reports it the same way. */
static int policy_kinds_check(const char *file, const char *buf, size_t len)
{
	struct errs e = ERRS_INIT;
	struct ydoc *docs = NULL;
	size_t n = 0;
	int rc = CTL_OK;

	if (yaml_load(file, buf, len, &docs, &n, &e) < 0) {
		errs_clear(&e);
		return CTL_OK;
	}
	for (size_t i = 0; i < n; i++) {
		const char *kind = json_string_value(json_object_get(docs[i].root, "kind"));
		int line = docs[i].line, col = docs[i].col;

		if (kind && res_kind_parse(kind) == RES_NETPOLICY)
			continue;
		ydoc_pos_key(&docs[i], docs[i].root, "kind", &line, &col);
		if (!line) {
			line = docs[i].line;
			col = docs[i].col;
		}
		fprintf(stderr, "%s:%d:%d: kind: policy apply takes NetworkPolicy "
			"documents only (this is %s%s%s; use apply -f)\n", file, line, col,
			kind ? "\"" : "", kind ? kind : "none", kind ? "\"" : "");
		rc = CTL_ERR;
	}
	ydocs_free(docs, n);
	return rc;
}

/* Puts buf in stdin's place (a sealed memfd). */
static int stdin_replace(const char *buf, size_t len)
{
	int fd = memfd_create("petrelctl-policy", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			close(fd);
			return -errno;
		}
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, STDIN_FILENO) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	clearerr(stdin);
	return 0;
}

static int policy_apply(struct ctl *c, int argc, char **argv)
{
	enum { O_DRY = 256 };
	static const struct option lo[] = {
		{ "filename", required_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, O_DRY },
		CTL_LONGOPTS
	};
	const char *path = NULL, *file;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int opt, r, rc = CTL_ERR;

	while ((opt = getopt_long(argc, argv, ":f:" CTL_SHORTOPTS, lo, NULL)) != -1) {
		if (opt == 'f') {
			path = optarg;
			continue;
		}
		if (opt == O_DRY)
			continue;
		if (!ctl_opt_common(c, opt, usage_policy, argv, &r))
			return r;
	}
	if (!path)
		return ctl_usage_err(c, "-f FILE is required (- for stdin)");
	if (optind < argc)
		return ctl_usage_err(c, "unexpected argument '%s'", argv[optind]);
	/* The config first, as apply would: nothing is read before it. */
	if (ctl_setup(c) != CTL_OK)
		return CTL_ERR;
	file = strcmp(path, "-") ? path : "<stdin>";
	f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		log_err("reading %s: %s", file, strerror(errno));
		return CTL_ERR;
	}
	r = read_all(f, &buf, &len);
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		log_err("reading %s: %s", file, r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
		return CTL_ERR;
	}
	if (policy_kinds_check(file, buf, len) != CTL_OK)
		goto out;
	if (f == stdin && (r = stdin_replace(buf, len)) < 0) {
		log_err("reading %s: %s", file, strerror(-r));
		goto out;
	}
	/* apply parses the same arguments again (its options are a superset). */
	ctl_getopt_reset();
	c->verb = "apply";
	rc = cmd_apply(c, argc, argv);
out:
	free(buf);
	return rc;
}

/* argv with argv[0] replaced by verb and "networkpolicy" put after it. */
static int policy_alias(struct ctl *c, int argc, char **argv, const char *verb,
			int (*fn)(struct ctl *, int, char **))
{
	char **v = calloc((size_t)argc + 2, sizeof(*v));
	int r;

	if (!v) {
		log_err("out of memory");
		return CTL_ERR;
	}
	v[0] = (char *)verb;
	v[1] = (char *)"networkpolicy";
	for (int i = 1; i < argc; i++)
		v[i + 1] = argv[i];
	ctl_getopt_reset();
	c->verb = verb;
	r = fn(c, argc + 1, v);
	free(v);
	return r;
}

static int policy_help_only(struct ctl *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_policy, stdout);
			return CTL_OK;
		}
	}
	return -1;
}

static int policy_get(struct ctl *c, int argc, char **argv)
{
	int r = policy_help_only(c, argc, argv);

	return r >= 0 ? r : policy_alias(c, argc, argv, "get", cmd_get);
}

static int policy_rm(struct ctl *c, int argc, char **argv)
{
	int r, rc = CTL_OK;

	r = ctl_parse_common_only(c, argc, argv, usage_policy);
	if (r >= 0)
		return r;
	if (optind >= argc)
		return ctl_usage_err(c, "which policy? (policy rm NAME...)");
	/* Options are parsed (into c); delete gets one name at a time. */
	for (int i = optind, n = argc; i < n; i++) {
		char *v[] = { (char *)"delete", (char *)"networkpolicy", argv[i], NULL };

		ctl_getopt_reset();
		c->verb = "delete";
		if (cmd_delete(c, 3, v) != CTL_OK)
			rc = CTL_ERR;
	}
	return rc;
}

int cmd_policy(struct ctl *c, int argc, char **argv)
{
	static const struct ctl_sub subs[] = {
		{ "apply", NULL, "policy apply", policy_apply },
		{ "get", "ls", "policy get", policy_get },
		{ "rm", "delete", "policy rm", policy_rm },
	};

	return ctl_run_sub(c, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   usage_policy);
}
