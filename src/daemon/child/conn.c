/*
 * conn.c: serve one connection and say how it went (see server.h).
 *
 * The per-connection line (-v) names both ends, the bytes each way, the
 * duration and how it ended: "conn 127.0.0.1:51000 -> 127.0.0.1:7
 * in=64 out=64 time=0.001s end=eof".  Only the serving process writes it,
 * so the master never waits on a child to log.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "harden.h"
#include "limit.h"
#include "log.h"
#include "server.h"
#include "sig.h"

static double
elapsed(const struct timespec *a)
{
	struct timespec	b;

	(void)clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) +
	    (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void
names(int fd, char *peer, size_t plen, char *local, size_t llen)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		(void)addr_ntop((struct sockaddr *)&ss, len, peer, plen);
	else
		(void)strlcpy(peer, "?", plen);
	len = sizeof(ss);
	if (local != NULL) {
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			(void)addr_ntop((struct sockaddr *)&ss, len, local,
			    llen);
		else
			(void)strlcpy(local, "?", llen);
	}
}

void
conn_serve(const struct server *srv, int fd)
{
	struct echo_result	 res;
	struct timespec		 t0;
	char			 peer[ADDR_STRLEN + 110];
	char			 local[ADDR_STRLEN + 110];
	int			 verbose = log_level() >= LOG_LEVEL_VERBOSE;

	/* Naming the peer costs a syscall; only pay it when it shows. */
	if (verbose) {
		names(fd, peer, sizeof(peer), local, sizeof(local));
		(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	}
	memset(&res, 0, sizeof(res));
	echo_serve(fd, &srv->ep, &res);
	(void)close(fd);
	if (res.end == ECHO_END_IDLE)		/* issue #5: counted */
		limits_count_idle(srv);
	if (verbose)
		log_conn("conn %s -> %s in=%llu out=%llu time=%.3fs end=%s%s%s",
		    peer, local, (unsigned long long)res.bytes_in,
		    (unsigned long long)res.bytes_out, elapsed(&t0),
		    echo_end_name(res.end),
		    res.end == ECHO_END_ERROR ? " error=" : "",
		    res.end == ECHO_END_ERROR ? strerror(res.error) : "");
}
