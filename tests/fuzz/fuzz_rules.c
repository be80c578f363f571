/*
 * fuzz_rules.c: libFuzzer target for the rules-file parser and CIDR
 * syntax.  Any bytes as a file: never crash or leak; a refused file
 * leaves the table exactly as it was (all or nothing) with an error
 * naming "fuzz:LINE:"; lookups on what was accepted stay in bounds.
 */
#include "config.h"

#include <sys/socket.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules		 r;
	struct rule_cidr	 c;
	char			 err[512];
	uint8_t			 a[16];
	long			 w;
	size_t			 n;

	rules_init(&r);
	(void)rules_cidr_parse("10.0.0.0/8", &c, err, sizeof(err));
	(void)rules_add(&r, RULE_DENY, &c);
	n = r.nrules;
	if (rules_load_buf(&r, (const char *)data, size, "fuzz", err,
	    sizeof(err)) == -1) {
		if (r.nrules != n || strncmp(err, "fuzz:", 5) != 0)
			abort();
	}
	memset(a, 0, sizeof(a));
	memcpy(a, data, size < sizeof(a) ? size : sizeof(a));
	(void)rules_match_addr(&r, AF_INET, a, &w);
	if (w >= (long)r.nrules)
		abort();
	(void)rules_match_addr(&r, AF_INET6, a, &w);
	if (w >= (long)r.nrules)
		abort();
	rules_free(&r);
	return 0;
}
