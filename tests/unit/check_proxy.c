/*
 * check_proxy.c: Check suite for proxy.c, the PROXY protocol parser:
 * every field of v1 and v2, every prefix of a valid header (PROXY_MORE),
 * and the malformed forms of HAProxy's doc/proxy-protocol.txt.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "check_main.h"

static struct proxy_hdr	h;

static enum proxy_status
p1(const char *s)
{
	return proxy_parse((const uint8_t *)s, strlen(s), &h);
}

static void
ck_sin(const struct sockaddr_storage *ss, const char *a, int port)
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)ss;
	char				 buf[INET_ADDRSTRLEN];

	ck_assert_int_eq(s4->sin_family, AF_INET);
	ck_assert_str_eq(inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf)),
	    a);
	ck_assert_int_eq(ntohs(s4->sin_port), port);
}

static void
ck_sin6(const struct sockaddr_storage *ss, const char *a, int port)
{
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)ss;
	char				 buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(s6->sin6_family, AF_INET6);
	ck_assert_str_eq(inet_ntop(AF_INET6, &s6->sin6_addr, buf,
	    sizeof(buf)), a);
	ck_assert_int_eq(ntohs(s6->sin6_port), port);
}

/* Every proper prefix of a valid header is PROXY_MORE. */
static void
ck_prefixes(const uint8_t *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		ck_assert_msg(proxy_parse(b, i, &h) == PROXY_MORE,
		    "prefix of %zu bytes: %d", i, (int)proxy_parse(b, i, &h));
}

START_TEST(test_v1_tcp4)
{
	static const char s[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443"
	    "\r\nGET";

	ck_assert_int_eq(p1(s), PROXY_DONE);
	ck_assert_uint_eq(h.len, strlen(s) - 3);	/* data stays */
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(h.family, AF_INET);
	ck_sin(&h.src, "192.0.2.7", 56324);
	ck_sin(&h.dst, "198.51.100.1", 443);
	ck_assert_uint_eq(h.srclen, sizeof(struct sockaddr_in));
	ck_prefixes((const uint8_t *)s, h.len);
}
END_TEST

START_TEST(test_v1_tcp6)
{
	static const char s[] = "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n";

	ck_assert_int_eq(p1(s), PROXY_DONE);
	ck_assert_uint_eq(h.len, strlen(s));
	ck_assert_int_eq(h.family, AF_INET6);
	ck_sin6(&h.src, "2001:db8::1", 0);
	ck_sin6(&h.dst, "::1", 65535);
	ck_prefixes((const uint8_t *)s, h.len);
	/* The longest form is 104 bytes + CRLF, within 107. */
	ck_assert_int_eq(p1("PROXY TCP6 ffff:f...f:ffff ffff:f...f:ffff "
	    "65535 65535\r\n"), PROXY_BAD);
	ck_assert_int_eq(p1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
	    "ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	    PROXY_DONE);
	ck_assert_uint_eq(h.len, 104);
}
END_TEST

START_TEST(test_v1_unknown)
{
	ck_assert_int_eq(p1("PROXY UNKNOWN\r\n"), PROXY_DONE);
	ck_assert_int_eq(h.local, 1);
	ck_assert_uint_eq(h.len, 15);
	/* Anything after UNKNOWN up to CRLF is ignored. */
	ck_assert_int_eq(p1("PROXY UNKNOWN ffff:f::1 x y z\r\nabc"),
	    PROXY_DONE);
	ck_assert_int_eq(h.local, 1);
	ck_assert_uint_eq(h.len, 31);
}
END_TEST

START_TEST(test_v1_bad)
{
	static const char *bad[] = {
		"GET / HTTP/1.0\r\n",
		"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",		/* no CR */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
		"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",		/* two spaces */
		"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",		/* trailing */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",		/* 4 fields */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",		/* 6 fields */
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",		/* leading 0 */
		"PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n",
		"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
		"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",		/* v6 in TCP4 */
		"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",		/* v4 in TCP6 */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n",
		"PROXY\r\n",
		"PROXY \r\n",
		"PROXY TCP4\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t\r\n",
	};
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(p1(bad[i]) == PROXY_BAD, "accepted \"%s\"",
		    bad[i]);
	ck_assert_int_eq(proxy_parse((const uint8_t *)
	    "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33, &h), PROXY_BAD);
}
END_TEST

START_TEST(test_v1_too_long)
{
	char	s[200];

	memcpy(s, "PROXY UNKNOWN ", 14);
	memset(s + 14, 'x', sizeof(s) - 14);
	/* 106 bytes without a newline: could still end at 107. */
	ck_assert_int_eq(proxy_parse((uint8_t *)s, 106, &h), PROXY_MORE);
	ck_assert_int_eq(proxy_parse((uint8_t *)s, 107, &h), PROXY_BAD);
	ck_assert_int_eq(proxy_parse((uint8_t *)s, 200, &h), PROXY_BAD);
	s[105] = '\r';
	s[106] = '\n';
	ck_assert_int_eq(proxy_parse((uint8_t *)s, 200, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 107);
}
END_TEST

static size_t
v2(uint8_t *b, uint8_t vc, uint8_t fam, const uint8_t *body, size_t n)
{
	memcpy(b, proxy_v2_sig, PROXY_V2_SIGLEN);
	b[12] = vc;
	b[13] = fam;
	b[14] = (uint8_t)(n >> 8);
	b[15] = (uint8_t)n;
	if (n > 0)
		memcpy(b + 16, body, n);
	return 16 + n;
}

START_TEST(test_v2_inet)
{
	uint8_t	b[64], body[12] = { 192, 0, 2, 7, 198, 51, 100, 1,
	    0xdc, 0x04, 0x01, 0xbb };
	size_t	n = v2(b, 0x21, 0x11, body, sizeof(body));

	b[n] = 'x';				/* data follows */
	ck_assert_int_eq(proxy_parse(b, n + 1, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 28);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.local, 0);
	ck_assert_int_eq(h.family, AF_INET);
	ck_sin(&h.src, "192.0.2.7", 56324);
	ck_sin(&h.dst, "198.51.100.1", 443);
	ck_prefixes(b, n);
}
END_TEST

START_TEST(test_v2_inet6_and_tlv)
{
	uint8_t	b[128], body[36 + 7];
	size_t	n;

	memset(body, 0, sizeof(body));
	body[0] = 0x20; body[1] = 0x01; body[2] = 0x0d; body[3] = 0xb8;
	body[15] = 1;				/* 2001:db8::1 */
	body[31] = 1;				/* ::1 */
	body[32] = 0x13; body[33] = 0x88;	/* 5000 */
	body[34] = 0x00; body[35] = 0x07;	/* 7 */
	body[36] = 0x04; body[37] = 0; body[38] = 4;	/* a NOOP TLV */
	n = v2(b, 0x21, 0x21, body, sizeof(body));
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_uint_eq(h.len, 16 + 43);
	ck_assert_int_eq(h.family, AF_INET6);
	ck_sin6(&h.src, "2001:db8::1", 5000);
	ck_sin6(&h.dst, "::1", 7);
	ck_prefixes(b, n);
}
END_TEST

START_TEST(test_v2_local_unspec_unix)
{
	uint8_t	b[300], body[216];
	size_t	n;

	memset(body, 0, sizeof(body));
	n = v2(b, 0x20, 0x00, NULL, 0);		/* LOCAL: health check */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_int_eq(h.local, 1);
	ck_assert_uint_eq(h.len, 16);
	/* LOCAL ignores the family and skips the block. */
	n = v2(b, 0x20, 0x11, body, 12);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_int_eq(h.local, 1);
	ck_assert_uint_eq(h.len, 28);
	n = v2(b, 0x20, 0x11, NULL, 0);		/* LOCAL may be short */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	/* PROXY over UNSPEC or UNIX: no IP address, keep the peer. */
	n = v2(b, 0x21, 0x00, NULL, 0);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_int_eq(h.local, 1);
	n = v2(b, 0x21, 0x31, body, 216);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_DONE);
	ck_assert_int_eq(h.local, 1);
}
END_TEST

START_TEST(test_v2_bad)
{
	uint8_t	b[PROXY_MAX + 64], body[36];
	size_t	n;

	memset(body, 0, sizeof(body));
	n = v2(b, 0x11, 0x11, body, 12);		/* version 1 */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x31, 0x11, body, 12);		/* version 3 */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x22, 0x11, body, 12);		/* command 2 */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x2f, 0x11, body, 12);
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x21, 0x41, body, 12);		/* family 4 */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x21, 0x13, body, 12);		/* transport 3 */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x21, 0x10, body, 12);		/* INET, UNSPEC transport */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x21, 0x11, body, 11);		/* too short for INET */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x21, 0x21, body, 35);		/* too short for INET6 */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	n = v2(b, 0x21, 0x31, body, 36);		/* too short for UNIX */
	ck_assert_int_eq(proxy_parse(b, n, &h), PROXY_BAD);
	/* Over-long: refused from the 16 bytes, not after reading it. */
	n = v2(b, 0x21, 0x11, body, 12);
	b[14] = (uint8_t)((PROXY_MAX - 16 + 1) >> 8);
	b[15] = (uint8_t)(PROXY_MAX - 16 + 1);
	ck_assert_int_eq(proxy_parse(b, 16, &h), PROXY_BAD);
	b[14] = 0xff;
	b[15] = 0xff;
	ck_assert_int_eq(proxy_parse(b, 16, &h), PROXY_BAD);
	/* A damaged signature, at each byte. */
	for (n = 0; n < PROXY_V2_SIGLEN; n++) {
		(void)v2(b, 0x21, 0x11, body, 12);
		b[n] ^= 0x40;
		ck_assert_msg(proxy_parse(b, 28, &h) == PROXY_BAD,
		    "signature byte %zu", n);
	}
}
END_TEST

START_TEST(test_garbage_early)
{
	/* Refused at the first byte that cannot start a header. */
	ck_assert_int_eq(proxy_parse((const uint8_t *)"G", 1, &h), PROXY_BAD);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"PROXX", 5, &h),
	    PROXY_BAD);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"\r\n\r\n\x01", 5, &h),
	    PROXY_BAD);
	ck_assert_int_eq(proxy_parse((const uint8_t *)"", 0, &h), PROXY_MORE);
	ck_assert_ptr_nonnull((p1("hello"), h.why));
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("proxy");
	TCase	*tc;

	tc = tcase_create("v1");
	tcase_add_test(tc, test_v1_tcp4);
	tcase_add_test(tc, test_v1_tcp6);
	tcase_add_test(tc, test_v1_unknown);
	tcase_add_test(tc, test_v1_bad);
	tcase_add_test(tc, test_v1_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("v2");
	tcase_add_test(tc, test_v2_inet);
	tcase_add_test(tc, test_v2_inet6_and_tlv);
	tcase_add_test(tc, test_v2_local_unspec_unix);
	tcase_add_test(tc, test_v2_bad);
	tcase_add_test(tc, test_garbage_early);
	suite_add_tcase(s, tc);
	return s;
}

