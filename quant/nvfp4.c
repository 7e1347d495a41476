/* nvfp4.c - NVFP4 (ggml type 40): blocks of 64 in 4 sub-blocks of 16, each sub-block one
 * UE4M3 scale byte, 4-bit E2M1 codes x = ue4m3_half(d[s]) * kvalues_mxfp4[code] (the E2M1
 * values doubled, the scale halved, as MXFP4; blocks.h). 4.5 bits/weight.
 *
 * Per-tensor scale: a checkpoint converted from NVIDIA's NVFP4 carries, for a weight
 * "X.weight", an f32 tensor "X.scale" of one element that multiplies the matmul's output
 * (llama.cpp 0c1e570 loads it as the weight's optional *_s tensor, {n_expert} values for
 * an expert stack, and multiplies the matmul result by it). scarce does the same:
 * engine/model.c binds it as qmatrix.scale, kernels/matmul.c applies it. llama-quantize and
 * `scarce quantize` write none (scale 1): the block scales carry the whole range.
 *
 * Quantizer: ggml's rule picks the scale code of amax / 6 (the largest E2M1 value at the
 * sub-block's largest magnitude) and the nearest codes; we try that code and its 6
 * neighbours each side, with the nearest codes for each, and keep the smallest weighted
 * error: never worse than ggml's rule. */
#include <math.h>

#include "formats.h"

enum { QK64 = 64, SUB = 16 };

void dequantize_nvfp4(const void *src, float *dst, int64_t n) {
    const block_nvfp4 *b = src;
    for (int64_t i = 0; i < n / QK64; i++)
        for (int s = 0; s < 4; s++) {
            float d = ue4m3_half(b[i].d[s]), *y = dst + i * QK64 + SUB * s;
            for (int j = 0; j < 8; j++) {
                y[j] = kvalues_mxfp4[b[i].qs[8 * s + j] & 0xF] * d;
                y[j + 8] = kvalues_mxfp4[b[i].qs[8 * s + j] >> 4] * d;
            }
        }
}

/* ggml's float -> UE4M3 code (round half up on the mantissa, saturating at 448, 0 for
 * x <= 0 or NaN), the starting point of the search. */
static int ue4m3_code(float x) {
    if (!(x > 0)) return 0;
    if (x > 448) x = 448;
    int e2;
    float m = frexpf(x, &e2); /* x = m 2^e2, m in [0.5, 1) */
    int e = e2 - 1 + 7;
    if (e <= 0) {
        int man = (int)(x * 512.0f + 0.5f);
        return man > 7 ? 7 : man;
    }
    int man = (int)((m * 2 - 1) * 16); /* 4 bits: 3 of mantissa + the rounding bit */
    man = (man >> 1) + (man & 1);
    if (man > 7) man = 0, e++;
    return e >= 15 ? 0x7E : e << 3 | man;
}

static int nearest_code(float v, float d) {
    int best = 0;
    for (int k = 1; k < 16; k++)
        if (fabsf(kvalues_mxfp4[k] * d - v) < fabsf(kvalues_mxfp4[best] * d - v)) best = k;
    return best;
}

/* Codes of a sub-block for scale code c; returns their weighted squared error. */
static double sub_error(const float *x, const float *w, int c, int *code) {
    float d = ue4m3_half((uint8_t)c);
    double err = 0;
    for (int j = 0; j < SUB; j++) {
        code[j] = nearest_code(x[j], d);
        double diff = (double)x[j] - kvalues_mxfp4[code[j]] * d;
        err += w[j] * diff * diff;
    }
    return err;
}

void quantize_nvfp4(const float *src, void *dst, int64_t n, const float *importance) {
    block_nvfp4 *b = dst;
    float ones[QK64];
    int code[SUB], best_code[SUB];
    for (int64_t i = 0; i < n / QK64; i++) {
        const float *w64 = q_weights(importance, i * QK64, QK64, ones);
        for (int s = 0; s < 4; s++) {
            const float *x = src + i * QK64 + SUB * s, *w = w64 + SUB * s;
            float amax = 0;
            for (int j = 0; j < SUB; j++) amax = fmaxf(amax, fabsf(x[j]));
            int c0 = ue4m3_code(amax / 6), best_c = c0;
            double best = sub_error(x, w, c0, best_code);
            for (int c = c0 - 6; c <= c0 + 6; c++) {
                if (c < 1 || c > 0x7E || c == c0) continue;
                double err = sub_error(x, w, c, code);
                if (err < best) {
                    best = err, best_c = c;
                    for (int j = 0; j < SUB; j++) best_code[j] = code[j];
                }
            }
            b[i].d[s] = (uint8_t)best_c;
            for (int j = 0; j < 8; j++)
                b[i].qs[8 * s + j] = (uint8_t)(best_code[j] | best_code[j + 8] << 4);
        }
    }
}
