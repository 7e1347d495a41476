/* avx2_tile.c - Q4_0 and Q8_0 weights against Q8_0 activations, NR rows x NA activations
 * at a time (vec_dot_tile of the type table).
 *
 * Decode (one activation) walks 4 rows together: each activation block is loaded and
 * summed once for 4 rows, and 4 independent accumulators hide the FMA latency. Batches
 * walk 4 rows x 2 activations: each weight block is unpacked once for 2 tokens.
 *
 * Q4_0 without the sign trick: the nibbles q (0..15) are unsigned, so
 *   sum (q - 8) y = sum q y - sum 8 y,
 * both as int16 pairs from maddubs (|pair| <= 2 * 15 * 127 and 2 * 8 * 127: no saturation),
 * subtracted before one madd to int32: the block sum is exact, as in the reference. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

#define MAX_NR 4
#define MAX_NA 2

/* One NR x NA tile over all blocks; s[j * s_stride + r]. NR, NA are constants at each
 * call site, so the arrays below live in registers. */
static inline __attribute__((always_inline)) void tile_q4_0(
    int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, const char *a,
    size_t a_stride, const int NR, const int NA) {
    const __m256i ones = _mm256_set1_epi16(1), eight = _mm256_set1_epi8(8);
    __m256 acc[MAX_NR][MAX_NA];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) acc[r][j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i qy[MAX_NA], y8[MAX_NA];
        __m256 dy[MAX_NA];
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *y = (const block_q8_0 *)(a + j * a_stride) + i;
            qy[j] = _mm256_loadu_si256((const __m256i *)y->qs);
            y8[j] = _mm256_maddubs_epi16(eight, qy[j]);
            dy[j] = _mm256_set1_ps(half_f16c(y->d));
        }
        for (int r = 0; r < NR; r++) {
            const block_q4_0 *x = (const block_q4_0 *)(w + r * w_stride) + i;
            __m256i qx = unpack_nibbles(x->qs);
            __m256 dx = _mm256_set1_ps(half_f16c(x->d));
            for (int j = 0; j < NA; j++) {
                __m256i pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(qx, qy[j]), y8[j]);
                __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
                acc[r][j] = _mm256_fmadd_ps(p, _mm256_mul_ps(dx, dy[j]), acc[r][j]);
            }
        }
    }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) s[j * s_stride + r] = hsum_f32x8(acc[r][j]);
}

/* Q8_0 x Q8_0: sign trick, |x| (unsigned) times y with x's sign. */
static inline __attribute__((always_inline)) void tile_q8_0(
    int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, const char *a,
    size_t a_stride, const int NR, const int NA) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_NR][MAX_NA];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) acc[r][j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i qy[MAX_NA];
        __m256 dy[MAX_NA];
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *y = (const block_q8_0 *)(a + j * a_stride) + i;
            qy[j] = _mm256_loadu_si256((const __m256i *)y->qs);
            dy[j] = _mm256_set1_ps(half_f16c(y->d));
        }
        for (int r = 0; r < NR; r++) {
            const block_q8_0 *x = (const block_q8_0 *)(w + r * w_stride) + i;
            __m256i qx = _mm256_loadu_si256((const __m256i *)x->qs);
            __m256i ax = _mm256_sign_epi8(qx, qx);
            __m256 dx = _mm256_set1_ps(half_f16c(x->d));
            for (int j = 0; j < NA; j++) {
                __m256i pairs = _mm256_maddubs_epi16(ax, _mm256_sign_epi8(qy[j], qx));
                __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
                acc[r][j] = _mm256_fmadd_ps(p, _mm256_mul_ps(dx, dy[j]), acc[r][j]);
            }
        }
    }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) s[j * s_stride + r] = hsum_f32x8(acc[r][j]);
}

/* Rows in groups of 4 (then singles), activations in pairs (then a single). */
#define DEFINE_TILE(name, tile)                                                               \
    static inline __attribute__((always_inline)) void name##_rows(                           \
        int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, int nrows,     \
        const char *a, size_t a_stride, const int NA) {                                       \
        int r = 0;                                                                            \
        for (; r + 4 <= nrows; r += 4)                                                        \
            tile(nb, s + r, s_stride, w + r * w_stride, w_stride, a, a_stride, 4, NA);        \
        for (; r < nrows; r++)                                                                \
            tile(nb, s + r, s_stride, w + r * w_stride, w_stride, a, a_stride, 1, NA);        \
    }                                                                                         \
    void vec_dot_tile_##name##_avx2(int64_t n, float *s, size_t s_stride, const void *w,     \
                                    size_t w_stride, int nrows, const void *a,                \
                                    size_t a_stride, int nact) {                              \
        const int64_t nb = n / QK32;                                                          \
        int j = 0;                                                                            \
        for (; j + 2 <= nact; j += 2)                                                         \
            name##_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows,                   \
                        (const char *)a + j * a_stride, a_stride, 2);                         \
        for (; j < nact; j++)                                                                 \
            name##_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows,                   \
                        (const char *)a + j * a_stride, a_stride, 1);                         \
    }

DEFINE_TILE(q4_0, tile_q4_0)
DEFINE_TILE(q8_0, tile_q8_0)
