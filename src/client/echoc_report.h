/*
 * echoc_report.h: how a benchmark's result is shown.
 *
 *	bench_report_text(fp, r)	the human summary
 *	bench_report_json(fp, r)	one JSON object on one line, for
 *					scripts (keys: see echoc(1))
 *	bench_report_errors(fp, r)	the first error of each kind seen,
 *					one line each, for stderr
 */
#ifndef ECHOD_ECHOC_REPORT_H
#define ECHOD_ECHOC_REPORT_H

#include <stdio.h>

#include "echoc_bench.h"

void	bench_report_text(FILE *, const struct bench_result *);
void	bench_report_json(FILE *, const struct bench_result *);
void	bench_report_errors(FILE *, const struct bench_result *);

#endif
