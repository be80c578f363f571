/*
 * backlog.h: how many connections wait in the listen queues.
 *
 * backlog_queued() sums, over the stream listeners given, the
 * connections the kernel has completed and nobody has accepted yet.  On
 * Linux that is a listening TCP socket's tcpi_unacked (TCP_INFO); UNIX
 * sockets, datagram sockets and other systems count 0, so the pool's
 * burst rule (pool.h) simply never fires there.  One getsockopt per TCP
 * listener, cheap enough for every turn of the prefork master.
 */
#ifndef ECHOD_BACKLOG_H
#define ECHOD_BACKLOG_H

#include <stddef.h>

struct listener;

int	backlog_len(int);
int	backlog_queued(const struct listener *, size_t);

#endif
