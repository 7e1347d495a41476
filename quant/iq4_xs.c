/* iq4_xs.c - IQ4_XS (ggml type 23): super-blocks of 256 in 8 sub-blocks of 32, indices into
 * IQ4_NL's non-linear grid kvalues_iq4nl, one fp16 d and a 6-bit scale l per sub-block:
 * x = d * (l - 32) * kvalues_iq4nl[index] (4.25 bits/weight). Sub-block ib's indices are 16
 * bytes packed as Q4_0's nibbles; l = low nibble of scales_l[ib / 2] (high nibble for odd
 * ib) | bits 2ib, 2ib+1 of scales_h << 4 (blocks.h).
 *
 * Quantizer: two candidates per super-block, the one with the smaller weighted error kept:
 * ggml's rule (its quantize_row_iq4_nl_impl, written here from its description) and our
 * search (each sub-block's scale from iq4nl_search_block, then the super scale tried at
 * several values, each sub-block's integer scale at its rounding +-1). Never worse than
 * ggml's rule under the same weights. */
#include <math.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"

enum { NSUB = QK_K / 32 };

void dequantize_iq4_xs(const void *src, float *dst, int64_t n) {
    const block_iq4_xs *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d);
        for (int ib = 0; ib < NSUB; ib++) {
            float dl = d * (float)(iq4xs_scale(&b[i], ib) - 32), *y = dst + i * QK_K + 32 * ib;
            const uint8_t *qs = b[i].qs + 16 * ib;
            for (int j = 0; j < 16; j++) {
                y[j] = dl * kvalues_iq4nl[qs[j] & 0xF];
                y[j + 16] = dl * kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

/* Grid index nearest to v, ties to the upper value (as ggml's best_index_int8). */
static int grid_index(float v) {
    if (v <= kvalues_iq4nl[0]) return 0;
    if (v >= kvalues_iq4nl[15]) return 15;
    int k = 1;
    while (v >= kvalues_iq4nl[k]) k++;
    return v - kvalues_iq4nl[k - 1] < kvalues_iq4nl[k] - v ? k - 1 : k;
}

/* Sub-block ib of b: scale code l + 32 and indices of x / (d l). */
static void set_sub(block_iq4_xs *b, int ib, int l, float d, const float *x) {
    int code = l + 32;
    b->scales_l[ib / 2] =
        (uint8_t)((b->scales_l[ib / 2] & (0xF0 >> 4 * (ib % 2))) | (code & 0xF) << 4 * (ib % 2));
    b->scales_h = (uint16_t)((b->scales_h & ~(3u << 2 * ib)) | (unsigned)(code >> 4) << 2 * ib);
    float dl = d * (float)l, inv = dl != 0 ? 1 / dl : 0;
    uint8_t *qs = b->qs + 16 * ib;
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(grid_index(inv * x[j]) | grid_index(inv * x[j + 16]) << 4);
}

/* Weighted squared error of sub-block ib of b (its dequantized values, exactly). */
static double sub_error(const block_iq4_xs *b, int ib, const float *x, const float *w) {
    float dl = fp16_to_f32(b->d) * (float)(iq4xs_scale(b, ib) - 32);
    const uint8_t *qs = b->qs + 16 * ib;
    double err = 0;
    for (int j = 0; j < 32; j++) {
        float y = dl * kvalues_iq4nl[j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4];
        err += (double)w[j] * ((double)x[j] - y) * ((double)x[j] - y);
    }
    return err;
}

static double block_error(const block_iq4_xs *b, const float *x, const float *w) {
    double err = 0;
    for (int ib = 0; ib < NSUB; ib++) err += sub_error(b, ib, x + 32 * ib, w + 32 * ib);
    return err;
}

/* ggml's per-sub-block scale: the extreme value at either end of the grid, least squares
 * over +-7 grid steps, under ggml's weights gw (x^2, or importance * sqrt(sigma2 + x^2)). */
static float ggml_iq4xs_scale(const float *x, const float *gw) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
    if (amax < 1e-15f) return 0;
    float d = -max / kvalues_iq4nl[0], id = 1 / d, sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        float q = kvalues_iq4nl[grid_index(id * x[j])];
        sumqx += gw[j] * q * x[j], sumq2 += gw[j] * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0;
    float best = d * sumqx;
    for (int t = -7; t <= 7; t++) {
        id = (t + kvalues_iq4nl[0]) / max, sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            float q = kvalues_iq4nl[grid_index(id * x[j])];
            sumqx += gw[j] * q * x[j], sumq2 += gw[j] * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) d = sumqx / sumq2, best = d * sumqx;
    }
    return d;
}

/* The super scale maps the largest sub-block scale to -32; every sub-block rounds to it. */
static void ggml_rule(const float *x, const float *imp, block_iq4_xs *b) {
    float sigma2 = 0, gw[32], scale[NSUB], max_scale = 0;
    for (int j = 0; j < QK_K; j++) sigma2 += x[j] * x[j];
    sigma2 *= 2.0f / QK_K;
    for (int ib = 0; ib < NSUB; ib++) {
        const float *xb = x + 32 * ib;
        for (int j = 0; j < 32; j++)
            gw[j] = imp ? imp[32 * ib + j] * sqrtf(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
        scale[ib] = ggml_iq4xs_scale(xb, gw);
        if (fabsf(scale[ib]) > fabsf(max_scale)) max_scale = scale[ib];
    }
    float d = -max_scale / 32, id = d != 0 ? 1 / d : 0;
    b->d = f32_to_fp16(d);
    for (int ib = 0; ib < NSUB; ib++) {
        int l = (int)lrintf(id * scale[ib]);
        set_sub(b, ib, l < -32 ? -32 : l > 31 ? 31 : l, d, x + 32 * ib);
    }
}

/* Ours for super scale d (fp16-rounded): per sub-block the best of the integer scales
 * around scale / d. Returns the block's error. */
static double with_super_scale(const float *x, const float *w, const float *scale, float d_try,
                               block_iq4_xs *b) {
    b->d = f32_to_fp16(d_try);
    float d = fp16_to_f32(b->d);
    double total = 0;
    for (int ib = 0; ib < NSUB; ib++) {
        const float *xb = x + 32 * ib, *wb = w + 32 * ib;
        int l0 = d != 0 ? (int)lrintf(scale[ib] / d) : 0, best_l = 0;
        double best = INFINITY;
        for (int l = l0 - 1; l <= l0 + 1; l++) {
            if (l < -32 || l > 31) continue;
            set_sub(b, ib, l, d, xb);
            double err = sub_error(b, ib, xb, wb);
            if (err < best) best = err, best_l = l;
        }
        set_sub(b, ib, best_l, d, xb);
        total += best;
    }
    return total;
}

static void search(const float *x, const float *w, block_iq4_xs *b) {
    float scale[NSUB], max_scale = 0;
    int idx[32];
    for (int ib = 0; ib < NSUB; ib++) {
        scale[ib] = iq4nl_search_block(x + 32 * ib, w + 32 * ib, idx);
        if (fabsf(scale[ib]) > fabsf(max_scale)) max_scale = scale[ib];
    }
    /* the largest scale at -32 .. -28 in quarter steps, or at +31 */
    double best = INFINITY;
    block_iq4_xs cand;
    memset(&cand, 0, sizeof cand);
    for (int k = 0; k <= 17; k++) {
        float d = k < 17 ? -max_scale / (32 - 0.25f * k) : max_scale / 31;
        double err = with_super_scale(x, w, scale, d, &cand);
        if (err < best) best = err, *b = cand;
    }
}

void quantize_iq4_xs(const float *src, void *dst, int64_t n, const float *importance) {
    block_iq4_xs *b = dst;
    float ones[QK_K];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        block_iq4_xs ggml;
        memset(&ggml, 0, sizeof ggml);
        memset(&b[i], 0, sizeof b[i]);
        ggml_rule(x, w == ones ? NULL : w, &ggml);
        search(x, w, &b[i]);
        if (block_error(&ggml, x, w) <= block_error(&b[i], x, w)) b[i] = ggml;
    }
}
