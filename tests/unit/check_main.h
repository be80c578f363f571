/*
 * check_main.h: the one Check runner every unit suite shares.
 *
 * A suite file defines check_suite() (its Suite, built as it likes) and
 * links check_main.c, which provides main(): it runs that suite with
 * CK_NORMAL output and exits 0 when no test failed.  A suite whose
 * tests fork and reap calls check_need_fork() from check_suite(): Check
 * then forks per test whatever CK_FORK says (make check-valgrind sets
 * CK_FORK=no for the others).
 *
 * check_tcase() adds a TCase to a suite with the tests of a list made by
 * CHECK_TESTS(test_a, test_b, ...) (or NULL), and returns it for
 * fixtures, timeouts and loop tests: one line per case, not one per test.
 */
#ifndef CHECK_MAIN_H
#define CHECK_MAIN_H

#include <check.h>

Suite	*check_suite(void);
void	 check_need_fork(void);
TCase	*check_tcase(Suite *, const char *, const TTest *const *);

#define CHECK_TESTS(...)	((const TTest *const []){ __VA_ARGS__, NULL })

#endif
