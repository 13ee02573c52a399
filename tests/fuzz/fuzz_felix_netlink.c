/*
 * fuzz_felix_netlink: libFuzzer harness for felix's parsers of what it
 * reads back from the kernel over rtnetlink (felix/ktable.c's kern_msg:
 * links with their IFLA_AF_SPEC sysctls, routes, neighbours, neighbour
 * tables, netconf; felix/kwrite.c's kern_ack_text: the extended ack of an
 * NLMSG_ERROR). The input is one datagram as recv() leaves it in felix's
 * receive buffer, walked the way kern_events_read walks it (nlmsg_ok /
 * nlmsg_next); the felix is the unit tests' (tests/unit/felix_fake.h),
 * with one link of petrel's (ifindex 5) already known, so that neighbour,
 * neighbour-table and netconf messages find it.
 *
 * Invariants checked: nothing reads outside the datagram (ASan); every
 * link felix keeps is petrel's by name and is found by its index and by
 * its name; an ack's text is NUL-terminated within its buffer; freeing
 * the tables frees everything (ASan's leak check).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/msg.h>

#include "common/ifname.h"
#include "tests/unit/felix_fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_link(struct hnode *h, void *arg)
{
	struct felix *f = arg;
	struct klink *l = container_of(h, struct klink, by_index);

	if (!ifname_is_ours(l->name) || kern_link_by_index(f, l->ifindex) != l ||
	    kern_link_by_name(f, l->name) != l)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	unsigned char *dg;
	struct felix *f;
	struct nlmsghdr *h;
	int rem;

	if (size > FELIX_RBUF)
		return 0;
	if (!inited) {
		log_init("fuzz", LOG_LVL_ERR, 0);
		inited = 1;
	}
	/* exactly the datagram's bytes, aligned as the kernel's are: ASan
	 * sees a read past its end */
	if (!(dg = malloc(size ? size : 1)))
		return 0;
	memcpy(dg, data, size);
	f = fake_felix("n1");
	fake_link(f, 5, "ptl0123456789ab", true);
	h = (struct nlmsghdr *)dg;
	rem = (int)size;
	for (; nlmsg_ok(h, rem); h = nlmsg_next(h, &rem)) {
		if (h->nlmsg_type == NLMSG_ERROR) {
			char ext[160];

			memset(ext, 'x', sizeof(ext));
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				kern_ack_text(h, ext, sizeof(ext));
				if (!memchr(ext, '\0', sizeof(ext)))
					abort();
			}
			continue;
		}
		kern_msg(f, h);
	}
	htab_walk(&f->links, check_link, f);
	fake_felix_free(f);
	free(dg);
	return 0;
}
