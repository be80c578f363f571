/*
 * check_scoreboard.c: Check suite for scoreboard.c, the prefork pool's
 * shared table.
 *
 * All in one process: the mapping is real (mmap), the wake pipe is a
 * real nonblocking pipe, and the test plays both the master (pid,
 * retiring, wake_pending) and the workers (slot_set_state).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "scoreboard.h"
#include "check_main.h"

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
	ck_assert_int_eq(sb.hdr->wake_fd, -1);
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
	sb.hdr->min_spare = 5;
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

	sb.hdr->wake_fd = wp[1];
	sb.hdr->min_spare = 2;
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
	sb.hdr->wake_fd = wp[1];
	sb.hdr->min_spare = 0;
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
	sb.hdr->wake_fd = wp[1];
	sb.hdr->min_spare = 1;
	slot_set_state(&sb, s, SLOT_IDLE);
	errno = 1234;
	slot_set_state(&sb, s, SLOT_BUSY);
	ck_assert_int_eq(errno, 1234);	/* saved and restored */
	ck_assert_int_eq(sb.hdr->wake_pending, 1);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("scoreboard");
	TCase	*tc;

	tc = check_tcase(s, "table", CHECK_TESTS(test_create,
	    test_free_slot_and_find, test_count));
	tcase_add_checked_fixture(tc, setup, teardown);

	tc = check_tcase(s, "state", CHECK_TESTS(test_idle_accounting,
	    test_wake_below_min_spare, test_wake_min_spare_zero,
	    test_wake_pipe_full));
	tcase_add_checked_fixture(tc, setup, teardown);
	return s;
}
