/* avx512_repack.c - gemv over the 8-row interleaved Q4_0 / Q4_1 / Q8_0 layout
 * (kernels/repack.h) with AVX-512 VNNI.
 *
 * The walk of avx2_repack.c (see there): lane = row, the activation broadcast 4 bytes at a
 * time, two groups (16 rows) per broadcast in decode, one group x up to 4 activations in
 * batches, the fold of a block done for 8 rows at once. What changes is the product: one
 * vpdpbusd per 32 weights of 8 rows adds the 4-byte dot of each row straight into int32
 * (AVX2: maddubs, an int16 add, and a madd per block). The codes go in unsigned:
 *   Q4_0: q (0..15), sum (q - 8) y = sum q y - 8 sum y
 *   Q4_1: q (0..15), x = d q + m (the m term uses sum y)
 *   Q8_0: q + 128 = q ^ 0x80 (0..255), sum q y = sum (q + 128) y - 128 sum y
 * with k sum y computed once per activation block for all rows. All sums are exact in
 * int32 for every code (Q8_0's -128 included, unlike the AVX2 sign trick), and the float
 * operations per row are the reference's (mul, then add; Q4_1 as tile_q4_1x8_ref): results
 * are bit-identical to tile_*x8_ref. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx512.h"
#include "avx512_util.h"

#define MAX_NG 2
#define MAX_NA 4
/* Activation blocks whose sums are kept at once (16384 columns: one span for most models) */
#define SPAN_BLOCKS 512

enum { KIND_Q4_0, KIND_Q4_1, KIND_Q8_0 };

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

static inline __m256 load_scales(const uint8_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Bytes of a packed block (8 rows) and of its fp16 head (d[8], Q4_1 also m[8]). */
static inline size_t x8_bytes(const int KIND) {
    return REPACK_ROWS * (KIND == KIND_Q8_0   ? sizeof(block_q8_0)
                          : KIND == KIND_Q4_1 ? sizeof(block_q4_1)
                                              : sizeof(block_q4_0));
}
static inline size_t head_bytes(const int KIND) {
    return (KIND == KIND_Q4_1 ? 4 : 2) * REPACK_ROWS;
}

/* acc + the block's contribution, as the reference rounds it. ysum: k sum y (Q4_0: 8 sum y,
 * Q8_0: 128 sum y, Q4_1: sum y). */
static inline __m256 fold(__m256 acc, __m256i isum, const uint8_t *blk, uint16_t dy, int32_t ysum,
                          const int KIND) {
    __m256 fdy = _mm256_set1_ps(half_f16c(dy)), dx = load_scales(blk);
    if (KIND == KIND_Q4_1) {
        __m256 mx = load_scales(blk + 2 * REPACK_ROWS);
        __m256 qy = _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dx, fdy));
        __m256 my = _mm256_mul_ps(_mm256_set1_ps((float)ysum), _mm256_mul_ps(mx, fdy));
        return _mm256_add_ps(acc, _mm256_add_ps(qy, my));
    }
    isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(ysum));
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dx, fdy)));
}

/* NG groups x NA activations over blocks [i0, i1); y += (accumulate) or y = sums.
 * ysum[j][i - i0]: activation j's block i sum times the code offset. */
static inline __attribute__((always_inline)) void x8_tile(const tile_args *t, int64_t i0,
                                                          int64_t i1, int32_t (*ysum)[SPAN_BLOCKS],
                                                          int accumulate, const int NG,
                                                          const int NA, const int KIND) {
    const size_t bb = x8_bytes(KIND), head = head_bytes(KIND);
    const __m256i m4 = _mm256_set1_epi8(0x0F), bias = _mm256_set1_epi8((char)0x80);
    __m256 acc[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++)
            acc[g][j] =
                accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride + 8 * g) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = t->w + i * bb;
        __m256i s32[MAX_NG][MAX_NA];
        for (int g = 0; g < NG; g++)
            for (int j = 0; j < NA; j++) s32[g][j] = _mm256_setzero_si256();
        for (int c = 0; c < (KIND == KIND_Q8_0 ? 8 : 4); c++)
            for (int g = 0; g < NG; g++) {
                __m256i raw =
                    _mm256_loadu_si256((const __m256i *)(blk + g * t->group_bytes + head + 32 * c));
                for (int j = 0; j < NA; j++) {
                    const int8_t *qs = act_row(t, j)[i].qs;
                    if (KIND == KIND_Q8_0) {
                        s32[g][j] =
                            dpbusd(s32[g][j], _mm256_xor_si256(raw, bias), bcast4(qs + 4 * c));
                    } else {
                        __m256i lo = _mm256_and_si256(raw, m4);
                        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                        s32[g][j] = dpbusd(s32[g][j], lo, bcast4(qs + 4 * c));
                        s32[g][j] = dpbusd(s32[g][j], hi, bcast4(qs + 16 + 4 * c));
                    }
                }
            }
        for (int g = 0; g < NG; g++)
            for (int j = 0; j < NA; j++)
                acc[g][j] = fold(acc[g][j], s32[g][j], blk + g * t->group_bytes, act_row(t, j)[i].d,
                                 ysum[j][i - i0], KIND);
    }
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride + 8 * g, acc[g][j]);
}

/* mult x the sum of the codes of each activation block in [i0, i1). */
static void block_sums(const block_q8_0 *a, int64_t i0, int64_t i1, int32_t mult, int32_t *out) {
    for (int64_t i = i0; i < i1; i++) {
        __m256i s = sum_s8(_mm256_loadu_si256((const __m256i *)a[i].qs));
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        out[i - i0] = mult * _mm_cvtsi128_si32(h);
    }
}

/* Groups of one span against na (1..4) activations: pairs of groups for one. */
static inline __attribute__((always_inline)) void x8_span(const tile_args *t, int64_t n_groups,
                                                          int64_t i0, int64_t i1,
                                                          int32_t (*ysum)[SPAN_BLOCKS], int na,
                                                          const int KIND) {
    tile_args u = *t;
    int acc = i0 > 0;
    int64_t g = 0;
    if (na == 1)
        for (; g + 2 <= n_groups; g += 2) {
            u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
            x8_tile(&u, i0, i1, ysum, acc, 2, 1, KIND);
        }
    for (; g < n_groups; g++) {
        u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
        if (na == 1)
            x8_tile(&u, i0, i1, ysum, acc, 1, 1, KIND);
        else if (na == 2)
            x8_tile(&u, i0, i1, ysum, acc, 1, 2, KIND);
        else if (na == 3)
            x8_tile(&u, i0, i1, ysum, acc, 1, 3, KIND);
        else
            x8_tile(&u, i0, i1, ysum, acc, 1, 4, KIND);
    }
}

static inline __attribute__((always_inline)) void x8_gemv(int64_t n, float *s, size_t s_stride,
                                                          const void *w, size_t w_stride, int nrows,
                                                          const void *a, size_t a_stride, int nact,
                                                          const int KIND) {
    const int64_t nb = n / QK32;
    const int32_t mult = KIND == KIND_Q8_0 ? 128 : KIND == KIND_Q4_0 ? 8 : 1;
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
            for (int j = 0; j < na; j++) block_sums(act_row(&t, j), i0, i1, mult, ysum[j]);
            x8_span(&t, nrows / REPACK_ROWS, i0, i1, ysum, na, KIND);
        }
    }
}

void tile_q4_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_0);
}

void tile_q4_1x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_1);
}

void tile_q8_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q8_0);
}
