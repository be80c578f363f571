/*
 * check_linemode.c: Check suite for linemode.c, the --prefix/--timestamp
 * line splitter and formatter.
 *
 * Pure functions, so no sockets: answers are collected by an emit
 * callback into a fixed buffer, and times are fixed time_t values
 * compared with ctime_r(3) of the same value.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linemode.h"
#include "check_main.h"

#define T0	((time_t)1000000000)	/* a fixed, ordinary time */

struct sink {
	char	 out[8 * LINE_MAX_LEN + 4096];
	size_t	 len;
	int	 calls;
	int	 fail_at;	/* fail on this call (1-based); 0: never */
};

static struct sink	 sk;
static struct linemode	 lm;

static int
sink_emit(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	s->calls++;
	if (s->fail_at != 0 && s->calls >= s->fail_at)
		return -1;
	ck_assert_uint_le(s->len + n, sizeof(s->out));
	memcpy(s->out + s->len, p, n);
	s->len += n;
	return 0;
}

static void
setup(void)
{
	memset(&sk, 0, sizeof(sk));
}

/* ctime of t without its newline. */
static const char *
ts(time_t t)
{
	static char	 buf[64];

	ck_assert_ptr_nonnull(ctime_r(&t, buf));
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void
feed(const char *s)
{
	ck_assert_int_eq(linemode_feed(&lm, s, strlen(s), T0, sink_emit, &sk),
	    0);
}

static void
expect(const char *want, size_t len, int calls)
{
	ck_assert_uint_eq(sk.len, len);
	ck_assert(memcmp(sk.out, want, len) == 0);
	if (calls >= 0)
		ck_assert_int_eq(sk.calls, calls);
}

#define EXPECT(s, calls)	expect((s), strlen(s), (calls))

START_TEST(test_format_prefix)
{
	char	 out[64];
	size_t	 n;

	linemode_init(&lm, "Echo=>", 0);
	n = linemode_format(&lm, "hello", 5, T0, out, sizeof(out));
	ck_assert_uint_eq(n, strlen("Echo=>hello\n"));
	ck_assert(memcmp(out, "Echo=>hello\n", n) == 0);

	/* An empty line is still answered. */
	n = linemode_format(&lm, "", 0, T0, out, sizeof(out));
	ck_assert_uint_eq(n, 7);
	ck_assert(memcmp(out, "Echo=>\n", n) == 0);
}
END_TEST

START_TEST(test_format_timestamp)
{
	char	 out[128], want[128];
	size_t	 n;

	linemode_init(&lm, NULL, 1);
	ck_assert_str_eq(lm.prefix, "");
	n = linemode_format(&lm, "hello", 5, T0, out, sizeof(out));
	snprintf(want, sizeof(want), "hello at %s\n", ts(T0));
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(memcmp(out, want, n) == 0);
	/* "Sun Sep  9 01:46:40 2001" is 24 characters in any zone. */
	ck_assert_uint_eq(n, 5 + 4 + 24 + 1);
}
END_TEST

START_TEST(test_format_both)
{
	char	 out[128], want[128];
	size_t	 n;

	linemode_init(&lm, "Echo=>", 1);
	n = linemode_format(&lm, "hello", 5, T0 + 86400, out, sizeof(out));
	snprintf(want, sizeof(want), "Echo=>hello at %s\n", ts(T0 + 86400));
	ck_assert_uint_eq(n, strlen(want));
	ck_assert(memcmp(out, want, n) == 0);
}
END_TEST

START_TEST(test_format_small)
{
	char	 out[64];

	linemode_init(&lm, "Echo=>", 0);
	/* Needs 12: one short is 0, exact fits. */
	ck_assert_uint_eq(linemode_format(&lm, "hello", 5, T0, out, 11), 0);
	ck_assert_uint_eq(linemode_format(&lm, "hello", 5, T0, out, 12), 12);
	ck_assert_uint_eq(linemode_format(&lm, "hello", 5, T0, out, 0), 0);
	linemode_init(&lm, "", 1);
	ck_assert_uint_eq(linemode_format(&lm, "x", 1, T0, out, 20), 0);
}
END_TEST

START_TEST(test_format_nul)
{
	char	 out[64];
	size_t	 n;

	/* NUL bytes are data: they must survive formatting. */
	linemode_init(&lm, ">", 0);
	n = linemode_format(&lm, "a\0b", 3, T0, out, sizeof(out));
	ck_assert_uint_eq(n, 5);
	ck_assert(memcmp(out, ">a\0b\n", 5) == 0);
}
END_TEST

START_TEST(test_feed_lines)
{
	linemode_init(&lm, "> ", 0);
	feed("one\ntwo\n\nthree");
	EXPECT("> one\n> two\n> \n", 3);
	ck_assert_int_eq(linemode_finish(&lm, T0, sink_emit, &sk), 0);
	EXPECT("> one\n> two\n> \n> three\n", 4);
	/* Nothing pending: finish answers nothing. */
	ck_assert_int_eq(linemode_finish(&lm, T0, sink_emit, &sk), 0);
	ck_assert_int_eq(sk.calls, 4);
}
END_TEST

START_TEST(test_feed_split)
{
	const char	*in = "hello\nworld\n";
	size_t		 i;

	/* Every byte on its own call, and every two-way split. */
	linemode_init(&lm, "E=", 0);
	for (i = 0; i < strlen(in); i++)
		ck_assert_int_eq(linemode_feed(&lm, in + i, 1, T0, sink_emit,
		    &sk), 0);
	EXPECT("E=hello\nE=world\n", 2);

	for (i = 0; i <= strlen(in); i++) {
		setup();
		linemode_init(&lm, "E=", 0);
		ck_assert_int_eq(linemode_feed(&lm, in, i, T0, sink_emit,
		    &sk), 0);
		ck_assert_int_eq(linemode_feed(&lm, in + i, strlen(in) - i,
		    T0, sink_emit, &sk), 0);
		EXPECT("E=hello\nE=world\n", 2);
	}
}
END_TEST

START_TEST(test_feed_timestamp)
{
	char	 want[256];

	linemode_init(&lm, "Echo=>", 1);
	feed("hello\n");
	snprintf(want, sizeof(want), "Echo=>hello at %s\n", ts(T0));
	EXPECT(want, 1);
}
END_TEST

START_TEST(test_feed_crlf)
{
	linemode_init(&lm, "", 0);
	feed("a\r\nb\r");
	EXPECT("a\n", 1);
	feed("\n");		/* the "\r" was held: it was a terminator */
	EXPECT("a\nb\n", 2);
	feed("c\rd\r\r\n");	/* inner "\r" is data, one trailing stripped */
	EXPECT("a\nb\nc\rd\r\n", 3);
	feed("\r");
	feed("x\n");		/* a held "\r" followed by data is data */
	EXPECT("a\nb\nc\rd\r\n\rx\n", 4);
	feed("\r\n");		/* an empty CRLF line */
	EXPECT("a\nb\nc\rd\r\n\rx\n\n", 5);
	feed("e\r");		/* at EOF without "\n", the "\r" is data */
	ck_assert_int_eq(linemode_finish(&lm, T0, sink_emit, &sk), 0);
	EXPECT("a\nb\nc\rd\r\n\rx\n\ne\r\n", 6);
}
END_TEST

START_TEST(test_feed_nul)
{
	linemode_init(&lm, "", 0);
	ck_assert_int_eq(linemode_feed(&lm, "\0a\0\n\0", 5, T0, sink_emit,
	    &sk), 0);
	ck_assert_int_eq(linemode_finish(&lm, T0, sink_emit, &sk), 0);
	expect("\0a\0\n\0\n", 6, 2);
}
END_TEST

static char	 big[3 * LINE_MAX_LEN + 16];

START_TEST(test_feed_overlong)
{
	size_t	 n = 2 * LINE_MAX_LEN + 5, off;

	memset(big, 'x', n);
	big[n] = '\n';
	linemode_init(&lm, ">", 0);
	ck_assert_int_eq(linemode_feed(&lm, big, n + 1, T0, sink_emit, &sk),
	    0);
	/* Pieces of LINE_MAX_LEN, LINE_MAX_LEN, 5, each answered whole. */
	ck_assert_int_eq(sk.calls, 3);
	ck_assert_uint_eq(sk.len, n + 3 * 2);
	off = 0;
	ck_assert_int_eq(sk.out[off], '>');
	off += 1 + LINE_MAX_LEN;
	ck_assert_int_eq(sk.out[off], '\n');
	off++;
	ck_assert_int_eq(sk.out[off], '>');
	off += 1 + LINE_MAX_LEN;
	ck_assert_int_eq(sk.out[off], '\n');
	off++;
	ck_assert(memcmp(sk.out + off, ">xxxxx\n", 7) == 0);
}
END_TEST

START_TEST(test_feed_exact_max)
{
	size_t	 i;

	/* Exactly LINE_MAX_LEN + "\r\n", split just before the "\r". */
	memset(big, 'y', LINE_MAX_LEN);
	linemode_init(&lm, "", 0);
	ck_assert_int_eq(linemode_feed(&lm, big, LINE_MAX_LEN, T0, sink_emit,
	    &sk), 0);
	ck_assert_int_eq(sk.calls, 0);
	feed("\r");
	ck_assert_int_eq(sk.calls, 0);
	feed("\n");
	ck_assert_int_eq(sk.calls, 1);
	ck_assert_uint_eq(sk.len, LINE_MAX_LEN + 1);
	for (i = 0; i < LINE_MAX_LEN; i++)
		ck_assert_int_eq(sk.out[i], 'y');
	ck_assert_int_eq(sk.out[LINE_MAX_LEN], '\n');

	/* Same length without a terminator: answered at finish. */
	setup();
	ck_assert_int_eq(linemode_feed(&lm, big, LINE_MAX_LEN, T0, sink_emit,
	    &sk), 0);
	ck_assert_int_eq(sk.calls, 0);
	ck_assert_int_eq(linemode_finish(&lm, T0, sink_emit, &sk), 0);
	ck_assert_int_eq(sk.calls, 1);
	ck_assert_uint_eq(sk.len, LINE_MAX_LEN + 1);
}
END_TEST

START_TEST(test_finish_partial)
{
	char	 want[256];

	linemode_init(&lm, "Echo=>", 1);
	feed("no newline");
	ck_assert_int_eq(sk.calls, 0);
	ck_assert_int_eq(linemode_finish(&lm, T0 + 1, sink_emit, &sk), 0);
	snprintf(want, sizeof(want), "Echo=>no newline at %s\n", ts(T0 + 1));
	EXPECT(want, 1);
}
END_TEST

START_TEST(test_emit_fail)
{
	linemode_init(&lm, ">", 0);
	sk.fail_at = 2;
	ck_assert_int_eq(linemode_feed(&lm, "a\nb\nc\n", 6, T0, sink_emit,
	    &sk), -1);
	ck_assert_int_eq(sk.calls, 2);	/* stopped at the failure */
	EXPECT(">a\n", 2);

	setup();
	linemode_init(&lm, ">", 0);
	sk.fail_at = 1;
	feed("partial");
	ck_assert_int_eq(linemode_finish(&lm, T0, sink_emit, &sk), -1);

	/* A failure while answering an overlong piece. */
	setup();
	linemode_init(&lm, ">", 0);
	sk.fail_at = 1;
	memset(big, 'z', LINE_MAX_LEN + 1);
	ck_assert_int_eq(linemode_feed(&lm, big, LINE_MAX_LEN + 1, T0,
	    sink_emit, &sk), -1);
}
END_TEST

START_TEST(test_long_prefix)
{
	static char	 prefix[LINE_PREFIX_INLINE + 100];
	char		 want[sizeof(prefix) + 64];
	size_t		 plen = sizeof(prefix) - 1;

	/* Longer than the stack buffer holds: still answered whole. */
	memset(prefix, 'P', plen);
	prefix[plen] = '\0';
	linemode_init(&lm, prefix, 0);
	feed("abc\n");
	snprintf(want, sizeof(want), "%sabc\n", prefix);
	ck_assert_uint_eq(sk.len, plen + 4);
	ck_assert(memcmp(sk.out, want, sk.len) == 0);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("linemode");
	TCase	*tc;

	tc = check_tcase(s, "format", CHECK_TESTS(test_format_prefix,
	    test_format_timestamp, test_format_both, test_format_small,
	    test_format_nul));
	tcase_add_checked_fixture(tc, setup, NULL);

	tc = check_tcase(s, "feed", CHECK_TESTS(test_feed_lines,
	    test_feed_split, test_feed_timestamp, test_feed_crlf,
	    test_feed_nul, test_feed_overlong, test_feed_exact_max,
	    test_finish_partial, test_emit_fail, test_long_prefix));
	tcase_add_checked_fixture(tc, setup, NULL);
	return s;
}
