/*
 * model_prefork.c: --model=prefork, the default: a pool of workers that
 * each accept and serve one connection at a time.
 *
 * Only what differs from the fork model lives here: pool sizing and the
 * workers' bookkeeping.  The master never touches a connection.  It
 * spawns workers (worker.c) into scoreboard slots it claims by its own
 * records, and sizes the pool with pool.c's rules, woken by the loop
 * (master.c) on a signal, on a byte from a worker that took the last
 * spare (the wake pipe), or at pool.c's next deadline.
 *
 * Every count the master acts on is recomputed from its own table of
 * children each time: for each of its workers it reads that worker's
 * slot through scoreboard_slot_check(), which says whether the slot
 * still names that pid with a sane state.  A slot that does not, or a
 * limit table limits_check()/limits_reaped() call corrupt, makes the
 * master renew the shared segments: one log line, fresh mappings, every
 * worker retired (a new generation), service goes on.
 *
 * Signals (from master.c): HUP new generation (every worker of the old
 * one retired with SIGTERM: idle ones leave at once, busy ones finish),
 * TTIN/TTOU floor +1/-1, TERM: SIGTERM to every worker.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backlog.h"
#include "children.h"
#include "control.h"
#include "clock.h"
#include "limit.h"
#include "log.h"
#include "master.h"
#include "pool.h"
#include "privmem.h"
#include "scoreboard.h"
#include "server.h"
#include "spawn.h"
#include "udp.h"
#include "worker.h"

struct prefork {
	struct server		*srv;
	struct master		*m;
	struct scoreboard	*sb;		/* shared: untrusted */
	struct pool_ctl		 ctl;
	struct pool_policy	 pol;
	struct pool_decision	 dec;
	int			 wake[2];
	size_t			 wake_pfd;
	uint64_t		 served_gone;	/* by workers already reaped */
	struct worker_args	*wargs;		/* the workers' copy */
	int			 last_total, last_idle, last_busy;
	uint64_t		 last_served;	/* STATUS= carries it too */
	const char		*corrupt;	/* why, or NULL */
	int64_t			 next_check;	/* limits_check() due */
};

/* Counted from the master's own table, each time (never accumulated). */
struct pool_counts {
	int	alive;		/* every worker in the table */
	int	active;		/* not being retired */
	int	idle;		/* active and idle or starting */
	int	busy;
	uint64_t served;
};


/* ---- the master ---------------------------------------------------- */

/*
 * The workers read the scoreboard's geometry and their arguments, so
 * those stay in ordinary memory; the rest, rewritten on every turn of
 * the loop, lives in the master's own (privmem.h): no worker keeps a
 * stale private copy of its page (issue #10).
 */
static struct prefork		pfs;
static struct scoreboard	prefork_sb;
static struct worker_args	prefork_wargs;

/*
 * A worker's slot as the master may believe it: 1 and *state if the
 * slot still names this worker with a state a live worker can have; 0
 * for a worker of thrown-away segments (no slot); -1 if the slot is
 * corrupt (a pid or a state no worker of ours should have written).
 */
static int
slot_read(struct prefork *pf, const struct child *ch, int *state,
    uint64_t *served)
{
	if (ch->slot < 0)
		return 0;
	if (scoreboard_slot_check(pf->sb, (size_t)ch->slot, ch->pid,
	    state) == -1)
		return -1;
	if (served != NULL)
		*served = scoreboard_slot_served(pf->sb, (size_t)ch->slot);
	return 1;
}

static void
pool_count(struct prefork *pf, struct pool_counts *c)
{
	struct children	*k = &pf->m->kids;
	size_t		 i;
	uint64_t	 served;
	int		 st;

	memset(c, 0, sizeof(*c));
	c->served = pf->served_gone;
	for (i = 0; i < k->n; i++) {
		struct child *ch = &k->tab[i];

		if (ch->role != ROLE_WORKER)
			continue;
		c->alive++;
		c->active += !ch->retiring;
		switch (slot_read(pf, ch, &st, &served)) {
		case -1:
			pf->corrupt = "a slot names another process";
			c->busy++;
			continue;
		case 0:
			c->busy++;	/* old segments: may be serving */
			continue;
		}
		c->served += served;
		if (st == SLOT_BUSY)
			c->busy++;
		else if (!ch->retiring && st != SLOT_EXITING)
			c->idle++;
	}
}

static void
prefork_counts(struct master *m, int force)
{
	struct prefork		*pf = m->priv;
	struct stats		*st = m->srv->st;
	struct pool_counts	 c;

	pool_count(pf, &c);
	st->workers = c.alive;
	st->idle = c.idle;
	st->busy = c.busy;
	st->open = c.busy;
	st->served = c.served;
	st->backoff_ms = (long)(pf->ctl.backoff_ms > m->fork_backoff ?
	    pf->ctl.backoff_ms : m->fork_backoff);
	if (force || c.alive != pf->last_total || c.idle != pf->last_idle ||
	    c.busy != pf->last_busy || c.served != pf->last_served) {
		pf->last_served = c.served;
		pf->last_total = c.alive;
		pf->last_idle = c.idle;
		pf->last_busy = c.busy;
		setproctitle("master prefork %d idle %d busy%s", c.idle,
		    c.busy, m->stopping ? " stopping" : "");
		m->counts_changed = 1;
	}
}

static int
spawn_worker(struct prefork *pf)
{
	struct master		*m = pf->m;
	struct serve_spec	 spec;
	struct child		*ch;
	pid_t			 pid;
	ssize_t			 idx;

	/* A slot free by the master's own records (scoreboard.h). */
	if ((idx = scoreboard_claim(pf->sb, m->generation)) == -1)
		fatalx("%s: scoreboard full", __func__);
	memset(&spec, 0, sizeof(spec));
	spec.role = SERVE_WORKER;
	spec.keep[spec.nkeep++] = pf->wake[1];	/* the rest is closed */
	spec.serve = worker_serve;
	spec.sigsetup = worker_sigsetup;	/* before any signal gets in */
	spec.arg = pf->wargs;
	spec.ctx = &pf->sb->slot[idx];
	if ((pid = spawn_serving(m->srv, &spec)) == -1) {
		scoreboard_vacate(pf->sb, (size_t)idx);
		master_fork_failed(m, "fork: respawn backoff");
		return -1;
	}
	scoreboard_assign(pf->sb, (size_t)idx, pid);
	ch = master_spawned(m, pid, ROLE_WORKER, -1);
	ch->slot = (int)idx;
	master_fork_ok(m);
	return 0;
}

static void
retire(struct child *ch)
{
	ch->retiring = 1;
	(void)children_kill(ch, SIGTERM);
}

/* Newest idle first: old workers have warm caches and no jitter debt. */
static int
retire_idle(struct prefork *pf, int n)
{
	struct children	*k = &pf->m->kids;
	struct child	*pick;
	size_t		 i;
	int		 done, st;

	for (done = 0; done < n; done++) {
		pick = NULL;
		for (i = 0; i < k->n; i++) {
			struct child *ch = &k->tab[i];

			if (ch->role != ROLE_WORKER || ch->retiring ||
			    slot_read(pf, ch, &st, NULL) != 1 ||
			    st != SLOT_IDLE)
				continue;
			if (pick == NULL || ch->start_ms > pick->start_ms)
				pick = ch;
		}
		if (pick == NULL)
			break;
		retire(pick);
	}
	return done;
}

/* Crash-loop backoff ends once a worker has lived long enough. */
static void
backoff_check(struct prefork *pf, int64_t now)
{
	struct children	*k = &pf->m->kids;
	size_t		 i;
	int		 st;

	if (pf->ctl.backoff_ms == 0)
		return;
	for (i = 0; i < k->n; i++) {
		struct child *ch = &k->tab[i];

		if (ch->role != ROLE_WORKER ||
		    slot_read(pf, ch, &st, NULL) != 1 || st == SLOT_STARTING)
			continue;
		if (now - ch->start_ms >= POOL_EARLY_DEATH_MS) {
			if (pool_worker_lived(&pf->ctl))
				log_info("workers live again: respawn backoff "
				    "over");
			return;
		}
		/* Look again the moment it has proven itself. */
		if (ch->start_ms + POOL_EARLY_DEATH_MS < pf->dec.wake_ms)
			pf->dec.wake_ms = ch->start_ms + POOL_EARLY_DEATH_MS;
	}
}

static void
maintain(struct prefork *pf)
{
	struct master		*m = pf->m;
	struct pool_counts	 c;
	int64_t			 now = clock_ms();
	int			 i;

	if (m->stopping)
		return;
	pool_count(pf, &c);
	/* issue #10: the listen queue's length feeds the burst rule. */
	pool_decide(&pf->ctl, &pf->pol, c.active, c.idle, c.alive,
	    backlog_queued(pf->srv->ls, pf->srv->nls), now, &pf->dec);
	if (master_paused(m, now)) {		/* fork failed: wait */
		pf->dec.spawn = 0;
		if (m->paused_until < pf->dec.wake_ms)
			pf->dec.wake_ms = m->paused_until;
	}
	for (i = 0; i < pf->dec.spawn; i++)
		if (spawn_worker(pf) == -1)
			break;
	if (pf->dec.retire > 0)
		(void)retire_idle(pf, pf->dec.retire);
	/* Growing or not short any more: let workers wake us again. */
	if (pf->dec.spawn > 0 || c.idle >= pf->pol.min_spare)
		pf->sb->hdr->wake_pending = 0;
	backoff_check(pf, now);
}

/*
 * Shared state found corrupt: log it once, throw the segments away,
 * make fresh ones, replace every worker (one new generation), go on.
 * Workers of the old segments keep their mapping until they leave; the
 * master no longer reads it (their slot is forgotten: -1).
 */
/*
 * A new generation: retire every worker of an older one (detach: and
 * forget their slots, which are in segments being thrown away).
 */
static int
retire_older(struct master *m, int detach)
{
	struct children	*k = &m->kids;
	size_t		 i;
	int		 n = 0;

	m->generation++;
	for (i = 0; i < k->n; i++) {
		struct child *ch = &k->tab[i];

		if (ch->role != ROLE_WORKER)
			continue;
		if (detach)
			ch->slot = -1;
		if (!ch->retiring && ch->generation != m->generation) {
			retire(ch);
			n++;
		}
	}
	return n;
}

static void
renew_shared(struct prefork *pf)
{
	struct master	*m = pf->m;
	int		 n;

	log_warnx("shared memory corrupt (%s): new segments, replacing "
	    "every worker", pf->corrupt);
	pf->corrupt = NULL;
	n = retire_older(m, 1);
	if (scoreboard_renew(pf->sb) == -1)
		log_warn("scoreboard: the old one is kept");
	if (limits_renew(m->srv) == -1)
		log_warnx("limits: new segments could not be made, the old "
		    "ones are kept");
	/* The UDP worker counts in the old page: a fresh one for the new. */
	master_signal_role(m, ROLE_UDP, SIGTERM);
	log_info("generation %u, replacing %d workers", m->generation, n);
	maintain(pf);
}

/* A worker leaves the table (reaped): settle its slot. */
static void
prefork_forget(struct master *m, struct child *ch)
{
	struct prefork	*pf = m->priv;
	int64_t		 now = clock_ms();
	uint64_t	 served;
	int		 st;

	if (!m->stopping && pool_worker_exited(&pf->ctl, ch->abnormal,
	    now - ch->start_ms, now)) {
		if (pf->ctl.backoff_ms > 0)
			log_warnx("workers die right after start: respawn "
			    "backoff %lld ms", pf->ctl.backoff_ms);
		else
			log_info("respawn backoff over");
	}
	switch (slot_read(pf, ch, &st, &served)) {
	case 0:
		return;		/* old segments: nothing of ours to settle */
	case -1:
		pf->corrupt = "a reaped worker's slot names another process";
		scoreboard_vacate(pf->sb, (size_t)ch->slot);
		return;
	}
	pf->served_gone += served;
	/* Died holding a --per-ip count: give it back (checked there). */
	if (limits_reaped(m->srv, ch->pid,
	    scoreboard_slot_ticket(pf->sb, (size_t)ch->slot)) == -1)
		pf->corrupt = "the limit table";
	scoreboard_vacate(pf->sb, (size_t)ch->slot);
}

static void
prefork_reload(struct master *m)
{
	struct prefork	*pf = m->priv;
	int		 n = retire_older(m, 0);

	log_info("SIGHUP: generation %u, replacing %d workers",
	    m->generation, n);
	/* Replacements start now; the old ones leave as they finish. */
	maintain(pf);
}

static void
prefork_resize(struct master *m, int delta)
{
	struct prefork		*pf = m->priv;
	struct pool_counts	 c;

	if (delta > 0) {
		if (pf->pol.floor < pf->pol.max_children)
			pf->pol.floor++;
		log_info("SIGTTIN: workers %d", pf->pol.floor);
		return;
	}
	if (pf->pol.floor > 1)
		pf->pol.floor--;
	pool_count(pf, &c);
	if (c.active > pf->pol.floor)
		(void)retire_idle(pf, 1);
	log_info("SIGTTOU: workers %d", pf->pol.floor);
}

static void
prefork_stop(struct master *m, int how)
{
	/* Deaths from here on are the stop's doing, not crashes. */
	m->kids.quiet = 1;
	/* Idle workers leave accept4 at once, busy ones finish first. */
	if (how == SIGTERM)
		master_signal_role(m, ROLE_WORKER, SIGTERM);
}

static int
prefork_prepare(struct master *m, int64_t now)
{
	struct prefork	*pf = m->priv;

	pf->wake_pfd = master_pfd_add(m, pf->wake[0], POLLIN);
	return clock_until(pf->dec.wake_ms, now);
}

static void
prefork_polled(struct master *m, int n)
{
	struct prefork	*pf = m->priv;
	char		 buf[64];
	int64_t		 now = clock_ms();

	if (n > 0 && (m->pfd[pf->wake_pfd].revents & POLLIN))
		while (read(pf->wake[0], buf, sizeof(buf)) > 0)
			;
	if (now >= pf->next_check) {
		pf->next_check = now + 1000;
		if (limits_check(m->srv) == -1 && pf->corrupt == NULL)
			pf->corrupt = "the limit table";
	}
	if (pf->corrupt != NULL)
		renew_shared(pf);
	maintain(pf);
}

/*
 * One stream listener: workers block in accept4 on it, so make it
 * blocking, with a receive timeout that bounds each wait.
 */
static void
listeners_prepare(struct prefork *pf)
{
	struct server	*srv = pf->srv;
	struct timeval	 tv = { WORKER_ACCEPT_TIMEOUT_MS / 1000, 0 };
	size_t		 i, nstream = 0, which = 0;
	int		 fl;

	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].socktype == SOCK_STREAM) {
			nstream++;
			which = i;
		}
	if (nstream != 1)
		return;		/* accepted non-blocking: recv never waits */
	pf->wargs->one_listener = 1;
	if ((fl = fcntl(srv->ls[which].fd, F_GETFL)) == -1 ||
	    fcntl(srv->ls[which].fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		fatal("fcntl");
	if (setsockopt(srv->ls[which].fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1)
		fatal("setsockopt SO_RCVTIMEO");
	/*
	 * A TCP connection inherits that timeout, so a worker may block
	 * in recv (echo.h) when the idle timeout is none or longer.
	 */
	srv->ep.recv_bounded = srv->ep.idle_timeout_ms == 0 ||
	    ((srv->ls[which].family == AF_INET ||
	    srv->ls[which].family == AF_INET6) &&
	    srv->ep.idle_timeout_ms >= WORKER_ACCEPT_TIMEOUT_MS);
}

static void
prefork_start(struct master *m)
{
	struct prefork	*pf = m->priv;
	struct server	*srv = m->srv;

	pf->srv = srv;
	pf->m = m;
	pf->wargs->srv = srv;
	pf->wargs->sb = pf->sb;
	pf->pol.floor = srv->opt->workers;
	pf->pol.min_spare = srv->opt->min_spare;
	pf->pol.max_spare = srv->opt->max_spare;
	pf->pol.max_children = srv->opt->max_children;
	pool_init(&pf->ctl);
	if (scoreboard_create(pf->sb, (size_t)srv->opt->max_children) == -1)
		fatal("scoreboard");
	if (pipe2(pf->wake, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	scoreboard_set_wake(pf->sb, pf->wake[1], srv->opt->min_spare);
	control_view_scoreboard(pf->sb);	/* issue #11: "workers" */
	listeners_prepare(pf);
	maintain(pf);
}

static void
prefork_announce(struct master *m)
{
	const struct options	*o = m->srv->opt;

	log_info("serving: model=prefork workers=%d min-spare=%d "
	    "max-spare=%d max-children=%d", o->workers, o->min_spare,
	    o->max_spare, o->max_children);
}

static void
prefork_finish(struct master *m)
{
	struct prefork	*pf = m->priv;

	(void)close(pf->wake[0]);
	(void)close(pf->wake[1]);
	scoreboard_destroy(pf->sb);
}

static const struct master_model prefork_model = {
	"prefork", prefork_start, prefork_announce, prefork_prepare,
	prefork_polled, prefork_forget, prefork_counts, prefork_reload,
	prefork_resize, prefork_stop, prefork_finish
};

int
model_prefork_run(struct server *srv)
{
	struct prefork	*pf;

	if ((pf = privmem_alloc(1, sizeof(*pf))) == NULL) {
		memset(&pfs, 0, sizeof(pfs));
		pf = &pfs;
	}
	memset(&prefork_wargs, 0, sizeof(prefork_wargs));
	pf->sb = &prefork_sb;
	pf->wargs = &prefork_wargs;
	return master_run(srv, &prefork_model, pf);
}
