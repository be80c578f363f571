/*
 * inetd.h: what a launcher handed us, and serving a single connection.
 *
 * sock_classify() tells the kinds of inherited descriptor apart with
 * getsockopt(SO_TYPE) and getsockopt(SO_ACCEPTCONN):
 *	SOCK_KIND_LISTEN	a listening stream socket (inetd "wait",
 *				systemd Accept=no): serve it with the model
 *	SOCK_KIND_CONN		a connected stream socket (inetd "nowait",
 *				systemd Accept=yes): serve it, then exit
 *	SOCK_KIND_DGRAM		a datagram socket (inetd "dgram wait")
 *	SOCK_KIND_NOTSOCK	not a socket at all (a terminal, a file)
 *	SOCK_KIND_OTHER		any other socket (seqpacket, unconnected)
 * inetd_serve_conn() serves one connection in this very process: no
 * fork, no listener; it drops privileges first if asked to.
 */
#ifndef ECHOD_INETD_H
#define ECHOD_INETD_H

#include "server.h"

enum sock_kind {
	SOCK_KIND_NOTSOCK,
	SOCK_KIND_LISTEN,
	SOCK_KIND_CONN,
	SOCK_KIND_DGRAM,
	SOCK_KIND_OTHER
};

enum sock_kind	sock_classify(int);
const char	*sock_kind_name(enum sock_kind);
/* Move fd above stdio, point 0-2 at /dev/null (keeping 2 if asked). */
int		inetd_take_fd(int, int, char *, size_t);
int		inetd_serve_conn(struct server *, int);

#endif
