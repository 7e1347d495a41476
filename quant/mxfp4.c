/* mxfp4.c - MXFP4 (ggml type 39, OCP microscaling FP4): blocks of 32, one E8M0 exponent
 * byte e + 16 bytes of 4-bit E2M1 codes, x = 2^(e - 128) * kvalues_mxfp4[code] (the table
 * holds the E2M1 values doubled, the scale is halved to match; blocks.h). 4.25 bits/weight.
 * Codes are packed as Q4_0's nibbles: byte j holds element j low and element j+16 high. */
#include <math.h>

#include "formats.h"

void dequantize_mxfp4(const void *src, float *dst, int64_t n) {
    const block_mxfp4 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = e8m0_half(b[i].e), *y = dst + i * QK32;
        for (int j = 0; j < QK32 / 2; j++) {
            y[j] = kvalues_mxfp4[b[i].qs[j] & 0xF] * d;
            y[j + 16] = kvalues_mxfp4[b[i].qs[j] >> 4] * d;
        }
    }
}

/* Code of the grid value nearest to v (in units of the scale): magnitude index 0..7 of
 * 0 1 2 3 4 6 8 12, plus 8 for negative values. */
static int nearest_code(float v) {
    float a = fabsf(v);
    int best = 0;
    for (int k = 1; k < 8; k++)
        if (fabsf(a - kvalues_mxfp4[k]) < fabsf(a - kvalues_mxfp4[best])) best = k;
    return best && v < 0 ? best | 8 : best;
}

/* Codes for exponent e, and the weighted squared error they give. */
static double block_error(const float *x, const float *w, int e, int *code) {
    float d = e8m0_half((uint8_t)e); /* 1 / d overflows for e < 2: divide */
    double err = 0;
    for (int j = 0; j < QK32; j++) {
        code[j] = nearest_code(x[j] / d);
        double diff = (double)x[j] - (double)kvalues_mxfp4[code[j]] * d;
        err += w[j] * diff * diff;
    }
    return err;
}

/* The scale is a power of two, so least squares is a search over the exponent. ggml's rule
 * takes e0 = floor(log2 amax) - 2 + 127, which maps amax into [8, 16) grid units: values
 * above 12 clip (amax up to 1.33x the largest grid value) and the small ones lose a step.
 * Trying e0 - 2 .. e0 + 1 (each with its nearest codes) and keeping the smallest weighted
 * error is never worse than e0 alone, ggml's choice. */
static int search_exponent(const float *x, const float *w, int *code) {
    float amax = 0;
    for (int j = 0; j < QK32; j++) amax = fmaxf(amax, fabsf(x[j]));
    if (amax == 0) {
        for (int j = 0; j < QK32; j++) code[j] = 0;
        return 0;
    }
    int e0 = (int)floorf(log2f(amax)) - 2 + 127, best_e = -1;
    double best = INFINITY;
    int tmp[QK32];
    for (int e = e0 - 2; e <= e0 + 1; e++) {
        if (e < 0 || e > 252) continue; /* from 253 on, 12 * 2^(e - 128) overflows float */
        double err = block_error(x, w, e, tmp);
        if (err < best) {
            best = err, best_e = e;
            for (int j = 0; j < QK32; j++) code[j] = tmp[j];
        }
    }
    if (best_e < 0) best_e = 0, block_error(x, w, 0, code); /* amax below 2^-125 */
    return best_e;
}

void quantize_mxfp4(const float *src, void *dst, int64_t n, const float *importance) {
    block_mxfp4 *b = dst;
    float ones[QK32];
    int code[QK32];
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32, *w = q_weights(importance, i * QK32, QK32, ones);
        b[i].e = (uint8_t)search_exponent(x, w, code);
        for (int j = 0; j < QK32 / 2; j++) b[i].qs[j] = (uint8_t)(code[j] | code[j + 16] << 4);
    }
}
