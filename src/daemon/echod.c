/*
 * echod: a pre-forking TCP/UDP echo daemon (RFC 862).
 *
 * main() only wires things together, in this order: parse the command
 * line; set up logging; find the sockets (inherited from inetd or
 * systemd, see svc.c, or bound here); with a single inherited connection,
 * serve it and exit.  Otherwise take the pid file, bind, drop the
 * master's privileges if it may (svc.c says when), open --control, detach
 * with -D, record the pid, and hand over to the chosen process model.  A
 * master started by another's SIGUSR2 (upgrade.h) is detached already and
 * writes its pid file once serving.  Errors before
 * serving reach stderr with a sysexits(3) status (1 for a failed set-up,
 * 64 for usage); after that, the log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "control.h"
#include "daemonize.h"
#include "echo.h"
#include "inetd.h"
#include "access.h"
#include "listen.h"
#include "liveops.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "sig.h"
#include "spawn.h"
#include "udp.h"
#include "svc.h"
#include "upgrade.h"

extern char **environ;

static struct options	opt;
static struct server	srv;
static struct stats	srv_stats;	/* until the master moves them */

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

/* The command line: -1 to go on, else the exit status. */
static int
parse_args(int argc, char *argv[])
{
	char	err[512];

	options_defaults(&opt);
	switch (options_parse(&opt, argc, argv, err, sizeof(err))) {
	case OPT_OK:
		return -1;
	case OPT_HELP:
		options_usage(stdout);
		return 0;
	case OPT_VERSION:
		(void)printf("echod %s\n", PACKAGE_VERSION);
		return 0;
	case OPT_USAGE:
	default:
		(void)fprintf(stderr, "echod: %s\n", err);
		(void)fprintf(stderr, "Try 'echod --help' for more.\n");
		return EX_USAGE;
	}
}

static void
logging_start(void)
{
	enum log_dest	dest;

	/* stderr may be the client's socket (-i) or go nowhere (-D). */
	dest = opt.log_set ? opt.log :
	    opt.inetd || opt.daemonize ? LOG_TO_SYSLOG : LOG_TO_STDERR;
	log_init("echod", dest, opt.verbosity);
	/*
	 * Until serving, start-up errors also reach stderr whatever --log
	 * says (issue #9); with -i only if stderr is not a socket (under
	 * inetd it is the client's connection).
	 */
	if (opt.daemonize || (dest == LOG_TO_SYSLOG && (!opt.inetd ||
	    sock_classify(STDERR_FILENO) == SOCK_KIND_NOTSOCK)))
		log_set_stderr_too(1);
}

/*
 * The sockets: inherited or bound here.  -1 to go on to a model, else
 * the exit status (a single inherited connection is served right here).
 */
static int
sockets_start(char *err, size_t errlen)
{
	int	conn;

	switch (svc_sockets(&srv, &conn, err, errlen)) {
	case SVC_CONN:
		return inetd_serve_conn(&srv, conn);
	case SVC_DGRAM:
		/* Drops privileges and confines itself like a UDP worker. */
		return udp_serve_fd(&srv, conn) == -1 ? 1 : 0;
	case SVC_ADOPTED:
		return -1;
	case SVC_BIND:
		/* The pid file first: a second instance names the first. */
		if (opt.pidfile != NULL && daemon_pidfile_open(opt.pidfile,
		    err, errlen) == -1) {
			log_warnx("%s", err);
			return 1;
		}
		if (listeners_open(&opt, srv.ls, LISTEN_MAX, &srv.nls, err,
		    errlen) == -1) {
			log_warnx("%s", err);
			daemon_pidfile_remove();
			return 1;
		}
		return -1;
	default:
		log_warnx("%s", err);
		return 1;
	}
}

/* Pid file, privileges, -D: everything between binding and serving. */
static int
master_prepare(char *err, size_t errlen)
{
	if (opt.pidfile != NULL && srv.nls > 0 && !daemon_pidfile_open_p() &&
	    daemon_pidfile_open(opt.pidfile, err, errlen) == -1)
		return -1;
	if (svc_privdrop_master(&srv, err, errlen) == -1)
		return -1;
	if (control_open(&srv, err, errlen) == -1)	/* issue #11 */
		return -1;
	/* A master started by SIGUSR2 is detached already (issue #11). */
	if (opt.daemonize && !upgrade_inherited()) {
		if (daemon_detach(err, errlen) == -1)
			return -1;
		svc_set_detached(1);
		srv.master_pid = getpid();
	}
	/* A new master writes it once serving (upgrade_ready()). */
	if (upgrade_inherited())
		return 0;
	return daemon_pidfile_write(err, errlen);
}

int
main(int argc, char *argv[])
{
	char	err[512];
	int	rc;

	/*
	 * Whatever the parent left: a blocked or ignored SIGCHLD survives
	 * execve and would leave every child (and the privilege-drop
	 * probe) unreaped.
	 */
	sig_reset_inherited();
	upgrade_save_argv(argc, argv);	/* issue #11: before the title */
	setproctitle_init(argc, argv, environ);
	if ((rc = parse_args(argc, argv)) != -1)
		return rc;
	logging_start();
	srv.opt = &opt;
	srv.st = &srv_stats;
	srv.master_pid = getpid();
	echo_params_from(&opt, &srv.ep);
	if (access_setup(&opt, err, sizeof(err)) == -1) {	/* issue #12 */
		log_warnx("%s", err);
		return 1;
	}
	if (svc_init(&srv, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	liveops_init(&srv);		/* issue #11: upgrade, control */
	if ((rc = sockets_start(err, sizeof(err))) != -1)
		return rc;
	if (master_prepare(err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		rc = 1;
	} else {
		/*
		 * The master's handlers before anything slow: a signal sent
		 * once the pid file names us is queued, not fatal.
		 */
		(void)sig_init(opt.model == MODEL_FORK &&
		    opt.reap == REAP_IGNORE);
		(void)spawn_prepare(&srv);	/* once: the children's filters */
		rc = opt.model == MODEL_FORK ? model_fork_run(&srv) :
		    model_prefork_run(&srv);
	}
	listeners_close(srv.ls, srv.nls, 1);
	daemon_pidfile_remove();
	return rc;
}
