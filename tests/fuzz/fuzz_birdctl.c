/*
 * fuzz_birdctl: libFuzzer harness for the parsers of what BIRD writes on its
 * control socket (bgpconf/birdctl.c): the reply parser, then `show
 * protocols` and `show route` over each reply found. BIRD is another
 * process; whatever it sends must parse or fail cleanly, within the bounds.
 *
 * Invariants checked: a reply takes 1..size bytes, ends at a newline, has
 * 1..BIRDCTL_LINES_MAX lines whose codes are 0..9999 and whose texts are
 * shorter than BIRDCTL_LINE_MAX; parsing the same bytes twice gives the same
 * result; an error leaves nothing allocated.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bgpconf/bgpconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reply(const char *buf, long used, const struct birdctl_reply *r)
{
	if (used <= 0 || buf[used - 1] != '\n')
		abort();
	if (r->n == 0 || r->n > BIRDCTL_LINES_MAX || r->code != r->lines[r->n - 1].code)
		abort();
	for (size_t i = 0; i < r->n; i++) {
		if (r->lines[i].code < 0 || r->lines[i].code > 9999 ||
		    strlen(r->lines[i].text) >= BIRDCTL_LINE_MAX)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0;

	if (size > 1 << 20)
		return 0;
	/* every reply in the buffer, one after the other */
	for (int k = 0; k < 64 && off < size; k++) {
		struct birdctl_reply r = { 0 }, r2 = { 0 };
		struct birdctl_proto *p = NULL;
		struct birdctl_route *rt = NULL;
		long used, used2;
		size_t n, n2;
		char *t;

		used = birdctl_reply_parse(buf + off, size - off, &r);
		if (used <= 0) {
			if (r.lines || r.n)
				abort();	/* untouched on "more" and on errors */
			if (used != 0 && used != -EBADMSG && used != -E2BIG && used != -ENOMEM)
				abort();
			break;
		}
		if ((size_t)used > size - off)
			abort();
		check_reply(buf + off, used, &r);
		used2 = birdctl_reply_parse(buf + off, size - off, &r2);
		if (used2 != used || r2.n != r.n || r2.code != r.code)
			abort();
		birdctl_reply_clear(&r2);

		if (birdctl_protocols_parse(&r, &p, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (!p[i].name[0] || !p[i].proto[0] || !p[i].state[0])
					abort();
			free(p);
		} else if (p) {
			abort();
		}
		if (birdctl_routes_parse(&r, &rt, &n2) == 0) {
			for (size_t i = 0; i < n2; i++)
				if (rt[i].n_via > BIRDCTL_NEXTHOPS_MAX || rt[i].net.len > 32)
					abort();
			free(rt);
		} else if (rt) {
			abort();
		}
		t = birdctl_reply_text(&r);
		free(t);
		birdctl_reply_clear(&r);
		off += (size_t)used;
	}
	return 0;
}
