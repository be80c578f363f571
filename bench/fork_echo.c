/*
 * fork_echo.c: the reference for fork-per-connection, as small as it
 * gets: blocking accept; fork; the child echoes with read/write and
 * _exits; the parent closes its copy.  SIGCHLD is SIG_IGN so the kernel
 * reaps.  No limits, no logging, no signal handling: what echod's fork
 * model is measured against.
 *
 * usage: fork_echo [HOST] PORT   (PORT 0: any; printed on stdout line 1).
 * Built by `make bench` only; not installed.
 */
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

static void
serve(int fd)
{
	char buf[65536];
	ssize_t n, w, off;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (off = 0; off < n; off += w)
			if ((w = write(fd, buf + off, (size_t)(n - off))) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				_exit(1);
			}
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	socklen_t len;
	const char *host = "127.0.0.1";
	int lfd, fd, one = 1;

	if (argc == 3)
		host = argv[1];
	else if (argc != 2)
		errx(64, "usage: fork_echo [HOST] PORT");
	(void)signal(SIGCHLD, SIG_IGN);
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[argc - 1]));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		errx(64, "bad address %s", host);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
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

	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;	/* EINTR, ECONNABORTED, EMFILE... */
		switch (fork()) {
		case -1:
			break;
		case 0:
			(void)close(lfd);
			serve(fd);
			/* NOTREACHED */
		}
		(void)close(fd);
	}
}
