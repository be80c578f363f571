/*
 * control.c: the control socket (see control.h).
 *
 * The socket is made with umask 0177 around bind(2), so it is never
 * reachable with wider permissions, not even for an instant.  A path
 * that exists is replaced only when it is a socket nobody answers on
 * (a dead echod's; unix_path_clear() in listen.c, shared with unix:
 * listeners); a live one is a start-up error.
 *
 * Four clients at most: a fifth waits in the backlog, because the
 * listener leaves the epoll set while all slots are taken (level-
 * triggered: otherwise the master would spin on it).  Every client is
 * cut one second after it connected, so a silent one holds a slot for
 * a second and delays nothing else.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "children.h"
#include "clock.h"
#include "control.h"
#include "ctlfmt.h"
#include "listen.h"
#include "liveops.h"
#include "log.h"
#include "scoreboard.h"
#include "server.h"
#include "sig.h"
#include "upgrade.h"

struct client {
	int		 fd;		/* -1: free slot */
	long long	 deadline;
	char		 in[CONTROL_LINE_MAX + 3];
	size_t		 inlen;
	struct ctlbuf	 out;
	size_t		 off;
};

static struct client	 cl[CONTROL_CLIENTS];
static struct server	*csrv;
static int		 lfd = -1;
static int		 paused;	/* all slots taken */
static int		 owned;		/* unlink path at exit */
static char		 cpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
static long long	 started;

/* What "workers" and "status" read: the master's own (control.h). */
static const struct children	*v_kids;
static const uint32_t		*v_gen;
static const struct scoreboard	*v_sb;	/* prefork only */

static void	on_listen(void *, uint32_t);
static void	on_client(void *, uint32_t);

void
control_view(const struct children *kids, const uint32_t *gen)
{
	v_kids = kids;
	v_gen = gen;
}

void
control_view_scoreboard(const struct scoreboard *sb)
{
	v_sb = sb;
}

int
control_fd(void)
{
	return lfd;
}

static void
control_atexit(void)
{
	if (owned && csrv != NULL && getpid() == csrv->master_pid)
		(void)unlink(cpath);
}

static int
make_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd, rc;

	if (unix_path_clear(path, "--control ", err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		(void)snprintf(err, errlen, "--control: socket: %s",
		    strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rc == -1 || chmod(path, 0600) == -1 || listen(fd, 16) == -1) {
		(void)snprintf(err, errlen, "--control %s: %s", path,
		    strerror(errno));
		if (rc == 0)
			(void)unlink(path);
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
control_open(struct server *srv, char *err, size_t errlen)
{
	const char	*path = srv->opt->control;
	int		 fd = upgrade_control_fd(), fl;
	size_t		 i;

	if (path == NULL) {
		if (fd != -1)
			(void)close(fd);
		return 0;
	}
	csrv = srv;
	started = (long long)time(NULL);
	for (i = 0; i < CONTROL_CLIENTS; i++)
		cl[i].fd = -1;
	(void)strlcpy(cpath, path, sizeof(cpath));
	if (fd != -1) {
		/* Handed over by the master we replace: same path. */
		if ((fl = fcntl(fd, F_GETFL)) != -1)
			(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		log_info("control socket %s, from the old master", path);
	} else if ((fd = make_socket(path, err, errlen)) == -1)
		return -1;
	else
		log_info("control socket %s", path);
	lfd = fd;
	owned = 1;
	(void)atexit(control_atexit);
	if (liveops_watch(lfd, EPOLLIN, on_listen, NULL) == -1) {
		(void)snprintf(err, errlen, "--control: epoll: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
control_handover(void)
{
	if (lfd == -1)
		return;
	liveops_unwatch(lfd);
	(void)close(lfd);
	lfd = -1;
	owned = 0;		/* the new master removes it */
}

static void
client_close(struct client *c)
{
	char	junk[4096];
	int	i;

	/*
	 * Unread input makes close(2) reset the connection, and the peer
	 * would see ECONNRESET instead of the answer (a too-long line):
	 * discard what has arrived, a bounded amount, first.
	 */
	for (i = 0; i < 16 && recv(c->fd, junk, sizeof(junk),
	    MSG_DONTWAIT) > 0; i++)
		;
	liveops_unwatch(c->fd);
	(void)close(c->fd);
	c->fd = -1;
	ctlbuf_free(&c->out);
	if (paused && lfd != -1) {
		paused = 0;
		(void)liveops_watch(lfd, EPOLLIN, on_listen, NULL);
	}
}

/* Write what the socket takes; close when all of it is out. */
static void
client_flush(struct client *c)
{
	ssize_t	n;

	while (c->off < c->out.len) {
		n = send(c->fd, c->out.p + c->off, c->out.len - c->off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			(void)liveops_watch(c->fd, EPOLLOUT, on_client, c);
			return;
		}
		if (n <= 0)
			break;
		c->off += (size_t)n;
	}
	client_close(c);
}

/* One row of the "workers" answer. */
struct row {
	const struct child	*k;
	const char		*state;
	uint64_t		 served;
	const char		*peer;		/* NULL: none */
	int64_t			 since;		/* ms, CLOCK_MONOTONIC */
};

static const char *
role_name(enum child_role r)
{
	switch (r) {
	case ROLE_WORKER:
		return "worker";
	case ROLE_UDP:
		return "udp";
	default:
		return "child";
	}
}

static const char *
state_name(int st, int retiring)
{
	switch (st) {
	case SLOT_STARTING:
		return "starting";
	case SLOT_BUSY:
		return "busy";
	case SLOT_EXITING:
		return "exiting";
	default:
		return retiring ? "exiting" : "idle";
	}
}

/* Peer-supplied text (a UNIX client's path) made printable ASCII. */
static const char *
printable(char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			s[i] = '?';
	return s;
}

/*
 * A worker's state, count, peer and time of its last state change are
 * the worker's to write: they are read only from a slot that
 * scoreboard_slot_check() vouches for (the pid and slot being the
 * master's own), the peer made printable ASCII, the time believed only
 * between the worker's start and now.
 */
static void
row_from_slot(struct row *r, char *peer, size_t len, int64_t now)
{
	const struct child	*k = r->k;
	const struct slot	*s;
	int64_t			 ms;
	int			 st;

	if (v_sb == NULL || k->slot < 0 ||
	    scoreboard_slot_check(v_sb, (size_t)k->slot, k->pid, &st) == -1) {
		r->state = k->retiring ? "exiting" : "unknown";
		return;
	}
	s = &v_sb->slot[k->slot];
	r->state = state_name(st, k->retiring);
	r->served = scoreboard_slot_served(v_sb, (size_t)k->slot);
	ms = s->state_ms;
	if (ms >= k->start_ms && ms <= now)
		r->since = ms;
	if (st != SLOT_BUSY)
		return;
	memcpy(peer, s->peer, len < SLOT_PEERLEN ? len : SLOT_PEERLEN);
	peer[len - 1] = '\0';
	r->peer = printable(peer);
}

static void
worker_obj(struct ctlbuf *b, const struct row *r, int64_t now, int *first)
{
	ctlbuf_printf(b, "%s{\"pid\": %ld, \"role\": \"%s\", \"state\": "
	    "\"%s\", \"generation\": %u, \"served\": %llu, \"peer\": ",
	    *first ? "" : ", ", (long)r->k->pid, role_name(r->k->role),
	    r->state, r->k->generation, (unsigned long long)r->served);
	if (r->peer != NULL && *r->peer != '\0')
		ctlbuf_json_str(b, r->peer);
	else
		ctlbuf_printf(b, "null");
	ctlbuf_printf(b, ", \"seconds\": %.1f}", now < r->since ? 0.0 :
	    (double)(now - r->since) / 1000.0);
	*first = 0;
}

/* Every process in the master's own table (children.h), nothing else. */
static void
answer_workers(struct ctlbuf *b)
{
	int64_t		now = clock_ms();
	struct row	r;
	char		peer[SLOT_PEERLEN], cpeer[ADDR_STRLEN + 110];
	size_t		i;
	int		first = 1;

	ctlbuf_printf(b, "{\"model\": \"%s\", \"pid\": %ld, \"workers\": [",
	    model_name(csrv->opt->model), (long)getpid());
	for (i = 0; v_kids != NULL && i < v_kids->n; i++) {
		memset(&r, 0, sizeof(r));
		r.k = &v_kids->tab[i];
		r.state = "busy";
		r.since = r.k->start_ms;
		if (r.k->role == ROLE_WORKER)
			row_from_slot(&r, peer, sizeof(peer), now);
		else if (r.k->role == ROLE_UDP)
			r.served = csrv->st->udp_in;
		else if (r.k->peerlen > 0 &&	/* the master's own record */
		    addr_ntop((const struct sockaddr *)&r.k->peer,
		    r.k->peerlen, cpeer, sizeof(cpeer)) != NULL)
			r.peer = printable(cpeer);
		worker_obj(b, &r, now, &first);
	}
	ctlbuf_printf(b, "]}\n");
}

static void
info(struct ctl_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	ci->model = model_name(csrv->opt->model);
	ci->pid = (long)getpid();
	ci->generation = v_gen != NULL ? *v_gen : 0;
	ci->started = started;
	ci->upgrading = upgrade_busy();
}

/* "workers +N" / "workers -N": N SIGTTINs or SIGTTOUs. */
static void
answer_resize(struct ctlbuf *b, const char *arg)
{
	const char	*e;
	long long	 n, i;

	if ((arg[0] != '+' && arg[0] != '-') ||
	    (n = strtonum(arg + 1, 1, 1024, &e), e != NULL)) {
		ctlfmt_error(b, "workers: expected +N or -N, N from 1 to 1024");
		return;
	}
	if (csrv->opt->model != MODEL_PREFORK) {
		ctlfmt_error(b, "workers +N/-N: only with --model=prefork");
		return;
	}
	for (i = 0; i < n; i++)
		if (sig_inject(arg[0] == '+' ? SIGTTIN : SIGTTOU) == -1) {
			ctlfmt_error(b, "too many actions queued");
			return;
		}
	ctlbuf_printf(b, "{\"ok\": true, \"action\": \"workers\", "
	    "\"change\": %s%lld}\n", arg[0] == '-' ? "-" : "", n);
}

static void
answer_action(struct ctlbuf *b, const char *what, int sig)
{
	if (sig == SIGUSR2 && upgrade_busy()) {
		ctlfmt_error(b, "an upgrade is already under way");
		return;
	}
	log_info("control: %s", what);
	if (sig_inject(sig) == -1) {
		ctlfmt_error(b, "too many actions queued");
		return;
	}
	ctlbuf_printf(b, "{\"ok\": true, \"action\": \"%s\"}\n", what);
}

static void
answer(struct ctlbuf *b, const char *req)
{
	struct ctl_info	ci;
	char		line[1024];

	info(&ci);
	if (strcmp(req, "status") == 0) {
		(void)stats_format(csrv->st, ci.model, line, sizeof(line));
		ctlfmt_status(b, line, &ci);
	} else if (strcmp(req, "workers") == 0)
		answer_workers(b);
	else if (strncmp(req, "workers ", 8) == 0)
		answer_resize(b, req + 8);
	else if (strcmp(req, "metrics") == 0)
		ctlfmt_metrics(b, csrv->st, &ci);
	else if (strcmp(req, "reload") == 0)
		answer_action(b, "reload", SIGHUP);
	else if (strcmp(req, "upgrade") == 0)
		answer_action(b, "upgrade", SIGUSR2);
	else if (strcmp(req, "stop") == 0)
		answer_action(b, "stop", SIGTERM);
	else if (*req == '\0')
		ctlfmt_error(b, "empty request");
	else
		ctlfmt_error(b, "unknown request (status, workers, metrics, "
		    "reload, upgrade, stop, workers +N, workers -N)");
}

static void
client_request(struct client *c, int too_long)
{
	char	*req = c->in, *e;

	liveops_unwatch(c->fd);		/* nothing more is read */
	if (too_long)
		ctlfmt_error(&c->out, "request longer than 256 bytes");
	else {
		c->in[c->inlen] = '\0';
		if ((e = strchr(req, '\n')) != NULL)
			*e = '\0';
		e = req + strlen(req);
		while (e > req && (e[-1] == '\r' || e[-1] == ' '))
			*--e = '\0';
		while (*req == ' ')
			req++;
		answer(&c->out, req);
	}
	if (c->out.oom) {
		ctlbuf_free(&c->out);
		client_close(c);
		return;
	}
	c->off = 0;
	client_flush(c);
}

static void
on_client(void *arg, uint32_t ev)
{
	struct client	*c = arg;
	ssize_t		 n;
	size_t		 len;
	char		*nl;

	if (c->fd == -1)
		return;
	if (c->out.len > 0) {		/* writing the answer */
		client_flush(c);
		return;
	}
	(void)ev;
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (n == 0 && c->inlen > 0)
			client_request(c, 0);	/* a last line sans newline */
		else
			client_close(c);
		return;
	}
	c->inlen += (size_t)n;
	if ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		len = (size_t)(nl - c->in);
		if (len > 0 && c->in[len - 1] == '\r')
			len--;
		client_request(c, len > CONTROL_LINE_MAX);
	} else if (c->inlen > CONTROL_LINE_MAX)
		client_request(c, 1);
}

/* 0 or the master's own uid, else refused before reading a byte. */
static int
peer_allowed(int fd, uid_t *uid)
{
	struct ucred	uc;
	socklen_t	len = sizeof(uc);

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return 0;
	*uid = uc.uid;
	return uc.uid == 0 || uc.uid == geteuid();
}

static void
on_listen(void *arg, uint32_t ev)
{
	struct client	*c = NULL;
	struct ctlbuf	 b;
	size_t		 i;
	uid_t		 uid;
	int		 fd;

	(void)arg;
	(void)ev;
	for (;;) {
		for (i = 0, c = NULL; i < CONTROL_CLIENTS && c == NULL; i++)
			if (cl[i].fd == -1)
				c = &cl[i];
		if (c == NULL) {
			/* Full: the rest wait in the backlog. */
			paused = 1;
			(void)liveops_watch(lfd, 0, on_listen, NULL);
			return;
		}
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		if (!peer_allowed(fd, &uid)) {
			memset(&b, 0, sizeof(b));
			ctlfmt_error(&b, "permission denied");
			if (!b.oom)
				(void)send(fd, b.p, b.len, MSG_NOSIGNAL |
				    MSG_DONTWAIT);
			ctlbuf_free(&b);
			(void)close(fd);
			log_info("control: refused a peer with uid %ld",
			    (long)uid);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->deadline = clock_ms() + CONTROL_CLIENT_MS;
		if (liveops_watch(fd, EPOLLIN, on_client, c) == -1) {
			(void)close(fd);
			c->fd = -1;
		}
	}
}

int
control_tick(struct server *srv)
{
	long long	now, t = -1;
	size_t		i;

	(void)srv;
	if (csrv == NULL)
		return -1;
	now = clock_ms();
	for (i = 0; i < CONTROL_CLIENTS; i++) {
		if (cl[i].fd == -1)
			continue;
		if (now >= cl[i].deadline) {
			log_debug("control: client cut after %d ms",
			    CONTROL_CLIENT_MS);
			client_close(&cl[i]);
			continue;
		}
		if (t == -1 || cl[i].deadline - now < t)
			t = cl[i].deadline - now;
	}
	return (int)t;
}
