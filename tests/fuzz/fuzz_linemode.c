/*
 * fuzz_linemode.c: libFuzzer target for the line splitter.  The first
 * byte picks the prefix length (0..255, some past LINE_PREFIX_INLINE
 * through repetition) and --timestamp; the second the size of the
 * pieces the rest is fed in.  Every answer must be bounded, and the
 * answers' bytes, minus prefixes and newlines, must be the input's
 * bytes minus line ends.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linemode.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct linemode	lm;
static char		prefix[2048];
static size_t		answers_len;

static int
emit(void *arg, const char *p, size_t n)
{
	(void)arg;
	if (n > LINE_ANSWER_MAX(sizeof(prefix)))
		abort();
	if (n > 0)
		(void)p[n - 1];		/* readable to the end (ASan) */
	answers_len += n;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	plen, chunk, off, plain = 0;
	int	ts;

	if (size < 2)
		return 0;
	plen = data[0] & 0x7f;
	if (data[0] & 0x40)
		plen *= 16;		/* up to 2032: past the inline limit */
	ts = data[0] & 0x80;
	chunk = (size_t)data[1] + 1;
	memset(prefix, 'P', plen);
	prefix[plen] = '\0';
	data += 2;
	size -= 2;
	answers_len = 0;
	for (off = 0; off < size; off++)
		if (data[off] != '\n' && data[off] != '\r')
			plain++;
	linemode_init(&lm, prefix, ts != 0);
	for (off = 0; off < size; off += chunk)
		if (linemode_feed(&lm, (const char *)data + off,
		    size - off < chunk ? size - off : chunk,
		    (time_t)1000000000, emit, NULL) == -1)
			abort();
	if (linemode_finish(&lm, (time_t)1000000000, emit, NULL) == -1)
		abort();
	/* Every byte but line ends is answered. */
	if (answers_len < plain)
		abort();
	return 0;
}
