/* avx2_q4_1_f32.c - Q4_1_F32 rows x f32 activations on AVX2 (the speculative draft's format,
 * engine/draft_quant.h; the AVX-512 kernel and why the format exists: avx512_q4_1_f32.c).
 *
 * Per block of 32: the 16 code bytes split into low and high nibbles, each 8 of them widened
 * to dword lanes and converted, d * q + m by one FMA (both scales are f32: no conversion),
 * then one FMA with the activations; 4 such steps a block into two accumulator pairs on
 * alternate blocks. Not the reference's summation order (tolerance in tests/test_kernels.c).
 * Batches go through the reference tile (row after row of this dot). */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"

static inline __m256 weights8(__m128i nibbles8, __m256 d, __m256 m) {
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(nibbles8)), d, m);
}

static inline void block_fma(const block_q4_1_f32 *b, const float *y, __m256 *a0, __m256 *a1) {
    const __m256 d = _mm256_set1_ps(b->d), m = _mm256_set1_ps(b->m);
    const __m128i q = _mm_loadu_si128((const __m128i *)b->qs), mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(q, mask), hi = _mm_and_si128(_mm_srli_epi16(q, 4), mask);
    *a0 = _mm256_fmadd_ps(weights8(lo, d, m), _mm256_loadu_ps(y), *a0);
    *a1 = _mm256_fmadd_ps(weights8(_mm_srli_si128(lo, 8), d, m), _mm256_loadu_ps(y + 8), *a1);
    *a0 = _mm256_fmadd_ps(weights8(hi, d, m), _mm256_loadu_ps(y + 16), *a0);
    *a1 = _mm256_fmadd_ps(weights8(_mm_srli_si128(hi, 8), d, m), _mm256_loadu_ps(y + 24), *a1);
}

void vec_dot_q4_1_f32_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_1_f32 *x = w;
    const float *y = a;
    const int64_t nb = n / QK32;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        block_fma(&x[i], y + i * QK32, &acc[0], &acc[1]);
        block_fma(&x[i + 1], y + (i + 1) * QK32, &acc[2], &acc[3]);
    }
    if (i < nb) block_fma(&x[i], y + i * QK32, &acc[0], &acc[1]);
    const __m256 t = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    *s = _mm_cvtss_f32(h);
}
