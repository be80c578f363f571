/*
 * sig.c: the master's signal handlers and self-pipe (see sig.h).
 *
 * Handlers are installed without SA_RESTART so a blocking call in the
 * master returns EINTR at once.  SIGPIPE is ignored process-wide: a peer
 * that vanishes mid-write is an EPIPE to handle, never a death.  With
 * --reap=ignore SIGCHLD is SIG_IGN with SA_NOCLDWAIT and the kernel reaps
 * (POSIX: children then never become zombies).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sig.h"

static int	sigpipe[2] = { -1, -1 };

/* What the master catches; sig_child_reset() undoes exactly these. */
static const int caught[] = {
	SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGTTIN, SIGTTOU,
	SIGUSR2			/* issue #11: binary upgrade (upgrade.c) */
};
#define NCAUGHT	(sizeof(caught) / sizeof(caught[0]))

/* Pipe full (it never should be): the numbers wait here instead. */
static volatile sig_atomic_t	lost[NCAUGHT];
static unsigned char		queue[64];
static size_t			qhead, qlen;

static void
sig_catch(int sig)
{
	int		save_errno = errno;
	unsigned char	b = (unsigned char)sig;
	size_t		i;

	if (write(sigpipe[1], &b, 1) != 1)
		for (i = 0; i < NCAUGHT; i++)
			if (caught[i] == sig)
				lost[i] = 1;
	errno = save_errno;
}

void
sig_reset_inherited(void)
{
	struct sigaction	sa;
	sigset_t		none;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
}

int
sig_init(int ignore_chld)
{
	struct sigaction	sa;
	sigset_t		none;
	size_t			i;

	if (sigpipe[0] == -1 &&
	    pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NCAUGHT; i++)
		sigaddset(&sa.sa_mask, caught[i]);
	sa.sa_handler = sig_catch;
	for (i = 0; i < NCAUGHT; i++) {
		sa.sa_flags = caught[i] == SIGCHLD ? SA_NOCLDSTOP : 0;
		if (caught[i] == SIGCHLD && ignore_chld) {
			sa.sa_handler = SIG_IGN;
			sa.sa_flags = SA_NOCLDWAIT;
		}
		if (sigaction(caught[i], &sa, NULL) == -1)
			fatal("sigaction %d", caught[i]);
		sa.sa_handler = sig_catch;
	}
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction SIGPIPE");
	/* Whatever the parent blocked, the master hears everything. */
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		fatal("sigprocmask");
	return sigpipe[0];
}

/*
 * From the loop, never a handler: queue sig behind the signals already
 * in the pipe, so an action asked for on the control socket takes the
 * very path the signal would (issue #11).  -1: the pipe is full.
 */
int
sig_inject(int sig)
{
	unsigned char	b = (unsigned char)sig;
	ssize_t		n;

	if (sigpipe[1] == -1)
		return -1;
	do
		n = write(sigpipe[1], &b, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

int
sig_pipe_fd(void)
{
	return sigpipe[0];
}

int
sig_next(void)
{
	ssize_t	n;
	size_t	i;

	if (qhead < qlen)
		return queue[qhead++];
	if (qlen != 0)		/* no write when idle: see privmem.h */
		qhead = qlen = 0;
	if (sigpipe[0] != -1 &&
	    (n = read(sigpipe[0], queue, sizeof(queue))) > 0) {
		qlen = (size_t)n;
		return queue[qhead++];
	}
	for (i = 0; i < NCAUGHT; i++)
		if (lost[i]) {
			lost[i] = 0;
			return caught[i];
		}
	return 0;
}

/* In a new child: default dispositions (spawn.c then sets the mask). */
void
sig_child_reset(void)
{
	struct sigaction	sa;
	size_t			i;

	/*
	 * TERM and INT end a serving process, CHLD is nothing to it; the
	 * master's other signals (HUP, USR1, USR2, TTIN, TTOU) are ignored
	 * rather than left to their default, which is death: a
	 * `systemctl kill -s USR2 echod` or a terminal's SIGHUP reaches
	 * every process of the group, and must not drop a connection.
	 * Same number of calls as resetting them all.
	 */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NCAUGHT; i++) {
		sa.sa_handler = caught[i] == SIGTERM || caught[i] == SIGINT ||
		    caught[i] == SIGCHLD ? SIG_DFL : SIG_IGN;
		(void)sigaction(caught[i], &sa, NULL);
	}
	/*
	 * The mask is the caller's: serve_enter() sets the one it was
	 * given right after (one sigprocmask, not two).  The self-pipe is
	 * left to the caller's close_range (spawn.c), and
	 * its variables unwritten: no handler of the master's runs here,
	 * and each page a child writes is a page of its own (issue #10).
	 */
}

/*
 * In a serving process, once it runs its own loop: SIGTERM to on_term,
 * without SA_RESTART so a blocking accept4/poll returns at once; the
 * master's other signals (and SIGPIPE) ignored.
 */
void
sig_serving(void (*on_term)(int))
{
	static const int	ignored[] = {
		SIGHUP, SIGUSR1, SIGINT, SIGTTIN, SIGTTOU, SIGPIPE,
		SIGUSR2
	};
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		(void)sigaction(ignored[i], &sa, NULL);
}
