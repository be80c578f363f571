/*
 * echod: a pre-forking TCP/UDP echo daemon (RFC 862).
 *
 * main() only wires things together: parse the command line, bind,
 * set up logging, then hand over to the chosen process model.  Errors
 * before serving go to stderr with err(3)-style messages and a
 * sysexits(3) status; after that, to the log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "echo.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "server.h"

extern char **environ;

static struct options	opt;
static struct server	srv;

static void
echo_params_from(const struct options *o, struct echo_params *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->idle_timeout_ms = o->idle_timeout * 1000;
	ep->delay_ms = o->delay_ms;
	ep->prefix = o->prefix;
	ep->timestamp = o->timestamp;
	if (ep->timestamp && ep->prefix == NULL)
		ep->prefix = "";
}

int
main(int argc, char *argv[])
{
	char	err[512];
	int	rc;

	setproctitle_init(argc, argv, environ);
	options_defaults(&opt);
	switch (options_parse(&opt, argc, argv, err, sizeof(err))) {
	case OPT_OK:
		break;
	case OPT_HELP:
		options_usage(stdout);
		return 0;
	case OPT_VERSION:
		(void)printf("echod %s\n", PACKAGE_VERSION);
		return 0;
	case OPT_USAGE:
		(void)fprintf(stderr, "echod: %s\n", err);
		(void)fprintf(stderr, "Try 'echod --help' for more.\n");
		return EX_USAGE;
	}

	log_init("echod", opt.log, opt.verbosity);
	srv.opt = &opt;
	srv.master_pid = getpid();
	echo_params_from(&opt, &srv.ep);

	if (listeners_open(&opt, srv.ls, LISTEN_MAX, &srv.nls, err,
	    sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if (opt.model == MODEL_FORK)
		rc = model_fork_run(&srv);
	else
		rc = model_prefork_run(&srv);
	listeners_close(srv.ls, srv.nls, 1);
	return rc;
}
