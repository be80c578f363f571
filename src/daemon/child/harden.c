/*
 * harden.c: confine a serving process (see harden.h).
 *
 * Order matters: descriptors are closed first (closelog() before, so
 * the syslog socket is reopened afterwards rather than lost under it),
 * then RLIMIT_NOFILE is lowered to what is kept plus a little headroom,
 * then PR_SET_NO_NEW_PRIVS, then the seccomp filter, which must come
 * last since it forbids most of the above.  Things libc would otherwise
 * do lazily behind a forbidden call are done before the filter: tzset()
 * (ctime(3) in --timestamp reads /etc/localtime once), openlog().
 *
 * Violation policy, SCMP_ACT_KILL_PROCESS: a serving process that makes
 * a system call echoing never needs has been subverted (or we have a
 * bug); killing it is what pledge(2) does, the master logs it as an
 * abnormal exit ("killed by signal 31") and counts it, and an attacker
 * gets no second probe.  ERRNO(EPERM) would let an exploit try its way
 * around the list.  The one exception is socket(2) and connect(2),
 * which fail with EPERM instead: libc's syslog(3) calls them to
 * reconnect after syslogd restarts, and a lost log line is better than a
 * dead worker.  Arguments are checked where that is cheap: mmap and
 * mprotect never with PROT_EXEC (no new code), kill/tgkill only to this
 * process (abort(3)), ioctl only TCGETS (isatty), prctl only PR_SET_NAME.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "log.h"
#include "server.h"

static int	keep[HARDEN_KEEP_MAX];
static size_t	nkeep;

void
harden_keep_fd(int fd)
{
	if (fd >= 0 && nkeep < HARDEN_KEEP_MAX)
		keep[nkeep++] = fd;
}

static int
kept(const struct server *srv, int fd)
{
	size_t	i;

	if (fd <= STDERR_FILENO)
		return 1;
	for (i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return 1;
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].fd == fd)
			return 1;
	return 0;
}

/* Close every descriptor this process was not told to keep. */
static int
close_others(const struct server *srv)
{
	size_t	i;
	int	fd, top = STDERR_FILENO;

	for (i = 0; i < nkeep; i++)
		if (keep[i] > top)
			top = keep[i];
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].fd > top)
			top = srv->ls[i].fd;
	for (fd = STDERR_FILENO + 1; fd < top; fd++)
		if (!kept(srv, fd))
			(void)close(fd);
	closefrom(top + 1);
	return top;
}

#ifdef HAVE_SECCOMP
/* SCMP_A0() and friends leave datum_b out, which -Wextra flags. */
static struct scmp_arg_cmp
arg(unsigned int n, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp	c;

	memset(&c, 0, sizeof(c));
	c.arg = n;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return c;
}

static int
allow(scmp_filter_ctx ctx, int nr)
{
	int	rc;

	/* A call this architecture lacks (poll on arm64) is just skipped. */
	if (nr < 0)
		return 0;
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	return rc == -EDOM || rc == -EINVAL ? 0 : rc;
}

int
harden_seccomp(int kind)
{
	static const int	common[] = {
		/* echoing */
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
		SCMP_SYS(writev), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
		SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(poll),
		SCMP_SYS(ppoll), SCMP_SYS(close), SCMP_SYS(shutdown),
		SCMP_SYS(getsockname), SCMP_SYS(getpeername),
		SCMP_SYS(fcntl),
		/* bulk echo: splice through a pipe (proto/echo.c) */
		SCMP_SYS(splice), SCMP_SYS(pipe2),
		/* time, --delay, --idle-timeout */
		SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
		SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
		/* process */
		SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
		SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(restart_syscall),
		SCMP_SYS(sigaltstack),
		SCMP_SYS(sched_yield),
		/* libc: malloc, locks (the shared limit table), arc4random */
		SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
		SCMP_SYS(madvise), SCMP_SYS(futex), SCMP_SYS(getrandom),
		SCMP_SYS(fstat),
	};
	static const int	worker[] = {
		SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(epoll_create1),
		SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
		SCMP_SYS(epoll_pwait),
	};
	static const int	udp[] = {
		SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(setsockopt),
	};
	scmp_filter_ctx		ctx;
	size_t			i;
	int			rc = 0;
	pid_t			me = getpid();

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -1;
	for (i = 0; i < sizeof(common) / sizeof(common[0]) && rc == 0; i++)
		rc = allow(ctx, common[i]);
	if (kind == CHILD_WORKER)
		for (i = 0; i < sizeof(worker) / sizeof(worker[0]) && rc == 0;
		    i++)
			rc = allow(ctx, worker[i]);
	if (kind == CHILD_UDP)
		for (i = 0; i < sizeof(udp) / sizeof(udp[0]) && rc == 0; i++)
			rc = allow(ctx, udp[i]);
	/* No new executable memory. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect),
		    1, arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* fstat(3) is newfstatat(fd, "", AT_EMPTY_PATH) in glibc. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(newfstatat), 1,
		    arg(3, SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH,
		    AT_EMPTY_PATH));
	/* abort(3) signals itself; nothing else. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
		    arg(0, SCMP_CMP_EQ, (scmp_datum_t)me, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		    arg(0, SCMP_CMP_EQ, (scmp_datum_t)me, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    arg(1, SCMP_CMP_EQ, TCGETS, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    arg(0, SCMP_CMP_EQ, PR_SET_NAME, 0));
	/* syslog(3) reconnecting: refuse quietly, see the top. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(socket), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
		    SCMP_SYS(connect), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}
#else
int
harden_seccomp(int kind)
{
	(void)kind;
	errno = ENOSYS;
	return -1;
}
#endif

#ifdef ECHOD_TEST_HOOKS
/*
 * ECHOD_TEST_FORBIDDEN_SYSCALL=execve|socket: once confined, a serving
 * process tries that call.  execve must kill it (SIGSYS, an abnormal
 * exit the master logs and counts); socket must fail with EPERM, which
 * it logs.
 */
static void
test_forbidden(const char *what)
{
	char	*argv[] = { "true", NULL };
	int	 fd;

	if (what == NULL)
		return;
	if (strcmp(what, "execve") == 0) {
		struct rlimit nocore = { 0, 0 };

		(void)setrlimit(RLIMIT_CORE, &nocore);
		(void)execve("/bin/true", argv, argv + 1);
		log_warn("test: execve after the filter");
		_exit(3);
	} else if (strcmp(what, "socket") == 0) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			log_warn("test: socket after the filter");
		else {
			log_warnx("test: socket after the filter: allowed");
			(void)close(fd);
		}
	}
}
#endif

void
harden_child(struct server *srv, int kind)
{
	struct rlimit	 rl;
	int		 top, no_seccomp = 0;
#ifdef ECHOD_TEST_HOOKS
	const char	*forbidden = getenv("ECHOD_TEST_FORBIDDEN_SYSCALL");

	/* valgrind cannot run under a filter it did not write. */
	no_seccomp = getenv("ECHOD_TEST_NO_SECCOMP") != NULL;
#endif

	closelog();
	top = close_others(srv);
	nkeep = 0;
	log_reopen();
	tzset();

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)top + 1 + HARDEN_FD_HEADROOM;

		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want) {
			rl.rlim_cur = rl.rlim_max = want;
			if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
				log_warn("setrlimit RLIMIT_NOFILE");
		}
	}
#if defined(HAVE_PRCTL) && defined(PR_SET_NO_NEW_PRIVS)
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_warn("prctl PR_SET_NO_NEW_PRIVS");
#endif
#ifdef HAVE_SECCOMP
	if (!no_seccomp && harden_seccomp(kind) == -1) {
		static int warned;

		/* Serving unconfined beats not serving; say it loudly. */
		if (!warned)
			log_warn("seccomp: serving without a filter");
		warned = 1;
	}
#else
	(void)kind;
	(void)no_seccomp;
#endif
#ifdef ECHOD_TEST_HOOKS
	if (kind != CHILD_UDP)
		test_forbidden(forbidden);
#endif
}
