/*
 * echoc_net.c: name resolution and a connect that cannot hang
 * (see echoc_net.h).
 *
 * The connect is non-blocking plus poll(2) rather than SO_SNDTIMEO or
 * alarm(): it needs no signal handler and the same descriptor is then
 * used non-blocking by the caller, who polls for every read and write.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echoc_net.h"

int
echoc_resolve(const char *host, const char *port, int family, int socktype,
    struct addrinfo **res, char *msg, size_t msglen)
{
	struct addrinfo	 hints;
	int		 e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = socktype;
	hints.ai_protocol = socktype == SOCK_DGRAM ? IPPROTO_UDP :
	    IPPROTO_TCP;
	if ((e = getaddrinfo(host, port, &hints, res)) != 0) {
		(void)snprintf(msg, msglen, "%s port %s: %s", host, port,
		    gai_strerror(e));
		return -1;
	}
	return 0;
}

const char *
echoc_addr_str(const struct sockaddr *sa, socklen_t salen, char *buf,
    size_t len)
{
	char	 h[NI_MAXHOST], p[NI_MAXSERV];

	if (getnameinfo(sa, salen, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		(void)snprintf(buf, len, "(unknown address)");
	else
		(void)snprintf(buf, len, "%s port %s", h, p);
	return buf;
}

int64_t
echoc_now_ns(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Returns a connected non-blocking descriptor, or -1 with *err set to the
 * errno that explains it (ETIMEDOUT when timeout_ms passed).
 */
int
echoc_connect(const struct addrinfo *ai, long long timeout_ms, int *err)
{
	struct pollfd	 pfd;
	socklen_t	 len;
	int64_t		 deadline, left;
	int		 fd, e, n;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*err = errno;
		(void)close(fd);
		return -1;
	}
	deadline = echoc_now_ns() + timeout_ms * 1000000;
	for (;;) {
		left = (deadline - echoc_now_ns()) / 1000000;
		if (left <= 0) {
			*err = ETIMEDOUT;
			(void)close(fd);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		n = poll(&pfd, 1, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			*err = errno;
			(void)close(fd);
			return -1;
		}
		if (n == 1)
			break;
	}
	len = sizeof(e);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
		*err = e;
		(void)close(fd);
		return -1;
	}
	return fd;
}
