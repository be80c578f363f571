/*
 * children.h: the fork model's table of live children.
 *
 * Sized once at startup from --max-children (nothing is allocated while
 * serving).  Each entry has the child's pid and, with --reap=ignore, the
 * read end of a pipe whose write end only that child holds: when the
 * kernel reaps the child for us, the pipe reports POLLHUP, which is how
 * the master still counts its children exactly without an exit status.
 * children_reap() is the --reap=waitpid side: the waitpid(WNOHANG) loop.
 */
#ifndef ECHOD_CHILDREN_H
#define ECHOD_CHILDREN_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "stats.h"

struct child {
	pid_t		pid;
	int		fd;		/* --reap=ignore: pipe read end; else -1 */
	struct timespec	start;
	int		ticket;		/* limit.h: --per-ip entry, 0: none */
};

struct children {
	struct child	*tab;
	size_t		 cap;
	size_t		 n;
	/*
	 * issue #5: optional hooks, NULL unless the model sets them.
	 * on_forget sees every child as it leaves the table (either reap
	 * mode); on_stray sees a waitpid() answer for a pid not in the
	 * table and returns 1 if it has accounted it (the UDP worker).
	 */
	void		(*on_forget)(void *, struct child *);
	int		(*on_stray)(void *, pid_t, int);
	void		*hook_arg;
};

int	children_init(struct children *, size_t);
void	children_free(struct children *);
int	children_add(struct children *, pid_t, int);
/* Forget a child; returns 0 and fills *out if it was ours, else -1. */
int	children_forget_pid(struct children *, pid_t, struct child *);
void	children_forget_index(struct children *, size_t, struct child *);
/* Account one exit status: log it if abnormal.  Returns 1 if abnormal. */
int	children_account(struct stats *, pid_t, int);
/* The waitpid(-1, WNOHANG) loop: returns how many were reaped. */
size_t	children_reap(struct children *, struct stats *);
void	children_signal(struct children *, int);

#endif
