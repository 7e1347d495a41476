/* amx_gemm.c - large batches (B >= 16) over the 8-row packed Q4_0 / Q4_1 / Q8_0 layouts
 * (kernels/repack.h) by AMX tile products, 16 weight rows x 16 tokens a tile.
 *
 * Per 32-column block the products are one TDPBSSD (Q4_1: TDPBUSD, its codes are unsigned)
 *   C[r][t] = sum_{k < 32} A[r][k] B[k / 4][4 t + k % 4]
 * with A the 16 rows' codes row-major (16 x 32 bytes, unpacked once per span of blocks for
 * every token group) and B the block's activations exactly as act_x16.h lays them out: its
 * qs[8][16][4] is the VNNI layout the tile unit reads (row c = dword c of the 16 tokens).
 * Q4_0's codes are stored as q - 8 and Q8_0's as they are, so C is the reference's integer
 * sum; Q4_1's sum_q q y gets the min term apart, as the reference folds it. The fold is that
 * of avx512_x16_gemm.c, per row in lanes of tokens: acc + (float)C[r] x (d_r x d_token)
 * (Q4_1: + (float)sum y x (m_r x d_token), the two products added first), blocks in column
 * order: the same bits as tile_*x8_ref (tests/test_x16_gemm.c).
 *
 * Measured on the 2-core Xeon VM (Sapphire Rapids class, AMX-TILE/INT8, 2.6 GHz), one thread,
 * Q4_0 2048 x 5632 x 64 tokens, best of 7, the machine loaded by builds: the AVX-512 token-lane
 * kernel 162-177 GMAC/s, this one 280-288 (1.65x). Taken apart: without the fold 472, without
 * the tile store 453: the tile unit's two loads, product and store take about 45 cycles a
 * 16 x 16 x 32 block (8192 multiply-adds, under a fifth of its 1024 a cycle at K = 64: the
 * block scales cap K at 32 and force a store per block), and the fold (4 vector float
 * operations a row) overlaps it only in part. A store folded one block later measured the
 * same. */
#include <immintrin.h>
#include <stdalign.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../act_x16.h"
#include "../repack.h"
#include "amx.h"
#include "amx_tiles.h"
#include "avx512.h"
#include "x16_tile.h"

enum { AX_Q4_0, AX_Q4_1, AX_Q8_0 };

/* Rows a tile (the tile unit's 16), blocks unpacked at once, token groups per pass. */
#define AX_ROWS 16
#define AX_SPAN 16
#define AX_GROUPS 8

/* Tiles 0, 1 the int32 results (16 x 16), 2, 3 the weight codes (16 rows x 32 bytes), 4, 5
 * the activations (8 dword rows of 16 tokens). */
static void tiles_configure(void) {
    static const uint8_t rows[8] = {16, 16, 16, 16, 8, 8};
    static const uint16_t colsb[8] = {64, 64, 32, 32, 64, 64};
    tiles_load_shapes(rows, colsb);
}

static inline size_t ax_block_bytes(const int KIND) {
    return REPACK_ROWS * (KIND == AX_Q8_0   ? sizeof(block_q8_0)
                          : KIND == AX_Q4_1 ? sizeof(block_q4_1)
                                            : sizeof(block_q4_0));
}

/* One span block of 16 rows: codes row-major, and the rows' d (Q4_1: m) as floats. */
typedef struct {
    alignas(64) int8_t q[AX_ROWS][QK32];
    alignas(64) float d[AX_ROWS];
    alignas(64) float m[AX_ROWS];
} ablock;

/* 8 x 8 dwords D[c][r] (z[k] = chunks 2k, 2k + 1, rows 0..7 each) -> row-major: out[k] = rows
 * 2k, 2k + 1, chunks 0..7 each. A lane h 8 + c of out[k] is D[c][2k + h], lane (c % 2) 8 + 2k
 * + h of z[c / 2]; chunks 0..3 come from z[0], z[1] and 4..7 from z[2], z[3]. */
static inline void transpose_8x8(const __m512i z[4], int8_t *out) {
    for (int k = 0; k < 4; k++) {
        alignas(64) int32_t idx[16];
        for (int h = 0; h < 2; h++)
            for (int c = 0; c < 8; c++)
                idx[8 * h + c] = ((c / 2) % 2) * 16 + (c % 2) * 8 + 2 * k + h;
        const __m512i ix = _mm512_load_si512(idx);
        const __m512i lo = _mm512_permutex2var_epi32(z[0], ix, z[1]);
        const __m512i hi = _mm512_permutex2var_epi32(z[2], ix, z[3]);
        _mm512_storeu_si512(out + 64 * k, _mm512_mask_mov_epi32(lo, 0xF0F0, hi));
    }
}

/* Packed block blk (8 rows) -> rows r0 .. r0 + 7 of ab. Q4 chunk c < 4 of the packed block
 * holds qs bytes 4c .. 4c + 3 of each row: low nibbles codes 4c .., high nibbles 16 + 4c ..;
 * Q8_0 chunk c is codes 4c .. 4c + 3 (avx512_x16_gemm.c's unpack_block reads the same). */
static inline void unpack_rows8(const uint8_t *blk, ablock *ab, int r0, const int KIND) {
    _mm256_storeu_ps(ab->d + r0, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk)));
    if (KIND == AX_Q4_1)
        _mm256_storeu_ps(ab->m + r0, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16))));
    const uint8_t *qs = blk + (KIND == AX_Q4_1 ? 4 : 2) * REPACK_ROWS;
    __m512i z[4];
    if (KIND == AX_Q8_0) {
        for (int p = 0; p < 4; p++) z[p] = _mm512_loadu_si512(qs + 64 * p);
    } else {
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        /* Q4_0's codes as q - 8 (signed products); Q4_1's as they are */
        const __m512i off = _mm512_set1_epi8(KIND == AX_Q4_0 ? 8 : 0);
        for (int p = 0; p < 2; p++) {
            const __m512i raw = _mm512_loadu_si512(qs + 64 * p);
            z[p] = _mm512_sub_epi8(_mm512_and_si512(raw, m4), off);
            z[2 + p] = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), off);
        }
    }
    transpose_8x8(z, &ab->q[r0][0]);
}

/* acc[r] (tokens in lanes) += block sp's sums C (16 x 16 int32, row r at c + 16 r), folded
 * as blocks_x16 of avx512_x16_gemm.c folds them. */
static inline __attribute__((always_inline)) void fold(__m512 acc[AX_ROWS], const int32_t *c,
                                                        const ablock *ab, const uint8_t *a,
                                                        const int KIND) {
    const __m512 dy = _mm512_load_ps(a + X16_D_AT);
    __m512 ysum = _mm512_setzero_ps();
    if (KIND == AX_Q4_1) ysum = _mm512_cvtepi32_ps(_mm512_load_si512(a + X16_SUM_AT));
    for (int r = 0; r < AX_ROWS; r++) {
        const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c + 16 * r)),
                                       _mm512_mul_ps(_mm512_set1_ps(ab->d[r]), dy));
        if (KIND == AX_Q4_1) {
            const __m512 my = _mm512_mul_ps(ysum, _mm512_mul_ps(_mm512_set1_ps(ab->m[r]), dy));
            acc[r] = _mm512_add_ps(acc[r], _mm512_add_ps(f, my));
        } else {
            acc[r] = _mm512_add_ps(acc[r], f);
        }
    }
}

/* The products of one block into tile C (0 or 1: alternated, so that the next block's
 * product runs while this one is folded). Tile numbers must be constants. */
#define AX_PRODUCT(C, AT, BT, ab, a, KIND)                                                        \
    do {                                                                                          \
        _tile_loadd(AT, (ab)->q, QK32);                                                           \
        _tile_loadd(BT, (a), 64);                                                                 \
        _tile_zero(C);                                                                            \
        if ((KIND) == AX_Q4_1)                                                                    \
            _tile_dpbusd(C, AT, BT);                                                              \
        else                                                                                      \
            _tile_dpbssd(C, AT, BT);                                                              \
    } while (0)

/* One group of 16 tokens over nsp unpacked blocks (act at the first): acc_io[r][t] += the
 * 16 rows' sums, in block order. Software-pipelined: block sp + 1's product is issued into
 * the other result tile before block sp's is stored and folded, so the tile unit works while
 * the vector units fold (a store right after its product waited out the product's latency:
 * tilestored was the kernel's hottest instruction, perf, Xeon SPR-class). */
static inline __attribute__((always_inline)) void
blocks_amx(int nsp, const ablock *ab, const uint8_t *act, float *acc_io, const int KIND) {
    alignas(64) int32_t cs[AX_ROWS * 16];
    __m512 acc[AX_ROWS];
    for (int r = 0; r < AX_ROWS; r++) acc[r] = _mm512_load_ps(acc_io + X16_TOKENS * r);
    const uint8_t *a = act;
    AX_PRODUCT(0, 2, 4, &ab[0], a, KIND);
    for (int sp = 0; sp < nsp; sp += 2) {
        const uint8_t *a0 = a + (size_t)sp * X16_BLOCK_BYTES, *a1 = a0 + X16_BLOCK_BYTES;
        if (sp + 1 < nsp) AX_PRODUCT(1, 3, 5, &ab[sp + 1], a1, KIND);
        _tile_stored(0, cs, 64);
        fold(acc, cs, &ab[sp], a0, KIND);
        if (sp + 1 >= nsp) break;
        if (sp + 2 < nsp) AX_PRODUCT(0, 2, 4, &ab[sp + 2], a1 + X16_BLOCK_BYTES, KIND);
        _tile_stored(1, cs, 64);
        fold(acc, cs, &ab[sp + 1], a1, KIND);
    }
    for (int r = 0; r < AX_ROWS; r++) _mm512_store_ps(acc_io + X16_TOKENS * r, acc[r]);
}

/* 16 packed rows (two groups of 8 at w, w + 8 w_stride) x token groups [tg0, tg0 + ntg) over
 * nb blocks: each span of blocks unpacked once, then run against every group. */
static inline __attribute__((always_inline)) void
rows_groups(int64_t nb, const uint8_t *w, size_t w_stride, const uint8_t *act, int64_t tg0,
            int ntg, float (*acc)[AX_ROWS * X16_TOKENS], const int KIND) {
    ablock ab[AX_SPAN];
    const size_t bb = ax_block_bytes(KIND);
    const uint8_t *w1 = w + (size_t)REPACK_ROWS * w_stride;
    for (int g = 0; g < ntg; g++)
        for (int i = 0; i < AX_ROWS * X16_TOKENS; i++) acc[g][i] = 0;
    for (int64_t i0 = 0; i0 < nb; i0 += AX_SPAN) {
        const int nsp = nb - i0 < AX_SPAN ? (int)(nb - i0) : AX_SPAN;
        for (int sp = 0; sp < nsp; sp++) {
            unpack_rows8(w + (i0 + sp) * bb, &ab[sp], 0, KIND);
            unpack_rows8(w1 + (i0 + sp) * bb, &ab[sp], REPACK_ROWS, KIND);
        }
        for (int g = 0; g < ntg; g++)
            blocks_amx(nsp, ab, act + ((tg0 + g) * nb + i0) * X16_BLOCK_BYTES, acc[g], KIND);
    }
}

static inline __attribute__((always_inline)) void amx_gemm(int64_t cols, float *Y, size_t ldy,
                                                           const void *w, size_t w_stride,
                                                           int nrows, const void *act, int64_t B,
                                                           const int KIND) {
    const int64_t nb = cols / QK32, tgroups = (B + X16_TOKENS - 1) / X16_TOKENS;
    alignas(64) float acc[AX_GROUPS][AX_ROWS * X16_TOKENS];
    const int n16 = nrows / AX_ROWS * AX_ROWS;
    tiles_configure();
    for (int r0 = 0; r0 < n16; r0 += AX_ROWS) {
        const uint8_t *wg = (const uint8_t *)w + (size_t)r0 * w_stride;
        for (int64_t tg0 = 0; tg0 < tgroups; tg0 += AX_GROUPS) {
            const int ntg = tgroups - tg0 < AX_GROUPS ? (int)(tgroups - tg0) : AX_GROUPS;
            rows_groups(nb, wg, w_stride, (const uint8_t *)act, tg0, ntg, acc, KIND);
            for (int k = 0; k < ntg; k++) {
                const int64_t b0 = (tg0 + k) * X16_TOKENS;
                x16_tile_store(Y, ldy, b0, B - b0 < X16_TOKENS ? B - b0 : X16_TOKENS, r0, AX_ROWS,
                               acc[k]);
            }
        }
    }
    _tile_release();
    if (n16 == nrows) return;
    /* a last group of 8 rows: the AVX-512 token-lane kernel (the same bits) */
    const uint8_t *wr = (const uint8_t *)w + (size_t)n16 * w_stride;
    if (KIND == AX_Q4_0) gemm_q4_0x16_avx512(cols, Y + n16, ldy, wr, w_stride, nrows - n16, act, B);
    if (KIND == AX_Q4_1) gemm_q4_1x16_avx512(cols, Y + n16, ldy, wr, w_stride, nrows - n16, act, B);
    if (KIND == AX_Q8_0) gemm_q8_0x16_avx512(cols, Y + n16, ldy, wr, w_stride, nrows - n16, act, B);
}

void gemm_q4_0x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                      int nrows, const void *act, int64_t B) {
    amx_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, AX_Q4_0);
}

void gemm_q4_1x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                      int nrows, const void *act, int64_t B) {
    amx_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, AX_Q4_1);
}

void gemm_q8_0x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                      int nrows, const void *act, int64_t B) {
    amx_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, AX_Q8_0);
}
