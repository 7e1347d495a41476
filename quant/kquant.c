/* kquant.c - the two-level scale search of the K-quants.
 *
 * A super-block of 256 values has one fp16 scale d (and dmin) and small integer scales per
 * sub-block. Steps: (1) the best float scale (and min) of each sub-block (search.c);
 * (2) those scales are themselves quantized to their few bits with the same least-squares
 * search, weighting sub-block j by sum w q^2 (how much x moves when its scale moves);
 * (3) codes are re-rounded with the final scales, and each sub-block tries its scale (and
 * min) code +-1 keeping whatever gives the lowest real error. */
#include <math.h>

#include "formats.h"
#include "fp16.h"

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void kquant_affine(const float *x, const float *w, int nsub, int qmax, int smax, int *q,
                   int *sc, int *mn, uint16_t *d16, uint16_t *dmin16) {
    int sub = QK_K / nsub, tmp[QK_K];
    float scale[QK_K / 16], mins[QK_K / 16], w_scale[QK_K / 16], w_min[QK_K / 16];
    for (int j = 0; j < nsub; j++) {
        const float *xj = x + j * sub, *wj = w + j * sub;
        float m;
        float s = qsearch_affine(sub, xj, wj, qmax, 1, &m, q + j * sub);
        scale[j] = fmaxf(s, 0.0f);
        mins[j] = -m;
        w_scale[j] = w_min[j] = 0;
        for (int i = 0; i < sub; i++) {
            w_scale[j] += wj[i] * (float)(q[j * sub + i] * q[j * sub + i]);
            w_min[j] += wj[i];
        }
    }
    *d16 = f32_to_fp16(qsearch_sym(nsub, scale, w_scale, 0, smax, sc));
    *dmin16 = f32_to_fp16(qsearch_sym(nsub, mins, w_min, 0, smax, mn));
    float d = fp16_to_f32(*d16), dmin = fp16_to_f32(*dmin16);
    for (int j = 0; j < nsub; j++) {
        const float *xj = x + j * sub, *wj = w + j * sub;
        int best_sc = sc[j], best_mn = mn[j];
        float best = INFINITY;
        for (int ds = -1; ds <= 1; ds++)
            for (int dm = -1; dm <= 1; dm++) {
                int s = clampi(sc[j] + ds, 0, smax), m = clampi(mn[j] + dm, 0, smax);
                float err = q_err_affine(sub, xj, wj, d * s, -dmin * m, qmax, tmp);
                if (err < best) best = err, best_sc = s, best_mn = m;
            }
        sc[j] = best_sc, mn[j] = best_mn;
        q_err_affine(sub, xj, wj, d * sc[j], -dmin * mn[j], qmax, q + j * sub);
    }
}

void kquant_sym(const float *x, const float *w, int nsub, int qmin, int qmax, int smin, int smax,
                int *q, int *sc, uint16_t *d16) {
    int sub = QK_K / nsub, tmp[QK_K];
    float scale[QK_K / 16], w_scale[QK_K / 16];
    for (int j = 0; j < nsub; j++) {
        const float *wj = w + j * sub;
        scale[j] = qsearch_sym(sub, x + j * sub, wj, qmin, qmax, q + j * sub);
        w_scale[j] = 0;
        for (int i = 0; i < sub; i++) w_scale[j] += wj[i] * (float)(q[j * sub + i] * q[j * sub + i]);
    }
    *d16 = f32_to_fp16(qsearch_sym(nsub, scale, w_scale, smin, smax, sc));
    float d = fp16_to_f32(*d16);
    for (int j = 0; j < nsub; j++) {
        const float *xj = x + j * sub, *wj = w + j * sub;
        int best_sc = sc[j];
        float best = INFINITY;
        for (int ds = -1; ds <= 1; ds++) {
            int s = clampi(sc[j] + ds, smin, smax);
            float err = q_err_sym(sub, xj, wj, d * s, qmin, qmax, tmp);
            if (err < best) best = err, best_sc = s;
        }
        sc[j] = best_sc;
        q_err_sym(sub, xj, wj, d * sc[j], qmin, qmax, q + j * sub);
    }
}
