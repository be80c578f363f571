/*
 * liveops.h: the master's hub for live operations (issue #11): the
 * binary upgrade (upgrade.c) and the control socket (control.c).
 *
 * One epoll descriptor holds every fd those modules watch (the upgrade's
 * readiness pipe, the control listener and its clients), so a process
 * model adds exactly one fd, liveops_fd(), to its poll set.  The work is
 * done from the struct server on_tick hook, which a model already calls
 * once per turn of its loop before it blocks: liveops_init() chains its
 * own tick in front of svc.c's, and its own on_ready likewise.  The tick
 * dispatches ready fds without blocking, runs the modules' timers, and
 * raises at most one injected signal (see liveops_inject()).
 *
 * Actions asked for on the control socket go through the same path as
 * the signals: liveops_inject(SIGHUP) is kill(getpid(), SIGHUP), one per
 * turn, so "workers +3" is three SIGTTINs the master handles one by one,
 * whether its dispatch keeps flags or a queue of numbers.
 */
#ifndef ECHOD_LIVEOPS_H
#define ECHOD_LIVEOPS_H

#include <stdint.h>

struct server;

typedef void	(*liveops_cb)(void *, uint32_t);

void	liveops_init(struct server *);
int	liveops_fd(void);
/* Watch fd for events (EPOLLIN, EPOLLOUT); cb(arg, revents) when ready. */
int	liveops_watch(int, uint32_t, liveops_cb, void *);
void	liveops_unwatch(int);
/* Queue a signal for this process, raised on a later turn. */
void	liveops_inject(int);
long long liveops_now_ms(void);		/* CLOCK_MONOTONIC */

#endif
