/*
 * master.h: the one master loop both process models share.
 *
 * master_run() owns the master from its first fork to its exit status.
 * It keeps what every model needs, once:
 *
 *	- the master's own table of its children (children.h): pid from
 *	  fork()'s return value, role, generation, start time, scoreboard
 *	  slot; signals go only to the processes in it;
 *	- signal dispatch: numbers from the self-pipe (sig.h), acted on in
 *	  the loop: CHLD reap, TERM graceful stop within --grace then
 *	  SIGKILL, INT fast stop, HUP reload, USR1 status line, TTIN/TTOU
 *	  pool floor;
 *	- the one waitpid(WNOHANG) loop (children_reap) and, with
 *	  --reap=ignore, the children's hang-up pipes;
 *	- the status line, the sd_notify status and readiness (svc.h);
 *	- the UDP worker (udp.h) and the limits' shared segments (limit.h);
 *	- the fork-failure backoff (one formula) and the accept-errno
 *	  policy (accept_verdict, which prefork workers use too).
 *
 * A model (struct master_model) holds only what differs: the fork model accepts
 * and spawns one child per connection; the prefork model sizes a pool.
 * Every callback is called from the loop, never from a handler.
 */
#ifndef ECHOD_MASTER_H
#define ECHOD_MASTER_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "children.h"
#include "server.h"
#include "udp.h"

struct master;

struct master_model {
	const char	*name;			/* status line: model= */
	/* Before the first spawn; sets up the model's own state. */
	void	(*start)(struct master *);
	/* The "serving: model=..." line. */
	void	(*announce)(struct master *);
	/* Each turn, not stopping: add poll fds, return a timeout (-1). */
	int	(*prepare)(struct master *, int64_t);
	/* Each turn after poll, not stopping: accept, resize the pool. */
	void	(*polled)(struct master *, int);
	/* A ROLE_CHILD or ROLE_WORKER entry leaves the table. */
	void	(*forget)(struct master *, struct child *);
	/* Gauges into srv->st (from the master's own table) and title. */
	void	(*counts)(struct master *, int);
	/* SIGHUP while serving: log and, for a pool, a new generation. */
	void	(*reload)(struct master *);
	/* SIGTTIN (+1) / SIGTTOU (-1). */
	void	(*resize)(struct master *, int);
	/* Stop begins (SIGTERM or SIGINT): signal what the model owns. */
	void	(*stop)(struct master *, int);
	void	(*finish)(struct master *);
};

struct master {
	struct server		*srv;
	const struct master_model	*model;
	void			*priv;		/* the model's state */
	struct children		 kids;
	struct udpw		 udp;
	struct pollfd		*pfd;
	size_t			 npfd, pfdcap;
	int			 ignore;	/* --reap=ignore (fork model) */
	int			 stopping;	/* 0, SIGTERM or SIGINT */
	int64_t			 deadline;	/* graceful stop ends */
	int64_t			 paused_until;	/* no accept/spawn before */
	int			 pause_logged;
	int			 fork_failures;	/* in a row */
	int64_t			 fork_backoff;	/* ms, 0: none */
	uint32_t		 generation;
	int			 counts_changed;
};

int	master_run(struct server *, const struct master_model *, void *);

/* For the models. */
size_t	master_pfd_add(struct master *, int, short);
struct child *master_spawned(struct master *, pid_t, enum child_role, int);
void	master_fork_failed(struct master *, const char *);
void	master_fork_ok(struct master *);
void	master_pause(struct master *, int64_t, const char *);
int	master_paused(const struct master *, int64_t);
void	master_signal_role(struct master *, enum child_role, int);
void	master_status_changed(struct master *);

/* What to do after accept4() failed with this errno (both models). */
enum accept_verdict {
	ACCEPT_RETRY,		/* a client gave up, a firewall: next one */
	ACCEPT_DONE,		/* nothing queued (EAGAIN) or EINTR */
	ACCEPT_PAUSE,		/* out of fds or memory: pause 100 ms */
	ACCEPT_FAIL		/* anything else: log it */
};
#define ACCEPT_PAUSE_MS		100
#define FORK_BACKOFF_MAX_MS	1000

enum accept_verdict accept_verdict(int);
int64_t	fork_backoff_ms(int);

#endif
