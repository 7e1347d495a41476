/* avx2_iq4_xs.c - IQ4_XS weights against Q8_K activations, and its batch dequantizer.
 *
 * Per sub-block of 32 the 4-bit indices become grid values by one byte shuffle of
 * kvalues_iq4nl (as IQ4_NL, avx2_q8.c), maddubs multiplies them with the activation codes
 * into int16 pairs (|pair| <= 2 * 127 * 127, no saturation: grid and Q8_K codes are within
 * +-127), and madd against the sub-block's scale l - 32 sums the pairs into int32 already
 * scaled. The super-block's integer sum is exact and is scaled and added in the
 * reference's order: equal to vec_dot_iq4_xs_ref bit for bit. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

static inline __m256i grid_iq4nl(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
}

void vec_dot_iq4_xs_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_iq4_xs *x = w;
    const block_q8_K *a = act;
    const __m256i grid = grid_iq4nl();
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (int ib = 0; ib < QK_K / 32; ib++) {
            __m256i q = _mm256_shuffle_epi8(grid, unpack_nibbles(x[i].qs + 16 * ib));
            __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * ib));
            __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q));
            __m256i l = _mm256_set1_epi16((short)(iq4xs_scale(&x[i], ib) - 32));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, l));
        }
        sum += (float)isum_i32x8(acc) * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* dl * grid value, the reference's single float product: equal values. */
void dequantize_iq4_xs_avx2(const void *src, float *dst, int64_t n) {
    const block_iq4_xs *x = src;
    const __m256i grid = grid_iq4nl();
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = half_f16c(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            __m256i q = _mm256_shuffle_epi8(grid, unpack_nibbles(x[i].qs + 16 * ib));
            __m256 dl = _mm256_set1_ps(d * (float)(iq4xs_scale(&x[i], ib) - 32));
            __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
            __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
            float *y = dst + i * QK_K + 32 * ib;
            for (int k = 0; k < 4; k++)
                _mm256_storeu_ps(y + 8 * k, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(
                                                                  _mm256_cvtepi8_epi32(part[k]))));
        }
    }
}
