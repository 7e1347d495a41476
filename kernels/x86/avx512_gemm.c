/* avx512_gemm.c - the f32 GEMM micro-kernel of GEMM_OWN (gemm.h) in 512-bit registers: 6
 * weight rows x the 16 tokens of a packed group (GEMM_NT, one zmm) per k.
 *
 * Per k: one load of the 16 packed activations, one broadcast per weight row, one FMA per
 * row: half the FMAs of avx2_gemm.c's two ymm per row for the same 96 products. Each row
 * keeps two accumulators, even and odd k, so 12 FMA chains are in flight (6 would wait on
 * the 4-cycle FMA latency with two FMA ports); they are added once at the end. That is a
 * different float order than the reference's single k-sequential sum: the results agree
 * within the same bound (tests/test_gemm.c). Used for f16 / bf16 / f32 batches of 16 tokens
 * and more (gemm_choose), whose panels are dequantized once per batch. */
#include <immintrin.h>

#include "../gemm.h"
#include "avx512.h"
#include "gemm_tile_nr.h"

static inline __attribute__((always_inline)) void tile(int64_t kc, const float *xt, const float *w,
                                                       size_t ldw, float *c, int accumulate,
                                                       const int NR) {
    __m512 even[GEMM_NR], odd[GEMM_NR];
#pragma GCC unroll 6
    for (int r = 0; r < NR; r++) {
        even[r] = accumulate ? _mm512_loadu_ps(c + r * GEMM_NT) : _mm512_setzero_ps();
        odd[r] = _mm512_setzero_ps();
    }
    int64_t k = 0;
    for (; k + 2 <= kc; k += 2) {
        __m512 x0 = _mm512_loadu_ps(xt + k * GEMM_NT), x1 = _mm512_loadu_ps(xt + (k + 1) * GEMM_NT);
#pragma GCC unroll 6
        for (int r = 0; r < NR; r++) {
            even[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + k]), x0, even[r]);
            odd[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + k + 1]), x1, odd[r]);
        }
    }
    if (k < kc) {
        __m512 x0 = _mm512_loadu_ps(xt + k * GEMM_NT);
#pragma GCC unroll 6
        for (int r = 0; r < NR; r++)
            even[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + k]), x0, even[r]);
    }
#pragma GCC unroll 6
    for (int r = 0; r < NR; r++) _mm512_storeu_ps(c + r * GEMM_NT, _mm512_add_ps(even[r], odd[r]));
}

void gemm_tile_f32_avx512(int64_t kc, const float *xt, const float *w, size_t ldw, float *c, int nr,
                          int accumulate) {
    _Static_assert(GEMM_NT == 16 && GEMM_NR == 6, "one zmm of tokens, 6 rows");
    GEMM_TILE_BY_NR(kc, xt, w, ldw, c, nr, accumulate);
}
