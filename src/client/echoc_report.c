/*
 * echoc_report.c: print a benchmark's result (see echoc_report.h).
 *
 * Throughput is in decimal megabytes (10^6 bytes) of traffic both ways,
 * as network tools count; sizes on the command line are binary (K =
 * 1024) because they are buffer sizes.  The JSON is written by hand: it
 * holds only numbers, fixed key names and one address string, which
 * needs no escaping beyond what json_str() does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "echoc_report.h"

static double
per_s(double v, double s)
{
	return s > 0 ? v / s : 0.0;
}

void
bench_report_text(FILE *fp, const struct bench_result *r)
{
	const struct hist	*h = &r->lat;
	int			 k;

	fprintf(fp, "%s to %s: concurrency %lld, size %llu, %.3f s%s\n",
	    echoc_mode_name(r->mode), r->target, r->concurrency,
	    (unsigned long long)r->size, r->seconds,
	    r->interrupted == 1 ? " (interrupted)" :
	    r->interrupted == 2 ? " (stopped by --max-time)" : "");
	if (r->mode == ECHOC_BENCH_IDLE)
		fprintf(fp, "held:       %llu of %lld connections opened, "
		    "%llu answered at the end\n",
		    (unsigned long long)r->opened, r->concurrency,
		    (unsigned long long)r->ops);
	fprintf(fp, "ops:        %llu (%.1f/s)\n", (unsigned long long)r->ops,
	    per_s((double)r->ops, r->seconds));
	fprintf(fp, "bytes:      %llu (%.2f MB/s)\n",
	    (unsigned long long)r->bytes,
	    per_s((double)r->bytes, r->seconds) / 1e6);
	fprintf(fp, "latency us: p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  "
	    "max %llu  (%llu samples)\n",
	    (unsigned long long)hist_percentile(h, 50),
	    (unsigned long long)hist_percentile(h, 90),
	    (unsigned long long)hist_percentile(h, 99),
	    (unsigned long long)hist_percentile(h, 99.9),
	    (unsigned long long)h->max, (unsigned long long)h->count);
	fprintf(fp, "errors:     %llu", (unsigned long long)r->errors_total);
	for (k = 0; k < BERR_N; k++)
		fprintf(fp, "%s%s %llu", k == 0 ? " (" : ", ",
		    bench_err_name((enum bench_err)k),
		    (unsigned long long)r->errors[k]);
	fprintf(fp, ")\n");
}

static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(fp, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

void
bench_report_json(FILE *fp, const struct bench_result *r)
{
	const struct hist	*h = &r->lat;
	int			 k;

	fprintf(fp, "{\"mode\": ");
	json_str(fp, echoc_mode_name(r->mode));
	fprintf(fp, ", \"target\": ");
	json_str(fp, r->target);
	fprintf(fp, ", \"concurrency\": %lld, \"size\": %llu, "
	    "\"seconds\": %.3f, \"ops\": %llu, \"ops_per_s\": %.1f, "
	    "\"bytes\": %llu, \"mb_per_s\": %.3f",
	    r->concurrency, (unsigned long long)r->size, r->seconds,
	    (unsigned long long)r->ops, per_s((double)r->ops, r->seconds),
	    (unsigned long long)r->bytes,
	    per_s((double)r->bytes, r->seconds) / 1e6);
	if (r->mode == ECHOC_BENCH_IDLE)
		fprintf(fp, ", \"held\": %llu", (unsigned long long)r->opened);
	fprintf(fp, ", \"latency_us\": {\"p50\": %llu, \"p90\": %llu, "
	    "\"p99\": %llu, \"p999\": %llu, \"max\": %llu, \"mean\": %.1f, "
	    "\"samples\": %llu}",
	    (unsigned long long)hist_percentile(h, 50),
	    (unsigned long long)hist_percentile(h, 90),
	    (unsigned long long)hist_percentile(h, 99),
	    (unsigned long long)hist_percentile(h, 99.9),
	    (unsigned long long)h->max, hist_mean(h),
	    (unsigned long long)h->count);
	fprintf(fp, ", \"errors\": {");
	for (k = 0; k < BERR_N; k++)
		fprintf(fp, "%s\"%s\": %llu", k == 0 ? "" : ", ",
		    bench_err_name((enum bench_err)k),
		    (unsigned long long)r->errors[k]);
	fprintf(fp, "}, \"errors_total\": %llu, \"interrupted\": %s}\n",
	    (unsigned long long)r->errors_total,
	    r->interrupted ? "true" : "false");
}

void
bench_report_errors(FILE *fp, const struct bench_result *r)
{
	int	 k;

	for (k = 0; k < BERR_N; k++) {
		if (r->errors[k] == 0)
			continue;
		fprintf(fp, "echoc: %llu %s error%s; the first: %s",
		    (unsigned long long)r->errors[k],
		    bench_err_name((enum bench_err)k),
		    r->errors[k] == 1 ? "" : "s", r->first_what[k]);
		if (r->first_errno[k] != 0)
			fprintf(fp, ": %s", strerror(r->first_errno[k]));
		fputc('\n', fp);
	}
}
