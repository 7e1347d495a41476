/* avx2_repack.c - gemv over the 8-row interleaved Q4_0 / Q8_0 layout (kernels/repack.h).
 *
 * One 256-bit load of a packed block holds 4 weights of each of 8 rows (lane = row), so
 * the activation is broadcast 4 bytes at a time and one maddubs multiplies 32 weights of
 * 8 rows. The per-block fold (int32 -> float, x scales, accumulate) is done once for the
 * 8 rows, and the 8 row sums come out as one vector: no horizontal sums. Two groups (16
 * rows) share each broadcast.
 *
 * Float operations per row are those of the scalar reference (exact block sum, scale
 * product, then mul and add rather than fma): results are bit-identical to it.
 *
 * Q4_0: nibbles q (0..15) stay unsigned, so maddubs(q, y) needs no sign trick and
 *   sum (q - 8) y = sum q y - 8 sum y,
 * with 8 sum y computed once per activation block for all rows. The 8 maddubs of a block
 * add up in int16: 8 x 2 x 15 x 128 = 30720 < 32767. Q8_0 uses the sign trick
 * (|w| x sign(y, w)); its int16 pairs (up to 2 x 128 x 127) go to int32 after each. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"

#define MAX_NG 2
/* Activation blocks whose sums are kept at once (16384 columns: one span for most models) */
#define SPAN_BLOCKS 512

static inline __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* The 8 rows' scales of a packed block times the activation block's scale. */
static inline __m256 block_scales(const uint8_t *blk, uint16_t dy) {
    __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
    return _mm256_mul_ps(dx, _mm256_set1_ps(half_f16c(dy)));
}

/* acc = acc + isum x scale, rounded as the reference rounds it */
static inline __m256 fold(__m256 acc, __m256i isum, __m256 scale) {
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(isum), scale));
}

/* NG groups over activation blocks [i0, i1); y += (accumulate) or y = the group sums.
 * w: first group's packed data, group_bytes apart; ysum8[i - i0] = 8 sum of block i. */
static inline __attribute__((always_inline)) void q4_groups(
    int64_t nb, int64_t i0, int64_t i1, float *y, const uint8_t *w, const block_q8_0 *a,
    const int32_t *ysum8, int accumulate, const int NG) {
    const size_t bb = REPACK_ROWS * sizeof(block_q4_0), group_bytes = (size_t)nb * bb;
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_NG];
    for (int g = 0; g < NG; g++)
        acc[g] = accumulate ? _mm256_loadu_ps(y + 8 * g) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = w + i * bb;
        __m256i s16[MAX_NG];
        for (int g = 0; g < NG; g++) s16[g] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i ylo = bcast4(a[i].qs + 4 * c), yhi = bcast4(a[i].qs + 16 + 4 * c);
            for (int g = 0; g < NG; g++) {
                __m256i raw = _mm256_loadu_si256(
                    (const __m256i *)(blk + g * group_bytes + 2 * REPACK_ROWS + 32 * c));
                __m256i lo = _mm256_and_si256(raw, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                s16[g] = _mm256_add_epi16(s16[g], _mm256_maddubs_epi16(lo, ylo));
                s16[g] = _mm256_add_epi16(s16[g], _mm256_maddubs_epi16(hi, yhi));
            }
        }
        __m256i offset = _mm256_set1_epi32(ysum8[i - i0]);
        for (int g = 0; g < NG; g++) {
            __m256i isum = _mm256_sub_epi32(_mm256_madd_epi16(s16[g], ones), offset);
            acc[g] = fold(acc[g], isum, block_scales(blk + g * group_bytes, a[i].d));
        }
    }
    for (int g = 0; g < NG; g++) _mm256_storeu_ps(y + 8 * g, acc[g]);
}

void gemv_q4_0x8_avx2(int64_t cols, float *y, const void *packed, int64_t rows, const void *act) {
    const int64_t nb = cols / QK32, n_groups = rows / REPACK_ROWS;
    const size_t group_bytes = (size_t)nb * REPACK_ROWS * sizeof(block_q4_0);
    const block_q8_0 *a = act;
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    int32_t ysum8[SPAN_BLOCKS];
    for (int64_t i0 = 0; i0 < nb; i0 += SPAN_BLOCKS) {
        int64_t i1 = i0 + SPAN_BLOCKS < nb ? i0 + SPAN_BLOCKS : nb;
        for (int64_t i = i0; i < i1; i++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)a[i].qs);
            __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
            ysum8[i - i0] = 8 * _mm_cvtsi128_si32(h);
        }
        const uint8_t *w = packed;
        int64_t g = 0;
        for (; g + 2 <= n_groups; g += 2)
            q4_groups(nb, i0, i1, y + g * REPACK_ROWS, w + g * group_bytes, a, ysum8, i0 > 0, 2);
        for (; g < n_groups; g++)
            q4_groups(nb, i0, i1, y + g * REPACK_ROWS, w + g * group_bytes, a, ysum8, i0 > 0, 1);
    }
}

static inline __attribute__((always_inline)) void q8_groups(int64_t nb, float *y, const uint8_t *w,
                                                            const block_q8_0 *a, const int NG) {
    const size_t bb = REPACK_ROWS * sizeof(block_q8_0), group_bytes = (size_t)nb * bb;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_NG];
    for (int g = 0; g < NG; g++) acc[g] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *blk = w + i * bb;
        __m256i s32[MAX_NG];
        for (int g = 0; g < NG; g++) s32[g] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++) {
            __m256i yb = bcast4(a[i].qs + 4 * c);
            for (int g = 0; g < NG; g++) {
                __m256i q = _mm256_loadu_si256(
                    (const __m256i *)(blk + g * group_bytes + 2 * REPACK_ROWS + 32 * c));
                __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(yb, q));
                s32[g] = _mm256_add_epi32(s32[g], _mm256_madd_epi16(pairs, ones));
            }
        }
        for (int g = 0; g < NG; g++)
            acc[g] = fold(acc[g], s32[g], block_scales(blk + g * group_bytes, a[i].d));
    }
    for (int g = 0; g < NG; g++) _mm256_storeu_ps(y + 8 * g, acc[g]);
}

void gemv_q8_0x8_avx2(int64_t cols, float *y, const void *packed, int64_t rows, const void *act) {
    const int64_t nb = cols / QK32, n_groups = rows / REPACK_ROWS;
    const size_t group_bytes = (size_t)nb * REPACK_ROWS * sizeof(block_q8_0);
    const uint8_t *w = packed;
    int64_t g = 0;
    for (; g + 2 <= n_groups; g += 2)
        q8_groups(nb, y + g * REPACK_ROWS, w + g * group_bytes, act, 2);
    for (; g < n_groups; g++) q8_groups(nb, y + g * REPACK_ROWS, w + g * group_bytes, act, 1);
}
