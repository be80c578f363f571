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
 * before the first fork, so prefork workers see one exact count.  The
 * fork-model master is the only user of its (private) table.
 *
 * Trust (issue 9): every worker can write the whole mapping, so nothing
 * read from it is believed.  The geometry (capacity, bucket count, hash
 * seed, limits) lives in struct lim_table, private to each process and
 * copied by fork(); the mapping holds only links, counts and the lock.
 * Every link is bounds-checked against the private capacity and every
 * walk is bounded by it; an inconsistency makes the operation fail as
 * LIM_CORRUPT (a private scratch entry absorbs the stray access) and
 * sets a hint in the mapping for the master.  The lock is a word holding
 * its owner's pid, taken by compare-and-swap: no pthread mutex, because
 * locking a robust mutex makes glibc link it into the locker's robust
 * list and unlinking it writes through pointers stored in the mutex, in
 * shared memory (a write-what-where in the master).  Workers wait for it
 * at most LIM_LOCK_WAIT_MS; the master never waits: it tries once and
 * calls the lock stuck when the same holder kept it (same owner, same
 * acquisition count) for LIM_STUCK_MS, or when the owner is a worker it
 * has reaped (it died mid-update: the table is half-linked, and is
 * thrown away, not "made consistent").
 *
 * limits_setup() and friends are the glue the process models call: they
 * keep the counters page (struct shmstat) and the connection table
 * behind srv->lim.
 *
 * Master side (prefork): limits_reaped() when a worker is reaped (it
 * gives back the --per-ip count a worker that died mid-connection held,
 * or queues it while the lock is busy), limits_check() about once a
 * second (stuck lock, hint, full structural check, queued releases), and
 * limits_renew() when either says -1 or the scoreboard is found corrupt.
 * Renewal maps a fresh counters page and (prefork) a fresh, empty table;
 * the master keeps the old counters' totals as a private base, so the
 * status line never goes back.  The page's counters are believed only
 * while they move forward by plausible steps (LIM_COUNTER_STEP per
 * look): a counter that goes back or leaps is ignored and reported as
 * corruption by limits_check(), so garbage never reaches the base.  Choice for the --per-ip accounting of
 * connections still open in the old generation: it stays in the old
 * table, which those workers keep mapped and release into until they
 * exit; it is not rebuilt in the new one, because the only record of
 * their peers is what the (possibly hostile) workers wrote.  So, until
 * the old generation has finished its connections, a source may hold up
 * to --per-ip connections in each generation.  The fork model's table is
 * private to the master (its tickets are the master's own accounting of
 * live children) and survives renewal untouched; the fork children's
 * table of PROXY headers' sources (limits_admit_proxied, below) is
 * shared and renewed like prefork's.
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
	struct lim_hdr		*hdr;		/* the mapping: untrusted */
	uint32_t		*hash;
	struct lim_entry	*e;
	size_t			 maplen;
	int			 shared;
	/* Private geometry: set by lim_create, never read from hdr. */
	uint32_t		 cap;
	uint32_t		 nbuckets;	/* power of two */
	uint32_t		 seed[4];
	int			 per_ip;
	int			 rate;
	int64_t			 period_ms;
	/* Private: corruption seen in this operation; where it went. */
	int			 bad;
	struct lim_entry	 scratch;
	/* Private, master: the busy lock as last seen, for LIM_STUCK_MS. */
	int64_t			 busy_since;
	int32_t			 busy_owner;
	uint32_t		 busy_seq;
};

enum lim_verdict {
	LIM_OK,
	LIM_PER_IP,		/* --per-ip reached */
	LIM_RATE,		/* token bucket empty */
	LIM_FULL,		/* no entry free for a new source */
	LIM_CORRUPT		/* shared table corrupt or lock stuck */
};

#define LIM_LOG_EVERY_MS	60000	/* a source's refusals: one line a minute */
#define LIM_LOCK_WAIT_MS	200	/* a worker's longest wait for the lock */
#define LIM_STUCK_MS		2000	/* one holder this long: stuck */

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
/*
 * The connection of *ticket ended: under the lock, forget it, zero it.
 * 0, or -1 when the ticket or the shared table is bad (or the lock
 * could not be had): the count is lost, the table marked corrupt.
 */
int	lim_release(struct lim_table *, int *);
size_t	lim_count(struct lim_table *);	/* entries in use (tests) */
int	lim_active(struct lim_table *, const struct lim_key *);	/* (tests) */
const char *lim_verdict_name(enum lim_verdict);

/*
 * Master side, never blocking.  lim_try_release: 0 released, 1 lock busy
 * (try again later), -1 corrupt (bad ticket, stuck lock).  lim_verify:
 * the same three answers for a full check of the links, counts and the
 * corruption hint; seen is private scratch of lim_table.cap bytes.
 * lim_held_by: the lock word names pid (call it on reaping pid: a dead
 * holder left the table half-linked).
 */
int	lim_try_release(struct lim_table *, int, int64_t);
int	lim_verify(struct lim_table *, uint8_t *, int64_t);
int	lim_held_by(const struct lim_table *, pid_t);

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
	volatile uint64_t	accept_failed;	/* prefork workers' */
};

/* The shmstat fields the master folds, in order (renewal keeps a base). */
#define SHMSTAT_NCOUNT		17
#define LIM_COUNTER_STEP	(1ULL << 32)	/* most a counter moves per look */

#define SHMSTAT_ADD(s, f, n) \
	((void)__atomic_add_fetch(&(s)->f, (uint64_t)(n), __ATOMIC_RELAXED))

struct limits {
	struct shmstat		*ctr;		/* the mapping: untrusted */
	struct lim_table	 conn;		/* per_ip/rate; hdr NULL: none */
	struct lim_table	 proxied;	/* #12: fork children's, shared */
	int			 per_ip;
	int			 rate;
	/* Master-private. */
	struct shmstat		 base;		/* totals of renewed pages */
	struct shmstat		 believed;	/* the page, as last believed */
	int			 ctr_bad;	/* the page jumped: corrupt */
	int			*orphan;	/* tickets waiting for the lock */
	size_t			 norphan, maxorphan;
	/*
	 * #12, fork model: a cell per child for its proxied ticket
	 * (shared: the child writes it under the table's lock), and the
	 * master's own bookkeeping of the cells (limits_cell_take).
	 */
	int			*cell;		/* maxorphan ints: untrusted */
	unsigned		*cell_epoch;	/* renewals when it was taken */
	int			*cell_free;	/* free cell indices */
	size_t			 ncell_free;
	int			*porphan;	/* proxied tickets, queued */
	size_t			 nporphan;
	int			 proxied_bad;	/* a holder died: renew */
	uint8_t			*seen;		/* lim_verify scratch */
	unsigned		 epoch;		/* renewals so far */
	int			 corrupt_logged;
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
/* A prefork worker's accept(2) failed for want of descriptors or memory. */
void	limits_count_accept_failed(const struct server *);
/* Copy the shared counters into the master's struct stats. */
void	limits_fold(const struct server *, struct stats *);
/* The global refusal-log limiter, for other kinds of refusal (#12). */
int	limits_log_allowed(const struct server *);
/*
 * issue #12: a PROXY header's source, admitted by the serving process
 * that read it.  In the fork model, in a second table that only the
 * children share (made when --proxy-from and a limit are set): the
 * master's table stays private.  Elsewhere, the one table.
 *
 * So that a fork child killed mid-connection gives its source's count
 * back, its ticket lives in a cell of a shared array, as a prefork
 * worker's lives in its scoreboard slot: the master takes a cell for
 * each child before the fork (limits_cell_take; -1 when none is needed
 * or none is free, and the child keeps its ticket itself), the child
 * admits into limits_cell(), and when the master forgets the child,
 * limits_cell_reaped() releases what the cell holds the prefork way:
 * the value bounds-checked, the lock only tried, the release queued
 * while it is busy (limits_check retries), a holder that died with the
 * lock making the table renewed.  A subverted child can misname a
 * ticket only in this table, which children write anyway.
 */
int	limits_admit_proxied(const struct server *, const struct sockaddr *,
	    socklen_t, int *);
void	limits_release_proxied(const struct server *, int *);
int	limits_cell_take(const struct server *);
int    *limits_cell(const struct server *, int);
/* The child of cell (pid, or 0: never forked) is gone: 0, or -1 (renew). */
int	limits_cell_reaped(const struct server *, int, pid_t);

/*
 * Master side (prefork; harmless no-ops otherwise).  limits_reaped: the
 * master reaped pid, a worker of the current segments (not of an epoch
 * before the last renewal), whose slot held ticket
 * (scoreboard_slot_ticket): 0, or -1 when the table must be renewed.
 * limits_check: call about once a second and before trusting the table
 * again: 0, or -1 (renew).  limits_renew: fresh segments (see above);
 * -1 if they could not be mapped (the old ones are kept, still flagged).
 * limits_epoch: renewals so far.
 */
int	limits_reaped(const struct server *, pid_t, int);
int	limits_check(const struct server *);
int	limits_renew(const struct server *);
unsigned limits_epoch(const struct server *);

#endif
