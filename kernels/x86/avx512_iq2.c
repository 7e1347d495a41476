/* avx512_iq2.c - the codebook formats on the sub-block loop of iq_rows.h for make test-emu512
 * only (kernels/x86/avx512_iq_sb.c, the native kernels, uses gathers and mask operations
 * tests/avx512_emu.h does not model).
 *
 * vpdpbusd multiplies the unsigned magnitudes by the sign-applied activations straight into
 * int32, and the halves' scales ls multiply those lanes (lanes 0..3: elements 0..15, 4..7:
 * 16..31). Exact integers, scaled as the reference: equal to it bit for bit. */
#include <immintrin.h>

#include "avx512.h"
#include "avx512_util.h"

static inline __m256i scaled_sub(__m256i mag, __m256i a, int ls0, int ls1) {
    __m256i ls = _mm256_setr_m128i(_mm_set1_epi32(ls0), _mm_set1_epi32(ls1));
    return _mm256_mullo_epi32(dpbusd(_mm256_setzero_si256(), mag, a), ls);
}

#include "iq_rows.h"

#ifdef SCARCE_AVX512_EMU_H
IQ_DOTS(avx512)
#endif
