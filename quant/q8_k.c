/* q8_k.c - Q8_K (ggml type 15): the activation format of the K-quant and IQ dot products, 256
 * per block, 292 bytes: float d, int8 qs[256], int16 bsums[16] (sums of each 16 codes, which
 * the K-quant dot products use for their min terms). x = d * q. Not a weight format.
 *
 * The quantizer does ggml's float operations (quantize_row_q8_K_ref in ggml-quants.c), so
 * the dot products see llama.cpp's activation codes: `max` is the signed value of largest
 * magnitude (the first one on ties), iscale = -127 / max, q = min(127, round-half-even(iscale
 * x)), d = 1 / iscale. So d < 0 when max > 0 and the largest value's code is -127; the
 * product d q is the same sign as x either way. An all-zero block is d = 0, codes 0. */
#include <math.h>
#include <string.h>

#include "formats.h"
#include "types.h"

void dequantize_q8_k(const void *src, float *dst, int64_t n) {
    const block_q8_K *b = src;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++) dst[i * QK_K + j] = b[i].d * b[i].qs[j];
}

/* The value of largest magnitude, signed (first on ties, as ggml's strict > keeps it). */
float q8_k_signed_max(const float *x) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK_K; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
    return max;
}

void quantize_q8_k(const float *src, void *dst, int64_t n, const float *importance) {
    (void)importance;
    block_q8_K *b = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        const float max = q8_k_signed_max(x);
        memset(&b[i], 0, sizeof b[i]);
        if (max == 0) continue;
        const float iscale = -127.0f / max;
        for (int k = 0; k < QK_K / 16; k++) {
            int sum = 0;
            for (int j = 16 * k; j < 16 * k + 16; j++) {
                /* lrintf rounds half to even, as ggml's nearest_int (x + 1.5 * 2^23) does */
                long v = lrintf(iscale * x[j]);
                b[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
                sum += b[i].qs[j];
            }
            b[i].bsums[k] = (int16_t)sum;
        }
        b[i].d = 1 / iscale;
    }
}
