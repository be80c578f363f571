/*
 * check_echo.c: Check suite for echo.c, the echo engine.
 *
 * The ring's arithmetic is driven directly.  echo_serve() runs on one end
 * of a real socketpair (or a TCP loopback pair) in a thread of this
 * process, so valgrind sees it; the test's own thread is the peer, a
 * poll() loop that writes and reads at once.  Nothing waits on a sleep:
 * the only timeouts are the idle timeout under test and the "no progress
 * for a while" probe that detects a peer stuck on backpressure, and no
 * verdict depends on how long either takes.
 *
 * A SIGALRM interval timer, caught without SA_RESTART, keeps interrupting
 * the serving thread's calls, so the EINTR paths run for real.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "echo.h"
#include "linemode.h"
#include "check_main.h"

#define MIB		(1024 * 1024)
#define STUCK_MS	300	/* no POLLOUT this long: the server is stuck */

struct server {
	int			 fd;
	int			 signals;	/* take SIGALRM in this thread */
	struct echo_params	 p;
	struct echo_result	 r;
	pthread_t		 th;
};

static volatile sig_atomic_t	 nalarm;
static uint64_t			 rng = 0x9e3779b97f4a7c15ULL;

static void
on_alarm(int sig)
{
	(void)sig;
	nalarm++;
}

/* xorshift64: reproducible bytes, NULs as likely as any other. */
static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill_random(unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] = rnd() & 0xff;
	/* And some runs of NULs for good measure. */
	for (i = 0; i + 300 < n; i += n / 7)
		memset(p + i, 0, 300);
}

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Interrupt whoever takes SIGALRM every usec microseconds (0: stop). */
static void
alarms(long usec)
{
	struct sigaction	 sa;
	struct itimerval	 it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = usec > 0 ? on_alarm : SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: calls fail with EINTR */
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = usec;
	it.it_value.tv_usec = usec;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void
block_alarm(int how)
{
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	ck_assert_int_eq(pthread_sigmask(how, &set, NULL), 0);
}

static void *
server_main(void *arg)
{
	struct server	*s = arg;

	if (s->signals)
		block_alarm(SIG_UNBLOCK);
	echo_serve(s->fd, &s->p, &s->r);
	close(s->fd);		/* as the caller does: the peer sees EOF */
	return NULL;
}

/*
 * The "blocking-recv" cases: the serving socket carries a receive
 * timeout of the idle timeout (as a TCP connection inherits it from its
 * listener), so echo_serve() may wait in recv(2) rather than poll(2).
 */
static int	recv_bounded_mode;

static void
maybe_bounded(int fd, struct echo_params *p)
{
	struct timeval	 tv;

	if (!recv_bounded_mode)
		return;
	p->recv_bounded = 1;
	tv.tv_sec = p->idle_timeout_ms / 1000;
	tv.tv_usec = (p->idle_timeout_ms % 1000) * 1000;
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
}

static void
bounded_on(void)
{
	recv_bounded_mode = 1;
}

static void
bounded_off(void)
{
	recv_bounded_mode = 0;
}

/*
 * Start echo_serve() on fd in a thread.  With signals, SIGALRM fires
 * every millisecond and only that thread takes it.
 */
static void
server_start(struct server *s, int fd, int signals)
{
	s->fd = fd;
	s->signals = signals;
	maybe_bounded(fd, &s->p);
	block_alarm(SIG_BLOCK);
	if (signals)
		alarms(1000);
	ck_assert_int_eq(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void
server_join(struct server *s)
{
	ck_assert_int_eq(pthread_join(s->th, NULL), 0);
	if (s->signals)
		alarms(0);
	block_alarm(SIG_UNBLOCK);
}

static void
set_nonblock(int fd)
{
	int	 fl;

	fl = fcntl(fd, F_GETFL);
	ck_assert_int_ne(fl, -1);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

static void
small_buffers(int fd)
{
	int	 sz = 4096;

	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz,
	    sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz,
	    sizeof(sz)), 0);
}

static size_t
sockbufs(int fd)
{
	int		 snd, rcv;
	socklen_t	 len;

	len = sizeof(snd);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, &len), 0);
	len = sizeof(rcv);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, &len), 0);
	return (size_t)snd + (size_t)rcv;
}

/*
 * The peer: write out[] in random-sized chunks while reading whatever
 * comes back into in[], shut down our side once all is written, and read
 * until EOF.  Returns the bytes read.
 */
static size_t
pump(int fd, const unsigned char *out, size_t outlen, unsigned char *in,
    size_t incap)
{
	struct pollfd	 pfd;
	size_t		 off = 0, got = 0, chunk;
	ssize_t		 n;
	int		 shut = 0;

	set_nonblock(fd);
	if (outlen == 0) {
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
		shut = 1;
	}
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN | (shut ? 0 : POLLOUT);
		if (poll(&pfd, 1, -1) == -1) {
			ck_assert_int_eq(errno, EINTR);
			continue;
		}
		if (!shut && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			/* Mostly small, sometimes huge, sometimes 1 byte. */
			switch (rnd() % 4) {
			case 0:
				chunk = 1 + rnd() % 16;
				break;
			case 1:
				chunk = 1 + rnd() % 200000;
				break;
			default:
				chunk = 1 + rnd() % 4096;
				break;
			}
			if (chunk > outlen - off)
				chunk = outlen - off;
			n = send(fd, out + off, chunk, MSG_NOSIGNAL);
			if (n == -1)
				ck_assert_msg(errno == EAGAIN || errno == EINTR,
				    "peer send: %s", strerror(errno));
			else
				off += n;
			if (off == outlen) {
				ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
				shut = 1;
			}
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			ck_assert_uint_lt(got, incap + 1);
			n = recv(fd, in + got, incap + 1 - got, 0);
			if (n == 0)
				break;
			if (n == -1) {
				ck_assert_msg(errno == EAGAIN || errno == EINTR,
				    "peer recv: %s", strerror(errno));
				continue;
			}
			got += n;
			ck_assert_msg(got <= incap, "more came back than sent");
		}
	}
	ck_assert_msg(shut, "EOF before everything was sent");
	return got;
}

/*
 * Write out[] without reading until the peer is stuck: EAGAIN and then
 * no POLLOUT for STUCK_MS, or the server is gone.  Returns the bytes
 * written.
 */
static size_t
fill_until_stuck(int fd, const unsigned char *out, size_t outlen)
{
	struct pollfd	 pfd;
	size_t		 off = 0;
	ssize_t		 n;

	set_nonblock(fd);
	while (off < outlen) {
		n = send(fd, out + off, outlen - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		ck_assert_int_eq(n, -1);
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			break;	/* the server gave up on us: idle tests */
		ck_assert_int_eq(errno, EAGAIN);
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, STUCK_MS) == 0)
			break;
	}
	return off;
}

static void
socketpair_ok(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* A connected TCP pair over loopback: sv[0] accepted, sv[1] connected. */
static void
tcppair(int sv[2])
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 l;

	l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(l, -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	sv[1] = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(sv[1], -1);
	ck_assert_int_eq(connect(sv[1], (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	sv[0] = accept(l, NULL, NULL);
	ck_assert_int_ne(sv[0], -1);
	close(l);
}

/* --- the ring --------------------------------------------------------- */

static struct echo_buf	 eb;

START_TEST(test_buf_init)
{
	size_t	 n;

	echo_buf_init(&eb);
	ck_assert_uint_eq(eb.cap, ECHO_BUFSIZE);
	ck_assert_uint_eq(echo_buf_space(&eb), ECHO_BUFSIZE);
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, ECHO_BUFSIZE);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_buf_produce_consume)
{
	size_t	 n;

	echo_buf_init(&eb);
	echo_buf_produce(&eb, 100);
	ck_assert_uint_eq(echo_buf_space(&eb), ECHO_BUFSIZE - 100);
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data + 100);
	ck_assert_uint_eq(n, ECHO_BUFSIZE - 100);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, 100);

	echo_buf_consume(&eb, 40);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data + 40);
	ck_assert_uint_eq(n, 60);
	ck_assert_uint_eq(echo_buf_space(&eb), ECHO_BUFSIZE - 60);
	/* Space before head is not contiguous with the tail. */
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data + 100);
	ck_assert_uint_eq(n, ECHO_BUFSIZE - 100);

	/* Emptied: starts over at the front. */
	echo_buf_consume(&eb, 60);
	ck_assert_uint_eq(eb.len, 0);
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, ECHO_BUFSIZE);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_buf_wrap)
{
	const size_t	 C = ECHO_BUFSIZE;
	size_t		 n;

	echo_buf_init(&eb);
	echo_buf_produce(&eb, C - 100);
	echo_buf_consume(&eb, C - 300);		/* head C-300, len 200 */
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data + C - 100);
	ck_assert_uint_eq(n, 100);
	echo_buf_produce(&eb, 100);		/* up to the end */
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, C - 300);		/* wrapped: up to head */
	echo_buf_produce(&eb, 50);		/* len 350, tail at 50 */
	ck_assert_uint_eq(echo_buf_space(&eb), C - 350);
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data + 50);
	ck_assert_uint_eq(n, C - 350);

	/* Reads are contiguous up to the end, then from the front. */
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data + C - 300);
	ck_assert_uint_eq(n, 300);
	echo_buf_consume(&eb, 250);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data + C - 50);
	ck_assert_uint_eq(n, 50);
	echo_buf_consume(&eb, 50);		/* head wraps to 0 */
	ck_assert_uint_eq(eb.head, 0);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, 50);
	echo_buf_consume(&eb, 30);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data + 30);
	ck_assert_uint_eq(n, 20);
	ck_assert_ptr_eq(echo_buf_wptr(&eb, &n), eb.data + 50);
	ck_assert_uint_eq(n, C - 50);
}
END_TEST

START_TEST(test_buf_full)
{
	const size_t	 C = ECHO_BUFSIZE;
	size_t		 n;

	echo_buf_init(&eb);
	echo_buf_produce(&eb, C);
	ck_assert_uint_eq(echo_buf_space(&eb), 0);
	echo_buf_wptr(&eb, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data);
	ck_assert_uint_eq(n, C);

	/* Full and wrapped. */
	echo_buf_consume(&eb, 1000);
	echo_buf_produce(&eb, 1000);
	ck_assert_uint_eq(echo_buf_space(&eb), 0);
	echo_buf_wptr(&eb, &n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_eq(echo_buf_rptr(&eb, &n), eb.data + 1000);
	ck_assert_uint_eq(n, C - 1000);
}
END_TEST

START_TEST(test_buf_fifo)
{
	static unsigned char	 src[5 * ECHO_BUFSIZE], dst[5 * ECHO_BUFSIZE];
	size_t			 in = 0, out = 0, n, k;
	unsigned char		*w;
	const unsigned char	*r;

	/* Random produce/consume sizes: bytes come out in order. */
	fill_random(src, sizeof(src));
	echo_buf_init(&eb);
	while (out < sizeof(src)) {
		w = echo_buf_wptr(&eb, &n);
		k = rnd() % (ECHO_BUFSIZE / 3);
		if (k > n)
			k = n;
		if (k > sizeof(src) - in)
			k = sizeof(src) - in;
		memcpy(w, src + in, k);
		echo_buf_produce(&eb, k);
		in += k;
		r = echo_buf_rptr(&eb, &n);
		k = rnd() % (ECHO_BUFSIZE / 3);
		if (k > n)
			k = n;
		memcpy(dst + out, r, k);
		echo_buf_consume(&eb, k);
		out += k;
		ck_assert_uint_le(eb.len, eb.cap);
	}
	ck_assert(memcmp(src, dst, sizeof(src)) == 0);
}
END_TEST

START_TEST(test_end_name)
{
	ck_assert_str_eq(echo_end_name(ECHO_END_EOF), "eof");
	ck_assert_str_eq(echo_end_name(ECHO_END_RESET), "reset");
	ck_assert_str_eq(echo_end_name(ECHO_END_IDLE), "idle");
	ck_assert_str_eq(echo_end_name(ECHO_END_ERROR), "error");
}
END_TEST

/* --- echo_serve ------------------------------------------------------- */

static unsigned char	 sbuf[8 * MIB], rbuf[8 * MIB + 1];

/*
 * len random bytes through a served socketpair (with the alarm count
 * reset and checked by the server thread) or a TCP loopback pair: all
 * echoed, in order, then EOF.
 */
static void
bulk_roundtrip(size_t len, bool tcp)
{
	struct server	 s;
	int		 sv[2];
	size_t		 got;

	memset(&s, 0, sizeof(s));
	fill_random(sbuf, len);
	if (tcp)
		tcppair(sv);
	else {
		socketpair_ok(sv);
		nalarm = 0;
	}
	server_start(&s, sv[0], !tcp);
	got = pump(sv[1], sbuf, len, rbuf, len);
	server_join(&s);
	close(sv[1]);

	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(sbuf, rbuf, len) == 0);
	ck_assert_int_eq(s.r.end, ECHO_END_EOF);
	ck_assert_uint_eq(s.r.bytes_in, len);
	ck_assert_uint_eq(s.r.bytes_out, len);
}

START_TEST(test_serve_bulk)
{
	bulk_roundtrip(MIB, false);
}
END_TEST

START_TEST(test_serve_bulk_tcp)
{
	bulk_roundtrip(4 * MIB, true);
}
END_TEST

START_TEST(test_serve_halfclose)
{
	struct echo_params	 p;
	struct echo_result	 r;
	int			 sv[2];
	ssize_t			 n;
	size_t			 got = 0;

	/*
	 * Small enough to sit in the socket buffers, so echo_serve can
	 * run right here: the peer has already sent and half-closed.
	 */
	fill_random(sbuf, 1000);
	socketpair_ok(sv);
	ck_assert_int_eq(write(sv[1], sbuf, 1000), 1000);
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	memset(&p, 0, sizeof(p));
	echo_serve(sv[0], &p, &r);
	ck_assert_int_eq(r.end, ECHO_END_EOF);
	ck_assert_uint_eq(r.bytes_in, 1000);
	ck_assert_uint_eq(r.bytes_out, 1000);
	close(sv[0]);
	while ((n = read(sv[1], rbuf + got, sizeof(rbuf) - got)) > 0)
		got += n;
	ck_assert_int_eq(n, 0);		/* EOF seen by the peer */
	ck_assert_uint_eq(got, 1000);
	ck_assert(memcmp(sbuf, rbuf, 1000) == 0);
	close(sv[1]);
}
END_TEST

START_TEST(test_serve_halfclose_empty)
{
	struct server	 s;
	int		 sv[2];

	memset(&s, 0, sizeof(s));
	socketpair_ok(sv);
	server_start(&s, sv[0], 1);
	ck_assert_uint_eq(pump(sv[1], sbuf, 0, rbuf, 0), 0);
	server_join(&s);
	close(sv[1]);
	ck_assert_int_eq(s.r.end, ECHO_END_EOF);
	ck_assert_uint_eq(s.r.bytes_in, 0);
	ck_assert_uint_eq(s.r.bytes_out, 0);
}
END_TEST

START_TEST(test_serve_backpressure)
{
	struct server	 s;
	int		 sv[2];
	size_t		 len = 8 * MIB, stuck, bound, got;

	memset(&s, 0, sizeof(s));
	fill_random(sbuf, len);
	socketpair_ok(sv);
	small_buffers(sv[0]);
	small_buffers(sv[1]);
	server_start(&s, sv[0], 1);

	/*
	 * The peer only writes.  echo_serve may hold its ring and what
	 * the kernel buffers each way, and not a byte more.
	 */
	stuck = fill_until_stuck(sv[1], sbuf, len);
	bound = ECHO_BUFSIZE + 4 * (sockbufs(sv[0]) + sockbufs(sv[1]));
	ck_assert_msg(stuck < len, "never stuck: %zu bytes taken", stuck);
	ck_assert_msg(stuck <= bound, "took %zu bytes, bound %zu", stuck,
	    bound);
	ck_assert_uint_le(s.r.bytes_in, stuck);

	/* Now read: everything comes back, in order. */
	got = pump(sv[1], sbuf + stuck, len - stuck, rbuf, len);
	server_join(&s);
	close(sv[1]);
	ck_assert_uint_eq(got, len);
	ck_assert(memcmp(sbuf, rbuf, len) == 0);
	ck_assert_int_eq(s.r.end, ECHO_END_EOF);
	ck_assert_uint_eq(s.r.bytes_in, len);
	ck_assert_uint_eq(s.r.bytes_out, len);
}
END_TEST

START_TEST(test_serve_idle)
{
	struct echo_params	 p;
	struct echo_result	 r;
	long long		 t0, el;
	int			 sv[2];

	socketpair_ok(sv);
	memset(&p, 0, sizeof(p));
	p.idle_timeout_ms = 200;
	maybe_bounded(sv[0], &p);
	alarms(10000);		/* poll keeps failing with EINTR */
	nalarm = 0;
	t0 = now_ms();
	echo_serve(sv[0], &p, &r);
	el = now_ms() - t0;
	alarms(0);
	ck_assert_int_eq(r.end, ECHO_END_IDLE);
	ck_assert_msg(el >= 200, "idle after %lld ms", el);
	ck_assert_msg(el < 5000, "idle after %lld ms", el);
	ck_assert_int_gt(nalarm, 0);
	ck_assert_uint_eq(r.bytes_in, 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_serve_idle_writer)
{
	struct server	 s;
	int		 sv[2];
	size_t		 sent;
	long long	 t0, el;

	/* A client that sends and never reads is cut by the idle timeout. */
	memset(&s, 0, sizeof(s));
	fill_random(sbuf, 8 * MIB);
	socketpair_ok(sv);
	small_buffers(sv[0]);
	small_buffers(sv[1]);
	s.p.idle_timeout_ms = 200;
	t0 = now_ms();
	server_start(&s, sv[0], 1);
	sent = fill_until_stuck(sv[1], sbuf, 8 * MIB);
	server_join(&s);
	el = now_ms() - t0;
	ck_assert_int_eq(s.r.end, ECHO_END_IDLE);
	ck_assert_uint_lt(sent, 8 * MIB);
	ck_assert_uint_gt(s.r.bytes_in, s.r.bytes_out);
	ck_assert_msg(el >= 200, "idle after %lld ms", el);
	close(sv[1]);
}
END_TEST

START_TEST(test_serve_idle_moving)
{
	struct server	 s;
	int		 sv[2];
	size_t		 got;

	/*
	 * Traffic that keeps moving is never idle, however long it lasts
	 * overall: 4 MiB over small buffers with a 200 ms timeout.
	 */
	memset(&s, 0, sizeof(s));
	fill_random(sbuf, 4 * MIB);
	socketpair_ok(sv);
	small_buffers(sv[0]);
	s.p.idle_timeout_ms = 200;
	server_start(&s, sv[0], 1);
	got = pump(sv[1], sbuf, 4 * MIB, rbuf, 4 * MIB);
	server_join(&s);
	close(sv[1]);
	ck_assert_int_eq(s.r.end, ECHO_END_EOF);
	ck_assert_uint_eq(got, 4 * MIB);
}
END_TEST

START_TEST(test_serve_reset_tcp)
{
	struct server	 s;
	struct linger	 lg;
	int		 sv[2];

	/* Peer floods, never reads, then aborts: RST with data pending. */
	memset(&s, 0, sizeof(s));
	fill_random(sbuf, 8 * MIB);
	tcppair(sv);
	small_buffers(sv[0]);
	small_buffers(sv[1]);
	server_start(&s, sv[0], 1);
	(void)fill_until_stuck(sv[1], sbuf, 8 * MIB);
	lg.l_onoff = 1;
	lg.l_linger = 0;
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(sv[1]);
	server_join(&s);
	ck_assert_msg(s.r.end == ECHO_END_RESET || s.r.end == ECHO_END_EOF,
	    "ended %s (%s)", echo_end_name(s.r.end), strerror(s.r.error));
	if (s.r.end == ECHO_END_RESET)
		ck_assert(s.r.error == ECONNRESET || s.r.error == EPIPE);
}
END_TEST

START_TEST(test_serve_reset_idle_tcp)
{
	struct server	 s;
	struct linger	 lg;
	int		 sv[2];

	/* Reset while echo_serve waits in poll with nothing to send. */
	memset(&s, 0, sizeof(s));
	tcppair(sv);
	server_start(&s, sv[0], 1);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	lg.l_onoff = 1;
	lg.l_linger = 0;
	ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(sv[1]);
	server_join(&s);
	ck_assert_msg(s.r.end == ECHO_END_RESET || s.r.end == ECHO_END_EOF,
	    "ended %s (%s)", echo_end_name(s.r.end), strerror(s.r.error));
}
END_TEST

START_TEST(test_serve_peer_gone)
{
	struct server	 s;
	int		 sv[2];

	/* UNIX peer closes with our answer pending: EPIPE, no SIGPIPE. */
	memset(&s, 0, sizeof(s));
	fill_random(sbuf, MIB);
	socketpair_ok(sv);
	small_buffers(sv[0]);
	small_buffers(sv[1]);
	server_start(&s, sv[0], 1);
	(void)fill_until_stuck(sv[1], sbuf, MIB);
	close(sv[1]);
	server_join(&s);
	ck_assert_msg(s.r.end == ECHO_END_RESET || s.r.end == ECHO_END_EOF,
	    "ended %s (%s)", echo_end_name(s.r.end), strerror(s.r.error));
}
END_TEST

START_TEST(test_serve_badfd)
{
	struct echo_params	 p;
	struct echo_result	 r;
	int			 sv[2];

	socketpair_ok(sv);
	close(sv[1]);
	close(sv[0]);
	memset(&p, 0, sizeof(p));
	echo_serve(sv[0], &p, &r);
	ck_assert_int_eq(r.end, ECHO_END_ERROR);
	ck_assert_int_eq(r.error, EBADF);
}
END_TEST

START_TEST(test_serve_delay)
{
	struct echo_params	 p;
	struct echo_result	 r;
	long long		 t0, el;
	int			 sv[2];
	char			 b[16];

	socketpair_ok(sv);
	ck_assert_int_eq(write(sv[1], "ping", 4), 4);
	ck_assert_int_eq(shutdown(sv[1], SHUT_WR), 0);
	memset(&p, 0, sizeof(p));
	p.delay_ms = 150;
	alarms(20000);		/* nanosleep is cut short and resumed */
	nalarm = 0;
	t0 = now_ms();
	echo_serve(sv[0], &p, &r);
	el = now_ms() - t0;
	alarms(0);
	ck_assert_int_gt(nalarm, 0);
	ck_assert_msg(el >= 150, "served after %lld ms", el);
	ck_assert_msg(el < 5000, "served after %lld ms", el);
	ck_assert_int_eq(r.end, ECHO_END_EOF);
	close(sv[0]);
	ck_assert_int_eq(read(sv[1], b, sizeof(b)), 4);
	ck_assert(memcmp(b, "ping", 4) == 0);
	close(sv[1]);
}
END_TEST

/* --- line mode through echo_serve ------------------------------------- */

/* Does ans (len bytes) equal pfx + line + " at " + ctime(t), t in range? */
static int
answer_ok(const char *ans, size_t len, const char *pfx, const char *line,
    time_t t0, time_t t1)
{
	char	 tb[64], want[256];
	time_t	 t;

	for (t = t0; t <= t1; t++) {
		ck_assert_ptr_nonnull(ctime_r(&t, tb));
		tb[strcspn(tb, "\n")] = '\0';
		snprintf(want, sizeof(want), "%s%s at %s\n", pfx, line, tb);
		if (strlen(want) == len && memcmp(want, ans, len) == 0)
			return 1;
	}
	return 0;
}

START_TEST(test_line_timestamp)
{
	const char	*in = "hello\r\nworld\n\npartial";
	const char	*lines[] = { "hello", "world", "", "partial" };
	struct server	 s;
	int		 sv[2];
	size_t		 got, off, i, n;
	time_t		 t0, t1;
	char		*nl;

	memset(&s, 0, sizeof(s));
	s.p.prefix = "Echo=>";
	s.p.timestamp = 1;
	socketpair_ok(sv);
	t0 = time(NULL);
	server_start(&s, sv[0], 1);
	got = pump(sv[1], (const unsigned char *)in, strlen(in), rbuf, 4096);
	server_join(&s);
	t1 = time(NULL);
	close(sv[1]);
	ck_assert_int_eq(s.r.end, ECHO_END_EOF);
	ck_assert_uint_eq(s.r.bytes_in, strlen(in));
	ck_assert_uint_eq(s.r.bytes_out, got);

	for (off = 0, i = 0; i < 4; i++) {
		nl = memchr(rbuf + off, '\n', got - off);
		ck_assert_ptr_nonnull(nl);
		n = (size_t)((unsigned char *)nl - rbuf) + 1 - off;
		ck_assert_msg(answer_ok((char *)rbuf + off, n, "Echo=>",
		    lines[i], t0, t1), "answer %zu: %.*s", i, (int)n,
		    rbuf + off);
		off += n;
	}
	ck_assert_uint_eq(off, got);
}
END_TEST

/*
 * Random lines (NULs included, no "\r"), some longer than LINE_MAX_LEN;
 * the expected answer is built independently of linemode.c.
 */
static size_t
lines_expected(const unsigned char *in, size_t len, const char *pfx,
    unsigned char *out, size_t cap)
{
	size_t	 plen = strlen(pfx), o = 0, i = 0, start, l, k;

	while (i < len) {
		start = i;
		while (i < len && in[i] != '\n')
			i++;
		l = i - start;
		do {
			k = l < LINE_MAX_LEN ? l : LINE_MAX_LEN;
			ck_assert_uint_le(o + plen + k + 1, cap);
			memcpy(out + o, pfx, plen);
			o += plen;
			memcpy(out + o, in + start, k);
			o += k;
			out[o++] = '\n';
			start += k;
			l -= k;
		} while (l > 0);
		i++;		/* the "\n", or past the end */
	}
	return o;
}

static unsigned char	 ebuf[16 * MIB];

static void
line_bulk(const char *pfx, size_t len, int newlines_only)
{
	struct server	 s;
	int		 sv[2];
	size_t		 i, want, got;

	for (i = 0; i < len; i++) {
		if (newlines_only)
			sbuf[i] = '\n';
		else {
			sbuf[i] = rnd() & 0xff;
			if (sbuf[i] == '\r')
				sbuf[i] = 0;
			if (rnd() % 64 == 0)
				sbuf[i] = '\n';
		}
	}
	if (!newlines_only) {
		/* Two overlong lines, one exactly LINE_MAX_LEN. */
		memset(sbuf + 1000, 'L', 3 * LINE_MAX_LEN + 7);
		sbuf[50000] = '\n';
		memset(sbuf + 50001, 'M', LINE_MAX_LEN);
		sbuf[50001 + LINE_MAX_LEN] = '\n';
		sbuf[len - 1] = 'x';	/* a partial last line */
	}
	want = lines_expected(sbuf, len, pfx, ebuf, sizeof(ebuf));

	memset(&s, 0, sizeof(s));
	s.p.prefix = pfx;
	socketpair_ok(sv);
	small_buffers(sv[0]);
	server_start(&s, sv[0], 1);
	got = pump(sv[1], sbuf, len, rbuf, sizeof(rbuf) - 1);
	server_join(&s);
	close(sv[1]);
	ck_assert_int_eq(s.r.end, ECHO_END_EOF);
	ck_assert_uint_eq(got, want);
	ck_assert(memcmp(rbuf, ebuf, want) == 0);
	ck_assert_uint_eq(s.r.bytes_in, len);
	ck_assert_uint_eq(s.r.bytes_out, want);
}

START_TEST(test_line_bulk)
{
	line_bulk("> ", MIB, 0);
}
END_TEST

START_TEST(test_line_expand)
{
	static char	 pfx[2000];

	/*
	 * Each "\n" becomes a 2001-byte answer: one read expands far past
	 * the ring, which must drain as it goes rather than grow.
	 */
	memset(pfx, 'P', sizeof(pfx) - 1);
	line_bulk(pfx, 3000, 1);
}
END_TEST

START_TEST(test_line_idle_writer)
{
	struct server	 s;
	int		 sv[2];
	size_t		 i;

	/* Line mode, client never reads: still cut by the idle timeout. */
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 8 * MIB; i++)
		sbuf[i] = i % 10 == 9 ? '\n' : 'a';
	s.p.prefix = "long prefix to make answers bigger than questions: ";
	s.p.idle_timeout_ms = 200;
	socketpair_ok(sv);
	small_buffers(sv[0]);
	small_buffers(sv[1]);
	server_start(&s, sv[0], 1);
	ck_assert_uint_lt(fill_until_stuck(sv[1], sbuf, 8 * MIB), 8 * MIB);
	server_join(&s);
	close(sv[1]);
	ck_assert_int_eq(s.r.end, ECHO_END_IDLE);
}
END_TEST

static void
sigpipe_ignore(void)
{
	ck_assert(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
}

static void
sigpipe_default(void)
{
	(void)signal(SIGPIPE, SIG_DFL);
}

Suite *
check_suite(void)
{
	Suite	*s = suite_create("echo");
	TCase	*tc;

	check_tcase(s, "buf", CHECK_TESTS(test_buf_init,
	    test_buf_produce_consume, test_buf_wrap, test_buf_full,
	    test_buf_fifo, test_end_name));

	tc = check_tcase(s, "serve", CHECK_TESTS(test_serve_bulk,
	    test_serve_bulk_tcp, test_serve_halfclose,
	    test_serve_halfclose_empty, test_serve_backpressure,
	    test_serve_idle, test_serve_idle_writer, test_serve_idle_moving,
	    test_serve_reset_tcp, test_serve_reset_idle_tcp,
	    test_serve_peer_gone, test_serve_badfd, test_serve_delay));
	tcase_set_timeout(tc, 120);	/* valgrind is slow */

	tc = check_tcase(s, "line", CHECK_TESTS(test_line_timestamp,
	    test_line_bulk, test_line_expand, test_line_idle_writer));
	tcase_set_timeout(tc, 120);

	/* The same contract again as every serving process runs it. */
	tc = check_tcase(s, "sigpipe-ignored", CHECK_TESTS(test_serve_bulk,
	    test_serve_bulk_tcp, test_serve_halfclose,
	    test_serve_backpressure, test_serve_idle_moving,
	    test_serve_reset_tcp, test_serve_peer_gone));
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, sigpipe_ignore, sigpipe_default);

	/* Again with reads that block in recv(2) (echo.h, recv_bounded). */
	tc = check_tcase(s, "blocking-recv", CHECK_TESTS(test_serve_bulk,
	    test_serve_bulk_tcp, test_serve_backpressure, test_serve_idle,
	    test_serve_idle_writer, test_serve_idle_moving,
	    test_serve_reset_tcp, test_serve_reset_idle_tcp,
	    test_serve_peer_gone, test_line_bulk, test_line_idle_writer));
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, bounded_on, bounded_off);
	return s;
}
