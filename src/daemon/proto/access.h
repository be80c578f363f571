/*
 * access.h: who may connect, and who speaks for whom (issue #12): the
 * glue between rules.c/proxy.c and the process models.
 *
 * The rules table lives in the master's memory.  The master builds it at
 * start (access_setup: the command line's --allow/--deny, then the
 * --rules file) and on SIGHUP (access_reload: a complete new table from
 * the command line and the reread file, swapped in only if it built; a
 * broken file leaves the old table and logs "FILE:LINE: what").  Serving
 * processes get the table through fork: the fork-model master decides
 * itself before forking; SIGHUP starts a new generation of prefork
 * workers, which inherit the new table (the old ones finish the
 * connection they hold and leave), and access_reload's caller restarts
 * the UDP worker.  So no table is ever shared or changed under a reader:
 * nothing to lock, and every connection accepted after the reload (by a
 * new-generation worker) sees the new rules.
 *
 * Call sites (one line each in the models):
 *   rules_refuse()   after accept4, before anything else: 1 = closed
 *                    and counted (refused_rule, refused), log-limited.
 *                    A --proxy-from source is not judged here: its
 *                    verdict comes after its header (proxy_accept).
 *   rules_drop()     per UDP datagram: 1 = drop it (udp_dropped_rule).
 *   proxy_accept()   in the serving process, before echoing: from a
 *                    --proxy-from source, read the PROXY header (5 s at
 *                    most), replace *ss by the header's source, judge it
 *                    by the rules; -1 = close (proxy_bad or refused_rule).
 *   proxy_child()    the fork-model child's form: the same plus
 *                    --per-ip/--rate for the header's address (in
 *                    the children's own table: limits_admit_proxied;
 *                    the child gives it back, limits_release_proxied).
 *   access_inetd()   -i on a connected socket: rules, then the header.
 *   proxy_peer_str() the header's address for the -v log line, if any.
 */
#ifndef ECHOD_ACCESS_H
#define ECHOD_ACCESS_H

#include <sys/socket.h>

#include <stddef.h>

struct options;
struct server;

#define PROXY_TIMEOUT_MS	5000

int	access_setup(const struct options *, char *, size_t);
int	access_reload(const struct options *);
int	rules_refuse(const struct server *, const struct sockaddr *,
	    socklen_t);
int	rules_drop(const struct sockaddr *, socklen_t);
int	proxy_trusted(const struct sockaddr *, socklen_t);
int	proxy_accept(const struct server *, int, struct sockaddr_storage *,
	    socklen_t *);
int	proxy_child(const struct server *, int, int *);
int	access_inetd(const struct server *, int);
const char *proxy_peer_str(void);

#endif
