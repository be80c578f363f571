/*
 * model_fork.c: --model=fork, one child per connection.
 *
 * The master polls the self-pipe, the listeners and (with --reap=ignore)
 * one pipe per child.  For each accepted connection it forks; the child
 * serves and _exit()s, the master closes its copy of the connection and
 * goes back to poll.  When --max-children are alive the listeners leave
 * the poll set: new connections wait in the kernel's backlog instead of
 * being accepted and dropped (s6-tcpserver's rule).
 *
 * Reaping: with --reap=waitpid SIGCHLD wakes the loop through the
 * self-pipe and children_reap() collects every exit status.  With
 * --reap=ignore the kernel reaps; each child holds the only write end of
 * a pipe, whose POLLHUP tells the master the child is gone.
 *
 * Stopping: SIGTERM closes the listeners and gives open connections
 * --grace seconds before the children are killed; SIGINT kills them now.
 * Either way the master waits until every child is gone, then returns 0.
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

#include "children.h"
#include "harden.h"
#include "limit.h"
#include "access.h"
#include "log.h"
#include "server.h"
#include "sig.h"
#include "udp.h"

#define ACCEPT_BURST	32	/* accepts per listener per turn */
#define PAUSE_MS	100	/* after EMFILE or a failed fork */
#define FORK_BACKOFF_MAX_MS	1000	/* failed forks: 100 ms doubling to this */

struct fork_state {
	struct server	*srv;
	struct children	 kids;
	struct pollfd	*pfd;
	size_t		 npfd;
	int		 ignore;	/* --reap=ignore */
	int		 stopping;	/* 0, or SIGTERM / SIGINT */
	struct timespec	 deadline;	/* graceful stop ends */
	struct timespec	 paused_until;
	int		 pause_logged;
	long long	 fork_backoff;	/* issue #5: after failed forks, 0: none */
	struct udpw	 udp;		/* issue #5: the UDP worker */
	size_t		 udp_pfd;	/* its pipe's poll slot, 0: none */
};

static long long
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
ts_ms(const struct timespec *ts)
{
	return (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

static void
ms_ts(long long ms, struct timespec *ts)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (ms % 1000) * 1000000;
}

static void
update_title(struct fork_state *fs)
{
	setproctitle("master fork %zu busy%s", fs->kids.n,
	    fs->stopping ? " stopping" : "");
}

static void
status_changed(struct fork_state *fs)
{
	struct server	*srv = fs->srv;

	srv->st.workers = (int)fs->kids.n;
	srv->st.busy = (int)fs->kids.n;
	srv->st.open = (int)fs->kids.n;
	srv->st.idle = 0;
	limits_fold(srv, &srv->st);		/* issue #5 */
	if (srv->on_status != NULL)
		srv->on_status(srv);
}

/* p: with --reap=ignore the child's pipe, made by accept_some(); ours. */
static void
spawn(struct fork_state *fs, int conn, int p[2], int ticket)
{
	struct server	*srv = fs->srv;
	pid_t		 pid;

	switch (pid = fork()) {
	case -1:
		srv->st.fork_failed++;
		(void)close(conn);
		limits_release(srv, &ticket);
		if (p[0] != -1) {
			(void)close(p[0]);
			(void)close(p[1]);
		}
		/*
		 * Keep reaping and serving; stop accepting for 100 ms,
		 * doubling while forks keep failing (issue #5), so a
		 * process limit costs one failed fork per pause, not a
		 * fork per queued client.
		 */
		fs->fork_backoff = fs->fork_backoff == 0 ? PAUSE_MS :
		    fs->fork_backoff * 2 > FORK_BACKOFF_MAX_MS ?
		    FORK_BACKOFF_MAX_MS : fs->fork_backoff * 2;
		log_warn("fork: accepting again in %lld ms", fs->fork_backoff);
		ms_ts(now_ms() + fs->fork_backoff, &fs->paused_until);
		srv->st.backoff_ms = (long)fs->fork_backoff;
		return;
	case 0: {
		size_t	i;

		/* Other children's pipes are not this child's business. */
		for (i = 0; i < fs->kids.n; i++)
			if (fs->kids.tab[i].fd != -1)
				(void)close(fs->kids.tab[i].fd);
		if (p[0] != -1)
			(void)close(p[0]);
		harden_keep_fd(conn);		/* issue #5: all else goes */
		harden_keep_fd(p[1]);
		child_init(srv, CHILD_CONN);
		setproctitle("child %s", "serving");
		if (proxy_child(srv, conn, &ticket) == -1)	/* issue #12 */
			_exit(0);
		conn_serve(srv, conn);
		limits_release(srv, &ticket);	/* issue #12: proxy_child's */
		_exit(0);
		/* NOTREACHED */
	}
	default:
		break;
	}
	(void)close(conn);
	if (p[1] != -1)
		(void)close(p[1]);
	if (children_add(&fs->kids, pid, p[0]) == -1)
		fatalx("%s: child table full (%zu)", __func__, fs->kids.n);
	fs->kids.tab[fs->kids.n - 1].ticket = ticket;	/* released at reap */
	srv->st.served++;
	srv->st.backoff_ms = 0;
	fs->fork_backoff = 0;
}

static void
accept_some(struct fork_state *fs, int lfd)
{
	struct server		*srv = fs->srv;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 i, conn, ticket, p[2] = { -1, -1 };

	for (i = 0; i < ACCEPT_BURST; i++) {
		if (fs->kids.n >= (size_t)srv->opt->max_children)
			break;
		if (ts_ms(&fs->paused_until) > now_ms())
			break;
		/*
		 * --reap=ignore: each child costs the master one fd, its
		 * pipe.  Make the pipe before accepting, so that running out
		 * of fds leaves the connection waiting in the kernel's
		 * backlog; making it after, as this once did, accepted the
		 * connection only to reset it (one every PAUSE_MS).
		 */
		if (fs->ignore && p[0] == -1 && pipe2(p, O_CLOEXEC) == -1) {
			if (!fs->pause_logged)
				log_warn("pipe2");
			fs->pause_logged = 1;
			ms_ts(now_ms() + PAUSE_MS, &fs->paused_until);
			srv->st.backoff_ms = PAUSE_MS;
			break;
		}
		sslen = sizeof(ss);
		conn = accept4(lfd, (struct sockaddr *)&ss, &sslen,
		    SOCK_CLOEXEC);
		if (conn == -1) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
			case EINTR:
				goto out;
			case ECONNABORTED:
			case EPROTO:
			case EPERM:	/* firewall */
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				/* Don't spin on a full fd table: pause. */
				srv->st.accept_failed++;
				if (!fs->pause_logged)
					log_warn("accept");
				fs->pause_logged = 1;
				ms_ts(now_ms() + PAUSE_MS, &fs->paused_until);
				goto out;
			default:
				srv->st.accept_failed++;
				log_warn("accept");
				goto out;
			}
		}
		fs->pause_logged = 0;
		if (rules_refuse(srv, (struct sockaddr *)&ss, sslen)) {
			(void)close(conn);	/* issue #12: no fork */
			continue;
		}
		/* issue #5: --per-ip and --rate, decided here, exactly. */
		if (limits_admit(srv, (struct sockaddr *)&ss, sslen,
		    &ticket) == -1) {
			(void)close(conn);
			continue;	/* the pipe waits for the next one */
		}
		spawn(fs, conn, p, ticket);	/* the pipe is the child's now */
		p[0] = p[1] = -1;
	}
out:
	/* Hold no spare pipe between turns (the fd count stays exact). */
	if (p[0] != -1) {
		(void)close(p[0]);
		(void)close(p[1]);
	}
}

/* --reap=ignore: a child's pipe hung up, so the kernel has reaped it. */
static void
pipes_check(struct fork_state *fs, size_t first)
{
	struct child	 ch;
	size_t		 k, j;

	for (k = first; k < fs->npfd; k++) {
		if ((fs->pfd[k].revents & (POLLHUP | POLLIN | POLLERR)) == 0)
			continue;
		if (k == fs->udp_pfd) {		/* issue #5 */
			udpw_gone(fs->srv, &fs->udp, now_ms());
			continue;
		}
		for (j = 0; j < fs->kids.n; j++)
			if (fs->kids.tab[j].fd == fs->pfd[k].fd)
				break;
		if (j == fs->kids.n)
			fatalx("%s: pipe %d has no child", __func__,
			    fs->pfd[k].fd);
		children_forget_index(&fs->kids, j, &ch);
		(void)close(ch.fd);
		fs->srv->st.reaped++;
	}
}

static void
stop_begin(struct fork_state *fs, int how)
{
	struct server	*srv = fs->srv;

	if (fs->stopping == SIGINT)
		return;
	if (fs->stopping == 0) {
		if (srv->on_stopping != NULL)
			srv->on_stopping(srv);
		listeners_close(srv->ls, srv->nls, 1);
	}
	fs->stopping = how;
	udpw_signal(&fs->udp, how == SIGTERM ? SIGTERM : SIGKILL);
	if (how == SIGTERM) {
		log_info("graceful stop: %zu open connection%s, grace %ds",
		    fs->kids.n, fs->kids.n == 1 ? "" : "s", srv->opt->grace);
		ms_ts(now_ms() + (long long)srv->opt->grace * 1000,
		    &fs->deadline);
	} else {
		log_info("fast stop: ending %zu children", fs->kids.n);
		children_signal(&fs->kids, SIGKILL);
	}
	update_title(fs);
}

static void
handle_signals(struct fork_state *fs)
{
	struct server	*srv = fs->srv;
	char		 line[1024];

	if (sig_got_chld) {
		sig_got_chld = 0;
		if (!fs->ignore && children_reap(&fs->kids, &srv->st) > 0)
			status_changed(fs);
	}
	if (sig_got_int) {
		sig_got_int = 0;
		stop_begin(fs, SIGINT);
	}
	if (sig_got_term) {
		sig_got_term = 0;
		if (fs->stopping == 0)
			stop_begin(fs, SIGTERM);
	}
	if (sig_got_hup) {
		sig_got_hup = 0;
		if (srv->on_reload != NULL)
			srv->on_reload(srv, 1);
		log_reopen();
		if (access_reload(srv->opt) && fs->udp.pid != 0)	/* #12 */
			(void)kill(fs->udp.pid, SIGTERM);	/* respawns */
		log_info("SIGHUP: log reopened (fork model: no workers "
		    "to replace)");
		if (srv->on_reload != NULL)
			srv->on_reload(srv, 0);
	}
	if (sig_got_usr1) {
		sig_got_usr1 = 0;
		status_changed(fs);
		(void)stats_format(&srv->st, "fork", line, sizeof(line));
		log_notice("%s", line);
	}
	/* TTIN/TTOU size the prefork pool: nothing to do here. */
	sig_got_ttin = sig_got_ttou = 0;
}

/* issue #5: a child leaves the table: its --per-ip count goes. */
static void
fork_forget(void *arg, struct child *ch)
{
	struct fork_state	*fs = arg;

	limits_release(fs->srv, &ch->ticket);
}

/* issue #5: waitpid() found a pid that is no connection's child. */
static int
fork_stray(void *arg, pid_t pid, int status)
{
	struct fork_state	*fs = arg;

	return udpw_reaped(fs->srv, &fs->udp, pid, status, now_ms());
}

int
model_fork_run(struct server *srv)
{
	struct fork_state	 fs;
	size_t			 i, nkids_before;
	int			 timeout, n;
	long long		 t;

	memset(&fs, 0, sizeof(fs));
	fs.srv = srv;
	fs.ignore = srv->opt->reap == REAP_IGNORE;
	if (children_init(&fs.kids, (size_t)srv->opt->max_children) == -1)
		fatal("children table");
	/* issue #5: limits, shared counters, the UDP worker */
	if (limits_setup(srv) == -1)
		fatal("limits");
	fs.kids.on_forget = fork_forget;
	fs.kids.on_stray = fork_stray;
	fs.kids.hook_arg = &fs;
	udpw_init(&fs.udp);
	fs.pfd = reallocarray(NULL, 1 + srv->nls + fs.kids.cap + 1,
	    sizeof(*fs.pfd));
	if (fs.pfd == NULL)
		fatal("poll set");
	(void)sig_init(fs.ignore);
	update_title(&fs);
	if (srv->on_ready != NULL)
		srv->on_ready(srv);
	log_info("serving: model=fork reap=%s max-children=%d",
	    reap_name(srv->opt->reap), srv->opt->max_children);

	for (;;) {
		nkids_before = fs.kids.n;
		if (fs.stopping && fs.kids.n == 0 && fs.udp.pid == 0)
			break;
		fs.npfd = 0;
		fs.pfd[fs.npfd].fd = sig_pipe_fd();
		fs.pfd[fs.npfd++].events = POLLIN;
		timeout = -1;
		t = now_ms();
		if (!fs.stopping) {
			int accepting = fs.kids.n < (size_t)srv->opt->max_children &&
			    ts_ms(&fs.paused_until) <= t;

			for (i = 0; i < srv->nls; i++) {
				fs.pfd[fs.npfd].fd = srv->ls[i].fd;
				fs.pfd[fs.npfd++].events =
				    accepting && srv->ls[i].socktype ==
				    SOCK_STREAM ? POLLIN : 0;
			}
			if (!accepting && ts_ms(&fs.paused_until) > t)
				timeout = (int)(ts_ms(&fs.paused_until) - t);
		} else if (fs.stopping == SIGTERM) {
			long long left = ts_ms(&fs.deadline) - t;

			if (left <= 0) {
				log_info("grace over: ending %zu children",
				    fs.kids.n);
				children_signal(&fs.kids, SIGKILL);
				udpw_signal(&fs.udp, SIGKILL);
				fs.stopping = SIGINT;
			} else
				timeout = (int)left;
		}
		{
			/* issue #5: (re)start the UDP worker when due. */
			int ut = udpw_maintain(srv, &fs.udp, fs.ignore, t);

			if (ut >= 0 && (timeout < 0 || ut < timeout))
				timeout = ut;
		}
		{
			size_t first = fs.npfd;

			if (fs.ignore)
				for (i = 0; i < fs.kids.n; i++) {
					fs.pfd[fs.npfd].fd = fs.kids.tab[i].fd;
					fs.pfd[fs.npfd++].events = POLLIN;
				}
			fs.udp_pfd = 0;
			if (fs.udp.fd != -1) {		/* issue #5 */
				fs.udp_pfd = fs.npfd;
				fs.pfd[fs.npfd].fd = fs.udp.fd;
				fs.pfd[fs.npfd++].events = POLLIN;
			}
			/* svc hooks: notify STATUS and watchdog ticks. */
			timeout = server_tick_timeout(srv, timeout);
			n = poll(fs.pfd, fs.npfd, timeout);
			if (n == -1 && errno != EINTR)
				fatal("poll");
			if (n > 0 && (fs.pfd[0].revents & POLLIN))
				sig_drain();
			handle_signals(&fs);
			if (n > 0 && fs.ignore)
				pipes_check(&fs, first);
			if (n > 0 && !fs.stopping)
				for (i = 1; i < first; i++)
					if (fs.pfd[i].revents & POLLIN)
						accept_some(&fs,
						    fs.pfd[i].fd);
		}
		if (fs.kids.n != nkids_before) {
			status_changed(&fs);
			update_title(&fs);
		}
	}
	limits_fold(srv, &srv->st);
	log_info("stopped: served=%llu reaped=%llu abnormal=%llu",
	    (unsigned long long)srv->st.served,
	    (unsigned long long)srv->st.reaped,
	    (unsigned long long)srv->st.abnormal);
	children_free(&fs.kids);
	free(fs.pfd);
	return 0;
}
