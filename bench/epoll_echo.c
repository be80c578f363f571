#define _GNU_SOURCE
/*
 * epoll_echo.c: the benchmark's ceiling, a single-process epoll echo
 * server.  No fork, no workers: one level-triggered epoll loop over a
 * non-blocking listener and non-blocking connections.  Each connection
 * keeps a small buffer for bytes it could not write yet; while that is
 * non-empty the connection waits for EPOLLOUT instead of reading
 * (backpressure).
 *
 * usage: epoll_echo [HOST] PORT   (PORT 0: any; the port is printed on
 * stdout line 1).  Built by `make bench` only; not installed.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ	65536
#define MAXEV	256

struct conn {
	int	fd;
	size_t	off, len;	/* pending output in buf[off..off+len) */
	char	buf[BUFSZ];
};

static void
conn_close(int ep, struct conn *c)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	(void)close(c->fd);
	free(c);
}

/* Echo until EAGAIN or a full socket; returns -1 when c is gone. */
static int
conn_run(int ep, struct conn *c)
{
	struct epoll_event ev;
	ssize_t n;

	for (;;) {
		while (c->len > 0) {
			n = write(c->fd, c->buf + c->off, c->len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN) {
				ev.events = EPOLLOUT;
				ev.data.ptr = c;
				(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			if (n <= 0) {
				conn_close(ep, c);
				return -1;
			}
			c->off += (size_t)n;
			c->len -= (size_t)n;
		}
		c->off = 0;
		n = read(c->fd, c->buf, sizeof(c->buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_close(ep, c);
			return -1;
		}
		c->len = (size_t)n;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	(void)epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct epoll_event ev, evs[MAXEV];
	struct sockaddr_in sin;
	socklen_t len;
	struct conn *c;
	const char *host = "127.0.0.1";
	int lfd, ep, fd, i, n, one = 1;

	if (argc == 3)
		host = argv[1];
	else if (argc != 2)
		errx(64, "usage: epoll_echo [HOST] PORT");
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[argc - 1]));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		errx(64, "bad address %s", host);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		err(1, "socket");
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind %s:%s", host, argv[argc - 1]);
	if (listen(lfd, 4096) == -1)
		err(1, "listen");
	len = sizeof(sin);
	(void)getsockname(lfd, (struct sockaddr *)&sin, &len);
	printf("%u\n", ntohs(sin.sin_port));
	(void)fflush(stdout);

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;		/* NULL: the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		err(1, "epoll_ctl");
	for (;;) {
		n = epoll_wait(ep, evs, MAXEV, -1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			err(1, "epoll_wait");
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr != NULL) {
				(void)conn_run(ep, evs[i].data.ptr);
				continue;
			}
			/* accept4 loop: drain the backlog. */
			while ((fd = accept4(lfd, NULL, NULL,
			    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
				if ((c = malloc(sizeof(*c))) == NULL) {
					(void)close(fd);
					continue;
				}
				c->fd = fd;
				c->off = c->len = 0;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
					(void)close(fd);
					free(c);
				}
			}
		}
	}
	/* NOTREACHED */
}
