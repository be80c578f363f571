/*
 * check_options.c: Check suite for options.c.
 *
 * options_parse() is pure (it neither prints nor exits), so every case
 * here is an argument vector and the struct or message it must produce.
 * The contract under test: defaults as SPEC.md's table says; every option
 * in its short and long form; every bad value is OPT_USAGE with a message
 * that names the option and quotes the value; cross-option rules.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "check_main.h"

#define MAXARGS	64

static struct options	o;
static char		err[1024];

/* Parse "echod" followed by the NULL-terminated arguments. */
static enum opt_result
parse(const char *first, ...)
{
	static char	*argv[MAXARGS + 2];
	va_list		 ap;
	const char	*a;
	int		 argc = 0;

	argv[argc++] = (char *)"echod";
	va_start(ap, first);
	for (a = first; a != NULL; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, MAXARGS);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	options_defaults(&o);
	err[0] = '\0';
	return options_parse(&o, argc, argv, err, sizeof(err));
}

#define PARSE_OK(...) do {						\
	enum opt_result r_ = parse(__VA_ARGS__, (const char *)NULL);	\
	ck_assert_msg(r_ == OPT_OK, "expected OPT_OK, got %d: %s",	\
	    (int)r_, err);						\
} while (0)

/* Usage error whose message contains every given word. */
static void
usage_has(const char *want1, const char *want2)
{
	ck_assert_msg(err[0] != '\0', "usage error without a message");
	if (want1 != NULL)
		ck_assert_msg(strstr(err, want1) != NULL,
		    "message lacks \"%s\": %s", want1, err);
	if (want2 != NULL && want2[0] != '\0')
		ck_assert_msg(strstr(err, want2) != NULL,
		    "message lacks \"%s\": %s", want2, err);
}

#define PARSE_USAGE(w1, w2, ...) do {					\
	enum opt_result r_ = parse(__VA_ARGS__, (const char *)NULL);	\
	ck_assert_msg(r_ == OPT_USAGE, "expected OPT_USAGE, got %d",	\
	    (int)r_);							\
	usage_has((w1), (w2));						\
} while (0)

START_TEST(test_defaults)
{
	PARSE_OK((const char *)NULL);
	ck_assert_uint_eq(o.nlisten, 0);
	ck_assert_int_eq(o.udp, 0);
	ck_assert_int_eq(o.model, MODEL_PREFORK);
	ck_assert_int_eq(o.reap, REAP_WAITPID);
	ck_assert_int_eq(o.workers, 4);
	ck_assert_int_eq(o.min_spare, 2);
	ck_assert_int_eq(o.max_spare, 8);
	ck_assert_int_eq(o.max_children, 256);
	ck_assert_int_eq(o.max_requests, 0);
	ck_assert_int_eq(o.per_ip, 0);
	ck_assert_int_eq(o.rate, 0);
	ck_assert_int_eq(o.udp_rate, 100);
	ck_assert_int_eq(o.idle_timeout, 300);
	ck_assert_int_eq(o.grace, 10);
	ck_assert_int_eq(o.inetd, 0);
	ck_assert_int_eq(o.daemonize, 0);
	ck_assert_ptr_null(o.pidfile);
	ck_assert_ptr_null(o.user);
	ck_assert_ptr_null(o.group);
	ck_assert_int_eq(o.log_set, 0);
	ck_assert_int_eq(o.log, LOG_TO_STDERR);
	ck_assert_int_eq(o.verbosity, LOG_LEVEL_NORMAL);
	ck_assert_ptr_null(o.prefix);
	ck_assert_int_eq(o.timestamp, 0);
	ck_assert_int_eq(o.delay_ms, 0);
	ck_assert_str_eq(model_name(MODEL_PREFORK), "prefork");
	ck_assert_str_eq(model_name(MODEL_FORK), "fork");
	ck_assert_str_eq(reap_name(REAP_WAITPID), "waitpid");
	ck_assert_str_eq(reap_name(REAP_IGNORE), "ignore");
}
END_TEST

START_TEST(test_listen)
{
	PARSE_OK("-l", "127.0.0.1:0");
	ck_assert_uint_eq(o.nlisten, 1);
	ck_assert_int_eq(o.listen[0].kind, ADDR_INET);
	ck_assert_str_eq(o.listen[0].host, "127.0.0.1");

	PARSE_OK("--listen=[::1]:7", "--listen", "unix:/tmp/e", "-l8007",
	    "-l", "*:9");
	ck_assert_uint_eq(o.nlisten, 4);
	ck_assert_str_eq(o.listen[0].host, "::1");
	ck_assert_int_eq(o.listen[1].kind, ADDR_UNIX);
	ck_assert_int_eq(o.listen[2].kind, ADDR_WILDCARD);
	ck_assert_int_eq(o.listen[2].port, 8007);
	ck_assert_int_eq(o.listen[3].port, 9);
}
END_TEST

START_TEST(test_listen_too_many)
{
	char	*argv[2 * OPT_MAX_LISTEN + 4];
	int	 argc = 0, i;

	argv[argc++] = (char *)"echod";
	for (i = 0; i < OPT_MAX_LISTEN; i++) {
		argv[argc++] = (char *)"-l";
		argv[argc++] = (char *)"7";
	}
	argv[argc] = NULL;
	options_defaults(&o);
	ck_assert_int_eq(options_parse(&o, argc, argv, err, sizeof(err)),
	    OPT_OK);
	ck_assert_uint_eq(o.nlisten, OPT_MAX_LISTEN);
	argv[argc++] = (char *)"-l";
	argv[argc++] = (char *)"7";
	argv[argc] = NULL;
	options_defaults(&o);
	ck_assert_int_eq(options_parse(&o, argc, argv, err, sizeof(err)),
	    OPT_USAGE);
	usage_has("listen", NULL);
}
END_TEST

START_TEST(test_flags)
{
	PARSE_OK("-u", "-v");
	ck_assert_int_eq(o.udp, 1);
	ck_assert_int_eq(o.verbosity, LOG_LEVEL_VERBOSE);
	PARSE_OK("--udp", "--verbose");
	ck_assert_int_eq(o.udp, 1);
	ck_assert_int_eq(o.verbosity, LOG_LEVEL_VERBOSE);
	PARSE_OK("-q");
	ck_assert_int_eq(o.verbosity, LOG_LEVEL_QUIET);
	PARSE_OK("--quiet");
	ck_assert_int_eq(o.verbosity, LOG_LEVEL_QUIET);
	PARSE_OK("-i");
	ck_assert_int_eq(o.inetd, 1);
	PARSE_OK("--inetd");
	ck_assert_int_eq(o.inetd, 1);
	PARSE_OK("-D");
	ck_assert_int_eq(o.daemonize, 1);
	PARSE_OK("--daemon");
	ck_assert_int_eq(o.daemonize, 1);
	PARSE_OK("--timestamp");
	ck_assert_int_eq(o.timestamp, 1);
	PARSE_OK("-uvD");		/* clustered short flags */
	ck_assert_int_eq(o.udp, 1);
	ck_assert_int_eq(o.daemonize, 1);
}
END_TEST

START_TEST(test_model_reap)
{
	PARSE_OK("-m", "fork");
	ck_assert_int_eq(o.model, MODEL_FORK);
	PARSE_OK("--model=prefork");
	ck_assert_int_eq(o.model, MODEL_PREFORK);
	PARSE_OK("--model", "fork", "-r", "ignore");
	ck_assert_int_eq(o.reap, REAP_IGNORE);
	PARSE_OK("-mfork", "--reap=ignore");
	ck_assert_int_eq(o.reap, REAP_IGNORE);
	/* Order does not matter: the rule is checked after parsing. */
	PARSE_OK("--reap=ignore", "--model=fork");
	ck_assert_int_eq(o.reap, REAP_IGNORE);
	PARSE_OK("--reap=waitpid");
	ck_assert_int_eq(o.reap, REAP_WAITPID);
	PARSE_OK("-r", "waitpid", "-m", "fork");
	ck_assert_int_eq(o.reap, REAP_WAITPID);
}
END_TEST

START_TEST(test_numbers)
{
	PARSE_OK("-w", "3", "-c", "10");
	ck_assert_int_eq(o.workers, 3);
	ck_assert_int_eq(o.max_children, 10);
	PARSE_OK("--workers=5", "--max-children=50");
	ck_assert_int_eq(o.workers, 5);
	ck_assert_int_eq(o.max_children, 50);
	PARSE_OK("--min-spare=0", "--max-spare=1");
	ck_assert_int_eq(o.min_spare, 0);
	ck_assert_int_eq(o.max_spare, 1);
	PARSE_OK("--min-spare", "3", "--max-spare", "30");
	ck_assert_int_eq(o.min_spare, 3);
	ck_assert_int_eq(o.max_spare, 30);
	PARSE_OK("--max-requests=1000");
	ck_assert_int_eq(o.max_requests, 1000);
	PARSE_OK("--per-ip=4", "--rate=60", "--udp-rate=0");
	ck_assert_int_eq(o.per_ip, 4);
	ck_assert_int_eq(o.rate, 60);
	ck_assert_int_eq(o.udp_rate, 0);
	PARSE_OK("-t", "0", "--grace", "0");
	ck_assert_int_eq(o.idle_timeout, 0);
	ck_assert_int_eq(o.grace, 0);
	PARSE_OK("--idle-timeout=30", "--grace=5");
	ck_assert_int_eq(o.idle_timeout, 30);
	ck_assert_int_eq(o.grace, 5);
	PARSE_OK("--delay=0.25");
	ck_assert_int_eq(o.delay_ms, 250);
	PARSE_OK("--delay", "2");
	ck_assert_int_eq(o.delay_ms, 2000);
	PARSE_OK("-w1", "-c1");
	ck_assert_int_eq(o.workers, 1);
	ck_assert_int_eq(o.max_children, 1);
}
END_TEST

START_TEST(test_strings)
{
	PARSE_OK("-P", "/run/echod.pid");
	ck_assert_str_eq(o.pidfile, "/run/echod.pid");
	PARSE_OK("--pidfile=/tmp/e.pid");
	ck_assert_str_eq(o.pidfile, "/tmp/e.pid");
	PARSE_OK("--user=nobody", "--group", "nogroup");
	ck_assert_str_eq(o.user, "nobody");
	ck_assert_str_eq(o.group, "nogroup");
	PARSE_OK("--log=syslog");
	ck_assert_int_eq(o.log, LOG_TO_SYSLOG);
	ck_assert_int_eq(o.log_set, 1);
	PARSE_OK("--log", "stderr");
	ck_assert_int_eq(o.log, LOG_TO_STDERR);
	ck_assert_int_eq(o.log_set, 1);
	PARSE_OK("--prefix=Echo=>", "--timestamp");
	ck_assert_str_eq(o.prefix, "Echo=>");
	ck_assert_int_eq(o.timestamp, 1);
	PARSE_OK("--prefix=");
	ck_assert_str_eq(o.prefix, "");
}
END_TEST

/* Bad values for every numeric option. */
struct bad_case {
	const char	*opt;	/* as typed */
	const char	*name;	/* what the message must name */
	const char	*value;
};

static const struct bad_case bad_numbers[] = {
	{ "--workers", "workers", "abc" },
	{ "--workers", "workers", "0" },
	{ "--workers", "workers", "-1" },
	{ "--workers", "workers", "99999999999" },
	{ "--workers", "workers", "1.5" },
	{ "--workers", "workers", "" },
	{ "--workers", "workers", " 4" },
	{ "-w", "workers", "4x" },
	{ "--min-spare", "min-spare", "abc" },
	{ "--min-spare", "min-spare", "-1" },
	{ "--min-spare", "min-spare", "99999999999" },
	{ "--min-spare", "min-spare", "1.5" },
	{ "--max-spare", "max-spare", "0" },
	{ "--max-spare", "max-spare", "abc" },
	{ "--max-spare", "max-spare", "1.5" },
	{ "--max-children", "max-children", "0" },
	{ "--max-children", "max-children", "-1" },
	{ "--max-children", "max-children", "99999999999" },
	{ "-c", "max-children", "abc" },
	{ "-c", "max-children", "" },
	{ "--max-requests", "max-requests", "-1" },
	{ "--max-requests", "max-requests", "abc" },
	{ "--max-requests", "max-requests", "99999999999999999999" },
	{ "--max-requests", "max-requests", "1.5" },
	{ "--per-ip", "per-ip", "-1" },
	{ "--per-ip", "per-ip", "abc" },
	{ "--per-ip", "per-ip", "99999999999" },
	{ "--rate", "rate", "-1" },
	{ "--rate", "rate", "1.5" },
	{ "--rate", "rate", "99999999999" },
	{ "--udp-rate", "udp-rate", "-1" },
	{ "--udp-rate", "udp-rate", "abc" },
	{ "--udp-rate", "udp-rate", "99999999999" },
	{ "--idle-timeout", "idle-timeout", "-1" },
	{ "--idle-timeout", "idle-timeout", "abc" },
	{ "--idle-timeout", "idle-timeout", "99999999999" },
	{ "-t", "idle-timeout", "1.5" },
	{ "--grace", "grace", "-1" },
	{ "--grace", "grace", "abc" },
	{ "--grace", "grace", "99999999999" },
	{ "--grace", "grace", "1.5" },
	{ "--delay", "delay", "abc" },
	{ "--delay", "delay", "-1" },
	{ "--delay", "delay", "1.2345" },
	{ "--delay", "delay", "3601" },
	{ "--delay", "delay", "" },
	{ "--model", "model", "threads" },
	{ "-m", "model", "" },
	{ "--model", "model", "Fork" },
	{ "--reap", "reap", "wait" },
	{ "-r", "reap", "" },
	{ "--log", "log", "file" },
	{ "--log", "log", "" },
	{ "--listen", "listen", "999.1.1.1:7" },
	{ "--listen", "listen", "[::1]7" },
	{ "--listen", "listen", "host:70000" },
	{ "--listen", "listen", "unix:relative" },
	{ "-l", "listen", "::1:7" },
	{ "-l", "listen", "" },
};

START_TEST(test_bad_values)
{
	const struct bad_case	*bc = &bad_numbers[_i];
	char			 joined[256];
	enum opt_result		 r;

	/* Separate argument. */
	r = parse(bc->opt, bc->value, (const char *)NULL);
	ck_assert_msg(r == OPT_USAGE, "%s \"%s\" accepted", bc->opt,
	    bc->value);
	usage_has(bc->name, bc->value);
	/* Joined: --opt=value or -ovalue (not for empty short values). */
	if (bc->opt[1] == '-')
		(void)snprintf(joined, sizeof(joined), "%s=%s", bc->opt,
		    bc->value);
	else if (bc->value[0] != '\0')
		(void)snprintf(joined, sizeof(joined), "%s%s", bc->opt,
		    bc->value);
	else
		return;
	r = parse(joined, (const char *)NULL);
	ck_assert_msg(r == OPT_USAGE, "%s accepted", joined);
	usage_has(bc->name, bc->value);
}
END_TEST

START_TEST(test_bad_empty_strings)
{
	PARSE_USAGE("pidfile", NULL, "--pidfile=");
	PARSE_USAGE("pidfile", NULL, "-P", "");
	PARSE_USAGE("user", NULL, "--user=");
	PARSE_USAGE("group", NULL, "--group", "");
}
END_TEST

START_TEST(test_prefix_too_long)
{
	static char	long_prefix[2048];
	char		arg[2100];

	memset(long_prefix, 'p', 1025);
	long_prefix[1025] = '\0';
	(void)snprintf(arg, sizeof(arg), "--prefix=%s", long_prefix);
	PARSE_USAGE("prefix", NULL, arg);
	long_prefix[1024] = '\0';
	(void)snprintf(arg, sizeof(arg), "--prefix=%s", long_prefix);
	PARSE_OK(arg);
}
END_TEST

START_TEST(test_reap_ignore_needs_fork)
{
	PARSE_USAGE("reap", "fork", "--reap=ignore");
	PARSE_USAGE("reap", "fork", "-r", "ignore", "-m", "prefork");
	PARSE_USAGE("reap", "fork", "--model=fork", "--reap=ignore",
	    "--model=prefork");
}
END_TEST

START_TEST(test_inetd_daemon)
{
	PARSE_USAGE("inetd", "daemon", "-i", "-D");
	PARSE_USAGE("inetd", "daemon", "--daemon", "--inetd");
	PARSE_USAGE("inetd", "daemon", "-iD");
}
END_TEST

START_TEST(test_workers_vs_max_children)
{
	/* Explicit contradiction: an error naming both. */
	PARSE_USAGE("workers", "max-children", "-w", "10", "-c", "5");
	PARSE_USAGE("workers", "max-children", "--workers=300");
	/* Implicit: the default of 4 bends to the ceiling. */
	PARSE_OK("-c", "2");
	ck_assert_int_eq(o.workers, 2);
	ck_assert_int_eq(o.max_children, 2);
	PARSE_OK("-w", "5", "-c", "5");
	ck_assert_int_eq(o.workers, 5);
	PARSE_OK("-c", "4");
	ck_assert_int_eq(o.workers, 4);
}
END_TEST

START_TEST(test_spare_bounds)
{
	PARSE_USAGE("min-spare", "max-spare", "--min-spare=9",
	    "--max-spare=3");
	/* One side given: the other bends. */
	PARSE_OK("--min-spare=20");
	ck_assert_int_eq(o.min_spare, 20);
	ck_assert_int_eq(o.max_spare, 20);
	PARSE_OK("--max-spare=1");
	ck_assert_int_eq(o.min_spare, 1);
	ck_assert_int_eq(o.max_spare, 1);
	PARSE_OK("--min-spare=4", "--max-spare=4");
}
END_TEST

START_TEST(test_unknown_option)
{
	PARSE_USAGE("--bogus", NULL, "--bogus");
	PARSE_USAGE("--bogus", NULL, "--bogus=3");
	PARSE_USAGE("-x", NULL, "-x");
	PARSE_USAGE("-Z", NULL, "-v", "-Z");
	/* A flag does not take a value. */
	PARSE_USAGE("--udp", "yes", "--udp=yes");
	PARSE_USAGE("--verbose", "1", "--verbose=1");
	PARSE_USAGE("--timestamp", "x", "--timestamp=x");
	PARSE_USAGE("--verbose", "1", "--verb=1");	/* an abbreviation */
	/* After a long flag, an unknown short one is still named. */
	PARSE_USAGE("-Z", NULL, "--udp", "-Zv");
}
END_TEST

START_TEST(test_missing_value)
{
	PARSE_USAGE("listen", NULL, "-l");
	PARSE_USAGE("listen", NULL, "--listen");
	PARSE_USAGE("workers", NULL, "-v", "-w");
	PARSE_USAGE("model", NULL, "--model");
	PARSE_USAGE("max-children", NULL, "-c");
	PARSE_USAGE("min-spare", NULL, "--min-spare");
	PARSE_USAGE("max-spare", NULL, "--max-spare");
	PARSE_USAGE("max-requests", NULL, "--max-requests");
	PARSE_USAGE("per-ip", NULL, "--per-ip");
	PARSE_USAGE("rate", NULL, "--rate");
	PARSE_USAGE("udp-rate", NULL, "--udp-rate");
	PARSE_USAGE("grace", NULL, "--grace");
	PARSE_USAGE("user", NULL, "--user");
	PARSE_USAGE("group", NULL, "--group");
	PARSE_USAGE("log", NULL, "--log");
	PARSE_USAGE("prefix", NULL, "--prefix");
	PARSE_USAGE("delay", NULL, "--delay");
	PARSE_USAGE("pidfile", NULL, "-P");
	PARSE_USAGE("idle-timeout", NULL, "-t");
	PARSE_USAGE("reap", NULL, "-r");
}
END_TEST

START_TEST(test_extra_argument)
{
	PARSE_USAGE("127.0.0.1:7", NULL, "127.0.0.1:7");
	PARSE_USAGE("extra", NULL, "-v", "extra");
	PARSE_USAGE("extra", NULL, "extra", "-v");
	PARSE_USAGE("-v", NULL, "--", "-v");
}
END_TEST

START_TEST(test_help_version)
{
	ck_assert_int_eq(parse("-h", (const char *)NULL), OPT_HELP);
	ck_assert_int_eq(parse("--help", (const char *)NULL), OPT_HELP);
	ck_assert_int_eq(parse("-V", (const char *)NULL), OPT_VERSION);
	ck_assert_int_eq(parse("--version", (const char *)NULL), OPT_VERSION);
	ck_assert_int_eq(parse("-v", "--help", (const char *)NULL), OPT_HELP);
}
END_TEST

/* The parser can be called again and again (getopt state is reset). */
/* issue #12: --allow, --deny, --rules, --proxy-from. */
START_TEST(test_rules_options)
{
	PARSE_OK("--deny=10.1.99.0/24", "--allow", "10.1.0.0/16",
	    "--allow=::1", "--rules=/etc/echod.rules",
	    "--proxy-from=127.0.0.1", "--proxy-from=2001:db8::/32");
	ck_assert_uint_eq(o.nrules, 3);
	ck_assert_str_eq(o.rule_arg[0], "10.1.99.0/24");
	ck_assert_int_eq(o.rule_allow[0], 0);
	ck_assert_str_eq(o.rule_arg[1], "10.1.0.0/16");
	ck_assert_int_eq(o.rule_allow[1], 1);
	ck_assert_int_eq(o.rule_allow[2], 1);
	ck_assert_str_eq(o.rules_file, "/etc/echod.rules");
	ck_assert_uint_eq(o.nproxy, 2);
	ck_assert_str_eq(o.proxy_from[1], "2001:db8::/32");

	PARSE_USAGE("--allow", "10.0.0.300", "--allow=10.0.0.300/8");
	PARSE_USAGE("--deny", "33", "--deny=10.0.0.0/33");
	PARSE_USAGE("--deny", "example.com", "--deny", "example.com");
	PARSE_USAGE("--proxy-from", "1.2.3", "--proxy-from=1.2.3");
	PARSE_USAGE("--rules", "empty", "--rules=");
	PARSE_USAGE("--allow", "needs a value", "--allow");
}
END_TEST

START_TEST(test_reparse)
{
	int	i;

	for (i = 0; i < 3; i++) {
		PARSE_USAGE("workers", "x", "-w", "x");
		PARSE_OK("-m", "fork", "-w", "2");
		ck_assert_int_eq(o.workers, 2);
		ck_assert_int_eq(o.model, MODEL_FORK);
	}
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("options");
	TCase	*tc;

	check_tcase(s, "good", CHECK_TESTS(test_defaults, test_listen,
	    test_listen_too_many, test_flags, test_model_reap, test_numbers,
	    test_strings, test_help_version, test_reparse,
	    test_rules_options));

	tc = check_tcase(s, "bad", CHECK_TESTS(test_bad_empty_strings,
	    test_prefix_too_long, test_unknown_option, test_missing_value,
	    test_extra_argument));
	tcase_add_loop_test(tc, test_bad_values, 0,
	    (int)(sizeof(bad_numbers) / sizeof(bad_numbers[0])));

	check_tcase(s, "rules", CHECK_TESTS(test_reap_ignore_needs_fork,
	    test_inetd_daemon, test_workers_vs_max_children,
	    test_spare_bounds));
	return s;
}
