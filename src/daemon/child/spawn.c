/*
 * spawn.c: the one door into a serving process (see spawn.h).
 *
 * Cheap by design (issue #10): everything that can be done once is done
 * by the master in spawn_prepare() -- the seccomp programs compiled
 * (libseccomp's probing and allocation never happen in a child), the
 * RLIMIT_NOFILE ceiling read, tzset() (for --timestamp and syslog(3)),
 * the test hooks' environment read -- so a child's way from fork() to
 * its first byte is a fixed, short list of system calls and allocates
 * nothing: one sigprocmask (the master has no handler to undo: sig.h),
 * close_range per gap between kept descriptors, the privilege drop
 * (with --user, if the master kept root), PR_SET_PDEATHSIG, getppid,
 * setrlimit, PR_SET_NO_NEW_PRIVS, seccomp: nine calls for a fork-model
 * child, glibc's set_robust_list included.
 *
 * Why this order: signals stay blocked from fork() until the role's
 * handlers are in place, so a signal sent to the new pid waits for
 * them or for the default action; descriptors go
 * before anything can fail loudly; the death signal is set after the
 * drop because the kernel clears it on a credential change (prctl(2)),
 * and getppid() then proves the master did not die before it took hold;
 * the filter comes last since it forbids most of the above.
 *
 * Fail closed: a process that cannot install its filter exits with
 * SPAWN_EXIT_UNCONFINED without serving; only a build without
 * libseccomp serves unconfined.  Sanitizer builds are confined too: the
 * -i process used to trip the filter only because it left through
 * exit(), where LeakSanitizer's scan makes calls no filter for echoing
 * allows; every serving process now leaves through _exit().
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "log.h"
#include "server.h"
#include "sig.h"
#include "spawn.h"
#include "svc.h"

#define NROLES		(SERVE_INETD_DGRAM + 1)

static struct sock_fprog filters[NROLES];
static int		 filter_ok[NROLES];
static rlim_t		 nofile_max = RLIM_INFINITY;

#ifdef ECHOD_TEST_HOOKS
static int		 test_no_seccomp;
static int		 test_unconfinable;
static const char	*test_forbidden;
static const char	*test_crash_file;
static long		 test_nofile = -1;
#endif

/* The CHILD_* filter kind (harden.h) a role runs under. */
static int
role_kind(enum serve_role role)
{
	switch (role) {
	case SERVE_WORKER:
		return CHILD_WORKER;
	case SERVE_UDP:
	case SERVE_INETD_DGRAM:
		return CHILD_UDP;
	default:
		return CHILD_CONN;
	}
}

int
spawn_prepare(struct server *srv)
{
	struct rlimit	rl;
	int		r, rc = 0;

#ifdef ECHOD_TEST_HOOKS
	/* valgrind cannot run under a filter it did not write. */
	test_no_seccomp = getenv("ECHOD_TEST_NO_SECCOMP") != NULL;
	test_unconfinable = getenv("ECHOD_TEST_UNCONFINABLE") != NULL;
	test_forbidden = getenv("ECHOD_TEST_FORBIDDEN_SYSCALL");
	test_crash_file = getenv("ECHOD_TEST_CRASH_FILE");
	/*
	 * ECHOD_TEST_NOFILE=3: a serving process's RLIMIT_NOFILE, below
	 * the descriptors it holds, so that its accept4 fails (EMFILE).
	 */
	if (getenv("ECHOD_TEST_NOFILE") != NULL)
		test_nofile = atol(getenv("ECHOD_TEST_NOFILE"));
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		nofile_max = rl.rlim_max;
	/*
	 * ctime_r() (--timestamp) and syslog(3)'s own time stamp then never
	 * read /etc/localtime in a child, where the filter forbids it.
	 */
	log_set_master(srv->master_pid);
	tzset();
	for (r = 0; r < NROLES; r++) {
		if (filter_ok[r])
			continue;
		if (harden_filter_export(role_kind(r), &filters[r]) == 0)
			filter_ok[r] = 1;
		else if (errno != ENOSYS)
			rc = -1;
	}
	if (rc == -1)
		log_warn("seccomp: cannot compile the filter; serving "
		    "processes will refuse to serve");
#ifdef HAVE_MALLOC_TRIM
	/*
	 * libseccomp's compiler leaves ~70 KiB of freed heap touched: back
	 * to the kernel, or every fork() copies its page-table entries.
	 */
	(void)malloc_trim(0);
#endif
	return rc;
}

pid_t
spawn_serving(struct server *srv, const struct serve_spec *spec)
{
	sigset_t	mask;
	pid_t		pid;

	/*
	 * The master's signals stay blocked in the child (its mask is the
	 * master's) until serve_enter() sets this one: a signal sent to
	 * the new pid waits, then takes the default action.
	 */
	sig_child_mask(&mask);
	if (spec->title != NULL)
		setproctitle("%s", spec->title);
	if ((pid = sig_fork()) == 0)
		serve_enter(srv, spec, &mask);
	return pid;
}

/* Does the role serve on this listener? */
static int
role_listens(enum serve_role role, const struct listener *l)
{
	if (role == SERVE_WORKER)
		return l->socktype != SOCK_DGRAM;
	if (role == SERVE_UDP)
		return l->socktype == SOCK_DGRAM;
	return 0;
}

static void
close_span(unsigned int lo, unsigned int hi)
{
	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
#endif
	if (hi == ~0U) {
		closefrom((int)lo);
		return;
	}
	for (; lo <= hi; lo++)
		(void)close((int)lo);
}

/*
 * Close every descriptor but 0-2, the role's listeners and spec->keep[]:
 * one close_range(2) per gap between kept ones (one or two in practice).
 * Listeners not kept are marked closed.  Returns the highest kept fd.
 */
static int
close_others(struct server *srv, const struct serve_spec *spec)
{
	int	keep[LISTEN_MAX + SPAWN_KEEP_MAX];
	size_t	n = 0, i, j;
	int	fd, prev = STDERR_FILENO;

	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd == -1)
			continue;
		if (role_listens(spec->role, &srv->ls[i]))
			keep[n++] = srv->ls[i].fd;
		else if (spec->role != SERVE_CONN)
			srv->ls[i].fd = -1;	/* closed below */
		/* SERVE_CONN never looks at a listener: no page written */
	}
	for (i = 0; i < spec->nkeep && i < SPAWN_KEEP_MAX; i++)
		if (spec->keep[i] > STDERR_FILENO)
			keep[n++] = spec->keep[i];
	for (i = 1; i < n; i++)		/* a handful: insertion sort */
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			fd = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = fd;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] > prev + 1)
			close_span((unsigned int)prev + 1,
			    (unsigned int)keep[i] - 1);
		if (keep[i] > prev)
			prev = keep[i];
	}
	close_span((unsigned int)prev + 1, ~0U);
	return prev;
}

/*
 * The death signal, and proof that the master is still there: it may
 * have died before prctl took hold.  Even a fork-model child checks
 * (SPEC: no child outlives the master; a --delay or held connection
 * would), so this getppid() is one call a naive fork does not make.
 */
static void
tie_to_master(const struct server *srv)
{
#ifdef HAVE_PRCTL
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	if (getppid() != srv->master_pid)
		_exit(0);
}

static void
limit_fds(int top)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)top + 1 + HARDEN_FD_HEADROOM;
	rlim_t		max = nofile_max;

#ifdef ECHOD_TEST_HOOKS
	if (test_nofile >= 0) {
		want = (rlim_t)test_nofile;
		max = RLIM_INFINITY;
	}
#endif
	if (max != RLIM_INFINITY && max <= want)
		return;
	rl.rlim_cur = rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

/* no_new_privs and the filter; 0, or -1: this process must not serve. */
static int
confine(enum serve_role role)
{
	const struct sock_fprog	*prog = &filters[role];
#ifdef ECHOD_TEST_HOOKS
	static const struct sock_fprog	empty = { 0, NULL };

	if (test_unconfinable)
		prog = &empty;		/* EINVAL from the kernel */
#endif
#if defined(HAVE_PRCTL) && defined(PR_SET_NO_NEW_PRIVS)
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("prctl PR_SET_NO_NEW_PRIVS: not serving");
		return -1;
	}
#endif
#ifdef HAVE_SECCOMP
#ifdef ECHOD_TEST_HOOKS
	if (test_no_seccomp)
		return 0;
	if (test_unconfinable)
		goto install;
#endif
	if (!filter_ok[role]) {
		log_warnx("seccomp: no filter compiled: not serving");
		return -1;
	}
#ifdef ECHOD_TEST_HOOKS
install:
#endif
	if (harden_filter_install(prog) == -1) {
		log_warn("seccomp: not serving");
		return -1;
	}
#else
	(void)prog;
#endif
	return 0;
}

void
serve_enter(struct server *srv, const struct serve_spec *spec,
    const sigset_t *mask)
{
	char	err[256];
	int	top, has_master = spec->role != SERVE_INETD &&
		    spec->role != SERVE_INETD_DGRAM;

	/*
	 * A forked child writes no variable of the master's it can avoid:
	 * each page written is a page of its own (issue #10).  fatal()
	 * knows a forked child by its pid (log_set_master()).
	 */
	if (!has_master)
		log_set_child();
	if (has_master)
		sig_child_reset();
	if (spec->sigsetup != NULL)
		spec->sigsetup();	/* still blocked: nothing slips by */
	/* The one call a fork-model child's signals cost (sig.h). */
	if (mask != NULL)
		(void)sigprocmask(SIG_SETMASK, mask, NULL);
	log_close();	/* reopened below: close_others would take it */
	top = close_others(srv, spec);
	log_reopen();
	if (svc_child_drop(err, sizeof(err)) == -1) {
		log_warnx("--user %s: %s: not serving", svc_user(), err);
		_exit(1);
	}
	if (has_master)
		tie_to_master(srv);
#ifdef ECHOD_TEST_HOOKS
	if (test_crash_file != NULL && spec->role == SERVE_WORKER &&
	    access(test_crash_file, F_OK) == 0) {
		struct rlimit nocore = { 0, 0 };

		(void)setrlimit(RLIMIT_CORE, &nocore);
		abort();
	}
#endif
	limit_fds(top);
	if (confine(spec->role) == -1)
		_exit(SPAWN_EXIT_UNCONFINED);
#ifdef ECHOD_TEST_HOOKS
	if (spec->role != SERVE_UDP && spec->role != SERVE_INETD_DGRAM)
		harden_test_forbidden(test_forbidden);
#endif
	_exit(spec->serve(srv, spec));
}

/*
 * Both inetd roles set up the same way: no master prepared the filters,
 * so do it here; fd is the one descriptor kept (the connection, for
 * SERVE_INETD).
 */
void
serve_inetd(struct server *srv, enum serve_role role, int fd,
    int (*serve)(struct server *, const struct serve_spec *))
{
	struct serve_spec	spec;
	sigset_t		none;

	(void)spawn_prepare(srv);
	memset(&spec, 0, sizeof(spec));
	spec.role = role;
	spec.keep[spec.nkeep++] = fd;
	if (role == SERVE_INETD)
		spec.conn = fd;
	spec.serve = serve;
	/* A launcher's blocked signals are not ours to keep. */
	(void)sigemptyset(&none);
	serve_enter(srv, &spec, &none);	/* confines, serves, _exits */
}
