/* avx512_x16_kquant.c - large batches (B >= 16) of Q2_K .. Q6_K, IQ4_XS and the codebook
 * formats (IQ2_XXS .. IQ1_M) rows (file layout)
 * with 16 tokens in the lanes (kernels/act_x16.h, x16k activations), as avx512_x16_gemm.c does for
 * the packed block-32 formats.
 *
 * Per super-block of 4 rows x 16 tokens: each row's 256 codes are unpacked to unsigned
 * dwords u[c] (codes 4c .. 4c + 3, the activation dword c they multiply), its 8 scales
 * and mins decoded; then per sub-block k each of its 8 activation dwords is one 64-byte
 * load of 16 tokens, and each row's sum over the sub-block is 8 vpdpbusd with u[c]
 * broadcast from memory (a load, no shuffle). The integer sums are the reference's
 * (dot_q45_k in kernels/ref/dot_qk.c), exactly:
 *   sumi = sum_k sc_k sum_{e in k} q_e y_e   (vpmulld by the broadcast scale, per sub-block)
 *   summ = sum_k m_k (bsums[2k] + bsums[2k + 1])   (vpdpwssd of the bsum pairs by m_k | m_k)
 * and the float fold is the reference's per lane: acc + dy (d (float)sumi - dmin (float)summ).
 * Q6_K (16 sub-blocks of 16, int8 scales, codes 0..63 - 32; Q3_K likewise with 0..7 - 4): sumi =
 * sum_k sc_k sum q y
 * - 32 sum_k sc_k bsums[k] (the second sum by vpdpwssd of the bsum pairs by the scale
 * pairs), folded as vec_dot_q6_k_ref folds it: acc + (dy d) (float)sumi.
 * So a row's result has the bits of vec_dot_q4_k_ref / _q5_k_ref / _q6_k_ref
 * (tests/test_x16_gemm.c). The codebook formats (row_prep_iq) take the row dots' unpack and
 * Q6_K's scheme with a bias of 64: TinyLlama-shaped IQ2_XXS pp64, 2-core Sapphire Rapids-class
 * Xeon, quiet, 1 / 2 threads: 31-32 / 55 tok/s on the 8-token tiles -> 73-84 / 102-122
 * (llama.cpp's tiled K-quant path on the same file, the same minutes: 64-65 / 119-124). */
#include <immintrin.h>
#include <stdalign.h>

#include "../../quant/blocks.h"
#include "../act_x16.h"
#include "avx512.h"
#include "x16_tile.h"
#include "xk_row_prep.h"

/* Rows per pass: 4 rows x (sumi, summ, acc) + 8 activation registers fit the 32 zmm. */
#define XK_ROWS 4

/* Super-blocks decoded at once (4 rows x 8 x 328 bytes: L1) and token groups that reuse
 * them (B <= 128 in one pass; the engine's batches are at most 64). Decoding a row's
 * super-block costs about as many instructions as its 64 vpdpbusd for one token group, so
 * it is done once for all of them. */
#define XK_SPAN 8
#define XK_GROUPS 8

/* NR (1 .. XK_ROWS) decoded rows x one group of 16 tokens over nsp super-blocks (kr[sp][r],
 * act at the first): acc[r][t] += their sums, in super-block order. */
static inline __attribute__((always_inline)) void rows_x16k(int nsp, const krow (*kr)[XK_ROWS],
                                                            const uint8_t *act, float *acc_io,
                                                            const int NR, const int KIND) {
    /* sub-blocks of a super-block and the activation dwords of each */
    const int NSUB = KIND == XK_Q4_K || KIND == XK_Q5_K || KIND == XK_IQ4_XS ? 8 : 16;
    const int DW = QK_K / 4 / NSUB;
    __m512 acc[XK_ROWS];
    for (int r = 0; r < NR; r++) acc[r] = _mm512_load_ps(acc_io + X16_TOKENS * r);
    for (int sp = 0; sp < nsp; sp++) {
        const krow *k = kr[sp];
        const uint8_t *a = act + (size_t)sp * X16K_BLOCK_BYTES;
        __m512i sumi[XK_ROWS], summ[XK_ROWS];
        for (int r = 0; r < NR; r++) sumi[r] = summ[r] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            const __m512i pair = _mm512_load_si512(a + X16K_BSUMS_AT + 64 * j);
            for (int r = 0; r < NR; r++)
                summ[r] = _mm512_dpwssd_epi32(summ[r], pair, _mm512_set1_epi32((int)k[r].mm[j]));
        }
        for (int sb = 0; sb < NSUB; sb++) {
            __m512i y[8];
            for (int c = 0; c < DW; c++) y[c] = _mm512_load_si512(a + 64 * (DW * sb + c));
            for (int r = 0; r < NR; r++) {
                if (KIND == XK_Q2_K) { /* scales already in the codes */
                    for (int c = 0; c < DW; c++)
                        sumi[r] = _mm512_dpbusd_epi32(
                            sumi[r], _mm512_set1_epi32((int)k[r].u[DW * sb + c]), y[c]);
                    continue;
                }
                __m512i s = _mm512_setzero_si512();
                for (int c = 0; c < DW; c++)
                    s = _mm512_dpbusd_epi32(s, _mm512_set1_epi32((int)k[r].u[DW * sb + c]), y[c]);
                sumi[r] = _mm512_add_epi32(sumi[r],
                                           _mm512_mullo_epi32(s, _mm512_set1_epi32(k[r].sc[sb])));
            }
        }
        const __m512 dy = _mm512_load_ps(a + X16K_D_AT);
        for (int r = 0; r < NR; r++) {
            __m512 t;
            if (XK_IS_IQ(KIND)) { /* iq_sb_walk.h, dot_iq.c: (d dy) (float)isum */
                const __m512i si = _mm512_sub_epi32(sumi[r], summ[r]);
                t = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(k[r].d), dy),
                                  _mm512_cvtepi32_ps(si));
            } else if (KIND == XK_IQ4_XS) { /* vec_dot_iq4_xs_ref: (float)sumi (d dy) */
                const __m512i si = _mm512_sub_epi32(sumi[r], _mm512_slli_epi32(summ[r], 7));
                t = _mm512_mul_ps(_mm512_cvtepi32_ps(si),
                                  _mm512_mul_ps(_mm512_set1_ps(k[r].d), dy));
            } else if (KIND == XK_Q6_K || KIND == XK_Q3_K) {
                /* vec_dot_q6_k_ref / _q3_k_ref: (dy d) (float)(sum sc q y - k sum sc bsum) */
                const __m512i si =
                    _mm512_sub_epi32(sumi[r], _mm512_slli_epi32(summ[r], KIND == XK_Q6_K ? 5 : 2));
                t = _mm512_mul_ps(_mm512_mul_ps(dy, _mm512_set1_ps(k[r].d)),
                                  _mm512_cvtepi32_ps(si));
            } else { /* dot_q45_k: dy (d (float)sumi - dmin (float)summ) */
                t = _mm512_mul_ps(
                    dy, _mm512_sub_ps(
                            _mm512_mul_ps(_mm512_set1_ps(k[r].d), _mm512_cvtepi32_ps(sumi[r])),
                            _mm512_mul_ps(_mm512_set1_ps(k[r].dmin), _mm512_cvtepi32_ps(summ[r]))));
            }
            acc[r] = _mm512_add_ps(acc[r], t);
        }
    }
    for (int r = 0; r < NR; r++) _mm512_store_ps(acc_io + X16_TOKENS * r, acc[r]);
}

/* Rows [r0, r0 + nr) x token groups [tg0, tg0 + ntg): each span of super-blocks decoded
 * once, then run against every group; acc[g][r][t] carries the sums between spans. */
static inline __attribute__((always_inline)) void
rows_groups(int64_t nsb, const uint8_t *w, size_t w_stride, int nr, const uint8_t *act, int64_t tg0,
            int ntg, float (*acc)[XK_ROWS * X16_TOKENS], const int KIND) {
    krow kr[XK_SPAN][XK_ROWS];
    const size_t bb = xk_block_bytes(KIND);
    for (int g = 0; g < ntg; g++)
        for (int i = 0; i < XK_ROWS * X16_TOKENS; i++) acc[g][i] = 0;
    for (int64_t i0 = 0; i0 < nsb; i0 += XK_SPAN) {
        const int nsp = nsb - i0 < XK_SPAN ? (int)(nsb - i0) : XK_SPAN;
        for (int sp = 0; sp < nsp; sp++)
            for (int r = 0; r < nr; r++)
                row_prep(w + r * w_stride + (i0 + sp) * bb, &kr[sp][r], KIND);
        /* kr is read back from memory: broadcasts from memory are loads, where gcc would
         * otherwise pull each dword out of the registers it stored (shuffle-port work) */
        __asm__ volatile("" ::: "memory");
        for (int g = 0; g < ntg; g++) {
            const uint8_t *a = act + ((tg0 + g) * nsb + i0) * X16K_BLOCK_BYTES;
            if (nr == XK_ROWS)
                rows_x16k(nsp, (const krow(*)[XK_ROWS])kr, a, acc[g], XK_ROWS, KIND);
            else if (nr == 3)
                rows_x16k(nsp, (const krow(*)[XK_ROWS])kr, a, acc[g], 3, KIND);
            else if (nr == 2)
                rows_x16k(nsp, (const krow(*)[XK_ROWS])kr, a, acc[g], 2, KIND);
            else
                rows_x16k(nsp, (const krow(*)[XK_ROWS])kr, a, acc[g], 1, KIND);
        }
    }
}

static inline __attribute__((always_inline)) void x16k_gemm(int64_t cols, float *Y, size_t ldy,
                                                            const void *w, size_t w_stride,
                                                            int nrows, const void *act, int64_t B,
                                                            const int KIND) {
    const int64_t nsb = cols / QK_K, tgroups = (B + X16_TOKENS - 1) / X16_TOKENS;
    alignas(64) float acc[XK_GROUPS][XK_ROWS * X16_TOKENS];
    for (int r0 = 0; r0 < nrows; r0 += XK_ROWS) {
        const int nr = nrows - r0 < XK_ROWS ? nrows - r0 : XK_ROWS;
        for (int64_t tg0 = 0; tg0 < tgroups; tg0 += XK_GROUPS) {
            const int ntg = tgroups - tg0 < XK_GROUPS ? (int)(tgroups - tg0) : XK_GROUPS;
            rows_groups(nsb, (const uint8_t *)w + (size_t)r0 * w_stride, w_stride, nr, act, tg0,
                        ntg, acc, KIND);
            for (int g = 0; g < ntg; g++) {
                const int64_t b0 = (tg0 + g) * X16_TOKENS;
                /* the codebook formats' final factor (the reference's factor x sum) */
                for (int i = 0; XK_IS_IQ(KIND) && xk_factor(KIND) != 1.0f && i < nr * X16_TOKENS; i++)
                    acc[g][i] *= xk_factor(KIND);
                x16_tile_store(Y, ldy, b0, B - b0 < X16_TOKENS ? B - b0 : X16_TOKENS, r0, nr,
                               acc[g]);
            }
        }
    }
}

void gemm_q4_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, XK_Q4_K);
}

void gemm_q5_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, XK_Q5_K);
}

void gemm_q6_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, XK_Q6_K);
}

void gemm_q2_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, XK_Q2_K);
}

void gemm_q3_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, XK_Q3_K);
}

void gemm_iq4_xsx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                           int nrows, const void *act, int64_t B) {
    x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, XK_IQ4_XS);
}

/* the codebook formats: one entry point each */
#define XK_IQ_GEMM(fmt, KIND)                                                                      \
    void gemm_##fmt##x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w,                 \
                                size_t w_stride, int nrows, const void *act, int64_t B) {          \
        x16k_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, KIND);                                 \
    }
XK_IQ_GEMM(iq2_xxs, XK_IQ2_XXS)
XK_IQ_GEMM(iq2_xs, XK_IQ2_XS)
XK_IQ_GEMM(iq2_s, XK_IQ2_S)
XK_IQ_GEMM(iq3_xxs, XK_IQ3_XXS)
XK_IQ_GEMM(iq3_s, XK_IQ3_S)
XK_IQ_GEMM(iq1_s, XK_IQ1_S)
XK_IQ_GEMM(iq1_m, XK_IQ1_M)
