/* lut.c - the scalar references of the LUT kernels (kernels/lut.h): for every group of 4
 * activations the table T[p] = sum_j bit_j(p) a_j, then for every row and bit plane the
 * group's 4 bits as an index into it. Written for clarity: a group's table is built where
 * it is used. Per row the integer sums equal vec_dot_{q1_0,q2_0,tq2_0}_ref's and the float
 * steps are theirs, in their order, so the results are equal bit for bit. */
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "../lut.h"

/* The 16 sums of the subsets of a[0..3]: bit j of p selects a[j]. */
static void group_table(const int8_t *a, int T[16]) {
    for (int p = 0; p < 16; p++) {
        T[p] = 0;
        for (int j = 0; j < 4; j++)
            if ((p >> j) & 1) T[p] += a[j];
    }
}

/* Row r's index of group q (columns 4q .. 4q+3 of the block), plane p. */
static int group_index(const uint8_t *x8, int planes, int q, int p, int r) {
    const uint8_t *unit = x8 + 16 + (size_t)(q / 4) * 16 * planes;
    int index = 0;
    for (int j = 0; j < 4; j++) {
        int bit, at = lut_bit_pos(planes, 4 * (q % 4) + j, p, r, &bit);
        index |= ((unit[at] >> bit) & 1) << j;
    }
    return index;
}

/* Over columns [c0, c0 + len) of packed block x8 against their activation codes a[0..len):
 * S[p] = sum of the looked-up entries of plane p; returns A = sum a. */
static int lookup_sums(const uint8_t *x8, int planes, int r, int c0, int len, const int8_t *a,
                       int S[2]) {
    int A = 0, T[16];
    S[0] = S[1] = 0;
    for (int k = 0; k < len; k += 4) {
        group_table(a + k, T);
        for (int p = 0; p < planes; p++) S[p] += T[group_index(x8, planes, (c0 + k) / 4, p, r)];
        A += a[k] + a[k + 1] + a[k + 2] + a[k + 3];
    }
    return A;
}

/* Packed block i of the group holding row `row` (w: the tile's first group). */
static const uint8_t *packed_block(const void *w, size_t w_stride, int64_t n, int block, int row,
                                   int64_t i) {
    const int64_t nb = n / block;
    return (const uint8_t *)w + ((row / REPACK_ROWS) * nb + i) * REPACK_ROWS * (w_stride / nb);
}

/* Q1_0 and Q2_0: per weight block the Q8_0 blocks' sums scaled by their d_a, then by d
 * (vec_dot_q1_0_ref, vec_dot_q2_0_ref). sumi: Q1_0 2 S0 - A, Q2_0 S0 + 2 S1 - A. */
static float row_q8_0(int64_t n, int block, int planes, const void *w, size_t w_stride, int row,
                      const block_q8_0 *a) {
    float sum = 0;
    for (int64_t i = 0; i < n / block; i++) {
        const uint8_t *x8 = packed_block(w, w_stride, n, block, row, i);
        float block_sum = 0;
        for (int k = 0; k < block / QK32; k++) {
            const block_q8_0 *y = &a[i * (block / QK32) + k];
            int S[2], A = lookup_sums(x8, planes, row % REPACK_ROWS, QK32 * k, QK32, y->qs, S);
            int sumi = planes == 1 ? 2 * S[0] - A : S[0] + 2 * S[1] - A;
            block_sum += (float)sumi * fp16_to_f32(y->d);
        }
        uint16_t d;
        memcpy(&d, x8 + 2 * (row % REPACK_ROWS), 2);
        sum += block_sum * fp16_to_f32(d);
    }
    return sum;
}

static void tile_q8_0(int block, int planes, int64_t n, float *s, size_t s_stride, const void *w,
                      size_t w_stride, int nrows, const void *a, size_t a_stride, int nact) {
    for (int b = 0; b < nact; b++)
        for (int r = 0; r < nrows; r++)
            s[b * s_stride + r] = row_q8_0(n, block, planes, w, w_stride, r,
                                           (const block_q8_0 *)((const char *)a + b * a_stride));
}

void tile_lut_q1_0_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                       int nrows, const void *a, size_t a_stride, int nact) {
    tile_q8_0(128, 1, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

void tile_lut_q2_0_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                       int nrows, const void *a, size_t a_stride, int nact) {
    tile_q8_0(64, 2, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

/* TQ2_0: per super-block S0 + 2 S1 - A times d d_a (vec_dot_tq2_0_ref). */
void tile_lut_tq2_0_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    for (int b = 0; b < nact; b++) {
        const block_q8_K *y = (const block_q8_K *)((const char *)a + b * a_stride);
        for (int r = 0; r < nrows; r++) {
            float sum = 0;
            for (int64_t i = 0; i < n / QK_K; i++) {
                const uint8_t *x8 = packed_block(w, w_stride, n, QK_K, r, i);
                int S[2], A = lookup_sums(x8, 2, r % REPACK_ROWS, 0, QK_K, y[i].qs, S);
                uint16_t d;
                memcpy(&d, x8 + 2 * (r % REPACK_ROWS), 2);
                sum += (float)(S[0] + 2 * S[1] - A) * (fp16_to_f32(d) * y[i].d);
            }
            s[b * s_stride + r] = sum;
        }
    }
}
