/*
 * echoc_bench.h: echoc's load generator.
 *
 * bench_run() drives one echo server in the mode the options name (conn,
 * rtt, bulk, idle) from a single process with an event loop, verifies
 * every byte that comes back against a deterministic pattern, and fills a
 * struct bench_result.  It returns 0 when the run happened (errors seen
 * by the run are in the result) and -1 with a message when it could not
 * start (no such host, too few descriptors).
 *
 * Error kinds: refused (ECONNREFUSED), reset (RST, EPIPE), timeout (no
 * progress for -t, or unfinished at --max-time), mismatch (a wrong byte,
 * or more bytes than were sent), short (EOF before all bytes came back),
 * local (the client ran out of something: ephemeral ports, descriptors,
 * memory), other (anything else, e.g. no route).
 */
#ifndef ECHOD_ECHOC_BENCH_H
#define ECHOD_ECHOC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "echoc_opts.h"
#include "hist.h"
#include "echoc_net.h"

enum bench_err {
	BERR_REFUSED = 0,
	BERR_RESET,
	BERR_TIMEOUT,
	BERR_MISMATCH,
	BERR_SHORT,
	BERR_LOCAL,
	BERR_OTHER,
	BERR_N
};

struct bench_result {
	enum echoc_mode	 mode;
	long long	 concurrency;
	uint64_t	 size;
	char		 target[ECHOC_ADDRSTRLEN];
	double		 seconds;	/* the measured window */
	uint64_t	 ops;		/* operations completed in it */
	uint64_t	 bytes;		/* verified, both directions */
	uint64_t	 opened;	/* idle: connections that got to hold */
	uint64_t	 errors[BERR_N];
	uint64_t	 errors_total;
	int		 interrupted;	/* SIGINT, or stopped by --max-time */
	int		 first_errno[BERR_N];
	char		 first_what[BERR_N][64];
	struct hist	 lat;		/* microseconds */
};

int		 bench_run(const struct echoc_opts *, struct bench_result *,
		    char *, size_t);
const char	*bench_err_name(enum bench_err);
enum bench_err	 bench_classify(int);

#endif
