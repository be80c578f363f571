/*
 * fuzz_addr.c: libFuzzer target for addr_parse(), the --listen syntax.
 * Any bytes, as a C string: must never crash, overrun or leak, and a
 * success must leave a spec whose fields are in range.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_spec	 spec;
	char			 err[512], *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (addr_parse(s, &spec, err, sizeof(err)) == 0) {
		if (spec.kind != ADDR_UNIX && (spec.port < 0 ||
		    spec.port > 65535))
			abort();
		if (memchr(spec.host, '\0', sizeof(spec.host)) == NULL ||
		    memchr(spec.path, '\0', sizeof(spec.path)) == NULL)
			abort();
	} else if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	free(s);
	return 0;
}
