/* membw.h - the machine's streaming memory bandwidth: the speed limit of token generation
 * (see ../shared/DESIGN.md, "Instrumentation"), measured by `scarce membw` and cached per
 * CPU so that every run can report its achieved GB/s as a % of this peak. */
#ifndef SCARCE_MEMBW_H
#define SCARCE_MEMBW_H

#include <stddef.h>

#include "error.h"

/* Streaming bandwidth with n_threads threads over a buffer of `bytes` (first-touched by
 * the threads that read it): read = sum of every 8-byte word with independent
 * accumulators, copy = memcpy of half the buffer onto the other half (counted as read +
 * write bytes, like STREAM). Medians of `reps` timed runs after one warm-up; GB = 1e9. */
typedef struct {
    int n_threads;
    double read_gb_s, copy_gb_s;
} membw_result;

/* Measures 1..max_threads threads into out[0..max_threads). */
int membw_measure(int max_threads, size_t bytes, int reps, membw_result *out, scarce_error *err);

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
