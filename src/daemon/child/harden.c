/*
 * harden.c: the seccomp filter of a serving process (see harden.h).
 *
 * The master compiles each role's filter once (harden_filter_export,
 * called by spawn_prepare): libseccomp probes the kernel and builds the
 * program in the master, so a child installs it with one system call
 * (harden_filter_install) and allocates nothing.  The order around it
 * (descriptors, privileges, limits, no_new_privs) is spawn.c's.
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
 * mprotect never with PROT_EXEC (no new code), tgkill only with SIGABRT
 * (abort(3)) and kill(2) never, ioctl only TCGETS (isatty), prctl only
 * PR_SET_NAME.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Allowed whatever the arguments: every child, then by kind. */
#define NSYS(a)	(sizeof(a) / sizeof((a)[0]))
static const int	sys_common[] = {
	/* echoing */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv),
	SCMP_SYS(writev), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(poll),
	SCMP_SYS(ppoll), SCMP_SYS(close), SCMP_SYS(shutdown),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(fcntl),
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
static const int	sys_worker[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(epoll_create1),
	SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
};
static const int	sys_udp[] = {
	SCMP_SYS(recvmmsg), SCMP_SYS(sendmmsg), SCMP_SYS(setsockopt),
};

/* Allow each of the n system calls in sys; 0 or a negative errno. */
static int
allow_all(scmp_filter_ctx ctx, const int *sys, size_t n)
{
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = allow(ctx, sys[i]);
	return rc;
}

/*
 * The calls allowed only with some arguments, and the two refused
 * with EPERM rather than killed; 0 or a negative errno.
 */
static int
allow_narrow(scmp_filter_ctx ctx)
{
	int	 rc;

	/* No new executable memory. */
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
	/*
	 * abort(3) is tgkill(getpid(), tid, SIGABRT).  The filter is built
	 * once in the master, before the child's pid exists, so it cannot
	 * name the pid: it allows SIGABRT and nothing else, and no kill(2).
	 */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
		    arg(2, SCMP_CMP_EQ, SIGABRT, 0));
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
	return rc;
}

/* The rules for kind (CHILD_*), in a fresh context, or NULL. */
static scmp_filter_ctx
build(int kind)
{
	scmp_filter_ctx		ctx;
	int			rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return NULL;
	rc = allow_all(ctx, sys_common, NSYS(sys_common));
	if (rc == 0 && kind == CHILD_WORKER)
		rc = allow_all(ctx, sys_worker, NSYS(sys_worker));
	if (rc == 0 && kind == CHILD_UDP)
		rc = allow_all(ctx, sys_udp, NSYS(sys_udp));
	if (rc == 0)
		rc = allow_narrow(ctx);
	if (rc != 0) {
		seccomp_release(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

/*
 * libseccomp writes the compiled program to a descriptor: a memfd,
 * read back into memory the children inherit.  The kernel copies the
 * program at install time, so one buffer serves every child.
 */
int
harden_filter_export(int kind, struct sock_fprog *prog)
{
	scmp_filter_ctx	 ctx;
	struct stat	 st;
	void		*buf = NULL;
	int		 fd, rc = -1, save;

	if ((ctx = build(kind)) == NULL)
		return -1;
	if ((fd = memfd_create("echod-bpf", MFD_CLOEXEC)) == -1)
		goto out;
	if ((save = seccomp_export_bpf(ctx, fd)) != 0) {
		errno = -save;
		goto out;
	}
	if (fstat(fd, &st) == -1)
		goto out;
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0 ||
	    st.st_size / sizeof(struct sock_filter) > USHRT_MAX) {
		errno = EINVAL;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		goto out;
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		if (errno == 0)
			errno = EIO;
		goto out;
	}
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	prog->filter = buf;
	buf = NULL;
	rc = 0;
out:
	save = errno;
	free(buf);
	if (fd != -1)
		(void)close(fd);
	seccomp_release(ctx);
	errno = save;
	return rc;
}

int
harden_seccomp(int kind)
{
	struct sock_fprog	prog;
	int			rc;

	if (harden_filter_export(kind, &prog) == -1)
		return -1;
	if ((rc = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) == 0)
		rc = harden_filter_install(&prog);
	free(prog.filter);
	return rc;
}
#else
int
harden_filter_export(int kind, struct sock_fprog *prog)
{
	(void)kind;
	(void)prog;
	errno = ENOSYS;
	return -1;
}

int
harden_seccomp(int kind)
{
	(void)kind;
	errno = ENOSYS;
	return -1;
}
#endif

/* One system call; the caller has set PR_SET_NO_NEW_PRIVS. */
int
harden_filter_install(const struct sock_fprog *prog)
{
#if defined(SYS_seccomp) && defined(SECCOMP_SET_MODE_FILTER)
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
#elif defined(HAVE_PRCTL) && defined(PR_SET_SECCOMP)
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0);
#else
	(void)prog;
	errno = ENOSYS;
	return -1;
#endif
}

#ifdef ECHOD_TEST_HOOKS
/*
 * ECHOD_TEST_FORBIDDEN_SYSCALL=execve|socket: once confined, a serving
 * process tries that call.  execve must kill it (SIGSYS, an abnormal
 * exit the master logs and counts); socket must fail with EPERM, which
 * it logs.
 */
void
harden_test_forbidden(const char *what)
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

