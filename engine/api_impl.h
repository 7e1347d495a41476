/* api_impl.h - what the handles of include/scarce.h hold, shared by engine/api.c (models,
 * vocabulary, contexts, statistics) and engine/api_gen.c (generation). */
#ifndef SCARCE_API_IMPL_H
#define SCARCE_API_IMPL_H

#include "../include/scarce.h"
#include "draft_quant.h"
#include "forward.h"
#include "sampler.h"
#include "speculative.h"
#include "tokenizer.h"

#define API_ERROR_CAP 512

struct scarce_model {
    model *m;         /* NULL when vocab_only */
    gguf_file *vocab; /* the open file of a vocab_only model (else m->file) */
    tokenizer *tok;
    int n_vocab;
    char error[API_ERROR_CAP];
};

/* An open GGUF file (engine/api_info.c; its tensors' rows: api_quant.c; look-ups by name:
 * api_gguf.c). */
struct scarce_gguf {
    gguf_file *f;
    char error[API_ERROR_CAP];
};

/* What the last generation cost, in the form tools/report.c prints it. */
typedef struct {
    int valid; /* 0: only scarce_eval ran since the reset */
    run_stats prompt, decode;
    double t_prompt, t_decode;
    int is_spec; /* spec below is of a speculative generation */
    spec_stats spec;
    int has_quant; /* SCARCE_DRAFT_QUANT: the copy's figures */
    draft_quant_info quant;
} api_run;

struct scarce_context {
    scarce_model *model;
    session s;
    sampler smp;
    int n_ctx;
    api_run run;
    char error[API_ERROR_CAP];
};

/* The kernel code model m runs (scarce_model_kernels_run without the checks); tools/report.c
 * prints it for run and bench until they open models through the header. */
void api_kernels_run(const model *m, scarce_kernels_run *out);

/* The public form of a speculative run's counters and, when q is not NULL, of its
 * in-memory draft (engine/api_spec.c); tools/run_spec.c and bench_spec.c print it until they
 * run through scarce_generate_spec. */
void api_spec_report(const spec_stats *st, const draft_quant_info *q, scarce_spec_report *out);

/* The dispatch table filled (the best ISA of this CPU unless the program chose one with
 * scarce_backend_init): 0, or a status with msg (API_ERROR_CAP) set (engine/api_setup.c). */
int api_kernels_ready(char *msg);
/* The kernel configuration of model parameters (engine/api.c); 0 or a status with errbuf
 * (API_ERROR_CAP) set. */
int api_model_options(const scarce_model_params *p, model_options *o, char *errbuf);
/* The public form of a kernel configuration (strings static). */
void api_params_of_config(const kernel_config *cfg, scarce_model_params *out);

/* Formats the message into buf (API_ERROR_CAP) and returns status. */
int api_fail(char *buf, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An engine error's message with status. */
int api_fail_err(char *buf, int status, const scarce_error *err);
/* SCARCE_ERR_TOKEN unless every id is in [0, n_vocab). */
int api_check_ids(scarce_context *ctx, const int32_t *ids, int n);

#endif
