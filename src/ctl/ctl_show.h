/*
 * ctl_show.h: echoctl's human output for echod's control replies.
 *
 *	show_error()	if the reply is {"error": ...}, print it and return 1
 *	show_pairs()	an object as aligned "key  value" lines (status, and
 *			the answers to reload/upgrade/stop/workers +-N)
 *	show_workers()	the workers reply as a table, one line per process,
 *			under a one-letter-per-process scoreboard line as in
 *			Apache's server-status: S starting, _ idle, W busy,
 *			G exiting, . anything else
 * All take a parsed reply (json.h) whose top token is index 0, and
 * return 0, or -1 with a message when the reply has not the expected
 * shape.
 */
#ifndef ECHOD_CTL_SHOW_H
#define ECHOD_CTL_SHOW_H

#include <stdio.h>

#include "json.h"

int	show_error(FILE *, const struct json *);
int	show_pairs(FILE *, const struct json *, char *, size_t);
int	show_workers(FILE *, const struct json *, char *, size_t);

#endif
