/*
 * upgrade.c: the binary upgrade on SIGUSR2 (see upgrade.h).
 *
 * Which binary.  The one this master runs, by the path it had at start:
 * argv[0] made absolute against the start directory when it names the
 * same file as /proc/self/exe (symlinks kept, so a package that flips a
 * link is followed), else /proc/self/exe's target.  The string is kept,
 * not a descriptor: a package upgrade renames a new file over the path,
 * after which /proc/self/exe reads "... (deleted)" and an fd would still
 * run the old code.
 *
 * Nothing is closed or re-bound: both masters hold the same listening
 * sockets, and connections in the backlog go to whichever's workers
 * accept first.  The pid file is moved to PATH.oldbin (nginx's way), its
 * lock kept, before the fork, so the new master can create PATH; on
 * failure it is moved back, on success given up and removed.
 *
 * The new master is our child but must outlive us: it gets no
 * parent-death signal (fork clears ours anyway), and once we exit it is
 * reparented to whoever reaps orphans.  It is not in the master's child
 * table (children.h), so no stop or reload of ours ever signals it; the
 * master's one waitpid() loop offers every status here first.  A pidfd,
 * where the kernel has one, makes the timeout's kill exact even under
 * --reap=ignore.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "daemonize.h"
#include "clock.h"
#include "listen.h"
#include "liveops.h"
#include "log.h"
#include "sdlisten.h"
#include "sdnotify.h"
#include "server.h"
#include "sig.h"
#include "upgrade.h"

#define ARGV_MAX	256
#define EOF_WAIT_MS	1000	/* for the exit status after EOF */

static char	  exe[PATH_MAX];
static char	  start_cwd[PATH_MAX];
static char	 *saved_argv[ARGV_MAX + 1];
static char	 *watchdog_usec;	/* WATCHDOG_USEC as we got it */

/* Old master's side. */
static pid_t	  newpid;		/* 0: no upgrade under way */
static int	  pidfd = -1;
static int	  rd = -1;		/* readiness pipe, read end */
static int64_t	  deadline;
static int64_t	  eof_at;		/* pipe closed without a byte */
static int	  handed_over;
static char	  oldbin[PATH_MAX];	/* "" when no pid file was moved */

/* New master's side. */
static int	  inherited;
static int	  ready_fd = -1;
static int	  control_in = -1;

int
upgrade_pick_path(const char *argv0, const char *cwd, const char *self,
    char *out, size_t len)
{
	struct stat	a, b;
	char		cand[PATH_MAX];

	cand[0] = '\0';
	if (argv0 != NULL && strchr(argv0, '/') != NULL) {
		if (argv0[0] == '/')
			(void)strlcpy(cand, argv0, sizeof(cand));
		else if (cwd != NULL)
			(void)snprintf(cand, sizeof(cand), "%s/%s", cwd, argv0);
	}
	if (cand[0] != '\0' && self != NULL && stat(cand, &a) == 0 &&
	    stat(self, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return strlcpy(out, cand, len) < len ? 0 : -1;
	if (self == NULL)
		return -1;
	return strlcpy(out, self, len) < len ? 0 : -1;
}

void
upgrade_save_argv(int argc, char **argv)
{
	char	self[PATH_MAX];
	ssize_t	n;
	int	i;
	const char *wd;

	for (i = 0; i < argc && i < ARGV_MAX; i++)
		if ((saved_argv[i] = strdup(argv[i])) == NULL)
			break;
	saved_argv[i] = NULL;
	if (getcwd(start_cwd, sizeof(start_cwd)) == NULL)
		start_cwd[0] = '\0';
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0)
		self[n] = '\0';
	if (upgrade_pick_path(argc > 0 ? argv[0] : NULL,
	    start_cwd[0] ? start_cwd : NULL, n > 0 ? self : NULL, exe,
	    sizeof(exe)) == -1)
		exe[0] = '\0';
	if ((wd = getenv("WATCHDOG_USEC")) != NULL)
		watchdog_usec = strdup(wd);
}

static int
env_fd(const char *name)
{
	const char	*v = getenv(name), *e;
	long long	 fd;

	if (v == NULL)
		return -1;
	fd = strtonum(v, 3, INT_MAX, &e);
	(void)unsetenv(name);
	if (e != NULL || fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warnx("%s=%s: not an open descriptor; ignored", name, v);
		return -1;
	}
	return (int)fd;
}

/*
 * A UNIX socket the old master bound (named UPGRADE_PATH_NAME by
 * fd_name): its path is ours to remove at exit now, as it was the old
 * master's.  A socket systemd passed never carries that name from us.
 */
static void
own_paths(struct server *srv)
{
	struct sockaddr_un	 sun;
	struct listener		*l;
	socklen_t		 len;
	size_t			 i, n;
	const char		*suffix = "(" UPGRADE_PATH_NAME ")";

	for (i = 0; i < srv->nls; i++) {
		l = &srv->ls[i];
		n = strlen(l->name);
		if (l->family != AF_UNIX || n < strlen(suffix) ||
		    strcmp(l->name + n - strlen(suffix), suffix) != 0)
			continue;
		len = sizeof(sun);
		memset(&sun, 0, sizeof(sun));
		if (getsockname(l->fd, (struct sockaddr *)&sun, &len) == -1 ||
		    sun.sun_path[0] != '/' ||
		    strlcpy(l->path, sun.sun_path, sizeof(l->path)) >=
		    sizeof(l->path))
			continue;
		l->owned_path = 1;
	}
}

/* In every master at start: were we started by an upgrade? */
void
upgrade_adopt(struct server *srv)
{
	(void)srv;
	ready_fd = env_fd(UPGRADE_FD_ENV);
	control_in = env_fd(UPGRADE_CONTROL_ENV);
	inherited = ready_fd != -1;
	if (inherited)
		log_info("upgrade: new master %ld starting, old master %ld",
		    (long)getpid(), (long)getppid());
}

int
upgrade_inherited(void)
{
	return inherited;
}

int
upgrade_control_fd(void)
{
	return control_in;
}

int
upgrade_busy(void)
{
	return newpid != 0 && !handed_over;
}

void
upgrade_before_ready(struct server *srv)
{
	char	msg[64];

	if (!inherited)
		return;
	own_paths(srv);		/* the sockets are adopted by now */
	(void)snprintf(msg, sizeof(msg), "MAINPID=%ld", (long)getpid());
	(void)sdnotify_send(msg);
}

void
upgrade_ready(struct server *srv)
{
	char	err[256];
	ssize_t	n;

	(void)srv;
	if (!inherited || ready_fd == -1)
		return;
	if (daemon_pidfile_write(err, sizeof(err)) == -1)
		log_warnx("%s", err);
	do
		n = write(ready_fd, "R", 1);
	while (n == -1 && errno == EINTR);
	(void)close(ready_fd);
	ready_fd = -1;
	log_info("upgrade: new master %ld serving", (long)getpid());
}

/* The fd's systemd name: what adopt() put in parentheses, or ours. */
static void
fd_name(const struct listener *l, char *buf, size_t len)
{
	const char	*o = strrchr(l->name, '('), *c;

	/* A UNIX socket we bound: its path goes with it (upgrade_adopt). */
	if (l->owned_path) {
		(void)strlcpy(buf, UPGRADE_PATH_NAME, len);
		return;
	}

	if (o != NULL && (c = strchr(o, ')')) != NULL && c > o + 1 &&
	    (size_t)(c - o - 1) < len && memchr(o, ':', (size_t)(c - o)) ==
	    NULL) {
		memcpy(buf, o + 1, (size_t)(c - o - 1));
		buf[c - o - 1] = '\0';
		return;
	}
	(void)strlcpy(buf, l->socktype == SOCK_DGRAM ? "echod-udp" :
	    "echod-tcp", len);
}

static void
setenv_num(const char *name, long v)
{
	char	b[32];

	(void)snprintf(b, sizeof(b), "%ld", v);
	(void)setenv(name, b, 1);
}

/*
 * How long a new master has to say it serves: UPGRADE_TIMEOUT_MS; the
 * tests' build (tests/hooks/echod, never installed) takes a shorter one
 * from ECHOD_TEST_UPGRADE_TIMEOUT_MS, so the path is tested in seconds.
 */
static int64_t
upgrade_timeout_ms(void)
{
#ifdef ECHOD_TEST_HOOKS
	const char	*v = getenv("ECHOD_TEST_UPGRADE_TIMEOUT_MS"), *e;
	long long	 ms;

	if (v != NULL && (ms = strtonum(v, 100, UPGRADE_TIMEOUT_MS, &e),
	    e == NULL))
		return ms;
#endif
	return UPGRADE_TIMEOUT_MS;
}

/*
 * In the forked child: listeners to 3..3+n-1, the pipe after them, the
 * control socket after that; everything else stays close-on-exec.  Each
 * is first copied above all targets so no dup2() clobbers a source.
 */
static void __attribute__((noreturn))
child_exec(struct server *srv, int wr)
{
	static char	names[LISTEN_MAX * (SDLISTEN_NAMELEN + 1)];
	int		src[LISTEN_MAX + 2], hi[LISTEN_MAX + 2];
	char		nm[SDLISTEN_NAMELEN];
	size_t		i, n = 0, k;
	int		cfd = control_fd();
	sigset_t	none;

	/* A fresh process's signals: the new echod sets up its own. */
	sig_child_reset();
	(void)signal(SIGPIPE, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	names[0] = '\0';
	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd == -1)
			continue;
		fd_name(&srv->ls[i], nm, sizeof(nm));
		if (n > 0)
			(void)strlcat(names, ":", sizeof(names));
		(void)strlcat(names, nm, sizeof(names));
		src[n++] = srv->ls[i].fd;
	}
	k = n;
	src[k++] = wr;
	if (cfd != -1)
		src[k++] = cfd;
	for (i = 0; i < k; i++)
		if ((hi[i] = fcntl(src[i], F_DUPFD_CLOEXEC,
		    (int)(SDLISTEN_FIRST + k))) == -1)
			_exit(126);
	for (i = 0; i < k; i++)
		if (dup2(hi[i], SDLISTEN_FIRST + (int)i) == -1)
			_exit(126);
	setenv_num("LISTEN_FDS", (long)n);
	setenv_num("LISTEN_PID", (long)getpid());
	(void)setenv("LISTEN_FDNAMES", names, 1);
	setenv_num(UPGRADE_FD_ENV, (long)(SDLISTEN_FIRST + n));
	if (cfd != -1)
		setenv_num(UPGRADE_CONTROL_ENV, (long)(SDLISTEN_FIRST + n + 1));
	else
		(void)unsetenv(UPGRADE_CONTROL_ENV);
	if (watchdog_usec != NULL) {
		(void)setenv("WATCHDOG_USEC", watchdog_usec, 1);
		setenv_num("WATCHDOG_PID", (long)getpid());
	}
	if (!srv->opt->daemonize && start_cwd[0] != '\0')
		(void)chdir(start_cwd);
	(void)execv(exe, saved_argv);
	log_warn("upgrade: exec %s", exe);
	_exit(127);
}

static void	on_pipe(void *, uint32_t);

static void
pidfile_aside(void)
{
	const char	*p = daemon_pidfile_path();

	oldbin[0] = '\0';
	if (p == NULL)
		return;
	if ((size_t)snprintf(oldbin, sizeof(oldbin), "%s.oldbin", p) >=
	    sizeof(oldbin) || rename(p, oldbin) == -1) {
		log_warn("upgrade: pid file %s: moving aside", p);
		oldbin[0] = '\0';
	}
}

void
upgrade_start(struct server *srv)
{
	int	p[2];
	pid_t	pid;

	if (newpid != 0) {
		log_warnx("SIGUSR2: an upgrade is under way (new master %ld): "
		    "ignored", (long)newpid);
		return;
	}
	if (exe[0] == '\0' || saved_argv[0] == NULL || srv->opt->inetd) {
		log_warnx("upgrade failed: %s", srv->opt->inetd ?
		    "not with -i" : "the binary's path is unknown");
		return;
	}
	log_notice("SIGUSR2: upgrade: starting %s", exe);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("upgrade failed: pipe");
		return;
	}
	pidfile_aside();
	switch (pid = sig_fork()) {
	case -1:
		log_warn("upgrade failed: fork");
		(void)close(p[0]);
		(void)close(p[1]);
		if (oldbin[0] != '\0')
			(void)rename(oldbin, daemon_pidfile_path());
		return;
	case 0:
		(void)close(p[0]);
		child_exec(srv, p[1]);
		/* NOTREACHED */
	default:
		break;
	}
	(void)close(p[1]);
	newpid = pid;
	rd = p[0];
	handed_over = 0;
	deadline = clock_ms() + upgrade_timeout_ms();
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd != -1)
		(void)fcntl(pidfd, F_SETFD, FD_CLOEXEC);
#endif
	if (liveops_watch(rd, EPOLLIN, on_pipe, srv) == -1)
		log_warn("upgrade: watching the pipe");
}

static void
end_watch(void)
{
	if (rd != -1) {
		liveops_unwatch(rd);
		(void)close(rd);
		rd = -1;
	}
	if (pidfd != -1) {
		(void)close(pidfd);
		pidfd = -1;
	}
}

static void
fail(const char *why)
{
	const char	*p = daemon_pidfile_path();

	if (pidfd != -1) {
#ifdef SYS_pidfd_send_signal
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
#endif
	} else if (newpid > 0)
		(void)kill(newpid, SIGKILL);	/* ours, not yet reaped */
	end_watch();
	/* Our file comes back over whatever the new master left. */
	if (oldbin[0] != '\0' && p != NULL && rename(oldbin, p) == -1)
		log_warn("upgrade: pid file %s: restoring", p);
	oldbin[0] = '\0';
	log_warnx("upgrade failed: %s; old master %ld goes on serving", why,
	    (long)getpid());
	newpid = 0;
	eof_at = 0;
}

static void
succeed(struct server *srv)
{
	size_t	i;

	end_watch();
	handed_over = 1;
	log_notice("upgrade: new master %ld serving; old master %ld "
	    "stopping", (long)newpid, (long)getpid());
	/* systemd's main pid is the new master now: no STOPPING=1 from us. */
	sdnotify_child();
	daemon_pidfile_close();
	if (oldbin[0] != '\0' && unlink(oldbin) == -1)
		log_warn("upgrade: removing %s", oldbin);
	/* The sockets, their paths and the control socket are its own. */
	for (i = 0; i < srv->nls; i++)
		srv->ls[i].owned_path = 0;
	control_handover();
	/* Our own stop, by the signal's path: SIGTERM's dispatch. */
	if (sig_inject(SIGTERM) == -1)
		(void)kill(getpid(), SIGTERM);
}

static void
on_pipe(void *arg, uint32_t ev)
{
	char	c;
	ssize_t	n;

	(void)ev;
	n = read(rd, &c, 1);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == 1) {
		succeed(arg);
		return;
	}
	/*
	 * End of file: the new master is exiting.  Its descriptors close
	 * before its parent hears of it, so give the exit status a moment
	 * to arrive: the reason is worth more than "it went".
	 */
	liveops_unwatch(rd);
	(void)close(rd);
	rd = -1;
	eof_at = clock_ms();
}

/* A reaped new master that never said it was serving. */
static void
died(pid_t pid, int status)
{
	char	why[128];

	if (WIFSIGNALED(status))
		(void)snprintf(why, sizeof(why), "the new master %ld was "
		    "killed by signal %d", (long)pid, WTERMSIG(status));
	else
		(void)snprintf(why, sizeof(why), "the new master %ld exited "
		    "with status %d before it was serving", (long)pid,
		    WEXITSTATUS(status));
	newpid = -1;		/* reaped: fail() must not signal it */
	if (pidfd != -1) {
		(void)close(pidfd);
		pidfd = -1;
	}
	fail(why);
}

int
upgrade_reaped(pid_t pid, int status)
{
	if (pid <= 0 || pid != newpid)
		return 0;
	if (handed_over) {
		log_warnx("upgrade: new master %ld exited (status %d)",
		    (long)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		newpid = 0;
		return 1;
	}
	died(pid, status);
	return 1;
}

/*
 * After end of file on the pipe: the master's waitpid() loop hands us
 * the exit status (upgrade_reaped); with --reap=ignore none comes, so
 * give up after EOF_WAIT_MS.
 */
static int
await_exit(void)
{
	int64_t	now = clock_ms();

	if (now - eof_at >= EOF_WAIT_MS) {
		fail("the new master exited before it was serving");
		return -1;
	}
	return clock_until(eof_at + EOF_WAIT_MS, now);
}

int
upgrade_tick(struct server *srv)
{
	int64_t		now;
	char		why[64];

	(void)srv;
	if (newpid == 0 || handed_over)
		return -1;
	if (eof_at != 0)
		return await_exit();
	now = clock_ms();
	if (now >= deadline) {
		(void)snprintf(why, sizeof(why), "the new master was not "
		    "serving within %g s", (double)upgrade_timeout_ms() / 1000);
		fail(why);
		return -1;
	}
	return (int)(deadline - now);
}
