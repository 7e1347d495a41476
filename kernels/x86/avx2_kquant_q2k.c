/* avx2_kquant_q2k.c - Q2_K weights against Q8_K activations: vec_dot and NR x NA tiles.
 *
 * x = d * sc * q - dmin * m, 16 sub-blocks of 16, q = 2 bits, sc and m 4-bit integers.
 *   sum x a = d * da * sum_k sc_k sum q a  -  dmin * da * sum_k m_k bsums_k
 * The min term takes one madd of the 16 mins with the activation's 16 bsums.
 *
 * The scale goes into the codes before the multiply: q * sc (0..45) is looked up with
 * pshufb in a 4-byte table (0, sc, 2 sc, 3 sc) per sub-block, and a 32-byte chunk of codes
 * is exactly two sub-blocks (one per 128-bit lane). So maddubs gives int16 pairs of
 * sc * q * a directly, and no per-sub-block multiply by the scale remains: two chunks'
 * pairs are added in int16 and go to int32 in one madd with ones. Per 64 codes that is
 * 2 maddubs + 1 madd on the one multiply pipe (Zen1), instead of 2 + 2.
 * Overflow: |pair| <= 2 * 45 * 128 = 11520, two chunks <= 23040 < 32767, so the int16
 * sums are exact, and the int32 super-block sum (<= 256 * 45 * 128) too: only the float
 * sum over super-blocks differs in order from the reference. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"
#include "kquant_unpack.h"

/* 8 int32 lanes of sum sc * q * a over the block (c from q2k_unpack). */
static inline __m256i q2k_sum(const __m256i c[8], const int8_t *a) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum = _mm256_setzero_si256();
    for (int k = 0; k < 8; k += 2) {
        __m256i p0 = _mm256_maddubs_epi16(c[k], _mm256_loadu_si256((const __m256i *)(a + 32 * k)));
        __m256i p1 =
            _mm256_maddubs_epi16(c[k + 1], _mm256_loadu_si256((const __m256i *)(a + 32 * k + 32)));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones));
    }
    return sum;
}

#include "q2k_rows.h"

void vec_dot_q2_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    row_q2_k(n / QK_K, s, 0, w, a, 0, 1);
}

void vec_dot_tile_q2_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact) {
    tile_q2_k(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}
