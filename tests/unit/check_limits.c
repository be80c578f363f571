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

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
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

Suite *
check_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc;

	check_tcase(s, "bucket", CHECK_TESTS(test_bucket_arith,
	    test_bucket_udp_second));

	tc = check_tcase(s, "table", CHECK_TESTS(test_keys, test_rate,
	    test_eviction, test_full, test_unlimited));
	/* _i: 0 private, 1 shared with the process-shared lock */
	tcase_add_loop_test(tc, test_per_ip, 0, 2);
	return s;
}
