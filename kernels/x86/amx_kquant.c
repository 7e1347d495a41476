/* amx_kquant.c - large batches (B >= 16) of the file-layout K-quant and codebook rows (Q2_K ..
 * Q6_K, IQ4_XS, IQ2_XXS .. IQ1_M) by AMX tile products, 16 rows x 16 tokens a tile, against
 * the x16k activations (act_x16.h): the same results, bit for bit, as avx512_x16_kquant.c.
 *
 * The rows are decoded by the AVX-512 kernel's row_prep (xk_row_prep.h: codes u and sub-block
 * scales sc). Multiplying each sub-block's sum by its scale after the tile product would take
 * one product and one tile store per sub-block (16 of K = 16 for Q6_K) and a vpmulld per row
 * and sub-block; instead the scale goes into the codes: per code the int16
 *   v = sc_k (u - off)       |v| <= 63 x 31 (Q5_K) .. 127 x 32 (IQ4_XS) < 2^15
 * (off: Q6_K 32, Q3_K 4, IQ4_XS 128, codebooks 64, Q4_K/Q5_K 0) splits exactly into its low
 * byte (unsigned) and its high byte (signed): v = lo + 256 hi. Two products per 64 codes,
 * TDPBUSD(lo) and TDPBSSD(hi) (K = 64, 4 each per super-block, all in two tiles), give
 *   si = C_lo + 256 C_hi = sum_k sc_k sum_{e in k} (u_e - off) y_e
 * which is the integer of the reference (and of rows_x16k: sumi - off sum sc bsum): the int32
 * sums wrap alike and the true value fits. Q2_K's scales are already in its codes (q sc <=
 * 45): one product per 64 codes on u itself. Q4_K / Q5_K / Q2_K keep their mins apart
 * (summ = sum_k m_k bsum_k by vpdpwssd of the bsum pairs, as rows_x16k), folded with dmin.
 * The float fold is rows_x16k's per row and super-block. Rows past the last 16 take the
 * AVX-512 kernel (the same bits), and so do whole batches of one token group (B <= 16) of
 * Q4_K / Q5_K / Q6_K / IQ4_XS, where it measured faster. Tests: tests/test_x16_gemm.c
 * (x16_amx_kquant_*).
 *
 * Measured (2-core Sapphire Rapids-class Xeon VM, 2600 MHz, load 6-9 from other jobs): row_gemm
 * of random rows 2048 x 5632, B 64, 1 thread, best of 7 interleaved, AVX-512 -> AMX, GMAC/s:
 *   Q4_K 145 -> 220, Q5_K 138 -> 212, Q6_K 127 -> 243, Q2_K 129 -> 330, Q3_K 118 -> 244,
 *   IQ4_XS 139 -> 267, IQ2_XXS 119 -> 235, IQ2_XS 120 -> 232, IQ2_S 118 -> 222,
 *   IQ3_XXS 113 -> 235, IQ3_S 112 -> 236, IQ1_S 122 -> 253, IQ1_M 124 -> 242;
 * B 32: Q4_K 118 -> 134, Q6_K 94 -> 145; B 16 (one group): Q4_K 109 -> 99, Q6_K 112 -> 105
 * (hence AVX-512 there), Q2_K 102 -> 160, IQ2_XXS 85 -> 94. Q2_K's packed copy's AVX-512 batch
 * kernel (avx512_x16_q2k.c) on the same matrix: 210 GMAC/s at B 64, 207 at B 128 (AMX here
 * 394), so the AMX set sends Q2_K batches to the file rows (amx_install.c). End to end,
 * `SCARCE_ISA=avx512|amx ./scarce bench -m tinyllama-q4_k.gguf -p 128 -n 0 -r 3 -t 1`, 7
 * interleaved pairs, median pp128: 76 -> 88 tok/s (runs spread 61-82 / 70-114 under the
 * load); tinyllama-q2_k.gguf, 3 pairs: 109 -> 136. The decode (prep) is now about 40% of a
 * B 64 call: the next lever is overlapping it with the tile products. */
#include <immintrin.h>
#include <stdalign.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../act_x16.h"
#include "amx.h"
#include "amx_tiles.h"
#include "avx512.h"
#include "x16_tile.h"
#include "xk_row_prep.h"

/* Rows a tile, super-blocks decoded at once (16 rows x 512 bytes each: 4 fit L1 with the
 * activations streaming), token groups per pass. */
#define AK_ROWS 16
#define AK_SPAN 4
#define AK_GROUPS 8

/* 16 rows' super-block, scaled and split (Q2_K: lo = its scaled codes, no hi). */
typedef struct {
    alignas(64) uint8_t lo[AK_ROWS][QK_K];
    alignas(64) int8_t hi[AK_ROWS][QK_K];
    alignas(64) float d[AK_ROWS];
    alignas(64) float dmin[AK_ROWS];
    alignas(64) uint32_t mm[AK_ROWS][8];
} ksb;

static inline int ak_has_mins(const int KIND) {
    return KIND == XK_Q4_K || KIND == XK_Q5_K || KIND == XK_Q2_K;
}

/* The offset the codes carry (row_prep), taken off before the scale. */
static inline int ak_offset(const int KIND) {
    return KIND == XK_Q6_K      ? 32
           : KIND == XK_Q3_K    ? 4
           : KIND == XK_IQ4_XS  ? 128
           : XK_IS_IQ(KIND)     ? 64
                                : 0;
}

/* All eight tiles 16 rows x 64 bytes: 0-3 the int32 sums (lo, hi; two sets, alternated), 4, 5
 * the codes' lo / hi (16 rows x 64 codes), 6, 7 the activations of 64 codes (16 dword rows of
 * 16 tokens). */
static void tiles_configure(void) {
    static const uint8_t rows[8] = {16, 16, 16, 16, 16, 16, 16, 16};
    static const uint16_t colsb[8] = {64, 64, 64, 64, 64, 64, 64, 64};
    tiles_load_shapes(rows, colsb);
}

/* Row r of s from its decoded krow: v = sc (u - off) per code as int16, the even codes of
 * 64 in the words' low bytes and the odd ones in their high bytes (no widening shuffle: the
 * scale of a word by vpermw from the 16 scales, its two codes share a sub-block); lo takes
 * the products' low bytes back to code order by a byte blend, hi their high bytes. */
static inline void row_split(const krow *k, ksb *s, int r, const int KIND) {
    s->d[r] = k->d, s->dmin[r] = k->dmin;
    memcpy(s->mm[r], k->mm, sizeof k->mm);
    const uint8_t *u = (const uint8_t *)k->u;
    if (KIND == XK_Q2_K) {
        memcpy(s->lo[r], u, QK_K);
        return;
    }
    const int sub_len = KIND == XK_Q4_K || KIND == XK_Q5_K || KIND == XK_IQ4_XS ? 32 : 16;
    const __m512i sc16 = _mm512_castsi256_si512(_mm512_cvtepi32_epi16(_mm512_loadu_si512(k->sc)));
    const __m512i off = _mm512_set1_epi16((short)ak_offset(KIND));
    const __m512i m8 = _mm512_set1_epi16(0xFF);
    const __mmask64 odd = 0xAAAAAAAAAAAAAAAAull;
    for (int q = 0; q < 4; q++) { /* codes 64q .. 64q + 63, word i = codes 64q + 2i, + 1 */
        alignas(64) int16_t idx[32];
        for (int i = 0; i < 32; i++) idx[i] = (int16_t)((64 * q + 2 * i) / sub_len);
        const __m512i scale = _mm512_permutexvar_epi16(_mm512_load_si512(idx), sc16);
        const __m512i x = _mm512_load_si512(u + 64 * q);
        const __m512i pe = _mm512_mullo_epi16(_mm512_sub_epi16(_mm512_and_si512(x, m8), off), scale);
        const __m512i po = _mm512_mullo_epi16(_mm512_sub_epi16(_mm512_srli_epi16(x, 8), off), scale);
        _mm512_store_si512(s->lo[r] + 64 * q,
                           _mm512_mask_blend_epi8(odd, pe, _mm512_slli_epi16(po, 8)));
        _mm512_store_si512(s->hi[r] + 64 * q,
                           _mm512_mask_blend_epi8(odd, _mm512_srli_epi16(pe, 8), po));
    }
}

/* The products of super-block s against the activations at a into tiles CL (lo) and CH (hi),
 * 64 codes at a time. Tile numbers must be constants. */
#define AK_PRODUCT(CL, CH, s, a, KIND)                                                            \
    do {                                                                                          \
        _tile_zero(CL);                                                                           \
        if ((KIND) != XK_Q2_K) _tile_zero(CH);                                                    \
        for (int j_ = 0; j_ < 4; j_++) {                                                          \
            _tile_loadd(6, (a) + 1024 * j_, 64);                                                  \
            _tile_loadd(4, (s)->lo[0] + 64 * j_, QK_K);                                           \
            _tile_dpbusd(CL, 4, 6);                                                               \
            if ((KIND) != XK_Q2_K) {                                                              \
                _tile_loadd(5, (s)->hi[0] + 64 * j_, QK_K);                                       \
                _tile_dpbssd(CH, 5, 6);                                                           \
            }                                                                                     \
        }                                                                                         \
    } while (0)

/* acc[r] (tokens in lanes) += super-block s's sums (cl, ch: 16 x 16 int32 tiles, row r at
 * 16 r), folded as rows_x16k folds them. */
static inline __attribute__((always_inline)) void fold(__m512 acc[AK_ROWS], const int32_t *cl,
                                                        const int32_t *ch, const ksb *s,
                                                        const uint8_t *a, const int KIND) {
    const __m512 dy = _mm512_load_ps(a + X16K_D_AT);
    __m512i pair[8];
    if (ak_has_mins(KIND))
        for (int j = 0; j < 8; j++) pair[j] = _mm512_load_si512(a + X16K_BSUMS_AT + 64 * j);
    for (int r = 0; r < AK_ROWS; r++) {
        __m512i si = _mm512_load_si512(cl + 16 * r);
        if (KIND != XK_Q2_K)
            si = _mm512_add_epi32(si, _mm512_slli_epi32(_mm512_load_si512(ch + 16 * r), 8));
        const __m512 d = _mm512_set1_ps(s->d[r]);
        __m512 t;
        if (ak_has_mins(KIND)) { /* dot_q45_k: dy (d (float)sumi - dmin (float)summ) */
            __m512i summ = _mm512_setzero_si512();
            for (int j = 0; j < 8; j++)
                summ = _mm512_dpwssd_epi32(summ, pair[j], _mm512_set1_epi32((int)s->mm[r][j]));
            t = _mm512_mul_ps(dy, _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(si)),
                                                _mm512_mul_ps(_mm512_set1_ps(s->dmin[r]),
                                                              _mm512_cvtepi32_ps(summ))));
        } else if (KIND == XK_IQ4_XS) { /* vec_dot_iq4_xs_ref: (float)sumi (d dy) */
            t = _mm512_mul_ps(_mm512_cvtepi32_ps(si), _mm512_mul_ps(d, dy));
        } else if (KIND == XK_Q6_K || KIND == XK_Q3_K) { /* (dy d) (float)sumi */
            t = _mm512_mul_ps(_mm512_mul_ps(dy, d), _mm512_cvtepi32_ps(si));
        } else { /* the codebooks (iq_sb_walk.h, dot_iq.c): (d dy) (float)isum */
            t = _mm512_mul_ps(_mm512_mul_ps(d, dy), _mm512_cvtepi32_ps(si));
        }
        acc[r] = _mm512_add_ps(acc[r], t);
    }
}

/* One group of 16 tokens over nsp prepared super-blocks (act at the first): acc_io[r][t] +=
 * the 16 rows' sums in super-block order. Software-pipelined as amx_gemm.c's blocks_amx:
 * super-block sp + 1's products go into the other pair of tiles before sp's are stored. */
static inline __attribute__((always_inline)) void
sbs_amx(int nsp, const ksb *s, const uint8_t *act, float *acc_io, const int KIND) {
    alignas(64) int32_t cl[AK_ROWS * 16], ch[AK_ROWS * 16];
    __m512 acc[AK_ROWS];
    for (int r = 0; r < AK_ROWS; r++) acc[r] = _mm512_load_ps(acc_io + X16_TOKENS * r);
    AK_PRODUCT(0, 1, &s[0], act, KIND);
    for (int sp = 0; sp < nsp; sp += 2) {
        const uint8_t *a0 = act + (size_t)sp * X16K_BLOCK_BYTES, *a1 = a0 + X16K_BLOCK_BYTES;
        if (sp + 1 < nsp) AK_PRODUCT(2, 3, &s[sp + 1], a1, KIND);
        _tile_stored(0, cl, 64);
        if (KIND != XK_Q2_K) _tile_stored(1, ch, 64);
        fold(acc, cl, ch, &s[sp], a0, KIND);
        if (sp + 1 >= nsp) break;
        if (sp + 2 < nsp) AK_PRODUCT(0, 1, &s[sp + 2], a1 + X16K_BLOCK_BYTES, KIND);
        _tile_stored(2, cl, 64);
        if (KIND != XK_Q2_K) _tile_stored(3, ch, 64);
        fold(acc, cl, ch, &s[sp + 1], a1, KIND);
    }
    for (int r = 0; r < AK_ROWS; r++) _mm512_store_ps(acc_io + X16_TOKENS * r, acc[r]);
}

/* 16 rows at w x token groups [tg0, tg0 + ntg) over nsb super-blocks: each span decoded
 * once, then run against every group. */
static inline __attribute__((always_inline)) void
rows_groups(int64_t nsb, const uint8_t *w, size_t w_stride, const uint8_t *act, int64_t tg0,
            int ntg, float (*acc)[AK_ROWS * X16_TOKENS], ksb *s, const int KIND) {
    const size_t bb = xk_block_bytes(KIND);
    for (int g = 0; g < ntg; g++)
        for (int i = 0; i < AK_ROWS * X16_TOKENS; i++) acc[g][i] = 0;
    for (int64_t i0 = 0; i0 < nsb; i0 += AK_SPAN) {
        const int nsp = nsb - i0 < AK_SPAN ? (int)(nsb - i0) : AK_SPAN;
        for (int sp = 0; sp < nsp; sp++)
            for (int r = 0; r < AK_ROWS; r++) {
                krow k;
                row_prep(w + r * w_stride + (i0 + sp) * bb, &k, KIND);
                row_split(&k, &s[sp], r, KIND);
            }
        /* the next span's weights on their way while the tiles work: its first loads were
         * the decode's hottest instructions (perf annotate, Q6_K 2048 x 5632, B 64) */
        const int64_t n_next = nsb - i0 - nsp < AK_SPAN ? nsb - i0 - nsp : AK_SPAN;
        for (int r = 0; r < AK_ROWS && n_next > 0; r++) {
            const uint8_t *nx = w + r * w_stride + (i0 + nsp) * bb;
            for (size_t o = 0; o < (size_t)n_next * bb; o += 64)
                _mm_prefetch((const char *)nx + o, _MM_HINT_T0);
        }
        for (int g = 0; g < ntg; g++)
            sbs_amx(nsp, s, act + ((tg0 + g) * nsb + i0) * X16K_BLOCK_BYTES, acc[g], KIND);
    }
}

/* The AVX-512 kernel of each kind, for the rows past the last 16. */
static x16_gemm_fn const avx512_of[] = {
    [XK_Q4_K] = gemm_q4_kx16_avx512,       [XK_Q5_K] = gemm_q5_kx16_avx512,
    [XK_Q6_K] = gemm_q6_kx16_avx512,       [XK_Q2_K] = gemm_q2_kx16_avx512,
    [XK_Q3_K] = gemm_q3_kx16_avx512,       [XK_IQ4_XS] = gemm_iq4_xsx16_avx512,
    [XK_IQ2_XXS] = gemm_iq2_xxsx16_avx512, [XK_IQ2_XS] = gemm_iq2_xsx16_avx512,
    [XK_IQ2_S] = gemm_iq2_sx16_avx512,     [XK_IQ3_XXS] = gemm_iq3_xxsx16_avx512,
    [XK_IQ3_S] = gemm_iq3_sx16_avx512,     [XK_IQ1_S] = gemm_iq1_sx16_avx512,
    [XK_IQ1_M] = gemm_iq1_mx16_avx512,
};

static inline __attribute__((always_inline)) void amx_kgemm(int64_t cols, float *Y, size_t ldy,
                                                            const void *w, size_t w_stride,
                                                            int nrows, const void *act, int64_t B,
                                                            const int KIND) {
    const int64_t nsb = cols / QK_K, tgroups = (B + X16_TOKENS - 1) / X16_TOKENS;
    alignas(64) float acc[AK_GROUPS][AK_ROWS * X16_TOKENS];
    alignas(64) ksb s[AK_SPAN];
    /* one token group (B <= 16): a row's decode is not shared, and for the formats with the
     * cheapest decode the AVX-512 kernel measured faster (Q4_K 1.69 vs 1.86 ms, header) */
    const int avx512_rows_only = tgroups == 1 && (KIND == XK_Q4_K || KIND == XK_Q5_K ||
                                                  KIND == XK_Q6_K || KIND == XK_IQ4_XS);
    const int n16 = avx512_rows_only ? 0 : nrows / AK_ROWS * AK_ROWS;
    if (n16) tiles_configure();
    for (int r0 = 0; r0 < n16; r0 += AK_ROWS) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r0 * w_stride;
        for (int64_t tg0 = 0; tg0 < tgroups; tg0 += AK_GROUPS) {
            const int ntg = tgroups - tg0 < AK_GROUPS ? (int)(tgroups - tg0) : AK_GROUPS;
            rows_groups(nsb, wr, w_stride, (const uint8_t *)act, tg0, ntg, acc, s, KIND);
            for (int g = 0; g < ntg; g++) {
                const int64_t b0 = (tg0 + g) * X16_TOKENS;
                /* the codebook formats' final factor, as x16k_gemm applies it */
                for (int i = 0; XK_IS_IQ(KIND) && xk_factor(KIND) != 1.0f && i < AK_ROWS * X16_TOKENS;
                     i++)
                    acc[g][i] *= xk_factor(KIND);
                x16_tile_store(Y, ldy, b0, B - b0 < X16_TOKENS ? B - b0 : X16_TOKENS, r0, AK_ROWS,
                               acc[g]);
            }
        }
    }
    if (n16) _tile_release();
    if (n16 < nrows)
        avx512_of[KIND](cols, Y + n16, ldy, (const uint8_t *)w + (size_t)n16 * w_stride, w_stride,
                        nrows - n16, act, B);
}

#define AK_GEMM(fmt, KIND)                                                                         \
    void gemm_##fmt##x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,   \
                             int nrows, const void *act, int64_t B) {                              \
        amx_kgemm(cols, Y, ldy, w, w_stride, nrows, act, B, KIND);                                 \
    }
AK_GEMM(q4_k, XK_Q4_K)
AK_GEMM(q5_k, XK_Q5_K)
AK_GEMM(q6_k, XK_Q6_K)
AK_GEMM(q2_k, XK_Q2_K)
AK_GEMM(q3_k, XK_Q3_K)
AK_GEMM(iq4_xs, XK_IQ4_XS)
AK_GEMM(iq2_xxs, XK_IQ2_XXS)
AK_GEMM(iq2_xs, XK_IQ2_XS)
AK_GEMM(iq2_s, XK_IQ2_S)
AK_GEMM(iq3_xxs, XK_IQ3_XXS)
AK_GEMM(iq3_s, XK_IQ3_S)
AK_GEMM(iq1_s, XK_IQ1_S)
AK_GEMM(iq1_m, XK_IQ1_M)
