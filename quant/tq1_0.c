/* tq1_0.c - TQ1_0 (ggml type 34): ternary weights, super-blocks of 256, 5 trits per byte
 * (3^5 = 243 <= 256) + 4 in qh + an fp16 d, x = d * (trit - 1) (1.6875 bits/weight).
 * The packing (blocks.h) stores a byte's trits as a fixed-point fraction v / 243, so that
 * multiplying by 3^n brings trit n to the top and one more times 3 reads it off.
 * Same codes and scale search as TQ2_0 (qsearch_ternary). */
#include "formats.h"
#include "fp16.h"

void dequantize_tq1_0(const void *src, float *dst, int64_t n) {
    const block_tq1_0 *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK_K;
        for (int k = 0; k < QK_K; k++) {
            int trit, pos = tq1_pos(k, &trit);
            y[k] = (float)(tq1_trit(tq1_byte(&b[i], pos), trit) - 1) * d;
        }
    }
}

/* v / 243 as a byte fraction, rounded up so that the trits read back exactly */
static uint8_t pack_trits(int v) {
    return (uint8_t)((v * 256 + 242) / 243);
}

void quantize_tq1_0(const float *src, void *dst, int64_t n, const float *importance) {
    block_tq1_0 *b = dst;
    float ones[QK_K];
    int t[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        b[i].d = qsearch_ternary(QK_K, x, w, t);
        /* base-3 value of each byte's trits (a qh byte's fifth trit is 0) */
        int value[52] = {0};
        for (int k = 0; k < QK_K; k++) {
            static const int weight[5] = {81, 27, 9, 3, 1};
            int trit, pos = tq1_pos(k, &trit);
            value[pos] += (t[k] + 1) * weight[trit];
        }
        for (int j = 0; j < 48; j++) b[i].qs[j] = pack_trits(value[j]);
        for (int j = 0; j < 4; j++) b[i].qh[j] = pack_trits(value[48 + j]);
    }
}
