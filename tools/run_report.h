/* run_report.h - the end-of-run summary of `scarce run` on include/scarce.h: per-token
 * bytes and FLOPs, achieved bandwidth against the machine's measured peak, the kernel code
 * that ran and the threads it ran on, as text (stderr) or one JSON object (--json). */
#ifndef SCARCE_RUN_REPORT_H
#define SCARCE_RUN_REPORT_H

#include <stdio.h>

#include "../include/scarce.h"

typedef struct {
    const char *model_path, *type;  /* type: the main weight format (scarce_model_type) */
    scarce_model_params params;     /* as the model runs (scarce_model_get_params) */
    scarce_kernels_run kernels_run; /* the kernel code that ran */
    scarce_machine machine;
    scarce_stats st; /* of the generation (scarce_context_stats) */
} run_report;

/* Fills r from the model and the context's statistics; 0 or a status. */
int run_report_of(scarce_model *m, const scarce_context *ctx, const char *path, run_report *r);

void run_report_text(FILE *out, const run_report *r);
/* One JSON object and a newline; more (may be NULL) adds members before the closing brace,
 * each written with its leading ", ". */
typedef void (*run_report_more)(FILE *out, void *user);
void run_report_json(FILE *out, const run_report *r, run_report_more more, void *user);

#endif
