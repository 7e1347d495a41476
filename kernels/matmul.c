/* matmul.c - weight matrix x activations for any weight type, rows split over threads.
 *
 * Decode (B = 1) is memory-bound: each thread streams one contiguous share of rows, so
 * its prefetchers see one long sequential read (a thread done early steals pieces from the
 * far end of another's share), and pieces start on 16-row boundaries so no two threads
 * write the same 64-byte line of y. matmul_multi runs several matrices with the same input
 * (q/k/v, gate/up) in one pool call (pool.h), their rows split end to end. Small matrices
 * stay on one thread: below PARALLEL_MIN_BYTES of weights a call costs more than the
 * second core brings (measured: tests/test_kernels.c, SCARCE_KBENCH=1).
 *
 * Batches (prefill, speculative verify) walk a panel of rows that fits in L1/L2 against
 * every activation row before moving on: each weight byte comes from DRAM once per batch.
 * Large batches go through f32 instead (kernels/gemm.c: dequantized panels x an f32 GEMM,
 * ours or OpenBLAS's) when gemm_choose() says that is faster for the type and B. */
#include "matmul.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "cpu.h"
#include "gemm.h"
#include "pool.h"
#include "repack.h"

/* Weight bytes below which one thread does the whole matrix. */
#define PARALLEL_MIN_BYTES (64 * 1024)
/* Rows of a batch panel: as many as fit in PANEL_BYTES (weights hot while B tokens pass). */
#define PANEL_BYTES (32 * 1024)
/* Batch panels of tiled types are multiples of this (the tile kernels' row groups: 4
 * rows, 8 for packed matrices). */
#define TILE_ROWS 8
/* Slice boundaries are multiples of this (16 floats = one cache line of y). */
#define ROW_ALIGN 16
_Static_assert(ROW_ALIGN % REPACK_ROWS == 0 && TILE_ROWS % REPACK_ROWS == 0,
               "slices and panels must start on a packed row group");
/* Rows per dynamically scheduled chunk of the large-batch paths (a multiple of ROW_ALIGN). */
#define BATCH_CHUNK_ROWS 64

/* Rows a worker's rows_out holds: this many of the tallest matrix (q/k/v, gate/up in one
 * call), at least ROWS_OUT_MIN (contexts sized without rows). */
#define ROWS_OUT_MATRICES 4
#define ROWS_OUT_MIN 65536

/* Activation conversions: slot i holds the i-th distinct dot type of a matmul_multi call. */
#define ACT_SLOTS 4

struct kernel_ctx {
    kernel_config cfg;
    const isa_kernels *kernels; /* the table of cfg.isa (kernels/cpu.h) */
    kernel_shape shape;
    thread_pool *pool;    /* cfg.threads threads: the caller and its workers */
    char *act[ACT_SLOTS]; /* act_bytes each: max_batch rows of the widest dot-type row */
    size_t act_bytes;
    char *act_one; /* one dot-type row on its way to a packed_act row (kernels/lut.h) */
    /* act[i]'s rows in act_x16.h's layout for GEMM_X16; NULL when max_batch < X16_TOKENS */
    char *act_x16[ACT_SLOTS];
    float *xt; /* GEMM_OWN's packed activations, xt_bytes */
    size_t xt_bytes;
    gemm_scratch scratch[KERNEL_MAX_THREADS]; /* [0, cfg.threads) allocated */
    /* [1, cfg.threads): a worker's rows of one token while the caller may take them back
     * (pool.h rescue), rows_out_floats each */
    float *rows_out[KERNEL_MAX_THREADS];
    size_t rows_out_floats;
    kernel_usage usage;
    char error[160];
};

/* ---- the context: configuration, learned choices, scratch ---- */

void kernel_shape_add(kernel_shape *shape, const qmatrix *W) {
    if (W->cols > shape->max_cols) shape->max_cols = W->cols;
    if (W->row_bytes > shape->max_row_bytes) shape->max_row_bytes = W->row_bytes;
    if (W->rows > shape->max_rows) shape->max_rows = W->rows;
}

/* Bytes of the widest converted activation row of `cols` in any dot type (whole blocks;
 * f32 activations are used in place), or in any packed_act row of the ISA (prepared = 1). */
static size_t max_act_row(const isa_kernels *isa, int64_t cols, int prepared) {
    size_t most = 64;
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *dt = qtype(qtype_at(i)->dot_type);
        if (!dt || dt->id == QT_F32) continue;
        size_t bytes = (size_t)((cols + dt->block - 1) / dt->block) * dt->block_bytes;
        packed_act_fn prep = isa->type[i].packed_act;
        if (prepared && prep)
            bytes = prep(NULL, (cols + dt->block - 1) / dt->block * dt->block, NULL);
        if (bytes > most) most = bytes;
    }
    return most;
}

/* Cache-line aligned buffer (C11 aligned_alloc wants the size a multiple of it). */
static void *alloc64(size_t bytes) {
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/* Scratch of threads [from, to); -1 when out of memory (those allocated stay). */
static int alloc_thread_scratch(kernel_ctx *k, int from, int to) {
    size_t panel, acc;
    gemm_scratch_size(k->shape.max_cols, k->shape.max_row_bytes, k->shape.max_batch, &panel, &acc);
    for (int t = from; t < to; t++) {
        gemm_scratch *sc = &k->scratch[t];
        if (!sc->panel && !(sc->panel = alloc64(panel))) return -1;
        if (!sc->acc && !(sc->acc = alloc64(acc))) return -1;
        sc->panel_bytes = panel, sc->acc_bytes = acc;
        if (t > 0 && !k->rows_out[t] &&
            !(k->rows_out[t] = alloc64(k->rows_out_floats * sizeof(float))))
            return -1;
    }
    return 0;
}

kernel_ctx *kernel_ctx_new(const kernel_config *cfg, const kernel_shape *shape, char *msg) {
    if (kernel_config_check(cfg, msg)) return NULL;
    if (!kernels_of(cfg->isa)) {
        snprintf(msg, 128, "no %s kernels: kernels_init has not run", kernels_isa_name(cfg->isa));
        return NULL;
    }
    kernel_ctx *k = calloc(1, sizeof *k);
    if (!k) goto oom;
    k->cfg = *cfg, k->shape = *shape, k->kernels = kernels_of(cfg->isa);
    if (k->shape.max_batch < 1) k->shape.max_batch = 1;
    if (k->shape.max_cols < 1) k->shape.max_cols = 1;
    k->act_bytes = max_act_row(k->kernels, k->shape.max_cols, 1) * (size_t)k->shape.max_batch;
    k->xt_bytes = gemm_pack_x_bytes(k->shape.max_batch, k->shape.max_cols);
    /* q/k/v or gate/up of the tallest matrix in one call, units rounded up */
    k->rows_out_floats =
        (size_t)(ROWS_OUT_MATRICES * k->shape.max_rows + MATMUL_MULTI_MAX * ROW_ALIGN);
    if (k->rows_out_floats < ROWS_OUT_MIN) k->rows_out_floats = ROWS_OUT_MIN;
    for (int i = 0; i < ACT_SLOTS; i++)
        if (!(k->act[i] = alloc64(k->act_bytes))) goto oom;
    const int64_t x16_cols = (k->shape.max_cols + 31) / 32 * 32;
    for (int i = 0; i < ACT_SLOTS && k->shape.max_batch >= X16_TOKENS; i++)
        if (!(k->act_x16[i] = alloc64(act_x16_bytes(k->shape.max_batch, x16_cols)))) goto oom;
    if (!(k->act_one = alloc64(max_act_row(k->kernels, k->shape.max_cols, 0))) ||
        !(k->xt = alloc64(k->xt_bytes)) || alloc_thread_scratch(k, 0, cfg->threads))
        goto oom;
    if (!(k->pool = pool_new(cfg->threads, msg))) {
        kernel_ctx_free(k);
        return NULL;
    }
    return k;
oom:
    kernel_ctx_free(k);
    snprintf(msg, 128,
             "out of memory for the kernel scratch (%lld columns, %lld tokens, %d threads)",
             (long long)shape->max_cols, (long long)shape->max_batch, cfg->threads);
    return NULL;
}

void kernel_ctx_free(kernel_ctx *k) {
    if (!k) return;
    pool_free(k->pool); /* first: a worker may still finish a piece taken back from it */
    for (int i = 0; i < ACT_SLOTS; i++) free(k->act[i]), free(k->act_x16[i]);
    free(k->act_one);
    for (int t = 0; t < KERNEL_MAX_THREADS; t++)
        free(k->scratch[t].panel), free(k->scratch[t].acc), free(k->rows_out[t]);
    free(k->xt);
    free(k);
}

const kernel_config *kernel_ctx_config(const kernel_ctx *k) {
    return &k->cfg;
}

const ops_kernels *kernel_ctx_ops(const kernel_ctx *k) {
    return &k->kernels->ops;
}

const char *kernel_ctx_error(const kernel_ctx *k) {
    return k->error;
}

int kernel_ctx_set_threads(kernel_ctx *k, int n_threads, char *msg) {
    kernel_config want = k->cfg;
    want.threads = n_threads;
    if (kernel_config_check(&want, msg)) return -1;
    if (alloc_thread_scratch(k, 0, n_threads)) {
        snprintf(msg, 128, "out of memory for the kernel scratch of %d threads", n_threads);
        return -1;
    }
    if (n_threads != pool_threads(k->pool)) {
        thread_pool *pool = pool_new(n_threads, msg);
        if (!pool) return -1;
        pool_free(k->pool);
        k->pool = pool;
    }
    k->cfg.threads = n_threads;
    return 0;
}

pool_stats kernel_ctx_pool_stats(const kernel_ctx *k) {
    return pool_get_stats(k->pool);
}

void kernel_ctx_quiesce(kernel_ctx *k) {
    pool_quiesce(k->pool);
}

kernel_usage kernel_ctx_usage(const kernel_ctx *k) {
    return k->usage;
}

/* Converts B activation rows to t's dot_type (not f32) into buf, act_row bytes each, and
 * with prep (a packed kernel's packed_act) on to the rows it makes. */
static char *convert_into(const kernel_ctx *k, const quant_type *t, packed_act_fn prep,
                          const float *X, int64_t B, int64_t cols, size_t act_row, char *buf) {
    const quant_type *dt = qtype(t->dot_type);
    from_float_fn from_float = kernels_for(k->cfg.isa, t->dot_type)->from_float;
    for (int64_t b = 0; b < B; b++) {
        char *row = prep ? k->act_one : buf + b * act_row;
        if (from_float)
            from_float(X + b * cols, row, cols);
        else
            dt->quantize(X + b * cols, row, cols, NULL);
        if (prep) prep(row, cols, buf + b * act_row);
    }
    return buf;
}

/* Bytes of one converted activation row of t (prep: the packed_act row). */
static size_t act_row_bytes(const quant_type *t, packed_act_fn prep, int64_t cols) {
    return prep ? prep(NULL, cols, NULL) : qtype_row_bytes(t->dot_type, cols);
}

/* Converts B activation rows to the weight type's dot_type (and prep's rows) into buffer
 * `slot`; returns X itself for f32. */
static const void *convert_activations(kernel_ctx *k, const quant_type *t, packed_act_fn prep,
                                       const float *X, int64_t B, int64_t cols, size_t *act_row,
                                       int slot) {
    if (t->dot_type == QT_F32) {
        *act_row = (size_t)cols * sizeof(float);
        return X;
    }
    *act_row = act_row_bytes(t, prep, cols);
    /* fits: check_fits() bounds B and cols */
    return convert_into(k, t, prep, X, B, cols, *act_row, k->act[slot]);
}

typedef struct {
    const char *w, *act;
    size_t row_bytes, act_row;
    int64_t rows, cols, B;
    vec_dot_fn dot;
    vec_dot_tile_fn tile; /* NULL: dot per (row, token) */
    x16_gemm_fn x16;      /* non-NULL: GEMM_X16 on act_x16 instead of tile */
    int i8x8_x16;         /* GEMM_I8X8 whose panels take the x16 kernel on act_x16 */
    const char *act_x16;
    packed_act_fn prep; /* the packed tile's activation rows (kernels/lut.h), or NULL */
    float *Y;
    gemm_method gemm; /* GEMM_TILES: the fields above; else the f32 path below */
    const quant_type *t;
    const float *gemm_x;    /* gemm_prepare()'s activations */
    const isa_kernels *isa; /* the context's ISA table (the GEMM paths' kernels) */
    float scale;            /* W's per-tensor scale (qmatrix.scale), 0: none */
} matmul_job;

/* Rows [r0, r1) of the job against all B activation rows, panel by panel, with the
 * calling thread's scratch. -1 when a GEMM path finds the scratch too small. */
static int product_rows(const matmul_job *job, int64_t r0, int64_t r1, const gemm_scratch *sc) {
    const int64_t cols = job->cols, rows = job->rows;
    if (job->x16) { /* its own loops keep a group of rows hot for all tokens */
        job->x16(cols, job->Y + r0, (size_t)rows, job->w + r0 * job->row_bytes, job->row_bytes,
                 (int)(r1 - r0), job->act_x16, job->B);
        return 0;
    }
    if (job->gemm == GEMM_I8X8)
        return gemm_i8x8_rows(job->t->id, job->w, job->row_bytes, r0, r1, cols, job->act,
                              job->act_row, job->act_x16, job->B, job->Y, (size_t)rows, job->isa,
                              sc);
    if (job->gemm != GEMM_TILES)
        return gemm_rows(job->gemm, job->t, job->w, job->row_bytes, r0, r1, rows, cols,
                         job->gemm_x, job->B, job->Y, (size_t)rows, job->isa, sc);
    if (job->tile && job->B == 1) {
        job->tile(cols, &job->Y[r0], 0, job->w + r0 * job->row_bytes, job->row_bytes,
                  (int)(r1 - r0), job->act, job->act_row, 1);
        return 0;
    }
    if (job->B == 1) {
        for (int64_t r = r0; r < r1; r++)
            job->dot(cols, &job->Y[r], job->w + r * job->row_bytes, job->act);
        return 0;
    }
    int64_t panel = (int64_t)(PANEL_BYTES / (job->row_bytes ? job->row_bytes : 1));
    if (panel < 1) panel = 1;
    if (job->tile) panel = panel < TILE_ROWS ? TILE_ROWS : panel / TILE_ROWS * TILE_ROWS;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        int64_t p1 = p0 + panel < r1 ? p0 + panel : r1;
        if (job->tile) {
            job->tile(cols, job->Y + p0, (size_t)rows, job->w + p0 * job->row_bytes, job->row_bytes,
                      (int)(p1 - p0), job->act, job->act_row, (int)job->B);
            continue;
        }
        for (int64_t b = 0; b < job->B; b++) {
            const char *x = job->act + b * job->act_row;
            float *y = job->Y + b * rows;
            for (int64_t r = p0; r < p1; r++) job->dot(cols, &y[r], job->w + r * job->row_bytes, x);
        }
    }
    return 0;
}

/* product_rows, then times the matrix's per-tensor scale (llama.cpp's ggml_mul of the
 * matmul result by the weight's *_s tensor), on the same rows by the same thread. */
static int matmul_rows(const matmul_job *job, int64_t r0, int64_t r1, const gemm_scratch *sc) {
    const int rc = product_rows(job, r0, r1, sc);
    if (rc || job->scale == 0) return rc;
    for (int64_t b = 0; b < job->B; b++)
        for (int64_t r = r0; r < r1; r++) job->Y[b * job->rows + r] *= job->scale;
    return 0;
}

/* matmul_multi: the n matrices' ROW_ALIGN-row units laid end to end, unit u of matrix i
 * costing ROW_ALIGN x row_bytes. Boundary k of nth is the first unit (global index) where
 * the bytes before it reach k/nth of the total, so each thread streams about the same
 * bytes, mostly from one matrix (q/k/v at 2 threads: 5/8 of wq | the rest of wq, wk, wv;
 * gate/up: gate | up). */
static int64_t units_of(const matmul_job *job) {
    return (job->rows + ROW_ALIGN - 1) / ROW_ALIGN;
}

static int64_t multi_boundary(const matmul_job *jobs, int n, int k, int nth) {
    double total = 0;
    for (int i = 0; i < n; i++) total += (double)units_of(&jobs[i]) * jobs[i].row_bytes;
    const double target = total * k / nth;
    double before = 0;
    int64_t first_unit = 0; /* global index of matrix i's first unit */
    for (int i = 0; i < n; i++) {
        const double unit_bytes = (double)jobs[i].row_bytes, units = (double)units_of(&jobs[i]);
        if (before + units * unit_bytes >= target && unit_bytes > 0) {
            double u = (target - before) / unit_bytes;
            int64_t iu = (int64_t)u;
            return first_unit + (iu < u ? iu + 1 : iu);
        }
        before += units * unit_bytes;
        first_unit += units_of(&jobs[i]);
    }
    return first_unit;
}

/* Runs global units [u0, u1) of the jobs; -1 when one of them fails. out NULL: rows into
 * the jobs' Y; else (B = 1) unit u's rows into out[u x ROW_ALIGN ..]. */
static int multi_run(const matmul_job *jobs, int n, int64_t u0, int64_t u1, const gemm_scratch *sc,
                     float *out) {
    int64_t first_unit = 0;
    int rc = 0;
    for (int i = 0; i < n && first_unit < u1; i++) {
        const int64_t units = units_of(&jobs[i]);
        int64_t a = u0 > first_unit ? u0 - first_unit : 0, b = u1 - first_unit;
        if (b > units) b = units;
        if (a < b) {
            int64_t r1 = b * ROW_ALIGN < jobs[i].rows ? b * ROW_ALIGN : jobs[i].rows;
            matmul_job job = jobs[i];
            if (out) job.Y = out + first_unit * ROW_ALIGN;
            rc |= matmul_rows(&job, a * ROW_ALIGN, r1, sc);
        }
        first_unit += units;
    }
    return rc;
}

/* The pool's piece: 4 units (64 rows: ~70 KB of TinyLlama q4_0, ~5 us of streaming). Each
 * thread streams its own share front to back in pieces (one long sequential read for the
 * prefetchers: dynamic chunks handed out in turn were measured slower for B = 1), and a
 * thread done early takes pieces from the far end of a late one's share (pool.h). */
#define STEAL_UNITS 4

/* One-token calls of at least this many units (1024 rows: a decode step's expert products,
 * TinyLlama's gate/up) are shared whatever the pool's timing of their kind says: with
 * stealing and rescue a worker that is late or preempted costs such a call at most a grace
 * period of a few pieces (pool.h), while one that runs halves it. Alone, the worker sleeps
 * and, with autogroup scheduling, its core goes to other sessions' work. OLMoE-shaped q4_0
 * (moe-16.gguf), 2 threads, Xeon (Sapphire Rapids class, AVX-512): the adaptive rule had
 * run 23-63% of a decode's pool calls alone (load 1-4, 20-16 tok/s). Speed not shown yet:
 * 6 alternating pairs of processes at load 4-8 (the worker on a core 4-16% of the time),
 * tok/s of 64-token rounds, median 8.9 before, 9.3 after, pairs either way. */
#define ALWAYS_SHARED_UNITS (64 * STEAL_UNITS)

/* Products per pool call at most (matmul_each groups; the jobs live in the call). */
#define EACH_GROUP 64

/* A pool call over jobs, self-contained: the pool copies it for a rescue call (pool.h). */
typedef struct {
    kernel_ctx *kc;
    int n, rescue; /* rescue: workers write rows to their kc->rows_out (B = 1) */
    matmul_job jobs[EACH_GROUP];
} multi_call;
_Static_assert(sizeof(multi_call) <= POOL_ARG_BYTES, "a call's jobs fit the pool's copy");

static int multi_piece(void *arg, int64_t u0, int64_t u1, int thread) {
    const multi_call *c = arg;
    float *out = c->rescue && thread > 0 ? c->kc->rows_out[thread] : NULL;
    return multi_run(c->jobs, c->n, u0, u1, &c->kc->scratch[thread], out);
}

/* Copies worker `thread`'s rows of units [u0, u1) from its rows_out into the jobs' Y. */
static void multi_commit(const void *arg, int64_t u0, int64_t u1, int thread) {
    const multi_call *c = arg;
    const float *from = c->kc->rows_out[thread];
    int64_t first_unit = 0;
    for (int i = 0; i < c->n && first_unit < u1; i++) {
        const matmul_job *job = &c->jobs[i];
        const int64_t units = units_of(job);
        int64_t a = u0 > first_unit ? u0 - first_unit : 0, b = u1 - first_unit;
        if (b > units) b = units;
        if (a < b) {
            int64_t r1 = b * ROW_ALIGN < job->rows ? b * ROW_ALIGN : job->rows;
            memcpy(job->Y + a * ROW_ALIGN, from + (first_unit + a) * ROW_ALIGN,
                   (size_t)(r1 - a * ROW_ALIGN) * sizeof(float));
        }
        first_unit += units;
    }
}

/* Kinds of pool calls (pool.h), timed apart because sharing pays differently for each: row
 * products of one token, of a batch, batch chunks (run_job), attention; each by its work
 * in factors of 4 from the smallest worth sharing. */
enum { KIND_SIZES = 8, KIND_TOKEN = 0, KIND_BATCH = 8, KIND_CHUNKS = 16, KIND_ATTENTION = 24 };
_Static_assert(KIND_ATTENTION + KIND_SIZES <= POOL_KINDS, "pool kinds");

static int call_kind(int base, double work, double smallest) {
    int size = 0;
    for (double w = smallest * 4; w <= work && size < KIND_SIZES - 1; w *= 4) size++;
    return base + size;
}

/* The jobs' rows on the context's threads (parallel = 0: on the caller alone; returns the
 * threads that computed rows, or -1): share k =
 * units [multi_boundary(k), multi_boundary(k + 1)). cfg.steal = 0: static shares only
 * (A/B measurement). work: weight bytes x tokens of all jobs. */
static int run_shared(kernel_ctx *kc, const matmul_job *jobs, int n, int parallel, double work) {
    const int nth = kc->cfg.threads;
    int64_t bounds[KERNEL_MAX_THREADS + 1];
    for (int k = 0; k <= nth; k++) bounds[k] = multi_boundary(jobs, n, k, nth);
    multi_call call = {.kc = kc, .n = n};
    memcpy(call.jobs, jobs, sizeof *jobs * (size_t)n);
    /* rescue (pool.h) for one token, when every worker's rows fit its rows_out */
    call.rescue = parallel && kc->cfg.rescue && kc->cfg.steal &&
                  bounds[nth] * ROW_ALIGN <= (int64_t)kc->rows_out_floats;
    for (int i = 0; i < n; i++) call.rescue &= jobs[i].B == 1;
    pool_task task = {
        .fn = multi_piece,
        .arg = &call,
        .commit = call.rescue ? multi_commit : NULL,
        .arg_bytes = offsetof(multi_call, jobs) + sizeof *jobs * (size_t)n,
        .n_items = bounds[nth],
        .bounds = bounds,
        .piece = parallel ? STEAL_UNITS : bounds[nth],
        .steal = kc->cfg.steal,
        .adapt = kc->cfg.adapt_threads && !(call.rescue && bounds[nth] >= ALWAYS_SHARED_UNITS),
        .kind = call_kind(jobs[0].B == 1 ? KIND_TOKEN : KIND_BATCH, work, PARALLEL_MIN_BYTES),
        .work = work};
    return pool_run(kc->pool, &task);
}

/* 1 when a batch of B tokens may take a token-lane (x16) kernel: 16+ tokens, a context
 * sized for them, and no other batch path forced (SCARCE_GEMM=tiles, i8x8, ...). */
static int x16_allowed(const kernel_ctx *kc, int64_t B) {
    return B >= X16_TOKENS && kc->act_x16[0] && (kc->cfg.gemm < 0 || kc->cfg.gemm == GEMM_X16);
}

/* The job for W x B tokens into Y, without its activations (job.act / job.gemm_x). */
static matmul_job make_job(const kernel_ctx *kc, const qmatrix *W, int64_t B, float *Y) {
    const quant_type *t = qtype(W->type);
    const type_kernels *k = kernels_for(kc->cfg.isa, W->type);
    matmul_job job = {.w = W->data,
                      .row_bytes = W->row_bytes,
                      .rows = W->rows,
                      .cols = W->cols,
                      .B = B,
                      .dot = k->vec_dot,
                      .tile = k->vec_dot_tile,
                      .Y = Y,
                      .t = t,
                      .isa = kc->kernels,
                      .scale = W->scale,
                      .gemm = gemm_choose(kc->kernels, W->type, W->cols, B, kc->cfg.gemm)};
    /* Packed copy (repack.h): its tile kernel takes the same arguments, rows starting at
     * r0 % 8 == 0 sit at r0 row_bytes as in the file. Larger batches keep the file layout. */
    vec_dot_tile_fn packed = W->packed && B <= REPACK_MAX_BATCH ? k->packed_tile : NULL;
    if (packed) {
        job.w = W->packed, job.tile = packed, job.prep = k->packed_act, job.gemm = GEMM_TILES;
        job.row_bytes = repack_row_bytes(k->packed_layout, W->cols); /* TQ1_0's is larger */
        /* 16+ tokens: the token-lane kernel where the ISA has one (SCARCE_GEMM=tiles: not) */
        if (k->packed_gemm && !k->packed_act && x16_allowed(kc, B)) job.x16 = k->packed_gemm;
    }
    /* rows with a token-lane kernel on the file layout (K-quants): the file's bytes, unless
     * the packed copy has its own batch kernel (Q2_K's) */
    if (!job.x16 && (job.gemm == GEMM_TILES || job.gemm == GEMM_OWN) && k->row_gemm &&
        x16_allowed(kc, B)) {
        job.w = W->data, job.row_bytes = W->row_bytes, job.prep = NULL, job.tile = NULL;
        job.gemm = GEMM_TILES; /* IQ4_XS's measured choice was the f32 GEMM */
        job.x16 = k->row_gemm;
    }
    /* per-batch repacked panels (Q5_0, IQ4_NL as Q8_0; unpacked Q4_0/Q8_0) likewise */
    if (job.gemm == GEMM_I8X8 && gemm_i8x8_x16(kc->kernels, W->type) && x16_allowed(kc, B))
        job.i8x8_x16 = 1;
    return job;
}

/* 1 when `work` (weight bytes x tokens) over `rows` rows in all is worth more than one
 * thread: below PARALLEL_MIN_BYTES a call costs more than a second core brings. */
static int worth_threads(const kernel_ctx *k, double work, int64_t rows) {
    return k->cfg.threads > 1 && work >= PARALLEL_MIN_BYTES && rows >= 2 * ROW_ALIGN;
}

static int fail(kernel_ctx *k, const char *fmt, long long a, long long b) {
    snprintf(k->error, sizeof k->error, fmt, a, b);
    return -1;
}

/* 0 when W x B tokens fits the context's scratch (kernel_ctx_new's shape); every
 * scratch size grows with cols, row bytes and B, so the shape bounds them all. */
static int check_fits(kernel_ctx *k, const qmatrix *W, int64_t B) {
    const kernel_shape *s = &k->shape;
    if (B < 1 || B > s->max_batch)
        return fail(k, "matmul: batch of %lld tokens, the kernel scratch holds %lld", B,
                    s->max_batch);
    if (W->cols > s->max_cols || W->row_bytes > s->max_row_bytes)
        return fail(k, "matmul: rows of %lld columns, the kernel scratch holds %lld", W->cols,
                    s->max_cols);
    return 0;
}

typedef struct {
    kernel_ctx *kc;
    const matmul_job *job;
} chunk_call;

static int chunk_piece(void *arg, int64_t c0, int64_t c1, int thread) {
    const chunk_call *c = arg;
    int64_t r1 = c1 * BATCH_CHUNK_ROWS < c->job->rows ? c1 * BATCH_CHUNK_ROWS : c->job->rows;
    return matmul_rows(c->job, c0 * BATCH_CHUNK_ROWS, r1, &c->kc->scratch[thread]);
}

/* Runs the job on the context's threads (parallel = 0: on the caller alone): the threads
 * that computed rows, or -1 when a path fails. */
static int run_job(kernel_ctx *k, const matmul_job *job, int parallel) {
    if (!parallel) return matmul_rows(job, 0, job->rows, &k->scratch[0]) ? -1 : 1;
    const double work = (double)job->rows * (double)job->row_bytes * (double)job->B;
    if (job->gemm == GEMM_TILES) return run_shared(k, job, 1, 1, work);
    /* Large batches are compute-bound: chunks of BATCH_CHUNK_ROWS, one per claim, so a
     * thread whose core is shared with another process does less instead of making
     * the others wait at the join (TinyLlama q4_0 pp128 -t 2 with load 6 on 2 cores,
     * alternating runs: halves 3.6 / 5.7 tok/s, chunks 5.7 / 5.8; noisy but never
     * worse). */
    chunk_call call = {k, job};
    pool_task task = {.fn = chunk_piece,
                      .arg = &call,
                      .n_items = (job->rows + BATCH_CHUNK_ROWS - 1) / BATCH_CHUNK_ROWS,
                      .piece = 1,
                      .steal = k->cfg.steal,
                      .adapt = k->cfg.adapt_threads,
                      .kind = call_kind(KIND_CHUNKS, work, PARALLEL_MIN_BYTES),
                      .work = work};
    return pool_run(k->pool, &task);
}

/* Bytes of the job's activations in the x16 layout (x16k for Q8_K dot types). */
static size_t x16_bytes(const matmul_job *job) {
    return job->t->dot_type == QT_Q8_K ? act_x16k_bytes(job->B, job->cols)
                                       : act_x16_bytes(job->B, job->cols);
}

/* The job's converted activations (act) in act_x16.h's layout, into dst (x16_bytes). */
static const char *x16_pack_into(const matmul_job *job, char *dst) {
    if (job->t->dot_type == QT_Q8_K)
        act_x16k_pack(job->act, job->act_row, job->B, job->cols, dst);
    else
        act_x16_pack(job->act, job->act_row, job->B, job->cols, dst);
    return dst;
}

/* The same into the slot's x16 buffer (x16 jobs have Q8_0 / Q8_K activations and B <=
 * max_batch). */
static const char *x16_activations(kernel_ctx *k, const matmul_job *job, int slot) {
    return x16_pack_into(job, k->act_x16[slot]);
}

int matmul(kernel_ctx *k, const qmatrix *W, const float *X, int64_t B, float *Y) {
    if (check_fits(k, W, B)) return -1;
    matmul_job job = make_job(k, W, B, Y);
    if (job.gemm == GEMM_OWN || job.gemm == GEMM_BLAS) {
        job.gemm_x = gemm_prepare(job.gemm, X, B, W->cols, k->xt, k->xt_bytes);
        if (!job.gemm_x)
            return fail(k, "matmul: %lld x %lld packed activations do not fit", B, W->cols);
    } else {
        job.act = convert_activations(k, job.t, job.prep, X, B, W->cols, &job.act_row, 0);
        if (job.x16 || job.i8x8_x16) job.act_x16 = x16_activations(k, &job, 0);
    }
    /* Work scales with weight bytes x tokens; rows must give each thread a slice. */
    double work = (double)W->rows * (double)W->row_bytes * (double)B;
    const int used = run_job(k, &job, worth_threads(k, work, W->rows));
    if (used < 0)
        return fail(k,
                    "matmul: a batch panel of %lld columns x %lld tokens does not fit the "
                    "kernel scratch",
                    W->cols, B);
    k->usage.work += work, k->usage.thread_work += work * used;
    if (job.x16 || job.i8x8_x16) k->usage.x16_work += work;
    return 0;
}

/* Weight bytes x tokens of the jobs that take a token-lane kernel (kernel_usage.x16_work). */
static double x16_work(const matmul_job *jobs, int n) {
    double work = 0;
    for (int i = 0; i < n; i++)
        if (jobs[i].x16) work += (double)jobs[i].rows * (double)jobs[i].row_bytes * jobs[i].B;
    return work;
}

/* The n matrices' activations: one conversion per distinct dot type. 0, or -1 when the
 * types need more than ACT_SLOTS buffers. */
static int multi_activations(kernel_ctx *k, matmul_job *jobs, int n, const float *X, int64_t B) {
    int slots = 0, slot_of[MATMUL_MULTI_MAX];
    for (int i = 0; i < n; i++) {
        int same = -1;
        for (int j = 0; j < i && same < 0; j++)
            if (jobs[j].t->dot_type == jobs[i].t->dot_type && jobs[j].cols == jobs[i].cols &&
                jobs[j].prep == jobs[i].prep)
                same = j;
        if (same >= 0) {
            jobs[i].act = jobs[same].act, jobs[i].act_row = jobs[same].act_row;
            slot_of[i] = slot_of[same];
            if (!jobs[i].x16) continue;
            /* the x16 copy of the shared rows: made once, by the first job that needs it */
            for (int j = 0; j < i && !jobs[i].act_x16; j++)
                if (slot_of[j] == slot_of[i] && jobs[j].act_x16) jobs[i].act_x16 = jobs[j].act_x16;
            if (!jobs[i].act_x16) jobs[i].act_x16 = x16_activations(k, &jobs[i], slot_of[i]);
            continue;
        }
        if (slots == ACT_SLOTS) return -1;
        jobs[i].act = convert_activations(k, jobs[i].t, jobs[i].prep, X, B, jobs[i].cols,
                                          &jobs[i].act_row, slots);
        slot_of[i] = slots;
        if (jobs[i].x16) jobs[i].act_x16 = x16_activations(k, &jobs[i], slots);
        slots += jobs[i].t->dot_type != QT_F32;
    }
    return 0;
}

int matmul_multi(kernel_ctx *k, const qmatrix *const *W, int n, const float *X, int64_t B,
                 float *const *Y) {
    matmul_job jobs[MATMUL_MULTI_MAX];
    int fused = n <= MATMUL_MULTI_MAX;
    double work = 0;
    int64_t rows = 0;
    for (int i = 0; i < n; i++)
        if (check_fits(k, W[i], B)) return -1;
    for (int i = 0; i < n && fused; i++) {
        jobs[i] = make_job(k, W[i], B, Y[i]);
        fused = jobs[i].gemm == GEMM_TILES && W[i]->cols == W[0]->cols;
        work += (double)W[i]->rows * (double)W[i]->row_bytes * (double)B;
        rows += W[i]->rows;
    }
    /* Large batches (f32 GEMM, per-batch repack) are compute-bound: one region per matrix
     * costs nothing there, so they keep matmul(). */
    if (!fused || multi_activations(k, jobs, n, X, B) != 0) {
        for (int i = 0; i < n; i++)
            if (matmul(k, W[i], X, B, Y[i])) return -1;
        return 0;
    }
    const int used = run_shared(k, jobs, n, worth_threads(k, work, rows), work);
    if (used < 0) return fail(k, "matmul_multi: %lld matrices x %lld tokens failed", n, B);
    k->usage.work += work, k->usage.thread_work += work * used;
    k->usage.x16_work += x16_work(jobs, n);
    return 0;
}

/* ---- matmul_each: products with their own inputs, in one pool call ---- */

/* An input already converted for the current group (act_x16: its x16 copy, or NULL). */
typedef struct {
    const float *X;
    int64_t B, cols;
    uint32_t dot_type;
    packed_act_fn prep;
    const char *act, *act_x16;
    size_t act_row;
} converted_input;

/* Where the group's converted inputs go: slot `slot` of the context, `used` bytes taken;
 * their x16 copies likewise in x16_slot of act_x16, x16_used bytes taken. */
typedef struct {
    converted_input done[EACH_GROUP];
    int n_done, slot, x16_slot;
    size_t used, x16_used;
} each_inputs;

/* Bytes of one act_x16 buffer (kernel_ctx_new's size). */
static size_t x16_slot_bytes(const kernel_ctx *k) {
    return act_x16_bytes(k->shape.max_batch, (k->shape.max_cols + 31) / 32 * 32);
}

/* The next free bytes of the group's x16 buffers for `bytes` (64-byte multiples), or NULL
 * when the slots are full. */
static char *each_x16_space(kernel_ctx *k, each_inputs *in, size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (in->x16_used + bytes > x16_slot_bytes(k)) in->x16_slot++, in->x16_used = 0;
    if (in->x16_slot == ACT_SLOTS) return NULL;
    char *at = k->act_x16[in->x16_slot] + in->x16_used;
    in->x16_used += bytes;
    return at;
}

/* Sets job's activations for X: a conversion made earlier in the group, X itself (f32),
 * or a new one in the next free bytes, with its x16 copy when the job takes GEMM_X16
 * (made once per input, as the conversion). -1 when the slots are full (run the group
 * first). */
static int each_activations(kernel_ctx *k, each_inputs *in, matmul_job *job, const float *X) {
    const uint32_t dot_type = job->t->dot_type;
    for (int i = 0; i < in->n_done; i++) {
        converted_input *c = &in->done[i];
        if (c->X == X && c->B == job->B && c->cols == job->cols && c->dot_type == dot_type &&
            c->prep == job->prep) {
            job->act = c->act, job->act_row = c->act_row;
            if (job->x16 && !c->act_x16) {
                char *at = each_x16_space(k, in, x16_bytes(job));
                if (!at) return -1;
                c->act_x16 = x16_pack_into(job, at);
            }
            job->act_x16 = c->act_x16;
            return 0;
        }
    }
    if (dot_type == QT_F32) {
        job->act = (const char *)X, job->act_row = (size_t)job->cols * sizeof(float);
        return 0;
    }
    const size_t act_row = act_row_bytes(job->t, job->prep, job->cols);
    const size_t bytes = (act_row * (size_t)job->B + 63) / 64 * 64;
    if (in->used + bytes > k->act_bytes) in->slot++, in->used = 0;
    if (in->slot == ACT_SLOTS) return -1;
    char *x16_at = job->x16 ? each_x16_space(k, in, x16_bytes(job)) : NULL;
    if (job->x16 && !x16_at) return -1;
    job->act_row = act_row;
    job->act = convert_into(k, job->t, job->prep, X, job->B, job->cols, act_row,
                            k->act[in->slot] + in->used);
    in->used += bytes;
    job->act_x16 = x16_at ? x16_pack_into(job, x16_at) : NULL;
    in->done[in->n_done++] = (converted_input){X,         job->B,        job->cols, dot_type,
                                               job->prep, job->act,      job->act_x16, act_row};
    return 0;
}

/* Tokens from which an expert's packed Q4_0 / Q4_1 / Q8_0 rows take the token-lane kernel
 * (matmul() waits for X16_TOKENS): a MoE pass of 64 tokens gives each chosen expert about
 * 64 k / n_expert of them (8 for OLMoE, 4 for Qwen3-30B-A3B), and the x16 kernel with half
 * its lanes idle still beats the packed tiles from 8 on. Measured (Xeon, Sapphire Rapids
 * class, AVX-512, 1 thread, 8 and 128 packed q4_0 experts of 1024 x 2048, best of 7):
 * x16 / tile time 1.09 / 0.99 at 6 tokens, 0.86 / 0.84 at 8, 0.70 / 0.61 at 10; Q4_K's
 * x16k rows were 1.32x the tiles at 8 and 1.04-1.10x at 10-12, so K-quants keep 16. */
#define EACH_X16_PACKED_MIN 8

/* job (made by make_job) on the token-lane kernel of W's packed layout for
 * EACH_X16_PACKED_MIN .. X16_TOKENS - 1 tokens, where make_job would take it at 16. */
static void each_x16_small_batch(const kernel_ctx *k, const qmatrix *W, matmul_job *job) {
    const type_kernels *tk = kernels_for(k->cfg.isa, W->type);
    if (!job->x16 && job->B >= EACH_X16_PACKED_MIN && W->packed && job->w == W->packed &&
        tk->packed_gemm && !job->prep && x16_allowed(k, X16_TOKENS))
        job->x16 = tk->packed_gemm;
}

int matmul_each(kernel_ctx *k, const matmul_item *items, int n) {
    matmul_job jobs[EACH_GROUP];
    for (int i = 0; i < n;) {
        each_inputs in = {.n_done = 0};
        int n_jobs = 0;
        double work = 0;
        int64_t rows = 0;
        for (; i < n && n_jobs < EACH_GROUP; i++) {
            const matmul_item *it = &items[i];
            if (check_fits(k, it->W, it->B)) return -1;
            /* 16+ tokens of a packed Q4_0/Q8_0 or K-quant expert: GEMM_X16, as matmul();
             * packed ones from 8 */
            matmul_job job = make_job(k, it->W, it->B, it->Y);
            each_x16_small_batch(k, it->W, &job);
            if (job.gemm != GEMM_TILES) { /* f32 GEMM paths: alone, after the group */
                if (n_jobs) break;
                if (matmul(k, it->W, it->X, it->B, it->Y)) return -1;
                continue;
            }
            if (each_activations(k, &in, &job, it->X)) break;
            jobs[n_jobs++] = job;
            work += (double)it->W->rows * (double)it->W->row_bytes * (double)it->B;
            rows += it->W->rows;
        }
        if (!n_jobs) continue;
        const int used = run_shared(k, jobs, n_jobs, worth_threads(k, work, rows), work);
        if (used < 0) return fail(k, "matmul_each: %lld products from item %lld failed", n_jobs, i);
        k->usage.work += work, k->usage.thread_work += work * used;
        k->usage.x16_work += x16_work(jobs, n_jobs);
    }
    return 0;
}

int matvec(kernel_ctx *k, const qmatrix *W, const float *x, float *y) {
    return matmul(k, W, x, 1, y);
}

void qmatrix_row(const qmatrix *W, int64_t r, float *out) {
    qtype(W->type)->dequantize((const char *)W->data + r * W->row_bytes, out, W->cols);
}

/* Attention items below this many multiply-adds stay on the caller (a call costs more). */
#define ATTENTION_PARALLEL_MIN 65536

static int attention_piece(void *arg, int64_t i0, int64_t i1, int thread) {
    attention_items(arg, i0, i1);
    return 0;
}

void kernel_ctx_attention(kernel_ctx *k, const attention_args *a) {
    const int nth = k->cfg.threads;
    const int64_t n_items = (int64_t)a->B * a->n_head_kv;
    if (nth == 1 || attention_work(a) <= ATTENTION_PARALLEL_MIN) {
        attention_items(a, 0, n_items);
        return;
    }
    int64_t bounds[KERNEL_MAX_THREADS + 1];
    for (int i = 0; i <= nth; i++) bounds[i] = attention_boundary(a, i, nth);
    bounds[nth] = n_items;
    pool_task task = {
        .fn = attention_piece,
        .arg = (void *)a,
        .n_items = n_items,
        .bounds = bounds,
        .piece = 1,
        .steal = k->cfg.steal,
        .adapt = k->cfg.adapt_threads,
        .kind = call_kind(KIND_ATTENTION, (double)attention_work(a), ATTENTION_PARALLEL_MIN),
        .work = (double)attention_work(a)};
    pool_run(k->pool, &task);
}
