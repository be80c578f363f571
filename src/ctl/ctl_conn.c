/*
 * ctl_conn.c: one request to echod's control socket (see ctl_conn.h).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_conn.h"

static long long
ms_now(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for ev on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd	pfd = { fd, ev, 0 };
	long long	left;
	int		n;

	for (;;) {
		if ((left = deadline - ms_now()) <= 0)
			return 0;
		if ((n = poll(&pfd, 1, (int)left)) == -1 && errno == EINTR)
			continue;
		return n > 0 ? 1 : n;
	}
}

static int
ctl_connect(const char *path, char *msg, size_t msglen)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		(void)snprintf(msg, msglen, "%s: socket path too long", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		(void)snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int
send_line(int fd, const char *line, long long deadline)
{
	size_t	len = strlen(line), off = 0;
	ssize_t	n;

	while (off < len) {
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Read until EOF; 0, or -1 with errno (EMSGSIZE: reply too large). */
static int
read_reply(int fd, char *buf, size_t cap, size_t *len, long long deadline)
{
	ssize_t	n;

	*len = 0;
	for (;;) {
		if (*len + 1 >= cap) {
			errno = EMSGSIZE;
			return -1;
		}
		if (wait_fd(fd, POLLIN, deadline) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = read(fd, buf + *len, cap - 1 - *len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return 0;
}

int
ctl_request(const char *path, const char *line, char *buf, size_t cap,
    size_t *len, char *msg, size_t msglen)
{
	long long	deadline = ms_now() + CTL_TIMEOUT_MS;
	int		fd;

	if ((fd = ctl_connect(path, msg, msglen)) == -1)
		return -1;
	if (send_line(fd, line, deadline) == -1 ||
	    read_reply(fd, buf, cap, len, deadline) == -1) {
		(void)snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	return 0;
}
