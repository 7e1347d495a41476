/* iq4_nl.c - IQ4_NL (ggml type 20): blocks of 32, fp16 d + 16 bytes of 4-bit indices into
 * the fixed non-linear grid kvalues_iq4nl (blocks.h), x = d * kvalues[index] (4.5 bits/weight).
 * Indices are packed as Q4_0's nibbles (byte j: element j low, element j+16 high). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"
#include "iq4_lanes.h"

/* WINDOW: grid units either side of each end that the sweep covers (+-15, the former
 * search's start points, measured 1% more error on SmolLM2 rows: its refinements left
 * them); LANES: the double sums in lanes (element i in lane i % LANES, added in lane order:
 * the same bits on every ISA) */
enum { WINDOW = 30, LANES = 8, BINS = 32 };

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

/* The grid's midpoints: the index nearest to v (ties to the lower) is the number of
 * midpoints below v. Every midpoint is a multiple of 0.5, exact in float; near one, v minus
 * either neighbour is exact too, so this counts as the comparison of distances did. */
static const float iq4nl_mid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                    7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};

static inline int nl_index(float v) {
    int k = 0;
    for (int j = 0; j < 15; j++) k += v > iq4nl_mid[j];
    return k;
}

/* The codes nearest to s y: indices idx (when not NULL); returns sum w y k and sum w k^2
 * as a score. The codes 16 at a time (iq4_lanes.h), the double sums in LANES lanes (element
 * i in lane i % LANES, added in lane order: the same bits on every ISA). */
static double codes_at(const float *y, const float *w, float s, int *idx, double *syk,
                       double *sk2) {
    f64x8 a = {0}, b = {0};
    for (int i = 0; i < QK32; i += 16) {
        f32x16 yv;
        memcpy(&yv, y + i, sizeof yv);
        const i32x16 k = iq4_index16(splat16(s) * yv, 0);
        if (idx) memcpy(idx + i, &k, sizeof k);
        const f32x16_halves kv = {iq4_value16(k)};
        for (int h = 0; h < 2; h++) {
            f32x8 yh, wh;
            memcpy(&yh, y + i + 8 * h, sizeof yh);
            memcpy(&wh, w + i + 8 * h, sizeof wh);
            const f64x8 kd = __builtin_convertvector(kv.half[h], f64x8),
                        wk = __builtin_convertvector(wh, f64x8) * kd;
            a += wk * __builtin_convertvector(yh, f64x8), b += wk * kd;
        }
    }
    *syk = *sk2 = 0;
    for (int l = 0; l < LANES; l++) *syk += a[l], *sk2 += b[l];
    return *sk2 > 0 ? *syk * *syk / *sk2 : -1;
}

/* The best of BINS + 1 inverse scales evenly spaced over [s_lo, s_hi] for the codes nearest
 * to s y, by the score (sum w y k)^2 / sum w k^2 (the error drop of their least-squares
 * scale); its two sums in *syk, *sk2. Each element's code moves one grid step where s y
 * crosses a midpoint of the grid: every crossing in the window adds its change of the two
 * sums to the bin it falls in, and a walk over the bins has the sums at every bin's end.
 * O(n + crossings + BINS), where scoring each scale anew would cost O(n) each. */
static float sweep_window(const float *y, const float *w, float s_lo, float s_hi, double *best_yk,
                          double *best_k2) {
    int idx[QK32];
    double syk, sk2;
    codes_at(y, w, s_lo, idx, &syk, &sk2);
    *best_yk = sk2 > 0 ? syk : 0, *best_k2 = sk2 > 0 ? sk2 : 1;
    float dyk[BINS] = {0}, dk2[BINS] = {0};
    const float per_s = BINS / (s_hi - s_lo);
    int idx_hi[QK32];
#pragma omp simd
    for (int i = 0; i < QK32; i++) idx_hi[i] = nl_index(s_hi * y[i]);
    for (int i = 0; i < QK32; i++) {
        const int steps = abs(idx_hi[i] - idx[i]); /* crossings of element i in the window */
        if (!steps) continue;
        const float inv_y = 1.0f / y[i], wy = w[i] * y[i];
        const int step = y[i] > 0 ? 1 : -1;
        for (int t = 0, k = idx[i]; t < steps; t++, k += step) {
            /* the crossing is in bin floor((s - s_lo) per_s), at the end of which it counts */
            const float at = (iq4nl_mid[step > 0 ? k : k - 1] * inv_y - s_lo) * per_s;
            const int bin = at > 0 ? (at < BINS ? (int)at : BINS - 1) : 0;
            const float v0 = kvalues_iq4nl[k], v1 = kvalues_iq4nl[k + step];
            dyk[bin] += wy * (v1 - v0), dk2[bin] += w[i] * (v1 * v1 - v0 * v0);
        }
    }
    int best_b = -1; /* -1: s_lo itself */
    for (int b = 0; b < BINS; b++) {
        syk += dyk[b], sk2 += dk2[b];
        /* syk^2 / sk2 > the best so far, without a division */
        if (sk2 > 0 && syk * syk * *best_k2 > *best_yk * *best_yk * sk2)
            *best_yk = syk, *best_k2 = sk2, best_b = b;
    }
    return s_lo + (float)(best_b + 1) / per_s;
}

/* x ~ d kvalues[idx], the error sum w (x - d k)^2 minimised: the extreme value mapped near
 * either end of the grid (window of +-15 grid units around -127 and 113, as the former start
 * points), every code vector in both windows scored exactly (sweep_window), then the best
 * one's least-squares scale tried twice. Also IQ4_XS's per-sub-block search (iq4_xs.c). */
float iq4nl_search_block(const float *x, const float *w, int *idx) {
    float amax = 0, xmax = 0;
    for (int j = 0; j < QK32; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), xmax = x[j];
    for (int j = 0; j < QK32; j++) idx[j] = nl_index(0.0f);
    if (amax < 1e-30f) return 0.0f;
    /* g = 0: xmax towards -127 (y = -sgn(xmax) x); g = 1: towards 113 (y = sgn(xmax) x) */
    static const float ends[2] = {127.0f, 113.0f};
    float y[2][QK32], best_s = 0;
    double best = -1, yk = 0, k2 = 1;
    int best_g = 0;
    for (int g = 0; g < 2; g++) {
        const float sgn = (xmax > 0) == (g == 1) ? 1.0f : -1.0f;
        for (int j = 0; j < QK32; j++) y[g][j] = sgn * x[j];
        double a, b;
        const float s = sweep_window(y[g], w, (ends[g] - WINDOW) / amax,
                                     (ends[g] + WINDOW) / amax, &a, &b);
        if (b > 0 && a * a / b > best) best = a * a / b, best_s = s, best_g = g, yk = a, k2 = b;
    }
    if (!(best > 0)) return 0.0f;
    /* polish: the least-squares scale of the best codes (inverse sum w k^2 / sum w y k),
     * twice */
    for (int r = 0; r < 2; r++) {
        const float s = (float)(k2 / yk);
        if (!(yk > 0) || !isfinite(s)) break;
        const double score = codes_at(y[best_g], w, s, NULL, &yk, &k2);
        if (!(score > best)) break;
        best = score, best_s = s;
    }
    double syk, sk2;
    const float sgn = (xmax > 0) == (best_g == 1) ? 1.0f : -1.0f;
    codes_at(y[best_g], w, best_s, idx, &syk, &sk2);
    return sk2 > 0 ? (float)(sgn * syk / sk2) : 0.0f;
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
