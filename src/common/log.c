/*
 * log.c: echod's log lines, to stderr or syslog(3).
 *
 * Before log_init() and while in the foreground everything goes to
 * stderr as "echod: message".  With syslog the facility is LOG_DAEMON
 * and each line carries the pid.  When stderr is systemd's journal
 * (JOURNAL_STREAM names the device and inode of fd 2) lines start with
 * "<N>" so the journal keeps their priority.  The level filters info and
 * per-connection lines; warnings and errors always pass.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char	*log_ident = "echod";
static enum log_dest	 log_dest = LOG_TO_STDERR;
static int		 log_lvl = LOG_LEVEL_NORMAL;
static int		 log_journal;	/* stderr is the journal */
static int		 log_stderr_too;	/* errors also to stderr */
static int		 log_child;	/* a serving process: _exit() */
static pid_t		 log_master;	/* else: any process but this one */

static int
journal_is_stderr(void)
{
	const char	*js;
	struct stat	 st;
	unsigned long long dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *ident, enum log_dest dest, int level)
{
	if (ident != NULL)
		log_ident = ident;
	log_dest = dest;
	log_lvl = level;
	log_journal = dest == LOG_TO_STDERR && journal_is_stderr();
	if (dest == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* After SIGHUP: syslog's socket may point at a restarted daemon. */
void
log_reopen(void)
{
	if (log_dest == LOG_TO_SYSLOG) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
}

/* In a serving process: fatal() leaves with _exit(), never exit(). */
void
log_set_child(void)
{
	log_child = 1;
}

/*
 * In the master, before the first fork: any other process is a child.
 * A forked child need not write log_child then, and writes nothing here
 * (a page it writes is a page of its own: issue #10).
 */
void
log_set_master(pid_t pid)
{
	log_master = pid;
}

static int
log_in_child(void)
{
	return log_child || (log_master != 0 && getpid() != log_master);
}

/* Before the child closes descriptors: syslog's, if it is in use. */
void
log_close(void)
{
	if (log_dest == LOG_TO_SYSLOG)
		closelog();
}

/* While still attached to a terminal, errors go there too. */
void
log_set_stderr_too(int on)
{
	log_stderr_too = on;
}

int
log_level(void)
{
	return log_lvl;
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	msg[1024];
	int	saved = errno;

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t	 len = strlen(msg);

		(void)snprintf(msg + len, sizeof(msg) - len, ": %s",
		    strerror(saved));
	}
	if (log_dest == LOG_TO_SYSLOG) {
		syslog(pri, "%s", msg);
		if (log_stderr_too && pri <= LOG_WARNING)
			(void)fprintf(stderr, "%s: %s\n", log_ident, msg);
	} else if (log_journal)
		(void)fprintf(stderr, "<%d>%s\n", pri, msg);
	else
		(void)fprintf(stderr, "%s[%ld]: %s\n", log_ident,
		    (long)getpid(), msg);
	errno = saved;
}

/*
 * The levels differ only in priority, whether errno is appended and the
 * -q/-v gate (notices pass even with -q: the SIGUSR1 status line is
 * one), so one definition makes them all.
 */
#define LOG_AT(name, pri, gate, with_errno)				\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	ap;							\
									\
	if (log_lvl < (gate))						\
		return;							\
	va_start(ap, fmt);						\
	log_vwrite((pri), fmt, ap, (with_errno));			\
	va_end(ap);							\
}

LOG_AT(log_warn, LOG_WARNING, LOG_LEVEL_QUIET, 1)
LOG_AT(log_warnx, LOG_WARNING, LOG_LEVEL_QUIET, 0)
LOG_AT(log_notice, LOG_NOTICE, LOG_LEVEL_QUIET, 0)
LOG_AT(log_info, LOG_INFO, LOG_LEVEL_NORMAL, 0)
LOG_AT(log_conn, LOG_INFO, LOG_LEVEL_VERBOSE, 0)
LOG_AT(log_debug, LOG_DEBUG, LOG_LEVEL_VERBOSE, 0)

/* A serving process never flushes stdio inherited from the master. */
static void __attribute__((noreturn))
log_die(const char *fmt, va_list ap, int with_errno)
{
	log_vwrite(LOG_ERR, fmt, ap, with_errno);
	if (log_in_child())
		_exit(1);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_die(fmt, ap, 1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_die(fmt, ap, 0);
}
