/*
 * access.c: the rules in force and the PROXY header read (see access.h).
 *
 * The tables are this module's statics: one process, one master, and
 * children inherit a copy when they fork (which is how a reload reaches
 * them; see access.h).  Counting goes to the shared counters page of
 * limit.h when there is one (not in inetd mode).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "addr.h"
#include "clock.h"
#include "limit.h"
#include "log.h"
#include "options.h"
#include "proxy.h"
#include "rules.h"
#include "server.h"

static struct rules	the_rules;	/* the rules in force */
static struct rules	proxies;	/* --proxy-from, all "allow" */
static char		peer_str[ADDR_STRLEN];	/* the header's source */

/* The command line's rules, then the file's, into a fresh table. */
static int
build(const struct options *o, struct rules *r, char *err, size_t errlen)
{
	struct rule_cidr	c;
	size_t			i;

	rules_init(r);
	for (i = 0; i < o->nrules; i++)
		if (rules_cidr_parse(o->rule_arg[i], &c, err, errlen) == -1 ||
		    rules_add(r, o->rule_allow[i] ? RULE_ALLOW : RULE_DENY,
		    &c) == -1)
			goto fail;
	if (o->rules_file != NULL &&
	    rules_load_file(r, o->rules_file, err, errlen) == -1)
		goto fail;
	if (rules_compact(r) == -1)
		goto fail;
	return 0;
fail:
	if (errno == ENOMEM)
		(void)snprintf(err, errlen, "rules: out of memory");
	rules_free(r);
	return -1;
}

int
access_setup(const struct options *o, char *err, size_t errlen)
{
	struct rule_cidr	c;
	size_t			i;

	rules_free(&proxies);
	for (i = 0; i < o->nproxy; i++)
		if (rules_cidr_parse(o->proxy_from[i], &c, err, errlen) == -1 ||
		    rules_add(&proxies, RULE_ALLOW, &c) == -1)
			return -1;
	rules_free(&the_rules);
	return build(o, &the_rules, err, errlen);
}

/* 1 if a new table is in force (the UDP worker must be replaced). */
int
access_reload(const struct options *o)
{
	struct rules	nr;
	char		err[512];

	if (o->rules_file == NULL)
		return 0;
	if (build(o, &nr, err, sizeof(err)) == -1) {
		log_warnx("rules not reloaded, the old ones stay: %s", err);
		return 0;
	}
	rules_free(&the_rules);
	the_rules = nr;
	log_info("rules reloaded from %s: %zu rules in force", o->rules_file,
	    the_rules.nrules);
	return 1;
}

/* The address alone: refusals name a host, not a connection. */
static void
host_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t blen)
{
	const void	*p = NULL;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		p = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6))
		p = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (p == NULL || inet_ntop(sa->sa_family, p, buf, (socklen_t)blen) ==
	    NULL)
		(void)strlcpy(buf, "?", blen);
}

/* 1 if the rules refuse sa: counted, logged within the global limit. */
static int
judge(const struct server *srv, const struct sockaddr *sa, socklen_t len)
{
	struct shmstat	*ctr = srv->lim != NULL ? srv->lim->ctr : NULL;
	char		 a[ADDR_STRLEN];
	long		 which;

	if (rules_match(&the_rules, sa, len, &which) == RULE_ALLOW)
		return 0;
	if (ctr != NULL) {
		SHMSTAT_ADD(ctr, refused, 1);
		SHMSTAT_ADD(ctr, refused_rule, 1);
	}
	if (limits_log_allowed(srv)) {
		host_str(sa, len, a, sizeof(a));
		if (which >= 0)
			log_info("refused %s: deny rule %ld", a, which + 1);
		else
			log_info("refused %s: no allow rule matches", a);
	}
	return 1;
}

int
rules_refuse(const struct server *srv, const struct sockaddr *sa,
    socklen_t len)
{
	if (the_rules.nrules == 0 || proxy_trusted(sa, len))
		return 0;
	return judge(srv, sa, len);
}

int
rules_drop(const struct sockaddr *sa, socklen_t len)
{
	return the_rules.nrules != 0 &&
	    rules_match(&the_rules, sa, len, NULL) == RULE_DENY;
}

int
proxy_trusted(const struct sockaddr *sa, socklen_t len)
{
	long	which;

	if (proxies.nrules == 0)
		return 0;
	(void)rules_match(&proxies, sa, len, &which);
	return which >= 0;
}

/*
 * Read the header and not one byte more: peek at what has arrived; while
 * it is an unfinished header every byte of it is header, so consume it
 * all; once complete, consume exactly its length.  Data after it stays
 * in the socket for the echo.  0 done, -1 with *why.
 */
static int
read_header(int fd, struct proxy_hdr *h, const char **why)
{
	uint8_t			 buf[PROXY_MAX];
	struct pollfd		 pfd = { fd, POLLIN, 0 };
	size_t			 have = 0;
	ssize_t			 n;
	int64_t			 end = clock_ms() + PROXY_TIMEOUT_MS, left;
	enum proxy_status	 st;

	for (;;) {
		if ((left = end - clock_ms()) <= 0) {
			*why = "no complete header within 5 s";
			return -1;
		}
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			*why = strerror(errno);
			return -1;
		}
		n = recv(fd, buf + have, sizeof(buf) - have,
		    MSG_PEEK | MSG_DONTWAIT);
		if (n == 0) {
			*why = "closed before the header ended";
			return -1;
		}
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			*why = strerror(errno);
			return -1;
		}
		st = proxy_parse(buf, have + (size_t)n, h);
		if (st == PROXY_BAD) {
			*why = h->why;
			return -1;
		}
		if (st == PROXY_DONE)
			n = (ssize_t)(h->len - have);
		else if (have + (size_t)n >= sizeof(buf)) {
			*why = "header over-long";
			return -1;
		}
		/* Peeked, so there: one recv takes it (MSG_WAITALL: sure). */
		if (recv(fd, buf + have, (size_t)n, MSG_WAITALL) != n) {
			*why = "short read";
			return -1;
		}
		have += (size_t)n;
		if (st == PROXY_DONE)
			return 0;
	}
}

int
proxy_accept(const struct server *srv, int fd, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct proxy_hdr	 h;
	const char		*why = "?";
	char			 a[ADDR_STRLEN];

	peer_str[0] = '\0';
	if (!proxy_trusted((struct sockaddr *)ss, *len))
		return 0;
	if (read_header(fd, &h, &why) == -1) {
		if (srv->lim != NULL)
			SHMSTAT_ADD(srv->lim->ctr, proxy_bad, 1);
		if (limits_log_allowed(srv)) {
			(void)addr_ntop((struct sockaddr *)ss, *len, a,
			    sizeof(a));
			log_info("closed %s: PROXY header: %s", a, why);
		}
		return -1;
	}
	if (!h.local) {
		memcpy(ss, &h.src, h.srclen);
		*len = h.srclen;
		(void)addr_ntop((struct sockaddr *)ss, *len, peer_str,
		    sizeof(peer_str));
	}
	return the_rules.nrules != 0 && judge(srv, (struct sockaddr *)ss,
	    *len) ? -1 : 0;
}

int
proxy_child(const struct server *srv, int fd, int *ticket)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	*ticket = 0;
	if (proxies.nrules == 0 ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    !proxy_trusted((struct sockaddr *)&ss, len))
		return 0;
	if (proxy_accept(srv, fd, &ss, &len) == -1)
		return -1;
	return limits_admit_proxied(srv, (struct sockaddr *)&ss, len, ticket);
}

int
access_inetd(const struct server *srv, int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if ((the_rules.nrules == 0 && proxies.nrules == 0) ||
	    getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (rules_refuse(srv, (struct sockaddr *)&ss, len) ||
	    proxy_accept(srv, fd, &ss, &len) == -1)
		return -1;
	return 0;
}

const char *
proxy_peer_str(void)
{
	return peer_str[0] != '\0' ? peer_str : NULL;
}
