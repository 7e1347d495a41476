/* avx2_gemm.c - the f32 GEMM micro-kernel: up to 6 weight rows x 16 tokens in 12 accumulators.
 *
 * Per k: two loads of packed activations (16 tokens), one broadcast per weight row, 12
 * FMAs. 12 accumulators + 2 activation registers + 1 broadcast = 15 of 16 ymm registers,
 * and 12 independent FMA chains cover the FMA latency (5 cycles on Zen1, 4 on Skylake)
 * at 1-2 FMAs per cycle.
 *
 * Below, the dequantizers gemm.c fills its panels with for the hot types (the reference
 * ones in quant/ are scalar; f16 here is ~6% of TinyLlama f16 prefill time at B = 64,
 * perf). Converting f16 inside this kernel instead would need a per-lane broadcast of
 * each converted weight (a shuffle per FMA pair), dearer than converting once per batch. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../gemm.h"
#include "avx2.h"
#include "avx2_util.h"
#include "gemm_tile_nr.h"

static inline __attribute__((always_inline)) void tile(int64_t kc, const float *xt, size_t ldx,
                                                       const float *w, size_t ldw, float *c,
                                                       size_t ldc, int accumulate, const int NR) {
    (void)ldx, (void)ldc;
    /* The row loops must be unrolled before gcc's scalar replacement of acc[][]: left as
     * loops, gcc 12 kept acc in memory and stored all 12 accumulators every k (12 stores
     * per 12 FMAs; measured 19 GFLOP/s in L1, 37 unrolled). */
    __m256 acc[GEMM_NR][2];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * GEMM_NT) : _mm256_setzero_ps();
        acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * GEMM_NT + 8) : _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m256 x0 = _mm256_loadu_ps(xt + k * GEMM_NT), x1 = _mm256_loadu_ps(xt + k * GEMM_NT + 8);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m256 wr = _mm256_broadcast_ss(w + r * ldw + k);
            acc[r][0] = _mm256_fmadd_ps(wr, x0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(wr, x1, acc[r][1]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        _mm256_storeu_ps(c + r * GEMM_NT, acc[r][0]);
        _mm256_storeu_ps(c + r * GEMM_NT + 8, acc[r][1]);
    }
}

/* 16 ymm registers hold at most 6 rows (12 accumulators): 7 or 8 rows go as 4 + the rest,
 * two groups one after the other. */
void gemm_tile_f32_avx2(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw,
                        float *c, size_t ldc, int nr, int ng, int accumulate) {
    for (int g = 0; g < ng; g++)
        for (int r = 0; r < nr;) {
            const int n = nr - r <= 6 ? nr - r : 4;
            GEMM_TILE_BY_NR(tile, kc, xt + g * ldx, 0, w + r * ldw, ldw, c + g * ldc + r * GEMM_NT,
                            0, n, accumulate);
            r += n;
        }
}

/* ---- panel dequantizers: exactly the reference's values (d * q, one rounding), faster ---- */

void dequantize_f16_avx2(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    for (; i < n; i++) dst[i] = half_f16c(h[i]);
}

/* bf16 is the upper half of an f32: widen to 32 bits, shift into place. */
void dequantize_bf16_avx2(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(h + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(x, 16)));
    }
    for (; i < n; i++) {
        uint32_t bits = (uint32_t)h[i] << 16;
        memcpy(dst + i, &bits, sizeof bits);
    }
}

void dequantize_q8_0_avx2(const void *src, float *dst, int64_t n) {
    const block_q8_0 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256 d = _mm256_set1_ps(half_f16c(b[i].d));
        for (int j = 0; j < QK32; j += 8) {
            __m128i q = _mm_loadl_epi64((const __m128i *)(b[i].qs + j));
            __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
            _mm256_storeu_ps(dst + i * QK32 + j, _mm256_mul_ps(d, x));
        }
    }
}

void dequantize_q4_0_avx2(const void *src, float *dst, int64_t n) {
    const block_q4_0 *b = src;
    const __m128i low = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256 d = _mm256_set1_ps(half_f16c(b[i].d));
        __m128i qs = _mm_loadu_si128((const __m128i *)b[i].qs);
        /* elements 0..15 are the low nibbles, 16..31 the high ones */
        __m128i q[2] = {_mm_sub_epi8(_mm_and_si128(qs, low), eight),
                        _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(qs, 4), low), eight)};
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 16; j += 8) {
                __m128i q8 = j ? _mm_srli_si128(q[h], 8) : q[h];
                __m256 x = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
                _mm256_storeu_ps(dst + i * QK32 + h * 16 + j, _mm256_mul_ps(d, x));
            }
    }
}
