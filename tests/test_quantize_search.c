/* test_quantize_search.c - the scale search (quant/search.c) against the search it replaced,
 * kept here as the reference: on real weight rows (stories260K and, when fetched, SmolLM2),
 * for the block size and code range of every format that uses it, the total weighted
 * squared error of the new search is never above the reference's. */
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../quant/formats.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "shared_data.h"
#include "test.h"

/* ---- the former search (grid of 31 starting scales per end, two refinements) ---- */
static int ref_round_clamp(float v, int lo, int hi) {
    v = v < lo ? (float)lo : v > hi ? (float)hi : v;
    return (int)nearbyintf(v);
}

static void ref_round_sym(int n, const float *x, const float *w, float inv_d, int qmin, int qmax,
                          int *q, double *sumqx, double *sumq2) {
    double qx = 0, q2 = 0;
    for (int i = 0; i < n; i++) {
        q[i] = ref_round_clamp(x[i] * inv_d, qmin, qmax);
        qx += (double)w[i] * x[i] * q[i];
        q2 += (double)w[i] * q[i] * q[i];
    }
    *sumqx = qx, *sumq2 = q2;
}

static float ref_qsearch_sym(int n, const float *x, const float *w, int qmin, int qmax, int *q) {
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
    int ends[2] = {qmax, qmin};
    for (int e = 0; e < 2; e++) {
        if (ends[e] == 0) continue;
        for (int k = -15; k <= 15; k++) {
            float inv_d = ((float)ends[e] + 0.1f * k) / xmax;
            double sumqx, sumq2;
            ref_round_sym(n, x, w, inv_d, qmin, qmax, tmp, &sumqx, &sumq2);
            for (int r = 0; sumq2 > 0 && r <= 2; r++) {
                double score = sumqx * sumqx / sumq2;
                if (score > best_score) {
                    best_score = score;
                    best_d = (float)(sumqx / sumq2);
                    memcpy(q, tmp, sizeof(int) * (size_t)n);
                }
                float d = (float)(sumqx / sumq2);
                if (d == 0) break;
                ref_round_sym(n, x, w, 1.0f / d, qmin, qmax, tmp, &sumqx, &sumq2);
            }
        }
    }
    return best_d;
}

static float ref_q_err_affine(int n, const float *x, const float *w, float d, float m, int qmax,
                              int *q) {
    float inv_d = d != 0 ? 1.0f / d : 0.0f;
    double err = 0;
    for (int i = 0; i < n; i++) {
        q[i] = ref_round_clamp((x[i] - m) * inv_d, 0, qmax);
        float e = d * q[i] + m - x[i];
        err += (double)w[i] * e * e;
    }
    return (float)err;
}

static void ref_fit_affine(int n, const float *x, const float *w, const int *q, int min_nonpos,
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
    } else {
        *d = 0;
        *m = sw > 0 ? (float)(sx / sw) : 0;
    }
    if (min_nonpos && *m > 0) {
        *m = 0;
        *d = sq2 > 0 ? (float)(sqx / sq2) : 0;
    }
}

static float ref_qsearch_affine(int n, const float *x, const float *w, int qmax, int min_nonpos,
                                float *m, int *q) {
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
    for (int k = -15; k <= 15; k++) {
        float d = (hi - lo) / ((float)qmax + 0.1f * k), mm = lo;
        for (int r = 0; r <= 2; r++) {
            if (!(d > 0)) break;
            ref_q_err_affine(n, x, w, d, mm, qmax, tmp);
            ref_fit_affine(n, x, w, tmp, min_nonpos, &d, &mm);
            float err = ref_q_err_affine(n, x, w, d, mm, qmax, tmp);
            if (err < best_err) best_err = err, best_d = d, best_m = mm;
        }
    }
    ref_q_err_affine(n, x, w, best_d, best_m, qmax, q);
    *m = best_m;
    return best_d;
}

/* ---- the former IQ4_NL block search (62 starting scales, two refinements each) ---- */
static int ref_nearest_index(float v) {
    int best = 0;
    for (int k = 1; k < 16; k++)
        if (fabsf(v - kvalues_iq4nl[k]) < fabsf(v - kvalues_iq4nl[best])) best = k;
    return best;
}

static void ref_assign(const float *x, const float *w, float inv_d, int *idx, double *skx,
                       double *sk2) {
    *skx = *sk2 = 0;
    for (int j = 0; j < 32; j++) {
        idx[j] = ref_nearest_index(x[j] * inv_d);
        int k = kvalues_iq4nl[idx[j]];
        *skx += (double)w[j] * x[j] * k;
        *sk2 += (double)w[j] * k * k;
    }
}

static float ref_iq4nl_search_block(const float *x, const float *w, int *idx) {
    float amax = 0, xmax = 0;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) amax = fabsf(x[j]), xmax = x[j];
    for (int j = 0; j < 32; j++) idx[j] = ref_nearest_index(0.0f);
    if (amax < 1e-30f) return 0.0f;
    int tmp[32];
    double best = -1;
    float best_d = 0;
    const float ends[2] = {-127.0f, 113.0f};
    for (int e = 0; e < 2; e++)
        for (int s = -15; s <= 15; s++) {
            double skx, sk2;
            ref_assign(x, w, (ends[e] + s) / xmax, tmp, &skx, &sk2);
            for (int r = 0; r < 3 && sk2 > 0; r++) {
                if (skx * skx / sk2 > best) {
                    best = skx * skx / sk2, best_d = (float)(skx / sk2);
                    for (int j = 0; j < 32; j++) idx[j] = tmp[j];
                }
                if (skx == 0) break;
                ref_assign(x, w, (float)(sk2 / skx), tmp, &skx, &sk2);
            }
        }
    return best_d;
}

/* ---- rows of real weights ---- */
typedef struct {
    float *x;
    int64_t n;
} rows;

/* Up to max_values values of every 2-D tensor of path, dequantized, from evenly spaced rows. */
static int load_rows(const char *path, int64_t max_values, rows *out) {
    scarce_error err;
    gguf_file *f = gguf_open(path, &err);
    if (!f) return -1;
    out->x = malloc(sizeof(float) * (size_t)max_values);
    out->n = 0;
    int n_mats = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) n_mats += f->tensors[i].n_dims == 2;
    for (uint64_t i = 0; out->x && i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        const int64_t ne0 = t->ne[0];
        if (t->n_dims != 2 || ne0 % 64 || !qtype(t->type)->dequantize) continue;
        const int64_t per = max_values / n_mats, stride = t->ne[1] / (per / ne0 + 1) + 1;
        const size_t rb = qtype_row_bytes(t->type, ne0);
        for (int64_t r = 0; r < t->ne[1] && out->n + ne0 <= max_values; r += stride) {
            qtype(t->type)->dequantize((const uint8_t *)t->data + (size_t)r * rb, out->x + out->n,
                                       ne0);
            out->n += ne0;
        }
    }
    gguf_close(f);
    return out->x && out->n > 0 ? 0 : -1;
}

/* ---- the comparison ---- */
typedef struct {
    const char *type; /* the format whose blocks these are */
    int n, qmin, qmax;
} sym_case;

/* x^2-like weights as the quantizers derive them without an imatrix (0: all ones) */
static void block_weights(const float *x, int n, int kind, float *w) {
    for (int i = 0; i < n; i++) w[i] = kind == 0 ? 1.0f : x[i] * x[i] + 1e-4f * (1 + i % 7);
}

/* sum over blocks of sum w (x - fp16(d) q)^2, the error a stored block has */
static double sym_error(float (*search)(int, const float *, const float *, int, int, int *),
                        const sym_case *c, const rows *r, int weights) {
    double e = 0;
    float w[QK_K];
    int q[QK_K];
    for (int64_t b = 0; b + c->n <= r->n; b += c->n) {
        const float *x = r->x + b;
        block_weights(x, c->n, weights, w);
        const float d = fp16_to_f32(f32_to_fp16(search(c->n, x, w, c->qmin, c->qmax, q)));
        for (int i = 0; i < c->n; i++) e += (double)w[i] * (x[i] - d * q[i]) * (x[i] - d * q[i]);
    }
    return e;
}

static void compare_on(const char *path) {
    rows r;
    REQUIRE(load_rows(path, 1 << 18, &r) == 0);
    static const sym_case cases[] = {
        {"q8_0", 32, -127, 127}, {"q5_0", 32, -16, 15}, {"q4_0", 32, -8, 7},
        {"q2_0", 64, -1, 2},     {"q6_k", 16, -32, 31}, {"q3_k", 16, -4, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int weights = 0; weights < 2; weights++) {
            const double e_new = sym_error(qsearch_sym, &cases[k], &r, weights);
            const double e_ref = sym_error(ref_qsearch_sym, &cases[k], &r, weights);
            printf("  %-5s %s: squared error %.6g (reference %.6g)\n", cases[k].type,
                   weights ? "x^2 weights" : "unweighted ", e_new, e_ref);
            CHECK_MSG(e_new <= e_ref, "%s (%s weights) on %s: %.9g > reference %.9g", cases[k].type,
                      weights ? "x^2" : "unit", path, e_new, e_ref);
        }
    /* the affine search (q4_1, q5_1, q2_0_32, K-quant sub-blocks): the same starts and
     * refinements, its errors in double from the fit sums where the reference compares
     * them rounded to float, so candidates within a float ulp (1e-7 relative) may be
     * chosen the other way; beyond that the total weighted error of the stored (fp16)
     * scale and offset is never above the reference's */
    static const int affine[][3] = {{32, 15, 0}, {32, 31, 0}, {32, 3, 0}, {32, 15, 1}, {16, 3, 1}};
    for (size_t k = 0; k < sizeof affine / sizeof affine[0]; k++) {
        const int n = affine[k][0], qmax = affine[k][1], nonpos = affine[k][2];
        float w[QK_K], m;
        int q[QK_K];
        double e_new = 0, e_ref = 0;
        for (int64_t b = 0; b + n <= r.n; b += n) {
            block_weights(r.x + b, n, (int)(b / n) % 2, w);
            for (int who = 0; who < 2; who++) {
                const float d = who ? ref_qsearch_affine(n, r.x + b, w, qmax, nonpos, &m, q)
                                    : qsearch_affine(n, r.x + b, w, qmax, nonpos, &m, q);
                const float d16 = fp16_to_f32(f32_to_fp16(d)), m16 = fp16_to_f32(f32_to_fp16(m));
                const double e = ref_q_err_affine(n, r.x + b, w, d16, m16, qmax, q);
                *(who ? &e_ref : &e_new) += e;
            }
        }
        printf("  affine n=%d qmax=%d%s: squared error %.6g (reference %.6g)\n", n, qmax,
               nonpos ? " m<=0" : "", e_new, e_ref);
        CHECK_MSG(e_new <= e_ref * (1 + 1e-6), "affine n=%d qmax=%d on %s: %.9g > reference %.9g",
                  n, qmax, path, e_new, e_ref);
    }
    /* IQ4_NL blocks (also IQ4_XS's sub-block scales): the error of the stored (fp16) scale */
    for (int weights = 0; weights < 2; weights++) {
        double e_new = 0, e_ref = 0;
        float w[32];
        int idx[32];
        for (int64_t b = 0; b + 32 <= r.n; b += 32) {
            const float *x = r.x + b;
            block_weights(x, 32, weights, w);
            for (int who = 0; who < 2; who++) {
                const float d = fp16_to_f32(f32_to_fp16(who ? ref_iq4nl_search_block(x, w, idx)
                                                            : iq4nl_search_block(x, w, idx)));
                double e = 0;
                for (int j = 0; j < 32; j++) {
                    const double diff = x[j] - d * kvalues_iq4nl[idx[j]];
                    e += w[j] * diff * diff;
                }
                *(who ? &e_ref : &e_new) += e;
            }
        }
        printf("  iq4_nl %s: squared error %.6g (reference %.6g)\n",
               weights ? "x^2 weights" : "unweighted ", e_new, e_ref);
        CHECK_MSG(e_new <= e_ref, "iq4_nl (%s weights) on %s: %.9g > reference %.9g",
                  weights ? "x^2" : "unit", path, e_new, e_ref);
    }
    free(r.x);
}

TEST(quantize_search_never_worse_stories) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    compare_on(path);
}

TEST(quantize_search_never_worse_smollm2) {
    const char *path = real_model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!path) SKIP("SmolLM2-135M-Instruct.Q4_1.gguf not fetched (models/fetch.sh)");
    compare_on(path);
}

/* ---- the IQ2/IQ3 grid search: the prefix-tree search finds the scan's entries ---- */
#include "../quant/iq_search.h"
#include "quant_data.h"

/* Every grid's tree search against the scan of every entry on Gaussian, outlier and zero
 * targets (some negative, as the parity rule makes them), varied weights (zeros included)
 * and scales from far below to far above the grid: the same entries and the same error,
 * to the bit. */
TEST(iq_tree_search_equals_scan) {
    static const iq_grid grids[] = {
        {.grid64 = iq2xxs_grid, .n_entries = 256}, {.grid64 = iq2xs_grid, .n_entries = 512},
        {.grid64 = iq2s_grid, .n_entries = 1024},  {.grid32 = iq3xxs_grid, .n_entries = 256},
        {.grid32 = iq3s_grid, .n_entries = 512},
    };
    static iq_tree tree;
    enum { N = 64 };
    float t[N], w[N];
    int e_tree[N / 4], e_scan[N / 4];
    for (size_t k = 0; k < sizeof grids / sizeof grids[0]; k++) {
        REQUIRE(iq_tree_init(&tree, &grids[k]) == 0);
        int mismatches = 0, cases = 0;
        for (int kind = DATA_GAUSS; kind <= DATA_ZERO; kind++)
            for (int seed = 0; seed < 40; seed++) {
                fill_data(kind, t, N, 1000 * k + 10 * seed + kind);
                fill_data(DATA_UNIFORM, w, N, 777 + seed);
                for (int i = 0; i < N; i++) {
                    t[i] = i % 9 == 4 ? -fabsf(t[i]) : fabsf(t[i]);
                    w[i] = seed % 5 == 0 ? 1.0f : (i % 11 == 3 ? 0.0f : fabsf(w[i]) + 0.01f);
                }
                const float dl = 0.002f * (float)(1 + seed * seed);
                const double a = iq_fit(&tree, N, t, w, dl, e_tree);
                const double b = iq_fit_scan(&grids[k], N, t, w, dl, e_scan);
                mismatches +=
                    a != b || memcmp(e_tree, e_scan, sizeof(int) * (size_t)(N / tree.width));
                cases++;
            }
        CHECK_MSG(mismatches == 0, "grid %zu: %d of %d groups of fits differ from the scan", k,
                  mismatches, cases);
    }
}

/* ---- qsearch_sym as a plain statement: the same bits, every candidate written out ----
 * search.c computes the candidates of each window in SIMD lanes and shortcuts (crossings
 * counted from the last one under each end of the window, the polish reusing a d); this
 * is what it must compute, element by element: the test holds every faster search to it
 * bit for bit (d and codes), on random, tied, sparse, extreme and real blocks. */
static double plain_score(int n, const float *x, const float *wx, const float *w, int qmin,
                          int qmax, float s) {
    float syq = 0, sq2 = 0;
    for (int i = 0; i < n; i++) {
        float c = rintf(s * x[i]);
        c = c < qmin ? (float)qmin : c > qmax ? (float)qmax : c;
        syq = fmaf(wx[i], c, syq);
        sq2 = fmaf(w[i] * c, c, sq2);
    }
    return sq2 == 0 ? -1 : (double)syq * syq / sq2;
}

/* score_one's sums: element i in lane i % 8, the lanes added in order */
static double plain_score8(int n, const float *x, const float *wx, const float *w, int qmin,
                           int qmax, float s, float *d) {
    float syq[8] = {0}, sq2[8] = {0};
    for (int i = 0; i < n; i++) {
        float c = rintf(s * x[i]);
        c = c < qmin ? (float)qmin : c > qmax ? (float)qmax : c;
        syq[i % 8] = fmaf(wx[i], c, syq[i % 8]);
        sq2[i % 8] = fmaf(w[i] * c, c, sq2[i % 8]);
    }
    double a = 0, b = 0;
    for (int l = 0; l < 8; l++) a += syq[l], b += sq2[l];
    *d = b > 0 ? (float)(a / b) : 0;
    return b > 0 ? a * a / b : -1;
}

/* the first best of the window's crossings (s_lo, s_hi] of sign sgn, after `best` */
static double plain_crossings(int n, const float *x, const float *wx, const float *w, int qmin,
                              int qmax, float sgn, float s_lo, float s_hi, double best,
                              float *best_s) {
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]), inv_a = a > 0 ? 1.0f / a : 0.0f;
        const int lim = sgn * x[i] > 0 ? qmax : -qmin;
        for (int j = 0; inv_a > 0 && j < lim; j++) {
            const float cj = ((float)j + 0.5f) * inv_a;
            if (!(cj > s_lo && cj <= s_hi)) continue;
            const float s = sgn * (cj * (1.0f + 0x1p-20f));
            const double sc = plain_score(n, x, wx, w, qmin, qmax, s);
            if (sc > best) best = sc, *best_s = s;
        }
    }
    return best;
}

static float plain_qsearch_sym(int n, const float *x, const float *w, int qmin, int qmax, int *q) {
    float amax = 0, xmax = 0, wx[QK_K];
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]), xmax = x[i];
    for (int i = 0; i < n; i++) q[i] = 0, wx[i] = w[i] * x[i];
    if (amax < 1e-30f) return 0;
    const int n_signs = qmin < 0 && qmin != -qmax ? 2 : 1;
    float lo[2], hi[2], step[2], best_s = 0;
    int on[2] = {0, 0};
    for (int g = 0; g < n_signs; g++) {
        const float sgn = g ? -1.0f : 1.0f, end = (float)(sgn * xmax > 0 ? qmax : -qmin);
        if (end <= 0) continue;
        on[g] = 1, lo[g] = fmaxf(end - 2.0f, 0.25f) / amax, hi[g] = (end + 3.0f) / amax;
        step[g] = (hi[g] - lo[g]) / 15;
    }
    double best = -1;
    if (qmax - qmin < 16) { /* every code vector of both windows */
        for (int g = 0; g < n_signs; g++) {
            if (!on[g]) continue;
            const float sgn = g ? -1.0f : 1.0f;
            const double sc = plain_score(n, x, wx, w, qmin, qmax, sgn * lo[g]);
            if (sc > best) best = sc, best_s = sgn * lo[g];
            best = plain_crossings(n, x, wx, w, qmin, qmax, sgn, lo[g], hi[g], best, &best_s);
        }
    } else { /* 16 scales a window, then the crossings one step either side of the best */
        for (int g = 0; g < n_signs; g++)
            for (int k = 0; on[g] && k < 16; k++) {
                const float s = (g ? -1.0f : 1.0f) * (lo[g] + step[g] * (float)k);
                const double sc = plain_score(n, x, wx, w, qmin, qmax, s);
                if (sc > best) best = sc, best_s = s;
            }
        if (best >= 0) {
            const int g = best_s < 0;
            const float p = fabsf(best_s);
            best = plain_crossings(n, x, wx, w, qmin, qmax, g ? -1.0f : 1.0f,
                                   fmaxf(p - step[g], lo[g]), fminf(p + step[g], hi[g]), best,
                                   &best_s);
        }
    }
    if (best < 0) return 0;
    for (int r = 0; r < 2 && n % 8 == 0; r++) { /* polish */
        float d;
        plain_score8(n, x, wx, w, qmin, qmax, best_s, &d);
        if (!(d * best_s > 0)) break;
        const float s_ls = 1.0f / d;
        const double sc = plain_score8(n, x, wx, w, qmin, qmax, s_ls, &d);
        if (!(sc > best)) break;
        best = sc, best_s = s_ls;
    }
    double sxq[8] = {0}, sq2[8] = {0};
    for (int i = 0; i < n; i++) {
        float c = rintf(best_s * x[i]);
        c = c < qmin ? (float)qmin : c > qmax ? (float)qmax : c;
        q[i] = (int)c;
        sxq[i % 8] += (double)w[i] * c * x[i], sq2[i % 8] += (double)w[i] * c * c;
    }
    double a = 0, b = 0;
    for (int l = 0; l < 8; l++) a += sxq[l], b += sq2[l];
    return b > 0 ? (float)(a / b) : 0;
}

/* One block through both: 0 when d and every code are the same bits. */
static int sym_differs(int n, const float *x, const float *w, int qmin, int qmax) {
    int q1[QK_K], q2[QK_K];
    const float d1 = qsearch_sym(n, x, w, qmin, qmax, q1), d2 = plain_qsearch_sym(n, x, w, qmin, qmax, q2);
    return memcmp(&d1, &d2, sizeof d1) || memcmp(q1, q2, sizeof(int) * (size_t)n);
}

static const int sym_ranges[][3] = {{32, -127, 127}, {32, -16, 15}, {32, -8, 7}, {64, -1, 2},
                                    {16, -32, 31},   {16, -4, 3},   {16, 0, 15}, {8, 0, 63},
                                    {16, 0, 63},     {16, -128, 127}};

TEST(qsearch_sym_is_its_plain_statement) {
    enum { BLOCKS = 300 };
    float x[QK_K], w[QK_K];
    for (size_t k = 0; k < sizeof sym_ranges / sizeof sym_ranges[0]; k++) {
        const int n = sym_ranges[k][0], qmin = sym_ranges[k][1], qmax = sym_ranges[k][2];
        int differ = 0;
        for (int b = 0; b < BLOCKS; b++) {
            test_rng r = {(uint64_t)(1000 * k + b) * 2654435761u + 7};
            fill_data(b % 3 == 0 ? DATA_GAUSS : b % 3 == 1 ? DATA_UNIFORM : DATA_OUTLIERS, x, n,
                      1000 * k + b);
            const int shape = b % 8;
            for (int i = 0; i < n; i++) {
                if (shape == 1) x[i] = 0.125f * (float)((int)(x[i] * 8)); /* many ties */
                if (shape == 2 && i % 5) x[i] = 0;                          /* sparse */
                if (shape == 3) x[i] *= 1e-30f;                             /* near underflow */
                if (shape == 4) x[i] *= 1e30f;
                if (shape == 5) x[i] = 0.01f * (float)(i % 7) - 0.02f; /* Q4_1-like levels */
                w[i] = b % 4 == 0 ? 1.0f : b % 4 == 1 ? x[i] * x[i] + 1e-4f
                       : b % 4 == 2 ? (float)rng_uniform(&r) * (i % 6 != 0)
                                    : sqrtf(0.5f + x[i] * x[i]);
            }
            if (shape == 6) x[n / 2] = 0, x[0] = -x[1]; /* equal magnitudes, both signs */
            differ += sym_differs(n, x, w, qmin, qmax);
        }
        CHECK_MSG(differ == 0, "n=%d [%d, %d]: %d of %d blocks differ from the plain statement", n,
                  qmin, qmax, differ, BLOCKS);
    }
}

static void sym_plain_on(const char *path) {
    rows r;
    REQUIRE(load_rows(path, 1 << 16, &r) == 0);
    float w[QK_K];
    for (size_t k = 0; k < sizeof sym_ranges / sizeof sym_ranges[0]; k++) {
        const int n = sym_ranges[k][0], qmin = sym_ranges[k][1], qmax = sym_ranges[k][2];
        int differ = 0, blocks = 0;
        for (int64_t b = 0; b + n <= r.n; b += n, blocks++) {
            block_weights(r.x + b, n, blocks % 2, w);
            differ += sym_differs(n, r.x + b, w, qmin, qmax);
        }
        CHECK_MSG(differ == 0, "%s n=%d [%d, %d]: %d of %d blocks differ from the plain statement",
                  path, n, qmin, qmax, differ, blocks);
    }
    free(r.x);
}

TEST(qsearch_sym_is_its_plain_statement_stories) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    sym_plain_on(path);
}

TEST(qsearch_sym_is_its_plain_statement_smollm2) {
    const char *path = real_model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!path) SKIP("SmolLM2-135M-Instruct.Q4_1.gguf not fetched (models/fetch.sh)");
    sym_plain_on(path);
}

/* ---- qsearch_affine as a plain statement: the same bits ----
 * search_affine.c cuts chains that repeat codes already fitted and runs two chains side by
 * side; this is what it must compute: every chain in full, one after another, the first of
 * the lowest errors. */
static void plain_affine_pass(int n, const float *x, const float *w, float d, float m, int qmax,
                                double *sums /* sq, sq2, sqx */) {
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    double lane[3][8] = {{0}};
    for (int i = 0; i < n; i++) {
        float q = rintf((x[i] - m) * inv);
        q = q < 0 ? 0 : q > (float)qmax ? (float)qmax : q;
        const double wq = (double)w[i] * q;
        lane[0][i % 8] += wq, lane[1][i % 8] += wq * q, lane[2][i % 8] += wq * x[i];
    }
    sums[0] = sums[1] = sums[2] = 0;
    for (int l = 0; l < 8; l++) sums[0] += lane[0][l], sums[1] += lane[1][l], sums[2] += lane[2][l];
}

static float plain_qsearch_affine(int n, const float *x, const float *w, int qmax, int min_nonpos,
                                  float *m_out, int *q) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
    if (min_nonpos && lo > 0) lo = 0;
    for (int i = 0; i < n; i++) q[i] = 0;
    *m_out = lo;
    if (hi - lo < 1e-30f * fmaxf(1.0f, fabsf(lo))) return 0;
    double b[3][8] = {{0}}, sw = 0, sx = 0, sx2 = 0; /* the block's sums, lanes as above */
    for (int i = 0; i < n; i++) {
        const double wx = (double)w[i] * x[i];
        b[0][i % 8] += w[i], b[1][i % 8] += wx, b[2][i % 8] += wx * x[i];
    }
    for (int l = 0; l < 8; l++) sw += b[0][l], sx += b[1][l], sx2 += b[2][l];
    double best = INFINITY;
    float best_d = 0, best_m = lo;
    for (int k = -15; k <= 15; k++) {
        float d = (hi - lo) / ((float)qmax + 0.1f * k), m = lo;
        if (!(d > 0)) continue;
        double s[3];
        plain_affine_pass(n, x, w, d, m, qmax, s);
        for (int r = 0; r <= 2 && d > 0; r++) {
            const double det = sw * s[1] - s[0] * s[0];
            if (det > 0) {
                d = (float)((sw * s[2] - s[0] * sx) / det);
                m = (float)((s[1] * sx - s[0] * s[2]) / det);
            } else {
                d = 0, m = sw > 0 ? (float)(sx / sw) : 0;
            }
            if (min_nonpos && m > 0) m = 0, d = s[1] > 0 ? (float)(s[2] / s[1]) : 0;
            plain_affine_pass(n, x, w, d, m, qmax, s);
            const double dd = d, mm = m;
            const double err = dd * (dd * s[1] + 2 * mm * s[0] - 2 * s[2]) +
                               mm * (mm * sw - 2 * sx) + sx2;
            if (err < best) best = err, best_d = d, best_m = m;
        }
    }
    const float inv = best_d != 0 ? 1.0f / best_d : 0.0f;
    for (int i = 0; i < n; i++) {
        const float c = rintf((x[i] - best_m) * inv);
        q[i] = c < 0 ? 0 : c > (float)qmax ? qmax : (int)c;
    }
    *m_out = best_m;
    return best_d;
}

static int affine_differs(int n, const float *x, const float *w, int qmax, int nonpos) {
    int q1[QK_K], q2[QK_K];
    float m1, m2;
    const float d1 = qsearch_affine(n, x, w, qmax, nonpos, &m1, q1),
                d2 = plain_qsearch_affine(n, x, w, qmax, nonpos, &m2, q2);
    return memcmp(&d1, &d2, 4) || memcmp(&m1, &m2, 4) || memcmp(q1, q2, sizeof(int) * (size_t)n);
}

static const int affine_ranges[][3] = {{32, 15, 0}, {32, 31, 0}, {32, 3, 0},
                                       {32, 15, 1}, {32, 31, 1}, {16, 3, 1}};

TEST(qsearch_affine_is_its_plain_statement) {
    enum { BLOCKS = 400 };
    float x[QK_K], w[QK_K];
    for (size_t k = 0; k < sizeof affine_ranges / sizeof affine_ranges[0]; k++) {
        const int n = affine_ranges[k][0], qmax = affine_ranges[k][1], nonpos = affine_ranges[k][2];
        int differ = 0;
        for (int b = 0; b < BLOCKS; b++) {
            test_rng r = {(uint64_t)(1000 * k + b) * 2654435761u + 11};
            fill_data(b % 3 == 0 ? DATA_GAUSS : b % 3 == 1 ? DATA_UNIFORM : DATA_OUTLIERS, x, n,
                      5000 + 1000 * k + b);
            const int shape = b % 8;
            for (int i = 0; i < n; i++) {
                if (shape == 1) x[i] = 0.125f * (float)((int)(x[i] * 8)); /* many ties */
                if (shape == 2 && i % 5) x[i] = 0;                          /* sparse */
                if (shape == 3) x[i] *= 1e-30f;                             /* near underflow */
                if (shape == 4) x[i] *= 1e30f;
                if (shape == 5) x[i] = 0.01f * (float)(i % 7) - 0.02f; /* Q4_1-like levels */
                if (shape == 6) x[i] = fabsf(x[i]) + 0.5f;             /* all positive */
                w[i] = b % 4 == 0 ? 1.0f : b % 4 == 1 ? x[i] * x[i] + 1e-4f
                       : b % 4 == 2 ? (float)rng_uniform(&r) * (i % 6 != 0)
                                    : sqrtf(0.5f + x[i] * x[i]);
            }
            differ += affine_differs(n, x, w, qmax, nonpos);
        }
        CHECK_MSG(differ == 0, "n=%d qmax=%d%s: %d of %d blocks differ from the plain statement", n,
                  qmax, nonpos ? " m<=0" : "", differ, BLOCKS);
    }
}

static void affine_plain_on(const char *path) {
    rows r;
    REQUIRE(load_rows(path, 1 << 16, &r) == 0);
    float w[QK_K];
    for (size_t k = 0; k < sizeof affine_ranges / sizeof affine_ranges[0]; k++) {
        const int n = affine_ranges[k][0], qmax = affine_ranges[k][1], nonpos = affine_ranges[k][2];
        int differ = 0, blocks = 0;
        for (int64_t b = 0; b + n <= r.n; b += n, blocks++) {
            block_weights(r.x + b, n, blocks % 2, w);
            differ += affine_differs(n, r.x + b, w, qmax, nonpos);
        }
        CHECK_MSG(differ == 0, "%s n=%d qmax=%d%s: %d of %d blocks differ from the plain statement",
                  path, n, qmax, nonpos ? " m<=0" : "", differ, blocks);
    }
    free(r.x);
}

TEST(qsearch_affine_is_its_plain_statement_stories) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    affine_plain_on(path);
}

TEST(qsearch_affine_is_its_plain_statement_smollm2) {
    const char *path = real_model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    if (!path) SKIP("SmolLM2-135M-Instruct.Q4_1.gguf not fetched (models/fetch.sh)");
    affine_plain_on(path);
}

/* ---- q_mean_square: lane sums, with the in-order sum where they could round apart ---- */
static float plain_mean_square(const float *x, int64_t n) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    return n > 0 ? (float)(sum / (double)n) : 0.0f;
}

/* Bit for bit the in-order statement on random rows of every length to 2100 (tails), of
 * magnitudes from 1e-30 to 1e30, sparse and spread over 60 binades, and on squares that are
 * float rounding midpoints (4097^2 = 2^24 + 8193 needs 25 bits: the fallback's case). */
TEST(q_mean_square_is_its_in_order_sum) {
    enum { MAXN = 2100 };
    static float x[MAXN];
    int differ = 0, rows = 0;
    for (int k = 0; k < 400; k++, rows++) {
        const int64_t n = k < 100 ? k : 1 + (k * 997) % MAXN;
        fill_data(k % 3 == 0 ? DATA_GAUSS : k % 3 == 1 ? DATA_UNIFORM : DATA_OUTLIERS, x,
                  n ? (int)n : 1, k);
        const int shape = k % 6;
        for (int64_t i = 0; i < n; i++) {
            if (shape == 1) x[i] *= 1e-30f;
            if (shape == 2) x[i] *= 1e30f;
            if (shape == 3 && i % 7) x[i] = 0;
            if (shape == 4) x[i] *= ldexpf(1.0f, (int)(i % 60) - 30);
            if (shape == 5) x[i] = fp16_to_f32(f32_to_fp16(0.02f * x[i]));
        }
        const float a = q_mean_square(x, n), b = plain_mean_square(x, n);
        differ += memcmp(&a, &b, sizeof a) != 0;
    }
    for (int n = 1; n <= 9; n++, rows++) {
        for (int i = 0; i < n; i++) x[i] = i == 0 ? 4097.0f : 0.0f;
        const float a = q_mean_square(x, n), b = plain_mean_square(x, n);
        differ += memcmp(&a, &b, sizeof a) != 0;
    }
    CHECK_MSG(differ == 0, "%d of %d rows differ from the in-order sum", differ, rows);
}
