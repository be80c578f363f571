/*
 * check_ctlfmt.c: Check suite for ctlfmt.c (the control socket's answers)
 * and upgrade_pick_path() (which binary SIGUSR2 runs).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlfmt.h"
#include "stats.h"
#include "upgrade.h"
#include "check_main.h"

START_TEST(test_json_escape)
{
	struct ctlbuf	b = { 0 };

	ctlbuf_json_str(&b, "a\"b\\c\nd\x01");
	ck_assert_str_eq(b.p, "\"a\\\"b\\\\c\\u000ad\\u0001\"");
	ctlbuf_free(&b);
}
END_TEST

START_TEST(test_status_from_line)
{
	struct ctlbuf	b = { 0 };
	struct stats	st;
	struct ctl_info	ci = { "prefork", 42, 3, 1700000000, 0 };
	char		line[1024];

	memset(&st, 0, sizeof(st));
	st.workers = 5;
	st.served = 120;
	st.udp_restarts = 7;
	(void)stats_format(&st, "prefork", line, sizeof(line));
	ctlfmt_status(&b, line, &ci);
	ck_assert_ptr_nonnull(strstr(b.p, "\"model\": \"prefork\""));
	ck_assert_ptr_nonnull(strstr(b.p, "\"workers\": 5,"));
	ck_assert_ptr_nonnull(strstr(b.p, "\"served\": 120,"));
	/* The last key of the line, whatever it is, is there too. */
	ck_assert_ptr_nonnull(strstr(b.p, "\"udp_restarts\": 7,"));
	ck_assert_ptr_nonnull(strstr(b.p, "\"pid\": 42, \"generation\": 3, "
	    "\"started\": 1700000000, \"upgrading\": 0}\n"));
	ck_assert_int_eq(b.p[0], '{');
	ctlbuf_free(&b);
}
END_TEST

START_TEST(test_metrics)
{
	struct ctlbuf	b = { 0 };
	struct stats	st;
	struct ctl_info	ci = { "fork", 1, 0, 5, 0 };

	memset(&st, 0, sizeof(st));
	st.refused = 10;
	st.refused_per_ip = 4;
	st.refused_rate = 1;
	st.workers = 3;
	st.idle = 1;
	st.busy = 1;
	st.served = 99;
	ctlfmt_metrics(&b, &st, &ci);
	ck_assert_ptr_nonnull(strstr(b.p,
	    "# TYPE echod_connections_served_total counter\n"
	    "echod_connections_served_total 99\n"));
	ck_assert_ptr_nonnull(strstr(b.p,
	    "echod_refused_total{reason=\"per_ip\"} 4\n"));
	/* The labelled series add up to the whole. */
	ck_assert_ptr_nonnull(strstr(b.p,
	    "echod_refused_total{reason=\"other\"} 5\n"));
	ck_assert_ptr_nonnull(strstr(b.p,
	    "echod_workers{state=\"other\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.p, "echod_info{model=\"fork\"} 1\n"));
	ctlbuf_free(&b);
}
END_TEST

START_TEST(test_error)
{
	struct ctlbuf	b = { 0 };

	ctlfmt_error(&b, "bad \"thing\"");
	ck_assert_str_eq(b.p, "{\"error\": \"bad \\\"thing\\\"\"}\n");
	ctlbuf_free(&b);
}
END_TEST

START_TEST(test_pick_path)
{
	char	out[4096], cwd[4096], self[4096];
	ssize_t	n;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	/* argv[0] naming the running file: kept as given, made absolute. */
	ck_assert_int_eq(upgrade_pick_path(self, cwd, self, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, self);
	/* A bare name (found in PATH) or another file: /proc/self/exe. */
	ck_assert_int_eq(upgrade_pick_path("echod", cwd, self, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, self);
	ck_assert_int_eq(upgrade_pick_path("/bin/sh", cwd, self, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, self);
	ck_assert_int_eq(upgrade_pick_path("x", cwd, NULL, out, sizeof(out)),
	    -1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("ctlfmt");

	(void)check_tcase(s, "format", CHECK_TESTS(test_json_escape,
	    test_status_from_line, test_metrics, test_error, test_pick_path));
	return s;
}
