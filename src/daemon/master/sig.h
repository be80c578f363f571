/*
 * sig.h: signals for the master, read as numbers in its loop.
 *
 * The master installs no handler.  It blocks the signals it acts on and
 * reads them from a signalfd(2) it polls with everything else; sig_next()
 * hands them out one number at a time, so all real work (reaping,
 * stopping, status) happens in the loop (master.c) and no flag is shared
 * with anything asynchronous.  A serving process forked from it thus
 * inherits default dispositions and a mask: one sigprocmask() in the
 * child (sig_child_mask()) is its whole signal setup (issue #10).
 * Where signalfd(2) is missing (a BSD port: kqueue's EVFILT_SIGNAL is
 * the equivalent), sig.c falls back to djb's self-pipe: a handler that
 * writes the number to a non-blocking pipe, and two dispositions to
 * reset in every child (sig_child_reset()).
 *
 *	sig_reset_inherited()	first thing in main(): an empty mask,
 *				SIGCHLD at its default, SIGPIPE ignored,
 *				whatever the parent left (a blocked or
 *				ignored SIGCHLD survives execve)
 *	sig_init()		the master's signals blocked and routed to
 *				the descriptor it returns, to poll
 *	sig_fd()		that descriptor (-1 before sig_init())
 *	sig_arm()		poll() found sig_fd() readable: the next
 *				sig_next() reads it (else it is not read)
 *	sig_next()		the next signal number, 0 when none waits:
 *				first those sig_inject() queued, then those
 *				the kernel holds (in signal-number order;
 *				like any pending signal, two of one kind
 *				not yet read count once)
 *	sig_inject()		from the loop: queue a number as if that
 *				signal had come (the control socket's
 *				actions, issue #11); -1 when the queue is
 *				full
 *	sig_queued()		numbers wait in that queue: poll must not
 *				block
 *	sig_child_mask()	the mask a serving process runs with: the
 *				master's signals blocked except SIGTERM and
 *				SIGINT, which end it; a blocked HUP, USR1,
 *				USR2, TTIN or TTOU is never delivered, so a
 *				`systemctl kill -s HUP` or a terminal's
 *				hang-up, which reach the whole group, drop
 *				no connection
 *	sig_fork()		fork() for the master: with the self-pipe,
 *				every signal held across it so no handler
 *				of the master's runs in the child
 *	sig_child_reset()	in a new child, before that mask is set:
 *				nothing with signalfd; with the self-pipe,
 *				SIGTERM and SIGINT back to their defaults
 *	sig_serving()		a long-lived serving process's own (worker,
 *				UDP worker): SIGTERM to its handler (no
 *				SA_RESTART), SIGINT and SIGPIPE ignored
 */
#ifndef ECHOD_SIG_H
#define ECHOD_SIG_H

#include <sys/types.h>

#include <signal.h>

void	sig_reset_inherited(void);
int	sig_init(int);
int	sig_fd(void);
void	sig_arm(void);
int	sig_next(void);
int	sig_inject(int);
int	sig_queued(void);
void	sig_child_mask(sigset_t *);
pid_t	sig_fork(void);
void	sig_child_reset(void);
void	sig_serving(void (*)(int));

#endif
