/*
 * echoc_ev.h: the smallest event interface the benchmark needs.
 *
 * Edge-triggered readiness for many sockets: epoll(7) on Linux, kqueue(2)
 * with EV_CLEAR on the BSDs.  A socket is registered once, for reading
 * and writing together, when it is created; closing it unregisters it, so
 * a connection costs no event syscalls after its first, and the caller
 * must read and write until EAGAIN (or a short count) before waiting.
 *
 *	ev_open()			the event descriptor, or -1
 *	ev_add(ep, fd, token)		watch fd; token comes back with
 *					its events
 *	ev_wait(ep, evs, n, ms)		up to n events, -1 with errno
 */
#ifndef ECHOD_ECHOC_EV_H
#define ECHOD_ECHOC_EV_H

#include <stdint.h>

#define EV_IN	0x01	/* readable, or EOF / error pending */
#define EV_OUT	0x02	/* writable (or the connect finished) */
#define EV_ERR	0x04	/* an error is pending: SO_ERROR says which */

struct ev_event {
	uint64_t	token;
	unsigned int	what;
};

int	ev_open(void);
int	ev_add(int, int, uint64_t);
int	ev_wait(int, struct ev_event *, int, int);

#endif
