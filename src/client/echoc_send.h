/*
 * echoc_send.h: echoc's send mode, the classic echo client.
 *
 * echoc_send_run() sends each message (argv, or each line of stdin),
 * prints each reply on stdout and returns the exit status: 0 when every
 * reply equalled what was sent, 1 otherwise (a differing reply is still
 * printed), 1 with a message on stderr when the server cannot be reached.
 */
#ifndef ECHOD_ECHOC_SEND_H
#define ECHOD_ECHOC_SEND_H

#include "echoc_opts.h"

int	echoc_send_run(const struct echoc_opts *);

#endif
