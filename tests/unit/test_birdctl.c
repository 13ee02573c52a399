/*
 * test_birdctl: bgpconf/birdctl.c.
 *
 *   - the reply parser on replies recorded from BIRD 2.0.12 (greeting,
 *     continuation lines of both kinds, errors, spontaneous messages), on
 *     partial and malformed input, and at its bounds;
 *   - `show protocols` and `show route` parsing;
 *   - a live round trip with a real BIRD the test starts itself, as the same
 *     user, in a temporary folder: `bird -f -c CONF -s SOCK -P PIDFILE` with
 *     a device and a static protocol only (no kernel, no BGP: BIRD reads the
 *     interfaces and changes nothing, sends nothing); configure with a good
 *     and a bad config, show protocols, show route; BIRD is killed at the end
 *     (and dies with the test if the test dies first: PR_SET_PDEATHSIG).
 *     Skipped, saying why, when /usr/sbin/bird is absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bgpconf/bgpconf.h"

#define BIRD "/usr/sbin/bird"

static char tmpdir[64];

/* ------------------------------------------------ recorded replies (2.0.12) */

static const char greeting[] = "0001 BIRD 2.0.12 ready.\n";

static const char protocols_short[] =
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-petrel_device Device     ---        up     19:25:24.573  \n"
	"0000 \n";

static const char protocols_long[] =
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-petrel_device Device     ---        up     2026-11-22 19:25:36  \n"
	" petrel_static Static     master4    up     2026-11-22 19:25:36  \n"
	" Mesh_192_0_2_12 BGP        ---        down   2026-11-22 19:25:36  \n"
	" Mesh_192_0_2_13 BGP        ---        start  2026-11-22 19:25:36  Active        "
	"Socket: Connection refused\n"
	" Global_192_0_2_1 BGP        ---        up     2026-11-22 19:25:40  Established   \n"
	"0000 \n";

static const char protocols_all[] =
	"2002-Name       Proto      Table      State  Since         Info\n"
	"1002-petrel_device Device     ---        up     19:25:24.573  \n"
	"1006-\n"
	"0000 \n";

static const char configure_ok[] =
	"0002-Reading configuration from /run/petrel/bird.conf\n"
	"0003 Reconfigured\n";

static const char configure_bad[] =
	"0002-Reading configuration from /tmp/b.conf\n"
	"8002 /tmp/b.conf:2:10 syntax error, unexpected CF_SYM_UNDEFINED\n";

static const char syntax_error[] = "9001 syntax error, unexpected CF_SYM_UNDEFINED\n";

static const char show_status[] =
	"1000-BIRD 2.0.12\n"
	"1011-Router ID is 192.0.2.1\n"
	" Hostname is vm\n"
	" Current server time is 2026-11-22 19:25:28.112\n"
	"0013 Daemon is up and running\n";

static const char routes[] =
	"1007-Table master4:\n"
	" 10.65.1.0/26         blackhole [petrel_static 19:25:36.750] * (200)\n"
	"                      unreachable [petrel_static 19:25:36.750] (200)\n"
	" 10.66.0.0/24         unicast [petrel_static 19:25:36.750] * (200)\n"
	" \tdev lo\n"
	" 10.67.0.0/26         unicast [Mesh_192_0_2_12 19:25:37.000 from 192.0.2.12] * "
	"(100/0) [i]\n"
	" \tvia 192.0.2.12 on eth0 weight 1\n"
	" \tvia 192.0.2.13 on eth1 weight 1\n"
	"1008-\tType: BGP univ\n"
	"1007-                     unicast [Mesh_192_0_2_13 19:25:38.000] (100/0) [i]\n"
	" \tvia 192.0.2.13 on eth1\n"
	" \n"
	" Table master6:\n"
	" 2001:db8::/64        unicast [x 19:25:36.750] * (200)\n"
	" \tdev lo\n"
	"                      unicast [y 19:25:36.750] (200)\n"
	" \tdev lo\n"
	"0000 \n";

/* Parses text, which must be exactly one reply. */
static void parse_one(const char *text, struct birdctl_reply *r)
{
	long n = birdctl_reply_parse(text, strlen(text), r);

	assert_int_equal(n, (long)strlen(text));
}

static void test_parse_recorded(void **state)
{
	struct birdctl_reply r;
	char *t;

	(void)state;
	parse_one(greeting, &r);
	assert_int_equal(r.code, 1);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.lines[0].text, "BIRD 2.0.12 ready.");
	birdctl_reply_clear(&r);

	parse_one(protocols_long, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.n, 7);
	assert_int_equal(r.lines[0].code, 2002);
	/* " text" continues the code of the line before it */
	for (size_t i = 1; i < 6; i++)
		assert_int_equal(r.lines[i].code, 1002);
	assert_string_equal(r.lines[2].text, "petrel_static Static     master4    up     "
			    "2026-11-22 19:25:36  ");
	assert_string_equal(r.lines[6].text, "");
	birdctl_reply_clear(&r);

	parse_one(configure_ok, &r);
	assert_int_equal(r.code, 3);
	assert_int_equal(r.lines[0].code, 2);
	t = birdctl_reply_text(&r);
	assert_string_equal(t, "Reading configuration from /run/petrel/bird.conf; Reconfigured");
	free(t);
	birdctl_reply_clear(&r);

	parse_one(configure_bad, &r);
	assert_int_equal(r.code, 8002);
	assert_string_equal(r.lines[1].text,
			    "/tmp/b.conf:2:10 syntax error, unexpected CF_SYM_UNDEFINED");
	birdctl_reply_clear(&r);

	parse_one(syntax_error, &r);
	assert_int_equal(r.code, 9001);
	birdctl_reply_clear(&r);

	parse_one(show_status, &r);
	assert_int_equal(r.code, 13);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.lines[2].code, 1011);
	assert_string_equal(r.lines[3].text, "Current server time is 2026-11-22 19:25:28.112");
	birdctl_reply_clear(&r);

	/* a line of a code that changes back: 1007, 1008, 1007 */
	parse_one(routes, &r);
	assert_int_equal(r.lines[8].code, 1008);
	assert_int_equal(r.lines[9].code, 1007);
	assert_string_equal(r.lines[4].text, "\tdev lo");
	birdctl_reply_clear(&r);
}

static void test_parse_edges(void **state)
{
	struct birdctl_reply r = { 0 };
	char *big;
	size_t len;
	long n;

	(void)state;
	/* not a whole reply yet */
	assert_int_equal(birdctl_reply_parse("", 0, &r), 0);
	assert_int_equal(birdctl_reply_parse("0002-Reading\n0003 Reconf", 24, &r), 0);
	assert_int_equal(birdctl_reply_parse("0002-Reading\n", 13, &r), 0);
	assert_int_equal(birdctl_reply_parse("0003 Reconfigured", 17, &r), 0);
	assert_null(r.lines);

	/* a bare code ends a reply too */
	assert_int_equal(birdctl_reply_parse("0000\n", 5, &r), 5);
	assert_int_equal(r.code, 0);
	birdctl_reply_clear(&r);

	/* spontaneous messages are not part of the reply */
	assert_int_equal(birdctl_reply_parse("+log line\n0000 \n", 16, &r), 16);
	assert_int_equal(r.n, 1);
	birdctl_reply_clear(&r);

	/* two replies in one buffer: the first, then the second */
	n = birdctl_reply_parse("0001 hi\n0003 Reconfigured\n", 26, &r);
	assert_int_equal(n, 8);
	birdctl_reply_clear(&r);
	assert_int_equal(birdctl_reply_parse("0001 hi\n0003 Reconfigured\n" + 8, 18, &r), 18);
	assert_int_equal(r.code, 3);
	birdctl_reply_clear(&r);

	/* not BIRD's protocol */
	assert_int_equal(birdctl_reply_parse(" orphan\n0000 \n", 14, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("hello\n", 6, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("12345 x\n", 8, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("001 x\n", 6, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("\n", 1, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("0002-a\n\n0000 \n", 14, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("0000 a\0b\n", 9, &r), -EBADMSG);
	assert_int_equal(birdctl_reply_parse("0x00 \n", 6, &r), -EBADMSG);
	assert_null(r.lines);

	/* a line longer than the bound, with or without its newline */
	len = BIRDCTL_LINE_MAX + 16;
	big = malloc(len + 1);
	assert_non_null(big);
	memset(big, 'a', len);
	memcpy(big, "0000 ", 5);
	assert_int_equal(birdctl_reply_parse(big, len, &r), -E2BIG);
	big[len - 1] = '\n';
	assert_int_equal(birdctl_reply_parse(big, len, &r), -E2BIG);
	/* exactly the bound is fine */
	big[BIRDCTL_LINE_MAX] = '\n';
	assert_int_equal(birdctl_reply_parse(big, BIRDCTL_LINE_MAX + 1, &r), BIRDCTL_LINE_MAX + 1);
	assert_int_equal(strlen(r.lines[0].text), BIRDCTL_LINE_MAX - 5);
	birdctl_reply_clear(&r);
	free(big);

	/* too many lines */
	len = (size_t)(BIRDCTL_LINES_MAX + 1) * 7 + 6;
	big = malloc(len);
	assert_non_null(big);
	for (size_t i = 0; i <= BIRDCTL_LINES_MAX; i++)
		memcpy(big + i * 7, "1002-x\n", 7);
	memcpy(big + len - 6, "0000 \n", 6);
	assert_int_equal(birdctl_reply_parse(big, len, &r), -E2BIG);
	/* at the bound (the final line counts) is fine */
	assert_int_equal(birdctl_reply_parse(big + 14, len - 14, &r), (long)(len - 14));
	assert_int_equal(r.n, BIRDCTL_LINES_MAX);
	birdctl_reply_clear(&r);
	free(big);
	birdctl_reply_clear(&r);
	birdctl_reply_clear(NULL);
}

static void test_protocols_parse(void **state)
{
	struct birdctl_reply r;
	struct birdctl_proto *p;
	size_t n;

	(void)state;
	parse_one(protocols_long, &r);
	assert_int_equal(birdctl_protocols_parse(&r, &p, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(p[0].name, "petrel_device");
	assert_string_equal(p[0].proto, "Device");
	assert_string_equal(p[0].table, "---");
	assert_string_equal(p[0].state, "up");
	assert_string_equal(p[0].since, "2026-11-22 19:25:36");
	assert_string_equal(p[0].info, "");
	assert_string_equal(p[1].table, "master4");
	assert_string_equal(p[3].name, "Mesh_192_0_2_13");
	assert_string_equal(p[3].state, "start");
	assert_string_equal(p[3].info, "Active        Socket: Connection refused");
	assert_string_equal(p[4].name, "Global_192_0_2_1");
	assert_string_equal(p[4].info, "Established");
	free(p);
	birdctl_reply_clear(&r);

	parse_one(protocols_short, &r);
	assert_int_equal(birdctl_protocols_parse(&r, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].since, "19:25:24.573");
	free(p);
	birdctl_reply_clear(&r);

	parse_one(protocols_all, &r);
	assert_int_equal(birdctl_protocols_parse(&r, &p, &n), 0);
	assert_int_equal(n, 1);
	free(p);
	birdctl_reply_clear(&r);

	parse_one("0000 \n", &r);
	assert_int_equal(birdctl_protocols_parse(&r, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_null(p);
	birdctl_reply_clear(&r);

	parse_one("1002-onlyname BGP\n0000 \n", &r);
	assert_int_equal(birdctl_protocols_parse(&r, &p, &n), -EBADMSG);
	birdctl_reply_clear(&r);
}

static void test_routes_parse(void **state)
{
	struct birdctl_reply r;
	struct birdctl_route *rt;
	char buf[IP4_NETSTRLEN];
	size_t n;

	(void)state;
	parse_one(routes, &r);
	assert_int_equal(birdctl_routes_parse(&r, &rt, &n), 0);
	assert_int_equal(n, 5);	/* the IPv6 table is skipped */
	assert_string_equal(ip4_net_fmt(&rt[0].net, buf), "10.65.1.0/26");
	assert_string_equal(rt[0].type, "blackhole");
	assert_string_equal(rt[0].proto, "petrel_static");
	assert_true(rt[0].primary);
	assert_int_equal(rt[0].n_via, 0);
	/* the second route of a prefix leaves the prefix out */
	assert_string_equal(ip4_net_fmt(&rt[1].net, buf), "10.65.1.0/26");
	assert_string_equal(rt[1].type, "unreachable");
	assert_false(rt[1].primary);
	assert_int_equal(rt[2].n_via, 1);
	assert_int_equal(rt[2].via[0], 0);
	assert_string_equal(rt[2].dev[0], "lo");
	/* ECMP: two next hops */
	assert_string_equal(rt[3].proto, "Mesh_192_0_2_12");
	assert_int_equal(rt[3].n_via, 2);
	assert_int_equal(rt[3].via[0], 0xc000020c);
	assert_string_equal(rt[3].dev[1], "eth1");
	assert_string_equal(ip4_net_fmt(&rt[4].net, buf), "10.67.0.0/26");
	assert_string_equal(rt[4].proto, "Mesh_192_0_2_13");
	assert_int_equal(rt[4].n_via, 1);
	free(rt);
	birdctl_reply_clear(&r);

	parse_one("1007- \tvia 1.2.3.4 on eth0\n0000 \n", &r);
	assert_int_equal(birdctl_routes_parse(&r, &rt, &n), -EBADMSG);
	birdctl_reply_clear(&r);
	parse_one("1007-Table master4:\n                      unicast [x 1] * (1)\n0000 \n", &r);
	assert_int_equal(birdctl_routes_parse(&r, &rt, &n), -EBADMSG);
	birdctl_reply_clear(&r);
	parse_one("1007-10.0.0.0/8 unicast x\n0000 \n", &r);
	assert_int_equal(birdctl_routes_parse(&r, &rt, &n), -EBADMSG);
	birdctl_reply_clear(&r);
}

/* ------------------------------------------------------------ live BIRD */

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static const char conf_device[] =
	"router id 192.0.2.1;\n"
	"timeformat protocol iso long;\n"
	"protocol device petrel_device {\n"
	"\tscan time 10;\n"
	"}\n";

/* No kernel protocol: the blackhole stays inside BIRD. */
static const char conf_static[] =
	"router id 192.0.2.1;\n"
	"timeformat protocol iso long;\n"
	"protocol device petrel_device {\n"
	"\tscan time 10;\n"
	"}\n"
	"protocol static petrel_static {\n"
	"\tipv4;\n"
	"\troute 10.65.1.0/26 blackhole;\n"
	"}\n";

static const char conf_bad[] =
	"router id 192.0.2.1;\n"
	"protocol frobnicate {\n"
	"}\n";

struct live {
	pid_t pid;
	char sock[128], conf[128], log[128];
};

static struct live live = { .pid = -1 };

static void bird_stop(void)
{
	int status;

	if (live.pid <= 0)
		return;
	kill(live.pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(live.pid, &status, WNOHANG) == live.pid) {
			live.pid = -1;
			return;
		}
		usleep(10000);
	}
	kill(live.pid, SIGKILL);
	waitpid(live.pid, &status, 0);
	live.pid = -1;
}

/* Starts BIRD in the foreground, as our child; 0 once its socket answers. */
static int bird_start(void)
{
	char pidf[128];
	struct birdctl *c;
	pid_t pid;

	path_in(live.sock, sizeof(live.sock), "bird.ctl");
	path_in(live.conf, sizeof(live.conf), "bird.conf");
	path_in(live.log, sizeof(live.log), "bird.log");
	path_in(pidf, sizeof(pidf), "bird.pid");
	write_file(live.conf, conf_device);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *argv[] = { (char *)"bird", (char *)"-f", (char *)"-c", live.conf,
				 (char *)"-s", live.sock, (char *)"-P", pidf, NULL };
		char *envp[] = { NULL };
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(live.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(BIRD, argv, envp);
		_exit(127);
	}
	live.pid = pid;
	for (int i = 0; i < 500; i++) {
		int status;

		if (birdctl_open(live.sock, 1000, &c) == 0) {
			birdctl_close(c);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			live.pid = -1;
			return -ECHILD;
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static void print_file(const char *path)
{
	char buf[2048];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	print_message("%s:\n%s\n", path, buf);
}

static bool has_err(const struct errs *e, const char *sub)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->msg[i], sub))
			return true;
	return false;
}

static void test_live(void **state)
{
	char good[128], bad[128], quoted[128];
	struct birdctl_reply r = { 0 };
	struct errs e = ERRS_INIT;
	struct birdctl_proto *p;
	struct birdctl_route *rt;
	struct birdctl *c;
	size_t n;
	int rc;

	(void)state;
	if (access(BIRD, X_OK) < 0) {
		print_message("SKIP live BIRD round trip: %s is not installed "
			      "(apt-get install bird2)\n", BIRD);
		skip();	/* counted as skipped, not passed */
	}
	rc = bird_start();
	if (rc < 0) {
		print_file(live.log);
		fail_msg("BIRD did not start: %s", strerror(-rc));
	}

	/* the greeting, a raw command */
	assert_int_equal(birdctl_open(live.sock, 0, &c), 0);
	assert_non_null(strstr(birdctl_greeting(c), "ready."));
	assert_int_equal(birdctl_cmd(c, "show status", &r), 0);
	assert_int_equal(r.code, 13);
	birdctl_reply_clear(&r);
	assert_int_equal(birdctl_cmd(c, "frobnicate", &r), 0);
	assert_int_equal(r.code / 1000, 9);
	birdctl_reply_clear(&r);
	/* one command per line: a newline would smuggle in a second one */
	assert_int_equal(birdctl_cmd(c, "show status\nshow route", &r), -EINVAL);
	assert_int_equal(birdctl_cmd(c, "", &r), -EINVAL);
	/* the connection still works after all that */
	assert_int_equal(birdctl_cmd(c, "show protocols", &r), 0);
	assert_int_equal(r.code, 0);
	birdctl_reply_clear(&r);
	birdctl_close(c);

	assert_int_equal(birdctl_protocols(live.sock, &p, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(p[0].name, "petrel_device");
	assert_string_equal(p[0].proto, "Device");
	assert_string_equal(p[0].state, "up");
	assert_non_null(strchr(p[0].since, ' '));	/* iso long: date and time */
	free(p);

	/* a good config */
	path_in(good, sizeof(good), "good.conf");
	write_file(good, conf_static);
	assert_int_equal(birdctl_configure(live.sock, good, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(birdctl_protocols(live.sock, &p, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[1].name, "petrel_static");
	assert_string_equal(p[1].proto, "Static");
	assert_string_equal(p[1].table, "master4");
	free(p);
	assert_int_equal(birdctl_routes(live.sock, &rt, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rt[0].net.addr, 0x0a410100);
	assert_int_equal(rt[0].net.len, 26);
	assert_string_equal(rt[0].type, "blackhole");
	assert_string_equal(rt[0].proto, "petrel_static");
	assert_true(rt[0].primary);
	free(rt);

	/* a bad config: refused with BIRD's words; the good one stays */
	path_in(bad, sizeof(bad), "bad.conf");
	write_file(bad, conf_bad);
	assert_int_equal(birdctl_configure(live.sock, bad, &e), -EREMOTEIO);
	if (!has_err(&e, "bad.conf:2:"))
		fail_msg("unexpected message: %s", e.n ? e.msg[0] : "(none)");
	errs_clear(&e);
	assert_int_equal(birdctl_configure(live.sock, "/nonexistent/bird.conf", &e), -EREMOTEIO);
	assert_true(has_err(&e, "No such file"));
	errs_clear(&e);
	assert_int_equal(birdctl_protocols(live.sock, &p, &n, &e), 0);
	assert_int_equal(n, 2);
	free(p);

	/* a path BIRD's quoting cannot carry */
	snprintf(quoted, sizeof(quoted), "%s/a\"b.conf", tmpdir);
	assert_int_equal(birdctl_configure(live.sock, quoted, &e), -EINVAL);
	errs_clear(&e);

	/* back to the first config: the static protocol goes away */
	assert_int_equal(birdctl_configure(live.sock, live.conf, &e), 0);
	assert_int_equal(birdctl_protocols(live.sock, &p, &n, &e), 0);
	assert_int_equal(n, 1);
	free(p);

	bird_stop();
	rc = birdctl_configure(live.sock, good, &e);
	assert_true(rc == -ECONNREFUSED || rc == -ENOENT);
	assert_true(has_err(&e, live.sock));
	errs_clear(&e);
}

/* A socket that accepts and never speaks: the client gives up in time. */
static void test_timeout(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct birdctl *c;
	char sock[128];
	int fd;

	(void)state;
	path_in(sock, sizeof(sock), "mute.ctl");
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(birdctl_open(sock, 100, &c), -ETIMEDOUT);
	assert_null(c);
	close(fd);
	assert_int_equal(birdctl_open(sock, 100, &c), -ECONNREFUSED);
	path_in(sock, sizeof(sock), "absent.ctl");
	assert_int_equal(birdctl_open(sock, 100, &c), -ENOENT);
	assert_int_equal(birdctl_open("", 100, &c), -EINVAL);
	birdctl_close(NULL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/petrel-birdctl-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	bird_stop();	/* always, whatever failed */
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_recorded),
		cmocka_unit_test(test_parse_edges),
		cmocka_unit_test(test_protocols_parse),
		cmocka_unit_test(test_routes_parse),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
