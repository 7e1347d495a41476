/* avx2_q2_0.c - llama.cpp's Q2_0 (block 64) against Q8_0 activations.
 *
 * Element 4b + s of a 32-element half is bits 2s of byte b. The 8 bytes are shifted by
 * 0, 2, 4, 6 in the four 64-bit lanes (group s, byte b at 8s + b), a dword permute puts
 * bytes 0..3 of every group in the low 128-bit lane and bytes 4..7 in the high one, and a
 * byte shuffle transposes each 4 x 4 so byte 4b + s is code(4b + s). Codes q = t + 1 are
 * 0..3: maddubs gives sum q a, minus sum a (maddubs with ones) gives sum t a, exactly. The
 * two halves are scaled and summed in the reference's order: equal bit for bit. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

static inline __m256i unpack_q2_0(const uint8_t *qs8) {
    int64_t v;
    memcpy(&v, qs8, 8);
    __m256i g = _mm256_srlv_epi64(_mm256_set1_epi64x(v), _mm256_setr_epi64x(0, 2, 4, 6));
    g = _mm256_and_si256(g, _mm256_set1_epi8(3));
    g = _mm256_permutevar8x32_epi32(g, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    /* within a lane, byte 4s + b -> 4b + s */
    const __m256i transpose = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    return _mm256_shuffle_epi8(g, transpose);
}

void vec_dot_q2_0_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_0 *x = w;
    const block_q8_0 *a = act;
    const __m256i ones = _mm256_set1_epi8(1);
    float sum = 0;
    for (int64_t i = 0; i < n / 64; i++) {
        float part = 0;
        for (int h = 0; h < 2; h++) {
            const block_q8_0 *ah = &a[2 * i + h];
            __m256i y = _mm256_loadu_si256((const __m256i *)ah->qs);
            __m256i qa = dot_u8s8_i32(unpack_q2_0(x[i].qs + 8 * h), y);
            int sumi = isum_i32x8(_mm256_sub_epi32(qa, dot_u8s8_i32(ones, y)));
            part += half_f16c(ah->d) * (float)sumi;
        }
        sum += half_f16c(x[i].d) * part;
    }
    *s = sum;
}
