/*
 * rules.h: address rules (--allow, --deny, --rules=FILE; issue #12).
 *
 * A pure module: no logging, no globals, no signals.  A rule is a verdict
 * (allow or deny) and a CIDR: "10.0.0.0/8", "2001:db8::/32", or a bare
 * address (a /32 or a /128).  IPv4 and IPv6 live in two separate binary
 * tries, so "deny ::/0" never catches an IPv4 client; an IPv4-mapped
 * address (::ffff:a.b.c.d) is always looked up as the IPv4 address, and
 * a rule written as ::ffff:0:0/96 or longer is filed as the IPv4 rule.
 *
 * First match wins: every trie node that ends a prefix keeps the lowest
 * index of the rules that name that prefix; a lookup walks the address's
 * bits from the root (at most 32 or 128 steps, whatever the number of
 * rules) and keeps the lowest index seen on the way.  That is the rule
 * that comes first in order among all rules containing the address:
 * O(prefix length), never O(rules); rules_compact() then makes the
 * walk short in practice too.  No match: allowed, unless the table
 * holds at least one allow rule, then denied.
 *
 * Building: rules_add() appends in order (the command line's first, then
 * the file's).  rules_load_file() appends a whole file or nothing: on an
 * error it leaves the table as it was and writes "FILE:LINE: what" to
 * err.  Reloading is therefore: build a complete new table, and swap it
 * in only if it built (access.c does that).
 */
#ifndef ECHOD_RULES_H
#define ECHOD_RULES_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

enum rule_verdict {
	RULE_ALLOW,
	RULE_DENY
};

struct rule_cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* AF_INET: the first 4 bytes */
	int		plen;		/* prefix length, 0..32 or 0..128 */
};

struct rule_node {
	uint32_t	child[2];	/* node index + 1; 0: none */
	uint32_t	rule;		/* lowest rule index ending here + 1 */
};

/* rules_compact()'s form: a path-compressed (PATRICIA) trie. */
struct rule_pnode {
	uint64_t	key[2];		/* the prefix, big-endian bit order */
	uint32_t	child[2];	/* pnode index + 1; 0: none */
	uint32_t	rule;		/* lowest rule index ending here + 1 */
	uint32_t	plen;		/* bits of key that matter */
};

struct rule_dir {
	uint32_t	node;		/* pnode index + 1 to go on from; 0: stop */
	uint32_t	rule;		/* lowest rule index so far + 1 */
};

#define RULES_DIR_SIZE	65536	/* by the first 16 bits, per family */
#define RULES_DIR_MIN	256	/* smaller tables stay in cache anyway */

struct rules {
	struct rule_node *node;		/* node[0]: IPv4 root, node[1]: IPv6 */
	size_t		  nnode, cap;
	struct rule_pnode *pn;		/* compacted: pn[0] v4, pn[1] v6 */
	size_t		  npn;
	struct rule_dir	 *dir;		/* compacted, large: v4 then v6 */
	uint8_t		 *verdict;	/* by rule index */
	size_t		  nrules, vcap;
	size_t		  nallow;
};

#define RULES_LINE_MAX	512	/* a longer line in a file is an error */

int	rules_cidr_parse(const char *, struct rule_cidr *, char *, size_t);
void	rules_init(struct rules *);
void	rules_free(struct rules *);
/* Append one rule; -1 (errno ENOMEM) leaves the table as it was. */
int	rules_add(struct rules *, enum rule_verdict, const struct rule_cidr *);
/*
 * Once built: replace the binary trie by a path-compressed one (same
 * answers; a walk visits only nodes where rules end or paths fork, so
 * 100,000 rules cost about 17 steps, not up to 128).  The table is then
 * frozen: rules_add() fails with EBUSY.  -1 (ENOMEM): left as it was.
 */
int	rules_compact(struct rules *);
/* Append "allow CIDR"/"deny CIDR" lines; all or nothing. */
int	rules_load_buf(struct rules *, const char *, size_t, const char *,
	    char *, size_t);
int	rules_load_file(struct rules *, const char *, char *, size_t);
/*
 * The verdict for an address; *which (if not NULL) is the deciding
 * rule's index, -1 when none matched (the default decided).
 */
enum rule_verdict rules_match_addr(const struct rules *, int,
	    const uint8_t *, long *);
enum rule_verdict rules_match(const struct rules *, const struct sockaddr *,
	    socklen_t, long *);

#endif
