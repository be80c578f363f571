/*
 * numparse.h: strict number parsing for command lines.
 *
 * Every number a user types goes through here: whole numbers through
 * libbsd's strtonum(3), durations with an optional fraction ("0.25"),
 * sizes with a K/M/G suffix (powers of 1024).  Each returns 0 on success
 * and -1 with *errstr set to a short reason ("too large", "invalid")
 * that the caller puts in a message naming the option.
 */
#ifndef ECHOD_NUMPARSE_H
#define ECHOD_NUMPARSE_H

#include <stdint.h>

int	num_parse(const char *, long long, long long, long long *, const char **);
int	num_parse_msec(const char *, long long, long long *, const char **);
int	num_parse_size(const char *, uint64_t, uint64_t *, const char **);

#endif
