/* avx2_iq_unpack.h - the IQ super-block unpack of the AVX2 set: IQ2_XXS, IQ2_XS, IQ2_S,
 * IQ3_XXS, IQ3_S, IQ1_S, IQ1_M, 256 values at a time into magnitudes, sign bytes and scales
 * (iq_sb8). Read by the row dots and tiles (avx2_iq_sb.c: products by vpmaddubsw against
 * sign-applied activations) and by the batch kernel of 16 tokens in the lanes
 * (avx2_x16_iq.c: signed values + 64 as unsigned codes). The layouts are those of
 * quant/iq_unpack.h, read 32 values at once; how each part is built: avx2_iq_sb.c's header. */
#ifndef SCARCE_AVX2_IQ_UNPACK_H
#define SCARCE_AVX2_IQ_UNPACK_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../quant/iq_unpack.h"

/* One super-block unpacked for the products. */
typedef struct {
    __m256i mag[8]; /* unsigned magnitudes of values 32k .. 32k + 31 */
    __m256i sgn[8]; /* nonzero bytes carrying those values' signs (vpsignb's operand) */
    __m256i ls[8];  /* int16 lanes 0-7: scale of values 32k .. +15, lanes 8-15: of 32k + 16 .. */
    __m128i halves; /* byte n: the scale 2 s + 1 of values 16n .. 16n + 15 */
    float d;
} iq_sb8;

static inline uint32_t le16(const void *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* A sub-block's 32 sign bits, the 4 bytes at p (bit j set: value j negative), as bytes -1 / +1.
 * Read from memory (the computed ones stored first): vpbroadcastd from memory is a load uop,
 * vpermd from a register one more on the shuffle port that the rest crowds. */
static inline __m256i sign_bytes(const uint8_t *p) {
    const __m256i w = _mm256_set1_epi32((int)iq_le32(p));
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                            2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i neg =
        _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(w, spread), bit), bit);
    return _mm256_or_si256(neg, _mm256_set1_epi8(1));
}

/* Bytes of 7 sign bits each (bit 7 clear) with bit 7 set to their parity (iq_signs8): the xor
 * folds by 4, 2, 1 bring bits 0-7 of each byte to its bit 0 and nothing from its neighbours. */
static inline __m256i with_parity(__m256i s) {
    __m256i p = _mm256_xor_si256(s, _mm256_srli_epi32(s, 4));
    p = _mm256_xor_si256(p, _mm256_srli_epi32(p, 2));
    p = _mm256_xor_si256(p, _mm256_srli_epi32(p, 1));
    return _mm256_or_si256(s, _mm256_slli_epi32(_mm256_and_si256(p, _mm256_set1_epi8(1)), 7));
}

/* 8 dwords of 4 x 7 sign bits (bits 0-27: groups 0-3) -> 8 dwords of 4 sign bytes. */
static inline __m256i signs7_words(__m256i aux) {
    const __m256i g0 = _mm256_and_si256(aux, _mm256_set1_epi32(0x7f));
    const __m256i g1 = _mm256_and_si256(_mm256_slli_epi32(aux, 1), _mm256_set1_epi32(0x7f00));
    const __m256i g2 = _mm256_and_si256(_mm256_slli_epi32(aux, 2), _mm256_set1_epi32(0x7f0000));
    const __m256i g3 = _mm256_and_si256(_mm256_slli_epi32(aux, 3), _mm256_set1_epi32(0x7f000000));
    return with_parity(_mm256_or_si256(_mm256_or_si256(g0, g1), _mm256_or_si256(g2, g3)));
}

/* Sub-block k's int16 scale lanes from the 16 half-scale bytes (byte 2k: values 0-15 of
 * sub-block k, 2k + 1: 16-31) held in both 128-bit lanes of h. */
static inline __m256i half_scales(__m256i h, int k) {
    const __m256i pick =
        _mm256_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 0, -128, 0, -128, 0, -128, 0, -128, 1,
                         -128, 1, -128, 1, -128, 1, -128, 1, -128, 1, -128, 1, -128, 1, -128);
    return _mm256_shuffle_epi8(h, _mm256_add_epi8(pick, _mm256_set1_epi8((char)(2 * k))));
}

/* 8 dwords ls_k (< 256) -> the 16 half-scale bytes [ls_0, ls_0, ls_1, ls_1, ...] in both lanes
 * (packus of ls x 0x0101 makes the byte pairs; the qword permute orders and duplicates them). */
static inline __m256i halves_from_dwords(__m256i ls) {
    const __m256i pairs = _mm256_mullo_epi32(ls, _mm256_set1_epi32(0x0101));
    return _mm256_permute4x64_epi64(_mm256_packus_epi32(pairs, pairs), 0x88);
}

/* 8 scale bytes of two nibbles (low: values 0-15 of sub-block k, high: 16-31) -> half-scale
 * bytes 2 s + 1 in both lanes. */
static inline __m256i halves_from_nibbles(const uint8_t *scales) {
    const __m128i x = _mm_loadl_epi64((const __m128i *)scales);
    const __m128i m = _mm_set1_epi8(15);
    const __m128i s =
        _mm_unpacklo_epi8(_mm_and_si128(x, m), _mm_and_si128(_mm_srli_epi16(x, 4), m));
    return _mm256_broadcastsi128_si256(_mm_add_epi8(_mm_add_epi8(s, s), _mm_set1_epi8(1)));
}

/* The 8 aux dwords of IQ2_XXS (the odd dwords of its 64 bytes of qs: 4 index bytes, then 4 x 7
 * sign bits and the scale, per sub-block). */
static inline __m256i iq2_xxs_aux(const uint8_t *q) {
    const __m256 lo = _mm256_loadu_ps((const float *)q),
                 hi = _mm256_loadu_ps((const float *)(q + 32));
    /* odd dwords: aux 0, 1, 4, 5 | 2, 3, 6, 7, then qwords to order */
    const __m256i odd = _mm256_castps_si256(_mm256_shuffle_ps(lo, hi, 0xDD));
    return _mm256_permute4x64_epi64(odd, 0xD8);
}

/* IQ2_XXS / IQ3_XXS: each sub-block's 4-bit scale (the top of its aux dword) as the halves
 * 2 s + 1 of halves_from_dwords. */
static inline __m256i halves_from_aux(__m256i aux) {
    const __m256i s = _mm256_srli_epi32(aux, 28);
    return halves_from_dwords(_mm256_add_epi32(_mm256_add_epi32(s, s), _mm256_set1_epi32(1)));
}

static inline void sb_iq2_xxs(const block_iq2_xxs *b, iq_sb8 *u) {
    const uint8_t *q = (const uint8_t *)b->qs;
    u->d = _cvtsh_ss(b->d);
    const __m256i aux = iq2_xxs_aux(q);
    uint8_t signs[32];
    _mm256_storeu_si256((__m256i *)signs, signs7_words(aux));
    const __m256i h = halves_from_aux(aux);
    u->halves = _mm256_castsi256_si128(h);
    for (int k = 0; k < 8; k++) {
        const __m128i idx = _mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)iq_le32(q + 8 * k)));
        u->mag[k] = _mm256_i32gather_epi64((const long long *)iq2xxs_grid, idx, 8);
        u->sgn[k] = sign_bytes(signs + 4 * k);
        u->ls[k] = half_scales(h, k);
    }
}

static inline void sb_iq2_xs(const block_iq2_xs *b, iq_sb8 *u) {
    u->d = _cvtsh_ss(b->d);
    /* 32 uint16: a 9-bit index and 7 sign bits each; the codes' bytes packed back to order */
    const __m256i v0 = _mm256_loadu_si256((const __m256i *)b->qs);
    const __m256i v1 = _mm256_loadu_si256((const __m256i *)(b->qs + 16));
    const __m256i s = _mm256_packus_epi16(with_parity(_mm256_srli_epi16(v0, 9)),
                                          with_parity(_mm256_srli_epi16(v1, 9)));
    uint8_t signs[32];
    _mm256_storeu_si256((__m256i *)signs, _mm256_permute4x64_epi64(s, 0xD8));
    const __m256i h = halves_from_nibbles(b->scales);
    u->halves = _mm256_castsi256_si128(h);
    for (int k = 0; k < 8; k++) {
        const __m128i w = _mm_cvtepu16_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 4 * k)));
        const __m128i idx = _mm_and_si128(w, _mm_set1_epi32(511));
        u->mag[k] = _mm256_i32gather_epi64((const long long *)iq2xs_grid, idx, 8);
        u->sgn[k] = sign_bytes(signs + 4 * k);
        u->ls[k] = half_scales(h, k);
    }
}

static inline void sb_iq2_s(const block_iq2_s *b, iq_sb8 *u) {
    u->d = _cvtsh_ss(b->d);
    const uint8_t *signs = b->qs + 32;
    const __m256i h = halves_from_nibbles(b->scales);
    u->halves = _mm256_castsi256_si128(h);
    for (int k = 0; k < 8; k++) {
        /* group l: qs[4k + l] | bits 2l, 2l + 1 of qh[k] << 8 */
        const __m128i lo = _mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)iq_le32(b->qs + 4 * k)));
        const __m128i hi = _mm_and_si128(
            _mm_srlv_epi32(_mm_set1_epi32((int)iq_le32(b->qh + k)), _mm_setr_epi32(0, 2, 4, 6)),
            _mm_set1_epi32(3));
        const __m128i idx = _mm_or_si128(lo, _mm_slli_epi32(hi, 8));
        u->mag[k] = _mm256_i32gather_epi64((const long long *)iq2s_grid, idx, 8);
        u->sgn[k] = sign_bytes(signs + 4 * k);
        u->ls[k] = half_scales(h, k);
    }
}

static inline void sb_iq3_xxs(const block_iq3_xxs *b, iq_sb8 *u) {
    u->d = _cvtsh_ss(b->d);
    const __m256i aux = _mm256_loadu_si256((const __m256i *)(b->qs + 64));
    uint8_t signs[32];
    _mm256_storeu_si256((__m256i *)signs, signs7_words(aux));
    const __m256i h = halves_from_aux(aux);
    u->halves = _mm256_castsi256_si128(h);
    for (int k = 0; k < 8; k++) {
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * k)));
        u->mag[k] = _mm256_i32gather_epi32((const int *)iq3xxs_grid, idx, 4);
        u->sgn[k] = sign_bytes(signs + 4 * k);
        u->ls[k] = half_scales(h, k);
    }
}

static inline void sb_iq3_s(const block_iq3_s *b, iq_sb8 *u) {
    u->d = _cvtsh_ss(b->d);
    const uint8_t *signs = b->signs;
    /* 4 bytes of two 4-bit scales: sub-block 2i low nibble, 2i + 1 high; both halves alike */
    const __m128i x = _mm_cvtsi32_si128((int)iq_le32(b->scales));
    const __m128i m = _mm_set1_epi8(15);
    __m128i s = _mm_unpacklo_epi8(_mm_and_si128(x, m), _mm_and_si128(_mm_srli_epi16(x, 4), m));
    s = _mm_unpacklo_epi8(s, s);
    const __m256i h =
        _mm256_broadcastsi128_si256(_mm_add_epi8(_mm_add_epi8(s, s), _mm_set1_epi8(1)));
    u->halves = _mm256_castsi256_si128(h);
    for (int k = 0; k < 8; k++) {
        /* index j = qs[8k + j] | bit j of qh[k] << 8 */
        const __m256i lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(b->qs + 8 * k)));
        const __m256i bit = _mm256_and_si256(_mm256_set1_epi32((int)iq_le32(b->qh + k)),
                                             _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128));
        const __m256i hi = _mm256_sllv_epi32(bit, _mm256_setr_epi32(8, 7, 6, 5, 4, 3, 2, 1));
        u->mag[k] = _mm256_i32gather_epi32((const int *)iq3s_grid, _mm256_or_si256(lo, hi), 4);
        u->sgn[k] = sign_bytes(signs + 4 * k);
        u->ls[k] = half_scales(h, k);
    }
}

/* IQ1: values v = 8 g + delta of grid entry g (bytes -1, 0, 1) and delta bytes +-1. */
static inline void iq1_values(__m256i g, __m256i delta, __m256i *mag, __m256i *sgn) {
    const __m256i v = _mm256_add_epi8(_mm256_sign_epi8(_mm256_set1_epi8(8), g), delta);
    *mag = _mm256_abs_epi8(v);
    *sgn = v;
}

static inline void sb_iq1_s(const block_iq1_s *b, iq_sb8 *u) {
    u->d = _cvtsh_ss(b->d);
    /* qh[k]: bits 3l .. 3l + 2 group l's index bits 8-10, 12-14 the scale, 15 delta < 0 */
    const __m128i qh = _mm_loadu_si128((const __m128i *)b->qh);
    const __m128i ls =
        _mm_add_epi16(_mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(qh, 12), _mm_set1_epi16(7)), 1),
                      _mm_set1_epi16(1));
    const __m256i h = _mm256_broadcastsi128_si256(_mm_or_si128(ls, _mm_slli_epi16(ls, 8)));
    u->halves = _mm256_castsi256_si128(h);
    /* byte k (and 8 + k): sub-block k's delta -1 or +1 */
    const __m128i dk = _mm_or_si128(_mm_srai_epi16(qh, 15), _mm_set1_epi16(1));
    const __m256i deltas = _mm256_broadcastsi128_si256(_mm_packs_epi16(dk, dk));
    for (int k = 0; k < 8; k++) {
        const __m128i lo = _mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)iq_le32(b->qs + 4 * k)));
        const __m128i hi =
            _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(b->qh[k]), _mm_setr_epi32(0, 3, 6, 9)),
                          _mm_set1_epi32(7));
        const __m128i idx = _mm_or_si128(lo, _mm_slli_epi32(hi, 8));
        const __m256i g = _mm256_i32gather_epi64((const long long *)iq1s_grid, idx, 8);
        iq1_values(g, _mm256_shuffle_epi8(deltas, _mm256_set1_epi8((char)k)), &u->mag[k],
                   &u->sgn[k]);
        u->ls[k] = half_scales(h, k);
    }
}

static inline void sb_iq1_m(const block_iq1_m *b, iq_sb8 *u) {
    uint16_t sc[4];
    memcpy(sc, b->scales, 8);
    u->d = _cvtsh_ss((uint16_t)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                                (sc[3] & 0xf000)));
    /* half h (values 16 h .. + 15) has s = bits 3 (h % 4) .. + 2 of sc[h / 4]: each word in 4
     * int16 lanes, shifted up by 13 - 3 (h % 4) (mullo by a power of two), then down by 13 */
    const __m256i words = _mm256_shuffle_epi8(
        _mm256_set1_epi64x((long long)((uint64_t)sc[0] | (uint64_t)sc[1] << 16 |
                                       (uint64_t)sc[2] << 32 | (uint64_t)sc[3] << 48)),
        _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 4, 5, 4, 5, 4, 5, 4, 5, 6,
                         7, 6, 7, 6, 7, 6, 7));
    const __m256i up = _mm256_setr_epi16(8192, 1024, 128, 16, 8192, 1024, 128, 16, 8192, 1024, 128,
                                         16, 8192, 1024, 128, 16);
    const __m256i s = _mm256_srli_epi16(_mm256_mullo_epi16(words, up), 13);
    const __m256i ls = _mm256_add_epi16(_mm256_add_epi16(s, s), _mm256_set1_epi16(1));
    const __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi16(ls, ls), 0x88);
    u->halves = _mm256_castsi256_si128(h);
    /* qh byte 2k + i: groups 2i, 2i + 1 of sub-block k in its nibbles (bits 0-2 index bits 8-10,
     * bit 3 delta < 0) */
    const __m256i qh = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)b->qh));
    const __m256i dbit =
        _mm256_setr_epi8(8, 8, 8, 8, 8, 8, 8, 8, -128, -128, -128, -128, -128, -128, -128, -128, 8,
                         8, 8, 8, 8, 8, 8, 8, -128, -128, -128, -128, -128, -128, -128, -128);
    for (int k = 0; k < 8; k++) {
        const __m128i lo = _mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)iq_le32(b->qs + 4 * k)));
        const __m128i hi = _mm_and_si128(
            _mm_srlv_epi32(_mm_set1_epi32((int)le16(b->qh + 2 * k)), _mm_setr_epi32(0, 4, 8, 12)),
            _mm_set1_epi32(7));
        const __m128i idx = _mm_or_si128(lo, _mm_slli_epi32(hi, 8));
        const __m256i g = _mm256_i32gather_epi64((const long long *)iq1s_grid, idx, 8);
        const __m256i pick =
            _mm256_setr_m128i(_mm_set1_epi8((char)(2 * k)), _mm_set1_epi8((char)(2 * k + 1)));
        const __m256i neg =
            _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(qh, pick), dbit), dbit);
        iq1_values(g, _mm256_or_si256(neg, _mm256_set1_epi8(1)), &u->mag[k], &u->sgn[k]);
        u->ls[k] = half_scales(h, k);
    }
}

#endif
