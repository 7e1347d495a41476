/* iq_search.c - the codebook quantizer search of the IQ2 / IQ3 formats (iq_search.h).
 *
 * For a given scale dl the best grid entry of a group is exact: the entry of least weighted
 * error sum_j w_j (t_j - dl g_j)^2 (the first such entry), as a scan of every entry finds
 * it. The grid is searched as a prefix tree (iq_tree) branch and bound, where ggml tries the
 * neighbours of the nearest grid point: each element's cost for each grid value is computed
 * once per group, children are visited cheapest first (so the first leaf is the per-element
 * best when the grid holds it), and a subtree is cut when its cost so far plus the least
 * cost of its remaining elements exceeds the best leaf. Same entries as the scan (its sums
 * in its order, its first-of-equals rule), for a fraction of the work: the scan of IQ2_S
 * (1024 entries) took > 20 min for SmolLM2's IQ2_M (Xeon SPR, one loaded thread). */
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

/* The cost of element j of a group for grid value v, as the scan sums it (float diff,
 * double square). */
static inline double elem_cost(const float *t, const float *w, float dl, int j, int v) {
    double diff = t[j] - dl * v;
    return w[j] * diff * diff;
}

/* The entry nearest (weighted) to one group's targets at scale dl, by scanning every entry
 * (the reference the tree search reproduces; used when a grid is not a sorted set). */
static int best_entry_scan(const iq_grid *g, const float *t, const float *w, float dl,
                           double *err) {
    int width = iq_width(g), best = 0;
    double best_err = INFINITY;
    for (int e = 0; e < g->n_entries; e++) {
        double sum = 0;
        for (int j = 0; j < width && sum < best_err; j++)
            sum += elem_cost(t, w, dl, j, grid_value(g, e, j));
        if (sum < best_err) best_err = sum, best = e;
    }
    *err = best_err;
    return best;
}

int iq_tree_init(iq_tree *tr, const iq_grid *g) {
    const int width = iq_width(g), n = g->n_entries;
    int is_level[256] = {0};
    tr->grid = g, tr->width = width, tr->n_levels = 0;
    if (n > IQ_TREE_MAX) return -1;
    for (int e = 0; e < n; e++)
        for (int j = 0; j < width; j++) is_level[grid_value(g, e, j)] = 1;
    uint8_t index_of[256];
    int n_levels = 0;
    for (int v = 0; v < 256; v++)
        if (is_level[v]) {
            if (n_levels == IQ_MAX_LEVELS) return -1;
            index_of[v] = (uint8_t)n_levels, tr->level[n_levels++] = (uint8_t)v;
        }
    /* node 0 the root; a node's children (one per level of its element) are nodes, at the
     * last element entries; the first entry of a code vector keeps the leaf (the scan's
     * first-of-equals) */
    int n_nodes = 1;
    for (int k = 0; k < n_levels; k++) tr->child[k] = -1;
    for (int e = 0; e < n; e++) {
        int node = 0;
        for (int j = 0; j < width; j++) tr->digit[e][j] = index_of[grid_value(g, e, j)];
        for (int p = 0; p < width; p++) {
            int16_t *slot = &tr->child[node * n_levels + tr->digit[e][width - 1 - p]];
            if (p == width - 1) {
                if (*slot < 0) *slot = (int16_t)e;
            } else {
                if (*slot < 0) {
                    if ((n_nodes + 1) * n_levels > IQ_TREE_SLOTS) return -1;
                    for (int k = 0; k < n_levels; k++) tr->child[n_nodes * n_levels + k] = -1;
                    *slot = (int16_t)n_nodes++;
                }
                node = *slot;
            }
        }
    }
    tr->n_levels = n_levels;
    return 0;
}

/* One group's search state: cost[l][j] of element j at level l, order[j] its levels by
 * increasing cost, rest[p] the least cost of the elements below depth p, the best leaf. */
typedef struct {
    const iq_tree *tr;
    double cost[IQ_MAX_LEVELS][8], rest[9];
    uint8_t order[8][IQ_MAX_LEVELS];
    double best;
    int best_e;
} tree_search;

/* The scan's sum for entry e (elements in order 0..width-1), kept when it is below the best
 * or equal to it at a lower index (the scan's first-of-equals). */
static void tree_leaf(tree_search *s, int e) {
    double sum = 0;
    for (int j = 0; j < s->tr->width; j++) sum += s->cost[s->tr->digit[e][j]][j];
    if (sum < s->best || (sum == s->best && e < s->best_e)) s->best = sum, s->best_e = e;
}

/* The subtree of `node` (its elements above depth p fixed, at cost `partial`): its children
 * in increasing cost of element width - 1 - p, cut once the bound exceeds the best leaf.
 * The bound is a sum in another order than the leaf's: a relative margin of 1e-9 (far above
 * double rounding) keeps every leaf that could equal the best. */
static void tree_descend(tree_search *s, int node, int p, double partial) {
    const iq_tree *tr = s->tr;
    const int j = tr->width - 1 - p, n_levels = tr->n_levels;
    const int16_t *child = tr->child + node * n_levels;
    for (int k = 0; k < n_levels; k++) {
        const int l = s->order[j][k];
        const double part = partial + s->cost[l][j];
        if (part > s->best * (1 + 1e-9) - s->rest[p + 1]) break;
        if (child[l] < 0) continue;
        if (p + 1 == tr->width)
            tree_leaf(s, child[l]);
        else
            tree_descend(s, child[l], p + 1, part);
    }
}

/* cost[l][j] for every level and element, as elem_cost computes it */
static inline void cost_table(double cost[][8], const float *t, const float *w, float dl,
                              const iq_tree *tr, int width) {
    for (int l = 0; l < tr->n_levels; l++) {
        const float v = tr->level[l];
#pragma omp simd
        for (int j = 0; j < width; j++) {
            double diff = t[j] - dl * v;
            cost[l][j] = w[j] * diff * diff;
        }
    }
}

static int best_entry(const iq_tree *tr, const float *t, const float *w, float dl, double *err) {
    if (!tr->n_levels) return best_entry_scan(tr->grid, t, w, dl, err);
    tree_search s; /* not zeroed: every field read is written (a memset was 2% of IQ2_XS) */
    s.tr = tr, s.best = INFINITY, s.best_e = 0;
    const int width = tr->width, n_levels = tr->n_levels;
    if (width == 8) /* a constant width: the elements in SIMD lanes */
        cost_table(s.cost, t, w, dl, tr, 8);
    else
        cost_table(s.cost, t, w, dl, tr, 4);
    s.rest[width] = 0;
    for (int p = width - 1; p >= 0; p--) {
        const int j = width - 1 - p;
        /* the cost is convex in the (ascending) levels: the cheapest, then outwards, the
         * cheaper neighbour first, is the order by cost (an insertion sort of 8 levels was a
         * fifth of IQ3_XXS's time, Xeon SPR perf) */
        int m = 0;
        for (int l = 1; l < n_levels; l++) m = s.cost[l][j] < s.cost[m][j] ? l : m;
        int lo = m - 1, hi = m + 1;
        s.order[j][0] = (uint8_t)m;
        for (int k = 1; k < n_levels; k++)
            s.order[j][k] =
                (uint8_t)(hi >= n_levels || (lo >= 0 && s.cost[lo][j] <= s.cost[hi][j]) ? lo--
                                                                                        : hi++);
        s.rest[p] = s.rest[p + 1] + s.cost[m][j];
    }
    tree_descend(&s, 0, 0, 0.0);
    *err = s.best;
    return s.best_e;
}

double iq_fit(const iq_tree *tr, int n, const float *t, const float *w, float dl, int *entry) {
    int width = tr->width;
    double total = 0, err;
    for (int k = 0; k < n / width; k++) {
        entry[k] = best_entry(tr, t + width * k, w + width * k, dl, &err);
        total += err;
    }
    return total;
}

double iq_fit_scan(const iq_grid *g, int n, const float *t, const float *w, float dl, int *entry) {
    int width = iq_width(g);
    double total = 0, err;
    for (int k = 0; k < n / width; k++) {
        entry[k] = best_entry_scan(g, t + width * k, w + width * k, dl, &err);
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

/* The largest value of the grid. */
static int grid_max(const iq_grid *g) {
    int gmax = 0;
    for (int e = 0; e < g->n_entries; e++)
        for (int j = 0; j < iq_width(g); j++)
            if (grid_value(g, e, j) > gmax) gmax = grid_value(g, e, j);
    return gmax;
}

/* A sub-block's float scale: the largest target at a range of grid heights, each choice of
 * entries refitted once; the scale of least error. */
static float search_sub(const iq_tree *tr, int gmax, int n, const float *t, const float *w) {
    float tmax = 0;
    int entry[64];
    for (int i = 0; i < n; i++) tmax = fmaxf(tmax, t[i]);
    if (tmax <= 0 || gmax == 0) return 0;
    float best_dl = 0;
    double best = INFINITY;
    for (int k = 0; k < 6; k++) {
        float dl = tmax / gmax * (0.3f + 0.2f * k);
        for (int r = 0; r < 2; r++) {
            double err = iq_fit(tr, n, t, w, dl, entry);
            if (err < best) best = err, best_dl = dl;
            dl = refit(tr->grid, n, t, w, entry);
        }
    }
    return best_dl;
}

uint16_t iq_fit_super(const iq_tree *tr, int nsub, int sub_n, const float *t, const float *w,
                      float unit, int smax, int *s, int *entry) {
    float dl[16], max_dl = 0;
    const int per_sub = sub_n / tr->width, gmax = grid_max(tr->grid);
    for (int ib = 0; ib < nsub; ib++) {
        dl[ib] = search_sub(tr, gmax, sub_n, t + sub_n * ib, w + sub_n * ib);
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
            double err = iq_fit(tr, sub_n, tb, wb, d * unit * (float)(2 * sc + 1), tmp);
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
    iq_tree tree;
    if (iq_tree_init(&tree, &f->grid)) tree.n_levels = 0; /* too large: scan instead */
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        for (int k = 0; k < 32; k++)
            signs[k] = iq_signs(x + 8 * k, w + 8 * k, f->parity, t + 8 * k);
        uint16_t d = iq_fit_super(&tree, QK_K / f->sub_n, f->sub_n, t, w, f->unit, 15, s, entry);
        f->pack((uint8_t *)dst + i * bytes, d, s, entry, signs);
    }
}
