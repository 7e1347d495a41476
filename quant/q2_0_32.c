/* q2_0_32.c - Q2_0_32 (scarce type 202): 2-bit weights in blocks of 32, for rows whose
 * length is a multiple of 32 but not of 256 (where Q2_K cannot go, e.g. n_embd = 288).
 * Named q2_0 until llama.cpp gave that name to its own type (id 42, blocks of 64); files
 * written then still load: they say id 202.
 *
 * Layout, 12 bytes per block = 3.0 bits/weight:
 *   uint16 d   fp16 scale
 *   uint16 m   fp16 offset (any sign)
 *   uint8  qs[8]  2-bit codes: element j is (qs[j % 8] >> 2 * (j / 8)) & 3
 * x[j] = d * q[j] + m.
 * Element j's code sits in byte j % 8 so that shifting the 8 bytes right by 0, 2, 4, 6 gives
 * elements 0..7, 8..15, 16..23, 24..31 in order (cheap to unpack with SIMD).
 * Asymmetric because 4 levels are too few to waste one on symmetry: the search (search.c)
 * chooses d and m by weighted least squares over many starting scales. */
#include "formats.h"
#include "fp16.h"

void dequantize_q2_0_32(const void *src, float *dst, int64_t n) {
    const block_q2_0_32 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
        for (int j = 0; j < QK32; j++)
            dst[i * QK32 + j] = d * ((b[i].qs[j % 8] >> 2 * (j / 8)) & 3) + m;
    }
}

void quantize_q2_0_32(const float *src, void *dst, int64_t n, const float *importance) {
    block_q2_0_32 *b = dst;
    float ones[QK32], m;
    int q[QK32];
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32, *w = q_weights(importance, i * QK32, QK32, ones);
        b[i].d = f32_to_fp16(qsearch_affine(QK32, x, w, 3, 0, &m, q));
        b[i].m = f32_to_fp16(m);
        q_err_affine(QK32, x, w, fp16_to_f32(b[i].d), fp16_to_f32(b[i].m), 3, q);
        for (int k = 0; k < 8; k++) b[i].qs[k] = 0;
        for (int j = 0; j < QK32; j++) b[i].qs[j % 8] |= (uint8_t)(q[j] << 2 * (j / 8));
    }
}
