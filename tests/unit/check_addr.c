/*
 * check_addr.c: Check suite for addr.c.
 *
 * addr_parse() must accept every --listen form SPEC.md lists and refuse
 * the near misses without ever looking a name up; addr_resolve() turns
 * a wildcard into both families; addr_ntop() prints what users type.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static struct addr_spec
good(const char *arg)
{
	struct addr_spec	sp;
	char			err[512] = "";

	ck_assert_msg(addr_parse(arg, &sp, err, sizeof(err)) == 0,
	    "addr_parse(\"%s\") refused: %s", arg, err);
	return sp;
}

static void
bad(const char *arg)
{
	struct addr_spec	sp;
	char			err[512] = "";

	ck_assert_msg(addr_parse(arg, &sp, err, sizeof(err)) == -1,
	    "addr_parse(\"%s\") accepted it", arg ? arg : "(null)");
	ck_assert_msg(err[0] != '\0', "no message for \"%s\"", arg);
	/* The message quotes what the user typed, so they can find it. */
	if (arg != NULL && arg[0] != '\0' && strlen(arg) < 200)
		ck_assert_msg(strstr(err, arg) != NULL,
		    "message for \"%s\" does not quote it: %s", arg, err);
}

START_TEST(test_parse_ipv4)
{
	struct addr_spec sp = good("127.0.0.1:7");

	ck_assert_int_eq(sp.kind, ADDR_INET);
	ck_assert_str_eq(sp.host, "127.0.0.1");
	ck_assert_int_eq(sp.numeric, 1);
	ck_assert_int_eq(sp.port, 7);

	sp = good("0.0.0.0:65535");
	ck_assert_int_eq(sp.kind, ADDR_INET);
	ck_assert_int_eq(sp.port, 65535);

	sp = good("10.1.2.3:0");
	ck_assert_int_eq(sp.port, 0);
	ck_assert_str_eq(sp.host, "10.1.2.3");
}
END_TEST

START_TEST(test_parse_ipv6)
{
	struct addr_spec sp = good("[::1]:7");

	ck_assert_int_eq(sp.kind, ADDR_INET);
	ck_assert_str_eq(sp.host, "::1");
	ck_assert_int_eq(sp.numeric, 1);
	ck_assert_int_eq(sp.port, 7);

	sp = good("[::]:0");
	ck_assert_str_eq(sp.host, "::");
	ck_assert_int_eq(sp.port, 0);

	sp = good("[fe80::1:2]:8007");
	ck_assert_str_eq(sp.host, "fe80::1:2");
	ck_assert_int_eq(sp.port, 8007);

	sp = good("[::ffff:127.0.0.1]:7");
	ck_assert_str_eq(sp.host, "::ffff:127.0.0.1");
}
END_TEST

START_TEST(test_parse_wildcard)
{
	struct addr_spec sp = good("*:0");

	ck_assert_int_eq(sp.kind, ADDR_WILDCARD);
	ck_assert_int_eq(sp.port, 0);

	sp = good("*:7");
	ck_assert_int_eq(sp.kind, ADDR_WILDCARD);
	ck_assert_int_eq(sp.port, 7);

	sp = good("7");
	ck_assert_int_eq(sp.kind, ADDR_WILDCARD);
	ck_assert_int_eq(sp.port, 7);

	sp = good("0");
	ck_assert_int_eq(sp.kind, ADDR_WILDCARD);
	ck_assert_int_eq(sp.port, 0);
}
END_TEST

START_TEST(test_parse_unix)
{
	struct addr_spec sp = good("unix:/tmp/x");

	ck_assert_int_eq(sp.kind, ADDR_UNIX);
	ck_assert_str_eq(sp.path, "/tmp/x");

	sp = good("unix:/run/echod/echo.sock");
	ck_assert_str_eq(sp.path, "/run/echod/echo.sock");
}
END_TEST

START_TEST(test_parse_name)
{
	struct addr_spec sp = good("localhost:7");

	ck_assert_int_eq(sp.kind, ADDR_INET);
	ck_assert_str_eq(sp.host, "localhost");
	ck_assert_int_eq(sp.numeric, 0);
	ck_assert_int_eq(sp.port, 7);

	sp = good("echo-1.example.org:7");
	ck_assert_int_eq(sp.numeric, 0);
	ck_assert_str_eq(sp.host, "echo-1.example.org");
}
END_TEST

START_TEST(test_parse_bad_numeric)
{
	bad("999.1.1.1:7");
	bad("1.2.3:7");		/* inet_pton wants four parts */
	bad("1.2.3.4.5:7");
	bad("256.0.0.1:7");
	bad("1..2.3:7");
	bad("[zz::1]:7");
	bad("[1.2.3.4]:7");	/* brackets are for IPv6 */
	bad("[]:7");
}
END_TEST

START_TEST(test_parse_bad_syntax)
{
	bad("[::1]7");
	bad("[::1]");
	bad("[::1:7");
	bad("[::1]:");
	bad("::1:7");		/* IPv6 needs brackets */
	bad("::1");
	bad(":7");
	bad("host:");
	bad("bad host:7");
	bad("bad!host:7");
}
END_TEST

START_TEST(test_parse_bad_port)
{
	bad("host:65536");
	bad("host:-1");
	bad("host:70000");
	bad("host:7x");
	bad("host:http");
	bad("127.0.0.1: 7");
	bad("[::1]:65536");
	bad("*:65536");
	bad("*:");
	bad("65536");
	bad("-1");
	bad("abc");
}
END_TEST

START_TEST(test_parse_bad_unix)
{
	char	arg[300];
	struct sockaddr_un sun;

	bad("unix:relative");
	bad("unix:");
	bad("unix:./x");
	/* One byte past sun_path (which must keep its NUL). */
	memcpy(arg, "unix:/", 6);
	memset(arg + 6, 'x', sizeof(sun.sun_path) - 1);
	arg[5 + sizeof(sun.sun_path)] = '\0';
	bad(arg);
	/* The longest that fits is fine. */
	arg[5 + sizeof(sun.sun_path) - 1] = '\0';
	(void)good(arg);
}
END_TEST

START_TEST(test_parse_empty)
{
	bad("");
	bad(NULL);
}
END_TEST

START_TEST(test_parse_long_host)
{
	char	arg[ADDR_HOSTLEN + 16];

	memset(arg, 'a', ADDR_HOSTLEN);
	memcpy(arg + ADDR_HOSTLEN, ":7", 3);
	bad(arg);
}
END_TEST

START_TEST(test_resolve_wildcard)
{
	struct addr_spec	 sp = good("*:4007");
	struct addr_bind	 b[8];
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	size_t			 n = 99, i;
	char			 err[256], buf[ADDR_STRLEN];
	int			 seen6 = 0, seen4 = 0;

	ck_assert_int_eq(addr_resolve(&sp, b, 8, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	for (i = 0; i < n; i++) {
		(void)addr_ntop((struct sockaddr *)&b[i].ss, b[i].len, buf,
		    sizeof(buf));
		if (b[i].ss.ss_family == AF_INET6) {
			s6 = (const struct sockaddr_in6 *)&b[i].ss;
			ck_assert(IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
			ck_assert_uint_eq(ntohs(s6->sin6_port), 4007);
			ck_assert_str_eq(buf, "[::]:4007");
			seen6++;
		} else if (b[i].ss.ss_family == AF_INET) {
			s4 = (const struct sockaddr_in *)&b[i].ss;
			ck_assert_uint_eq(ntohl(s4->sin_addr.s_addr),
			    INADDR_ANY);
			ck_assert_uint_eq(ntohs(s4->sin_port), 4007);
			ck_assert_str_eq(buf, "0.0.0.0:4007");
			seen4++;
		}
	}
	ck_assert_int_eq(seen6, 1);
	ck_assert_int_eq(seen4, 1);

	/* A bare port is the same wildcard. */
	sp = good("0");
	ck_assert_int_eq(addr_resolve(&sp, b, 8, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_resolve_numeric)
{
	struct addr_spec	 sp = good("127.0.0.1:7");
	struct addr_bind	 b[8];
	size_t			 n;
	char			 err[256], buf[ADDR_STRLEN];

	ck_assert_int_eq(addr_resolve(&sp, b, 8, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(b[0].ss.ss_family, AF_INET);
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&b[0].ss, b[0].len,
	    buf, sizeof(buf)), "127.0.0.1:7");

	sp = good("[::1]:9");
	ck_assert_int_eq(addr_resolve(&sp, b, 8, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(b[0].ss.ss_family, AF_INET6);
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&b[0].ss, b[0].len,
	    buf, sizeof(buf)), "[::1]:9");
}
END_TEST

START_TEST(test_resolve_unix)
{
	struct addr_spec	 sp = good("unix:/tmp/echod.sock");
	struct addr_bind	 b[2];
	size_t			 n;
	char			 err[256], buf[ADDR_STRLEN + 110];

	ck_assert_int_eq(addr_resolve(&sp, b, 2, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(b[0].ss.ss_family, AF_UNIX);
	ck_assert_str_eq(((struct sockaddr_un *)&b[0].ss)->sun_path,
	    "/tmp/echod.sock");
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&b[0].ss, b[0].len,
	    buf, sizeof(buf)), "unix:/tmp/echod.sock");
}
END_TEST

START_TEST(test_resolve_name_fails)
{
	struct addr_spec	 sp = good("nonexistent.invalid:7");
	struct addr_bind	 b[8];
	size_t			 n;
	char			 err[256] = "";

	/* RFC 6761: .invalid never resolves. */
	ck_assert_int_eq(addr_resolve(&sp, b, 8, &n, err, sizeof(err)), -1);
	ck_assert_uint_eq(n, 0);
	ck_assert_msg(strstr(err, "nonexistent.invalid") != NULL,
	    "message does not name the host: %s", err);
}
END_TEST

START_TEST(test_ntop)
{
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;
	struct sockaddr_un	 sun;
	struct sockaddr		 sa;
	char			 buf[ADDR_STRLEN + 110];

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(51000);
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr), 1);
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&s4, sizeof(s4), buf,
	    sizeof(buf)), "192.0.2.1:51000");

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(7);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&s6, sizeof(s6), buf,
	    sizeof(buf)), "[2001:db8::1]:7");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, "/tmp/x", sizeof(sun.sun_path));
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&sun, sizeof(sun), buf,
	    sizeof(buf)), "unix:/tmp/x");
	/* Length as accept(2) reports it: path and its NUL. */
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 7), buf,
	    sizeof(buf)), "unix:/tmp/x");
	/* A peer's own path is made printable: no forged log lines. */
	(void)strlcpy(sun.sun_path, "/t/a\n<0>b\tc\\\033",
	    sizeof(sun.sun_path));
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&sun, sizeof(sun), buf,
	    sizeof(buf)), "unix:/t/a\\n<0>b\\tc\\\\\\033");
	(void)strlcpy(sun.sun_path, "/tmp/x", sizeof(sun.sun_path));
	/* An unnamed peer (socketpair, unbound client). */
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&sun,
	    (socklen_t)offsetof(struct sockaddr_un, sun_path), buf,
	    sizeof(buf)), "unix:");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNSPEC;
	ck_assert_str_eq(addr_ntop(&sa, sizeof(sa), buf, sizeof(buf)), "?");

	/* Truncates, never overflows. */
	ck_assert_str_eq(addr_ntop((struct sockaddr *)&s4, sizeof(s4), buf,
	    6), "192.0");
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite	*s = suite_create("addr");
	TCase	*tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_ipv4);
	tcase_add_test(tc, test_parse_ipv6);
	tcase_add_test(tc, test_parse_wildcard);
	tcase_add_test(tc, test_parse_unix);
	tcase_add_test(tc, test_parse_name);
	tcase_add_test(tc, test_parse_bad_numeric);
	tcase_add_test(tc, test_parse_bad_syntax);
	tcase_add_test(tc, test_parse_bad_port);
	tcase_add_test(tc, test_parse_bad_unix);
	tcase_add_test(tc, test_parse_empty);
	tcase_add_test(tc, test_parse_long_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_test(tc, test_resolve_wildcard);
	tcase_add_test(tc, test_resolve_numeric);
	tcase_add_test(tc, test_resolve_unix);
	tcase_add_test(tc, test_resolve_name_fails);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("ntop");
	tcase_add_test(tc, test_ntop);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(addr_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
