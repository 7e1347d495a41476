/* iq_rows.h - the codebook formats' row dot products a sub-block at a time, from the common
 * form of quant/iq_unpack.h: now only make test-emu512's (avx512_iq2.c); the native kernels
 * unpack a super-block at a time (avx2_iq_sb.c, avx512_iq_sb.c). Per sub-block of 32 the 4
 * grid words are one vector, the sign bits byte masks negating the activations. The including
 * file defines, before including this,
 *   __m256i scaled_sub(__m256i mag, __m256i a, int ls0, int ls1)
 * = 8 int32 lanes of ls x sum(mag x a) over a sub-block of 32 (mag unsigned <= 62, a the
 * sign-applied int8 activations; ls0 for elements 0..15, ls1 for 16..31): the one step
 * where the ISAs differ. ISA names the function suffix (avx2, avx512). */
#ifndef SCARCE_IQ_ROWS_H
#define SCARCE_IQ_ROWS_H

#include <immintrin.h>

#include "../../quant/iq_unpack.h"
#include "avx2_util.h"

static inline float iq_dot_rows(int64_t n, const void *w, const block_q8_K *a, size_t bytes,
                                iq_unpack_fn unpack, float factor) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *block = (const uint8_t *)w + i * bytes;
        __m256i acc = _mm256_setzero_si256();
        iq_sub u;
        for (int ib = 0; ib < 8; ib++) {
            unpack(block, ib, &u);
            __m256i mag = _mm256_setr_epi64x((long long)u.mag[0], (long long)u.mag[1],
                                             (long long)u.mag[2], (long long)u.mag[3]);
            __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * ib));
            __m256i ya = negate_where(y, bits_to_bytes(u.signs));
            acc = _mm256_add_epi32(acc, scaled_sub(mag, ya, u.ls[0], u.ls[1]));
        }
        sum += half_f16c(u.d) * a[i].d * (float)isum_i32x8(acc);
    }
    return factor * sum;
}

/* nrows x nact dot products (vec_dot_tile): each sub-block is unpacked once for up to
 * IQ_TILE_NA tokens (the unpack, a scalar grid lookup, costs more than the multiplies), and
 * each (row, token) sums in iq_dot_rows's order: the same bits as the row dot. */
enum { IQ_TILE_NA = 4 };

static inline void iq_tile_rows(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *act, size_t a_stride,
                                int nact, size_t bytes, iq_unpack_fn unpack, float factor) {
    for (int r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * w_stride;
        for (int j0 = 0; j0 < nact; j0 += IQ_TILE_NA) {
            const int na = nact - j0 < IQ_TILE_NA ? nact - j0 : IQ_TILE_NA;
            const block_q8_K *a[IQ_TILE_NA];
            float sum[IQ_TILE_NA] = {0};
            for (int j = 0; j < na; j++)
                a[j] = (const block_q8_K *)((const char *)act + (j0 + j) * a_stride);
            for (int64_t i = 0; i < n / QK_K; i++) {
                __m256i acc[IQ_TILE_NA];
                for (int j = 0; j < na; j++) acc[j] = _mm256_setzero_si256();
                iq_sub u;
                for (int ib = 0; ib < 8; ib++) {
                    unpack(row + i * bytes, ib, &u);
                    __m256i mag = _mm256_setr_epi64x((long long)u.mag[0], (long long)u.mag[1],
                                                     (long long)u.mag[2], (long long)u.mag[3]);
                    __m256i neg = bits_to_bytes(u.signs);
                    for (int j = 0; j < na; j++) {
                        __m256i y = _mm256_loadu_si256((const __m256i *)(a[j][i].qs + 32 * ib));
                        acc[j] = _mm256_add_epi32(
                            acc[j], scaled_sub(mag, negate_where(y, neg), u.ls[0], u.ls[1]));
                    }
                }
                for (int j = 0; j < na; j++)
                    sum[j] += half_f16c(u.d) * a[j][i].d * (float)isum_i32x8(acc[j]);
            }
            for (int j = 0; j < na; j++) s[(size_t)(j0 + j) * s_stride + r] = factor * sum[j];
        }
    }
}

#define IQ_DOT(fmt, isa, factor)                                                                   \
    void vec_dot_##fmt##_##isa(int64_t n, float *s, const void *w, const void *a) {                \
        *s = iq_dot_rows(n, w, a, sizeof(block_##fmt), fmt##_sub, factor);                         \
    }                                                                                              \
    void vec_dot_tile_##fmt##_##isa(int64_t n, float *s, size_t s_stride, const void *w,           \
                                    size_t w_stride, int nrows, const void *a, size_t a_stride,    \
                                    int nact) {                                                    \
        iq_tile_rows(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, sizeof(block_##fmt),   \
                     fmt##_sub, factor);                                                           \
    }

#define IQ_DOTS(isa)                                                                               \
    IQ_DOT(iq2_xxs, isa, 0.125f)                                                                   \
    IQ_DOT(iq2_xs, isa, 0.125f)                                                                    \
    IQ_DOT(iq2_s, isa, 0.125f)                                                                     \
    IQ_DOT(iq3_xxs, isa, 0.25f)                                                                    \
    IQ_DOT(iq3_s, isa, 1.0f)                                                                       \
    IQ_DOT(iq1_s, isa, 0.125f)                                                                     \
    IQ_DOT(iq1_m, isa, 0.125f)

#endif
