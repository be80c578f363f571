/*
 * stats.c: format the status line (see stats.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "stats.h"

size_t
stats_format(const struct stats *s, const char *model, char *buf, size_t len)
{
	int	n;

	n = snprintf(buf, len,
	    "status: model=%s workers=%d idle=%d busy=%d served=%" PRIu64
	    " open=%d refused=%" PRIu64 " refused_per_ip=%" PRIu64
	    " refused_rate=%" PRIu64 " reaped=%" PRIu64 " abnormal=%" PRIu64
	    " backoff_ms=%ld fork_failed=%" PRIu64 " accept_failed=%" PRIu64
	    " udp_in=%" PRIu64 " udp_dropped=%" PRIu64
	    /* issue #5: appended */
	    " refused_full=%" PRIu64 " idle_closed=%" PRIu64
	    " udp_out=%" PRIu64 " udp_dropped_port=%" PRIu64
	    " udp_dropped_addr=%" PRIu64 " udp_dropped_rate=%" PRIu64
	    " udp_dropped_size=%" PRIu64 " udp_restarts=%" PRIu64
	    /* issue #12: appended */
	    " refused_rule=%" PRIu64 " udp_dropped_rule=%" PRIu64
	    " proxy_bad=%" PRIu64,
	    model, s->workers, s->idle, s->busy, s->served, s->open,
	    s->refused, s->refused_per_ip, s->refused_rate, s->reaped,
	    s->abnormal, s->backoff_ms, s->fork_failed, s->accept_failed,
	    s->udp_in, s->udp_dropped,
	    s->refused_full, s->idle_closed, s->udp_out, s->udp_dropped_port,
	    s->udp_dropped_addr, s->udp_dropped_rate, s->udp_dropped_size,
	    s->udp_restarts, s->refused_rule, s->udp_dropped_rule,
	    s->proxy_bad);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}
