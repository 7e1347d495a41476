/* q4_k.c - Q4_K (ggml type 12): super-blocks of 256 in 8 sub-blocks of 32, 144 bytes
 * (4.5 bits/weight): fp16 d, fp16 dmin, scales[12] (eight 6-bit scales and eight 6-bit mins,
 * packed as k4_scale_min() in blocks.h reads them), qs[128]. x = d * sc * q - dmin * m.
 * Element 64p + l (l < 32) is qs[32p + l] & 15, element 64p + 32 + l is qs[32p + l] >> 4. */
#include "formats.h"
#include "fp16.h"

void dequantize_q4_k(const void *src, float *dst, int64_t n) {
    const block_q4_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin), *y = dst + i * QK_K;
        for (int e = 0; e < QK_K; e++) {
            int p = e / 64, l = e % 32, hi = (e % 64) >= 32;
            int q = hi ? b[i].qs[32 * p + l] >> 4 : b[i].qs[32 * p + l] & 0xF;
            uint8_t sc, m;
            k4_scale_min(e / 32, b[i].scales, &sc, &m);
            y[e] = d * sc * q - dmin * m;
        }
    }
}

/* The inverse of k4_scale_min(): 6-bit scales and mins of 8 sub-blocks into 12 bytes. */
void k4_pack_scales(const int *sc, const int *mn, uint8_t *out) {
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        out[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        out[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
    }
}

void quantize_q4_k(const float *src, void *dst, int64_t n, const float *importance) {
    block_q4_K *b = dst;
    float ones[QK_K];
    int q[QK_K], sc[8], mn[8];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        kquant_affine(x, w, 8, 15, 63, q, sc, mn, &b[i].d, &b[i].dmin);
        k4_pack_scales(sc, mn, b[i].scales);
        for (int p = 0; p < 4; p++)
            for (int l = 0; l < 32; l++)
                b[i].qs[32 * p + l] = (uint8_t)(q[64 * p + l] | q[64 * p + 32 + l] << 4);
    }
}
