/*
 * proxy.c: parse a PROXY protocol v1 or v2 header (see proxy.h).
 *
 * Strict where the specification is: v1 fields are separated by exactly
 * one space, numbers have no leading zero, IPv4 addresses are four
 * decimal bytes, the line ends in CRLF within 107 bytes; v2 has the
 * 12-byte signature, version 2, command LOCAL or PROXY, one of the seven
 * defined family/transport bytes, and a length that holds the addresses.
 * A header not yet complete is PROXY_MORE only while it can still become
 * a valid one, so garbage is refused as soon as it shows.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "proxy.h"

const uint8_t proxy_v2_sig[PROXY_V2_SIGLEN] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static enum proxy_status
bad(struct proxy_hdr *h, const char *why)
{
	h->why = why;
	return PROXY_BAD;
}

/* Is [p, p+n) a prefix of s (n may exceed strlen(s): then a match of s)? */
static int
prefix_of(const uint8_t *p, size_t n, const char *s)
{
	size_t	l = strlen(s);

	return memcmp(p, s, n < l ? n : l) == 0;
}

/* Decimal 0..65535, no sign, no leading zero. */
static int
port_parse(const char *s, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		n = strlen(s), i;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Four decimal bytes, no leading zeros (inet_pton varies on that). */
static int
v4_strict(const char *s)
{
	int	 dots = 0, digits = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (digits == 0)
				return -1;
			dots++;
			digits = 0;
		} else if (*s >= '0' && *s <= '9') {
			if (digits == 1 && s[-1] == '0')
				return -1;
			if (++digits > 3)
				return -1;
		} else
			return -1;
	}
	return dots == 3 && digits > 0 ? 0 : -1;
}

static int
v1_addr(int af, const char *a, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;
	uint16_t		 p;

	memset(ss, 0, sizeof(*ss));
	if (port_parse(port, &p) == -1)
		return -1;
	if (af == AF_INET) {
		if (v4_strict(a) == -1 ||
		    inet_pton(AF_INET, a, &s4->sin_addr) != 1)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*len = sizeof(*s4);
	} else {
		if (strchr(a, ':') == NULL ||
		    inet_pton(AF_INET6, a, &s6->sin6_addr) != 1)
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*len = sizeof(*s6);
	}
	return 0;
}

static enum proxy_status
parse_v1(const uint8_t *b, size_t n, struct proxy_hdr *h)
{
	char		 line[PROXY_V1_MAX + 1], *f[6], *p;
	const uint8_t	*lf;
	size_t		 ll, i;
	int		 nf, af;

	if (!prefix_of(b, n, "PROXY "))
		return bad(h, "not a PROXY header");
	lf = memchr(b, '\n', n < PROXY_V1_MAX ? n : PROXY_V1_MAX);
	if (lf == NULL)
		return n >= PROXY_V1_MAX ? bad(h, "v1 line over 107 bytes") :
		    PROXY_MORE;
	ll = (size_t)(lf - b) + 1;
	if (ll < 8 || b[ll - 2] != '\r')
		return bad(h, "v1 line not ended by CRLF");
	memcpy(line, b, ll - 2);
	line[ll - 2] = '\0';
	if (memchr(line, '\0', ll - 2) != NULL || memchr(line, '\r',
	    ll - 2) != NULL)
		return bad(h, "v1 control byte");
	h->len = ll;
	h->version = 1;
	if (strncmp(line + 6, "UNKNOWN", 7) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		h->local = 1;			/* the rest is ignored */
		h->family = AF_UNSPEC;
		return PROXY_DONE;
	}
	/* "PROXY" proto src dst sport dport: exactly one space each. */
	for (nf = 0, p = line + 6; nf < 6; nf++) {
		f[nf] = p;
		if ((p = strchr(p, ' ')) == NULL) {
			nf++;
			break;
		}
		*p++ = '\0';
	}
	if (nf != 5 || p != NULL)
		return bad(h, "v1 needs five fields");
	for (i = 0; i < 5; i++)
		if (*f[i] == '\0')
			return bad(h, "v1 empty field (two spaces)");
	if (strcmp(f[0], "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(f[0], "TCP6") == 0)
		af = AF_INET6;
	else
		return bad(h, "v1 protocol not TCP4, TCP6 or UNKNOWN");
	if (v1_addr(af, f[1], f[3], &h->src, &h->srclen) == -1 ||
	    v1_addr(af, f[2], f[4], &h->dst, &h->dstlen) == -1)
		return bad(h, "v1 bad address or port");
	h->family = af;
	return PROXY_DONE;
}

static void
v2_sa(int af, const uint8_t *a, const uint8_t *port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&s4->sin_port, port, 2);		/* network order */
		*len = sizeof(*s4);
	} else {
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&s6->sin6_port, port, 2);
		*len = sizeof(*s6);
	}
}

static enum proxy_status
parse_v2(const uint8_t *b, size_t n, struct proxy_hdr *h)
{
	size_t	len, need;
	int	cmd, fam;

	if (n < 16)
		return PROXY_MORE;	/* the signature matched so far */
	if ((b[12] >> 4) != 2)
		return bad(h, "v2 version not 2");
	cmd = b[12] & 0x0f;
	if (cmd > 1)
		return bad(h, "v2 command neither LOCAL nor PROXY");
	fam = b[13];
	switch (fam) {
	case 0x00:
		need = 0;
		break;
	case 0x11:
	case 0x12:
		need = 12;
		break;
	case 0x21:
	case 0x22:
		need = 36;
		break;
	case 0x31:
	case 0x32:
		need = 216;
		break;
	default:
		return bad(h, "v2 unknown family or transport");
	}
	len = ((size_t)b[14] << 8) | b[15];
	if (16 + len > PROXY_MAX)
		return bad(h, "v2 header over-long");
	if (cmd == 1 && len < need)
		return bad(h, "v2 length too short for its addresses");
	if (n < 16 + len)
		return PROXY_MORE;
	h->len = 16 + len;
	h->version = 2;
	h->family = AF_UNSPEC;
	/* LOCAL: health checks; UNSPEC and UNIX carry no IP address. */
	if (cmd == 0 || need == 0 || need == 216) {
		h->local = 1;
		return PROXY_DONE;
	}
	if (need == 12) {
		h->family = AF_INET;
		v2_sa(AF_INET, b + 16, b + 24, &h->src, &h->srclen);
		v2_sa(AF_INET, b + 20, b + 26, &h->dst, &h->dstlen);
	} else {
		h->family = AF_INET6;
		v2_sa(AF_INET6, b + 16, b + 48, &h->src, &h->srclen);
		v2_sa(AF_INET6, b + 32, b + 50, &h->dst, &h->dstlen);
	}
	return PROXY_DONE;
}

enum proxy_status
proxy_parse(const uint8_t *b, size_t n, struct proxy_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (n == 0)
		return PROXY_MORE;
	if (b[0] == 'P')
		return parse_v1(b, n, h);
	if (memcmp(b, proxy_v2_sig, n < PROXY_V2_SIGLEN ? n :
	    PROXY_V2_SIGLEN) == 0)
		return parse_v2(b, n, h);
	return bad(h, "neither a v1 nor a v2 PROXY header");
}
