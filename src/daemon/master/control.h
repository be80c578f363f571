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
 * master.c:	control_view() once: the master's own child table and
 *		generation, what "workers" and "status" read
 * the prefork model: control_view_scoreboard(), where a worker's state,
 *		count and peer are (each slot checked before it is read)
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

int	control_open(struct server *, char *, size_t);
int	control_fd(void);
void	control_handover(void);
int	control_tick(struct server *);
void	control_view(const struct children *, const uint32_t *);
void	control_view_scoreboard(const struct scoreboard *);

#endif
