/* avx2_nvfp4.c - NVFP4 weights against Q8_0 activations.
 *
 * One Q8_0 block (32 activations) meets two NVFP4 sub-blocks: their 16 code bytes are
 * split into low and high nibbles and put back in element order (sub-block s: low nibbles
 * are elements 0..7, high ones 8..15), one byte shuffle of the doubled E2M1 grid gives the
 * signed values, and the products are summed exactly into 8 int32 lanes: lanes 0..3 are
 * the first sub-block, 4..7 the second. Each half is scaled by its sub-block scale times
 * d_a with one FMA. Only the float summation order differs from the reference. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

void vec_dot_nvfp4_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_nvfp4 *x = w;
    const block_q8_0 *a = act;
    const __m256i grid =
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_mxfp4));
    const __m128i low4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 64; i++)
        for (int h = 0; h < 2; h++) {
            const block_q8_0 *y = &a[2 * i + h];
            __m128i q = _mm_loadu_si128((const __m128i *)(x[i].qs + 16 * h));
            __m128i lo = _mm_and_si128(q, low4), hi = _mm_and_si128(_mm_srli_epi16(q, 4), low4);
            __m256i codes =
                _mm256_setr_m128i(_mm_unpacklo_epi64(lo, hi), _mm_unpackhi_epi64(lo, hi));
            __m256i v = _mm256_shuffle_epi8(grid, codes);
            __m256i sums = dot_s8s8_i32(v, _mm256_loadu_si256((const __m256i *)y->qs));
            float da = half_f16c(y->d);
            __m256 d = _mm256_setr_m128(_mm_set1_ps(ue4m3_half(x[i].d[2 * h]) * da),
                                        _mm_set1_ps(ue4m3_half(x[i].d[2 * h + 1]) * da));
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, acc);
        }
    *s = hsum_f32x8(acc);
}
