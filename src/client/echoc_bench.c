/*
 * echoc_bench.c: the load generator (see echoc_bench.h).
 *
 * One process, one event loop, non-blocking sockets.  Everything is sized
 * at the start (a slot per connection, one pattern, one read buffer), so
 * an operation costs only the syscalls it cannot avoid: socket, connect,
 * write, read, close for conn; write and read for rtt.  Sockets are
 * registered once, edge-triggered (echoc_ev.c), and closing them is their
 * unregistration.  That keeps echoc from being the bottleneck when it
 * shares two cores with the server it measures.
 *
 * Verification: byte j of a connection's stream is pat[(off + j) %
 * PAT_LEN], where pat is a fixed pseudo-random block and off is derived
 * from a per-operation counter, so two connections (or two operations)
 * almost never carry the same bytes, a server that crosses streams or
 * replays stale data is caught, and checking a read is one memcmp.
 *
 * Time: an operation that makes no progress for -t is a timeout; the run
 * is cut at --max-time whatever happens (operations still in flight then
 * count as timeouts), so echoc always stops by itself.  With -d, only
 * operations started and finished inside the measured window count;
 * those still running at its end get -t to finish (failures are counted,
 * successes are not) and are then closed.
 *
 * Idle mode opens connections IDLE_RAMP at a time, each proven served by
 * one echo of SIZE bytes, holds them for -d (any close by the server is
 * an error), then echoes SIZE bytes on each once more and counts those
 * that answer as ops.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echoc_bench.h"
#include "echoc_ev.h"

#define PAT_LEN		65536
#define CHUNK		65536		/* largest write; pattern slack */
#define RBUF		65536
#define MAXEV		512
#define IDLE_RAMP	8		/* idle: connections opening at once */
#define TICK_NS		50000000LL	/* timeout and backoff resolution */
#define BACKOFF_NS	10000000LL	/* after a local error (no ports) */
#define PROGRESS_NS	250000000LL
#define NS		1000000000LL

/*
 * An event's token: the slot in the low 20 bits (-c is at most 10^6), the
 * low 12 bits of the slot's generation above, so an event left over from
 * a slot's previous connection is recognised; 32 bits in all, which is
 * what kqueue's udata holds on a 32-bit system.
 */
#define TOKEN_IDX_BITS	20
#define TOKEN_GEN_MASK	0xfffU
#define TOKEN(gen, idx)	\
	((uint64_t)((gen) & TOKEN_GEN_MASK) << TOKEN_IDX_BITS | (idx))

enum cstate {
	S_OFF = 0,	/* no connection and none to come */
	S_BACKOFF,	/* waiting before the next try */
	S_CONNECTING,
	S_ACTIVE,	/* an operation in progress */
	S_HELD		/* idle: open, proven, waiting */
};

enum phase {
	P_WARMUP,
	P_MEASURE,
	P_DRAIN,
	P_RAMP,
	P_HOLD,
	P_FINAL,
	P_DONE
};

struct conn {
	int		 fd;
	uint32_t	 gen;
	uint8_t		 state;
	uint8_t		 counted;	/* started inside the window */
	uint32_t	 off;		/* pattern offset of the stream */
	uint64_t	 sent, rcvd;	/* stream positions */
	uint64_t	 op_end;	/* stream position ending this op */
	int64_t		 t_op, t_prog, t_wake;
};

struct bench {
	const struct echoc_opts	*o;
	struct bench_result	*r;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	int			 family;
	int			 ep;
	struct conn		*c;
	size_t			 nc;
	enum phase		 phase;
	int64_t			 now;
	int64_t			 t_measure, t_measure_end, t_drain_end;
	int64_t			 t_deadline, t_end;
	uint64_t		 started;	/* counted ops begun (-n) */
	uint64_t		 seq;		/* ops begun, for patterns */
	size_t			 active;	/* CONNECTING or ACTIVE */
	size_t			 backoff;
	size_t			 ramp_next;
	int			 count_bytes;
	int			 hold_begun;	/* idle */
};

static uint8_t			 pat[PAT_LEN + CHUNK];
static uint8_t			 rbuf[RBUF];
static volatile sig_atomic_t	 got_sigint;

static const char *errnames[BERR_N] = {
	"refused", "reset", "timeout", "mismatch", "short", "local", "other"
};

static void	conn_open(struct bench *, size_t);
static int	conn_write(struct bench *, size_t);

const char *
bench_err_name(enum bench_err k)
{
	return errnames[k];
}

enum bench_err
bench_classify(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return BERR_REFUSED;
	case ECONNRESET:
	case ECONNABORTED:
	case EPIPE:
		return BERR_RESET;
	case ETIMEDOUT:
		return BERR_TIMEOUT;
	case EADDRNOTAVAIL:
	case EADDRINUSE:
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return BERR_LOCAL;
	default:
		return BERR_OTHER;
	}
}

static void
sigint_catch(int sig)
{
	(void)sig;
	got_sigint = 1;
}

static void
pat_init(void)
{
	uint64_t	 x = 0x9e3779b97f4a7c15ULL;
	size_t		 i;

	/* xorshift64: any fixed, patternless block will do. */
	for (i = 0; i < PAT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pat[i] = (uint8_t)(x >> 24);
	}
	memcpy(pat + PAT_LEN, pat, CHUNK);	/* so any chunk is contiguous */
}

static int
may_start(const struct bench *b)
{
	if (b->phase == P_WARMUP)
		return 1;
	if (b->phase != P_MEASURE)
		return 0;
	return b->o->count == 0 || b->started < (uint64_t)b->o->count;
}

static void
note_error(struct bench *b, enum bench_err k, int e, const char *what)
{
	struct bench_result	*r = b->r;

	if (r->errors[k]++ == 0) {
		r->first_errno[k] = e;
		(void)snprintf(r->first_what[k], sizeof(r->first_what[k]),
		    "%s", what);
	}
	r->errors_total++;
}

static void
conn_close(struct bench *b, size_t i)
{
	struct conn	*c = &b->c[i];

	if (c->fd != -1) {
		(void)close(c->fd);
		c->fd = -1;
	}
	if (c->state == S_CONNECTING || c->state == S_ACTIVE)
		b->active--;
	c->state = S_OFF;
}

/* What slot i does once its connection is gone. */
static void
conn_next(struct bench *b, size_t i, int64_t delay)
{
	struct conn	*c = &b->c[i];

	if (b->o->mode == ECHOC_BENCH_IDLE || !may_start(b))
		return;
	if (delay > 0) {
		c->state = S_BACKOFF;
		c->t_wake = b->now + delay;
		b->backoff++;
		return;
	}
	conn_open(b, i);
}

static void
conn_fail(struct bench *b, size_t i, enum bench_err k, int e,
    const char *what)
{
	note_error(b, k, e, what);
	conn_close(b, i);
	conn_next(b, i, k == BERR_LOCAL ? BACKOFF_NS : 0);
}

/*
 * A failure inside conn_open itself (socket, connect refusing at once):
 * trying again at once would recurse, and such failures (no route, no
 * port, no descriptor) do not clear in a microsecond anyway.
 */
static void
conn_fail_now(struct bench *b, size_t i, int e, const char *what)
{
	note_error(b, bench_classify(e), e, what);
	conn_close(b, i);
	conn_next(b, i, BACKOFF_NS);
}

static void
op_begin(struct bench *b, struct conn *c, int64_t t)
{
	c->t_op = t;
	c->t_prog = t;
	c->counted = b->phase == P_MEASURE;
	if (c->counted)
		b->started++;
	b->seq++;
	c->op_end = c->sent + b->o->size;
}

static void
conn_open(struct bench *b, size_t i)
{
	struct conn	*c = &b->c[i];
	int		 one = 1, e;

	c->gen++;
	c->sent = c->rcvd = 0;
	c->off = (uint32_t)((b->seq * 2654435761ULL) % PAT_LEN);
	op_begin(b, c, echoc_now_ns());
	c->state = S_CONNECTING;
	b->active++;

	c->fd = socket(b->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1) {
		e = errno;
		conn_fail_now(b, i, e, "socket");
		return;
	}
	/* Ping-pong: never let Nagle hold a request back. */
	if (b->o->mode == ECHOC_BENCH_RTT)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&b->addr, b->addrlen) == -1 &&
	    errno != EINPROGRESS) {
		e = errno;
		conn_fail_now(b, i, e, "connect");
		return;
	}
	if (ev_add(b->ep, c->fd, TOKEN(c->gen, i)) == -1) {
		e = errno;
		conn_fail_now(b, i, e, "event registration");
		return;
	}
}

/* An operation finished: all its bytes came back and matched. */
static void
op_done(struct bench *b, size_t i)
{
	struct conn		*c = &b->c[i];
	struct bench_result	*r = b->r;
	int64_t			 t = echoc_now_ns();
	uint64_t		 us = (uint64_t)(t - c->t_op + 500) / 1000;

	switch (b->o->mode) {
	case ECHOC_BENCH_IDLE:
		hist_record(&r->lat, us);
		if (b->phase == P_RAMP) {
			c->state = S_HELD;
			b->active--;
			r->opened++;
		} else {
			r->ops++;
			conn_close(b, i);
		}
		return;
	case ECHOC_BENCH_RTT:
		if (c->counted && b->phase == P_MEASURE) {
			hist_record(&r->lat, us);
			r->ops++;
		}
		if (!may_start(b)) {
			conn_close(b, i);
			return;
		}
		op_begin(b, c, t);
		(void)conn_write(b, i);
		return;
	default:
		if (c->counted && b->phase == P_MEASURE) {
			hist_record(&r->lat, us);
			r->ops++;
		}
		conn_close(b, i);
		conn_next(b, i, 0);
		return;
	}
}

/*
 * After a failed read or write: 0 if it only has to wait for the next
 * event, -1 once the connection is failed and gone.
 */
static int
conn_io_error(struct bench *b, size_t i, const char *op)
{
	int	 e = errno;

	if (e == EAGAIN || e == EINTR)
		return 0;
	conn_fail(b, i, bench_classify(e), e, op);
	return -1;
}

/* Returns -1 when the connection failed and is gone. */
static int
conn_write(struct bench *b, size_t i)
{
	struct conn	*c = &b->c[i];
	size_t		 want;
	ssize_t		 n;

	while (c->sent < c->op_end) {
		want = c->op_end - c->sent > CHUNK ? CHUNK :
		    (size_t)(c->op_end - c->sent);
		n = write(c->fd, pat + (c->off + c->sent) % PAT_LEN, want);
		if (n == -1)
			return conn_io_error(b, i, "write");
		c->sent += (uint64_t)n;
		c->t_prog = b->now;
		if (b->count_bytes)
			b->r->bytes += (uint64_t)n;
		if ((size_t)n < want)
			return 0;	/* buffer full: wait for EV_OUT */
	}
	return 0;
}

/* Returns -1 when the connection is gone (failed or finished). */
static int
conn_read(struct bench *b, size_t i)
{
	struct conn	*c = &b->c[i];
	ssize_t		 n;
	char		 what[64];

	for (;;) {
		n = read(c->fd, rbuf, sizeof(rbuf));
		if (n == -1)
			return conn_io_error(b, i, "read");
		if (n == 0) {
			(void)snprintf(what, sizeof(what), "EOF after %llu "
			    "of %llu bytes", (unsigned long long)c->rcvd,
			    (unsigned long long)c->sent);
			conn_fail(b, i, BERR_SHORT, 0, what);
			return -1;
		}
		if (c->rcvd + (uint64_t)n > c->sent) {
			conn_fail(b, i, BERR_MISMATCH, 0,
			    "more bytes back than were sent");
			return -1;
		}
		if (memcmp(rbuf, pat + (c->off + c->rcvd) % PAT_LEN,
		    (size_t)n) != 0) {
			(void)snprintf(what, sizeof(what), "wrong byte in "
			    "%llu..%llu", (unsigned long long)c->rcvd,
			    (unsigned long long)(c->rcvd + (uint64_t)n - 1));
			conn_fail(b, i, BERR_MISMATCH, 0, what);
			return -1;
		}
		c->rcvd += (uint64_t)n;
		c->t_prog = b->now;
		if (b->count_bytes)
			b->r->bytes += (uint64_t)n;
		if (c->rcvd == c->op_end) {
			op_done(b, i);
			/* rtt goes on with its next request, others end. */
			return c->state == S_ACTIVE ? 0 : -1;
		}
		if ((size_t)n < sizeof(rbuf))
			return 0;	/* drained: wait for the next edge */
	}
}

static void
conn_event(struct bench *b, size_t i, unsigned int what)
{
	struct conn	*c = &b->c[i];
	socklen_t	 len;
	ssize_t		 n;
	int		 e;

	switch (c->state) {
	case S_CONNECTING:
		if ((what & EV_ERR) || !(what & EV_OUT)) {
			len = sizeof(e);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e,
			    &len) == -1)
				e = errno;
			if (e != 0) {
				conn_fail(b, i, bench_classify(e), e,
				    "connect");
				return;
			}
			if (!(what & EV_OUT))
				return;
		}
		c->state = S_ACTIVE;
		c->t_prog = b->now;
		/* rtt measures echoes; the connect is not one of them. */
		if (b->o->mode == ECHOC_BENCH_RTT)
			c->t_op = echoc_now_ns();
		(void)conn_write(b, i);
		return;
	case S_ACTIVE:
		if ((what & EV_IN) && conn_read(b, i) == -1)
			return;
		if ((what & EV_OUT) && c->state == S_ACTIVE)
			(void)conn_write(b, i);
		return;
	case S_HELD:
		if (!(what & EV_IN))
			return;
		n = read(c->fd, rbuf, sizeof(rbuf));
		e = errno;
		if (n == -1 && (e == EAGAIN || e == EINTR))
			return;
		if (n > 0)
			note_error(b, BERR_MISMATCH, 0,
			    "bytes from the server while idle");
		else if (n == 0)
			note_error(b, BERR_SHORT, 0, "closed by the server "
			    "while idle");
		else
			note_error(b, bench_classify(e), e, "while idle");
		conn_close(b, i);
		return;
	default:
		return;
	}
}

/* Every TICK_NS: timeouts and the end of back-offs. */
static void
bench_tick(struct bench *b)
{
	struct conn	*c;
	int64_t		 limit = b->o->timeout_ms * 1000000;
	size_t		 i;

	for (i = 0; i < b->nc; i++) {
		c = &b->c[i];
		switch (c->state) {
		case S_CONNECTING:
		case S_ACTIVE:
			if (b->now - c->t_prog >= limit)
				conn_fail(b, i, BERR_TIMEOUT, ETIMEDOUT,
				    c->state == S_CONNECTING ?
				    "connect: no answer" :
				    "echo: no progress");
			break;
		case S_BACKOFF:
			if (b->now >= c->t_wake) {
				b->backoff--;
				c->state = S_OFF;
				if (may_start(b))
					conn_open(b, i);
			}
			break;
		default:
			break;
		}
	}
}

/* Close everything; what is still in flight is counted as kind k. */
static void
bench_stop(struct bench *b, int count_unfinished, const char *why)
{
	size_t	 i;

	for (i = 0; i < b->nc; i++) {
		if (count_unfinished && (b->c[i].state == S_CONNECTING ||
		    b->c[i].state == S_ACTIVE))
			note_error(b, BERR_TIMEOUT, ETIMEDOUT, why);
		if (b->c[i].state == S_BACKOFF)
			b->backoff--;
		conn_close(b, i);
	}
	b->t_end = b->now;
	b->phase = P_DONE;
}

/* In the measured phase: time up (-d) or every operation done (-n)? */
static void
measure_over(struct bench *b)
{
	const struct echoc_opts	*o = b->o;
	size_t			 i;

	if (o->count == 0 && b->now >= b->t_measure_end) {
		b->phase = P_DRAIN;
		b->count_bytes = 0;
		b->t_drain_end = b->now + o->timeout_ms * 1000000 + TICK_NS;
		for (i = 0; i < b->nc; i++)
			if (b->c[i].state == S_BACKOFF) {
				b->c[i].state = S_OFF;
				b->backoff--;
			}
	} else if (o->count != 0 && b->active == 0 && b->backoff == 0 &&
	    !may_start(b)) {
		b->t_measure_end = b->now;
		bench_stop(b, 0, NULL);
	}
}

static void
bench_phase(struct bench *b)
{
	const struct echoc_opts	*o = b->o;
	size_t			 i;

	if (got_sigint) {
		b->r->interrupted = 1;
		if (b->phase == P_WARMUP || b->phase == P_MEASURE)
			b->t_measure_end = b->now;
		bench_stop(b, 0, NULL);
		return;
	}
	if (b->now >= b->t_deadline) {
		b->r->interrupted = 2;
		if (b->phase == P_MEASURE)
			b->t_measure_end = b->now;
		bench_stop(b, 1, "unfinished at --max-time");
		return;
	}
	switch (b->phase) {
	case P_WARMUP:
		if (b->now >= b->t_measure) {
			b->phase = P_MEASURE;
			b->count_bytes = 1;
			b->t_measure = b->now;
			if (o->count == 0)
				b->t_measure_end = b->now +
				    o->duration_ms * 1000000;
		}
		break;
	case P_MEASURE:
		measure_over(b);
		break;
	case P_DRAIN:
		/* Still progressing after -t: healthy, just not counted. */
		if (b->active == 0 || b->now >= b->t_drain_end)
			bench_stop(b, 0, NULL);
		break;
	case P_RAMP:
		while (b->ramp_next < b->nc && b->active < IDLE_RAMP)
			conn_open(b, b->ramp_next++);
		if (b->ramp_next == b->nc && b->active == 0) {
			b->phase = P_HOLD;
			b->hold_begun = 1;
			b->t_measure = b->now;
			b->t_measure_end = b->now + o->duration_ms * 1000000;
		}
		break;
	case P_HOLD:
		if (b->now < b->t_measure_end)
			break;
		b->phase = P_FINAL;
		for (i = 0; i < b->nc; i++) {
			if (b->c[i].state != S_HELD)
				continue;
			b->c[i].state = S_ACTIVE;
			b->active++;
			op_begin(b, &b->c[i], echoc_now_ns());
			(void)conn_write(b, i);
		}
		break;
	case P_FINAL:
		if (b->active == 0)
			bench_stop(b, 0, NULL);
		break;
	case P_DONE:
		break;
	}
}

static void
bench_progress(struct bench *b, uint64_t *last_ops, int64_t *last_t)
{
	const char	*what;
	double		 dt, el;

	dt = (double)(b->now - *last_t) / NS;
	el = b->phase == P_WARMUP ? 0.0 : (double)(b->now - b->t_measure) / NS;
	switch (b->phase) {
	case P_WARMUP:
		what = "warmup";
		break;
	case P_DRAIN:
		what = "drain";
		break;
	case P_RAMP:
		what = "opening";
		el = 0.0;
		break;
	case P_HOLD:
		what = "holding";
		break;
	default:
		what = echoc_mode_name(b->o->mode);
		break;
	}
	if (b->o->mode == ECHOC_BENCH_IDLE)
		fprintf(stderr, "\r%-8s %6.1fs  %8llu open  errors %llu   ",
		    what, el, (unsigned long long)b->r->opened,
		    (unsigned long long)b->r->errors_total);
	else
		fprintf(stderr, "\r%-8s %6.1fs  %10llu ops  %9.0f/s  "
		    "errors %llu   ", what, el,
		    (unsigned long long)b->r->ops,
		    dt > 0 ? (double)(b->r->ops - *last_ops) / dt : 0.0,
		    (unsigned long long)b->r->errors_total);
	*last_ops = b->r->ops;
	*last_t = b->now;
}

static int
bench_target(struct bench *b, char *msg, size_t msglen)
{
	const struct echoc_opts	*o = b->o;
	struct addrinfo		*res, *ai, *pick;
	int			 fd, e;

	if (echoc_resolve(o->host, o->port, o->family, SOCK_STREAM, &res,
	    msg, msglen) == -1)
		return -1;
	/*
	 * "localhost" may give ::1 before 127.0.0.1 while the server
	 * listens on only one: probe when there is a choice, so the run
	 * measures the server rather than a wrong guess.
	 */
	pick = res;
	if (res->ai_next != NULL)
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			if ((fd = echoc_connect(ai, o->timeout_ms, &e)) == -1)
				continue;
			(void)close(fd);
			pick = ai;
			break;
		}
	memcpy(&b->addr, pick->ai_addr, pick->ai_addrlen);
	b->addrlen = pick->ai_addrlen;
	b->family = pick->ai_family;
	(void)echoc_addr_str(pick->ai_addr, pick->ai_addrlen, b->r->target,
	    sizeof(b->r->target));
	freeaddrinfo(res);
	return 0;
}

/* Descriptors for -c connections, raising the soft limit if we may. */
static int
bench_nofile(const struct echoc_opts *o, char *msg, size_t msglen)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)o->concurrency + 16 > rl.rlim_cur) {
		(void)snprintf(msg, msglen, "-c %lld: needs %lld descriptors, "
		    "but the limit is %llu", o->concurrency,
		    o->concurrency + 16, (unsigned long long)rl.rlim_cur);
		return -1;
	}
	return 0;
}

/* The target, the connection table and the event queue. */
static int
bench_setup(struct bench *b, const struct echoc_opts *o,
    struct bench_result *r, char *msg, size_t msglen)
{
	size_t	i;

	memset(r, 0, sizeof(*r));
	hist_init(&r->lat);
	r->mode = o->mode;
	r->concurrency = o->concurrency;
	r->size = o->size;
	memset(b, 0, sizeof(*b));
	b->o = o;
	b->r = r;
	b->nc = (size_t)o->concurrency;
	if (bench_nofile(o, msg, msglen) == -1 ||
	    bench_target(b, msg, msglen) == -1)
		return -1;
	if ((b->c = calloc(b->nc, sizeof(*b->c))) == NULL) {
		(void)snprintf(msg, msglen, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < b->nc; i++)
		b->c[i].fd = -1;
	if ((b->ep = ev_open()) == -1) {
		(void)snprintf(msg, msglen, "event queue: %s", strerror(errno));
		free(b->c);
		return -1;
	}
	pat_init();
	return 0;
}

/* The clock starts: the first phase, and the first connections. */
static void
bench_start(struct bench *b)
{
	const struct echoc_opts	*o = b->o;
	size_t			 i;

	b->now = echoc_now_ns();
	b->t_deadline = b->now + o->max_time_ms * 1000000;
	if (o->mode == ECHOC_BENCH_IDLE) {
		b->phase = P_RAMP;
		b->count_bytes = 1;
		return;
	}
	b->phase = o->warmup_ms > 0 ? P_WARMUP : P_MEASURE;
	b->count_bytes = b->phase == P_MEASURE;
	b->t_measure = b->now + o->warmup_ms * 1000000;
	b->t_measure_end = b->t_measure + o->duration_ms * 1000000;
	for (i = 0; i < b->nc && may_start(b); i++)
		conn_open(b, i);
}

/* One wait for events and what they ask: 0, or -1 with a message. */
static int
bench_turn(struct bench *b, struct ev_event *evs, char *msg, size_t msglen)
{
	uint64_t	tok;
	size_t		idx;
	int		n, k, wait_ms;

	wait_ms = b->backoff > 0 ? 2 : (int)(TICK_NS / 1000000);
	n = ev_wait(b->ep, evs, MAXEV, wait_ms);
	if (n == -1 && errno != EINTR) {
		(void)snprintf(msg, msglen, "event wait: %s", strerror(errno));
		bench_stop(b, 0, NULL);
		return -1;
	}
	b->now = echoc_now_ns();
	for (k = 0; k < n; k++) {
		tok = evs[k].token;
		idx = (size_t)(tok & ((1U << TOKEN_IDX_BITS) - 1));
		if (idx >= b->nc || (b->c[idx].gen & TOKEN_GEN_MASK) !=
		    (tok >> TOKEN_IDX_BITS) || b->c[idx].fd == -1)
			continue;	/* an earlier connection's */
		conn_event(b, idx, evs[k].what);
	}
	return 0;
}

/* How long the measured part lasted, in seconds. */
static double
bench_seconds(const struct bench *b)
{
	const struct echoc_opts	*o = b->o;
	double			 s;

	if (o->mode == ECHOC_BENCH_IDLE) {
		if (!b->hold_begun)
			s = 0;
		else if (b->t_end < b->t_measure_end)
			s = (double)(b->t_end - b->t_measure) / NS;
		else
			s = (double)(b->t_measure_end - b->t_measure) / NS;
	} else if (o->count == 0)
		s = (double)(b->t_measure_end - b->t_measure) / NS;
	else
		s = (double)(b->t_end - b->t_measure) / NS;
	return s < 0 ? 0 : s;
}

int
bench_run(const struct echoc_opts *o, struct bench_result *r, char *msg,
    size_t msglen)
{
	struct bench		 b;
	struct ev_event		 evs[MAXEV];
	struct sigaction	 sa, osa;
	uint64_t		 last_ops = 0;
	int64_t			 last_tick, last_prog;
	int			 tty;

	if (bench_setup(&b, o, r, msg, msglen) == -1)
		return -1;
	got_sigint = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sigint_catch;
	sa.sa_flags = SA_RESETHAND;	/* a second ^C kills outright */
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, &osa);

	tty = isatty(STDERR_FILENO);
	bench_start(&b);
	last_tick = last_prog = b.now;
	while (b.phase != P_DONE) {
		if (bench_turn(&b, evs, msg, msglen) == -1)
			break;
		if (b.now - last_tick >= TICK_NS || b.backoff > 0) {
			bench_tick(&b);
			last_tick = b.now;
		}
		bench_phase(&b);
		if (tty && b.now - last_prog >= PROGRESS_NS &&
		    b.phase != P_DONE)
			bench_progress(&b, &last_ops, &last_prog);
	}
	if (tty)
		fprintf(stderr, "\r%*s\r", 60, "");
	r->seconds = bench_seconds(&b);
	(void)sigaction(SIGINT, &osa, NULL);
	(void)close(b.ep);
	free(b.c);
	return 0;
}
