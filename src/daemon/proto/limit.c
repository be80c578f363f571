/*
 * limit.c: per-source limits and the shared counters (see limit.h).
 *
 * Cost: one hash lookup (a keyed mix of four words, so a client cannot
 * choose addresses that collide) and a few list moves per connection or
 * datagram; eviction takes the LRU tail, skipping at most the entries
 * with open connections (fewer than --max-children).  Nothing here
 * allocates after lim_create().
 *
 * Error policy: a ticket that does not name a live entry is our own bug
 * and is fatalx; a full table is the client's problem (LIM_FULL).
 */
#include "config.h"

#include <sys/mman.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "limit.h"
#include "access.h"
#include "log.h"
#include "server.h"
#include "stats.h"

struct lim_hdr {
	pthread_mutex_t	lock;		/* only when shared */
	uint32_t	cap;
	uint32_t	nbuckets;	/* power of two */
	uint32_t	n;		/* entries in use */
	uint32_t	lru_head;	/* most recent: index + 1 */
	uint32_t	lru_tail;
	uint32_t	free_head;	/* unused entries, through hnext */
	uint32_t	seed[4];
	int		per_ip;
	int		rate;
	int64_t		period_ms;
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

/* ---- the table ----------------------------------------------------- */

static void
lock(struct lim_table *t)
{
	int	rc;

	if (!t->shared)
		return;
	rc = pthread_mutex_lock(&t->hdr->lock);
#ifdef __linux__
	/* A worker died holding it: the table is ours to carry on with. */
	if (rc == EOWNERDEAD)
		rc = pthread_mutex_consistent(&t->hdr->lock);
#endif
	if (rc != 0)
		fatalx("limits: lock: %s", strerror(rc));
}

static void
unlock(struct lim_table *t)
{
	if (t->shared)
		(void)pthread_mutex_unlock(&t->hdr->lock);
}

int
lim_create(struct lim_table *t, size_t cap, int per_ip, int rate,
    int64_t period_ms, int shared)
{
	struct lim_hdr	*h;
	size_t		 nb = 16, len, i;
	void		*p;

	memset(t, 0, sizeof(*t));
	if (cap < 2 || cap > (1u << 24)) {
		errno = EINVAL;
		return -1;
	}
	while (nb < cap)
		nb <<= 1;
	len = sizeof(*h) + nb * sizeof(uint32_t) + cap * sizeof(*t->e);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	t->maplen = len;
	t->hdr = h = p;
	t->hash = (uint32_t *)(h + 1);
	t->e = (struct lim_entry *)(t->hash + nb);
	t->shared = shared;
	h->cap = (uint32_t)cap;
	h->nbuckets = (uint32_t)nb;
	h->per_ip = per_ip;
	h->rate = rate;
	h->period_ms = period_ms;
	arc4random_buf(h->seed, sizeof(h->seed));
	for (i = 0; i < cap; i++)
		t->e[i].hnext = i + 1 < cap ? (uint32_t)(i + 2) : 0;
	h->free_head = 1;
	if (shared) {
		pthread_mutexattr_t	a;

		if (pthread_mutexattr_init(&a) != 0 ||
		    pthread_mutexattr_setpshared(&a,
		    PTHREAD_PROCESS_SHARED) != 0)
			goto fail;
#ifdef __linux__
		if (pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0)
			goto fail;
#endif
		if (pthread_mutex_init(&h->lock, &a) != 0)
			goto fail;
		(void)pthread_mutexattr_destroy(&a);
	}
	return 0;
fail:
	(void)munmap(p, len);
	memset(t, 0, sizeof(*t));
	errno = ENOMEM;
	return -1;
}

void
lim_destroy(struct lim_table *t)
{
	if (t->hdr != NULL)
		(void)munmap(t->hdr, t->maplen);
	memset(t, 0, sizeof(*t));
}

static uint32_t
hash(const struct lim_hdr *h, const struct lim_key *k)
{
	uint64_t	x = 0;
	uint32_t	w;
	int		i;

	for (i = 0; i < 4; i++) {
		memcpy(&w, &k->b[i * 4], 4);
		x = (x ^ (w ^ h->seed[i])) * 0x9e3779b97f4a7c15ULL;
		x ^= x >> 29;
	}
	return (uint32_t)(x >> 32) & (h->nbuckets - 1);
}

static void
lru_unlink(struct lim_table *t, uint32_t i)
{
	struct lim_entry	*e = &t->e[i - 1];

	if (e->prev)
		t->e[e->prev - 1].next = e->next;
	else
		t->hdr->lru_head = e->next;
	if (e->next)
		t->e[e->next - 1].prev = e->prev;
	else
		t->hdr->lru_tail = e->prev;
	e->prev = e->next = 0;
}

static void
lru_push(struct lim_table *t, uint32_t i)
{
	struct lim_entry	*e = &t->e[i - 1];

	e->prev = 0;
	e->next = t->hdr->lru_head;
	if (t->hdr->lru_head)
		t->e[t->hdr->lru_head - 1].prev = i;
	t->hdr->lru_head = i;
	if (t->hdr->lru_tail == 0)
		t->hdr->lru_tail = i;
}

static void
hash_unlink(struct lim_table *t, uint32_t i)
{
	uint32_t	*pp = &t->hash[hash(t->hdr, &t->e[i - 1].key)];

	while (*pp != 0 && *pp != i)
		pp = &t->e[*pp - 1].hnext;
	if (*pp != i)
		fatalx("limits: entry %u not in its chain", i);
	*pp = t->e[i - 1].hnext;
}

/* The least recently seen entry without open connections, or 0. */
static uint32_t
evict(struct lim_table *t)
{
	uint32_t	i;

	for (i = t->hdr->lru_tail; i != 0; i = t->e[i - 1].prev)
		if (t->e[i - 1].active == 0)
			break;
	if (i == 0)
		return 0;
	lru_unlink(t, i);
	hash_unlink(t, i);
	t->hdr->n--;
	return i;
}

static uint32_t
lookup(struct lim_table *t, const struct lim_key *k, int64_t now)
{
	struct lim_hdr		*h = t->hdr;
	struct lim_entry	*e;
	uint32_t		 b = hash(h, k), i;

	for (i = t->hash[b]; i != 0; i = t->e[i - 1].hnext)
		if (memcmp(&t->e[i - 1].key, k, sizeof(*k)) == 0) {
			lru_unlink(t, i);
			lru_push(t, i);
			return i;
		}
	if ((i = h->free_head) != 0)
		h->free_head = t->e[i - 1].hnext;
	else if ((i = evict(t)) == 0)
		return 0;
	e = &t->e[i - 1];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->used = 1;
	/* A new source starts with a full bucket. */
	e->bucket.tokens = (int64_t)h->rate * h->period_ms;
	e->bucket.last_ms = now;
	e->logged_ms = INT64_MIN / 2;
	e->hnext = t->hash[b];
	t->hash[b] = i;
	lru_push(t, i);
	h->n++;
	return i;
}

enum lim_verdict
lim_admit(struct lim_table *t, const struct lim_key *k, int64_t now,
    int *ticket, int *log_it)
{
	struct lim_hdr		*h = t->hdr;
	struct lim_entry	*e;
	enum lim_verdict	 v = LIM_OK;
	uint32_t		 i;

	*log_it = 0;
	if (h == NULL || (h->per_ip == 0 && h->rate == 0))
		return LIM_OK;
	lock(t);
	if ((i = lookup(t, k, now)) == 0) {
		unlock(t);
		*log_it = 1;
		return LIM_FULL;
	}
	e = &t->e[i - 1];
	/* Refused for --per-ip costs no token: it was never served. */
	if (h->per_ip > 0 && e->active >= h->per_ip)
		v = LIM_PER_IP;
	else if (!lim_bucket_take(&e->bucket, h->rate, h->period_ms, now))
		v = LIM_RATE;
	if (v == LIM_OK && h->per_ip > 0 && ticket != NULL) {
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

void
lim_release(struct lim_table *t, int *ticket)
{
	struct lim_entry	*e;

	if (t->hdr == NULL || *ticket == 0)
		return;
	lock(t);
	if (*ticket < 0 || (uint32_t)*ticket > t->hdr->cap ||
	    (e = &t->e[*ticket - 1])->active <= 0) {
		unlock(t);
		fatalx("limits: release of a bad ticket %d", *ticket);
	}
	e->active--;
	*ticket = 0;
	unlock(t);
}

size_t
lim_count(struct lim_table *t)
{
	size_t	n;

	lock(t);
	n = t->hdr->n;
	unlock(t);
	return n;
}

int
lim_active(struct lim_table *t, const struct lim_key *k)
{
	uint32_t	i;
	int		n = -1;

	lock(t);
	for (i = t->hash[hash(t->hdr, k)]; i != 0; i = t->e[i - 1].hnext)
		if (memcmp(&t->e[i - 1].key, k, sizeof(*k)) == 0) {
			n = t->e[i - 1].active;
			break;
		}
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
	}
	return "?";
}

/* ---- glue for the process models ---------------------------------- */

static struct limits	the_limits;

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
limits_setup(struct server *srv)
{
	struct limits	*l = &the_limits;
	size_t		 cap;
	void		*p;

	if (srv->lim != NULL)
		return 0;
	memset(l, 0, sizeof(*l));
	p = mmap(NULL, sizeof(struct shmstat), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	l->ctr = p;
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
		    srv->opt->model == MODEL_PREFORK ||
		    srv->opt->nproxy > 0) == -1)	/* #12: proxy_child admits */
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
	return srv->lim == NULL || log_allowed(srv->lim->ctr, mono_ms());
}

int
limits_admit(const struct server *srv, const struct sockaddr *sa,
    socklen_t len, int *ticket)
{
	struct limits		*l = srv->lim;
	struct lim_key		 k;
	enum lim_verdict	 v;
	int64_t			 now;
	int			 log_it;
	char			 src[INET6_ADDRSTRLEN + 8];

	*ticket = 0;
	if (l == NULL || l->conn.hdr == NULL || sa == NULL ||
	    proxy_trusted(sa, len) ||	/* issue #12: judged after its header */
	    lim_key_from_sa(sa, len, &k) == -1)
		return 0;
	now = mono_ms();
	if ((v = lim_admit(&l->conn, &k, now, ticket, &log_it)) == LIM_OK)
		return 0;
	SHMSTAT_ADD(l->ctr, refused, 1);
	if (v == LIM_PER_IP)
		SHMSTAT_ADD(l->ctr, refused_per_ip, 1);
	else if (v == LIM_RATE)
		SHMSTAT_ADD(l->ctr, refused_rate, 1);
	else
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
			log_warnx("refused %s: limit table full", src);
	}
	return -1;
}

void
limits_release(const struct server *srv, int *ticket)
{
	if (srv->lim != NULL && *ticket != 0)
		lim_release(&srv->lim->conn, ticket);
}

void
limits_count_idle(const struct server *srv)
{
	if (srv->lim != NULL)
		SHMSTAT_ADD(srv->lim->ctr, idle_closed, 1);
}

void
limits_fold(const struct server *srv, struct stats *st)
{
	const struct shmstat	*c;

	if (srv->lim == NULL)
		return;
	c = srv->lim->ctr;
	st->refused = c->refused;
	st->refused_per_ip = c->refused_per_ip;
	st->refused_rate = c->refused_rate;
	st->refused_full = c->refused_full;
	st->idle_closed = c->idle_closed;
	st->udp_in = c->udp_in;
	st->udp_out = c->udp_out;
	st->udp_dropped = c->udp_dropped;
	st->udp_dropped_port = c->udp_dropped_port;
	st->udp_dropped_addr = c->udp_dropped_addr;
	st->udp_dropped_rate = c->udp_dropped_rate;
	st->udp_dropped_size = c->udp_dropped_size + c->udp_dropped_send;
	st->refused_rule = c->refused_rule;		/* issue #12 */
	st->udp_dropped_rule = c->udp_dropped_rule;
	st->proxy_bad = c->proxy_bad;
	/* udp_restarts is the master's own. */
}
