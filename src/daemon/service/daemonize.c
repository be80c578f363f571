/*
 * daemonize.c: detach and keep a pid file (see daemonize.h).
 *
 * The sequence is daemon(7)'s SysV one.  The first child calls setsid()
 * to leave the terminal's session; it then forks again and exits, so the
 * daemon is not a session leader and opening a terminal can never make
 * it a controlling one.  The parent must not report success before the
 * daemon serves, or "echod -D && echoc ..." would race: it blocks on a
 * pipe whose write end only the daemon holds.  One byte means serving;
 * end of file without it means the daemon died, and its reason is in the
 * log.  The pid file's lock is flock(2)-style, held by the open file
 * description, so it survives both forks; children close their copy so
 * that a dead master's pid file is never kept locked by a child.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <paths.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemonize.h"

static struct pidfh	*pfh;
static const char	*pf_path;
static pid_t		 pf_owner;	/* the pid that may remove it */
static int		 ready_fd = -1;

int
daemon_pidfile_open(const char *path, char *err, size_t errlen)
{
	pid_t	other = -1;

	pf_path = path;
	if ((pfh = pidfile_open(path, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			(void)snprintf(err, errlen, "pidfile %s: held by "
			    "another echod, pid %ld: not starting", path,
			    (long)other);
		else
			(void)snprintf(err, errlen, "pidfile %s: %s", path,
			    strerror(errno));
		return -1;
	}
	pf_owner = getpid();
	return 0;
}

int
daemon_pidfile_write(char *err, size_t errlen)
{
	if (pfh == NULL)
		return 0;
	pf_owner = getpid();
	if (pidfile_write(pfh) == -1) {
		(void)snprintf(err, errlen, "pidfile %s: write: %s", pf_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
daemon_pidfile_remove(void)
{
	if (pfh == NULL || getpid() != pf_owner)
		return;
	(void)pidfile_remove(pfh);
	pfh = NULL;
}

void
daemon_child(void)
{
	if (pfh != NULL) {
		(void)pidfile_close(pfh);
		pfh = NULL;
	}
	if (ready_fd != -1) {
		(void)close(ready_fd);
		ready_fd = -1;
	}
}

/* The process the user started: wait for the daemon's word, then go. */
static void __attribute__((noreturn))
wait_ready(int fd, pid_t first)
{
	char	c;
	ssize_t	n;

	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	(void)waitpid(first, NULL, 0);
	if (n == 1)
		_exit(0);
	(void)fprintf(stderr, "echod: the daemon exited before it was "
	    "serving; see the system log\n");
	_exit(1);
}

int
daemon_detach(char *err, size_t errlen)
{
	int	p[2], null;
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	(void)fflush(NULL);
	switch (pid = fork()) {
	case -1:
		(void)snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	case 0:
		break;
	default:
		(void)close(p[1]);
		wait_ready(p[0], pid);
		/* NOTREACHED */
	}
	(void)close(p[0]);
	if (setsid() == -1)
		_exit(1);		/* cannot happen: a fresh child */
	switch (fork()) {
	case -1:
		_exit(1);		/* the parent reports it */
	case 0:
		break;
	default:
		_exit(0);
	}
	ready_fd = p[1];
	if (chdir("/") == -1) {
		(void)snprintf(err, errlen, "chdir /: %s", strerror(errno));
		return -1;
	}
	if ((null = open(_PATH_DEVNULL, O_RDWR)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", _PATH_DEVNULL,
		    strerror(errno));
		return -1;
	}
	(void)dup2(null, STDIN_FILENO);
	(void)dup2(null, STDOUT_FILENO);
	(void)dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		(void)close(null);
	return 0;
}

void
daemon_ready(void)
{
	ssize_t	n;

	if (ready_fd == -1)
		return;
	do
		n = write(ready_fd, "", 1);
	while (n == -1 && errno == EINTR);
	(void)close(ready_fd);
	ready_fd = -1;
}

int
daemon_pidfile_open_p(void)
{
	return pfh != NULL;
}

const char *
daemon_pidfile_path(void)
{
	return pfh != NULL ? pf_path : NULL;
}

void
daemon_pidfile_close(void)
{
	if (pfh != NULL) {
		(void)pidfile_close(pfh);
		pfh = NULL;
	}
}
