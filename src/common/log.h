/*
 * log.h: where echod's messages go.
 *
 * The shape of relayd's log.c: log_warn appends strerror(errno),
 * log_warnx does not; fatal/fatalx log and exit.  Until log_init() says
 * otherwise everything goes to stderr, so errors found while still in the
 * foreground reach the terminal.  Under systemd's journal (JOURNAL_STREAM
 * names our stderr) lines carry a "<N>" priority prefix, as sd-daemon(3)
 * describes.  None of this is async-signal-safe: call it from the loop,
 * never from a handler.
 */
#ifndef ECHOD_LOG_H
#define ECHOD_LOG_H

#include <sys/types.h>

#include <stdarg.h>

enum log_dest {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG
};

enum log_level {
	LOG_LEVEL_QUIET = -1,	/* errors only */
	LOG_LEVEL_NORMAL = 0,
	LOG_LEVEL_VERBOSE = 1	/* a line per connection */
};

void	log_init(const char *ident, enum log_dest, int level);
void	log_reopen(void);
void	log_set_stderr_too(int);
void	log_set_child(void);
void	log_set_master(pid_t);
void	log_close(void);
int	log_level(void);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_conn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
