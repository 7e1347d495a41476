/* stats.h - what a run costs: counters filled by the forward pass itself and the figures
 * derived from them. The machine's peak bandwidth they are compared to is membw.h's.
 *
 * Per token (see ../shared/DESIGN.md, "Instrumentation"):
 *   weight bytes/token = weight_bytes / tokens   (a batch reads each row once)
 *   KV bytes/token     = kv_bytes / tokens
 *   achieved GB/s      = (weight + KV bytes/token) x tokens/s
 *   % of peak          = achieved / peak read bandwidth (scarce membw)
 *   FLOPs/token        = 2 x multiply-adds; arithmetic intensity = FLOPs / bytes */
#ifndef SCARCE_STATS_H
#define SCARCE_STATS_H

#include <stdint.h>

/* The counters of the single-token passes (decode steps) alone. */
typedef struct {
    uint64_t weight_bytes, kv_bytes, flops, tokens, passes;
    double t_forward, t_matmul, t_attention;
    double mm_work, mm_thread_work;
} decode_counters;

typedef struct {
    /* accumulated over every forward() call */
    uint64_t weight_bytes;  /* weight bytes read (a batch reads each row once) */
    uint64_t kv_bytes;      /* K/V bytes read by attention */
    uint64_t flops;         /* 2 x multiply-adds */
    uint64_t tokens;        /* tokens processed */
    uint64_t passes;        /* forward() calls */
    double t_forward;       /* seconds inside forward() */
    /* op classes inside forward(); "other" (norms, rope, residuals) is the rest */
    double t_matmul;        /* weight matmuls, MoE FFNs included */
    double t_attention;     /* scores, softmax, weighted sum over the cache */
    /* the threads the matmuls really ran on (kernel_usage, kernels/matmul.h): weight bytes x
     * tokens, and the same times threads; mm_thread_work / mm_work = mean threads */
    double mm_work, mm_thread_work;
    decode_counters decode; /* the part of the above spent in one-token passes */
} run_stats;

/* Adds what a one-token pass added since `before` to s->decode (called by forward()). */
void stats_count_decode(run_stats *s, const run_stats *before);
/* The decode part as run_stats (its own decode part zeroed); and everything else
 * (prefill / batched passes): total - decode. */
run_stats stats_decode_part(const run_stats *s);
run_stats stats_batched_part(const run_stats *s);

/* a + b, field by field (decode part included): a target's and its draft's counters. */
run_stats stats_add(run_stats a, const run_stats *b);

/* after - before, field by field: the cost of one phase (prefill, decode). */
run_stats stats_delta(const run_stats *after, const run_stats *before);

/* Per-token figures of one phase that ran `tokens` tokens in `seconds`. */
typedef struct {
    uint64_t tokens;
    double seconds, tok_s;
    double weight_bytes_per_token, kv_bytes_per_token, flops_per_token;
    double achieved_gb_s; /* (weight + KV bytes/token) x tok/s / 1e9 */
    double intensity;     /* FLOPs / byte */
} phase_figures;

phase_figures stats_figures(const run_stats *phase, double seconds);
/* Mean threads of a phase's matmuls, weighted by their work; 0 when it ran none. */
double stats_mean_threads(const run_stats *phase);

#endif
