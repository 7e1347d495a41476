/* tq2_0.c - TQ2_0 (ggml type 35): ternary weights (BitNet b1.58), super-blocks of 256,
 * 2-bit codes q = t + 1 + an fp16 d, x = d * (q - 1) (2.0625 bits/weight). Byte 32h + m
 * holds elements 128h + m, +32, +64, +96 in bit pairs 0, 2, 4, 6 (blocks.h).
 * ggml sets d = amax and rounds; we take the exact least-squares d (qsearch_ternary). */
#include "formats.h"
#include "fp16.h"

/* Element k of a super-block: byte and shift of its code. */
static inline int code_byte(int k) {
    return k / 128 * 32 + k % 32;
}
static inline int code_shift(int k) {
    return 2 * (k % 128 / 32);
}

void dequantize_tq2_0(const void *src, float *dst, int64_t n) {
    const block_tq2_0 *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK_K;
        for (int k = 0; k < QK_K; k++)
            y[k] = (float)(((b[i].qs[code_byte(k)] >> code_shift(k)) & 3) - 1) * d;
    }
}

void quantize_tq2_0(const float *src, void *dst, int64_t n, const float *importance) {
    block_tq2_0 *b = dst;
    float ones[QK_K];
    int t[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        b[i].d = qsearch_ternary(QK_K, x, w, t);
        for (int j = 0; j < QK_K / 4; j++) b[i].qs[j] = 0;
        for (int k = 0; k < QK_K; k++)
            b[i].qs[code_byte(k)] |= (uint8_t)((t[k] + 1) << code_shift(k));
    }
}
