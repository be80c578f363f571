/*
 * check_udp.c: Check suite for udp.c's source filter, a pure function
 * of the datagram's source sockaddr.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "udp.h"
#include "check_main.h"

static enum udp_verdict
v4(const char *a, int port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, a, &sin.sin_addr), 1);
	return udp_source_check((struct sockaddr *)&sin, sizeof(sin));
}

static enum udp_verdict
v6(const char *a, int port)
{
	struct sockaddr_in6	sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET6, a, &sin6.sin6_addr), 1);
	return udp_source_check((struct sockaddr *)&sin6, sizeof(sin6));
}

START_TEST(test_ports)
{
	static const int bad[] = { 0, 7, 9, 11, 13, 17, 19, 37, 123 };
	static const int good[] = { 1, 8, 20, 53, 1024, 40000, 65535 };
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(udp_port_banned((unsigned)bad[i]), 1);
		ck_assert_int_eq(v4("192.0.2.1", bad[i]), UDP_DROP_PORT);
		ck_assert_int_eq(v6("2001:db8::1", bad[i]), UDP_DROP_PORT);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_int_eq(v4("192.0.2.1", good[i]), UDP_OK);
		ck_assert_int_eq(v6("2001:db8::1", good[i]), UDP_OK);
	}
}
END_TEST

START_TEST(test_addrs)
{
	ck_assert_int_eq(v4("127.0.0.1", 5000), UDP_OK);
	ck_assert_int_eq(v4("10.1.2.3", 5000), UDP_OK);
	ck_assert_int_eq(v4("223.255.255.254", 5000), UDP_OK);
	ck_assert_int_eq(v4("255.255.255.255", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v4("224.0.0.1", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v4("239.1.2.3", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v4("240.0.0.1", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v4("0.0.0.0", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v4("0.1.2.3", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v6("::1", 5000), UDP_OK);
	ck_assert_int_eq(v6("fe80::1", 5000), UDP_OK);
	ck_assert_int_eq(v6("2001:db8::7", 5000), UDP_OK);
	ck_assert_int_eq(v6("ff02::1", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v6("ff0e::1234", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v6("::", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v6("::ffff:127.0.0.1", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v6("::ffff:192.0.2.1", 5000), UDP_DROP_ADDR);
	ck_assert_int_eq(v6("::192.0.2.1", 5000), UDP_DROP_ADDR);
	/* The port is checked first: either way it is dropped. */
	ck_assert_int_eq(v4("224.0.0.1", 19), UDP_DROP_PORT);
}
END_TEST

START_TEST(test_odd)
{
	struct sockaddr_un	sun;
	struct sockaddr_in	sin;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(udp_source_check((struct sockaddr *)&sun,
	    sizeof(sun)), UDP_DROP_ADDR);
	/* A short sockaddr is never read past its length. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(udp_source_check((struct sockaddr *)&sin, 4),
	    UDP_DROP_ADDR);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("udp");

	check_tcase(s, "source", CHECK_TESTS(test_ports, test_addrs,
	    test_odd));

	return s;
}
