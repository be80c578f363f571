/*
 * check_main.c: main() for every Check suite in tests/unit (see
 * check_main.h): run the suite check_suite() builds, exit 0 if no test
 * failed; check_tcase(), the table-driven TCase builder.
 */
#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "check_main.h"

static bool	need_fork;

void
check_need_fork(void)
{
	need_fork = true;
}

TCase *
check_tcase(Suite *s, const char *name, const TTest *const *tests)
{
	TCase	*tc = tcase_create(name);

	for (; tests != NULL && *tests != NULL; tests++)
		tcase_add_test(tc, *tests);
	suite_add_tcase(s, tc);
	return tc;
}

int
main(void)
{
	Suite	*s = check_suite();
	SRunner	*sr = srunner_create(s);
	int	 failed;

	/* Tests that fork and reap need Check's own process per test. */
	if (need_fork)
		srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
