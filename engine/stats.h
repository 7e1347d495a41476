/* stats.h - what a run costs: counters filled by the forward pass itself, the figures
 * derived from them, and the machine's memory bandwidth they are compared to.
 *
 * Per token (see ../shared/DESIGN.md, "Instrumentation"):
 *   weight bytes/token = weight_bytes / tokens   (a batch reads each row once)
 *   KV bytes/token     = kv_bytes / tokens
 *   achieved GB/s      = (weight + KV bytes/token) x tokens/s
 *   % of peak          = achieved / peak read bandwidth (scarce membw)
 *   FLOPs/token        = 2 x multiply-adds; arithmetic intensity = FLOPs / bytes */
#ifndef SCARCE_STATS_H
#define SCARCE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The counters of the single-token passes (decode steps) alone. */
typedef struct {
    uint64_t weight_bytes, kv_bytes, flops, tokens, passes;
    double t_forward, t_matmul, t_attention;
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
    decode_counters decode; /* the part of the above spent in one-token passes */
} run_stats;

double now_seconds(void);

/* Adds what a one-token pass added since `before` to s->decode (called by forward()). */
void stats_count_decode(run_stats *s, const run_stats *before);
/* The decode part as run_stats (its own decode part zeroed); and everything else
 * (prefill / batched passes): total - decode. */
run_stats stats_decode_part(const run_stats *s);
run_stats stats_batched_part(const run_stats *s);

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

/* ---- the machine ------------------------------------------------------------------ */

/* Size of the last-level cache in bytes from /sys/devices/system/cpu/cpu0/cache (0 when
 * unknown). */
size_t llc_bytes(void);
/* "model name" of /proc/cpuinfo (or "unknown"), written to out. */
void cpu_model_name(char *out, size_t cap);

/* Streaming bandwidth with n_threads threads over a buffer of `bytes` (first-touched by
 * the threads that read it): read = sum of every 8-byte word with independent
 * accumulators, copy = memcpy of half the buffer onto the other half (counted as read +
 * write bytes, like STREAM). Medians of `reps` timed runs after one warm-up; GB = 1e9. */
typedef struct {
    int n_threads;
    double read_gb_s, copy_gb_s;
} membw_result;

/* Measures 1..max_threads threads into out[0..max_threads). */
int membw_measure(int max_threads, size_t bytes, int reps, membw_result *out,
                  scarce_error *err);

/* The cache file ~/.cache/scarce/membw: one line per CPU, "read_gb_s threads model name".
 * membw_cache_path() fills out (0 ok, -1 when $HOME is not set). */
int membw_cache_path(char *out, size_t cap);
/* Stores this CPU's peak (replacing its line). */
int membw_cache_store(double read_gb_s, int n_threads, scarce_error *err);
/* Peak read bandwidth of this CPU in GB/s: from the cache; when missing and
 * measure_if_missing, measured now (all threads, default size) and cached.
 * Returns 0 with *gbs set, or -1 when unknown. */
int membw_peak(double *gbs, int measure_if_missing);

#endif
