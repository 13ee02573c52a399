/*
 * part: the shape of felix's parts, as BIRD's protocols are.
 *
 * felix is a few parts around one epoll loop (main.c): the store part
 * (desired state: this node's endpoints and blocks), the kernel part
 * (netlink: actual state, and the reconcile pass that makes it the
 * desired one), the policy part (the nftables table), the BGP part
 * (BIRD's config and reloads) and the status server. main.c keeps a table
 * of them and calls each hook in table order; a part's state is private to
 * its file (reached through its own functions, never its struct).
 *
 * Store input reaches the parts one way: feed.c lists and watches the
 * datastore, tells each record's kind and name from its key ONCE, decodes
 * the document at most once (fres_res), and hands the record to every part
 * whose `kinds` has that kind.
 */
#ifndef PETREL_FELIX_PART_H
#define PETREL_FELIX_PART_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "datastore/datastore.h"
#include "model/resource.h"

struct felix;

/* One store record (a watch event), as the parts see it. */
struct fres {
	enum res_kind kind;
	const char *node;	/* RES_WEP: the node of its key; else NULL */
	const char *name;	/* the key's last part (a valid-length name) */
	int64_t rev;		/* the revision of this change */
	bool gone;		/* deleted: no document */
	const struct ds_event *ev;	/* the raw event (key, text) */
	/* private to feed.c: the document, decoded on first use */
	int dec;		/* 0: not yet; 1: decoded; <0: invalid */
	struct resource res;
	char node_buf[RES_NAME_MAX];
};

#define FRES_KIND(k) (1u << (k))

struct fpart {
	const char *name;	/* its key in the status reply ("bgp", "nft") */
	/* Its sync and timeout run before the store has been listed once;
	 * the others' wait (a pass over an empty desired state would undo
	 * what a felix before this one programmed). */
	bool before_store;
	uint32_t kinds;		/* FRES_KIND() of the records on_resource wants */
	int (*open)(struct felix *f);		/* 0 or -errno (felix exits) */
	void (*close)(struct felix *f);		/* also after a failed open */
	/* Lists its kinds again, replacing what it kept; lowers *min_rev to
	 * its oldest list's revision (the watch starts there). */
	int (*relist)(struct felix *f, int64_t *min_rev);
	void (*on_resource)(struct felix *f, struct fres *r);
	void (*sync)(struct felix *f);		/* once per loop turn, in order */
	int (*timeout_ms)(struct felix *f);	/* until sync has work; -1 none */
	json_t *(*status_json)(struct felix *f);	/* NULL: none */
};

/* The parts, in the order main.c calls them (felix/parts.c). */
extern const struct fpart *const felix_parts[];
extern const size_t felix_n_parts;

extern const struct fpart store_part, kern_part, pol_part, bgp_part,
	statsrv_part, ds_part;

/* The document of r, decoded on first use (when invalid, logged once:
 * "store: KIND NAME (revision R) is invalid, ignored: ..."); NULL when gone
 * or invalid. A part may move the contents out (leaving them zeroed) only
 * for a kind that no later part in the table wants. */
struct resource *fres_res(struct fres *r);

/* The name after prefix when key is one record right under it (no '/'
 * after it, shorter than RES_NAME_MAX), else NULL. */
const char *felix_key_name(const char *key, const char *prefix);

#endif
