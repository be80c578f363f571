/*
 * liveops.c: the live operations' hub (see liveops.h).
 *
 * The epoll fd is made by the first liveops_watch() (--control, or an
 * upgrade under way): until then liveops_fd() is -1 and the master polls
 * nothing more than it would without this file.
 *
 * Level-triggered epoll: a fd the tick did not finish with stays ready
 * and keeps the master's poll() awake, so a module that cannot make
 * progress (four control clients already) must stop watching, not just
 * ignore the event, or the master would spin.
 */
#include "config.h"

#include <sys/epoll.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "liveops.h"
#include "server.h"
#include "upgrade.h"

#define WATCH_MAX	8		/* listener, 4 clients, pipe, spare */

struct watch {
	int		 fd;		/* -1: free */
	liveops_cb	 cb;
	void		*arg;
};

static struct watch	 w[WATCH_MAX];
static int		 ep = -1;

int
liveops_fd(void)
{
	return ep;
}

int
liveops_watch(int fd, uint32_t events, liveops_cb cb, void *arg)
{
	struct epoll_event	ev;
	size_t			i, fr = WATCH_MAX;

	for (i = 0; i < WATCH_MAX; i++) {
		if (w[i].fd == fd)
			break;
		if (w[i].fd == -1 && fr == WATCH_MAX)
			fr = i;
	}
	/* Made at first use: a master with neither costs no descriptor. */
	if (ep == -1 && (ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	if (i < WATCH_MAX) {
		w[i].cb = cb;
		w[i].arg = arg;
		ev.data.u32 = (uint32_t)i;
		return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	}
	if (fr == WATCH_MAX) {
		errno = ENFILE;
		return -1;
	}
	ev.data.u32 = (uint32_t)fr;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	w[fr].fd = fd;
	w[fr].cb = cb;
	w[fr].arg = arg;
	return 0;
}

void
liveops_unwatch(int fd)
{
	size_t	i;

	for (i = 0; i < WATCH_MAX; i++)
		if (w[i].fd == fd) {
			(void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			w[i].fd = -1;
		}
}

static int
min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Once per turn of the master's loop, before it blocks. */
int
liveops_tick(struct server *srv)
{
	struct epoll_event	evs[WATCH_MAX];
	int			n, i, t = -1;

	if (ep == -1)
		return -1;
	n = epoll_wait(ep, evs, WATCH_MAX, 0);
	for (i = 0; i < n; i++) {
		struct watch *x = &w[evs[i].data.u32];

		if (x->fd != -1)
			x->cb(x->arg, evs[i].events);
	}
	t = min_timeout(t, upgrade_tick(srv));
	t = min_timeout(t, control_tick(srv));
	return t;
}

void
liveops_init(struct server *srv)
{
	size_t	i;

	for (i = 0; i < WATCH_MAX; i++)
		w[i].fd = -1;
	upgrade_adopt(srv);
}
