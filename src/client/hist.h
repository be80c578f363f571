/*
 * hist.h: a log-linear latency histogram in the manner of HdrHistogram.
 *
 * Values (microseconds, by convention) are counted in buckets whose width
 * grows with the value: exact below HIST_SUB (128), then 64 buckets per
 * power of two, so any value is known to within 1/64 (about 1.6%, two
 * significant digits) while the whole range up to 2^40 fits in a fixed
 * array: no allocation and no per-sample storage, so recording is a few
 * instructions and histograms can be summed.  min, max, count and sum are
 * kept exactly.
 *
 *	hist_init(h)		empty it
 *	hist_record(h, v)	count one value (values past the range are
 *				counted in the top bucket; max stays exact)
 *	hist_merge(dst, src)	dst += src
 *	hist_percentile(h, p)	smallest recorded value v (to bucket
 *				precision) with at least p% of samples <= v;
 *				p = 100 gives max, an empty histogram 0
 */
#ifndef ECHOD_HIST_H
#define ECHOD_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS	7
#define HIST_SUB	(1U << HIST_SUB_BITS)		/* exact below this */
#define HIST_HALF	(HIST_SUB / 2)			/* buckets per octave */
#define HIST_MAX_BITS	40				/* range: [0, 2^40) */
#define HIST_NBUCKETS	(HIST_SUB + (HIST_MAX_BITS - HIST_SUB_BITS) * HIST_HALF)

struct hist {
	uint64_t	count;
	uint64_t	sum;
	uint64_t	min;
	uint64_t	max;
	uint64_t	bucket[HIST_NBUCKETS];
};

void		hist_init(struct hist *);
void		hist_record(struct hist *, uint64_t);
void		hist_merge(struct hist *, const struct hist *);
uint64_t	hist_percentile(const struct hist *, double);
double		hist_mean(const struct hist *);

#endif
