/*
 * children.c: bookkeeping of the fork model's children (see children.h).
 *
 * Removal swaps the last entry into the hole, so the table stays dense
 * and the master's poll set can be rebuilt by walking 0..n.  A waitpid()
 * answer for a pid we don't know is logged, not fatal: it can be a
 * grandchild of a library, and freaking out would be worse.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "children.h"
#include "log.h"

int
children_init(struct children *c, size_t cap)
{
	memset(c, 0, sizeof(*c));
	if ((c->tab = reallocarray(NULL, cap, sizeof(*c->tab))) == NULL)
		return -1;
	c->cap = cap;
	return 0;
}

void
children_free(struct children *c)
{
	free(c->tab);
	memset(c, 0, sizeof(*c));
}

int
children_add(struct children *c, pid_t pid, int fd)
{
	struct child	*ch;

	if (c->n >= c->cap)
		return -1;
	ch = &c->tab[c->n++];
	ch->pid = pid;
	ch->fd = fd;
	ch->ticket = 0;
	(void)clock_gettime(CLOCK_MONOTONIC, &ch->start);
	return 0;
}

void
children_forget_index(struct children *c, size_t i, struct child *out)
{
	if (i >= c->n)
		fatalx("%s: index %zu of %zu", __func__, i, c->n);
	if (c->on_forget != NULL)		/* issue #5 */
		c->on_forget(c->hook_arg, &c->tab[i]);
	if (out != NULL)
		*out = c->tab[i];
	c->tab[i] = c->tab[--c->n];
}

int
children_forget_pid(struct children *c, pid_t pid, struct child *out)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (c->tab[i].pid == pid) {
			children_forget_index(c, i, out);
			return 0;
		}
	return -1;
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
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		st->abnormal++;
		log_warnx("child %ld exited with status %d", (long)pid,
		    WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

size_t
children_reap(struct children *c, struct stats *st)
{
	struct child	 ch;
	pid_t		 pid;
	int		 status;
	size_t		 n = 0;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (children_forget_pid(c, pid, &ch) == -1) {
			/* issue #5: the UDP worker is not in the table. */
			if (c->on_stray != NULL &&
			    c->on_stray(c->hook_arg, pid, status)) {
				n++;
				continue;
			}
			log_debug("reaped unknown child %ld", (long)pid);
		} else if (ch.fd != -1)
			(void)close(ch.fd);
		(void)children_account(st, pid, status);
		n++;
	}
	if (pid == -1 && errno != ECHILD && errno != EINTR)
		log_warn("%s: waitpid", __func__);
	return n;
}

void
children_signal(struct children *c, int sig)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		(void)kill(c->tab[i].pid, sig);
}
