/*
 * echoc.c: the echo client's main: parse the command line and hand off
 * to send mode (echoc_send.c) or the load generator (echoc_bench.c).
 *
 * Exit status: 0 all replies matched / a complete benchmark without
 * errors, 1 a mismatch, an error seen, the run cut short or the server
 * unreachable, 64 (EX_USAGE) a bad command
 * line, with a message naming the option and the value.
 */
#include "config.h"

#include <err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "echoc_bench.h"
#include "echoc_opts.h"
#include "echoc_report.h"
#include "echoc_send.h"

int
main(int argc, char *argv[])
{
	struct echoc_opts	 o;
	static struct bench_result r;	/* the histogram is large */
	char			 msg[512];

	if (echoc_opts_parse(&o, argc, argv, msg, sizeof(msg)) == -1) {
		warnx("%s", msg);
		echoc_usage(stderr);
		return ECHOC_EX_USAGE;
	}
	switch (o.action) {
	case ECHOC_HELP:
		echoc_usage(stdout);
		return 0;
	case ECHOC_VERSION:
		printf("echoc %s\n", PACKAGE_VERSION);
		return 0;
	case ECHOC_RUN:
		break;
	}

	/* A peer that resets mid-write must be an error we count, not death. */
	(void)signal(SIGPIPE, SIG_IGN);

	if (o.mode == ECHOC_SEND)
		return echoc_send_run(&o);

	if (bench_run(&o, &r, msg, sizeof(msg)) == -1)
		errx(1, "%s", msg);
	if (o.json)
		bench_report_json(stdout, &r);
	else
		bench_report_text(stdout, &r);
	bench_report_errors(stderr, &r);
	if (r.interrupted == 2)
		warnx("stopped by --max-time before the run was over");
	/* An interrupted run is not a measurement a script should trust. */
	return r.errors_total > 0 || r.interrupted ? 1 : 0;
}
