/* lut_build.h - the tables of the LUT kernels (kernels/lut.h) from int8 activation codes,
 * with AVX2 instructions (avx2_lut.c and avx512_lut.c both build them this way; they
 * differ in where each group's 16 + 16 bytes go).
 *
 * A group's 16 entries T[p] = sum_j bit_j(p) a_j: its 4 codes in every dword, maddubs
 * against the 0/1 bytes of p (one dword per entry) and madd with ones give 8 entries as
 * int32 per register; packs_epi32 of two such registers gives all 16 as int16 (|T| <= 512,
 * no saturation), and a byte shuffle and a qword permute split them into the 16 low bytes
 * and the 16 high bytes. */
#ifndef SCARCE_LUT_BUILD_H
#define SCARCE_LUT_BUILD_H

#include <immintrin.h>
#include <stdint.h>

/* entry p's selector dword: byte j = bit j of p */
#define LUT_SEL(p)                                                                                 \
    (((p)&1) | (((p) >> 1 & 1) << 8) | (((p) >> 2 & 1) << 16) | (((p) >> 3 & 1) << 24))

/* [16 low bytes | 16 high bytes] of the table of the group whose 4 codes fill every dword */
static inline __m256i lut_group_table(__m256i quad) {
    /* register A holds entries 0..3 | 8..11, B 4..7 | 12..15: packs(A, B) is 0..7 | 8..15 */
    const __m256i sel_a = _mm256_setr_epi32(LUT_SEL(0), LUT_SEL(1), LUT_SEL(2), LUT_SEL(3),
                                            LUT_SEL(8), LUT_SEL(9), LUT_SEL(10), LUT_SEL(11));
    const __m256i sel_b = _mm256_setr_epi32(LUT_SEL(4), LUT_SEL(5), LUT_SEL(6), LUT_SEL(7),
                                            LUT_SEL(12), LUT_SEL(13), LUT_SEL(14), LUT_SEL(15));
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i split = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15));
    __m256i ea = _mm256_madd_epi16(_mm256_maddubs_epi16(sel_a, quad), ones);
    __m256i eb = _mm256_madd_epi16(_mm256_maddubs_epi16(sel_b, quad), ones);
    __m256i t = _mm256_shuffle_epi8(_mm256_packs_epi32(ea, eb), split);
    return _mm256_permute4x64_epi64(t, 0xD8);
}

static inline void lut_store_group(uint8_t *tab, int lo_at, int hi_at, __m256i t) {
    _mm_storeu_si128((__m128i *)(tab + lo_at), _mm256_castsi256_si128(t));
    _mm_storeu_si128((__m128i *)(tab + hi_at), _mm256_extracti128_si256(t, 1));
}

/* Tables of columns [0, n) (n % 16 == 0) of codes qs into tab, 128 bytes per 16 columns.
 * wide = 0 (AVX2): per unit u at 128u, group q's low bytes at 64 (q / 2) + 16 (q % 2), high
 * bytes 32 after: lanes (T0 | T1) and (T2 | T3). wide = 1 (AVX-512): per unit pair at 256v,
 * unit s's group q at 128 (q / 2) + 32 s + 16 (q % 2), high bytes 64 after: lanes
 * (T0 | T1 | T4 | T5) and (T2 | T3 | T6 | T7) of the two units. */
static inline void lut_build(const int8_t *qs, int64_t n, uint8_t *tab, int wide) {
    for (int64_t c = 0; c < n; c += 16) {
        __m256i x = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(qs + c)));
        const int u = (int)(c / 16);
        uint8_t *at = wide ? tab + 256 * (u / 2) + 32 * (u % 2) : tab + 128 * u;
        const int pair = wide ? 128 : 64, hi = wide ? 64 : 32;
        lut_store_group(at, 0, hi, lut_group_table(_mm256_shuffle_epi32(x, 0x00)));
        lut_store_group(at, 16, 16 + hi, lut_group_table(_mm256_shuffle_epi32(x, 0x55)));
        lut_store_group(at, pair, pair + hi, lut_group_table(_mm256_shuffle_epi32(x, 0xAA)));
        lut_store_group(at, pair + 16, pair + 16 + hi,
                        lut_group_table(_mm256_shuffle_epi32(x, 0xFF)));
    }
}

/* Sum of the 32 codes at qs (xor 0x80 makes them unsigned for the byte-sum instruction). */
static inline int lut_sum32(const int8_t *qs) {
    __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)qs), _mm256_set1_epi8(-128));
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi64(h, _mm_unpackhi_epi64(h, h));
    return (int)_mm_cvtsi128_si64(h) - 128 * 32;
}

/* 8 int32 row sums from int16 lanes holding rows 0..7 twice (two groups' worth). */
static inline __m256i lut_widen(__m256i acc) {
    return _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc)),
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc, 1)));
}

#endif
