/*
 * pool.c: the prefork pool's arithmetic (see pool.h).
 *
 * Why a doubling spawn rate rather than "spawn what is missing": a burst
 * of connections makes every worker busy at once, and forking dozens of
 * processes in the same instant would steal the CPU from the workers
 * that are serving.  Doubling reaches 63 workers within 6 s yet costs a
 * single fork when one spare is all that was missing.
 *
 * Why the burst rule beside it: the doubling guesses at demand from a
 * sampled idle count, but the listen queue's length is demand itself.
 * Connections already waiting with no worker to take them would wait
 * seconds for the doubling (1,000 at once took half a minute and timed
 * out), so one worker is spawned for each at once, up to
 * --max-children; forking them is cheaper than the clients' retries.
 * The crash-loop backoff still holds it to one at a time.
 */
#include "config.h"

#include <string.h>

#include "pool.h"

void
pool_init(struct pool_ctl *c)
{
	memset(c, 0, sizeof(*c));
	c->spawn_rate = 1;
}

static int
min3(int a, int b, int c)
{
	int	m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * The one backoff formula: 100 ms after the first failure in a row,
 * doubling with each further one, up to max.  Crash loops cap it at
 * POOL_BACKOFF_MAX_MS, failed forks at FORK_BACKOFF_MAX_MS (master.h).
 */
long long
pool_backoff_cap(int failures, long long max)
{
	long long	ms = POOL_BACKOFF_MIN_MS;

	if (failures <= 0)
		return 0;
	while (--failures > 0 && ms < max)
		ms *= 2;
	return ms > max ? max : ms;
}

long long
pool_backoff_for(int crashes)
{
	return pool_backoff_cap(crashes, POOL_BACKOFF_MAX_MS);
}

/* The counts pool_decide() works on, updated as it decides. */
struct tally {
	int		 room;		/* workers --max-children still allows */
	int		 idle;
	int		 total;
	long long	 wake;
};

/* Decide to spawn n more: each will be idle and count against room. */
static void
tally_spawn(struct tally *t, struct pool_decision *d, int n)
{
	d->spawn += n;
	t->room -= n;
	t->idle += n;
	t->total += n;
}

/* Keep min_spare idle workers, at a rate that doubles each second. */
static void
pool_spares(struct pool_ctl *c, const struct pool_policy *p,
    struct tally *t, long long now, struct pool_decision *d)
{
	int	 short_by = p->min_spare - t->idle;

	if (short_by <= 0) {
		c->spawn_rate = 1;
		return;
	}
	if (t->room <= 0)
		return;
	if (now >= c->next_spawn_ms) {
		/*
		 * The batch is the rate, not the shortfall: idle is
		 * sampled, and a burst that took every spare is likely to
		 * take the next ones too (Apache does the same).  Surplus
		 * is retired later.
		 */
		tally_spawn(t, d, c->spawn_rate < t->room ? c->spawn_rate :
		    t->room);
		c->next_spawn_ms = now + 1000;
		if (c->spawn_rate < POOL_SPAWN_RATE_MAX)
			c->spawn_rate *= 2;
	}
	if (c->next_spawn_ms < t->wake)
		t->wake = c->next_spawn_ms;
	/*
	 * Short of spares: the next connections will queue with nobody to
	 * take them, and the worker that took the last spare has already
	 * woken us.  Look at the queue often.
	 */
	if (now + POOL_BURST_RECHECK_MS < t->wake)
		t->wake = now + POOL_BURST_RECHECK_MS;
}

/* Retire idle workers beyond max_spare, never below the floor. */
static void
pool_retire(struct pool_ctl *c, const struct pool_policy *p,
    struct tally *t, long long now, struct pool_decision *d)
{
	int	 surplus = t->idle - p->max_spare;

	if (surplus <= 0 || t->total <= p->floor)
		return;
	if (now >= c->next_retire_ms) {
		d->retire = min3(surplus, t->total - p->floor,
		    POOL_RETIRE_RATE);
		c->next_retire_ms = now + 1000;
	}
	if (c->next_retire_ms < t->wake)
		t->wake = c->next_retire_ms;
}

/*
 * total: live workers not being retired; idle: those of them idle or
 * starting (a starting worker will be idle in a moment: counting it
 * avoids spawning twice); alive: every live worker, retiring ones too,
 * which is what --max-children bounds; queued: connections waiting in
 * the listen queues, not yet accepted.
 */
void
pool_decide(struct pool_ctl *c, const struct pool_policy *p, int total,
    int idle, int alive, int queued, long long now, struct pool_decision *d)
{
	struct tally	t;
	int		want;

	memset(d, 0, sizeof(*d));
	t.room = p->max_children - alive;
	if (t.room < 0)
		t.room = 0;
	t.idle = idle;
	t.total = total;
	t.wake = now + POOL_TICK_MS;

	if (c->backoff_ms > 0 && now < c->backoff_until) {
		/* Crash loop: nothing until the backoff ends. */
		d->wake_ms = c->backoff_until;
		return;
	}

	/* Below the floor: restore it at once. */
	want = p->floor - t.total;
	if (want > 0)
		tally_spawn(&t, d, want < t.room ? want : t.room);

	/* A burst waits in the queue: a worker for each, now. */
	want = queued - t.idle;
	if (want > 0 && t.room > 0) {
		tally_spawn(&t, d, want < t.room ? want : t.room);
		if (now + POOL_BURST_RECHECK_MS < t.wake)
			t.wake = now + POOL_BURST_RECHECK_MS;
	}

	pool_spares(c, p, &t, now, d);

	/* In a crash loop, respawn one at a time. */
	if (c->backoff_ms > 0 && d->spawn > 1)
		d->spawn = 1;
	if (c->backoff_ms > 0 && d->spawn > 0)
		c->backoff_until = now + c->backoff_ms;

	pool_retire(c, p, &t, now, d);
	d->wake_ms = t.wake;
}

/*
 * A worker exited: abnormal (signal or non-zero status) after living
 * lifetime_ms.  Young abnormal deaths grow the backoff; anything else
 * shows workers can live, and ends it.
 */
int
pool_worker_exited(struct pool_ctl *c, int abnormal, long long lifetime_ms,
    long long now)
{
	long long	old = c->backoff_ms;

	if (abnormal && lifetime_ms < POOL_EARLY_DEATH_MS) {
		c->crashes++;
		c->backoff_ms = pool_backoff_for(c->crashes);
		c->backoff_until = now + c->backoff_ms;
		return c->backoff_ms != old;
	}
	return pool_worker_lived(c);
}

/* fork() failed (EAGAIN, ENOMEM): same medicine as a crash. */
int
pool_spawn_failed(struct pool_ctl *c, long long now)
{
	long long	old = c->backoff_ms;

	c->crashes++;
	c->backoff_ms = pool_backoff_for(c->crashes);
	c->backoff_until = now + c->backoff_ms;
	return c->backoff_ms != old;
}

/* A worker has been alive long enough: the crash loop is over. */
int
pool_worker_lived(struct pool_ctl *c)
{
	long long	old = c->backoff_ms;

	c->crashes = 0;
	c->backoff_ms = 0;
	c->backoff_until = 0;
	return old != 0;
}

/*
 * --max-requests with jitter: each worker gets a limit in
 * [max - max/4, max], spread by r (a random number), so workers started
 * together don't all recycle together.  Never above what the admin set.
 */
long long
pool_jitter_limit(long long max, unsigned int r)
{
	long long	span = max / 4;

	if (max <= 0)
		return 0;
	if (span == 0)
		return max;
	/*
	 * In 64 bits: --max-requests goes up to 10^12, and span + 1 cast
	 * to unsigned int wrapped, to 0 for max = 4 * (2^32 - 1): a
	 * division by zero (SIGFPE) in every worker at start.
	 */
	return max - (long long)((unsigned long long)r %
	    (unsigned long long)(span + 1));
}
