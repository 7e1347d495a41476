/* avx512_x16_gemm.c - large batches (B >= 16) over the 8-row packed Q4_0 / Q4_1 / Q8_0
 * layouts (kernels/repack.h) with 16 tokens in the lanes (kernels/act_x16.h says why).
 *
 * Per packed block (8 rows x 32 columns): the block's codes are unpacked once (for every
 * token group: X16_SPAN blocks at a time) to unsigned dwords u[c][r] (codes 4c .. 4c + 3 of
 * row r) in a stack buffer; then per group of 16 tokens and for each of the 8 activation
 * dwords c one 64-byte load of the 16
 * tokens' dword c, and for each row one vpdpbusd of it with u[c][r] broadcast from memory
 * (a load, not a shuffle): 64 vpdpbusd = 4096 multiply-adds, no vpermd. Each row's int32
 * sums start at -k sum y (the code offset k: Q4_0 8, Q8_0 128, as avx512_repack.c) and are
 * folded as the reference folds them, per lane: acc + (float)isum x (d_row x d_token)
 * (Q4_1: + (float)sum y x (m_row x d_token), the two products added first), blocks in
 * column order: the same bits as tile_*x8_ref (tests/test_repack.c).
 * Instructions per 8 rows x 32 columns x 16 tokens (objdump, gcc 12 -O3): see the commit
 * that added this file; the packed tile kernel runs the same work as 4 x (1 group x 4
 * tokens) at 93 instructions each. */
#include <immintrin.h>
#include <stdalign.h>

#include "../../quant/blocks.h"
#include "../act_x16.h"
#include "../repack.h"
#include "avx512.h"
#include "x16_tile.h"

enum { X16_Q4_0, X16_Q4_1, X16_Q8_0 };

/* Bytes of a packed block (8 file blocks) and of its fp16 head (d[8], Q4_1 also m[8]). */
static inline size_t x16_block_bytes(const int KIND) {
    return REPACK_ROWS * (KIND == X16_Q8_0   ? sizeof(block_q8_0)
                          : KIND == X16_Q4_1 ? sizeof(block_q4_1)
                                             : sizeof(block_q4_0));
}

/* The packed block's codes as unsigned bytes: u[8 c + r] = row r's codes 4c .. 4c + 3 (as
 * the activation dword c they multiply), and the rows' d (and m) as floats. Q4 packed
 * chunk c (c < 4) holds qs bytes 4c .. 4c + 3 of each row: low nibbles are codes 4c ..,
 * high nibbles codes 16 + 4c ..; Q8_0 chunk c is already codes 4c .. 4c + 3. */
static inline void unpack_block(const uint8_t *blk, uint32_t *u, float *d, float *m,
                                const int KIND) {
    _mm256_store_ps(d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk)));
    if (KIND == X16_Q4_1)
        _mm256_store_ps(m, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16))));
    const uint8_t *qs = blk + (KIND == X16_Q4_1 ? 4 : 2) * REPACK_ROWS;
    if (KIND == X16_Q8_0) {
        const __m512i bias = _mm512_set1_epi8((char)0x80); /* q + 128: unsigned */
        for (int p = 0; p < 4; p++)
            _mm512_store_si512(u + 16 * p, _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * p), bias));
        return;
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int p = 0; p < 2; p++) {
        const __m512i raw = _mm512_loadu_si512(qs + 64 * p);
        _mm512_store_si512(u + 16 * p, _mm512_and_si512(raw, m4));
        _mm512_store_si512(u + 32 + 16 * p, _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4));
    }
}

/* Packed blocks unpacked at once (16 x (256 + 64) bytes: L1) and token groups that reuse
 * them (B <= 128 in one pass; the engine's batches are at most 64). Unpacking a block costs
 * about a sixth of its 64 vpdpbusd for one token group (objdump, gcc 12), so it is done
 * once for every group, as avx512_x16_kquant.c decodes its super-blocks once. */
#define X16_SPAN 16
#define X16_GROUPS 8

/* One packed block unpacked for the products. */
typedef struct {
    alignas(64) uint32_t u[64]; /* u[8 c + r]: row r's codes 4c .. 4c + 3 */
    alignas(32) float d[8], m[8];
} xblock;

/* One group of 16 tokens over nsp unpacked blocks (act at the first): acc_io[r][t] += the
 * 8 rows' sums, in block order. */
static inline __attribute__((always_inline)) void
blocks_x16(int nsp, const xblock *xb, const uint8_t *act, float *acc_io, const int KIND) {
    __m512 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm512_load_ps(acc_io + X16_TOKENS * r);
    for (int sp = 0; sp < nsp; sp++) {
        const uint32_t *u = xb[sp].u;
        const float *d = xb[sp].d, *m = xb[sp].m;
        const uint8_t *a = act + (size_t)sp * X16_BLOCK_BYTES;
        const __m512i ysum = _mm512_load_si512(a + X16_SUM_AT);
        const __m512 dy = _mm512_load_ps(a + X16_D_AT);
        /* the sums start at -k sum y (Q4_1: 0), so vpdpbusd leaves sum (q - k) y */
        const __m512i start =
            KIND == X16_Q4_1 ? _mm512_setzero_si512()
                             : _mm512_sub_epi32(_mm512_setzero_si512(),
                                                _mm512_slli_epi32(ysum, KIND == X16_Q8_0 ? 7 : 3));
        __m512i s[8];
        for (int r = 0; r < 8; r++) s[r] = start;
        for (int c = 0; c < 8; c++) {
            const __m512i y = _mm512_load_si512(a + 64 * c);
            for (int r = 0; r < 8; r++)
                s[r] = _mm512_dpbusd_epi32(s[r], _mm512_set1_epi32((int)u[8 * c + r]), y);
        }
        for (int r = 0; r < 8; r++) {
            const __m512 f =
                _mm512_mul_ps(_mm512_cvtepi32_ps(s[r]), _mm512_mul_ps(_mm512_set1_ps(d[r]), dy));
            if (KIND == X16_Q4_1) {
                const __m512 my = _mm512_mul_ps(_mm512_cvtepi32_ps(ysum),
                                                _mm512_mul_ps(_mm512_set1_ps(m[r]), dy));
                acc[r] = _mm512_add_ps(acc[r], _mm512_add_ps(f, my));
            } else {
                acc[r] = _mm512_add_ps(acc[r], f);
            }
        }
    }
    for (int r = 0; r < 8; r++) _mm512_store_ps(acc_io + X16_TOKENS * r, acc[r]);
}

/* One group of 8 packed rows x token groups [tg0, tg0 + ntg) over nb blocks: each span of
 * blocks unpacked once, then run against every group; acc[g][r][t] carries the sums
 * between spans. */
static inline __attribute__((always_inline)) void
rows_groups(int64_t nb, const uint8_t *w, const uint8_t *act, int64_t tg0, int ntg,
            float (*acc)[REPACK_ROWS * X16_TOKENS], const int KIND) {
    xblock xb[X16_SPAN];
    const size_t bb = x16_block_bytes(KIND);
    for (int g = 0; g < ntg; g++)
        for (int i = 0; i < REPACK_ROWS * X16_TOKENS; i++) acc[g][i] = 0;
    for (int64_t i0 = 0; i0 < nb; i0 += X16_SPAN) {
        const int nsp = nb - i0 < X16_SPAN ? (int)(nb - i0) : X16_SPAN;
        for (int sp = 0; sp < nsp; sp++)
            unpack_block(w + (i0 + sp) * bb, xb[sp].u, xb[sp].d, xb[sp].m, KIND);
        /* xb is read back from memory below: a broadcast from memory is a load, where gcc
         * would otherwise pull each dword out of the registers it stored (valignd, vpsrldq,
         * vpbroadcastd from xmm: shuffle-port work next to every vpdpbusd) */
        __asm__ volatile("" ::: "memory");
        for (int g = 0; g < ntg; g++)
            blocks_x16(nsp, xb, act + ((tg0 + g) * nb + i0) * X16_BLOCK_BYTES, acc[g], KIND);
    }
}

static inline __attribute__((always_inline)) void x16_gemm(int64_t cols, float *Y, size_t ldy,
                                                           const void *w, size_t w_stride,
                                                           int nrows, const void *act, int64_t B,
                                                           const int KIND) {
    const int64_t nb = cols / QK32, tgroups = (B + X16_TOKENS - 1) / X16_TOKENS;
    alignas(64) float acc[X16_GROUPS][REPACK_ROWS * X16_TOKENS];
    for (int g = 0; g < nrows / REPACK_ROWS; g++) {
        const uint8_t *wg = (const uint8_t *)w + (size_t)g * REPACK_ROWS * w_stride;
        for (int64_t tg0 = 0; tg0 < tgroups; tg0 += X16_GROUPS) {
            const int ntg = tgroups - tg0 < X16_GROUPS ? (int)(tgroups - tg0) : X16_GROUPS;
            rows_groups(nb, wg, (const uint8_t *)act, tg0, ntg, acc, KIND);
            for (int k = 0; k < ntg; k++) {
                const int64_t b0 = (tg0 + k) * X16_TOKENS;
                x16_tile_store(Y, ldy, b0, B - b0 < X16_TOKENS ? B - b0 : X16_TOKENS,
                               g * REPACK_ROWS, REPACK_ROWS, acc[k]);
            }
        }
    }
}

void gemm_q4_0x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, X16_Q4_0);
}

void gemm_q4_1x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, X16_Q4_1);
}

void gemm_q8_0x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B) {
    x16_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, X16_Q8_0);
}
