/*
 * limit.h: per-source limits (--per-ip, --rate, --udp-rate) and the
 * counters every serving process shares with the master (issue #5).
 *
 * A source is a client address: IPv4 by address, IPv6 by its /64 (one
 * host commonly holds a whole /64), an IPv4-mapped IPv6 address as the
 * IPv4 address it maps.  UNIX-socket clients have no address: unlimited.
 *
 * The table (struct lim_table) is sized once and never allocated in the
 * hot path: a hash of chained entries plus an LRU list.  When it is full
 * a new source evicts the least recently seen entry that holds no open
 * connection; entries holding connections are never evicted (so
 * --per-ip counts stay exact), and since the table is made larger than
 * --max-children one can always be found.  If none can (a table sized
 * by hand in a test), the connection is refused as LIM_FULL.
 *
 * Rate limits are token buckets in integer arithmetic: tokens are kept
 * scaled by the period (60000 for --rate, per minute; 1000 for
 * --udp-rate, per second), so refilling is elapsed_ms * rate and a
 * connection costs one period: no float, no drift, a full bucket holds
 * exactly `rate` tokens (the burst).
 *
 * Sharing: with `shared` the table lives in a MAP_SHARED mapping made
 * before the first fork and is guarded by a process-shared (robust, on
 * Linux) mutex, so prefork workers see one exact count.  The fork-model
 * master is the only user of its table and takes no lock.
 *
 * limits_setup() and friends are the glue the process models call: they
 * keep the counters page (struct shmstat) and the connection table
 * behind srv->lim.
 */
#ifndef ECHOD_LIMIT_H
#define ECHOD_LIMIT_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct server;
struct stats;

struct lim_key {
	uint8_t	b[16];		/* IPv6 /64 or ::ffff:IPv4 */
};

struct lim_bucket {
	int64_t	tokens;		/* scaled by the period */
	int64_t	last_ms;
};

struct lim_entry {
	struct lim_key		key;
	uint32_t		hnext;		/* hash chain: index + 1, 0 ends */
	uint32_t		prev, next;	/* LRU list: index + 1 */
	int32_t			active;		/* open connections (--per-ip) */
	int32_t			used;
	struct lim_bucket	bucket;
	int64_t			logged_ms;	/* last refusal logged */
};

struct lim_hdr;

struct lim_table {
	struct lim_hdr		*hdr;
	uint32_t		*hash;
	struct lim_entry	*e;
	size_t			 maplen;
	int			 shared;
};

enum lim_verdict {
	LIM_OK,
	LIM_PER_IP,		/* --per-ip reached */
	LIM_RATE,		/* token bucket empty */
	LIM_FULL		/* no entry free for a new source */
};

#define LIM_LOG_EVERY_MS	60000	/* a source's refusals: one line a minute */

int	lim_key_from_sa(const struct sockaddr *, socklen_t, struct lim_key *);
void	lim_key_str(const struct lim_key *, char *, size_t);

/* Token bucket: 1 if a token was taken.  rate 0 means no limit. */
void	lim_bucket_fill(struct lim_bucket *, int64_t, int64_t, int64_t);
int	lim_bucket_take(struct lim_bucket *, int64_t, int64_t, int64_t);

int	lim_create(struct lim_table *, size_t, int, int, int64_t, int);
void	lim_destroy(struct lim_table *);
/*
 * Admit one new connection (or datagram) from key at now.  On LIM_OK and
 * with per_ip set, *ticket (written under the lock) is the entry to
 * release when the connection ends; *log_it says whether this refusal
 * is the source's first in LIM_LOG_EVERY_MS.
 */
enum lim_verdict lim_admit(struct lim_table *, const struct lim_key *,
	    int64_t, int *, int *);
/* The connection of *ticket ended: under the lock, forget it, zero it. */
void	lim_release(struct lim_table *, int *);
size_t	lim_count(struct lim_table *);	/* entries in use (tests) */
int	lim_active(struct lim_table *, const struct lim_key *);	/* (tests) */
const char *lim_verdict_name(enum lim_verdict);

/* ---- the counters page, shared by every process of one echod ------- */

struct shmstat {
	volatile uint64_t	refused;
	volatile uint64_t	refused_per_ip;
	volatile uint64_t	refused_rate;
	volatile uint64_t	refused_full;
	volatile uint64_t	idle_closed;	/* --idle-timeout closes */
	volatile uint64_t	udp_in;
	volatile uint64_t	udp_out;
	volatile uint64_t	udp_dropped;	/* all drops, any reason */
	volatile uint64_t	udp_dropped_port;
	volatile uint64_t	udp_dropped_addr;
	volatile uint64_t	udp_dropped_rate;
	volatile uint64_t	udp_dropped_size;
	volatile uint64_t	udp_dropped_send;	/* socket buffer full */
	volatile uint64_t	refused_logged;	/* global log limiter */
	volatile int64_t	log_window_ms;
	/* issue #12: rules.h, proxy.h */
	volatile uint64_t	refused_rule;
	volatile uint64_t	udp_dropped_rule;
	volatile uint64_t	proxy_bad;
};

#define SHMSTAT_ADD(s, f, n) \
	((void)__atomic_add_fetch(&(s)->f, (uint64_t)(n), __ATOMIC_RELAXED))

struct limits {
	struct shmstat		*ctr;
	struct lim_table	 conn;		/* per_ip/rate; hdr NULL: none */
	int			 per_ip;
	int			 rate;
};

/* Global ceiling on refusal log lines, whatever the number of sources. */
#define LIM_LOG_BURST		20	/* lines per LIM_LOG_EVERY_MS */

/* Called by a model before its first fork: sets srv->lim. */
int	limits_setup(struct server *);
/* 0: admitted (*ticket set under the lock); -1: refused, counted, logged. */
int	limits_admit(const struct server *, const struct sockaddr *,
	    socklen_t, int *);
void	limits_release(const struct server *, int *);
/* A connection ended by --idle-timeout. */
void	limits_count_idle(const struct server *);
/* Copy the shared counters into the master's struct stats. */
void	limits_fold(const struct server *, struct stats *);
/* The global refusal-log limiter, for other kinds of refusal (#12). */
int	limits_log_allowed(const struct server *);

#endif
