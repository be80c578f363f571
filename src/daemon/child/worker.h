/*
 * worker.h: the prefork worker's body, entered through serve_enter().
 *
 * The master (model_prefork.c) passes a struct worker_args as the
 * serve_spec's arg and the worker's scoreboard slot as its ctx; both are
 * the worker's copies of the master's memory at fork(), so a later
 * renewal of the scoreboard in the master does not move them.
 */
#ifndef ECHOD_WORKER_H
#define ECHOD_WORKER_H

struct scoreboard;
struct server;
struct serve_spec;

#define WORKER_ACCEPT_TIMEOUT_MS	1000	/* SO_RCVTIMEO, epoll wait */

struct worker_args {
	struct server		*srv;
	struct scoreboard	*sb;
	int			 one_listener;	/* blocking accept4 */
};

int	worker_serve(struct server *, const struct serve_spec *);

#endif
