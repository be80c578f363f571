/*
 * echoc_opts.c: parse echoc's command line (see echoc_opts.h).
 *
 * getopt_long runs with opterr = 0 so that every complaint is ours and
 * names the option and the value the user typed; main prints it and
 * exits 64 (EX_USAGE).  Options that only make sense in one mode are
 * refused in the other rather than silently ignored: "-c 8" without
 * --bench is far more likely a mistake than an intention.
 */
#include "config.h"

#include <sys/socket.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "echoc_opts.h"
#include "numparse.h"

#define MSEC_DAY	(24LL * 3600 * 1000)
#define SIZE_MAX_SMALL	(1ULL << 30)	/* conn, rtt, idle */
#define SIZE_MAX_BULK	(1ULL << 40)

enum {
	OPT_MAX_TIME = 256
};

static const struct option longopts[] = {
	{ "bench",	 required_argument, NULL, 'b' },
	{ "concurrency", required_argument, NULL, 'c' },
	{ "duration",	 required_argument, NULL, 'd' },
	{ "help",	 no_argument,	    NULL, 'h' },
	{ "json",	 no_argument,	    NULL, 'j' },
	{ "count",	 required_argument, NULL, 'n' },
	{ "size",	 required_argument, NULL, 's' },
	{ "timeout",	 required_argument, NULL, 't' },
	{ "udp",	 no_argument,	    NULL, 'u' },
	{ "version",	 no_argument,	    NULL, 'V' },
	{ "warmup",	 required_argument, NULL, 'w' },
	{ "max-time",	 required_argument, NULL, OPT_MAX_TIME },
	{ NULL,		 0,		    NULL, 0 }
};

static const char *modenames[] = {
	[ECHOC_SEND] = "send",
	[ECHOC_BENCH_CONN] = "conn",
	[ECHOC_BENCH_RTT] = "rtt",
	[ECHOC_BENCH_BULK] = "bulk",
	[ECHOC_BENCH_IDLE] = "idle"
};

const char *
echoc_mode_name(enum echoc_mode m)
{
	return modenames[m];
}

void
echoc_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: echoc [-46u] [-t seconds] host port [message ...]\n"
	    "       echoc --bench=conn|rtt|bulk|idle [-46j] [-c concurrency]\n"
	    "             [-n count | -d seconds] [-s size] [-t seconds]\n"
	    "             [--warmup=seconds] [--max-time=seconds] host port\n");
}

static int
usage_err(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, msglen, fmt, ap);	/* truncation: still a clue */
	va_end(ap);
	return -1;
}

static int
parse_msec(const char *opt, const char *arg, long long min, long long max,
    long long *out, char *msg, size_t msglen)
{
	const char	*errstr;

	/* num_parse_msec bounds whole seconds; max here is in ms. */
	if (num_parse_msec(arg, (max + 999) / 1000, out, &errstr) == -1)
		return usage_err(msg, msglen, "%s %s: %s", opt, arg, errstr);
	if (*out > max)
		return usage_err(msg, msglen, "%s %s: too large", opt, arg);
	if (*out < min)
		return usage_err(msg, msglen, "%s %s: too small", opt, arg);
	return 0;
}

/* The option the user typed, for messages: "--count" or "-n". */
static const char *
optname(int longidx, int c, char *buf, size_t len)
{
	if (longidx >= 0)
		(void)snprintf(buf, len, "--%s", longopts[longidx].name);
	else
		(void)snprintf(buf, len, "-%c", c);
	return buf;
}

/* What the parse has seen so far, for the checks made after it. */
struct seen {
	const char	*bench_only;	/* an option that needs --bench */
	int		 d, s, t, max, w;
};

static int
opt_bench(struct echoc_opts *o, const char *name, char *msg, size_t msglen)
{
	unsigned int	i;

	for (i = ECHOC_BENCH_CONN; i <= ECHOC_BENCH_IDLE; i++)
		if (strcmp(optarg, modenames[i]) == 0)
			break;
	if (i > ECHOC_BENCH_IDLE)
		return usage_err(msg, msglen, "%s %s: not one of conn, rtt, "
		    "bulk, idle", name, optarg);
	o->mode = (enum echoc_mode)i;
	return 0;
}

static int
opt_number(const char *name, long long min, long long max, long long *out,
    char *msg, size_t msglen)
{
	const char	*errstr;

	if (num_parse(optarg, min, max, out, &errstr) == -1)
		return usage_err(msg, msglen, "%s %s: %s", name, optarg,
		    errstr);
	return 0;
}

static int
opt_size(struct echoc_opts *o, const char *name, char *msg, size_t msglen)
{
	const char	*errstr;

	if (num_parse_size(optarg, SIZE_MAX_BULK, &o->size, &errstr) == -1)
		return usage_err(msg, msglen, "%s %s: %s", name, optarg,
		    errstr);
	if (o->size == 0)
		return usage_err(msg, msglen, "%s %s: too small", name, optarg);
	return 0;
}

/* A getopt answer that is an error: the message for it. */
static int
opt_error(int c, char **argv, char *msg, size_t msglen)
{
	if (c == ':') {
		if (optopt != 0 && optopt < 256)
			return usage_err(msg, msglen, "-%c: needs an argument",
			    optopt);
		return usage_err(msg, msglen, "%s: needs an argument",
		    argv[optind - 1]);
	}
	if (optopt != 0)
		return usage_err(msg, msglen, "-%c: unknown option", optopt);
	return usage_err(msg, msglen, "%s: unknown option", argv[optind - 1]);
}

/* Options that take a duration; 1 if c was not one of them. */
static int
opt_duration(struct echoc_opts *o, int c, const char *name, struct seen *sn,
    char *msg, size_t msglen)
{
	switch (c) {
	case 'd':
		sn->d = 1;
		sn->bench_only = "-d";
		return parse_msec(name, optarg, 1, 31 * MSEC_DAY,
		    &o->duration_ms, msg, msglen);
	case 't':
		sn->t = 1;
		return parse_msec(name, optarg, 1, MSEC_DAY, &o->timeout_ms,
		    msg, msglen);
	case 'w':
		sn->w = 1;
		sn->bench_only = "--warmup";
		return parse_msec(name, optarg, 0, MSEC_DAY, &o->warmup_ms,
		    msg, msglen);
	case OPT_MAX_TIME:
		sn->max = 1;
		sn->bench_only = "--max-time";
		return parse_msec(name, optarg, 1, 32 * MSEC_DAY,
		    &o->max_time_ms, msg, msglen);
	}
	return 1;
}

/* One option: 0, -1 with a message, or 1 when parsing is over (-h, -V). */
static int
opt_one(struct echoc_opts *o, int c, const char *name, struct seen *sn,
    char **argv, char *msg, size_t msglen)
{
	int	r;

	if ((r = opt_duration(o, c, name, sn, msg, msglen)) != 1)
		return r;
	switch (c) {
	case '4':
	case '6':
		o->family = c == '4' ? AF_INET : AF_INET6;
		return 0;
	case 'b':
		return opt_bench(o, name, msg, msglen);
	case 'c':
		sn->bench_only = "-c";
		return opt_number(name, 1, 1000000, &o->concurrency, msg,
		    msglen);
	case 'h':
	case 'V':
		o->action = c == 'h' ? ECHOC_HELP : ECHOC_VERSION;
		return 1;
	case 'j':
		o->json = 1;
		sn->bench_only = "--json";
		return 0;
	case 'n':
		sn->bench_only = "-n";
		return opt_number(name, 1, 1000000000000LL, &o->count, msg,
		    msglen);
	case 's':
		sn->s = 1;
		sn->bench_only = "-s";
		return opt_size(o, name, msg, msglen);
	case 'u':
		o->udp = 1;
		return 0;
	}
	return opt_error(c, argv, msg, msglen);
}

static int
host_port(struct echoc_opts *o, int argc, char **argv, char *msg,
    size_t msglen)
{
	const char	*errstr;
	long long	 v;

	if (argc < 2)
		return usage_err(msg, msglen, "%s", argc == 0 ?
		    "host and port are needed" : "port is needed");
	o->host = argv[0];
	o->port = argv[1];
	if (o->host[0] == '\0')
		return usage_err(msg, msglen, "host: empty");
	if (o->port[0] >= '0' && o->port[0] <= '9') {
		if (num_parse(o->port, 1, 65535, &v, &errstr) == -1)
			return usage_err(msg, msglen, "port %s: %s", o->port,
			    errstr);
	} else if (o->port[0] == '\0')
		return usage_err(msg, msglen, "port: empty");
	return 0;
}

static int
finish_send(struct echoc_opts *o, const struct seen *sn, int argc,
    char **argv, char *msg, size_t msglen)
{
	if (sn->bench_only != NULL)
		return usage_err(msg, msglen, "%s: only with --bench",
		    sn->bench_only);
	if (argc > 0) {
		o->messages = argv;
		o->nmessages = argc;
	}
	if (!sn->t)
		o->timeout_ms = o->udp ? 2000 : 10000;
	return 0;
}

static int
finish_bench(struct echoc_opts *o, const struct seen *sn, int argc,
    char **argv, char *msg, size_t msglen)
{
	if (o->udp)
		return usage_err(msg, msglen, "-u: --bench is TCP only");
	if (argc > 0)
		return usage_err(msg, msglen, "%s: unexpected argument "
		    "(--bench takes no messages)", argv[0]);
	if (sn->d && o->count != 0)
		return usage_err(msg, msglen,
		    "-n and -d: give one or the other");
	if (o->mode == ECHOC_BENCH_IDLE && o->count != 0)
		return usage_err(msg, msglen, "-n: not with --bench=idle "
		    "(it holds -c connections for -d seconds)");
	if (o->mode == ECHOC_BENCH_IDLE && sn->w)
		return usage_err(msg, msglen,
		    "--warmup: not with --bench=idle");
	if (!sn->s)
		o->size = o->mode == ECHOC_BENCH_BULK ? 16ULL << 20 : 64;
	else if (o->mode != ECHOC_BENCH_BULK && o->size > SIZE_MAX_SMALL)
		return usage_err(msg, msglen, "-s %llu: too large for "
		    "--bench=%s (at most 1G)", (unsigned long long)o->size,
		    modenames[o->mode]);
	if (!sn->t)
		o->timeout_ms = 5000;
	if (!sn->max) {
		if (o->count != 0)
			o->max_time_ms = o->warmup_ms + 300000;
		else
			o->max_time_ms = o->warmup_ms + o->duration_ms + 30000;
		if (o->mode == ECHOC_BENCH_IDLE)
			o->max_time_ms += o->concurrency * 10;	/* the ramp */
	}
	return 0;
}

int
echoc_opts_parse(struct echoc_opts *o, int argc, char **argv, char *msg,
    size_t msglen)
{
	struct seen	 sn;
	char		 nbuf[32];
	int		 c, longidx, r;

	memset(o, 0, sizeof(*o));
	memset(&sn, 0, sizeof(sn));
	o->mode = ECHOC_SEND;
	o->family = AF_UNSPEC;
	o->concurrency = 1;
	o->duration_ms = 5000;
	msg[0] = '\0';

	/* Start over: the Check suite parses many command lines. */
#ifdef __GLIBC__
	optind = 0;
#else
	optind = 1;
	optreset = 1;
#endif
	opterr = 0;
	for (;;) {
		longidx = -1;
		c = getopt_long(argc, argv, ":46b:c:d:hjn:s:t:uVw:", longopts,
		    &longidx);
		if (c == -1)
			break;
		r = opt_one(o, c, optname(longidx, c, nbuf, sizeof(nbuf)), &sn,
		    argv, msg, msglen);
		if (r != 0)
			return r == 1 ? 0 : -1;
	}
	argc -= optind;
	argv += optind;
	if (host_port(o, argc, argv, msg, msglen) == -1)
		return -1;
	if (o->mode == ECHOC_SEND)
		return finish_send(o, &sn, argc - 2, argv + 2, msg, msglen);
	return finish_bench(o, &sn, argc - 2, argv + 2, msg, msglen);
}
