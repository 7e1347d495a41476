/* q3_k.c - Q3_K (ggml type 11): super-blocks of 256 in 16 sub-blocks of 16, 110 bytes
 * (3.4375 bits/weight): hmask[32], qs[64], scales[12], fp16 d. x = d * (sc - 32) * (q - 4)
 * with q = low 2 bits | high bit << 2: element 128h + 32j + l has low bits
 * (qs[32h + l] >> 2j) & 3 and high bit = bit 4h + j of hmask[l]. The 16 6-bit scale codes
 * sc: low 4 bits in byte j (j < 8, low nibble) or j - 8 (high nibble), high 2 bits in
 * byte 8 + j % 4 at bit 2 * (j / 4) (k3_scale() in blocks.h). */
#include "formats.h"
#include "fp16.h"

void dequantize_q3_k(const void *src, float *dst, int64_t n) {
    const block_q3_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK_K;
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            int q = ((b[i].qs[32 * h + l] >> 2 * j) & 3) | ((b[i].hmask[l] >> (4 * h + j)) & 1) << 2;
            y[e] = d * (k3_scale(e / 16, b[i].scales) - 32) * (q - 4);
        }
    }
}

void quantize_q3_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q3_K *b = dst;
    float ones[QK_K];
    int q[QK_K], sc[16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        kquant_sym(x, w, 16, -4, 3, -32, 31, q, sc, &b[i].d);
        for (int k = 0; k < 12; k++) b[i].scales[k] = 0;
        for (int j = 0; j < 16; j++) {
            int c = sc[j] + 32;
            b[i].scales[j % 8] |= (uint8_t)((c & 0xF) << (j < 8 ? 0 : 4));
            b[i].scales[8 + j % 4] |= (uint8_t)((c >> 4) << 2 * (j / 4));
        }
        for (int k = 0; k < QK_K / 4; k++) b[i].qs[k] = 0;
        for (int k = 0; k < QK_K / 8; k++) b[i].hmask[k] = 0;
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, j = (e % 128) / 32, l = e % 32, u = q[e] + 4;
            b[i].qs[32 * h + l] |= (uint8_t)((u & 3) << 2 * j);
            b[i].hmask[l] |= (uint8_t)((u >> 2) << (4 * h + j));
        }
    }
}
