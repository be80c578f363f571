/*
 * stats.h: the master's counters and the SIGUSR1 status line.
 *
 * Counters only ever grow, except the gauges (workers, idle, busy, open,
 * backoff_ms) which the model sets.  stats_format() writes the line of
 * key=value words SPEC.md fixes, in that order; new keys go at the end so
 * scripts that read the line keep working.
 */
#ifndef ECHOD_STATS_H
#define ECHOD_STATS_H

#include <stddef.h>
#include <stdint.h>

struct stats {
	/* gauges */
	int		workers;
	int		idle;
	int		busy;
	int		open;
	long		backoff_ms;
	/* counters */
	uint64_t	served;		/* connections handed to a child */
	uint64_t	refused;	/* all refusals, any reason */
	uint64_t	refused_per_ip;
	uint64_t	refused_rate;
	uint64_t	reaped;		/* children whose exit we saw */
	uint64_t	abnormal;	/* ... that died by a signal or exit != 0 */
	uint64_t	fork_failed;
	uint64_t	accept_failed;	/* master's + workers' (limits_fold) */
	uint64_t	udp_in;
	uint64_t	udp_dropped;
	/* issue #5, limit.h: appended, in status-line order */
	uint64_t	refused_full;	/* limit table full */
	uint64_t	idle_closed;	/* --idle-timeout closes */
	uint64_t	udp_out;
	uint64_t	udp_dropped_port;	/* a service port as source */
	uint64_t	udp_dropped_addr;	/* broadcast, multicast, mapped */
	uint64_t	udp_dropped_rate;	/* --udp-rate */
	uint64_t	udp_dropped_size;	/* too large or send failed */
	uint64_t	udp_restarts;	/* UDP worker respawns */
	/* issue #12: rules.h, proxy.h; appended */
	uint64_t	refused_rule;	/* TCP refused by --allow/--deny */
	uint64_t	udp_dropped_rule;
	uint64_t	proxy_bad;	/* PROXY header missing or bad */
	/* Not on the line: the master's own part of accept_failed. */
	uint64_t	accept_failed_master;
};

size_t	stats_format(const struct stats *, const char *, char *, size_t);

#endif
