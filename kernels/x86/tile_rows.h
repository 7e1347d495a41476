/* tile_rows.h - block-32 weights (file layout: Q4_0, Q8_0, Q5_0, Q5_1, IQ4_NL) against Q8_0
 * activations, NR rows x NA activations at a time (vec_dot_tile of the ISA tables,
 * kernels/cpu.h): the walk shared by the AVX2 and AVX-512 kernels, tile_all. The row
 * kernels of Q5_0, Q5_1 and IQ4_NL are this walk with one row and one activation, so a
 * tile's sums are bit-identical to the row kernel's (tests/test_gemm.c).
 *
 * Decode (one activation) walks 4 rows together: each activation block is loaded and
 * prepared once for 4 rows, and 4 independent accumulators hide the FMA latency. Batches
 * (prefill, speculative verification) walk 4 rows x 2 activations: each weight block is
 * unpacked once for 2 tokens. Per block and pair, the exact integer sum, then one FMA with
 * d_w d_a (Q5_1, x = d q + m: acc + (isum d_w d_a + sum(a) m d_a), the two terms of a block
 * meeting before the accumulator as in vec_dot_q4_1): only the float order differs from the
 * reference.
 *
 * The including file defines (declared below) the integer products, where the ISAs differ:
 *   act_prep(qy, KIND)         what the activation block contributes to every row (once):
 *                              k sum(a) for a code offset k, sum(a) lanes for Q5_1
 *   row_prep(blk, KIND, w)     the weight block's codes as the product wants them (w[2])
 *   block_dot(w, qy, prep, KIND)  8 int32 lanes whose sum is the block's sum q a, exact
 *   tile_x4_one(nb, s, w, w_stride, a, KIND)  the decode tile (4 rows x 1 activation):
 *                              tile_x's sums bit for bit (AVX2: tile_x itself) */
#ifndef SCARCE_TILE_ROWS_H
#define SCARCE_TILE_ROWS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2_util.h"

#define MAX_NR 4
#define MAX_NA 2

enum { TILE_Q4_0, TILE_Q8_0, TILE_Q5_0, TILE_Q5_1, TILE_IQ4_NL };

static inline __m256i act_prep(__m256i qy, const int KIND);
static inline void row_prep(const uint8_t *blk, const int KIND, __m256i w[2]);
static inline __m256i block_dot(const __m256i w[2], __m256i qy, __m256i prep, const int KIND);
static inline void tile_x4_one(int64_t nb, float *s, const char *w, size_t w_stride,
                               const char *a, const int KIND);

/* Bytes of one weight block. Every block starts with its fp16 d; Q5_1's m follows it. */
static inline size_t tile_block_bytes(const int KIND) {
    return KIND == TILE_Q8_0   ? sizeof(block_q8_0)
           : KIND == TILE_Q5_0 ? sizeof(block_q5_0)
           : KIND == TILE_Q5_1 ? sizeof(block_q5_1)
                               : sizeof(block_q4_0); /* Q4_0, IQ4_NL */
}

/* One NR x NA tile over all blocks; s[j * s_stride + r]. NR, NA are constants at each
 * call site, so the arrays below live in registers. */
static inline __attribute__((always_inline)) void
tile_x(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, const char *a,
       size_t a_stride, const int NR, const int NA, const int KIND) {
    const size_t bb = tile_block_bytes(KIND);
    __m256 acc[MAX_NR][MAX_NA];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) acc[r][j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i qy[MAX_NA], prep[MAX_NA];
        __m256 dy[MAX_NA], ysum[MAX_NA];
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *y = (const block_q8_0 *)(a + j * a_stride) + i;
            qy[j] = _mm256_loadu_si256((const __m256i *)y->qs);
            prep[j] = act_prep(qy[j], KIND);
            dy[j] = _mm256_set1_ps(half_f16c(y->d));
            if (KIND == TILE_Q5_1) ysum[j] = _mm256_cvtepi32_ps(prep[j]);
        }
        for (int r = 0; r < NR; r++) {
            const uint8_t *blk = (const uint8_t *)(w + r * w_stride) + i * bb;
            uint16_t d[2];
            memcpy(d, blk, sizeof d);
            __m256i wq[2];
            row_prep(blk, KIND, wq);
            __m256 dx = _mm256_set1_ps(half_f16c(d[0]));
            for (int j = 0; j < NA; j++) {
                __m256 p = _mm256_cvtepi32_ps(block_dot(wq, qy[j], prep[j], KIND));
                if (KIND == TILE_Q5_1) {
                    __m256 m = _mm256_mul_ps(ysum[j],
                                             _mm256_mul_ps(_mm256_set1_ps(half_f16c(d[1])), dy[j]));
                    acc[r][j] =
                        _mm256_add_ps(acc[r][j], _mm256_fmadd_ps(p, _mm256_mul_ps(dx, dy[j]), m));
                } else {
                    acc[r][j] = _mm256_fmadd_ps(p, _mm256_mul_ps(dx, dy[j]), acc[r][j]);
                }
            }
        }
    }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) s[j * s_stride + r] = hsum_f32x8(acc[r][j]);
}

/* Rows in groups of 4 (then singles) against NA activations. */
static inline __attribute__((always_inline)) void
tile_rows(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, int nrows,
          const char *a, size_t a_stride, const int NA, const int KIND) {
    int r = 0;
    for (; r + MAX_NR <= nrows; r += MAX_NR)
        if (NA == 1)
            tile_x4_one(nb, s + r, w + r * w_stride, w_stride, a, KIND);
        else
            tile_x(nb, s + r, s_stride, w + r * w_stride, w_stride, a, a_stride, MAX_NR, NA, KIND);
    for (; r < nrows; r++)
        tile_x(nb, s + r, s_stride, w + r * w_stride, w_stride, a, a_stride, 1, NA, KIND);
}

/* Activations in pairs (then a single), each against every row. */
static inline __attribute__((always_inline)) void
tile_all(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride, int nrows,
         const void *a, size_t a_stride, int nact, const int KIND) {
    const int64_t nb = n / QK32;
    int j = 0;
    for (; j + MAX_NA <= nact; j += MAX_NA)
        tile_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows,
                  (const char *)a + j * a_stride, a_stride, MAX_NA, KIND);
    for (; j < nact; j++)
        tile_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows,
                  (const char *)a + j * a_stride, a_stride, 1, KIND);
}

/* The entry points of an ISA's file (isa = avx2, avx512): the tiles of the five kinds, and
 * the row kernels of Q5_0, Q5_1 and IQ4_NL, which are the 1 x 1 tile. */
#define TILE_ENTRY(isa, name, KIND)                                                                \
    void vec_dot_tile_##name##_##isa(int64_t n, float *s, size_t s_stride, const void *w,          \
                                     size_t w_stride, int nrows, const void *a, size_t a_stride,   \
                                     int nact) {                                                   \
        tile_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND);                     \
    }
#define ROW_ENTRY(isa, name, KIND)                                                                 \
    void vec_dot_##name##_##isa(int64_t n, float *s, const void *w, const void *a) {               \
        tile_all(n, s, 0, w, 0, 1, a, 0, 1, KIND);                                                 \
    }
#define TILE_ROWS_ENTRY_POINTS(isa)                                                                \
    TILE_ENTRY(isa, q4_0, TILE_Q4_0)                                                               \
    TILE_ENTRY(isa, q8_0, TILE_Q8_0)                                                               \
    TILE_ENTRY(isa, q5_0, TILE_Q5_0)                                                               \
    TILE_ENTRY(isa, q5_1, TILE_Q5_1)                                                               \
    TILE_ENTRY(isa, iq4_nl, TILE_IQ4_NL)                                                           \
    ROW_ENTRY(isa, q5_0, TILE_Q5_0)                                                                \
    ROW_ENTRY(isa, q5_1, TILE_Q5_1)                                                                \
    ROW_ENTRY(isa, iq4_nl, TILE_IQ4_NL)

#endif
