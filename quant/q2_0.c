/* q2_0.c - Q2_0 (ggml type 42, llama.cpp's): blocks of 64, fp16 d + 16 bytes of 2-bit
 * codes, x = d * (q - 1), q in 0..3, so a block holds -d, 0, d, 2d (2.25 bits/weight).
 * Element j is (qs[j / 4] >> 2 (j % 4)) & 3. d may be negative, which flips the skew.
 * ggml sets d = amax and rounds; we search d by least squares (search.c). */
#include "formats.h"
#include "fp16.h"

enum { QK64 = 64 };

void dequantize_q2_0(const void *src, float *dst, int64_t n) {
    const block_q2_0 *b = src;
    for (int64_t i = 0; i < n / QK64; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK64;
        for (int j = 0; j < QK64; j++)
            y[j] = (float)(((b[i].qs[j / 4] >> 2 * (j % 4)) & 3) - 1) * d;
    }
}

void quantize_q2_0(const float *src, void *dst, int64_t n, const float *importance) {
    block_q2_0 *b = dst;
    float ones[QK64];
    int t[QK64];
    for (int64_t i = 0; i < n / QK64; i++) {
        const float *x = src + i * QK64, *w = q_weights(importance, i * QK64, QK64, ones);
        b[i].d = f32_to_fp16(qsearch_sym(QK64, x, w, -1, 2, t));
        q_err_sym(QK64, x, w, fp16_to_f32(b[i].d), -1, 2, t);
        for (int j = 0; j < QK64 / 4; j++) b[i].qs[j] = 0;
        for (int j = 0; j < QK64; j++) b[i].qs[j / 4] |= (uint8_t)((t[j] + 1) << 2 * (j % 4));
    }
}
