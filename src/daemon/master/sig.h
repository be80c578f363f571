/*
 * sig.h: signals for the master, the djb self-pipe way.
 *
 * The handler only records which signal came (a volatile sig_atomic_t
 * flag each), writes one byte to a non-blocking pipe and restores errno.
 * The master polls the pipe's read end with everything else, so a signal
 * that lands just before poll() is never lost, and all real work (reaping,
 * stopping, status) happens in the loop.  Children call sig_child_reset()
 * right after fork() to get default dispositions back and drop the pipe.
 */
#ifndef ECHOD_SIG_H
#define ECHOD_SIG_H

#include <signal.h>

extern volatile sig_atomic_t sig_got_chld;
extern volatile sig_atomic_t sig_got_term;
extern volatile sig_atomic_t sig_got_int;
extern volatile sig_atomic_t sig_got_hup;
extern volatile sig_atomic_t sig_got_usr1;
extern volatile sig_atomic_t sig_got_ttin;
extern volatile sig_atomic_t sig_got_ttou;
extern volatile sig_atomic_t sig_got_usr2;	/* issue #11: upgrade */

/* Install the master's handlers; returns the fd to poll for POLLIN. */
int	sig_init(int ignore_chld);
void	sig_drain(void);
void	sig_child_reset(void);
int	sig_pipe_fd(void);

#endif
