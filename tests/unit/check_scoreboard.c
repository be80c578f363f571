/*
 * check_scoreboard.c: Check suite for scoreboard.c, the prefork pool's
 * shared table.
 *
 * All in one process: the mapping is real (mmap), the wake pipe is a
 * real nonblocking pipe, and the test plays both the master (pid,
 * retiring, wake_pending) and the workers (slot_set_state), and, for
 * issue 9, a hostile worker writing anything anywhere in the mapping.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "scoreboard.h"

#define NSLOTS	8

static struct scoreboard	sb;
static int			wp[2] = { -1, -1 };

static void
setup(void)
{
	ck_assert_int_eq(scoreboard_create(&sb, NSLOTS), 0);
	ck_assert_int_eq(pipe2(wp, O_NONBLOCK | O_CLOEXEC), 0);
}

static void
teardown(void)
{
	scoreboard_destroy(&sb);
	(void)close(wp[0]);
	(void)close(wp[1]);
	wp[0] = wp[1] = -1;
}

/* Bytes waiting on the wake pipe, drained. */
static int
wakes(void)
{
	char	buf[16];
	ssize_t	n;
	int	total = 0;

	while ((n = read(wp[0], buf, sizeof(buf))) > 0)
		total += (int)n;
	ck_assert(n == -1 && errno == EAGAIN);
	return total;
}

static struct slot *
occupy(pid_t pid)
{
	struct slot	*s = scoreboard_free_slot(&sb);

	ck_assert_ptr_nonnull(s);
	s->pid = pid;
	return s;
}

START_TEST(test_create)
{
	size_t	i;

	ck_assert_ptr_nonnull(sb.hdr);
	ck_assert_ptr_nonnull(sb.slot);
	ck_assert_uint_eq(sb.nslots, NSLOTS);
	ck_assert_int_eq(sb.hdr->idle, 0);
	ck_assert_int_eq(sb.wake_fd, -1);
	ck_assert_int_eq(sb.hdr->wake_pending, 0);
	for (i = 0; i < NSLOTS; i++) {
		ck_assert_int_eq(sb.slot[i].pid, 0);
		ck_assert_int_eq(sb.slot[i].state, SLOT_FREE);
	}
	/* The last slot is inside the mapping (valgrind would say). */
	sb.slot[NSLOTS - 1].peer[SLOT_PEERLEN - 1] = 'x';
	scoreboard_destroy(&sb);
	ck_assert_ptr_null(sb.hdr);
	ck_assert_uint_eq(sb.nslots, 0);
	/* Twice is harmless; teardown does it again. */
	scoreboard_destroy(&sb);
}
END_TEST

START_TEST(test_free_slot_and_find)
{
	struct slot	*s[NSLOTS];
	int		 i;

	for (i = 0; i < NSLOTS; i++) {
		s[i] = occupy(1000 + i);
		ck_assert_ptr_eq(s[i], &sb.slot[i]);
	}
	ck_assert_ptr_null(scoreboard_free_slot(&sb));
	for (i = 0; i < NSLOTS; i++)
		ck_assert_ptr_eq(scoreboard_find(&sb, 1000 + i), s[i]);
	ck_assert_ptr_null(scoreboard_find(&sb, 999));
	ck_assert_ptr_null(scoreboard_find(&sb, 1000 + NSLOTS));

	/* A freed slot in the middle is the one handed out next. */
	s[3]->pid = 0;
	ck_assert_ptr_null(scoreboard_find(&sb, 1003));
	ck_assert_ptr_eq(scoreboard_free_slot(&sb), s[3]);
	s[5]->pid = 0;
	ck_assert_ptr_eq(scoreboard_free_slot(&sb), s[3]);
}
END_TEST

START_TEST(test_count)
{
	struct slot	*s[6];
	int		 i, total, idle, busy;

	scoreboard_count(&sb, &total, &idle, &busy);
	ck_assert_int_eq(total, 0);
	ck_assert_int_eq(idle, 0);
	ck_assert_int_eq(busy, 0);

	for (i = 0; i < 6; i++)
		s[i] = occupy(2000 + i);
	s[0]->state = SLOT_STARTING;
	s[1]->state = SLOT_IDLE;
	s[2]->state = SLOT_IDLE;
	s[2]->retiring = 1;		/* on its way out: not a spare */
	s[3]->state = SLOT_BUSY;
	s[4]->state = SLOT_BUSY;
	s[4]->retiring = 1;		/* still busy, still counted */
	s[5]->state = SLOT_EXITING;
	/* A state left in a free slot is not counted. */
	sb.slot[7].state = SLOT_BUSY;

	scoreboard_count(&sb, &total, &idle, &busy);
	ck_assert_int_eq(total, 6);
	ck_assert_int_eq(idle, 2);
	ck_assert_int_eq(busy, 2);
}
END_TEST

START_TEST(test_idle_accounting)
{
	struct slot	*a = occupy(3000), *b = occupy(3001);

	/* No wake fd: nothing written, nothing pending. */
	sb.min_spare = 5;
	slot_set_state(&sb, a, SLOT_STARTING);
	ck_assert_int_eq(sb.hdr->idle, 1);
	slot_set_state(&sb, a, SLOT_IDLE);	/* starting -> idle: same */
	ck_assert_int_eq(sb.hdr->idle, 1);
	slot_set_state(&sb, b, SLOT_IDLE);
	ck_assert_int_eq(sb.hdr->idle, 2);
	slot_set_state(&sb, a, SLOT_BUSY);
	ck_assert_int_eq(sb.hdr->idle, 1);
	ck_assert_int_eq(sb.hdr->wake_pending, 0);
	slot_set_state(&sb, a, SLOT_BUSY);	/* busy -> busy: same */
	ck_assert_int_eq(sb.hdr->idle, 1);
	slot_set_state(&sb, a, SLOT_EXITING);	/* busy -> exiting */
	ck_assert_int_eq(sb.hdr->idle, 1);
	slot_set_state(&sb, b, SLOT_EXITING);	/* idle -> exiting */
	ck_assert_int_eq(sb.hdr->idle, 0);
	ck_assert_int_eq(a->state, SLOT_EXITING);
	ck_assert_int_eq(b->state, SLOT_EXITING);
	ck_assert_int_eq(wakes(), 0);
}
END_TEST

START_TEST(test_wake_below_min_spare)
{
	struct slot	*s[4];
	int		 i;

	scoreboard_set_wake(&sb, wp[1], 2);
	for (i = 0; i < 4; i++) {
		s[i] = occupy(4000 + i);
		slot_set_state(&sb, s[i], SLOT_IDLE);
	}
	ck_assert_int_eq(sb.hdr->idle, 4);
	ck_assert_int_eq(wakes(), 0);

	/* 3 and 2 idle left: not short. */
	slot_set_state(&sb, s[0], SLOT_BUSY);
	slot_set_state(&sb, s[1], SLOT_BUSY);
	ck_assert_int_eq(sb.hdr->idle, 2);
	ck_assert_int_eq(wakes(), 0);
	ck_assert_int_eq(sb.hdr->wake_pending, 0);

	/* 1 left: short, one byte, and the flag says so. */
	slot_set_state(&sb, s[2], SLOT_BUSY);
	ck_assert_int_eq(sb.hdr->idle, 1);
	ck_assert_int_eq(sb.hdr->wake_pending, 1);
	ck_assert_int_eq(wakes(), 1);

	/* 0 left: still pending, no second byte. */
	slot_set_state(&sb, s[3], SLOT_BUSY);
	ck_assert_int_eq(sb.hdr->idle, 0);
	ck_assert_int_eq(wakes(), 0);

	/* Going idle never wakes the master. */
	slot_set_state(&sb, s[3], SLOT_IDLE);
	ck_assert_int_eq(sb.hdr->idle, 1);
	ck_assert_int_eq(wakes(), 0);
	slot_set_state(&sb, s[3], SLOT_BUSY);
	ck_assert_int_eq(wakes(), 0);

	/* The master has looked (clears the flag): the next one wakes it. */
	sb.hdr->wake_pending = 0;
	slot_set_state(&sb, s[3], SLOT_IDLE);
	ck_assert_int_eq(wakes(), 0);
	slot_set_state(&sb, s[3], SLOT_BUSY);
	ck_assert_int_eq(sb.hdr->wake_pending, 1);
	ck_assert_int_eq(wakes(), 1);
}
END_TEST

START_TEST(test_wake_min_spare_zero)
{
	struct slot	*s = occupy(5000);

	/* --min-spare=0: the last idle worker going busy is not short. */
	scoreboard_set_wake(&sb, wp[1], 0);
	slot_set_state(&sb, s, SLOT_IDLE);
	slot_set_state(&sb, s, SLOT_BUSY);
	ck_assert_int_eq(sb.hdr->idle, 0);
	ck_assert_int_eq(sb.hdr->wake_pending, 0);
	ck_assert_int_eq(wakes(), 0);
}
END_TEST

START_TEST(test_wake_pipe_full)
{
	struct slot	*s = occupy(6000);
	char		 junk[4096] = { 0 };
	int		 n = 0;

	/* A full pipe already wakes the master: the write may fail. */
	while (write(wp[1], junk, sizeof(junk)) > 0)
		n++;
	ck_assert_int_gt(n, 0);
	scoreboard_set_wake(&sb, wp[1], 1);
	slot_set_state(&sb, s, SLOT_IDLE);
	errno = 1234;
	slot_set_state(&sb, s, SLOT_BUSY);
	ck_assert_int_eq(errno, 1234);	/* saved and restored */
	ck_assert_int_eq(sb.hdr->wake_pending, 1);
}
END_TEST


/* ---- issue 9: the master's checked interface ----------------------- */

START_TEST(test_claim_private)
{
	ssize_t	idx[NSLOTS];
	size_t	i;
	int	st;

	/* A worker marks every slot taken: the master's record decides. */
	for (i = 0; i < NSLOTS; i++)
		sb.slot[i].pid = 99999;
	for (i = 0; i < NSLOTS; i++) {
		idx[i] = scoreboard_claim(&sb, 7);
		ck_assert_int_eq(idx[i], (ssize_t)i);
		ck_assert_int_eq(sb.slot[i].state, SLOT_STARTING);
		ck_assert_uint_eq(sb.slot[i].generation, 7);
		/* Claimed, not yet forked: no pid to check against. */
		ck_assert_int_eq(scoreboard_slot_check(&sb, i, 99999, &st),
		    -1);
		scoreboard_assign(&sb, i, 100 + (pid_t)i);
	}
	ck_assert_int_eq(sb.hdr->idle, NSLOTS);
	/* Full, whatever the mapping says. */
	for (i = 0; i < NSLOTS; i++)
		sb.slot[i].pid = 0;
	ck_assert_int_eq(scoreboard_claim(&sb, 7), -1);
	/* A vacated slot in the middle is handed out next. */
	scoreboard_vacate(&sb, 3);
	ck_assert_int_eq(sb.hdr->idle, NSLOTS - 1);
	ck_assert_int_eq(scoreboard_claim(&sb, 8), 3);
	scoreboard_vacate(&sb, 3);	/* fork failed */
	scoreboard_vacate(&sb, 3);	/* twice: nothing */
	scoreboard_vacate(&sb, NSLOTS + 5);
	ck_assert_int_eq(sb.hdr->idle, NSLOTS - 1);
}
END_TEST

START_TEST(test_slot_check)
{
	ssize_t	i = scoreboard_claim(&sb, 1);
	int	st = -1;

	ck_assert_int_eq(i, 0);
	scoreboard_assign(&sb, (size_t)i, 4242);
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, &st), 0);
	ck_assert_int_eq(st, SLOT_STARTING);
	slot_set_state(&sb, &sb.slot[0], SLOT_BUSY);
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, &st), 0);
	ck_assert_int_eq(st, SLOT_BUSY);
	/* Not the master's record: wrong pid, wrong or free slot. */
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4243, &st), -1);
	ck_assert_int_eq(scoreboard_slot_check(&sb, 1, 4242, &st), -1);
	ck_assert_int_eq(scoreboard_slot_check(&sb, NSLOTS, 4242, &st), -1);
	ck_assert_int_eq(scoreboard_slot_check(&sb, (size_t)-1, 4242, &st),
	    -1);
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 0, &st), -1);
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, -1, &st), -1);
	/* Written by a worker: another pid, -1, a state out of range. */
	sb.slot[0].pid = 1;
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, &st), -1);
	sb.slot[0].pid = -1;
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, &st), -1);
	sb.slot[0].pid = 4242;
	sb.slot[0].state = 77;
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, &st), -1);
	sb.slot[0].state = SLOT_FREE;
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, NULL), -1);
	sb.slot[0].state = SLOT_IDLE;
	ck_assert_int_eq(scoreboard_slot_check(&sb, 0, 4242, NULL), 0);
	/* Raw values, bounded by the private geometry. */
	sb.slot[0].lim_ticket = 12;
	sb.slot[0].served = 5;
	ck_assert_int_eq(scoreboard_slot_ticket(&sb, 0), 12);
	ck_assert_uint_eq(scoreboard_slot_served(&sb, 0), 5);
	ck_assert_int_eq(scoreboard_slot_ticket(&sb, NSLOTS), 0);
	ck_assert_uint_eq(scoreboard_slot_served(&sb, NSLOTS), 0);
}
END_TEST

/* Random bytes over the mapping: every check fails, nothing crashes. */
START_TEST(test_random_mapping)
{
	size_t	i;
	int	round, st;

	for (i = 0; i < NSLOTS; i++)
		scoreboard_assign(&sb, (size_t)scoreboard_claim(&sb, 1),
		    3000 + (pid_t)i);
	for (round = 0; round < 100; round++) {
		arc4random_buf(sb.hdr, sb.maplen);
		for (i = 0; i < NSLOTS; i++)
			ck_assert_int_eq(scoreboard_slot_check(&sb, i,
			    3000 + (pid_t)i, &st), -1);
	}
	/* The geometry is ours: unchanged. */
	ck_assert_uint_eq(sb.nslots, NSLOTS);
	ck_assert_int_eq(scoreboard_claim(&sb, 1), -1);
}
END_TEST

/* A worker cannot point the others' wake byte at another descriptor. */
START_TEST(test_wake_fd_private)
{
	struct slot	*s;
	int		 other[2];
	char		 c;

	ck_assert_int_eq(pipe2(other, O_NONBLOCK | O_CLOEXEC), 0);
	scoreboard_set_wake(&sb, wp[1], 1);
	s = &sb.slot[scoreboard_claim(&sb, 1)];
	sb.hdr->wake_fd = other[1];
	sb.hdr->min_spare = 100;
	slot_set_state(&sb, s, SLOT_BUSY);
	ck_assert_int_eq(wakes(), 1);
	ck_assert_int_eq(read(other[0], &c, 1), -1);
	(void)close(other[0]);
	(void)close(other[1]);
}
END_TEST

START_TEST(test_renew)
{
	struct scoreboard_hdr	*old = sb.hdr;
	size_t			 i;
	int			 st;

	scoreboard_set_wake(&sb, wp[1], 2);
	for (i = 0; i < 3; i++)
		scoreboard_assign(&sb, (size_t)scoreboard_claim(&sb, 1),
		    5000 + (pid_t)i);
	arc4random_buf(sb.hdr, sb.maplen);
	ck_assert_uint_eq(scoreboard_epoch(&sb), 0);
	ck_assert_int_eq(scoreboard_renew(&sb), 0);
	ck_assert_uint_eq(scoreboard_epoch(&sb), 1);
	ck_assert_ptr_nonnull(sb.hdr);
	(void)old;	/* may be reused by the kernel: not compared */
	ck_assert_ptr_eq(sb.slot, (struct slot *)(sb.hdr + 1));
	ck_assert_int_eq(sb.hdr->idle, 0);
	ck_assert_int_eq(sb.hdr->wake_pending, 0);
	ck_assert_int_eq(sb.wake_fd, wp[1]);
	ck_assert_int_eq(sb.min_spare, 2);
	ck_assert_uint_eq(sb.nslots, NSLOTS);
	/* The old children have no slot any more; all are free. */
	for (i = 0; i < NSLOTS; i++) {
		ck_assert_int_eq(sb.slot[i].pid, 0);
		ck_assert_int_eq(sb.slot[i].state, SLOT_FREE);
		ck_assert_int_eq(scoreboard_slot_check(&sb, i,
		    5000 + (pid_t)i, &st), -1);
	}
	for (i = 0; i < NSLOTS; i++)
		ck_assert_int_eq(scoreboard_claim(&sb, 2), (ssize_t)i);
}
END_TEST

static Suite *
scoreboard_suite(void)
{
	Suite	*s = suite_create("scoreboard");
	TCase	*tc;

	tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_free_slot_and_find);
	tcase_add_test(tc, test_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_idle_accounting);
	tcase_add_test(tc, test_wake_below_min_spare);
	tcase_add_test(tc, test_wake_min_spare_zero);
	tcase_add_test(tc, test_wake_pipe_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("untrusted");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_claim_private);
	tcase_add_test(tc, test_slot_check);
	tcase_add_test(tc, test_random_mapping);
	tcase_add_test(tc, test_wake_fd_private);
	tcase_add_test(tc, test_renew);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(scoreboard_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
