/* avx512_iq_unpack.h - the IQ super-block unpack of the AVX-512 set: IQ2_XXS, IQ2_XS, IQ2_S,
 * IQ3_XXS, IQ3_S, IQ1_S, IQ1_M, 256 values at a time into magnitudes, sign masks and per-4-value
 * scales (iq_sb). Read by the row dots and tiles (avx512_iq_sb.c: products by vpdpbusd against
 * sign-applied activations) and by the batch kernel of 16 tokens in the lanes
 * (avx512_x16_kquant.c: signed values + 64 as unsigned codes). The layouts are those of
 * quant/iq_unpack.h, read here 64 values at once. */
#ifndef SCARCE_AVX512_IQ_UNPACK_H
#define SCARCE_AVX512_IQ_UNPACK_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../quant/iq_unpack.h"

/* One super-block unpacked for the products. */
typedef struct {
    __m512i mag[4];   /* unsigned magnitudes of values 64k .. 64k + 63 */
    __mmask64 neg[4]; /* bit j: value 64k + j is negative */
    __m512i ls[4];    /* int32 lane l: the scale of values 64k + 4l .. 64k + 4l + 3 */
    float d;
} iq_sb;

static inline uint64_t le64(const void *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Lanes 0-3 a, 4-7 b, 8-11 c, 12-15 d: the scales of the four 16-value halves of a chunk. */
static inline __m512i ls4(int a, int b, int c, int d) {
    return _mm512_setr_epi32(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d);
}

static inline void sb_iq3_s(const block_iq3_s *b, iq_sb *u) {
    u->d = _cvtsh_ss(b->d);
    for (int k = 0; k < 4; k++) {
        /* index j = qs[j] | bit j % 8 of qh[j / 8] << 8 (iq3_s_sub) */
        __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + 16 * k)));
        const __mmask16 hi = (__mmask16)(b->qh[2 * k] | b->qh[2 * k + 1] << 8);
        idx = _mm512_mask_add_epi32(idx, hi, idx, _mm512_set1_epi32(256));
        u->mag[k] = _mm512_i32gather_epi32(idx, (const void *)iq3s_grid, 4);
        u->neg[k] = le64(b->signs + 8 * k);
        const int s0 = 2 * (b->scales[k] & 15) + 1, s1 = 2 * (b->scales[k] >> 4) + 1;
        u->ls[k] = ls4(s0, s0, s1, s1);
    }
}

/* The 16 sign bytes of 16 groups whose 7 stored bits are the low bits of the 16 lanes of v:
 * the 8th bit is their parity (iq_signs8), folded by xor in the lanes; vpmovdb packs them. */
static inline __m128i signs7x16(__m512i v) {
    const __m512i s = _mm512_and_si512(v, _mm512_set1_epi32(127));
    __m512i p = _mm512_xor_si512(s, _mm512_srli_epi32(s, 4));
    p = _mm512_xor_si512(p, _mm512_srli_epi32(p, 2));
    p = _mm512_and_si512(_mm512_xor_si512(p, _mm512_srli_epi32(p, 1)), _mm512_set1_epi32(1));
    return _mm512_cvtepi32_epi8(_mm512_or_si512(s, _mm512_slli_epi32(p, 7)));
}

/* Signs and scales of the 8 sub-blocks from their sign/scale words (lanes 0..7 of aux: 4
 * groups' 7 sign bits at bits 0, 7, 14, 21, the scale s in bits 28..31, ls = 2 s + 1), all at
 * once (IQ2_XXS, IQ3_XXS). */
static inline void signs_scales8(__m512i aux, iq_sb *u) {
    /* lane 4 s + j (sub-blocks 0..3, then 4..7): group j's 7 sign bits of sub-block s */
    const __m512i shifts = _mm512_setr_epi32(0, 7, 14, 21, 0, 7, 14, 21, 0, 7, 14, 21, 0, 7, 14, 21);
    const __m512i lo4 = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    const __m128i s03 = signs7x16(_mm512_srlv_epi32(_mm512_permutexvar_epi32(lo4, aux), shifts));
    const __m128i s47 = signs7x16(_mm512_srlv_epi32(
        _mm512_permutexvar_epi32(_mm512_add_epi32(lo4, _mm512_set1_epi32(4)), aux), shifts));
    u->neg[0] = (uint64_t)_mm_cvtsi128_si64(s03), u->neg[1] = (uint64_t)_mm_extract_epi64(s03, 1);
    u->neg[2] = (uint64_t)_mm_cvtsi128_si64(s47), u->neg[3] = (uint64_t)_mm_extract_epi64(s47, 1);
    const __m512i ls8 = _mm512_add_epi32(_mm512_slli_epi32(_mm512_srli_epi32(aux, 28), 1),
                                         _mm512_set1_epi32(1));
    for (int k = 0; k < 4; k++) {
        const __m512i sel = _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(2 * k),
                                                    _mm512_set1_epi32(2 * k + 1));
        u->ls[k] = _mm512_permutexvar_epi32(sel, ls8);
    }
}

/* IQ3_XXS: signs and scales as IQ2_XXS's (signs_scales8): iq_kbench, 2-core SPR-class Xeon,
 * load 10, TSC ticks per 256 weights, row dot / 8-token tile, best of 3: 51.9 / 16.8 -> 39.8 /
 * 15.4 (AVX2's 53.6 / 17.9). */
static inline void sb_iq3_xxs(const block_iq3_xxs *b, iq_sb *u) {
    u->d = _cvtsh_ss(b->d);
    signs_scales8(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b->qs + 64))), u);
    for (int k = 0; k < 4; k++) {
        const __m512i idx =
            _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(b->qs + 16 * k)));
        u->mag[k] = _mm512_i32gather_epi32(idx, (const void *)iq3xxs_grid, 4);
    }
}

/* IQ2_XXS: the signs and scales of all 8 sub-blocks from their 8 sign/scale words at once
 * (the odd dwords of the 64 qs bytes), the magnitudes by one gather a chunk as before. Per
 * chunk sign parities (8 lanes at a time) and ls4's scalar inserts made this the slowest AVX-512 IQ unpack: iq_kbench,
 * 2-core SPR-class Xeon, load 9, TSC ticks per 256 weights, row dot / 8-token tile, 62.2 /
 * 17.5 -> 38.9 / 15.1 (3 runs alike; the AVX2 kernel 52.7 / 17.3), so AVX-512 keeps its own. */
static inline void sb_iq2_xxs(const block_iq2_xxs *b, iq_sb *u) {
    u->d = _cvtsh_ss(b->d);
    const uint8_t *q = (const uint8_t *)b->qs;
    const __m512i aux = _mm512_permutexvar_epi32(
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15),
        _mm512_loadu_si512(q));
    signs_scales8(aux, u);
    for (int k = 0; k < 4; k++) {
        /* sub-blocks 2k, 2k + 1: 4 index bytes, then their sign/scale word, each */
        const __m128i raw = _mm_loadu_si128((const __m128i *)(q + 16 * k));
        const __m128i pick =
            _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, -1, -1, -1, -1, -1, -1, -1, -1);
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(raw, pick));
        u->mag[k] = _mm512_i32gather_epi64(idx, (const void *)iq2xxs_grid, 8);
    }
}

/* Chunk k's scales as ls4 lays them (lanes 4j .. 4j + 3: half j of the chunk) from ls16,
 * lane n the scale of the block's half n. */
static inline __m512i chunk_scales(__m512i ls16, int k) {
    const __m512i quad = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    return _mm512_permutexvar_epi32(_mm512_add_epi32(quad, _mm512_set1_epi32(4 * k)), ls16);
}

/* Lane n: 2 x nibble n % 2 of scales[n / 2] + 1, the scale of half n (IQ2_XS, IQ2_S). */
static inline __m512i half_scales16(const uint8_t *scales) {
    const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)scales));
    const __m512i nib = _mm512_and_si512(
        _mm512_srlv_epi32(
            _mm512_permutexvar_epi32(
                _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), bytes),
            _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4)),
        _mm512_set1_epi32(15));
    return _mm512_add_epi32(_mm512_slli_epi32(nib, 1), _mm512_set1_epi32(1));
}

/* IQ2_XS: the 32 groups' signs (7 bits above a 9-bit index, the 8th by parity) in 16-bit
 * lanes at once, the 16 half scales by one variable shift, the magnitudes by one gather a
 * chunk. iq_kbench, 2-core SPR-class Xeon, load 9, TSC ticks per 256 weights, row dot /
 * 8-token tile: 60.0 / 16.4 -> 33.4 / 14.0 (3 runs alike; AVX2's 52.4 / 17.5): AVX-512 keeps
 * its own. */
static inline void sb_iq2_xs(const block_iq2_xs *b, iq_sb *u) {
    u->d = _cvtsh_ss(b->d);
    const __m512i s = _mm512_srli_epi16(_mm512_loadu_si512(b->qs), 9);
    __m512i p = _mm512_xor_si512(s, _mm512_srli_epi16(s, 4));
    p = _mm512_xor_si512(p, _mm512_srli_epi16(p, 2));
    p = _mm512_and_si512(_mm512_xor_si512(p, _mm512_srli_epi16(p, 1)), _mm512_set1_epi16(1));
    uint64_t neg[4];
    _mm256_storeu_si256((__m256i *)neg,
                        _mm512_cvtepi16_epi8(_mm512_or_si512(s, _mm512_slli_epi16(p, 7))));
    const __m512i ls16 = half_scales16(b->scales);
    for (int k = 0; k < 4; k++) {
        /* 8 uint16: a 9-bit index and 7 sign bits each */
        const __m128i v = _mm_loadu_si128((const __m128i *)(b->qs + 8 * k));
        const __m256i idx = _mm256_and_si256(_mm256_cvtepu16_epi32(v), _mm256_set1_epi32(511));
        u->mag[k] = _mm512_i32gather_epi64(idx, (const void *)iq2xs_grid, 8);
        u->neg[k] = neg[k];
        u->ls[k] = chunk_scales(ls16, k);
    }
}

/* IQ2_S: scales as IQ2_XS's (half_scales16, not ls4's scalar inserts a chunk): iq_kbench,
 * 2-core SPR-class Xeon, load 9, TSC ticks per 256 weights, row dot / 8-token tile, best of 3:
 * 50.0 / 16.0 -> 36.1 / 15.2 (AVX2's 48.2 / 17.7). */
static inline void sb_iq2_s(const block_iq2_s *b, iq_sb *u) {
    u->d = _cvtsh_ss(b->d);
    const __m512i ls16 = half_scales16(b->scales);
    for (int k = 0; k < 4; k++) {
        /* group g of sub-block 2k + g / 4: qs[8k + g] | bits 2 (g % 4) .. + 1 of its qh << 8 */
        __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * k)));
        const __m256i qh = _mm256_setr_epi32(b->qh[2 * k], b->qh[2 * k], b->qh[2 * k], b->qh[2 * k],
                                             b->qh[2 * k + 1], b->qh[2 * k + 1], b->qh[2 * k + 1],
                                             b->qh[2 * k + 1]);
        const __m256i hi = _mm256_and_si256(
            _mm256_srlv_epi32(qh, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6)), _mm256_set1_epi32(3));
        idx = _mm256_add_epi32(idx, _mm256_slli_epi32(hi, 8));
        u->mag[k] = _mm512_i32gather_epi64(idx, (const void *)iq2s_grid, 8);
        u->neg[k] = le64(b->qs + 32 + 8 * k);
        u->ls[k] = chunk_scales(ls16, k);
    }
}

/* IQ1: chunk k holds groups 8k .. 8k + 7 (sub-blocks 2k, 2k + 1); grid entries g (bytes -1, 0, 1)
 * become v = 8 g + delta (delta +-1 per group: never 0), |v| the magnitude and v < 0 the sign.
 * 8 g is g << 3 in 16-bit lanes with each byte's spill into its neighbour masked off. */
static inline void iq1_chunk(iq_sb *u, int k, __m256i idx, __mmask8 neg_delta) {
    const __m512i g = _mm512_i32gather_epi64(idx, (const void *)iq1s_grid, 8);
    const __m512i delta =
        _mm512_mask_blend_epi64(neg_delta, _mm512_set1_epi8(1), _mm512_set1_epi8(-1));
    const __m512i g8 = _mm512_and_si512(_mm512_slli_epi16(g, 3), _mm512_set1_epi8((char)0xF8));
    const __m512i v = _mm512_add_epi8(g8, delta);
    u->mag[k] = _mm512_abs_epi8(v);
    u->neg[k] = _mm512_movepi8_mask(v);
}

static inline void sb_iq1_s(const block_iq1_s *b, iq_sb *u) {
    u->d = _cvtsh_ss(b->d);
    for (int k = 0; k < 4; k++) {
        /* qh[i]: bits 3l .. 3l + 2 group l's index bits 8-10, 12-14 the scale, 15 delta < 0 */
        const uint32_t qh = iq_le32((const uint8_t *)(b->qh + 2 * k));
        const __m256i hi = _mm256_srlv_epi32(_mm256_set1_epi32((int)qh),
                                             _mm256_setr_epi32(0, 3, 6, 9, 16, 19, 22, 25));
        const __m256i lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * k)));
        const __m256i idx =
            _mm256_or_si256(lo, _mm256_slli_epi32(_mm256_and_si256(hi, _mm256_set1_epi32(7)), 8));
        iq1_chunk(u, k, idx, (__mmask8)((qh >> 15 & 1) * 0x0F | (qh >> 31) * 0xF0));
        const int s0 = (int)(2 * (qh >> 12 & 7) + 1), s1 = (int)(2 * (qh >> 28 & 7) + 1);
        u->ls[k] = ls4(s0, s0, s1, s1);
    }
}

static inline void sb_iq1_m(const block_iq1_m *b, iq_sb *u) {
    uint16_t sc[4];
    memcpy(sc, b->scales, 8);
    u->d = _cvtsh_ss((uint16_t)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                                (sc[3] & 0xf000)));
    for (int k = 0; k < 4; k++) {
        /* nibble l of qh[4k ..]: group l's index bits 8-10 (bits 0-2), delta < 0 (bit 3) */
        const __m256i nib = _mm256_srlv_epi32(_mm256_set1_epi32((int)iq_le32(b->qh + 4 * k)),
                                              _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28));
        const __m256i lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * k)));
        const __m256i idx =
            _mm256_or_si256(lo, _mm256_slli_epi32(_mm256_and_si256(nib, _mm256_set1_epi32(7)), 8));
        iq1_chunk(u, k, idx, _mm256_test_epi32_mask(nib, _mm256_set1_epi32(8)));
        /* sc[k]: bits 0-2, 3-5 the halves of sub-block 2k, 6-8, 9-11 those of 2k + 1 */
        const int s = sc[k];
        u->ls[k] =
            ls4(2 * (s & 7) + 1, 2 * (s >> 3 & 7) + 1, 2 * (s >> 6 & 7) + 1, 2 * (s >> 9 & 7) + 1);
    }
}

#endif
