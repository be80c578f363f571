/*
 * scoreboard.h: the prefork pool's shared table, one slot per worker.
 *
 * One anonymous shared mapping (MAP_SHARED|MAP_ANONYMOUS) made before the
 * first fork and sized from --max-children: nothing is allocated while
 * serving.  Ownership is split so no lock is needed: the master writes
 * pid, generation and start time before a worker runs and clears them
 * after it is reaped; the worker writes its state, served count and peer.
 * The header's idle count is changed with atomic adds by workers (and
 * the master when it reaps a worker that died idle) so a worker can tell,
 * in one instruction, that it took the last spare and must wake the
 * master.  Postfix's master does the same with its status pipe.
 */
#ifndef ECHOD_SCOREBOARD_H
#define ECHOD_SCOREBOARD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

enum slot_state {
	SLOT_FREE = 0,
	SLOT_STARTING,
	SLOT_IDLE,
	SLOT_BUSY,
	SLOT_EXITING
};

#define SLOT_PEERLEN	64

struct slot {
	pid_t		pid;		/* master */
	uint32_t	generation;	/* master */
	long long	start_ms;	/* master, CLOCK_MONOTONIC */
	int		retiring;	/* master sent SIGTERM */
	volatile int	state;		/* worker (enum slot_state) */
	volatile uint64_t served;	/* worker */
	char		peer[SLOT_PEERLEN];	/* worker */
	int		lim_ticket;	/* issue #5: limit.h, under its lock */
};

struct scoreboard_hdr {
	volatile int	idle;		/* atomic: workers idle or starting */
	int		wake_fd;	/* unused: see struct scoreboard */
	volatile int	wake_pending;	/* a wake byte is on its way */
	int		min_spare;	/* unused: see struct scoreboard */
};

struct scoreboard {
	struct scoreboard_hdr	*hdr;		/* the mapping: untrusted */
	struct slot		*slot;
	/* Private, copied by fork(): never read from the mapping. */
	size_t			 nslots;
	size_t			 maplen;
	int			 wake_fd;	/* pipe write end: "look at me" */
	int			 min_spare;
	unsigned		 epoch;		/* renewals so far */
	pid_t			*owner;		/* master: 0 free, -1 claimed */
};

int	scoreboard_create(struct scoreboard *, size_t);
void	scoreboard_destroy(struct scoreboard *);
/* Master: workers write a byte on fd when fewer than min_spare are idle. */
void	scoreboard_set_wake(struct scoreboard *, int, int);

/* Master, checked interface.  Slot indexes are the master's own. */
ssize_t	scoreboard_claim(struct scoreboard *, uint32_t);
void	scoreboard_assign(struct scoreboard *, size_t, pid_t);
void	scoreboard_vacate(struct scoreboard *, size_t);
/* 0 and *state (enum slot_state) if slot is pid's and sane, else -1. */
int	scoreboard_slot_check(const struct scoreboard *, size_t, pid_t,
	    int *);
int	scoreboard_slot_ticket(const struct scoreboard *, size_t);
uint64_t scoreboard_slot_served(const struct scoreboard *, size_t);
/* Fresh mapping, every slot free, epoch + 1; -1: old one kept. */
int	scoreboard_renew(struct scoreboard *);
unsigned scoreboard_epoch(const struct scoreboard *);

/* The old interface: reads pids and states from the mapping (above). */
struct slot *scoreboard_free_slot(struct scoreboard *);
struct slot *scoreboard_find(struct scoreboard *, pid_t);
void	scoreboard_count(const struct scoreboard *, int *, int *, int *);

/* Worker side: state changes, keeping the idle count right. */
void	slot_set_state(struct scoreboard *, struct slot *, int);

#endif
