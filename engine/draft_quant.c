/* draft_quant.c - the in-memory low-bit copy of a model (see draft_quant.h).
 *
 * Two walks over the matmul weights of a shallow copy of the target: the first chooses
 * each matrix's type and sums the bytes, the second quantizes the rows into one arena
 * (rows in parallel) and points the copy's matrix at them. The copy then gets its own
 * kernel context and, like a loaded model, repacked copies of the matrices it owns. */
#include "draft_quant.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/repack.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "machine.h"

enum { ALIGN = 64 };

typedef struct {
    model m; /* first: draft_quant_free receives &m */
    uint8_t *arena, *arena_end;
    qmatrix coarse; /* the head in COARSE_TYPE (data NULL: none), see draft_quant.h */
} quant_copy;

/* The coarse head's type: 18 bytes a 32 against the 8-bit head's 34 (SmolLM2-135M: 15.9 of
 * 30.1 MB). Its job is only to put the 8-bit argmax among its COARSE_TOP best: Q4_0 (two
 * rounding passes, round_q4_0) did so as often as Q4_1 (20 bytes) on SmolLM2-135M f16 with
 * a q4_1 copy, k = 4, 128 tokens: story / question / code 96.2 / 90.0 / 100% accepted and
 * 4.57 / 4.41 / 4.74 tokens a pass both; a q2_0 head (8.0 MB) rescoring 32 did not
 * (docs/speculative.md). */
#define COARSE_TYPE QT_Q4_0

typedef struct {
    model *m;                  /* the copy */
    const quant_type *want;
    isa_level isa;
    int n_threads;
    draft_quant_info *info;
    const qmatrix *output; /* the copy's output head */
    uint8_t *arena;        /* NULL while planning */
    size_t used;
    scarce_error *err;
} build;

static size_t aligned(size_t n) {
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

/* qt when matrices of w's shape can be stored in it and computed with on isa */
static const quant_type *usable(const quant_type *qt, const qmatrix *w, isa_level isa) {
    const type_kernels *k = qt ? kernels_for(isa, qt->id) : NULL;
    return qt && qt->quantize && (qt->kind & QT_KIND_W) && k && k->vec_dot &&
                   w->cols % qt->block == 0
               ? qt
               : NULL;
}

/* The requested type, else a block-32 one (K-quants need rows of 256: SmolLM2's 576 are
 * not); NULL = keep the matrix as it is. */
static const quant_type *draft_type(const build *b, const qmatrix *w, int *fallback) {
    static const uint32_t fallbacks[] = {QT_Q4_0, QT_Q8_0};
    /* the head picks the token the target checks: an error there costs acceptance most
     * (SmolLM2-135M f16 target, q4_0 draft: measured 56% accepted with a q4_0 head, see
     * docs/speculative.md), so it stays at 8 bits as llama.cpp's quantizations keep it */
    const quant_type *want =
        w == b->output && qtype_bpw(b->want->id) < 8.5 ? qtype(QT_Q8_0) : b->want;
    const quant_type *qt = usable(want, w, b->isa);
    *fallback = 0;
    for (size_t i = 0; !qt && i < sizeof fallbacks / sizeof *fallbacks; i++)
        qt = usable(qtype(fallbacks[i]), w, b->isa), *fallback = qt != NULL;
    /* requantizing to as many bits or more saves nothing */
    if (!qt || qt->id == w->type || qtype_bpw(qt->id) >= qtype_bpw(w->type)) return NULL;
    return qt;
}

/* x rounded to the nearest integer (halves away from zero), clamped to [lo, hi]: no libm
 * call, so the loops below vectorise (lrintf was 60% of building a draft) */
static inline int round_clamp(float x, int lo, int hi) {
    const int v = (int)(x + (x >= 0 ? 0.5f : -0.5f));
    return v < lo ? lo : v > hi ? hi : v;
}

/* One Q4_0 block: values q - 8 in [-8, 7] for scale d; returns sum(x q') and sum(q'^2). */
static void round_block_q4_0(const float *x, float d, int *q, float *sumqx, float *sumq2) {
    const float id = d ? 1 / d : 0;
    float sx = 0, s2 = 0;
    for (int j = 0; j < QK32; j++) {
        q[j] = round_clamp(x[j] * id, -8, 7);
        sx += x[j] * (float)q[j], s2 += (float)(q[j] * q[j]);
    }
    *sumqx = sx, *sumq2 = s2;
}

/* Q4_0 by rounding to nearest with ggml's reference scale (d = the block's largest-magnitude
 * value / -8), then once more with the least-squares scale of that rounding, keeping the
 * better: two passes, no search. The type table's quantizer searches dozens of scales per
 * block and takes about 0.7 us a weight (SmolLM2-135M: 95 s on one core of the EPYC of the
 * README); a draft only has to agree with the target often, and exactness never depends
 * on it. */
static void round_q4_0(const float *x, void *dst, int64_t n) {
    block_q4_0 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, x += QK32) {
        float max = 0;
        for (int j = 0; j < QK32; j++)
            if (fabsf(x[j]) > fabsf(max)) max = x[j];
        int q[QK32], q2[QK32];
        float sumqx, sumq2, sumqx2, sumq22;
        float d = max / -8;
        round_block_q4_0(x, d, q, &sumqx, &sumq2);
        if (sumq2 > 0) { /* error = sum x^2 - sumqx^2 / sumq2 at the best d: larger is better */
            const float d2 = sumqx / sumq2;
            round_block_q4_0(x, d2, q2, &sumqx2, &sumq22);
            if (sumq22 > 0 && sumqx2 * sumqx2 / sumq22 > sumqx * sumqx / sumq2) {
                memcpy(q, q2, sizeof q);
                sumqx = sumqx2, sumq2 = sumq22;
            }
            d = sumqx / sumq2;
        }
        b[i].d = f32_to_fp16(d);
        for (int j = 0; j < QK32 / 2; j++)
            b[i].qs[j] = (uint8_t)((q[j] + 8) | (q[j + 16] + 8) << 4);
    }
}

/* Q4_1 by rounding to nearest between the block's minimum and maximum (ggml's reference
 * rule): m = min, d = (max - min) / 15. */
static void round_q4_1(const float *x, void *dst, int64_t n) {
    block_q4_1 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, x += QK32) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK32; j++) lo = x[j] < lo ? x[j] : lo, hi = x[j] > hi ? x[j] : hi;
        const float d = (hi - lo) / 15, id = d ? 1 / d : 0;
        b[i].d = f32_to_fp16(d), b[i].m = f32_to_fp16(lo);
        int q[QK32];
        for (int j = 0; j < QK32; j++) q[j] = round_clamp((x[j] - lo) * id, 0, 15);
        for (int j = 0; j < QK32 / 2; j++) b[i].qs[j] = (uint8_t)(q[j] | q[j + 16] << 4);
    }
}

/* The fastest quantizer of a type: Q4_0 and Q4_1 above; Q8_0 the kernels' activation
 * converter (also round to nearest); otherwise the type table's (slow: it searches). */
static void quantize_row(const quant_type *qt, isa_level isa, const float *x, void *dst,
                         int64_t n) {
    const type_kernels *k = kernels_for(isa, qt->id);
    if (qt->id == QT_Q4_0)
        round_q4_0(x, dst, n);
    else if (qt->id == QT_Q4_1)
        round_q4_1(x, dst, n);
    else if (qt->id == QT_Q8_0 && k->from_float)
        k->from_float(x, dst, n);
    else
        qt->quantize(x, dst, n, NULL);
}

/* rows of w quantized to qt into dst; -1 on a non-finite weight */
static int quantize_matrix(const build *b, const qmatrix *w, const quant_type *qt, uint8_t *dst) {
    const quant_type *src = qtype(w->type);
    const type_kernels *fast = kernels_for(b->isa, w->type); /* its dequantizer, if any */
    const size_t row_bytes = qtype_row_bytes(qt->id, w->cols);
    float *rows = malloc((size_t)b->n_threads * (size_t)w->cols * sizeof(float));
    if (!rows) return -1;
    int64_t bad_row = -1;
#pragma omp parallel for schedule(static) num_threads(b->n_threads)
    for (int64_t r = 0; r < w->rows; r++) {
        float *x = rows + (size_t)omp_get_thread_num() * (size_t)w->cols;
        const uint8_t *row = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
        if (fast && fast->dequantize)
            fast->dequantize(row, x, w->cols);
        else
            src->dequantize(row, x, w->cols);
        if (quant_check_finite(x, w->cols) >= 0) {
#pragma omp atomic write
            bad_row = r;
            continue;
        }
        quantize_row(qt, b->isa, x, dst + (size_t)r * row_bytes, w->cols);
    }
    free(rows);
    return bad_row >= 0 ? -1 : 0;
}

/* How many bytes fewer a pass reads now that w holds `bytes` instead of its own: the
 * copy's counters (model_count_bytes: the layer's pass_bytes, one expert's expert_bytes,
 * global_pass_bytes for the head) started as the target's. Expert tables hold n_expert
 * matrices of one tensor, MLA's wk_b / wv_b n_head matrices read every pass. */
static void count_bytes(model *m, const qmatrix *w, uint64_t bytes) {
    const int64_t delta = (int64_t)bytes - (int64_t)(w->rows * w->row_bytes);
    const int n_expert = m->cfg.n_expert, n_head = m->cfg.n_head;
    if (w == &m->output) {
        m->global_pass_bytes += (uint64_t)delta;
        return;
    }
    for (int l = 0; l < m->cfg.n_layer; l++) {
        layer_weights *L = &m->layers[l];
        const qmatrix *const experts[3] = {L->gate_exps, L->up_exps, L->down_exps};
        const qmatrix *const heads[2] = {L->wk_b, L->wv_b};
        if ((const void *)w >= (const void *)L && (const void *)w < (const void *)(L + 1)) {
            L->pass_bytes += (uint64_t)delta;
            return;
        }
        for (int t = 0; t < 3; t++)
            if (experts[t] && w >= experts[t] && w < experts[t] + n_expert) {
                if (w == experts[t]) L->expert_bytes += (uint64_t)delta; /* one expert's */
                return;
            }
        for (int t = 0; t < 2; t++)
            if (heads[t] && w >= heads[t] && w < heads[t] + n_head) {
                L->pass_bytes += (uint64_t)delta;
                return;
            }
    }
}

/* model_each_matmul_weight callback: plan (arena NULL) or quantize one matrix */
static int visit(qmatrix *w, void *arg) {
    build *b = arg;
    draft_quant_info *info = b->info;
    int fallback;
    const quant_type *qt = draft_type(b, w, &fallback);
    const size_t bytes = qt ? qtype_row_bytes(qt->id, w->cols) * (size_t)w->rows : 0;
    if (!b->arena) { /* planning: count */
        info->n_matrices++;
        info->target_bytes += (size_t)w->rows * w->row_bytes;
        info->weight_bytes += qt ? bytes : (size_t)w->rows * w->row_bytes;
        if (!qt)
            info->n_shared++;
        else if (fallback)
            info->n_fallback++, info->fallback = info->fallback ? info->fallback : qt->name;
        else
            info->n_quantized++;
        b->used += aligned(bytes);
        return 0;
    }
    if (!qt) return 0; /* shared with the target, packed copy included */
    uint8_t *dst = b->arena + b->used;
    if (quantize_matrix(b, w, qt, dst))
        return scarce_fail(b->err,
                           "draft-quant: a %lld x %lld matrix has a non-finite weight "
                           "(or out of memory)",
                           (long long)w->rows, (long long)w->cols);
    count_bytes(b->m, w, bytes);
    *w = (qmatrix){.data = dst,
                   .type = qt->id,
                   .rows = w->rows,
                   .cols = w->cols,
                   .row_bytes = qtype_row_bytes(qt->id, w->cols),
                   .scale = w->scale}; /* NVFP4's per-tensor factor applies to the copy too */
    b->used += aligned(bytes);
    return 0;
}

static int owned(const quant_copy *c, const qmatrix *w) {
    return (const uint8_t *)w->data >= c->arena && (const uint8_t *)w->data < c->arena_end;
}

typedef struct {
    quant_copy *c;
    kernel_shape shape;
    isa_level isa;
    size_t packed_bytes;
} kernel_walk;

static int add_shape(qmatrix *w, void *arg) {
    kernel_shape_add(&((kernel_walk *)arg)->shape, w);
    return 0;
}

static int pack_owned(qmatrix *w, void *arg) {
    kernel_walk *kw = arg;
    if (!owned(kw->c, w)) return 0;
    if (repack_matrix(w, kw->isa)) return -1;
    if (w->packed) kw->packed_bytes += (size_t)w->rows * w->row_bytes;
    return 0;
}

static int release_owned(qmatrix *w, void *arg) {
    if (owned(arg, w)) repack_release(w);
    return 0;
}

/* Own kernel context (scratch for the draft's matrices) and packed copies, as
 * model_from_gguf gives a loaded model. */
static int bind_draft_kernels(quant_copy *c, const kernel_config *cfg, draft_quant_info *info,
                              scarce_error *err) {
    kernel_walk kw = {.c = c, .shape = {.max_batch = FORWARD_BATCH_CAP}, .isa = cfg->isa};
    model_each_matmul_weight(&c->m, add_shape, &kw);
    char msg[128];
    if (!(c->m.kernels = kernel_ctx_new(cfg, &kw.shape, msg)))
        return scarce_fail(err, "draft-quant: %s", msg);
    if (cfg->repack && model_each_matmul_weight(&c->m, pack_owned, &kw))
        return scarce_fail(err, "draft-quant: out of memory for the repacked weights");
    info->packed_bytes = kw.packed_bytes;
    return 0;
}

/* The copy's own layer table; expert tables are copied too, as their matrices change. */
/* A copy of a table of n matrices (experts, MLA heads), or NULL for none. */
static int copy_table(const qmatrix *from, int n, qmatrix **to) {
    *to = NULL;
    if (!from) return 0;
    if (!(*to = malloc((size_t)n * sizeof **to))) return -1;
    memcpy(*to, from, (size_t)n * sizeof **to);
    return 0;
}

/* The layer table with its own copies of every matrix table (the target's must not be
 * rewritten or freed through ours): experts (n_expert each) and MLA heads (n_head each). */
static int copy_layers(quant_copy *c, const model *target) {
    const int n_layer = target->cfg.n_layer, n_expert = target->cfg.n_expert;
    const int n_head = target->cfg.n_head;
    if (!(c->m.layers = malloc((size_t)n_layer * sizeof *c->m.layers))) return -1;
    memcpy(c->m.layers, target->layers, (size_t)n_layer * sizeof *c->m.layers);
    for (int l = 0; l < n_layer; l++) {
        layer_weights *to = &c->m.layers[l];
        to->gate_exps = to->up_exps = to->down_exps = to->wk_b = to->wv_b = NULL;
    }
    for (int l = 0; l < n_layer; l++) {
        const layer_weights *from = &target->layers[l];
        layer_weights *to = &c->m.layers[l];
        if (copy_table(from->gate_exps, n_expert, &to->gate_exps) ||
            copy_table(from->up_exps, n_expert, &to->up_exps) ||
            copy_table(from->down_exps, n_expert, &to->down_exps) ||
            copy_table(from->wk_b, n_head, &to->wk_b) || copy_table(from->wv_b, n_head, &to->wv_b))
            return -1;
    }
    return 0;
}

/* The coarse head of a copy whose head kept 8 bits or more: its rows rounded to
 * COARSE_TYPE (repacked as the other matrices). 0 also when there is none to build. */
static int build_coarse(quant_copy *c, const build *b, const kernel_config *cfg) {
    const qmatrix *head = &c->m.output;
    const quant_type *qt = usable(qtype(COARSE_TYPE), head, b->isa);
    if (!qt || !head->data || qtype_bpw(head->type) < 8 || head->scale != 0) return 0;
    const size_t row_bytes = qtype_row_bytes(qt->id, head->cols);
    uint8_t *data = aligned_alloc(ALIGN, aligned(row_bytes * (size_t)head->rows));
    if (!data || quantize_matrix(b, head, qt, data)) {
        free(data);
        return -1;
    }
    c->coarse = (qmatrix){.data = data,
                          .type = qt->id,
                          .rows = head->rows,
                          .cols = head->cols,
                          .row_bytes = row_bytes};
    b->info->coarse_bytes = row_bytes * (size_t)head->rows;
    if (cfg->repack && repack_matrix(&c->coarse, cfg->isa)) return -1;
    /* RAM: one more quantized matrix (and its packed rows) */
    b->info->bytes += b->info->coarse_bytes;
    if (c->coarse.packed) b->info->packed_bytes += b->info->coarse_bytes;
    return 0;
}

const qmatrix *draft_quant_coarse_head(const model *draft) {
    const quant_copy *c = (const quant_copy *)draft;
    return c->coarse.data ? &c->coarse : NULL;
}

model *draft_quant_new(const model *target, const char *type_name, const model_options *opts,
                       draft_quant_info *info, scarce_error *err) {
    const double t0 = now_seconds();
    memset(info, 0, sizeof *info);
    info->type = type_name;
    const kernel_config cfg = opts ? opts->kernels : *model_kernel_config(target);
    const quant_type *want = qtype_by_name(type_name);
    if (!want || !want->quantize || !(want->kind & QT_KIND_W)) {
        scarce_fail(err, "--draft-quant: '%s' is not a weight type (see scarce quantize -h)",
                    type_name);
        return NULL;
    }
    quant_copy *c = calloc(1, sizeof *c);
    if (!c || (c->m = *target, c->m.layers = NULL, c->m.kernels = NULL, copy_layers(c, target))) {
        draft_quant_free(c ? &c->m : NULL);
        scarce_fail(err, "draft-quant: out of memory for the layer table");
        return NULL;
    }
    build b = {.m = &c->m,
               .want = want,
               .isa = cfg.isa,
               .n_threads = cfg.threads > 0 ? cfg.threads : 1,
               .info = info,
               .err = err,
               .output = &c->m.output};
    model_each_matmul_weight(&c->m, visit, &b);
    info->bytes = b.used;
    if (!(c->arena = aligned_alloc(ALIGN, b.used ? b.used : ALIGN))) {
        draft_quant_free(&c->m);
        scarce_fail(err, "draft-quant: out of memory for %zu bytes of %s weights", b.used,
                    type_name);
        return NULL;
    }
    c->arena_end = c->arena + b.used;
    b.arena = c->arena, b.used = 0;
    if (model_each_matmul_weight(&c->m, visit, &b) || bind_draft_kernels(c, &cfg, info, err)) {
        draft_quant_free(&c->m);
        return NULL;
    }
    if (build_coarse(c, &b, &cfg)) {
        draft_quant_free(&c->m);
        scarce_fail(err, "draft-quant: out of memory for the coarse output head");
        return NULL;
    }
    info->seconds = now_seconds() - t0;
    return &c->m;
}

void draft_quant_free(model *draft) {
    if (!draft) return;
    quant_copy *c = (quant_copy *)draft;
    kernel_ctx_free(draft->kernels); /* first: its workers may still read weights (pool.h) */
    if (c->arena) model_each_matmul_weight(draft, release_owned, c);
    for (int l = 0; draft->layers && l < draft->cfg.n_layer; l++)
        free(draft->layers[l].gate_exps), free(draft->layers[l].up_exps),
            free(draft->layers[l].down_exps), free(draft->layers[l].wk_b),
            free(draft->layers[l].wv_b);
    free(draft->layers);
    if (c->coarse.data) repack_release(&c->coarse), free((void *)c->coarse.data);
    free(c->arena);
    free(c);
}
