/*
 * server.h: what the master hands to a process model.
 *
 * main() fills a struct server (options, bound listeners, the echo
 * parameters) and calls one model's run function, which hands it to the
 * one master loop (master.h) until echod stops and returns the exit
 * status.  No function pointers: the master calls svc.c directly.  conn_serve() is the one
 * path every serving process takes for a connection, whatever launched
 * it: name the peer, set the process title, echo, log the outcome.
 */
#ifndef ECHOD_SERVER_H
#define ECHOD_SERVER_H

#include <sys/types.h>

#include "echo.h"
#include "listen.h"
#include "options.h"
#include "stats.h"

struct server {
	const struct options	*opt;
	struct listener		 ls[LISTEN_MAX];
	size_t			 nls;
	struct echo_params	 ep;
	/*
	 * The counters the master bumps on every fork: in memory of the
	 * master's own once it runs (privmem.h), so a child holds no
	 * stale copy of their page; never NULL.
	 */
	struct stats		*st;
	pid_t			 master_pid;
	/* issue #5: per-source limits and shared counters (limit.h) */
	struct limits		*lim;		/* NULL: none (inetd mode) */
};

/* harden.h's filter kinds: what a serving process serves. */
#define CHILD_CONN	0	/* fork-model child: one connection */
#define CHILD_WORKER	1	/* prefork worker: the stream listeners */
#define CHILD_UDP	2	/* the UDP worker: the datagram sockets */

int	model_fork_run(struct server *);
int	model_prefork_run(struct server *);

/* Serve one accepted connection in this process; fd is closed after. */
void	conn_serve(const struct server *, int);

#endif
