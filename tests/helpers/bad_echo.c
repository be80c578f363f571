/*
 * bad_echo.c: a small echo server for echoc's tests, good or deliberately
 * faulty.
 *
 *	bad_echo MODE [SECONDS]
 *
 * Binds 127.0.0.1 port 0 for TCP (and the same port for UDP when it is
 * free), prints the port on the first line of stdout, and serves until
 * SIGTERM or SECONDS (default 60) have passed, so a test that forgets it
 * cannot leave it behind for long.  MODE:
 *
 *	good	echo every byte back
 *	flip	echo, but flip the lowest bit of each connection's first byte
 *		(and of each datagram's first byte)
 *	reset	read what arrives, then close with SO_LINGER 0 (an RST)
 *	hang	accept and read, never answer
 *
 * One process, one poll(2) loop; each connection has a small buffer and
 * is not read while it holds unsent bytes, the backpressure a real
 * server needs too.  Test code: simple before fast.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXCONN		8192
#define BUFSZ		16384

enum mode { M_GOOD, M_FLIP, M_RESET, M_HANG };

struct conn {
	int	 fd;
	int	 flipped;
	size_t	 off, len;
	char	 buf[BUFSZ];
};

static struct conn	*conns[MAXCONN];
static struct pollfd	 pfd[MAXCONN + 2];
static int		 nconn;
static enum mode	 mode;

static void
conn_drop(int i, int rst)
{
	struct linger	 l = { 1, 0 };

	if (rst)
		(void)setsockopt(conns[i]->fd, SOL_SOCKET, SO_LINGER, &l,
		    sizeof(l));
	(void)close(conns[i]->fd);
	free(conns[i]);
	conns[i] = conns[--nconn];
}

/* Returns 0, or -1 when connection i is gone (and slot i refilled). */
static int
conn_io(int i, short rev)
{
	struct conn	*c = conns[i];
	ssize_t		 n;

	if (c->len > c->off && (rev & (POLLOUT | POLLERR | POLLHUP))) {
		n = write(c->fd, c->buf + c->off, c->len - c->off);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			conn_drop(i, 0);
			return -1;
		}
		if (n > 0)
			c->off += (size_t)n;
		if (c->off == c->len)
			c->off = c->len = 0;
		return 0;
	}
	if (!(rev & (POLLIN | POLLERR | POLLHUP)))
		return 0;
	n = read(c->fd, c->buf, sizeof(c->buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		conn_drop(i, 0);
		return -1;
	}
	switch (mode) {
	case M_RESET:
		conn_drop(i, 1);
		return -1;
	case M_HANG:
		return 0;
	case M_FLIP:
		if (!c->flipped) {
			c->buf[0] ^= 1;
			c->flipped = 1;
		}
		/* FALLTHROUGH */
	case M_GOOD:
		c->off = 0;
		c->len = (size_t)n;
		n = write(c->fd, c->buf, c->len);
		if (n > 0)
			c->off = (size_t)n;
		if (c->off == c->len)
			c->off = c->len = 0;
		return 0;
	}
	return 0;
}

static void
udp_io(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 buf[65536];
	ssize_t			 n;

	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
	if (n <= 0 || mode == M_HANG || mode == M_RESET)
		return;
	if (mode == M_FLIP && n > 0)
		buf[0] ^= 1;
	(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin;
	socklen_t		 sl;
	char			*end;
	long			 secs = 60;
	int			 lfd, ufd, fd, i, n, one = 1;

	if (argc < 2 || argc > 3)
		errx(64, "usage: bad_echo good|flip|reset|hang [seconds]");
	if (strcmp(argv[1], "good") == 0)
		mode = M_GOOD;
	else if (strcmp(argv[1], "flip") == 0)
		mode = M_FLIP;
	else if (strcmp(argv[1], "reset") == 0)
		mode = M_RESET;
	else if (strcmp(argv[1], "hang") == 0)
		mode = M_HANG;
	else
		errx(64, "mode %s: not good, flip, reset or hang", argv[1]);
	/* strtol, not strtonum: this helper links nothing but libc. */
	if (argc == 3) {
		errno = 0;
		secs = strtol(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || end == argv[2] || secs < 1 ||
		    secs > 86400)
			errx(64, "seconds %s: not 1 to 86400", argv[2]);
	}

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd == -1)
		err(1, "socket");
	(void)setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "bind 127.0.0.1 port 0");
	if (listen(lfd, 4096) == -1)
		err(1, "listen");
	sl = sizeof(sin);
	if (getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1)
		err(1, "getsockname");
	(void)fcntl(lfd, F_SETFL, O_NONBLOCK);

	/* UDP on the same port when free; tests that need it check. */
	ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ufd != -1 &&
	    bind(ufd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		(void)close(ufd);
		ufd = -1;
	}
	/* Clients hang up mid-echo (that is what they test): no SIGPIPE. */
	(void)signal(SIGPIPE, SIG_IGN);
	printf("%u\n", ntohs(sin.sin_port));
	(void)fflush(stdout);
	alarm((unsigned int)secs);	/* SIGALRM's default ends us */

	for (;;) {
		pfd[0].fd = lfd;
		pfd[0].events = nconn < MAXCONN ? POLLIN : 0;
		pfd[1].fd = ufd;
		pfd[1].events = POLLIN;
		for (i = 0; i < nconn; i++) {
			pfd[i + 2].fd = conns[i]->fd;
			pfd[i + 2].events = conns[i]->len > conns[i]->off ?
			    POLLOUT : POLLIN;
		}
		n = poll(pfd, (nfds_t)nconn + 2, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (pfd[1].revents & POLLIN)
			udp_io(ufd);
		/* Backwards, so conn_drop's refill is never looked at twice. */
		for (i = nconn - 1; i >= 0; i--)
			if (pfd[i + 2].revents != 0 && pfd[i + 2].fd ==
			    conns[i]->fd)
				(void)conn_io(i, pfd[i + 2].revents);
		if (!(pfd[0].revents & POLLIN))
			continue;
		while (nconn < MAXCONN &&
		    (fd = accept(lfd, NULL, NULL)) != -1) {
			(void)fcntl(fd, F_SETFL, O_NONBLOCK);
			(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
			conns[nconn] = calloc(1, sizeof(**conns));
			if (conns[nconn] == NULL) {
				(void)close(fd);
				break;
			}
			conns[nconn]->fd = fd;
			nconn++;
		}
	}
}
