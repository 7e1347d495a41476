/* q8_k.c - Q8_K (ggml type 15): the activation format of the K-quant dot products, 256 per
 * block, 292 bytes: float d, int8 qs[256], int16 bsums[16] (sums of each 16 codes, which
 * the K-quant dot products use for their min terms). x = d * q. Not a weight format: its
 * quantizer is plain amax / 127 rounding (what activations get). */
#include <math.h>

#include "formats.h"

void dequantize_q8_k(const void *src, float *dst, int64_t n) {
    const block_q8_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++) dst[i * QK_K + j] = b[i].d * b[i].qs[j];
}

void quantize_q8_k(const float *src, void *dst, int64_t n, const float *importance) {
    (void)importance;
    block_q8_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        float amax = 0;
        for (int j = 0; j < QK_K; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, inv_d = d > 0 ? 1 / d : 0;
        b[i].d = d;
        for (int k = 0; k < QK_K / 16; k++) {
            int sum = 0;
            for (int j = 16 * k; j < 16 * k + 16; j++) {
                b[i].qs[j] = (int8_t)lrintf(x[j] * inv_d);
                sum += b[i].qs[j];
            }
            b[i].bsums[k] = (int16_t)sum;
        }
    }
}
