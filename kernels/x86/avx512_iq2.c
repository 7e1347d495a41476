/* avx512_iq2.c - the codebook formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) against Q8_K
 * activations with AVX-512 VNNI.
 *
 * As avx2_iq2.c (quant/iq_unpack.h gives each sub-block's magnitudes, signs and scales), but
 * vpdpbusd multiplies the unsigned magnitudes by the sign-applied activations straight into
 * int32 (no int16 pairs), and the halves' scales ls multiply those lanes (lanes 0..3:
 * elements 0..15, 4..7: 16..31). Exact integers, scaled as the reference: equal to it bit
 * for bit. */
#include <immintrin.h>

#include "../../quant/iq_unpack.h"
#include "avx512.h"
#include "avx512_util.h"

static inline float dot_codebook(int64_t n, const void *w, const block_q8_K *a, size_t bytes,
                                 iq_unpack_fn unpack, float factor) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *block = (const uint8_t *)w + i * bytes;
        uint16_t d;
        memcpy(&d, block, 2);
        __m256i acc = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            iq_sub u;
            unpack(block, ib, &u);
            __m256i mag = _mm256_setr_epi64x((long long)u.mag[0], (long long)u.mag[1],
                                             (long long)u.mag[2], (long long)u.mag[3]);
            __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * ib));
            __m256i sums =
                dpbusd(_mm256_setzero_si256(), mag, negate_where(y, bits_to_bytes(u.signs)));
            __m256i ls = _mm256_setr_m128i(_mm_set1_epi32(u.ls[0]), _mm_set1_epi32(u.ls[1]));
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(sums, ls));
        }
        sum += half_f16c(d) * a[i].d * (float)isum_i32x8(acc);
    }
    return factor * sum;
}

void vec_dot_iq2_xxs_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq2_xxs), iq2_xxs_sub, 0.125f);
}
void vec_dot_iq2_xs_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq2_xs), iq2_xs_sub, 0.125f);
}
void vec_dot_iq2_s_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq2_s), iq2_s_sub, 0.125f);
}
void vec_dot_iq3_xxs_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq3_xxs), iq3_xxs_sub, 0.25f);
}
void vec_dot_iq3_s_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq3_s), iq3_s_sub, 1.0f);
}
