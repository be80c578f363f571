/*
 * ctlfmt.c: the control socket's answers as text (see ctlfmt.h).
 *
 * Metric names follow Prometheus' conventions: counters end in _total,
 * one metric with a label where the status line has one key per reason,
 * and the labelled series add up to the whole: refusals with no reason
 * of their own are reason="other".
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlfmt.h"

static void
grow(struct ctlbuf *b, size_t need)
{
	size_t	cap;
	char	*p;

	if (b->oom || b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + need + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void
ctlbuf_printf(struct ctlbuf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	grow(b, (size_t)n);
	if (b->oom)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
ctlbuf_json_str(struct ctlbuf *b, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;

	ctlbuf_printf(b, "\"");
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			ctlbuf_printf(b, "\\%c", *u);
		else if (*u < 0x20 || *u == 0x7f)
			ctlbuf_printf(b, "\\u%04x", *u);
		else
			ctlbuf_printf(b, "%c", *u);
	}
	ctlbuf_printf(b, "\"");
}

void
ctlbuf_free(struct ctlbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
ctlfmt_error(struct ctlbuf *b, const char *msg)
{
	ctlbuf_printf(b, "{\"error\": ");
	ctlbuf_json_str(b, msg);
	ctlbuf_printf(b, "}\n");
}

/* A status word's value: a JSON number if it is one, else a string. */
static void
word_value(struct ctlbuf *b, const char *v, size_t n)
{
	char	tmp[128];
	size_t	i = 0;

	if (n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	memcpy(tmp, v, n);
	tmp[n] = '\0';
	if (tmp[0] == '-')
		i = 1;
	if (tmp[i] != '\0' && strspn(tmp + i, "0123456789") == n - i)
		ctlbuf_printf(b, "%s", tmp);
	else
		ctlbuf_json_str(b, tmp);
}

void
ctlfmt_status(struct ctlbuf *b, const char *line, const struct ctl_info *ci)
{
	const char	*p = line, *eq, *end;
	char		 key[64];

	if (strncmp(p, "status: ", 8) == 0)
		p += 8;
	ctlbuf_printf(b, "{");
	while (*p != '\0') {
		end = p + strcspn(p, " ");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) < sizeof(key)) {
			memcpy(key, p, (size_t)(eq - p));
			key[eq - p] = '\0';
			ctlbuf_json_str(b, key);
			ctlbuf_printf(b, ": ");
			word_value(b, eq + 1, (size_t)(end - eq - 1));
			ctlbuf_printf(b, ", ");
		}
		p = *end ? end + 1 : end;
	}
	ctlbuf_printf(b, "\"pid\": %ld, \"generation\": %" PRIu32
	    ", \"started\": %lld, \"upgrading\": %d}\n", ci->pid,
	    ci->generation, ci->started, ci->upgrading ? 1 : 0);
}

static void
head(struct ctlbuf *b, const char *name, const char *type, const char *help)
{
	ctlbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
one(struct ctlbuf *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	head(b, name, type, help);
	ctlbuf_printf(b, "%s %" PRIu64 "\n", name, v);
}

static uint64_t
rest(uint64_t all, uint64_t parts)
{
	return all > parts ? all - parts : 0;
}

/* A counter split by reason; "other" is what the named ones miss. */
struct reason {
	const char	*name;
	uint64_t	 n;
};

static void
by_reason(struct ctlbuf *b, const char *n, const char *help,
    const struct reason *r, size_t nr, uint64_t all)
{
	uint64_t	sum = 0;
	size_t		i;

	head(b, n, "counter", help);
	for (i = 0; i < nr; i++) {
		ctlbuf_printf(b, "%s{reason=\"%s\"} %" PRIu64 "\n", n,
		    r[i].name, r[i].n);
		sum += r[i].n;
	}
	ctlbuf_printf(b, "%s{reason=\"other\"} %" PRIu64 "\n", n,
	    rest(all, sum));
}

static void
metrics_refused(struct ctlbuf *b, const struct stats *s)
{
	const struct reason	r[] = {
		{ "per_ip", s->refused_per_ip }, { "rate", s->refused_rate },
		{ "full", s->refused_full }
	};

	by_reason(b, "echod_refused_total", "Connections refused, by reason.",
	    r, sizeof(r) / sizeof(r[0]), s->refused);
}

static void
metrics_udp(struct ctlbuf *b, const struct stats *s)
{
	const struct reason	r[] = {
		{ "port", s->udp_dropped_port }, { "addr", s->udp_dropped_addr },
		{ "rate", s->udp_dropped_rate }, { "size", s->udp_dropped_size }
	};

	one(b, "echod_udp_received_total", "counter",
	    "UDP datagrams received.", s->udp_in);
	one(b, "echod_udp_sent_total", "counter",
	    "UDP datagrams echoed.", s->udp_out);
	by_reason(b, "echod_udp_dropped_total",
	    "UDP datagrams dropped, by reason.", r, sizeof(r) / sizeof(r[0]),
	    s->udp_dropped);
	one(b, "echod_udp_worker_restarts_total", "counter",
	    "UDP worker respawns.", s->udp_restarts);
}

void
ctlfmt_metrics(struct ctlbuf *b, const struct stats *s,
    const struct ctl_info *ci)
{
	int	other = s->workers - s->idle - s->busy;

	head(b, "echod_info", "gauge", "The running master.");
	ctlbuf_printf(b, "echod_info{model=\"%s\"} 1\n", ci->model);
	one(b, "echod_start_time_seconds", "gauge",
	    "When this master started, in seconds since the epoch.",
	    (uint64_t)ci->started);
	one(b, "echod_generation", "gauge",
	    "Worker generation (one more per SIGHUP).", ci->generation);
	one(b, "echod_connections_served_total", "counter",
	    "Connections handed to a serving process.", s->served);
	one(b, "echod_open_connections", "gauge",
	    "Connections being served.", (uint64_t)s->open);
	metrics_refused(b, s);
	head(b, "echod_workers", "gauge", "Serving processes, by state.");
	ctlbuf_printf(b, "echod_workers{state=\"idle\"} %d\n", s->idle);
	ctlbuf_printf(b, "echod_workers{state=\"busy\"} %d\n", s->busy);
	ctlbuf_printf(b, "echod_workers{state=\"other\"} %d\n",
	    other > 0 ? other : 0);
	one(b, "echod_children_reaped_total", "counter",
	    "Serving processes whose exit the master saw.", s->reaped);
	one(b, "echod_children_abnormal_total", "counter",
	    "... of which died by a signal or exited non-zero.", s->abnormal);
	head(b, "echod_respawn_backoff_seconds", "gauge",
	    "Current respawn or accept backoff.");
	ctlbuf_printf(b, "echod_respawn_backoff_seconds %ld.%03ld\n",
	    s->backoff_ms / 1000, s->backoff_ms % 1000);
	one(b, "echod_fork_failed_total", "counter", "Failed forks.",
	    s->fork_failed);
	one(b, "echod_accept_failed_total", "counter", "Failed accepts.",
	    s->accept_failed);
	one(b, "echod_idle_closed_total", "counter",
	    "Connections closed by --idle-timeout.", s->idle_closed);
	metrics_udp(b, s);
}
