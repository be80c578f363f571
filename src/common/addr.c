/*
 * addr.c: parse --listen arguments and resolve them to sockaddrs.
 *
 * Parsing never touches the network: "999.1.1.1" must be a usage error,
 * not a slow DNS failure, so anything made of digits and dots (or put in
 * brackets) is treated as an address literal and checked with
 * inet_pton(3).  Only a host that is plainly a name reaches getaddrinfo(3),
 * and only in addr_resolve(), after the command line was accepted.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define LIBBSD_OPENBSD_VIS	1	/* quiets <vis.h>: strvisx only */
#include <vis.h>

#include "addr.h"
#include "numparse.h"

static int
looks_numeric(const char *h)
{
	for (; *h != '\0'; h++)
		if (!isdigit((unsigned char)*h) && *h != '.')
			return 0;
	return 1;
}

static int
valid_hostname(const char *h)
{
	/* Letters, digits, '-', '.', and not empty: RFC 1123, loosely. */
	if (*h == '\0')
		return 0;
	for (; *h != '\0'; h++)
		if (!isalnum((unsigned char)*h) && *h != '-' && *h != '.' &&
		    *h != '_')
			return 0;
	return 1;
}

static int
parse_port(const char *p, int *port, const char *arg, char *err, size_t errlen)
{
	long long	 v;
	const char	*errstr;

	if (num_parse(p, 0, 65535, &v, &errstr) == -1) {
		(void)snprintf(err, errlen, "invalid port \"%s\" in \"%s\": %s",
		    p, arg, errstr);
		return -1;
	}
	*port = (int)v;
	return 0;
}

int
addr_parse(const char *arg, struct addr_spec *sp, char *err, size_t errlen)
{
	const char	*colon, *port;
	char		 host[ADDR_HOSTLEN];
	size_t		 hlen;
	struct in6_addr	 a6;
	struct in_addr	 a4;

	memset(sp, 0, sizeof(*sp));
	if (arg == NULL || *arg == '\0') {
		(void)snprintf(err, errlen, "empty listen address");
		return -1;
	}
	if (strncmp(arg, "unix:", 5) == 0) {
		const char *path = arg + 5;

		if (*path != '/') {
			(void)snprintf(err, errlen,
			    "UNIX socket path must be absolute: \"%s\"", arg);
			return -1;
		}
		if (strlcpy(sp->path, path, sizeof(sp->path)) >=
		    sizeof(sp->path)) {
			(void)snprintf(err, errlen,
			    "UNIX socket path too long (max %zu): \"%s\"",
			    sizeof(sp->path) - 1, arg);
			return -1;
		}
		sp->kind = ADDR_UNIX;
		return 0;
	}
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (close == NULL || close[1] != ':') {
			(void)snprintf(err, errlen,
			    "bad address \"%s\": expected [IPV6]:PORT", arg);
			return -1;
		}
		hlen = (size_t)(close - arg - 1);
		if (hlen == 0 || hlen >= sizeof(host)) {
			(void)snprintf(err, errlen,
			    "bad IPv6 address in \"%s\"", arg);
			return -1;
		}
		memcpy(host, arg + 1, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			(void)snprintf(err, errlen,
			    "bad IPv6 address \"%s\" in \"%s\"", host, arg);
			return -1;
		}
		if (parse_port(close + 2, &sp->port, arg, err, errlen) == -1)
			return -1;
		sp->kind = ADDR_INET;
		sp->numeric = 1;
		(void)strlcpy(sp->host, host, sizeof(sp->host));
		return 0;
	}
	if ((colon = strrchr(arg, ':')) == NULL) {
		/* A bare PORT means every address. */
		if (parse_port(arg, &sp->port, arg, err, errlen) == -1)
			return -1;
		sp->kind = ADDR_WILDCARD;
		return 0;
	}
	if (strchr(arg, ':') != colon) {
		(void)snprintf(err, errlen,
		    "bad address \"%s\": put IPv6 addresses in brackets, "
		    "[ADDR]:PORT", arg);
		return -1;
	}
	hlen = (size_t)(colon - arg);
	port = colon + 1;
	if (hlen == 0 || hlen >= sizeof(host)) {
		(void)snprintf(err, errlen, "bad host in \"%s\"", arg);
		return -1;
	}
	memcpy(host, arg, hlen);
	host[hlen] = '\0';
	if (parse_port(port, &sp->port, arg, err, errlen) == -1)
		return -1;
	if (strcmp(host, "*") == 0) {
		sp->kind = ADDR_WILDCARD;
		return 0;
	}
	sp->kind = ADDR_INET;
	if (looks_numeric(host)) {
		if (inet_pton(AF_INET, host, &a4) != 1) {
			(void)snprintf(err, errlen,
			    "bad IPv4 address \"%s\" in \"%s\"", host, arg);
			return -1;
		}
		sp->numeric = 1;
	} else if (!valid_hostname(host)) {
		(void)snprintf(err, errlen, "bad host name \"%s\" in \"%s\"",
		    host, arg);
		return -1;
	}
	(void)strlcpy(sp->host, host, sizeof(sp->host));
	return 0;
}

static void
add_bind(struct addr_bind *out, size_t max, size_t *n, const void *sa,
    socklen_t len)
{
	size_t	i;

	/* getaddrinfo may answer the same address twice (per socktype). */
	for (i = 0; i < *n; i++)
		if (out[i].len == len && memcmp(&out[i].ss, sa, len) == 0)
			return;
	if (*n >= max)
		return;
	memset(&out[*n], 0, sizeof(out[*n]));
	memcpy(&out[*n].ss, sa, len);
	out[*n].len = len;
	(*n)++;
}

int
addr_resolve(const struct addr_spec *sp, struct addr_bind *out, size_t max,
    size_t *nout, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 portstr[8];
	int		 rc;

	*nout = 0;
	switch (sp->kind) {
	case ADDR_UNIX: {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		(void)strlcpy(sun.sun_path, sp->path, sizeof(sun.sun_path));
		add_bind(out, max, nout, &sun, sizeof(sun));
		return 0;
	}
	case ADDR_WILDCARD: {
		struct sockaddr_in6	s6;
		struct sockaddr_in	s4;

		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_addr = in6addr_any;
		s6.sin6_port = htons((uint16_t)sp->port);
		add_bind(out, max, nout, &s6, sizeof(s6));
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_addr.s_addr = htonl(INADDR_ANY);
		s4.sin_port = htons((uint16_t)sp->port);
		add_bind(out, max, nout, &s4, sizeof(s4));
		return 0;
	}
	case ADDR_INET:
		break;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | (sp->numeric ? AI_NUMERICHOST : 0);
	(void)snprintf(portstr, sizeof(portstr), "%d", sp->port);
	if ((rc = getaddrinfo(sp->host, portstr, &hints, &res)) != 0) {
		(void)snprintf(err, errlen, "cannot resolve \"%s\": %s",
		    sp->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			add_bind(out, max, nout, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	if (*nout == 0) {
		(void)snprintf(err, errlen, "no usable address for \"%s\"",
		    sp->host);
		return -1;
	}
	return 0;
}

/*
 * "127.0.0.1:7", "[::1]:7", "unix:/path": the form users typed, with a
 * UNIX path made printable (strvis: "\n", "\\", "\033").
 */
const char *
addr_ntop(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char	host[INET6_ADDRSTRLEN];

	(void)len;
	switch (sa->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		(void)inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		(void)snprintf(buf, buflen, "%s:%u", host,
		    ntohs(s4->sin_port));
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)sa;

		(void)inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		(void)snprintf(buf, buflen, "[%s]:%u", host,
		    ntohs(s6->sin6_port));
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *su = (const struct sockaddr_un *)sa;
		char	vis[4 * sizeof(su->sun_path) + 1];
		size_t	n;

		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    su->sun_path[0] == '\0') {
			(void)snprintf(buf, buflen, "unix:");
			break;
		}
		/*
		 * A peer names its own path: it reaches log lines and
		 * process titles, so nothing in it may be unprintable (a
		 * newline would forge a log record).
		 */
		n = strnlen(su->sun_path, len -
		    offsetof(struct sockaddr_un, sun_path));
		(void)strvisx(vis, su->sun_path, n,
		    VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
		(void)snprintf(buf, buflen, "unix:%s", vis);
		break;
	}
	default:
		(void)snprintf(buf, buflen, "?");
		break;
	}
	return buf;
}
