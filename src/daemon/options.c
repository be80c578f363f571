/*
 * options.c: echod's command line.
 *
 * getopt_long(3) with opterr off, so every complaint is ours and names
 * the option and the value; numbers through numparse.c (strtonum).  The
 * result is a plain struct the rest of echod reads and never changes.
 * Nothing here prints or exits: main() decides what to do with OPT_USAGE,
 * and the Check suite can call this as often as it likes.
 *
 * options_parse() only loops: opt_one() hands each option to its group
 * (the numopts table for numbers, then listening and model, service,
 * line mode, access), and options_check() applies the rules that span
 * several options once all are read.
 */
#include "config.h"

#include <getopt.h>
#include <stddef.h>
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

/*
 * The numeric options, one row each: the bounds are the contract (echod(8)
 * and the messages quote them), and one parser serves them all, so every
 * "--NAME: \"VALUE\" is ... (expected MIN to MAX)" reads the same.  off is
 * where the value goes in struct options: an int, or a long long if wide.
 * seen marks the options whose explicit use options_check() must tell
 * from their default.
 */
#define SEEN_WORKERS	0x01
#define SEEN_MIN_SPARE	0x02
#define SEEN_MAX_SPARE	0x04

struct numopt {
	int		 c;
	long long	 min;
	long long	 max;
	size_t		 off;
	int		 wide;
	unsigned	 seen;
};

#define NUMOPT(c, min, max, field, seen) \
	{ (c), (min), (max), offsetof(struct options, field), 0, (seen) }
#define NUMOPT_LL(c, min, max, field) \
	{ (c), (min), (max), offsetof(struct options, field), 1, 0 }

static const struct numopt numopts[] = {
	NUMOPT('w', 1, MAX_CHILDREN_LIMIT, workers, SEEN_WORKERS),
	NUMOPT(OPT_MIN_SPARE, 0, MAX_CHILDREN_LIMIT, min_spare,
	    SEEN_MIN_SPARE),
	NUMOPT(OPT_MAX_SPARE, 1, MAX_CHILDREN_LIMIT, max_spare,
	    SEEN_MAX_SPARE),
	NUMOPT('c', 1, MAX_CHILDREN_LIMIT, max_children, 0),
	NUMOPT_LL(OPT_MAX_REQUESTS, 0, 1000000000000LL, max_requests),
	NUMOPT(OPT_PER_IP, 0, 1000000, per_ip, 0),
	NUMOPT(OPT_RATE, 0, 1000000000, rate, 0),
	NUMOPT(OPT_UDP_RATE, 0, 1000000000, udp_rate, 0),
	NUMOPT('t', 0, 2000000, idle_timeout, 0),
	NUMOPT(OPT_GRACE, 0, 86400, grace, 0),
	{ 0, 0, 0, 0, 0, 0 }
};

static const struct numopt *
numopt_find(int c)
{
	const struct numopt	*n;

	for (n = numopts; n->c != 0; n++)
		if (n->c == c)
			return n;
	return NULL;
}

static enum opt_result
num_opt(struct options *o, unsigned *seen, const struct numopt *n,
    const char *arg, char *err, size_t errlen)
{
	const char	*errstr;
	long long	 v;
	char		*field = (char *)o + n->off;

	if (num_parse(arg, n->min, n->max, &v, &errstr) == -1)
		return usage_err(err, errlen,
		    "--%s: \"%s\" is %s (expected %lld to %lld)",
		    optname(n->c), arg, errstr, n->min, n->max);
	if (n->wide)
		*(long long *)(void *)field = v;
	else
		*(int *)(void *)field = (int)v;	/* max fits an int */
	*seen |= n->seen;
	return OPT_OK;
}

/*
 * --model, --reap, --log: one of two words.  Returns 0 or 1 for a or b,
 * -1 with the message filled in ("--NAME: "VALUE" is not a WHAT (A or B)").
 */
static int
word_opt(int c, const char *arg, const char *what, const char *a,
    const char *b, char *err, size_t errlen)
{
	if (strcmp(arg, a) == 0)
		return 0;
	if (strcmp(arg, b) == 0)
		return 1;
	(void)usage_err(err, errlen, "--%s: \"%s\" is not a %s (%s or %s)",
	    optname(c), arg, what, a, b);
	return -1;
}

/* Paths and names: an empty one is a usage error ("--NAME: empty WHAT"). */
static int
empty_opt(int c, const char *arg, const char *what, char *err, size_t errlen)
{
	if (*arg != '\0')
		return 0;
	(void)usage_err(err, errlen, "--%s: empty %s", optname(c), what);
	return -1;
}

/* -l, -u, -m, -r: what echod listens on and how it serves. */
static enum opt_result
opt_listen_model(struct options *o, int c, const char *arg, char *err,
    size_t errlen)
{
	char	msg[512];
	int	w;

	switch (c) {
	case 'l':
		if (o->nlisten >= OPT_MAX_LISTEN)
			return usage_err(err, errlen,
			    "--listen: at most %d addresses", OPT_MAX_LISTEN);
		if (addr_parse(arg, &o->listen[o->nlisten], err,
		    errlen) == -1) {
			/* addr_parse wrote into err: copy before prefixing */
			(void)snprintf(msg, sizeof(msg), "%s", err);
			return usage_err(err, errlen, "--listen: %s", msg);
		}
		o->nlisten++;
		break;
	case 'u':
		o->udp = 1;
		break;
	case 'm':
		if ((w = word_opt(c, arg, "model", "prefork", "fork", err,
		    errlen)) == -1)
			return OPT_USAGE;
		o->model = w == 0 ? MODEL_PREFORK : MODEL_FORK;
		break;
	case 'r':
		if ((w = word_opt(c, arg, "reaping mode", "waitpid", "ignore",
		    err, errlen)) == -1)
			return OPT_USAGE;
		o->reap = w == 0 ? REAP_WAITPID : REAP_IGNORE;
		break;
	}
	return OPT_OK;
}

/* -i, -D, -P, --user, --group, --log, -v, -q: running as a service. */
static enum opt_result
opt_service(struct options *o, int c, const char *arg, char *err,
    size_t errlen)
{
	int	w;

	switch (c) {
	case 'i':
		o->inetd = 1;
		break;
	case 'D':
		o->daemonize = 1;
		break;
	case 'P':
		if (empty_opt(c, arg, "path", err, errlen) == -1)
			return OPT_USAGE;
		o->pidfile = arg;
		break;
	case OPT_USER:
		if (empty_opt(c, arg, "user name", err, errlen) == -1)
			return OPT_USAGE;
		o->user = arg;
		break;
	case OPT_GROUP:
		if (empty_opt(c, arg, "group name", err, errlen) == -1)
			return OPT_USAGE;
		o->group = arg;
		break;
	case OPT_LOG:
		if ((w = word_opt(c, arg, "log destination", "stderr",
		    "syslog", err, errlen)) == -1)
			return OPT_USAGE;
		o->log = w == 0 ? LOG_TO_STDERR : LOG_TO_SYSLOG;
		o->log_set = 1;
		break;
	case 'v':
		o->verbosity = LOG_LEVEL_VERBOSE;
		break;
	case 'q':
		o->verbosity = LOG_LEVEL_QUIET;
		break;
	}
	return OPT_OK;
}

/* --prefix, --timestamp, --delay: line mode and the delayed answer. */
static enum opt_result
opt_linemode(struct options *o, int c, const char *arg, char *err,
    size_t errlen)
{
	const char	*errstr;

	switch (c) {
	case OPT_PREFIX:
		if (strlen(arg) > PREFIX_MAX)
			return usage_err(err, errlen,
			    "--prefix: longer than %d bytes", PREFIX_MAX);
		o->prefix = arg;
		break;
	case OPT_TIMESTAMP:
		o->timestamp = 1;
		break;
	case OPT_DELAY:
		if (num_parse_msec(arg, 3600, &o->delay_ms, &errstr) == -1)
			return usage_err(err, errlen,
			    "--delay: \"%s\" is %s (expected seconds "
			    "from 0 to 3600, fractions allowed)", arg, errstr);
		break;
	}
	return OPT_OK;
}

/* --control, --allow, --deny, --proxy-from, --rules: who may talk to us. */
static enum opt_result
opt_access(struct options *o, int c, const char *arg, char *err,
    size_t errlen)
{
	switch (c) {
	case OPT_CONTROL:
		/* issue #11: the control socket (control.c) */
		if (empty_opt(c, arg, "path", err, errlen) == -1)
			return OPT_USAGE;
		if (strlen(arg) >= OPT_CONTROL_PATHMAX)
			return usage_err(err, errlen,
			    "--control: path longer than %d bytes",
			    OPT_CONTROL_PATHMAX - 1);
		o->control = arg;
		break;
	case OPT_ALLOW:
	case OPT_DENY:
	case OPT_PROXY_FROM:
		return cidr_opt(o, c, arg, err, errlen);
	case OPT_RULES:
		if (empty_opt(c, arg, "path", err, errlen) == -1)
			return OPT_USAGE;
		o->rules_file = arg;
		break;
	}
	return OPT_OK;
}

/*
 * What getopt_long(3) could not match: ':' (a value missing) or '?' (an
 * unknown option, or a flag given a value).  optopt and argv[optind - 1]
 * say which; the message names it the way the user wrote it.
 */
static enum opt_result
opt_bad(int c, char **argv, char *err, size_t errlen)
{
	const char	*arg = argv[optind - 1];

	if (c == ':') {
		if (optopt != 0 && optopt < 256 &&
		    strchr(shortopts, optopt) != NULL)
			return usage_err(err, errlen,
			    "option -%c (--%s) needs a value",
			    optopt, optname(optopt));
		return usage_err(err, errlen, "option %s needs a value", arg);
	}
	if (flag_given_value(arg, optopt))
		return usage_err(err, errlen,
		    "option --%s takes no value: \"%s\"",
		    optname(optopt), arg);
	if (optopt != 0 && optopt < 256)
		return usage_err(err, errlen, "unknown option -%c", optopt);
	return usage_err(err, errlen, "unknown option %s", arg);
}

/* One option from getopt_long(3), handed to the function for its group. */
static enum opt_result
opt_one(struct options *o, unsigned *seen, int c, char **argv, char *err,
    size_t errlen)
{
	const struct numopt	*n;

	if ((n = numopt_find(c)) != NULL)
		return num_opt(o, seen, n, optarg, err, errlen);
	switch (c) {
	case 'l':
	case 'u':
	case 'm':
	case 'r':
		return opt_listen_model(o, c, optarg, err, errlen);
	case 'i':
	case 'D':
	case 'P':
	case OPT_USER:
	case OPT_GROUP:
	case OPT_LOG:
	case 'v':
	case 'q':
		return opt_service(o, c, optarg, err, errlen);
	case OPT_PREFIX:
	case OPT_TIMESTAMP:
	case OPT_DELAY:
		return opt_linemode(o, c, optarg, err, errlen);
	case OPT_CONTROL:
	case OPT_ALLOW:
	case OPT_DENY:
	case OPT_PROXY_FROM:
	case OPT_RULES:
		return opt_access(o, c, optarg, err, errlen);
	case 'h':
		return OPT_HELP;
	case 'V':
		return OPT_VERSION;
	default:
		return opt_bad(c, argv, err, errlen);
	}
}

/*
 * Rules across options, once all are read.  Pool bounds: explicit
 * contradictions are errors, defaults bend to what was given.
 */
static enum opt_result
options_check(struct options *o, unsigned seen, char *err, size_t errlen)
{
	if (o->reap == REAP_IGNORE && o->model != MODEL_FORK)
		return usage_err(err, errlen,
		    "--reap=ignore needs --model=fork: the prefork pool "
		    "must see its workers' exit status");
	if (o->inetd && o->daemonize)
		return usage_err(err, errlen,
		    "--inetd and --daemon exclude each other: inetd already "
		    "manages the process");
	if (o->workers > o->max_children) {
		if (seen & SEEN_WORKERS)
			return usage_err(err, errlen,
			    "--workers %d exceeds --max-children %d",
			    o->workers, o->max_children);
		o->workers = o->max_children;
	}
	if (o->min_spare > o->max_spare) {
		if ((seen & SEEN_MIN_SPARE) && (seen & SEEN_MAX_SPARE))
			return usage_err(err, errlen,
			    "--min-spare %d exceeds --max-spare %d",
			    o->min_spare, o->max_spare);
		if (seen & SEEN_MIN_SPARE)
			o->max_spare = o->min_spare;
		else
			o->min_spare = o->max_spare;
	}
	return OPT_OK;
}

enum opt_result
options_parse(struct options *o, int argc, char **argv, char *err,
    size_t errlen)
{
	enum opt_result	 r;
	unsigned	 seen = 0;
	int		 c;

	getopt_reset();
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if ((r = opt_one(o, &seen, c, argv, err, errlen)) != OPT_OK)
			return r;
	if (optind < argc)
		return usage_err(err, errlen,
		    "unexpected argument \"%s\" (addresses go with -l)",
		    argv[optind]);
	return options_check(o, seen, err, errlen);
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
