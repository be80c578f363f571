/*
 * pool.h: the prefork pool's arithmetic, with no processes and no clock.
 *
 * Every decision the master takes about the size of the pool is made
 * here from counts and a time in milliseconds the caller passes, so the
 * Check suite can drive it with a fake clock:
 *
 *  - below the floor (--workers): spawn at once, up to the floor;
 *  - a burst: more connections wait in the listen queue (backlog.h)
 *    than there are idle or starting workers: spawn one for each of
 *    them at once; while short of spares, look at the queue again
 *    every POOL_BURST_RECHECK_MS;
 *  - fewer idle than --min-spare (spares, with nothing queued): spawn
 *    1, 2, 4 ... 32 in successive seconds while still short (Apache's
 *    doubling), then back to 1;
 *  - more idle than --max-spare: retire up to 4 a second, never below
 *    the floor;
 *  - never more than --max-children;
 *  - workers that die abnormally right after they start are a crash
 *    loop: respawns then wait 100 ms, 200 ms ... 10 s (one at a time),
 *    and the wait ends when a worker lives, or exits normally.
 */
#ifndef ECHOD_POOL_H
#define ECHOD_POOL_H

#define POOL_SPAWN_RATE_MAX	32
#define POOL_RETIRE_RATE	4
#define POOL_EARLY_DEATH_MS	2000	/* died younger: part of a crash loop */
#define POOL_BACKOFF_MIN_MS	100
#define POOL_BACKOFF_MAX_MS	10000
#define POOL_TICK_MS		1000
#define POOL_BURST_RECHECK_MS	20	/* queue re-read while short */

struct pool_policy {
	int	floor;		/* --workers, changed by TTIN/TTOU */
	int	min_spare;
	int	max_spare;
	int	max_children;
};

struct pool_ctl {
	int		spawn_rate;	/* next batch while short of spares */
	long long	next_spawn_ms;	/* earliest next spare batch */
	long long	next_retire_ms;
	int		crashes;	/* early abnormal deaths in a row */
	long long	backoff_ms;	/* current respawn delay, 0: none */
	long long	backoff_until;
};

struct pool_decision {
	int		spawn;
	int		retire;
	long long	wake_ms;	/* call pool_decide again by then */
};

void		pool_init(struct pool_ctl *);
/* total, idle, alive, queued (connections waiting to be accepted), now */
void		pool_decide(struct pool_ctl *, const struct pool_policy *,
		    int, int, int, int, long long, struct pool_decision *);
/* Returns 1 if the backoff changed (the caller logs it). */
int		pool_worker_exited(struct pool_ctl *, int, long long,
		    long long);
int		pool_spawn_failed(struct pool_ctl *, long long);
int		pool_worker_lived(struct pool_ctl *);
long long	pool_backoff_for(int);
long long	pool_backoff_cap(int, long long);
long long	pool_jitter_limit(long long, unsigned int);

#endif
