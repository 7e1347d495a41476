/* bench_rows.h - one row of `scarce bench` (a model x threads x test) and how it is
 * measured, through include/scarce.h: llama-bench's ppN (one batched pass of N random
 * tokens) and tgN (N single-token passes), one warm-up, mean +/- stddev over repetitions,
 * and what each token cost in bytes. `sweep` times its tgN column with it. */
#ifndef SCARCE_BENCH_ROWS_H
#define SCARCE_BENCH_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "../include/scarce.h"

typedef struct {
    char model[256], type[16], test[16]; /* test: "pp128", "tg64" */
    size_t model_bytes;
    int threads;
    double tok_s, tok_s_sd; /* mean, stddev over repetitions */
    double weight_bytes_per_token, kv_bytes_per_token, flops_per_token;
    double gb_s, peak_gb_s, pct_of_peak; /* peak NAN / pct < 0 when unknown */
    int fits_in_cache;
    double active_bytes_per_token, total_weight_bytes; /* MoE models; 0 when dense */
    scarce_model_params kernels;    /* how the model's kernels ran (scarce_model_get_params) */
    scarce_kernels_run kernels_run; /* the kernel code that ran */
    double threads_used; /* threads the matmuls really ran on (mean over the timed runs) */
    int spec;       /* bench --draft: 1 + the row's index in tools/bench_spec.c; 0 none */
    int spec_extra; /* a copy of the tgN row for a further draft */
} bench_result;

/* ppN and tgN rows (those with N > 0) of one model at n_threads into rows[0..*n_rows).
 * 0, or -1 with msg (512 bytes). */
int bench_model(const char *path, int n_threads, int n_prompt, int n_gen, int reps,
                bench_result *rows, int *n_rows, char *msg);

/* splitmix64: reproducible random token ids; a path's file name. */
uint64_t bench_next_random(uint64_t *state);
const char *path_base_name(const char *path);

#endif
