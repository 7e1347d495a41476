/* fp8_walk.h - the walk of the FP8 tiles shared by the AVX2 and AVX-512 kernels
 * (avx2_fp8.c explains it): activations converted to floats a chunk at a time, rows 4 at a
 * time and activations 2 at a time. The including file defines tile_fp8 (declared below:
 * NR rows x NA activations over the blocks of one chunk), the one part where the ISAs
 * differ, and calls tile_fp8_all. */
#ifndef SCARCE_FP8_WALK_H
#define SCARCE_FP8_WALK_H

#include <immintrin.h>
#include <stdalign.h>

#include "../../quant/blocks.h"
#include "avx2_util.h"

#define MAX_NR 4
#define MAX_NA 2
/* Floats of converted activations per call: 32 KiB, all of a decode row up to 8192 columns
 * (longer rows go in chunks; each chunk adds into s). */
#define CHUNK_FLOATS 8192

/* Converted activations: codes as floats (block i at q + 32 i) and d_a * unit per block. */
typedef struct {
    alignas(64) float q[CHUNK_FLOATS];
    float d[CHUNK_FLOATS / QK32];
} act_floats;

/* Blocks [b0, b0 + nb) of na activation rows into buf; act j at buf q + j * nb * 32. */
static void convert_activations(const char *a, size_t a_stride, int na, int64_t b0, int64_t nb,
                                float unit, act_floats *buf) {
    for (int j = 0; j < na; j++) {
        const block_q8_0 *y = (const block_q8_0 *)(a + j * a_stride) + b0;
        float *q = buf->q + j * nb * QK32, *d = buf->d + j * nb;
        for (int64_t i = 0; i < nb; i++) {
            for (int k = 0; k < 4; k++) {
                __m128i c = _mm_loadl_epi64((const __m128i *)(y[i].qs + 8 * k));
                _mm256_store_ps(q + 32 * i + 8 * k, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(c)));
            }
            d[i] = half_f16c(y[i].d) * unit;
        }
    }
}

/* NR rows x NA activations over nb blocks (w: the rows' first block of the chunk, act: the
 * converted chunk, act j at j * nb blocks). s[j * s_stride + r] is set (add = 0) or added
 * to. NR, NA and e4m3 are constants at each call site. Defined by the including file. */
static inline __attribute__((always_inline)) void
tile_fp8(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride,
         const act_floats *act, int add, const int NR, const int NA, const int e4m3);

/* Rows in groups of 4 (then singles) against the converted chunk of NA activations. */
static inline __attribute__((always_inline)) void rows_fp8(int64_t nb, float *s, size_t s_stride,
                                                           const char *w, size_t w_stride,
                                                           int nrows, const act_floats *act,
                                                           int add, const int NA, const int e4m3) {
    int r = 0;
    for (; r + MAX_NR <= nrows; r += MAX_NR)
        tile_fp8(nb, s + r, s_stride, w + r * w_stride, w_stride, act, add, MAX_NR, NA, e4m3);
    for (; r < nrows; r++)
        tile_fp8(nb, s + r, s_stride, w + r * w_stride, w_stride, act, add, 1, NA, e4m3);
}

/* Activations in pairs (then a single); per pair, the columns in chunks that fit the buffer. */
static inline __attribute__((always_inline)) void
tile_fp8_all(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride, int nrows,
             const void *a, size_t a_stride, int nact, const int e4m3) {
    act_floats buf;
    const int64_t nb_all = n / QK32;
    const char *wb = w, *ab = a;
    for (int j = 0; j < nact;) {
        const int na = nact - j >= MAX_NA ? MAX_NA : 1;
        const int64_t chunk = CHUNK_FLOATS / QK32 / na;
        for (int64_t b0 = 0; b0 < nb_all; b0 += chunk) {
            int64_t nb = nb_all - b0 < chunk ? nb_all - b0 : chunk;
            convert_activations(ab + j * a_stride, a_stride, na, b0, nb, e4m3 ? 256.0f : 1.0f,
                                &buf);
            const char *wc = wb + b0 * sizeof(block_fp8);
            if (na == MAX_NA)
                rows_fp8(nb, s + j * s_stride, s_stride, wc, w_stride, nrows, &buf, b0 > 0, MAX_NA,
                         e4m3);
            else
                rows_fp8(nb, s + j * s_stride, s_stride, wc, w_stride, nrows, &buf, b0 > 0, 1,
                         e4m3);
        }
        j += na;
    }
}

#endif
