/*
 * felix/pol.c, pol_sync.c, pol_text.c, pol_hosts.c: felix's nftables
 * part (and the hosts files it derives from the same records). Private to
 * these files: the state (struct fpol) and the records it keeps.
 *
 *   pol.c        the inputs (store events, relist), the address-set
 *                trackers, the endpoint builds: want, and what changed
 *   pol_sync.c   want to the kernel (one batch per pass), have, status
 *   pol_text.c   `petrelctl nft`: what felix programmed, as text
 *   pol_hosts.c  the hosts files, one member list per network per pass
 *   pol_fail.c   policies that do not decode: last good or closed, and
 *                their failures (log once, status)
 *   pol_hep.c    this node's host endpoints' chains
 */
#ifndef PETREL_FELIX_POL_INT_H
#define PETREL_FELIX_POL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/resource.h"
#include "felix/felix.h"
#include "felix/htab.h"
#include "felix/nft.h"
#include "policy/compile.h"

#define POL_RETRY_MS 1000
/* Hosts files written per pass (a start with 10,000 workloads writes
 * 10,000 files): what is left waits for the next pass, which comes at once. */
#define POL_HOSTS_PER_PASS 256

/* What the hosts passes cost, for the tests: lists built, members put in
 * them (each pass: every member of the networks it needs, once), files
 * rendered. */
struct pol_hosts_stats {
	uint64_t passes, lists, listed, files;
};

enum { PK_WEP, PK_POLICY, PK_NETWORK, PK_POOL, PK_HEP, PK_N };

/* One WorkloadEndpoint of any node, as the table needs it. */
struct pep {
	struct hnode h;			/* fpol.peps, hash_str(key) */
	char key[2 * RES_NAME_MAX];	/* "node/name" */
	const char *name;		/* into key */
	char node[RES_NAME_MAX];
	struct compile_ep v;		/* the compiler's view of it (points
					 * into this record) */
	bool local;
	enum wep_mode mode;
	char ifname[16];
	char netns[64];			/* local: the netns name (hosts file) */
	size_t n_nets;
	struct ip4_net nets[WEP_MAX_NETS];
	struct labels labels;		/* owned */
	size_t n_networks;
	char (*networks)[RES_NAME_MAX];	/* owned */
	size_t n_ports;
	struct wep_port *ports;		/* owned */
	bool hosts_dirty;
};

/* A policy: its resource, and the compiler's prepared form of it (first:
 * fpol.pols points at cp). */
struct ppol {
	struct compile_policy cp;	/* cp.np = &np */
	struct netpolicy np;
	int64_t rev;			/* the store revision it came from */
	bool closed;			/* netpolicy_closed_from_text's: it
					 * stands in for a version that does
					 * not decode */
};

/* A policy whose newest version does not decode (pol_fail.c). */
#define POL_FAIL_REASON_MAX 200
struct pfail {
	char name[RES_NAME_MAX];
	int64_t rev;			/* the version that failed */
	char reason[POL_FAIL_REASON_MAX];
	bool closed;			/* in force: the closed policy (else
					 * the last good version) */
	unsigned flags;			/* NP_CLOSED_* of the closed one */
	bool seen;			/* in the relist under way */
	struct ppol *keep;		/* over a relist: the last good
					 * version, owned, until its key is
					 * listed again */
};

/* An address set and its typed owner (a selector or a network: what it
 * holds the addresses of). */
struct ptrack {
	char set[NIR_NAME_MAX];
	struct nir_owner *owner;	/* a reference */
};

struct fpol {
	struct nftk *k;
	struct esrc src;		/* epoll tag of the notification fd */
	char prefix[PK_N][RES_KEY_MAX];
	int64_t list_rev[PK_N];
	struct htab peps;
	size_t n_peps;
	struct compile_policy **pols;	/* each the cp of a struct ppol */
	size_t n_pols;
	struct network *nets;
	size_t n_nets;
	struct ippool *pools;
	size_t n_pools;
	struct ptrack *tracks;
	size_t n_tracks;
	struct phep **heps;		/* this node's host endpoints (pol_hep.c) */
	size_t n_heps;
	bool heps_built;		/* want has their pieces */

	struct nir_table *want, *have;
	/* the pieces changed in want since have: each queued once (dirty_idx
	 * finds it), in the order first queued */
	struct htab dirty_idx;
	struct nftk_piece **dirty;
	size_t n_dirty, cap_dirty;
	int guard;			/* POL_GUARD_*: pol_guard() */
	bool verify;			/* read the kernel's table back */
	const char *verify_why;
	uint64_t retry_at;		/* after a failure, monotonic ns; 0 = none */
	bool hosts_dirty;		/* some pep.hosts_dirty, or hosts_nets */
	size_t n_hosts_nets, cap_hosts_nets;
	char (*hosts_nets)[RES_NAME_MAX];	/* named networks whose members
						 * changed since the last pass */
	const char *hosts_root;		/* HOSTS_ROOT; a test's folder */
	struct pol_hosts_stats hosts_stats;
	struct pfail *fails;		/* pol_fail.c */
	size_t n_fails;
	bool tracks_dirty;		/* sets may have come or gone: tracks_sync */
	char last_err[256];
	uint64_t batches, full_replaces, repairs;
	int64_t last_full_us, last_batch_us;
	size_t last_batch_msgs;
};

static inline bool pep_in_net(const struct pep *e, const char *net)
{
	for (size_t i = 0; i < e->n_networks; i++)
		if (!strcmp(e->networks[i], net))
			return true;
	return false;
}

static inline bool pep_has_addr(const struct pep *e)
{
	return e->mode == WEP_ROUTED && e->n_nets > 0;
}

/* pol.c */
struct pep *pol_pep_find(struct fpol *p, const char *key);
void pol_dirty_clear(struct fpol *p);
/* Queues the chain / set name for the next batch. */
void pol_dirty_chain(struct fpol *p, const char *name);
void pol_dirty_set(struct fpol *p, const char *name);
/* After builders ran: a tracker for every new owned set, none for a set
 * that is gone (walks every rule: once per pass). */
void pol_tracks_sync(struct fpol *p);

/* pol_fail.c */
/* The version of policy `name` at rev (text: the stored document) that is
 * to be in force, in *out (owned by the caller, ppol_free), prepared
 * (cp.np = &np): the version itself when it decodes and its selector
 * parses (a failure recorded for name is cleared); else, the failure
 * recorded and logged once (a warning with key, revision, reason), *out =
 * NULL when have_good (the last good version, in force, stays), else the
 * last good version kept over a relist, else a closed policy. 0 or
 * -ENOMEM (*out NULL, nothing recorded). */
int pol_fail_decode(struct fpol *p, const char *name, const char *text,
		    int64_t rev, bool have_good, struct ppol **out);
/* The key of policy name is deleted: its failure goes. */
void pol_fail_forget(struct fpol *p, const char *name);
/* A relist starts: the last good versions in force for failed policies
 * leave p->pols into their records (state_clear would free them). */
void pol_fail_relist_begin(struct fpol *p);
/* The relist is over: the failures of keys it did not list go. */
void pol_fail_relist_end(struct fpol *p);
/* nft.policyFailures: [{name, revision, reason, inForce}] (new reference). */
json_t *pol_fail_json(const struct fpol *p);
void pol_fail_free(struct fpol *p);
void ppol_free(struct ppol *pp);
/* pol_hep.c */
struct phep;
/* A HostEndpoint record changed (text NULL: deleted); this node's are
 * kept and their chains rebuilt. */
void pol_hep_event(struct felix *f, const char *name, const char *text,
		   int64_t rev);
/* Their chains again, from the policies now (after a policy changed). */
void pol_hep_rebuild(struct fpol *p);
void pol_hep_clear(struct fpol *p);	/* forgets them (want is rebuilt) */
void pol_hep_close(struct fpol *p);

/* pol_hosts.c */
/* e (added, changed or about to go) changes the files of the members of
 * its named networks. */
void pol_hosts_mark(struct fpol *p, const struct pep *e);
/* Writes the files marked, at most POL_HOSTS_PER_PASS of them; the rest
 * waits for the next pass (p->hosts_dirty stays true). */
void pol_hosts_sync(struct fpol *p);

#endif
