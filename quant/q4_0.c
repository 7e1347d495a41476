/* q4_0.c - Q4_0 (ggml type 2): blocks of 32, fp16 d + 16 bytes of nibbles, x = d * (q - 8)
 * (4.5 bits/weight). Byte j holds element j in its low nibble and element j+16 in its high. */
#include "formats.h"
#include "fp16.h"

void dequantize_q4_0(const void *src, float *dst, int64_t n) {
    const block_q4_0 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK32;
        for (int j = 0; j < QK32 / 2; j++) {
            y[j] = d * ((b[i].qs[j] & 0xF) - 8);
            y[j + 16] = d * ((b[i].qs[j] >> 4) - 8);
        }
    }
}

void quantize_q4_0(const float *src, void *dst, int64_t n, const float *importance) {
    block_q4_0 *b = dst;
    float buf[QK32];
    int q[QK32];
    const float sigma2 = q_mean_square(src, n);
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32,
                    *w = q_weights_x(importance, i * QK32, x, QK32, sigma2, buf);
        b[i].d = f32_to_fp16(qsearch_sym(QK32, x, w, -8, 7, q));
        for (int j = 0; j < QK32 / 2; j++)
            b[i].qs[j] = (uint8_t)((q[j] + 8) | (q[j + 16] + 8) << 4);
    }
}
