/*
 * backlog.c: the length of the listen queues (see backlog.h).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <limits.h>
#include <string.h>

#include "backlog.h"
#include "listen.h"

/*
 * One listener's queue: on a listening TCP socket, Linux reports the
 * accept queue's length (sk_ack_backlog) in tcpi_unacked.  Anything that
 * is not a listening TCP socket answers with an error or a state other
 * than LISTEN: 0.
 */
int
backlog_len(int fd)
{
#if defined(__linux__) && defined(TCP_INFO)
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd == -1 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1)
		return 0;
	if (ti.tcpi_state != TCP_LISTEN)
		return 0;
	return ti.tcpi_unacked > INT_MAX ? INT_MAX : (int)ti.tcpi_unacked;
#else
	(void)fd;
	return 0;
#endif
}

int
backlog_queued(const struct listener *ls, size_t n)
{
	size_t	 i;
	int	 sum = 0, q;

	for (i = 0; i < n; i++) {
		if (ls[i].fd == -1 || ls[i].socktype != SOCK_STREAM)
			continue;
		q = backlog_len(ls[i].fd);
		sum = q > INT_MAX - sum ? INT_MAX : sum + q;
	}
	return sum;
}
