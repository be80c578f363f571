/*
 * check_children.c: Check suite for children.c.
 *
 * The table: add until full, forget by pid and by index (the last entry
 * fills the hole).  The accounting: real children, really forked, that
 * exit 0, exit 3 and die by SIGKILL, so the statuses are the kernel's and
 * not hand-built bit patterns.  children_reap() must collect exactly the
 * children that have ended, close their pipe ends and count them.
 *
 * Check runs each test in its own forked process (CK_FORK), so
 * waitpid(-1) here only ever sees the children that test made.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "children.h"
#include "stats.h"
#include "check_main.h"

static void	wait_ended(pid_t);

START_TEST(test_init_free)
{
	struct children	c;

	ck_assert_int_eq(children_init(&c, 4), 0);
	ck_assert_uint_eq(c.cap, 4);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_ptr_nonnull(c.tab);
	children_free(&c);
	ck_assert_ptr_null(c.tab);
	ck_assert_uint_eq(c.cap, 0);
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

START_TEST(test_add_full)
{
	struct children	c;

	ck_assert_int_eq(children_init(&c, 3), 0);
	ck_assert_int_eq(children_add(&c, 101, -1), 0);
	ck_assert_int_eq(children_add(&c, 102, 7), 0);
	ck_assert_int_eq(children_add(&c, 103, -1), 0);
	ck_assert_uint_eq(c.n, 3);
	/* Full: refused, and nothing overwritten. */
	ck_assert_int_eq(children_add(&c, 104, -1), -1);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(c.tab[0].pid, 101);
	ck_assert_int_eq(c.tab[1].pid, 102);
	ck_assert_int_eq(c.tab[1].fd, 7);
	ck_assert_int_eq(c.tab[2].pid, 103);
	ck_assert(c.tab[0].start_ms > 0);
	ck_assert_int_eq(c.tab[0].slot, -1);
	children_free(&c);
}
END_TEST

/* Never a pid that kill() would spread: 0, -1, init. */
START_TEST(test_add_refuses_wild_pids)
{
	struct children	c;
	struct child	ch;

	ck_assert_int_eq(children_init(&c, 4), 0);
	ck_assert_int_eq(children_add(&c, -1, -1), -1);
	ck_assert_int_eq(children_add(&c, 0, -1), -1);
	ck_assert_int_eq(children_add(&c, 1, -1), -1);
	ck_assert_uint_eq(c.n, 0);
	/* And a hand-made entry with such a pid is never signalled. */
	memset(&ch, 0, sizeof(ch));
	ch.pidfd = -1;
	ch.pid = -1;
	ck_assert_int_eq(children_kill(&ch, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	ch.pid = 0;
	ck_assert_int_eq(children_kill(&ch, 0), -1);
	children_free(&c);
}
END_TEST

/* A real child is signalled through its pidfd (or kill) and reaped. */
START_TEST(test_kill_own_child)
{
	struct children	c;
	struct stats	st;
	pid_t		pid;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(children_init(&c, 2), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(children_add(&c, pid, -1), 0);
	ck_assert_ptr_eq(children_find(&c, pid), &c.tab[0]);
	ck_assert_int_eq(children_kill(&c.tab[0], SIGKILL), 0);
	wait_ended(pid);
	ck_assert_uint_eq(children_reap(&c, &st), 1);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(st.abnormal, 1);
	children_free(&c);
}
END_TEST

/*
 * --reap=ignore: a child with a pipe is pinned by a pidfd at its first
 * signal; one whose pipe has hung up is gone and is never signalled
 * (its pid may be anyone's by now).
 */
static pid_t
child_with_pipe(int *rd, int wait_for_signal)
{
	int	p[2];
	pid_t	pid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		(void)close(p[0]);
		if (wait_for_signal)
			pause();
		_exit(0);
	}
	(void)close(p[1]);
	*rd = p[0];
	return pid;
}

static void
wait_hangup(int fd)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };

	ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
}

START_TEST(test_kill_kernel_reaped)
{
	struct children	c;
	struct child	*ch;
	pid_t		pid;
	long		rc;
	int		rd;

	(void)signal(SIGCHLD, SIG_IGN);		/* the kernel reaps */
	ck_assert_int_eq(children_init(&c, 2), 0);
	pid = child_with_pipe(&rd, 1);
	ck_assert_int_eq(children_add(&c, pid, rd), 0);
	ch = children_find(&c, pid);
	ck_assert_int_eq(ch->pidfd, -1);	/* no pidfd per fork */
	ck_assert_int_eq(children_kill(ch, 0), 0);
#ifdef SYS_pidfd_open
	if ((rc = syscall(SYS_pidfd_open, getpid(), 0)) >= 0) {
		(void)close((int)rc);	/* valgrind has none: kill() then */
		ck_assert_int_ge(ch->pidfd, 0);		/* pinned */
	}
#endif
	ck_assert_int_eq(children_kill(ch, SIGKILL), 0);
	wait_hangup(rd);
	(void)children_forget_pid(&c, pid, NULL);
	(void)close(rd);

	pid = child_with_pipe(&rd, 0);		/* exits at once */
	wait_hangup(rd);
	ck_assert_int_eq(children_add(&c, pid, rd), 0);
	ch = children_find(&c, pid);
	errno = 0;
	ck_assert_int_eq(children_kill(ch, SIGTERM), -1);
	ck_assert_int_eq(errno, ESRCH);
	ck_assert_int_eq(ch->pidfd, -1);
	(void)close(rd);
	children_free(&c);
	(void)signal(SIGCHLD, SIG_DFL);
}
END_TEST

START_TEST(test_forget_pid)
{
	struct children	c;
	struct child	out;

	ck_assert_int_eq(children_init(&c, 4), 0);
	ck_assert_int_eq(children_add(&c, 201, 11), 0);
	ck_assert_int_eq(children_add(&c, 202, 12), 0);
	ck_assert_int_eq(children_add(&c, 203, 13), 0);

	ck_assert_int_eq(children_forget_pid(&c, 999, &out), -1);
	ck_assert_uint_eq(c.n, 3);

	memset(&out, 0, sizeof(out));
	ck_assert_int_eq(children_forget_pid(&c, 202, &out), 0);
	ck_assert_int_eq(out.pid, 202);
	ck_assert_int_eq(out.fd, 12);
	ck_assert_uint_eq(c.n, 2);
	/* Forgotten once: not there any more. */
	ck_assert_int_eq(children_forget_pid(&c, 202, &out), -1);
	/* NULL out is allowed. */
	ck_assert_int_eq(children_forget_pid(&c, 201, NULL), 0);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.tab[0].pid, 203);
	/* A freed slot can be used again. */
	ck_assert_int_eq(children_add(&c, 204, -1), 0);
	ck_assert_int_eq(children_add(&c, 205, -1), 0);
	ck_assert_int_eq(children_add(&c, 206, -1), 0);
	ck_assert_int_eq(children_add(&c, 207, -1), -1);
	children_free(&c);
}
END_TEST

START_TEST(test_forget_index_swap)
{
	struct children	c;
	struct child	out;

	ck_assert_int_eq(children_init(&c, 4), 0);
	ck_assert_int_eq(children_add(&c, 301, 21), 0);
	ck_assert_int_eq(children_add(&c, 302, 22), 0);
	ck_assert_int_eq(children_add(&c, 303, 23), 0);
	ck_assert_int_eq(children_add(&c, 304, 24), 0);

	/* The hole at 0 is filled by the last entry. */
	children_forget_index(&c, 0, &out);
	ck_assert_int_eq(out.pid, 301);
	ck_assert_int_eq(out.fd, 21);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_int_eq(c.tab[0].pid, 304);
	ck_assert_int_eq(c.tab[0].fd, 24);
	ck_assert_int_eq(c.tab[1].pid, 302);
	ck_assert_int_eq(c.tab[2].pid, 303);

	/* Forgetting the last one moves nothing. */
	children_forget_index(&c, 2, &out);
	ck_assert_int_eq(out.pid, 303);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_int_eq(c.tab[0].pid, 304);
	ck_assert_int_eq(c.tab[1].pid, 302);

	children_forget_index(&c, 1, NULL);
	children_forget_index(&c, 0, NULL);
	ck_assert_uint_eq(c.n, 0);
	children_free(&c);
}
END_TEST

/* A broken invariant is fatalx: exit 1, never a silent corruption. */
START_TEST(test_forget_index_out_of_range)
{
	struct children	c;

	ck_assert_int_eq(children_init(&c, 2), 0);
	ck_assert_int_eq(children_add(&c, 401, -1), 0);
	children_forget_index(&c, 1, NULL);
	ck_abort_msg("forget_index past the end returned");
}
END_TEST

/* Fork a child that ends as told: exit code >= 0, or raise -code. */
static pid_t
spawn(int how)
{
	pid_t	pid;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (how < 0) {
			(void)signal(-how, SIG_DFL);
			(void)raise(-how);
			pause();
		}
		_exit(how);
	}
	return pid;
}

/* Wait until pid has ended, without reaping it (waitid WNOWAIT). */
static void
wait_ended(pid_t pid)
{
	siginfo_t	si;
	int		rc;

	do {
		memset(&si, 0, sizeof(si));
		rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	} while (rc == -1 && errno == EINTR);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(si.si_pid, pid);
}

static int
reap_status(pid_t pid)
{
	int	st;
	pid_t	r;

	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	ck_assert_int_eq(r, pid);
	return st;
}

START_TEST(test_account)
{
	struct stats	st;
	pid_t		p0, p3, pk;
	int		s0, s3, sk;

	memset(&st, 0, sizeof(st));
	p0 = spawn(0);
	p3 = spawn(3);
	pk = spawn(-SIGKILL);
	s0 = reap_status(p0);
	s3 = reap_status(p3);
	sk = reap_status(pk);
	ck_assert(WIFEXITED(s0) && WEXITSTATUS(s0) == 0);
	ck_assert(WIFEXITED(s3) && WEXITSTATUS(s3) == 3);
	ck_assert(WIFSIGNALED(sk) && WTERMSIG(sk) == SIGKILL);

	ck_assert_int_eq(children_account(&st, p0, s0), 0);
	ck_assert_uint_eq(st.reaped, 1);
	ck_assert_uint_eq(st.abnormal, 0);
	ck_assert_int_eq(children_account(&st, p3, s3), 1);
	ck_assert_uint_eq(st.reaped, 2);
	ck_assert_uint_eq(st.abnormal, 1);
	ck_assert_int_eq(children_account(&st, pk, sk), 1);
	ck_assert_uint_eq(st.reaped, 3);
	ck_assert_uint_eq(st.abnormal, 2);
	/* Nothing else moved. */
	ck_assert_uint_eq(st.served, 0);
	ck_assert_uint_eq(st.refused, 0);
	ck_assert_int_eq(st.open, 0);
}
END_TEST

static int
fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

START_TEST(test_reap)
{
	struct children	c;
	struct stats	st;
	pid_t		p0, p3, pk, stranger;
	int		pp[2];

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(children_init(&c, 8), 0);

	/* Nothing to reap yet: returns 0 at once (WNOHANG). */
	ck_assert_uint_eq(children_reap(&c, &st), 0);

	ck_assert_int_eq(pipe(pp), 0);
	p0 = spawn(0);
	p3 = spawn(3);
	pk = spawn(-SIGKILL);
	ck_assert_int_eq(children_add(&c, p0, pp[0]), 0);
	ck_assert_int_eq(children_add(&c, p3, -1), 0);
	ck_assert_int_eq(children_add(&c, pk, -1), 0);
	/* A child the table does not know is still reaped and counted. */
	stranger = spawn(0);
	wait_ended(p0);
	wait_ended(p3);
	wait_ended(pk);
	wait_ended(stranger);

	ck_assert_uint_eq(children_reap(&c, &st), 4);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(st.reaped, 4);
	ck_assert_uint_eq(st.abnormal, 2);
	/* The child's pipe end was closed with it. */
	ck_assert(!fd_is_open(pp[0]));
	ck_assert(fd_is_open(pp[1]));
	(void)close(pp[1]);
	/* No zombie left behind. */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	ck_assert_uint_eq(children_reap(&c, &st), 0);
	children_free(&c);
}
END_TEST

/* Reaping leaves the living alone. */
START_TEST(test_reap_partial)
{
	struct children	c;
	struct stats	st;
	pid_t		done, alive;
	int		status;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(children_init(&c, 4), 0);
	alive = fork();
	ck_assert_int_ne(alive, -1);
	if (alive == 0) {
		pause();
		_exit(0);
	}
	done = spawn(0);
	ck_assert_int_eq(children_add(&c, alive, -1), 0);
	ck_assert_int_eq(children_add(&c, done, -1), 0);
	wait_ended(done);
	ck_assert_uint_eq(children_reap(&c, &st), 1);
	ck_assert_uint_eq(c.n, 1);
	ck_assert_int_eq(c.tab[0].pid, alive);
	ck_assert_uint_eq(st.abnormal, 0);

	/* children_signal reaches the survivors. */
	children_signal(&c, SIGKILL);
	wait_ended(alive);
	ck_assert_uint_eq(children_reap(&c, &st), 1);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_eq(st.reaped, 2);
	ck_assert_uint_eq(st.abnormal, 1);
	ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
	children_free(&c);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("children");
	TCase	*tc;

	/* These tests fork and reap: Check must fork per test. */
	check_need_fork();

	tc = tcase_create("table");
	tcase_add_test(tc, test_init_free);
	tcase_add_test(tc, test_add_full);
	tcase_add_test(tc, test_add_refuses_wild_pids);
	tcase_add_test(tc, test_forget_pid);
	tcase_add_test(tc, test_forget_index_swap);
	tcase_add_exit_test(tc, test_forget_index_out_of_range, 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("exits");
	tcase_add_test(tc, test_account);
	tcase_add_test(tc, test_reap);
	tcase_add_test(tc, test_reap_partial);
	tcase_add_test(tc, test_kill_own_child);
	tcase_add_test(tc, test_kill_kernel_reaped);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}

