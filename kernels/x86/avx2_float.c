/* avx2_float.c - dot products of f32 / f16 / bf16 weight rows with f32 activations.
 * Four independent 8-lane FMA accumulators hide the FMA latency; the tail (n % 8) is
 * done in scalar so any length works. Summation order differs from the reference
 * (one running sum), so results agree up to float rounding, not bit for bit. */
#include <immintrin.h>

#include "../../quant/fp16.h"
#include "avx2.h"
#include "avx2_util.h"

#define DEFINE_FLOAT_DOT(name, elem_t, load, to_f32)                                     \
    void vec_dot_##name##_avx2(int64_t n, float *s, const void *w, const void *a) {     \
        const elem_t *x = w;                                                             \
        const float *y = a;                                                              \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;        \
        int64_t i = 0;                                                                   \
        for (; i + 32 <= n; i += 32) {                                                   \
            acc0 = _mm256_fmadd_ps(load(x + i), _mm256_loadu_ps(y + i), acc0);           \
            acc1 = _mm256_fmadd_ps(load(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);   \
            acc2 = _mm256_fmadd_ps(load(x + i + 16), _mm256_loadu_ps(y + i + 16), acc2); \
            acc3 = _mm256_fmadd_ps(load(x + i + 24), _mm256_loadu_ps(y + i + 24), acc3); \
        }                                                                                \
        for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(load(x + i), _mm256_loadu_ps(y + i), acc0); \
        float sum = hsum_f32x8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3))); \
        for (; i < n; i++) sum += to_f32(x[i]) * y[i];                                   \
        *s = sum;                                                                        \
    }

DEFINE_FLOAT_DOT(f32, float, load8_f32, f32_identity)
DEFINE_FLOAT_DOT(f16, uint16_t, load8_f16, fp16_to_f32)
DEFINE_FLOAT_DOT(bf16, uint16_t, load8_bf16, bf16_to_f32)
