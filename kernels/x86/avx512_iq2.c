/* avx512_iq2.c - the codebook formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) against Q8_K
 * activations with AVX-512 VNNI.
 *
 * As avx2_iq2.c (the loop: iq_rows.h), but vpdpbusd multiplies the unsigned magnitudes by
 * the sign-applied activations straight into int32 (no int16 pairs), and the halves'
 * scales ls multiply those lanes (lanes 0..3: elements 0..15, 4..7: 16..31). Exact
 * integers, scaled as the reference: equal to it bit for bit. */
#include <immintrin.h>

#include "avx512.h"
#include "avx512_util.h"

static inline __m256i scaled_sub(__m256i mag, __m256i a, int ls0, int ls1) {
    __m256i ls = _mm256_setr_m128i(_mm_set1_epi32(ls0), _mm_set1_epi32(ls1));
    return _mm256_mullo_epi32(dpbusd(_mm256_setzero_si256(), mag, a), ls);
}

#include "iq_rows.h"

IQ_DOTS(avx512)
