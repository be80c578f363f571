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

int
echoc_opts_parse(struct echoc_opts *o, int argc, char **argv, char *msg,
    size_t msglen)
{
	const char	*errstr, *name;
	char		 nbuf[32];
	const char	*seen_bench_only = NULL;
	int		 c, longidx, got_d = 0, got_s = 0, got_t = 0;
	int		 got_max = 0, got_w = 0;
	long long	 v;
	unsigned int	 i;

	memset(o, 0, sizeof(*o));
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
		name = optname(longidx, c, nbuf, sizeof(nbuf));
		switch (c) {
		case '4':
			o->family = AF_INET;
			break;
		case '6':
			o->family = AF_INET6;
			break;
		case 'b':
			for (i = ECHOC_BENCH_CONN; i <= ECHOC_BENCH_IDLE; i++)
				if (strcmp(optarg, modenames[i]) == 0)
					break;
			if (i > ECHOC_BENCH_IDLE)
				return usage_err(msg, msglen, "%s %s: not one "
				    "of conn, rtt, bulk, idle", name, optarg);
			o->mode = (enum echoc_mode)i;
			break;
		case 'c':
			if (num_parse(optarg, 1, 1000000, &o->concurrency,
			    &errstr) == -1)
				return usage_err(msg, msglen, "%s %s: %s",
				    name, optarg, errstr);
			seen_bench_only = "-c";
			break;
		case 'd':
			if (parse_msec(name, optarg, 1, 31 * MSEC_DAY,
			    &o->duration_ms, msg, msglen) == -1)
				return -1;
			got_d = 1;
			seen_bench_only = "-d";
			break;
		case 'h':
			o->action = ECHOC_HELP;
			return 0;
		case 'j':
			o->json = 1;
			seen_bench_only = "--json";
			break;
		case 'n':
			if (num_parse(optarg, 1, 1000000000000LL, &o->count,
			    &errstr) == -1)
				return usage_err(msg, msglen, "%s %s: %s",
				    name, optarg, errstr);
			seen_bench_only = "-n";
			break;
		case 's':
			if (num_parse_size(optarg, SIZE_MAX_BULK, &o->size,
			    &errstr) == -1)
				return usage_err(msg, msglen, "%s %s: %s",
				    name, optarg, errstr);
			if (o->size == 0)
				return usage_err(msg, msglen,
				    "%s %s: too small", name, optarg);
			got_s = 1;
			seen_bench_only = "-s";
			break;
		case 't':
			if (parse_msec(name, optarg, 1, MSEC_DAY,
			    &o->timeout_ms, msg, msglen) == -1)
				return -1;
			got_t = 1;
			break;
		case 'u':
			o->udp = 1;
			break;
		case 'V':
			o->action = ECHOC_VERSION;
			return 0;
		case 'w':
			if (parse_msec(name, optarg, 0, MSEC_DAY,
			    &o->warmup_ms, msg, msglen) == -1)
				return -1;
			got_w = 1;
			seen_bench_only = "--warmup";
			break;
		case OPT_MAX_TIME:
			if (parse_msec(name, optarg, 1, 32 * MSEC_DAY,
			    &o->max_time_ms, msg, msglen) == -1)
				return -1;
			got_max = 1;
			seen_bench_only = "--max-time";
			break;
		case ':':
			if (optopt != 0 && optopt < 256)
				return usage_err(msg, msglen,
				    "-%c: needs an argument", optopt);
			return usage_err(msg, msglen, "%s: needs an argument",
			    argv[optind - 1]);
		case '?':
		default:
			if (optopt != 0)
				return usage_err(msg, msglen,
				    "-%c: unknown option", optopt);
			return usage_err(msg, msglen, "%s: unknown option",
			    argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;

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
	argc -= 2;
	argv += 2;

	if (o->mode == ECHOC_SEND) {
		if (seen_bench_only != NULL)
			return usage_err(msg, msglen, "%s: only with --bench",
			    seen_bench_only);
		if (argc > 0) {
			o->messages = argv;
			o->nmessages = argc;
		}
		if (!got_t)
			o->timeout_ms = o->udp ? 2000 : 10000;
		return 0;
	}

	/* Bench mode. */
	if (o->udp)
		return usage_err(msg, msglen, "-u: --bench is TCP only");
	if (argc > 0)
		return usage_err(msg, msglen, "%s: unexpected argument "
		    "(--bench takes no messages)", argv[0]);
	if (got_d && o->count != 0)
		return usage_err(msg, msglen,
		    "-n and -d: give one or the other");
	if (o->mode == ECHOC_BENCH_IDLE && o->count != 0)
		return usage_err(msg, msglen, "-n: not with --bench=idle "
		    "(it holds -c connections for -d seconds)");
	if (o->mode == ECHOC_BENCH_IDLE && got_w)
		return usage_err(msg, msglen,
		    "--warmup: not with --bench=idle");
	if (!got_s)
		o->size = o->mode == ECHOC_BENCH_BULK ? 16ULL << 20 : 64;
	else if (o->mode != ECHOC_BENCH_BULK && o->size > SIZE_MAX_SMALL)
		return usage_err(msg, msglen, "-s %llu: too large for "
		    "--bench=%s (at most 1G)", (unsigned long long)o->size,
		    modenames[o->mode]);
	if (!got_t)
		o->timeout_ms = 5000;
	if (!got_max) {
		if (o->count != 0)
			o->max_time_ms = o->warmup_ms + 300000;
		else
			o->max_time_ms = o->warmup_ms + o->duration_ms + 30000;
		if (o->mode == ECHOC_BENCH_IDLE)
			o->max_time_ms += o->concurrency * 10;	/* the ramp */
	}
	return 0;
}
