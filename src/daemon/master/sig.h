/*
 * sig.h: signals for the master, the djb self-pipe way, by number.
 *
 * The handler writes the signal's number, one byte, to a non-blocking
 * pipe and restores errno; that is all it does.  The master polls the
 * pipe's read end with everything else and takes the numbers out with
 * sig_next(), in the order they came, so a signal that lands just before
 * poll() is never lost and all real work (reaping, stopping, status)
 * happens in the loop (master.c).  No flag is shared with the rest of
 * the program.  Should the pipe ever be full, the handler notes the
 * number in a private bit set that sig_next() hands out afterwards.
 *
 *	sig_reset_inherited()	first thing in main(): an empty mask,
 *				SIGCHLD at its default, SIGPIPE ignored,
 *				whatever the parent left (a blocked or
 *				ignored SIGCHLD survives execve)
 *	sig_init()		the master's handlers; returns the fd to poll
 *	sig_next()		the next signal number, 0 when none is queued
 *	sig_inject()		from the loop: queue a number as if that
 *				signal had come (the control socket's
 *				actions, issue #11); -1 when the pipe is full
 *	sig_child_reset()	in a new child, before it does anything else:
 *				the dispositions sig_init() changed back to
 *				their defaults (only those); the mask is
 *				left to the caller (spawn.c sets it);
 *				it writes no variable (the self-pipe is
 *				closed by the caller's close_range)
 *	sig_serving()		a serving process's own: SIGTERM to its
 *				handler (no SA_RESTART), the master's other
 *				signals ignored
 */
#ifndef ECHOD_SIG_H
#define ECHOD_SIG_H

#include <signal.h>

void	sig_reset_inherited(void);
int	sig_init(int);
int	sig_next(void);
int	sig_inject(int);
int	sig_pipe_fd(void);
void	sig_child_reset(void);
void	sig_serving(void (*)(int));

#endif
