/* avx2_iq2.c - the codebook formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) against
 * Q8_K activations.
 *
 * Per sub-block of 32 (quant/iq_unpack.h): the 4 words of grid magnitudes are one vector,
 * the 32 sign bits spread to byte masks negate the matching activations, maddubs
 * multiplies magnitudes (<= 62) by the signed activations into int16 pairs (no saturation:
 * 2 * 62 * 127 < 32767), and madd against the halves' odd scales ls (lane 0: elements
 * 0..15, lane 1: 16..31) sums them into int32. The super-block's integer sum is exact and
 * is scaled as the reference does: equal to it bit for bit (the loop: iq_rows.h). */
#include <immintrin.h>

#include "avx2.h"
#include "avx2_util.h"

static inline __m256i scaled_sub(__m256i mag, __m256i a, int ls0, int ls1) {
    __m256i ls = _mm256_setr_m128i(_mm_set1_epi16((short)ls0), _mm_set1_epi16((short)ls1));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(mag, a), ls);
}

#include "iq_rows.h"

IQ_DOTS(avx2)
