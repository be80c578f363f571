/*
 * clock.c: CLOCK_MONOTONIC in milliseconds (see clock.h).
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"

int64_t
clock_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return clock_ts_ms(&ts);
}

int64_t
clock_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
clock_ts_ms(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

void
clock_ms_ts(int64_t ms, struct timespec *ts)
{
	if (ms < 0)
		ms = 0;
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

/* How long poll(2) may sleep to wake at deadline; never negative. */
int
clock_until(int64_t deadline, int64_t now)
{
	int64_t	left = deadline - now;

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}
