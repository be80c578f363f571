/*
 * check_echoc_opts.c: Check suite for echoc's command line
 * (src/client/echoc_opts.c) and the number parsing it relies on.
 *
 * Usage errors must come back as -1 with a message that names the
 * option and the value, since that is what the user sees before exit 64.
 */
#include "config.h"

#include <sys/socket.h>

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "echoc_opts.h"
#include "numparse.h"
#include "check_main.h"

static struct echoc_opts	 o;
static char			 msg[512];

/* Parse a NULL-terminated list of words as argv[1..]. */
static int
parse(const char *first, ...)
{
	static char	*argv[64];
	va_list		 ap;
	const char	*w;
	int		 argc = 0;

	argv[argc++] = (char *)"echoc";
	va_start(ap, first);
	for (w = first; w != NULL && argc < 63; w = va_arg(ap, const char *))
		argv[argc++] = (char *)w;
	va_end(ap);
	argv[argc] = NULL;
	return echoc_opts_parse(&o, argc, argv, msg, sizeof(msg));
}

START_TEST(test_send_defaults)
{
	ck_assert_int_eq(parse("localhost", "7", "hi", "there", NULL), 0);
	ck_assert_int_eq(o.mode, ECHOC_SEND);
	ck_assert_str_eq(o.host, "localhost");
	ck_assert_str_eq(o.port, "7");
	ck_assert_int_eq(o.nmessages, 2);
	ck_assert_str_eq(o.messages[1], "there");
	ck_assert_int_eq(o.timeout_ms, 10000);
	ck_assert_int_eq(o.family, AF_UNSPEC);

	ck_assert_int_eq(parse("-u4", "-t", "0.5", "h", "echo", NULL), 0);
	ck_assert_int_eq(o.udp, 1);
	ck_assert_int_eq(o.family, AF_INET);
	ck_assert_int_eq(o.timeout_ms, 500);
	ck_assert_ptr_null(o.messages);

	ck_assert_int_eq(parse("-u", "h", "7", NULL), 0);
	ck_assert_int_eq(o.timeout_ms, 2000);
}
END_TEST

START_TEST(test_bench_defaults)
{
	ck_assert_int_eq(parse("--bench=conn", "h", "7", NULL), 0);
	ck_assert_int_eq(o.mode, ECHOC_BENCH_CONN);
	ck_assert_int_eq(o.concurrency, 1);
	ck_assert_int_eq(o.duration_ms, 5000);
	ck_assert_int_eq(o.count, 0);
	ck_assert_uint_eq(o.size, 64);
	ck_assert_int_eq(o.max_time_ms, 35000);

	ck_assert_int_eq(parse("--bench", "bulk", "-c", "2", "-n", "10",
	    "--json", "-6", "h", "7", NULL), 0);
	ck_assert_int_eq(o.mode, ECHOC_BENCH_BULK);
	ck_assert_uint_eq(o.size, 16ULL << 20);
	ck_assert_int_eq(o.count, 10);
	ck_assert_int_eq(o.json, 1);
	ck_assert_int_eq(o.family, AF_INET6);

	ck_assert_int_eq(parse("-b", "rtt", "-s", "4K", "-d", "1.5",
	    "--warmup=0.25", "--max-time=9", "h", "7", NULL), 0);
	ck_assert_uint_eq(o.size, 4096);
	ck_assert_int_eq(o.duration_ms, 1500);
	ck_assert_int_eq(o.warmup_ms, 250);
	ck_assert_int_eq(o.max_time_ms, 9000);

	ck_assert_int_eq(parse("--bench=idle", "-c", "100", "-d", "2",
	    "h", "7", NULL), 0);
	ck_assert_int_eq(o.mode, ECHOC_BENCH_IDLE);
	ck_assert_int_eq(o.max_time_ms, 2000 + 30000 + 1000);
}
END_TEST

/* Each bad command line fails and its message holds the given words. */
static void
ck_bad(const char *want1, const char *want2)
{
	ck_assert_ptr_nonnull(strstr(msg, want1));
	if (want2 != NULL)
		ck_assert_ptr_nonnull(strstr(msg, want2));
}

START_TEST(test_usage_errors)
{
	ck_assert_int_eq(parse("--bench=foo", "h", "7", NULL), -1);
	ck_bad("--bench", "foo");
	ck_assert_int_eq(parse("--bench=conn", "-c", "0", "h", "7", NULL), -1);
	ck_bad("-c", "0");
	ck_assert_int_eq(parse("--bench=conn", "-c", "12x", "h", "7", NULL),
	    -1);
	ck_bad("-c", "12x");
	ck_assert_int_eq(parse("--bench=conn", "--concurrency=-3", "h", "7",
	    NULL), -1);
	ck_bad("--concurrency", "-3");
	ck_assert_int_eq(parse("--bench=conn", "-s", "3X", "h", "7", NULL),
	    -1);
	ck_bad("-s", "3X");
	ck_assert_int_eq(parse("--bench=rtt", "-s", "2G", "h", "7", NULL), -1);
	ck_bad("-s", "too large");
	ck_assert_int_eq(parse("--bench=conn", "-d", "abc", "h", "7", NULL),
	    -1);
	ck_bad("-d", "abc");
	ck_assert_int_eq(parse("--bench=conn", "-n", "5", "-d", "1", "h", "7",
	    NULL), -1);
	ck_bad("-n", "-d");
	ck_assert_int_eq(parse("--bench=idle", "-n", "5", "h", "7", NULL), -1);
	ck_bad("-n", "idle");
	ck_assert_int_eq(parse("--bench=conn", "-u", "h", "7", NULL), -1);
	ck_bad("-u", NULL);
	ck_assert_int_eq(parse("--bench=conn", "h", "7", "extra", NULL), -1);
	ck_bad("extra", NULL);
	ck_assert_int_eq(parse("-c", "4", "h", "7", NULL), -1);
	ck_bad("-c", "--bench");
	ck_assert_int_eq(parse("-x", "h", "7", NULL), -1);
	ck_bad("-x", NULL);
	ck_assert_int_eq(parse("--frobnicate", "h", "7", NULL), -1);
	ck_bad("--frobnicate", NULL);
	ck_assert_int_eq(parse("h", "7", "-t", NULL), -1);
	ck_bad("-t", NULL);
	ck_assert_int_eq(parse("h", "70000", NULL), -1);
	ck_bad("70000", NULL);
	ck_assert_int_eq(parse("h", "0", NULL), -1);
	ck_bad("port", "0");
	ck_assert_int_eq(parse("h", NULL), -1);
	ck_assert_int_eq(parse(NULL), -1);
}
END_TEST

START_TEST(test_help_version)
{
	ck_assert_int_eq(parse("-h", NULL), 0);
	ck_assert_int_eq(o.action, ECHOC_HELP);
	ck_assert_int_eq(parse("--version", NULL), 0);
	ck_assert_int_eq(o.action, ECHOC_VERSION);
}
END_TEST

START_TEST(test_numparse)
{
	const char	*e;
	long long	 v;
	uint64_t	 u;

	ck_assert_int_eq(num_parse("42", 1, 100, &v, &e), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(num_parse("101", 1, 100, &v, &e), -1);
	ck_assert_int_eq(num_parse("4x", 1, 100, &v, &e), -1);
	ck_assert_int_eq(num_parse("", 1, 100, &v, &e), -1);

	ck_assert_int_eq(num_parse_msec("0.25", 100, &v, &e), 0);
	ck_assert_int_eq(v, 250);
	ck_assert_int_eq(num_parse_msec("3", 100, &v, &e), 0);
	ck_assert_int_eq(v, 3000);
	ck_assert_int_eq(num_parse_msec(".5", 100, &v, &e), 0);
	ck_assert_int_eq(v, 500);
	ck_assert_int_eq(num_parse_msec("1.2345", 100, &v, &e), -1);
	ck_assert_int_eq(num_parse_msec("101", 100, &v, &e), -1);
	ck_assert_str_eq(e, "too large");
	ck_assert_int_eq(num_parse_msec("-1", 100, &v, &e), -1);
	ck_assert_int_eq(num_parse_msec("1s", 100, &v, &e), -1);
	ck_assert_int_eq(num_parse_msec(".", 100, &v, &e), -1);
	ck_assert_int_eq(num_parse_msec("", 100, &v, &e), -1);
	ck_assert_int_eq(num_parse_msec("99999999999999999999", 100, &v,
	    &e), -1);

	ck_assert_int_eq(num_parse_size("64", 1ULL << 40, &u, &e), 0);
	ck_assert_uint_eq(u, 64);
	ck_assert_int_eq(num_parse_size("16M", 1ULL << 40, &u, &e), 0);
	ck_assert_uint_eq(u, 16ULL << 20);
	ck_assert_int_eq(num_parse_size("2k", 1ULL << 40, &u, &e), 0);
	ck_assert_uint_eq(u, 2048);
	ck_assert_int_eq(num_parse_size("1G", 1ULL << 40, &u, &e), 0);
	ck_assert_uint_eq(u, 1ULL << 30);
	ck_assert_int_eq(num_parse_size("2048G", 1ULL << 40, &u, &e), -1);
	ck_assert_int_eq(num_parse_size("1KB", 1ULL << 40, &u, &e), -1);
	ck_assert_int_eq(num_parse_size("K", 1ULL << 40, &u, &e), -1);
	ck_assert_int_eq(num_parse_size("-1", 1ULL << 40, &u, &e), -1);
	ck_assert_int_eq(num_parse_size("99999999999999999999", UINT64_MAX,
	    &u, &e), -1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("echoc_opts");

	check_tcase(s, "core", CHECK_TESTS(test_send_defaults,
	    test_bench_defaults, test_usage_errors, test_help_version,
	    test_numparse));

	return s;
}
