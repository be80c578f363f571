/*
 * hist.c: log-linear latency histogram (see hist.h for the interface).
 *
 * Layout: buckets 0..HIST_SUB-1 hold the values 0..HIST_SUB-1 exactly.
 * Above that, octave k (k >= 1) covers [2^(k+6), 2^(k+7)) in HIST_HALF
 * buckets of width 2^k: the index is found from the position of the top
 * bit, so recording costs a count-leading-zeros and an add, which matters
 * because the benchmark records one value per echo.
 *
 * A percentile is reported as the highest value its bucket can hold,
 * clamped to [min, max]: like HdrHistogram's "highest equivalent value",
 * it never understates latency, and p100 is the exact maximum.
 */
#include "config.h"

#include <string.h>

#include "hist.h"

static unsigned int
hist_index(uint64_t v)
{
	unsigned int	 msb, shift;

	if (v < HIST_SUB)
		return (unsigned int)v;
	if (v >> HIST_MAX_BITS)
		return HIST_NBUCKETS - 1;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	shift = msb - (HIST_SUB_BITS - 1);
	return HIST_SUB + (shift - 1) * HIST_HALF +
	    (unsigned int)((v >> shift) - HIST_HALF);
}

/* The highest value that lands in bucket i. */
static uint64_t
hist_bucket_high(unsigned int i)
{
	unsigned int	 shift, sub;

	if (i < HIST_SUB)
		return i;
	shift = (i - HIST_SUB) / HIST_HALF + 1;
	sub = (i - HIST_SUB) % HIST_HALF + HIST_HALF;
	return (((uint64_t)sub + 1) << shift) - 1;
}

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
hist_record(struct hist *h, uint64_t v)
{
	h->bucket[hist_index(v)]++;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
}

void
hist_merge(struct hist *dst, const struct hist *src)
{
	unsigned int	 i;

	if (src->count == 0)
		return;
	for (i = 0; i < HIST_NBUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
}

uint64_t
hist_percentile(const struct hist *h, double p)
{
	uint64_t	 rank, seen = 0, v;
	double		 x;
	unsigned int	 i;

	if (h->count == 0)
		return 0;
	if (p >= 100.0)
		return h->max;
	if (p < 0.0)
		p = 0.0;
	/*
	 * The rank of the sample at p%, 1-based, rounding up; the slack
	 * keeps 99.9% of 1000 at 999 although 99.9 / 100 is not exact.
	 */
	x = p / 100.0 * (double)h->count;
	rank = (uint64_t)x;
	if (x - (double)rank > 1e-7)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_NBUCKETS)
		return h->max;
	v = hist_bucket_high(i);
	if (v > h->max)
		v = h->max;
	if (v < h->min)
		v = h->min;
	return v;
}

double
hist_mean(const struct hist *h)
{
	if (h->count == 0)
		return 0.0;
	return (double)h->sum / (double)h->count;
}
