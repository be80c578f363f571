/*
 * echo.c: the echo engine, RFC 862 over one connected stream socket.
 *
 * Interface in echo.h: the echo_buf ring and echo_serve().  echo_serve()
 * runs in a process that serves this one connection, so it may block in
 * poll() or recv().  Nothing is allocated and the stack stays shallow:
 * the ring (ECHO_BUFSIZE), the line splitter and its read chunk are
 * static, in BSS.  A page of BSS costs nothing until it is written, so a
 * 64-byte echo dirties one page of the ring, not 64 KiB (on the stack, a
 * 64 KiB frame would be probed page by page under
 * -fstack-clash-protection and cost all of it in every serving
 * process).  One connection per process at a time, which is what every
 * model runs; echo_serve is not reentrant.
 *
 * Bulk stays on the ring: recv and send of up to 64 KiB each.  splice(2)
 * through a pipe was tried (issue #10) and measured slower on loopback,
 * 0.85-0.9x of the ring at one stream and 0.75x at four, besides its
 * pipe and fcntl calls (docs/PERFORMANCE.md, "Bulk").
 *
 * Cost model, because this is the benchmark's hot path: every read and
 * write is tried first and poll() is called only after EAGAIN.
 * MSG_DONTWAIT makes each call non-blocking without the two fcntl()
 * calls that O_NONBLOCK would cost.  With nothing to write and a socket
 * whose receive timeout is bounded by the idle timeout (recv_bounded,
 * echo.h), the read blocks instead: waiting in recv(2) is waiting in
 * poll(2) without the EAGAIN before it and the recv after it, so a
 * short connection (64 bytes in, 64 out, EOF) costs recv, send, recv
 * (0), as in a naive fork server; a timeout (EAGAIN) falls back to
 * poll(), which settles the idle clock.  The ring is read and written
 * through two iovecs once it wraps, so a wrapped ring still moves in one
 * call.  The clock is read only on the way into a wait, not per
 * transfer.
 *
 * Invariants: the ring never grows; while it is full (line mode: while
 * the queued answers pass LINE_HIWAT) we do not ask for POLLIN, so a
 * peer that does not read is held back by TCP flow control, not by our
 * memory.  Each turn of the loop either moves bytes or learns EAGAIN on
 * the side it tried, so it cannot spin.  Signals may interrupt any call
 * with EINTR (handlers are installed without SA_RESTART): we just retry,
 * the caller's loop checks its flags after we return.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "linemode.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0	/* the daemon ignores SIGPIPE anyway */
#endif

/* Line mode: stop reading while this much output is queued. */
#define LINE_HIWAT	(ECHO_BUFSIZE / 2)
/* Line mode: bytes read per call, fed to the splitter. */
#define LINE_CHUNK	8192

#define IO_FAIL		(-1)	/* result->end is set */
#define IO_AGAIN	(-2)

/* Static, not on the stack: see the comment at the top. */
static struct echo_buf	 ring;
static struct linemode	 lm;
static char		 chunk[LINE_CHUNK];

struct conn {
	int		 fd;
	int		 sock;		/* 0: not a socket, O_NONBLOCK set */
	int		 idle_ms;
	int		 moved;		/* bytes moved since the clock was read */
	int		 rd_ready;	/* not known to be EAGAIN */
	int		 wr_ready;
	int		 may_block;	/* echo_params.recv_bounded */
	struct timespec	 last;		/* when bytes last moved */
	struct echo_buf	*buf;
	struct echo_result *res;
};

static void	conn_fail(struct conn *, int);
static int	conn_nosock(struct conn *);
static ssize_t	conn_syscall(struct conn *, struct iovec *, int, int, int);
static ssize_t	conn_xfer(struct conn *, struct iovec *, int, int, int);
static ssize_t	conn_readv(struct conn *, struct iovec *, int, int);
static void	conn_clock(struct conn *, struct timespec *);
static ssize_t	conn_writev(struct conn *, struct iovec *, int);
static int	conn_wait(struct conn *, short);
static ssize_t	conn_write(struct conn *);
static int	conn_drain_some(struct conn *);
static int	line_out(void *, const char *, size_t);
static void	delay(long long);
static void	conn_init(struct conn *, int, const struct echo_params *,
		    struct echo_result *);
static int	serve_read(struct conn *, const struct echo_params *, int,
		    int, int *);

void
echo_buf_init(struct echo_buf *b)
{
	b->head = 0;
	b->len = 0;
	b->cap = sizeof(b->data);
}

size_t
echo_buf_space(const struct echo_buf *b)
{
	return b->cap - b->len;
}

unsigned char *
echo_buf_wptr(struct echo_buf *b, size_t *n)
{
	size_t	 tail;

	if (b->head + b->len < b->cap) {
		tail = b->head + b->len;
		*n = b->cap - tail;
	} else {
		/* Wrapped (or full: then tail == head and *n == 0). */
		tail = b->head + b->len - b->cap;
		*n = b->head - tail;
	}
	return b->data + tail;
}

void
echo_buf_produce(struct echo_buf *b, size_t n)
{
	if (n > b->cap - b->len)
		abort();	/* our own arithmetic is wrong */
	b->len += n;
}

const unsigned char *
echo_buf_rptr(const struct echo_buf *b, size_t *n)
{
	*n = b->cap - b->head;
	if (*n > b->len)
		*n = b->len;
	return b->data + b->head;
}

void
echo_buf_consume(struct echo_buf *b, size_t n)
{
	if (n > b->len)
		abort();
	b->len -= n;
	b->head += n;
	if (b->head >= b->cap)
		b->head -= b->cap;
	/* Empty: start over at 0 so the next read gets it all at once. */
	if (b->len == 0)
		b->head = 0;
}

/* Both free stretches of the ring, for one readv. */
static int
buf_wiov(struct echo_buf *b, struct iovec *iov)
{
	size_t	 n;
	int	 cnt = 0;

	iov[0].iov_base = echo_buf_wptr(b, &n);
	iov[0].iov_len = n;
	if (n > 0)
		cnt++;
	if (n < echo_buf_space(b)) {
		/* Free space also before head, from the start. */
		iov[cnt].iov_base = b->data;
		iov[cnt].iov_len = echo_buf_space(b) - n;
		cnt++;
	}
	return cnt;
}

/* Both held stretches of the ring, for one writev. */
static int
buf_riov(struct echo_buf *b, struct iovec *iov)
{
	size_t	 n;
	int	 cnt = 0;

	iov[0].iov_base = (void *)echo_buf_rptr(b, &n);
	iov[0].iov_len = n;
	if (n > 0)
		cnt++;
	if (n < b->len) {
		iov[cnt].iov_base = b->data;
		iov[cnt].iov_len = b->len - n;
		cnt++;
	}
	return cnt;
}

const char *
echo_end_name(enum echo_end end)
{
	switch (end) {
	case ECHO_END_EOF:
		return "eof";
	case ECHO_END_RESET:
		return "reset";
	case ECHO_END_IDLE:
		return "idle";
	case ECHO_END_ERROR:
		return "error";
	}
	return "unknown";
}

static void
conn_fail(struct conn *c, int err)
{
	if (err == ECONNRESET || err == EPIPE)
		c->res->end = ECHO_END_RESET;
	else
		c->res->end = ECHO_END_ERROR;
	c->res->error = err;
}

/*
 * Not a socket (a test's pipe, a tty under inetd-like launchers): fall
 * back to read/write, which need O_NONBLOCK on the descriptor itself.
 */
static int
conn_nosock(struct conn *c)
{
	int	 fl;

	c->sock = 0;
	if ((fl = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		conn_fail(c, errno);
		return -1;
	}
	return 0;
}

/*
 * One system call either way.  A socket gets MSG_DONTWAIT (and
 * MSG_NOSIGNAL to write), except a read that may block; anything else
 * gets readv/writev, having had O_NONBLOCK set by conn_nosock.
 */
static ssize_t
conn_syscall(struct conn *c, struct iovec *iov, int cnt, int out, int block)
{
	struct msghdr	 msg;
	int		 rdfl = block ? 0 : MSG_DONTWAIT;

	if (!c->sock)
		return out ? writev(c->fd, iov, cnt) : readv(c->fd, iov, cnt);
	if (cnt == 1)
		return out ? send(c->fd, iov[0].iov_base, iov[0].iov_len,
		    MSG_DONTWAIT | MSG_NOSIGNAL) :
		    recv(c->fd, iov[0].iov_base, iov[0].iov_len, rdfl);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = cnt;
	return out ? sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) :
	    recvmsg(c->fd, &msg, rdfl);
}

/*
 * One transfer, read (out 0) or write (out 1), non-blocking unless
 * block (a read only), retried on EINTR and once more as plain I/O if
 * the descriptor is no socket.  Returns bytes (0 at EOF when reading),
 * IO_AGAIN (a blocking read: its receive timeout) or IO_FAIL.
 */
static ssize_t
conn_xfer(struct conn *c, struct iovec *iov, int cnt, int out, int block)
{
	ssize_t		 n;

	for (;;) {
		if ((n = conn_syscall(c, iov, cnt, out, block)) >= 0)
			break;
		/*
		 * A signal restarts a blocking read's receive timeout: let
		 * conn_wait settle the idle clock instead of trying again.
		 */
		if (errno == EINTR && !block)
			continue;
		if (errno == EINTR)
			return IO_AGAIN;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return IO_AGAIN;
		if (errno == ENOTSOCK && c->sock) {
			if (conn_nosock(c) == -1)
				return IO_FAIL;
			continue;
		}
		conn_fail(c, errno);
		return IO_FAIL;
	}
	if (n > 0) {
		if (out)
			c->res->bytes_out += n;
		else
			c->res->bytes_in += n;
		c->moved = 1;
	}
	return n;
}

/* block: the caller has nothing to write, and may wait in recv(2). */
static ssize_t
conn_readv(struct conn *c, struct iovec *iov, int cnt, int block)
{
	struct timespec	 now;

	block = block && c->may_block;
	/* The idle clock starts at the last byte moved, as in conn_wait. */
	if (block && c->idle_ms > 0 && c->moved)
		conn_clock(c, &now);
	return conn_xfer(c, iov, cnt, 0, block);
}

static ssize_t
conn_writev(struct conn *c, struct iovec *iov, int cnt)
{
	return conn_xfer(c, iov, cnt, 1, 0);
}

/* Read the clock; bytes moved since the last reading restart it. */
static void
conn_clock(struct conn *c, struct timespec *now)
{
	(void)clock_gettime(CLOCK_MONOTONIC, now);
	if (c->moved) {
		/* Late by the few calls since: generous. */
		c->last = *now;
		c->moved = 0;
	}
}

/* Write what the ring holds, once. */
static ssize_t
conn_write(struct conn *c)
{
	struct iovec	 iov[2];
	ssize_t		 n;

	n = conn_writev(c, iov, buf_riov(c->buf, iov));
	if (n > 0)
		echo_buf_consume(c->buf, n);
	return n;
}

/*
 * Wait for events, or for the idle timeout measured from the last byte
 * moved either way.  Returns revents; 0 (idle) or -1 with result->end
 * set.
 */
static int
conn_wait(struct conn *c, short events)
{
	struct pollfd	 pfd;
	struct timespec	 now;
	long long	 left;
	int		 timeout, n;

	for (;;) {
		timeout = -1;
		if (c->idle_ms > 0) {
			conn_clock(c, &now);
			left = (long long)c->idle_ms * 1000000 -
			    ((long long)(now.tv_sec - c->last.tv_sec) *
			    1000000000 + (now.tv_nsec - c->last.tv_nsec));
			if (left <= 0) {
				c->res->end = ECHO_END_IDLE;
				return 0;
			}
			/* Round up, or poll would wake early and spin. */
			timeout = (int)((left + 999999) / 1000000);
		}
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			conn_fail(c, errno);
			return -1;
		}
		if (n == 0)
			continue;	/* the clock decides */
		if (pfd.revents & POLLNVAL) {
			conn_fail(c, EBADF);
			return -1;
		}
		return pfd.revents;
	}
}

/* Free some ring space by writing, waiting for POLLOUT if need be. */
static int
conn_drain_some(struct conn *c)
{
	ssize_t	 n;

	for (;;) {
		n = conn_write(c);
		if (n > 0)
			return 0;
		if (n == IO_FAIL)
			return -1;
		c->wr_ready = 0;
		if (conn_wait(c, POLLOUT) <= 0)
			return -1;
		c->wr_ready = 1;
	}
}

/*
 * linemode's emit: queue an answer in the ring.  When the ring is full
 * we write right here (the peer is slow to read, so we stop reading
 * too); that keeps memory bounded however much one read expands.
 */
static int
line_out(void *arg, const char *p, size_t n)
{
	struct conn	*c = arg;
	unsigned char	*w;
	size_t		 room;

	while (n > 0) {
		if (echo_buf_space(c->buf) == 0 && conn_drain_some(c) == -1)
			return -1;
		w = echo_buf_wptr(c->buf, &room);
		if (room > n)
			room = n;
		memcpy(w, p, room);
		echo_buf_produce(c->buf, room);
		p += room;
		n -= room;
	}
	return 0;
}

/* --delay: sleep the whole time, whatever signals arrive. */
static void
delay(long long ms)
{
	struct timespec	 ts, rem;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	while (nanosleep(&ts, &rem) == -1 && errno == EINTR)
		ts = rem;
}

/* Per-connection state, with both directions assumed ready. */
static void
conn_init(struct conn *c, int fd, const struct echo_params *p,
    struct echo_result *res)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->sock = 1;
	c->idle_ms = p->idle_timeout_ms;
	c->moved = 1;		/* start the idle clock at the first wait */
	c->rd_ready = 1;
	c->wr_ready = 1;
	c->may_block = p->recv_bounded;
	c->buf = &ring;
	c->res = res;
}

/*
 * One read: into the ring, or in line mode through the splitter, which
 * queues its output in the ring; block: nothing is queued to write.
 * Sets *eof at the end of input.  Returns 0 to go on, -1 when the
 * connection is over (result->end set).
 */
static int
serve_read(struct conn *c, const struct echo_params *p, int line, int block,
    int *eof)
{
	struct iovec	 iov[2];
	ssize_t		 n;

	if (line) {
		iov[0].iov_base = chunk;
		iov[0].iov_len = sizeof(chunk);
		n = conn_readv(c, iov, 1, block);
	} else
		n = conn_readv(c, iov, buf_wiov(c->buf, iov), block);
	if (n == IO_FAIL)
		return -1;
	if (n == IO_AGAIN)
		c->rd_ready = 0;
	else if (n == 0) {
		*eof = 1;
		if (line && linemode_finish(&lm,
		    p->timestamp ? time(NULL) : 0, line_out, c) == -1)
			return -1;
	} else if (!line)
		echo_buf_produce(c->buf, n);
	else if (linemode_feed(&lm, chunk, n,
	    p->timestamp ? time(NULL) : 0, line_out, c) == -1)
		return -1;
	return 0;
}

void
echo_serve(int fd, const struct echo_params *p, struct echo_result *res)
{
	struct echo_buf	*bp = &ring;
	struct conn	 c;
	ssize_t		 n;
	int		 line, eof = 0, want_rd, want_wr, rev;

	memset(res, 0, sizeof(*res));
	delay(p->delay_ms);

	echo_buf_init(bp);
	line = p->prefix != NULL || p->timestamp;
	if (line)
		linemode_init(&lm, p->prefix, p->timestamp);
	conn_init(&c, fd, p, res);

	for (;;) {
		/* Backpressure: no reading while the output is backed up. */
		want_rd = !eof &&
		    (line ? bp->len < LINE_HIWAT : bp->len < bp->cap);
		want_wr = bp->len > 0;
		if (!want_rd && !want_wr) {
			res->end = ECHO_END_EOF;
			return;
		}

		if ((want_rd && c.rd_ready) || (want_wr && c.wr_ready)) {
			if (want_rd && c.rd_ready &&
			    serve_read(&c, p, line, !want_wr, &eof) == -1)
				return;
			if (bp->len > 0 && c.wr_ready) {
				n = conn_write(&c);
				if (n == IO_FAIL)
					return;
				if (n == IO_AGAIN)
					c.wr_ready = 0;
			}
			continue;
		}

		rev = conn_wait(&c,
		    (want_rd ? POLLIN : 0) | (want_wr ? POLLOUT : 0));
		if (rev <= 0)
			return;
		/* Errors and hangups surface from the call itself. */
		if (rev & (POLLIN | POLLHUP | POLLERR))
			c.rd_ready = 1;
		if (rev & (POLLOUT | POLLHUP | POLLERR))
			c.wr_ready = 1;
	}
}
