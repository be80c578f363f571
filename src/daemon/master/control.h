/*
 * control.h: --control=PATH, the master's control socket (issue #11).
 *
 * A UNIX stream socket, mode 0600, owned by the user the master runs as,
 * removed when the master exits (not when it hands the socket to a new
 * master on SIGUSR2).  Peers whose SO_PEERCRED uid is neither 0 nor the
 * master's are refused.  Protocol: one request line of at most 256 bytes,
 * one answer, then close (echod(8) lists the requests).  At most
 * CONTROL_CLIENTS at once, each cut CONTROL_CLIENT_MS after it connected;
 * all of it non-blocking, from liveops' tick.
 *
 * main():	control_open() after the master's privileges are settled
 * the model:	control_view_prefork() or control_view_fork() once, with
 *		what "workers" and "status" read
 * upgrade.c:	control_fd(), control_handover()
 */
#ifndef ECHOD_CONTROL_H
#define ECHOD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#define CONTROL_CLIENTS		4
#define CONTROL_CLIENT_MS	1000
#define CONTROL_LINE_MAX	256

struct server;
struct scoreboard;
struct children;
struct udpw;

int	control_open(struct server *, char *, size_t);
int	control_fd(void);
void	control_handover(void);
int	control_tick(struct server *);
void	control_view_prefork(const struct scoreboard *, const uint32_t *,
	    const struct udpw *);
void	control_view_fork(const struct children *, const struct udpw *);

#endif
