/*
 * scoreboard.c: the prefork pool's shared table (see scoreboard.h).
 */
#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privmem.h"
#include "scoreboard.h"

static int
map_board(struct scoreboard *sb)
{
	void	*p;

	p = mmap(NULL, sb->maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 0, sb->maplen);
	sb->hdr = p;
	sb->hdr->wake_fd = -1;
	sb->slot = (struct slot *)(sb->hdr + 1);
	return 0;
}

int
scoreboard_create(struct scoreboard *sb, size_t nslots)
{
	memset(sb, 0, sizeof(*sb));
	sb->wake_fd = -1;
	if (nslots == 0 || nslots > (1u << 20)) {
		errno = EINVAL;
		return -1;
	}
	sb->maplen = sizeof(struct scoreboard_hdr) + nslots *
	    sizeof(struct slot);
	/* The master's record, made before serving. */
	/* Written at every spawn and exit: the master's own (privmem.h). */
	if ((sb->owner = privmem_alloc(nslots, sizeof(*sb->owner))) == NULL)
		return -1;
	if (map_board(sb) == -1) {
		privmem_free(sb->owner, nslots, sizeof(*sb->owner));
		sb->owner = NULL;
		return -1;
	}
	sb->nslots = nslots;
	return 0;
}

void
scoreboard_destroy(struct scoreboard *sb)
{
	if (sb->hdr != NULL)
		(void)munmap(sb->hdr, sb->maplen);
	privmem_free(sb->owner, sb->nslots, sizeof(*sb->owner));
	memset(sb, 0, sizeof(*sb));
	sb->wake_fd = -1;
}

void
scoreboard_set_wake(struct scoreboard *sb, int fd, int min_spare)
{
	sb->wake_fd = fd;
	sb->min_spare = min_spare;
}

/* ---- master: the checked interface --------------------------------- */

ssize_t
scoreboard_claim(struct scoreboard *sb, uint32_t generation)
{
	struct slot	*s;
	size_t		 i;

	for (i = 0; i < sb->nslots; i++)
		if (sb->owner[i] == 0)
			break;
	if (i == sb->nslots)
		return -1;
	sb->owner[i] = -1;
	s = &sb->slot[i];
	memset(s, 0, sizeof(*s));
	s->state = SLOT_STARTING;
	s->generation = generation;
	/* A hint for the workers' wake rule only; the master never reads it. */
	(void)__atomic_add_fetch(&sb->hdr->idle, 1, __ATOMIC_RELAXED);
	return (ssize_t)i;
}

void
scoreboard_assign(struct scoreboard *sb, size_t i, pid_t pid)
{
	if (i >= sb->nslots || pid <= 0)
		return;
	sb->owner[i] = pid;
	sb->slot[i].pid = pid;
}

void
scoreboard_vacate(struct scoreboard *sb, size_t i)
{
	int	st;

	if (i >= sb->nslots || sb->owner[i] == 0)
		return;
	st = sb->slot[i].state;
	if (st == SLOT_STARTING || st == SLOT_IDLE)
		(void)__atomic_sub_fetch(&sb->hdr->idle, 1, __ATOMIC_RELAXED);
	memset(&sb->slot[i], 0, sizeof(sb->slot[i]));
	sb->owner[i] = 0;
}

int
scoreboard_slot_check(const struct scoreboard *sb, size_t i, pid_t pid,
    int *state)
{
	int	st;

	if (i >= sb->nslots || pid <= 0 || sb->owner[i] != pid ||
	    sb->slot[i].pid != pid)
		return -1;
	st = sb->slot[i].state;
	if (st < SLOT_STARTING || st > SLOT_EXITING)
		return -1;
	if (state != NULL)
		*state = st;
	return 0;
}

int
scoreboard_slot_ticket(const struct scoreboard *sb, size_t i)
{
	return i < sb->nslots ? sb->slot[i].lim_ticket : 0;
}

uint64_t
scoreboard_slot_served(const struct scoreboard *sb, size_t i)
{
	return i < sb->nslots ? sb->slot[i].served : 0;
}

int
scoreboard_renew(struct scoreboard *sb)
{
	struct scoreboard_hdr	*old = sb->hdr;
	struct slot		*oldslot = sb->slot;

	if (map_board(sb) == -1) {
		sb->hdr = old;
		sb->slot = oldslot;
		return -1;
	}
	/* Children of the old epoch keep their own mapping until they go. */
	(void)munmap(old, sb->maplen);
	memset(sb->owner, 0, sb->nslots * sizeof(*sb->owner));
	sb->epoch++;
	return 0;
}

unsigned
scoreboard_epoch(const struct scoreboard *sb)
{
	return sb->epoch;
}

/* ---- the old interface (see scoreboard.h) -------------------------- */

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

/*
 * Worker side.  The wake fd and threshold are this process's own copy,
 * so a worker cannot make another one write into some other descriptor.
 */
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
		if (left < sb->min_spare && sb->wake_fd != -1 &&
		    __atomic_exchange_n(&sb->hdr->wake_pending, 1,
		    __ATOMIC_ACQ_REL) == 0) {
			int save_errno = errno;

			(void)write(sb->wake_fd, "", 1);
			errno = save_errno;
		}
	} else if (!is_idle(was) && is_idle(st))
		(void)__atomic_add_fetch(&sb->hdr->idle, 1, __ATOMIC_RELAXED);
}
