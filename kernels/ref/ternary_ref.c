/* ternary_ref.c - the 8-row layouts of the ternary VNNI kernels (kernels/ternary.h) and
 * their scalar references: each row's file block rebuilt from the packed block and
 * vec_dot_tq*_ref run on it one super-block at a time, the terms added in order, which is
 * exactly the row reference's sum (0 + x is x). */
#include <string.h>

#include "../../quant/blocks.h"
#include "../ternary.h"
#include "ref.h"

/* {from, len, count, at, at_step, row_step}: d of row r at 2 r; its code bytes in 4-byte
 * pieces, contiguous at 16 + row_bytes r */
const x8_layout x8_tq2_0 = {
    QT_TQ2_0, 2, {{64, 2, 1, 0, 0, 2}, {0, 4, 16, 16, 4, 64}}, tile_tq2_0x8_ref, NULL, NULL, 0};
const x8_layout x8_tq1_0 = {
    QT_TQ1_0, 2, {{52, 2, 1, 0, 0, 2}, {0, 4, 13, 16, 4, 52}}, tile_tq1_0x8_ref, NULL, NULL, 0};

/* codes: bytes of a row's codes in the packed block (64, 52), d_at: where d sits in the
 * file block, bb: the file block's bytes */
static void tile_x8_ref(vec_dot_fn dot, int codes, int d_at, size_t bb, int64_t n, float *s,
                        size_t s_stride, const uint8_t *w, size_t w_stride, int nrows,
                        const uint8_t *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    for (int b = 0; b < nact; b++)
        for (int r = 0; r < nrows; r++) {
            const uint8_t *group = w + (size_t)(r / REPACK_ROWS) * REPACK_ROWS * w_stride;
            float sum = 0;
            for (int64_t i = 0; i < nb; i++) {
                const uint8_t *x8 = group + (size_t)i * REPACK_ROWS * bb;
                uint8_t one[sizeof(block_tq2_0)];
                memcpy(one, x8 + 16 + codes * (r % REPACK_ROWS), (size_t)codes);
                memcpy(one + d_at, x8 + 2 * (r % REPACK_ROWS), 2);
                float term;
                dot(QK_K, &term, one, a + b * a_stride + i * sizeof(block_q8_K));
                sum += term;
            }
            s[b * s_stride + r] = sum;
        }
}

void tile_tq2_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    tile_x8_ref(vec_dot_tq2_0_ref, QK_K / 4, QK_K / 4, sizeof(block_tq2_0), n, s, s_stride, w,
                w_stride, nrows, a, a_stride, nact);
}

void tile_tq1_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    tile_x8_ref(vec_dot_tq1_0_ref, 52, 52, sizeof(block_tq1_0), n, s, s_stride, w, w_stride,
                nrows, a, a_stride, nact);
}
