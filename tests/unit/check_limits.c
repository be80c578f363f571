/*
 * check_limits.c: Check suite for limit.c, the per-source table.
 *
 * Token bucket arithmetic and the table's eviction are driven with a
 * fake clock (the now argument); keys come from sockaddrs so the /64
 * grouping and the IPv4-mapped folding are tested as the daemon uses
 * them.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <sys/wait.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "limit.h"
#include "server.h"
#include "check_main.h"

static struct lim_key
key4(const char *a)
{
	struct sockaddr_in	sin;
	struct lim_key		k;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(4242);
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	ck_assert_int_eq(lim_key_from_sa((struct sockaddr *)&sin,
	    sizeof(sin), &k), 0);
	return k;
}

static struct lim_key
key6(const char *a)
{
	struct sockaddr_in6	sin6;
	struct lim_key		k;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	ck_assert_int_eq(lim_key_from_sa((struct sockaddr *)&sin6,
	    sizeof(sin6), &k), 0);
	return k;
}

START_TEST(test_bucket_arith)
{
	struct lim_bucket	b = { 0, 0 };
	int			i;

	/* 6 a minute: a full bucket is a burst of 6, then one per 10 s. */
	b.tokens = 6 * 60000;
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 0), 1);
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 0), 0);
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 9999), 0);
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 10000), 1);
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 10001), 0);
	/* Partial refills add up: no drift from rounding. */
	for (i = 1; i <= 10; i++)
		ck_assert_int_eq(lim_bucket_take(&b, 6, 60000,
		    10000 + i * 999), 0);
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 20000), 1);
	/* A long silence refills to the burst, never beyond. */
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 10000000), 1);
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 10000000), 0);
	/* A clock that goes back changes nothing. */
	ck_assert_int_eq(lim_bucket_take(&b, 6, 60000, 5), 0);
	/* rate 0: no limit. */
	ck_assert_int_eq(lim_bucket_take(&b, 0, 60000, 0), 1);
}
END_TEST

START_TEST(test_bucket_udp_second)
{
	struct lim_bucket	b = { 100 * 1000, 0 };
	int			i, ok = 0;

	for (i = 0; i < 300; i++)
		ok += lim_bucket_take(&b, 100, 1000, 0);
	ck_assert_int_eq(ok, 100);
	/* 10 ms later: one more token (100 a second). */
	ck_assert_int_eq(lim_bucket_take(&b, 100, 1000, 10), 1);
	ck_assert_int_eq(lim_bucket_take(&b, 100, 1000, 10), 0);
	/* Huge rates don't overflow. */
	b.tokens = 0;
	b.last_ms = 0;
	ck_assert_int_eq(lim_bucket_take(&b, 1000000000, 60000, 1), 1);
}
END_TEST

START_TEST(test_keys)
{
	struct lim_key	a, b;
	char		s[64];

	/* IPv6: one /64 is one source. */
	a = key6("2001:db8:1:2:aaaa::1");
	b = key6("2001:db8:1:2:ffff:1:2:3");
	ck_assert_mem_eq(&a, &b, sizeof(a));
	b = key6("2001:db8:1:3::1");
	ck_assert(memcmp(&a, &b, sizeof(a)) != 0);
	lim_key_str(&a, s, sizeof(s));
	ck_assert_str_eq(s, "2001:db8:1:2::/64");
	/* IPv4: by address; ::ffff:a.b.c.d is a.b.c.d, not a /64. */
	a = key4("192.0.2.1");
	b = key6("::ffff:192.0.2.1");
	ck_assert_mem_eq(&a, &b, sizeof(a));
	b = key4("192.0.2.2");
	ck_assert(memcmp(&a, &b, sizeof(a)) != 0);
	lim_key_str(&a, s, sizeof(s));
	ck_assert_str_eq(s, "192.0.2.1");
	/* UNIX sockets have no address: not limited. */
	{
		struct sockaddr_un	sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		ck_assert_int_eq(lim_key_from_sa((struct sockaddr *)&sun,
		    sizeof(sun), &a), -1);
	}
}
END_TEST

START_TEST(test_per_ip)
{
	struct lim_table	t;
	struct lim_key		a = key4("10.0.0.1"), b = key4("10.0.0.2");
	int			t1 = 0, t2 = 0, t3 = 0, tb = 0, log_it;

	ck_assert_int_eq(lim_create(&t, 16, 2, 0, 60000, _i), 0);
	ck_assert_int_eq(lim_admit(&t, &a, 0, &t1, &log_it), LIM_OK);
	ck_assert_int_eq(lim_admit(&t, &a, 0, &t2, &log_it), LIM_OK);
	ck_assert_int_ne(t1, 0);
	ck_assert_int_eq(lim_active(&t, &a), 2);
	ck_assert_int_eq(lim_admit(&t, &a, 1, &t3, &log_it), LIM_PER_IP);
	ck_assert_int_eq(log_it, 1);
	ck_assert_int_eq(t3, 0);
	/* Logged once a minute per source. */
	ck_assert_int_eq(lim_admit(&t, &a, 2, &t3, &log_it), LIM_PER_IP);
	ck_assert_int_eq(log_it, 0);
	ck_assert_int_eq(lim_admit(&t, &a, 60001, &t3, &log_it), LIM_PER_IP);
	ck_assert_int_eq(log_it, 1);
	/* Another source is not affected. */
	ck_assert_int_eq(lim_admit(&t, &b, 3, &tb, &log_it), LIM_OK);
	lim_release(&t, &t1);
	ck_assert_int_eq(t1, 0);
	ck_assert_int_eq(lim_active(&t, &a), 1);
	ck_assert_int_eq(lim_admit(&t, &a, 4, &t1, &log_it), LIM_OK);
	lim_release(&t, &t1);
	lim_release(&t, &t2);
	lim_release(&t, &tb);
	lim_release(&t, &tb);		/* 0: nothing */
	ck_assert_int_eq(lim_active(&t, &a), 0);
	lim_destroy(&t);
}
END_TEST

START_TEST(test_rate)
{
	struct lim_table	t;
	struct lim_key		a = key4("10.0.0.1");
	int			i, tk, log_it, ok = 0;

	/* --rate=3 with --per-ip=1: the per-ip refusal costs no token. */
	ck_assert_int_eq(lim_create(&t, 16, 1, 3, 60000, 0), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(lim_admit(&t, &a, i, &tk, &log_it), LIM_OK);
		ck_assert_int_eq(lim_admit(&t, &a, i, NULL, &log_it),
		    LIM_PER_IP);
		lim_release(&t, &tk);
	}
	ck_assert_int_eq(lim_admit(&t, &a, 10, &tk, &log_it), LIM_RATE);
	ck_assert_int_eq(log_it, 0);	/* the per-ip one at 0 was logged */
	ck_assert_int_eq(lim_admit(&t, &a, 19999, &tk, &log_it), LIM_RATE);
	ck_assert_int_eq(log_it, 0);
	ck_assert_int_eq(lim_admit(&t, &a, 20010, &tk, &log_it), LIM_OK);
	lim_release(&t, &tk);
	/* A minute of rate 3 from a fresh start: 3 + 3 = 6 at most. */
	for (i = 0; i < 600; i++)
		if (lim_admit(&t, &a, 100000 + i * 100, &tk, &log_it) ==
		    LIM_OK) {
			ok++;
			lim_release(&t, &tk);
		}
	ck_assert_int_le(ok, 6);
	ck_assert_int_ge(ok, 5);
	lim_destroy(&t);
}
END_TEST

START_TEST(test_eviction)
{
	struct lim_table	t;
	struct lim_key		k;
	char			a[32];
	int			i, tk[4] = { 0 }, x, log_it;

	ck_assert_int_eq(lim_create(&t, 4, 1, 1, 60000, 0), 0);
	/* Two sources hold connections: never evicted. */
	k = key4("10.0.0.1");
	ck_assert_int_eq(lim_admit(&t, &k, 0, &tk[0], &log_it), LIM_OK);
	k = key4("10.0.0.2");
	ck_assert_int_eq(lim_admit(&t, &k, 1, &tk[1], &log_it), LIM_OK);
	/* Many idle sources come and go through the other two entries. */
	for (i = 3; i < 50; i++) {
		(void)snprintf(a, sizeof(a), "10.0.0.%d", i);
		k = key4(a);
		ck_assert_int_eq(lim_admit(&t, &k, 10 + i, &x, &log_it),
		    LIM_OK);
		lim_release(&t, &x);
		ck_assert_uint_le(lim_count(&t), 4);
	}
	k = key4("10.0.0.1");
	ck_assert_int_eq(lim_active(&t, &k), 1);
	/* Its count survived: --per-ip still refuses... */
	ck_assert_int_eq(lim_admit(&t, &k, 100, &x, &log_it), LIM_PER_IP);
	/* ...while the oldest idle source was forgotten (fresh bucket). */
	k = key4("10.0.0.3");
	ck_assert_int_eq(lim_active(&t, &k), -1);
	ck_assert_int_eq(lim_admit(&t, &k, 100, &x, &log_it), LIM_OK);
	lim_release(&t, &x);
	/* The most recent idle one is still known: its bucket is empty. */
	k = key4("10.0.0.49");
	ck_assert_int_eq(lim_active(&t, &k), 0);
	ck_assert_int_eq(lim_admit(&t, &k, 100, &x, &log_it), LIM_RATE);
	lim_destroy(&t);
}
END_TEST

START_TEST(test_full)
{
	struct lim_table	t;
	struct lim_key		k;
	char			a[32];
	int			i, tk[4], x, log_it;

	ck_assert_int_eq(lim_create(&t, 4, 5, 0, 60000, 0), 0);
	for (i = 0; i < 4; i++) {
		(void)snprintf(a, sizeof(a), "10.1.0.%d", i);
		k = key4(a);
		ck_assert_int_eq(lim_admit(&t, &k, i, &tk[i], &log_it),
		    LIM_OK);
	}
	/* Every entry holds a connection: a fifth source is refused. */
	k = key4("10.1.0.99");
	ck_assert_int_eq(lim_admit(&t, &k, 10, &x, &log_it), LIM_FULL);
	ck_assert_int_eq(log_it, 1);
	/* Known sources still work. */
	k = key4("10.1.0.2");
	ck_assert_int_eq(lim_admit(&t, &k, 11, &x, &log_it), LIM_OK);
	lim_release(&t, &x);
	lim_release(&t, &tk[1]);
	k = key4("10.1.0.99");
	ck_assert_int_eq(lim_admit(&t, &k, 12, &x, &log_it), LIM_OK);
	k = key4("10.1.0.1");
	ck_assert_int_eq(lim_active(&t, &k), -1);	/* it was evicted */
	lim_destroy(&t);
}
END_TEST

START_TEST(test_unlimited)
{
	struct lim_table	t;
	struct lim_key		k = key4("10.0.0.1");
	int			i, tk, log_it;

	ck_assert_int_eq(lim_create(&t, 4, 0, 0, 60000, 0), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(lim_admit(&t, &k, 0, &tk, &log_it), LIM_OK);
	ck_assert_uint_eq(lim_count(&t), 0);
	lim_destroy(&t);
	ck_assert_int_eq(lim_create(&t, 1, 0, 0, 60000, 0), -1);
}
END_TEST


/* ---- issue 9: a table any worker can write ------------------------- */

/* The lock is the mapping's first word (struct lim_hdr in limit.c). */
#define LOCKWORD(t)	((volatile int32_t *)(void *)(t)->hdr)

static int64_t
wall_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A table in use: sources come and go, some hold connections. */
static void
workload(struct lim_table *t, int tk[8])
{
	struct lim_key	k;
	char		a[32];
	int		i, x, log_it;

	for (i = 0; i < 40; i++) {
		(void)snprintf(a, sizeof(a), "10.9.0.%d", i);
		k = key4(a);
		if (i < 8)
			ck_assert_int_eq(lim_admit(t, &k, i, &tk[i], &log_it),
			    LIM_OK);
		else if (lim_admit(t, &k, i, &x, &log_it) == LIM_OK)
			ck_assert_int_eq(lim_release(t, &x), 0);
	}
}

START_TEST(test_verify_sound)
{
	struct lim_table	t;
	uint8_t			seen[16];
	int			tk[8], i;

	ck_assert_int_eq(lim_create(&t, 16, 3, 100, 60000, 1), 0);
	ck_assert_int_eq(lim_verify(&t, seen, 1), 0);
	workload(&t, tk);
	ck_assert_uint_eq(lim_count(&t), 16);	/* full, evicting */
	ck_assert_int_eq(lim_verify(&t, seen, 100), 0);
	/* The master gives back what a dead worker held. */
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(lim_try_release(&t, tk[i], 100), 0);
	ck_assert_int_eq(lim_verify(&t, seen, 100), 0);
	/* Given back twice: the count would go negative.  Corrupt. */
	ck_assert_int_eq(lim_try_release(&t, tk[0], 100), -1);
	ck_assert_int_eq(lim_verify(&t, seen, 100), -1);	/* the hint */
	lim_destroy(&t);
}
END_TEST

START_TEST(test_bad_tickets)
{
	struct lim_table	t;
	int			tk[8], bad;

	ck_assert_int_eq(lim_create(&t, 16, 3, 0, 60000, 1), 0);
	workload(&t, tk);
	ck_assert_int_eq(lim_try_release(&t, 17, 1), -1);
	ck_assert_int_eq(lim_try_release(&t, -5, 1), -1);
	ck_assert_int_eq(lim_try_release(&t, INT32_MIN, 1), -1);
	/* A worker's release of a bad ticket: no crash, the hint set. */
	bad = 1000000;
	ck_assert_int_eq(lim_release(&t, &bad), -1);
	ck_assert_int_eq(bad, 0);
	lim_destroy(&t);
}
END_TEST

/* Links pointing anywhere: every operation ends, in bounds. */
START_TEST(test_links_cycle)
{
	struct lim_table	t;
	struct lim_key		k = key4("10.8.0.99");
	uint8_t			seen[4];
	int			tk[4], i, x, log_it;
	char			a[32];

	ck_assert_int_eq(lim_create(&t, 4, 1, 0, 60000, 1), 0);
	for (i = 0; i < 4; i++) {
		(void)snprintf(a, sizeof(a), "10.8.0.%d", i);
		k = key4(a);
		ck_assert_int_eq(lim_admit(&t, &k, i, &tk[i], &log_it),
		    LIM_OK);
	}
	/* Every entry its own LRU predecessor and hash successor. */
	for (i = 0; i < 4; i++) {
		t.e[i].prev = (uint32_t)i + 1;
		t.e[i].hnext = (uint32_t)i + 1;
	}
	k = key4("10.8.0.99");
	ck_assert_int_eq(lim_admit(&t, &k, 10, &x, &log_it), LIM_CORRUPT);
	ck_assert_int_eq(lim_verify(&t, seen, 10), -1);
	lim_destroy(&t);
}
END_TEST

/* Random bytes everywhere, the lock word freed: nothing crashes. */
START_TEST(test_random_bytes)
{
	struct lim_table	t;
	struct lim_key		k;
	uint8_t			seen[64];
	char			a[32];
	int			round, i, x, log_it, bad = 0;

	ck_assert_int_eq(lim_create(&t, 64, 2, 10, 60000, 1), 0);
	for (round = 0; round < 300; round++) {
		arc4random_buf(t.hdr, t.maplen);
		*LOCKWORD(&t) = 0;
		for (i = 0; i < 8; i++) {
			(void)snprintf(a, sizeof(a), "10.7.%d.%d", round % 256,
			    i);
			k = key4(a);
			x = 0;
			if (lim_admit(&t, &k, 1000 + i, &x, &log_it) ==
			    LIM_CORRUPT)
				bad++;
			else if (x != 0)
				(void)lim_release(&t, &x);
			*LOCKWORD(&t) = 0;
		}
		x = (int)(arc4random() % 200) - 50;
		(void)lim_try_release(&t, x, 5000);
		*LOCKWORD(&t) = 0;
		ck_assert_int_eq(lim_verify(&t, seen, 5000), -1);
		ck_assert_int_eq(*LOCKWORD(&t), 0);	/* given back */
	}
	ck_assert_int_gt(bad, 0);
	lim_destroy(&t);
}
END_TEST

/* The master never waits: busy, then stuck after LIM_STUCK_MS. */
START_TEST(test_stuck_lock)
{
	struct lim_table	t;
	uint8_t			seen[16];
	volatile uint32_t	*seq;
	int			tk[8];

	ck_assert_int_eq(lim_create(&t, 16, 3, 0, 60000, 1), 0);
	workload(&t, tk);
	seq = (volatile uint32_t *)(void *)((char *)t.hdr + 4);
	*LOCKWORD(&t) = 4242;
	ck_assert_int_eq(lim_held_by(&t, 4242), 1);
	ck_assert_int_eq(lim_held_by(&t, 4243), 0);
	ck_assert_int_eq(lim_verify(&t, seen, 1000), 1);
	ck_assert_int_eq(lim_try_release(&t, tk[0], 1000 + LIM_STUCK_MS - 1),
	    1);
	/* Another acquisition in between: not the same hold. */
	(*seq)++;
	ck_assert_int_eq(lim_verify(&t, seen, 1000 + LIM_STUCK_MS), 1);
	ck_assert_int_eq(lim_verify(&t, seen, 1000 + 2 * LIM_STUCK_MS - 1),
	    1);
	ck_assert_int_eq(lim_verify(&t, seen, 1000 + 2 * LIM_STUCK_MS), -1);
	ck_assert_int_eq(*LOCKWORD(&t), 4242);	/* never taken over */
	/* Freed: sound again. */
	*LOCKWORD(&t) = 0;
	ck_assert_int_eq(lim_verify(&t, seen, 99999), 0);
	lim_destroy(&t);
}
END_TEST

/* A worker waits at most LIM_LOCK_WAIT_MS, then calls it corrupt. */
START_TEST(test_worker_bounded_wait)
{
	struct lim_table	t;
	struct lim_key		k = key4("10.6.0.1");
	uint8_t			seen[16];
	int64_t			t0;
	int			x = 0, log_it;

	ck_assert_int_eq(lim_create(&t, 16, 3, 0, 60000, 1), 0);
	*LOCKWORD(&t) = 4242;
	t0 = wall_ms();
	ck_assert_int_eq(lim_admit(&t, &k, 1, &x, &log_it), LIM_CORRUPT);
	ck_assert_int_ge(wall_ms() - t0, LIM_LOCK_WAIT_MS - 1);
	ck_assert_int_lt(wall_ms() - t0, LIM_LOCK_WAIT_MS * 5);
	ck_assert_int_eq(x, 0);
	*LOCKWORD(&t) = 0;
	ck_assert_int_eq(lim_verify(&t, seen, 1), -1);	/* the hint */
	lim_destroy(&t);
}
END_TEST

/* Two processes hammer one shared table: counts stay exact. */
START_TEST(test_lock_two_processes)
{
	struct lim_table	t;
	struct lim_key		k = key4("10.5.0.1");
	uint8_t			seen[16];
	pid_t			pid;
	int			i, x, log_it, st;

	ck_assert_int_eq(lim_create(&t, 16, 1000000, 0, 60000, 1), 0);
	ck_assert_int_ge(pid = fork(), 0);
	for (i = 0; i < 20000; i++) {
		if (lim_admit(&t, &k, 1, &x, &log_it) != LIM_OK)
			_exit(3);
		if (lim_release(&t, &x) != 0)
			_exit(4);
	}
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_int_eq(lim_active(&t, &k), 0);
	ck_assert_int_eq(lim_verify(&t, seen, 1), 0);
	lim_destroy(&t);
}
END_TEST

/* ---- the master's glue --------------------------------------------- */

static struct options	gopt;
static struct server	gsrv;

static void
glue_setup(void)
{
	memset(&gopt, 0, sizeof(gopt));
	memset(&gsrv, 0, sizeof(gsrv));
	gopt.per_ip = 2;
	gopt.rate = 0;
	gopt.max_children = 4;
	gopt.model = MODEL_PREFORK;
	gsrv.opt = &gopt;
	ck_assert_int_eq(limits_setup(&gsrv), 0);
	ck_assert_ptr_nonnull(gsrv.lim);
}

/* The master's scratch is made once in a real run; here once a test. */
static void
glue_teardown(void)
{
	free(gsrv.lim->seen);
	free(gsrv.lim->orphan);
	gsrv.lim->seen = NULL;
	gsrv.lim->orphan = NULL;
}

static struct sockaddr_in
sin4(const char *a)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	return sin;
}

/* Two connections from a: --per-ip=2 reached, a third refused. */
static void
fill_per_ip(const struct sockaddr_in *a, int *t1, int *t2)
{
	int	t3 = 5;

	ck_assert_int_eq(limits_admit(&gsrv, (const struct sockaddr *)a,
	    sizeof(*a), t1), 0);
	ck_assert_int_eq(limits_admit(&gsrv, (const struct sockaddr *)a,
	    sizeof(*a), t2), 0);
	ck_assert_int_eq(limits_admit(&gsrv, (const struct sockaddr *)a,
	    sizeof(*a), &t3), -1);
	ck_assert_int_eq(t3, 0);
}

START_TEST(test_glue_reaped)
{
	struct sockaddr_in	a = sin4("10.4.0.1");
	struct lim_key		k = key4("10.4.0.1");
	int			t1, t2;

	fill_per_ip(&a, &t1, &t2);
	/* The worker holding t1 died: the master gives it back. */
	ck_assert_int_eq(limits_reaped(&gsrv, 777, t1), 0);
	ck_assert_int_eq(lim_active(&gsrv.lim->conn, &k), 1);
	ck_assert_int_eq(limits_reaped(&gsrv, 778, 0), 0);
	ck_assert_int_eq(limits_check(&gsrv), 0);
	/* Lock busy: queued, given back by a later check. */
	*LOCKWORD(&gsrv.lim->conn) = 555;
	ck_assert_int_eq(limits_reaped(&gsrv, 779, t2), 0);
	ck_assert_int_eq(limits_check(&gsrv), 0);
	*LOCKWORD(&gsrv.lim->conn) = 0;
	ck_assert_int_eq(limits_check(&gsrv), 0);
	ck_assert_int_eq(lim_active(&gsrv.lim->conn, &k), 0);
	/* A ticket out of range, or one given back already. */
	ck_assert_int_eq(limits_reaped(&gsrv, 780, 1 << 30), -1);
	ck_assert_int_eq(limits_reaped(&gsrv, 781, -1), -1);
	ck_assert_int_eq(limits_reaped(&gsrv, 782, t1), -1);
}
END_TEST

START_TEST(test_glue_dead_holder)
{
	/* Reaped while its pid is in the lock word: half-linked, renew. */
	*LOCKWORD(&gsrv.lim->conn) = 4321;
	ck_assert_int_eq(limits_reaped(&gsrv, 4322, 0), 0);
	ck_assert_int_eq(limits_reaped(&gsrv, 4321, 0), -1);
}
END_TEST

START_TEST(test_glue_renew)
{
	struct sockaddr_in	a = sin4("10.3.0.1");
	struct lim_key		k = key4("10.3.0.1");
	struct lim_table	old;
	struct stats		st;
	int			t1, t2;

	fill_per_ip(&a, &t1, &t2);
	gsrv.lim->ctr->udp_in = 40;
	arc4random_buf(gsrv.lim->conn.hdr, gsrv.lim->conn.maplen);
	*LOCKWORD(&gsrv.lim->conn) = 0;
	ck_assert_int_eq(limits_check(&gsrv), -1);
	old = gsrv.lim->conn;
	ck_assert_uint_eq(limits_epoch(&gsrv), 0);
	ck_assert_int_eq(limits_renew(&gsrv), 0);
	ck_assert_uint_eq(limits_epoch(&gsrv), 1);
	ck_assert_ptr_ne(gsrv.lim->conn.hdr, old.hdr);
	/* Same geometry, a new seed, an empty table. */
	ck_assert_uint_eq(gsrv.lim->conn.cap, old.cap);
	ck_assert_int_eq(gsrv.lim->conn.per_ip, 2);
	ck_assert_int_eq(limits_check(&gsrv), 0);
	ck_assert_int_eq(lim_active(&gsrv.lim->conn, &k), -1);
	/* The counters never go back. */
	memset(&st, 0, sizeof(st));
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_uint_eq(st.refused_per_ip, 1);
	ck_assert_uint_eq(st.udp_in, 40);
	SHMSTAT_ADD(gsrv.lim->ctr, udp_in, 2);
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.udp_in, 42);
	/* Serving goes on. */
	ck_assert_int_eq(limits_admit(&gsrv, (struct sockaddr *)&a,
	    sizeof(a), &t1), 0);
	ck_assert_int_eq(lim_active(&gsrv.lim->conn, &k), 1);
}
END_TEST

/* Counters that go back or leap are not believed, and say corrupt. */
START_TEST(test_glue_counters)
{
	struct stats	st;

	memset(&st, 0, sizeof(st));
	gsrv.lim->ctr->udp_in = 10;
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.udp_in, 10);
	ck_assert_int_eq(limits_check(&gsrv), 0);
	gsrv.lim->ctr->udp_in = 0x7e7e7e7e7e7e7e7eULL;	/* a worker's doing */
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.udp_in, 10);
	ck_assert_int_eq(limits_check(&gsrv), -1);
	gsrv.lim->ctr->udp_in = 3;			/* back */
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.udp_in, 10);
	/* Renewed: the believed total is the base, the garbage is gone. */
	ck_assert_int_eq(limits_renew(&gsrv), 0);
	ck_assert_int_eq(limits_check(&gsrv), 0);
	gsrv.lim->ctr->udp_in = 5;
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.udp_in, 15);
	/* accept_failed: the master's own plus the workers'. */
	st.accept_failed_master = 2;
	limits_count_accept_failed(&gsrv);
	limits_count_accept_failed(&gsrv);
	limits_fold(&gsrv, &st);
	ck_assert_uint_eq(st.accept_failed, 4);
}
END_TEST

/* The fork model's table is the master's own: renewal keeps it. */
START_TEST(test_glue_fork_keeps)
{
	struct options		opt = gopt;
	struct server		srv;
	struct sockaddr_in	a = sin4("10.2.0.1");
	struct lim_key		k = key4("10.2.0.1");
	int			t1;

	memset(&srv, 0, sizeof(srv));
	opt.model = MODEL_FORK;
	srv.opt = &opt;
	ck_assert_int_eq(limits_setup(&srv), 0);
	ck_assert_int_eq(srv.lim->conn.shared, 0);
	ck_assert_int_eq(limits_admit(&srv, (struct sockaddr *)&a,
	    sizeof(a), &t1), 0);
	ck_assert_int_eq(limits_check(&srv), 0);
	ck_assert_int_eq(limits_renew(&srv), 0);
	ck_assert_int_eq(lim_active(&srv.lim->conn, &k), 1);
	limits_release(&srv, &t1);
	ck_assert_int_eq(lim_active(&srv.lim->conn, &k), 0);
}
END_TEST

/*
 * issue #12, fork model: a child's proxied ticket in its cell comes back
 * when the master forgets the child, the prefork way (trylock, queue,
 * renew on a bad value or a dead holder).
 */
START_TEST(test_glue_cells)
{
	struct options		opt = gopt;
	struct server		srv;
	struct sockaddr_in	a = sin4("10.5.0.1");
	struct lim_key		k = key4("10.5.0.1");
	int			c1, c2, c3, *t;

	memset(&srv, 0, sizeof(srv));
	opt.model = MODEL_FORK;
	opt.nproxy = 1;
	srv.opt = &opt;
	ck_assert_int_eq(limits_setup(&srv), 0);
	ck_assert_ptr_nonnull(srv.lim->proxied.hdr);
	c1 = limits_cell_take(&srv);
	c2 = limits_cell_take(&srv);
	ck_assert_int_ge(c1, 0);
	ck_assert_int_ne(c1, c2);
	ck_assert_int_eq(limits_admit_proxied(&srv, (struct sockaddr *)&a,
	    sizeof(a), limits_cell(&srv, c1)), 0);
	ck_assert_int_eq(limits_admit_proxied(&srv, (struct sockaddr *)&a,
	    sizeof(a), limits_cell(&srv, c2)), 0);
	ck_assert_int_eq(lim_active(&srv.lim->proxied, &k), 2);
	/* c1's child died mid-connection: its count comes back. */
	ck_assert_int_eq(limits_cell_reaped(&srv, c1, 901), 0);
	ck_assert_int_eq(lim_active(&srv.lim->proxied, &k), 1);
	/* Lock busy (another child): queued, given back by a check. */
	*LOCKWORD(&srv.lim->proxied) = 555;
	ck_assert_int_eq(limits_cell_reaped(&srv, c2, 902), 0);
	ck_assert_uint_eq(srv.lim->nporphan, 1);
	*LOCKWORD(&srv.lim->proxied) = 0;
	ck_assert_int_eq(limits_check(&srv), 0);
	ck_assert_int_eq(lim_active(&srv.lim->proxied, &k), 0);
	/* A child that ended well left its cell zero: nothing to do. */
	c3 = limits_cell_take(&srv);
	ck_assert_int_eq(limits_cell_reaped(&srv, c3, 903), 0);
	/* A cell scribbled out of range: the table is renewed. */
	c3 = limits_cell_take(&srv);
	t = limits_cell(&srv, c3);
	*t = 1 << 30;
	ck_assert_int_eq(limits_cell_reaped(&srv, c3, 904), -1);
	ck_assert_int_eq(limits_check(&srv), -1);
	ck_assert_int_eq(limits_renew(&srv), 0);
	ck_assert_int_eq(limits_check(&srv), 0);
	/* A holder that died with the lock: renewed too. */
	c1 = limits_cell_take(&srv);
	*LOCKWORD(&srv.lim->proxied) = 905;
	ck_assert_int_eq(limits_cell_reaped(&srv, c1, 905), -1);
	ck_assert_int_eq(limits_renew(&srv), 0);
	/* A cell taken before a renewal names the old table: forgotten. */
	c2 = limits_cell_take(&srv);
	*limits_cell(&srv, c2) = 1;
	ck_assert_int_eq(limits_renew(&srv), 0);
	ck_assert_int_eq(limits_cell_reaped(&srv, c2, 906), 0);
	ck_assert_int_eq(limits_check(&srv), 0);
	/* No cell, no pointer; -1 is a no-op. */
	ck_assert_ptr_null(limits_cell(&srv, -1));
	ck_assert_int_eq(limits_cell_reaped(&srv, -1, 907), 0);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc = tcase_create("bucket");

	tcase_add_test(tc, test_bucket_arith);
	tcase_add_test(tc, test_bucket_udp_second);
	suite_add_tcase(s, tc);
	tc = tcase_create("table");
	tcase_add_test(tc, test_keys);
	/* _i: 0 private, 1 shared with the process-shared lock */
	tcase_add_loop_test(tc, test_per_ip, 0, 2);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_unlimited);
	suite_add_tcase(s, tc);
	tc = tcase_create("untrusted");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_verify_sound);
	tcase_add_test(tc, test_bad_tickets);
	tcase_add_test(tc, test_links_cycle);
	tcase_add_test(tc, test_random_bytes);
	tcase_add_test(tc, test_stuck_lock);
	tcase_add_test(tc, test_worker_bounded_wait);
	tcase_add_test(tc, test_lock_two_processes);
	suite_add_tcase(s, tc);
	tc = tcase_create("master");
	tcase_add_checked_fixture(tc, glue_setup, glue_teardown);
	tcase_add_test(tc, test_glue_reaped);
	tcase_add_test(tc, test_glue_dead_holder);
	tcase_add_test(tc, test_glue_renew);
	tcase_add_test(tc, test_glue_counters);
	tcase_add_test(tc, test_glue_fork_keeps);
	tcase_add_test(tc, test_glue_cells);
	suite_add_tcase(s, tc);
	return s;
}

