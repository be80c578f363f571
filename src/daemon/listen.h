/*
 * listen.h: the sockets echod serves.
 *
 * listeners_open() binds every --listen address (or *:7), stream sockets
 * always and, with --udp, a datagram socket on each IP address.  Sockets
 * are non-blocking and close-on-exec; IPv6 ones have IPV6_V6ONLY so "*"
 * binds each family explicitly; port 0 takes a free port, and every other
 * socket of the same --listen gets that same port.  Each bound address is
 * logged as "listening on tcp 127.0.0.1:PORT" (udp, unix likewise).
 * listeners_adopt() wraps sockets received from systemd or inetd instead.
 */
#ifndef ECHOD_LISTEN_H
#define ECHOD_LISTEN_H

#include <stddef.h>

#include "addr.h"
#include "options.h"

#define LISTEN_MAX	(OPT_MAX_LISTEN * 4)

struct listener {
	int	fd;
	int	socktype;	/* SOCK_STREAM or SOCK_DGRAM */
	int	family;
	int	owned_path;	/* we created path: unlink it at exit */
	int	port_chosen;	/* asked for port 0: the kernel chose */
	char	name[ADDR_STRLEN + 120];	/* "tcp 127.0.0.1:7" */
	char	path[sizeof(((struct addr_spec *)0)->path)];
};

int	listeners_open(const struct options *, struct listener *, size_t,
	    size_t *, char *, size_t);
int	listener_adopt(int, struct listener *, char *, size_t);
void	listeners_close(struct listener *, size_t, int);
int	listeners_bound_recv(struct listener *, size_t, int);
/* A path to bind a UNIX socket on: free it of a dead socket, or -1. */
int	unix_path_clear(const char *, const char *, char *, size_t);

#endif
