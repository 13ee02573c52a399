/*
 * common/nlerr.h: the errno of a netlink error reply.
 */
#ifndef PETREL_COMMON_NLERR_H
#define PETREL_COMMON_NLERR_H

#include <errno.h>

/* What an NLMSG_ERROR's error field says: 0 (an acknowledgement) or
 * -errno. Anything else (INT_MIN, a positive number) is no errno but the
 * sender's mistake: -EPROTO, so that r < 0 and strerror(-r) hold for every
 * reply read. */
static inline int nl_error(int error)
{
	if (error == 0 || (error < 0 && error >= -4095))
		return error;
	return -EPROTO;
}

#endif
