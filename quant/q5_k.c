/* q5_k.c - Q5_K (ggml type 13): super-blocks of 256, 176 bytes (5.5 bits/weight): fp16 d,
 * fp16 dmin, scales[12] (as Q4_K), qh[32], qs[128]. Low 4 bits as Q4_K; the fifth bit of
 * element 64p + l is bit 2p of qh[l], of element 64p + 32 + l bit 2p + 1. */
#include "formats.h"
#include "fp16.h"

void k4_pack_scales(const int *sc, const int *mn, uint8_t *out); /* q4_k.c */

void dequantize_q5_k(const void *src, float *dst, int64_t n) {
    const block_q5_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin), *y = dst + i * QK_K;
        for (int e = 0; e < QK_K; e++) {
            int p = e / 64, l = e % 32, hi = (e % 64) >= 32;
            int q = hi ? b[i].qs[32 * p + l] >> 4 : b[i].qs[32 * p + l] & 0xF;
            q |= ((b[i].qh[l] >> (2 * p + hi)) & 1) << 4;
            uint8_t sc, m;
            k4_scale_min(e / 32, b[i].scales, &sc, &m);
            y[e] = d * sc * q - dmin * m;
        }
    }
}

void quantize_q5_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q5_K *b = dst;
    float ones[QK_K];
    int q[QK_K], sc[8], mn[8];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        kquant_affine(x, w, 8, 31, 63, q, sc, mn, &b[i].d, &b[i].dmin);
        k4_pack_scales(sc, mn, b[i].scales);
        for (int l = 0; l < 32; l++) b[i].qh[l] = 0;
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++) {
                int lo = q[64 * p + l], hi = q[64 * p + 32 + l];
                b[i].qs[32 * p + l] = (uint8_t)((lo & 0xF) | (hi & 0xF) << 4);
                b[i].qh[l] |= (uint8_t)((lo >> 4) << 2 * p | (hi >> 4) << (2 * p + 1));
            }
    }
}
