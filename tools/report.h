/* report.h - the end-of-run summary shared by run, bench and sweep: per-token bytes and
 * FLOPs, achieved bandwidth against the machine's measured peak, as text or JSON. */
#ifndef SCARCE_REPORT_H
#define SCARCE_REPORT_H

#include <stdio.h>

#include "../engine/gguf.h"
#include "../include/scarce.h"
#include "../engine/moe.h"
#include "../engine/draft_quant.h"
#include "../engine/speculative.h"
#include "../engine/stats.h"

/* What a speculative run adds to the summary (tools/run_spec.c fills it). */
typedef struct {
    const char *source;    /* "model", "quant", "lookup", "layers" */
    const char *draft;     /* SPEC_MODEL: the draft's path; SPEC_QUANT: the type */
    long param;            /* lookup: n-gram length; layers: L */
    int n_draft;           /* --draft */
    const char *policy;    /* "cost" or "adapt" (--draft-policy) */
    spec_stats stats;
    double tok_s_plain, tok_s_spec; /* --spec-compare; NAN when not measured */
    int compare_reps;               /* ... the runs of each side whose median they are */
    const draft_quant_info *quant; /* --draft-quant: how the copy was built, else NULL */
    const char *lookup_file; /* --lookup-file, else NULL */
    int n_lookup_file;       /* its tokens */
} spec_summary;

/* Weight bytes of a mixture-of-experts model and the routing its run saw. */
typedef struct {
    int n_expert, n_expert_used;
    const char *gating;
    uint64_t active_bytes_per_token, total_expert_bytes, total_bytes;
    const moe_stats *st; /* NULL when routing statistics were not kept */
} moe_summary;

moe_summary report_moe_summary(const model *m, const moe_stats *st);

/* The kernel code a model really runs: for each weight format of its matrices (largest
 * first), the ISA whose kernel it is (kernels_origin: an avx512 set runs avx2 code for
 * formats without an AVX-512 kernel), and attention's. */
typedef scarce_kernels_run kernels_run; /* include/scarce.h */
void report_kernels_run(const model *m, kernels_run *out);
/* "avx2 set; matmul f32 avx2, q6_k avx2; attention avx2" */
void report_kernels_run_text(const kernels_run *kr, char *buf, size_t cap);

typedef struct {
    const char *model_path, *type_name, *isa;
    int threads;
    const kernel_config *kernels; /* the model's kernel configuration */
    size_t model_bytes;      /* all weight tensors */
    size_t output_bytes;     /* the output matrix, read once per pass (tied: token_embd) */
    int n_vocab;             /* its rows */
    run_stats prompt, decode; /* counters of each phase (stats_delta) */
    double t_prompt, t_decode; /* wall seconds of each phase (decode includes sampling) */
    const spec_summary *spec;  /* speculative runs, else NULL; decode is then per emitted
                                  token, target + draft counters */
    const moe_summary *moe;    /* MoE models, else NULL */
    const kernels_run *kernels_run; /* the kernel code that ran, else NULL */
} run_summary;

/* Bandwidth context of one achieved figure. */
typedef struct {
    int have_peak;     /* peak cached by scarce membw */
    double peak_gb_s;
    size_t llc;        /* last-level cache bytes (0 unknown) */
    int fits_in_cache; /* model smaller than the LLC: "bandwidth" is cache bandwidth */
    double pct;        /* achieved / peak x 100; < 0 when not meaningful */
} peak_context;

peak_context report_peak(double achieved_gb_s, size_t model_bytes);

/* The dominant weight type of a model file (by bytes, over tensors of 2+ dims). */
const char *model_type_name(const gguf_file *f);

/* Decode figures (prompt figures when nothing was decoded) of a summary. */
phase_figures report_main_phase(const run_summary *s);

void report_run_text(FILE *out, const run_summary *s);
void report_run_json(FILE *out, const run_summary *s);
/* The pieces of the JSON summary: "speculative": {...} and "moe": {...} (no comma before). */
void report_spec_json(FILE *out, const spec_summary *sp);
void report_moe_json(FILE *out, const moe_summary *ms);
/* One text paragraph of the speculative counters. */
void report_spec_text(FILE *out, const spec_summary *sp);

/* ---- shared by ppl and sweep (tools/cmd_ppl.c) ---- */
#include "../engine/ppl.h"

typedef struct {
    const char *model, *base, *text; /* base: NULL, a model or a KL base file (kl_base.h) */
    const char *base_out;            /* write the model's rows as a KL base file; may be NULL */
    int n_ctx, n_chunks, n_batch;    /* n_chunks 0 = all; n_batch 0 = whole window */
    int quiet;                       /* no per-window lines or progress */
    const char *cmd;                 /* names errors: "ppl" when NULL, "sweep" ... */
    int n_threads;                   /* 0 = 1 */
} ppl_job;

typedef struct {
    int chunks;
    size_t scored;
    double ppl, ppl_err, base_ppl;
    int has_kl;
    kl_summary kl;
} ppl_result;

/* Runs a ppl job; errors printed; returns an exit code. */
int ppl_run(const ppl_job *job, ppl_result *res);

/* ---- shared by bench and sweep (tools/cmd_bench.c) ---- */
typedef struct {
    char model[256], type[16], test[16]; /* test: "pp128", "tg64" */
    size_t model_bytes;
    int threads;
    double tok_s, tok_s_sd; /* mean, stddev over repetitions */
    double weight_bytes_per_token, kv_bytes_per_token, flops_per_token;
    double gb_s, peak_gb_s, pct_of_peak; /* peak NAN / pct < 0 when unknown */
    int fits_in_cache;
    double active_bytes_per_token, total_weight_bytes; /* MoE models; 0 when dense */
    int has_spec;           /* tgN row of bench --draft */
    spec_summary spec;      /* tok_s_plain / tok_s_spec measured by spec_bench() */
    int spec_extra;         /* a copy of the tgN row for a further draft (tools/bench_spec.c) */
    draft_quant_info quant; /* --draft-quant: spec.quant points here */
    double verify_cost[4];  /* bench --draft: verify(k+1) / decode(1), k = 1, 2, 4, 8; 0 =
                               not measured */
    kernel_config kernels;  /* how the model's kernels ran */
} bench_row;

/* ppN and tgN rows (those with N > 0) of one model at n_threads into rows[0..*n_rows). */
int bench_model(const char *path, int n_threads, int n_prompt, int n_gen, int reps,
                bench_row *rows, int *n_rows, scarce_error *err);

/* JSON pieces: a quoted, escaped string; a number (null when not finite). */
void json_str(FILE *out, const char *s);
void json_num(FILE *out, double v);

#endif
