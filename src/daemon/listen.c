/*
 * listen.c: bind and listen (see listen.h).
 *
 * A UNIX socket path left over by a crashed echod is removed only if
 * nothing answers on it (connect(2) says ECONNREFUSED); a live socket
 * or a file that is not a socket is an error, never clobbered.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "udp.h"
#include "log.h"

static const char *
proto_name(int socktype, int family)
{
	if (family == AF_UNIX)
		return "unix";
	return socktype == SOCK_DGRAM ? "udp" : "tcp";
}

static void
set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int
get_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/*
 * A UNIX socket path about to be bound (here and for --control): free,
 * or a dead echod's socket, removed.  -1 with err ("<what><path>: ...")
 * when it is not a socket or something answers on it.
 */
int
unix_path_clear(const char *path, const char *what, char *err,
    size_t errlen)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, rc;

	if (lstat(path, &st) == -1)
		return 0;		/* nothing there */
	if (!S_ISSOCK(st.st_mode)) {
		(void)snprintf(err, errlen, "%s%s: exists and is not a "
		    "socket", what, path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)close(fd);
	if (rc == 0) {
		(void)snprintf(err, errlen, "%s%s: another process serves "
		    "it", what, path);
		return -1;
	}
	if (errno == ECONNREFUSED)
		(void)unlink(path);
	return 0;
}

static int
open_one(struct addr_bind *b, int socktype, struct listener *l,
    const char *path, char *err, size_t errlen)
{
	char	name[ADDR_STRLEN + 110];
	int	fd, on = 1;

	(void)addr_ntop((struct sockaddr *)&b->ss, b->len, name, sizeof(name));
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->socktype = socktype;
	l->family = b->ss.ss_family;
	if ((fd = socket(b->ss.ss_family,
	    socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		(void)snprintf(err, errlen, "cannot listen on %s %s: socket: %s",
		    proto_name(socktype, l->family), name, strerror(errno));
		return -1;
	}
	/*
	 * Stream only: on a datagram socket SO_REUSEADDR would let another
	 * local process bind the same port and take its traffic.
	 */
	if (b->ss.ss_family != AF_UNIX && socktype == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (b->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1) {
		(void)snprintf(err, errlen,
		    "cannot listen on %s %s: IPV6_V6ONLY: %s",
		    proto_name(socktype, l->family), name, strerror(errno));
		(void)close(fd);
		return -1;
	}
	/*
	 * issue #5: the UDP worker answers from the address each datagram
	 * was sent to (udp.c); on before bind, so no datagram is queued
	 * without it.
	 */
	if (socktype == SOCK_DGRAM && b->ss.ss_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	else if (socktype == SOCK_DGRAM && b->ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		    sizeof(on));
	if (path != NULL && unix_path_clear(path, "cannot listen on unix:",
	    err, errlen) == -1) {
		(void)close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&b->ss, b->len) == -1 ||
	    (socktype == SOCK_STREAM && listen(fd, SOMAXCONN) == -1)) {
		(void)snprintf(err, errlen, "cannot listen on %s %s: %s",
		    proto_name(socktype, l->family), name, strerror(errno));
		(void)close(fd);
		return -1;
	}
	if (path != NULL) {
		l->owned_path = 1;
		(void)strlcpy(l->path, path, sizeof(l->path));
	} else {
		/* Port 0: name the port the kernel chose. */
		set_port(&b->ss, get_port(fd));
		(void)addr_ntop((struct sockaddr *)&b->ss, b->len, name,
		    sizeof(name));
	}
	l->fd = fd;
	(void)snprintf(l->name, sizeof(l->name), "%s %s",
	    proto_name(socktype, l->family), name);
	return 0;
}

int
listeners_open(const struct options *o, struct listener *ls, size_t max,
    size_t *nls, char *err, size_t errlen)
{
	struct addr_spec	 def;
	const struct addr_spec	*specs = o->listen;
	struct addr_bind	 binds[16];
	size_t			 nspecs = o->nlisten, i, j, nb;
	int			 port, ndgram = 0;

	*nls = 0;
	if (nspecs == 0) {
		memset(&def, 0, sizeof(def));
		def.kind = ADDR_WILDCARD;
		def.port = 7;
		specs = &def;
		nspecs = 1;
	}
	for (i = 0; i < nspecs; i++) {
		if (addr_resolve(&specs[i], binds, 16, &nb, err, errlen) == -1)
			goto fail;
		port = specs[i].port;
		for (j = 0; j < nb; j++) {
			const char *path = specs[i].kind == ADDR_UNIX ?
			    specs[i].path : NULL;

			if (*nls + 2 > max) {
				(void)snprintf(err, errlen,
				    "too many listening sockets (max %zu)",
				    max);
				goto fail;
			}
			if (path == NULL && port != 0)
				set_port(&binds[j].ss, port);
			if (open_one(&binds[j], SOCK_STREAM, &ls[*nls], path,
			    err, errlen) == -1)
				goto fail;
			if (path == NULL)
				port = get_port(ls[*nls].fd);
			ls[*nls].port_chosen = specs[i].port == 0 &&
			    path == NULL;
			(*nls)++;
			if (o->udp && path == NULL) {
				if (++ndgram > UDP_MAX_SOCKETS) {
					(void)snprintf(err, errlen, "too many "
					    "datagram sockets: the UDP worker "
					    "holds at most %d",
					    UDP_MAX_SOCKETS);
					goto fail;
				}
				set_port(&binds[j].ss, port);
				if (open_one(&binds[j], SOCK_DGRAM, &ls[*nls],
				    NULL, err, errlen) == -1)
					goto fail;
				ls[*nls].port_chosen = specs[i].port == 0;
				(*nls)++;
			}
		}
	}
	/* A port the kernel chose is news even to a -q user. */
	for (i = 0; i < *nls; i++)
		if (ls[i].port_chosen)
			log_notice("listening on %s", ls[i].name);
		else
			log_info("listening on %s", ls[i].name);
	return 0;
fail:
	listeners_close(ls, *nls, 1);
	*nls = 0;
	return -1;
}

/* A socket handed to us (systemd, inetd wait): learn what it is. */
int
listener_adopt(int fd, struct listener *l, char *err, size_t errlen)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss), olen;
	char			name[ADDR_STRLEN + 110];
	int			type, fl;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	olen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) == -1) {
		(void)snprintf(err, errlen, "fd %d is not a socket: %s", fd,
		    strerror(errno));
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		(void)snprintf(err, errlen, "fd %d: getsockname: %s", fd,
		    strerror(errno));
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		(void)snprintf(err, errlen, "fd %d: fcntl: %s", fd,
		    strerror(errno));
		return -1;
	}
	l->fd = fd;
	l->socktype = type;
	l->family = ss.ss_family;
	(void)addr_ntop((struct sockaddr *)&ss, len, name, sizeof(name));
	(void)snprintf(l->name, sizeof(l->name), "%s %s",
	    proto_name(type, l->family), name);
	return 0;
}

void
listeners_close(struct listener *ls, size_t n, int unlink_paths)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (ls[i].fd != -1)
			(void)close(ls[i].fd);
		ls[i].fd = -1;
		if (unlink_paths && ls[i].owned_path) {
			(void)unlink(ls[i].path);
			ls[i].owned_path = 0;
		}
	}
}

/*
 * Give every TCP listener a receive timeout of ms (> 0), which the
 * sockets it accepts inherit (Linux copies SO_RCVTIMEO into the new
 * socket; an AF_UNIX accept does not).  Returns 1 when every stream
 * listener now hands out sockets whose blocking receive returns within
 * ms, so a serving process may block in recv(2) instead of polling
 * (echo.h, recv_bounded); 0 otherwise, which is always safe.
 */
int
listeners_bound_recv(struct listener *ls, size_t n, int ms)
{
	struct timeval	 tv;
	size_t		 i;
	int		 all = 1;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	for (i = 0; i < n; i++) {
		if (ls[i].fd == -1 || ls[i].socktype != SOCK_STREAM)
			continue;
		if (ls[i].family != AF_INET && ls[i].family != AF_INET6)
			all = 0;
		else if (setsockopt(ls[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
		    sizeof(tv)) == -1)
			all = 0;
	}
	return all;
}
