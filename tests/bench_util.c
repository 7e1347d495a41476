/* bench_util.c - see bench_util.h. */
#include "bench_util.h"

#include <time.h>

#include "kernel_ctx_util.h"

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double bench_best_matmul(const qmatrix *W, const float *X, int64_t B, float *Y, double budget) {
    matmul(test_kernels(), W, X, B, Y);
    double best = 1e30, t0 = bench_now();
    do {
        double t1 = bench_now();
        matmul(test_kernels(), W, X, B, Y);
        double t = bench_now() - t1;
        if (t < best) best = t;
    } while (bench_now() - t0 < budget);
    return best;
}
