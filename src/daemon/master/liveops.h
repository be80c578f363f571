/*
 * liveops.h: the master's hub for live operations (issue #11): the
 * binary upgrade (upgrade.c) and the control socket (control.c).
 *
 * One epoll descriptor holds every fd those modules watch (the upgrade's
 * readiness pipe, the control listener and its clients), so the master
 * loop (master.c) adds exactly one fd, liveops_fd(), to its poll set and
 * calls liveops_tick() once per turn before it blocks.  The tick
 * dispatches ready fds without blocking, runs the modules' timers and
 * returns the ms until it wants calling again (-1: no need).
 *
 * Actions asked for on the control socket go through the same dispatch
 * as the signals: they are queued with sig_inject() (sig.h), so "reload"
 * is the SIGHUP path and "workers +3" three SIGTTINs, in order.
 *
 * main():	liveops_init() after svc_init(), before the sockets
 * master.c:	liveops_fd() in the poll set, liveops_tick() each turn
 * upgrade.c, control.c: liveops_watch(), liveops_unwatch()
 */
#ifndef ECHOD_LIVEOPS_H
#define ECHOD_LIVEOPS_H

#include <stdint.h>

struct server;

typedef void	(*liveops_cb)(void *, uint32_t);

void	liveops_init(struct server *);
int	liveops_fd(void);		/* -1 until something is watched */
int	liveops_tick(struct server *);
/* Watch fd for events (EPOLLIN, EPOLLOUT); cb(arg, revents) when ready. */
int	liveops_watch(int, uint32_t, liveops_cb, void *);
void	liveops_unwatch(int);

#endif
