/* avx2_tile.c - Q4_0 and Q8_0 weights against Q8_0 activations, NR rows x NA activations
 * at a time (vec_dot_tile of the ISA tables, kernels/cpu.h): the walk of tile_rows.h with
 * AVX2 products.
 *
 * Q4_0 without the sign trick: the nibbles q (0..15) are unsigned, so
 *   sum (q - 8) y = sum q y - sum 8 y,
 * both as int16 pairs from maddubs (|pair| <= 2 * 15 * 127 and 2 * 8 * 127: no saturation),
 * subtracted before one madd to int32: the block sum is exact, as in the reference.
 * Q8_0 x Q8_0: sign trick, |x| (unsigned) times y with x's sign. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"
#include "tile_rows.h"

/* Q4_0: the int16 pairs of 8 y; Q8_0: nothing */
static inline __m256i act_prep(__m256i qy, const int KIND) {
    return KIND == TILE_Q4_0 ? _mm256_maddubs_epi16(_mm256_set1_epi8(8), qy) : qy;
}

/* Q4_0: the nibbles; Q8_0: the codes and their absolute values */
static inline void row_prep(const uint8_t *qs, const int KIND, __m256i w[2]) {
    if (KIND == TILE_Q4_0) {
        w[0] = w[1] = unpack_nibbles(qs);
        return;
    }
    w[0] = _mm256_loadu_si256((const __m256i *)qs);
    w[1] = _mm256_sign_epi8(w[0], w[0]);
}

static inline __m256i block_dot(const __m256i w[2], __m256i qy, __m256i prep, const int KIND) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (KIND == TILE_Q4_0)
        return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(w[0], qy), prep), ones);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w[1], _mm256_sign_epi8(qy, w[0])), ones);
}

void vec_dot_tile_q4_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact) {
    tile_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, TILE_Q4_0);
}

void vec_dot_tile_q8_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact) {
    tile_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, TILE_Q8_0);
}
