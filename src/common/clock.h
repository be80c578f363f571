/*
 * clock.h: the one monotonic clock every echod process reads.
 *
 * Times inside echod are milliseconds of CLOCK_MONOTONIC in an int64_t:
 * deadlines, backoffs, token buckets and worker ages are all compared in
 * that unit, so there is one conversion and it lives here.  The wall
 * clock is never used for a deadline (it can jump).
 *
 *	clock_ms()		now, in ms
 *	clock_us()		now, in microseconds (sd_notify wants them)
 *	clock_ts_ms()		a struct timespec as ms (pure)
 *	clock_ms_ts()		ms as a struct timespec (pure)
 *	clock_until()		a poll(2) timeout: ms from now to a deadline,
 *				0 if it has passed, clamped to INT_MAX (pure)
 */
#ifndef ECHOD_CLOCK_H
#define ECHOD_CLOCK_H

#include <stdint.h>
#include <time.h>

int64_t	clock_ms(void);
int64_t	clock_us(void);
int64_t	clock_ts_ms(const struct timespec *);
void	clock_ms_ts(int64_t, struct timespec *);
int	clock_until(int64_t, int64_t);

#endif
