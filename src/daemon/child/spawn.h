/*
 * spawn.h: the one door into a serving process (issue #9).
 *
 * Every serving process -- fork-model child, prefork worker, UDP worker,
 * and the inetd single connection (-i on a connected socket, systemd
 * Accept=yes) -- goes through serve_enter(), which never returns:
 *
 *   master: spawn_serving() fork()s (sig_fork()) and returns the
 *           child's pid (or -1, errno set); its signals are blocked
 *           and read from a signalfd, so the child starts with them
 *           blocked and every disposition at its default (sig.h);
 *   child:  sig_child_reset() (nothing to do with signalfd), the
 *           role's own handlers (spec->sigsetup), then the mask is set
 *           to the one given (spawn_serving: sig_child_mask(), TERM
 *           and INT deliverable, the master's other signals held);
 *           every descriptor but 0-2, the role's listeners and
 *           spec->keep[] is closed (one close_range per gap between
 *           kept ones: one or two);
 *           privileges are dropped; PR_SET_PDEATHSIG(SIGKILL) is set
 *           AFTER the drop (a credential change clears it) and the
 *           parent checked against srv->master_pid; RLIMIT_NOFILE;
 *           PR_SET_NO_NEW_PRIVS; the seccomp filter prepared once by
 *           spawn_prepare() in the master (one seccomp() call).  A
 *           process that cannot be confined does not serve: it
 *           _exit()s with SPAWN_EXIT_UNCONFINED, which the master logs
 *           and counts.  Then spec->serve() runs and the process
 *           _exit()s with what it returned: never exit(), so inherited
 *           stdio is never flushed twice.
 *
 * The inetd path has no master: serve_inetd() calls spawn_prepare() and
 * then serve_enter() directly with SERVE_INETD (or SERVE_INETD_DGRAM), an
 * empty mask, no sig_child_reset() (no master handlers) and no parent
 * check.
 *
 * In the master, a child that exited with SPAWN_EXIT_UNCONFINED refused
 * to serve: the waitpid loop should log it ("refused to serve
 * unconfined") and count it like a crash (backoff), not as a clean exit.
 */
#ifndef ECHOD_SPAWN_H
#define ECHOD_SPAWN_H

#include <sys/types.h>

#include <signal.h>
#include <stddef.h>

struct server;

enum serve_role {
	SERVE_CONN,	/* fork-model child: one connection, no listener */
	SERVE_WORKER,	/* prefork worker: the stream listeners */
	SERVE_UDP,	/* the UDP worker: the datagram sockets */
	SERVE_INETD,	/* -i: one connection (keep[0]); no master */
	SERVE_INETD_DGRAM /* -i on a datagram socket (keep[0]); no master */
};

#define SPAWN_KEEP_MAX		8
#define SPAWN_EXIT_UNCONFINED	70	/* EX_SOFTWARE: refused to serve */

struct serve_spec {
	enum serve_role	 role;
	int		 keep[SPAWN_KEEP_MAX];	/* kept besides 0-2, listeners */
	size_t		 nkeep;
	/* The body: runs confined; its return value is the exit status. */
	int		(*serve)(struct server *, const struct serve_spec *);
	void		*arg;
	void		*ctx;		/* a second one (the prefork slot) */
	/*
	 * The role's own handlers (a worker's SIGTERM/SIGHUP), installed
	 * while every signal is still blocked, so none is lost or taken
	 * with the default action before they are in place.  May be NULL.
	 */
	void		(*sigsetup)(void);
	int		 conn;		/* SERVE_CONN: the accepted socket */
	/*
	 * The child's process title, written by the master just before
	 * fork() (the caller puts its own back after): a child that
	 * formats its own faults in a dozen pages of vsnprintf and libbsd
	 * its parent had mapped, and copies the argv page, per connection
	 * (issue #10).  NULL: the role sets its own.
	 */
	const char	*title;
};

/*
 * In the master, once, before the first spawn: compile the filters,
 * read RLIMIT_NOFILE, tzset() (--timestamp, syslog).  -1 (logged) if
 * a filter cannot be compiled: children will then refuse to serve.
 */
int	spawn_prepare(struct server *);
/* In the master: fork a serving process.  Returns its pid, or -1. */
pid_t	spawn_serving(struct server *, const struct serve_spec *);
/* In the new process (or the inetd one): confine, serve, _exit. */
void	serve_enter(struct server *, const struct serve_spec *,
	    const sigset_t *) __attribute__((noreturn));
/* The inetd path (-i): serve fd in this very process, then _exit. */
void	serve_inetd(struct server *, enum serve_role, int,
	    int (*)(struct server *, const struct serve_spec *))
	    __attribute__((noreturn));

#endif
