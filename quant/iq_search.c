/* iq_search.c - the codebook quantizer search of the IQ2 / IQ3 formats (iq_search.h).
 *
 * A brute-force search: every grid entry is tried for every group (256 to 1024 entries of 8
 * or 4 values), where ggml precomputes neighbour lists to try a few. It is exact for a
 * given scale, and slow (every group tries every entry: not measured against ggml's, and
 * meant for small models and tests until a neighbour search replaces it). */
#include "iq_search.h"

#include <math.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"

uint8_t iq_signs(const float *x, const float *w, int parity, float *t) {
    unsigned bits = 0;
    int least = 0;
    for (int j = 0; j < 8; j++) {
        t[j] = fabsf(x[j]);
        if (x[j] < 0) bits |= 1u << j;
        if (w[j] * x[j] * x[j] < w[least] * x[least] * x[least]) least = j;
    }
    if (parity && __builtin_popcount(bits) % 2) bits ^= 1u << least, t[least] = -t[least];
    return (uint8_t)bits;
}

static inline int grid_value(const iq_grid *g, int e, int j) {
    return g->grid64 ? (int)((g->grid64[e] >> 8 * j) & 255) : (int)((g->grid32[e] >> 8 * j) & 255);
}

/* The entry nearest (weighted) to one group's targets at scale dl. */
static int best_entry(const iq_grid *g, const float *t, const float *w, float dl, double *err) {
    int width = iq_width(g), best = 0;
    double best_err = INFINITY;
    for (int e = 0; e < g->n_entries; e++) {
        double sum = 0;
        for (int j = 0; j < width && sum < best_err; j++) {
            double diff = t[j] - dl * grid_value(g, e, j);
            sum += w[j] * diff * diff;
        }
        if (sum < best_err) best_err = sum, best = e;
    }
    *err = best_err;
    return best;
}

double iq_fit(const iq_grid *g, int n, const float *t, const float *w, float dl, int *entry) {
    int width = iq_width(g);
    double total = 0, err;
    for (int k = 0; k < n / width; k++) {
        entry[k] = best_entry(g, t + width * k, w + width * k, dl, &err);
        total += err;
    }
    return total;
}

/* Least-squares scale for the chosen entries: sum w t q / sum w q^2. */
static float refit(const iq_grid *g, int n, const float *t, const float *w, const int *entry) {
    int width = iq_width(g);
    double tq = 0, qq = 0;
    for (int i = 0; i < n; i++) {
        int q = grid_value(g, entry[i / width], i % width);
        tq += (double)w[i] * t[i] * q, qq += (double)w[i] * q * q;
    }
    return qq > 0 && tq > 0 ? (float)(tq / qq) : 0.0f;
}

/* A sub-block's float scale: the largest target at a range of grid heights, each choice of
 * entries refitted once; the scale of least error. */
static float search_sub(const iq_grid *g, int n, const float *t, const float *w) {
    float tmax = 0;
    int gmax = 0, entry[64];
    for (int i = 0; i < n; i++) tmax = fmaxf(tmax, t[i]);
    for (int e = 0; e < g->n_entries; e++)
        for (int j = 0; j < iq_width(g); j++)
            if (grid_value(g, e, j) > gmax) gmax = grid_value(g, e, j);
    if (tmax <= 0 || gmax == 0) return 0;
    float best_dl = 0;
    double best = INFINITY;
    for (int k = 0; k < 6; k++) {
        float dl = tmax / gmax * (0.3f + 0.2f * k);
        for (int r = 0; r < 2; r++) {
            double err = iq_fit(g, n, t, w, dl, entry);
            if (err < best) best = err, best_dl = dl;
            dl = refit(g, n, t, w, entry);
        }
    }
    return best_dl;
}

uint16_t iq_fit_super(const iq_grid *g, int nsub, int sub_n, const float *t, const float *w,
                      float unit, int smax, int *s, int *entry) {
    float dl[16], max_dl = 0;
    const int per_sub = sub_n / iq_width(g);
    for (int ib = 0; ib < nsub; ib++) {
        dl[ib] = search_sub(g, sub_n, t + sub_n * ib, w + sub_n * ib);
        max_dl = fmaxf(max_dl, dl[ib]);
    }
    uint16_t d_h = f32_to_fp16(max_dl / (unit * (2 * smax + 1)));
    float d = fp16_to_f32(d_h);
    int tmp[64];
    for (int ib = 0; ib < nsub; ib++) {
        const float *tb = t + sub_n * ib, *wb = w + sub_n * ib;
        int s0 = d > 0 ? (int)lrintf((dl[ib] / (d * unit) - 1) / 2) : 0;
        double best = INFINITY;
        for (int sc = s0 - 1; sc <= s0 + 1; sc++) {
            if (sc < 0 || sc > smax) continue;
            double err = iq_fit(g, sub_n, tb, wb, d * unit * (float)(2 * sc + 1), tmp);
            if (err < best) {
                best = err, s[ib] = sc;
                for (int k = 0; k < per_sub; k++) entry[per_sub * ib + k] = tmp[k];
            }
        }
    }
    return d_h;
}

void iq_dequantize(const void *src, float *dst, int64_t n, size_t bytes, iq_unpack_fn unpack,
                   float factor) {
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *block = (const uint8_t *)src + i * bytes;
        float *y = dst + i * QK_K;
        for (int ib = 0; ib < 8; ib++) {
            iq_sub u;
            unpack(block, ib, &u);
            const float d = fp16_to_f32(u.d);
            for (int j = 0; j < 32; j++) {
                float db = d * (float)u.ls[j / 16] * factor;
                float g = (float)((u.mag[j / 8] >> 8 * (j % 8)) & 255);
                y[32 * ib + j] = db * g * (u.signs >> j & 1 ? -1.0f : 1.0f);
            }
        }
    }
}

void iq_quantize(const iq_format *f, const float *src, void *dst, int64_t n, size_t bytes,
                 const float *importance) {
    float ones[QK_K], t[QK_K];
    int s[16], entry[64];
    uint8_t signs[32];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        for (int k = 0; k < 32; k++)
            signs[k] = iq_signs(x + 8 * k, w + 8 * k, f->parity, t + 8 * k);
        uint16_t d = iq_fit_super(&f->grid, QK_K / f->sub_n, f->sub_n, t, w, f->unit, 15, s, entry);
        f->pack((uint8_t *)dst + i * bytes, d, s, entry, signs);
    }
}
