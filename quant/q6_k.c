/* q6_k.c - Q6_K (ggml type 14): super-blocks of 256 in 16 sub-blocks of 16, 210 bytes
 * (6.5625 bits/weight): ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], fp16 d.
 * x = d * scales[e / 16] * (q - 32); bit positions in blocks.h. */
#include "formats.h"
#include "fp16.h"

/* Element 128h + 32p + l (h < 2, part p < 4, l < 32) keeps its low nibble in
 * ql[64h + 32 (p & 1) + l] at bit 4 (p >> 1) and its 2 high bits in qh[32h + l] at bit 2p.
 * Both loops below walk (h, p, l), l innermost: one byte of ql or qh written once from the
 * codes that share it, where a loop over e read, or-ed and wrote each byte once per code (a
 * dependent chain through memory: 6% of the q6_k search's time, Xeon SPR perf), and the
 * dequantizer (the RMSE of every Q6_K tensor) vectorises over l. The same values. */
void dequantize_q6_k(const void *src, float *dst, int64_t n) {
    const block_q6_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = fp16_to_f32(b[i].d);
        float *y = dst + i * QK_K;
        for (int h = 0; h < 2; h++)
            for (int p = 0; p < 4; p++) {
                const uint8_t *ql = b[i].ql + 64 * h + 32 * (p & 1), *qh = b[i].qh + 32 * h;
                const int e0 = 128 * h + 32 * p;
                for (int l = 0; l < 32; l++) {
                    const int q = ((ql[l] >> 4 * (p >> 1)) & 0xF) | ((qh[l] >> 2 * p) & 3) << 4;
                    y[e0 + l] = d * b[i].scales[(e0 + l) / 16] * (q - 32);
                }
            }
    }
}

void quantize_q6_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q6_K *b = dst;
    float ones[QK_K];
    int q[QK_K], sc[16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        kquant_sym(x, w, 16, -32, 31, -128, 127, q, sc, &b[i].d);
        for (int j = 0; j < 16; j++) b[i].scales[j] = (int8_t)sc[j];
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const int *qe = q + 128 * h + l; /* parts p at qe[32 p] */
                const int u0 = qe[0] + 32, u1 = qe[32] + 32, u2 = qe[64] + 32, u3 = qe[96] + 32;
                b[i].ql[64 * h + l] = (uint8_t)((u0 & 0xF) | (u2 & 0xF) << 4);
                b[i].ql[64 * h + 32 + l] = (uint8_t)((u1 & 0xF) | (u3 & 0xF) << 4);
                b[i].qh[32 * h + l] = (uint8_t)(u0 >> 4 | (u1 >> 4) << 2 | (u2 >> 4) << 4 | (u3 >> 4) << 6);
            }
    }
}
