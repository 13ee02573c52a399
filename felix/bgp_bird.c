/*
 * bgp_bird: felix's BGP part and BIRD (see bgp.c's head): the probe of
 * BIRD's socket, the helper process that does every exchange with BIRD,
 * and what felix makes of each job's result.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "felix/bgp_int.h"

/* ---------- BIRD ---------- */

bool bgp_unreachable(int rc)
{
	return rc == -ENOENT || rc == -ECONNREFUSED;
}

/* Connects to BIRD and reads its "Last reboot" line. 0, or birdctl's error. */
static int bird_probe(const char *sock, char *reboot, size_t len)
{
	struct birdctl *c = NULL;
	struct birdctl_reply rep = { 0 };
	int rc;

	reboot[0] = '\0';
	rc = birdctl_open(sock, BGP_PROBE_TIMEOUT_MS, &c);
	if (rc < 0)
		return rc;
	rc = birdctl_cmd(c, "show status", &rep);
	if (rc == 0) {
		for (size_t i = 0; i < rep.n; i++) {
			const char *t = rep.lines[i].text, *p;

			p = t ? strstr(t, "Last reboot") : NULL;
			if (p) {
				snprintf(reboot, len, "%s", p);
				break;
			}
		}
		birdctl_reply_clear(&rep);
	}
	birdctl_close(c);
	return rc;
}

void bgp_set_running(struct felix *f, bool running, int rc)
{
	struct fbgp *b = f->bgp;

	/* Not logged here: apply() says it once, with its retry. */
	(void)rc;
	b->bird_running = running;
}

/* ---------- the helper process ---------- */

/*
 * Everything that talks to BIRD (`bird -p`, `configure`, `show status`; each
 * bounded by seconds when BIRD is wedged) runs in a helper process forked
 * for the job, never in felix's loop: a stopped BIRD never delays a route or
 * a wait reply. The helper sends one struct bjob_result on a pipe and exits;
 * the pipe's end (ES_BGP in the loop) brings the result to job_done. One job
 * at a time; one that outlives BGP_JOB_MAX_MS is killed. The helper dies
 * with felix (PR_SET_PDEATHSIG) and closes all of felix's descriptors first
 * thing (its pid-file lock must not outlive felix). Until it has, its copies
 * keep felix's fds in the epoll set after felix closes them: felix takes
 * every fd out of the set (EPOLL_CTL_DEL) before it closes it.
 */

void bgp_file_id(const char *path, struct stat *st)
{
	if (stat(path, st) < 0)
		memset(st, 0, sizeof(*st));
}

/* In the helper: the config's last good version, which the file still holds
 * (it only ever holds what BIRD accepted), to a BIRD that has not taken it. */
static int child_last_good(struct felix *f, long long *size)
{
	struct errs e = ERRS_INIT;
	struct stat st;
	int rc;

	if (stat(f->cfg->bird_config, &st) < 0)
		return -errno;
	*size = (long long)st.st_size;
	rc = birdctl_configure(f->cfg->bird_socket, f->cfg->bird_config, &e);
	errs_clear(&e);
	return rc;
}

static void child_apply(struct felix *f, const struct bgpconf_input *in,
			bool pending, struct bjob_result *res)
{
	struct errs e = ERRS_INIT;
	struct stat st0, st1;

	bgp_file_id(f->cfg->bird_config, &st0);
	res->rc = bgpconf_apply(in, f->cfg->bird_config, NULL, &pending, &e);
	bgp_file_id(f->cfg->bird_config, &st1);
	res->pending = pending;
	res->written = st1.st_ino != st0.st_ino ||
		       st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
		       st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec ||
		       st1.st_size != st0.st_size;
	res->size = (long long)st1.st_size;
	bgp_errs_join(&e, res->rc, res->msg, sizeof(res->msg));
	errs_clear(&e);
	res->last_good_rc = 1;
	res->reboot_rc = 1;
	if (res->rc == 1)	/* remember this BIRD's start */
		res->reboot_rc = bird_probe(f->cfg->bird_socket, res->reboot,
					    sizeof(res->reboot));
	else if (res->rc == -EINVAL && !res->written && pending)
		res->last_good_rc = child_last_good(f, &res->last_good_size);
}

/* Starts job (in: BJ_APPLY's input). 0, or -errno (nothing started). */
int bgp_job_start(struct felix *f, int job, const struct bgpconf_input *in)
{
	struct fbgp *b = f->bgp;
	struct epoll_event ev = { .events = EPOLLIN };
	int fds[2], r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		struct bjob_result res;
		ssize_t k;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		/* none of felix's descriptors but the pipe */
		if (fds[1] > 3)
			close_range(3, (unsigned)fds[1] - 1, 0);
		close_range((unsigned)fds[1] + 1, ~0u, 0);
		memset(&res, 0, sizeof(res));
		if (job == BJ_APPLY)
			child_apply(f, in, b->pending, &res);
		else
			res.rc = bird_probe(f->cfg->bird_socket, res.reboot,
					    sizeof(res.reboot));
		k = write(fds[1], &res, sizeof(res));
		_exit(k == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(fds[1]);
	b->src.type = ES_BGP;
	ev.data.ptr = &b->src;
	if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fds[0], &ev) < 0) {
		r = -errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		close(fds[0]);
		return r;
	}
	b->job = job;
	b->job_pid = pid;
	b->job_fd = fds[0];
	b->job_killed = false;
	b->job_deadline = felix_now_ns() + bgp_ms_ns(BGP_JOB_MAX_MS);
	return 0;
}

void bgp_job_reap(struct felix *f, bool kill_it)
{
	struct fbgp *b = f->bgp;

	if (!b->job)
		return;
	if (kill_it)
		kill(b->job_pid, SIGKILL);
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, b->job_fd, NULL);
	close(b->job_fd);
	while (waitpid(b->job_pid, NULL, 0) < 0 && errno == EINTR)
		;
	b->job = BJ_NONE;
	b->job_pid = 0;
	b->job_fd = -1;
}

static void probe_done(struct felix *f, const struct bjob_result *res)
{
	struct fbgp *b = f->bgp;

	if (res->rc < 0) {
		bgp_set_running(f, false, res->rc);
		b->pending = true;	/* the next BIRD gets `configure` */
		if (!b->retry_at)
			b->retry_at = felix_now_ns() + bgp_ms_ns(BGP_RETRY_MS);
		return;
	}
	bgp_set_running(f, true, 0);
	if (b->reboot[0] && strcmp(b->reboot, res->reboot)) {
		log_info("BIRD restarted (%s): configuring it again", res->reboot);
		b->pending = true;
		b->retry_at = felix_now_ns();
	}
	snprintf(b->reboot, sizeof(b->reboot), "%s", res->reboot);
}

void bgp_probe(struct felix *f)
{
	struct fbgp *b = f->bgp;
	struct bjob_result res = { 0 };
	int rc;

	b->probe_at = felix_now_ns() + bgp_ms_ns(BGP_PROBE_MS);
	rc = bgp_job_start(f, BJ_PROBE, NULL);
	if (rc < 0) {
		res.rc = rc;
		probe_done(f, &res);
	}
}

static void apply_done(struct felix *f, const struct bjob_result *res)
{
	struct fbgp *b = f->bgp;
	bool was_pending = b->job_was_pending;
	int rc = res->rc;

	b->pending = res->pending;
	free(b->last_text);
	b->last_text = NULL;
	/* The file holds job_text: BIRD took it or found it unchanged, or it
	 * was written, or it was in place (unchanged) and BIRD not reached. */
	if (rc >= 0 || res->written || bgp_unreachable(rc)) {
		b->last_text = b->job_text;
		b->job_text = NULL;
		bgp_file_id(f->cfg->bird_config, &b->last_st);
	}
	free(b->job_text);
	b->job_text = NULL;
	if (rc == 1) {
		bgp_set_running(f, true, 0);
		bgp_clear_error(b);
		if (res->written)
			log_info("bird config written (%lld bytes), reloaded",
				 res->size);
		else
			log_info("bird config unchanged (%lld bytes), reloaded%s",
				 res->size,
				 was_pending ? " (BIRD had not taken it yet)" : "");
		/* Remember this BIRD's start, to notice the next restart. */
		if (res->reboot_rc == 0) {
			snprintf(b->reboot, sizeof(b->reboot), "%s", res->reboot);
			b->probe_at = felix_now_ns() + bgp_ms_ns(BGP_PROBE_MS);
		}
	} else if (rc == 0) {
		bgp_clear_error(b);
		log_debug("bird config unchanged");
	} else if (bgp_unreachable(rc)) {
		bgp_set_running(f, false, rc);
		if (res->written)
			log_info("bird config written (%lld bytes); BIRD not running: it reads it when it starts",
				 res->size);
		bgp_set_error(b, true, "BIRD not running (socket %s: %s): felix configures it when it is up",
			  f->cfg->bird_socket, strerror(-rc));
		b->retry_at = felix_now_ns() + bgp_ms_ns(BGP_RETRY_MS);
	} else if (rc == -EINVAL && !res->written) {
		/* Refused before it reached BIRD (the input, or `bird -p`): no
		 * retry until something changes. */
		bgp_set_error(b, false, "bird config not written, BIRD keeps the running one: %s",
			  res->msg);
		if (res->last_good_rc == 0) {
			b->pending = false;
			bgp_set_running(f, true, 0);
			log_info("bird config unchanged (%lld bytes, the last good one), reloaded",
				 res->last_good_size);
		} else if (res->last_good_rc < 0 && bgp_unreachable(res->last_good_rc)) {
			bgp_set_running(f, false, res->last_good_rc);
			if (b->pending)
				b->retry_at = felix_now_ns() + bgp_ms_ns(BGP_RETRY_MS);
		}
	} else {
		if (res->written)
			log_info("bird config written (%lld bytes), not reloaded",
				 res->size);
		bgp_set_error(b, false, "bird config %s: %s",
			  b->pending ? "not taken by BIRD" : "not applied",
			  res->msg);
		if (b->pending)
			b->retry_at = felix_now_ns() + bgp_ms_ns(BGP_RETRY_ERR_MS);
	}
}

/* The helper's pipe is readable: its result (or its death). */
void bgp_job_event(struct felix *f)
{
	struct fbgp *b = f->bgp;
	struct bjob_result res;
	ssize_t k;
	int job;

	if (!b || !b->job)
		return;
	do
		k = read(b->job_fd, &res, sizeof(res));
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	job = b->job;
	if (k != (ssize_t)sizeof(res)) {
		memset(&res, 0, sizeof(res));
		res.rc = b->job_killed ? -ETIMEDOUT : -EPIPE;
		res.pending = b->pending;
		res.last_good_rc = res.reboot_rc = 1;
		snprintf(res.msg, sizeof(res.msg), "BIRD's helper process %s",
			 b->job_killed ? "took too long: killed" : "died");
	}
	bgp_job_reap(f, false);
	if (job == BJ_APPLY)
		apply_done(f, &res);
	else
		probe_done(f, &res);
}
