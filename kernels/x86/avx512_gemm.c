/* avx512_gemm.c - the f32 GEMM micro-kernel of GEMM_OWN (gemm.h) in 512-bit registers: up
 * to 8 weight rows x two groups of 16 packed tokens (GEMM_NT, one zmm each) per k.
 *
 * Two groups: per k, two loads of activations and one broadcast per row feed two FMAs:
 * 8 + 2 loads per 16 FMAs, 16 accumulators (enough chains for the 4-cycle latency on two
 * FMA ports). The former one-group 6-row tile needed 7 loads per 6 FMAs and reached 124
 * GFLOP/s on 2048 x 2048 f16 at B = 64 against a measured FMA peak of 169 GFLOP/s (one
 * core of the 2-core Sapphire-Rapids-class Xeon, `SCARCE_KBENCH=1 make test T=gemm_bench`).
 * A lone group (16..31 tokens, or the last of an odd count) keeps two accumulators per
 * row, even and odd k, added at the end: another float order than the reference's single
 * k-sequential sum (the two-group tile's order is the reference's), within the same bound
 * (tests/test_gemm.c). Used for f16 / bf16 / f32 batches of 16 tokens and more
 * (gemm_choose), whose panels are dequantized once per batch. */
#include <immintrin.h>

#include "../gemm.h"
#include "avx512.h"
#include "gemm_tile_nr.h"

/* Two groups: group 1's activations ldx floats after group 0's, its outputs ldc after. */
static inline __attribute__((always_inline)) void tile2(int64_t kc, const float *xt, size_t ldx,
                                                        const float *w, size_t ldw, float *c,
                                                        size_t ldc, int accumulate, const int NR) {
    __m512 a0[GEMM_NR], a1[GEMM_NR];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        a0[r] = accumulate ? _mm512_loadu_ps(c + r * GEMM_NT) : _mm512_setzero_ps();
        a1[r] = accumulate ? _mm512_loadu_ps(c + ldc + r * GEMM_NT) : _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m512 x0 = _mm512_loadu_ps(xt + k * GEMM_NT), x1 = _mm512_loadu_ps(xt + ldx + k * GEMM_NT);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m512 wr = _mm512_set1_ps(w[r * ldw + k]);
            a0[r] = _mm512_fmadd_ps(wr, x0, a0[r]);
            a1[r] = _mm512_fmadd_ps(wr, x1, a1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        _mm512_storeu_ps(c + r * GEMM_NT, a0[r]);
        _mm512_storeu_ps(c + ldc + r * GEMM_NT, a1[r]);
    }
}

/* One group: even and odd k in separate accumulators. */
static inline __attribute__((always_inline)) void tile1(int64_t kc, const float *xt, size_t ldx,
                                                        const float *w, size_t ldw, float *c,
                                                        size_t ldc, int accumulate, const int NR) {
    (void)ldx, (void)ldc;
    __m512 even[GEMM_NR], odd[GEMM_NR];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        even[r] = accumulate ? _mm512_loadu_ps(c + r * GEMM_NT) : _mm512_setzero_ps();
        odd[r] = _mm512_setzero_ps();
    }
    int64_t k = 0;
    for (; k + 2 <= kc; k += 2) {
        __m512 x0 = _mm512_loadu_ps(xt + k * GEMM_NT), x1 = _mm512_loadu_ps(xt + (k + 1) * GEMM_NT);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            even[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + k]), x0, even[r]);
            odd[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + k + 1]), x1, odd[r]);
        }
    }
    if (k < kc) {
        __m512 x0 = _mm512_loadu_ps(xt + k * GEMM_NT);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            even[r] = _mm512_fmadd_ps(_mm512_set1_ps(w[r * ldw + k]), x0, even[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) _mm512_storeu_ps(c + r * GEMM_NT, _mm512_add_ps(even[r], odd[r]));
}

void gemm_tile_f32_avx512(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw,
                          float *c, size_t ldc, int nr, int ng, int accumulate) {
    _Static_assert(GEMM_NT == 16 && GEMM_NR == 8 && GEMM_NG == 2, "one zmm of tokens a group");
    if (ng == 2)
        GEMM_TILE_BY_NR(tile2, kc, xt, ldx, w, ldw, c, ldc, nr, accumulate);
    else if (ng == 1)
        GEMM_TILE_BY_NR(tile1, kc, xt, ldx, w, ldw, c, ldc, nr, accumulate);
}

/* f16 panel rows, 16 a conversion (the AVX2 one converts 8): exactly the reference's
 * values, f16 -> f32 is exact. */
void dequantize_f16_avx512(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h + i)));
    }
}

/* bf16 panel rows, 16 a step: bf16 is the upper half of an f32 (widen, shift), exact. */
void dequantize_bf16_avx512(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i x = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(h + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)));
    }
    if (i < n) {
        const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512i x = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, h + i));
        _mm512_mask_storeu_ps(dst + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)));
    }
}
