/* avx2_iq2.c - the 2- and 3-bit codebook formats (IQ2_XXS ...) against Q8_K activations.
 *
 * Per sub-block of 32: the 4 groups' grid entries (8 magnitude bytes each) are loaded as one
 * vector, the sign bits spread to byte masks negate the matching activations, maddubs
 * multiplies magnitudes (<= 62) by the signed activations into int16 pairs (no
 * saturation: 2 * 62 * 127 < 32767), and madd against the sub-block's odd scale 2 s + 1
 * sums them into int32. The super-block's integer sum is exact and is scaled as the
 * reference does: equal to it bit for bit. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/iq_grids.h"
#include "avx2.h"
#include "avx2_util.h"

void vec_dot_iq2_xxs_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_iq2_xxs *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *q = (const uint8_t *)(x[i].qs + 4 * ib);
            uint32_t aux;
            memcpy(&aux, q + 4, 4);
            __m256i grid =
                _mm256_setr_epi64x((long long)iq2xxs_grid[q[0]], (long long)iq2xxs_grid[q[1]],
                                   (long long)iq2xxs_grid[q[2]], (long long)iq2xxs_grid[q[3]]);
            uint32_t signs = iq_signs8(aux) | (uint32_t)iq_signs8(aux >> 7) << 8 |
                             (uint32_t)iq_signs8(aux >> 14) << 16 |
                             (uint32_t)iq_signs8(aux >> 21) << 24;
            __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * ib));
            __m256i pairs = _mm256_maddubs_epi16(grid, negate_where(y, bits_to_bytes(signs)));
            acc = _mm256_add_epi32(
                acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16((short)(2 * (aux >> 28) + 1))));
        }
        sum += half_f16c(x[i].d) * a[i].d * (float)isum_i32x8(acc);
    }
    *s = 0.125f * sum;
}
