/* report.h - what the commands not yet on include/scarce.h alone share on the engine's
 * types: the speculative summary (tools/run_spec.c, bench_spec.c, spec_report.c), bench
 * rows (bench, bench_spec, sweep, roofline). The run summary
 * itself is tools/run_report.h, on the public header. */
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
#include "summary.h"

/* What a speculative run adds to the summary (tools/run_spec.c fills it). */
typedef struct {
    const char *source; /* "model", "quant", "lookup", "layers" */
    const char *draft;  /* SPEC_MODEL: the draft's path; SPEC_QUANT: the type */
    long param;         /* lookup: n-gram length; layers: L */
    int n_draft;        /* --draft */
    const char *policy; /* "cost" or "adapt" (--draft-policy) */
    spec_stats stats;
    double tok_s_plain, tok_s_spec; /* --spec-compare; NAN when not measured */
    int compare_reps;               /* ... the runs of each side whose median they are */
    const draft_quant_info *quant;  /* --draft-quant: how the copy was built, else NULL */
    const char *lookup_file;        /* --lookup-file, else NULL */
    int n_lookup_file;              /* its tokens */
} spec_summary;

/* The speculative piece of the JSON summary: "speculative": {...} (no comma before), and
 * one text paragraph of the speculative counters (tools/spec_report.c). */
void report_spec_json(FILE *out, const spec_summary *sp);
void report_spec_text(FILE *out, const spec_summary *sp);

/* ---- a bench --draft row (tools/bench_spec.c): the tgN row bench measured (bench_rows.h)
 * and what the draft added ---- */
typedef struct {
    bench_result base;      /* the plain tgN row */
    int has_spec;           /* tgN row of bench --draft */
    spec_summary spec;      /* tok_s_plain / tok_s_spec measured by spec_bench() */
    int spec_extra;         /* a copy of the tgN row for a further draft (tools/bench_spec.c) */
    draft_quant_info quant; /* --draft-quant: spec.quant points here */
    double verify_cost[4];  /* bench --draft: verify(k+1) / decode(1), k = 1, 2, 4, 8; 0 =
                               not measured */
} bench_row;

#endif
