/* q6_k.c - Q6_K (ggml type 14): super-blocks of 256 in 16 sub-blocks of 16, 210 bytes
 * (6.5625 bits/weight): ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], fp16 d.
 * x = d * scales[e / 16] * (q - 32); bit positions in blocks.h. */
#include "formats.h"
#include "fp16.h"

/* Where element e (0..255) of a Q6_K block keeps its low nibble and its 2 high bits. */
static void q6_position(int e, int *ql_index, int *ql_shift, int *qh_index, int *qh_shift) {
    int h = e / 128, part = (e % 128) / 32, l = e % 32;
    *ql_index = 64 * h + 32 * (part & 1) + l;
    *ql_shift = 4 * (part >> 1);
    *qh_index = 32 * h + l;
    *qh_shift = 2 * part;
}

void dequantize_q6_k(const void *src, float *dst, int64_t n) {
    const block_q6_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK_K;
        for (int e = 0; e < QK_K; e++) {
            int qi, qs, hi, hs;
            q6_position(e, &qi, &qs, &hi, &hs);
            int q = ((b[i].ql[qi] >> qs) & 0xF) | ((b[i].qh[hi] >> hs) & 3) << 4;
            y[e] = d * b[i].scales[e / 16] * (q - 32);
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
        for (int k = 0; k < QK_K / 2; k++) b[i].ql[k] = 0;
        for (int k = 0; k < QK_K / 4; k++) b[i].qh[k] = 0;
        for (int e = 0; e < QK_K; e++) {
            int qi, qs, hi, hs, u = q[e] + 32;
            q6_position(e, &qi, &qs, &hi, &hs);
            b[i].ql[qi] |= (uint8_t)((u & 0xF) << qs);
            b[i].qh[hi] |= (uint8_t)((u >> 4) << hs);
        }
    }
}
