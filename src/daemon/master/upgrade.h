/*
 * upgrade.h: SIGUSR2, replacing the running binary without refusing a
 * connection (issue #11).
 *
 * The old master forks; the child puts every listener at fds 3.. (clear
 * of close-on-exec), sets LISTEN_FDS, LISTEN_PID (its own pid),
 * LISTEN_FDNAMES, ECHOD_UPGRADE_FD (the write end of a readiness pipe)
 * and, with --control, ECHOD_CONTROL_FD, and execs the binary at the
 * path resolved at start with the saved arguments.  The new master
 * adopts the sockets through sdlisten.c like any socket-activated echod,
 * and when its workers are started it sends MAINPID=/READY=1 (under
 * systemd), writes its pid file, and one byte on the pipe.  The old
 * master then stops like on SIGTERM; if the pipe closes first, or 30 s
 * pass, it kills the new one and goes on serving: "upgrade failed: ...".
 * A UNIX socket the old master bound goes with its path: named
 * UPGRADE_PATH_NAME in LISTEN_FDNAMES, it is the new master's to remove
 * when it stops (upgrade_before_ready()).
 *
 * main():	upgrade_save_argv() first of all, upgrade_inherited() to
 *		skip -D's detach and the early pid file write in a new master
 * liveops.c:	upgrade_adopt(), upgrade_tick()
 * master.c:	upgrade_before_ready() and upgrade_ready() around
 *		svc_ready(); upgrade_start() on SIGUSR2 unless stopping;
 *		upgrade_reaped() first for every status its waitpid() loop
 *		collects (children.h on_reaped)
 */
#ifndef ECHOD_UPGRADE_H
#define ECHOD_UPGRADE_H

#include <sys/types.h>

#define UPGRADE_TIMEOUT_MS	30000
#define UPGRADE_FD_ENV		"ECHOD_UPGRADE_FD"
#define UPGRADE_CONTROL_ENV	"ECHOD_CONTROL_FD"
/* LISTEN_FDNAMES name of a UNIX socket whose path the old master bound. */
#define UPGRADE_PATH_NAME	"echod-unix-path"

struct server;

void	upgrade_save_argv(int, char **);
void	upgrade_adopt(struct server *);
int	upgrade_inherited(void);	/* this master was started by one */
int	upgrade_control_fd(void);	/* inherited control socket, or -1 */
int	upgrade_busy(void);		/* a new master is starting */
void	upgrade_start(struct server *);
int	upgrade_reaped(pid_t, int);
int	upgrade_tick(struct server *);
void	upgrade_before_ready(struct server *);
void	upgrade_ready(struct server *);
/* Pure, for tests: the binary to run given argv[0], cwd and exe link. */
int	upgrade_pick_path(const char *, const char *, const char *, char *,
	    size_t);

#endif
