/*
 * model_prefork.c: --model=prefork, the default: a pool of workers that
 * each accept and serve one connection at a time.
 *
 * The master never touches a connection.  It forks workers into the
 * scoreboard's slots, reaps them, and sizes the pool with pool.c's rules,
 * woken by the self-pipe (signals), by a worker that took the last spare
 * (the scoreboard's wake pipe), or by pool.c's next deadline.
 *
 * Accepting: with one stream listener the workers block in accept4(2) on
 * the shared socket; Linux wakes exactly one blocked acceptor per
 * connection, so there is no thundering herd and no lock.  With several
 * listeners each worker has an epoll set with EPOLLEXCLUSIVE on every
 * listener, which keeps the same one-wakeup property (docs/DESIGN.md has
 * the measurements).  A receive timeout on the listener (SO_RCVTIMEO,
 * 1 s) bounds how long a worker can sit in accept4 without checking its
 * stop flag and its parent.
 *
 * Workers: SIGTERM sets a flag (no SA_RESTART): an idle worker leaves
 * accept4 at once, a busy one finishes its connection first.  SIGHUP,
 * SIGUSR1, SIGINT, SIGTTIN and SIGTTOU are the master's business and are
 * ignored.  A worker exits after its --max-requests (with jitter).
 *
 * Signals to the master: TERM graceful stop (SIGTERM to every worker,
 * SIGKILL to those still busy when --grace runs out), INT fast stop,
 * HUP new generation (every worker of the old one is retired), USR1
 * status line, TTIN/TTOU floor +1/-1.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/resource.h>
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
#include "harden.h"
#include "limit.h"
#include "log.h"
#include "pool.h"
#include "scoreboard.h"
#include "server.h"
#include "sig.h"
#include "udp.h"

#define ACCEPT_TIMEOUT_MS	1000

struct prefork {
	struct server		*srv;
	struct scoreboard	 sb;
	struct pool_ctl		 ctl;
	struct pool_policy	 pol;
	struct pool_decision	 dec;
	int			 wake[2];
	uint32_t		 generation;
	int			 stopping;	/* 0, SIGTERM or SIGINT */
	long long		 deadline;
	uint64_t		 served_gone;	/* by workers already reaped */
	int			 one_listener;	/* blocking accept4 */
	int			 last_total, last_idle, last_busy;
	struct udpw		 udp;		/* issue #5: the UDP worker */
};

static volatile sig_atomic_t worker_stop;

static long long
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the worker ---------------------------------------------------- */

static void
worker_catch(int sig)
{
	(void)sig;
	worker_stop = 1;
}

static void
worker_signals(void)
{
	struct sigaction	sa;
	static const int	ignored[] = {
		SIGHUP, SIGUSR1, SIGINT, SIGTTIN, SIGTTOU
	};
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = worker_catch;
	sa.sa_flags = 0;		/* no SA_RESTART: leave accept4 */
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		(void)sigaction(ignored[i], &sa, NULL);
}

#ifdef ECHOD_TEST_HOOKS
/* Tests make new workers crash while this file exists: a crash loop. */
static void
worker_test_crash(void)
{
	const char	*f = getenv("ECHOD_TEST_CRASH_FILE");
	struct rlimit	 nocore = { 0, 0 };

	if (f != NULL && access(f, F_OK) == 0) {
		(void)setrlimit(RLIMIT_CORE, &nocore);
		abort();
	}
}
#endif

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
worker_accept(struct prefork *pf, int ep, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct epoll_event	ev;
	int			n;

	if (pf->one_listener) {
		size_t i;

		for (i = 0; i < pf->srv->nls; i++)
			if (pf->srv->ls[i].socktype == SOCK_STREAM)
				return accept4(pf->srv->ls[i].fd,
				    (struct sockaddr *)ss, len, SOCK_CLOEXEC);
		errno = EBADF;
		return -1;
	}
	n = epoll_wait(ep, &ev, 1, ACCEPT_TIMEOUT_MS);
	if (n <= 0) {
		if (n == 0)
			errno = EAGAIN;
		return -1;
	}
	return accept4(ev.data.fd, (struct sockaddr *)ss, len,
	    SOCK_CLOEXEC | SOCK_NONBLOCK);
}

static void __attribute__((noreturn))
worker_main(struct prefork *pf, struct slot *me)
{
	struct server		*srv = pf->srv;
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	long long		 limit;
	int			 ep = -1, conn, emfile_logged = 0;

#ifdef ECHOD_TEST_HOOKS
	worker_test_crash();		/* before seccomp: it needs setrlimit */
#endif
	/* What needs syscalls the seccomp filter forbids comes first. */
	if (!pf->one_listener && (ep = worker_epoll(srv)) == -1) {
		log_warn("worker: epoll");
		_exit(2);
	}
	limit = pool_jitter_limit(srv->opt->max_requests, arc4random());
	if (ep != -1)
		harden_keep_fd(ep);
	harden_keep_fd(pf->wake[1]);	/* issue #5: the rest is closed */
	child_init(srv, CHILD_WORKER);
	(void)close(pf->wake[0]);
	worker_signals();
	setproctitle("worker idle");
	slot_set_state(&pf->sb, me, SLOT_IDLE);

	while (!worker_stop && getppid() == srv->master_pid) {
		len = sizeof(ss);
		if ((conn = worker_accept(pf, ep, &ss, &len)) == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
			case EPERM:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM: {
				/* Out of fds: pause rather than spin. */
				struct timespec pause = { 0, 100000000 };

				if (!emfile_logged)
					log_warn("worker: accept");
				emfile_logged = 1;
				(void)nanosleep(&pause, NULL);
				continue;
			}
			default:
				log_warn("worker: accept");
				_exit(2);
			}
		}
		emfile_logged = 0;
		/*
		 * issue #5: --per-ip/--rate through the shared table; the
		 * ticket lands in our slot under its lock, so the master
		 * can release it if we die mid-connection.
		 */
		if (limits_admit(srv, (struct sockaddr *)&ss, len,
		    &me->lim_ticket) == -1) {
			(void)close(conn);
			continue;
		}
		slot_set_state(&pf->sb, me, SLOT_BUSY);
		(void)addr_ntop((struct sockaddr *)&ss, len, me->peer,
		    sizeof(me->peer));
		setproctitle("worker %s", me->peer);
		conn_serve(srv, conn);
		limits_release(srv, &me->lim_ticket);
		me->served++;
		if (limit > 0 && (long long)me->served >= limit)
			break;
		slot_set_state(&pf->sb, me, SLOT_IDLE);
		setproctitle("worker idle");
	}
	slot_set_state(&pf->sb, me, SLOT_EXITING);
	_exit(0);
}

/* ---- the master ---------------------------------------------------- */

static void
master_title(struct prefork *pf, int total, int idle, int busy)
{
	setproctitle("master prefork %d idle %d busy%s", idle, busy,
	    pf->stopping ? " stopping" : "");
	(void)total;
}

static void
master_counts(struct prefork *pf, int *active, int *idle, int *alive)
{
	size_t	i;
	int	busy;

	scoreboard_count(&pf->sb, alive, idle, &busy);
	*active = 0;
	for (i = 0; i < pf->sb.nslots; i++)
		if (pf->sb.slot[i].pid != 0 && !pf->sb.slot[i].retiring)
			(*active)++;
}

static void
master_status(struct prefork *pf, int force)
{
	struct server	*srv = pf->srv;
	size_t		 i;
	int		 total, idle, busy;
	uint64_t	 served = pf->served_gone;

	scoreboard_count(&pf->sb, &total, &idle, &busy);
	for (i = 0; i < pf->sb.nslots; i++)
		if (pf->sb.slot[i].pid != 0)
			served += pf->sb.slot[i].served;
	srv->st.workers = total;
	srv->st.idle = idle;
	srv->st.busy = busy;
	srv->st.open = busy;
	srv->st.served = served;
	srv->st.backoff_ms = (long)pf->ctl.backoff_ms;
	limits_fold(srv, &srv->st);		/* issue #5 */
	if (force || total != pf->last_total || idle != pf->last_idle ||
	    busy != pf->last_busy) {
		pf->last_total = total;
		pf->last_idle = idle;
		pf->last_busy = busy;
		master_title(pf, total, idle, busy);
		if (srv->on_status != NULL)
			srv->on_status(srv);
	}
}

static int
spawn_worker(struct prefork *pf)
{
	struct slot	*s;
	pid_t		 pid;

	if ((s = scoreboard_free_slot(&pf->sb)) == NULL)
		fatalx("%s: scoreboard full", __func__);
	memset(s, 0, sizeof(*s));
	s->state = SLOT_STARTING;
	s->generation = pf->generation;
	s->start_ms = now_ms();
	(void)__atomic_add_fetch(&pf->sb.hdr->idle, 1, __ATOMIC_RELAXED);
	switch (pid = fork()) {
	case -1:
		pf->srv->st.fork_failed++;
		s->state = SLOT_FREE;
		(void)__atomic_sub_fetch(&pf->sb.hdr->idle, 1,
		    __ATOMIC_RELAXED);
		if (pool_spawn_failed(&pf->ctl, now_ms()))
			log_warn("fork: respawn backoff %lld ms",
			    pf->ctl.backoff_ms);
		return -1;
	case 0:
		s->pid = getpid();
		worker_main(pf, s);
		/* NOTREACHED */
	default:
		break;
	}
	s->pid = pid;
	return 0;
}

static void
retire(struct slot *s)
{
	s->retiring = 1;
	(void)kill(s->pid, SIGTERM);
}

static int
retire_idle(struct prefork *pf, int n)
{
	size_t	i;
	int	done = 0;

	/* Newest first: old workers have warm caches and no jitter debt. */
	for (i = pf->sb.nslots; i > 0 && done < n; i--) {
		struct slot *s = &pf->sb.slot[i - 1];

		if (s->pid != 0 && !s->retiring && s->state == SLOT_IDLE) {
			retire(s);
			done++;
		}
	}
	return done;
}

static void
maintain(struct prefork *pf)
{
	int		active, idle, alive, i;
	long long	now = now_ms();

	if (pf->stopping)
		return;
	master_counts(pf, &active, &idle, &alive);
	/* issue #10: the listen queue's length feeds the burst rule. */
	pool_decide(&pf->ctl, &pf->pol, active, idle, alive,
	    backlog_queued(pf->srv->ls, pf->srv->nls), now, &pf->dec);
	for (i = 0; i < pf->dec.spawn; i++)
		if (spawn_worker(pf) == -1)
			break;
	if (pf->dec.retire > 0)
		(void)retire_idle(pf, pf->dec.retire);
	/* Growing or not short any more: let workers wake us again. */
	if (pf->dec.spawn > 0 || idle >= pf->pol.min_spare)
		pf->sb.hdr->wake_pending = 0;
	/* A worker alive long enough ends a crash-loop backoff. */
	if (pf->ctl.backoff_ms > 0) {
		size_t k;

		for (k = 0; k < pf->sb.nslots; k++) {
			struct slot *s = &pf->sb.slot[k];

			if (s->pid == 0 || s->state == SLOT_STARTING)
				continue;
			if (now - s->start_ms >= POOL_EARLY_DEATH_MS) {
				if (pool_worker_lived(&pf->ctl))
					log_info("workers live again: "
					    "respawn backoff over");
				break;
			}
			/* Look again the moment it has proven itself. */
			if (s->start_ms + POOL_EARLY_DEATH_MS < pf->dec.wake_ms)
				pf->dec.wake_ms = s->start_ms +
				    POOL_EARLY_DEATH_MS;
		}
	}
}

static void
reap(struct prefork *pf)
{
	struct server	*srv = pf->srv;
	struct slot	*s;
	pid_t		 pid;
	int		 status, abnormal;
	long long	 now = now_ms();

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (udpw_reaped(srv, &pf->udp, pid, status, now))
			continue;		/* issue #5 */
		if ((s = scoreboard_find(&pf->sb, pid)) == NULL) {
			log_debug("reaped unknown child %ld", (long)pid);
			srv->st.reaped++;
			continue;
		}
		if (pf->stopping) {
			srv->st.reaped++;
			abnormal = 0;
		} else
			abnormal = children_account(&srv->st, pid, status);
		/* Died without saying it stopped being idle. */
		if (s->state == SLOT_STARTING || s->state == SLOT_IDLE)
			(void)__atomic_sub_fetch(&pf->sb.hdr->idle, 1,
			    __ATOMIC_RELAXED);
		pf->served_gone += s->served;
		/* issue #5: died holding a --per-ip count: give it back. */
		limits_release(srv, &s->lim_ticket);
		if (!pf->stopping && pool_worker_exited(&pf->ctl, abnormal,
		    now - s->start_ms, now)) {
			if (pf->ctl.backoff_ms > 0)
				log_warnx("workers die right after start: "
				    "respawn backoff %lld ms",
				    pf->ctl.backoff_ms);
			else
				log_info("respawn backoff over");
		}
		memset(s, 0, sizeof(*s));
	}
	if (pid == -1 && errno != ECHILD && errno != EINTR)
		log_warn("%s: waitpid", __func__);
}

static void
signal_all(struct prefork *pf, int sig)
{
	size_t	i;

	for (i = 0; i < pf->sb.nslots; i++)
		if (pf->sb.slot[i].pid != 0) {
			if (sig == SIGTERM)
				pf->sb.slot[i].retiring = 1;
			(void)kill(pf->sb.slot[i].pid, sig);
		}
}

static void
stop_begin(struct prefork *pf, int how)
{
	struct server	*srv = pf->srv;

	if (pf->stopping == SIGINT || pf->stopping == how)
		return;
	if (pf->stopping == 0) {
		if (srv->on_stopping != NULL)
			srv->on_stopping(srv);
		/* Workers hold the listeners too; they stop on SIGTERM. */
		listeners_close(srv->ls, srv->nls, 1);
	}
	pf->stopping = how;
	if (how == SIGTERM) {
		log_info("graceful stop: %d busy, grace %ds",
		    pf->last_busy, srv->opt->grace);
		pf->deadline = now_ms() + (long long)srv->opt->grace * 1000;
		signal_all(pf, SIGTERM);
	} else {
		log_info("fast stop");
		signal_all(pf, SIGKILL);
	}
	udpw_signal(&pf->udp, how == SIGTERM ? SIGTERM : SIGKILL);
	master_status(pf, 1);
}

static void
restart_workers(struct prefork *pf)
{
	struct server	*srv = pf->srv;
	size_t		 i;
	int		 n = 0;

	if (srv->on_reload != NULL)
		srv->on_reload(srv, 1);
	log_reopen();
	pf->generation++;
	for (i = 0; i < pf->sb.nslots; i++) {
		struct slot *s = &pf->sb.slot[i];

		if (s->pid != 0 && s->generation != pf->generation &&
		    !s->retiring) {
			retire(s);
			n++;
		}
	}
	log_info("SIGHUP: generation %u, replacing %d workers",
	    pf->generation, n);
	/* Replacements start now; the old ones leave as they finish. */
	maintain(pf);
	if (srv->on_reload != NULL)
		srv->on_reload(srv, 0);
}

static void
handle_signals(struct prefork *pf)
{
	struct server	*srv = pf->srv;
	char		 line[1024];

	if (sig_got_chld) {
		sig_got_chld = 0;
		reap(pf);
	}
	if (sig_got_int) {
		sig_got_int = 0;
		stop_begin(pf, SIGINT);
	}
	if (sig_got_term) {
		sig_got_term = 0;
		stop_begin(pf, SIGTERM);
	}
	if (sig_got_hup) {
		sig_got_hup = 0;
		if (!pf->stopping)
			restart_workers(pf);
	}
	if (sig_got_ttin) {
		sig_got_ttin = 0;
		if (pf->pol.floor < pf->pol.max_children)
			pf->pol.floor++;
		log_info("SIGTTIN: workers %d", pf->pol.floor);
	}
	if (sig_got_ttou) {
		int active, idle, alive;

		sig_got_ttou = 0;
		if (pf->pol.floor > 1)
			pf->pol.floor--;
		master_counts(pf, &active, &idle, &alive);
		if (active > pf->pol.floor && !pf->stopping)
			(void)retire_idle(pf, 1);
		log_info("SIGTTOU: workers %d", pf->pol.floor);
	}
	if (sig_got_usr1) {
		sig_got_usr1 = 0;
		master_status(pf, 0);
		(void)stats_format(&srv->st, "prefork", line, sizeof(line));
		log_notice("%s", line);
	}
}

/*
 * One stream listener: workers block in accept4 on it, so make it
 * blocking, with a receive timeout that bounds each wait.
 */
static void
listeners_prepare(struct prefork *pf)
{
	struct server	*srv = pf->srv;
	struct timeval	 tv = { ACCEPT_TIMEOUT_MS / 1000, 0 };
	size_t		 i, nstream = 0, which = 0;
	int		 fl;

	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].socktype == SOCK_STREAM) {
			nstream++;
			which = i;
		}
	if (nstream != 1)
		return;
	pf->one_listener = 1;
	if ((fl = fcntl(srv->ls[which].fd, F_GETFL)) == -1 ||
	    fcntl(srv->ls[which].fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		fatal("fcntl");
	if (setsockopt(srv->ls[which].fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1)
		fatal("setsockopt SO_RCVTIMEO");
}

int
model_prefork_run(struct server *srv)
{
	struct prefork	 pf;
	struct pollfd	 pfd[2];
	long long	 t, wake;
	int		 n, timeout, active, idle, alive;

	memset(&pf, 0, sizeof(pf));
	pf.srv = srv;
	pf.pol.floor = srv->opt->workers;
	pf.pol.min_spare = srv->opt->min_spare;
	pf.pol.max_spare = srv->opt->max_spare;
	pf.pol.max_children = srv->opt->max_children;
	pool_init(&pf.ctl);
	if (scoreboard_create(&pf.sb, (size_t)srv->opt->max_children) == -1)
		fatal("scoreboard");
	if (pipe2(pf.wake, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	pf.sb.hdr->wake_fd = pf.wake[1];
	pf.sb.hdr->min_spare = srv->opt->min_spare;
	listeners_prepare(&pf);
	(void)sig_init(0);
	/* issue #5: limits, shared counters, the UDP worker */
	if (limits_setup(srv) == -1)
		fatal("limits");
	udpw_init(&pf.udp);

	maintain(&pf);
	master_status(&pf, 1);
	if (srv->on_ready != NULL)
		srv->on_ready(srv);
	log_info("serving: model=prefork workers=%d min-spare=%d "
	    "max-spare=%d max-children=%d", srv->opt->workers,
	    srv->opt->min_spare, srv->opt->max_spare,
	    srv->opt->max_children);

	for (;;) {
		master_counts(&pf, &active, &idle, &alive);
		if (pf.stopping && alive == 0 && pf.udp.pid == 0)
			break;
		t = now_ms();
		timeout = -1;
		if (pf.stopping == SIGTERM) {
			if (t >= pf.deadline) {
				log_info("grace over: killing %d busy workers",
				    alive);
				signal_all(&pf, SIGKILL);
				udpw_signal(&pf.udp, SIGKILL);
				pf.stopping = SIGINT;
			} else
				timeout = (int)(pf.deadline - t);
		} else if (!pf.stopping) {
			int ut;

			wake = pf.dec.wake_ms;
			timeout = wake > t ? (int)(wake - t) : 0;
			/* issue #5: (re)start the UDP worker when due. */
			ut = udpw_maintain(srv, &pf.udp, 0, t);
			if (ut >= 0 && ut < timeout)
				timeout = ut;
		}
		pfd[0].fd = sig_pipe_fd();
		pfd[0].events = POLLIN;
		pfd[1].fd = pf.wake[0];
		pfd[1].events = POLLIN;
		/* svc hooks: notify STATUS and watchdog ticks. */
		timeout = server_tick_timeout(srv, timeout);
		n = poll(pfd, 2, timeout);
		if (n == -1 && errno != EINTR)
			fatal("poll");
		if (n > 0 && (pfd[0].revents & POLLIN))
			sig_drain();
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			char buf[64];

			while (read(pf.wake[0], buf, sizeof(buf)) > 0)
				;
		}
		handle_signals(&pf);
		maintain(&pf);
		master_status(&pf, 0);
	}
	limits_fold(srv, &srv->st);
	log_info("stopped: served=%llu reaped=%llu abnormal=%llu",
	    (unsigned long long)srv->st.served,
	    (unsigned long long)srv->st.reaped,
	    (unsigned long long)srv->st.abnormal);
	(void)close(pf.wake[0]);
	(void)close(pf.wake[1]);
	scoreboard_destroy(&pf.sb);
	return 0;
}
