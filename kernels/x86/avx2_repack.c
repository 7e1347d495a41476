/* avx2_repack.c - gemv over the 8-row interleaved Q4_0 / Q4_1 / Q8_0 layout (kernels/repack.h).
 *
 * One 256-bit load of a packed block holds 4 weights of each of 8 rows (lane = row), so
 * the activation is broadcast 4 bytes at a time and one maddubs multiplies 32 weights of
 * 8 rows. The per-block fold (int32 -> float, x scales, accumulate) is done once for the
 * 8 rows, and the 8 row sums come out as one vector: no horizontal sums. Decode walks two
 * groups (16 rows) per broadcast; batches one group against up to 4 activations, so each
 * weight load and nibble unpack serves 4 tokens.
 *
 * Float operations per row are those of the scalar reference (exact block sum, scale
 * product, then mul and add rather than fma): results are bit-identical to it.
 *
 * Q4_0: nibbles q (0..15) stay unsigned, so maddubs(q, y) needs no sign trick and
 *   sum (q - 8) y = sum q y - 8 sum y,
 * with 8 sum y computed once per activation block for all rows. The 8 maddubs of a block
 * add up in int16: 8 x 2 x 15 x 128 = 30720 < 32767. Q4_1 (x = d q + m) is the same loop
 * without the subtraction; its m term, m dy sum y, uses sum y computed once per activation
 * block as well. Q8_0 uses the sign trick
 * (|w| x sign(y, w)); its int16 pairs (up to 2 x 128 x 127) go to int32 after each.
 *
 * ggml's block_q4_0x8 interleaves 8-byte chunks and stores nibbles xor 0x88 (signed, times
 * 16), which needs a sign fix-up per multiply; 4-byte chunks and unsigned nibbles need one
 * dword broadcast per chunk and one subtraction per block instead. */
/* Register-pressure-aware scheduling before allocation: without it gcc 12 starts every
 * broadcast and maddubs of a block early and spills the sums and accumulators to the
 * stack (263 ymm stack accesses vs 58; measured faster, see tests/test_repack.c bench). */
#pragma GCC optimize("schedule-insns", "sched-pressure")

#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"

#define MAX_NG 2
#define MAX_NA 4
/* Activation blocks whose sums are kept at once (16384 columns: one span for most models) */
#define SPAN_BLOCKS 512

/* The 8 rows' scales of a packed block times the activation block's scale. */
static inline __m256 block_scales(__m256 dx, uint16_t dy) {
    return _mm256_mul_ps(dx, _mm256_set1_ps(half_f16c(dy)));
}

static inline __m256 load_scales(const uint8_t *blk) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
}

/* acc = acc + isum x scale, rounded as the reference rounds it */
static inline __m256 fold(__m256 acc, __m256i isum, __m256 scale) {
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(isum), scale));
}

/* What a tile of NG groups x NA activations works on. */
typedef struct {
    const uint8_t *w;   /* first group's packed data */
    size_t group_bytes; /* nb packed blocks */
    const char *act;    /* activation rows (block_q8_0), act_stride bytes apart */
    size_t act_stride;
    float *y; /* y[j * y_stride + 8 g + lane] */
    size_t y_stride;
} tile_args;

static inline const block_q8_0 *act_row(const tile_args *t, int j) {
    return (const block_q8_0 *)(t->act + j * t->act_stride);
}

/* The fold of a Q4_1 block, as the reference rounds it: acc + (isum x d dy + ysum x m dy) */
static inline __m256 fold_q4_1(__m256 acc, __m256i isum, __m256 dx, __m256 mx, uint16_t dy,
                               int32_t ysum) {
    __m256 fdy = _mm256_set1_ps(half_f16c(dy));
    __m256 qy = _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dx, fdy));
    __m256 my = _mm256_mul_ps(_mm256_set1_ps((float)ysum), _mm256_mul_ps(mx, fdy));
    return _mm256_add_ps(acc, _mm256_add_ps(qy, my));
}

/* Q4_0 (AFF = 0) / Q4_1 (AFF = 1): NG groups x NA activations over blocks [i0, i1);
 * y += (accumulate) or y = sums. ysum[j][i - i0] = sum of activation j's block i, times 8
 * for Q4_0 (the code offset). */
static inline __attribute__((always_inline)) void q4_tile(const tile_args *t, int64_t i0,
                                                          int64_t i1, int32_t (*ysum)[SPAN_BLOCKS],
                                                          int accumulate, const int NG,
                                                          const int NA, const int AFF) {
    const size_t bb = REPACK_ROWS * (AFF ? sizeof(block_q4_1) : sizeof(block_q4_0));
    const size_t head = (AFF ? 4 : 2) * REPACK_ROWS; /* d[8] (and m[8]) before the qs */
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++)
            acc[g][j] =
                accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride + 8 * g) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = t->w + i * bb;
        __m256i s16[MAX_NG][MAX_NA];
        for (int g = 0; g < NG; g++)
            for (int j = 0; j < NA; j++) s16[g][j] = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++)
            for (int g = 0; g < NG; g++) {
                __m256i raw = _mm256_loadu_si256(
                    (const __m256i *)(blk + g * t->group_bytes + head + 32 * c));
                __m256i lo = _mm256_and_si256(raw, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                for (int j = 0; j < NA; j++) {
                    const int8_t *qs = act_row(t, j)[i].qs;
                    s16[g][j] =
                        _mm256_add_epi16(s16[g][j], _mm256_maddubs_epi16(lo, bcast4(qs + 4 * c)));
                    s16[g][j] = _mm256_add_epi16(s16[g][j],
                                                 _mm256_maddubs_epi16(hi, bcast4(qs + 16 + 4 * c)));
                }
            }
        for (int g = 0; g < NG; g++) {
            __m256 dx = load_scales(blk + g * t->group_bytes);
            for (int j = 0; j < NA; j++) {
                __m256i isum = _mm256_madd_epi16(s16[g][j], ones);
                if (AFF) {
                    __m256 mx = load_scales(blk + g * t->group_bytes + 2 * REPACK_ROWS);
                    acc[g][j] = fold_q4_1(acc[g][j], isum, dx, mx, act_row(t, j)[i].d,
                                          ysum[j][i - i0]);
                } else {
                    isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(ysum[j][i - i0]));
                    acc[g][j] = fold(acc[g][j], isum, block_scales(dx, act_row(t, j)[i].d));
                }
            }
        }
    }
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride + 8 * g, acc[g][j]);
}

/* mult x sum of the codes of activation blocks [i0, i1). */
static void block_sums(const block_q8_0 *a, int64_t i0, int64_t i1, int32_t mult, int32_t *out) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int64_t i = i0; i < i1; i++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16);
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        out[i - i0] = mult * _mm_cvtsi128_si32(h);
    }
}

/* Groups of one span against NA (1..4) activations: pairs of groups for one activation. */
static inline __attribute__((always_inline)) void q4_span(const tile_args *t, int64_t n_groups,
                                                          int64_t i0, int64_t i1,
                                                          int32_t (*ysum)[SPAN_BLOCKS], int na,
                                                          const int AFF) {
    tile_args u = *t;
    int acc = i0 > 0;
    int64_t g = 0;
    if (na == 1)
        for (; g + 2 <= n_groups; g += 2) {
            u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
            q4_tile(&u, i0, i1, ysum, acc, 2, 1, AFF);
        }
    for (; g < n_groups; g++) {
        u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
        switch (na) {
        case 1:
            q4_tile(&u, i0, i1, ysum, acc, 1, 1, AFF);
            break;
        case 2:
            q4_tile(&u, i0, i1, ysum, acc, 1, 2, AFF);
            break;
        case 3:
            q4_tile(&u, i0, i1, ysum, acc, 1, 3, AFF);
            break;
        default:
            q4_tile(&u, i0, i1, ysum, acc, 1, 4, AFF);
            break;
        }
    }
}

static inline __attribute__((always_inline)) void q4_gemv(int64_t n, float *s, size_t s_stride,
                                                          const void *w, size_t w_stride,
                                                          int nrows, const void *a,
                                                          size_t a_stride, int nact,
                                                          const int AFF) {
    const int64_t nb = n / QK32;
    int32_t ysum[MAX_NA][SPAN_BLOCKS];
    for (int j0 = 0; j0 < nact; j0 += MAX_NA) {
        int na = nact - j0 < MAX_NA ? nact - j0 : MAX_NA;
        tile_args t = {.w = w,
                       .group_bytes = REPACK_ROWS * w_stride,
                       .act = (const char *)a + j0 * a_stride,
                       .act_stride = a_stride,
                       .y = s + j0 * s_stride,
                       .y_stride = s_stride};
        for (int64_t i0 = 0; i0 < nb; i0 += SPAN_BLOCKS) {
            int64_t i1 = i0 + SPAN_BLOCKS < nb ? i0 + SPAN_BLOCKS : nb;
            for (int j = 0; j < na; j++) block_sums(act_row(&t, j), i0, i1, AFF ? 1 : 8, ysum[j]);
            q4_span(&t, nrows / REPACK_ROWS, i0, i1, ysum, na, AFF);
        }
    }
}

void tile_q4_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    q4_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 0);
}

void tile_q4_1x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    q4_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 1);
}

/* Q8_0: NG groups x NA activations over all blocks. */
static inline __attribute__((always_inline)) void q8_tile(const tile_args *t, int64_t nb,
                                                          const int NG, const int NA) {
    const size_t bb = REPACK_ROWS * sizeof(block_q8_0);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++) acc[g][j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *blk = t->w + i * bb;
        __m256i s32[MAX_NG][MAX_NA];
        for (int g = 0; g < NG; g++)
            for (int j = 0; j < NA; j++) s32[g][j] = _mm256_setzero_si256();
        for (int c = 0; c < 8; c++)
            for (int g = 0; g < NG; g++) {
                __m256i q = _mm256_loadu_si256(
                    (const __m256i *)(blk + g * t->group_bytes + 2 * REPACK_ROWS + 32 * c));
                __m256i aq = _mm256_sign_epi8(q, q);
                for (int j = 0; j < NA; j++) {
                    __m256i yb = bcast4(act_row(t, j)[i].qs + 4 * c);
                    __m256i pairs = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(yb, q));
                    s32[g][j] = _mm256_add_epi32(s32[g][j], _mm256_madd_epi16(pairs, ones));
                }
            }
        for (int g = 0; g < NG; g++) {
            __m256 dx = load_scales(blk + g * t->group_bytes);
            for (int j = 0; j < NA; j++)
                acc[g][j] = fold(acc[g][j], s32[g][j], block_scales(dx, act_row(t, j)[i].d));
        }
    }
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride + 8 * g, acc[g][j]);
}

void tile_q8_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK32, n_groups = nrows / REPACK_ROWS;
    for (int j0 = 0; j0 < nact; j0 += MAX_NA) {
        int na = nact - j0 < MAX_NA ? nact - j0 : MAX_NA;
        tile_args t = {.group_bytes = REPACK_ROWS * w_stride,
                       .act = (const char *)a + j0 * a_stride,
                       .act_stride = a_stride,
                       .y_stride = s_stride};
        int64_t g = 0;
        if (na == 1)
            for (; g + 2 <= n_groups; g += 2) {
                t.w = (const uint8_t *)w + g * t.group_bytes,
                t.y = s + j0 * s_stride + g * REPACK_ROWS;
                q8_tile(&t, nb, 2, 1);
            }
        for (; g < n_groups; g++) {
            t.w = (const uint8_t *)w + g * t.group_bytes, t.y = s + j0 * s_stride + g * REPACK_ROWS;
            switch (na) {
            case 1:
                q8_tile(&t, nb, 1, 1);
                break;
            case 2:
                q8_tile(&t, nb, 1, 2);
                break;
            case 3:
                q8_tile(&t, nb, 1, 3);
                break;
            default:
                q8_tile(&t, nb, 1, 4);
                break;
            }
        }
    }
}
