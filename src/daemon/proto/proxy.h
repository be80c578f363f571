/*
 * proxy.h: the PROXY protocol header, versions 1 and 2 (HAProxy's
 * doc/proxy-protocol.txt; issue #12), as a pure parser.
 *
 * proxy_parse() looks at the bytes received so far and answers:
 *   PROXY_MORE  they are a proper prefix of some valid header: every one
 *               of them belongs to the header, so the caller may consume
 *               them and wait for more;
 *   PROXY_DONE  a complete header of h->len bytes (what follows is data);
 *   PROXY_BAD   no valid header starts this way (garbage, a malformed
 *               field, a v1 line over 107 bytes, a v2 header over
 *               PROXY_MAX bytes, an unknown v2 version/command/family).
 * On PROXY_DONE, h->local says the sender's own connection is meant (v2
 * LOCAL, v1 UNKNOWN, v2 PROXY over UNSPEC or UNIX): keep the real peer.
 * Otherwise h->src and h->dst are the client's and the proxy's side.
 */
#ifndef ECHOD_PROXY_H
#define ECHOD_PROXY_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define PROXY_V1_MAX	107		/* the spec's bound, CRLF included */
#define PROXY_MAX	1024		/* ours for v2, TLVs included */
#define PROXY_V2_SIGLEN	12

enum proxy_status {
	PROXY_MORE,
	PROXY_DONE,
	PROXY_BAD
};

struct proxy_hdr {
	size_t			len;		/* bytes of header */
	int			version;	/* 1 or 2 */
	int			local;		/* keep the real peer */
	int			family;		/* AF_INET, AF_INET6, AF_UNSPEC */
	struct sockaddr_storage	src, dst;
	socklen_t		srclen, dstlen;
	const char		*why;		/* PROXY_BAD: what was wrong */
};

extern const uint8_t proxy_v2_sig[PROXY_V2_SIGLEN];

enum proxy_status proxy_parse(const uint8_t *, size_t, struct proxy_hdr *);

#endif
