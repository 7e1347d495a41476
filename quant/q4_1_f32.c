/* q4_1_f32.c - Q4_1_F32 (scarce's 203): blocks of 32, f32 d, f32 m, 16 bytes of nibbles (as
 * Q4_0), x = d * q + m (6.0 bits/weight). Q4_1 with scales its dot products use as they are;
 * the dot products take f32 activations (kernels/ref/dot_float.c). Quantized by rounding to
 * nearest between the block's minimum and maximum: a row already on a Q4_1 grid (a model
 * dequantized from Q4_1) keeps its codes, and d, m their values to f32 rounding. */
#include <math.h>

#include "formats.h"

void dequantize_q4_1_f32(const void *src, float *dst, int64_t n) {
    const block_q4_1_f32 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float *y = dst + i * QK32;
        for (int j = 0; j < QK32 / 2; j++) {
            y[j] = b[i].d * (b[i].qs[j] & 0xF) + b[i].m;
            y[j + 16] = b[i].d * (b[i].qs[j] >> 4) + b[i].m;
        }
    }
}

void quantize_q4_1_f32(const float *src, void *dst, int64_t n, const float *importance) {
    (void)importance; /* round to nearest: see the header */
    block_q4_1_f32 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32;
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK32; j++) lo = x[j] < lo ? x[j] : lo, hi = x[j] > hi ? x[j] : hi;
        const float d = (hi - lo) / 15, id = d ? 1 / d : 0;
        b[i].d = d, b[i].m = lo;
        int q[QK32];
        for (int j = 0; j < QK32; j++) {
            const float v = nearbyintf((x[j] - lo) * id);
            q[j] = v < 0 ? 0 : v > 15 ? 15 : (int)v;
        }
        for (int j = 0; j < QK32 / 2; j++) b[i].qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
    }
}
