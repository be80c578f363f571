/*
 * svc.c: the glue between echod and whatever runs it (see svc.h).
 *
 * Privileges.  With --user the serving processes always drop before
 * they read a byte from a client.  The master drops too, right after
 * binding, unless it will need root again: to remove a pid file in a
 * root-owned directory (-P) or to unlink a UNIX socket it created.  Such
 * a master keeps root but never touches client data (the fork master
 * only accepts; a prefork master only counts), so what faces the network
 * is unprivileged either way.  A master that keeps root first proves, in
 * a throw-away child, that the drop works: a broken --user is a start-up
 * error (exit 1), not a stream of children dying one per connection.
 */
#include "config.h"

#include <sys/wait.h>
#ifdef HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemonize.h"
#include "inetd.h"
#include "log.h"
#include "privdrop.h"
#include "sdlisten.h"
#include "sdnotify.h"
#include "svc.h"
#include "udp.h"

static struct privdrop	pd;
static int		master_dropped;
static int		detached;

void
svc_ready(struct server *srv)
{
	daemon_ready();
	log_set_stderr_too(0);
	sdnotify_ready(srv->st, model_name(srv->opt->model), detached);
}

void
svc_status(struct server *srv)
{
	sdnotify_status(srv->st, model_name(srv->opt->model));
}

void
svc_stopping(struct server *srv)
{
	(void)srv;
	sdnotify_stopping();
}

void
svc_reload(struct server *srv, int begin)
{
	(void)srv;
	sdnotify_reloading(begin);
}

int
svc_tick(struct server *srv)
{
	(void)srv;
	return sdnotify_tick();
}

/*
 * In every serving process, from serve_enter(): forget the pid file and
 * the -D pipe (their descriptors are already closed), stop talking to
 * systemd, drop privileges.  Never serve as root when told not to.
 */
int
svc_child_drop(char *err, size_t errlen)
{
	daemon_child();
	sdnotify_child();
	if (!master_dropped && (pd.set_uid || pd.set_gid) &&
	    privdrop_apply(&pd, err, errlen) == -1)
		return -1;
	return 0;
}

/* The user svc_child_drop() failed to become, for its message. */
const char *
svc_user(void)
{
	return pd.user;
}

void
svc_set_detached(int on)
{
	detached = on;
}

int
svc_init(struct server *srv, char *err, size_t errlen)
{
	const struct options	*o = srv->opt;

	if ((o->user != NULL || o->group != NULL) &&
	    privdrop_resolve(o->user, o->group, &pd, err, errlen) == -1)
		return -1;
	(void)sdnotify_init();
	return 0;
}

static int
adopt(struct server *srv, int fd, const char *name, const char *from,
    char *err, size_t errlen)
{
	static int	 ndgram;
	struct listener	*l;
	size_t		 len;

	if (srv->nls >= LISTEN_MAX) {
		(void)snprintf(err, errlen, "too many sockets from %s", from);
		return -1;
	}
	l = &srv->ls[srv->nls];
	if (listener_adopt(fd, l, err, errlen) == -1)
		return -1;
	if (l->socktype == SOCK_DGRAM && ++ndgram > UDP_MAX_SOCKETS) {
		(void)snprintf(err, errlen, "too many datagram sockets from "
		    "%s: the UDP worker holds at most %d", from,
		    UDP_MAX_SOCKETS);
		listeners_close(l, 1, 0);
		return -1;
	}
	srv->nls++;
	len = strlen(l->name);
	if (name != NULL && *name != '\0')
		(void)snprintf(l->name + len, sizeof(l->name) - len, " (%s)",
		    name);
	log_info("listening on %s, from %s", l->name, from);
	return 0;
}

/* LISTEN_FDS: listening sockets for the model, or one connection. */
static int
from_systemd(struct server *srv, int n, char (*names)[SDLISTEN_NAMELEN],
    int *connfd, char *err, size_t errlen)
{
	enum sock_kind	k;
	int		i, fd;

	for (i = 0; i < n; i++) {
		fd = SDLISTEN_FIRST + i;
		switch (k = sock_classify(fd)) {
		case SOCK_KIND_CONN:
			if (n != 1) {
				(void)snprintf(err, errlen, "systemd passed "
				    "%d sockets, fd %d connected: with "
				    "Accept=yes only one is expected", n, fd);
				return -1;
			}
			*connfd = fd;
			return SVC_CONN;
		case SOCK_KIND_LISTEN:
		case SOCK_KIND_DGRAM:
			if (adopt(srv, fd, names[i], "systemd", err,
			    errlen) == -1)
				return -1;
			break;
		default:
			(void)snprintf(err, errlen, "systemd passed fd %d%s%s, "
			    "which is %s", fd, names[i][0] ? " named " : "",
			    names[i], sock_kind_name(k));
			return -1;
		}
	}
	return SVC_ADOPTED;
}

int
svc_sockets(struct server *srv, int *connfd, char *err, size_t errlen)
{
	static char	 names[LISTEN_MAX][SDLISTEN_NAMELEN];
	const struct options *o = srv->opt;
	enum sock_kind	 k;
	int		 n, fd;

	*connfd = -1;
	srv->nls = 0;
	/* Always taken, so children never see the variables. */
	if ((n = sdlisten_take(names, LISTEN_MAX, err, errlen)) == -1)
		return -1;
	if (!o->inetd)
		return n > 0 ? from_systemd(srv, n, names, connfd, err,
		    errlen) : SVC_BIND;

	k = sock_classify(STDIN_FILENO);
	if (k == SOCK_KIND_NOTSOCK && n > 0)
		return from_systemd(srv, n, names, connfd, err, errlen);
	switch (k) {
	case SOCK_KIND_LISTEN:
	case SOCK_KIND_CONN:
		break;
	case SOCK_KIND_DGRAM:
		break;		/* inetd dgram wait: udp_serve_fd() */
	case SOCK_KIND_NOTSOCK:
		(void)snprintf(err, errlen, "-i: standard input is not a "
		    "socket (%s): run echod -i from inetd, xinetd or a "
		    "systemd socket unit", strerror(ENOTSOCK));
		return -1;
	default:
		(void)snprintf(err, errlen, "-i: standard input is %s",
		    sock_kind_name(k));
		return -1;
	}
	/* fds 0-2 may all be the socket: nothing may be written there. */
	fd = inetd_take_fd(STDIN_FILENO, o->log_set &&
	    o->log == LOG_TO_STDERR, err, errlen);
	if (fd == -1)
		return -1;
	if (k == SOCK_KIND_CONN || k == SOCK_KIND_DGRAM) {
		*connfd = fd;
		return k == SOCK_KIND_CONN ? SVC_CONN : SVC_DGRAM;
	}
	if (adopt(srv, fd, NULL, "inetd", err, errlen) == -1)
		return -1;
	return SVC_ADOPTED;
}

/* Can a child drop?  Try it in one that then exits at once. */
static int
probe_drop(char *err, size_t errlen)
{
	int	p[2], status;
	pid_t	pid;
	ssize_t	n;

	if (pipe2(p, O_CLOEXEC) == -1) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	switch (pid = fork()) {
	case -1:
		(void)snprintf(err, errlen, "fork: %s", strerror(errno));
		(void)close(p[0]);
		(void)close(p[1]);
		return -1;
	case 0:
		(void)close(p[0]);
		if (privdrop_apply(&pd, err, errlen) == -1) {
			(void)write(p[1], err, strlen(err));
			_exit(1);
		}
		_exit(0);
	default:
		break;
	}
	(void)close(p[1]);
	n = read(p[0], err, errlen - 1);
	(void)close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (n > 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (n <= 0)
			(void)snprintf(err, errlen, "privilege drop failed");
		else
			err[n] = '\0';
		return -1;
	}
	return 0;
}

int
svc_privdrop_master(struct server *srv, char *err, size_t errlen)
{
	char	why[256];
	size_t	i;
	int	needs_root = srv->opt->pidfile != NULL;

	if (!pd.set_uid && !pd.set_gid)
		return 0;
	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].owned_path)
			needs_root = 1;
	if (needs_root) {
		if (probe_drop(why, sizeof(why)) == -1) {
			(void)snprintf(err, errlen, "--user %s: %s", pd.user,
			    why);
			return -1;
		}
		return 0;
	}
	if (privdrop_apply(&pd, why, sizeof(why)) == -1) {
		(void)snprintf(err, errlen, "--user %s: %s",
		    pd.set_uid ? pd.user : "(none)", why);
		return -1;
	}
	master_dropped = 1;
	return 0;
}
