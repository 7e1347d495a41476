/* search.c - the error-minimising scale search shared by every integer format.
 *
 * The problem, per block: choose the scale d (and offset m) and the integer codes q_i that
 * minimise  E = sum_i w_i (x_i - (d q_i + m))^2  over codes in a fixed range.
 * For fixed codes E is quadratic in (d, m), so the best (d, m) is the weighted least-squares
 * solution; for fixed (d, m) the best codes are round-to-nearest and clamp. We alternate the
 * two from many starting scales (the extreme value mapped near each end of the code range,
 * +-15 steps of 0.1 code) and keep the best. llama.cpp does one pass from +-9 steps with
 * x^2-like weights; we default to w = 1 (plain squared error: what RMSE measures).
 * The affine search (with an offset m) is in search_affine.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"

#ifdef __AVX__
#include <immintrin.h>
#endif


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

/* The statement: one double sum in element order (4 cycles an element of add latency: 4%
 * of a q4_0 row's time on the Xeon SPR, perf). */
static float mean_square_in_order(const float *x, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return n > 0 ? (float)(sum / (double)n) : 0.0f;
}

/* The same float as mean_square_in_order, from MS_LANES independent double sums. Both sums
 * add n terms >= 0 (x^2 is exact in double), so each is within (n - 1) 2^-53 of the exact
 * sum, relatively (the recursive summation bound, for any order), and their means differ
 * by less than bound = (4 n + 4) 2^-53 of it. Rounding to float is monotone: when the ends
 * of [mean - bound, mean + bound] round to one float, so does every value between, the
 * in-order mean included. Otherwise (a mean within about 1e-13 of a float's rounding
 * boundary: never met on real rows) the in-order sum decides. */
float q_mean_square(const float *x, int64_t n) {
    enum { MS_LANES = 8 };
    if (n <= 0) return 0.0f;
    double part[MS_LANES] = {0};
    int64_t i = 0;
    for (; i + MS_LANES <= n; i += MS_LANES)
#pragma omp simd
        for (int l = 0; l < MS_LANES; l++) part[l] += (double)x[i + l] * x[i + l];
    for (; i < n; i++) part[0] += (double)x[i] * x[i];
    double sum = 0;
    for (int l = 0; l < MS_LANES; l++) sum += part[l];
    const double mean = sum / (double)n, bound = (4.0 * (double)n + 4.0) * 0x1p-53 * mean;
    const float f = (float)mean;
    if ((float)(mean - bound) == f && (float)(mean + bound) == f) return f;
    return mean_square_in_order(x, n);
}

/* sqrtf of a value >= 0 (or NaN) without errno: IEEE sqrt rounds correctly, the same bits
 * as sqrtf. */
__attribute__((optimize("no-math-errno"))) static inline float sqrt_nonneg(float v) {
    return sqrtf(v);
}

/* w_i = imp_i sqrt(sigma2 + x_i^2), 8 at a time with vsqrtps where the build has AVX: gcc 12
 * would neither inline sqrt_nonneg into this loop nor vectorise it (a call per element, 2%
 * of a q4_0 run, Xeon SPR perf). The same bits: IEEE sqrt and the same product. */
const float *q_weights_x(const float *importance, int64_t offset, const float *x, int n,
                         float sigma2, float *buf) {
    float ones[QK_K];
    const float *imp = q_weights(importance, offset, n, ones);
    int i = 0;
#ifdef __AVX__
    const __m256 s2 = _mm256_set1_ps(sigma2);
    for (; i + 8 <= n; i += 8) {
        const __m256 xv = _mm256_loadu_ps(x + i);
        const __m256 r = _mm256_sqrt_ps(_mm256_add_ps(s2, _mm256_mul_ps(xv, xv)));
        _mm256_storeu_ps(buf + i, _mm256_mul_ps(_mm256_loadu_ps(imp + i), r));
    }
#endif
    for (; i < n; i++) buf[i] = imp[i] * sqrt_nonneg(sigma2 + x[i] * x[i]);
    return buf;
}

/* The scale search of qsearch_sym. With y = sgn x (sgn the sign of the scale) and codes
 * q_i(s) = clamp(round(s y_i), qmin, qmax) (s > 0), a candidate inverse scale s is scored
 * by (sum w y q)^2 / sum w q^2, the error drop of the best d for its codes. The codes change
 * only where s crosses (k + 0.5) / |y_i|: scoring just above every crossing of an interval
 * visits every distinct code vector there (the exact optimum of the interval, where a grid
 * of trial scales can step over the best one). That costs one pass per crossing, so a
 * coarse grid of COARSE scales over the whole window (both signs) first finds where the
 * best is, and the exact crossing sweep then runs one grid step either side of it.
 * Candidates are scored CAND_LANES at a time, one per SIMD lane (score_lanes), with the sums in
 * element order: the same bits on every ISA. */
/* MAX_SPAN: crossings per element in one window (add_crossings); MAX_CAND: the crossings of
 * the windows of both signs, each at most MAX_SPAN per element, plus each window's start */
enum { LANES = 8, CAND_LANES = 16, COARSE = 16, MAX_SPAN = 16 };
enum { MAX_CAND = 2 * QK_K * MAX_SPAN + 2 };

/* 16 floats as one value of GNU C's generic vectors (one AVX-512 register here, two AVX2
 * ones elsewhere): sums held in such values stay in registers through a loop, where gcc 12
 * kept a float array of sums in memory, reloading it at each element (a store-forwarding
 * delay in every fma chain: most of best_of's time, Xeon SPR perf). */
typedef float f32x16 __attribute__((vector_size(64)));

static inline f32x16 splat16(float v) {
    return (f32x16){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v};
}

/* Scores of the candidate scales s[0..16 nvec) over the n values y, wy = w y, weights w.
 * Each lane is one candidate summed in element order, so the lane count changes no bits;
 * 2 vectors keep two independent chains of sums in flight where 1 waits on the fma
 * latency. nvec is a constant at each call (score_16, score_32). The score (sum w y q)^2 /
 * sum w q^2 is divided in SIMD lanes too (as a scalar per lane it took longer than the
 * scoring). sq2 = 0 only when every code is 0, and then syq = 0: divided by 1 instead,
 * v = 0 and the score is -1; elsewhere the same bits as the division (v - 0). */
/* Built with fp-contract=fast so that each a + b * c of score_lanes is one fused
 * multiply-add (fmaf's single rounding: the bits of the scalar reference); generic vectors
 * have no fma builtin in gcc 12, and -std=c11 turns contraction off elsewhere. And at O3
 * whatever the build: gcc 12 fuses only from -O2, so the -O1 of SANITIZE=1 rounded twice
 * and its codes differed from the release build's (q8_0: 122 of 1368 stories260K blocks, 67
 * of 2046 SmolLM2 ones, tests/test_quantize_search.c); a per-lane fmaf kept the sums in
 * memory at -O3. */
#define CONTRACT __attribute__((optimize("O3", "fp-contract=fast")))

typedef int32_t i32x16 __attribute__((vector_size(64)));

/* The codes of score_lanes in whole f32x16 values: the former per-lane loop over a float
 * array was vectorised 8 wide (gcc 12's 256-bit preference for this CPU), its two ymm stores
 * read back as one zmm: a failed store forwarding per element and half of the scoring's
 * time (perf annotate; SmolLM2 rows, thread CPU time, one thread, Xeon SPR: q4_0 72 -> 28
 * ns/value, q8_0 26.5 -> 13, q3_k 57 -> 31; the same bytes). clamp(rint(v)) = rint(clamp(v)) for integer bounds (rint is
 * monotone and keeps integers), so the clamp comes first and bounds |v| for round_small16.
 * clamp(v, lo, hi) as the scalar rule writes it (v < lo ? lo : v, then v > hi ? hi : v),
 * with the lane masks of GNU C's vector compares (C has no vector ?:). */
static inline f32x16 clamp16(f32x16 v, f32x16 lo, f32x16 hi) {
#ifdef __AVX512F__
    /* vmaxps / vminps: one instruction each where the masks took two; they differ only in
     * the sign of a zero (v = -0 at lo = 0) and for NaN (s y is finite), and round_small16
     * makes every zero +0 */
    return (f32x16)_mm512_min_ps(_mm512_max_ps((__m512)v, (__m512)lo), (__m512)hi);
#else
    i32x16 m = v < lo;
    v = (f32x16)((m & (i32x16)lo) | (~m & (i32x16)v));
    m = v > hi;
    return (f32x16)((m & (i32x16)hi) | (~m & (i32x16)v));
#endif
}

/* rintf of |v| <= 2^22 (round to nearest even): adding 1.5 * 2^23 leaves no fraction bits.
 * A -0 code comes out +0: the same sums (an fma adding -0 to a sum adds nothing). */
static inline f32x16 round_small16(f32x16 v) {
    const f32x16 magic = splat16(12582912.0f);
    return (v + magic) - magic;
}

CONTRACT static inline void score_lanes(int n, const float *y, const float *wy, const float *w,
                                        float lo, float hi, const float *s, int nvec,
                                        double *score) {
    f32x16 sv[2], syq[2], sq2[2];
    const f32x16 lov = splat16(lo), hiv = splat16(hi);
    for (int k = 0; k < nvec; k++) {
        memcpy(&sv[k], s + 16 * k, sizeof sv[k]);
        syq[k] = (f32x16){0}, sq2[k] = (f32x16){0};
    }
    for (int i = 0; i < n; i++) {
        const f32x16 wyi = splat16(wy[i]), wi = splat16(w[i]), yi = splat16(y[i]);
        for (int k = 0; k < nvec; k++) { /* the codes as the scalar rule, then the sums */
            const f32x16 q = round_small16(clamp16(sv[k] * yi, lov, hiv));
            syq[k] = syq[k] + wyi * q;      /* fmaf(wy, q, syq): contracted (CONTRACT) */
            sq2[k] = sq2[k] + (wi * q) * q; /* fmaf(w q, q, sq2) */
        }
    }
    for (int k = 0; k < nvec; k++)
#pragma omp simd
        for (int l = 0; l < 16; l++) {
            const double zero = sq2[k][l] == 0.0f;
            const double v = (double)syq[k][l] * syq[k][l] / ((double)sq2[k][l] + zero);
            score[16 * k + l] = v - zero * (v + 1);
        }
}

CONTRACT static void score_16(int n, const float *y, const float *wy, const float *w, float lo,
                              float hi, const float *s, double *score) {
    score_lanes(n, y, wy, w, lo, hi, s, 1, score);
}

CONTRACT static void score_32(int n, const float *y, const float *wy, const float *w, float lo,
                              float hi, const float *s, double *score) {
    score_lanes(n, y, wy, w, lo, hi, s, 2, score);
}

/* Score of one scale s, and its least-squares d (sum w y q / sum w q^2); the elements are
 * the lanes here, summed in a fixed order (n a multiple of LANES, as every block is). */
static double score_one(int n, const float *y, const float *wy, const float *w, float lo, float hi,
                        float s, float *d) {
    float syq[LANES] = {0}, sq2[LANES] = {0};
    for (int i = 0; i + LANES <= n; i += LANES) {
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            float q = rintf(s * y[i + l]);
            q = q < lo ? lo : q;
            q = q > hi ? hi : q;
            syq[l] = fmaf(wy[i + l], q, syq[l]);
            sq2[l] = fmaf(w[i + l] * q, q, sq2[l]);
        }
    }
    double a = 0, b = 0;
    for (int l = 0; l < LANES; l++) a += syq[l], b += sq2[l];
    *d = b > 0 ? (float)(a / b) : 0;
    return b > 0 ? a * a / b : -1;
}

/* The scores of the n_c candidates cand[] (padded here to whole lane groups), 32 at a time
 * while 32 remain. */
static void score_all(int n, const float *y, const float *wy, const float *w, int qmin, int qmax,
                      float *cand, int n_c, double *score) {
    for (int k = n_c; k % CAND_LANES; k++) cand[k] = cand[n_c - 1];
    for (int k = 0; k < n_c;) {
        const int lanes = n_c - k >= 2 * CAND_LANES ? 2 * CAND_LANES : CAND_LANES;
        if (lanes == CAND_LANES)
            score_16(n, y, wy, w, (float)qmin, (float)qmax, cand + k, score + k);
        else
            score_32(n, y, wy, w, (float)qmin, (float)qmax, cand + k, score + k);
        k += lanes;
    }
}

/* The first index of the largest of score[0..n) (n > 0): the max as a vector reduction,
 * then a search for it; a compare-and-keep loop carries its compare through every element
 * (a quarter of the search's time on the Xeon SPR). */
static int arg_max(const double *score, int n) {
    double top = score[0];
#pragma omp simd reduction(max : top)
    for (int k = 0; k < n; k++) top = score[k] > top ? score[k] : top;
    int k = 0;
    while (score[k] != top) k++;
    return k;
}

/* The best of the n_c candidates cand[] (the first of equal scores) and its score, or -1.
 * A batch is searched for its first top lane only when its max beats the best so far: with
 * the candidates of a sign in increasing scale, most batches do not (arg_max's reduction and
 * search, one mispredicted branch a lane, were half of best_of's time, Xeon SPR perf). */
static double best_of(int n, const float *y, const float *wy, const float *w, int qmin, int qmax,
                      float *cand, int n_c, float *best_s) {
    double best = -1, score[2 * CAND_LANES];
    for (int k = n_c; k % CAND_LANES; k++) cand[k] = cand[n_c - 1]; /* ties keep the first */
    for (int k = 0; k < n_c;) {
        const int lanes = n_c - k >= 2 * CAND_LANES ? 2 * CAND_LANES : CAND_LANES;
        if (lanes == CAND_LANES)
            score_16(n, y, wy, w, (float)qmin, (float)qmax, cand + k, score);
        else
            score_32(n, y, wy, w, (float)qmin, (float)qmax, cand + k, score);
        double top = best;
#pragma omp simd reduction(max : top)
        for (int l = 0; l < lanes; l++) top = score[l] > top ? score[l] : top;
        if (top > best) {
            int first = lanes;
#pragma omp simd reduction(min : first)
            for (int l = 0; l < lanes; l++) first = score[l] == top && l < first ? l : first;
            best = top, *best_s = cand[k + first];
        }
        k += lanes;
    }
    return best;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* The last j whose crossing ((float)j + 0.5) * inv_a (add_crossings' float, increasing in j
 * for every j, negative ones too) is <= s, from e = (int)(s |x| - 0.5): the float crossings and
 * that float product round apart by a few ulps, which moves the answer at most 1 from
 * floor(s |x| - 0.5) (both near one integer), and e is that floor or (for a product in
 * [-0.5, 0)) 1 above it, so counting e - 1, e, e + 1 finds it. (floorf would keep gcc 12
 * from vectorising the loop.) */
static inline int last_crossing_at_or_under(float s, float a, float inv_a) {
    const int e = (int)(s * a - 0.5f);
    const float c = (float)e; /* crossing e + t is ((c + t) + 0.5) inv_a: one conversion, the
                                 sums exact (|e| is small) */
    return e - 2 + ((c - 0.5f) * inv_a <= s) + ((c + 0.5f) * inv_a <= s) +
           ((c + 1.5f) * inv_a <= s);
}

/* Appends to cand[n_c..] every distinct code vector of the scales sgn s, s in (s_lo, s_hi]:
 * just above each crossing, in element order and, per element, in increasing s (sgn = -1
 * searches the codes of -x: a negative scale rounds as the positive one does on -x, since
 * rintf is odd). Element i crosses from code j to j + 1 at s = (j + 0.5) / |x_i|; its first
 * crossing in the window is at j0 = s_lo |x_i| - 0.5 (or the one after) and there are at
 * most span = (s_hi - s_lo) max|x| + 2 of them (+ 1 for the rounding of that product).
 * Those of the span steps j0 + t, t < span, at or under s_lo (`below`) and in the window
 * (`inside`, codes under the clamp) are counted from the last crossing under each end of
 * the window, in SIMD lanes: the same counts as testing every step, for 6 crossings an
 * element where q4_0's window had 8 steps of 4 tests (a fifth of its search, Xeon SPR
 * perf). Each element's run is then written whole (span rounded up to 8 or 16 values, the
 * count advanced by its length): the former pack loop, one store and add per (element,
 * step), was a quarter of q4_0's time. Returns the new count; cand needs room for 16
 * values past it. */
static int add_crossings(int n, const float *x, int qmin, int qmax, float sgn, float s_lo,
                         float s_hi, float amax, float *cand, int n_c) {
    const float above = 1.0f + 0x1p-20f; /* just past a crossing, before any distinct one */
    /* sgn (c above) as c (sgn above): rounding to nearest is odd. And crossing j + k as
     * (j + 0.5) + k times 1 / |x|, the sum exact: the same bits for half the run's work
     * (no conversion a value, one product less) */
    const float sgn_above = sgn * above;
    float inv_a[QK_K];
    int inside[QK_K], j0[QK_K], last_lo[QK_K], last_hi[QK_K], lim[QK_K];
    float first[QK_K]; /* the first crossing's j + 0.5 (exact: |j| < 2^22) */
    int span = (int)((s_hi - s_lo) * amax) + 3;
    span = span > MAX_SPAN ? MAX_SPAN : span;
#pragma omp simd
    for (int i = 0; i < n; i++) {
        /* 1 / 0 = inf here (crossings -inf for j < 0, +inf from 0: the last one under
         * either end is -1, no run), made 0 in the next loop: a division under a select
         * kept gcc 12 from vectorising this loop for AVX2 */
        const float a = fabsf(x[i]), ia = 1.0f / a;
        inv_a[i] = ia;
        lim[i] = sgn * x[i] > 0 ? qmax : -qmin;
        j0[i] = (int)(s_lo * a - 0.5f);
        last_lo[i] = last_crossing_at_or_under(s_lo, a, ia);
        last_hi[i] = last_crossing_at_or_under(s_hi, a, ia);
    }
    /* (a second loop: in the first, these selects kept gcc 12 from vectorising it) */
#pragma omp simd
    for (int i = 0; i < n; i++) {
        inv_a[i] = x[i] != 0 ? inv_a[i] : 0.0f;
        const int j = j0[i] < 0 ? 0 : j0[i];
        int below = last_lo[i] - j + 1;
        below = below < 0 ? 0 : below > span ? span : below;
        /* the last crossing inside: at or under s_hi, j < lim, t < span */
        int last = last_hi[i] < lim[i] - 1 ? last_hi[i] : lim[i] - 1;
        last = last < j + span - 1 ? last : j + span - 1;
        first[i] = (float)(j + below) + 0.5f;
        const int count = last - (j + below) + 1;
        inside[i] = inv_a[i] > 0 && count > 0 ? count : 0;
    }
    if (span <= 8) {
        for (int i = 0; i < n; i++) {
            float run[8];
#pragma omp simd
            for (int k = 0; k < 8; k++) run[k] = ((first[i] + (float)k) * inv_a[i]) * sgn_above;
            memcpy(cand + n_c, run, sizeof run);
            n_c += inside[i];
        }
        return n_c;
    }
    for (int i = 0; i < n; i++) {
        float run[MAX_SPAN];
#pragma omp simd
        for (int k = 0; k < MAX_SPAN; k++)
            run[k] = ((first[i] + (float)k) * inv_a[i]) * sgn_above;
        memcpy(cand + n_c, run, sizeof run);
        n_c += inside[i];
    }
    return n_c;
}

/* max |x| (vectorised) and the first value of that magnitude in *xmax */
static float abs_max(int n, const float *x, float *xmax) {
    float amax = 0;
#pragma omp simd reduction(max : amax)
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        amax = a > amax ? a : amax; /* fmaxf is a libm call per element here (gcc 12) */
    }
    *xmax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) == amax) {
            *xmax = x[i];
            break;
        }
    return amax;
}

/* The window of scales of one sign (sgn = +-1): the extreme value mapped from 2 codes
 * inside its end of the range to 3 beyond it (clipping). The former grid search (+-1.5
 * codes and two refinements) never found its best outside; tests/test_quantize_search.c
 * holds that search. Returns 0 when this sign has no codes at the extreme's end. */
static int sym_window(float sgn, float xmax, float amax, int qmin, int qmax, float *lo, float *hi) {
    const float end = (float)(sgn * xmax > 0 ? qmax : -qmin);
    if (end <= 0) return 0;
    *lo = fmaxf(end - 2.0f, 0.25f) / amax, *hi = (end + 3.0f) / amax;
    return 1;
}

/* Many codes: a grid of COARSE scales over each sign's window finds where the best is, and
 * every code vector within one grid step of the best grid point is scored. */
static double sym_grid_search(int n, const float *x, const float *wx, const float *w, int qmin,
                              int qmax, int n_signs, float xmax, float amax, float *best_s) {
    float lo[2], hi[2], step[2], grid[2 * COARSE + 2 * CAND_LANES];
    float cand[MAX_CAND + 2 * CAND_LANES];
    double score[2 * COARSE + 2 * CAND_LANES];
    int n_g = 0;
    for (int g = 0; g < n_signs; g++) {
        const float sgn = g ? -1.0f : 1.0f;
        if (!sym_window(sgn, xmax, amax, qmin, qmax, &lo[g], &hi[g])) continue;
        step[g] = (hi[g] - lo[g]) / (COARSE - 1);
        for (int k = 0; k < COARSE; k++) grid[n_g++] = sgn * (lo[g] + step[g] * (float)k);
    }
    if (!n_g) return -1;
    score_all(n, x, wx, w, qmin, qmax, grid, n_g, score);
    const int kb = arg_max(score, n_g);
    double best = score[kb];
    *best_s = grid[kb];
    if (best < 0) return best;
    const int g = *best_s < 0;
    const float p = fabsf(*best_s);
    const int n_c = add_crossings(n, x, qmin, qmax, g ? -1.0f : 1.0f, fmaxf(p - step[g], lo[g]),
                                  fminf(p + step[g], hi[g]), amax, cand, 0);
    float s_fine = 0;
    const double fine = best_of(n, x, wx, w, qmin, qmax, cand, n_c, &s_fine);
    if (fine > best) best = fine, *best_s = s_fine;
    return best;
}

/* Few codes (<= 16: q4_0, q3_k, q2_0): a grid steps over optima that the former search
 * found (test_quantize_search.c: q3_k on stories260K), and a sweep of the whole windows of
 * both signs has few crossings (about 50 a sign for q4_0): every code vector is scored.
 * Tried (2026-12-03, Xeon SPR, SmolLM2 q4_0 blocks): exact scores S^2 / T updated crossing
 * by crossing in increasing s (double, O(1) each), keeping for the float scoring only the
 * candidates within the float sums' error bound (4 (n + 2) 2^-24 relative) of the best:
 * 1.9 of 91 candidates a block were left (4% of blocks fell back to scoring all), the same
 * bits, but sorting the crossings and the scalar sweep took 3370 ns a block where scoring
 * all 91 in SIMD lanes takes 1620 (16 vector ops a candidate): a sort in SIMD lanes would
 * be needed to gain. Since score_lanes stopped failing its store forwarding, the whole
 * q4_0 block search takes about 800 ns (SmolLM2 rows, one thread), the scoring a third of it:
 * the sort and walk alone would cost four times what they could save. */
static double sym_full_sweep(int n, const float *x, const float *wx, const float *w, int qmin,
                             int qmax, int n_signs, float xmax, float amax, float *best_s) {
    float cand[MAX_CAND + 2 * CAND_LANES];
    int n_c = 0;
    for (int g = 0; g < n_signs; g++) {
        const float sgn = g ? -1.0f : 1.0f;
        float lo, hi;
        if (!sym_window(sgn, xmax, amax, qmin, qmax, &lo, &hi)) continue;
        cand[n_c++] = sgn * lo;
        n_c = add_crossings(n, x, qmin, qmax, sgn, lo, hi, amax, cand, n_c);
    }
    return best_of(n, x, wx, w, qmin, qmax, cand, n_c, best_s);
}

/* Scales are signed: a negative one codes -x (add_crossings), so both signs are scored in
 * one pass over x. */
float qsearch_sym(int n, const float *x, const float *w, int qmin, int qmax, int *q) {
    float xmax;
    const float amax = abs_max(n, x, &xmax);
    if (amax < 1e-30f) {
        for (int i = 0; i < n; i++) q[i] = 0;
        return 0.0f;
    }
    const int n_signs = qmin < 0 && qmin != -qmax ? 2 : 1;
    float wx[QK_K];
#pragma omp simd
    for (int i = 0; i < n; i++) wx[i] = w[i] * x[i];
    float best_s = 0;
    double best = qmax - qmin < 16
                      ? sym_full_sweep(n, x, wx, w, qmin, qmax, n_signs, xmax, amax, &best_s)
                      : sym_grid_search(n, x, wx, w, qmin, qmax, n_signs, xmax, amax, &best_s);
    if (best < 0) {
        for (int i = 0; i < n; i++) q[i] = 0;
        return 0.0f;
    }
    /* polish: the scale of the best codes' least-squares d, twice (the former search's
     * refinement step) */
    float d = 0;
    if (n % LANES == 0) score_one(n, x, wx, w, (float)qmin, (float)qmax, best_s, &d);
    for (int r = 0; r < 2 && n % LANES == 0; r++) {
        if (!(d * best_s > 0)) break; /* the sign of the codes stays */
        const float s_ls = 1.0f / d;
        float d_ls;
        const double sc = score_one(n, x, wx, w, (float)qmin, (float)qmax, s_ls, &d_ls);
        if (!(sc > best)) break;
        /* the next step's d is d_ls: score_one(s_ls) again would give the same bits (it
         * was called twice a step, a tenth of q8_0's search time, Xeon SPR perf) */
        best = sc, best_s = s_ls, d = d_ls;
    }
    /* the codes, and d = sum w x q / sum w q^2 in LANES double lanes (element i in lane
     * i % LANES, added in lane order: the same bits on every ISA) */
    float v[QK_K];
#pragma omp simd
    for (int i = 0; i < n; i++) {
        float c = rintf(best_s * x[i]); /* as score_lanes rounds */
        c = c < qmin ? (float)qmin : c;
        c = c > qmax ? (float)qmax : c;
        v[i] = c, q[i] = (int)c;
    }
    double sum_xq[LANES] = {0}, sum_q2[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            const double wq = (double)w[i + l] * v[i + l];
            sum_xq[l] += wq * x[i + l], sum_q2[l] += wq * v[i + l];
        }
    for (; i < n; i++)
        sum_xq[i % LANES] += (double)w[i] * v[i] * x[i],
            sum_q2[i % LANES] += (double)w[i] * v[i] * v[i];
    double xq = 0, q2 = 0;
    for (int l = 0; l < LANES; l++) xq += sum_xq[l], q2 += sum_q2[l];
    return q2 > 0 ? (float)(xq / q2) : 0.0f;
}

/* Codes for (d, m) and their weighted squared error: LANES lanes (element i in lane
 * i % LANES, a scalar tail), added in lane order, the same bits on every ISA. */
static float q_err_lanes(int n, const float *x, const float *w, float d, float m, int qmin,
                         int qmax, int *q) {
    const float inv_d = d != 0 ? 1.0f / d : 0.0f, lo = (float)qmin, hi = (float)qmax;
    double err[LANES] = {0};
    int i = 0;
    for (; i + LANES <= n; i += LANES) {
#pragma omp simd
        for (int l = 0; l < LANES; l++) {
            float c = rintf((x[i + l] - m) * inv_d);
            c = c < lo ? lo : c;
            c = c > hi ? hi : c;
            q[i + l] = (int)c;
            const float e = d * c + m - x[i + l];
            err[l] += (double)w[i + l] * e * e;
        }
    }
    for (; i < n; i++) {
        q[i] = round_clamp((x[i] - m) * inv_d, qmin, qmax);
        const float e = d * q[i] + m - x[i];
        err[i % LANES] += (double)w[i] * e * e;
    }
    double total = 0;
    for (int l = 0; l < LANES; l++) total += err[l];
    return (float)total;
}

float q_err_affine(int n, const float *x, const float *w, float d, float m, int qmax, int *q) {
    return q_err_lanes(n, x, w, d, m, 0, qmax, q);
}

float q_err_sym(int n, const float *x, const float *w, float d, int qmin, int qmax, int *q) {
    return q_err_lanes(n, x, w, d, 0.0f, qmin, qmax, q);
}

/* The indices of x by |x| descending, ties in index order: a stable LSD radix sort, 8 bits a
 * pass, of the complemented bits of |x| (a float >= 0 orders as its bits); a pass whose digit
 * is the same for every element is skipped. It replaced qsort (glibc's merge sort, which kept
 * ties in index order too: the same codes), the larger part of TQ1_0 / TQ2_0 quantization. */
static void abs_order_desc(int n, const float *x, uint16_t *order) {
    uint32_t key[QK_K], key_tmp[QK_K];
    uint16_t order_tmp[QK_K];
    for (int i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        memcpy(&key[i], &a, sizeof a);
        key[i] = ~key[i], order[i] = (uint16_t)i;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        int start[257] = {0};
        for (int i = 0; i < n; i++) start[((key[i] >> shift) & 255) + 1]++;
        if (start[((key[0] >> shift) & 255) + 1] == n) continue;
        for (int b = 0; b < 256; b++) start[b + 1] += start[b];
        for (int i = 0; i < n; i++) {
            int p = start[(key[i] >> shift) & 255]++;
            key_tmp[p] = key[i], order_tmp[p] = order[i];
        }
        memcpy(key, key_tmp, (size_t)n * sizeof key[0]);
        memcpy(order, order_tmp, (size_t)n * sizeof order[0]);
    }
}

/* Ternary codes (TQ1_0, TQ2_0): x ~ d t, t in {-1, 0, 1}. For a given d the best codes are
 * t = sign(x) where |x| > d / 2, so the optimal support is the k largest |x| for some k;
 * for that support the least-squares d is sum w|x| / sum w and the error drops by
 * (sum w|x|)^2 / sum w. Trying every k (|x| sorted once) gives the exact optimum. */
static float ternary_scale(int n, const float *x, const float *w) {
    uint16_t order[QK_K];
    abs_order_desc(n, x, order);
    double s_ax = 0, s_w = 0, best = 0, best_d = 0;
    for (int k = 0; k < n && fabsf(x[order[k]]) > 0; k++) {
        s_ax += (double)w[order[k]] * fabsf(x[order[k]]);
        s_w += w[order[k]];
        if (s_w > 0 && s_ax * s_ax / s_w > best) best = s_ax * s_ax / s_w, best_d = s_ax / s_w;
    }
    return (float)best_d;
}

uint16_t qsearch_ternary(int n, const float *x, const float *w, int *t) {
    uint16_t d = f32_to_fp16(ternary_scale(n, x, w));
    q_err_sym(n, x, w, fp16_to_f32(d), -1, 1, t); /* codes for the d that is stored */
    return d;
}
