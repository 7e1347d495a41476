/* avx2_x16_iq.c - large batches (B >= 16) of the codebook formats (IQ2_XXS, IQ2_XS, IQ2_S,
 * IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) and IQ4_XS on the file layout with 16 tokens in the lanes
 * (the x16k activations of kernels/act_x16.h: an activation dword c of 16 tokens is two ymm),
 * AVX2 only. avx512_x16_kquant.c's scheme without VNNI.
 *
 * Per super-block and row, once for every group of 16 tokens: the row dots' unpack
 * (avx2_iq_unpack.h) gives the signed values v (|v| <= 62), stored as bytes (dword c = values
 * 4c .. 4c + 3), with each 16-value half's scale ls as int16 lanes. The activations are made
 * unsigned (y + 128, one xor per load, shared by the rows), and per activation dword c of a
 * half n and row:
 *   s += vpmaddwd(vpmaddubsw(y_c + 128, broadcast v[c]), ls_n | ls_n)
 * vpmaddubsw's int16 pair sums are at most 2 x 255 x 62 = 31620 < 2^15 (no saturation), and
 * vpmaddwd adds the pairs into the token's dword scaled by the half's ls: 3 instructions per
 * 32 products where VNNI takes one per 64. The + 128 adds 128 sum_n ls_n sum_{e in n} v_e, a
 * constant of the row that s starts below (no per-token term), so
 *   s = sum_n ls_n sum_{e in n} v_e y_e,
 * the reference's integer (kernels/ref/dot_iq.c) exactly (|s| < 16 x 31 x 16 x 62 x 255 <
 * 2^31), folded per super-block as the row dot folds it: acc + (d dy) (float)s, times the
 * format's factor at the end: a row's result has
 * the bits of vec_dot_<fmt>_ref (tests/test_avx2_x16_iq.c). Codes v + 64 against the signed
 * activations (avx512_x16_kquant.c's way) needed the - 64 per token from the bsum pairs, 16
 * vpmaddwd a row and super-block more: iq2_xxs 2048 x 2048 x 64 tokens, 2-core
 * Sapphire-Rapids-class Xeon VM, TSC ticks per row super-block and group of 16, best of 25,
 * 3 runs: 133-136 -> 126-130.
 *
 * Where the cycles go (avx2_x16_iq_kbench, same VM, iq2_xxs 64 x 2048, ticks a row super-block
 * and group at B = 16 / 64 / 128: 171 / 127 / 120): the unpack ~59 a row super-block, shared
 * by the groups, the products ~112. These are bound by ports 0 and 1, which run vpmaddubsw and
 * vpmaddwd alike (4 a row and dword): without the xor 130 at B = 64 (no gain), without the
 * vpmaddwd (wrong sums, a probe) 91 / 84 at B = 64 / 128; the gathers of the unpack replaced by
 * 4 scalar loads each: no change. Adding two dwords' int16 pairs before one vpmaddwd would
 * overflow here (4 x 255 x 43 > 2^15); IQ1's small values allow it (half_iq1).
 *
 * IQ4_XS: its grid values reach -127, so neither y + 128 against them nor values + 128
 * against y fits vpmaddubsw's int16 pairs (2 x 255 x 127 > 2^15). The sign goes to the
 * values instead: vpmaddubsw(|y|, sign(v, y)), |y| <= 128 unsigned and |v| <= 127 (v = -127
 * negates to 127; y = 0 zeroes the product as it should), pairs at most 2 x 128 x 127 =
 * 32512, then vpmaddwd by the sub-block's l - 32: vec_dot_iq4_xs_ref's integer exactly (|s| <=
 * 8 x 32 x 32 x 127 x 128 < 2^31), no bias. Two vpsignb more per row and dword than the
 * codebook formats: kbench (below) 160 ticks a row super-block and group at B = 128
 * against their 120. */
#include <immintrin.h>
#include <stdalign.h>

#include "../act_x16.h"
#include "avx2.h"
#include "avx2_iq_unpack.h"
#include "iq4_xs_values.h"
#include "x16_tile.h"

enum { XI_IQ2_XXS, XI_IQ2_XS, XI_IQ2_S, XI_IQ3_XXS, XI_IQ3_S, XI_IQ1_S, XI_IQ1_M, XI_IQ4_XS };

/* Rows per pass: 4 rows x 2 int32 sums (8 ymm) + 2 activation ymm + the code, scale and
 * product registers fill the 16 ymm. */
#define XI_ROWS 4
/* Super-blocks decoded at once (4 rows x 8 x 360 bytes: L1) and the token groups that reuse
 * them (B <= 128 in one pass): the unpack is done once for all of them. */
#define XI_SPAN 8
#define XI_GROUPS 8

/* One row's super-block, decoded for the products. */
typedef struct {
    alignas(32) uint32_t v[64]; /* the signed values, dword c = values 4c .. 4c + 3 */
    __m256i ls[16];             /* half n's scale in every int16 lane: vpmaddwd's operand,
                                   read from memory (the 16 ymm hold the sums); IQ4_XS:
                                   sub-block n's l - 32 (n < 8) */
    int32_t bias;               /* 128 sum_n ls_n sum_{e in n} v_e: what the + 128 adds
                                   (IQ4_XS: 0, its activations keep their sign) */
    float d;
} xrow;

static inline size_t xi_block_bytes(const int KIND) {
    return KIND == XI_IQ4_XS    ? sizeof(block_iq4_xs)
           : KIND == XI_IQ2_XXS ? sizeof(block_iq2_xxs)
           : KIND == XI_IQ2_XS  ? sizeof(block_iq2_xs)
           : KIND == XI_IQ2_S   ? sizeof(block_iq2_s)
           : KIND == XI_IQ3_XXS ? sizeof(block_iq3_xxs)
           : KIND == XI_IQ3_S   ? sizeof(block_iq3_s)
           : KIND == XI_IQ1_S   ? sizeof(block_iq1_s)
                                : sizeof(block_iq1_m);
}

/* The factor the row dot multiplies its sum by (avx2_iq_sb.c's SB_KERNELS). */
static inline float xi_factor(const int KIND) {
    return KIND == XI_IQ3_S || KIND == XI_IQ4_XS ? 1.0f : KIND == XI_IQ3_XXS ? 0.25f : 0.125f;
}

/* IQ4_XS (blocks.h): sub-block ib's 32 indices in qs[16 ib ..] (low nibbles values 0-15,
 * high 16-31), each to its grid value by one byte shuffle of kvalues_iq4nl (xk_row_prep.h's
 * row_prep_iq4_xs without its + 128), and the sub-block's l - 32 for vpmaddwd. */
static inline void row_prep_iq4_xs(const block_iq4_xs *b, xrow *k) {
    k->d = _cvtsh_ss(b->d), k->bias = 0;
    for (int ib = 0; ib < 8; ib++) k->ls[ib] = _mm256_set1_epi16((short)(iq4xs_scale(b, ib) - 32));
    iq4_xs_values(b, _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl)),
                  k->v);
}

static inline __attribute__((always_inline)) void row_prep(const uint8_t *blk, xrow *k,
                                                           const int KIND) {
    if (KIND == XI_IQ4_XS) {
        row_prep_iq4_xs((const block_iq4_xs *)blk, k);
        return;
    }
    iq_sb8 u;
    if (KIND == XI_IQ2_XXS) sb_iq2_xxs((const block_iq2_xxs *)blk, &u);
    if (KIND == XI_IQ2_XS) sb_iq2_xs((const block_iq2_xs *)blk, &u);
    if (KIND == XI_IQ2_S) sb_iq2_s((const block_iq2_s *)blk, &u);
    if (KIND == XI_IQ3_XXS) sb_iq3_xxs((const block_iq3_xxs *)blk, &u);
    if (KIND == XI_IQ3_S) sb_iq3_s((const block_iq3_s *)blk, &u);
    if (KIND == XI_IQ1_S) sb_iq1_s((const block_iq1_s *)blk, &u);
    if (KIND == XI_IQ1_M) sb_iq1_m((const block_iq1_m *)blk, &u);
    k->d = u.d;
    __m256i bias = _mm256_setzero_si256();
    for (int q = 0; q < 8; q++) { /* sgn is nonzero: vpsignb gives +-magnitude, never 0 */
        const __m256i v = _mm256_sign_epi8(u.mag[q], u.sgn[q]);
        _mm256_store_si256((__m256i *)(k->v + 8 * q), v);
        bias = _mm256_add_epi32(
            bias, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), v), u.ls[q]));
    }
    __m128i b = _mm_add_epi32(_mm256_castsi256_si128(bias), _mm256_extracti128_si256(bias, 1));
    b = _mm_add_epi32(b, _mm_shuffle_epi32(b, _MM_SHUFFLE(1, 0, 3, 2)));
    b = _mm_add_epi32(b, _mm_shuffle_epi32(b, _MM_SHUFFLE(2, 3, 0, 1)));
    k->bias = 128 * _mm_cvtsi128_si32(b);
    /* int16 lane n: half n's ls */
    const __m256i ls16 = _mm256_cvtepu8_epi16(u.halves);
    alignas(32) int16_t ls[16];
    _mm256_store_si256((__m256i *)ls, ls16);
    for (int n = 0; n < 16; n++) k->ls[n] = _mm256_set1_epi16(ls[n]);
}

/* IQ1_S / IQ1_M, half n of NR rows (a at the super-block): their values are 8 g + delta
 * with g in -1..1 and delta +-1, |v| <= 9, so the int16 pairs of the half's 4 dwords add up
 * in int16 (at most 4 x 2 x 255 x 9 = 18360 < 2^15, no wrap) before one vpmaddwd by ls_n:
 * a quarter of the vpmaddwd, the same integer. kbench (avx2_x16_iq_kbench, 2-core
 * Sapphire-Rapids-class Xeon VM, bench lock), ticks a row super-block and group at B = 64 /
 * 128: iq1_s 135 / 126 -> 113 / 105, iq1_m 136 / 127 -> 115 / 106. The codebook formats'
 * larger values (IQ2: 43, IQ3: 62) leave no room for a second pair (2 x 2 x 255 x 43 > 2^15). */
static inline __attribute__((always_inline)) void half_iq1(int n, const xrow *k, const uint8_t *a,
                                                           __m256i (*s)[2], const int NR) {
    const __m256i b128 = _mm256_set1_epi8((char)0x80);
    __m256i p[XI_ROWS][2];
#pragma GCC unroll 4
    for (int cc = 0; cc < 4; cc++) {
        const int c = 4 * n + cc;
        const __m256i y0 = _mm256_xor_si256(_mm256_load_si256((const __m256i *)(a + 64 * c)), b128);
        const __m256i y1 =
            _mm256_xor_si256(_mm256_load_si256((const __m256i *)(a + 64 * c + 32)), b128);
        for (int r = 0; r < NR; r++) {
            const __m256i w = _mm256_set1_epi32((int)k[r].v[c]);
            const __m256i q0 = _mm256_maddubs_epi16(y0, w), q1 = _mm256_maddubs_epi16(y1, w);
            p[r][0] = cc ? _mm256_add_epi16(p[r][0], q0) : q0;
            p[r][1] = cc ? _mm256_add_epi16(p[r][1], q1) : q1;
            __asm__("" : "+x"(p[r][0]), "+x"(p[r][1]));
        }
    }
    for (int r = 0; r < NR; r++)
        for (int h = 0; h < 2; h++)
            s[r][h] = _mm256_add_epi32(s[r][h], _mm256_madd_epi16(p[r][h], k[r].ls[n]));
}

/* NR (1 .. XI_ROWS) decoded rows x one group of 16 tokens over nsp super-blocks (kr[sp][r],
 * act at the first): acc[16 r + t] += their sums, in super-block order. */
static inline __attribute__((always_inline)) void rows_x16k(int nsp, const xrow (*kr)[XI_ROWS],
                                                            const uint8_t *act, float *acc,
                                                            const int NR, const int KIND) {
    for (int sp = 0; sp < nsp; sp++) {
        const xrow *k = kr[sp];
        const uint8_t *a = act + (size_t)sp * X16K_BLOCK_BYTES;
        __m256i s[XI_ROWS][2];
        for (int r = 0; r < NR; r++) s[r][0] = s[r][1] = _mm256_set1_epi32(-k[r].bias);
        const __m256i b128 = _mm256_set1_epi8((char)0x80);
        for (int n = 0; n < 16; n++) {
            if (KIND == XI_IQ1_S || KIND == XI_IQ1_M) {
                half_iq1(n, k, a, s, NR);
                continue;
            }
            const int ln = KIND == XI_IQ4_XS ? n / 2 : n; /* IQ4_XS: a scale per 32 */
#pragma GCC unroll 4
            for (int cc = 0; cc < 4; cc++) {
                const int c = 4 * n + cc;
                const __m256i x0 = _mm256_load_si256((const __m256i *)(a + 64 * c));
                const __m256i x1 = _mm256_load_si256((const __m256i *)(a + 64 * c + 32));
                /* y + 128: unsigned codes (xor of the sign bit); IQ4_XS: |y| */
                const __m256i y0 =
                    KIND == XI_IQ4_XS ? _mm256_abs_epi8(x0) : _mm256_xor_si256(x0, b128);
                const __m256i y1 =
                    KIND == XI_IQ4_XS ? _mm256_abs_epi8(x1) : _mm256_xor_si256(x1, b128);
                for (int r = 0; r < NR; r++) {
                    const __m256i w = _mm256_set1_epi32((int)k[r].v[c]);
                    /* IQ4_XS: |y| against the values with y's sign */
                    const __m256i w0 = KIND == XI_IQ4_XS ? _mm256_sign_epi8(w, x0) : w;
                    const __m256i w1 = KIND == XI_IQ4_XS ? _mm256_sign_epi8(w, x1) : w;
                    s[r][0] = _mm256_add_epi32(
                        s[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(y0, w0), k[r].ls[ln]));
                    s[r][1] = _mm256_add_epi32(
                        s[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(y1, w1), k[r].ls[ln]));
                    /* the sums stay in registers, added in this order: gcc otherwise
                     * reassociates them into trees whose partial sums spill */
                    __asm__("" : "+x"(s[r][0]), "+x"(s[r][1]));
                }
            }
        }
        /* iq_sb_walk.h, dot_iq.c: sum += (d dy) (float)isum */
        for (int h = 0; h < 2; h++) {
            const __m256 dy = _mm256_load_ps((const float *)(a + X16K_D_AT) + 8 * h);
            for (int r = 0; r < NR; r++) {
                const __m256 t = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(k[r].d), dy),
                                               _mm256_cvtepi32_ps(s[r][h]));
                float *at = acc + X16_TOKENS * r + 8 * h;
                _mm256_store_ps(at, _mm256_add_ps(_mm256_load_ps(at), t));
            }
        }
    }
}

/* Rows [0, nr) from w x token groups [tg0, tg0 + ntg): each span of super-blocks decoded
 * once, then run against every group; acc[g] carries the sums between spans. */
static inline __attribute__((always_inline)) void
rows_groups(int64_t nsb, const uint8_t *w, size_t w_stride, int nr, const uint8_t *act, int64_t tg0,
            int ntg, float (*acc)[XI_ROWS * X16_TOKENS], const int KIND) {
    xrow kr[XI_SPAN][XI_ROWS];
    const size_t bb = xi_block_bytes(KIND);
    for (int g = 0; g < ntg; g++)
        for (int i = 0; i < XI_ROWS * X16_TOKENS; i++) acc[g][i] = 0;
    for (int64_t i0 = 0; i0 < nsb; i0 += XI_SPAN) {
        const int nsp = nsb - i0 < XI_SPAN ? (int)(nsb - i0) : XI_SPAN;
        for (int sp = 0; sp < nsp; sp++)
            for (int r = 0; r < nr; r++)
                row_prep(w + r * w_stride + (i0 + sp) * bb, &kr[sp][r], KIND);
        /* kr is read back from memory: the broadcasts are loads, not shuffles of the
         * registers gcc would otherwise keep them in */
        __asm__ volatile("" ::: "memory");
        for (int g = 0; g < ntg; g++) {
            const uint8_t *a = act + ((tg0 + g) * nsb + i0) * X16K_BLOCK_BYTES;
            const xrow(*k)[XI_ROWS] = (const xrow(*)[XI_ROWS])kr;
            if (nr == XI_ROWS)
                rows_x16k(nsp, k, a, acc[g], XI_ROWS, KIND);
            else if (nr == 3)
                rows_x16k(nsp, k, a, acc[g], 3, KIND);
            else if (nr == 2)
                rows_x16k(nsp, k, a, acc[g], 2, KIND);
            else
                rows_x16k(nsp, k, a, acc[g], 1, KIND);
        }
    }
}

static inline __attribute__((always_inline)) void x16_iq_gemm(int64_t cols, float *Y, size_t ldy,
                                                              const void *w, size_t w_stride,
                                                              int nrows, const void *act, int64_t B,
                                                              const int KIND) {
    const int64_t nsb = cols / QK_K, tgroups = (B + X16_TOKENS - 1) / X16_TOKENS;
    alignas(32) float acc[XI_GROUPS][XI_ROWS * X16_TOKENS];
    for (int r0 = 0; r0 < nrows; r0 += XI_ROWS) {
        const int nr = nrows - r0 < XI_ROWS ? nrows - r0 : XI_ROWS;
        for (int64_t tg0 = 0; tg0 < tgroups; tg0 += XI_GROUPS) {
            const int ntg = tgroups - tg0 < XI_GROUPS ? (int)(tgroups - tg0) : XI_GROUPS;
            rows_groups(nsb, (const uint8_t *)w + (size_t)r0 * w_stride, w_stride, nr, act, tg0,
                        ntg, acc, KIND);
            for (int g = 0; g < ntg; g++) {
                const int64_t b0 = (tg0 + g) * X16_TOKENS;
                for (int i = 0; xi_factor(KIND) != 1.0f && i < nr * X16_TOKENS; i++)
                    acc[g][i] *= xi_factor(KIND); /* the reference's factor x sum */
                x16_tile_store(Y, ldy, b0, B - b0 < X16_TOKENS ? B - b0 : X16_TOKENS, r0, nr,
                               acc[g]);
            }
        }
    }
}

#define XI_GEMM(fmt, KIND)                                                                         \
    void gemm_##fmt##x16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,  \
                              int nrows, const void *act, int64_t B) {                             \
        x16_iq_gemm(cols, Y, ldy, w, w_stride, nrows, act, B, KIND);                               \
    }
XI_GEMM(iq2_xxs, XI_IQ2_XXS)
XI_GEMM(iq2_xs, XI_IQ2_XS)
XI_GEMM(iq2_s, XI_IQ2_S)
XI_GEMM(iq3_xxs, XI_IQ3_XXS)
XI_GEMM(iq3_s, XI_IQ3_S)
XI_GEMM(iq1_s, XI_IQ1_S)
XI_GEMM(iq1_m, XI_IQ1_M)
XI_GEMM(iq4_xs, XI_IQ4_XS)
