/*
 * check_numparse.c: Check suite for numparse.c.
 *
 * Every number a user types goes through these three functions, so the
 * suite walks their edges: range limits, signs, blanks, junk, empty
 * strings, overflow, fractions finer than a millisecond, size suffixes.
 */
#include "config.h"

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "numparse.h"
#include "check_main.h"

static void
ok_num(const char *s, long long min, long long max, long long want)
{
	long long	 v = -12345;
	const char	*errstr = NULL;

	ck_assert_msg(num_parse(s, min, max, &v, &errstr) == 0,
	    "num_parse(\"%s\", %lld, %lld) failed: %s", s, min, max,
	    errstr ? errstr : "?");
	ck_assert_int_eq(v, want);
}

static void
bad_num(const char *s, long long min, long long max)
{
	long long	 v = 777;
	const char	*errstr = NULL;

	ck_assert_msg(num_parse(s, min, max, &v, &errstr) == -1,
	    "num_parse(\"%s\", %lld, %lld) accepted it as %lld", s, min,
	    max, v);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_int_eq(v, 777);	/* untouched on error */
}

START_TEST(test_num_ranges)
{
	ok_num("0", 0, 10, 0);
	ok_num("10", 0, 10, 10);
	ok_num("5", 5, 5, 5);
	ok_num("9223372036854775807", 0, LLONG_MAX, LLONG_MAX);
	ok_num("-9223372036854775808", LLONG_MIN, 0, LLONG_MIN);
	bad_num("11", 0, 10);
	bad_num("4", 5, 10);
	bad_num("9223372036854775808", 0, LLONG_MAX);
	bad_num("99999999999", 0, 1000000000);
}
END_TEST

START_TEST(test_num_range_errstr)
{
	long long	 v;
	const char	*errstr = NULL;

	ck_assert_int_eq(num_parse("11", 0, 10, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "too large");
	ck_assert_int_eq(num_parse("-1", 0, 10, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "too small");
	ck_assert_int_eq(num_parse("x", 0, 10, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "invalid");
	ck_assert_int_eq(num_parse("", 0, 10, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "empty");
}
END_TEST

START_TEST(test_num_junk)
{
	bad_num("abc", 0, 100);
	bad_num("5x", 0, 100);
	bad_num("x5", 0, 100);
	bad_num("1.5", 0, 100);
	bad_num("1e3", 0, 10000);
	bad_num("0x10", 0, 100);
	bad_num("1,000", 0, 10000);
	bad_num("--5", -10, 10);
}
END_TEST

START_TEST(test_num_blank)
{
	bad_num("", 0, 100);
	bad_num(NULL, 0, 100);
	bad_num(" 5", 0, 100);
	bad_num("\t5", 0, 100);
	bad_num("\n5", 0, 100);
	bad_num("5 ", 0, 100);
	bad_num(" ", 0, 100);
}
END_TEST

START_TEST(test_num_sign)
{
	ok_num("-5", -10, 10, -5);
	ok_num("-0", 0, 10, 0);
	bad_num("-1", 0, 10);
	bad_num("-", -10, 10);
	bad_num("+", -10, 10);
}
END_TEST

static void
ok_ms(const char *s, long long maxsec, long long want)
{
	long long	 v = -1;
	const char	*errstr = NULL;

	ck_assert_msg(num_parse_msec(s, maxsec, &v, &errstr) == 0,
	    "num_parse_msec(\"%s\", %lld) failed: %s", s, maxsec,
	    errstr ? errstr : "?");
	ck_assert_int_eq(v, want);
}

static void
bad_ms(const char *s, long long maxsec)
{
	long long	 v = 777;
	const char	*errstr = NULL;

	ck_assert_msg(num_parse_msec(s, maxsec, &v, &errstr) == -1,
	    "num_parse_msec(\"%s\", %lld) accepted it as %lld", s, maxsec, v);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_int_eq(v, 777);
}

START_TEST(test_msec_good)
{
	ok_ms("0", 3600, 0);
	ok_ms("1", 3600, 1000);
	ok_ms(".5", 3600, 500);
	ok_ms("0.5", 3600, 500);
	ok_ms("1.250", 3600, 1250);
	ok_ms("1.25", 3600, 1250);
	ok_ms("0.001", 3600, 1);
	ok_ms("0.0", 3600, 0);
	ok_ms("007", 3600, 7000);
	ok_ms("3599.999", 3600, 3599999);
}
END_TEST

START_TEST(test_msec_bad)
{
	const char	*errstr = NULL;
	long long	 v;

	bad_ms("1.2345", 3600);
	ck_assert_int_eq(num_parse_msec("1.2345", 3600, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "more precise than a millisecond");
	bad_ms("abc", 3600);
	bad_ms("", 3600);
	bad_ms(NULL, 3600);
	bad_ms("-1", 3600);
	bad_ms("+1", 3600);
	bad_ms(" 1", 3600);
	bad_ms("1 ", 3600);
	bad_ms(".", 3600);
	bad_ms(".x", 3600);
	bad_ms("1.", 3600);
	bad_ms("1.5s", 3600);
	bad_ms("1..5", 3600);
	bad_ms("1,5", 3600);
	bad_ms("1e3", 3600);
}
END_TEST

START_TEST(test_msec_limits)
{
	const char	*errstr = NULL;
	long long	 v;

	ok_ms("3600", 3600, 3600000);
	ok_ms("3600.0", 3600, 3600000);
	ok_ms("3600.000", 3600, 3600000);
	bad_ms("3600.001", 3600);
	bad_ms("3601", 3600);
	bad_ms("99999999999999999999999999", 3600);
	ck_assert_int_eq(num_parse_msec("3601", 3600, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "too large");
	ok_ms("0", 0, 0);
	bad_ms("0.001", 0);
}
END_TEST

static void
ok_size(const char *s, uint64_t max, uint64_t want)
{
	uint64_t	 v = 1;
	const char	*errstr = NULL;

	ck_assert_msg(num_parse_size(s, max, &v, &errstr) == 0,
	    "num_parse_size(\"%s\") failed: %s", s, errstr ? errstr : "?");
	ck_assert_msg(v == want, "num_parse_size(\"%s\") = %ju, want %ju",
	    s, (uintmax_t)v, (uintmax_t)want);
}

static void
bad_size(const char *s, uint64_t max)
{
	uint64_t	 v = 777;
	const char	*errstr = NULL;

	ck_assert_msg(num_parse_size(s, max, &v, &errstr) == -1,
	    "num_parse_size(\"%s\") accepted it as %ju", s, (uintmax_t)v);
	ck_assert_ptr_nonnull(errstr);
	ck_assert(v == 777);
}

START_TEST(test_size_suffixes)
{
	ok_size("0", UINT64_MAX, 0);
	ok_size("64", UINT64_MAX, 64);
	ok_size("1K", UINT64_MAX, 1024);
	ok_size("2k", UINT64_MAX, 2048);
	ok_size("16M", UINT64_MAX, 16ULL << 20);
	ok_size("3m", UINT64_MAX, 3ULL << 20);
	ok_size("1G", UINT64_MAX, 1ULL << 30);
	ok_size("4g", UINT64_MAX, 4ULL << 30);
	ok_size("0K", UINT64_MAX, 0);
}
END_TEST

START_TEST(test_size_bad)
{
	bad_size("", UINT64_MAX);
	bad_size(NULL, UINT64_MAX);
	bad_size("K", UINT64_MAX);
	bad_size("abc", UINT64_MAX);
	bad_size("1T", UINT64_MAX);
	bad_size("1KB", UINT64_MAX);
	bad_size("1KK", UINT64_MAX);
	bad_size("1.5M", UINT64_MAX);
	bad_size("-1", UINT64_MAX);
	bad_size("-1K", UINT64_MAX);
	bad_size(" 1K", UINT64_MAX);
	bad_size("1 K", UINT64_MAX);
	bad_size("123456789012345678901234567890123456789", UINT64_MAX);
}
END_TEST

START_TEST(test_size_overflow)
{
	const char	*errstr = NULL;
	uint64_t	 v;

	/* 2^34 G is 2^64: one past what a uint64_t holds. */
	bad_size("17179869184G", UINT64_MAX);
	ok_size("17179869183G", UINT64_MAX, 17179869183ULL << 30);
	/* Past LLONG_MAX before any suffix. */
	bad_size("9223372036854775808", UINT64_MAX);
	ok_size("9223372036854775807", UINT64_MAX, 9223372036854775807ULL);
	/* The caller's own ceiling. */
	ok_size("1K", 1024, 1024);
	bad_size("1025", 1024);
	bad_size("2K", 1024);
	ck_assert_int_eq(num_parse_size("2K", 1024, &v, &errstr), -1);
	ck_assert_str_eq(errstr, "too large");
	bad_size("1G", (1ULL << 30) - 1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("numparse");

	check_tcase(s, "num_parse", CHECK_TESTS(test_num_ranges,
	    test_num_range_errstr, test_num_junk, test_num_blank,
	    test_num_sign));

	check_tcase(s, "num_parse_msec", CHECK_TESTS(test_msec_good,
	    test_msec_bad, test_msec_limits));

	check_tcase(s, "num_parse_size", CHECK_TESTS(test_size_suffixes,
	    test_size_bad, test_size_overflow));
	return s;
}
