/* matmul.c - weight matrix x activations for any weight type, rows split over threads.
 *
 * Decode (B = 1) is memory-bound: each thread streams one contiguous share of rows, so
 * its prefetchers see one long sequential read (a thread done early steals pieces from the
 * far end of another's share), and pieces start on 16-row boundaries so no two threads
 * write the same 64-byte line of y. matmul_multi runs several matrices with the same input
 * (q/k/v, gate/up) in one parallel region, their rows split end to end. Small matrices
 * stay on one thread: below PARALLEL_MIN_BYTES of weights the fork/join costs more than
 * the second core brings (measured: tests/test_kernels.c, SCARCE_KBENCH=1).
 *
 * Batches (prefill, speculative verify) walk a panel of rows that fits in L1/L2 against
 * every activation row before moving on: each weight byte comes from DRAM once per batch.
 * Large batches go through f32 instead (kernels/gemm.c: dequantized panels x an f32 GEMM,
 * ours or OpenBLAS's) when gemm_choose() says that is faster for the type and B. */
#include "matmul.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "cpu.h"
#include "gemm.h"
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

static int n_threads_set = 1;

/* Threads or not, learned per size class (log2 of weight bytes x tokens): on a shared
 * machine a fork/join waits for the other core whenever it is taken (measured: TinyLlama
 * q4_0 decode, load 6 on 2 cores, -t 2 at 0.8 tok/s vs 4.2 with -t 1), so each class keeps
 * a running mean of ns per byte for one thread and for all, uses the faster, and retries
 * the other every EXPLORE_EVERY calls. SCARCE_ADAPT_THREADS=0 always uses all threads.
 * matmul is called from one thread at a time (the forward pass), so no locking. */
#define N_CLASSES 48
#define EXPLORE_EVERY 16
typedef struct {
    double ns_per_byte[2]; /* [0] one thread, [1] all; 0 = not measured yet */
    unsigned calls;
} thread_choice;
static thread_choice choices[N_CLASSES];
static int adapt = -1; /* -1: read SCARCE_ADAPT_THREADS on first use */

static int size_class(double work) {
    int c = 0;
    while (work >= 2 && c < N_CLASSES - 1) work /= 2, c++;
    return c;
}

/* 1: run this class on all threads. */
static int choose_parallel(int cls) {
    if (adapt < 0) {
        const char *e = getenv("SCARCE_ADAPT_THREADS");
        adapt = !(e && strcmp(e, "0") == 0);
    }
    if (!adapt) return 1;
    thread_choice *c = &choices[cls];
    c->calls++;
    if (c->ns_per_byte[1] == 0) return 1;
    if (c->ns_per_byte[0] == 0) return 0;
    int best = c->ns_per_byte[1] < c->ns_per_byte[0];
    return c->calls % EXPLORE_EVERY == 0 ? !best : best;
}

static void record_time(int cls, int parallel, double seconds, double work) {
    double x = seconds * 1e9 / work, *v = &choices[cls].ns_per_byte[parallel];
    *v = *v == 0 ? x : 0.75 * *v + 0.25 * x;
}

void kernels_set_threads(int n_threads) {
    n_threads_set = n_threads > 0 ? n_threads : 1;
    omp_set_num_threads(n_threads_set);
}

int kernels_threads(void) {
    return n_threads_set;
}

/* Activation buffers reused from call to call (a malloc + free per matmul was ~7 per layer
 * per token), one set per calling thread so concurrent callers never share one. Slot i
 * holds the i-th distinct dot type of a matmul_multi call. They live until the thread
 * ends (a few KB per token, B x cols at most). */
#define ACT_SLOTS 4
static _Thread_local struct {
    char *buf;
    size_t cap;
} act_slots[ACT_SLOTS];

static char *act_buffer(int slot, size_t bytes) {
    if (act_slots[slot].cap < bytes) {
        free(act_slots[slot].buf);
        act_slots[slot].buf = malloc(bytes);
        if (!act_slots[slot].buf) abort(); /* B x cols bytes: out of memory is not recoverable */
        act_slots[slot].cap = bytes;
    }
    return act_slots[slot].buf;
}

/* Converts B activation rows to the weight type's dot_type into buffer `slot`; returns X
 * itself for f32. */
static const void *convert_activations(const quant_type *t, const float *X, int64_t B, int64_t cols,
                                       size_t *act_row, int slot) {
    if (t->dot_type == QT_F32) {
        *act_row = (size_t)cols * sizeof(float);
        return X;
    }
    const quant_type *dt = qtype(t->dot_type);
    from_float_fn from_float = kernels_for(kernels_isa(), t->dot_type)->from_float;
    *act_row = qtype_row_bytes(t->dot_type, cols);
    char *buf = act_buffer(slot, *act_row * (size_t)B);
    for (int64_t b = 0; b < B; b++) {
        if (from_float)
            from_float(X + b * cols, buf + b * *act_row, cols);
        else
            dt->quantize(X + b * cols, buf + b * *act_row, cols, NULL);
    }
    return buf;
}

typedef struct {
    const char *w, *act;
    size_t row_bytes, act_row;
    int64_t rows, cols, B;
    vec_dot_fn dot;
    vec_dot_tile_fn tile; /* NULL: dot per (row, token) */
    float *Y;
    gemm_method gemm; /* GEMM_TILES: the fields above; else the f32 path below */
    const quant_type *t;
    const float *gemm_x; /* gemm_prepare()'s activations */
} matmul_job;

/* Rows [r0, r1) of the job against all B activation rows, panel by panel. */
static void matmul_rows(const matmul_job *job, int64_t r0, int64_t r1) {
    const int64_t cols = job->cols, rows = job->rows;
    if (job->gemm == GEMM_I8X8) {
        if (gemm_i8x8_rows(job->t->id, job->w, job->row_bytes, r0, r1, cols, job->act, job->act_row,
                           job->B, job->Y, (size_t)rows) != 0)
            abort(); /* a packed panel of 128 KiB: out of memory is not recoverable here */
        return;
    }
    if (job->gemm != GEMM_TILES) {
        if (gemm_rows(job->gemm, job->t, job->w, job->row_bytes, r0, r1, cols, job->gemm_x, job->B,
                      job->Y, (size_t)rows) != 0)
            abort(); /* a panel of ~100 KiB: out of memory here is not recoverable */
        return;
    }
    if (job->tile && job->B == 1) {
        job->tile(cols, &job->Y[r0], 0, job->w + r0 * job->row_bytes, job->row_bytes,
                  (int)(r1 - r0), job->act, job->act_row, 1);
        return;
    }
    if (job->B == 1) {
        for (int64_t r = r0; r < r1; r++)
            job->dot(cols, &job->Y[r], job->w + r * job->row_bytes, job->act);
        return;
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
}

/* matmul_multi: the n matrices' ROW_ALIGN-row units laid end to end, unit u of matrix i
 * costing ROW_ALIGN x row_bytes. Boundary k of nth is the first unit (global index) where
 * the bytes before it reach k/nth of the total, so each thread streams about the same
 * bytes, mostly from one matrix (q/k/v at 2 threads: 5/8 of wq | the rest of wq, wk, wv;
 * gate/up: gate | up). */
static int64_t units_of(const matmul_job *job) { return (job->rows + ROW_ALIGN - 1) / ROW_ALIGN; }

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

/* Runs global units [u0, u1) of the jobs. */
static void multi_run(const matmul_job *jobs, int n, int64_t u0, int64_t u1) {
    int64_t first_unit = 0;
    for (int i = 0; i < n && first_unit < u1; i++) {
        const int64_t units = units_of(&jobs[i]);
        int64_t a = u0 > first_unit ? u0 - first_unit : 0, b = u1 - first_unit;
        if (b > units) b = units;
        if (a < b) {
            int64_t r1 = b * ROW_ALIGN < jobs[i].rows ? b * ROW_ALIGN : jobs[i].rows;
            matmul_rows(&jobs[i], a * ROW_ALIGN, r1);
        }
        first_unit += units;
    }
}

/* Each thread's share of units, handed out in pieces so that a thread done early takes
 * the rest of a late one's share from its far end (its core shared with another process:
 * on this 2-core machine static halves made -t 2 wait for the slow half at every join).
 * front (low 32 bits) and back (high 32) of the units not yet taken, in one word so that
 * owner and thief claim with one compare-and-swap; one cache line per thread. The owner
 * streams its share front to back as with static halves (dynamic chunks handed out in
 * turn were measured slower for B = 1: interleaved slices break the prefetchers' streams). */
#define MAX_THREADS 64
#define STEAL_UNITS 4 /* 64 rows: ~70 KB of TinyLlama q4_0, ~5 us of streaming */
typedef struct {
    _Alignas(64) _Atomic uint64_t range;
} share;

static uint64_t pack_range(uint64_t front, uint64_t back) { return front | back << 32; }

/* Claims units [*u0, *u1) from the front (owner) or the back (thief); 0 when none left. */
static int claim(share *sh, int from_back, int64_t *u0, int64_t *u1) {
    uint64_t old = atomic_load_explicit(&sh->range, memory_order_relaxed), want;
    do {
        uint64_t front = old & 0xffffffffu, back = old >> 32, left = back - front;
        if (front >= back) return 0;
        /* The owner takes an eighth of what is left (few atomics), at least a piece. */
        uint64_t take = from_back ? STEAL_UNITS : (left / 8 > STEAL_UNITS ? left / 8 : STEAL_UNITS);
        if (take > left) take = left;
        if (from_back) *u0 = (int64_t)(back - take), *u1 = (int64_t)back, want = pack_range(front, back - take);
        else *u0 = (int64_t)front, *u1 = (int64_t)(front + take), want = pack_range(front + take, back);
    } while (!atomic_compare_exchange_weak_explicit(&sh->range, &old, want, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

static int steal_enabled(void) {
    static int enabled = -1; /* $SCARCE_STEAL=0: static shares only (A/B measurement) */
    if (enabled < 0) {
        const char *e = getenv("SCARCE_STEAL");
        enabled = !(e && strcmp(e, "0") == 0);
    }
    return enabled;
}

/* The jobs' rows on nth threads: share k = units [multi_boundary(k), multi_boundary(k + 1)). */
static void run_shared(const matmul_job *jobs, int n, int nth) {
    if (nth > MAX_THREADS) nth = MAX_THREADS;
    share shares[MAX_THREADS];
    for (int k = 0; k < nth; k++)
        atomic_init(&shares[k].range, pack_range((uint64_t)multi_boundary(jobs, n, k, nth),
                                                 (uint64_t)multi_boundary(jobs, n, k + 1, nth)));
    const int steal = steal_enabled();
#pragma omp parallel num_threads(nth)
    {
        const int ith = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t u0, u1;
        /* Fewer threads than asked (nt < nth): the shares nobody owns are stolen. */
        for (int k = ith; k < nth; k += nt)
            while (claim(&shares[k], 0, &u0, &u1)) multi_run(jobs, n, u0, u1);
        for (int d = 1; d < nth && (steal || nt < nth); d++)
            while (claim(&shares[(ith + d) % nth], 1, &u0, &u1)) multi_run(jobs, n, u0, u1);
    }
}

/* The job for W x B tokens into Y, without its activations (job.act / job.gemm_x). */
static matmul_job make_job(const qmatrix *W, int64_t B, float *Y) {
    const quant_type *t = qtype(W->type);
    const type_kernels *k = kernels_for(kernels_isa(), W->type); /* default ISA for now */
    matmul_job job = {.w = W->data,
                      .row_bytes = W->row_bytes,
                      .rows = W->rows,
                      .cols = W->cols,
                      .B = B,
                      .dot = k->vec_dot,
                      .tile = k->vec_dot_tile,
                      .Y = Y,
                      .t = t,
                      .gemm = gemm_choose(W->type, W->cols, B)};
    /* Packed copy (repack.h): its tile kernel takes the same arguments, rows starting at
     * r0 % 8 == 0 sit at r0 row_bytes as in the file. Larger batches keep the file layout. */
    vec_dot_tile_fn packed = W->packed && B <= REPACK_MAX_BATCH ? k->packed_tile : NULL;
    if (packed) job.w = W->packed, job.tile = packed, job.gemm = GEMM_TILES;
    return job;
}

/* Threads for `work` (weight bytes x tokens) over `rows` rows in all; *timed = 1 when the
 * caller must record_time() the class. */
static int threads_for(double work, int64_t rows, int *cls, int *timed) {
    int nth = n_threads_set;
    if (work < PARALLEL_MIN_BYTES || rows < 2 * ROW_ALIGN) nth = 1;
    *cls = size_class(work), *timed = nth > 1;
    if (*timed && !choose_parallel(*cls)) nth = 1;
    return nth;
}

void matmul(const qmatrix *W, const float *X, int64_t B, float *Y) {
    float *gemm_owned = NULL;
    matmul_job job = make_job(W, B, Y);
    if (job.gemm == GEMM_OWN || job.gemm == GEMM_BLAS) {
        job.gemm_x = gemm_prepare(job.gemm, X, B, W->cols, &gemm_owned);
        if (!job.gemm_x) abort(); /* B x cols floats, as for convert_activations */
    } else {
        job.act = convert_activations(job.t, X, B, W->cols, &job.act_row, 0);
    }
    /* Work scales with weight bytes x tokens; rows must give each thread a slice. */
    double work = (double)W->rows * (double)W->row_bytes * (double)B;
    int cls, timed, nth = threads_for(work, W->rows, &cls, &timed);
    double t0 = timed ? omp_get_wtime() : 0;
    if (nth == 1) {
        matmul_rows(&job, 0, W->rows);
    } else if (job.gemm != GEMM_TILES) {
        /* Large batches are compute-bound: chunks handed out as threads come free, so a
         * thread whose core is shared with another process does less instead of making
         * the others wait at the join (TinyLlama q4_0 pp128 -t 2 with load 6 on 2 cores,
         * alternating runs: halves 3.6 / 5.7 tok/s, chunks 5.7 / 5.8; noisy but never
         * worse). One thread keeps the single call above. */
        int64_t n_chunks = (W->rows + BATCH_CHUNK_ROWS - 1) / BATCH_CHUNK_ROWS;
#pragma omp parallel for num_threads(nth) schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; c++) {
            int64_t r0 = c * BATCH_CHUNK_ROWS, r1 = r0 + BATCH_CHUNK_ROWS;
            matmul_rows(&job, r0, r1 < W->rows ? r1 : W->rows);
        }
    } else {
        run_shared(&job, 1, nth);
    }
    if (timed) record_time(cls, nth > 1, omp_get_wtime() - t0, work);
    free(gemm_owned);
}

/* The n matrices' activations: one conversion per distinct dot type. 0, or -1 when the
 * types need more than ACT_SLOTS buffers. */
static int multi_activations(matmul_job *jobs, int n, const float *X, int64_t B) {
    int slots = 0;
    for (int i = 0; i < n; i++) {
        int same = -1;
        for (int j = 0; j < i && same < 0; j++)
            if (jobs[j].t->dot_type == jobs[i].t->dot_type && jobs[j].cols == jobs[i].cols) same = j;
        if (same >= 0) {
            jobs[i].act = jobs[same].act, jobs[i].act_row = jobs[same].act_row;
            continue;
        }
        if (slots == ACT_SLOTS) return -1;
        jobs[i].act = convert_activations(jobs[i].t, X, B, jobs[i].cols, &jobs[i].act_row, slots);
        slots += jobs[i].t->dot_type != QT_F32;
    }
    return 0;
}

void matmul_multi(const qmatrix *const *W, int n, const float *X, int64_t B, float *const *Y) {
    matmul_job jobs[MATMUL_MULTI_MAX];
    int fused = n <= MATMUL_MULTI_MAX;
    double work = 0;
    int64_t rows = 0;
    for (int i = 0; i < n && fused; i++) {
        jobs[i] = make_job(W[i], B, Y[i]);
        fused = jobs[i].gemm == GEMM_TILES && W[i]->cols == W[0]->cols;
        work += (double)W[i]->rows * (double)W[i]->row_bytes * (double)B;
        rows += W[i]->rows;
    }
    /* Large batches (f32 GEMM, per-batch repack) are compute-bound: one region per matrix
     * costs nothing there, so they keep matmul(). */
    if (!fused || multi_activations(jobs, n, X, B) != 0) {
        for (int i = 0; i < n; i++) matmul(W[i], X, B, Y[i]);
        return;
    }
    int cls, timed, nth = threads_for(work, rows, &cls, &timed);
    double t0 = timed ? omp_get_wtime() : 0;
    if (nth == 1) {
        for (int i = 0; i < n; i++) matmul_rows(&jobs[i], 0, jobs[i].rows);
    } else {
        run_shared(jobs, n, nth);
    }
    if (timed) record_time(cls, nth > 1, omp_get_wtime() - t0, work);
}

void matvec(const qmatrix *W, const float *x, float *y) {
    matmul(W, x, 1, y);
}

void qmatrix_row(const qmatrix *W, int64_t r, float *out) {
    qtype(W->type)->dequantize((const char *)W->data + r * W->row_bytes, out, W->cols);
}
