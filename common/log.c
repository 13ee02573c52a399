/* log: one line per message on stderr. See log.h. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "common/log.h"

static const char *log_prog = "petrel";
static enum log_level log_level_max = LOG_LVL_INFO;
static int log_ts;

void log_init(const char *prog, enum log_level level, int timestamps)
{
	log_prog = prog;
	log_level_max = level;
	log_ts = timestamps;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	va_list ap;
	int off = 0;

	if (lvl > log_level_max)
		return;
	if (log_ts) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		off = (int)strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		off += snprintf(line + off, sizeof(line) - off, ".%03ldZ ",
				ts.tv_nsec / 1000000);
	}
	off += snprintf(line + off, sizeof(line) - off, "%s: ", log_prog);
	if (lvl != LOG_LVL_INFO)
		off += snprintf(line + off, sizeof(line) - off, "%s: ", names[lvl]);
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
