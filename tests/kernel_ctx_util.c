/* kernel_ctx_util.c - see kernel_ctx_util.h. */
#include "kernel_ctx_util.h"

#include <stdlib.h>

#include "../quant/types.h"

static kernel_ctx *ctx;

int test_kernel_set(const kernel_config *cfg) {
    kernel_config want = *cfg;
    want.isa = kernels_isa();
    want.rescue = 0; /* tests free their matrices while this context lives (kconfig.h) */
    const kernel_shape shape = {.max_cols = TEST_KERNEL_MAX_COLS,
                                .max_row_bytes = TEST_KERNEL_MAX_COLS * sizeof(float),
                                .max_batch = TEST_KERNEL_MAX_BATCH};
    char msg[128];
    kernel_ctx *made = kernel_ctx_new(&want, &shape, msg);
    if (!made) return -1;
    kernel_ctx_free(ctx);
    ctx = made;
    return 0;
}

kernel_ctx *test_kernels(void) {
    if (!ctx || kernel_ctx_config(ctx)->isa != kernels_isa()) {
        const kernel_config cfg = ctx ? *kernel_ctx_config(ctx) : kernel_config_default();
        if (test_kernel_set(&cfg)) return NULL;
    }
    return ctx;
}

kernel_config test_kernel_config(void) {
    return *kernel_ctx_config(test_kernels());
}

void test_kernel_threads(int n_threads) {
    char msg[128];
    kernel_ctx_set_threads(test_kernels(), n_threads, msg);
}

static unsigned rng = 99;

float test_uniform(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

qmatrix test_random_matrix(uint32_t type, int64_t rows, int64_t cols) {
    const size_t row_bytes = qtype_row_bytes(type, cols);
    char *data = malloc(row_bytes * rows);
    float *row = malloc(cols * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < cols; i++) row[i] = test_uniform();
        qtype(type)->quantize(row, data + r * row_bytes, cols, NULL);
    }
    free(row);
    return (qmatrix){
        .data = data, .type = type, .rows = rows, .cols = cols, .row_bytes = row_bytes};
}
