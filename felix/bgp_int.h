/*
 * bgp_int.h: what felix's BGP part shares between its files (private to
 * them): bgp.c (the resources, the input, the sync), bgp_bird.c (BIRD: the
 * helper process that talks to it, and what felix makes of its results).
 */
#ifndef PETREL_FELIX_BGP_INT_H
#define PETREL_FELIX_BGP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "bgpconf/bgpconf.h"
#include "common/errs.h"
#include "felix/felix.h"

#define BGP_RETRY_MS 1000	/* pending: BIRD was not reachable */
#define BGP_RETRY_ERR_MS 10000	/* pending after another error (timeout...) */
#define BGP_PROBE_MS 5000
#define BGP_PROBE_TIMEOUT_MS 1000
#define BGP_DEBOUNCE_MS 1000
/* While `run`/CNI ADD wait for felix's answer, BIRD's helper (a fork of
 * felix) waits while a status client is connected, at most this long: the
 * fork would sit in the waiter's path (between its connect and its request,
 * or between the kernel's writes and their ACKs). */
#define BGP_WAITER_DEFER_MS 50
#define BGP_JOB_MAX_MS 60000	/* a helper that takes longer is killed */

enum { BK_NODE, BK_PEER, BK_CONFIG, BK_POOL, BK_N };


struct fbgp {
	char prefix[BK_N][RES_KEY_MAX];
	int64_t list_rev[BK_N];

	struct node *nodes;
	size_t n_nodes, cap_nodes;
	struct bgppeer *peers;
	size_t n_peers, cap_peers;
	struct ippool *pools;
	size_t n_pools, cap_pools;
	struct bgpconfig config;
	bool have_config;

	bool dirty;
	uint64_t dirty_since;	/* monotonic ns */
	bool enabled;
	bool off_logged;
	bool pending;		/* bgpconf_apply's: BIRD has not taken the file */
	uint64_t retry_at;	/* 0: none */
	uint64_t probe_at;
	bool bird_running;
	char reboot[96];	/* BIRD's "Last reboot on ..." when last seen */
	char *last_error;	/* the last error's text (logged once), or NULL */

	/* the BIRD job in a helper process (one at a time), or none */
	struct esrc src;	/* ES_BGP: its result pipe */
	int job;		/* BJ_* */
	pid_t job_pid;
	int job_fd;
	bool job_was_pending;
	uint64_t job_deadline;
	bool job_killed;

	/* What the file holds since the last job that wrote or confirmed it
	 * (its bytes and identity), so that an input that renders the same
	 * bytes costs no helper process (a new endpoint marks BGP dirty: it
	 * may be a borrowed address). job_text: the bytes the running job
	 * renders. */
	char *last_text;
	struct stat last_st;
	char *job_text;
};

/* What a helper process finds (sent whole: smaller than PIPE_BUF). */
enum { BJ_NONE, BJ_APPLY, BJ_PROBE };
struct bjob_result {
	int rc;			/* bgpconf_apply's, or bird_probe's */
	bool pending;		/* BJ_APPLY: bgpconf_apply's *pending after */
	bool written;		/* BJ_APPLY: the file changed */
	long long size;		/* BJ_APPLY: its size after */
	int reboot_rc;		/* BJ_APPLY, rc 1: the probe after the reload */
	int last_good_rc;	/* BJ_APPLY: configure_last_good's; 1: not tried */
	long long last_good_size;
	char reboot[96];
	char msg[1536];		/* the errors, joined */
};

static inline uint64_t bgp_ms_ns(unsigned ms)
{
	return (uint64_t)ms * 1000000u;
}

/* bgp.c: the error, logged once per distinct text. */
void bgp_set_error(struct fbgp *b, bool warn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bgp_clear_error(struct fbgp *b);
const char *bgp_errs_join(const struct errs *e, int rc, char *buf, size_t len);

/* bgp_bird.c */
bool bgp_unreachable(int rc);		/* BIRD's socket not there or refusing */
void bgp_set_running(struct felix *f, bool running, int rc);
void bgp_file_id(const char *path, struct stat *st);	/* zeroed when absent */
/* Starts job (BJ_APPLY with in, or BJ_PROBE). 0, or -errno (nothing started). */
int bgp_job_start(struct felix *f, int job, const struct bgpconf_input *in);
void bgp_job_reap(struct felix *f, bool kill_it);
void bgp_probe(struct felix *f);

#endif
