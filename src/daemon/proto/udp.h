/*
 * udp.h: RFC 862 over UDP, served by one dedicated worker (issue #5).
 *
 * The UDP worker owns every datagram socket in srv->ls (-u, systemd
 * ListenDatagram=); the master never reads a datagram.  Each datagram
 * that arrives whole (a 64 KiB buffer per slot: 65,507 bytes over IPv4,
 * never truncated) is sent back, unchanged and never larger, to its
 * source, from the address it was sent to, unless:
 *
 *	UDP_DROP_PORT	its source port is 0 or a small service that
 *			answers anything (7 9 11 13 17 19 37 123): two
 *			such services must never be made to talk;
 *	UDP_DROP_ADDR	its source is broadcast, multicast, unspecified,
 *			IPv4-mapped IPv6 (which could disguise the rest),
 *			or it was sent to a broadcast/multicast address;
 *	rate		its source (IPv4 address, IPv6 /64) already had
 *			--udp-rate answers this second (token bucket);
 *	size		it did not fit (MSG_TRUNC), or the reply found the
 *			socket buffer full.
 * Drops are counted in the shared counters (limit.h), peers are not
 * logged (debug only): a flood must not become a log flood.
 *
 * Batching: recvmmsg(2)/sendmmsg(2), UDP_BATCH datagrams a call, which
 * halves the system calls per datagram under load and costs nothing
 * when datagrams come one at a time.
 *
 * The master side (struct udpw): spawn, reap, respawn with the pool's
 * crash backoff (100 ms doubling to 10 s while it dies within 2 s of
 * starting).  With --reap=ignore no exit status arrives, so the worker
 * holds the only write end of a pipe whose hangup the master polls.
 */
#ifndef ECHOD_UDP_H
#define ECHOD_UDP_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct server;

#define UDP_BUFSIZE	65536	/* > 65,507: a bigger one shows MSG_TRUNC */
#define UDP_BATCH	8
#define UDP_MAX_SOCKETS	64	/* datagram sockets one UDP worker polls */

enum udp_verdict {
	UDP_OK,
	UDP_DROP_PORT,
	UDP_DROP_ADDR
};

/* Pure: may a datagram from this source be answered at all? */
enum udp_verdict udp_source_check(const struct sockaddr *, socklen_t);
int	udp_port_banned(unsigned int);

/* inetd "dgram wait": serve fd until --idle-timeout passes with no
 * datagram (then inetd takes the socket back), or SIGTERM.  Drops
 * privileges (svc_child_setup) and hardens first.  Returns 0. */
int	udp_serve_fd(struct server *, int);

/* ---- the master's side ------------------------------------------- */

struct udpw {
	pid_t		pid;		/* 0: not running */
	int		fd;		/* --reap=ignore: pipe read end, else -1 */
	long long	start_ms;
	long long	respawn_ms;	/* not before */
	int		crashes;
	int		stopping;	/* set by the master: no respawn */
};

int	udpw_wanted(const struct server *);
void	udpw_init(struct udpw *);
/* Spawn if due; returns the poll timeout to respect (-1: none). */
int	udpw_maintain(struct server *, struct udpw *, int, long long);
/* waitpid answered pid: 1 if it was the UDP worker (accounted). */
int	udpw_reaped(struct server *, struct udpw *, pid_t, int, long long);
/* --reap=ignore: its pipe hung up. */
void	udpw_gone(struct server *, struct udpw *, long long);

#endif
