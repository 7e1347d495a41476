/* iq4_nl.c - IQ4_NL (ggml type 20): blocks of 32, fp16 d + 16 bytes of 4-bit indices into
 * the fixed non-linear grid kvalues_iq4nl (blocks.h), x = d * kvalues[index] (4.5 bits/weight).
 * Indices are packed as Q4_0's nibbles (byte j: element j low, element j+16 high). */
#include <math.h>

#include "formats.h"
#include "fp16.h"

void dequantize_iq4_nl(const void *src, float *dst, int64_t n) {
    const block_iq4_nl *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK32;
        for (int j = 0; j < QK32 / 2; j++) {
            y[j] = d * kvalues_iq4nl[b[i].qs[j] & 0xF];
            y[j + 16] = d * kvalues_iq4nl[b[i].qs[j] >> 4];
        }
    }
}

static int nearest_index(float v) {
    int best = 0;
    for (int k = 1; k < 16; k++)
        if (fabsf(v - kvalues_iq4nl[k]) < fabsf(v - kvalues_iq4nl[best])) best = k;
    return best;
}

/* Indices for inverse scale inv_d; returns sum w x k and sum w k^2 (k the grid values). */
static void assign(const float *x, const float *w, float inv_d, int *idx, double *skx,
                   double *sk2) {
    *skx = *sk2 = 0;
    for (int j = 0; j < QK32; j++) {
        idx[j] = nearest_index(x[j] * inv_d);
        int k = kvalues_iq4nl[idx[j]];
        *skx += (double)w[j] * x[j] * k;
        *sk2 += (double)w[j] * k * k;
    }
}

/* Same search as search.c, on the non-linear grid: start from the extreme value mapped to
 * either end of the grid (+-15 grid units), solve d by least squares, re-assign, keep best.
 * Also IQ4_XS's per-sub-block search (iq4_xs.c). */
float iq4nl_search_block(const float *x, const float *w, int *idx) {
    float amax = 0, xmax = 0;
    for (int j = 0; j < QK32; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), xmax = x[j];
    for (int j = 0; j < QK32; j++) idx[j] = nearest_index(0.0f);
    if (amax < 1e-30f) return 0.0f;
    int tmp[QK32];
    double best = -1;
    float best_d = 0;
    const float ends[2] = {-127.0f, 113.0f};
    for (int e = 0; e < 2; e++)
        for (int s = -15; s <= 15; s++) {
            double skx, sk2;
            assign(x, w, (ends[e] + s) / xmax, tmp, &skx, &sk2);
            for (int r = 0; r < 3 && sk2 > 0; r++) {
                if (skx * skx / sk2 > best) {
                    best = skx * skx / sk2, best_d = (float)(skx / sk2);
                    for (int j = 0; j < QK32; j++) idx[j] = tmp[j];
                }
                if (skx == 0) break;
                assign(x, w, (float)(sk2 / skx), tmp, &skx, &sk2);
            }
        }
    return best_d;
}

void quantize_iq4_nl(const float *src, void *dst, int64_t n, const float *importance) {
    block_iq4_nl *b = dst;
    float ones[QK32];
    int idx[QK32];
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32, *w = q_weights(importance, i * QK32, QK32, ones);
        b[i].d = f32_to_fp16(iq4nl_search_block(x, w, idx));
        for (int j = 0; j < QK32 / 2; j++) b[i].qs[j] = (uint8_t)(idx[j] | idx[j + 16] << 4);
    }
}
