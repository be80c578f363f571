/*
 * daemonize.h: -D and -P, the classic daemon.
 *
 * daemon_pidfile_open() creates and locks the pid file with libbsd's
 * pidfile_open(); if another process holds it, the message names that
 * process's pid.  daemon_detach() forks, setsid()s, forks again, moves to
 * "/" and points stdio at /dev/null; the original process stays behind,
 * waiting on a pipe, and exits 0 only when daemon_ready() says the
 * daemon serves (1 if the daemon dies first).  daemon_pidfile_write()
 * then records the serving pid.  daemon_child() is for every child the
 * master forks: it closes the pid file (not removing it) and the pipe.
 * daemon_pidfile_remove() is for the master's clean exits only.
 */
#ifndef ECHOD_DAEMONIZE_H
#define ECHOD_DAEMONIZE_H

#include <stddef.h>

int	daemon_pidfile_open(const char *, char *, size_t);
int	daemon_pidfile_open_p(void);
int	daemon_pidfile_write(char *, size_t);
void	daemon_pidfile_remove(void);
int	daemon_detach(char *, size_t);
void	daemon_ready(void);
void	daemon_child(void);
/* issue #11, upgrade.c: the pid file's path (NULL: none held), and
 * giving it up without removing it (the new master owns PATH now). */
const char *daemon_pidfile_path(void);
void	daemon_pidfile_close(void);

#endif
