/*
 * hostport: the host-port reservation protocol of endpoint/ (the contract is
 * in endpoint.h), once for every creator.
 *
 * Job: before a create's transaction, turn the record's published ports
 * into one operation per distinct (protocol, host port): a create where the
 * key is free, an update at the revision read where the reservation is
 * stale (its owner record is gone or no longer publishes the port), and a
 * failure naming the owner where it is held. Ports the caller wants picked
 * get a free host port of hostPortRange (one list of the node's keys, a
 * random start, then upwards). On remove: a delete, at the revision read,
 * of each reservation that still names the workload.
 *
 * Invariants: a reservation that does not read as {"workload": NAME} is
 * never judged stale (it may be another writer's); nothing here writes
 * alone: every operation goes into the record's transaction, whose failure
 * at a reservation sends the caller back to ep_ports_prepare (bounded).
 * Ownership: struct ep_ports owns its keys and the value text; the ops
 * borrow them (ep_ports_clear frees).
 */
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "endpoint/endpoint.h"
#include "endpoint/ep_priv.h"
#include "model/keys.h"

#define EP_HOSTPORT_PREFIX KEYS_HOSTPORTS

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

int endpoint_hostport_key(const char *node, const struct wep_port *p,
			  char *buf, size_t len)
{
	int n = snprintf(buf, len, EP_HOSTPORT_PREFIX "%s/%s-%u", node,
			 proto_name(p->proto), (unsigned)p->host_port);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void endpoint_hostport_parse(const char *value, char *out, size_t len)
{
	json_t *j = json_loads(value, 0, NULL);
	const char *s = json_string_value(json_object_get(j, "workload"));

	snprintf(out, len, "%s", s && res_name_valid(s) ? s : "");
	json_decref(j);
}

int endpoint_hostport_owner(struct ds *ds, const char *node,
			    const struct wep_port *p, char *owner, size_t len)
{
	char key[RES_KEY_MAX];
	struct ds_kv kv = { 0 };
	int r;

	if (endpoint_hostport_key(node, p, key, sizeof(key)) < 0)
		return -ENAMETOOLONG;
	r = ds_get(ds, key, &kv);
	if (r == 0)
		endpoint_hostport_parse(kv.value, owner, len);
	ds_kv_clear(&kv);
	return r;
}

/* Does workload owner of node still publish p? 1 yes, 0 no (stale), or a
 * datastore error. A record that does not decode holds its ports. */
static int owner_holds(struct ds *ds, const char *node, const char *owner,
		       const struct wep_port *p)
{
	char id[2 * RES_NAME_MAX], key[RES_KEY_MAX];
	struct resource w = { 0 };
	struct errs e = ERRS_INIT;
	struct ds_kv kv = { 0 };
	int r, held = 0;

	snprintf(id, sizeof(id), "%s/%s", node, owner);
	if (res_key(RES_WEP, id, key, sizeof(key)) < 0)
		return 1;
	r = ds_get(ds, key, &kv);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (res_from_text(RES_WEP, kv.value, kv.mod_rev, &w, &e) < 0)
		held = 1;
	for (size_t i = 0; !held && i < w.u.wep.n_ports && i < WEP_MAX_PORTS; i++)
		held = w.u.wep.ports[i].proto == p->proto &&
		       w.u.wep.ports[i].host_port == p->host_port;
	errs_clear(&e);
	res_clear(&w);
	ds_kv_clear(&kv);
	return held;
}

/* Bitmaps of the node's reserved ports, tcp and udp. */
struct taken {
	uint8_t tcp[8192], udp[8192];
};

static uint8_t *taken_map(struct taken *t, uint8_t proto)
{
	return proto == IPPROTO_UDP ? t->udp : t->tcp;
}

static bool taken_get(struct taken *t, uint8_t proto, uint16_t p)
{
	return taken_map(t, proto)[p / 8] & (1u << (p % 8));
}

static void taken_set(struct taken *t, uint8_t proto, uint16_t p)
{
	taken_map(t, proto)[p / 8] |= (uint8_t)(1u << (p % 8));
}

static int port_num(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

static int taken_load(struct ds *ds, const char *node, struct taken *t,
		      struct endpoint_err *e)
{
	char prefix[RES_KEY_MAX];
	struct ds_kv *kv = NULL;
	size_t n = 0, plen;
	int r;

	snprintf(prefix, sizeof(prefix), EP_HOSTPORT_PREFIX "%s/", node);
	plen = strlen(prefix);
	r = ds_list(ds, prefix, &kv, &n, NULL);
	if (r < 0)
		return ep_fail(e, EP_STORE, r, "listing the published ports: %s (%s)",
			       ds_strerror(r), ds_last_error(ds));
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[i].key + plen;
		uint8_t proto;
		uint16_t p;

		if (!strncmp(k, "tcp-", 4))
			proto = IPPROTO_TCP;
		else if (!strncmp(k, "udp-", 4))
			proto = IPPROTO_UDP;
		else
			continue;
		if (port_num(k + 4, &p) == 0)
			taken_set(t, proto, p);
	}
	ds_kvs_free(kv, n);
	return 0;
}

/* Gives every port with pick[i] a host port that no reservation of the
 * node holds (nor another port of w). */
static int ports_pick(struct ds *ds, struct wep *w, const struct endpoint_req *q,
		      const struct endpoint_node *node, struct endpoint_err *e)
{
	const bool *pick = q->pick;
	unsigned lo = q->port_lo, hi = q->port_hi;
	struct taken *t;
	unsigned span;
	int r;

	if (lo < 1 || hi < lo || hi > 65535)
		return ep_fail(e, EP_PORT, -EINVAL, "hostPortRange %u-%u is not a valid range",
			       lo, hi);
	t = calloc(1, sizeof(*t));
	if (!t)
		return ep_fail(e, EP_INTERNAL, -ENOMEM, "out of memory");
	span = hi - lo + 1;
	r = taken_load(ds, w->node, t, e);
	for (size_t i = 0; r == 0 && i < w->n_ports; i++)
		if (!pick[i])
			taken_set(t, w->ports[i].proto, w->ports[i].host_port);
	for (size_t i = 0; r == 0 && i < w->n_ports; i++) {
		uint32_t rnd = 0;
		unsigned k;

		if (!pick[i])
			continue;
		/* A random start, then upwards: two creators at once rarely
		 * collide, and when they do the transaction says so. */
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
			rnd = (uint32_t)i * 7919u;
		for (k = 0; k < span; k++) {
			struct wep_port c = w->ports[i];
			char why[256];

			c.host_port = (uint16_t)(lo + (rnd + k) % span);
			if (!taken_get(t, c.proto, c.host_port) &&
			    (!node || endpoint_port_forbidden(node, q->allow_ports,
							      q->n_allow_ports, &c, why,
							      sizeof(why)) == 0)) {
				uint16_t p = c.host_port;

				w->ports[i].host_port = p;
				taken_set(t, w->ports[i].proto, p);
				break;
			}
		}
		if (k == span)
			r = ep_fail(e, EP_PORT, -ENOSPC, "no free %s host port left in "
				    "hostPortRange %u-%u that the node does not use",
				    proto_name(w->ports[i].proto),
				    lo, hi);
	}
	free(t);
	return r;
}

void ep_ports_clear(struct ep_ports *pp)
{
	for (size_t i = 0; i < pp->n; i++)
		ds_kv_clear(&pp->kv[i]);
	free(pp->value);
	memset(pp, 0, sizeof(*pp));
}

int ep_ports_prepare(struct ds *ds, struct wep *w, const struct endpoint_req *q,
		     const struct endpoint_node *node, struct ep_ports *pp,
		     struct endpoint_err *e)
{
	const bool *pick = q->pick;
	json_t *j;
	int r = 0;

	ep_ports_clear(pp);
	if (!w->n_ports)
		return 0;
	if (pick) {
		bool any = false;

		for (size_t i = 0; i < w->n_ports; i++)
			any |= pick[i];
		if (any && (r = ports_pick(ds, w, q, node, e)) < 0)
			return r;
	}
	j = json_pack("{s:s}", "workload", w->name);
	pp->value = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!pp->value)
		return ep_fail(e, EP_INTERNAL, -ENOMEM, "out of memory");
	for (size_t i = 0; i < w->n_ports && i < WEP_MAX_PORTS; i++) {
		const struct wep_port *p = &w->ports[i];
		char key[RES_KEY_MAX], owner[RES_NAME_MAX];
		struct ds_kv *kv = &pp->kv[pp->n];
		size_t k;

		for (k = 0; k < pp->n; k++)
			if (w->ports[pp->port[k]].proto == p->proto &&
			    w->ports[pp->port[k]].host_port == p->host_port)
				break;
		if (k < pp->n)
			continue;	/* one key per (proto, host port) */
		memset(kv, 0, sizeof(*kv));
		if (endpoint_hostport_key(w->node, p, key, sizeof(key)) < 0)
			return ep_fail(e, EP_INTERNAL, -ENAMETOOLONG,
				       "host port key for node %s too long", w->node);
		r = ds_get(ds, key, kv);
		if (r == -ENOENT) {
			kv->key = strdup(key);
			if (!kv->key)
				return ep_fail(e, EP_INTERNAL, -ENOMEM, "out of memory");
			pp->op[pp->n] = (struct ds_op){ DS_OP_CREATE, kv->key, pp->value, 0 };
			pp->port[pp->n++] = i;
			continue;
		}
		if (r < 0)
			return ep_fail(e, EP_STORE, r, "reading the host port reservations: "
				       "%s (%s)", ds_strerror(r), ds_last_error(ds));
		endpoint_hostport_parse(kv->value, owner, sizeof(owner));
		r = owner[0] ? owner_holds(ds, w->node, owner, p) : 1;
		if (r < 0) {
			ds_kv_clear(kv);
			return ep_fail(e, EP_STORE, r, "reading workload %s: %s (%s)", owner,
				       ds_strerror(r), ds_last_error(ds));
		}
		if (r == 1 && !strcmp(owner, w->name)) {
			ds_kv_clear(kv);
			return ep_fail(e, EP_EXISTS, -EEXIST, "workload %s already exists on "
				       "node %s", w->name, w->node);
		}
		if (r == 1) {
			ds_kv_clear(kv);
			e->port = *p;
			snprintf(e->owner, sizeof(e->owner), "%s", owner);
			return ep_fail(e, EP_PORT, -EADDRINUSE,
				       "port %s/%u is already published by %s%s",
				       proto_name(p->proto), (unsigned)p->host_port,
				       owner[0] ? "workload " : "another workload",
				       owner);
		}
		/* Stale: reclaimed in the record's own transaction. */
		pp->op[pp->n] = (struct ds_op){ DS_OP_UPDATE, kv->key, pp->value,
						kv->mod_rev };
		pp->port[pp->n++] = i;
	}
	return 0;
}

int ep_ports_held(struct ds *ds, const struct wep *w, struct ep_ports *pp)
{
	ep_ports_clear(pp);
	for (size_t i = 0; i < w->n_ports && i < WEP_MAX_PORTS; i++) {
		const struct wep_port *p = &w->ports[i];
		char key[RES_KEY_MAX], owner[RES_NAME_MAX];
		struct ds_kv *kv = &pp->kv[pp->n];
		size_t k;
		int r;

		for (k = 0; k < pp->n; k++)
			if (w->ports[pp->port[k]].proto == p->proto &&
			    w->ports[pp->port[k]].host_port == p->host_port)
				break;
		if (k < pp->n || endpoint_hostport_key(w->node, p, key, sizeof(key)) < 0)
			continue;
		memset(kv, 0, sizeof(*kv));
		r = ds_get(ds, key, kv);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		endpoint_hostport_parse(kv->value, owner, sizeof(owner));
		/* Only a reservation it holds (a record written by hand may
		 * list a port another workload has). */
		if (strcmp(owner, w->name)) {
			ds_kv_clear(kv);
			continue;
		}
		pp->op[pp->n] = (struct ds_op){ DS_OP_DELETE, kv->key, NULL, kv->mod_rev };
		pp->port[pp->n++] = i;
	}
	return 0;
}
