/* avx512_float.c - dot products of f32 / f16 / bf16 weight rows with f32 activations, 16
 * lanes a register. Four independent FMA accumulators hide the FMA latency; the tail
 * (n % 16) is one masked load (masked-off lanes read nothing and give 0), so any length
 * works without a scalar loop. Summation order differs from the reference: results agree
 * up to float rounding (tests/test_avx512.c holds them to the AVX2 tolerance). BF16 widens
 * the weights (see avx512.h for why not vdpbf16ps). */
#include <immintrin.h>

#include "avx512.h"
#include "avx512_util.h"

#define DEFINE_FLOAT_DOT(name, elem_t, load, load_mask)                                            \
    void vec_dot_##name##_avx512(int64_t n, float *s, const void *w, const void *a) {              \
        const elem_t *x = w;                                                                       \
        const float *y = a;                                                                        \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;                  \
        int64_t i = 0;                                                                             \
        for (; i + 64 <= n; i += 64) {                                                             \
            acc0 = _mm512_fmadd_ps(load(x + i), _mm512_loadu_ps(y + i), acc0);                     \
            acc1 = _mm512_fmadd_ps(load(x + i + 16), _mm512_loadu_ps(y + i + 16), acc1);           \
            acc2 = _mm512_fmadd_ps(load(x + i + 32), _mm512_loadu_ps(y + i + 32), acc2);           \
            acc3 = _mm512_fmadd_ps(load(x + i + 48), _mm512_loadu_ps(y + i + 48), acc3);           \
        }                                                                                          \
        for (; i + 16 <= n; i += 16)                                                               \
            acc0 = _mm512_fmadd_ps(load(x + i), _mm512_loadu_ps(y + i), acc0);                     \
        if (i < n) {                                                                               \
            __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);                                     \
            acc1 =                                                                                 \
                _mm512_fmadd_ps(load_mask(x + i, tail), _mm512_maskz_loadu_ps(tail, y + i), acc1); \
        }                                                                                          \
        *s = _mm512_reduce_add_ps(                                                                 \
            _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));                  \
    }

DEFINE_FLOAT_DOT(f32, float, load16_f32, load16_f32_mask)
DEFINE_FLOAT_DOT(f16, uint16_t, load16_f16, load16_f16_mask)
DEFINE_FLOAT_DOT(bf16, uint16_t, load16_bf16, load16_bf16_mask)
