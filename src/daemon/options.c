/*
 * options.c: echod's command line.
 *
 * getopt_long(3) with opterr off, so every complaint is ours and names
 * the option and the value; numbers through numparse.c (strtonum).  The
 * result is a plain struct the rest of echod reads and never changes.
 * Nothing here prints or exits: main() decides what to do with OPT_USAGE,
 * and the Check suite can call this as often as it likes.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"
#include "options.h"
#include "rules.h"

#define MAX_CHILDREN_LIMIT	16384
#define PREFIX_MAX		1024

enum {
	OPT_MIN_SPARE = 256,
	OPT_MAX_SPARE,
	OPT_MAX_REQUESTS,
	OPT_PER_IP,
	OPT_RATE,
	OPT_UDP_RATE,
	OPT_GRACE,
	OPT_USER,
	OPT_GROUP,
	OPT_LOG,
	OPT_PREFIX,
	OPT_TIMESTAMP,
	OPT_DELAY,
	OPT_CONTROL,
	OPT_ALLOW,
	OPT_DENY,
	OPT_RULES,
	OPT_PROXY_FROM
};

static const char shortopts[] = ":l:um:r:w:c:t:iDP:vqhV";

static const struct option longopts[] = {
	{ "listen",		required_argument,	NULL, 'l' },
	{ "udp",		no_argument,		NULL, 'u' },
	{ "model",		required_argument,	NULL, 'm' },
	{ "reap",		required_argument,	NULL, 'r' },
	{ "workers",		required_argument,	NULL, 'w' },
	{ "min-spare",		required_argument,	NULL, OPT_MIN_SPARE },
	{ "max-spare",		required_argument,	NULL, OPT_MAX_SPARE },
	{ "max-children",	required_argument,	NULL, 'c' },
	{ "max-requests",	required_argument,	NULL, OPT_MAX_REQUESTS },
	{ "per-ip",		required_argument,	NULL, OPT_PER_IP },
	{ "rate",		required_argument,	NULL, OPT_RATE },
	{ "udp-rate",		required_argument,	NULL, OPT_UDP_RATE },
	{ "idle-timeout",	required_argument,	NULL, 't' },
	{ "grace",		required_argument,	NULL, OPT_GRACE },
	{ "inetd",		no_argument,		NULL, 'i' },
	{ "daemon",		no_argument,		NULL, 'D' },
	{ "pidfile",		required_argument,	NULL, 'P' },
	{ "user",		required_argument,	NULL, OPT_USER },
	{ "group",		required_argument,	NULL, OPT_GROUP },
	{ "log",		required_argument,	NULL, OPT_LOG },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "prefix",		required_argument,	NULL, OPT_PREFIX },
	{ "timestamp",		no_argument,		NULL, OPT_TIMESTAMP },
	{ "delay",		required_argument,	NULL, OPT_DELAY },
	{ "control",		required_argument,	NULL, OPT_CONTROL },
	{ "allow",		required_argument,	NULL, OPT_ALLOW },
	{ "deny",		required_argument,	NULL, OPT_DENY },
	{ "rules",		required_argument,	NULL, OPT_RULES },
	{ "proxy-from",		required_argument,	NULL, OPT_PROXY_FROM },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

void
options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->model = MODEL_PREFORK;
	o->reap = REAP_WAITPID;
	o->workers = 4;
	o->min_spare = 2;
	o->max_spare = 8;
	o->max_children = 256;
	o->max_requests = 0;
	o->per_ip = 0;
	o->rate = 0;
	o->udp_rate = 100;
	o->idle_timeout = 300;
	o->grace = 10;
	o->log = LOG_TO_STDERR;
	o->verbosity = LOG_LEVEL_NORMAL;
	o->delay_ms = 0;
}

const char *
model_name(enum model m)
{
	return m == MODEL_FORK ? "fork" : "prefork";
}

const char *
reap_name(enum reap r)
{
	return r == REAP_IGNORE ? "ignore" : "waitpid";
}

static const char *
optname(int c)
{
	const struct option	*lo;

	for (lo = longopts; lo->name != NULL; lo++)
		if (lo->val == c)
			return lo->name;
	return "?";
}

/*
 * glibc answers "--udp=yes" (a value given to a flag) with '?' and
 * optopt set to the flag's val, so without this the message would be
 * "unknown option -u" for an option that exists.  True if arg is
 * "--NAME=..." where NAME is (an abbreviation of) the flag whose val is c.
 */
static int
flag_given_value(const char *arg, int c)
{
	const struct option	*lo;
	const char		*eq;
	size_t			 len;

	if (c == 0 || strncmp(arg, "--", 2) != 0 ||
	    (eq = strchr(arg, '=')) == NULL)
		return 0;
	len = (size_t)(eq - arg - 2);
	for (lo = longopts; lo->name != NULL; lo++)
		if (lo->val == c && lo->has_arg == no_argument &&
		    len > 0 && strncmp(arg + 2, lo->name, len) == 0)
			return 1;
	return 0;
}

static enum opt_result
usage_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return OPT_USAGE;
}

static int
int_opt(int c, const char *arg, long long min, long long max, long long *v,
    char *err, size_t errlen)
{
	const char	*errstr;

	if (num_parse(arg, min, max, v, &errstr) == -1) {
		(void)snprintf(err, errlen,
		    "--%s: \"%s\" is %s (expected %lld to %lld)",
		    optname(c), arg, errstr, min, max);
		return -1;
	}
	return 0;
}

/* --allow, --deny, --proxy-from: a CIDR, checked now (issue #12). */
static enum opt_result
cidr_opt(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
	struct rule_cidr	cidr;
	char			msg[256];

	if (rules_cidr_parse(arg, &cidr, msg, sizeof(msg)) == -1)
		return usage_err(err, errlen, "--%s: %s", optname(c), msg);
	if (c == OPT_PROXY_FROM) {
		if (o->nproxy >= OPT_MAX_PROXY)
			return usage_err(err, errlen,
			    "--proxy-from: at most %d", OPT_MAX_PROXY);
		o->proxy_from[o->nproxy++] = arg;
		return OPT_OK;
	}
	if (o->nrules >= OPT_MAX_RULES)
		return usage_err(err, errlen, "--%s: at most %d rules on the "
		    "command line (use --rules=FILE)", optname(c),
		    OPT_MAX_RULES);
	o->rule_allow[o->nrules] = c == OPT_ALLOW;
	o->rule_arg[o->nrules++] = arg;
	return OPT_OK;
}

static void
getopt_reset(void)
{
#if defined(__GLIBC__) || !defined(BSD)
	optind = 0;		/* glibc: full re-initialisation */
#else
	optreset = 1;
	optind = 1;
#endif
}

enum opt_result
options_parse(struct options *o, int argc, char **argv, char *err,
    size_t errlen)
{
	long long	 v;
	int		 c, seen_workers = 0, seen_min = 0, seen_max = 0;
	int		 seen_reap = 0, seen_model = 0;

	getopt_reset();
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (o->nlisten >= OPT_MAX_LISTEN)
				return usage_err(err, errlen,
				    "--listen: at most %d addresses",
				    OPT_MAX_LISTEN);
			if (addr_parse(optarg, &o->listen[o->nlisten],
			    err, errlen) == -1) {
				char	msg[512];

				(void)snprintf(msg, sizeof(msg), "%s", err);
				return usage_err(err, errlen, "--listen: %s",
				    msg);
			}
			o->nlisten++;
			break;
		case 'u':
			o->udp = 1;
			break;
		case 'm':
			if (strcmp(optarg, "prefork") == 0)
				o->model = MODEL_PREFORK;
			else if (strcmp(optarg, "fork") == 0)
				o->model = MODEL_FORK;
			else
				return usage_err(err, errlen,
				    "--model: \"%s\" is not a model "
				    "(prefork or fork)", optarg);
			seen_model = 1;
			break;
		case 'r':
			if (strcmp(optarg, "waitpid") == 0)
				o->reap = REAP_WAITPID;
			else if (strcmp(optarg, "ignore") == 0)
				o->reap = REAP_IGNORE;
			else
				return usage_err(err, errlen,
				    "--reap: \"%s\" is not a reaping mode "
				    "(waitpid or ignore)", optarg);
			seen_reap = 1;
			break;
		case 'w':
			if (int_opt(c, optarg, 1, MAX_CHILDREN_LIMIT, &v,
			    err, errlen) == -1)
				return OPT_USAGE;
			o->workers = (int)v;
			seen_workers = 1;
			break;
		case OPT_MIN_SPARE:
			if (int_opt(c, optarg, 0, MAX_CHILDREN_LIMIT, &v,
			    err, errlen) == -1)
				return OPT_USAGE;
			o->min_spare = (int)v;
			seen_min = 1;
			break;
		case OPT_MAX_SPARE:
			if (int_opt(c, optarg, 1, MAX_CHILDREN_LIMIT, &v,
			    err, errlen) == -1)
				return OPT_USAGE;
			o->max_spare = (int)v;
			seen_max = 1;
			break;
		case 'c':
			if (int_opt(c, optarg, 1, MAX_CHILDREN_LIMIT, &v,
			    err, errlen) == -1)
				return OPT_USAGE;
			o->max_children = (int)v;
			break;
		case OPT_MAX_REQUESTS:
			if (int_opt(c, optarg, 0, 1000000000000LL, &v,
			    err, errlen) == -1)
				return OPT_USAGE;
			o->max_requests = v;
			break;
		case OPT_PER_IP:
			if (int_opt(c, optarg, 0, 1000000, &v, err,
			    errlen) == -1)
				return OPT_USAGE;
			o->per_ip = (int)v;
			break;
		case OPT_RATE:
			if (int_opt(c, optarg, 0, 1000000000, &v, err,
			    errlen) == -1)
				return OPT_USAGE;
			o->rate = (int)v;
			break;
		case OPT_UDP_RATE:
			if (int_opt(c, optarg, 0, 1000000000, &v, err,
			    errlen) == -1)
				return OPT_USAGE;
			o->udp_rate = (int)v;
			break;
		case 't':
			if (int_opt(c, optarg, 0, 2000000, &v, err,
			    errlen) == -1)
				return OPT_USAGE;
			o->idle_timeout = (int)v;
			break;
		case OPT_GRACE:
			if (int_opt(c, optarg, 0, 86400, &v, err,
			    errlen) == -1)
				return OPT_USAGE;
			o->grace = (int)v;
			break;
		case 'i':
			o->inetd = 1;
			break;
		case 'D':
			o->daemonize = 1;
			break;
		case 'P':
			if (*optarg == '\0')
				return usage_err(err, errlen,
				    "--pidfile: empty path");
			o->pidfile = optarg;
			break;
		case OPT_CONTROL:
			/* issue #11: the control socket (control.c) */
			if (*optarg == '\0')
				return usage_err(err, errlen,
				    "--control: empty path");
			if (strlen(optarg) >= OPT_CONTROL_PATHMAX)
				return usage_err(err, errlen,
				    "--control: path longer than %d bytes",
				    OPT_CONTROL_PATHMAX - 1);
			o->control = optarg;
			break;
		case OPT_USER:
			if (*optarg == '\0')
				return usage_err(err, errlen,
				    "--user: empty user name");
			o->user = optarg;
			break;
		case OPT_GROUP:
			if (*optarg == '\0')
				return usage_err(err, errlen,
				    "--group: empty group name");
			o->group = optarg;
			break;
		case OPT_LOG:
			if (strcmp(optarg, "stderr") == 0)
				o->log = LOG_TO_STDERR;
			else if (strcmp(optarg, "syslog") == 0)
				o->log = LOG_TO_SYSLOG;
			else
				return usage_err(err, errlen,
				    "--log: \"%s\" is not a log destination "
				    "(stderr or syslog)", optarg);
			o->log_set = 1;
			break;
		case 'v':
			o->verbosity = LOG_LEVEL_VERBOSE;
			break;
		case 'q':
			o->verbosity = LOG_LEVEL_QUIET;
			break;
		case OPT_PREFIX:
			if (strlen(optarg) > PREFIX_MAX)
				return usage_err(err, errlen,
				    "--prefix: longer than %d bytes",
				    PREFIX_MAX);
			o->prefix = optarg;
			break;
		case OPT_TIMESTAMP:
			o->timestamp = 1;
			break;
		case OPT_DELAY: {
			const char *errstr;

			if (num_parse_msec(optarg, 3600, &o->delay_ms,
			    &errstr) == -1)
				return usage_err(err, errlen,
				    "--delay: \"%s\" is %s (expected seconds "
				    "from 0 to 3600, fractions allowed)",
				    optarg, errstr);
			break;
		}
		case OPT_ALLOW:
		case OPT_DENY:
		case OPT_PROXY_FROM:
			if (cidr_opt(o, c, optarg, err, errlen) != OPT_OK)
				return OPT_USAGE;
			break;
		case OPT_RULES:
			if (*optarg == '\0')
				return usage_err(err, errlen,
				    "--rules: empty path");
			o->rules_file = optarg;
			break;
		case 'h':
			return OPT_HELP;
		case 'V':
			return OPT_VERSION;
		case ':':
			if (optopt != 0 && optopt < 256 &&
			    strchr(shortopts, optopt) != NULL)
				return usage_err(err, errlen,
				    "option -%c (--%s) needs a value",
				    optopt, optname(optopt));
			return usage_err(err, errlen,
			    "option %s needs a value", argv[optind - 1]);
		case '?':
		default:
			if (flag_given_value(argv[optind - 1], optopt))
				return usage_err(err, errlen,
				    "option --%s takes no value: \"%s\"",
				    optname(optopt), argv[optind - 1]);
			if (optopt != 0 && optopt < 256)
				return usage_err(err, errlen,
				    "unknown option -%c", optopt);
			return usage_err(err, errlen, "unknown option %s",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_err(err, errlen,
		    "unexpected argument \"%s\" (addresses go with -l)",
		    argv[optind]);

	if (o->reap == REAP_IGNORE && o->model != MODEL_FORK)
		return usage_err(err, errlen,
		    "--reap=ignore needs --model=fork: the prefork pool "
		    "must see its workers' exit status");
	if (o->inetd && o->daemonize)
		return usage_err(err, errlen,
		    "--inetd and --daemon exclude each other: inetd already "
		    "manages the process");
	/* Pool bounds: explicit contradictions are errors, defaults bend. */
	if (o->workers > o->max_children) {
		if (seen_workers)
			return usage_err(err, errlen,
			    "--workers %d exceeds --max-children %d",
			    o->workers, o->max_children);
		o->workers = o->max_children;
	}
	if (o->min_spare > o->max_spare) {
		if (seen_min && seen_max)
			return usage_err(err, errlen,
			    "--min-spare %d exceeds --max-spare %d",
			    o->min_spare, o->max_spare);
		if (seen_min)
			o->max_spare = o->min_spare;
		else
			o->min_spare = o->max_spare;
	}
	(void)seen_reap;
	(void)seen_model;
	return OPT_OK;
}

void
options_usage(FILE *fp)
{
	(void)fputs(
"usage: echod [-DiquvV] [-l addr]... [-m prefork|fork] [-r waitpid|ignore]\n"
"             [-w workers] [-c max-children] [-t idle-timeout] [-P pidfile]\n"
"             [--min-spare n] [--max-spare n] [--max-requests n]\n"
"             [--per-ip n] [--rate n] [--udp-rate n] [--grace seconds]\n"
"             [--user user] [--group group] [--log stderr|syslog]\n"
"             [--prefix string] [--timestamp] [--delay seconds]\n"
"             [--control path]\n"
"             [--allow cidr]... [--deny cidr]... [--rules file]\n"
"             [--proxy-from cidr]...\n"
"\n"
"  -l, --listen=ADDR       HOST:PORT, [V6]:PORT, *:PORT, PORT or unix:/path;\n"
"                          repeatable (default *:7)\n"
"  -u, --udp               also serve UDP echo on every IP address\n"
"  -m, --model=MODEL       prefork (default) or fork\n"
"  -r, --reap=MODE         waitpid (default) or ignore (fork model only)\n"
"  -w, --workers=N         prefork: workers at start, the pool's floor (4)\n"
"      --min-spare=N       prefork: fewest idle workers kept (2)\n"
"      --max-spare=N       prefork: most idle workers kept (8)\n"
"  -c, --max-children=N    most children alive at once (256)\n"
"      --max-requests=N    prefork: connections per worker, 0 = no limit (0)\n"
"      --per-ip=N          simultaneous connections per client, 0 = no limit\n"
"      --rate=N            new connections per client per minute (0)\n"
"      --udp-rate=N        UDP datagrams answered per second per source (100)\n"
"  -t, --idle-timeout=S    close a connection silent for S seconds (300)\n"
"      --grace=S           graceful stop: time left to open connections (10)\n"
"  -i, --inetd             serve the socket on fd 0 (inetd, systemd Accept=yes)\n"
"  -D, --daemon            detach once listening; log to syslog\n"
"  -P, --pidfile=PATH      write and lock a pidfile\n"
"      --control=PATH      answer status/workers/metrics/... on a UNIX socket\n"
"      --user=USER         drop privileges to USER after binding\n"
"      --group=GROUP       drop privileges to GROUP after binding\n"
"      --log=DEST          stderr or syslog\n"
"  -v, --verbose           a line per connection\n"
"  -q, --quiet             errors only\n"
"      --prefix=STRING     line mode: answer each line as STRING + line\n"
"      --timestamp         line mode: append \" at \" + the time\n"
"      --delay=S           wait S seconds (fractions allowed) before serving\n"
"      --allow=CIDR        accept clients in CIDR (10.0.0.0/8, ::1); repeatable\n"
"      --deny=CIDR         refuse clients in CIDR; repeatable.  First match\n"
"                          wins; none: allowed unless an allow rule exists\n"
"      --rules=FILE        more rules, \"allow CIDR\"/\"deny CIDR\" a line,\n"
"                          after the command line's; reread on HUP\n"
"      --proxy-from=CIDR   connections from CIDR start with a PROXY protocol\n"
"                          header (v1 or v2) naming the client; repeatable\n"
"  -h, --help              this help\n"
"  -V, --version           the version\n"
"\n"
"Signals: TERM graceful stop, INT fast stop, HUP restart workers and\n"
"reread --rules, USR1 status line, TTIN/TTOU one worker more/less,\n"
"USR2 binary upgrade.\n"
"See echod(8).\n",
	    fp);
}
