/*
 * rules.c: CIDR parsing, the rules tries and the rules-file parser (see
 * rules.h for the interface and the first-match argument).
 *
 * Building uses a plain binary trie, one array of nodes (indices, not
 * pointers, so a table is cheap to free, grow and roll back): easy to
 * insert into and to undo.  Lookups on it cost one dependent memory
 * access a bit, and a big table misses the cache on each, so
 * rules_compact() rebuilds it path-compressed (a node only where a rule
 * ends or two paths fork: at most 2 per rule) and, for 256 rules or
 * more, adds a directory on the first 16 bits of each family.  100,000
 * random rules then cost about as much per lookup as 10
 * (bench/rules_bench.c).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numparse.h"
#include "rules.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
rules_cidr_parse(const char *s, struct rule_cidr *c, char *err, size_t errlen)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash, *errstr;
	size_t		 hlen;
	long long	 v;
	int		 max;

	memset(c, 0, sizeof(*c));
	slash = strchr(s, '/');
	hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host)) {
		(void)snprintf(err, errlen, "\"%s\" is not an address or CIDR",
		    s);
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else {
		(void)snprintf(err, errlen, "\"%s\" is not an IPv4 or IPv6 "
		    "address", host);
		return -1;
	}
	c->plen = max;
	if (slash != NULL) {
		if (slash[1 + strspn(slash + 1, "0123456789")] != '\0')
			errstr = "not a number";
		else if (num_parse(slash + 1, 0, max, &v, &errstr) == 0)
			errstr = NULL;
		if (errstr != NULL) {
			(void)snprintf(err, errlen, "prefix length \"%s\" in "
			    "\"%s\" is %s (0 to %d)", slash + 1, s, errstr,
			    max);
			return -1;
		}
		c->plen = (int)v;
	}
	/* ::ffff:a.b.c.d/96+n is the IPv4 rule a.b.c.d/n. */
	if (c->family == AF_INET6 && c->plen >= 96 &&
	    memcmp(c->addr, v4mapped, 12) == 0) {
		memmove(c->addr, c->addr + 12, 4);
		memset(c->addr + 4, 0, 12);
		c->family = AF_INET;
		c->plen -= 96;
	}
	return 0;
}

void
rules_init(struct rules *r)
{
	memset(r, 0, sizeof(*r));
}

void
rules_free(struct rules *r)
{
	free(r->node);
	free(r->pn);
	free(r->dir);
	free(r->verdict);
	rules_init(r);
}

static uint32_t	pn_lookup(const struct rules *, int, const uint8_t *, int);
static int	dir_build(struct rules *);

static int
bit(const uint8_t *a, int i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Room for n more nodes and one more rule, or -1 with nothing changed. */
static int
reserve(struct rules *r, size_t n)
{
	void	*p;
	size_t	 cap;

	if (r->nnode + n > r->cap) {
		cap = r->cap == 0 ? 256 : r->cap;
		while (cap < r->nnode + n)
			cap *= 2;
		if ((p = reallocarray(r->node, cap, sizeof(*r->node))) == NULL)
			return -1;
		r->node = p;
		r->cap = cap;
	}
	if (r->nrules + 1 > r->vcap) {
		cap = r->vcap == 0 ? 64 : r->vcap * 2;
		if ((p = reallocarray(r->verdict, cap, 1)) == NULL)
			return -1;
		r->verdict = p;
		r->vcap = cap;
	}
	return 0;
}

int
rules_add(struct rules *r, enum rule_verdict v, const struct rule_cidr *c)
{
	uint32_t	 cur;
	int		 i, b;

	if (r->pn != NULL) {
		errno = EBUSY;		/* compacted: frozen */
		return -1;
	}
	if (r->nrules >= UINT32_MAX - 1 || (c->family != AF_INET &&
	    c->family != AF_INET6) || c->plen < 0 ||
	    c->plen > (c->family == AF_INET ? 32 : 128)) {
		errno = EINVAL;
		return -1;
	}
	/* Both roots, then at most one node a bit: reserve it all first. */
	if (reserve(r, (size_t)c->plen + 2) == -1)
		return -1;
	if (r->nnode == 0) {
		memset(r->node, 0, 2 * sizeof(*r->node));
		r->nnode = 2;
	}
	cur = c->family == AF_INET ? 0 : 1;
	for (i = 0; i < c->plen; i++) {
		b = bit(c->addr, i);
		if (r->node[cur].child[b] == 0) {
			memset(&r->node[r->nnode], 0, sizeof(*r->node));
			r->node[cur].child[b] = (uint32_t)++r->nnode;
		}
		cur = r->node[cur].child[b] - 1;
	}
	/* An earlier rule for the same prefix keeps precedence. */
	if (r->node[cur].rule == 0)
		r->node[cur].rule = (uint32_t)r->nrules + 1;
	r->verdict[r->nrules++] = (uint8_t)v;
	if (v == RULE_ALLOW)
		r->nallow++;
	return 0;
}

enum rule_verdict
rules_match_addr(const struct rules *r, int family, const uint8_t *a,
    long *which)
{
	uint32_t	 cur, best = 0, n;
	int		 i, len;

	if (which != NULL)
		*which = -1;
	if (r->nrules == 0)
		return RULE_ALLOW;
	if (family == AF_INET6 && memcmp(a, v4mapped, 12) == 0) {
		family = AF_INET;
		a += 12;
	}
	cur = family == AF_INET ? 0 : 1;
	len = family == AF_INET ? 32 : 128;
	if (r->pn != NULL) {
		best = pn_lookup(r, (int)cur, a, len);
		goto done;
	}
	for (i = 0;; i++) {
		n = r->node[cur].rule;
		if (n != 0 && (best == 0 || n < best))
			best = n;
		if (i == len || r->node[cur].child[bit(a, i)] == 0)
			break;
		cur = r->node[cur].child[bit(a, i)] - 1;
	}
done:
	if (best != 0) {
		if (which != NULL)
			*which = (long)best - 1;
		return (enum rule_verdict)r->verdict[best - 1];
	}
	return r->nallow > 0 ? RULE_DENY : RULE_ALLOW;
}

enum rule_verdict
rules_match(const struct rules *r, const struct sockaddr *sa, socklen_t len,
    long *which)
{
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return rules_match_addr(r, AF_INET, (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr, which);
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return rules_match_addr(r, AF_INET6, (const uint8_t *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, which);
	if (which != NULL)
		*which = -1;
	return RULE_ALLOW;	/* UNIX-socket peers: not subject to rules */
}

/* Bit i (0: the most significant) of a 128-bit key set to v. */
static void
key_set(uint64_t *k, int i, int v)
{
	if (v)
		k[i >> 6] |= (uint64_t)1 << (63 - (i & 63));
}

/*
 * Copy the binary subtree at o (depth d, path key k) into r->pn as pnode
 * index pi: follow one-child chains without rules down to the next node
 * that ends a rule or forks, and make that the child.
 */
static void
pn_build(struct rules *r, uint32_t o, int d, const uint64_t *k, size_t pi)
{
	struct rule_pnode	*p = &r->pn[pi];
	uint64_t		 ck[2];
	uint32_t		 c;
	int			 b, cd;

	p->key[0] = k[0];
	p->key[1] = k[1];
	p->plen = (uint32_t)d;
	p->rule = r->node[o].rule;
	for (b = 0; b < 2; b++) {
		if ((c = r->node[o].child[b]) == 0)
			continue;
		ck[0] = k[0];
		ck[1] = k[1];
		key_set(ck, d, b);
		c--;
		cd = d + 1;
		while (r->node[c].rule == 0 && (r->node[c].child[0] == 0) !=
		    (r->node[c].child[1] == 0)) {
			int cb = r->node[c].child[1] != 0;

			key_set(ck, cd++, cb);
			c = r->node[c].child[cb] - 1;
		}
		r->pn[pi].child[b] = (uint32_t)++r->npn;
		memset(&r->pn[r->npn - 1], 0, sizeof(*r->pn));
		pn_build(r, c, cd, ck, r->npn - 1);
	}
}

int
rules_compact(struct rules *r)
{
	static const uint64_t	zero[2];

	if (r->pn != NULL)
		return 0;
	/* At most one pnode per rule end and per fork: 2 * rules + roots. */
	if ((r->pn = reallocarray(NULL, 2 * r->nrules + 2,
	    sizeof(*r->pn))) == NULL)
		return -1;
	memset(r->pn, 0, 2 * sizeof(*r->pn));
	r->npn = 2;
	if (r->nnode > 0) {
		pn_build(r, 0, 0, zero, 0);
		pn_build(r, 1, 0, zero, 1);
	}
	if (r->nrules >= RULES_DIR_MIN && dir_build(r) == -1) {
		free(r->pn);
		r->pn = NULL;
		r->npn = 0;
		return -1;
	}
	free(r->node);
	r->node = NULL;
	r->nnode = r->cap = 0;
	return 0;
}

/* Does a (as a 128-bit key) start with p's plen bits? */
static int
pn_match(const struct rule_pnode *p, const uint64_t *a)
{
	uint64_t	m;

	if (p->plen == 0)
		return 1;
	if (p->plen <= 64) {
		m = p->plen == 64 ? ~(uint64_t)0 :
		    ~(~(uint64_t)0 >> p->plen);
		return ((a[0] ^ p->key[0]) & m) == 0;
	}
	if (a[0] != p->key[0])
		return 0;
	m = p->plen == 128 ? ~(uint64_t)0 : ~(~(uint64_t)0 >> (p->plen - 64));
	return ((a[1] ^ p->key[1]) & m) == 0;
}

/* Walk from pnode cur with the lowest rule so far best. */
static uint32_t
pn_walk(const struct rules *r, uint32_t cur, uint32_t best,
    const uint64_t *k, int len)
{
	const struct rule_pnode	*p;
	int			 b;

	for (;;) {
		p = &r->pn[cur];
		if (!pn_match(p, k))
			break;
		if (p->rule != 0 && (best == 0 || p->rule < best))
			best = p->rule;
		if ((int)p->plen >= len)
			break;
		b = (int)(k[p->plen >> 6] >> (63 - (p->plen & 63))) & 1;
		if (p->child[b] == 0)
			break;
		cur = p->child[b] - 1;
	}
	return best;
}

static uint32_t
pn_lookup(const struct rules *r, int v6, const uint8_t *a, int len)
{
	const struct rule_dir	*d;
	uint64_t		 k[2] = { 0, 0 };
	int			 i;

	for (i = 0; i < len / 8; i++)
		k[i >> 3] |= (uint64_t)a[i] << (56 - 8 * (i & 7));
	if (r->dir != NULL) {
		/* The first 16 bits in one step: where to go on, and the
		 * best rule on the way there. */
		d = &r->dir[(v6 ? RULES_DIR_SIZE : 0) +
		    (((unsigned int)a[0] << 8) | a[1])];
		return d->node == 0 ? d->rule :
		    pn_walk(r, d->node - 1, d->rule, k, len);
	}
	return pn_walk(r, (uint32_t)v6, 0, k, len);
}

/*
 * The directory, for large tables: for each family and each value of
 * the first 16 bits, the lowest rule of the prefixes shorter than 16 bits that
 * contain it, and the first node of 16 bits or more to go on from.  It
 * saves the walk's first levels, the ones a big table spreads widest.
 */
static int
dir_build(struct rules *r)
{
	const struct rule_pnode	*p;
	uint64_t		 k[2];
	struct rule_dir		*d;
	uint32_t		 i, cur, best;
	int			 b;

	if ((r->dir = reallocarray(NULL, 2 * RULES_DIR_SIZE,
	    sizeof(*r->dir))) == NULL)
		return -1;
	for (i = 0; i < 2 * RULES_DIR_SIZE; i++) {
		d = &r->dir[i];
		k[0] = (uint64_t)(i % RULES_DIR_SIZE) << 48;
		k[1] = 0;
		cur = i / RULES_DIR_SIZE;	/* the family's root */
		best = 0;
		d->node = 0;
		for (;;) {
			p = &r->pn[cur];
			if (p->plen >= 16) {
				d->node = cur + 1;
				break;
			}
			if (!pn_match(p, k))
				break;
			if (p->rule != 0 && (best == 0 || p->rule < best))
				best = p->rule;
			b = (int)(k[0] >> (63 - p->plen)) & 1;
			if (p->child[b] == 0)
				break;
			cur = p->child[b] - 1;
		}
		d->rule = best;
	}
	return 0;
}

/* Undo every rule from index nrules and node from nnode on. */
static void
truncate_to(struct rules *r, size_t nnode, size_t nrules, size_t nallow)
{
	size_t	i;
	int	b;

	if (r->pn != NULL)
		return;			/* frozen: nothing was added */
	if (nnode == 0) {
		r->nnode = r->nrules = r->nallow = 0;
		return;
	}
	for (i = 0; i < nnode; i++) {
		for (b = 0; b < 2; b++)
			if (r->node[i].child[b] > nnode)
				r->node[i].child[b] = 0;
		if (r->node[i].rule > nrules)
			r->node[i].rule = 0;
	}
	r->nnode = nnode;
	r->nrules = nrules;
	r->nallow = nallow;
}

/* One line without its newline: 0 done (rule added or nothing), -1 err. */
static int
load_line(struct rules *r, char *s, char *what, size_t wlen)
{
	struct rule_cidr	 c;
	enum rule_verdict	 v;
	char			*word, *arg, *rest, *hash;

	if ((hash = strchr(s, '#')) != NULL)
		*hash = '\0';
	word = s + strspn(s, " \t\r");
	if (*word == '\0')
		return 0;
	arg = word + strcspn(word, " \t\r");
	if (*arg != '\0')
		*arg++ = '\0';
	arg += strspn(arg, " \t\r");
	rest = arg + strcspn(arg, " \t\r");
	if (*rest != '\0')
		*rest++ = '\0';
	rest += strspn(rest, " \t\r");
	if (strcmp(word, "allow") == 0)
		v = RULE_ALLOW;
	else if (strcmp(word, "deny") == 0)
		v = RULE_DENY;
	else {
		(void)snprintf(what, wlen, "unknown word \"%.64s\" (allow or "
		    "deny)", word);
		return -1;
	}
	if (*arg == '\0') {
		(void)snprintf(what, wlen, "%s: no address", word);
		return -1;
	}
	if (*rest != '\0') {
		(void)snprintf(what, wlen, "unexpected \"%.64s\" after the "
		    "address", rest);
		return -1;
	}
	if (rules_cidr_parse(arg, &c, what, wlen) == -1)
		return -1;
	if (rules_add(r, v, &c) == -1) {
		(void)snprintf(what, wlen, "%s", strerror(errno));
		return -1;
	}
	return 0;
}

int
rules_load_buf(struct rules *r, const char *buf, size_t n, const char *name,
    char *err, size_t errlen)
{
	char		 line[RULES_LINE_MAX + 1], what[256];
	size_t		 nnode = r->nnode, nrules = r->nrules;
	size_t		 nallow = r->nallow, i = 0, ll;
	const char	*nl;
	long		 lineno = 0;

	while (i < n) {
		lineno++;
		nl = memchr(buf + i, '\n', n - i);
		ll = nl != NULL ? (size_t)(nl - (buf + i)) : n - i;
		if (ll > RULES_LINE_MAX) {
			(void)snprintf(what, sizeof(what), "line longer than "
			    "%d bytes", RULES_LINE_MAX);
			goto bad;
		}
		memcpy(line, buf + i, ll);
		line[ll] = '\0';
		if (memchr(line, '\0', ll) != NULL) {
			(void)snprintf(what, sizeof(what), "a NUL byte");
			goto bad;
		}
		if (load_line(r, line, what, sizeof(what)) == -1)
			goto bad;
		i += ll + 1;
	}
	return 0;
bad:
	truncate_to(r, nnode, nrules, nallow);
	(void)snprintf(err, errlen, "%s:%ld: %s", name, lineno, what);
	return -1;
}

int
rules_load_file(struct rules *r, const char *path, char *err, size_t errlen)
{
	char	*buf = NULL, *p;
	size_t	 n = 0, cap = 0;
	ssize_t	 got;
	int	 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s:0: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if ((p = realloc(buf, cap)) == NULL) {
				(void)snprintf(err, errlen, "%s:0: %s", path,
				    strerror(errno));
				rv = -1;
				goto out;
			}
			buf = p;
		}
		if ((got = read(fd, buf + n, cap - n)) == -1) {
			if (errno == EINTR)
				continue;
			(void)snprintf(err, errlen, "%s:0: %s", path,
			    strerror(errno));
			rv = -1;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	rv = rules_load_buf(r, buf, n, path, err, errlen);
out:
	free(buf);
	(void)close(fd);
	return rv;
}
