/*
 * inetd.c: run under inetd, xinetd or a systemd socket (see inetd.h).
 *
 * Under inetd, descriptors 0, 1 and 2 are all the socket.  Writing a log
 * line to any of them would send it to the client, so the socket is moved
 * above stdio and 0-2 point at /dev/null (2 is kept only when --log=stderr
 * was asked for: the admin said so).  Moving it also means a fork-model
 * child that closes the listeners holds no stray copy on fd 0.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <paths.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inetd.h"
#include "access.h"
#include "log.h"
#include "spawn.h"

enum sock_kind
sock_classify(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			type, acc;

	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return SOCK_KIND_NOTSOCK;
	if (type == SOCK_DGRAM)
		return SOCK_KIND_DGRAM;
	if (type != SOCK_STREAM)
		return SOCK_KIND_OTHER;
	len = sizeof(acc);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc)
		return SOCK_KIND_LISTEN;
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		return SOCK_KIND_CONN;
	return SOCK_KIND_OTHER;
}

const char *
sock_kind_name(enum sock_kind k)
{
	switch (k) {
	case SOCK_KIND_NOTSOCK:
		return "not a socket";
	case SOCK_KIND_LISTEN:
		return "a listening stream socket";
	case SOCK_KIND_CONN:
		return "a connected stream socket";
	case SOCK_KIND_DGRAM:
		return "a datagram socket";
	case SOCK_KIND_OTHER:
		break;
	}
	return "a socket that is neither listening, connected nor datagram";
}

int
inetd_take_fd(int fd, int keep_stderr, char *err, size_t errlen)
{
	int	nfd, null, i;

	if (fd > STDERR_FILENO)
		nfd = fd;
	else if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) == -1) {
		(void)snprintf(err, errlen, "fd %d: dup: %s", fd,
		    strerror(errno));
		return -1;
	}
	if ((null = open(_PATH_DEVNULL, O_RDWR)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", _PATH_DEVNULL,
		    strerror(errno));
		return -1;
	}
	for (i = STDIN_FILENO; i <= STDERR_FILENO; i++) {
		if (i == STDERR_FILENO && keep_stderr)
			continue;
		if (i != null && dup2(null, i) == -1) {
			(void)snprintf(err, errlen, "dup2: %s",
			    strerror(errno));
			return -1;
		}
	}
	if (null > STDERR_FILENO)
		(void)close(null);
	(void)fcntl(nfd, F_SETFD, FD_CLOEXEC);
	return nfd;
}

/* The body, confined by serve_enter() like any serving process. */
static int
inetd_serve(struct server *srv, const struct serve_spec *spec)
{
	setproctitle("inetd %s", "serving");
	if (access_inetd(srv, spec->conn) == -1)	/* issue #12: rules, PROXY */
		return 0;
	conn_serve(srv, spec->conn);
	return 0;
}

int
inetd_serve_conn(struct server *srv, int fd)
{
	int	fl;

	/* As a model's accept4() would give it: blocking, close-on-exec. */
	if ((fl = fcntl(fd, F_GETFL)) != -1 && (fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	(void)signal(SIGPIPE, SIG_IGN);
	serve_inetd(srv, SERVE_INETD, fd, inetd_serve);
}
