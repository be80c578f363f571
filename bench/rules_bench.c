/*
 * rules_bench.c: the cost of one rules lookup (issue #12) for 10, 1,000
 * and 100,000 rules, in ns, against a first-match linear scan (what
 * O(rules) would cost).  `make bench` prints it; so does
 * `make bench/rules_bench && bench/rules_bench`.
 *
 * Two probe sets: "mixed" (random rules of /8../32 and /16../128,
 * probes half inside a rule, half random) and "deepest" (every rule a
 * /32 or /128 and every probe one of them: the longest walk, 32 or 128
 * steps, for every table size).  The walk is bounded by the address
 * length whatever the count; what still grows with the count is cache
 * misses (10 rules live in L1, 100,000 in ~25 MB), not steps.
 * Times are the thread's CPU time, so other load on the machine counts
 * less (cache pollution by it still shows).
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rules.h"

#define LOOKUPS	1000000
#define NPROBE	4096

static uint64_t	rng = 88172645463325252ULL;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
rand_addr(uint8_t *a, size_t n)
{
	size_t		i;
	uint64_t	v = 0;

	for (i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = next();
		a[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

static double
now_ns(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct probe {
	uint8_t	a[16];
	int	family;
};

static struct rule_cidr	*all;	/* for the linear scan */
static volatile long	 sink;	/* keeps the scan from being optimised out */

static int
covers(const struct rule_cidr *c, int family, const uint8_t *a)
{
	int	full = c->plen / 8, rest = c->plen % 8;

	if (c->family != family || memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((c->addr[full] ^ a[full]) &
	    (0xff << (8 - rest))) == 0;
}

/* ns per lookup; *lin: ns per linear first-match scan. */
static double
run(size_t nrules, int deepest, size_t *nodes, double *lin)
{
	struct rules		 r;
	struct rule_cidr	 c;
	struct probe		*pr;
	size_t			 i, j, nlin;
	double			 t0;
	long			 w, hits = 0;

	rules_init(&r);
	if ((pr = calloc(NPROBE, sizeof(*pr))) == NULL ||
	    (all = reallocarray(all, nrules, sizeof(*all))) == NULL)
		abort();
	for (i = 0; i < nrules; i++) {
		memset(&c, 0, sizeof(c));
		c.family = i % 4 == 3 ? AF_INET6 : AF_INET;
		rand_addr(c.addr, c.family == AF_INET ? 4 : 16);
		if (deepest)
			c.plen = c.family == AF_INET ? 32 : 128;
		else
			c.plen = c.family == AF_INET ? 8 + (int)(next() % 25) :
			    16 + (int)(next() % 113);
		if (rules_add(&r, next() % 2 ? RULE_ALLOW : RULE_DENY, &c) ==
		    -1)
			abort();
		all[i] = c;
	}
	if (rules_compact(&r) == -1)
		abort();
	for (i = 0; i < NPROBE; i++) {
		if (deepest || i % 2 == 0) {
			c = all[next() % nrules];
			memcpy(pr[i].a, c.addr, 16);
			pr[i].family = c.family;
		} else {
			pr[i].family = i % 4 == 3 ? AF_INET6 : AF_INET;
			rand_addr(pr[i].a, 16);
		}
	}
	t0 = now_ns();
	for (i = 0; i < LOOKUPS; i++) {
		const struct probe *p = &pr[(i * 2654435761u) % NPROBE];

		(void)rules_match_addr(&r, p->family, p->a, &w);
		hits += w >= 0;
	}
	*lin = 0;
	*nodes = r.npn;
	t0 = (now_ns() - t0) / LOOKUPS;
	/* The same probes through a scan of the rules in order. */
	nlin = nrules > 1000 ? 200 : 20000;
	*lin = now_ns();
	for (i = 0; i < nlin; i++) {
		const struct probe *p = &pr[(i * 2654435761u) % NPROBE];

		for (j = 0; j < nrules; j++)
			if (covers(&all[j], p->family, p->a))
				break;
		sink = (long)j;
		hits += j < nrules;
	}
	*lin = (now_ns() - *lin) / (double)nlin;
	sink = hits;
	rules_free(&r);
	free(pr);
	return t0;
}

int
main(void)
{
	static const size_t	 counts[] = { 10, 1000, 100000 };
	size_t			 i, nodes;
	double			 ns[3], lin;
	int			 deepest;

	for (deepest = 0; deepest < 2; deepest++) {
		for (i = 0; i < 3; i++) {
			ns[i] = run(counts[i], deepest, &nodes, &lin);
			(void)printf("rules_bench: %-7s %6zu rules (%7zu "
			    "nodes): trie %6.1f ns/lookup, linear scan "
			    "%10.1f ns\n", deepest ? "deepest" : "mixed",
			    counts[i], nodes, ns[i], lin);
		}
		(void)printf("rules_bench: %-7s trie 100000 rules / 10 rules: "
		    "%.1f×\n", deepest ? "deepest" : "mixed", ns[2] / ns[0]);
	}
	free(all);
	return 0;
}
