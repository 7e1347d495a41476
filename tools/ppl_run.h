/* ppl_run.h - one perplexity / KL job on include/scarce.h, shared by scarce ppl
 * (tools/cmd_ppl.c) and scarce sweep. */
#ifndef SCARCE_PPL_RUN_H
#define SCARCE_PPL_RUN_H

#include "../include/scarce.h"

typedef struct {
    const char *model, *base, *text; /* base: NULL, a model or a KL base file */
    const char *base_out;            /* write the model's rows as a KL base file; may be NULL */
    const char *imatrix_out;         /* also write the importance matrix here; may be NULL */
    int n_ctx, n_chunks, n_batch;    /* n_chunks 0 = all; n_batch 0 = whole window */
    int quiet;                       /* no per-window lines or progress */
    const char *cmd;                 /* names errors: "ppl" when NULL, "sweep" ... */
    int n_threads;                   /* 0 = 1 */
} ppl_job;

/* Runs a ppl job; errors printed; returns an exit code. */
int ppl_run(const ppl_job *job, scarce_ppl_result *res);

#endif
