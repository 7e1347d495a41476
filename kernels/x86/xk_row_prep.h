/* xk_row_prep.h - the file-layout K-quant and codebook rows (Q2_K .. Q6_K, IQ4_XS, IQ2_XXS
 * .. IQ1_M) decoded a super-block at a time for the batch kernels (krow): shared by the
 * AVX-512 token-lane kernel (avx512_x16_kquant.c) and the AMX tile kernel (amx_kquant.c), so
 * both multiply the same codes and scales. Needs AVX-512 F/BW/VL (the including files' flags). */
#ifndef SCARCE_XK_ROW_PREP_H
#define SCARCE_XK_ROW_PREP_H

#include <immintrin.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_iq_unpack.h"
#include "iq4_xs_values.h"

enum {
    XK_Q4_K,
    XK_Q5_K,
    XK_Q6_K,
    XK_Q2_K,
    XK_Q3_K,
    XK_IQ4_XS,
    /* the codebook formats (avx512_iq_unpack.h), from XK_IQ2_XXS on */
    XK_IQ2_XXS,
    XK_IQ2_XS,
    XK_IQ2_S,
    XK_IQ3_XXS,
    XK_IQ3_S,
    XK_IQ1_S,
    XK_IQ1_M,
};
#define XK_IS_IQ(KIND) ((KIND) >= XK_IQ2_XXS)

/* One row's super-block, decoded for the products. */
typedef struct {
    alignas(64) uint32_t u[64]; /* unsigned codes, dword c = codes 4c .. 4c + 3 */
    int32_t sc[16];             /* sub-block scales (Q4_K/Q5_K: 8 of 32 codes, Q6_K: 16 of 16) */
    /* vpdpwssd pairs against the bsum pairs: Q4_K/Q5_K the min m_j twice (m | m << 16),
     * Q6_K the scales of sub-blocks 2j, 2j + 1 (int16 each) */
    uint32_t mm[8];
    float d, dmin;
} krow;

static inline size_t xk_block_bytes(const int KIND) {
    return KIND == XK_IQ2_XXS  ? sizeof(block_iq2_xxs)
           : KIND == XK_IQ2_XS ? sizeof(block_iq2_xs)
           : KIND == XK_IQ2_S  ? sizeof(block_iq2_s)
           : KIND == XK_IQ3_XXS ? sizeof(block_iq3_xxs)
           : KIND == XK_IQ3_S  ? sizeof(block_iq3_s)
           : KIND == XK_IQ1_S  ? sizeof(block_iq1_s)
           : KIND == XK_IQ1_M  ? sizeof(block_iq1_m)
           : KIND == XK_IQ4_XS ? sizeof(block_iq4_xs)
           : KIND == XK_Q3_K ? sizeof(block_q3_K)
           : KIND == XK_Q2_K ? sizeof(block_q2_K)
           : KIND == XK_Q6_K ? sizeof(block_q6_K)
           : KIND == XK_Q5_K ? sizeof(block_q5_K)
                             : sizeof(block_q4_K);
}

/* Q6_K (blocks.h): for half h and l < 32, elements 128h + 32p + l (p = 0..3) take the low
 * (p < 2) or high nibble of ql[64h + 32 (p & 1) + l] and bits 2p, 2p + 1 of qh[32h + l]
 * as bits 4-5; codes 0..63 (the - 32 comes off with the bsums). */
static inline void row_prep_q6(const block_q6_K *b, krow *k) {
    k->d = _cvtsh_ss(b->d), k->dmin = 0;
    for (int j = 0; j < 16; j++) k->sc[j] = b->scales[j];
    for (int j = 0; j < 8; j++)
        k->mm[j] = (uint32_t)(uint16_t)(int16_t)b->scales[2 * j] |
                   (uint32_t)(uint16_t)(int16_t)b->scales[2 * j + 1] << 16;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    for (int h = 0; h < 2; h++) {
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
        /* bits 2p, 2p + 1 of each qh byte to bits 4-5 (the 16-bit shifts move no kept bit
         * across bytes) */
        const __m256i p[4] = {_mm256_or_si256(_mm256_and_si256(l0, m4),
                                              _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30)),
                              _mm256_or_si256(_mm256_and_si256(l1, m4),
                                              _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30)),
                              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                              _mm256_and_si256(qh, m30)),
                              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                              _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30))};
        for (int q = 0; q < 4; q++) _mm256_store_si256((__m256i *)(k->u + 32 * h + 8 * q), p[q]);
    }
}

/* Sub-block k = 2p + hi holds qs[32p + l] (l < 32) as its low (hi = 0) or high nibble;
 * Q5_K's fifth bit of its element l is bit k of qh[l]. */
/* Q2_K (blocks.h): element 128h + 32j + l = (qs[32h + l] >> 2j) & 3, sub-block
 * 8h + 2j + l / 16. Its 4-bit scale is folded into the codes (q sc <= 45 fits a byte: one
 * vpshufb of the 4-entry table sc x {0, 1, 2, 3} per 16-code sub-block), so the products
 * are the scaled sums directly, with no vpmulld; mins pair up for vpdpwssd. */
static inline void row_prep_q2(const block_q2_K *b, krow *k) {
    k->d = _cvtsh_ss(b->d), k->dmin = _cvtsh_ss(b->dmin);
    for (int j = 0; j < 8; j++)
        k->mm[j] = (uint32_t)(b->scales[2 * j] >> 4) | (uint32_t)(b->scales[2 * j + 1] >> 4) << 16;
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        const __m256i raw = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * h));
        for (int j = 0; j < 4; j++) {
            const int sub = 8 * h + 2 * j; /* lanes 0-15: sub-block sub, 16-31: sub + 1 */
            const uint32_t t0 = (uint32_t)(b->scales[sub] & 0xF) * 0x03020100u;
            const uint32_t t1 = (uint32_t)(b->scales[sub + 1] & 0xF) * 0x03020100u;
            const __m256i table = _mm256_set_epi32(0, 0, 0, (int)t1, 0, 0, 0, (int)t0);
            const __m256i q = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * j), m3);
            _mm256_store_si256((__m256i *)(k->u + 32 * h + 8 * j), _mm256_shuffle_epi8(table, q));
        }
    }
}

/* Q3_K (blocks.h): element 128h + 32j + l = low | high << 2 with low = (qs[32h + l] >> 2j)
 * & 3 and high = bit 4h + j of hmask[l]: codes 0..7 (the - 4 comes off with the bsums, as
 * Q6_K's - 32), scales k3_scale - 32 (signed: by vpmulld). */
static inline void row_prep_q3(const block_q3_K *b, krow *k) {
    k->d = _cvtsh_ss(b->d), k->dmin = 0;
    for (int j = 0; j < 16; j++) k->sc[j] = k3_scale(j, b->scales) - 32;
    for (int j = 0; j < 8; j++)
        k->mm[j] = (uint32_t)(uint16_t)(int16_t)k->sc[2 * j] |
                   (uint32_t)(uint16_t)(int16_t)k->sc[2 * j + 1] << 16;
    const __m256i m3 = _mm256_set1_epi8(3), b4 = _mm256_set1_epi8(4);
    const __m256i hm = _mm256_loadu_si256((const __m256i *)b->hmask);
    for (int h = 0; h < 2; h++) {
        const __m256i raw = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * h));
        for (int j = 0; j < 4; j++) {
            const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(raw, 2 * j), m3);
            const __mmask32 high =
                _mm256_test_epi8_mask(hm, _mm256_set1_epi8((char)(1 << (4 * h + j))));
            _mm256_store_si256((__m256i *)(k->u + 32 * h + 8 * j),
                               _mm256_or_si256(lo, _mm256_maskz_mov_epi8(high, b4)));
        }
    }
}

/* IQ4_XS (blocks.h): sub-block ib's 32 indices in qs[16 ib ..] as Q4_0's nibbles, each to
 * its grid value + 128 (the grid xor 0x80: unsigned; the - 128 comes off with the bsum
 * pairs times the scale pair l - 32 | l - 32), scales l - 32 by vpmulld. */
static inline void row_prep_iq4_xs(const block_iq4_xs *b, krow *k) {
    k->d = _cvtsh_ss(b->d), k->dmin = 0;
    for (int ib = 0; ib < 8; ib++) {
        k->sc[ib] = iq4xs_scale(b, ib) - 32;
        k->mm[ib] = (uint32_t)(uint16_t)(int16_t)k->sc[ib] * 0x10001u;
    }
    const __m256i grid = _mm256_xor_si256(
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl)),
        _mm256_set1_epi8((char)0x80));
    iq4_xs_values(b, grid, k->u);
}

/* The codebook formats: the super-block unpacked as the row dots unpack it (iq_sb: magnitudes,
 * sign masks, a scale per 4 values), each value v (|v| <= 62) to the unsigned code v + 64, the
 * 16 scales of its 16-value halves to sc, and the - 64 to the bsum pairs times 64 sc | 64 sc'
 * (64 x 31 fits int16). So sumi - summ = sum_halves ls sum v y, the integer of sb_isum and of
 * the reference, exactly: at most 16 x 31 x 16 x 126 x 128 < 2^31. */
static inline void row_prep_iq(const uint8_t *blk, krow *k, const int KIND) {
    iq_sb u;
    if (KIND == XK_IQ2_XXS) sb_iq2_xxs((const block_iq2_xxs *)blk, &u);
    if (KIND == XK_IQ2_XS) sb_iq2_xs((const block_iq2_xs *)blk, &u);
    if (KIND == XK_IQ2_S) sb_iq2_s((const block_iq2_s *)blk, &u);
    if (KIND == XK_IQ3_XXS) sb_iq3_xxs((const block_iq3_xxs *)blk, &u);
    if (KIND == XK_IQ3_S) sb_iq3_s((const block_iq3_s *)blk, &u);
    if (KIND == XK_IQ1_S) sb_iq1_s((const block_iq1_s *)blk, &u);
    if (KIND == XK_IQ1_M) sb_iq1_m((const block_iq1_m *)blk, &u);
    k->d = u.d, k->dmin = 0;
    for (int q = 0; q < 4; q++) {
        const __m512i v = _mm512_mask_sub_epi8(u.mag[q], u.neg[q], _mm512_setzero_si512(), u.mag[q]);
        _mm512_store_si512(k->u + 16 * q, _mm512_add_epi8(v, _mm512_set1_epi8(64)));
        alignas(64) int32_t ls[16];
        _mm512_store_si512(ls, u.ls[q]);
        for (int h = 0; h < 4; h++) k->sc[4 * q + h] = ls[4 * h];
    }
    for (int j = 0; j < 8; j++)
        k->mm[j] = (uint32_t)(uint16_t)(64 * k->sc[2 * j]) |
                   (uint32_t)(uint16_t)(64 * k->sc[2 * j + 1]) << 16;
}

static inline void row_prep(const uint8_t *blk, krow *k, const int KIND) {
    if (XK_IS_IQ(KIND)) {
        row_prep_iq(blk, k, KIND);
        return;
    }
    if (KIND == XK_IQ4_XS) {
        row_prep_iq4_xs((const block_iq4_xs *)blk, k);
        return;
    }
    if (KIND == XK_Q3_K) {
        row_prep_q3((const block_q3_K *)blk, k);
        return;
    }
    if (KIND == XK_Q2_K) {
        row_prep_q2((const block_q2_K *)blk, k);
        return;
    }
    if (KIND == XK_Q6_K) {
        row_prep_q6((const block_q6_K *)blk, k);
        return;
    }
    const block_q4_K *b4 = (const block_q4_K *)blk;
    const block_q5_K *b5 = (const block_q5_K *)blk;
    const uint8_t *scales = KIND == XK_Q5_K ? b5->scales : b4->scales;
    const uint8_t *qs = KIND == XK_Q5_K ? b5->qs : b4->qs;
    k->d = _cvtsh_ss(KIND == XK_Q5_K ? b5->d : b4->d);
    k->dmin = _cvtsh_ss(KIND == XK_Q5_K ? b5->dmin : b4->dmin);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        k4_scale_min(j, scales, &sc, &m);
        k->sc[j] = sc, k->mm[j] = (uint32_t)m | (uint32_t)m << 16;
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i qh =
        KIND == XK_Q5_K ? _mm256_loadu_si256((const __m256i *)b5->qh) : _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        const __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
        __m256i lo = _mm256_and_si256(raw, m4),
                hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        if (KIND == XK_Q5_K) {
            const __m256i b16 = _mm256_set1_epi8(0x10);
            lo = _mm256_or_si256(
                lo, _mm256_maskz_mov_epi8(
                        _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(1 << 2 * p))), b16));
            hi = _mm256_or_si256(
                hi,
                _mm256_maskz_mov_epi8(
                    _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(1 << (2 * p + 1)))), b16));
        }
        _mm256_store_si256((__m256i *)(k->u + 16 * p), lo);
        _mm256_store_si256((__m256i *)(k->u + 16 * p + 8), hi);
    }
}

/* The factor a codebook format's row dot multiplies its sum by (iq_sb_walk.h's SB_KERNELS). */
static inline float xk_factor(const int KIND) {
    return KIND == XK_IQ3_S ? 1.0f : KIND == XK_IQ3_XXS ? 0.25f : 0.125f;
}

#endif
