/* avx512_lut.c - the LUT kernels of kernels/lut.h with AVX-512BW (row loops: lut_rows.h):
 * a 512-bit vpshufb looks up two units (32 columns) at once, four groups in its four
 * lanes, against tables laid out for it (lut_build's wide layout: lanes T0 | T1 | T4 | T5
 * for the low nibbles, T2 | T3 | T6 | T7 for the high ones). The int16 sums of the four
 * lanes are folded to the AVX2 kernels' two before they widen. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../lut.h"
#include "lut_build.h"

#define LUT_WIDE 1
#define LUT_NAME(f) f##_avx512

/* Lanes 0..3 -> 0..1 (lane k + lane k + 2, still int16: <= 16 entries a lane here). */
static inline __m256i fold512(__m512i acc) {
    return _mm256_add_epi16(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
}

/* Two planes: pairs of 32-byte units. */
static inline void lookup2(const uint8_t *units, const uint8_t *tab, int n_units, __m256i *acc0,
                           __m256i *acc1) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    for (int u = 0; u < n_units; u += 2, units += 64, tab += 256) {
        __m512i v = _mm512_loadu_si512(units);
        __m512i il = _mm512_and_si512(v, low4),
                ih = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        __m512i l0 = _mm512_shuffle_epi8(_mm512_loadu_si512(tab), il);
        __m512i h0 = _mm512_shuffle_epi8(_mm512_loadu_si512(tab + 64), il);
        __m512i l1 = _mm512_shuffle_epi8(_mm512_loadu_si512(tab + 128), ih);
        __m512i h1 = _mm512_shuffle_epi8(_mm512_loadu_si512(tab + 192), ih);
        a0 = _mm512_add_epi16(
            a0, _mm512_add_epi16(_mm512_unpacklo_epi8(l0, h0), _mm512_unpacklo_epi8(l1, h1)));
        a1 = _mm512_add_epi16(
            a1, _mm512_add_epi16(_mm512_unpackhi_epi8(l0, h0), _mm512_unpackhi_epi8(l1, h1)));
    }
    *acc0 = _mm256_add_epi16(*acc0, fold512(a0));
    *acc1 = _mm256_add_epi16(*acc1, fold512(a1));
}

/* One plane: units u, u+1 (16 bytes each) as lanes u | u | u+1 | u+1, the dword blend
 * per lane as in avx2_lut.c. */
static inline __m256i lookup1(const uint8_t *units, const uint8_t *tab, int n_units) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    const __m512i spread = _mm512_set_epi64(3, 2, 3, 2, 1, 0, 1, 0);
    __m512i acc = _mm512_setzero_si512();
    for (int u = 0; u < n_units; u += 2, units += 32, tab += 256) {
        __m512i v = _mm512_permutexvar_epi64(
            spread, _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)units)));
        __m512i il = _mm512_and_si512(v, low4),
                ih = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        __m512i lo =
            _mm512_mask_blend_epi32(0x3C3C, _mm512_shuffle_epi8(_mm512_loadu_si512(tab), il),
                                    _mm512_shuffle_epi8(_mm512_loadu_si512(tab + 128), ih));
        __m512i hi =
            _mm512_mask_blend_epi32(0x3C3C, _mm512_shuffle_epi8(_mm512_loadu_si512(tab + 64), il),
                                    _mm512_shuffle_epi8(_mm512_loadu_si512(tab + 192), ih));
        acc = _mm512_add_epi16(
            acc, _mm512_add_epi16(_mm512_unpacklo_epi8(lo, hi), _mm512_unpackhi_epi8(lo, hi)));
    }
    return fold512(acc);
}

#include "lut_rows.h"
