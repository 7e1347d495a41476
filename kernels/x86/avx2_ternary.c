/* avx2_ternary.c - the ternary formats (TQ2_0, TQ1_0) against Q8_K activations.
 *
 * Codes q = t + 1 are 0..2, so maddubs takes them as the unsigned operand against the int8
 * activations, and sum t a = sum q a - sum a, where sum a comes from the activation's
 * bsums. Per super-block the integer sum is exact, and it is scaled and added to the float
 * sum in the reference's order: the result equals the reference bit for bit. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

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
        int sumi = isum_i32x8(_mm256_sub_epi32(acc, sum_activations(&a[i])));
        sum += (float)sumi * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* TQ1_0: trit n of byte b is ((b * 3^n mod 256) * 3) >> 8. Per 16-bit lane of 2 bytes,
 * `mult` the 3^n of that lane's two bytes: each byte is multiplied in its own lane
 * (mod 256 by masking), then times 3 puts the trit in the high byte of the product. */
static inline __m256i trits(__m256i v, __m256i mult) {
    const __m256i low = _mm256_set1_epi16(0x00FF), three = _mm256_set1_epi16(3);
    __m256i lo = _mm256_and_si256(_mm256_mullo_epi16(_mm256_and_si256(v, low), mult), low);
    __m256i hi = _mm256_and_si256(_mm256_mullo_epi16(_mm256_srli_epi16(v, 8), mult), low);
    lo = _mm256_srli_epi16(_mm256_mullo_epi16(lo, three), 8);
    hi = _mm256_andnot_si256(low, _mm256_mullo_epi16(hi, three));
    return _mm256_or_si256(lo, hi);
}

/* Element order (blocks.h): 5 x 32 from qs[0..31], 5 x 16 from qs[32..47], 4 x 4 from qh.
 * The 16-byte group runs as two 32-element vectors (trits n and n+1 side by side), and its
 * fifth trit shares a vector with the 16 qh elements (qh repeated, byte 4n + j = qh[j]). */
void vec_dot_tq1_0_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_tq1_0 *x = w;
    const block_q8_K *a = act;
    const __m256i pow3[5] = {_mm256_set1_epi16(1), _mm256_set1_epi16(3), _mm256_set1_epi16(9),
                             _mm256_set1_epi16(27), _mm256_set1_epi16(81)};
    const __m256i pair01 = _mm256_setr_m128i(_mm_set1_epi16(1), _mm_set1_epi16(3));
    const __m256i pair23 = _mm256_setr_m128i(_mm_set1_epi16(9), _mm_set1_epi16(27));
    const __m256i last =
        _mm256_setr_m128i(_mm_set1_epi16(81), _mm_setr_epi16(1, 1, 3, 3, 9, 9, 27, 27));
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *y = a[i].qs;
        __m256i acc = _mm256_setzero_si256();
        __m256i v = _mm256_loadu_si256((const __m256i *)x[i].qs);
        for (int t = 0; t < 5; t++)
            acc = _mm256_add_epi32(
                acc,
                dot_u8s8_i32(trits(v, pow3[t]), _mm256_loadu_si256((const __m256i *)(y + 32 * t))));
        __m128i v16 = _mm_loadu_si128((const __m128i *)(x[i].qs + 32));
        __m256i both = _mm256_setr_m128i(v16, v16);
        acc = _mm256_add_epi32(
            acc, dot_u8s8_i32(trits(both, pair01), _mm256_loadu_si256((const __m256i *)(y + 160))));
        acc = _mm256_add_epi32(
            acc, dot_u8s8_i32(trits(both, pair23), _mm256_loadu_si256((const __m256i *)(y + 192))));
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        __m256i tail = _mm256_setr_m128i(v16, _mm_set1_epi32((int)qh));
        acc = _mm256_add_epi32(
            acc, dot_u8s8_i32(trits(tail, last), _mm256_loadu_si256((const __m256i *)(y + 224))));
        int sumi = isum_i32x8(_mm256_sub_epi32(acc, sum_activations(&a[i])));
        sum += (float)sumi * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}
