/*
 * check_master.c: Check suite for the master's pure parts and its clock.
 *
 *	clock.c		ms <-> timespec, poll timeouts to a deadline, and
 *			that the clock never goes back
 *	master.c	the accept-errno policy both models share, and the
 *			one fork-failure backoff formula
 *	pool.c		the backoff formula with its two caps
 *	sig.c		signals come out of sig_fd() as numbers, injected
 *			ones first and never merged; an inherited SIG_IGN
 *			is undone; a serving process holds the master's
 *			HUP/USR2 and dies of TERM
 *
 * The sig.c tests raise real signals; Check forks each test (CK_FORK),
 * so the mask never outlives the test that set it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "clock.h"
#include "master.h"
#include "pool.h"
#include "sig.h"
#include "check_main.h"

START_TEST(test_clock_convert)
{
	struct timespec	ts = { 12, 345678901 };

	ck_assert_int_eq(clock_ts_ms(&ts), 12345);
	clock_ms_ts(98765, &ts);
	ck_assert_int_eq(ts.tv_sec, 98);
	ck_assert_int_eq(ts.tv_nsec, 765000000);
	clock_ms_ts(-5, &ts);		/* never a negative timespec */
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 0);
	/* Large values survive the round trip (64 bits). */
	clock_ms_ts((int64_t)1 << 40, &ts);
	ck_assert(clock_ts_ms(&ts) == (int64_t)1 << 40);
}
END_TEST

START_TEST(test_clock_until)
{
	ck_assert_int_eq(clock_until(1500, 1000), 500);
	ck_assert_int_eq(clock_until(1000, 1000), 0);
	ck_assert_int_eq(clock_until(900, 1000), 0);	/* passed: at once */
	ck_assert_int_eq(clock_until((int64_t)1 << 40, 0), INT_MAX);
}
END_TEST

START_TEST(test_clock_monotonic)
{
	int64_t	a, b, us;
	int	i;

	a = clock_ms();
	us = clock_us();
	ck_assert(a > 0);
	ck_assert(us / 1000 >= a);
	for (i = 0; i < 1000; i++) {
		b = clock_ms();
		ck_assert(b >= a);
		a = b;
	}
}
END_TEST

START_TEST(test_accept_verdict)
{
	ck_assert_int_eq(accept_verdict(EAGAIN), ACCEPT_DONE);
	ck_assert_int_eq(accept_verdict(EWOULDBLOCK), ACCEPT_DONE);
	ck_assert_int_eq(accept_verdict(EINTR), ACCEPT_DONE);
	ck_assert_int_eq(accept_verdict(ECONNABORTED), ACCEPT_RETRY);
	ck_assert_int_eq(accept_verdict(EPROTO), ACCEPT_RETRY);
	ck_assert_int_eq(accept_verdict(EPERM), ACCEPT_RETRY);
	ck_assert_int_eq(accept_verdict(EMFILE), ACCEPT_PAUSE);
	ck_assert_int_eq(accept_verdict(ENFILE), ACCEPT_PAUSE);
	ck_assert_int_eq(accept_verdict(ENOBUFS), ACCEPT_PAUSE);
	ck_assert_int_eq(accept_verdict(ENOMEM), ACCEPT_PAUSE);
	ck_assert_int_eq(accept_verdict(EBADF), ACCEPT_FAIL);
	ck_assert_int_eq(accept_verdict(EINVAL), ACCEPT_FAIL);
}
END_TEST

START_TEST(test_backoff_formula)
{
	/* Fork failures: 100, 200, 400, 800, then 1 s for ever. */
	ck_assert_int_eq(fork_backoff_ms(0), 0);
	ck_assert_int_eq(fork_backoff_ms(1), 100);
	ck_assert_int_eq(fork_backoff_ms(2), 200);
	ck_assert_int_eq(fork_backoff_ms(4), 800);
	ck_assert_int_eq(fork_backoff_ms(5), FORK_BACKOFF_MAX_MS);
	ck_assert_int_eq(fork_backoff_ms(INT_MAX), FORK_BACKOFF_MAX_MS);
	/* Crash loops: the same formula, capped at 10 s. */
	ck_assert_int_eq(pool_backoff_for(1), fork_backoff_ms(1));
	ck_assert_int_eq(pool_backoff_for(4), fork_backoff_ms(4));
	ck_assert_int_eq(pool_backoff_for(8), POOL_BACKOFF_MAX_MS);
	ck_assert_int_eq(pool_backoff_cap(3, 250), 250);
	ck_assert_int_eq(pool_backoff_cap(-1, 250), 0);
}
END_TEST

START_TEST(test_sig_numbers)
{
	struct sigaction	sa;
	sigset_t		blocked;

	/* What a careless parent leaves: SIGUSR1 blocked, SIGHUP ignored. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &blocked, NULL), 0);
	(void)signal(SIGHUP, SIG_IGN);
	ck_assert_int_ge(sig_init(0), 0);
	ck_assert_int_eq(sig_fd(), sig_init(0));	/* once */
#ifdef HAVE_SIGNALFD
	/* Held for the descriptor, at their defaults: nothing to undo. */
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &blocked), 0);
	ck_assert(sigismember(&blocked, SIGCHLD));
	ck_assert(sigismember(&blocked, SIGTERM));
	ck_assert(!sigismember(&blocked, SIGPIPE));
#endif
	/* An inherited SIG_IGN would have discarded SIGHUP unread. */
	ck_assert_int_eq(sigaction(SIGHUP, NULL, &sa), 0);
	ck_assert_ptr_ne((void *)sa.sa_handler, (void *)SIG_IGN);

	ck_assert_int_eq(sig_next(), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(raise(SIGTTOU), 0);
	ck_assert_int_eq(raise(SIGHUP), 0);
	ck_assert_int_eq(sig_next(), 0);	/* not read before poll says */
	sig_arm();
	/* Each once, as pending signals are (signalfd: by number). */
	ck_assert_int_eq(sig_next() + sig_next() + sig_next(),
	    SIGUSR1 + SIGTTOU + SIGHUP);
	ck_assert_int_eq(sig_next(), 0);

	/* Injected numbers are never merged, and come first. */
	ck_assert(!sig_queued());
	ck_assert_int_eq(sig_inject(SIGTTIN), 0);
	ck_assert_int_eq(sig_inject(SIGTTIN), 0);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	sig_arm();
	ck_assert(sig_queued());
	ck_assert_int_eq(sig_next(), SIGTTIN);
	ck_assert_int_eq(sig_next(), SIGTTIN);
	ck_assert_int_eq(sig_next(), SIGUSR2);
	ck_assert_int_eq(sig_next(), 0);
	ck_assert(!sig_queued());
}
END_TEST

START_TEST(test_sig_reap_ignore)
{
	struct sigaction	sa;

	ck_assert_int_ge(sig_init(1), 0);
	/* --reap=ignore: the kernel reaps. */
	ck_assert_int_eq(sigaction(SIGCHLD, NULL, &sa), 0);
	ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_IGN);
	ck_assert(sa.sa_flags & SA_NOCLDWAIT);
	/* SIGPIPE stays ignored: a vanished peer is an EPIPE. */
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_IGN);
}
END_TEST

/*
 * A serving process's signals: the master's HUP and USR2 are held, never
 * fatal; TERM ends it with the default action, not a handler of the
 * master's.
 */
START_TEST(test_sig_child)
{
	sigset_t	mask;
	pid_t		pid;
	int		status;

	ck_assert_int_ge(sig_init(0), 0);
	sig_child_mask(&mask);
	ck_assert(sigismember(&mask, SIGHUP));
	ck_assert(sigismember(&mask, SIGUSR2));
	ck_assert(!sigismember(&mask, SIGTERM));
	ck_assert(!sigismember(&mask, SIGINT));
	if ((pid = sig_fork()) == 0) {
		sig_child_reset();
		(void)sigprocmask(SIG_SETMASK, &mask, NULL);
		(void)raise(SIGHUP);
		(void)raise(SIGUSR2);
		(void)raise(SIGTERM);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGTERM);
	sig_arm();
	ck_assert_int_eq(sig_next(), SIGCHLD);
}
END_TEST

START_TEST(test_sig_reset_inherited)
{
	struct sigaction	sa;
	sigset_t		set;

	/* A parent that ignored and blocked SIGCHLD, and SIGPIPE default. */
	(void)signal(SIGCHLD, SIG_IGN);
	(void)signal(SIGPIPE, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, NULL), 0);
	sig_reset_inherited();
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, NULL, &set), 0);
	ck_assert(!sigismember(&set, SIGCHLD));
	ck_assert_int_eq(sigaction(SIGCHLD, NULL, &sa), 0);
	ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_DFL);
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_IGN);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("master");
	TCase	*tc;

	tc = tcase_create("clock");
	tcase_add_test(tc, test_clock_convert);
	tcase_add_test(tc, test_clock_until);
	tcase_add_test(tc, test_clock_monotonic);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, test_accept_verdict);
	tcase_add_test(tc, test_backoff_formula);
	suite_add_tcase(s, tc);

	tc = tcase_create("signals");
	tcase_add_test(tc, test_sig_numbers);
	tcase_add_test(tc, test_sig_reap_ignore);
	tcase_add_test(tc, test_sig_child);
	tcase_add_test(tc, test_sig_reset_inherited);
	suite_add_tcase(s, tc);
	return s;
}

