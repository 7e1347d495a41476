/* iq_rows.h - the codebook formats' row dot products shared by the AVX2 and AVX-512 kernels
 * (avx2_iq2.c explains them). The including file defines, before including this,
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

#define IQ_DOT(fmt, isa, factor)                                                                   \
    void vec_dot_##fmt##_##isa(int64_t n, float *s, const void *w, const void *a) {                \
        *s = iq_dot_rows(n, w, a, sizeof(block_##fmt), fmt##_sub, factor);                         \
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
