/* q1_0.c - Q1_0 (ggml type 41): blocks of 128, fp16 d + 16 bytes of sign bits, x = bit ? d
 * : -d (1.125 bits/weight); element j is bit j % 8 of qs[j / 8].
 * ggml stores the signs (bit set for x >= 0) and d = mean |x|; for those codes the weighted
 * least-squares d is sum w |x| / sum w, which is ggml's d when the weights are equal. */
#include <math.h>

#include "formats.h"
#include "fp16.h"

enum { QK128 = 128 };

void dequantize_q1_0(const void *src, float *dst, int64_t n) {
    const block_q1_0 *b = src;
    for (int64_t i = 0; i < n / QK128; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK128;
        for (int j = 0; j < QK128; j++) y[j] = (b[i].qs[j / 8] >> (j % 8)) & 1 ? d : -d;
    }
}

void quantize_q1_0(const float *src, void *dst, int64_t n, const float *importance) {
    block_q1_0 *b = dst;
    float ones[QK128];
    for (int64_t i = 0; i < n / QK128; i++) {
        const float *x = src + i * QK128, *w = q_weights(importance, i * QK128, QK128, ones);
        double sum_wx = 0, sum_w = 0;
        for (int j = 0; j < QK128 / 8; j++) b[i].qs[j] = 0;
        for (int j = 0; j < QK128; j++) {
            sum_wx += (double)w[j] * fabsf(x[j]), sum_w += w[j];
            if (x[j] >= 0) b[i].qs[j / 8] |= (uint8_t)(1 << (j % 8));
        }
        b[i].d = f32_to_fp16(sum_w > 0 ? (float)(sum_wx / sum_w) : 0.0f);
    }
}
