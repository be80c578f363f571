/*
 * echoc_opts.h: echoc's command line.
 *
 * echoc_opts_parse() fills a struct echoc_opts from argv, applying the
 * defaults that depend on the mode (SIZE, timeouts, the overall limit).
 * It prints nothing: on a usage error it returns -1 with a message naming
 * the option and the value in the caller's buffer, so main can print it
 * and exit 64, and the Check suite can look at it.
 */
#ifndef ECHOD_ECHOC_OPTS_H
#define ECHOD_ECHOC_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum echoc_mode {
	ECHOC_SEND = 0,
	ECHOC_BENCH_CONN,
	ECHOC_BENCH_RTT,
	ECHOC_BENCH_BULK,
	ECHOC_BENCH_IDLE
};

enum echoc_action {
	ECHOC_RUN = 0,
	ECHOC_HELP,
	ECHOC_VERSION
};

struct echoc_opts {
	enum echoc_action  action;
	enum echoc_mode	   mode;
	int		   family;	/* AF_UNSPEC, AF_INET, AF_INET6 */
	int		   udp;
	int		   json;
	long long	   concurrency;
	long long	   count;	/* 0: run for duration_ms */
	long long	   duration_ms;
	long long	   warmup_ms;
	long long	   timeout_ms;	/* per operation, no progress */
	long long	   max_time_ms;	/* the whole run */
	uint64_t	   size;
	const char	  *host;
	const char	  *port;
	char		 **messages;	/* send mode; NULL: read stdin */
	int		   nmessages;
};

int		 echoc_opts_parse(struct echoc_opts *, int, char **, char *,
		    size_t);
const char	*echoc_mode_name(enum echoc_mode);
void		 echoc_usage(FILE *);

#define ECHOC_EX_USAGE	64

#endif
