/*
 * children.c: the master's own table of its children (see children.h).
 *
 * Removal swaps the last entry into the hole, so the table stays dense
 * and the master's poll set can be rebuilt by walking 0..n.  A waitpid()
 * answer for a pid we don't know is logged, not fatal: it can be a
 * grandchild of a library, and freaking out would be worse.
 */
#include "config.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "children.h"
#include "clock.h"
#include "log.h"
#include "privmem.h"
#include "spawn.h"

/* 0 once the kernel has said it has no pidfd_open (ENOSYS). */
static int	have_pidfd = 1;

static int
pidfd_for(pid_t pid)
{
#ifdef SYS_pidfd_open
	long	fd;

	if (!have_pidfd)
		return -1;
	if ((fd = syscall(SYS_pidfd_open, pid, 0)) >= 0)
		return (int)fd;
	if (errno == ENOSYS)
		have_pidfd = 0;
	/* EMFILE and the like: this child is signalled with kill(). */
#else
	(void)pid;
	have_pidfd = 0;
#endif
	return -1;
}

int
children_init(struct children *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	/* Rewritten on every fork: kept out of the children (privmem.h). */
	if ((c->tab = privmem_alloc(cap, sizeof(*c->tab))) == NULL)
		return -1;
	c->cap = cap;
	return 0;
}

void
children_free(struct children *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (c->tab[i].pidfd != -1)
			(void)close(c->tab[i].pidfd);
	privmem_free(c->tab, c->cap, sizeof(*c->tab));
	memset(c, 0, sizeof(*c));
}

int
children_add(struct children *c, pid_t pid, int fd)
{
	struct child	*ch;

	if (c->n >= c->cap || pid <= 1)
		return -1;
	ch = &c->tab[c->n++];
	memset(ch, 0, sizeof(*ch));
	ch->pid = pid;
	ch->fd = fd;
	ch->slot = -1;
	ch->cell = -1;
	ch->start_ms = clock_ms();
	ch->pidfd = -1;		/* made by the first signal, if need be */
	return 0;
}

struct child *
children_last(struct children *c)
{
	return c->n == 0 ? NULL : &c->tab[c->n - 1];
}

/* Where pid is in the table: its index, or c->n if it is not ours. */
static size_t
children_index(const struct children *c, pid_t pid)
{
	size_t	i = 0;

	while (i < c->n && c->tab[i].pid != pid)
		i++;
	return i;
}

struct child *
children_find(struct children *c, pid_t pid)
{
	size_t	i = children_index(c, pid);

	return i < c->n ? &c->tab[i] : NULL;
}

void
children_forget_index(struct children *c, size_t i, struct child *out)
{
	struct child	*ch;

	if (i >= c->n)
		fatalx("%s: index %zu of %zu", __func__, i, c->n);
	ch = &c->tab[i];
	if (c->on_forget != NULL)
		c->on_forget(c->hook_arg, ch);
	if (ch->pidfd != -1)
		(void)close(ch->pidfd);
	ch->pidfd = -1;
	if (out != NULL)
		*out = *ch;
	*ch = c->tab[--c->n];
}

int
children_forget_pid(struct children *c, pid_t pid, struct child *out)
{
	size_t	i = children_index(c, pid);

	if (i == c->n)
		return -1;
	children_forget_index(c, i, out);
	return 0;
}

int
children_account(struct stats *st, pid_t pid, int status)
{
	st->reaped++;
	if (WIFSIGNALED(status)) {
		st->abnormal++;
		log_warnx("child %ld killed by signal %d%s", (long)pid,
		    WTERMSIG(status),
#ifdef WCOREDUMP
		    WCOREDUMP(status) ? " (core dumped)" :
#endif
		    "");
		return 1;
	}
	if (WIFEXITED(status) &&
	    WEXITSTATUS(status) == SPAWN_EXIT_UNCONFINED) {
		/* spawn.h: it could not be confined, so it did not serve. */
		st->abnormal++;
		log_warnx("child %ld exited with status %d: refused to serve "
		    "unconfined", (long)pid, SPAWN_EXIT_UNCONFINED);
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		st->abnormal++;
		log_warnx("child %ld exited with status %d", (long)pid,
		    WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

/*
 * The UDP worker is accounted by udp.c (its own restart rules); a stop's
 * deaths (c->quiet) are counted but not abnormal, and so is a death by
 * the SIGTERM that retired a worker: one that had not yet put its own
 * handler in place dies of the default action, which is what was asked,
 * not a crash (it must not start the crash-loop backoff).
 */
size_t
children_reap(struct children *c, struct stats *st)
{
	struct child	*ch;
	pid_t		 pid;
	int		 status;
	size_t		 n = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		n++;
		if (c->on_reaped != NULL &&
		    c->on_reaped(c->hook_arg, pid, status))
			continue;
		if ((ch = children_find(c, pid)) == NULL) {
			log_debug("reaped unknown child %ld", (long)pid);
			(void)children_account(st, pid, status);
			continue;
		}
		ch->have_status = 1;
		ch->status = status;
		if (ch->role == ROLE_UDP)
			ch->abnormal = 0;
		else if (c->quiet || (ch->retiring && WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGTERM)) {
			/* Asked to go (a stop, a retirement), and went. */
			st->reaped++;
			ch->abnormal = 0;
		} else
			ch->abnormal = children_account(st, pid, status);
		if (ch->fd != -1)
			(void)close(ch->fd);
		ch->fd = -1;
		(void)children_forget_pid(c, pid, NULL);
	}
	if (pid == -1 && errno != ECHILD && errno != EINTR)
		log_warn("%s: waitpid", __func__);
	return n;
}

/*
 * A child the kernel reaps: pin its pid with a pidfd, made before the
 * proof that the child still lives (its pipe has not hung up).  -1
 * (ESRCH): it is gone, and its pid may belong to anyone now.
 */
static int
children_pin(struct child *ch)
{
	struct pollfd	pfd;

	ch->pidfd = pidfd_for(ch->pid);
	pfd.fd = ch->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == 0)
		return 0;
	if (ch->pidfd != -1)
		(void)close(ch->pidfd);
	ch->pidfd = -1;
	errno = ESRCH;
	return -1;
}

int
children_kill(struct child *ch, int sig)
{
	if (ch->pid <= 1) {		/* never kill(-1), kill(0), init */
		errno = ESRCH;
		return -1;
	}
	if (ch->fd != -1 && ch->pidfd == -1 && children_pin(ch) == -1)
		return -1;
#ifdef SYS_pidfd_send_signal
	if (ch->pidfd != -1)
		return (int)syscall(SYS_pidfd_send_signal, ch->pidfd, sig,
		    NULL, 0);
#endif
	/* Reaped by the master, or no pidfd_open(2) in this kernel. */
	return kill(ch->pid, sig);
}

void
children_signal(struct children *c, int sig)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		(void)children_kill(&c->tab[i], sig);
}

size_t
children_count(const struct children *c, enum child_role role)
{
	size_t	i, n = 0;

	for (i = 0; i < c->n; i++)
		if (c->tab[i].role == role)
			n++;
	return n;
}
