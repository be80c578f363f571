/*
 * echoc_ev.c: edge-triggered readiness over epoll or kqueue
 * (see echoc_ev.h).
 *
 * Level-triggered would be simpler to use but would wake us for every
 * writable socket on every turn; edge-triggered lets one registration
 * per connection serve its whole life, which is what keeps the
 * benchmark's per-operation cost at connect/write/read/close.
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <unistd.h>

#include "echoc_ev.h"

#ifdef __linux__
#include <sys/epoll.h>

#define EV_BATCH	512

int
ev_open(void)
{
	return epoll_create1(EPOLL_CLOEXEC);
}

int
ev_add(int ep, int fd, uint64_t token)
{
	struct epoll_event	 e;

	e.events = EPOLLIN | EPOLLOUT | EPOLLET;
	e.data.u64 = token;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

int
ev_wait(int ep, struct ev_event *evs, int max, int ms)
{
	struct epoll_event	 e[EV_BATCH];
	int			 i, n;

	if (max > EV_BATCH)
		max = EV_BATCH;
	if ((n = epoll_wait(ep, e, max, ms)) <= 0)
		return n;
	for (i = 0; i < n; i++) {
		evs[i].token = e[i].data.u64;
		evs[i].what = 0;
		if (e[i].events & (EPOLLIN | EPOLLHUP))
			evs[i].what |= EV_IN;
		if (e[i].events & EPOLLOUT)
			evs[i].what |= EV_OUT;
		if (e[i].events & EPOLLERR)
			evs[i].what |= EV_ERR | EV_IN;
	}
	return n;
}

#else	/* the BSDs and macOS: kqueue */
#include <sys/event.h>
#include <sys/time.h>

#define EV_BATCH	512

int
ev_open(void)
{
	return kqueue();
}

int
ev_add(int kq, int fd, uint64_t token)
{
	struct kevent	 ch[2];

	EV_SET(&ch[0], fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0,
	    (void *)(uintptr_t)token);
	EV_SET(&ch[1], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0,
	    (void *)(uintptr_t)token);
	return kevent(kq, ch, 2, NULL, 0, NULL);
}

/*
 * kqueue reports reading and writing as two events; the caller copes
 * with a socket appearing twice in one batch, as each is handled on its
 * own merits.  Tokens travel in udata, so only their low 32 bits are
 * sure to survive on a 32-bit system: callers keep them that small.
 */
int
ev_wait(int kq, struct ev_event *evs, int max, int ms)
{
	struct kevent	 e[EV_BATCH];
	struct timespec	 ts;
	int		 i, n;

	if (max > EV_BATCH)
		max = EV_BATCH;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	if ((n = kevent(kq, NULL, 0, e, max, &ts)) <= 0)
		return n;
	for (i = 0; i < n; i++) {
		evs[i].token = (uint64_t)(uintptr_t)e[i].udata;
		evs[i].what = e[i].filter == EVFILT_WRITE ? EV_OUT : EV_IN;
		if (e[i].flags & EV_ERROR)
			evs[i].what |= EV_ERR | EV_IN;
	}
	return n;
}
#endif
