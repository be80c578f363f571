/*
 * options.h: echod's command line, parsed into struct options.
 *
 * options_parse() neither prints nor exits, so the Check suite can feed it
 * any argument vector: it returns OPT_OK, OPT_HELP, OPT_VERSION or
 * OPT_USAGE, the last with a message naming the option and the value.
 * Cross-option rules (--reap=ignore only with --model=fork, spare bounds)
 * are checked here too: everything that makes a usage error (64).
 */
#ifndef ECHOD_OPTIONS_H
#define ECHOD_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "log.h"

#define OPT_MAX_LISTEN	32
#define OPT_CONTROL_PATHMAX	108	/* sun_path */
#define OPT_MAX_RULES	1024	/* --allow/--deny; more go in --rules */
#define OPT_MAX_PROXY	64	/* --proxy-from */

enum model {
	MODEL_PREFORK,
	MODEL_FORK
};

enum reap {
	REAP_WAITPID,
	REAP_IGNORE
};

enum opt_result {
	OPT_OK,
	OPT_HELP,
	OPT_VERSION,
	OPT_USAGE
};

struct options {
	struct addr_spec listen[OPT_MAX_LISTEN];
	size_t		nlisten;	/* 0: the default, *:7 */
	int		udp;
	enum model	model;
	enum reap	reap;
	int		workers;
	int		min_spare;
	int		max_spare;
	int		max_children;
	long long	max_requests;
	int		per_ip;
	int		rate;
	int		udp_rate;
	int		idle_timeout;	/* seconds; 0: never */
	int		grace;		/* seconds */
	int		inetd;
	int		daemonize;
	const char	*pidfile;
	const char	*user;
	const char	*group;
	int		log_set;	/* --log given */
	enum log_dest	log;
	int		verbosity;	/* enum log_level */
	const char	*prefix;	/* line mode when prefix or timestamp */
	int		timestamp;
	long long	delay_ms;
	const char	*control;	/* issue #11: --control=PATH */
	/* issue #12: checked here (CIDR syntax), built by access.c */
	const char	*rule_arg[OPT_MAX_RULES];	/* in order */
	unsigned char	 rule_allow[OPT_MAX_RULES];	/* 1 allow, 0 deny */
	size_t		 nrules;
	const char	*rules_file;
	const char	*proxy_from[OPT_MAX_PROXY];
	size_t		 nproxy;
};

void		options_defaults(struct options *);
enum opt_result	options_parse(struct options *, int, char **, char *, size_t);
void		options_usage(FILE *);
const char	*model_name(enum model);
const char	*reap_name(enum reap);

#endif
