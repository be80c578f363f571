/*
 * check_hist.c: Check suite for the latency histogram (src/client/hist.c).
 *
 * Known inputs with known answers: percentiles must land within one
 * bucket (1/64) above the true value and never below it, because the
 * histogram reports a bucket's highest value; min, max and count exact.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "hist.h"
#include "check_main.h"

/* v is a fair report of true value t: not below it, within 1/64 over. */
static void
ck_close(uint64_t v, uint64_t t)
{
	ck_assert_uint_ge(v, t);
	ck_assert_uint_le(v, t + t / 64 + 1);
}

START_TEST(test_empty)
{
	struct hist	 h;

	hist_init(&h);
	ck_assert_uint_eq(h.count, 0);
	ck_assert_uint_eq(hist_percentile(&h, 50), 0);
	ck_assert_uint_eq(hist_percentile(&h, 99.9), 0);
	ck_assert_uint_eq(hist_percentile(&h, 100), 0);
	ck_assert(hist_mean(&h) == 0.0);
}
END_TEST

START_TEST(test_single)
{
	struct hist	 h;
	uint64_t	 vals[] = {
		0, 1, 127, 128, 5000, 123456789, 1ULL << 45
	};
	size_t		 i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		hist_init(&h);
		hist_record(&h, vals[i]);
		/* One sample: every percentile is that sample, exactly. */
		ck_assert_uint_eq(hist_percentile(&h, 0), vals[i]);
		ck_assert_uint_eq(hist_percentile(&h, 50), vals[i]);
		ck_assert_uint_eq(hist_percentile(&h, 99.9), vals[i]);
		ck_assert_uint_eq(hist_percentile(&h, 100), vals[i]);
		ck_assert_uint_eq(h.min, vals[i]);
		ck_assert_uint_eq(h.max, vals[i]);
		ck_assert_uint_eq(h.count, 1);
	}
}
END_TEST

START_TEST(test_uniform)
{
	struct hist	 h;
	uint64_t	 v;

	hist_init(&h);
	for (v = 1; v <= 10000; v++)
		hist_record(&h, v);
	ck_assert_uint_eq(h.count, 10000);
	ck_assert_uint_eq(h.min, 1);
	ck_assert_uint_eq(h.max, 10000);
	ck_close(hist_percentile(&h, 50), 5000);
	ck_close(hist_percentile(&h, 90), 9000);
	ck_close(hist_percentile(&h, 99), 9900);
	ck_close(hist_percentile(&h, 99.9), 9990);
	ck_assert_uint_eq(hist_percentile(&h, 100), 10000);
	ck_assert(hist_mean(&h) > 5000.4 && hist_mean(&h) < 5000.6);
}
END_TEST

START_TEST(test_exact_small)
{
	struct hist	 h;
	uint64_t	 v;

	/* Below 128 every value has its own bucket. */
	hist_init(&h);
	for (v = 0; v < 100; v++)
		hist_record(&h, v);
	ck_assert_uint_eq(hist_percentile(&h, 50), 49);
	ck_assert_uint_eq(hist_percentile(&h, 90), 89);
	ck_assert_uint_eq(hist_percentile(&h, 1), 0);
}
END_TEST

START_TEST(test_outlier_max)
{
	struct hist	 h;
	int		 i;

	hist_init(&h);
	for (i = 0; i < 999; i++)
		hist_record(&h, 270);
	hist_record(&h, 27001);
	ck_close(hist_percentile(&h, 50), 270);
	ck_close(hist_percentile(&h, 99.9), 270);
	/* The max is exact, not its bucket's top. */
	ck_assert_uint_eq(hist_percentile(&h, 100), 27001);
	ck_assert_uint_eq(h.max, 27001);
}
END_TEST

START_TEST(test_merge)
{
	struct hist	 a, b, all;
	uint64_t	 v;

	hist_init(&a);
	hist_init(&b);
	hist_init(&all);
	for (v = 1; v <= 20000; v++) {
		hist_record(v % 2 ? &a : &b, v * 3);
		hist_record(&all, v * 3);
	}
	hist_merge(&a, &b);
	ck_assert_uint_eq(a.count, all.count);
	ck_assert_uint_eq(a.sum, all.sum);
	ck_assert_uint_eq(a.min, 3);
	ck_assert_uint_eq(a.max, 60000);
	ck_assert_uint_eq(hist_percentile(&a, 50), hist_percentile(&all, 50));
	ck_assert_uint_eq(hist_percentile(&a, 99), hist_percentile(&all, 99));

	/* Merging into or from an empty one changes nothing else. */
	hist_init(&b);
	hist_merge(&a, &b);
	ck_assert_uint_eq(a.count, all.count);
	hist_merge(&b, &all);
	ck_assert_uint_eq(b.min, 3);
	ck_assert_uint_eq(hist_percentile(&b, 90), hist_percentile(&all, 90));
}
END_TEST

START_TEST(test_precision)
{
	struct hist	 h;
	uint64_t	 v;

	/* Every value, alone, is reported within 1/64 at p50 of a pair. */
	for (v = 1; v < (1ULL << 36); v = v * 3 + 1) {
		hist_init(&h);
		hist_record(&h, v);
		hist_record(&h, v * 4);
		ck_close(hist_percentile(&h, 50), v);
	}
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("hist");

	check_tcase(s, "core", CHECK_TESTS(test_empty, test_single,
	    test_uniform, test_exact_small, test_outlier_max, test_merge,
	    test_precision));

	return s;
}
