/*
 * scoreboard.c: the prefork pool's shared table (see scoreboard.h).
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scoreboard.h"

int
scoreboard_create(struct scoreboard *sb, size_t nslots)
{
	void	*p;

	memset(sb, 0, sizeof(*sb));
	sb->maplen = sizeof(struct scoreboard_hdr) + nslots *
	    sizeof(struct slot);
	p = mmap(NULL, sb->maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sb->maplen);
	sb->hdr = p;
	sb->hdr->wake_fd = -1;
	sb->slot = (struct slot *)(sb->hdr + 1);
	sb->nslots = nslots;
	return 0;
}

void
scoreboard_destroy(struct scoreboard *sb)
{
	if (sb->hdr != NULL)
		(void)munmap(sb->hdr, sb->maplen);
	memset(sb, 0, sizeof(*sb));
}

struct slot *
scoreboard_free_slot(struct scoreboard *sb)
{
	size_t	i;

	for (i = 0; i < sb->nslots; i++)
		if (sb->slot[i].pid == 0)
			return &sb->slot[i];
	return NULL;
}

struct slot *
scoreboard_find(struct scoreboard *sb, pid_t pid)
{
	size_t	i;

	for (i = 0; i < sb->nslots; i++)
		if (sb->slot[i].pid == pid)
			return &sb->slot[i];
	return NULL;
}

/* Counted from the slots, not the atomic: exact when the master looks. */
void
scoreboard_count(const struct scoreboard *sb, int *total, int *idle,
    int *busy)
{
	size_t	i;
	int	t = 0, id = 0, b = 0;

	for (i = 0; i < sb->nslots; i++) {
		if (sb->slot[i].pid == 0)
			continue;
		t++;
		switch (sb->slot[i].state) {
		case SLOT_STARTING:
		case SLOT_IDLE:
			if (!sb->slot[i].retiring)
				id++;
			break;
		case SLOT_BUSY:
			b++;
			break;
		default:
			break;
		}
	}
	*total = t;
	*idle = id;
	*busy = b;
}

static int
is_idle(int st)
{
	return st == SLOT_STARTING || st == SLOT_IDLE;
}

void
slot_set_state(struct scoreboard *sb, struct slot *s, int st)
{
	struct timespec	ts;
	int		was = s->state, left;

	s->state = st;
	/* issue #11: "seconds in this state" for the control socket */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	s->state_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (is_idle(was) && !is_idle(st)) {
		left = __atomic_sub_fetch(&sb->hdr->idle, 1, __ATOMIC_RELAXED);
		/* Took the last spares: the master must grow the pool. */
		if (left < sb->hdr->min_spare && sb->hdr->wake_fd != -1 &&
		    __atomic_exchange_n(&sb->hdr->wake_pending, 1,
		    __ATOMIC_ACQ_REL) == 0) {
			int save_errno = errno;

			(void)write(sb->hdr->wake_fd, "", 1);
			errno = save_errno;
		}
	} else if (!is_idle(was) && is_idle(st))
		(void)__atomic_add_fetch(&sb->hdr->idle, 1, __ATOMIC_RELAXED);
}
