/*
 * check_pool.c: Check suite for pool.c, the prefork pool's arithmetic.
 *
 * No processes and no clock: every call gets the counts a master would
 * see and a time in milliseconds from the test, so a second passes when
 * the test says so.  The master's view is simulated where it matters:
 * what pool_decide spawns is added to total and idle before the next
 * call, as the scoreboard would show it (a starting worker counts as
 * idle).
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>

#include "pool.h"
#include "check_main.h"

static struct pool_ctl		 ctl;
static struct pool_policy	 pol;
static struct pool_decision	 dec;

static void
setup(void)
{
	pool_init(&ctl);
	pol.floor = 4;
	pol.min_spare = 2;
	pol.max_spare = 8;
	pol.max_children = 256;
}

static void	decideq(int, int, int, int, long long);

static void
decide(int total, int idle, int alive, long long now)
{
	decideq(total, idle, alive, 0, now);
}

static void
decideq(int total, int idle, int alive, int queued, long long now)
{
	pool_decide(&ctl, &pol, total, idle, alive, queued, now, &dec);
	ck_assert_int_ge(dec.spawn, 0);
	ck_assert_int_ge(dec.retire, 0);
	/* The master polls until wake_ms: it must never be in the past. */
	ck_assert_int_ge(dec.wake_ms, now);
}

/* One step of a schedule: decide, then the forks (retirements) due. */
#define EXPECT_SPAWN(total, idle, alive, now, n) do {			\
	decide((total), (idle), (alive), (now));			\
	ck_assert_int_eq(dec.spawn, (n));				\
} while (0)
#define EXPECT_RETIRE(total, idle, alive, now, n) do {			\
	decide((total), (idle), (alive), (now));			\
	ck_assert_int_eq(dec.retire, (n));				\
} while (0)

/* ---- floor and --max-children --------------------------------------- */

START_TEST(test_boot_spawns_floor)
{
	EXPECT_SPAWN(0, 0, 0, 0, 4);
	ck_assert_int_eq(dec.retire, 0);
	ck_assert_int_le(dec.wake_ms, POOL_TICK_MS);

	/* The floor reached, with enough spares: nothing more to do. */
	EXPECT_SPAWN(4, 4, 4, 10, 0);
	ck_assert_int_eq(dec.retire, 0);
}
END_TEST

START_TEST(test_boot_floor_and_spares)
{
	/* One worker is short of two spares: the floor, then one batch. */
	pol.floor = 1;
	EXPECT_SPAWN(0, 0, 0, 0, 2);
}
END_TEST

START_TEST(test_floor_restored_at_once)
{
	EXPECT_SPAWN(0, 0, 0, 0, 4);
	/* Two die in the same second: replaced at once, not at the tick. */
	EXPECT_SPAWN(2, 2, 2, 100, 2);
	EXPECT_SPAWN(3, 3, 3, 200, 1);
}
END_TEST

START_TEST(test_max_children_caps_boot)
{
	pol.floor = 10;
	pol.max_children = 6;
	EXPECT_SPAWN(0, 0, 0, 0, 6);
	EXPECT_SPAWN(6, 0, 6, 5000, 0);
}
END_TEST

START_TEST(test_max_children_counts_retiring)
{
	pol.max_children = 6;
	/* 2 active, 4 more still alive while they retire: no room at all. */
	EXPECT_SPAWN(2, 2, 6, 0, 0);
	/* One retiring worker left: room for exactly one. */
	EXPECT_SPAWN(2, 2, 5, 10, 1);
	/* More alive than allowed (after TTOU, say): no negative room. */
	EXPECT_SPAWN(0, 0, 9, 20, 0);
}
END_TEST

START_TEST(test_max_children_caps_spare_batch)
{
	int	i, total = 0;

	pol.floor = 1;
	pol.min_spare = 100;
	pol.max_spare = 200;
	pol.max_children = 10;
	for (i = 0; i < 10; i++) {
		decide(total, 0, total, (long long)i * 1000);
		total += dec.spawn;
		ck_assert_int_le(total, 10);
	}
	ck_assert_int_eq(total, 10);
}
END_TEST

/* ---- burst: the listen queue ---------------------------------------- */

START_TEST(test_burst_spawns_one_per_queued)
{
	decide(0, 0, 0, 0);
	ck_assert_int_eq(dec.spawn, 4);
	/* Every worker busy and 10 connections queued: 10 at once. */
	decideq(4, 0, 4, 10, 5000);
	ck_assert_int_eq(dec.spawn, 10);
	ck_assert_int_le(dec.wake_ms, 5000 + POOL_BURST_RECHECK_MS);
	/* The same queue again before they start: they count as idle. */
	decideq(14, 10, 14, 10, 5010);
	ck_assert_int_eq(dec.spawn, 0);
	/* The queue grew by 5 beyond them: 5 more, still the same second. */
	decideq(14, 10, 14, 15, 5020);
	ck_assert_int_eq(dec.spawn, 5);
}
END_TEST

START_TEST(test_burst_idle_serve_queue)
{
	/* Enough idle workers for what is queued: nothing to do. */
	decideq(8, 6, 8, 6, 1000);
	ck_assert_int_eq(dec.spawn, 0);
	/* One short of the queue: one, not the doubling's batch. */
	decideq(8, 5, 8, 6, 1001);
	ck_assert_int_eq(dec.spawn, 1);
}
END_TEST

START_TEST(test_burst_capped_by_max_children)
{
	pol.max_children = 20;
	/* 16 alive, two of them retiring: room for 4. */
	decideq(14, 0, 16, 100, 1000);
	ck_assert_int_eq(dec.spawn, 4);
	decideq(18, 4, 20, 100, 1010);
	ck_assert_int_eq(dec.spawn, 0);
}
END_TEST

START_TEST(test_burst_held_by_backoff)
{
	(void)pool_spawn_failed(&ctl, 1000);
	ck_assert_int_eq(ctl.backoff_ms, POOL_BACKOFF_MIN_MS);
	/* In the backoff: nothing, however long the queue. */
	decideq(4, 0, 4, 50, 1050);
	ck_assert_int_eq(dec.spawn, 0);
	ck_assert_int_eq(dec.wake_ms, 1000 + POOL_BACKOFF_MIN_MS);
	/* After it: one at a time, and the backoff starts again. */
	decideq(4, 0, 4, 50, 1100);
	ck_assert_int_eq(dec.spawn, 1);
	decideq(5, 1, 5, 50, 1150);
	ck_assert_int_eq(dec.spawn, 0);
	/* Workers live again: the whole queue at once. */
	(void)pool_worker_lived(&ctl);
	decideq(5, 1, 5, 50, 1200);
	ck_assert_int_eq(dec.spawn, 49);
}
END_TEST

START_TEST(test_burst_absent_doubling_stays)
{
	/* Nothing queued: the 1, 2, 4 doubling for spares, as before. */
	decideq(4, 0, 4, 0, 1000);
	ck_assert_int_eq(dec.spawn, 1);
	decideq(5, 0, 5, 0, 2000);
	ck_assert_int_eq(dec.spawn, 2);
	decideq(7, 0, 7, 0, 3000);
	ck_assert_int_eq(dec.spawn, 4);
	/*
	 * A queue of 3 while short of spares, before the next batch is
	 * due: 3 at once, and with them the spares are met.
	 */
	decideq(11, 0, 11, 3, 3100);
	ck_assert_int_eq(dec.spawn, 3);
}
END_TEST


/* ---- spare shortage: the doubling rate ------------------------------ */

START_TEST(test_spare_batches_double)
{
	static const int	want[] = { 1, 2, 4, 8, 16, 32, 32, 32 };
	size_t			i;
	int			total = 4;

	pol.min_spare = 1000;
	pol.max_spare = 2000;
	pol.max_children = 10000;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		long long t = (long long)i * 1000;

		/* Every worker busy: still short however many came. */
		EXPECT_SPAWN(total, 0, total, t, want[i]);
		/* Short: the queue is looked at again soon. */
		ck_assert_int_eq(dec.wake_ms, t + POOL_BURST_RECHECK_MS);
		total += dec.spawn;

		/* Later in the same second: no second batch. */
		EXPECT_SPAWN(total, 0, total, t + 1, 0);
		ck_assert_int_eq(dec.wake_ms, t + 1 + POOL_BURST_RECHECK_MS);
		EXPECT_SPAWN(total, 0, total, t + 999, 0);
		ck_assert_int_eq(dec.wake_ms, t + 1000);
	}
	ck_assert_int_eq(total, 4 + 1 + 2 + 4 + 8 + 16 + 32 * 3);
}
END_TEST

START_TEST(test_spare_batch_is_rate_not_shortfall)
{
	/* Short by one: the first batch is one fork, not the shortfall. */
	pol.min_spare = 5;
	EXPECT_SPAWN(4, 4, 4, 0, 1);
	EXPECT_SPAWN(5, 5, 5, 1000, 0);
	ck_assert_int_eq(ctl.spawn_rate, 1);
}
END_TEST

START_TEST(test_spare_rate_resets)
{
	pol.min_spare = 5;
	pol.max_spare = 100;
	EXPECT_SPAWN(4, 0, 4, 0, 1);
	EXPECT_SPAWN(5, 0, 5, 1000, 2);
	EXPECT_SPAWN(7, 0, 7, 2000, 4);

	/* Not short any more (the burst ended): the rate goes back to 1. */
	EXPECT_SPAWN(11, 11, 11, 3000, 0);
	ck_assert_int_eq(ctl.spawn_rate, 1);

	/* Short again: it starts over from one. */
	EXPECT_SPAWN(11, 0, 11, 4000, 1);
	EXPECT_SPAWN(12, 0, 12, 5000, 2);
}
END_TEST

START_TEST(test_spare_min_zero)
{
	/* --min-spare=0: never short, only the floor matters. */
	pol.min_spare = 0;
	pol.max_spare = 1;
	EXPECT_SPAWN(4, 0, 4, 0, 0);
	EXPECT_SPAWN(4, 0, 4, 5000, 0);
	EXPECT_SPAWN(3, 0, 3, 6000, 1);
}
END_TEST

/* ---- surplus: retiring ---------------------------------------------- */

START_TEST(test_retire_rate)
{
	int		total = 40;
	long long	t = 0;

	/* 40 idle, max-spare 8: 4 a second, once a second, down to 8. */
	while (total > 8) {
		EXPECT_SPAWN(total, total, total, t, 0);
		ck_assert_int_eq(dec.retire, 4);
		ck_assert_int_eq(dec.wake_ms, t + 1000);
		total -= dec.retire;

		/* Still a surplus, but not before the next second. */
		EXPECT_RETIRE(total, total, total + 4, t + 500, 0);
		if (total > 8)
			ck_assert_int_eq(dec.wake_ms, t + 1000);
		t += 1000;
	}
	ck_assert_int_eq(total, 8);
	EXPECT_RETIRE(total, total, total, t, 0);
}
END_TEST

START_TEST(test_retire_surplus_only)
{
	/* 10 idle, 2 busy: surplus over max-spare is 2. */
	EXPECT_RETIRE(12, 10, 12, 0, 2);
	EXPECT_RETIRE(11, 9, 11, 1000, 1);
}
END_TEST

START_TEST(test_retire_never_below_floor)
{
	pol.floor = 4;
	pol.min_spare = 0;
	pol.max_spare = 1;
	/* Surplus 5, but only 2 above the floor. */
	EXPECT_RETIRE(6, 6, 6, 0, 2);
	EXPECT_RETIRE(4, 4, 4, 1000, 0);
	EXPECT_RETIRE(4, 4, 4, 2000, 0);

	/* A high floor with a low max-spare: nothing ever retires. */
	pol.floor = 20;
	pol.max_spare = 8;
	EXPECT_RETIRE(20, 20, 20, 3000, 0);
	/* 21 with one busy: surplus 12, one above the floor. */
	EXPECT_RETIRE(21, 20, 21, 4000, 1);
}
END_TEST

/* ---- crash-loop backoff --------------------------------------------- */

START_TEST(test_backoff_schedule)
{
	static const long long	want[] = {
		0, 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000, 10000
	};
	int			i;

	for (i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++)
		ck_assert_int_eq(pool_backoff_for(i), want[i]);
	ck_assert_int_eq(pool_backoff_for(-1), 0);
	ck_assert_int_eq(pool_backoff_for(INT_MIN), 0);
	ck_assert_int_eq(pool_backoff_for(1000), POOL_BACKOFF_MAX_MS);
	ck_assert_int_eq(pool_backoff_for(INT_MAX), POOL_BACKOFF_MAX_MS);
}
END_TEST

START_TEST(test_backoff_grows_and_blocks)
{
	long long	now = 0, expect = 0;
	int		i, total = 0;

	EXPECT_SPAWN(0, 0, 0, now, 4);

	/* Every worker dies 5 ms after it starts. */
	for (i = 1; i <= 10; i++) {
		long long until;

		now += 5;
		expect = pool_backoff_for(i);
		ck_assert_int_eq(pool_worker_exited(&ctl, 1, 5, now),
		    i <= 8 ? 1 : 0);	/* 9th, 10th: already at the cap */
		ck_assert_int_eq(ctl.backoff_ms, expect);
		until = ctl.backoff_until;
		ck_assert_int_eq(until, now + expect);

		/* Below the floor, short of spares: still nothing. */
		EXPECT_SPAWN(total, 0, total, now, 0);
		ck_assert_int_eq(dec.retire, 0);
		ck_assert_int_eq(dec.wake_ms, until);
		EXPECT_SPAWN(total, 0, total, until - 1, 0);
		ck_assert_int_eq(dec.wake_ms, until);

		/* Backoff over: one worker, not the four missing. */
		now = until;
		EXPECT_SPAWN(total, 0, total, now, 1);
		/* The next one waits a whole backoff again. */
		ck_assert_int_eq(ctl.backoff_until, now + expect);
		EXPECT_SPAWN(total + 1, 1, total + 1, now + 1, 0);
	}
	ck_assert_int_eq(ctl.backoff_ms, POOL_BACKOFF_MAX_MS);
}
END_TEST

START_TEST(test_backoff_one_at_a_time)
{
	long long	now;

	/* A crash loop with a spare shortage at rate 32 still forks one. */
	pol.min_spare = 100;
	pol.max_spare = 200;
	ctl.spawn_rate = POOL_SPAWN_RATE_MAX;
	(void)pool_worker_exited(&ctl, 1, 0, 0);
	ck_assert_int_eq(ctl.backoff_ms, 100);
	now = ctl.backoff_until;
	EXPECT_SPAWN(4, 0, 4, now, 1);
	/* Even later, while backoff is on: one per backoff period. */
	now = ctl.backoff_until;
	EXPECT_SPAWN(0, 0, 0, now, 1);
}
END_TEST

START_TEST(test_backoff_reset_by_normal_exit)
{
	(void)pool_worker_exited(&ctl, 1, 10, 0);
	(void)pool_worker_exited(&ctl, 1, 10, 10);
	ck_assert_int_eq(ctl.backoff_ms, 200);
	/* A worker that exits 0 (max-requests, retired) ends the loop. */
	ck_assert_int_eq(pool_worker_exited(&ctl, 0, 10, 20), 1);
	ck_assert_int_eq(ctl.backoff_ms, 0);
	ck_assert_int_eq(ctl.crashes, 0);
	ck_assert_int_eq(ctl.backoff_until, 0);
	EXPECT_SPAWN(0, 0, 0, 21, 4);
	/* Nothing changed: nothing to log. */
	ck_assert_int_eq(pool_worker_exited(&ctl, 0, 10, 30), 0);

	/* Next crash starts from the bottom again. */
	(void)pool_worker_exited(&ctl, 1, 10, 40);
	ck_assert_int_eq(ctl.backoff_ms, 100);
}
END_TEST

START_TEST(test_backoff_reset_by_long_lived_death)
{
	(void)pool_worker_exited(&ctl, 1, 10, 0);
	(void)pool_worker_exited(&ctl, 1, 10, 0);
	(void)pool_worker_exited(&ctl, 1, 10, 0);
	ck_assert_int_eq(ctl.backoff_ms, 400);
	/* Killed by a signal after it served for a while: not a loop. */
	ck_assert_int_eq(pool_worker_exited(&ctl, 1, POOL_EARLY_DEATH_MS,
	    100), 1);
	ck_assert_int_eq(ctl.backoff_ms, 0);
	ck_assert_int_eq(ctl.crashes, 0);
	EXPECT_SPAWN(0, 0, 0, 101, 4);

	/* Just younger than the limit counts as early. */
	ck_assert_int_eq(pool_worker_exited(&ctl, 1, POOL_EARLY_DEATH_MS - 1,
	    200), 1);
	ck_assert_int_eq(ctl.backoff_ms, 100);
}
END_TEST

START_TEST(test_backoff_lived_and_spawn_failed)
{
	ck_assert_int_eq(pool_worker_lived(&ctl), 0);
	ck_assert_int_eq(pool_spawn_failed(&ctl, 1000), 1);
	ck_assert_int_eq(ctl.backoff_ms, 100);
	ck_assert_int_eq(ctl.backoff_until, 1100);
	EXPECT_SPAWN(0, 0, 0, 1050, 0);
	ck_assert_int_eq(dec.wake_ms, 1100);
	ck_assert_int_eq(pool_spawn_failed(&ctl, 1050), 1);
	ck_assert_int_eq(ctl.backoff_ms, 200);
	ck_assert_int_eq(pool_worker_lived(&ctl), 1);
	ck_assert_int_eq(ctl.backoff_ms, 0);
	ck_assert_int_eq(pool_worker_lived(&ctl), 0);
	EXPECT_SPAWN(0, 0, 0, 1060, 4);
}
END_TEST

/* ---- --max-requests jitter ------------------------------------------ */

START_TEST(test_jitter_bounds)
{
	static const long long	maxes[] = {
		1, 2, 3, 4, 5, 7, 8, 100, 1000, 999999, 1000000000000LL
	};
	static const unsigned	rs[] = {
		0, 1, 2, 3, 7, 250, 251, 1000, 65535, 0x7fffffffU,
		0x80000000U, UINT_MAX - 1, UINT_MAX
	};
	size_t			i, j;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		for (j = 0; j < sizeof(rs) / sizeof(rs[0]); j++) {
			long long m = maxes[i];
			long long l = pool_jitter_limit(m, rs[j]);

			ck_assert_int_le(l, m);
			ck_assert_int_ge(l, m - m / 4);
			ck_assert_int_ge(l, 1);
		}
}
END_TEST

START_TEST(test_jitter_small_and_zero)
{
	unsigned	r;

	for (r = 0; r < 100; r++) {
		ck_assert_int_eq(pool_jitter_limit(0, r), 0);
		ck_assert_int_eq(pool_jitter_limit(-5, r), 0);
		ck_assert_int_eq(pool_jitter_limit(1, r), 1);
		ck_assert_int_eq(pool_jitter_limit(2, r), 2);
		ck_assert_int_eq(pool_jitter_limit(3, r), 3);
	}
}
END_TEST

START_TEST(test_jitter_spreads)
{
	char		seen[251] = { 0 };
	unsigned	r;
	int		distinct = 0;
	long long	l;

	srandom(1);
	for (r = 0; r < 200; r++) {
		l = pool_jitter_limit(1000, (unsigned)random());
		ck_assert_int_ge(l, 750);
		ck_assert_int_le(l, 1000);
		if (!seen[l - 750]++)
			distinct++;
	}
	ck_assert_int_ge(distinct, 50);

	/* Both ends are reachable. */
	ck_assert_int_eq(pool_jitter_limit(1000, 0), 1000);
	ck_assert_int_eq(pool_jitter_limit(1000, 250), 750);
}
END_TEST

START_TEST(test_jitter_huge_max)
{
	/*
	 * --max-requests takes up to 10^12: max/4 + 1 does not fit in an
	 * unsigned int, and 4 * (2^32 - 1) made it wrap to exactly 0: a
	 * division by zero (SIGFPE) in every worker, a crash loop.
	 */
	static const long long	maxes[] = {
		4LL * 4294967295LL, 4LL * 4294967295LL + 3,
		4LL * 4294967296LL, 1000000000000LL
	};
	size_t			i;
	unsigned		r;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
		for (r = 0; r < 64; r++) {
			long long m = maxes[i];
			long long l = pool_jitter_limit(m, r * 0x9e3779b9U);

			ck_assert_int_le(l, m);
			ck_assert_int_ge(l, m - m / 4);
		}
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("pool");
	TCase	*tc;

	tc = check_tcase(s, "floor", CHECK_TESTS(test_boot_spawns_floor,
	    test_boot_floor_and_spares, test_floor_restored_at_once,
	    test_max_children_caps_boot, test_max_children_counts_retiring,
	    test_max_children_caps_spare_batch));
	tcase_add_checked_fixture(tc, setup, NULL);

	tc = check_tcase(s, "spares", CHECK_TESTS(test_spare_batches_double,
	    test_spare_batch_is_rate_not_shortfall, test_spare_rate_resets,
	    test_spare_min_zero));
	tcase_add_checked_fixture(tc, setup, NULL);

	tc = check_tcase(s, "burst", CHECK_TESTS(
	    test_burst_spawns_one_per_queued, test_burst_idle_serve_queue,
	    test_burst_capped_by_max_children, test_burst_held_by_backoff,
	    test_burst_absent_doubling_stays));
	tcase_add_checked_fixture(tc, setup, NULL);

	tc = check_tcase(s, "retire", CHECK_TESTS(test_retire_rate,
	    test_retire_surplus_only, test_retire_never_below_floor));
	tcase_add_checked_fixture(tc, setup, NULL);

	tc = check_tcase(s, "backoff", CHECK_TESTS(test_backoff_schedule,
	    test_backoff_grows_and_blocks, test_backoff_one_at_a_time,
	    test_backoff_reset_by_normal_exit,
	    test_backoff_reset_by_long_lived_death,
	    test_backoff_lived_and_spawn_failed));
	tcase_add_checked_fixture(tc, setup, NULL);

	check_tcase(s, "jitter", CHECK_TESTS(test_jitter_bounds,
	    test_jitter_small_and_zero, test_jitter_spreads,
	    test_jitter_huge_max));
	return s;
}
