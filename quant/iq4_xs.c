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
#include "iq4_lanes.h"

enum { NSUB = QK_K / 32, LANES = 8 };

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

/* The grid's midpoints: the index nearest to v, ties to the upper value (as ggml's
 * best_index_int8), is the number of midpoints at or below v. Every midpoint is a multiple
 * of 0.5, exact in float; near one, v minus either neighbour is exact too, so this counts
 * as the comparison of distances did. */
static const float mid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                              7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};

static inline int grid_index(float v) {
    int k = 0;
    for (int j = 0; j < 15; j++) k += v >= mid[j];
    return k;
}

/* grid_value of 16 values (iq4_lanes.h) */
static inline f32x16 grid_value16(f32x16 v) { return iq4_value16(iq4_index16(v, 1)); }

/* Weighted squared error of the 32 values x at scale dl with the indices set_sub stores
 * (grid_index of x / dl): e = x - dl q in double (dl q a float product), w e^2 summed in
 * LANES double lanes (element i in lane i % LANES), added in lane order: the same bits on
 * every ISA. Equal to sub_error() after set_sub(), up to the order of the sum. */
static double error_at(const float *x, const float *w, float dl) {
    const float inv = dl != 0 ? 1 / dl : 0;
    f64x8 err = {0};
    for (int i = 0; i < 32; i += 16) {
        f32x16 xv;
        memcpy(&xv, x + i, sizeof xv);
        const f32x16_halves p = {splat16(dl) * grid_value16(splat16(inv) * xv)};
        for (int h = 0; h < 2; h++) {
            f32x8 xh, wh;
            memcpy(&xh, x + i + 8 * h, sizeof xh);
            memcpy(&wh, w + i + 8 * h, sizeof wh);
            const f64x8 e = __builtin_convertvector(xh, f64x8) -
                            __builtin_convertvector(p.half[h], f64x8);
            err += __builtin_convertvector(wh, f64x8) * e * e;
        }
    }
    double total = 0;
    for (int l = 0; l < LANES; l++) total += err[l];
    return total;
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

/* sum gw x q and sum gw q^2 of the grid values q nearest to id x (ties up), in float as
 * ggml sums, LANES lanes added in lane order */
static void grid_sums(const float *x, const float *gw, float id, float *sqx, float *sq2) {
    f32x8 a = {0}, b = {0};
    for (int i = 0; i < 32; i += 16) {
        f32x16 xv;
        memcpy(&xv, x + i, sizeof xv);
        const f32x16_halves q = {grid_value16(splat16(id) * xv)};
        for (int h = 0; h < 2; h++) {
            f32x8 xh, gh;
            memcpy(&xh, x + i + 8 * h, sizeof xh);
            memcpy(&gh, gw + i + 8 * h, sizeof gh);
            a += gh * q.half[h] * xh, b += gh * q.half[h] * q.half[h];
        }
    }
    *sqx = *sq2 = 0;
    for (int l = 0; l < LANES; l++) *sqx += a[l], *sq2 += b[l];
}

/* ggml's per-sub-block scale: the extreme value at either end of the grid, least squares
 * over +-7 grid steps, under ggml's weights gw (x^2, or importance * sqrt(sigma2 + x^2)). */
static float ggml_iq4xs_scale(const float *x, const float *gw) {
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
    if (amax < 1e-15f) return 0;
    float d = -max / kvalues_iq4nl[0], sumqx, sumq2;
    grid_sums(x, gw, 1 / d, &sumqx, &sumq2);
    d = sumq2 > 0 ? sumqx / sumq2 : 0;
    float best = d * sumqx;
    for (int t = -7; t <= 7; t++) {
        grid_sums(x, gw, (t + kvalues_iq4nl[0]) / max, &sumqx, &sumq2);
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

/* Ours for super scale d_try (fp16-rounded, in *d16): per sub-block the best of the integer
 * scales around scale / d, in l. Returns the block's error. */
static double with_super_scale(const float *x, const float *w, const float *scale, float d_try,
                               uint16_t *d16, int *l) {
    *d16 = f32_to_fp16(d_try);
    const float d = fp16_to_f32(*d16);
    double total = 0;
    for (int ib = 0; ib < NSUB; ib++) {
        const float *xb = x + 32 * ib, *wb = w + 32 * ib;
        int l0 = d != 0 ? (int)lrintf(scale[ib] / d) : 0;
        double best = INFINITY;
        l[ib] = 0;
        for (int k = l0 - 1; k <= l0 + 1; k++) {
            if (k < -32 || k > 31) continue;
            const double err = error_at(xb, wb, d * (float)k);
            if (err < best) best = err, l[ib] = k;
        }
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
    /* the largest scale at -32 .. -28 in quarter steps, or at +31; only the best packed */
    double best = INFINITY;
    int l[NSUB], best_l[NSUB] = {0};
    uint16_t d16, best_d16 = 0;
    for (int k = 0; k <= 17; k++) {
        const float d = k < 17 ? -max_scale / (32 - 0.25f * k) : max_scale / 31;
        const double err = with_super_scale(x, w, scale, d, &d16, l);
        if (err < best) best = err, best_d16 = d16, memcpy(best_l, l, sizeof l);
    }
    b->d = best_d16;
    for (int ib = 0; ib < NSUB; ib++) set_sub(b, ib, best_l[ib], fp16_to_f32(best_d16), x + 32 * ib);
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
