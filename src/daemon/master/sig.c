/*
 * sig.c: the master's signal handlers and self-pipe (see sig.h).
 *
 * Handlers are installed without SA_RESTART so a blocking call in the
 * master returns EINTR at once; the loop re-checks the flags.  SIGPIPE is
 * ignored process-wide: a peer that vanishes mid-write is an EPIPE to
 * handle, never a death.  With --reap=ignore SIGCHLD is SIG_IGN and the
 * kernel reaps (POSIX: children then never become zombies).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sig.h"

volatile sig_atomic_t sig_got_chld;
volatile sig_atomic_t sig_got_term;
volatile sig_atomic_t sig_got_int;
volatile sig_atomic_t sig_got_hup;
volatile sig_atomic_t sig_got_usr1;
volatile sig_atomic_t sig_got_ttin;
volatile sig_atomic_t sig_got_ttou;
volatile sig_atomic_t sig_got_usr2;

static int	sigpipe[2] = { -1, -1 };

static const int caught[] = {
	SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGTTIN, SIGTTOU, SIGUSR2
};

static void
sig_catch(int sig)
{
	int	save_errno = errno;

	switch (sig) {
	case SIGCHLD:
		sig_got_chld = 1;
		break;
	case SIGTERM:
		sig_got_term = 1;
		break;
	case SIGINT:
		sig_got_int = 1;
		break;
	case SIGHUP:
		sig_got_hup = 1;
		break;
	case SIGUSR1:
		sig_got_usr1 = 1;
		break;
	case SIGTTIN:
		sig_got_ttin = 1;
		break;
	case SIGTTOU:
		sig_got_ttou = 1;
		break;
	case SIGUSR2:
		sig_got_usr2 = 1;
		break;
	}
	(void)write(sigpipe[1], "", 1);	/* non-blocking: full is fine */
	errno = save_errno;
}

int
sig_init(int ignore_chld)
{
	struct sigaction	sa;
	size_t			i;

	if (sigpipe[0] == -1) {
		if (pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
			fatal("pipe2");
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		sigaddset(&sa.sa_mask, caught[i]);
	sa.sa_handler = sig_catch;
	sa.sa_flags = 0;
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
		if (caught[i] == SIGCHLD && ignore_chld)
			continue;
		if (caught[i] == SIGCHLD)
			sa.sa_flags = SA_NOCLDSTOP;
		else
			sa.sa_flags = 0;
		if (sigaction(caught[i], &sa, NULL) == -1)
			fatal("sigaction");
	}
	if (ignore_chld) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sa.sa_flags = SA_NOCLDWAIT;
		if (sigaction(SIGCHLD, &sa, NULL) == -1)
			fatal("sigaction SIGCHLD");
	}
	(void)signal(SIGPIPE, SIG_IGN);
	return sigpipe[0];
}

int
sig_pipe_fd(void)
{
	return sigpipe[0];
}

void
sig_drain(void)
{
	char	buf[64];

	while (read(sigpipe[0], buf, sizeof(buf)) > 0)
		;
}

/* In a new child: default dispositions, no self-pipe, nothing blocked. */
void
sig_child_reset(void)
{
	struct sigaction	sa;
	sigset_t		none;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		(void)sigaction(caught[i], &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (sigpipe[0] != -1) {
		(void)close(sigpipe[0]);
		(void)close(sigpipe[1]);
		sigpipe[0] = sigpipe[1] = -1;
	}
}
