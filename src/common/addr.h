/*
 * addr.h: the --listen syntax and its resolution into socket addresses.
 *
 *	HOST:PORT  [V6ADDR]:PORT  *:PORT  PORT  unix:/path
 *
 * addr_parse() checks the syntax and numeric hosts without any name
 * lookup; a host that looks numeric (digits and dots, or anything in
 * brackets) is only ever parsed numerically.  addr_resolve() turns a spec
 * into the sockaddrs to bind: "*" gives [::] (IPV6_V6ONLY) and 0.0.0.0,
 * a name gives what getaddrinfo(3) answers.
 */
#ifndef ECHOD_ADDR_H
#define ECHOD_ADDR_H

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <stddef.h>

#define ADDR_HOSTLEN	256

enum addr_kind {
	ADDR_INET,		/* numeric address or host name */
	ADDR_WILDCARD,		/* "*" or a bare port: every family */
	ADDR_UNIX		/* a stream UNIX socket path */
};

struct addr_spec {
	enum addr_kind	kind;
	char		host[ADDR_HOSTLEN];	/* ADDR_INET: as typed, no brackets */
	int		numeric;		/* host is an address literal */
	int		port;			/* 0: any free port */
	char		path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct addr_bind {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

int	addr_parse(const char *, struct addr_spec *, char *, size_t);
int	addr_resolve(const struct addr_spec *, struct addr_bind *, size_t,
	    size_t *, char *, size_t);
const char *addr_ntop(const struct sockaddr *, socklen_t, char *, size_t);

#define ADDR_STRLEN	(INET6_ADDRSTRLEN + 16)

#endif
