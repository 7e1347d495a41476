/* q4_1.c - Q4_1 (ggml type 3): blocks of 32, fp16 d, fp16 m, 16 bytes of nibbles (as Q4_0),
 * x = d * q + m (5.0 bits/weight). */
#include "formats.h"
#include "fp16.h"

void dequantize_q4_1(const void *src, float *dst, int64_t n) {
    const block_q4_1 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m), *y = dst + i * QK32;
        for (int j = 0; j < QK32 / 2; j++) {
            y[j] = d * (b[i].qs[j] & 0xF) + m;
            y[j + 16] = d * (b[i].qs[j] >> 4) + m;
        }
    }
}

void quantize_q4_1(const float *src, void *dst, int64_t n, const float *importance) {
    block_q4_1 *b = dst;
    float buf[QK32], m;
    int q[QK32];
    const float sigma2 = q_mean_square(src, n);
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32;
        const float *w = q_weights_x(importance, i * QK32, x, QK32, sigma2, buf);
        b[i].d = f32_to_fp16(qsearch_affine(QK32, x, w, 15, 0, &m, q));
        b[i].m = f32_to_fp16(m);
        /* re-round with the fp16 values actually stored */
        q_err_affine(QK32, x, w, fp16_to_f32(b[i].d), fp16_to_f32(b[i].m), 15, q);
        for (int j = 0; j < QK32 / 2; j++) b[i].qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
    }
}
