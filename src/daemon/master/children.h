/*
 * children.h: the master's own table of its children, and the one
 * waitpid(WNOHANG) loop.
 *
 * Everything here comes from the master itself, never from memory a
 * child can write: the pid is fork()'s return value, the role, the
 * generation, the start time and the scoreboard slot index are what the
 * master decided when it forked.  Signals go only to the processes in
 * this table, and only for pid > 1.  While the master reaps, a child's
 * pid cannot be recycled before its waitpid() takes it out of the
 * table, so kill(2) is exact and costs no descriptor.  When the kernel
 * reaps (--reap=ignore: the entry has a pipe) it can be: the first
 * signal opens a pidfd, then checks that the pipe has not hung up (the
 * child was alive after the pidfd was made, so the pidfd is the
 * child's), and signals through it; kill(2) only where the kernel has
 * no pidfd_open(2).  No pidfd per fork, then: two system calls per
 * connection saved (issue #10).  Sized once at start (nothing is allocated while serving).
 *
 * With --reap=ignore an entry also holds the read end of a pipe whose
 * write end only that child holds: when the kernel reaps the child, the
 * pipe reports POLLHUP, which is how the master still counts exactly.
 * children_reap() is the --reap=waitpid side: every exit status is
 * collected, accounted (children_account) and the entry forgotten; the
 * table's on_forget callback sees each entry as it leaves, either way.
 */
#ifndef ECHOD_CHILDREN_H
#define ECHOD_CHILDREN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

enum child_role {
	ROLE_CHILD = 0,		/* fork model: one connection */
	ROLE_WORKER,		/* prefork worker */
	ROLE_UDP		/* the UDP worker */
};

struct child {
	pid_t		pid;		/* fork()'s return value */
	int		pidfd;		/* -1: none yet (children_kill) */
	int		fd;		/* --reap=ignore: pipe read end; else -1 */
	enum child_role	role;
	uint32_t	generation;
	int64_t		start_ms;	/* clock_ms() at fork */
	int		slot;		/* scoreboard index, -1: none */
	int		retiring;	/* SIGTERM sent */
	int		ticket;		/* limit.h: --per-ip entry, 0: none */
	int		cell;		/* limit.h: proxied ticket cell, -1 */
	/*
	 * A fork-model child's peer, as the master accepted it (the
	 * control socket's "workers"); peerlen 0: none.
	 */
	struct sockaddr_storage peer;
	socklen_t	peerlen;
	/* Filled by children_reap() just before on_forget sees it. */
	int		have_status;
	int		status;
	int		abnormal;
};

struct children {
	struct child	*tab;
	size_t		 cap;
	size_t		 n;
	int		 quiet;		/* stopping: deaths are not abnormal */
	/* Sees every child as it leaves the table (either reap mode). */
	void		(*on_forget)(void *, struct child *);
	/* Offered every status children_reap() collects, first; 1: taken
	 * (a process that is not in the table: upgrade.h's new master). */
	int		(*on_reaped)(void *, pid_t, int);
	void		*hook_arg;
};

int	children_init(struct children *, size_t);
void	children_free(struct children *);
/* Add a child just forked; its pidfd is opened here.  0, or -1: full. */
int	children_add(struct children *, pid_t, int);
struct child *children_last(struct children *);
struct child *children_find(struct children *, pid_t);
/* Forget a child; returns 0 and fills *out if it was ours, else -1. */
int	children_forget_pid(struct children *, pid_t, struct child *);
void	children_forget_index(struct children *, size_t, struct child *);
/* Account one exit status: log it if abnormal.  Returns 1 if abnormal. */
int	children_account(struct stats *, pid_t, int);
/* The waitpid(-1, WNOHANG) loop: returns how many were reaped. */
size_t	children_reap(struct children *, struct stats *);
/* Signal one child of the table (pidfd, else kill for pid > 1). */
int	children_kill(struct child *, int);
void	children_signal(struct children *, int);
size_t	children_count(const struct children *, enum child_role);

#endif
