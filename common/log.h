/*
 * log: the daemon's and CLI's messages. Libraries never log; they return
 * errors and the caller logs once, where it handles them.
 */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* prog: the name that prefixes each line; timestamps: for daemons. */
void log_init(const char *prog, enum log_level level, int timestamps);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
