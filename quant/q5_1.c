/* q5_1.c - Q5_1 (ggml type 7): blocks of 32, fp16 d, fp16 m, 4 bytes qh, 16 bytes qs,
 * x = d * q + m (6.0 bits/weight); 5-bit codes packed as Q5_0's. */
#include "formats.h"
#include "fp16.h"

void dequantize_q5_1(const void *src, float *dst, int64_t n) {
    const block_q5_1 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m), *y = dst + i * QK32;
        uint32_t qh = b[i].qh[0] | b[i].qh[1] << 8 | b[i].qh[2] << 16 | (uint32_t)b[i].qh[3] << 24;
        for (int j = 0; j < QK32 / 2; j++) {
            int lo = (b[i].qs[j] & 0xF) | ((qh >> j) & 1) << 4;
            int hi = (b[i].qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
            y[j] = d * lo + m;
            y[j + 16] = d * hi + m;
        }
    }
}

void quantize_q5_1(const float *src, void *dst, int64_t n, const float *importance) {
    block_q5_1 *b = dst;
    float buf[QK32], m;
    int q[QK32];
    const float sigma2 = q_mean_square(src, n);
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32;
        const float *w = q_weights_x(importance, i * QK32, x, QK32, sigma2, buf);
        b[i].d = f32_to_fp16(qsearch_affine(QK32, x, w, 31, 0, &m, q));
        b[i].m = f32_to_fp16(m);
        q_err_affine(QK32, x, w, fp16_to_f32(b[i].d), fp16_to_f32(b[i].m), 31, q);
        uint32_t qh = 0;
        for (int j = 0; j < QK32; j++) {
            qh |= (uint32_t)(q[j] >> 4) << j;
            if (j < 16) b[i].qs[j] = (uint8_t)(q[j] & 0xF);
            else b[i].qs[j - 16] |= (uint8_t)((q[j] & 0xF) << 4);
        }
        for (int k = 0; k < 4; k++) b[i].qh[k] = (uint8_t)(qh >> 8 * k);
    }
}
