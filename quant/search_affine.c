/* search_affine.c - the scale and offset search of the affine formats (Q4_1, Q5_1, Q2_0_32,
 * the K-quants' sub-blocks): x ~ d q + m, q in [0, qmax] (search.c states the problem).
 * From 2 N_STEPS + 1 starting scales (the range mapped onto qmax +- N_STEPS steps of 0.1
 * code), each a chain of N_REFINE + 1 steps: the least-squares (d, m) of the current codes,
 * then the codes of that (d, m) and their error; the lowest error wins. */
#include <math.h>
#include <string.h>

#include "formats.h"

#define N_STEPS 15
#define N_REFINE 2
/* the 2 N_STEPS + 1 starting scales, padded to whole SIMD registers */
enum { STARTS = 32 };
/* the partial sums of a block: element i in lane i % LANES, added in lane order */
enum { LANES = 8 };
/* chains run side by side (chains_in_slots) */
enum { SLOTS = 2 };

/* The sums of the weighted least-squares fit x ~ d q + m for fixed codes; sw, sx, sx2 do
 * not depend on the codes (one pass per block). */
typedef struct {
    double sw, sq, sq2, sx, sqx, sx2;
} affine_sums;

/* The weighted squared error of the codes of s at (d, m), expanded from the sums (below) */
static double affine_err(const affine_sums *s, float d, float m) {
    const double dd = d, mm = m;
    return dd * (dd * s->sq2 + 2 * mm * s->sq - 2 * s->sqx) + mm * (mm * s->sw - 2 * s->sx) +
           s->sx2;
}

/* One pass at (d, m): the codes it rounds to give the code sums sq, sq2, sqx of s, and the
 * weighted squared error, returned, is expanded from the sums:
 *   sum w (d q + m - x)^2 = d^2 sq2 + 2 d m sq - 2 d sqx + m^2 sw - 2 m sx + sx2,
 * so each refinement step of qsearch_affine reads the block once with three running sums.
 * Double sums in LANES lanes (element i in lane i % LANES), added in lane order: the same
 * bits on every ISA. n is a multiple of LANES (every block is). */
static double affine_pass(int n, const float *x, const float *w, float d, float m, int qmax,
                          affine_sums *s) {
    const float inv_d = d != 0 ? 1.0f / d : 0.0f, hi = (float)qmax;
    double sq[LANES] = {0}, sq2[LANES] = {0}, sqx[LANES] = {0};
    for (int i = 0; i + LANES <= n; i += LANES) {
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            float q = rintf((x[i + l] - m) * inv_d);
            q = q < 0 ? 0 : q;
            q = q > hi ? hi : q;
            const double wq = (double)w[i + l] * q;
            sq[l] += wq, sq2[l] += wq * q, sqx[l] += wq * x[i + l];
        }
    }
    s->sq = s->sq2 = s->sqx = 0;
    for (int l = 0; l < LANES; l++) s->sq += sq[l], s->sq2 += sq2[l], s->sqx += sqx[l];
    return affine_err(s, d, m);
}

/* The code-independent sums sw, sx, sx2 of a block (lanes as affine_pass). */
static void affine_block_sums(int n, const float *x, const float *w, affine_sums *s) {
    double sw[LANES] = {0}, sx[LANES] = {0}, sx2[LANES] = {0};
    for (int i = 0; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            const double wx = (double)w[i + l] * x[i + l];
            sw[l] += w[i + l], sx[l] += wx, sx2[l] += wx * x[i + l];
        }
    *s = (affine_sums){0};
    for (int l = 0; l < LANES; l++) s->sw += sw[l], s->sx += sx[l], s->sx2 += sx2[l];
}

/* Weighted least squares of x ~ d q + m from the sums (m <= 0 when min_nonpos). */
static void fit_affine(const affine_sums *s, int min_nonpos, float *d, float *m) {
    const double det = s->sw * s->sq2 - s->sq * s->sq;
    if (det > 0) {
        *d = (float)((s->sw * s->sqx - s->sq * s->sx) / det);
        *m = (float)((s->sq2 * s->sx - s->sq * s->sqx) / det);
    } else { /* all codes equal: only the offset is determined */
        *d = 0;
        *m = s->sw > 0 ? (float)(s->sx / s->sw) : 0;
    }
    if (min_nonpos && *m > 0) {
        *m = 0;
        *d = s->sq2 > 0 ? (float)(s->sqx / s->sq2) : 0;
    }
}

/* The code sums (sq, sq2, sqx) that qsearch_affine has fitted in this block, each with the
 * refinement step r it was fitted at: equal sums mean the same fit, so a chain that reaches
 * them again at a step >= r repeats one already run (and no further) and is cut short: the
 * same results as running it, with fewer passes. Open addressing on the bits of sqx. */
enum { SEEN_SLOTS = 256 };
typedef struct {
    double key[SEEN_SLOTS][3];
    unsigned char used[SEEN_SLOTS]; /* 0: empty, else 1 + the step */
} seen_codes;

static int seen_before(seen_codes *t, const affine_sums *s, int r) {
    uint64_t h;
    memcpy(&h, &s->sqx, 8);
    h ^= h >> 29, h *= 0x9E3779B97F4A7C15ull;
    for (unsigned i = (unsigned)(h >> 56), probes = 0; probes < SEEN_SLOTS; i++, probes++) {
        i %= SEEN_SLOTS;
        if (!t->used[i]) {
            t->used[i] = (unsigned char)(1 + r);
            t->key[i][0] = s->sq, t->key[i][1] = s->sq2, t->key[i][2] = s->sqx;
            return 0;
        }
        if (t->key[i][0] == s->sq && t->key[i][1] == s->sq2 && t->key[i][2] == s->sqx) {
            if (t->used[i] <= 1 + r) return 1;
            t->used[i] = (unsigned char)(1 + r); /* now run from an earlier step */
            return 0;
        }
    }
    return 0;
}

/* The code sums of every starting scale of qsearch_affine at once (offset m, inverse
 * scales inv_d[STARTS]), the candidates in SIMD lanes: affine_pass's sums for each, in its
 * order (element i into partial sum i % LANES, the partials added in lane order), so the
 * same bits, for one read of the block instead of one per start. */
static void affine_start_sums(int n, const float *x, const float *w, const float *inv_d, float m,
                              int qmax, double sums[3][STARTS]) {
    double part[LANES][3][STARTS];
    const float hi = (float)qmax;
    memset(part, 0, sizeof part);
    for (int i = 0; i < n; i++) {
        const float xm = x[i] - m;
        const double wi = w[i], xi = x[i];
        double *sq = part[i % LANES][0], *sq2 = part[i % LANES][1], *sqx = part[i % LANES][2];
#pragma omp simd
        for (int c = 0; c < STARTS; c++) {
            float q = rintf(xm * inv_d[c]);
            q = q < 0 ? 0 : q;
            q = q > hi ? hi : q;
            const double wq = wi * q;
            sq[c] += wq, sq2[c] += wq * q, sqx[c] += wq * xi;
        }
    }
    for (int c = 0; c < STARTS; c++) {
        double a = 0, b = 0, e = 0;
        for (int l = 0; l < LANES; l++) a += part[l][0][c], b += part[l][1][c], e += part[l][2][c];
        sums[0][c] = a, sums[1][c] = b, sums[2][c] = e;
    }
}

/* The chains one after another, from the start codes' sums start_sums (the statement of the
 * search, and the fallback of chains_in_slots); a chain that reaches codes already fitted at
 * an earlier step is cut short (seen_before). Fills the best (d, m). */
static void chains_in_order(int n, const float *x, const float *w, int qmax, int min_nonpos,
                            const float *start_d, double start_sums[3][STARTS], affine_sums sums,
                            float *best_d, float *best_m) {
    seen_codes seen;
    memset(seen.used, 0, sizeof seen.used); /* the keys are read only where used */
    double best_err = INFINITY;
    for (int k = 0; k < 2 * N_STEPS + 1; k++) {
        float d = start_d[k], mm = 0;
        if (!(d > 0)) continue;
        sums.sq = start_sums[0][k], sums.sq2 = start_sums[1][k], sums.sqx = start_sums[2][k];
        for (int r = 0; r <= N_REFINE; r++) {
            /* codes met before: the fit and everything after it repeat a chain already run */
            if (!(d > 0) || seen_before(&seen, &sums, r)) break;
            fit_affine(&sums, min_nonpos, &d, &mm);
            const double err = affine_pass(n, x, w, d, mm, qmax, &sums);
            if (err < best_err) best_err = err, *best_d = d, *best_m = mm;
        }
    }
}

/* affine_pass for SLOTS candidates (d[c], m[c]) in one loop over the block: each one's sums
 * in its own order (the same bits), the candidates' latency chains side by side. */
static void affine_pass_slots(int n, const float *x, const float *w, const float *d, const float *m,
                              int qmax, affine_sums *s, double *err) {
    const float hi = (float)qmax;
    float inv_d[SLOTS];
    double sq[SLOTS][LANES] = {{0}}, sq2[SLOTS][LANES] = {{0}}, sqx[SLOTS][LANES] = {{0}};
    for (int c = 0; c < SLOTS; c++) inv_d[c] = d[c] != 0 ? 1.0f / d[c] : 0.0f;
    for (int i = 0; i + LANES <= n; i += LANES)
        for (int c = 0; c < SLOTS; c++)
#pragma omp simd
            for (int l = 0; l < LANES; l++) {
                float q = rintf((x[i + l] - m[c]) * inv_d[c]);
                q = q < 0 ? 0 : q;
                q = q > hi ? hi : q;
                const double wq = (double)w[i + l] * q;
                sq[c][l] += wq, sq2[c][l] += wq * q, sqx[c][l] += wq * x[i + l];
            }
    for (int c = 0; c < SLOTS; c++) {
        s[c].sq = s[c].sq2 = s[c].sqx = 0;
        for (int l = 0; l < LANES; l++)
            s[c].sq += sq[c][l], s[c].sq2 += sq2[c][l], s[c].sqx += sqx[c][l];
        err[c] = affine_err(&s[c], d[c], m[c]);
    }
}

/* The chains SLOTS at a time, each slot taking the next start when its chain ends, every
 * step of the live ones in one affine_pass_slots: chains_in_order runs one fit, pass and
 * table probe after another, each waiting on the last (the sums' latency, the divisions, a
 * mispredicted branch per cut). SmolLM2 rows, one thread, Xeon SPR (thread CPU time): q4_k
 * 68 -> 62 ns/value, q4_1 53 -> 47, q5_1 49 -> 46, q2_k (n = 16) 91 -> 89; SLOTS = 4 was
 * slower than 2 (its 96 double sums do not fit in registers). The steps come in
 * another order, so the table cuts other repeats; but every evaluation of the uncut chains
 * is still represented by an equal one run (a cut chain's codes were fitted at an earlier
 * or equal step, by a chain that went on from there), so the lowest error is the same and,
 * when one (d, m) has it, so is the result. Returns 0 (the caller runs chains_in_order)
 * when different (d, m) tie at the lowest error: which comes first decides there. */
static int chains_in_slots(int n, const float *x, const float *w, int qmax, int min_nonpos,
                           const float *start_d, double start_sums[3][STARTS], affine_sums sums,
                           float *best_d, float *best_m) {
    seen_codes seen;
    memset(seen.used, 0, sizeof seen.used);
    affine_sums slot[SLOTS];
    float d[SLOTS], m[SLOTS];
    int r[SLOTS], live[SLOTS] = {0}, next = 0;
    double best_err = INFINITY;
    int n_tie = 0; /* evaluations at best_err whose (d, m) differ from the best's */
    for (;;) {
        int any = 0;
        for (int c = 0; c < SLOTS; c++) {
            for (;;) { /* the slot's next step, or the next start's first */
                if (!live[c]) {
                    while (next < 2 * N_STEPS + 1 && !(start_d[next] > 0)) next++;
                    if (next == 2 * N_STEPS + 1) break;
                    slot[c] = sums, d[c] = start_d[next], r[c] = 0, live[c] = 1;
                    slot[c].sq = start_sums[0][next], slot[c].sq2 = start_sums[1][next];
                    slot[c].sqx = start_sums[2][next++];
                }
                if (r[c] <= N_REFINE && d[c] > 0 && !seen_before(&seen, &slot[c], r[c])) break;
                live[c] = 0;
            }
            if (live[c])
                fit_affine(&slot[c], min_nonpos, &d[c], &m[c]);
            else
                d[c] = 0, m[c] = 0; /* an empty slot: its pass is discarded */
            any |= live[c];
        }
        if (!any) break;
        double err[SLOTS];
        affine_pass_slots(n, x, w, d, m, qmax, slot, err);
        for (int c = 0; c < SLOTS; c++) {
            if (!live[c]) continue;
            r[c]++;
            if (err[c] < best_err) {
                best_err = err[c], *best_d = d[c], *best_m = m[c], n_tie = 0;
            } else if (err[c] == best_err &&
                       (memcmp(&d[c], best_d, sizeof d[c]) || memcmp(&m[c], best_m, sizeof m[c]))) {
                n_tie++;
            }
        }
    }
    return n_tie == 0;
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
    affine_sums sums;
    affine_block_sums(n, x, w, &sums);
    float start_d[STARTS], start_inv[STARTS];
    double start_sums[3][STARTS];
    for (int k = 0; k < STARTS; k++) {
        const int step = k < 2 * N_STEPS + 1 ? k - N_STEPS : N_STEPS; /* padded with the last */
        start_d[k] = (hi - lo) / ((float)qmax + 0.1f * step);
        start_inv[k] = start_d[k] != 0 ? 1.0f / start_d[k] : 0.0f;
    }
    affine_start_sums(n, x, w, start_inv, lo, qmax, start_sums);
    float best_d = 0, best_m = lo;
    if (!chains_in_slots(n, x, w, qmax, min_nonpos, start_d, start_sums, sums, &best_d, &best_m)) {
        best_d = 0, best_m = lo;
        chains_in_order(n, x, w, qmax, min_nonpos, start_d, start_sums, sums, &best_d, &best_m);
    }
    q_err_affine(n, x, w, best_d, best_m, qmax, q);
    *m = best_m;
    return best_d;
}
