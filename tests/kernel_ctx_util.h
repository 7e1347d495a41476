/* kernel_ctx_util.h - the kernel context of the tests that call matmul directly (not
 * through a model): one per test process, sized for every matrix they build. */
#ifndef SCARCE_KERNEL_CTX_UTIL_H
#define SCARCE_KERNEL_CTX_UTIL_H

#include "../kernels/matmul.h"

/* Sized for matrices up to this many columns, rows of 64 KiB and batches of 128. */
#define TEST_KERNEL_MAX_COLS 16384
#define TEST_KERNEL_MAX_BATCH 128

/* The context, with the ISA kernels_init installed last (re-made when that changed).
 * NULL only when out of memory. */
kernel_ctx *test_kernels(void);
/* Its configuration now. */
kernel_config test_kernel_config(void);
/* Re-makes it with cfg (its ISA replaced by the installed one). 0 or -1. */
int test_kernel_set(const kernel_config *cfg);
/* Threads of its matmuls. */
void test_kernel_threads(int n_threads);

/* Uniform in [-1, 1), one fixed sequence per process. */
float test_uniform(void);
/* rows x cols of `type` quantized from uniform floats in [-1, 1) (one fixed sequence per
 * process), quant/'s quantizer; free((void *)W.data). */
qmatrix test_random_matrix(uint32_t type, int64_t rows, int64_t cols);

#endif
