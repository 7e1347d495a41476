/* matmul.h - weight matrix x activations, any weight type, threaded (OpenMP).
 *
 * A weight matrix is `rows` rows of `cols` elements in one type (GGUF: ne[0] = cols,
 * ne[1] = rows). Activations are f32; they are converted once per call to the type's
 * dot_type and reused for every row. Threads split rows. */
#ifndef SCARCE_MATMUL_H
#define SCARCE_MATMUL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const void *data;
    uint32_t type;
    int64_t rows, cols;
    size_t row_bytes;
    /* NULL, or the same rows re-laid 8 at a time (kernels/repack.h) that matvec and batches
     * up to REPACK_MAX_BATCH read; owned by whoever called repack_matrix. data keeps the
     * file layout (qmatrix_row, larger batches). */
    const void *packed;
} qmatrix;

/* y[rows] = W x[cols] */
void matvec(const qmatrix *W, const float *x, float *y);
/* Y[b][rows] = W X[b][cols] for b < B: every weight row is read once for the batch. */
void matmul(const qmatrix *W, const float *X, int64_t B, float *Y);
/* Y[i] = W[i] X for i < n, as n matmul() calls would give bit for bit, but with one
 * conversion of X per distinct dot type and one parallel region whose threads split the
 * n matrices' rows end to end (decode: fewer fork/joins and each thread busy for longer).
 * The W[i] share cols. Batches that take an f32 GEMM path, or n > MATMUL_MULTI_MAX, run
 * as separate matmul() calls. */
#define MATMUL_MULTI_MAX 8
void matmul_multi(const qmatrix *const *W, int n, const float *X, int64_t B, float *const *Y);
/* Dequantizes row r of W into out[cols] (embedding lookup). */
void qmatrix_row(const qmatrix *W, int64_t r, float *out);

void kernels_set_threads(int n_threads);
int kernels_threads(void);

#endif
