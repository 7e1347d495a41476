/* iq1_search.c - the quantizer search of IQ1_S and IQ1_M (iq1_search.h).
 *
 * A group of 8 values is dl (g + delta), g one of the 2048 grid entries (values -1, 0, 1),
 * delta = +-1/8. For a given dl and delta each element's three codes have independent
 * costs w (x - dl (c + delta))^2, so the best of all 3^8 code vectors is the per-element
 * best; when that vector is a grid entry (looked up by its base-3 number) it is the answer.
 * Otherwise every entry is scored as the cost of its first four codes plus that of its last
 * four, each one of 81 patterns whose costs are computed once per group. Exact for a given
 * (dl, delta); the scales come from a few trial heights, each refitted by least squares. */
#include "iq1_search.h"

#include <math.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"
#include "iq_grids.h"

/* Base-3 digit of a grid value: -1 -> 0, 0 -> 1, 1 -> 2. */
static int trit(uint64_t entry, int j) {
    return (int8_t)(entry >> 8 * j) + 1;
}

void iq1_lookup_init(iq1_lookup *lk) {
    for (int p = 0; p < 6561; p++) lk->index_of[p] = -1;
    for (int e = 0; e < 2048; e++) {
        int lo = 0, hi = 0;
        for (int j = 3; j >= 0; j--) lo = 3 * lo + trit(iq1s_grid[e], j);
        for (int j = 7; j >= 4; j--) hi = 3 * hi + trit(iq1s_grid[e], j);
        lk->lo[e] = (uint8_t)lo, lk->hi[e] = (uint8_t)hi;
        lk->index_of[lo + 81 * hi] = (int16_t)e;
    }
}

/* Best entry for one group of 8 at scale dl and delta (+-1/8); *err its weighted error. */
static int best_entry(const iq1_lookup *lk, const float *x, const float *w, float dl, float delta,
                      double *err) {
    double cost[8][3], half[2][81];
    int ideal = 0;
    double ideal_err = 0;
    for (int j = 7; j >= 0; j--) {
        int best = 0;
        for (int c = 0; c < 3; c++) {
            double diff = x[j] - dl * (c - 1 + delta);
            cost[j][c] = w[j] * diff * diff;
            if (cost[j][c] < cost[j][best]) best = c;
        }
        ideal = 3 * ideal + best, ideal_err += cost[j][best];
    }
    if (lk->index_of[ideal] >= 0) {
        *err = ideal_err;
        return lk->index_of[ideal];
    }
    for (int h = 0; h < 2; h++)
        for (int p = 0; p < 81; p++)
            half[h][p] = cost[4 * h][p % 3] + cost[4 * h + 1][p / 3 % 3] +
                         cost[4 * h + 2][p / 9 % 3] + cost[4 * h + 3][p / 27];
    int best = 0;
    double best_err = INFINITY;
    for (int e = 0; e < 2048; e++) {
        double sum = half[0][lk->lo[e]] + half[1][lk->hi[e]];
        if (sum < best_err) best_err = sum, best = e;
    }
    *err = best_err;
    return best;
}

double iq1_fit(const iq1_lookup *lk, int ngroups, int shared_delta, const float *x, const float *w,
               float dl, int *entry, int *neg) {
    double total[2] = {0, 0}, err;
    int e[2][4];
    double total_each[2][4];
    for (int g = 0; g < ngroups; g++)
        for (int s = 0; s < 2; s++) {
            e[s][g] = best_entry(lk, x + 8 * g, w + 8 * g, dl, s ? -0.125f : 0.125f, &err);
            total_each[s][g] = err, total[s] += err;
        }
    double sum = 0;
    for (int g = 0; g < ngroups; g++) {
        int s = shared_delta ? total[1] < total[0] : total_each[1][g] < total_each[0][g];
        entry[g] = e[s][g], neg[g] = s, sum += total_each[s][g];
    }
    return sum;
}

/* Least-squares dl for the chosen entries and deltas: sum w x v / sum w v^2. */
static float refit(int ngroups, const float *x, const float *w, const int *entry, const int *neg) {
    double xv = 0, vv = 0;
    for (int i = 0; i < 8 * ngroups; i++) {
        double v = trit(iq1s_grid[entry[i / 8]], i % 8) - 1 + (neg[i / 8] ? -0.125 : 0.125);
        xv += w[i] * x[i] * v, vv += w[i] * v * v;
    }
    return vv > 0 && xv > 0 ? (float)(xv / vv) : 0.0f;
}

float iq1_search_scale(const iq1_lookup *lk, int ngroups, int shared_delta, const float *x,
                       const float *w) {
    float amax = 0;
    for (int i = 0; i < 8 * ngroups; i++) amax = fmaxf(amax, fabsf(x[i]));
    if (amax <= 0) return 0;
    int entry[4], neg[4];
    float best_dl = 0;
    double best = INFINITY;
    for (int k = 0; k < 4; k++) {
        float dl = amax / 1.125f * (0.4f + 0.25f * k);
        for (int r = 0; r < 2 && dl > 0; r++) {
            double err = iq1_fit(lk, ngroups, shared_delta, x, w, dl, entry, neg);
            if (err < best) best = err, best_dl = dl;
            dl = refit(ngroups, x, w, entry, neg);
        }
    }
    return best_dl;
}

uint16_t iq1_fit_super(const iq1_lookup *lk, int sub_groups, int shared_delta, const float *x,
                       const float *w, int *s, int *entry, int *neg) {
    const int nsub = QK_K / (8 * sub_groups);
    float dl[16], max_dl = 0;
    for (int k = 0; k < nsub; k++) {
        const int o = 8 * sub_groups * k;
        dl[k] = iq1_search_scale(lk, sub_groups, shared_delta, x + o, w + o);
        max_dl = fmaxf(max_dl, dl[k]);
    }
    const uint16_t d_h = f32_to_fp16(max_dl / 15);
    const float d = fp16_to_f32(d_h);
    for (int k = 0; k < nsub; k++) {
        const int o = 8 * sub_groups * k, g0 = sub_groups * k;
        const int s0 = d > 0 ? (int)lrintf((dl[k] / d - 1) / 2) : 0;
        int e[4], ng[4];
        double best = INFINITY;
        for (int sc = s0 - 1; sc <= s0 + 1; sc++) {
            if (sc < 0 || sc > 7) continue;
            double err =
                iq1_fit(lk, sub_groups, shared_delta, x + o, w + o, d * (float)(2 * sc + 1), e, ng);
            if (err < best) {
                best = err, s[k] = sc;
                memcpy(entry + g0, e, sub_groups * sizeof(int));
                memcpy(neg + g0, ng, sub_groups * sizeof(int));
            }
        }
    }
    return d_h;
}

void iq1_quantize(const float *src, void *dst, int64_t n, const float *importance, int sub_groups,
                  int shared_delta, size_t bytes, iq1_pack_fn pack) {
    iq1_lookup lk;
    iq1_lookup_init(&lk);
    const float sigma2 = q_mean_square(src, n);
    float buf[QK_K];
    int s[16], entry[32], neg[32];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        const float *w = q_weights_x(importance, i * QK_K, x, QK_K, sigma2, buf);
        uint16_t d = iq1_fit_super(&lk, sub_groups, shared_delta, x, w, s, entry, neg);
        pack((uint8_t *)dst + i * bytes, d, s, entry, neg);
    }
}
