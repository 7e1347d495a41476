/* avx2_ternary.c - the ternary formats (TQ2_0, TQ1_0) against Q8_K activations.
 *
 * Codes q = t + 1 are 0..2, so maddubs takes them as the unsigned operand against the int8
 * activations, and sum t a = sum q a - sum a, where sum a comes from the activation's
 * bsums. Per super-block the integer sum is exact, and it is scaled and added to the float
 * sum in the reference's order: the result equals the reference bit for bit. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

static inline int hsum_i32x8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* sum over the 256 activation codes, from the 16 bsums, as 8 int32 lanes */
static inline __m256i sum_activations(const block_q8_K *a) {
    __m256i bsums = _mm256_loadu_si256((const __m256i *)a->bsums);
    return _mm256_madd_epi16(bsums, _mm256_set1_epi16(1));
}

void vec_dot_tq2_0_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_tq2_0 *x = w;
    const block_q8_K *a = act;
    const __m256i low2 = _mm256_set1_epi8(3);
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            for (int l = 0; l < 4; l++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(v, 2 * l), low2);
                __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 128 * h + 32 * l));
                acc = _mm256_add_epi32(acc, dot_u8s8_i32(q, y));
            }
        }
        int sumi = hsum_i32x8(_mm256_sub_epi32(acc, sum_activations(&a[i])));
        sum += (float)sumi * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}
