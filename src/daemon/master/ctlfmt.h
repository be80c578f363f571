/*
 * ctlfmt.h: the control socket's answers as text (issue #11): a growing
 * buffer, JSON strings, the status object made from the SIGUSR1 line
 * (so every key of the line is in it, as a number, whatever is added to
 * the line later), and the Prometheus text exposition of the counters.
 * Pure: no sockets, no clock; the Check suite drives it.
 */
#ifndef ECHOD_CTLFMT_H
#define ECHOD_CTLFMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct ctlbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;		/* an allocation failed: the text is cut */
};

void	ctlbuf_printf(struct ctlbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	ctlbuf_json_str(struct ctlbuf *, const char *);
void	ctlbuf_free(struct ctlbuf *);

struct ctl_info {
	const char	*model;
	long		 pid;
	uint32_t	 generation;
	long long	 started;	/* seconds since the epoch */
	int		 upgrading;
};

/* line: stats_format()'s output, "status: model=... key=value ...". */
void	ctlfmt_status(struct ctlbuf *, const char *, const struct ctl_info *);
void	ctlfmt_metrics(struct ctlbuf *, const struct stats *,
	    const struct ctl_info *);
void	ctlfmt_error(struct ctlbuf *, const char *);

#endif
