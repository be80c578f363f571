/*
 * check_rules.c: Check suite for rules.c: CIDR syntax, first match,
 * defaults, IPv4-mapped addresses, the rules-file parser (errors as
 * FILE:LINE, all or nothing) and lookups on 100,000 rules.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules.h"
#include "check_main.h"

static char	err[512];

static void
add(struct rules *r, enum rule_verdict v, const char *cidr)
{
	struct rule_cidr	c;

	ck_assert_msg(rules_cidr_parse(cidr, &c, err, sizeof(err)) == 0,
	    "%s: %s", cidr, err);
	ck_assert_int_eq(rules_add(r, v, &c), 0);
}

static enum rule_verdict
look(const struct rules *r, const char *a, long *which)
{
	struct sockaddr_in	s4;
	struct sockaddr_in6	s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, a, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return rules_match(r, (struct sockaddr *)&s4, sizeof(s4),
		    which);
	}
	ck_assert(inet_pton(AF_INET6, a, &s6.sin6_addr) == 1);
	s6.sin6_family = AF_INET6;
	return rules_match(r, (struct sockaddr *)&s6, sizeof(s6), which);
}

START_TEST(test_cidr_good)
{
	struct rule_cidr	c;

	ck_assert_int_eq(rules_cidr_parse("10.0.0.0/8", &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.plen, 8);
	ck_assert_int_eq(c.addr[0], 10);
	ck_assert_int_eq(rules_cidr_parse("192.0.2.7", &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.plen, 32);
	ck_assert_int_eq(rules_cidr_parse("2001:db8::/32", &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.plen, 32);
	ck_assert_int_eq(rules_cidr_parse("::1", &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.plen, 128);
	ck_assert_int_eq(rules_cidr_parse("0.0.0.0/0", &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.plen, 0);
	/* A mapped prefix is the IPv4 rule. */
	ck_assert_int_eq(rules_cidr_parse("::ffff:10.0.0.0/104", &c, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.plen, 8);
	ck_assert_int_eq(c.addr[0], 10);
}
END_TEST

START_TEST(test_cidr_bad)
{
	static const char *bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0", "10.0.0.256",
		"host.example", "10.0.0.0/8x", "1::2::3", " 10.0.0.1",
		"10.0.0.1 ", "[::1]", "unix:/tmp/x"
	};
	struct rule_cidr	c;
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rules_cidr_parse(bad[i], &c, err,
		    sizeof(err)) == -1, "accepted \"%s\"", bad[i]);
	(void)rules_cidr_parse("10.0.0.300/8", &c, err, sizeof(err));
	ck_assert_ptr_nonnull(strstr(err, "10.0.0.300"));
}
END_TEST

START_TEST(test_empty_allows)
{
	struct rules	r;
	long		w;

	rules_init(&r);
	ck_assert_int_eq(look(&r, "192.0.2.1", &w), RULE_ALLOW);
	ck_assert_int_eq(w, -1);
	ck_assert_int_eq(look(&r, "2001:db8::1", NULL), RULE_ALLOW);
	rules_free(&r);
}
END_TEST

START_TEST(test_first_match)
{
	struct rules	r;
	long		w;

	rules_init(&r);
	add(&r, RULE_DENY, "10.1.2.3");
	add(&r, RULE_ALLOW, "10.0.0.0/8");
	add(&r, RULE_DENY, "10.1.0.0/16");	/* never decides: 10/8 first */
	add(&r, RULE_ALLOW, "10.1.2.3");	/* duplicate, later: loses */
	ck_assert_int_eq(look(&r, "10.1.2.3", &w), RULE_DENY);
	ck_assert_int_eq(w, 0);
	ck_assert_int_eq(look(&r, "10.1.2.4", &w), RULE_ALLOW);
	ck_assert_int_eq(w, 1);
	/* No match with an allow rule present: denied by default. */
	ck_assert_int_eq(look(&r, "192.0.2.1", &w), RULE_DENY);
	ck_assert_int_eq(w, -1);
	rules_free(&r);

	/* A wider rule first beats a narrower one later. */
	rules_init(&r);
	add(&r, RULE_DENY, "0.0.0.0/0");
	add(&r, RULE_ALLOW, "192.0.2.1");
	ck_assert_int_eq(look(&r, "192.0.2.1", &w), RULE_DENY);
	ck_assert_int_eq(w, 0);
	rules_free(&r);
}
END_TEST

START_TEST(test_default_deny_only_with_allow)
{
	struct rules	r;

	rules_init(&r);
	add(&r, RULE_DENY, "10.0.0.0/8");
	ck_assert_int_eq(look(&r, "11.0.0.1", NULL), RULE_ALLOW);
	ck_assert_int_eq(look(&r, "10.9.9.9", NULL), RULE_DENY);
	add(&r, RULE_ALLOW, "12.0.0.0/8");
	ck_assert_int_eq(look(&r, "11.0.0.1", NULL), RULE_DENY);
	ck_assert_int_eq(look(&r, "12.0.0.1", NULL), RULE_ALLOW);
	rules_free(&r);
}
END_TEST

START_TEST(test_families)
{
	struct rules	r;
	long		w;

	rules_init(&r);
	add(&r, RULE_DENY, "::/0");		/* every IPv6, no IPv4 */
	add(&r, RULE_ALLOW, "127.0.0.0/8");
	ck_assert_int_eq(look(&r, "::1", NULL), RULE_DENY);
	ck_assert_int_eq(look(&r, "127.0.0.1", NULL), RULE_ALLOW);
	/* A mapped peer is the IPv4 address: ::/0 does not take it. */
	ck_assert_int_eq(look(&r, "::ffff:127.0.0.1", &w), RULE_ALLOW);
	ck_assert_int_eq(w, 1);
	ck_assert_int_eq(look(&r, "::ffff:10.0.0.1", &w), RULE_DENY);
	ck_assert_int_eq(w, -1);		/* default deny */
	rules_free(&r);

	rules_init(&r);
	add(&r, RULE_ALLOW, "2001:db8::/32");
	add(&r, RULE_DENY, "2001:db8:1::/48");
	ck_assert_int_eq(look(&r, "2001:db8:1::5", NULL), RULE_ALLOW);
	ck_assert_int_eq(look(&r, "2001:db9::5", NULL), RULE_DENY);
	ck_assert_int_eq(rules_compact(&r), 0);
	ck_assert_int_eq(look(&r, "2001:db8:1::5", NULL), RULE_ALLOW);
	ck_assert_int_eq(look(&r, "2001:db9::5", NULL), RULE_DENY);
	ck_assert_int_eq(look(&r, "10.0.0.1", NULL), RULE_DENY);
	rules_free(&r);
}
END_TEST

START_TEST(test_unix_peer)
{
	struct rules		r;
	struct sockaddr_un	su;

	rules_init(&r);
	add(&r, RULE_ALLOW, "10.0.0.0/8");
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	ck_assert_int_eq(rules_match(&r, (struct sockaddr *)&su, sizeof(su),
	    NULL), RULE_ALLOW);
	rules_free(&r);
}
END_TEST

START_TEST(test_file_good)
{
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "   \t\n"
	    "allow 10.0.0.0/8   # trailing comment\n"
	    "\tdeny\t2001:db8::/32\r\n"
	    "deny 192.0.2.1";			/* no final newline */
	struct rules	r;

	rules_init(&r);
	ck_assert_int_eq(rules_load_buf(&r, text, strlen(text), "t.rules",
	    err, sizeof(err)), 0);
	ck_assert_uint_eq(r.nrules, 3);
	ck_assert_int_eq(look(&r, "10.2.3.4", NULL), RULE_ALLOW);
	ck_assert_int_eq(look(&r, "2001:db8::9", NULL), RULE_DENY);
	ck_assert_int_eq(look(&r, "192.0.2.1", NULL), RULE_DENY);
	rules_free(&r);
}
END_TEST

static void
file_bad(const char *text, const char *want)
{
	struct rules	r;

	rules_init(&r);
	add(&r, RULE_DENY, "192.0.2.0/24");	/* there before: must stay */
	ck_assert_int_eq(rules_load_buf(&r, text, strlen(text), "f", err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err,
	    want);
	ck_assert_uint_eq(r.nrules, 1);
	ck_assert_uint_eq(r.nallow, 0);
	ck_assert_int_eq(look(&r, "10.0.0.1", NULL), RULE_ALLOW);
	ck_assert_int_eq(look(&r, "192.0.2.5", NULL), RULE_DENY);
	rules_free(&r);
}

START_TEST(test_file_bad)
{
	char	long_line[RULES_LINE_MAX + 40];

	file_bad("allow 10.0.0.0/8\nallw 1.2.3.4\n", "f:2: unknown word");
	file_bad("allow 10.0.0.0/8\n\n# x\nallow 10.0.0.0/40\n", "f:4:");
	file_bad("allow\n", "f:1: allow: no address");
	file_bad("allow 10.0.0.0/8 extra\n", "f:1: unexpected");
	file_bad("allow 10.0.0.0/8\ndeny nonsense\n", "f:2:");
	file_bad("ALLOW 10.0.0.0/8\n", "f:1: unknown word");
	file_bad("allow 10.0.0.1\nallow 1\0.2.3.4\n", "f:2:");
	memset(long_line, 'a', sizeof(long_line) - 1);
	long_line[sizeof(long_line) - 1] = '\0';
	file_bad(long_line, "f:1: line longer");
}
END_TEST

START_TEST(test_file_missing)
{
	struct rules	r;

	rules_init(&r);
	ck_assert_int_eq(rules_load_file(&r, "/nonexistent/echod.rules", err,
	    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/echod.rules:0:"));
	rules_free(&r);
}
END_TEST

START_TEST(test_file_real)
{
	char	 path[] = "/tmp/check_rules.XXXXXX";
	int	 fd;
	struct rules r;
	static const char text[] = "deny 127.0.0.2\nallow 127.0.0.0/8\n";

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	(void)close(fd);
	rules_init(&r);
	ck_assert_int_eq(rules_load_file(&r, path, err, sizeof(err)), 0);
	(void)unlink(path);
	ck_assert_int_eq(look(&r, "127.0.0.2", NULL), RULE_DENY);
	ck_assert_int_eq(look(&r, "127.0.0.3", NULL), RULE_ALLOW);
	ck_assert_int_eq(look(&r, "10.0.0.3", NULL), RULE_DENY);
	rules_free(&r);
}
END_TEST

/* 100,000 /32s and /24s: first match still exact, by index. */
START_TEST(test_many)
{
	struct rules		r;
	struct rule_cidr	c;
	uint32_t		i, a;
	long			w, ws[100000 / 97 + 1];
	uint8_t			b[16];

	rules_init(&r);
	memset(&c, 0, sizeof(c));
	c.family = AF_INET;
	for (i = 0; i < 100000; i++) {
		a = htonl(0x0a000000u | (i * 2654435761u >> 8));
		memcpy(c.addr, &a, 4);
		c.plen = i % 2 == 0 ? 32 : 24;
		ck_assert_int_eq(rules_add(&r, i % 3 == 0 ? RULE_ALLOW :
		    RULE_DENY, &c), 0);
	}
	ck_assert_uint_eq(r.nrules, 100000);
	for (i = 0; i < 100000; i += 97) {
		a = htonl(0x0a000000u | (i * 2654435761u >> 8));
		memcpy(b, &a, 4);
		(void)rules_match_addr(&r, AF_INET, b, &w);
		ck_assert_int_ge(w, 0);
		ck_assert_int_le(w, (long)i);	/* this one or an earlier */
		ws[i / 97] = w;
	}
	/* Compacted: the very same answers. */
	ck_assert_int_eq(rules_compact(&r), 0);
	ck_assert_uint_le(r.npn, 2 * r.nrules + 2);
	for (i = 0; i < 100000; i += 97) {
		a = htonl(0x0a000000u | (i * 2654435761u >> 8));
		memcpy(b, &a, 4);
		(void)rules_match_addr(&r, AF_INET, b, &w);
		ck_assert_int_eq(w, ws[i / 97]);
		a ^= htonl(0x00010000);
		memcpy(b, &a, 4);
		ck_assert_int_eq(rules_match_addr(&r, AF_INET, b, &w),
		    w >= 0 ? (enum rule_verdict)r.verdict[w] : RULE_DENY);
	}
	rules_free(&r);
}
END_TEST

/* The compacted trie, the binary one and a linear first-match agree. */
static int
covers(const struct rule_cidr *c, int family, const uint8_t *a)
{
	int	full = c->plen / 8, rest = c->plen % 8;

	if (c->family != family || memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((c->addr[full] ^ a[full]) &
	    (0xff << (8 - rest))) == 0;
}

START_TEST(test_compact_agrees)
{
	struct rules		 r1, r2;
	struct rule_cidr	 c[600];
	uint8_t			 a[16];
	size_t			 i, j, n;
	long			 w1, w2, lin;
	int			 fam, round;

	srandom(12);
	for (round = 0; round < 40; round++) {
		rules_init(&r1);
		rules_init(&r2);
		/* Every other round large enough for the directory. */
		n = round % 2 ? RULES_DIR_MIN + (size_t)random() % 300 :
		    1 + (size_t)random() % 300;
		for (i = 0; i < n; i++) {
			memset(&c[i], 0, sizeof(c[i]));
			c[i].family = random() % 3 == 0 ? AF_INET6 : AF_INET;
			/* Few distinct bits: many nested and equal prefixes. */
			for (j = 0; j < 16; j++)
				c[i].addr[j] = (uint8_t)(random() % 4 == 0 ?
				    random() : 0);
			c[i].plen = (int)(random() % (c[i].family == AF_INET ?
			    33 : 129));
			if (c[i].family == AF_INET)
				memset(c[i].addr + 4, 0, 12);
			for (j = (size_t)c[i].plen; j < 128; j++)
				c[i].addr[j / 8] &= (uint8_t)~(0x80 >> (j % 8));
			ck_assert_int_eq(rules_add(&r1, random() % 2 ?
			    RULE_ALLOW : RULE_DENY, &c[i]), 0);
		}
		for (i = 0; i < n; i++)
			ck_assert_int_eq(rules_add(&r2,
			    (enum rule_verdict)r1.verdict[i], &c[i]), 0);
		ck_assert_int_eq(rules_compact(&r2), 0);
		ck_assert((r2.dir != NULL) == (n >= RULES_DIR_MIN));
		ck_assert_int_eq(rules_add(&r2, RULE_DENY, &c[0]), -1);
		for (i = 0; i < 2000; i++) {
			fam = random() % 2 ? AF_INET6 : AF_INET;
			if (i % 2 == 0) {
				j = (size_t)random() % n;
				fam = c[j].family;
				memcpy(a, c[j].addr, 16);
				a[random() % 16] ^= (uint8_t)(random() % 3 ?
				    0 : 1 << (random() % 8));
			} else
				for (j = 0; j < 16; j++)
					a[j] = (uint8_t)(random() % 4 == 0 ?
					    random() : 0);
			for (lin = -1, j = 0; j < n; j++)
				if (covers(&c[j], fam, a)) {
					lin = (long)j;
					break;
				}
			(void)rules_match_addr(&r1, fam, a, &w1);
			(void)rules_match_addr(&r2, fam, a, &w2);
			ck_assert_int_eq(w1, lin);
			ck_assert_int_eq(w2, lin);
		}
		rules_free(&r1);
		rules_free(&r2);
	}
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc;

	tc = tcase_create("cidr");
	tcase_add_test(tc, test_cidr_good);
	tcase_add_test(tc, test_cidr_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_test(tc, test_empty_allows);
	tcase_add_test(tc, test_first_match);
	tcase_add_test(tc, test_default_deny_only_with_allow);
	tcase_add_test(tc, test_families);
	tcase_add_test(tc, test_unix_peer);
	tcase_add_test(tc, test_many);
	tcase_add_test(tc, test_compact_agrees);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_test(tc, test_file_good);
	tcase_add_test(tc, test_file_bad);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_real);
	suite_add_tcase(s, tc);
	return s;
}

