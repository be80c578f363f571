/*
 * svc.h: echod as a service: launchers, readiness, privileges.
 *
 * main() calls, in this order:
 *	svc_init()		resolve --user/--group, read NOTIFY_SOCKET
 *	svc_sockets()		where the sockets come from: fd 0 (-i),
 *				systemd's LISTEN_FDS, or "bind them yourself"
 *	svc_privdrop_master()	after binding: drop the master too when it
 *				needs root for nothing later, else prove in a
 *				throw-away child that the drop works
 * and then runs the master (master.c), which calls, directly:
 *	svc_ready()	daemon_ready() (the -D parent may exit 0), READY=1
 *	svc_status()	STATUS=, rate-limited
 *	svc_reload()	RELOADING=1 + MONOTONIC_USEC= / READY=1
 *	svc_stopping()	STOPPING=1
 *	svc_tick()	sends held STATUS and WATCHDOG=1; returns the ms
 *			until it wants calling again (-1: no need)
 * and every serving process, from serve_enter() (spawn.h), calls
 *	svc_child_drop()	forget the pid file and the -D pipe, stop
 *			talking to systemd, drop privileges
 */
#ifndef ECHOD_SVC_H
#define ECHOD_SVC_H

#include <stddef.h>

#include "server.h"

enum svc_source {
	SVC_BIND,		/* nothing inherited: bind --listen */
	SVC_ADOPTED,		/* srv->ls holds inherited listeners */
	SVC_CONN,		/* one connected socket: serve it, exit */
	SVC_DGRAM		/* inetd dgram wait: serve UDP on it, exit */
};

int	svc_init(struct server *, char *, size_t);
int	svc_sockets(struct server *, int *, char *, size_t);
int	svc_privdrop_master(struct server *, char *, size_t);
void	svc_set_detached(int);
/* In a serving process: forget master-only state, drop privileges. */
int	svc_child_drop(char *, size_t);
const char	*svc_user(void);

void	svc_ready(struct server *);
void	svc_status(struct server *);
void	svc_reload(struct server *, int);
void	svc_stopping(struct server *);
int	svc_tick(struct server *);

#endif
