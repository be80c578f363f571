/*
 * model_fork.c: --model=fork, one child per connection.
 *
 * Only what differs from the prefork model lives here: the listeners
 * are in the master's poll set; each accepted connection is admitted by
 * the limits (limit.h) and handed to a new child, and the master closes
 * its copy at once.  When --max-children are serving the listeners
 * leave the poll set: new connections wait in the kernel's backlog
 * instead of being accepted and dropped (s6-tcpserver's rule).  The
 * loop, signals, reaping, stopping and the status line are master.c's.
 *
 * With --reap=ignore the kernel reaps; each child holds the only write
 * end of a pipe whose hang-up tells the master the child is gone (and
 * proves it alive when it must be signalled: children.h).
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "addr.h"
#include "children.h"
#include "clock.h"
#include "limit.h"
#include "log.h"
#include "master.h"
#include "privmem.h"
#include "server.h"
#include "spawn.h"

#define ACCEPT_BURST	32	/* accepts per listener per turn */

struct fork_model {
	size_t	nconn;		/* ROLE_CHILD entries in the table */
	size_t	lfirst;		/* the listeners' first poll slot */
	size_t	last_title;
	int64_t	next_check;	/* limits_check() due */
	int	spare[2];	/* --reap=ignore: the next child's pipe */
};

static struct fork_model	fm_static;
/* Bumped on every fork: in the master's own memory (privmem.h). */
static struct fork_model	*fm = &fm_static;

static void
fork_title(struct master *m)
{
	setproctitle("master fork %zu busy%s", fm->nconn,
	    m->stopping ? " stopping" : "");
}

/*
 * The child's body, confined by serve_enter() (spawn.h).  spec->ctx:
 * the shared cell its proxied ticket goes to (limit.h), or NULL.
 */
static int
fork_serve(struct server *srv, const struct serve_spec *spec)
{
	int	mine, *ticket = spec->ctx != NULL ? spec->ctx : &mine;

	/* Its title, "child PEER", was set by the master (spawn.h). */
	if (proxy_child(srv, spec->conn, ticket) == -1)	/* issue #12 */
		return 0;
	conn_serve(srv, spec->conn);
	limits_release_proxied(srv, ticket);	/* proxy_child's */
	return 0;
}

/*
 * p: with --reap=ignore the child's pipe, made by fork_accept(); ss: the
 * peer, remembered for the control socket.
 */
static void
fork_spawn(struct master *m, int conn, int p[2], int ticket,
    const struct sockaddr_storage *ss, socklen_t sslen)
{
	struct serve_spec	 spec;
	struct child		*ch;
	pid_t			 pid;
	int			 cell;
	char			 title[sizeof("child ") + ADDR_STRLEN];
	char			 peer[ADDR_STRLEN];

	memset(&spec, 0, sizeof(spec));
	spec.role = SERVE_CONN;
	spec.conn = spec.keep[spec.nkeep++] = conn;
	if (p[1] != -1)
		spec.keep[spec.nkeep++] = p[1];
	spec.serve = fork_serve;
	/*
	 * "child 127.0.0.1:51000" (made printable by addr_ntop), written
	 * by the master before the fork so that the child writes no page
	 * for it; behind --proxy-from, the proxy's address.
	 */
	(void)snprintf(title, sizeof(title), "child %s", sslen > 0 ?
	    addr_ntop((const struct sockaddr *)ss, sslen, peer,
	    sizeof(peer)) : "serving");
	spec.title = title;
	cell = limits_cell_take(m->srv);	/* -1 without --proxy-from */
	spec.ctx = limits_cell(m->srv, cell);
	pid = spawn_serving(m->srv, &spec);
	fm->last_title = (size_t)-1;	/* the master's own, back next turn */
	(void)close(conn);
	if (p[1] != -1)
		(void)close(p[1]);
	if (pid == -1) {
		if (p[0] != -1)
			(void)close(p[0]);
		limits_release(m->srv, &ticket);
		(void)limits_cell_reaped(m->srv, cell, 0);
		master_fork_failed(m, "fork: accepting again in");
		return;
	}
	ch = master_spawned(m, pid, ROLE_CHILD, p[0]);
	ch->ticket = ticket;		/* released when it leaves */
	ch->cell = cell;		/* given back when it leaves */
	if (sslen <= sizeof(ch->peer)) {
		memcpy(&ch->peer, ss, sslen);
		ch->peerlen = sslen;
	}
	fm->nconn++;
	m->srv->st->served++;
	master_fork_ok(m);
}

static int
fork_can_accept(struct master *m, int64_t now)
{
	return fm->nconn < (size_t)m->srv->opt->max_children &&
	    !master_paused(m, now);
}

/* Returns 0 to go on accepting, -1 to stop this burst. */
static int
fork_accept_failed(struct master *m, int err)
{
	switch (accept_verdict(err)) {
	case ACCEPT_RETRY:
		return 0;
	case ACCEPT_DONE:
		return -1;
	case ACCEPT_PAUSE:
		/* Don't spin on a full fd table: pause. */
		m->srv->st->accept_failed_master++;
		errno = err;
		master_pause(m, ACCEPT_PAUSE_MS, "accept");
		return -1;
	default:
		m->srv->st->accept_failed_master++;
		errno = err;
		log_warn("accept");
		return -1;
	}
}

static void
fork_accept(struct master *m, int lfd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 i, conn, ticket;
	int			*p = fm->spare;

	for (i = 0; i < ACCEPT_BURST && fork_can_accept(m, clock_ms()); i++) {
		/*
		 * --reap=ignore: each child costs the master one fd, its
		 * pipe.  Make the pipe before accepting, so that running out
		 * of fds leaves the connection waiting in the backlog; the
		 * one made for a connection that did not come is kept for
		 * the next (a pipe2 and two closes per turn saved).
		 */
		if (m->ignore && p[0] == -1 && pipe2(p, O_CLOEXEC) == -1) {
			master_pause(m, ACCEPT_PAUSE_MS, "pipe2");
			break;
		}
		sslen = sizeof(ss);
		conn = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (conn == -1) {
			if (fork_accept_failed(m, errno) == -1)
				break;
			continue;
		}
		m->pause_logged = 0;
		if (rules_refuse(m->srv, (struct sockaddr *)&ss, sslen)) {
			(void)close(conn);	/* issue #12: no fork */
			continue;
		}
		/* --per-ip and --rate, decided here, exactly. */
		if (limits_admit(m->srv, (struct sockaddr *)&ss, sslen,
		    &ticket) == -1) {
			(void)close(conn);
			continue;	/* the pipe waits for the next one */
		}
		/* The pipe is the child's. */
		fork_spawn(m, conn, p, ticket, &ss, sslen);
		p[0] = p[1] = -1;
	}
}

static void
fork_start(struct master *m)
{
	struct server	*srv = m->srv;

	/*
	 * Connections inherit the idle timeout as their receive timeout,
	 * so a child may block in recv rather than poll (echo.h).
	 */
	srv->ep.recv_bounded = srv->ep.idle_timeout_ms == 0 ||
	    listeners_bound_recv(srv->ls, srv->nls, srv->ep.idle_timeout_ms);
	memset(fm, 0, sizeof(*fm));
	fm->spare[0] = fm->spare[1] = -1;
	fork_title(m);
}

static void
fork_announce(struct master *m)
{
	log_info("serving: model=fork reap=%s max-children=%d",
	    reap_name(m->srv->opt->reap), m->srv->opt->max_children);
}

static int
fork_prepare(struct master *m, int64_t now)
{
	struct server	*srv = m->srv;
	size_t		 i;
	int		 accepting = fork_can_accept(m, now);

	fm->lfirst = m->npfd;
	for (i = 0; i < srv->nls; i++)
		(void)master_pfd_add(m, srv->ls[i].fd, accepting &&
		    srv->ls[i].socktype == SOCK_STREAM ? POLLIN : 0);
	if (!accepting && master_paused(m, now))
		return clock_until(m->paused_until, now);
	return -1;
}

/*
 * The fork model's limit table is the master's own, but its counters
 * page is shared with the children and the UDP worker, and with
 * --proxy-from the children share a table of the headers' sources: a
 * child that scribbles on either must not freeze it for good.
 */
static void
fork_check_shared(struct master *m, int64_t now)
{
	if (now < fm->next_check)
		return;
	fm->next_check = now + 1000;
	if (limits_check(m->srv) != -1)
		return;
	log_warnx("shared memory corrupt (the counters or the proxied "
	    "sources' table): new segments");
	if (limits_renew(m->srv) == -1)
		log_warnx("limits: new segments could not be made, the old "
		    "ones are kept");
	master_signal_role(m, ROLE_UDP, SIGTERM);
}

static void
fork_polled(struct master *m, int n)
{
	size_t	i;

	fork_check_shared(m, clock_ms());
	if (n <= 0)
		return;
	for (i = fm->lfirst; i < fm->lfirst + m->srv->nls; i++)
		if (m->pfd[i].revents & POLLIN)
			fork_accept(m, m->pfd[i].fd);
}

/*
 * A child leaves the table: its --per-ip count goes, and so does the
 * count of a PROXY header's source it held, if it died holding one
 * (a bad cell makes the next limits_check() renew that table).
 */
static void
fork_forget(struct master *m, struct child *ch)
{
	limits_release(m->srv, &ch->ticket);
	(void)limits_cell_reaped(m->srv, ch->cell, ch->pid);
	ch->cell = -1;
	if (fm->nconn > 0)
		fm->nconn--;
}

static void
fork_counts(struct master *m, int force)
{
	struct stats	*st = m->srv->st;

	st->workers = st->busy = st->open = (int)fm->nconn;
	st->idle = 0;
	if (force || fm->nconn != fm->last_title) {
		fm->last_title = fm->nconn;
		fork_title(m);
	}
}

static void
fork_reload(struct master *m)
{
	(void)m;
	log_info("SIGHUP: log reopened (fork model: no workers to replace)");
}

static void
fork_resize(struct master *m, int delta)
{
	/* TTIN/TTOU size the prefork pool: nothing to do here. */
	(void)m;
	(void)delta;
}

static void
fork_stop(struct master *m, int how)
{
	/* SIGTERM: connections finish by themselves within --grace. */
	(void)how;
	if (fm->spare[0] != -1) {	/* no child will take it now */
		(void)close(fm->spare[0]);
		(void)close(fm->spare[1]);
		fm->spare[0] = fm->spare[1] = -1;
	}
	fork_title(m);
}

static void
fork_finish(struct master *m)
{
	(void)m;
}

static const struct master_model fork_model = {
	"fork", fork_start, fork_announce, fork_prepare, fork_polled,
	fork_forget, fork_counts, fork_reload, fork_resize, fork_stop,
	fork_finish
};

int
model_fork_run(struct server *srv)
{
	struct fork_model	*p;

	if ((p = privmem_alloc(1, sizeof(*p))) != NULL)
		fm = p;
	return master_run(srv, &fork_model, fm);
}
