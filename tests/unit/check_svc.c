/*
 * check_svc.c: the pure parts of the service glue.
 *
 * Notify messages and their parsing (sdnotify.c), LISTEN_* parsing
 * (sdlisten.c), classifying inherited descriptors (inetd.c), and sending
 * a notify datagram to a socket of our own, as systemd would receive it.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inetd.h"
#include "privdrop.h"
#include "sdlisten.h"
#include "sdnotify.h"
#include "check_main.h"

START_TEST(test_status_format)
{
	struct stats	st;
	char		buf[256];

	memset(&st, 0, sizeof(st));
	st.workers = 5;
	st.idle = 3;
	st.busy = 2;
	st.served = 120;
	st.refused = 4;
	ck_assert_uint_gt(sdnotify_format_status(&st, "prefork", buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "STATUS=prefork: 5 workers, 3 idle, 2 busy; "
	    "120 served, 4 refused");
	/* Truncation is refused, not sent half-written. */
	ck_assert_uint_eq(sdnotify_format_status(&st, "prefork", buf, 10), 0);
}
END_TEST

START_TEST(test_reloading_format)
{
	char	buf[64];

	ck_assert_uint_gt(sdnotify_format_reloading(1234567890123ULL, buf,
	    sizeof(buf)), 0);
	ck_assert_str_eq(buf, "RELOADING=1\nMONOTONIC_USEC=1234567890123");
}
END_TEST

START_TEST(test_watchdog_parse)
{
	ck_assert_uint_eq(sdnotify_watchdog_parse(NULL, NULL, 10), 0);
	ck_assert_uint_eq(sdnotify_watchdog_parse("", NULL, 10), 0);
	ck_assert_uint_eq(sdnotify_watchdog_parse("30000000", NULL, 10),
	    30000000);
	ck_assert_uint_eq(sdnotify_watchdog_parse("30000000", "10", 10),
	    30000000);
	ck_assert_uint_eq(sdnotify_watchdog_parse("30000000", "11", 10), 0);
	ck_assert_uint_eq(sdnotify_watchdog_parse("0", NULL, 10), 0);
	ck_assert_uint_eq(sdnotify_watchdog_parse("-5", NULL, 10), 0);
	ck_assert_uint_eq(sdnotify_watchdog_parse("12x", NULL, 10), 0);
}
END_TEST

START_TEST(test_listen_parse)
{
	ck_assert_int_eq(sdlisten_parse(NULL, "2", 42), 0);
	ck_assert_int_eq(sdlisten_parse("42", NULL, 42), 0);
	ck_assert_int_eq(sdlisten_parse("42", "2", 42), 2);
	ck_assert_int_eq(sdlisten_parse("43", "2", 42), 0);
	ck_assert_int_eq(sdlisten_parse("42", "0", 42), -1);
	ck_assert_int_eq(sdlisten_parse("x", "2", 42), -1);
	ck_assert_int_eq(sdlisten_parse("42", "-1", 42), -1);
	ck_assert_int_eq(sdlisten_parse("42", "2junk", 42), -1);
}
END_TEST

START_TEST(test_listen_names)
{
	char	buf[16];

	sdlisten_name("echo:echo-udp", 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "echo");
	sdlisten_name("echo:echo-udp", 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "echo-udp");
	sdlisten_name("echo:echo-udp", 2, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	sdlisten_name(NULL, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	sdlisten_name("a-very-long-name-indeed", 0, buf, 8);
	ck_assert_str_eq(buf, "a-very-");
}
END_TEST

START_TEST(test_listen_take_unsets)
{
	char	names[4][SDLISTEN_NAMELEN], err[256], pid[32];

	/* Meant for another process: not ours, but gone all the same. */
	ck_assert_int_eq(setenv("LISTEN_PID", "1", 1), 0);
	ck_assert_int_eq(setenv("LISTEN_FDS", "2", 1), 0);
	ck_assert_int_eq(setenv("LISTEN_FDNAMES", "a:b", 1), 0);
	ck_assert_int_eq(sdlisten_take(names, 4, err, sizeof(err)), 0);
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));

	/* Ours, zero sockets: malformed, as libsystemd says too. */
	(void)snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	ck_assert_int_eq(setenv("LISTEN_PID", pid, 1), 0);
	ck_assert_int_eq(setenv("LISTEN_FDS", "0", 1), 0);
	ck_assert_int_eq(sdlisten_take(names, 4, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "LISTEN_FDS"));
	ck_assert_ptr_null(getenv("LISTEN_FDS"));
}
END_TEST

START_TEST(test_classify)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			sv[2], p[2], l, d, c, u;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(sock_classify(sv[0]), SOCK_KIND_CONN);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(sock_classify(p[0]), SOCK_KIND_NOTSOCK);
	ck_assert_int_eq(sock_classify(-1), SOCK_KIND_NOTSOCK);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(l, 0);
	ck_assert_int_eq(sock_classify(l), SOCK_KIND_OTHER); /* unbound */
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(sock_classify(l), SOCK_KIND_LISTEN);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(sock_classify(c), SOCK_KIND_CONN);
	d = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_eq(sock_classify(d), SOCK_KIND_DGRAM);
	u = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ck_assert_int_eq(sock_classify(u), SOCK_KIND_OTHER);
	(void)close(sv[0]); (void)close(sv[1]);
	(void)close(p[0]); (void)close(p[1]);
	(void)close(l); (void)close(c); (void)close(d); (void)close(u);
}
END_TEST

START_TEST(test_send_to)
{
	struct sockaddr_un	sun;
	char			path[sizeof(sun.sun_path)], buf[256];
	ssize_t			n;
	int			fd;

	(void)snprintf(path, sizeof(path), "/tmp/check_svc.%ld",
	    (long)getpid());
	(void)unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(sdnotify_send_to(path, "READY=1\nSTATUS=x"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_eq(n, 16);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "READY=1\nSTATUS=x");
	(void)close(fd);
	(void)unlink(path);

	/* The abstract namespace: '@' is a leading NUL. */
	(void)snprintf(path, sizeof(path), "@check_svc.%ld", (long)getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, path + 1, strlen(path) - 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path))), 0);
	ck_assert_int_eq(sdnotify_send_to(path, "STOPPING=1"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_eq(n, 10);
	(void)close(fd);

	ck_assert_int_eq(sdnotify_send_to("relative", "X=1"), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_privdrop_resolve)
{
	struct privdrop	pd;
	char		err[256];

	ck_assert_int_eq(privdrop_resolve("no-such-user-echod", NULL, &pd,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-user-echod"));
	ck_assert_int_eq(privdrop_resolve(NULL, "no-such-group-echod", &pd,
	    err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-group-echod"));
	ck_assert_int_eq(privdrop_resolve("root", NULL, &pd, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(pd.uid, 0);
	ck_assert_int_eq(pd.set_uid, 1);
	ck_assert_int_ge(pd.ngroups, 1);
	ck_assert_int_eq(privdrop_resolve("4242", "4343", &pd, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(pd.uid, 4242);
	ck_assert_int_eq(pd.gid, 4343);
	ck_assert_int_eq(pd.ngroups, 1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("svc");

	check_tcase(s, "core", CHECK_TESTS(test_status_format,
	    test_reloading_format, test_watchdog_parse, test_listen_parse,
	    test_listen_names, test_listen_take_unsets, test_classify,
	    test_send_to, test_privdrop_resolve));

	return s;
}
