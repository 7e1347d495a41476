/* spec_report.h - the speculative part of the run summary and of bench --draft rows, on
 * include/scarce.h's scarce_spec_report (tools/spec_report.c prints it). */
#ifndef SCARCE_SPEC_REPORT_H
#define SCARCE_SPEC_REPORT_H

#include <stdio.h>

#include "../include/scarce.h"

/* What a speculative run adds to the summary (tools/run_spec.c, bench_spec.c fill it). */
typedef struct {
    const char *source;             /* "model", "quant", "lookup", "layers" */
    const char *draft;              /* model: the draft's path; quant: the type */
    long param;                     /* lookup: n-gram length; layers: L */
    int n_draft;                    /* --draft */
    const char *policy;             /* "cost" or "adapt" (--draft-policy) */
    scarce_spec_report stats;       /* stats.has_quant: --draft-quant's copy */
    double tok_s_plain, tok_s_spec; /* --spec-compare; NAN when not measured */
    int compare_reps;               /* ... the runs of each side whose median they are */
    const char *lookup_file;        /* --lookup-file, else NULL */
    int n_lookup_file;              /* its tokens */
} spec_summary;

/* The speculative piece of the JSON summary: "speculative": {...} (no comma before), and
 * one text paragraph of the speculative counters. */
void report_spec_json(FILE *out, const spec_summary *sp);
void report_spec_text(FILE *out, const spec_summary *sp);

#endif
