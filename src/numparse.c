/*
 * numparse.c: strict number parsing for command lines.
 *
 * Whole numbers go through strtonum(3) so "12abc", "" and out-of-range
 * values are all rejected with one short reason.  Durations and sizes are
 * parsed by hand because strtonum knows neither fractions nor suffixes;
 * both refuse signs, blanks and anything after the number, so that a typo
 * is a usage error rather than a surprising value.
 *
 * Interface (see numparse.h):
 *	num_parse(s, min, max, &v, &errstr)	integer in [min, max]
 *	num_parse_msec(s, max, &ms, &errstr)	"SECONDS[.FRACTION]" to
 *		milliseconds, at most max milliseconds; digits past the
 *		millisecond are dropped, as sleep(1) users expect
 *	num_parse_size(s, max, &n, &errstr)	"N[K|M|G]", powers of 1024,
 *		at most max bytes
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "numparse.h"

int
num_parse(const char *s, long long min, long long max, long long *out,
    const char **errstr)
{
	long long	 v;
	const char	*e;

	v = strtonum(s, min, max, &e);
	if (e != NULL) {
		*errstr = e;
		return -1;
	}
	*out = v;
	return 0;
}

int
num_parse_msec(const char *s, long long max, long long *out,
    const char **errstr)
{
	long long	 sec = 0, frac = 0, scale = 100;
	const char	*p = s;
	int		 digits = 0;

	while (isdigit((unsigned char)*p)) {
		if (sec > (LLONG_MAX / 1000 - 9) / 10) {
			*errstr = "too large";
			return -1;
		}
		sec = sec * 10 + (*p++ - '0');
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			frac += (*p++ - '0') * scale;
			scale /= 10;
			digits++;
		}
	}
	if (digits == 0 || *p != '\0') {
		*errstr = "invalid";
		return -1;
	}
	if (sec * 1000 + frac > max) {
		*errstr = "too large";
		return -1;
	}
	*out = sec * 1000 + frac;
	return 0;
}

int
num_parse_size(const char *s, uint64_t max, uint64_t *out,
    const char **errstr)
{
	uint64_t	 v = 0, mult = 1;
	const char	*p = s;

	if (!isdigit((unsigned char)*p)) {
		*errstr = "invalid";
		return -1;
	}
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10) {
			*errstr = "too large";
			return -1;
		}
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		p++;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		p++;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		p++;
		break;
	default:
		*errstr = "invalid";
		return -1;
	}
	if (*p != '\0') {
		*errstr = "invalid";
		return -1;
	}
	if (v > UINT64_MAX / mult || v * mult > max) {
		*errstr = "too large";
		return -1;
	}
	*out = v * mult;
	return 0;
}
