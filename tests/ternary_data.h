/* ternary_data.h - operands of the ternary kernel tests (test_ternary_x8.c, test_avx2_ternary.c):
 * raw TQ1_0 / TQ2_0 rows (any bytes, the trit boundaries, all 0xFF) with finite fp16 d, and
 * Q8_K activation rows (random, or every code one value). Each test passes its own generator,
 * so each keeps its own sequence. */
#ifndef SCARCE_TESTS_TERNARY_DATA_H
#define SCARCE_TESTS_TERNARY_DATA_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/ref/ref.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"

/* rows x cols of raw bytes of `type`: mode 0 random, 1 the boundary bytes (and their x_n
 * images) in turn, 2 all 0xFF; the fp16 d at d_at in each block finite, of either sign. */
static inline uint8_t *ternary_raw_rows(uint32_t type, size_t d_at, int64_t rows, int64_t cols,
                                        int mode, uint32_t (*rnd)(void)) {
    static const uint8_t edge[] = {0, 1, 85, 86, 87, 170, 171, 172, 242, 243, 254, 255};
    const size_t bytes = qtype_row_bytes(type, cols) * rows, bb = qtype(type)->block_bytes;
    uint8_t *w = malloc(bytes);
    for (size_t i = 0; i < bytes; i++)
        w[i] = mode == 0 ? (uint8_t)rnd() : mode == 1 ? edge[i % sizeof edge] : 0xFF;
    for (size_t b = 0; b < bytes / bb; b++) {
        uint16_t d = f32_to_fp16(((float)(rnd() % 2001) - 1000) / 400.0f);
        memcpy(w + b * bb + d_at, &d, 2);
    }
    return w;
}

/* nact Q8_K rows of cols from random floats, or every code `fill` with bsums to match. */
static inline block_q8_K *ternary_activations(int64_t cols, int nact, int fill,
                                              uint32_t (*rnd)(void)) {
    block_q8_K *a = malloc(sizeof *a * (size_t)(cols / QK_K) * nact);
    float *x = malloc(sizeof *x * cols);
    for (int b = 0; b < nact; b++) {
        block_q8_K *row = a + b * (cols / QK_K);
        for (int64_t i = 0; i < cols; i++) x[i] = (float)(rnd() % 20001) / 1000.0f - 10;
        quantize_row_q8_k_ref(x, row, cols);
        for (int64_t i = 0; fill && i < cols / QK_K; i++) {
            memset(row[i].qs, fill, QK_K);
            for (int k = 0; k < QK_K / 16; k++) row[i].bsums[k] = (int16_t)(16 * fill);
        }
    }
    free(x);
    return a;
}

#endif
