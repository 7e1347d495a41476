/* matmul.h - weight matrix x activations, any weight type, on the context's threads.
 *
 * A weight matrix is `rows` rows of `cols` elements in one type (GGUF: ne[0] = cols,
 * ne[1] = rows). Activations are f32; they are converted once per call to the type's
 * dot_type and reused for every row. Threads split rows.
 *
 * Every call runs in a kernel context: a kernel configuration (kconfig.h), a thread pool
 * (pool.h: workers created once, woken per call, no OpenMP per token) and scratch memory
 * (activation conversions, GEMM panels, per thread) allocated once for the largest matrix and batch
 * it will see. A loaded model owns one (engine/model.h), so a target and a draft model share
 * nothing. A context is used by one calling thread at a time; matmul allocates nothing and returns
 * -1 (kernel_ctx_error says why) for work larger than its context was sized for. */
#ifndef SCARCE_MATMUL_H
#define SCARCE_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "kconfig.h"
#include "ops.h"
#include "pool.h"

typedef struct {
    const void *data;
    uint32_t type;
    int64_t rows, cols;
    size_t row_bytes;
    /* NULL, or the same rows re-laid 8 at a time (kernels/repack.h) that matvec and batches
     * up to REPACK_MAX_BATCH read; owned by whoever called repack_matrix. data keeps the
     * file layout (qmatrix_row, larger batches). */
    const void *packed;
    /* 0, or a per-tensor factor of W x (NVFP4 checkpoints' second-level scale: the f32
     * tensor "<name>.scale" beside "<name>.weight", as llama.cpp stores and applies it) */
    float scale;
} qmatrix;

typedef struct kernel_ctx kernel_ctx;

/* The largest work a context is sized for. */
typedef struct {
    int64_t max_cols;     /* columns of the widest matrix */
    size_t max_row_bytes; /* bytes of the longest row, in its own type */
    int64_t max_batch;    /* tokens per call */
    int64_t max_rows;     /* rows of the tallest matrix (0: unknown) */
} kernel_shape;

/* Grows shape to hold W. */
void kernel_shape_add(kernel_shape *shape, const qmatrix *W);
/* A context for cfg (checked: kernel_config_check) and work up to shape. NULL when the
 * configuration is invalid or out of memory (msg, 128 bytes, says which). */
kernel_ctx *kernel_ctx_new(const kernel_config *cfg, const kernel_shape *shape, char *msg);
void kernel_ctx_free(kernel_ctx *k);
const kernel_config *kernel_ctx_config(const kernel_ctx *k);
/* Attention and swiglu of the context's ISA. */
const ops_kernels *kernel_ctx_ops(const kernel_ctx *k);
/* Threads of the context's matmuls (1 .. KERNEL_MAX_THREADS). -1 (msg, 128 bytes) when
 * out of range or out of memory for the new threads' scratch; the context is then
 * unchanged. */
int kernel_ctx_set_threads(kernel_ctx *k, int n_threads, char *msg);
/* Returns once no worker still reads memory of a call that returned (cfg.rescue: a piece
 * taken back from it); weights and inputs of earlier calls may be freed after this. */
void kernel_ctx_quiesce(kernel_ctx *k);
/* attention_items (ops.h) over all of a's items on the context's threads. */
void kernel_ctx_attention(kernel_ctx *k, const attention_args *a);
/* What the context's thread pool decided so far (pool.h). */
pool_stats kernel_ctx_pool_stats(const kernel_ctx *k);
/* How many threads the matmuls really ran on (the pool may run a call on the caller alone,
 * and a worker may come too late to take part): work = weight bytes x tokens of every call,
 * thread_work = the same times the threads that computed rows of it, so thread_work / work
 * is the work-weighted mean thread count. x16_work: the part of work that ran on token-lane
 * (x16) kernels (act_x16.h). */
typedef struct {
    double work, thread_work, x16_work;
} kernel_usage;
kernel_usage kernel_ctx_usage(const kernel_ctx *k);
/* Why the last call that returned -1 failed. */
const char *kernel_ctx_error(const kernel_ctx *k);

/* y[rows] = W x[cols]. 0, or -1 (kernel_ctx_error) when W is larger than k was sized for. */
int matvec(kernel_ctx *k, const qmatrix *W, const float *x, float *y);
/* Y[b][rows] = W X[b][cols] for b < B: every weight row is read once for the batch.
 * 0, or -1 when W or B is larger than k was sized for. */
int matmul(kernel_ctx *k, const qmatrix *W, const float *X, int64_t B, float *Y);
/* Y[i] = W[i] X for i < n, as n matmul() calls would give bit for bit, but with one
 * conversion of X per distinct dot type and one pool call whose threads split the n
 * matrices' rows end to end (decode: fewer wake-ups and each thread busy for longer).
 * The W[i] share cols. Batches that take an f32 GEMM path, or n > MATMUL_MULTI_MAX, run
 * as separate matmul() calls. */
#define MATMUL_MULTI_MAX 8
int matmul_multi(kernel_ctx *k, const qmatrix *const *W, int n, const float *X, int64_t B,
                 float *const *Y);
/* One product of a matmul_each call: Y[b][W.rows] = W X[b][W.cols] for b < B. */
typedef struct {
    const qmatrix *W;
    const float *X;
    int64_t B;
    float *Y;
} matmul_item;
/* items[i].Y = items[i].W items[i].X for i < n, as n matmul() calls would give bit for
 * bit, with different inputs per product (the chosen experts of a MoE layer, MLA's per-head
 * matrices): each distinct (X, B, dot type, cols) is converted once, and as many products
 * as the context's activation scratch holds run in one pool call, their rows split end to
 * end. Products that take an f32 GEMM path run as matmul() calls. */
int matmul_each(kernel_ctx *k, const matmul_item *items, int n);
/* Dequantizes row r of W into out[cols] (embedding lookup). */
void qmatrix_row(const qmatrix *W, int64_t r, float *out);

#endif
