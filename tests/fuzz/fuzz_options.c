/*
 * fuzz_options.c: libFuzzer target for options_parse().  The input is
 * split at NUL bytes into an argument vector (at most 64 words) after
 * "echod"; every outcome is fine except a crash, and a usage error must
 * come with a message.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define MAXARGS	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct options	 o;
	char		*buf, *argv[MAXARGS + 2], err[512];
	size_t		 i, start = 0;
	int		 argc = 0;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = "echod";
	for (i = 0; i <= size && argc <= MAXARGS; i++)
		if (buf[i] == '\0') {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	argv[argc] = NULL;
	options_defaults(&o);
	err[0] = '\0';
	if (options_parse(&o, argc, argv, err, sizeof(err)) == OPT_USAGE &&
	    err[0] == '\0')
		abort();
	free(buf);
	return 0;
}
