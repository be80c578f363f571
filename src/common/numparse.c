/*
 * numparse.c: strict numbers from the command line.
 *
 * Whole numbers go through strtonum(3); it refuses signs where the range
 * forbids them, trailing junk, empty strings and overflow.  Durations
 * accept "1", "0.5", "2.250" (at most millisecond precision: more digits
 * are an error rather than silently dropped).  Sizes accept a K, M or G
 * suffix meaning powers of 1024.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

int
num_parse(const char *s, long long min, long long max, long long *out,
    const char **errstr)
{
	long long	v;
	const char	*e = NULL;

	if (s == NULL || *s == '\0') {
		*errstr = "empty";
		return -1;
	}
	/* strtonum accepts leading blanks; a command line should not. */
	if (isspace((unsigned char)*s)) {
		*errstr = "invalid";
		return -1;
	}
	v = strtonum(s, min, max, &e);
	if (e != NULL) {
		*errstr = e;
		return -1;
	}
	*out = v;
	return 0;
}

int
num_parse_msec(const char *s, long long maxsec, long long *out_ms,
    const char **errstr)
{
	long long	 whole = 0, frac = 0;
	int		 fdigits = 0;
	const char	*p = s;

	if (s == NULL || *s == '\0') {
		*errstr = "empty";
		return -1;
	}
	/* ".5" is a half: allow a missing whole part, not a missing number. */
	if (!isdigit((unsigned char)*p) &&
	    !(*p == '.' && isdigit((unsigned char)p[1]))) {
		*errstr = "invalid";
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > maxsec) {
			*errstr = "too large";
			return -1;
		}
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			*errstr = "invalid";
			return -1;
		}
		for (; isdigit((unsigned char)*p); p++) {
			if (++fdigits > 3) {
				*errstr = "more precise than a millisecond";
				return -1;
			}
			frac = frac * 10 + (*p - '0');
		}
		for (; fdigits < 3; fdigits++)
			frac *= 10;
	}
	if (*p != '\0') {
		*errstr = "invalid";
		return -1;
	}
	if (whole == maxsec && frac > 0) {
		*errstr = "too large";
		return -1;
	}
	*out_ms = whole * 1000 + frac;
	return 0;
}

int
num_parse_size(const char *s, uint64_t max, uint64_t *out,
    const char **errstr)
{
	char		 digits[32];
	size_t		 len;
	uint64_t	 mult = 1;
	long long	 v;

	if (s == NULL || (len = strlen(s)) == 0) {
		*errstr = "empty";
		return -1;
	}
	if (len >= sizeof(digits)) {
		*errstr = "too large";
		return -1;
	}
	memcpy(digits, s, len + 1);
	switch (digits[len - 1]) {
	case 'k': case 'K':
		mult = 1024;
		break;
	case 'm': case 'M':
		mult = 1024 * 1024;
		break;
	case 'g': case 'G':
		mult = 1024ULL * 1024 * 1024;
		break;
	default:
		break;
	}
	if (mult != 1)
		digits[--len] = '\0';
	if (num_parse(digits, 0, LLONG_MAX, &v, errstr) == -1)
		return -1;
	if ((uint64_t)v > max / mult) {
		*errstr = "too large";
		return -1;
	}
	*out = (uint64_t)v * mult;
	return 0;
}
