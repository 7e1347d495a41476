/* q2_k.c - Q2_K (ggml type 10): super-blocks of 256 in 16 sub-blocks of 16, 84 bytes
 * (2.625 bits/weight): scales[16] (4-bit scale | 4-bit min << 4), qs[64] (2-bit codes),
 * fp16 d, fp16 dmin. x = d * scale * q - dmin * min. Element 128h + 32j + l (h < 2, j < 4,
 * l < 32) is (qs[32h + l] >> 2j) & 3 in sub-block 8h + 2j + l/16. */
#include "formats.h"
#include "fp16.h"

void dequantize_q2_k(const void *src, float *dst, int64_t n) {
    const block_q2_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin), *y = dst + i * QK_K;
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            int q = (b[i].qs[32 * h + l] >> 2 * j) & 3;
            uint8_t s = b[i].scales[e / 16];
            y[e] = d * (s & 0xF) * q - dmin * (s >> 4);
        }
    }
}

void quantize_q2_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q2_K *b = dst;
    float ones[QK_K];
    int q[QK_K], sc[16], mn[16];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        kquant_affine(x, w, 16, 3, 15, q, sc, mn, &b[i].d, &b[i].dmin);
        for (int j = 0; j < 16; j++) b[i].scales[j] = (uint8_t)(sc[j] | mn[j] << 4);
        /* each byte once from its 4 codes (a loop over e or-ed each byte 4 times) */
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const int *qe = q + 128 * h + l;
                b[i].qs[32 * h + l] = (uint8_t)(qe[0] | qe[32] << 2 | qe[64] << 4 | qe[96] << 6);
            }
    }
}
