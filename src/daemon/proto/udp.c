/*
 * udp.c: the UDP echo worker and its master side (see udp.h).
 *
 * The worker's loop: poll every datagram socket (1 s at most, to notice
 * a vanished master), then per readable socket recvmmsg a batch without
 * blocking, filter it, sendmmsg the survivors, and go on until the
 * socket says EAGAIN.  Buffers are allocated once when the worker
 * starts: UDP_BATCH slots of UDP_BUFSIZE, plus control space.
 *
 * Replies leave from the address the datagram was sent to: IP_PKTINFO
 * and IPV6_RECVPKTINFO tell it, and the same structure goes back with
 * sendmsg.  That is what makes a wildcard socket answer from the right
 * address, and also shows datagrams sent to a broadcast or multicast
 * address, which are not answered (a smurf amplifier otherwise): for
 * IPv4 a local unicast has ipi_addr == ipi_spec_dst, a broadcast not.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "children.h"
#include "clock.h"
#include "harden.h"
#include "limit.h"
#include "access.h"
#include "log.h"
#include "pool.h"
#include "server.h"
#include "sig.h"
#include "spawn.h"
#include "udp.h"

#define UDP_CMSGLEN	128

static volatile sig_atomic_t udp_stop;

int
udp_port_banned(unsigned int port)
{
	switch (port) {
	case 0:		/* not a real source */
	case 7:		/* echo */
	case 9:		/* discard */
	case 11:	/* systat */
	case 13:	/* daytime */
	case 17:	/* qotd */
	case 19:	/* chargen */
	case 37:	/* time */
	case 123:	/* ntp */
		return 1;
	}
	return 0;
}

static int
v4_bad(in_addr_t a)		/* host order */
{
	/* 0/8 "this network", 224/4 multicast, 240/4 incl. broadcast. */
	return (a >> 24) == 0 || (a >> 28) >= 0xe;
}

enum udp_verdict
udp_source_check(const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		if (udp_port_banned(ntohs(sin->sin_port)))
			return UDP_DROP_PORT;
		if (v4_bad(ntohl(sin->sin_addr.s_addr)))
			return UDP_DROP_ADDR;
		return UDP_OK;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		const struct in6_addr *a = &s6->sin6_addr;

		if (udp_port_banned(ntohs(s6->sin6_port)))
			return UDP_DROP_PORT;
		if (IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
		    IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a))
			return UDP_DROP_ADDR;
		return UDP_OK;
	}
	return UDP_DROP_ADDR;
}

/* ---- the worker ---------------------------------------------------- */

struct udp_ctx {
	struct server		*srv;
	struct shmstat		*ctr;
	struct lim_table	 rate;		/* hdr NULL: --udp-rate=0 */
	unsigned char		*buf;		/* UDP_BATCH * UDP_BUFSIZE */
	struct mmsghdr		 in[UDP_BATCH], out[UDP_BATCH];
	struct iovec		 iov[UDP_BATCH], oiov[UDP_BATCH];
	struct sockaddr_storage	 from[UDP_BATCH];
	unsigned char		 cin[UDP_BATCH][UDP_CMSGLEN];
	unsigned char		 cout[UDP_BATCH][UDP_CMSGLEN];
};

static struct shmstat	 private_ctr;	/* inetd mode: no master to tell */

static void
udp_catch(int sig)
{
	(void)sig;
	udp_stop = 1;
}

static void
udp_signals(void)
{
	sig_serving(udp_catch);
}

static void
pktinfo_on(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	int			on = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET)
		(void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	else if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
		    sizeof(on));
}

/* One control message into out; returns the space it takes. */
static ssize_t
cmsg_put(unsigned char *out, int level, int type, const void *data,
    size_t len)
{
	struct cmsghdr	*o = (struct cmsghdr *)(void *)out;

	o->cmsg_level = level;
	o->cmsg_type = type;
	o->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(o), data, len);
	return CMSG_SPACE(len);
}

/*
 * From the received control data, the control data of the reply (the
 * same local address); returns its length, or -1 if the datagram was
 * sent to a broadcast or multicast address.
 */
static ssize_t
reply_cmsg(struct msghdr *in, unsigned char *out)
{
	struct cmsghdr	*c;

	for (c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (IN_MULTICAST(ntohl(pi.ipi_addr.s_addr)) ||
			    pi.ipi_addr.s_addr == htonl(INADDR_BROADCAST))
				return -1;
			/*
			 * Queued before IP_PKTINFO was on (an adopted
			 * socket): no local address known, let the kernel
			 * choose.
			 */
			if (pi.ipi_spec_dst.s_addr == INADDR_ANY)
				return 0;
			if (pi.ipi_addr.s_addr != pi.ipi_spec_dst.s_addr)
				return -1;
			pi.ipi_ifindex = 0;
			pi.ipi_spec_dst = pi.ipi_addr;
			return cmsg_put(out, IPPROTO_IP, IP_PKTINFO, &pi,
			    sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr))
				return -1;
			return cmsg_put(out, IPPROTO_IPV6, IPV6_PKTINFO, &pi,
			    sizeof(pi));
		}
	}
	return 0;
}

static void
drop(struct udp_ctx *u, volatile uint64_t *why)
{
	SHMSTAT_ADD(u->ctr, udp_dropped, 1);
	(void)__atomic_add_fetch(why, 1, __ATOMIC_RELAXED);
}

/* Point each receive slot at its buffer, address and control space. */
static void
udp_recv_setup(struct udp_ctx *u)
{
	int	 i;

	for (i = 0; i < UDP_BATCH; i++) {
		u->iov[i].iov_base = u->buf + (size_t)i * UDP_BUFSIZE;
		u->iov[i].iov_len = UDP_BUFSIZE;
		memset(&u->in[i], 0, sizeof(u->in[i]));
		u->in[i].msg_hdr.msg_name = &u->from[i];
		u->in[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
		u->in[i].msg_hdr.msg_iov = &u->iov[i];
		u->in[i].msg_hdr.msg_iovlen = 1;
		u->in[i].msg_hdr.msg_control = u->cin[i];
		u->in[i].msg_hdr.msg_controllen = UDP_CMSGLEN;
	}
}

/*
 * Whether datagram h earns a reply: checks in order of cost, each drop
 * counted under its reason.  Returns the length of the reply's control
 * data, written to cout, or -1 if dropped.
 */
static ssize_t
udp_admit(struct udp_ctx *u, struct msghdr *h, unsigned char *cout,
    long long now)
{
	struct lim_key	 k;
	ssize_t		 cl;
	int		 log_it, tk;

	if (h->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		drop(u, &u->ctr->udp_dropped_size);
		return -1;
	}
	switch (udp_source_check(h->msg_name, h->msg_namelen)) {
	case UDP_DROP_PORT:
		drop(u, &u->ctr->udp_dropped_port);
		return -1;
	case UDP_DROP_ADDR:
		drop(u, &u->ctr->udp_dropped_addr);
		return -1;
	case UDP_OK:
		break;
	}
	if (rules_drop(h->msg_name, h->msg_namelen)) {	/* #12 */
		drop(u, &u->ctr->udp_dropped_rule);
		return -1;
	}
	if ((cl = reply_cmsg(h, cout)) == -1) {
		drop(u, &u->ctr->udp_dropped_addr);
		return -1;
	}
	if (u->rate.hdr != NULL &&
	    lim_key_from_sa(h->msg_name, h->msg_namelen, &k) == 0 &&
	    lim_admit(&u->rate, &k, now, &tk, &log_it) != LIM_OK) {
		drop(u, &u->ctr->udp_dropped_rate);
		return -1;
	}
	return cl;
}

/* Send the m replies queued in u->out; what cannot go is dropped. */
static void
udp_send(struct udp_ctx *u, int fd, int m)
{
	int	 i, sent;

	for (i = 0; i < m; ) {
		sent = sendmmsg(fd, &u->out[i], (unsigned int)(m - i),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			SHMSTAT_ADD(u->ctr, udp_out, sent);
			i += sent;
			continue;
		}
		if (sent == -1 && errno == EINTR)
			continue;
		if (sent == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS)) {
			/* Socket buffer full: the rest of the batch goes. */
			SHMSTAT_ADD(u->ctr, udp_dropped, m - i);
			SHMSTAT_ADD(u->ctr, udp_dropped_send, m - i);
			break;
		}
		/* This one failed (unroutable source...): skip it. */
		log_debug("udp: sendmmsg: %s", strerror(errno));
		SHMSTAT_ADD(u->ctr, udp_dropped, 1);
		SHMSTAT_ADD(u->ctr, udp_dropped_send, 1);
		i++;
	}
}

/* One batch from fd: returns datagrams received, 0 at EAGAIN. */
static int
udp_batch(struct udp_ctx *u, int fd)
{
	int		 n, i, m = 0;
	ssize_t		 cl;
	long long	 now;

	udp_recv_setup(u);
	n = recvmmsg(fd, u->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			log_debug("udp: recvmmsg: %s", strerror(errno));
		return 0;
	}
	SHMSTAT_ADD(u->ctr, udp_in, n);
	now = clock_ms();
	for (i = 0; i < n; i++) {
		struct msghdr *h = &u->in[i].msg_hdr;

		if ((cl = udp_admit(u, h, u->cout[m], now)) == -1)
			continue;
		/* The reply: the same bytes, the same length, to the source. */
		u->oiov[m].iov_base = u->iov[i].iov_base;
		u->oiov[m].iov_len = u->in[i].msg_len;
		memset(&u->out[m], 0, sizeof(u->out[m]));
		u->out[m].msg_hdr.msg_name = h->msg_name;
		u->out[m].msg_hdr.msg_namelen = h->msg_namelen;
		u->out[m].msg_hdr.msg_iov = &u->oiov[m];
		u->out[m].msg_hdr.msg_iovlen = 1;
		if (cl > 0) {
			u->out[m].msg_hdr.msg_control = u->cout[m];
			u->out[m].msg_hdr.msg_controllen = (size_t)cl;
		}
		m++;
	}
	udp_send(u, fd, m);
	return n;
}

/*
 * Serve fds until SIGTERM, the master's death (master != 0), or idle_ms
 * without a datagram (idle_ms > 0, inetd mode).
 */
static void
udp_loop(struct server *srv, int *fds, size_t nfds, pid_t master,
    long long idle_ms)
{
	struct udp_ctx	*u;
	struct pollfd	 pfd[UDP_MAX_SOCKETS];
	size_t		 i;
	long long	 last = clock_ms();
	int		 n, timeout;

	if (nfds > sizeof(pfd) / sizeof(pfd[0]))
		nfds = sizeof(pfd) / sizeof(pfd[0]);
	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (u->buf = reallocarray(NULL, UDP_BATCH, UDP_BUFSIZE)) == NULL) {
		log_warn("udp worker: buffers");
		_exit(2);
	}
	u->srv = srv;
	u->ctr = srv->lim != NULL ? srv->lim->ctr : &private_ctr;
	if (srv->opt->udp_rate > 0 && lim_create(&u->rate, 4096, 0,
	    srv->opt->udp_rate, 1000, 0) == -1) {
		log_warn("udp worker: rate table");
		_exit(2);
	}
	for (i = 0; i < nfds; i++) {
		pktinfo_on(fds[i]);
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	setproctitle("udp worker");
	while (!udp_stop && (master == 0 || getppid() == master)) {
		timeout = 1000;
		if (idle_ms > 0) {
			long long left = last + idle_ms - clock_ms();

			if (left <= 0)
				break;
			if (left < timeout)
				timeout = (int)left;
		}
		n = poll(pfd, nfds, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("udp worker: poll");
			_exit(2);
		}
		for (i = 0; i < nfds && n > 0; i++) {
			int k;

			if (pfd[i].revents == 0)
				continue;
			/* Bounded: other sockets get their turn. */
			for (k = 0; k < 64 && udp_batch(u, pfd[i].fd) > 0; k++)
				last = clock_ms();
		}
	}
}

/* inetd "dgram wait": serve fd in this very process. */
static int
inetd_dgram_serve(struct server *srv, const struct serve_spec *spec)
{
	int	fd = spec->keep[0];

	udp_loop(srv, &fd, 1, 0,
	    (long long)srv->opt->idle_timeout * 1000);
	return 0;
}

int
udp_serve_fd(struct server *srv, int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) != -1 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	udp_signals();
	serve_inetd(srv, SERVE_INETD_DGRAM, fd, inetd_dgram_serve);
}

/* ---- the master's side --------------------------------------------- */

int
udpw_wanted(const struct server *srv)
{
	size_t	i;

	for (i = 0; i < srv->nls; i++)
		if (srv->ls[i].fd != -1 && srv->ls[i].socktype == SOCK_DGRAM)
			return 1;
	return 0;
}

void
udpw_init(struct udpw *w)
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

/* The UDP worker's body, confined by serve_enter() (spawn.h). */
static int
udpw_serve(struct server *srv, const struct serve_spec *spec)
{
	int	fds[UDP_MAX_SOCKETS];
	size_t	i, n = 0;

	(void)spec;
	/* More is a start-up error (listen.c, svc.c): never cut here. */
	for (i = 0; i < srv->nls && n < UDP_MAX_SOCKETS; i++)
		if (srv->ls[i].fd != -1 && srv->ls[i].socktype == SOCK_DGRAM)
			fds[n++] = srv->ls[i].fd;
	udp_loop(srv, fds, n, srv->master_pid, 0);
	return 0;
}

static void
udpw_spawn(struct server *srv, struct udpw *w, int with_pipe, long long now)
{
	struct serve_spec	spec;
	int			p[2] = { -1, -1 };
	pid_t			pid;

	if (with_pipe && pipe2(p, O_CLOEXEC) == -1) {
		log_warn("udp worker: pipe2");
		w->respawn_ms = now + POOL_BACKOFF_MIN_MS;
		return;
	}
	memset(&spec, 0, sizeof(spec));
	spec.role = SERVE_UDP;
	spec.sigsetup = udp_signals;
	if (p[1] != -1)
		spec.keep[spec.nkeep++] = p[1];
	spec.serve = udpw_serve;
	switch (pid = spawn_serving(srv, &spec)) {
	case -1:
		srv->st->fork_failed++;
		log_warn("udp worker: fork");
		if (p[0] != -1) {
			(void)close(p[0]);
			(void)close(p[1]);
		}
		w->crashes++;
		w->respawn_ms = now + pool_backoff_for(w->crashes);
		return;
	default:
		break;
	}
	if (p[1] != -1)
		(void)close(p[1]);
	w->pid = pid;
	w->fd = p[0];
	w->start_ms = now;
}

int
udpw_maintain(struct server *srv, struct udpw *w, int with_pipe, long long now)
{
	if (w->stopping || !udpw_wanted(srv))
		return -1;
	if (w->pid == 0 && now >= w->respawn_ms)
		udpw_spawn(srv, w, with_pipe, now);
	if (w->pid == 0)
		return w->respawn_ms > now ? (int)(w->respawn_ms - now) : 0;
	return -1;
}

static void
udpw_ended(struct server *srv, struct udpw *w, int abnormal, long long now)
{
	if (w->fd != -1)
		(void)close(w->fd);
	w->pid = 0;
	w->fd = -1;
	if (w->stopping)
		return;
	srv->st->udp_restarts++;
	if (abnormal && now - w->start_ms < POOL_EARLY_DEATH_MS) {
		w->crashes++;
		w->respawn_ms = now + pool_backoff_for(w->crashes);
		log_warnx("udp worker died right after start: respawn in "
		    "%lld ms", w->respawn_ms - now);
	} else {
		w->crashes = 0;
		w->respawn_ms = now;
	}
}

int
udpw_reaped(struct server *srv, struct udpw *w, pid_t pid, int status,
    long long now)
{
	int	abnormal;

	if (w->pid == 0 || pid != w->pid)
		return 0;
	abnormal = w->stopping ? 0 : children_account(srv->st, pid, status);
	if (w->stopping)
		srv->st->reaped++;
	udpw_ended(srv, w, abnormal, now);
	return 1;
}

void
udpw_gone(struct server *srv, struct udpw *w, long long now)
{
	/* No exit status: count an early end as a crash anyway. */
	srv->st->reaped++;
	udpw_ended(srv, w, 1, now);
}
