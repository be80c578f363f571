/*
 * sig.c: the master's signals as numbers (see sig.h).
 *
 * SIGPIPE is ignored process-wide: a peer that vanishes mid-write is an
 * EPIPE to handle, never a death.  With --reap=ignore SIGCHLD is SIG_IGN
 * with SA_NOCLDWAIT and the kernel reaps (POSIX: children then never
 * become zombies); it is then not among the signals read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_SIGNALFD
#include <sys/signalfd.h>
#endif

#include "log.h"
#include "privmem.h"
#include "sig.h"

/* What the master acts on. */
static const int caught[] = {
	SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGTTIN, SIGTTOU,
	SIGUSR2			/* issue #11: binary upgrade (upgrade.c) */
};
#define NCAUGHT	(sizeof(caught) / sizeof(caught[0]))

static int		sigfd = -1;

/*
 * Written on every signal (a SIGCHLD per connection in the fork model):
 * in the master's own memory once sig_init() has run, so no write here
 * copies a page the children share (privmem.h).
 */
struct sigstate {
	int		armed;		/* sig_arm(): sigfd has something */
	size_t		qhead, qlen;
	unsigned char	queue[64];	/* read or injected, in order */
};
static struct sigstate	ss_static;
static struct sigstate	*ss = &ss_static;

static void
sig_state_private(void)
{
	struct sigstate	*p;

	if (ss == &ss_static &&
	    (p = privmem_alloc(1, sizeof(*p))) != NULL) {
		*p = ss_static;
		ss = p;
	}
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

/* Append to the queue; -1 when it is full. */
static int
queue_push(int sig)
{
	if (ss->qhead == ss->qlen && ss->qlen != 0)
		ss->qhead = ss->qlen = 0;
	if (ss->qlen == sizeof(ss->queue))
		return -1;
	ss->queue[ss->qlen++] = (unsigned char)sig;
	return 0;
}

/*
 * The dispositions of the caught signals: handler (SIG_DFL with the
 * signalfd, which reads them; the self-pipe's handler otherwise), or
 * SIGCHLD ignored with --reap=ignore so the kernel reaps.  *set: the
 * signals the master reads.  Every one is set, even SIG_DFL: an
 * inherited SIG_IGN (nohup) would discard it unread.
 */
static void
sig_dispositions(int ignore_chld, void (*handler)(int), sigset_t *set)
{
	struct sigaction	sa;
	size_t			i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigemptyset(set);
	for (i = 0; i < NCAUGHT; i++)
		sigaddset(&sa.sa_mask, caught[i]);
	for (i = 0; i < NCAUGHT; i++) {
		sa.sa_handler = handler;
		sa.sa_flags = caught[i] == SIGCHLD ? SA_NOCLDSTOP : 0;
		if (caught[i] == SIGCHLD && ignore_chld) {
			sa.sa_handler = SIG_IGN;
			sa.sa_flags = SA_NOCLDWAIT;
		} else
			sigaddset(set, caught[i]);
		if (sigaction(caught[i], &sa, NULL) == -1)
			fatal("sigaction %d", caught[i]);
	}
}

#ifdef HAVE_SIGNALFD

/* The kernel's pending signals into the queue: how many came. */
static size_t
sig_read(void)
{
	struct signalfd_siginfo	si[8];
	ssize_t			n;
	size_t			i, got = 0;

	if (sigfd == -1 || (n = read(sigfd, si, sizeof(si))) <= 0) {
		ss->armed = 0;
		return 0;
	}
	if ((size_t)n < sizeof(si))
		ss->armed = 0;	/* drained */
	for (i = 0; i < (size_t)n / sizeof(si[0]); i++)
		if (queue_push((int)si[i].ssi_signo) == 0)
			got++;
	return got;
}

int
sig_init(int ignore_chld)
{
	struct sigaction	sa;
	sigset_t		set;

	sig_state_private();
	sig_dispositions(ignore_chld, SIG_DFL, &set);
	/* Blocked first: from here on a signal waits to be read. */
	if (sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((sigfd = signalfd(sigfd, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction SIGPIPE");
	return sigfd;
}

void
sig_child_reset(void)
{
	/* Default dispositions already: the mask is all there is to set. */
}

pid_t
sig_fork(void)
{
	return fork();	/* no handler of the master's to keep out */
}

#else	/* !HAVE_SIGNALFD: the self-pipe */

static int			sigpipe[2] = { -1, -1 };
/* Pipe full (it never should be): the numbers wait here instead. */
static volatile sig_atomic_t	lost[NCAUGHT];

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

static size_t
sig_read(void)
{
	unsigned char	b[16];
	ssize_t		n, i;
	size_t		got = 0, k;

	ss->armed = 0;
	if (sigfd != -1 && (n = read(sigfd, b, sizeof(b))) > 0) {
		ss->armed = n == (ssize_t)sizeof(b);
		for (i = 0; i < n; i++)
			got += queue_push(b[i]) == 0;
	}
	for (k = 0; k < NCAUGHT; k++)
		if (lost[k]) {
			lost[k] = 0;
			got += queue_push(caught[k]) == 0;
		}
	return got;
}

int
sig_init(int ignore_chld)
{
	struct sigaction	sa;
	sigset_t		none, read_set;

	sig_state_private();
	if (sigpipe[0] == -1 &&
	    pipe2(sigpipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	sigfd = sigpipe[0];
	sig_dispositions(ignore_chld, sig_catch, &read_set);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction SIGPIPE");
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		fatal("sigprocmask");
	return sigfd;
}

/* The master's handler must not run in a child: TERM and INT end it. */
void
sig_child_reset(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
}

/* Every signal held across fork(): no handler runs in the child. */
pid_t
sig_fork(void)
{
	sigset_t	all, old;
	pid_t		pid;
	int		save;

	(void)sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	save = errno;
	if (pid != 0)
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
	errno = save;
	return pid;
}

#endif	/* HAVE_SIGNALFD */

int
sig_fd(void)
{
	return sigfd;
}

/*
 * From the loop, never asynchronously: queue sig behind the numbers
 * already read, so an action asked for on the control socket takes the
 * very path the signal would (issue #11).  -1: the queue is full.
 */
int
sig_inject(int sig)
{
	return queue_push(sig);
}

int
sig_queued(void)
{
	return ss->qhead < ss->qlen;
}

void
sig_arm(void)
{
	ss->armed = 1;
}

/*
 * The descriptor is read only when poll() said so, and until a read
 * comes back short: no read() that can only say EAGAIN (issue #10).
 */
int
sig_next(void)
{
	if (ss->qhead < ss->qlen || (ss->armed && sig_read() > 0))
		return ss->queue[ss->qhead++];
	return 0;
}

void
sig_child_mask(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGHUP);
	sigaddset(mask, SIGUSR1);
	sigaddset(mask, SIGUSR2);
	sigaddset(mask, SIGTTIN);
	sigaddset(mask, SIGTTOU);
}

/*
 * In a long-lived serving process, once it runs its own loop: SIGTERM to
 * on_term, without SA_RESTART so a blocking accept4/poll returns at once;
 * SIGINT and SIGPIPE ignored (the master's other signals are blocked by
 * sig_child_mask()).
 */
void
sig_serving(void (*on_term)(int))
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGPIPE, &sa, NULL);
}
