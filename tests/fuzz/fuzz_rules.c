/*
 * fuzz_rules.c: libFuzzer target for the rules-file parser and CIDR
 * syntax.  Any bytes as a file: never crash or leak; a refused file
 * leaves the table exactly as it was (all or nothing) with an error
 * naming "fuzz:LINE:"; lookups on what was accepted stay in bounds,
 * and the compacted table answers exactly as the one it came from.
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
	struct rules		 r, rc;
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
	/* The same rules again, compacted (the directory from 256 on). */
	rules_init(&rc);
	(void)rules_add(&rc, RULE_DENY, &c);
	(void)rules_load_buf(&rc, (const char *)data, size, "fuzz", err,
	    sizeof(err));		/* all or nothing, as for r */
	if (rc.nrules != r.nrules || rules_compact(&rc) == -1)
		abort();
	memset(a, 0, sizeof(a));
	memcpy(a, data, size < sizeof(a) ? size : sizeof(a));
	for (n = 0; n < 2; n++) {
		int	fam = n == 0 ? AF_INET : AF_INET6;
		long	wc;

		if (rules_match_addr(&r, fam, a, &w) !=
		    rules_match_addr(&rc, fam, a, &wc) || w != wc)
			abort();
		if (w >= (long)r.nrules)
			abort();
	}
	rules_free(&rc);
	rules_free(&r);
	return 0;
}
