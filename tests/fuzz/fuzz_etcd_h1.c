/*
 * fuzz_etcd_h1: libFuzzer harness for the reply parser of the etcd
 * backend's built-in HTTP/1.1 client (datastore/etcd_h1.c). A member is
 * another machine, or whatever answers on its port: whatever it sends
 * must parse or fail cleanly.
 *
 * The first byte picks the split (pieces of 1..256 bytes), the second the
 * body's cap (small, to reach the caps, or large). Invariants checked:
 * the outcome (result, status, body; bytes taken, of a complete reply) is
 * the same whole and split; a complete reply has a final status (200..599), took no more
 * bytes than were fed, and its body is at most the cap and NUL-terminated;
 * after an error or the end nothing more is taken; the connection's end
 * either completes or refuses; nothing leaks (ASan's leak check).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datastore/etcd_h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds buf in pieces of step: the result, *used the bytes taken. */
static int feed(struct etcd_h1_resp *r, const char *buf, size_t size,
		size_t step, size_t *used)
{
	size_t off = 0, u;
	int rc = 0;

	*used = 0;
	while (off < size) {
		size_t k = size - off < step ? size - off : step;

		rc = etcd_h1_resp_feed(r, buf + off, k, &u);
		*used += u;
		if (u > k)
			abort();
		if (rc != 0)
			break;
		if (u != k)
			abort();	/* 0: every byte taken */
		off += k;
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct etcd_h1_resp a, b;	/* (8 KiB line buffers each) */
	const char *buf = (const char *)data + 2;
	size_t step, max, ua, ub, x;
	int ra, rb;

	if (size < 2 || size > 1 << 20)
		return 0;
	step = (size_t)data[0] + 1;
	max = data[1] & 1 ? (size_t)(data[1] >> 1) : ETCD_MSG_MAX;
	size -= 2;

	etcd_h1_resp_init(&a, max);
	etcd_h1_resp_init(&b, max);
	ra = feed(&a, buf, size, size ? size : 1, &ua);
	rb = feed(&b, buf, size, step, &ub);
	if (ra != rb || a.state != b.state || (ra == 1 && ua != ub))
		abort();
	if (ra == 1) {
		if (a.status < 200 || a.status > 599 || a.status != b.status ||
		    ua > size || a.body.len > max || a.body.len != b.body.len ||
		    (a.body.len && (a.body.p[a.body.len] || memcmp(a.body.p, b.body.p, a.body.len))) ||
		    a.close != b.close)
			abort();
	}
	if (ra < 0 && ra != -EPROTO && ra != -EMSGSIZE && ra != -ENOMEM)
		abort();
	if (ra != 0 && etcd_h1_resp_feed(&a, "x", 1, &x) != -EINVAL)
		abort();
	if (ra == 0) {
		int ea = etcd_h1_resp_eof(&a), eb = etcd_h1_resp_eof(&b);

		if (ea != eb || (ea != 1 && ea != -EPROTO))
			abort();
		if (ea == 1 && (a.body.len != b.body.len || a.body.len > max || !a.to_eof))
			abort();
	}
	etcd_h1_resp_clear(&a);
	etcd_h1_resp_clear(&b);
	return 0;
}
