/*
 * ctl_conn.h: one request to echod's control socket (echod(8) CONTROL).
 *
 * ctl_request() connects to the UNIX socket at path, writes the request
 * line, and reads the reply until echod closes, into a caller buffer
 * that is always NUL-terminated.  Every step is bounded by a timeout
 * (CTL_TIMEOUT_MS in all) and the reply by the buffer: a larger one is
 * an error, never truncated silently.  On failure it returns -1 and a
 * message naming the path and the system error.
 */
#ifndef ECHOD_CTL_CONN_H
#define ECHOD_CTL_CONN_H

#include <stddef.h>

#define CTL_TIMEOUT_MS	3000
#define CTL_REPLY_MAX	(1024 * 1024)

int	ctl_request(const char *, const char *, char *, size_t, size_t *,
	    char *, size_t);

#endif
