/* avx512_repack.c - gemv over the 8-row interleaved Q4_0 / Q4_1 / Q8_0 layout
 * (kernels/repack.h) with AVX-512 VNNI.
 *
 * The walk of avx2_repack.c (see there): lane = row, the activation broadcast 4 bytes at a
 * time, two groups (16 rows) per broadcast in decode, one group x up to 4 activations in
 * batches, the fold of a block done for 8 rows at once. What changes is the product: one
 * vpdpbusd per 32 weights of 8 rows adds the 4-byte dot of each row straight into int32
 * (AVX2: maddubs, an int16 add, and a madd per block). The codes go in unsigned:
 *   Q4_0: q (0..15), sum (q - 8) y = sum q y - 8 sum y
 *   Q4_1: q (0..15), x = d q + m (the m term uses sum y)
 *   Q8_0: q + 128 = q ^ 0x80 (0..255), sum q y = sum (q + 128) y - 128 sum y
 * with k sum y computed once per activation block for all rows. All sums are exact in
 * int32 for every code (Q8_0's -128 included, unlike the AVX2 sign trick), and the float
 * operations per row are the reference's (mul, then add; Q4_1 as tile_q4_1x8_ref): results
 * are bit-identical to tile_*x8_ref. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx512.h"
#include "avx512_util.h"
#include "repack_x8_walk.h"

/* the code offset: Q4_0 q - 8, Q8_0 (q ^ 0x80) - 128, Q4_1 none (its m term takes sum y) */
static inline int32_t ysum_mult(const int KIND) {
    return KIND == KIND_Q8_0 ? 128 : KIND == KIND_Q4_0 ? 8 : 1;
}

/* NG groups x NA activations over blocks [i0, i1); y += (accumulate) or y = sums.
 * ysum[j][i - i0]: activation j's block i sum times the code offset. */
static inline __attribute__((always_inline)) void x8_tile(const tile_args *t, int64_t i0,
                                                          int64_t i1, int32_t (*ysum)[SPAN_BLOCKS],
                                                          int accumulate, const int NG,
                                                          const int NA, const int KIND) {
    const size_t bb = x8_bytes(KIND), head = head_bytes(KIND);
    const __m256i m4 = _mm256_set1_epi8(0x0F), bias = _mm256_set1_epi8((char)0x80);
    __m256 acc[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++)
            acc[g][j] =
                accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride + 8 * g) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = t->w + i * bb;
        __m256i s32[MAX_NG][MAX_NA];
        for (int g = 0; g < NG; g++)
            for (int j = 0; j < NA; j++) s32[g][j] = _mm256_setzero_si256();
        for (int c = 0; c < (KIND == KIND_Q8_0 ? 8 : 4); c++)
            for (int g = 0; g < NG; g++) {
                __m256i raw =
                    _mm256_loadu_si256((const __m256i *)(blk + g * t->group_bytes + head + 32 * c));
                for (int j = 0; j < NA; j++) {
                    const int8_t *qs = act_row(t, j)[i].qs;
                    if (KIND == KIND_Q8_0) {
                        s32[g][j] =
                            dpbusd(s32[g][j], _mm256_xor_si256(raw, bias), bcast4(qs + 4 * c));
                    } else {
                        __m256i lo = _mm256_and_si256(raw, m4);
                        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                        s32[g][j] = dpbusd(s32[g][j], lo, bcast4(qs + 4 * c));
                        s32[g][j] = dpbusd(s32[g][j], hi, bcast4(qs + 16 + 4 * c));
                    }
                }
            }
        for (int g = 0; g < NG; g++) {
            const uint8_t *gblk = blk + g * t->group_bytes;
            __m256 dx = load_scales(gblk);
            for (int j = 0; j < NA; j++)
                acc[g][j] = fold(acc[g][j], s32[g][j], dx, gblk, act_row(t, j)[i].d,
                                 ysum_mult(KIND) ? ysum[j][i - i0] : 0, KIND);
        }
    }
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride + 8 * g, acc[g][j]);
}

static inline __m256i code_sums(__m256i q) {
    return sum_s8(q);
}

void tile_q4_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_0);
}

void tile_q4_1x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_1);
}

void tile_q8_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q8_0);
}
