/*
 * echoc_net.h: the few socket chores both echoc modes share.
 *
 *	echoc_resolve()		getaddrinfo for HOST PORT with -4/-6 applied;
 *				on failure a message naming host and port
 *	echoc_addr_str()	"127.0.0.1 port 7", "::1 port 7", for messages
 *	echoc_connect()		connect with a timeout; the descriptor is
 *				non-blocking and close-on-exec
 *	echoc_now_ns()		CLOCK_MONOTONIC in nanoseconds
 */
#ifndef ECHOD_ECHOC_NET_H
#define ECHOD_ECHOC_NET_H

#include <sys/types.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>

#define ECHOC_ADDRSTRLEN	(NI_MAXHOST + 16)

int		 echoc_resolve(const char *, const char *, int, int,
		    struct addrinfo **, char *, size_t);
const char	*echoc_addr_str(const struct sockaddr *, socklen_t, char *,
		    size_t);
int		 echoc_connect(const struct addrinfo *, long long, int *);
int64_t		 echoc_now_ns(void);

#endif
