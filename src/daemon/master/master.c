/*
 * master.c: the one master loop both process models share (master.h).
 *
 * Each turn: build the poll set (sig_fd(), the live operations' epoll
 * fd, then what the model wants, then the children's hang-up pipes with
 * --reap=ignore), block until the nearest deadline (the model's, the
 * graceful stop's, the UDP worker's respawn, svc's STATUS/WATCHDOG tick,
 * liveops' timers), then act: signals first
 * (the control socket's actions among them, sig_inject), then hang-ups,
 * then the model (signals read from a signalfd come in number order, not
 * arrival order; two of a kind pending count once, as with handlers).
 * liveops' tick runs before the poll: it serves the
 * control socket and the upgrade's pipe without blocking.  The loop
 * ends when a stop has begun and the table is empty; echod then exits 0.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "children.h"
#include "clock.h"
#include "control.h"
#include "limit.h"
#include "liveops.h"
#include "log.h"
#include "master.h"
#include "pool.h"
#include "privmem.h"
#include "sig.h"
#include "stats.h"
#include "svc.h"
#include "udp.h"
#include "upgrade.h"

enum accept_verdict
accept_verdict(int err)
{
	switch (err) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
		return ACCEPT_DONE;
	case ECONNABORTED:
	case EPROTO:
	case EPERM:		/* a firewall said no */
		return ACCEPT_RETRY;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return ACCEPT_PAUSE;
	default:
		return ACCEPT_FAIL;
	}
}

/* The one fork-failure backoff: 100 ms, doubling, at most 1 s. */
int64_t
fork_backoff_ms(int failures)
{
	return pool_backoff_cap(failures, FORK_BACKOFF_MAX_MS);
}

size_t
master_pfd_add(struct master *m, int fd, short events)
{
	if (m->npfd >= m->pfdcap)
		fatalx("%s: poll set full (%zu)", __func__, m->pfdcap);
	m->pfd[m->npfd].fd = fd;
	m->pfd[m->npfd].events = events;
	m->pfd[m->npfd].revents = 0;
	return m->npfd++;
}

struct child *
master_spawned(struct master *m, pid_t pid, enum child_role role, int fd)
{
	struct child	*ch;

	if (children_add(&m->kids, pid, fd) == -1)
		fatalx("%s: child table full (%zu)", __func__, m->kids.n);
	ch = children_last(&m->kids);
	ch->role = role;
	ch->generation = m->generation;
	m->counts_changed = 1;
	return ch;
}

void
master_pause(struct master *m, int64_t ms, const char *why)
{
	if (why != NULL && !m->pause_logged)
		log_warn("%s", why);
	m->pause_logged = 1;
	m->paused_until = clock_ms() + ms;
	m->srv->st->backoff_ms = (long)ms;
}

int
master_paused(const struct master *m, int64_t now)
{
	return m->paused_until > now;
}

/*
 * fork() failed: keep reaping and serving, spawn nothing for a while,
 * so a process limit costs one failed fork per pause, not one per
 * waiting client.
 */
void
master_fork_failed(struct master *m, const char *what)
{
	m->srv->st->fork_failed++;
	m->fork_backoff = fork_backoff_ms(++m->fork_failures);
	log_warn("%s %lld ms", what, (long long)m->fork_backoff);
	m->paused_until = clock_ms() + m->fork_backoff;
	m->srv->st->backoff_ms = (long)m->fork_backoff;
}

void
master_fork_ok(struct master *m)
{
	if (m->fork_failures == 0)
		return;
	m->fork_failures = 0;
	m->fork_backoff = 0;
	m->srv->st->backoff_ms = 0;
}

void
master_signal_role(struct master *m, enum child_role role, int sig)
{
	size_t	i;

	for (i = 0; i < m->kids.n; i++)
		if (m->kids.tab[i].role == role) {
			if (sig == SIGTERM)
				m->kids.tab[i].retiring = 1;
			(void)children_kill(&m->kids.tab[i], sig);
		}
}

void
master_status_changed(struct master *m)
{
	limits_fold(m->srv, m->srv->st);
	svc_status(m->srv);
}

/* Every status the waitpid() loop collects is offered here first. */
static int
master_claim(void *arg, pid_t pid, int status)
{
	(void)arg;
	return upgrade_reaped(pid, status);
}

/* Every entry leaving the table passes here (either reap mode). */
static void
master_forget(void *arg, struct child *ch)
{
	struct master	*m = arg;
	int64_t		 now = clock_ms();

	m->counts_changed = 1;
	if (ch->role != ROLE_UDP) {
		m->model->forget(m, ch);
		return;
	}
	if (ch->have_status)
		(void)udpw_reaped(m->srv, &m->udp, ch->pid, ch->status, now);
	else
		udpw_gone(m->srv, &m->udp, now);
}

/* --reap=ignore: a child's pipe hung up, so the kernel has reaped it. */
static void
master_hangups(struct master *m, size_t first)
{
	struct child	 ch;
	size_t		 k, j;

	for (k = first; k < m->npfd; k++) {
		if ((m->pfd[k].revents & (POLLHUP | POLLIN | POLLERR)) == 0)
			continue;
		if (m->pfd[k].fd == m->udp.fd) {
			(void)children_forget_pid(&m->kids, m->udp.pid, NULL);
			continue;
		}
		for (j = 0; j < m->kids.n; j++)
			if (m->kids.tab[j].fd == m->pfd[k].fd)
				break;
		if (j == m->kids.n)
			continue;	/* gone already this turn */
		children_forget_index(&m->kids, j, &ch);
		(void)close(ch.fd);
		m->srv->st->reaped++;
	}
}

static void
master_stop(struct master *m, int how)
{
	struct server	*srv = m->srv;

	if (m->stopping == SIGINT || m->stopping == how)
		return;
	if (m->stopping == 0) {
		svc_stopping(srv);
		listeners_close(srv->ls, srv->nls, 1);
	}
	m->stopping = how;
	m->udp.stopping = 1;
	m->model->counts(m, 1);
	if (how == SIGTERM) {
		log_info("graceful stop: %d open connection%s, grace %ds",
		    srv->st->open, srv->st->open == 1 ? "" : "s",
		    srv->opt->grace);
		m->deadline = clock_ms() + (int64_t)srv->opt->grace * 1000;
		master_signal_role(m, ROLE_UDP, SIGTERM);
	} else {
		log_info("fast stop: ending %zu children", m->kids.n);
		children_signal(&m->kids, SIGKILL);
	}
	m->model->stop(m, how);
	m->model->counts(m, 1);
}

static void
master_status_line(struct master *m)
{
	char	line[1024];

	m->model->counts(m, 0);
	limits_fold(m->srv, m->srv->st);
	(void)stats_format(m->srv->st, m->model->name, line, sizeof(line));
	log_notice("%s", line);
}

static void
master_reload(struct master *m)
{
	if (m->stopping) {
		log_reopen();
		return;
	}
	svc_reload(m->srv, 1);
	log_reopen();
	/*
	 * issue #12: a new rules table reaches a prefork generation by
	 * fork (model->reload makes one); the UDP worker is replaced.
	 */
	if (access_reload(m->srv->opt))
		master_signal_role(m, ROLE_UDP, SIGTERM);
	m->model->reload(m);
	svc_reload(m->srv, 0);
}

static void
master_dispatch(struct master *m, int sig)
{
	switch (sig) {
	case SIGCHLD:
		if (!m->ignore && children_reap(&m->kids, m->srv->st) > 0)
			m->counts_changed = 1;
		break;
	case SIGINT:
	case SIGTERM:
		master_stop(m, sig);
		break;
	case SIGHUP:
		master_reload(m);
		break;
	case SIGUSR1:
		master_status_line(m);
		break;
	case SIGTTIN:
	case SIGTTOU:
		if (!m->stopping)
			m->model->resize(m, sig == SIGTTIN ? 1 : -1);
		break;
	case SIGUSR2:
		if (!m->stopping)
			upgrade_start(m->srv);
		break;
	default:
		break;
	}
}

/* The graceful stop's deadline, and the UDP worker's (re)start. */
static int
master_deadlines(struct master *m, int64_t now)
{
	int	timeout = -1, ut;

	if (m->stopping == SIGTERM) {
		if (now >= m->deadline) {
			log_info("grace over: ending %zu children", m->kids.n);
			children_signal(&m->kids, SIGKILL);
			m->stopping = SIGINT;
		} else
			timeout = clock_until(m->deadline, now);
	}
	if (m->stopping)
		return timeout;
	timeout = m->model->prepare(m, now);
	ut = udpw_maintain(m->srv, &m->udp, m->ignore, now);
	if (m->udp.pid != 0 && children_find(&m->kids, m->udp.pid) == NULL)
		/* Its pipe (udp.c closes it) pins its pid for a signal. */
		(void)master_spawned(m, m->udp.pid, ROLE_UDP, m->udp.fd);
	if (ut >= 0 && (timeout < 0 || ut < timeout))
		timeout = ut;
	return timeout;
}

static void
master_turn(struct master *m)
{
	int64_t	now = clock_ms();
	size_t	first, i;
	int	timeout, t, n, sig;

	m->npfd = 0;
	(void)master_pfd_add(m, sig_fd(), POLLIN);
	if (liveops_fd() != -1)
		(void)master_pfd_add(m, liveops_fd(), POLLIN);
	timeout = master_deadlines(m, now);
	first = m->npfd;
	if (m->ignore)
		for (i = 0; i < m->kids.n; i++)
			if (m->kids.tab[i].fd != -1)
				(void)master_pfd_add(m, m->kids.tab[i].fd,
				    POLLIN);
	if (m->udp.fd != -1)
		(void)master_pfd_add(m, m->udp.fd, POLLIN);
	if ((t = svc_tick(m->srv)) >= 0 && (timeout < 0 || t < timeout))
		timeout = t;
	if ((t = liveops_tick(m->srv)) >= 0 && (timeout < 0 || t < timeout))
		timeout = t;
	if (sig_queued())	/* sig_inject()ed during the last turn */
		timeout = 0;
	n = poll(m->pfd, m->npfd, timeout);
	if (n == -1 && errno != EINTR)
		fatal("poll");
	if (n > 0 && (m->pfd[0].revents & POLLIN))	/* sig_fd(): first */
		sig_arm();
	while ((sig = sig_next()) != 0)
		master_dispatch(m, sig);
	if (n > 0)
		master_hangups(m, first);
	if (!m->stopping)
		m->model->polled(m, n);
	m->model->counts(m, 0);
	if (m->counts_changed) {
		m->counts_changed = 0;
		master_status_changed(m);
	}
}

static void
master_init(struct master *m, struct server *srv, const struct master_model *model,
    void *priv)
{
	size_t		 cap = (size_t)srv->opt->max_children + 2;
	struct stats	*st;

	memset(m, 0, sizeof(*m));
	m->srv = srv;
	m->model = model;
	m->priv = priv;
	m->ignore = srv->opt->model == MODEL_FORK &&
	    srv->opt->reap == REAP_IGNORE;
	if (children_init(&m->kids, cap) == -1)
		fatal("children table");
	m->kids.on_forget = master_forget;
	m->kids.on_reaped = master_claim;
	m->kids.hook_arg = m;
	if ((st = privmem_alloc(1, sizeof(*st))) != NULL) {
		*st = *srv->st;
		srv->st = st;	/* the static one stays unused: no free */
	}
	/* sig_fd, liveops, listeners or wake pipe, children, UDP */
	m->pfdcap = 3 + srv->nls + cap + 1;
	/* Rebuilt on every fork: kept out of the children (privmem.h). */
	if ((m->pfd = privmem_alloc(m->pfdcap, sizeof(*m->pfd))) == NULL)
		fatal("poll set");
	udpw_init(&m->udp);
	if (limits_setup(srv) == -1)
		fatal("limits");
	control_view(&m->kids, &m->generation);
}

int
master_run(struct server *srv, const struct master_model *model, void *priv)
{
	struct master	m;

	master_init(&m, srv, model, priv);
	(void)sig_init(m.ignore);
	model->start(&m);
	model->counts(&m, 1);
	upgrade_before_ready(srv);	/* MAINPID= before READY=1 */
	svc_ready(srv);
	upgrade_ready(srv);		/* pid file, then the old master */
	model->announce(&m);
	for (;;) {
		if (m.stopping && m.kids.n == 0)
			break;
		master_turn(&m);
	}
	limits_fold(srv, srv->st);
	log_info("stopped: served=%llu reaped=%llu abnormal=%llu",
	    (unsigned long long)srv->st->served,
	    (unsigned long long)srv->st->reaped,
	    (unsigned long long)srv->st->abnormal);
	model->finish(&m);
	children_free(&m.kids);
	privmem_free(m.pfd, m.pfdcap, sizeof(*m.pfd));
	return 0;
}
