/*
 * echoc_send.c: send mode (see echoc_send.h).
 *
 * TCP: each message goes out as one line (MESSAGE "\n") and the reply is
 * read until it holds as many newlines as were sent, so the same loop
 * serves a plain echo server (the reply is the message) and echod's line
 * mode (a longer line per line).  Bytes that arrive past the reply are
 * kept for the next one rather than lost.
 *
 * UDP: each message is one datagram, without a newline (datagrams carry
 * their own boundaries); the reply is the next datagram.  A lost datagram
 * is reported and the run goes on: UDP promises nothing more.
 *
 * Every wait on the network is bounded by -t; waiting on stdin is not,
 * since that is the user typing.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echoc_net.h"
#include "echoc_send.h"

#define UDP_MAX		65507		/* the largest IPv4 UDP payload */
#define REPLY_SLACK	(1 << 20)	/* line mode may answer longer */

struct sender {
	const struct echoc_opts	*o;
	int			 fd;
	char			 peer[ECHOC_ADDRSTRLEN];
	char			*out;		/* message + "\n" */
	size_t			 outcap;
	char			*in;		/* reply, then leftovers */
	size_t			 inlen, incap;
	unsigned long		 nmsg;
	int			 failed;
};

/* Wait for fd to be ready for ev until deadline; 0 ready, -1 timed out. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 n;

	for (;;) {
		left = (deadline - echoc_now_ns() + 999999) / 1000000;
		if (left <= 0)
			return -1;
		pfd.fd = fd;
		pfd.events = ev;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n == 1)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

static int
grow(char **buf, size_t *cap, size_t need)
{
	char	*p;
	size_t	 ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if ((p = realloc(*buf, ncap)) == NULL)
		return -1;
	*buf = p;
	*cap = ncap;
	return 0;
}

/* Number of newlines in p[0..len), without the quadratic trap above. */
static size_t
nl_count(const char *p, size_t len)
{
	const char	*q, *end = p + len;
	size_t		 n = 0;

	while (p < end && (q = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = q + 1;
	}
	return n;
}

/* Offset just past the k-th newline of p[0..len), or 0 if not there. */
static size_t
nl_end(const char *p, size_t len, size_t k)
{
	const char	*q, *s = p, *end = p + len;

	while (k > 0 && s < end &&
	    (q = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		s = q + 1;
		k--;
	}
	return k == 0 ? (size_t)(s - p) : 0;
}

/* Write the len bytes of s->out, waiting for room up to deadline. */
static int
tcp_send_all(struct sender *s, size_t len, int64_t deadline)
{
	size_t		 off = 0;
	ssize_t		 n;

	while (off < len) {
		n = write(s->fd, s->out + off, len - off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(s->fd, POLLOUT, deadline) == -1) {
				warnx("%s: send timed out after %lld ms",
				    s->peer, s->o->timeout_ms);
				return -1;
			}
			continue;
		}
		if (n == -1) {
			warn("%s: send", s->peer);
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* A reply cut short still shows what came back, before the error. */
static void
tcp_show_partial(const struct sender *s)
{
	if (s->inlen > 0)
		(void)fwrite(s->in, 1, s->inlen, stdout);
}

/*
 * Read until s->in holds want newlines, the whole reply to a message of
 * len bytes (newline included).  Returns the reply's length, or 0.
 */
static size_t
tcp_recv_reply(struct sender *s, size_t want, size_t len, int64_t deadline)
{
	size_t		 end, limit = len + REPLY_SLACK;
	ssize_t		 n;

	while ((end = nl_end(s->in, s->inlen, want)) == 0) {
		if (s->inlen >= limit) {
			warnx("%s: reply %lu longer than %zu bytes without "
			    "its newline", s->peer, s->nmsg, limit);
			return 0;
		}
		if (grow(&s->in, &s->incap, s->inlen + 65536) == -1)
			err(1, NULL);
		n = read(s->fd, s->in + s->inlen, s->incap - s->inlen);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(s->fd, POLLIN, deadline) == -1) {
				tcp_show_partial(s);
				warnx("%s: no reply within %lld ms", s->peer,
				    s->o->timeout_ms);
				return 0;
			}
			continue;
		}
		if (n == -1) {
			tcp_show_partial(s);
			warn("%s: receive", s->peer);
			return 0;
		}
		if (n == 0) {
			tcp_show_partial(s);
			warnx("%s: connection closed before the whole reply "
			    "came back (%zu of %zu bytes)", s->peer, s->inlen,
			    len);
			return 0;
		}
		s->inlen += (size_t)n;
	}
	return end;
}

static int
tcp_one(struct sender *s, const char *msg, size_t len)
{
	int64_t		 deadline;
	size_t		 want, end;

	if (grow(&s->out, &s->outcap, len + 1) == -1)
		err(1, NULL);
	memcpy(s->out, msg, len);
	s->out[len] = '\n';
	want = nl_count(s->out, len + 1);
	deadline = echoc_now_ns() + s->o->timeout_ms * 1000000;
	s->nmsg++;

	if (tcp_send_all(s, len + 1, deadline) == -1)
		return -1;
	if ((end = tcp_recv_reply(s, want, len + 1, deadline)) == 0)
		return -1;

	(void)fwrite(s->in, 1, end, stdout);
	(void)fflush(stdout);
	if (end != len + 1 || memcmp(s->in, s->out, end) != 0) {
		warnx("reply %lu differs from what was sent", s->nmsg);
		s->failed = 1;
	}
	memmove(s->in, s->in + end, s->inlen - end);
	s->inlen -= end;
	return 0;
}

static int
udp_one(struct sender *s, const char *msg, size_t len)
{
	int64_t		 deadline;
	ssize_t		 n;

	s->nmsg++;
	if (len > UDP_MAX) {
		warnx("message %lu: %zu bytes is too long for UDP (at most "
		    "%d)", s->nmsg, len, UDP_MAX);
		s->failed = 1;
		return 0;
	}
	if (grow(&s->in, &s->incap, UDP_MAX + 1) == -1)
		err(1, NULL);
	/* A late answer to an earlier, timed-out message is not this one's. */
	while (recv(s->fd, s->in, s->incap, MSG_DONTWAIT) >= 0)
		continue;

	if (send(s->fd, msg, len, 0) == -1) {
		warn("%s: send", s->peer);
		return -1;
	}
	deadline = echoc_now_ns() + s->o->timeout_ms * 1000000;
	for (;;) {
		n = recv(s->fd, s->in, s->incap, 0);
		if (n >= 0)
			break;
		if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(s->fd, POLLIN, deadline) == -1) {
				warnx("%s: no reply to message %lu within "
				    "%lld ms", s->peer, s->nmsg,
				    s->o->timeout_ms);
				s->failed = 1;
				return 0;
			}
			continue;
		}
		warn("%s: receive", s->peer);
		return -1;
	}
	(void)fwrite(s->in, 1, (size_t)n, stdout);
	(void)putchar('\n');
	(void)fflush(stdout);
	if ((size_t)n != len || memcmp(s->in, msg, len) != 0) {
		warnx("reply %lu differs from what was sent", s->nmsg);
		s->failed = 1;
	}
	return 0;
}

static int
sender_open(struct sender *s)
{
	const struct echoc_opts	*o = s->o;
	struct addrinfo		*res, *ai;
	char			 msg[512];
	int			 e = 0;

	if (echoc_resolve(o->host, o->port, o->family,
	    o->udp ? SOCK_DGRAM : SOCK_STREAM, &res, msg, sizeof(msg)) == -1) {
		warnx("%s", msg);
		return -1;
	}
	s->fd = -1;
	for (ai = res; ai != NULL && s->fd == -1; ai = ai->ai_next) {
		(void)echoc_addr_str(ai->ai_addr, ai->ai_addrlen, s->peer,
		    sizeof(s->peer));
		/* UDP connect only picks the peer: errors come from recv. */
		s->fd = echoc_connect(ai, o->timeout_ms, &e);
		if (s->fd == -1 && ai->ai_next != NULL)
			warnx("connect to %s: %s", s->peer, strerror(e));
	}
	freeaddrinfo(res);
	if (s->fd == -1) {
		/* Name the host as typed too, when it was a name. */
		if (strncmp(s->peer, o->host, strlen(o->host)) != 0 ||
		    s->peer[strlen(o->host)] != ' ')
			(void)snprintf(msg, sizeof(msg), " (%s)", o->host);
		else
			msg[0] = '\0';
		if (e == ETIMEDOUT)
			warnx("connect to %s%s: timed out after %lld ms",
			    s->peer, msg, o->timeout_ms);
		else
			warnx("connect to %s%s: %s", s->peer, msg,
			    strerror(e));
		return -1;
	}
	return 0;
}

int
echoc_send_run(const struct echoc_opts *o)
{
	struct sender	 s;
	char		*line = NULL, *m;
	size_t		 linecap = 0;
	ssize_t		 len;
	int		 i, r = 0;

	memset(&s, 0, sizeof(s));
	s.o = o;
	if (sender_open(&s) == -1)
		return 1;

	if (o->messages != NULL) {
		for (i = 0; i < o->nmessages && r == 0; i++) {
			m = o->messages[i];
			r = o->udp ? udp_one(&s, m, strlen(m)) :
			    tcp_one(&s, m, strlen(m));
		}
	} else {
		while (r == 0 &&
		    (len = getline(&line, &linecap, stdin)) != -1) {
			if (len > 0 && line[len - 1] == '\n')
				len--;
			r = o->udp ? udp_one(&s, line, (size_t)len) :
			    tcp_one(&s, line, (size_t)len);
		}
		if (ferror(stdin)) {
			warn("stdin");
			r = -1;
		}
		free(line);
	}
	(void)close(s.fd);
	free(s.in);
	free(s.out);
	return r == -1 || s.failed ? 1 : 0;
}
