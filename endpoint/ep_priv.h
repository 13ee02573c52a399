/*
 * ep_priv: what endpoint/'s files share and nobody else sees.
 */
#ifndef PETREL_EP_PRIV_H
#define PETREL_EP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint/endpoint.h"

/* Fills e (stage, code, message) and returns code. */
int ep_fail(struct endpoint_err *e, enum endpoint_stage stage, int code,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends a line to e->warn. */
void ep_warn(struct endpoint_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Conflicts (another creator or allocator committed between our read and
 * our transaction) are retried until EP_CONFLICT_MS have passed, not a
 * fixed number of times: N creators racing for one block need up to N
 * rounds. Between tries a random pause of up to 2^try ms (at most 32), so
 * that the racers spread out instead of colliding again in step. */
#define EP_CONFLICT_MS 10000
int64_t ep_now_ms(void);
/* Sleeps before try number `try` (0: not at all); false once the time for
 * conflicts starting at t0 (ep_now_ms) is up. */
bool ep_conflict_pause(int try, int64_t t0);

/* The reservations of one record's transaction: one op per distinct
 * (proto, host port); port[k]: the index in w->ports of op[k]'s port. */
struct ep_ports {
	size_t n;
	struct ds_op op[WEP_MAX_PORTS];
	struct ds_kv kv[WEP_MAX_PORTS];	/* key (and the stale one read) */
	size_t port[WEP_MAX_PORTS];
	char *value;			/* {"workload":NAME} */
};
void ep_ports_clear(struct ep_ports *pp);
/* For a create of w: picks the ports with q->pick[i] (pick may be NULL)
 * from q's hostPortRange, none that node forbids (endpoint_port_forbidden),
 * then one create (free) or update (stale, at its revision) per key; a held
 * one fails (EP_PORT, -EADDRINUSE, e->port and e->owner). 0 or -errno. */
int ep_ports_prepare(struct ds *ds, struct wep *w, const struct endpoint_req *q,
		     const struct endpoint_node *node, struct ep_ports *pp,
		     struct endpoint_err *e);
/* For a remove of w: a delete (at its revision) of each reservation that
 * names w. 0 or a datastore error. */
int ep_ports_held(struct ds *ds, const struct wep *w, struct ep_ports *pp);

/* The message of a failed endpoint_wait (gone: a remove's); returns r. */
int ep_wait_fail(struct endpoint_err *e, int r, const char *sock,
		 const char *node, const char *name, int wait_ms, bool gone,
		 const char *why);

/* "<what>: <errno text> (kernel: <extack>)" */
const char *ep_link_text(const struct link_err *le, char *buf, size_t len);

#endif
