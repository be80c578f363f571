/*
 * fuzz_proxy.c: libFuzzer target for proxy_parse(), the PROXY protocol
 * header.  Any bytes: never crash or overrun; a header found is no longer
 * than the input nor the bounds; its prefixes are never PROXY_DONE (a
 * header ends at one place); and the verdict does not change when more
 * bytes follow a complete header.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	h, h2;
	enum proxy_status	st;
	uint8_t			*copy;

	/* An exact-size copy, so ASan sees any read past the end. */
	if ((copy = malloc(size == 0 ? 1 : size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	st = proxy_parse(copy, size, &h);
	if (st == PROXY_DONE) {
		if (h.len == 0 || h.len > size || h.len > PROXY_MAX ||
		    (h.version == 1 && h.len > PROXY_V1_MAX))
			abort();
		if (!h.local && h.family != AF_INET && h.family != AF_INET6)
			abort();
		if (h.len > 1 && proxy_parse(copy, h.len - 1, &h2) ==
		    PROXY_DONE)
			abort();
		if (proxy_parse(copy, h.len, &h2) != PROXY_DONE ||
		    h2.len != h.len)
			abort();
	} else if (st == PROXY_BAD && h.why == NULL)
		abort();
	free(copy);
	return 0;
}
