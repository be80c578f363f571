/*
 * echoctl.c: talk to a running echod through its control socket
 * (echod --control=PATH; echoctl(8)).
 *
 * One request per run: the command line becomes one request line, the
 * reply (one JSON object, or Prometheus text for metrics) is printed
 * for a person, or passed through with --json.  `watch` repeats status
 * and workers once a second until interrupted.
 *
 * Exit status: 0 success, 1 echod answered with an error or could not
 * be reached (the message names the socket path and the system error),
 * 64 (EX_USAGE) a bad command line.
 */
#include "config.h"

#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_conn.h"
#include "ctl_show.h"
#include "json.h"

#define EX_USAGE_	64
#define TOK_MAX		8192
#define WORKERS_MAX_STEP 1024

enum view { VIEW_PAIRS, VIEW_WORKERS, VIEW_TEXT };

static const struct command {
	const char	*name;
	enum view	 view;
	int		 takes_arg;	/* workers +N / -N */
} commands[] = {
	{ "status",	VIEW_PAIRS,	0 },
	{ "workers",	VIEW_WORKERS,	1 },
	{ "metrics",	VIEW_TEXT,	0 },
	{ "reload",	VIEW_PAIRS,	0 },
	{ "upgrade",	VIEW_PAIRS,	0 },
	{ "stop",	VIEW_PAIRS,	0 },
	{ "watch",	VIEW_PAIRS,	0 },
};

static volatile sig_atomic_t	interrupted;
static char			reply[CTL_REPLY_MAX];
static struct json_tok		toks[TOK_MAX];

static void
usage(FILE *f)
{
	(void)fprintf(f,
	    "usage: echoctl [-j] [-s path] command [+N | -N]\n"
	    "commands: status, workers [+N | -N], metrics, reload, upgrade,\n"
	    "          stop, watch\n"
	    "  -s, --socket=PATH  echod's control socket (default %s)\n"
	    "  -j, --json         print echod's reply as it came\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n", ECHOD_CONTROL_PATH);
}

static const struct command *
command_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* "+N" or "-N", 1 <= N <= WORKERS_MAX_STEP; else a usage message. */
static int
step_valid(const char *arg)
{
	const char	*errstr;

	if (arg[0] != '+' && arg[0] != '-')
		return 0;
	(void)strtonum(arg + 1, 1, WORKERS_MAX_STEP, &errstr);
	return errstr == NULL && arg[1] >= '0' && arg[1] <= '9';
}

/* Send one request and print its reply: 0, or 1 on any failure. */
static int
run_one(const char *path, const char *line, enum view view, int raw)
{
	struct json	j;
	size_t		len;
	char		msg[512];

	if (ctl_request(path, line, reply, sizeof(reply), &len, msg,
	    sizeof(msg)) == -1) {
		warnx("%s", msg);
		return 1;
	}
	if (raw || view == VIEW_TEXT) {
		(void)fputs(reply, stdout);
		if (len > 0 && reply[len - 1] != '\n')
			(void)putchar('\n');
		return reply[0] == '{' && strstr(reply, "\"error\"") != NULL &&
		    json_parse(&j, reply, len, toks, TOK_MAX, msg,
		    sizeof(msg)) == 0 && json_get(&j, 0, "error") != -1;
	}
	if (json_parse(&j, reply, len, toks, TOK_MAX, msg, sizeof(msg)) == -1) {
		warnx("%s: %s", path, msg);
		return 1;
	}
	if (show_error(stderr, &j))
		return 1;
	if ((view == VIEW_WORKERS ? show_workers(stdout, &j, msg, sizeof(msg)) :
	    show_pairs(stdout, &j, msg, sizeof(msg))) == -1) {
		warnx("%s: %s", path, msg);
		return 1;
	}
	return 0;
}

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* status and workers once a second, redrawn on a terminal, until ^C. */
static int
watch(const char *path, int raw)
{
	struct timespec	second = { 1, 0 };
	int		tty = isatty(STDOUT_FILENO);

	(void)signal(SIGINT, on_interrupt);
	(void)signal(SIGTERM, on_interrupt);
	while (!interrupted) {
		if (tty)
			(void)fputs("\033[H\033[2J", stdout);
		if (run_one(path, "status\n", VIEW_PAIRS, raw) != 0)
			return 1;
		(void)putchar('\n');
		if (run_one(path, "workers\n", VIEW_WORKERS, raw) != 0)
			return 1;
		(void)fflush(stdout);
		(void)nanosleep(&second, NULL);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command	*cmd;
	const char		*path = ECHOD_CONTROL_PATH;
	char			 line[64];
	int			 ch, raw = 0;

	while ((ch = getopt_long(argc, argv, "+s:jhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			raw = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			(void)printf("echoctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		warnx("no command given");
		usage(stderr);
		return EX_USAGE_;
	}
	if ((cmd = command_find(argv[0])) == NULL) {
		warnx("unknown command: %s", argv[0]);
		usage(stderr);
		return EX_USAGE_;
	}
	if (argc > 1 + cmd->takes_arg || (argc == 2 && !step_valid(argv[1]))) {
		warnx("%s: bad argument: %s", cmd->name, argv[argc - 1]);
		usage(stderr);
		return EX_USAGE_;
	}
	if (cmd->view == VIEW_PAIRS && strcmp(cmd->name, "watch") == 0)
		return watch(path, raw);
	(void)snprintf(line, sizeof(line), "%s%s%s\n", cmd->name,
	    argc == 2 ? " " : "", argc == 2 ? argv[1] : "");
	/* "workers +N" is an action: echod answers {"ok": true, ...}. */
	return run_one(path, line, argc == 2 ? VIEW_PAIRS : cmd->view, raw);
}
