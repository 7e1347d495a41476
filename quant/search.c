/* search.c - the error-minimising scale search shared by every integer format.
 *
 * The problem, per block: choose the scale d (and offset m) and the integer codes q_i that
 * minimise  E = sum_i w_i (x_i - (d q_i + m))^2  over codes in a fixed range.
 * For fixed codes E is quadratic in (d, m), so the best (d, m) is the weighted least-squares
 * solution; for fixed (d, m) the best codes are round-to-nearest and clamp. We alternate the
 * two from many starting scales (the extreme value mapped near each end of the code range,
 * +-15 steps of 0.1 code) and keep the best. llama.cpp does one pass from +-9 steps with
 * x^2-like weights; we default to w = 1 (plain squared error: what RMSE measures). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"

#define N_STEPS 15
#define N_REFINE 2

/* clamp(round-to-nearest-even(v), lo, hi) without a libm call: clamping first keeps |v| far
 * below 2^22, where adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits. */
static inline int round_clamp(float v, int lo, int hi) {
    v = v < lo ? (float)lo : v > hi ? (float)hi : v;
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

const float *q_weights(const float *importance, int64_t offset, int n, float *buf) {
    if (importance) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += importance[offset + i];
        if (sum > 0) return importance + offset;
    }
    for (int i = 0; i < n; i++) buf[i] = 1.0f;
    return buf;
}

/* Rounds with scale d into [qmin, qmax]; returns sum w x q and sum w q^2. */
static void round_sym(int n, const float *x, const float *w, float inv_d, int qmin, int qmax,
                      int *q, double *sumqx, double *sumq2) {
    double qx = 0, q2 = 0;
    for (int i = 0; i < n; i++) {
        q[i] = round_clamp(x[i] * inv_d, qmin, qmax);
        qx += (double)w[i] * x[i] * q[i];
        q2 += (double)w[i] * q[i] * q[i];
    }
    *sumqx = qx;
    *sumq2 = q2;
}

float qsearch_sym(int n, const float *x, const float *w, int qmin, int qmax, int *q) {
    float amax = 0, xmax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]), xmax = x[i];
    if (amax < 1e-30f) {
        for (int i = 0; i < n; i++) q[i] = 0;
        return 0.0f;
    }
    int tmp[QK_K];
    double best_score = -1;
    float best_d = 0;
    /* the extreme value mapped to either end of the range (the ends differ: [-8, 7]) */
    int ends[2] = {qmax, qmin};
    for (int e = 0; e < 2; e++) {
        if (ends[e] == 0) continue;
        for (int k = -N_STEPS; k <= N_STEPS; k++) {
            float inv_d = ((float)ends[e] + 0.1f * k) / xmax;
            double sumqx, sumq2;
            round_sym(n, x, w, inv_d, qmin, qmax, tmp, &sumqx, &sumq2);
            /* E(d*) = sum w x^2 - sumqx^2 / sumq2: maximise the second term */
            for (int r = 0; sumq2 > 0 && r <= N_REFINE; r++) {
                double score = sumqx * sumqx / sumq2;
                if (score > best_score) {
                    best_score = score;
                    best_d = (float)(sumqx / sumq2);
                    for (int i = 0; i < n; i++) q[i] = tmp[i];
                }
                float d = (float)(sumqx / sumq2);
                if (d == 0) break;
                round_sym(n, x, w, 1.0f / d, qmin, qmax, tmp, &sumqx, &sumq2);
            }
        }
    }
    return best_d;
}

float q_err_affine(int n, const float *x, const float *w, float d, float m, int qmax, int *q) {
    float inv_d = d != 0 ? 1.0f / d : 0.0f;
    double err = 0;
    for (int i = 0; i < n; i++) {
        q[i] = round_clamp((x[i] - m) * inv_d, 0, qmax);
        float e = d * q[i] + m - x[i];
        err += (double)w[i] * e * e;
    }
    return (float)err;
}

float q_err_sym(int n, const float *x, const float *w, float d, int qmin, int qmax, int *q) {
    float inv_d = d != 0 ? 1.0f / d : 0.0f;
    double err = 0;
    for (int i = 0; i < n; i++) {
        q[i] = round_clamp(x[i] * inv_d, qmin, qmax);
        float e = d * q[i] - x[i];
        err += (double)w[i] * e * e;
    }
    return (float)err;
}

/* Weighted least squares of x ~ d q + m for fixed codes (m <= 0 when min_nonpos). */
static void fit_affine(int n, const float *x, const float *w, const int *q, int min_nonpos,
                       float *d, float *m) {
    double sw = 0, sq = 0, sq2 = 0, sx = 0, sqx = 0;
    for (int i = 0; i < n; i++) {
        sw += w[i], sq += w[i] * q[i], sq2 += (double)w[i] * q[i] * q[i];
        sx += w[i] * x[i], sqx += (double)w[i] * q[i] * x[i];
    }
    double det = sw * sq2 - sq * sq;
    if (det > 0) {
        *d = (float)((sw * sqx - sq * sx) / det);
        *m = (float)((sq2 * sx - sq * sqx) / det);
    } else { /* all codes equal: only the offset is determined */
        *d = 0;
        *m = sw > 0 ? (float)(sx / sw) : 0;
    }
    if (min_nonpos && *m > 0) {
        *m = 0;
        *d = sq2 > 0 ? (float)(sqx / sq2) : 0;
    }
}

float qsearch_affine(int n, const float *x, const float *w, int qmax, int min_nonpos, float *m,
                     int *q) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
    if (min_nonpos && lo > 0) lo = 0;
    if (hi - lo < 1e-30f * fmaxf(1.0f, fabsf(lo))) {
        for (int i = 0; i < n; i++) q[i] = 0;
        *m = lo;
        return 0.0f;
    }
    int tmp[QK_K];
    float best_err = INFINITY, best_d = 0, best_m = lo;
    for (int k = -N_STEPS; k <= N_STEPS; k++) {
        float d = (hi - lo) / ((float)qmax + 0.1f * k), mm = lo;
        for (int r = 0; r <= N_REFINE; r++) {
            if (!(d > 0)) break;
            q_err_affine(n, x, w, d, mm, qmax, tmp);
            fit_affine(n, x, w, tmp, min_nonpos, &d, &mm);
            float err = q_err_affine(n, x, w, d, mm, qmax, tmp);
            if (err < best_err) best_err = err, best_d = d, best_m = mm;
        }
    }
    q_err_affine(n, x, w, best_d, best_m, qmax, q);
    *m = best_m;
    return best_d;
}

/* Ternary codes (TQ1_0, TQ2_0): x ~ d t, t in {-1, 0, 1}. For a given d the best codes are
 * t = sign(x) where |x| > d / 2, so the optimal support is the k largest |x| for some k;
 * for that support the least-squares d is sum w|x| / sum w and the error drops by
 * (sum w|x|)^2 / sum w. Trying every k (|x| sorted once) gives the exact optimum. */
typedef struct {
    float ax;
    int i;
} abs_index;

static int by_abs_desc(const void *a, const void *b) {
    float x = ((const abs_index *)a)->ax, y = ((const abs_index *)b)->ax;
    return (x < y) - (x > y);
}

static float ternary_scale(int n, const float *x, const float *w) {
    abs_index order[QK_K];
    for (int i = 0; i < n; i++) order[i] = (abs_index){fabsf(x[i]), i};
    qsort(order, (size_t)n, sizeof order[0], by_abs_desc);
    double s_ax = 0, s_w = 0, best = 0, best_d = 0;
    for (int k = 0; k < n && order[k].ax > 0; k++) {
        s_ax += (double)w[order[k].i] * order[k].ax;
        s_w += w[order[k].i];
        if (s_w > 0 && s_ax * s_ax / s_w > best) best = s_ax * s_ax / s_w, best_d = s_ax / s_w;
    }
    return (float)best_d;
}

uint16_t qsearch_ternary(int n, const float *x, const float *w, int *t) {
    uint16_t d = f32_to_fp16(ternary_scale(n, x, w));
    q_err_sym(n, x, w, fp16_to_f32(d), -1, 1, t); /* codes for the d that is stored */
    return d;
}
