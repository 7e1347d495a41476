/* ternary_ref.c - the 8-row layouts of the ternary VNNI kernels (kernels/ternary.h) and
 * their scalar references: each packed block turned back into its 8 file blocks
 * (unpack_rows, by the layout's own runs) and vec_dot_tq*_ref run on each row's one
 * super-block at a time, the terms added in order, which is exactly the row reference's
 * sum (0 + x is x). */
#include <string.h>

#include "../../quant/blocks.h"
#include "../ternary.h"
#include "ref.h"

/* {from, len, count, at, at_step, row_step}: d of row r at 2 r; TQ2_0's code bytes in
 * 4-byte pieces, contiguous at 16 + 64 r; TQ1_0's 52 code bytes (qs, then qh) in 8-byte
 * pieces m = 0..5 at 16 + 64 m + 8 r, the last 4 (qh) at 400 + 4 r */
const x8_layout x8_tq2_0 = {
    QT_TQ2_0, 2, {{64, 2, 1, 0, 0, 2}, {0, 4, 16, 16, 4, 64}}, tile_tq2_0x8_ref, NULL, NULL, 0};
const x8_layout x8_tq1_0 = {QT_TQ1_0,
                            3,
                            {{52, 2, 1, 0, 0, 2}, {0, 8, 6, 16, 64, 8}, {48, 4, 1, 400, 0, 4}},
                            tile_tq1_0x8_ref,
                            NULL,
                            NULL,
                            0};

/* bb: the file block's bytes */
static void tile_x8_ref(const x8_layout *layout, vec_dot_fn dot, size_t bb, int64_t n, float *s,
                        size_t s_stride, const uint8_t *w, size_t w_stride, int nrows,
                        const uint8_t *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    for (int g = 0; g < nrows / REPACK_ROWS; g++)
        for (int64_t i = 0; i < nb; i++) {
            const uint8_t *x8 = w + (size_t)g * REPACK_ROWS * w_stride + (size_t)i * REPACK_ROWS * bb;
            uint8_t blocks[REPACK_ROWS * sizeof(block_tq2_0)];
            unpack_rows(layout, REPACK_ROWS, QK_K, x8, blocks);
            for (int b = 0; b < nact; b++)
                for (int r = 0; r < REPACK_ROWS; r++) {
                    float term, *out = &s[b * s_stride + g * REPACK_ROWS + r];
                    dot(QK_K, &term, blocks + r * bb, a + b * a_stride + i * sizeof(block_q8_K));
                    *out = (i ? *out : 0.0f) + term;
                }
        }
}

void tile_tq2_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    tile_x8_ref(&x8_tq2_0, vec_dot_tq2_0_ref, sizeof(block_tq2_0), n, s, s_stride, w, w_stride,
                nrows, a, a_stride, nact);
}

void tile_tq1_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    tile_x8_ref(&x8_tq1_0, vec_dot_tq1_0_ref, sizeof(block_tq1_0), n, s, s_stride, w, w_stride,
                nrows, a, a_stride, nact);
}
