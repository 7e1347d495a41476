/* bench_util.h - timing for the SCARCE_KBENCH=1 figures of the kernel tests (not checks). */
#ifndef SCARCE_BENCH_UTIL_H
#define SCARCE_BENCH_UTIL_H

#include <stdint.h>

#include "../kernels/matmul.h"

/* Monotonic clock, seconds. */
double bench_now(void);
/* Seconds of the fastest matmul(W, X, B, Y) among those made in `budget` seconds after one
 * warm-up call: on a shared machine the minimum is the least disturbed call. */
double bench_best_matmul(const qmatrix *W, const float *X, int64_t B, float *Y, double budget);

#endif
