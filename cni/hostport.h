/*
 * hostport: a node's host ports, each published by at most one workload.
 *
 * A reservation is the datastore key /petrel/hostports/<node>/<proto>-<port>
 * ("tcp-8080"), value {"workload":"NAME"}, created in the same transaction
 * as the WorkloadEndpoint that publishes the port and deleted with it, so
 * two workloads of a node never both get one host port and protocol (what
 * host IP each asks for does not matter: one key per port). The reservation
 * is what decides; felix only reads the WorkloadEndpoints.
 *
 * A reservation whose workload no longer exists, or no longer publishes the
 * port (a creator that crashed between its two writes cannot leave one: they
 * are one transaction; a remover that predates reservations can), is stale:
 * hostport_wep_create deletes it (compare-and-swap on its revision) and
 * tries again, a bounded number of times.
 *
 * Nothing here logs.
 */
#ifndef PETREL_HOSTPORT_H
#define PETREL_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

#include "datastore/datastore.h"
#include "model/keys.h"
#include "model/resource.h"

#define HOSTPORT_PREFIX KEYS_HOSTPORTS

/* The reservation key of p on node: 0 or -ENAMETOOLONG. */
int hostport_key(const char *node, const struct wep_port *p, char *buf,
		 size_t len);

/* Who holds a port another workload asked for. */
struct hostport_conflict {
	struct wep_port port;		/* the one asked for */
	char owner[RES_NAME_MAX];	/* "" when the value named nobody */
};

/* Creates the WorkloadEndpoint r (RES_WEP; borrowed) and a reservation for
 * each of its ports, in one transaction. 0 and *rev (the transaction's
 * revision); -EEXIST when the WorkloadEndpoint exists; -EADDRINUSE when a
 * port is another workload's (*c says which and whose); -ECANCELED when
 * stale reservations kept changing underneath; -ENOMEM; other datastore
 * errors. */
int hostport_wep_create(struct ds *ds, const struct resource *r, int64_t *rev,
			struct hostport_conflict *c);

/* Whether w's ports are free (or held by a stale reservation): 0, or
 * -EADDRINUSE with *c filled, or a datastore error. Only a first look, so
 * that a creator fails before it builds anything: hostport_wep_create
 * decides. */
int hostport_check(struct ds *ds, const struct wep *w, struct hostport_conflict *c);

/* Deletes the WorkloadEndpoint r (at revision expect_rev; 0 = any) and those
 * reservations of its ports that still name it, in one transaction. 0,
 * -ENOENT (no such record), -ECANCELED (changed meanwhile), or a datastore
 * error. */
int hostport_wep_delete(struct ds *ds, const struct resource *r,
			int64_t expect_rev);

#endif
