/* kquant_unpack.h - K-quant scale and code unpacking shared by the AVX2 and AVX-512 kernels
 * (AVX2 instructions only; each including file compiles them for its own ISA). */
#ifndef SCARCE_KQUANT_UNPACK_H
#define SCARCE_KQUANT_UNPACK_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../quant/blocks.h"

/* int16 lanes 0..7 = word k, 8..15 = word k + 1 of each lane of w (w: the same 8 words
 * in both lanes). */
static inline __m256i word_pair(__m256i w, int k) {
    static const int8_t pick[4][32] = {
#define P(k)                                                                                       \
    {2 * k,     2 * k + 1, 2 * k,     2 * k + 1, 2 * k,     2 * k + 1, 2 * k,     2 * k + 1,       \
     2 * k,     2 * k + 1, 2 * k,     2 * k + 1, 2 * k,     2 * k + 1, 2 * k,     2 * k + 1,       \
     2 * k + 2, 2 * k + 3, 2 * k + 2, 2 * k + 3, 2 * k + 2, 2 * k + 3, 2 * k + 2, 2 * k + 3,       \
     2 * k + 2, 2 * k + 3, 2 * k + 2, 2 * k + 3, 2 * k + 2, 2 * k + 3, 2 * k + 2, 2 * k + 3}
        P(0), P(2), P(4), P(6)
#undef P
    };
    return _mm256_shuffle_epi8(w, _mm256_loadu_si256((const __m256i *)pick[k / 2]));
}

/* Q3_K scale codes minus 32 (-32..31) as 16 int16 in sub-block order, on the 3 little-endian
 * 32-bit words u of the 12 bytes (k3_scale for all 16 at once): scales 0-3 = low nibbles of
 * u0 | bits 0-1 of u2's bytes << 4, 4-7 = low nibbles of u1 | bits 2-3 of u2, 8-11 = high
 * nibbles of u0 | bits 4-5 of u2, 12-15 = high nibbles of u1 | bits 6-7 of u2. */
static inline __m256i q3k_scales(const uint8_t *packed) {
    uint32_t u[3];
    memcpy(u, packed, sizeof u);
    const uint32_t low4 = 0x0f0f0f0f, low2 = 0x03030303;
    __m128i v = _mm_setr_epi32((int)((u[0] & low4) | (u[2] & low2) << 4),
                               (int)((u[1] & low4) | ((u[2] >> 2) & low2) << 4),
                               (int)(((u[0] >> 4) & low4) | ((u[2] >> 4) & low2) << 4),
                               (int)(((u[1] >> 4) & low4) | ((u[2] >> 6) & low2) << 4));
    return _mm256_cvtepi8_epi16(_mm_sub_epi8(v, _mm_set1_epi8(32)));
}

/* Q4_K / Q5_K: k4_scale_min for all 8 sub-blocks at once, on the 3 little-endian 32-bit
 * words u of the 12 bytes: scales 0-3 = u0 & 63 per byte, mins 0-3 = u1 & 63; scales 4-7 =
 * low nibbles of u2 | top 2 bits of u0's bytes << 4, mins 4-7 = high nibbles of u2 | top 2
 * bits of u1's bytes << 4. Gives the scales as int16 in both 128-bit lanes (for
 * k45_scale) and *m_pairs, each min twice as int16 (one per bsum of 16): the min term
 * sum_j m_j (bsums[2j] + bsums[2j+1]) is madd(*m_pairs, bsums), per activation. */
static inline __m256i k45_scales(const uint8_t *packed, __m256i *m_pairs) {
    uint32_t u[3];
    memcpy(u, packed, sizeof u);
    const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, top2 = 0x03030303;
    uint64_t sc = (u[0] & low6) | (uint64_t)((u[2] & low4) | ((u[0] >> 6) & top2) << 4) << 32;
    uint64_t m = (u[1] & low6) | (uint64_t)(((u[2] >> 4) & low4) | ((u[1] >> 6) & top2) << 4) << 32;
    __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)m));
    /* each min twice: one per bsum of 16 */
    *m_pairs = _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
    return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc)));
}

/* Scale j (0..7) of k45_scales in all 16 int16 lanes. */
static inline __m256i k45_scale(__m256i scales, int j) {
    static const int8_t words[8][32] = {
#define W(j)                                                                                       \
    {2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,                       \
     2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,                       \
     2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,                       \
     2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1}
        W(0), W(1), W(2), W(3), W(4),
        W(5), W(6), W(7)
#undef W
    };
    return _mm256_shuffle_epi8(scales, _mm256_loadu_si256((const __m256i *)words[j]));
}

/* The lookup tables of one block: lut[h] lane 0 dword j = (0, s, 2s, 3s) of sub-block
 * 8h + 2j, lane 1 dword j the same for sub-block 8h + 2j + 1 (the two sub-blocks of
 * chunk j of half h). Built in 128-bit registers (one uop each on Zen1). */
static inline void q2k_tables(const uint8_t *scales, __m256i lut[2]) {
    const __m128i evens_odds = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m128i sc = _mm_loadu_si128((const __m128i *)scales);
    __m128i s1 = _mm_and_si128(_mm_shuffle_epi8(sc, evens_odds), _mm_set1_epi8(15));
    __m128i s2 = _mm_add_epi8(s1, s1), s3 = _mm_add_epi8(s2, s1), zero = _mm_setzero_si128();
    __m128i e01 = _mm_unpacklo_epi8(zero, s1), e23 = _mm_unpacklo_epi8(s2, s3);
    __m128i o01 = _mm_unpackhi_epi8(zero, s1), o23 = _mm_unpackhi_epi8(s2, s3);
    lut[0] = _mm256_set_m128i(_mm_unpacklo_epi16(o01, o23), _mm_unpacklo_epi16(e01, e23));
    lut[1] = _mm256_set_m128i(_mm_unpackhi_epi16(o01, o23), _mm_unpackhi_epi16(e01, e23));
}

/* 16 int16 lanes of the mins m_k (high nibbles of the scales). */
static inline __m256i q2k_mins(const uint8_t *scales) {
    __m128i sc = _mm_loadu_si128((const __m128i *)scales);
    return _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(15)));
}

/* The 8 chunks of 32 scaled codes sc * q of one block (chunk 4h + j = codes 128h + 32j ..).
 * Two chunks share one pshufb table: chunk 2m's index is its code q (bytes 0..3 of the
 * table = dword m of lut), chunk 2m+1's is 4q, straight from the mask of bits 2-3 without
 * a shift (bytes 0, 4, 8, 12 = dword m+1's bytes 0..3). Byte 0 is 0 in both. */
static inline void q2k_unpack(const block_q2_K *x, __m256i c[8]) {
    const __m256i three = _mm256_set1_epi8(3), twelve = _mm256_set1_epi8(12);
    const __m256i pair01 =
        _mm256_setr_epi8(0, 1, 2, 3, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1, 0, 1, 2, 3, 5, -1,
                         -1, -1, 6, -1, -1, -1, 7, -1, -1, -1);
    const __m256i pair23 =
        _mm256_setr_epi8(8, 9, 10, 11, 13, -1, -1, -1, 14, -1, -1, -1, 15, -1, -1, -1, 8, 9, 10, 11,
                         13, -1, -1, -1, 14, -1, -1, -1, 15, -1, -1, -1);
    __m256i lut[2];
    q2k_tables(x->scales, lut);
    for (int h = 0; h < 2; h++) {
        __m256i Q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
        __m256i Q4 = _mm256_srli_epi16(Q, 4);
        __m256i t01 = _mm256_shuffle_epi8(lut[h], pair01),
                t23 = _mm256_shuffle_epi8(lut[h], pair23);
        c[4 * h + 0] = _mm256_shuffle_epi8(t01, _mm256_and_si256(Q, three));
        c[4 * h + 1] = _mm256_shuffle_epi8(t01, _mm256_and_si256(Q, twelve));
        c[4 * h + 2] = _mm256_shuffle_epi8(t23, _mm256_and_si256(Q4, three));
        c[4 * h + 3] = _mm256_shuffle_epi8(t23, _mm256_and_si256(Q4, twelve));
    }
}

#endif
