/* report.h - what the commands not yet on include/scarce.h alone share on the engine's
 * types: bench --draft rows (bench_spec, roofline). The speculative summary is
 * tools/spec_report.h and the run summary tools/run_report.h, both on the public header. */
#ifndef SCARCE_REPORT_H
#define SCARCE_REPORT_H

#include <stdio.h>

#include "../engine/draft_quant.h"
#include "../engine/gguf.h"
#include "../engine/moe.h"
#include "../engine/speculative.h"
#include "../engine/stats.h"
#include "../include/scarce.h"
#include "bench_rows.h"
#include "spec_report.h"
#include "summary.h"

/* ---- a bench --draft row (tools/bench_spec.c): the tgN row bench measured (bench_rows.h)
 * and what the draft added ---- */
typedef struct {
    bench_result base;     /* the plain tgN row */
    int has_spec;          /* tgN row of bench --draft */
    spec_summary spec;     /* tok_s_plain / tok_s_spec measured by spec_bench() */
    int spec_extra;        /* a copy of the tgN row for a further draft (tools/bench_spec.c) */
    double verify_cost[4]; /* bench --draft: verify(k+1) / decode(1), k = 1, 2, 4, 8; 0 =
                              not measured */
} bench_row;

#endif
