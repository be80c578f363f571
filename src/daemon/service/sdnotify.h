/*
 * sdnotify.h: the systemd notify protocol, for the master only.
 *
 * sdnotify_init() reads NOTIFY_SOCKET (and WATCHDOG_USEC/WATCHDOG_PID)
 * once; when it is unset every other call does nothing, so callers need
 * not check.  Messages go through libsystemd's sd_notify() when echod was
 * built with it, else through the documented protocol (one datagram to a
 * UNIX socket, '@' meaning the abstract namespace) in sdnotify.c.
 *
 * What the models see is svc.c's hooks in struct server; this module
 * keeps the state behind them:
 *	sdnotify_ready()	READY=1 (+ STATUS, + MAINPID after -D)
 *	sdnotify_status()	STATUS=..., at most once a second: a change
 *				inside the second is held and sent by a
 *				later sdnotify_tick()
 *	sdnotify_reloading()	RELOADING=1 + MONOTONIC_USEC=, or READY=1
 *	sdnotify_stopping()	STOPPING=1
 *	sdnotify_tick()		send what is due (held STATUS, WATCHDOG=1
 *				every half WATCHDOG_USEC); returns the ms
 *				until it must be called again, -1: never
 * The formatting functions are pure, for the Check suite.
 */
#ifndef ECHOD_SDNOTIFY_H
#define ECHOD_SDNOTIFY_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

int	sdnotify_init(void);		/* 1: NOTIFY_SOCKET set, 0: not */
int	sdnotify_enabled(void);
void	sdnotify_ready(const struct stats *, const char *, int);
void	sdnotify_status(const struct stats *, const char *);
void	sdnotify_reloading(int);
void	sdnotify_stopping(void);
int	sdnotify_tick(void);
void	sdnotify_child(void);		/* in a child: forget it all */
int	sdnotify_send(const char *);

/* Pure helpers. */
size_t	sdnotify_format_status(const struct stats *, const char *, char *,
	    size_t);
size_t	sdnotify_format_reloading(uint64_t, char *, size_t);
/* WATCHDOG_USEC/WATCHDOG_PID for this pid: interval in usec, 0: off. */
uint64_t sdnotify_watchdog_parse(const char *, const char *, pid_t);
/* The documented protocol, without libsystemd: 0 or -1 with errno. */
int	sdnotify_send_to(const char *, const char *);

#endif
