/*
 * limit.c: per-source limits and the shared counters (see limit.h).
 *
 * Cost: one hash lookup (a keyed mix of four words, so a client cannot
 * choose addresses that collide) and a few list moves per connection or
 * datagram; eviction takes the LRU tail, skipping at most the entries
 * with open connections (fewer than --max-children).  Nothing here
 * allocates after lim_create().
 *
 * Error policy: in a private table a ticket that does not name a live
 * entry is our own bug and is fatalx; in a shared one it may be another
 * process's doing: LIM_CORRUPT, never a crash.  A full table is the
 * client's problem (LIM_FULL).
 */
#include "config.h"

#include <sys/mman.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "limit.h"
#include "access.h"
#include "log.h"
#include "server.h"
#include "stats.h"

/*
 * The shared header: only what changes.  Everything here is untrusted
 * (see limit.h); the geometry is in struct lim_table.
 */
struct lim_hdr {
	volatile int32_t lock;		/* owner's pid, 0: free (when shared) */
	volatile uint32_t seq;		/* acquisitions, for stuck detection */
	volatile int32_t corrupt;	/* hint: someone saw a bad link */
	uint32_t	n;		/* entries in use */
	uint32_t	lru_head;	/* most recent: index + 1 */
	uint32_t	lru_tail;
	uint32_t	free_head;	/* unused entries, through hnext */
};

/* ---- keys ---------------------------------------------------------- */

int
lim_key_from_sa(const struct sockaddr *sa, socklen_t len, struct lim_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *sin = (const void *)sa;

		k->b[10] = k->b[11] = 0xff;
		memcpy(&k->b[12], &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		memcpy(k->b, &sin6->sin6_addr, 16);
		/* A mapped IPv4 client is that IPv4 address, not a /64. */
		if (!IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			memset(&k->b[8], 0, 8);
		return 0;
	}
	return -1;
}

void
lim_key_str(const struct lim_key *k, char *buf, size_t len)
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	char	a[INET6_ADDRSTRLEN];

	if (memcmp(k->b, mapped, 12) == 0) {
		if (inet_ntop(AF_INET, &k->b[12], a, sizeof(a)) == NULL)
			(void)strlcpy(a, "?", sizeof(a));
		(void)snprintf(buf, len, "%s", a);
	} else {
		if (inet_ntop(AF_INET6, k->b, a, sizeof(a)) == NULL)
			(void)strlcpy(a, "?", sizeof(a));
		(void)snprintf(buf, len, "%s/64", a);
	}
}

/* ---- token bucket -------------------------------------------------- */

/* Refill by the time since last; never beyond rate tokens (the burst). */
void
lim_bucket_fill(struct lim_bucket *b, int64_t rate, int64_t period,
    int64_t now)
{
	int64_t	dt = now - b->last_ms, cap = rate * period;

	if (dt <= 0)
		return;		/* the clock is monotonic; be safe anyway */
	if (dt >= period)
		b->tokens = cap;
	else {
		b->tokens += dt * rate;
		if (b->tokens > cap)
			b->tokens = cap;
	}
	b->last_ms = now;
}

int
lim_bucket_take(struct lim_bucket *b, int64_t rate, int64_t period,
    int64_t now)
{
	if (rate <= 0)
		return 1;
	lim_bucket_fill(b, rate, period, now);
	if (b->tokens < period)
		return 0;
	b->tokens -= period;
	return 1;
}

/* ---- the lock ------------------------------------------------------ */

static pid_t	lock_self;		/* this process's pid, 0: not known */

static void
lock_forget_self(void)
{
	/* A forked child: ask again (no write, no private page, if unset). */
	if (lock_self != 0)
		lock_self = 0;
}

static pid_t
lock_id(void)
{
	static int	registered;

	if (!registered) {
		(void)pthread_atfork(NULL, NULL, lock_forget_self);
		registered = 1;
	}
	if (lock_self == 0)
		lock_self = getpid();
	return lock_self;
}

static int
lock_try(struct lim_table *t, int32_t me)
{
	int32_t	free_word = 0;

	if (!__atomic_compare_exchange_n(&t->hdr->lock, &free_word, me, 0,
	    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 0;
	(void)__atomic_add_fetch(&t->hdr->seq, 1, __ATOMIC_RELAXED);
	return 1;
}

/*
 * A worker's wait: spin briefly (the holder is a few hundred
 * instructions from done), then yield, then sleep, for at most
 * LIM_LOCK_WAIT_MS.  0, or -1: stuck, treated as corruption.
 */
static int
lock(struct lim_table *t)
{
	struct timespec	nap = { 0, 50000 };
	int64_t		deadline = 0;
	int32_t		me;
	int		i;

	if (!t->shared)
		return 0;
	me = (int32_t)lock_id();
	for (i = 0; ; i++) {
		if (lock_try(t, me))
			return 0;
		if (i < 64) {
			__asm__ __volatile__("" ::: "memory");
			continue;
		}
		if (deadline == 0)
			deadline = clock_ms() + LIM_LOCK_WAIT_MS;
		else if (clock_ms() >= deadline)
			return -1;
		if (i < 128)
			(void)sched_yield();
		else
			(void)nanosleep(&nap, NULL);
	}
}

static void
unlock(struct lim_table *t)
{
	if (t->shared)
		__atomic_store_n(&t->hdr->lock, 0, __ATOMIC_RELEASE);
}

/*
 * The master's attempt: never waits.  1 taken, 0 busy, -1 stuck: the
 * same holder (owner and acquisition count) for LIM_STUCK_MS.
 */
static int
lock_master(struct lim_table *t, int64_t now)
{
	int32_t		owner;
	uint32_t	seq;

	if (!t->shared)
		return 1;
	if (lock_try(t, (int32_t)lock_id())) {
		t->busy_since = 0;
		return 1;
	}
	owner = __atomic_load_n(&t->hdr->lock, __ATOMIC_RELAXED);
	seq = __atomic_load_n(&t->hdr->seq, __ATOMIC_RELAXED);
	if (t->busy_since == 0 || owner != t->busy_owner ||
	    seq != t->busy_seq) {
		t->busy_since = now > 0 ? now : 1;
		t->busy_owner = owner;
		t->busy_seq = seq;
		return 0;
	}
	return now - t->busy_since >= LIM_STUCK_MS ? -1 : 0;
}

int
lim_held_by(const struct lim_table *t, pid_t pid)
{
	if (t->hdr == NULL || !t->shared || pid <= 0)
		return 0;
	return __atomic_load_n(&t->hdr->lock, __ATOMIC_ACQUIRE) ==
	    (int32_t)pid;
}

/* ---- the table ----------------------------------------------------- */

int
lim_create(struct lim_table *t, size_t cap, int per_ip, int rate,
    int64_t period_ms, int shared)
{
	struct lim_hdr	*h;
	size_t		 nb = 16, len, off, i;
	void		*p;

	memset(t, 0, sizeof(*t));
	if (cap < 2 || cap > (1u << 24)) {
		errno = EINVAL;
		return -1;
	}
	while (nb < cap)
		nb <<= 1;
	/* Entries hold int64_t: start them on a 64-byte boundary. */
	off = (sizeof(*h) + nb * sizeof(uint32_t) + 63) & ~(size_t)63;
	len = off + cap * sizeof(*t->e);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	t->maplen = len;
	t->hdr = h = p;
	t->hash = (uint32_t *)(h + 1);
	t->e = (struct lim_entry *)((char *)p + off);
	t->shared = shared;
	t->cap = (uint32_t)cap;
	t->nbuckets = (uint32_t)nb;
	t->per_ip = per_ip;
	t->rate = rate;
	t->period_ms = period_ms;
	arc4random_buf(t->seed, sizeof(t->seed));
	for (i = 0; i < cap; i++)
		t->e[i].hnext = i + 1 < cap ? (uint32_t)(i + 2) : 0;
	h->free_head = 1;
	return 0;
}

void
lim_destroy(struct lim_table *t)
{
	if (t->hdr != NULL)
		(void)munmap(t->hdr, t->maplen);
	memset(t, 0, sizeof(*t));
}

static uint32_t
hash(const struct lim_table *t, const struct lim_key *k)
{
	uint64_t	x = 0;
	uint32_t	w;
	int		i;

	for (i = 0; i < 4; i++) {
		memcpy(&w, &k->b[i * 4], 4);
		x = (x ^ (w ^ t->seed[i])) * 0x9e3779b97f4a7c15ULL;
		x ^= x >> 29;
	}
	return (uint32_t)(x >> 32) & (t->nbuckets - 1);
}

/*
 * Entry i (index + 1), or the private scratch entry when i is out of
 * range: the operation goes on harmlessly and is then failed as corrupt.
 */
static struct lim_entry *
ent(struct lim_table *t, uint32_t i)
{
	if (i == 0 || i > t->cap) {
		t->bad = 1;
		memset(&t->scratch, 0, sizeof(t->scratch));
		return &t->scratch;
	}
	return &t->e[i - 1];
}

static void
lru_unlink(struct lim_table *t, uint32_t i)
{
	struct lim_entry	*e = ent(t, i);

	if (e->prev)
		ent(t, e->prev)->next = e->next;
	else
		t->hdr->lru_head = e->next;
	if (e->next)
		ent(t, e->next)->prev = e->prev;
	else
		t->hdr->lru_tail = e->prev;
	e->prev = e->next = 0;
}

static void
lru_push(struct lim_table *t, uint32_t i)
{
	struct lim_entry	*e = ent(t, i);

	e->prev = 0;
	e->next = t->hdr->lru_head;
	if (t->hdr->lru_head)
		ent(t, t->hdr->lru_head)->prev = i;
	t->hdr->lru_head = i;
	if (t->hdr->lru_tail == 0)
		t->hdr->lru_tail = i;
}

static void
hash_unlink(struct lim_table *t, uint32_t i)
{
	uint32_t	*pp = &t->hash[hash(t, &ent(t, i)->key)];
	uint32_t	 steps = 0;

	while (*pp != 0 && *pp != i && steps++ < t->cap)
		pp = &ent(t, *pp)->hnext;
	if (*pp != i) {
		t->bad = 1;
		return;
	}
	*pp = ent(t, i)->hnext;
}

/* The least recently seen entry without open connections, or 0. */
static uint32_t
evict(struct lim_table *t)
{
	uint32_t	i, steps = 0;

	for (i = t->hdr->lru_tail; i != 0 && !t->bad; i = ent(t, i)->prev) {
		if (steps++ >= t->cap) {
			t->bad = 1;
			return 0;
		}
		if (ent(t, i)->active == 0)
			break;
	}
	if (i == 0 || t->bad)
		return 0;
	lru_unlink(t, i);
	hash_unlink(t, i);
	t->hdr->n--;
	return i;
}

/* Values no operation writes: someone else did. */
static int
entry_sane(const struct lim_table *t, const struct lim_entry *e)
{
	int64_t	full = (int64_t)t->rate * t->period_ms;

	return e->active >= 0 && (uint32_t)e->active <= t->cap * 2u &&
	    e->bucket.tokens >= 0 && e->bucket.tokens <= full &&
	    e->bucket.last_ms >= 0 && e->logged_ms >= INT64_MIN / 2 &&
	    e->logged_ms <= INT64_MAX / 4;
}

static uint32_t
lookup(struct lim_table *t, const struct lim_key *k, int64_t now)
{
	struct lim_hdr		*h = t->hdr;
	struct lim_entry	*e;
	uint32_t		 b = hash(t, k), i, steps = 0;

	for (i = t->hash[b]; i != 0 && !t->bad; i = ent(t, i)->hnext) {
		if (steps++ >= t->cap)
			t->bad = 1;
		else if (memcmp(&ent(t, i)->key, k, sizeof(*k)) == 0) {
			if (!entry_sane(t, ent(t, i)))
				t->bad = 1;
			lru_unlink(t, i);
			lru_push(t, i);
			return t->bad ? 0 : i;
		}
	}
	if (t->bad)
		return 0;
	if ((i = h->free_head) != 0)
		h->free_head = ent(t, i)->hnext;
	else if ((i = evict(t)) == 0)
		return 0;
	e = ent(t, i);
	if (t->bad)
		return 0;
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->used = 1;
	/* A new source starts with a full bucket. */
	e->bucket.tokens = (int64_t)t->rate * t->period_ms;
	e->bucket.last_ms = now;
	e->logged_ms = INT64_MIN / 2;
	e->hnext = t->hash[b];
	t->hash[b] = i;
	lru_push(t, i);
	h->n++;
	return i;
}

/* Leave a corrupt table marked for the master, and say so. */
static enum lim_verdict
corrupt(struct lim_table *t)
{
	t->bad = 0;
	if (t->shared)
		__atomic_store_n(&t->hdr->corrupt, 1, __ATOMIC_RELAXED);
	else
		fatalx("limits: private table corrupt");
	return LIM_CORRUPT;
}

enum lim_verdict
lim_admit(struct lim_table *t, const struct lim_key *k, int64_t now,
    int *ticket, int *log_it)
{
	struct lim_entry	*e;
	enum lim_verdict	 v = LIM_OK;
	uint32_t		 i;

	*log_it = 0;
	if (t->hdr == NULL || (t->per_ip == 0 && t->rate == 0))
		return LIM_OK;
	if (lock(t) == -1) {
		*log_it = 1;
		return corrupt(t);
	}
	t->bad = 0;
	if ((i = lookup(t, k, now)) == 0) {
		v = t->bad ? corrupt(t) : LIM_FULL;
		unlock(t);
		*log_it = 1;
		return v;
	}
	e = &t->e[i - 1];
	/* Refused for --per-ip costs no token: it was never served. */
	if (t->per_ip > 0 && e->active >= t->per_ip)
		v = LIM_PER_IP;
	else if (!lim_bucket_take(&e->bucket, t->rate, t->period_ms, now))
		v = LIM_RATE;
	if (v == LIM_OK && t->per_ip > 0 && ticket != NULL) {
		e->active++;
		*ticket = (int)i;
	}
	if (v != LIM_OK && now - e->logged_ms >= LIM_LOG_EVERY_MS) {
		e->logged_ms = now;
		*log_it = 1;
	}
	unlock(t);
	return v;
}

/* Under the lock: give back *ticket.  0, or -1 (bad ticket, marked). */
static int
release_locked(struct lim_table *t, int *ticket)
{
	struct lim_entry	*e;

	if (*ticket < 0 || (uint32_t)*ticket > t->cap ||
	    (e = &t->e[*ticket - 1])->active <= 0) {
		*ticket = 0;
		(void)corrupt(t);
		return -1;
	}
	e->active--;
	*ticket = 0;
	return 0;
}

int
lim_release(struct lim_table *t, int *ticket)
{
	int	rc;

	if (t->hdr == NULL || *ticket == 0)
		return 0;
	if (lock(t) == -1) {
		*ticket = 0;
		(void)corrupt(t);
		return -1;
	}
	rc = release_locked(t, ticket);
	unlock(t);
	return rc;
}

int
lim_try_release(struct lim_table *t, int ticket, int64_t now)
{
	int	rc;

	if (t->hdr == NULL || ticket == 0)
		return 0;
	if ((rc = lock_master(t, now)) != 1)
		return rc == 0 ? 1 : -1;
	rc = release_locked(t, &ticket);
	unlock(t);
	return rc;
}

/* Free list and hash chains: each entry in exactly one, each in range. */
static int
verify_chains(struct lim_table *t, uint8_t *seen, uint32_t *nused)
{
	uint32_t	i, b, steps, nfree = 0;

	memset(seen, 0, t->cap);
	for (i = t->hdr->free_head, steps = 0; i != 0; i = t->e[i - 1].hnext) {
		if (i > t->cap || seen[i - 1] || steps++ >= t->cap)
			return -1;
		seen[i - 1] = 1;
		nfree++;
	}
	*nused = 0;
	for (b = 0; b < t->nbuckets; b++)
		for (i = t->hash[b]; i != 0; i = t->e[i - 1].hnext) {
			if (i > t->cap || seen[i - 1] ||
			    hash(t, &t->e[i - 1].key) != b ||
			    !entry_sane(t, &t->e[i - 1]))
				return -1;
			seen[i - 1] = 2;
			(*nused)++;
		}
	return nfree + *nused == t->cap && *nused == t->hdr->n ? 0 : -1;
}

/* The LRU list: exactly the entries in use, linked both ways. */
static int
verify_lru(struct lim_table *t, uint8_t *seen, uint32_t nused)
{
	uint32_t	i, prev = 0, n = 0;

	for (i = t->hdr->lru_head; i != 0; i = t->e[i - 1].next) {
		if (i > t->cap || seen[i - 1] != 2 ||
		    t->e[i - 1].prev != prev || n++ >= nused)
			return -1;
		seen[i - 1] = 3;
		prev = i;
	}
	return n == nused && t->hdr->lru_tail == prev ? 0 : -1;
}

int
lim_verify(struct lim_table *t, uint8_t *seen, int64_t now)
{
	uint32_t	nused;
	int		rc;

	if (t->hdr == NULL)
		return 0;
	if (__atomic_load_n(&t->hdr->corrupt, __ATOMIC_RELAXED))
		return -1;
	if ((rc = lock_master(t, now)) != 1)
		return rc == 0 ? 1 : -1;
	rc = verify_chains(t, seen, &nused) == 0 &&
	    verify_lru(t, seen, nused) == 0 ? 0 : -1;
	unlock(t);
	return rc;
}

size_t
lim_count(struct lim_table *t)
{
	size_t	n;

	if (lock(t) == -1)
		return 0;
	n = t->hdr->n;
	unlock(t);
	return n;
}

int
lim_active(struct lim_table *t, const struct lim_key *k)
{
	uint32_t	i, steps = 0;
	int		n = -1;

	if (lock(t) == -1)
		return -1;
	t->bad = 0;
	for (i = t->hash[hash(t, k)]; i != 0 && !t->bad &&
	    steps++ < t->cap; i = ent(t, i)->hnext)
		if (memcmp(&ent(t, i)->key, k, sizeof(*k)) == 0) {
			n = ent(t, i)->active;
			break;
		}
	t->bad = 0;
	unlock(t);
	return n;
}

const char *
lim_verdict_name(enum lim_verdict v)
{
	switch (v) {
	case LIM_OK:
		return "ok";
	case LIM_PER_IP:
		return "per-ip";
	case LIM_RATE:
		return "rate";
	case LIM_FULL:
		return "table full";
	case LIM_CORRUPT:
		return "shared table corrupt";
	}
	return "?";
}

/* ---- glue for the process models ---------------------------------- */

static struct limits	the_limits;

static int
map_counters(struct limits *l)
{
	void	*p;

	p = mmap(NULL, sizeof(struct shmstat), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	l->ctr = p;
	return 0;
}

/* issue #12: the fork children's ticket cells, all free. */
static int
cells_setup(struct limits *l)
{
	void	*p;
	size_t	 i;

	p = mmap(NULL, l->maxorphan * sizeof(*l->cell), PROT_READ |
	    PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	l->cell = p;
	if ((l->cell_epoch = reallocarray(NULL, l->maxorphan,
	    sizeof(*l->cell_epoch))) == NULL ||
	    (l->cell_free = reallocarray(NULL, l->maxorphan,
	    sizeof(*l->cell_free))) == NULL ||
	    (l->porphan = reallocarray(NULL, l->maxorphan,
	    sizeof(*l->porphan))) == NULL)
		return -1;
	for (i = 0; i < l->maxorphan; i++)
		l->cell_free[i] = (int)(l->maxorphan - 1 - i);
	l->ncell_free = l->maxorphan;
	return 0;
}

int
limits_setup(struct server *srv)
{
	struct limits	*l = &the_limits;
	size_t		 cap;

	if (srv->lim != NULL)
		return 0;
	free(l->seen);		/* set up again (tests): nothing leaks */
	free(l->orphan);
	free(l->porphan);
	free(l->cell_epoch);
	free(l->cell_free);
	if (l->cell != NULL)
		(void)munmap(l->cell, l->maxorphan * sizeof(*l->cell));
	memset(l, 0, sizeof(*l));
	if (map_counters(l) == -1)
		return -1;
	l->per_ip = srv->opt->per_ip;
	l->rate = srv->opt->rate;
	if (l->per_ip > 0 || l->rate > 0) {
		/*
		 * Open connections are at most --max-children, so twice
		 * that (and at least 4096 sources for --rate's memory)
		 * always leaves an evictable entry.  ~80 bytes an entry.
		 */
		cap = (size_t)srv->opt->max_children * 2;
		if (cap < 4096)
			cap = 4096;
		if (lim_create(&l->conn, cap, l->per_ip, l->rate, 60000,
		    srv->opt->model == MODEL_PREFORK) == -1)
			return -1;
		/*
		 * issue #12: a fork-model child judges its PROXY header's
		 * source itself, in a table only the children share; the
		 * master's own stays private.
		 */
		if (srv->opt->model == MODEL_FORK && srv->opt->nproxy > 0 &&
		    lim_create(&l->proxied, cap, l->per_ip, l->rate, 60000,
		    1) == -1)
			return -1;
		/* The master's private scratch, made now, not while serving. */
		l->maxorphan = (size_t)srv->opt->max_children + 1;
		if ((l->conn.shared || l->proxied.hdr != NULL) &&
		    (l->seen = malloc(cap)) == NULL)
			return -1;
		if (l->conn.shared && (l->orphan = reallocarray(NULL,
		    l->maxorphan, sizeof(*l->orphan))) == NULL)
			return -1;
		if (l->proxied.hdr != NULL && cells_setup(l) == -1)
			return -1;
	}
	srv->lim = l;
	return 0;
}

/* At most LIM_LOG_BURST refusal lines a minute in all, across workers. */
static int
log_allowed(struct shmstat *c, int64_t now)
{
	int64_t	w = __atomic_load_n(&c->log_window_ms, __ATOMIC_RELAXED);

	if (now - w >= LIM_LOG_EVERY_MS &&
	    __atomic_compare_exchange_n(&c->log_window_ms, &w, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		__atomic_store_n(&c->refused_logged, 0, __ATOMIC_RELAXED);
	return __atomic_add_fetch(&c->refused_logged, 1, __ATOMIC_RELAXED) <=
	    LIM_LOG_BURST;
}

int
limits_log_allowed(const struct server *srv)
{
	return srv->lim == NULL || log_allowed(srv->lim->ctr, clock_ms());
}

/* One connection from sa, admitted in table t, or refused and counted. */
static int
admit(struct limits *l, struct lim_table *t, const struct sockaddr *sa,
    socklen_t len, int *ticket)
{
	struct lim_key		 k;
	enum lim_verdict	 v;
	int64_t			 now;
	int			 log_it;
	char			 src[INET6_ADDRSTRLEN + 8];

	if (t->hdr == NULL || lim_key_from_sa(sa, len, &k) == -1)
		return 0;
	now = clock_ms();
	if ((v = lim_admit(t, &k, now, ticket, &log_it)) == LIM_OK)
		return 0;
	SHMSTAT_ADD(l->ctr, refused, 1);
	if (v == LIM_PER_IP)
		SHMSTAT_ADD(l->ctr, refused_per_ip, 1);
	else if (v == LIM_RATE)
		SHMSTAT_ADD(l->ctr, refused_rate, 1);
	else	/* full, or corrupt until the master renews the table */
		SHMSTAT_ADD(l->ctr, refused_full, 1);
	if (log_it && log_allowed(l->ctr, now)) {
		lim_key_str(&k, src, sizeof(src));
		if (v == LIM_PER_IP)
			log_info("refused %s: --per-ip %d reached (further "
			    "refusals of this source unlogged for 60s)",
			    src, l->per_ip);
		else if (v == LIM_RATE)
			log_info("refused %s: --rate %d a minute reached "
			    "(further refusals of this source unlogged for "
			    "60s)", src, l->rate);
		else
			log_warnx("refused %s: limit %s", src,
			    lim_verdict_name(v));
	}
	return -1;
}

int
limits_admit(const struct server *srv, const struct sockaddr *sa,
    socklen_t len, int *ticket)
{
	*ticket = 0;
	if (srv->lim == NULL || sa == NULL ||
	    proxy_trusted(sa, len))	/* issue #12: judged after its header */
		return 0;
	return admit(srv->lim, &srv->lim->conn, sa, len, ticket);
}

void
limits_release(const struct server *srv, int *ticket)
{
	if (srv->lim != NULL && *ticket != 0)
		lim_release(&srv->lim->conn, ticket);
}

/* issue #12: the fork children's own table, if any, else the one. */
static struct lim_table *
proxied_table(struct limits *l)
{
	return l->proxied.hdr != NULL ? &l->proxied : &l->conn;
}

int
limits_admit_proxied(const struct server *srv, const struct sockaddr *sa,
    socklen_t len, int *ticket)
{
	*ticket = 0;
	if (srv->lim == NULL || sa == NULL || proxy_trusted(sa, len))
		return 0;
	return admit(srv->lim, proxied_table(srv->lim), sa, len, ticket);
}

void
limits_release_proxied(const struct server *srv, int *ticket)
{
	if (srv->lim != NULL && *ticket != 0)
		lim_release(proxied_table(srv->lim), ticket);
}

void
limits_count_accept_failed(const struct server *srv)
{
	if (srv->lim != NULL)
		SHMSTAT_ADD(srv->lim->ctr, accept_failed, 1);
}

void
limits_count_idle(const struct server *srv)
{
	if (srv->lim != NULL)
		SHMSTAT_ADD(srv->lim->ctr, idle_closed, 1);
}

/*
 * The counters folded into struct stats, in the order of the array that
 * renewal's base and the master's belief are kept in (not the
 * refused_logged limiter, nor the log window).
 */
#define OFF(f)	offsetof(struct shmstat, f)
static const size_t	counter_off[] = {
	OFF(refused), OFF(refused_per_ip), OFF(refused_rate),
	OFF(refused_full), OFF(idle_closed),
	OFF(udp_in), OFF(udp_out), OFF(udp_dropped), OFF(udp_dropped_port),
	OFF(udp_dropped_addr), OFF(udp_dropped_rate), OFF(udp_dropped_size),
	OFF(udp_dropped_send),
	OFF(refused_rule), OFF(udp_dropped_rule),	/* issue #12 */
	OFF(proxy_bad),
	OFF(accept_failed),
};
#undef OFF
_Static_assert(sizeof(counter_off) / sizeof(counter_off[0]) ==
    SHMSTAT_NCOUNT, "counter_off[] and SHMSTAT_NCOUNT disagree");

static void
counters_get(const struct shmstat *c, uint64_t v[SHMSTAT_NCOUNT])
{
	size_t	 i;

	for (i = 0; i < SHMSTAT_NCOUNT; i++)
		v[i] = *(const volatile uint64_t *)(const void *)
		    ((const char *)c + counter_off[i]);
}

static void
counters_put(struct shmstat *c, const uint64_t v[SHMSTAT_NCOUNT])
{
	size_t	 i;

	for (i = 0; i < SHMSTAT_NCOUNT; i++)
		*(volatile uint64_t *)(void *)((char *)c + counter_off[i]) =
		    v[i];
}

/*
 * The master's view: base (pages thrown away) plus the live page as last
 * believed.  The page's numbers are only reported, never acted on, and
 * only believed while they move forward by plausible steps.
 */
void
limits_fold(const struct server *srv, struct stats *st)
{
	struct limits	*l = srv->lim;
	uint64_t	 b[SHMSTAT_NCOUNT], c[SHMSTAT_NCOUNT], s[SHMSTAT_NCOUNT];
	size_t		 i;
	int		 moved = 0;

	if (l == NULL)
		return;
	counters_get(&l->base, b);
	counters_get(&l->believed, s);
	counters_get(l->ctr, c);
	for (i = 0; i < SHMSTAT_NCOUNT; i++) {
		if (c[i] >= s[i] && c[i] - s[i] <= LIM_COUNTER_STEP) {
			moved |= c[i] != s[i];
			s[i] = c[i];
		} else
			l->ctr_bad = 1;
		c[i] = b[i] + s[i];
	}
	/*
	 * Written only when it moved: the master folds on every turn of
	 * its loop, and each page it writes after a fork stays behind in
	 * every child as a private copy (issue #10).
	 */
	if (moved)
		counters_put(&l->believed, s);
	st->refused = c[0];
	st->refused_per_ip = c[1];
	st->refused_rate = c[2];
	st->refused_full = c[3];
	st->idle_closed = c[4];
	st->udp_in = c[5];
	st->udp_out = c[6];
	st->udp_dropped = c[7];
	st->udp_dropped_port = c[8];
	st->udp_dropped_addr = c[9];
	st->udp_dropped_rate = c[10];
	st->udp_dropped_size = c[11] + c[12];
	st->refused_rule = c[13];		/* issue #12 */
	st->udp_dropped_rule = c[14];
	st->proxy_bad = c[15];
	/* The master's own (fork model) and the workers' (prefork). */
	st->accept_failed = st->accept_failed_master + c[16];
	/* udp_restarts is the master's own. */
}

/* ---- master side: trust nothing in the shared table (limit.h) ------ */

/* Queued releases, tried while the lock is free; -1: stuck or bad. */
static int
orphans_flush(struct lim_table *t, const int *q, size_t *n, int64_t now)
{
	int	rc;

	while (*n > 0) {
		rc = lim_try_release(t, q[*n - 1], now);
		if (rc == 1)
			return 0;
		if (rc == -1)
			return -1;
		(*n)--;
	}
	return 0;
}

int
limits_reaped(const struct server *srv, pid_t pid, int ticket)
{
	struct limits	*l = srv->lim;

	if (l == NULL || l->conn.hdr == NULL || !l->conn.shared)
		return 0;
	/* Died holding the lock: the table may be half-linked. */
	if (lim_held_by(&l->conn, pid))
		return -1;
	if (ticket == 0)
		return 0;
	if (ticket < 0 || (uint32_t)ticket > l->conn.cap ||
	    l->norphan >= l->maxorphan)
		return -1;
	l->orphan[l->norphan++] = ticket;
	return orphans_flush(&l->conn, l->orphan, &l->norphan, clock_ms());
}

int
limits_cell_take(const struct server *srv)
{
	struct limits	*l = srv->lim;
	int		 c;

	if (l == NULL || l->proxied.hdr == NULL || l->cell == NULL ||
	    l->ncell_free == 0)
		return -1;
	c = l->cell_free[--l->ncell_free];
	__atomic_store_n(&l->cell[c], 0, __ATOMIC_RELAXED);
	l->cell_epoch[c] = l->epoch;
	return c;
}

int *
limits_cell(const struct server *srv, int c)
{
	struct limits	*l = srv->lim;

	if (l == NULL || l->cell == NULL || c < 0 ||
	    (size_t)c >= l->maxorphan)
		return NULL;
	return &l->cell[c];
}

/*
 * The cell's child is gone: give back the ticket it left there (read
 * once, bounds-checked by the release; a cell taken before the last
 * renewal names the old table and is forgotten), and free the cell.
 */
int
limits_cell_reaped(const struct server *srv, int c, pid_t pid)
{
	struct limits	*l = srv->lim;
	int		 ticket;

	if (l == NULL || l->cell == NULL || c < 0 ||
	    (size_t)c >= l->maxorphan || l->ncell_free >= l->maxorphan)
		return 0;
	ticket = __atomic_exchange_n(&l->cell[c], 0, __ATOMIC_ACQ_REL);
	l->cell_free[l->ncell_free++] = c;
	if (l->cell_epoch[c] != l->epoch)
		return 0;
	/* Died holding the lock: the table may be half-linked. */
	if (lim_held_by(&l->proxied, pid) ||
	    (ticket != 0 && (ticket < 0 || (uint32_t)ticket > l->proxied.cap ||
	    l->nporphan >= l->maxorphan))) {
		l->proxied_bad = 1;
		return -1;
	}
	if (ticket != 0)
		l->porphan[l->nporphan++] = ticket;
	if (orphans_flush(&l->proxied, l->porphan, &l->nporphan,
	    clock_ms()) == -1) {
		l->proxied_bad = 1;
		return -1;
	}
	return 0;
}

int
limits_check(const struct server *srv)
{
	struct limits	*l = srv->lim;
	int64_t		 now = clock_ms();
	int		 rc;

	if (l == NULL)
		return 0;
	if (l->ctr_bad || l->proxied_bad)
		return -1;
	if (l->conn.hdr != NULL && l->conn.shared) {
		if (orphans_flush(&l->conn, l->orphan, &l->norphan, now) == -1)
			return -1;
		if ((rc = lim_verify(&l->conn, l->seen, now)) == -1)
			return -1;
	}
	if (l->proxied.hdr != NULL) {
		if (orphans_flush(&l->proxied, l->porphan, &l->nporphan,
		    now) == -1)
			return -1;
		if ((rc = lim_verify(&l->proxied, l->seen, now)) == -1)
			return -1;
	}
	return 0;			/* 1, busy: look again next time */
}

/* An empty shared table of t's geometry (none if t has no table). */
static int
fresh_table(const struct lim_table *t, struct lim_table *out)
{
	out->hdr = NULL;
	if (t == NULL || t->hdr == NULL)
		return 0;
	return lim_create(out, t->cap, t->per_ip, t->rate, t->period_ms, 1);
}

int
limits_renew(const struct server *srv)
{
	struct limits		*l = srv->lim;
	struct lim_table	 fresh, pfresh;
	struct stats		 last;
	struct shmstat		*old = l != NULL ? l->ctr : NULL;
	uint64_t		 b[SHMSTAT_NCOUNT], c[SHMSTAT_NCOUNT];
	size_t			 i;

	if (l == NULL)
		return 0;
	limits_fold(srv, &last);	/* believe what can be, from the old page */
	/* The fork model's own table is private: it stays. */
	if (fresh_table(l->conn.shared ? &l->conn : NULL, &fresh) == -1)
		return -1;
	if (fresh_table(&l->proxied, &pfresh) == -1 ||
	    map_counters(l) == -1) {
		if (fresh.hdr != NULL)
			lim_destroy(&fresh);
		if (pfresh.hdr != NULL)
			lim_destroy(&pfresh);
		l->ctr = old;
		return -1;
	}
	/* The old page's believed totals go on counting. */
	counters_get(&l->base, b);
	counters_get(&l->believed, c);
	for (i = 0; i < SHMSTAT_NCOUNT; i++)
		b[i] += c[i];
	counters_put(&l->base, b);
	memset(&l->believed, 0, sizeof(l->believed));
	l->ctr_bad = 0;
	(void)munmap(old, sizeof(*old));
	/* Old workers and children keep their mappings; ours go. */
	if (fresh.hdr != NULL) {
		lim_destroy(&l->conn);
		l->conn = fresh;
		l->norphan = 0;		/* they were the old table's */
	}
	if (pfresh.hdr != NULL) {
		lim_destroy(&l->proxied);
		l->proxied = pfresh;
		l->nporphan = 0;	/* cells taken before: see cell_epoch */
	}
	l->proxied_bad = 0;
	l->epoch++;
	return 0;
}

unsigned
limits_epoch(const struct server *srv)
{
	return srv->lim != NULL ? srv->lim->epoch : 0;
}
