/*
 * worker.c: the prefork worker's body (see worker.h).
 *
 * Runs confined (serve_enter() in spawn.c has dropped privileges and
 * installed the filter).  Accepting: with one stream listener the worker
 * blocks in accept4(2) on the shared socket; Linux wakes exactly one
 * blocked acceptor per connection, so there is no thundering herd and no
 * lock.  With several listeners each worker has an epoll set with
 * EPOLLEXCLUSIVE on every listener, which keeps the same one-wakeup
 * property.  A receive timeout on the listener (SO_RCVTIMEO, set by the
 * master) bounds how long a worker sits in accept4 without checking its
 * stop flag and its parent.  A TCP connection inherits that timeout,
 * which lets the echo block in recv (echo.h, recv_bounded).
 *
 * Signals: SIGTERM sets a flag (no SA_RESTART): an idle worker leaves
 * accept4 at once, a busy one finishes its connection first.  The
 * master's other signals are ignored (sig_serving).  The worker writes
 * only its own slot: state, served count, peer, limit ticket; the
 * master checks all of it before use.  It leaves after --max-requests
 * (with jitter).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "addr.h"
#include "limit.h"
#include "log.h"
#include "master.h"
#include "pool.h"
#include "scoreboard.h"
#include "server.h"
#include "sig.h"
#include "spawn.h"
#include "worker.h"

static volatile sig_atomic_t worker_stop;

static void
worker_catch(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static int
worker_epoll(const struct server *srv)
{
	struct epoll_event	ev;
	size_t			i;
	int			ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd == -1 || srv->ls[i].socktype != SOCK_STREAM)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLEXCLUSIVE;
		ev.data.fd = srv->ls[i].fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, srv->ls[i].fd, &ev) == -1) {
			(void)close(ep);
			return -1;
		}
	}
	return ep;
}

/* One connection, or -1 (errno) when there is nothing to serve now. */
static int
worker_accept(const struct worker_args *wa, int ep,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct epoll_event	ev;
	int			n;

	if (wa->one_listener) {
		size_t i;

		for (i = 0; i < wa->srv->nls; i++)
			if (wa->srv->ls[i].socktype == SOCK_STREAM)
				return accept4(wa->srv->ls[i].fd,
				    (struct sockaddr *)ss, len, SOCK_CLOEXEC);
		errno = EBADF;
		return -1;
	}
	n = epoll_wait(ep, &ev, 1, WORKER_ACCEPT_TIMEOUT_MS);
	if (n <= 0) {
		if (n == 0)
			errno = EAGAIN;
		return -1;
	}
	return accept4(ev.data.fd, (struct sockaddr *)ss, len,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/*
 * accept4 failed: 0 to try again, -1 to give up serving.  Counted in
 * accept_failed as the fork model's master counts its own.
 */
static int
worker_accept_failed(const struct server *srv, int err, int *logged)
{
	struct timespec	pause = { 0, ACCEPT_PAUSE_MS * 1000000L };

	switch (accept_verdict(err)) {
	case ACCEPT_RETRY:
	case ACCEPT_DONE:
		return 0;
	case ACCEPT_PAUSE:
		/* Out of fds: pause rather than spin. */
		limits_count_accept_failed(srv);
		errno = err;
		if (!*logged)
			log_warn("worker: accept");
		*logged = 1;
		(void)nanosleep(&pause, NULL);
		return 0;
	default:
		limits_count_accept_failed(srv);
		errno = err;
		log_warn("worker: accept");
		return -1;
	}
}

/* One admitted connection, served; the slot says so meanwhile. */
static void
worker_conn(const struct worker_args *wa, struct slot *me, int conn,
    struct sockaddr_storage *ss, socklen_t len)
{
	/*
	 * Busy from the accept on: a worker waiting up to 5 s for a PROXY
	 * header is no spare, and the pool must not count it as one.
	 */
	slot_set_state(wa->sb, me, SLOT_BUSY);
	/* issue #12: the rules, and a --proxy-from source's header. */
	if (rules_refuse(wa->srv, (struct sockaddr *)ss, len) ||
	    proxy_accept(wa->srv, conn, ss, &len) == -1) {
		(void)close(conn);
		return;
	}
	/*
	 * --per-ip/--rate through the shared table; the ticket lands in
	 * our slot under its lock, so the master can release it if we
	 * die mid-connection.
	 */
	if (limits_admit(wa->srv, (struct sockaddr *)ss, len,
	    &me->lim_ticket) == -1) {
		(void)close(conn);
		return;
	}
	(void)addr_ntop((struct sockaddr *)ss, len, me->peer,
	    sizeof(me->peer));
	setproctitle("worker %s", me->peer);
	conn_serve(wa->srv, conn);
	limits_release(wa->srv, &me->lim_ticket);
	me->served++;
}

/*
 * The worker's own handlers: serve_enter() installs them while every
 * signal is still blocked, so a SIGTERM or SIGHUP sent right after the
 * fork is neither lost nor taken with the default action.
 */
void
worker_sigsetup(void)
{
	sig_serving(worker_catch);
}

int
worker_serve(struct server *srv, const struct serve_spec *spec)
{
	const struct worker_args *wa = spec->arg;
	struct slot		*me = spec->ctx;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	long long		 limit;
	int			 ep = -1, conn, logged = 0;

	/* Confined already (serve_enter): the filter allows epoll. */
	if (!wa->one_listener && (ep = worker_epoll(srv)) == -1) {
		log_warn("worker: epoll");
		return 2;
	}
	/*
	 * arc4random() only when there is a limit to jitter: its state is
	 * a mapping of its own, two pages and a getrandom() per worker.
	 */
	limit = srv->opt->max_requests > 0 ?
	    pool_jitter_limit(srv->opt->max_requests, arc4random()) : 0;
	setproctitle("worker idle");
	slot_set_state(wa->sb, me, SLOT_IDLE);
	/*
	 * The death signal (spawn.c) ends us with the master, so the
	 * parent is checked again only when accept4 times out, not per
	 * connection; without one, on every turn.
	 */
	while (!worker_stop) {
#ifndef HAVE_PRCTL
		if (getppid() != srv->master_pid)
			break;
#endif
		len = sizeof(ss);
		if ((conn = worker_accept(wa, ep, &ss, &len)) == -1) {
			if (worker_accept_failed(srv, errno, &logged) == -1)
				return 2;
			if (getppid() != srv->master_pid)
				break;
			continue;
		}
		logged = 0;
		worker_conn(wa, me, conn, &ss, len);
		if (limit > 0 && (long long)me->served >= limit)
			break;
		slot_set_state(wa->sb, me, SLOT_IDLE);
		setproctitle("worker idle");
	}
	slot_set_state(wa->sb, me, SLOT_EXITING);
	return 0;
}
