/* q8_0.c - Q8_0 (ggml type 8): blocks of 32, fp16 d + 32 int8, x = d * q (8.5 bits/weight).
 * Codes use [-127, 127] (as ggml does) so SIMD kernels may take |q| as a uint8. */
#include "formats.h"
#include "fp16.h"

void dequantize_q8_0(const void *src, float *dst, int64_t n) {
    const block_q8_0 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < QK32; j++) dst[i * QK32 + j] = d * b[i].qs[j];
    }
}

void quantize_q8_0(const float *src, void *dst, int64_t n, const float *importance) {
    block_q8_0 *b = dst;
    float ones[QK32];
    int q[QK32];
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32, *w = q_weights(importance, i * QK32, QK32, ones);
        b[i].d = f32_to_fp16(qsearch_sym(QK32, x, w, -127, 127, q));
        for (int j = 0; j < QK32; j++) b[i].qs[j] = (int8_t)q[j];
    }
}
