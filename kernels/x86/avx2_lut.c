/* avx2_lut.c - the LUT kernels of kernels/lut.h with AVX2 (row loops: lut_rows.h): one
 * vpshufb fetches 16 rows' entries of one group from the low-byte table, one from the
 * high-byte table, and unpacking the two interleaves them back into int16 (8 rows a lane,
 * one group per lane). */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../lut.h"
#include "lut_build.h"

#define LUT_WIDE 0
#define LUT_NAME(f) f##_avx2

/* Two planes: n_units units of 32 bytes into the plane accumulators. */
static inline void lookup2(const uint8_t *units, const uint8_t *tab, int n_units, __m256i *acc0,
                           __m256i *acc1) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int u = 0; u < n_units; u++, units += 32, tab += 128) {
        __m256i v = _mm256_loadu_si256((const __m256i *)units);
        __m256i il = _mm256_and_si256(v, low4),
                ih = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        __m256i l0 = _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)tab), il);
        __m256i h0 = _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(tab + 32)), il);
        __m256i l1 = _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(tab + 64)), ih);
        __m256i h1 = _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(tab + 96)), ih);
        *acc0 = _mm256_add_epi16(
            *acc0, _mm256_add_epi16(_mm256_unpacklo_epi8(l0, h0), _mm256_unpacklo_epi8(l1, h1)));
        *acc1 = _mm256_add_epi16(
            *acc1, _mm256_add_epi16(_mm256_unpackhi_epi8(l0, h0), _mm256_unpackhi_epi8(l1, h1)));
    }
}

/* One plane: units of 16 bytes in both lanes; lane 0 uses bytes 0..7 of the low-nibble
 * lookup and 8..15 of the high one, lane 1 the other halves: a dword blend joins them. */
static inline __m256i lookup1(const uint8_t *units, const uint8_t *tab, int n_units) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i acc = _mm256_setzero_si256();
    for (int u = 0; u < n_units; u++, units += 16, tab += 128) {
        __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)units));
        __m256i il = _mm256_and_si256(v, low4),
                ih = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
        __m256i lo = _mm256_blend_epi32(
            _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)tab), il),
            _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(tab + 64)), ih), 0x3C);
        __m256i hi = _mm256_blend_epi32(
            _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(tab + 32)), il),
            _mm256_shuffle_epi8(_mm256_load_si256((const __m256i *)(tab + 96)), ih), 0x3C);
        acc = _mm256_add_epi16(
            acc, _mm256_add_epi16(_mm256_unpacklo_epi8(lo, hi), _mm256_unpackhi_epi8(lo, hi)));
    }
    return acc;
}

#include "lut_rows.h"
